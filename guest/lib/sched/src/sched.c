/*
 * Kiln cooperative scheduler, see <kiln/sched.h>.
 *
 * Data structures (all intrusive, nothing allocated but thread structs
 * and stacks):
 *   - run queue: singly linked FIFO of READY threads;
 *   - wait queues: doubly linked FIFO, a thread is on at most one;
 *   - sleepers: a pairing heap keyed by (deadline, sequence), holding every
 *     thread with a deadline (thread_sleep_* or waitq_wait with a
 *     timeout).  Insert is O(1), removing the minimum or any node
 *     (a waiter woken before its timeout) amortised O(log n).
 * A blocked thread can be on a wait queue and in the heap at once; waking
 * it by either route takes it off both.
 *
 * There is no separate idle thread: when nothing is runnable, the thread
 * that is giving up the CPU runs the idle loop on its own stack (see
 * schedule()).  So a switch is always thread to thread, and an exiting
 * thread's stack is freed by whichever thread runs next (reap()).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <kiln/sched.h>
#include <kiln/platform.h>

#ifndef CONFIG_SCHED_STACK_SIZE
#define CONFIG_SCHED_STACK_SIZE 16384
#endif
#ifndef CONFIG_SCHED_STACK_CANARY
#define CONFIG_SCHED_STACK_CANARY 1
#endif
#ifndef CONFIG_SCHED_SWAP_ERRNO
#define CONFIG_SCHED_SWAP_ERRNO 1
#endif

/* From the "malloc" capability (guest/lib/alloc); no libc headers. */
void *malloc(size_t size);
void free(void *ptr);

/* switch.S */
void sched_ctx_switch(void **save_sp, void *load_sp);
void sched_thread_trampoline(void);
/* Called only from sched_thread_trampoline. */
__attribute__((noreturn, used)) void sched_thread_start(void);

#if CONFIG_SCHED_SWAP_ERRNO
/* libc's errno if it is linked in, else its address is NULL. */
extern int errno __attribute__((weak));
#endif

#define STACK_MIN    4096u
#define STACK_CANARY 0x6b696c6e5f73746bull            /* "kiln_stk" */
#define IDLE_MAX_NS  (60ull * 1000000000ull)          /* one poll at most */
#define NAME_SIZE    32

enum tstate { T_RUNNING, T_READY, T_BLOCKED, T_DONE };

struct thread {
    void *sp;                       /* saved rsp while switched out */
    struct thread *rq_next;         /* run queue */
    struct waitq *wq;               /* the wait queue it is on, or NULL */
    struct thread *wq_next, *wq_prev;
    struct thread *h_child;         /* sleep heap: first child */
    struct thread *h_next;          /* next sibling */
    struct thread *h_prev;          /* previous sibling, or parent if first */
    uint64_t deadline;
    uint64_t seq;                   /* FIFO among equal deadlines */
    uint8_t state;
    bool in_heap;
    bool woken;                     /* last wait ended by a wake, not a timeout */
    bool detached;
    bool joined;
    int errno_val;
    struct waitq join_wq;
    void (*fn)(void *);
    void *arg;
    void *stack;                    /* malloc'd, NULL for main / after exit */
    uint64_t id;
    char name[NAME_SIZE];
};

static struct thread main_thread = { .state = T_RUNNING, .name = "main" };
static struct thread *current = &main_thread;
static struct thread *rq_head, *rq_tail;
static struct thread *sleep_root;
static uint64_t sleep_seq;
static struct thread *reap_pending;     /* ended, stack not yet freed */
static unsigned live = 1;               /* threads not ended, main included */
static uint64_t next_id = 1;
static struct waitq all_done;           /* sched_run() callers */
static void (*io_handler)(uint64_t ready_set);
static bool in_handler;

/* ------------------------------------------------------------------ */

static unsigned long cstrlen(const char *s)
{
    unsigned long n = 0;
    while (s[n])
        n++;
    return n;
}

__attribute__((noreturn, cold, noinline)) static void fatal(const char *msg, const char *detail)
{
    plat_console_write(msg, cstrlen(msg));
    if (detail)
        plat_console_write(detail, cstrlen(detail));
    plat_console_write("\n", 1);
    plat_abort();
}

/* ---- run queue --------------------------------------------------------- */

static inline void rq_push(struct thread *t)
{
    t->state = T_READY;
    t->rq_next = NULL;
    if (rq_tail)
        rq_tail->rq_next = t;
    else
        rq_head = t;
    rq_tail = t;
}

static inline struct thread *rq_pop(void)
{
    struct thread *t = rq_head;
    if (t) {
        rq_head = t->rq_next;
        if (!rq_head)
            rq_tail = NULL;
    }
    return t;
}

/* ---- wait queues ------------------------------------------------------- */

static inline void wq_append(struct waitq *q, struct thread *t)
{
    t->wq = q;
    t->wq_next = NULL;
    t->wq_prev = q->tail;
    if (q->tail)
        q->tail->wq_next = t;
    else
        q->head = t;
    q->tail = t;
}

static inline void wq_unlink(struct thread *t)
{
    struct waitq *q = t->wq;
    if (t->wq_prev)
        t->wq_prev->wq_next = t->wq_next;
    else
        q->head = t->wq_next;
    if (t->wq_next)
        t->wq_next->wq_prev = t->wq_prev;
    else
        q->tail = t->wq_prev;
    t->wq = NULL;
    t->wq_next = t->wq_prev = NULL;
}

/* ---- sleep heap (pairing heap) ----------------------------------------- */

static inline bool h_less(const struct thread *a, const struct thread *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

/* Meld two roots (either may be NULL); the loser becomes the first child. */
static struct thread *h_meld(struct thread *a, struct thread *b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    if (h_less(b, a)) {
        struct thread *t = a;
        a = b;
        b = t;
    }
    b->h_prev = a;
    b->h_next = a->h_child;
    if (a->h_child)
        a->h_child->h_prev = b;
    a->h_child = b;
    return a;
}

/* Two-pass pairing of a sibling list into one root, without recursion
 * (thread stacks are small). */
static struct thread *h_merge_pairs(struct thread *first)
{
    struct thread *list = NULL;         /* melded pairs, reversed, via h_next */
    while (first) {
        struct thread *a = first, *b = a->h_next;
        if (!b) {
            a->h_prev = NULL;
            a->h_next = list;
            list = a;
            break;
        }
        first = b->h_next;
        a->h_next = a->h_prev = NULL;
        b->h_next = b->h_prev = NULL;
        struct thread *m = h_meld(a, b);
        m->h_next = list;
        list = m;
    }
    struct thread *root = NULL;
    while (list) {
        struct thread *n = list->h_next;
        list->h_next = NULL;
        root = h_meld(root, list);
        list = n;
    }
    if (root)
        root->h_prev = NULL;
    return root;
}

static void h_insert(struct thread *t, uint64_t deadline)
{
    t->deadline = deadline;
    t->seq = sleep_seq++;
    t->h_child = t->h_next = t->h_prev = NULL;
    t->in_heap = true;
    sleep_root = h_meld(sleep_root, t);
}

static void h_remove(struct thread *t)
{
    if (t == sleep_root) {
        sleep_root = h_merge_pairs(t->h_child);
    } else {
        struct thread *p = t->h_prev;
        if (p->h_child == t)
            p->h_child = t->h_next;
        else
            p->h_next = t->h_next;
        if (t->h_next)
            t->h_next->h_prev = p;
        sleep_root = h_meld(sleep_root, h_merge_pairs(t->h_child));
    }
    t->h_child = t->h_next = t->h_prev = NULL;
    t->in_heap = false;
}

/* ---- core ------------------------------------------------------------------ */

static void make_ready(struct thread *t, bool woken)
{
    if (t->wq)
        wq_unlink(t);
    if (t->in_heap)
        h_remove(t);
    t->woken = woken;
    rq_push(t);
}

static void expire(uint64_t now)
{
    while (sleep_root && sleep_root->deadline <= now)
        make_ready(sleep_root, false);
}

/* Free the stack (and, if detached, the struct) of the thread that ended
 * just before this one got the CPU. */
static inline void reap(void)
{
    struct thread *t = reap_pending;
    if (t) {
        reap_pending = NULL;
        free(t->stack);
        t->stack = NULL;
        if (t->detached)
            free(t);
    }
}

__attribute__((noreturn, cold, noinline)) static void deadlock(void)
{
    fatal("sched: deadlock: every thread is blocked, none has a deadline and there is no I/O handler; "
          "running thread: ", current->name);
}

/* Nothing is runnable: block in POLL until the earliest deadline (or a
 * device), hand readiness to the I/O handler.  Returns after one poll;
 * schedule() re-checks sleepers and the run queue. */
static void idle(void)
{
    uint64_t timeout = IDLE_MAX_NS;
    if (sleep_root) {
        uint64_t now = plat_monotonic_ns();
        if (sleep_root->deadline <= now)
            return;
        if (sleep_root->deadline - now < timeout)
            timeout = sleep_root->deadline - now;
    } else if (!io_handler) {
        deadlock();
    }
    unsigned long long ready = 0;
    plat_poll(timeout, &ready);
    if (ready && io_handler) {
        in_handler = true;
        io_handler(ready);
        in_handler = false;
    }
}

#if CONFIG_SCHED_STACK_CANARY
__attribute__((cold, noinline)) static void stack_overflow(struct thread *t)
{
    fatal("sched: stack overflow (canary overwritten) in thread ", t->name);
}
#endif

/* The current thread has queued itself, blocked or ended: run the next
 * runnable thread, idling until there is one. */
static void schedule(void)
{
    struct thread *prev = current, *next;

    if (in_handler)
        fatal("sched: the I/O handler must not block, yield or exit", NULL);
    for (;;) {
        if (sleep_root)
            expire(plat_monotonic_ns());
        next = rq_pop();
        if (next)
            break;
        idle();
    }
    next->state = T_RUNNING;
    if (next == prev)
        return;
#if CONFIG_SCHED_STACK_CANARY
    if (prev->stack && *(const uint64_t *)prev->stack != STACK_CANARY)
        stack_overflow(prev);
#endif
#if CONFIG_SCHED_SWAP_ERRNO
    if (&errno) {
        prev->errno_val = errno;
        errno = next->errno_val;
    }
#endif
    current = next;
    sched_ctx_switch(&prev->sp, next->sp);
    /* Back on prev's stack, possibly much later. */
    reap();
}

void sched_thread_start(void)
{
    reap();
    struct thread *t = current;
    t->fn(t->arg);
    thread_exit();
}

/* ---- threads ----------------------------------------------------------- */

struct thread *thread_create(const char *name, void (*fn)(void *), void *arg, size_t stack_size)
{
    if (!fn)
        return NULL;
    if (stack_size == 0)
        stack_size = CONFIG_SCHED_STACK_SIZE;
    if (stack_size < STACK_MIN)
        stack_size = STACK_MIN;
    if (stack_size > ((size_t)1 << 40))
        return NULL;
    stack_size = (stack_size + 15) & ~(size_t)15;

    struct thread *t = malloc(sizeof *t);
    if (!t)
        return NULL;
    char *stack = malloc(stack_size);
    if (!stack) {
        free(t);
        return NULL;
    }
    t->rq_next = NULL;
    t->wq = NULL;
    t->wq_next = t->wq_prev = NULL;
    t->h_child = t->h_next = t->h_prev = NULL;
    t->deadline = t->seq = 0;
    t->in_heap = t->woken = t->detached = t->joined = false;
    t->errno_val = 0;
    t->join_wq.head = t->join_wq.tail = NULL;
    t->fn = fn;
    t->arg = arg;
    t->stack = stack;
    t->id = next_id++;
    unsigned i = 0;
    if (name)
        for (; name[i] && i < NAME_SIZE - 1; i++)
            t->name[i] = name[i];
    t->name[i] = '\0';

    /* Initial frame for sched_ctx_switch: six zeroed callee-saved
     * registers, then the trampoline as return address at top - 24, so
     * that rsp = top - 16 (16-aligned) when the trampoline runs. */
    uint64_t *top = (uint64_t *)((uintptr_t)(stack + stack_size) & ~(uintptr_t)15);
    uint64_t *sp = top - 9;
    for (int k = 0; k < 6; k++)
        sp[k] = 0;
    sp[6] = (uint64_t)(uintptr_t)sched_thread_trampoline;
    sp[7] = sp[8] = 0;
    t->sp = sp;
#if CONFIG_SCHED_STACK_CANARY
    *(uint64_t *)(void *)stack = STACK_CANARY;
#endif
    live++;
    rq_push(t);
    return t;
}

void thread_yield(void)
{
    if (in_handler)
        fatal("sched: the I/O handler must not block, yield or exit", NULL);
    if (!rq_head && !sleep_root)
        return;                         /* nobody else could run */
    rq_push(current);
    schedule();
}

void thread_sleep_until(uint64_t deadline)
{
    if (deadline <= plat_monotonic_ns()) {
        thread_yield();
        return;
    }
    struct thread *t = current;
    h_insert(t, deadline);
    t->state = T_BLOCKED;
    schedule();
}

void thread_sleep_ns(uint64_t ns)
{
    if (ns == 0) {
        thread_yield();
        return;
    }
    uint64_t now = plat_monotonic_ns();
    uint64_t d = now + ns;
    thread_sleep_until(d < now ? UINT64_MAX : d);
}

void thread_exit(void)
{
    struct thread *t = current;
    if (in_handler)
        fatal("sched: the I/O handler must not block, yield or exit", NULL);
    t->state = T_DONE;
    live--;
    waitq_wake_all(&t->join_wq);
    if (live <= 1)
        waitq_wake_all(&all_done);
    if (live == 0)
        plat_exit(0);                   /* main ended earlier, now the last one */
    if (t != &main_thread)
        reap_pending = t;
    schedule();
    __builtin_unreachable();            /* nobody makes a T_DONE thread ready */
}

int thread_join(struct thread *t)
{
    if (!t || t == current || t->detached || t->joined)
        return -1;
    t->joined = true;
    while (t->state != T_DONE)
        waitq_wait(&t->join_wq, 0);
    if (t != &main_thread)
        free(t);                        /* its stack went when it ended */
    return 0;
}

int thread_detach(struct thread *t)
{
    if (!t || t == &main_thread || t->detached || t->joined)
        return -1;
    t->detached = true;
    if (t->state == T_DONE && t != reap_pending)
        free(t);
    return 0;
}

struct thread *thread_self(void)
{
    return current;
}

const char *thread_name(const struct thread *t)
{
    return t->name;
}

uint64_t thread_id(const struct thread *t)
{
    return t->id;
}

int *thread_errno_location(void)
{
#if CONFIG_SCHED_SWAP_ERRNO
    if (&errno)
        return &errno;                  /* the live copy is the global */
#endif
    return &current->errno_val;
}

/* ---- wait queues ------------------------------------------------------- */

void waitq_init(struct waitq *wq)
{
    wq->head = wq->tail = NULL;
}

bool waitq_wait(struct waitq *wq, uint64_t deadline)
{
    struct thread *t = current;
    if (deadline) {
        if (deadline <= plat_monotonic_ns())
            return false;
        h_insert(t, deadline);
    }
    wq_append(wq, t);
    t->woken = false;
    t->state = T_BLOCKED;
    schedule();
    return t->woken;
}

bool waitq_wake_one(struct waitq *wq)
{
    struct thread *t = wq->head;
    if (!t)
        return false;
    make_ready(t, true);
    return true;
}

unsigned waitq_wake_all(struct waitq *wq)
{
    unsigned n = 0;
    while (wq->head) {
        make_ready(wq->head, true);
        n++;
    }
    return n;
}

bool waitq_empty(const struct waitq *wq)
{
    return wq->head == NULL;
}

/* ---- mutex / condition variable ---------------------------------------- */

void mutex_init(struct mutex *m)
{
    m->owner = NULL;
    waitq_init(&m->waiters);
}

void mutex_lock(struct mutex *m)
{
    struct thread *self = current;
    if (!m->owner) {
        m->owner = self;
        return;
    }
    if (m->owner == self)
        fatal("sched: mutex_lock: mutex already held by thread ", self->name);
    do
        waitq_wait(&m->waiters, 0);
    while (m->owner != self);           /* unlock hands it over directly */
}

bool mutex_trylock(struct mutex *m)
{
    if (m->owner)
        return false;
    m->owner = current;
    return true;
}

void mutex_unlock(struct mutex *m)
{
    if (m->owner != current)
        fatal("sched: mutex_unlock: mutex not held by thread ", current->name);
    struct thread *t = m->waiters.head;
    m->owner = t;                       /* FIFO hand-over, or free */
    if (t)
        make_ready(t, true);
}

void cond_init(struct cond *c)
{
    waitq_init(&c->waiters);
}

bool cond_timedwait(struct cond *c, struct mutex *m, uint64_t deadline)
{
    /* No other thread runs between the unlock and the enqueue:
     * mutex_unlock never switches. */
    mutex_unlock(m);
    bool woken = waitq_wait(&c->waiters, deadline);
    mutex_lock(m);
    return woken;
}

void cond_wait(struct cond *c, struct mutex *m)
{
    cond_timedwait(c, m, 0);
}

void cond_signal(struct cond *c)
{
    waitq_wake_one(&c->waiters);
}

void cond_broadcast(struct cond *c)
{
    waitq_wake_all(&c->waiters);
}

/* ---- scheduler ----------------------------------------------------------- */

void sched_run(void)
{
    while (live > 1)
        waitq_wait(&all_done, 0);
}

void sched_set_io_handler(void (*fn)(uint64_t ready_set))
{
    io_handler = fn;
}

uint64_t sched_now_ns(void)
{
    return plat_monotonic_ns();
}

unsigned sched_thread_count(void)
{
    return live;
}
