/*
 * Threads of a POSIX program on a cooperative scheduler.
 *
 * musl's pthread_create maps the thread's stack and TLS itself and calls __clone (patched to
 * jump to __kiln_clone) with Linux clone(2)'s arguments; the new thread starts on that stack with
 * its FS base at the TLS (CLONE_SETTLS), its tid stored at ptid (CLONE_PARENT_SETTID), and ctid
 * remembered (CLONE_CHILD_CLEARTID): when it ends, the kernel zeroes *ctid and wakes one futex
 * waiter there -- musl holds its thread-list lock over the exit and pthread_join/the next
 * pthread_create wait for that store, so it must happen.
 *
 * Scheduling is FIFO and cooperative (no preemption, one vCPU): a thread runs until it blocks
 * in kiln_wait (futex, pipe, poll, socket), sleeps or yields.  Nothing runnable: the blocked
 * thread's own stack runs the idle loop, which waits in the platform's POLL hypercall until the
 * earliest deadline (a sleeper's or the I/O hook's) or device input.  SYS_exit ends the calling
 * thread only (the process ends with the last one, Linux's rule); exit_group, in posix-core,
 * the process.
 *
 * These definitions replace posix-core's single-threaded ones (weak there): arch_prctl,
 * set_tid_address, gettid, futex (futex.c), sched_yield, exit, __kiln_clone,
 * __kiln_unmapself, kiln_posix_sleep_until.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <kiln/platform.h>
#include <kiln/posix.h>
#include "kthread_internal.h"

/* Linux's clone flags (include/uapi/linux/sched.h) */
#define K_CLONE_VM 0x100
#define K_CLONE_SIGHAND 0x800
#define K_CLONE_THREAD 0x10000
#define K_CLONE_SETTLS 0x80000
#define K_CLONE_PARENT_SETTID 0x100000
#define K_CLONE_CHILD_CLEARTID 0x200000
#define K_CLONE_CHILD_SETTID 0x1000000

#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define MSR_FS_BASE 0xc0000100u
#define IDLE_MAX_NS (60ull * 1000000000ull)

void kiln_ctx_switch(void **save_sp, void *load_sp);
void kiln_thread_trampoline(void);
__attribute__((noreturn, used)) void kiln_thread_start(void);

static struct kiln_thread main_thread = { .state = T_RUNNING };
struct kiln_thread *kiln_current = &main_thread;
static struct kiln_waitq runq;
static struct kiln_thread *sleepers;         /* sorted by deadline */
static int live = 1;                         /* threads not ended */
static int next_tid;
static struct kiln_thread *zombie;           /* ended; freed by the next thread to run */
static void *unmap_base;                     /* a detached thread's stack, unmapped likewise */
static unsigned long unmap_size;
static int in_io;
static void (*io_poll)(unsigned long long);
static unsigned long long (*io_deadline)(void);

struct kiln_waitq kiln_io_waitq;

static void wrfs(unsigned long v)
{
    __asm__ __volatile__("wrmsr" : : "c"(MSR_FS_BASE), "a"((unsigned)v), "d"((unsigned)(v >> 32)));
}

static int main_tid(void)
{
    if (!main_thread.tid)
        main_thread.tid = (int)kiln_posix_pid();
    return main_thread.tid;
}

int kiln_thread_tid(void)
{
    return kiln_current == &main_thread ? main_tid() : kiln_current->tid;
}

/* ---- queues ---------------------------------------------------------------------------- */

static void q_append(struct kiln_waitq *q, struct kiln_thread *t)
{
    t->wq = q;
    t->next = 0;
    t->prev = q->tail;
    if (q->tail)
        q->tail->next = t;
    else
        q->head = t;
    q->tail = t;
}

static void q_unlink(struct kiln_thread *t)
{
    struct kiln_waitq *q = t->wq;
    if (!q)
        return;
    if (t->prev)
        t->prev->next = t->next;
    else
        q->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        q->tail = t->prev;
    t->wq = 0;
    t->next = t->prev = 0;
}

static void sleep_insert(struct kiln_thread *t, unsigned long long deadline)
{
    struct kiln_thread **p = &sleepers;
    while (*p && (*p)->deadline <= deadline)
        p = &(*p)->snext;
    t->deadline = deadline;
    t->snext = *p;
    *p = t;
}

static void sleep_remove(struct kiln_thread *t)
{
    if (!t->deadline)
        return;
    for (struct kiln_thread **p = &sleepers; *p; p = &(*p)->snext) {
        if (*p == t) {
            *p = t->snext;
            break;
        }
    }
    t->deadline = 0;
    t->snext = 0;
}

void kiln_make_ready(struct kiln_thread *t, int woken)
{
    q_unlink(t);
    sleep_remove(t);
    t->woken = woken;
    t->state = T_READY;
    q_append(&runq, t);
}

void kiln_requeue(struct kiln_thread *t, struct kiln_waitq *q)
{
    q_unlink(t);
    q_append(q, t);
}

/* ---- the scheduler --------------------------------------------------------------------- */

static void reap(void)
{
    if (zombie) {
        free(zombie);
        zombie = 0;
    }
    if (unmap_base) {
        void *b = unmap_base;
        unmap_base = 0;
        __kiln_syscall(SYS_munmap, (long)b, (long)unmap_size, 0, 0, 0, 0);
    }
}

__attribute__((noreturn, cold)) static void deadlock(void)
{
    kiln_posix_say("kiln: posix: deadlock: every thread is blocked and nothing can wake them (");
    kiln_posix_say(kiln_current->what ? kiln_current->what : "thread exit");
    kiln_posix_say(")\n");
    kiln_posix_exit(134);
}

static void expire(void)
{
    unsigned long long now = plat_monotonic_ns();
    while (sleepers && sleepers->deadline <= now)
        kiln_make_ready(sleepers, 0);
}

static void run_io(unsigned long long ready)
{
    if (!io_poll)
        return;
    in_io = 1;
    io_poll(ready);
    in_io = 0;
}

/* Nothing is runnable: wait in POLL until the earliest deadline or device input. */
static void idle(void)
{
    unsigned long long now = plat_monotonic_ns(), until = ~0ull;
    if (sleepers)
        until = sleepers->deadline;
    if (io_deadline) {
        unsigned long long d = io_deadline();
        if (d && d < until)
            until = d;
    }
    if (until == ~0ull && !io_poll)
        deadlock();
    unsigned long long timeout = until <= now ? 0 : until - now;
    if (timeout > IDLE_MAX_NS)
        timeout = IDLE_MAX_NS;
    unsigned long long ready = 0;
    if (timeout)
        plat_poll(timeout, &ready);
    run_io(ready);
}

/* The current thread is on a queue, asleep or done: run the next runnable one. */
static void schedule(void)
{
    struct kiln_thread *prev = kiln_current, *next;
    if (in_io) {
        kiln_posix_say("kiln: posix: the I/O hook must not block\n");
        plat_abort();
    }
    for (;;) {
        if (sleepers)
            expire();
        next = runq.head;
        if (next)
            break;
        idle();
    }
    q_unlink(next);
    next->state = T_RUNNING;
    if (next == prev)
        return;
    if (next->fs != prev->fs)
        wrfs(next->fs);
    kiln_current = next;
    kiln_ctx_switch(&prev->sp, next->sp);
    /* back on prev's stack */
    reap();
}

int kiln_wait(struct kiln_waitq *q, unsigned long long deadline, const char *what)
{
    struct kiln_thread *t = kiln_current;
    if (deadline && deadline <= plat_monotonic_ns())
        return 0;
    if (q)
        q_append(q, t);
    if (deadline)
        sleep_insert(t, deadline);
    t->woken = 0;
    t->what = what;
    t->state = T_BLOCKED;
    schedule();
    return t->woken;
}

int kiln_wake(struct kiln_waitq *q, int n)
{
    int woken = 0;
    while (q->head && (n < 0 || woken < n)) {
        kiln_make_ready(q->head, 1);
        woken++;
    }
    return woken;
}

unsigned long kiln_io_generation;

void kiln_io_notify(void)
{
    kiln_io_generation++;
    kiln_wake(&kiln_io_waitq, -1);
}

void kiln_yield(void)
{
    if (!runq.head) {
        /* Nobody else runs: a program spinning on sched_yield for input still gets it. */
        if (sleepers)
            expire();
        if (!runq.head) {
            if (io_poll)
                run_io(0);
            if (!runq.head)
                return;
        }
    }
    kiln_current->state = T_READY;
    q_append(&runq, kiln_current);
    schedule();
}

void kiln_thread_set_io(void (*poll)(unsigned long long), unsigned long long (*next_deadline)(void))
{
    io_poll = poll;
    io_deadline = next_deadline;
}

/* Sleeps (nanosleep, clock_nanosleep) let the other threads run. */
void kiln_posix_sleep_until(unsigned long long deadline)
{
    while (plat_monotonic_ns() < deadline)
        kiln_wait(0, deadline, "sleep");
}

/* ---- thread life ------------------------------------------------------------------------ */

__attribute__((noreturn)) static void thread_exit(int status)
{
    struct kiln_thread *t = kiln_current;
    if (t->clear_tid) {
        /* CLONE_CHILD_CLEARTID: zero the tid word and wake a futex waiter there (clone(2)) */
        __atomic_store_n(t->clear_tid, 0, __ATOMIC_SEQ_CST);
        kiln_futex_wake(t->clear_tid, 1);
    }
    if (--live == 0)
        kiln_posix_exit(status); /* the last thread: its status is the process's */
    t->state = T_DONE;
    if (t != &main_thread)
        zombie = t;
    t->what = "thread exit";
    schedule();
    __builtin_unreachable();
}

void kiln_thread_start(void)
{
    reap();
    struct kiln_thread *t = kiln_current;
    int r = t->fn(t->arg);
    thread_exit(r);
}

/* musl's __clone (patched) jumps here with clone(2)'s arguments. */
int __kiln_clone(int (*fn)(void *), void *stack, int flags, void *arg, int *ptid, void *tls, int *ctid)
{
    int need = K_CLONE_VM | K_CLONE_SIGHAND | K_CLONE_THREAD;
    if ((flags & need) != need) {
        /* a new process sharing memory (posix_spawn's CLONE_VM|CLONE_VFORK): no such thing here */
        kiln_posix_say("kiln: posix: clone without CLONE_VM|CLONE_SIGHAND|CLONE_THREAD (a process, not a thread) is not supported (ENOSYS)\n");
        return -ENOSYS;
    }
    if (!fn || !stack)
        return -EINVAL;
    struct kiln_thread *t = calloc(1, sizeof *t);
    if (!t)
        return -EAGAIN;
    main_tid();
    if (!next_tid)
        next_tid = main_thread.tid + 1;
    t->tid = next_tid++;
    t->fs = (flags & K_CLONE_SETTLS) ? (unsigned long)tls : kiln_current->fs;
    t->fn = fn;
    t->arg = arg;
    if (flags & K_CLONE_PARENT_SETTID)
        *ptid = t->tid;
    if (flags & K_CLONE_CHILD_SETTID)
        *ctid = t->tid;
    if (flags & K_CLONE_CHILD_CLEARTID)
        t->clear_tid = ctid;
    /* The first switch pops six zero registers and returns into the trampoline with rsp 16-aligned. */
    unsigned long *top = (unsigned long *)((unsigned long)stack & ~15ul);
    unsigned long *sp = top - 9;
    for (int k = 0; k < 6; k++)
        sp[k] = 0;
    sp[6] = (unsigned long)kiln_thread_trampoline;
    sp[7] = sp[8] = 0;
    t->sp = sp;
    live++;
    t->state = T_READY;
    q_append(&runq, t);
    return t->tid;
}

/* musl's __unmapself (patched): a detached thread ends and its stack goes, once it is off it. */
__attribute__((noreturn)) void __kiln_unmapself(void *base, unsigned long size)
{
    unmap_base = base;
    unmap_size = size;
    thread_exit(0);
}

KILN_SYSCALL1(exit, int, status)
{
    thread_exit(status);
}

KILN_SYSCALL0(sched_yield)
{
    kiln_yield();
    return 0;
}

KILN_SYSCALL0(gettid)
{
    return kiln_thread_tid();
}

KILN_SYSCALL1(set_tid_address, int *, tidptr)
{
    kiln_current->clear_tid = tidptr;
    return kiln_thread_tid();
}

KILN_SYSCALL2(arch_prctl, int, code, unsigned long, addr)
{
    switch (code) {
    case ARCH_SET_FS:
        /* Canonical addresses only: a bad one would make WRMSR fault (#GP). */
        if (addr >= 0x800000000000ul)
            return -EPERM;
        kiln_current->fs = addr;
        wrfs(addr);
        return 0;
    case ARCH_GET_FS:
        *(unsigned long *)addr = kiln_current->fs;
        return 0;
    default:
        return -EINVAL;
    }
}
