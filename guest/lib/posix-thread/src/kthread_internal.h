/* posix-thread's shared state: the thread control block, queues (thread.c) and futexes (futex.c). */
#ifndef KTHREAD_INTERNAL_H
#define KTHREAD_INTERNAL_H

#include <kiln/kthread.h>

enum { T_RUNNING, T_READY, T_BLOCKED, T_DONE };

struct kiln_thread {
    void *sp;                          /* saved rsp while switched out (switch.S) */
    unsigned long fs;                  /* FS base: the thread pointer musl's TLS hangs from */
    int tid;
    int state;
    struct kiln_thread *next, *prev;   /* on the run queue or one wait queue */
    struct kiln_waitq *wq;             /* the queue it is on, or NULL */
    struct kiln_thread *snext;         /* sleepers, by deadline */
    unsigned long long deadline;       /* 0: not sleeping */
    int woken;                         /* the last wait ended by kiln_wake, not a timeout */
    const char *what;                  /* what it blocks in, for the deadlock message */
    int *clear_tid;                    /* CLONE_CHILD_CLEARTID / set_tid_address */
    int *futex_addr;                   /* the futex word it waits on */
    int (*fn)(void *);
    void *arg;
};

extern struct kiln_thread *kiln_current;

/* Moves t, a waiter on some queue, to q (futex requeue). */
void kiln_requeue(struct kiln_thread *t, struct kiln_waitq *q);
/* Makes t (blocked) runnable; woken says whether kiln_wait returns 1. */
void kiln_make_ready(struct kiln_thread *t, int woken);
/* futex.c: FUTEX_WAKE of up to n waiters of addr. */
int kiln_futex_wake(int *addr, int n);

#endif
