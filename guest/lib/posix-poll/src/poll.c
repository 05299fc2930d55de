/*
 * poll(2), ppoll(2), select(2) and pselect6 over the vnodes' poll operation.
 *
 * A call scans its descriptors; when none is ready and the timeout allows, the thread waits on
 * the scheduler's I/O queue, which every change of a descriptor's readiness wakes (a pipe
 * written, an eventfd raised, a socket's state), and scans again.  While nothing at all can run,
 * the scheduler waits in the platform's POLL hypercall until the earliest deadline or device
 * input, so a timeout costs no CPU.  Semantics as Linux's:
 *   - poll: fd < 0 is skipped (revents 0); a closed fd gets POLLNVAL and counts; POLLERR and
 *     POLLHUP are reported unasked; nfds beyond RLIMIT_NOFILE (1024) is EINVAL; timeout < 0
 *     waits for ever, 0 does not wait;
 *   - select: readable = POLLIN|POLLHUP|POLLERR, writable = POLLOUT|POLLERR, exceptional =
 *     POLLPRI; an fd in a set that is not open is EBADF; nfds outside 0..FD_SETSIZE or a bad
 *     timeval is EINVAL; the result counts set bits and the sets keep only the ready ones;
 *   - ppoll/pselect6 install the given signal mask for the duration of the call.
 * No signal arrives from outside a Kiln guest, so none of these returns EINTR.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>
#include <kiln/kthread.h>
#include <kiln/platform.h>
#include <kiln/posix.h>
#include <kiln/vfs.h>
#include "ready.h"

#define NOFILE 1024

int kiln_node_ready(struct vnode n, int events)
{
    if (n.fs->poll)
        return n.fs->poll(n, events);
    /* regular files and devices: always ready (poll(2) on a regular file) */
    return events & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM);
}

int kiln_fd_ready(int fd, int events)
{
    struct vnode n;
    if (vfs_fd_node(fd, &n, 0) < 0)
        return POLLNVAL;
    return kiln_node_ready(n, events);
}

unsigned long long kiln_deadline_after(unsigned long long ns)
{
    unsigned long long now = plat_monotonic_ns();
    return now + ns < now ? ~0ull : now + ns;
}

int kiln_mask_swap(const unsigned long *mask, unsigned long size, unsigned long *old, int *swapped)
{
    *swapped = 0;
    if (!mask)
        return 0;
    if (size != 8)
        return -EINVAL;
    long r = __kiln_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)mask, (long)old, 8, 0, 0);
    if (r == 0)
        *swapped = 1;
    return (int)r;
}

void kiln_mask_restore(unsigned long old, int swapped)
{
    if (swapped)
        __kiln_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&old, 0, 8, 0, 0);
}

/* deadline: 0 = wait for ever, 1 = do not wait, else the monotonic time to give up at. */
static long do_poll(struct pollfd *fds, unsigned long n, unsigned long long deadline)
{
    if (n > NOFILE)
        return -EINVAL;
    if (n && !fds)
        return -EFAULT;
    for (;;) {
        long count = 0;
        for (unsigned long i = 0; i < n; i++) {
            fds[i].revents = 0;
            if (fds[i].fd < 0)
                continue;
            int r = kiln_fd_ready(fds[i].fd, fds[i].events | POLLERR | POLLHUP);
            fds[i].revents = (short)r;
            if (r)
                count++;
        }
        if (count || deadline == 1)
            return count;
        if (!kiln_wait(&kiln_io_waitq, deadline, "poll for ever on descriptors nothing will make ready") && deadline)
            deadline = 1; /* timed out: one last scan, then 0 */
    }
}

KILN_SYSCALL3(poll, struct pollfd *, fds, unsigned long, n, int, timeout_ms)
{
    unsigned long long deadline = timeout_ms < 0 ? 0 : timeout_ms == 0 ? 1 : kiln_deadline_after((unsigned long long)timeout_ms * 1000000ull);
    return do_poll(fds, n, deadline);
}

static int ts_deadline(const struct timespec *ts, unsigned long long *deadline)
{
    if (!ts) {
        *deadline = 0;
        return 0;
    }
    if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L)
        return -EINVAL;
    unsigned long long ns = (unsigned long long)ts->tv_sec * 1000000000ull + (unsigned long long)ts->tv_nsec;
    *deadline = ns == 0 ? 1 : kiln_deadline_after(ns);
    return 0;
}

KILN_SYSCALL5(ppoll, struct pollfd *, fds, unsigned long, n, const struct timespec *, ts, const unsigned long *, mask, unsigned long, size)
{
    unsigned long long deadline;
    int r = ts_deadline(ts, &deadline);
    if (r)
        return r;
    unsigned long old = 0;
    int swapped;
    if ((r = kiln_mask_swap(mask, size, &old, &swapped)) != 0)
        return r;
    long n2 = do_poll(fds, n, deadline);
    kiln_mask_restore(old, swapped);
    return n2;
}

static int in_set(const fd_set *s, int fd)
{
    return s && FD_ISSET(fd, s);
}

static long do_select(int n, fd_set *rd, fd_set *wr, fd_set *ex, unsigned long long deadline)
{
    if (n < 0 || n > FD_SETSIZE)
        return -EINVAL;
    for (int fd = 0; fd < n; fd++)
        if ((in_set(rd, fd) || in_set(wr, fd) || in_set(ex, fd)) && vfs_fd_node(fd, 0, 0) < 0)
            return -EBADF;
    for (;;) {
        fd_set r, w, e;
        FD_ZERO(&r);
        FD_ZERO(&w);
        FD_ZERO(&e);
        long count = 0;
        for (int fd = 0; fd < n; fd++) {
            int want = (in_set(rd, fd) ? POLLIN : 0) | (in_set(wr, fd) ? POLLOUT : 0) | (in_set(ex, fd) ? POLLPRI : 0);
            if (!want)
                continue;
            int got = kiln_fd_ready(fd, want | POLLERR | POLLHUP);
            if (in_set(rd, fd) && (got & (POLLIN | POLLHUP | POLLERR))) {
                FD_SET(fd, &r);
                count++;
            }
            if (in_set(wr, fd) && (got & (POLLOUT | POLLERR))) {
                FD_SET(fd, &w);
                count++;
            }
            if (in_set(ex, fd) && (got & POLLPRI)) {
                FD_SET(fd, &e);
                count++;
            }
        }
        if (count || deadline == 1) {
            /* only the first n bits belong to the caller's sets (they may be shorter than fd_set) */
            unsigned long bytes = ((unsigned long)n + 7) / 8;
            if (rd)
                memcpy(rd, &r, bytes);
            if (wr)
                memcpy(wr, &w, bytes);
            if (ex)
                memcpy(ex, &e, bytes);
            return count;
        }
        if (!kiln_wait(&kiln_io_waitq, deadline, "select for ever on descriptors nothing will make ready") && deadline)
            deadline = 1;
    }
}

struct timeval_k {
    long tv_sec;
    long tv_usec;
};

KILN_SYSCALL5(select, int, n, fd_set *, rd, fd_set *, wr, fd_set *, ex, struct timeval_k *, tv)
{
    unsigned long long deadline = 0;
    if (tv) {
        if (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000)
            return -EINVAL;
        unsigned long long ns = (unsigned long long)tv->tv_sec * 1000000000ull + (unsigned long long)tv->tv_usec * 1000ull;
        deadline = ns == 0 ? 1 : kiln_deadline_after(ns);
    }
    return do_select(n, rd, wr, ex, deadline);
}

/* pselect6's sixth argument: { const sigset_t *ss; size_t ss_len } */
struct sigmask_arg {
    const unsigned long *mask;
    unsigned long size;
};

KILN_SYSCALL6(pselect6, int, n, fd_set *, rd, fd_set *, wr, fd_set *, ex, const struct timespec *, ts, const struct sigmask_arg *, sm)
{
    unsigned long long deadline;
    int r = ts_deadline(ts, &deadline);
    if (r)
        return r;
    unsigned long old = 0;
    int swapped = 0;
    if (sm && (r = kiln_mask_swap(sm->mask, sm->size, &old, &swapped)) != 0)
        return r;
    long c = do_select(n, rd, wr, ex, deadline);
    kiln_mask_restore(old, swapped);
    return c;
}
