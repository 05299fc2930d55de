/*
 * Kiln cooperative thread scheduler.
 *
 * Threads run until they yield, sleep, wait, or exit: there is no
 * preemption, so code between two of those calls runs atomically (no
 * locks are needed to protect plain data, mutexes only matter across a
 * blocking call).  One CPU, one address space.
 *
 *   - The thread that first uses the scheduler (normally main()) is the
 *     "main" thread; it needs no set-up and keeps the boot stack.
 *   - Other threads get a stack from malloc().  When a thread ends its
 *     stack is freed by the next thread to run (never while it is still
 *     running on it); its struct thread lives on until thread_join(), or
 *     is freed at exit if the thread was detached.
 *   - Run queue and wait queues are FIFO; sleepers wake in deadline order
 *     (ties in the order they went to sleep).
 *   - When no thread can run, the idle loop blocks the vCPU in plat_poll()
 *     until the earliest sleeper's deadline, and hands any device
 *     readiness to the I/O handler (sched_set_io_handler).
 *
 * Times are plat_monotonic_ns() nanoseconds (sched_now_ns()); deadlines
 * are absolute.
 */
#ifndef KILN_SCHED_H
#define KILN_SCHED_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

struct thread;                              /* opaque */

/* ---- threads --------------------------------------------------------- */

/* Create a runnable thread running fn(arg) on a stack of stack_size bytes
 * (0 = CONFIG_SCHED_STACK_SIZE; rounded up to 16, at least 4096).  It
 * runs after the threads already runnable.  name is copied (up to 31
 * characters).  NULL if out of memory. */
struct thread *thread_create(const char *name, void (*fn)(void *), void *arg, size_t stack_size);

/* Let every other runnable thread run once, then continue. */
void thread_yield(void);

/* Sleep at least ns nanoseconds (0 = yield). */
void thread_sleep_ns(uint64_t ns);

/* Sleep until sched_now_ns() >= deadline_ns. */
void thread_sleep_until(uint64_t deadline_ns);

/* End the calling thread (returning from its function does the same).
 * If the main thread exits while others run, the instance exits with
 * status 0 when the last thread ends. */
__attribute__((noreturn)) void thread_exit(void);

/* Wait for t to end, then free it.  Returns 0, or -1 if t is NULL, the
 * caller, detached or already being joined. */
int thread_join(struct thread *t);

/* Free t by itself when it ends (or now, if it has ended); t must not be
 * used afterwards.  Returns 0, or -1 if t is NULL, the main thread,
 * detached or being joined. */
int thread_detach(struct thread *t);

/* The running thread (in the idle loop's I/O handler: the thread whose
 * stack the idle loop runs on). */
struct thread *thread_self(void);

/* The thread's name; a small unique id (main = 0). */
const char *thread_name(const struct thread *t);
uint64_t thread_id(const struct thread *t);

/* The calling thread's private errno slot.  With CONFIG_SCHED_SWAP_ERRNO
 * the scheduler also saves and restores a global `int errno` (libc's, if
 * linked) on every switch, so errno is per thread transparently. */
int *thread_errno_location(void);

/* ---- wait queues ----------------------------------------------------- */

struct waitq {
    struct thread *head, *tail;
};
#define WAITQ_INITIALIZER { 0, 0 }

void waitq_init(struct waitq *wq);

/* Block until woken by waitq_wake_one/all (returns true) or until
 * sched_now_ns() >= deadline_ns (returns false).  deadline_ns 0 = no
 * timeout; a deadline already passed returns false at once. */
bool waitq_wait(struct waitq *wq, uint64_t deadline_ns);

/* Wake the longest-waiting thread; false if there was none. */
bool waitq_wake_one(struct waitq *wq);

/* Wake every waiting thread; returns how many. */
unsigned waitq_wake_all(struct waitq *wq);

bool waitq_empty(const struct waitq *wq);

/* ---- mutex and condition variable ------------------------------------ */

/* FIFO mutex: unlock hands ownership straight to the first waiter. */
struct mutex {
    struct thread *owner;
    struct waitq waiters;
};
#define MUTEX_INITIALIZER { 0, WAITQ_INITIALIZER }

void mutex_init(struct mutex *m);
void mutex_lock(struct mutex *m);              /* aborts on recursive locking */
bool mutex_trylock(struct mutex *m);
void mutex_unlock(struct mutex *m);            /* aborts if not the owner */

struct cond {
    struct waitq waiters;
};
#define COND_INITIALIZER { WAITQ_INITIALIZER }

void cond_init(struct cond *c);
/* Atomically (no other thread runs in between) unlock m and wait; m is
 * locked again on return.  Wake-ups may be spurious from the caller's
 * point of view: re-check the predicate in a loop. */
void cond_wait(struct cond *c, struct mutex *m);
/* Same with an absolute deadline (0 = none): false if it timed out. */
bool cond_timedwait(struct cond *c, struct mutex *m, uint64_t deadline_ns);
void cond_signal(struct cond *c);
void cond_broadcast(struct cond *c);

/* ---- scheduler ------------------------------------------------------- */

/* Run the other threads until all of them have ended, then return.
 * Typical use: main() creates threads, then calls sched_run(). */
void sched_run(void);

/* Called by the idle loop (never from a thread's own context) with the
 * ready set plat_poll() returned, whenever it is non-zero.  It may wake
 * threads (waitq_wake_*), create threads and call sched_now_ns(), but
 * must not block, yield or sleep.  NULL removes the handler.  Without a
 * handler, "every thread blocked with no sleeper" is a deadlock: the
 * idle loop reports it on the console and aborts. */
void sched_set_io_handler(void (*fn)(uint64_t ready_set));

/* plat_monotonic_ns(). */
uint64_t sched_now_ns(void);

/* Threads alive (created and not ended, main included). */
unsigned sched_thread_count(void);

#endif /* KILN_SCHED_H */
