/*
 * posix-thread: the threads of a POSIX program and the one way anything in the POSIX layer
 * blocks.  Threads are cooperative: one runs until it blocks (kiln_wait), sleeps or yields, so
 * code between two such calls needs no lock.  Pipes, poll/epoll and sockets block on wait
 * queues; when no thread is runnable the scheduler waits in the platform's POLL hypercall until
 * the earliest deadline or device input, which it hands to the I/O hook (posix-socket's network
 * stack).
 */
#ifndef KILN_KTHREAD_H
#define KILN_KTHREAD_H

struct kiln_thread;

struct kiln_waitq {
    struct kiln_thread *head, *tail;
};

/*
 * Blocks the calling thread until kiln_wake wakes it (returns 1) or the monotonic clock reaches
 * deadline_ns (returns 0; deadline 0 = none).  When nothing could ever wake it -- no other
 * thread runnable or sleeping, no deadline, no I/O hook -- the program ends with a message
 * naming `what` (e.g. "read on an empty pipe") as a deadlock, exit status 134, as a hung Linux
 * process would otherwise hang for ever.
 */
int kiln_wait(struct kiln_waitq *q, unsigned long long deadline_ns, const char *what);

/* Makes up to n (-1: all) of q's waiters runnable, oldest first; returns how many. */
int kiln_wake(struct kiln_waitq *q, int n);

/*
 * Every change of readiness of a descriptor (data into a pipe, a counter raised, a socket's
 * state) calls kiln_io_notify, which wakes everything waiting on kiln_io_waitq: the readers,
 * writers and poll/select/epoll callers, each of which checks its own condition again.
 */
extern struct kiln_waitq kiln_io_waitq;
void kiln_io_notify(void);
/* Counts kiln_io_notify calls: epoll's edge-triggered entries fire again after a change. */
extern unsigned long kiln_io_generation;

/* Lets every other runnable thread run once. */
void kiln_yield(void);

/*
 * The I/O hook: poll(ready_set) runs (in the idle loop, on a blocked thread's stack, never
 * blocking) after POLL returned with devices ready or after its own deadline passed;
 * next_deadline gives the monotonic time it wants to run at next (0: none).  One hook.
 */
void kiln_thread_set_io(void (*poll)(unsigned long long ready_set), unsigned long long (*next_deadline)(void));

/* The calling thread's Linux thread id (gettid). */
int kiln_thread_tid(void);

#endif
