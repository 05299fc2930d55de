/*
 * futex(2) on the scheduler's wait queues: the waiters of one address sit in the bucket its
 * hash picks, each remembering its address.  The operations musl uses: FUTEX_WAIT (relative
 * CLOCK_MONOTONIC timeout), FUTEX_WAIT_BITSET (absolute timeout, FUTEX_CLOCK_REALTIME chooses
 * the clock; bitsets other than all ones are not supported), FUTEX_WAKE(_BITSET), and
 * FUTEX_REQUEUE / FUTEX_CMP_REQUEUE (pthread_cond_broadcast moves waiters to the mutex).
 * The private flag changes nothing: there is one address space.
 */
#include <errno.h>
#include <time.h>
#include <kiln/platform.h>
#include <kiln/posix.h>
#include "kthread_internal.h"

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_CMD_MASK (~(128 | 256))
#define BITSET_ALL 0xffffffffu

#define BUCKETS 64

static struct kiln_waitq buckets[BUCKETS];

static struct kiln_waitq *bucket(int *addr)
{
    unsigned long a = (unsigned long)addr >> 2;
    return &buckets[(a ^ (a >> 6) ^ (a >> 12)) % BUCKETS];
}

int kiln_futex_wake(int *addr, int n)
{
    struct kiln_waitq *q = bucket(addr);
    int woken = 0;
    struct kiln_thread *t = q->head;
    while (t && woken < n) {
        struct kiln_thread *next = t->next;
        if (t->futex_addr == addr) {
            kiln_make_ready(t, 1);
            woken++;
        }
        t = next;
    }
    return woken;
}

static int valid_ts(const struct timespec *ts)
{
    return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}

static long futex_wait(int *uaddr, int val, const struct timespec *timeout, int absolute, int realtime)
{
    unsigned long long deadline = 0;
    if (timeout) {
        if (!valid_ts(timeout))
            return -EINVAL;
        unsigned long long t = (unsigned long long)timeout->tv_sec * 1000000000ull + (unsigned long long)timeout->tv_nsec;
        unsigned long long now = plat_monotonic_ns();
        if (!absolute) {
            deadline = now + t;
        } else {
            unsigned long long clock = realtime ? kiln_posix_realtime_ns() : kiln_posix_uptime_ns();
            deadline = t > clock ? now + (t - clock) : now;
        }
        if (deadline <= now)
            return __atomic_load_n(uaddr, __ATOMIC_SEQ_CST) != val ? -EAGAIN : -ETIMEDOUT;
    }
    /* The check and the enqueue are atomic: no other thread runs between them. */
    if (__atomic_load_n(uaddr, __ATOMIC_SEQ_CST) != val)
        return -EAGAIN;
    kiln_current->futex_addr = uaddr;
    int woken = kiln_wait(bucket(uaddr), deadline, "futex wait: a lock, condition or join no other thread will release");
    kiln_current->futex_addr = 0;
    return woken ? 0 : -ETIMEDOUT;
}

static long futex_requeue(int *uaddr, int nwake, int nmove, int *uaddr2)
{
    struct kiln_waitq *q = bucket(uaddr), *q2 = bucket(uaddr2);
    long done = 0;
    int moved = 0;
    struct kiln_thread *t = q->head;
    while (t && (done < nwake || moved < nmove)) {
        struct kiln_thread *next = t->next;
        if (t->futex_addr == uaddr) {
            if (done < nwake) {
                kiln_make_ready(t, 1);
                done++;
            } else {
                t->futex_addr = uaddr2;
                if (q2 != q)
                    kiln_requeue(t, q2);
                moved++;
            }
        }
        t = next;
    }
    return done + moved;
}

KILN_SYSCALL6(futex, int *, uaddr, int, op, int, val, const struct timespec *, timeout, int *, uaddr2, int, val3)
{
    if (!uaddr || ((unsigned long)uaddr & 3))
        return -EINVAL;
    int realtime = (op & FUTEX_CLOCK_REALTIME) != 0;
    switch (op & FUTEX_CMD_MASK) {
    case FUTEX_WAIT:
        if (realtime)
            return -ENOSYS; /* Linux: FUTEX_CLOCK_REALTIME only with the bitset operations */
        return futex_wait(uaddr, val, timeout, 0, 0);
    case FUTEX_WAIT_BITSET:
        if ((unsigned)val3 != BITSET_ALL)
            return val3 == 0 ? -EINVAL : -ENOSYS;
        return futex_wait(uaddr, val, timeout, 1, realtime);
    case FUTEX_WAKE:
        return val <= 0 ? 0 : kiln_futex_wake(uaddr, val);
    case FUTEX_WAKE_BITSET:
        if ((unsigned)val3 != BITSET_ALL)
            return val3 == 0 ? -EINVAL : -ENOSYS;
        return val <= 0 ? 0 : kiln_futex_wake(uaddr, val);
    case FUTEX_CMP_REQUEUE:
        if (__atomic_load_n(uaddr, __ATOMIC_SEQ_CST) != val3)
            return -EAGAIN;
        /* fall through */
    case FUTEX_REQUEUE: {
        long nmove = (long)timeout; /* val2 travels in the timeout argument */
        if (val < 0 || nmove < 0 || !uaddr2 || ((unsigned long)uaddr2 & 3))
            return -EINVAL;
        return futex_requeue(uaddr, val, nmove > 0x7fffffff ? 0x7fffffff : (int)nmove, uaddr2);
    }
    default:
        return -ENOSYS;
    }
}
