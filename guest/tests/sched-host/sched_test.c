/*
 * Host tests for guest/lib/sched.  The scheduler is plain x86_64 code, so
 * it runs as is in a Linux process: the test program's main() is the
 * scheduler's main thread, stacks come from glibc's malloc through
 * counting wrappers (sched.c is compiled with -Dmalloc=test_malloc
 * -Dfree=test_free -Derrno=test_errno), plat_monotonic_ns is
 * CLOCK_MONOTONIC and plat_poll sleeps (clock_nanosleep) and can report a
 * simulated device as ready at a chosen time.
 *
 * Prints one line per test and finally "N passed, M failed".
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>

#include <kiln/sched.h>

/* ------------------------------------------------------------------ */
/* Platform stubs and instrumentation. */

static uint64_t host_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

unsigned long long plat_monotonic_ns(void);
int plat_poll(unsigned long long timeout_ns, unsigned long long *ready_set);
void plat_console_write(const char *buf, unsigned long len);
__attribute__((noreturn)) void plat_abort(void);
__attribute__((noreturn)) void plat_exit(int status);

unsigned long long plat_monotonic_ns(void)
{
    return host_ns();
}

/* Simulated device: ready at dev_ready_at with bits dev_bits. */
static uint64_t dev_ready_at = UINT64_MAX;
static uint64_t dev_bits;
static unsigned long polls;
static uint64_t last_poll_timeout;

int plat_poll(unsigned long long timeout_ns, unsigned long long *ready_set)
{
    polls++;
    last_poll_timeout = timeout_ns;
    uint64_t now = host_ns();
    uint64_t until = now + timeout_ns < now ? UINT64_MAX : now + timeout_ns;
    if (dev_ready_at < until)
        until = dev_ready_at;
    if (until > now) {
        struct timespec ts = { (time_t)(until / 1000000000ull), (long)(until % 1000000000ull) };
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
        }
    }
    if (host_ns() >= dev_ready_at) {
        dev_ready_at = UINT64_MAX;
        if (ready_set)
            *ready_set = dev_bits;
        return __builtin_popcountll(dev_bits);
    }
    if (ready_set)
        *ready_set = 0;
    return 0;
}

void plat_console_write(const char *buf, unsigned long len)
{
    fflush(stdout);
    if (write(2, buf, len) < 0)
        _exit(254);
}

void plat_abort(void)
{
    fflush(stdout);
    _exit(255);
}

void plat_exit(int status)
{
    fflush(stdout);
    _exit(status);
}

int test_errno;                          /* sched.c's weak "errno" */

/* Counting allocator for sched.c: a 16-byte header holds the size and a
 * magic.  test_free also checks that nobody frees the stack it is running
 * on (stacks must be freed by the next thread, not the exiting one). */
#define MAGIC 0x5ca1ab1e0ddba11ull
struct mhdr {
    size_t size;
    uint64_t magic;
};
static long n_malloc, n_free, bad_frees;
static void *last_alloc;

void *test_malloc(size_t n);
void test_free(void *p);

void *test_malloc(size_t n)
{
    struct mhdr *h = malloc(sizeof *h + n);
    if (!h)
        return NULL;
    h->size = n;
    h->magic = MAGIC;
    n_malloc++;
    last_alloc = h + 1;
    return h + 1;
}

void test_free(void *p)
{
    if (!p)
        return;
    struct mhdr *h = (struct mhdr *)p - 1;
    if (h->magic != MAGIC) {
        bad_frees++;                    /* double free or not ours */
        return;
    }
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    if (sp >= (uintptr_t)p && sp < (uintptr_t)p + h->size)
        bad_frees++;                    /* freeing the stack we run on */
    h->magic = 0;
    n_free++;
    free(h);
}

static long outstanding(void)
{
    return n_malloc - n_free;
}

/* ------------------------------------------------------------------ */

static char fail_msg[512];

#define CHECK(cond, ...) do {                                               \
        if (!(cond)) {                                                      \
            int k_ = snprintf(fail_msg, sizeof fail_msg, "%s:%d: %s: ",     \
                              __FILE__, __LINE__, #cond);                   \
            snprintf(fail_msg + k_, sizeof fail_msg - (size_t)k_, __VA_ARGS__); \
            return false;                                                   \
        }                                                                   \
    } while (0)

#define MS 1000000ull

/* Each thread's own assertion failures land here (first one wins). */
static char thread_fail[512];

#define TCHECK(cond, ...) do {                                              \
        if (!(cond) && !thread_fail[0]) {                                   \
            int k_ = snprintf(thread_fail, sizeof thread_fail, "%s:%d: %s: ", \
                              __FILE__, __LINE__, #cond);                   \
            snprintf(thread_fail + k_, sizeof thread_fail - (size_t)k_, __VA_ARGS__); \
        }                                                                   \
    } while (0)

#define CHECK_THREADS() CHECK(!thread_fail[0], "in a thread: %s", thread_fail)

/* ------------------------------------------------------------------ */

static bool t_main_thread(void)
{
    struct thread *m = thread_self();
    CHECK(m != NULL && strcmp(thread_name(m), "main") == 0 && thread_id(m) == 0, "main thread");
    CHECK(sched_thread_count() == 1, "count %u", sched_thread_count());
    thread_yield();                        /* nothing else: returns at once */
    sched_run();                           /* no other thread: returns at once */
    CHECK(thread_self() == m, "still main");
    CHECK(thread_join(m) == -1 && thread_detach(m) == -1 && thread_join(NULL) == -1, "join/detach main");
    CHECK(thread_create("x", NULL, NULL, 0) == NULL, "NULL function accepted");
    uint64_t t0 = sched_now_ns();
    thread_sleep_ns(2 * MS);               /* main sleeps alone: idle loop polls */
    CHECK(sched_now_ns() - t0 >= 2 * MS, "slept %llu ns", (unsigned long long)(sched_now_ns() - t0));
    return true;
}

/* Ping-pong through two wait queues; also measures a switch. */
static struct waitq q_ping = WAITQ_INITIALIZER, q_pong = WAITQ_INITIALIZER;
static int turn;
static char pp_log[200001];
static int pp_len;
#define PP_ROUNDS 100000

static void pinger(void *arg)
{
    (void)arg;
    for (int i = 0; i < PP_ROUNDS; i++) {
        while (turn != 0)
            waitq_wait(&q_ping, 0);
        pp_log[pp_len++] = 'a';
        turn = 1;
        waitq_wake_one(&q_pong);
    }
}

static void ponger(void *arg)
{
    (void)arg;
    for (int i = 0; i < PP_ROUNDS; i++) {
        while (turn != 1)
            waitq_wait(&q_pong, 0);
        pp_log[pp_len++] = 'b';
        turn = 0;
        waitq_wake_one(&q_ping);
    }
}

static bool t_ping_pong(void)
{
    turn = 0;
    pp_len = 0;
    /* ponger first, so it really has to wait for the pinger */
    struct thread *b = thread_create("pong", ponger, NULL, 0);
    struct thread *a = thread_create("ping", pinger, NULL, 0);
    CHECK(a && b, "create");
    uint64_t t0 = host_ns();
    sched_run();
    uint64_t dt = host_ns() - t0;
    CHECK(pp_len == 2 * PP_ROUNDS, "%d entries", pp_len);
    for (int i = 0; i < pp_len; i++)
        CHECK(pp_log[i] == (i % 2 ? 'b' : 'a'), "entry %d is %c", i, pp_log[i]);
    CHECK(waitq_empty(&q_ping) && waitq_empty(&q_pong), "waiters left");
    CHECK(thread_join(a) == 0 && thread_join(b) == 0, "join");
    printf("    %d round trips, %.1f ns per switch (host)\n", PP_ROUNDS, (double)dt / (2.0 * PP_ROUNDS));
    return true;
}

/* 1000 threads yielding in strict round robin. */
#define RR_THREADS 1000
#define RR_ROUNDS 20
static int rr_log[RR_THREADS * RR_ROUNDS];
static int rr_len;

static void rr_body(void *arg)
{
    int me = (int)(intptr_t)arg;
    for (int r = 0; r < RR_ROUNDS; r++) {
        rr_log[rr_len++] = me;
        thread_yield();
    }
}

static bool t_round_robin(void)
{
    static struct thread *t[RR_THREADS];
    long base = outstanding();
    rr_len = 0;
    for (int i = 0; i < RR_THREADS; i++) {
        char name[16];
        snprintf(name, sizeof name, "rr%d", i);
        t[i] = thread_create(name, rr_body, (void *)(intptr_t)i, 8192);
        CHECK(t[i], "create %d", i);
    }
    CHECK(sched_thread_count() == RR_THREADS + 1, "count %u", sched_thread_count());
    sched_run();
    CHECK(rr_len == RR_THREADS * RR_ROUNDS, "%d entries", rr_len);
    for (int i = 0; i < rr_len; i++)
        CHECK(rr_log[i] == i % RR_THREADS, "entry %d is thread %d, expected %d", i, rr_log[i], i % RR_THREADS);
    CHECK(sched_thread_count() == 1, "count %u", sched_thread_count());
    for (int i = 0; i < RR_THREADS; i++)
        CHECK(thread_join(t[i]) == 0, "join %d", i);
    CHECK(outstanding() == base, "%ld allocations left", outstanding() - base);
    return true;
}

/* Sleepers wake in deadline order, never early. */
#define SL_THREADS 40
static int sl_order[SL_THREADS];
static int sl_len;
static uint64_t sl_deadline[SL_THREADS], sl_woke[SL_THREADS], sl_abs[SL_THREADS];

static void sleeper(void *arg)
{
    int me = (int)(intptr_t)arg;
    thread_sleep_until(sl_deadline[me]);
    sl_woke[me] = sched_now_ns();
    sl_order[sl_len++] = me;
}

static void sleeper_ns(void *arg)
{
    int me = (int)(intptr_t)arg;
    uint64_t start = sched_now_ns();
    sl_abs[me] = start + sl_deadline[me];
    thread_sleep_ns(sl_deadline[me]);        /* here: a duration */
    sl_woke[me] = sched_now_ns();
    TCHECK(sl_woke[me] - start >= sl_deadline[me], "woke after %llu of %llu ns",
           (unsigned long long)(sl_woke[me] - start), (unsigned long long)sl_deadline[me]);
    sl_order[sl_len++] = me;
}

static bool t_sleep_order(void)
{
    /* Distinct deadlines 2..80 ms in a scrambled creation order. */
    uint64_t now = sched_now_ns() + 5 * MS;
    static struct thread *t[SL_THREADS];
    sl_len = 0;
    for (int i = 0; i < SL_THREADS; i++) {
        int k = (i * 17) % SL_THREADS;      /* 17 is coprime with 40 */
        sl_deadline[i] = now + (uint64_t)(k + 1) * 2 * MS;
        t[i] = thread_create("sleeper", sleeper, (void *)(intptr_t)i, 0);
        CHECK(t[i], "create");
    }
    unsigned long polls0 = polls;
    sched_run();
    CHECK(sl_len == SL_THREADS, "%d woke", sl_len);
    for (int i = 0; i < SL_THREADS; i++) {
        int me = sl_order[i];
        CHECK(sl_woke[me] >= sl_deadline[me], "thread %d woke %lld ns early", me,
              (long long)(sl_deadline[me] - sl_woke[me]));
        if (i)
            CHECK(sl_deadline[sl_order[i - 1]] < sl_deadline[me], "wake %d out of deadline order", i);
        CHECK(thread_join(t[me]) == 0, "join");
    }
    /* The idle loop sleeps until the next deadline instead of spinning. */
    CHECK(polls - polls0 <= 3 * SL_THREADS, "%lu polls for %d sleepers", polls - polls0, SL_THREADS);

    /* Equal deadlines wake in the order the threads went to sleep. */
    sl_len = 0;
    uint64_t d = sched_now_ns() + 10 * MS;
    for (int i = 0; i < 10; i++) {
        sl_deadline[i] = d;
        t[i] = thread_create("same", sleeper, (void *)(intptr_t)i, 0);
    }
    sched_run();
    for (int i = 0; i < 10; i++) {
        CHECK(sl_order[i] == i, "equal deadlines: position %d is thread %d", i, sl_order[i]);
        CHECK(thread_join(t[i]) == 0, "join");
    }

    /* Relative sleeps: durations in reverse creation order. */
    sl_len = 0;
    thread_fail[0] = 0;
    for (int i = 0; i < 10; i++) {
        sl_deadline[i] = (uint64_t)(10 - i) * 3 * MS;
        t[i] = thread_create("rel", sleeper_ns, (void *)(intptr_t)i, 0);
    }
    sched_run();
    CHECK_THREADS();
    /* Expected: reverse creation order; checked against the deadlines the
     * threads really had, so a descheduled test process cannot fail it. */
    for (int i = 0; i < 10; i++) {
        if (i)
            CHECK(sl_abs[sl_order[i - 1]] <= sl_abs[sl_order[i]], "relative sleeps: position %d out of order", i);
        CHECK(thread_join(t[i]) == 0, "join");
    }
    int in_reverse = 0;
    for (int i = 0; i < 10; i++)
        in_reverse += sl_order[i] == 9 - i;
    if (in_reverse != 10)
        printf("    note: the host delayed thread starts; wake order still matched the deadlines\n");
    return true;
}

/* A busy thread that only yields must not starve a sleeper. */
static volatile bool flag;
static uint64_t spin_woke_late;

static void spinner(void *arg)
{
    (void)arg;
    while (!flag)
        thread_yield();
}

static void flag_setter(void *arg)
{
    (void)arg;
    uint64_t d = sched_now_ns() + 10 * MS;
    thread_sleep_until(d);
    spin_woke_late = sched_now_ns() - d;
    flag = true;
}

static bool t_sleep_vs_spin(void)
{
    flag = false;
    struct thread *a = thread_create("spin", spinner, NULL, 0);
    struct thread *b = thread_create("setter", flag_setter, NULL, 0);
    sched_run();
    CHECK(flag, "flag not set");
    /* Starvation would never end (the watchdog catches it); this bound
     * only has to survive a loaded machine. */
    CHECK(spin_woke_late < 200 * MS, "sleeper woke %llu ns late", (unsigned long long)spin_woke_late);
    CHECK(thread_join(a) == 0 && thread_join(b) == 0, "join");
    return true;
}

/* waitq_wait: timeout vs wake. */
static struct waitq wq_t = WAITQ_INITIALIZER;
static int wq_results[8];
static uint64_t wq_elapsed[8];

static void timed_waiter(void *arg)
{
    int me = (int)(intptr_t)arg;
    uint64_t t0 = sched_now_ns();
    uint64_t timeout = me == 0 ? 20 * MS : 2000 * MS;
    wq_results[me] = waitq_wait(&wq_t, t0 + timeout);
    wq_elapsed[me] = sched_now_ns() - t0;
}

static void waker(void *arg)
{
    (void)arg;
    thread_sleep_ns(200 * MS);           /* well after waiter 0 timed out */
    wq_results[7] = (int)waitq_wake_all(&wq_t);
}

static bool t_waitq_timeout(void)
{
    memset(wq_results, 0xff, sizeof wq_results);
    struct thread *a = thread_create("w0", timed_waiter, (void *)0, 0);
    struct thread *b = thread_create("w1", timed_waiter, (void *)1, 0);
    struct thread *c = thread_create("waker", waker, NULL, 0);
    sched_run();
    CHECK(wq_results[0] == 0, "waiter 0 should time out");
    CHECK(wq_elapsed[0] >= 20 * MS && wq_elapsed[0] < 200 * MS, "waiter 0 after %llu ns",
          (unsigned long long)wq_elapsed[0]);
    CHECK(wq_results[1] == 1, "waiter 1 should be woken");
    CHECK(wq_elapsed[1] >= 200 * MS && wq_elapsed[1] < 2000 * MS, "waiter 1 after %llu ns",
          (unsigned long long)wq_elapsed[1]);
    CHECK(wq_results[7] == 1, "wake_all woke %d (the timed-out waiter must have left the queue)", wq_results[7]);
    CHECK(waitq_empty(&wq_t), "queue not empty");
    CHECK(thread_join(a) == 0 && thread_join(b) == 0 && thread_join(c) == 0, "join");

    /* Past deadline: false at once; wake with nobody waiting: false. */
    uint64_t t0 = sched_now_ns();
    CHECK(waitq_wait(&wq_t, 1) == false, "past deadline");
    CHECK(sched_now_ns() - t0 < 100 * MS, "past deadline blocked");
    CHECK(!waitq_wake_one(&wq_t) && waitq_wake_all(&wq_t) == 0, "wake on empty queue");

    /* Woken before the timeout: the (removed) deadline must not fire later,
     * and a later sleep still works. */
    a = thread_create("w1", timed_waiter, (void *)1, 0);
    thread_yield();                      /* let it block */
    CHECK(waitq_wake_one(&wq_t), "nobody waiting");
    sched_run();
    CHECK(wq_results[1] == 1 && wq_elapsed[1] < 1000 * MS, "early wake");
    CHECK(thread_join(a) == 0, "join");
    t0 = sched_now_ns();
    thread_sleep_ns(3 * MS);
    CHECK(sched_now_ns() - t0 >= 3 * MS, "sleep after a cancelled deadline");
    return true;
}

/* Producer/consumer through a bounded buffer with a mutex and two
 * condition variables, with yields inside the critical sections. */
#define PC_PRODUCERS 4
#define PC_CONSUMERS 3
#define PC_ITEMS 5000                       /* per producer */
#define PC_CAP 8
static struct mutex pc_m = MUTEX_INITIALIZER;
static struct cond pc_not_full = COND_INITIALIZER, pc_not_empty = COND_INITIALIZER;
static int pc_buf[PC_CAP], pc_head, pc_count, pc_done_producers;
static unsigned char pc_seen[PC_PRODUCERS * PC_ITEMS];
static long pc_consumed[PC_CONSUMERS], pc_sum;

static void producer(void *arg)
{
    int me = (int)(intptr_t)arg;
    for (int i = 0; i < PC_ITEMS; i++) {
        mutex_lock(&pc_m);
        while (pc_count == PC_CAP)
            cond_wait(&pc_not_full, &pc_m);
        if (i % 7 == 0)
            thread_yield();                 /* others queue up on the mutex */
        TCHECK(pc_count < PC_CAP, "buffer overflow");
        pc_buf[(pc_head + pc_count) % PC_CAP] = me * PC_ITEMS + i;
        pc_count++;
        cond_signal(&pc_not_empty);
        mutex_unlock(&pc_m);
        if (i % 3 == 0)
            thread_yield();
    }
    mutex_lock(&pc_m);
    pc_done_producers++;
    cond_broadcast(&pc_not_empty);
    mutex_unlock(&pc_m);
}

static void consumer(void *arg)
{
    int me = (int)(intptr_t)arg;
    for (;;) {
        mutex_lock(&pc_m);
        while (pc_count == 0 && pc_done_producers < PC_PRODUCERS)
            cond_wait(&pc_not_empty, &pc_m);
        if (pc_count == 0) {
            mutex_unlock(&pc_m);
            return;
        }
        int v = pc_buf[pc_head];
        pc_head = (pc_head + 1) % PC_CAP;
        pc_count--;
        TCHECK(v >= 0 && v < PC_PRODUCERS * PC_ITEMS && !pc_seen[v], "item %d twice or bogus", v);
        if (v >= 0 && v < PC_PRODUCERS * PC_ITEMS)
            pc_seen[v] = 1;
        pc_sum += v;
        pc_consumed[me]++;
        cond_signal(&pc_not_full);
        if (v % 5 == 0)
            thread_yield();
        mutex_unlock(&pc_m);
    }
}

static bool t_producer_consumer(void)
{
    static struct thread *t[PC_PRODUCERS + PC_CONSUMERS];
    int k = 0;
    thread_fail[0] = 0;
    for (int i = 0; i < PC_CONSUMERS; i++)
        t[k++] = thread_create("consumer", consumer, (void *)(intptr_t)i, 0);
    for (int i = 0; i < PC_PRODUCERS; i++)
        t[k++] = thread_create("producer", producer, (void *)(intptr_t)i, 0);
    sched_run();
    CHECK_THREADS();
    long total = 0;
    for (int i = 0; i < PC_CONSUMERS; i++)
        total += pc_consumed[i];
    long n = PC_PRODUCERS * PC_ITEMS;
    CHECK(total == n, "consumed %ld of %ld", total, n);
    CHECK(pc_sum == n * (n - 1) / 2, "sum %ld", pc_sum);
    for (long i = 0; i < n; i++)
        CHECK(pc_seen[i], "item %ld lost", i);
    for (int i = 0; i < PC_CONSUMERS; i++)
        CHECK(pc_consumed[i] > 0, "consumer %d starved", i);
    CHECK(pc_m.owner == NULL && waitq_empty(&pc_m.waiters), "mutex left held");
    for (int i = 0; i < k; i++)
        CHECK(thread_join(t[i]) == 0, "join");
    printf("    %ld items, consumed %ld/%ld/%ld\n", n, pc_consumed[0], pc_consumed[1], pc_consumed[2]);
    return true;
}

/* Mutex: FIFO hand-over, trylock, cond_timedwait timeout. */
static struct mutex mx = MUTEX_INITIALIZER;
static int mx_order[8], mx_len;

static void mx_locker(void *arg)
{
    mutex_lock(&mx);
    mx_order[mx_len++] = (int)(intptr_t)arg;
    thread_yield();
    mutex_unlock(&mx);
}

static bool t_mutex(void)
{
    mx_len = 0;
    CHECK(mutex_trylock(&mx), "trylock of a free mutex");
    CHECK(!mutex_trylock(&mx), "trylock of a held mutex");
    struct thread *t[5];
    for (int i = 0; i < 5; i++)
        t[i] = thread_create("locker", mx_locker, (void *)(intptr_t)i, 0);
    thread_yield();                         /* all five queue up behind main */
    mutex_unlock(&mx);                      /* hand-over to locker 0 */
    CHECK(mx.owner == t[0], "not handed to the first waiter");
    sched_run();
    for (int i = 0; i < 5; i++) {
        CHECK(mx_order[i] == i, "acquisition %d by %d", i, mx_order[i]);
        CHECK(thread_join(t[i]) == 0, "join");
    }
    CHECK(mx.owner == NULL, "mutex held");

    struct cond c = COND_INITIALIZER;
    mutex_lock(&mx);
    uint64_t t0 = sched_now_ns();
    CHECK(!cond_timedwait(&c, &mx, t0 + 5 * MS), "cond_timedwait should time out");
    CHECK(sched_now_ns() - t0 >= 5 * MS, "returned early");
    CHECK(mx.owner == thread_self(), "mutex not re-acquired");
    mutex_unlock(&mx);
    return true;
}

/* join semantics */
static int js_state;

static void js_quick(void *arg)
{
    (void)arg;
    js_state |= 1;
}

static volatile int js_exit_now = 1;

__attribute__((noinline)) static void js_deep(int depth)
{
    if (depth > 0) {
        js_deep(depth - 1);
    } else if (js_exit_now) {
        js_state |= 2;
        thread_exit();                      /* from a nested frame */
    }
    js_state |= 64;                         /* never reached */
}

static void js_exiter(void *arg)
{
    (void)arg;
    js_deep(5);
}

static void js_slow(void *arg)
{
    (void)arg;
    thread_sleep_ns(10 * MS);
    js_state |= 4;
}

static struct thread *js_target;
static int js_joiner_rc = 99;

static void js_second_joiner(void *arg)
{
    (void)arg;
    js_joiner_rc = thread_join(js_target);  /* main is already joining it */
}

static void js_self(void *arg)
{
    (void)arg;
    js_state |= thread_join(thread_self()) == -1 ? 8 : 0;
}

static bool t_join(void)
{
    js_state = 0;
    /* Join a thread that already ended. */
    struct thread *a = thread_create("quick", js_quick, NULL, 0);
    thread_yield();
    CHECK(js_state & 1, "did not run");
    CHECK(thread_join(a) == 0, "join ended thread");

    /* Join a running thread: returns only after it ended. */
    struct thread *b = thread_create("slow", js_slow, NULL, 0);
    js_target = b;
    struct thread *j2 = thread_create("joiner2", js_second_joiner, NULL, 0);
    uint64_t t0 = sched_now_ns();
    CHECK(thread_join(b) == 0, "join running thread");
    CHECK((js_state & 4) && sched_now_ns() - t0 >= 10 * MS, "join returned before the thread ended");
    CHECK(thread_join(j2) == 0, "join");
    CHECK(js_joiner_rc == -1, "second joiner got %d", js_joiner_rc);

    /* thread_exit from a nested call. */
    struct thread *c = thread_create("exiter", js_exiter, NULL, 0);
    CHECK(thread_join(c) == 0, "join exiter");
    CHECK((js_state & 2) && !(js_state & 64), "thread_exit did not end the thread");

    /* Self-join fails; detached threads cannot be joined. */
    struct thread *d = thread_create("self", js_self, NULL, 0);
    CHECK(thread_join(d) == 0 && (js_state & 8), "self-join");
    struct thread *e = thread_create("detached", js_quick, NULL, 0);
    CHECK(thread_detach(e) == 0, "detach");
    CHECK(thread_join(e) == -1 && thread_detach(e) == -1, "join/detach of a detached thread");
    sched_run();
    return true;
}

/* Stacks (and detached threads' structs) are freed; never the stack the
 * freeing code runs on. */
static void st_body(void *arg)
{
    int kind = (int)(intptr_t)arg;
    volatile char buf[512];
    buf[0] = (char)kind;
    (void)buf[0];
    if (kind % 3 == 0)
        thread_yield();
    if (kind % 5 == 0)
        thread_exit();
    if (kind % 7 == 0)
        thread_sleep_ns(1 * MS);
}

static bool t_stack_freeing(void)
{
    long base = outstanding();
    long bad0 = bad_frees;
    static struct thread *t[300];
    for (int i = 0; i < 300; i++) {
        size_t ss = i % 4 == 0 ? 0 : (size_t)4096 << (i % 4);
        t[i] = thread_create("st", st_body, (void *)(intptr_t)i, ss);
        CHECK(t[i], "create");
        if (i % 2)
            CHECK(thread_detach(t[i]) == 0, "detach");
    }
    CHECK(outstanding() == base + 600, "%ld allocations for 300 threads", outstanding() - base);
    sched_run();
    /* Every stack and every detached struct is gone; joined structs remain. */
    CHECK(outstanding() == base + 150, "%ld allocations left before the joins", outstanding() - base);
    for (int i = 0; i < 300; i += 2)
        CHECK(thread_join(t[i]) == 0, "join");
    CHECK(outstanding() == base, "%ld allocations left", outstanding() - base);
    CHECK(bad_frees == bad0, "%ld frees of a running stack or unknown pointer", bad_frees - bad0);

    /* Detach after the end: freed at once. */
    struct thread *x = thread_create("late", st_body, (void *)1, 0);
    thread_yield();
    CHECK(outstanding() == base + 1, "struct should remain");
    CHECK(thread_detach(x) == 0 && outstanding() == base, "late detach did not free");

    /* Out of stack memory: creation fails cleanly (simulated: huge stack). */
    CHECK(thread_create("huge", st_body, NULL, (size_t)1 << 41) == NULL, "absurd stack size accepted");
    CHECK(outstanding() == base, "failed create leaked");
    return true;
}

/* I/O readiness: the idle loop passes plat_poll's ready set to the handler. */
static struct waitq io_wq = WAITQ_INITIALIZER;
static uint64_t io_seen;
static int io_calls;
static bool io_woken;
static uint64_t io_wait_ns;

static void io_handler_fn(uint64_t ready)
{
    io_calls++;
    io_seen |= ready;
    if (ready & 4)
        waitq_wake_all(&io_wq);
}

static void io_waiter(void *arg)
{
    (void)arg;
    uint64_t t0 = sched_now_ns();
    io_woken = waitq_wait(&io_wq, 0);      /* no deadline: only the device wakes it */
    io_wait_ns = sched_now_ns() - t0;
}

static bool t_io_handler(void)
{
    io_seen = 0;
    io_calls = 0;
    sched_set_io_handler(io_handler_fn);
    struct thread *w = thread_create("io", io_waiter, NULL, 0);
    thread_yield();                         /* it blocks */
    dev_bits = 0x5;
    dev_ready_at = host_ns() + 30 * MS;
    unsigned long p0 = polls;
    CHECK(thread_join(w) == 0, "join");     /* main blocks too: idle loop polls */
    CHECK(io_woken && io_seen == 0x5 && io_calls == 1, "woken %d, seen %#llx, calls %d", io_woken,
          (unsigned long long)io_seen, io_calls);
    CHECK(io_wait_ns >= 29 * MS, "woken after %llu ns", (unsigned long long)io_wait_ns);
    CHECK(polls - p0 <= 2, "%lu polls", polls - p0);
    CHECK(last_poll_timeout >= 1000000000ull, "no sleeper: poll should block long, got %llu ns",
          (unsigned long long)last_poll_timeout);
    sched_set_io_handler(NULL);
    return true;
}

/* errno is per thread (the scheduler swaps the global on every switch). */
static void errno_body(void *arg)
{
    int me = (int)(intptr_t)arg;
    test_errno = me;
    for (int i = 0; i < 5; i++) {
        thread_yield();
        TCHECK(test_errno == me, "errno %d in thread %d", test_errno, me);
        TCHECK(*thread_errno_location() == me, "errno slot");
    }
}

static bool t_errno(void)
{
    thread_fail[0] = 0;
    test_errno = 1000;
    struct thread *t[4];
    for (int i = 0; i < 4; i++)
        t[i] = thread_create("errno", errno_body, (void *)(intptr_t)(i + 1), 0);
    sched_run();
    CHECK_THREADS();
    CHECK(test_errno == 1000, "main's errno is %d", test_errno);
    for (int i = 0; i < 4; i++)
        CHECK(thread_join(t[i]) == 0, "join");
    return true;
}

/* Stack alignment: SysV wants rsp % 16 == 8 at function entry; glibc's
 * printf of a double uses aligned SSE stores and would fault otherwise. */
static int align_ok;

__attribute__((noinline, optimize("no-omit-frame-pointer"))) static void align_probe(void)
{
    /* After "push rbp; mov rsp, rbp" rbp is 16-aligned iff entry was. */
    align_ok = ((uintptr_t)__builtin_frame_address(0) & 15) == 0;
}

static void align_body(void *arg)
{
    (void)arg;
    align_probe();
    char buf[64];
    snprintf(buf, sizeof buf, "%.3f", 3.14159 * (double)align_ok);
    if (strcmp(buf, "3.142") != 0)
        align_ok = 0;
}

static bool t_stack_alignment(void)
{
    align_ok = -1;
    struct thread *t = thread_create("align", align_body, NULL, 32768);
    CHECK(thread_join(t) == 0, "join");
    CHECK(align_ok == 1, "misaligned stack at thread entry");
    return true;
}

/* Fatal conditions, each in a child process. */
static int child(void (*fn)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        FILE *f = freopen("/dev/null", "w", stderr);
        (void)f;
        fn();
        _exit(77);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static struct waitq forever = WAITQ_INITIALIZER;

static void block_forever(void *arg)
{
    (void)arg;
    waitq_wait(&forever, 0);
}

static void do_deadlock(void)
{
    thread_create("stuck", block_forever, NULL, 0);
    sched_run();                            /* must abort: nobody can wake it */
}

static int pipe_fd[2];

static void last_one(void *arg)
{
    (void)arg;
    thread_sleep_ns(5 * MS);
    if (write(pipe_fd[1], "x", 1) != 1)
        _exit(3);
}

static void do_main_exit(void)
{
    thread_create("last", last_one, NULL, 0);
    thread_exit();                          /* exit(0) once "last" ends */
}

/* Simulate the deepest write of a stack overflow: clobber the lowest
 * word of the thread's own stack (its canary), then yield. */
static volatile uint64_t *ovf_stack;

static void overflower(void *arg)
{
    (void)arg;
    ovf_stack[0] = 0;
    thread_yield();                         /* the switch checks the canary */
}

static void do_overflow(void)
{
    struct thread *t = thread_create("ovf", overflower, NULL, 4096);
    ovf_stack = last_alloc;                 /* thread_create allocates the stack last */
    thread_create("other", block_forever, NULL, 0);  /* so the yield switches */
    thread_join(t);
}

static struct mutex dm = MUTEX_INITIALIZER;

static void do_recursive_lock(void)
{
    mutex_lock(&dm);
    mutex_lock(&dm);
}

static void do_foreign_unlock(void)
{
    mutex_unlock(&dm);
}

static void blocking_handler(uint64_t r)
{
    (void)r;
    thread_yield();
}

static void do_handler_blocks(void)
{
    sched_set_io_handler(blocking_handler);
    dev_bits = 1;
    dev_ready_at = host_ns() + MS;
    thread_create("stuck", block_forever, NULL, 0);
    sched_run();
}

static bool t_fatal(void)
{
    int rc = child(do_deadlock);
    CHECK(rc == 255, "deadlock: exit %d", rc);

    CHECK(pipe(pipe_fd) == 0, "pipe");
    rc = child(do_main_exit);
    close(pipe_fd[1]);
    char c = 0;
    ssize_t n = read(pipe_fd[0], &c, 1);
    close(pipe_fd[0]);
    CHECK(rc == 0 && n == 1 && c == 'x', "main exit: exit %d, last thread ran: %d", rc, (int)n);

    rc = child(do_overflow);
    CHECK(rc == 255, "stack overflow: exit %d", rc);
    rc = child(do_recursive_lock);
    CHECK(rc == 255, "recursive lock: exit %d", rc);
    rc = child(do_foreign_unlock);
    CHECK(rc == 255, "unlock by a non-owner: exit %d", rc);
    rc = child(do_handler_blocks);
    CHECK(rc == 255, "blocking I/O handler: exit %d", rc);
    return true;
}

/* Many sleepers with random deadlines, some woken early: the heap must
 * stay consistent (every thread wakes exactly once, in order). */
#define HS_THREADS 500
static struct waitq hs_wq[HS_THREADS];
static uint64_t hs_deadline[HS_THREADS];
static int hs_result[HS_THREADS];
static uint64_t hs_when[HS_THREADS];

static void hs_body(void *arg)
{
    int me = (int)(intptr_t)arg;
    hs_result[me] = waitq_wait(&hs_wq[me], hs_deadline[me]) ? 1 : 2;
    hs_when[me] = sched_now_ns();
}

static void hs_canceller(void *arg)
{
    (void)arg;
    for (int i = 0; i < HS_THREADS; i += 3)
        waitq_wake_one(&hs_wq[i]);           /* wake before the deadline */
}

static bool t_heap_stress(void)
{
    static struct thread *t[HS_THREADS];
    uint64_t base = sched_now_ns() + 20 * MS;
    uint64_t x = 12345;
    for (int i = 0; i < HS_THREADS; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        hs_deadline[i] = base + (x >> 33) % (30 * MS);
        hs_result[i] = 0;
        waitq_init(&hs_wq[i]);
        t[i] = thread_create("hs", hs_body, (void *)(intptr_t)i, 4096);
        CHECK(t[i], "create");
    }
    thread_yield();                              /* all block */
    struct thread *c = thread_create("cancel", hs_canceller, NULL, 0);
    sched_run();
    for (int i = 0; i < HS_THREADS; i++) {
        CHECK(hs_result[i] == (i % 3 == 0 ? 1 : 2), "thread %d result %d", i, hs_result[i]);
        if (i % 3)
            CHECK(hs_when[i] >= hs_deadline[i], "thread %d woke early", i);
        CHECK(thread_join(t[i]) == 0, "join");
    }
    CHECK(thread_join(c) == 0, "join");
    return true;
}

/* ------------------------------------------------------------------ */

static int passed, failed;
static const char *running_test = "?";

/* Watchdog: a hang (e.g. a lost wake-up) is a failure, not a stuck run. */
static void on_alarm(int sig)
{
    (void)sig;
    char buf[256];
    int n = snprintf(buf, sizeof buf, "FAIL %s: timed out\n%d passed, %d failed\n", running_test, passed,
                     failed + 1);
    if (write(1, buf, (size_t)n) < 0)
        _exit(3);
    _exit(1);
}

static void run(const char *name, bool (*fn)(void))
{
    fail_msg[0] = 0;
    running_test = name;
    alarm(30);
    uint64_t t0 = host_ns();
    bool ok = fn();
    alarm(0);
    double dt = (double)(host_ns() - t0) / 1e9;
    if (ok && sched_thread_count() != 1) {
        ok = false;
        snprintf(fail_msg, sizeof fail_msg, "%u threads still alive", sched_thread_count());
    }
    if (ok) {
        passed++;
        printf("ok   %-20s (%.2f s)\n", name, dt);
    } else {
        failed++;
        printf("FAIL %-20s %s\n", name, fail_msg);
    }
    fflush(stdout);
}

int main(void)
{
    signal(SIGALRM, on_alarm);
    printf("sched host tests\n");
    run("main_thread", t_main_thread);
    run("ping_pong", t_ping_pong);
    run("round_robin_1000", t_round_robin);
    run("sleep_order", t_sleep_order);
    run("sleep_vs_spin", t_sleep_vs_spin);
    run("waitq_timeout", t_waitq_timeout);
    run("producer_consumer", t_producer_consumer);
    run("mutex", t_mutex);
    run("join", t_join);
    run("stack_freeing", t_stack_freeing);
    run("io_handler", t_io_handler);
    run("errno", t_errno);
    run("stack_alignment", t_stack_alignment);
    run("heap_stress", t_heap_stress);
    run("fatal", t_fatal);
    long left = outstanding();
    if (left != 0) {
        failed++;
        printf("FAIL leaks               %ld allocations never freed\n", left);
    } else {
        passed++;
        printf("ok   no_leaks             (%ld mallocs, %ld frees)\n", n_malloc, n_free);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
