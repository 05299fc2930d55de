/*
 * epoll(7): epoll_create/epoll_create1, epoll_ctl, epoll_wait/epoll_pwait.
 *
 * An epoll instance is a descriptor (a vnode of the "epoll" pseudo file system) holding its
 * interest list: fd, the vnode the fd named when it was added, the events asked for and the
 * caller's data.  epoll_wait scans the list with the vnodes' poll operation and waits on the
 * scheduler's I/O queue like poll(2).  As on Linux:
 *   - EPOLLERR and EPOLLHUP are always reported; EPOLLONESHOT disables an entry after it was
 *     reported, until EPOLL_CTL_MOD re-arms it;
 *   - EPOLLET reports an entry when it gains a ready event it did not have when last reported,
 *     or when it is ready and some descriptor changed since (Linux re-reports on every new
 *     arrival on that descriptor; here a change anywhere counts, so an edge-triggered program,
 *     which reads until EAGAIN anyway, may see an extra report but never misses one);
 *   - an entry whose descriptor was closed disappears (Linux drops it when the open file's last
 *     descriptor goes; here it is dropped once the fd no longer names the same vnode);
 *   - errors: epfd not an epoll descriptor or fd == epfd: EINVAL; fd not open: EBADF; a regular
 *     file (no poll operation): EPERM; ADD of a present fd: EEXIST; MOD/DEL of an absent one:
 *     ENOENT; maxevents <= 0: EINVAL; unknown op or flags: EINVAL.
 * An epoll descriptor is itself pollable (readable while any of its entries is ready), so
 * epoll instances nest.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <kiln/kthread.h>
#include <kiln/posix.h>
#include <kiln/vfs.h>
#include "ready.h"

#define MAXEVENTS_LIMIT (0x7fffffff / (int)sizeof(struct epoll_event))
#define DEPTH_MAX 5 /* Linux's EP_MAX_NESTS */

struct entry {
    int fd;
    struct vnode node;
    unsigned events;
    unsigned long long data;
    unsigned last;       /* EPOLLET: the ready events when last reported */
    unsigned long gen;   /* EPOLLET: kiln_io_generation then */
    int disabled;        /* EPOLLONESHOT, after it fired */
};

struct epoll {
    int refs;
    int n, cap;
    struct entry *list;
};

static const struct vfs_ops epoll_ops;
static int depth;

static struct epoll *ep_of(struct vnode n)
{
    return (struct epoll *)n.id;
}

static void ep_hold(struct vnode n)
{
    ep_of(n)->refs++;
}

static void ep_release(struct vnode n)
{
    struct epoll *ep = ep_of(n);
    if (--ep->refs == 0) {
        free(ep->list);
        free(ep);
    }
}

static int ep_stat(struct vnode n, struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_mode = 0600; /* anonymous inode */
    st->st_nlink = 1;
    st->st_ino = (unsigned long)ep_of(n) >> 4;
    return 0;
}

static int still_open(const struct entry *e)
{
    struct vnode now;
    return vfs_fd_node(e->fd, &now, 0) == 0 && now.fs == e->node.fs && now.id == e->node.id;
}

static void drop(struct epoll *ep, int i)
{
    ep->list[i] = ep->list[--ep->n];
}

/* Ready events of one entry (0 when disabled or, edge-triggered, not newly ready). */
static unsigned entry_ready(struct entry *e, int consume)
{
    if (e->disabled)
        return 0;
    unsigned want = e->events & ~(EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE | EPOLLWAKEUP);
    unsigned r = (unsigned)kiln_node_ready(e->node, (int)(want | EPOLLERR | EPOLLHUP)) & (want | EPOLLERR | EPOLLHUP);
    if (e->events & EPOLLET) {
        unsigned fresh = (e->gen != kiln_io_generation) ? r : r & ~e->last;
        if (consume) {
            e->last = r;
            e->gen = kiln_io_generation;
        }
        r = fresh;
    }
    return r;
}

static int ep_poll(struct vnode n, int events)
{
    struct epoll *ep = ep_of(n);
    if (depth >= DEPTH_MAX)
        return 0;
    depth++;
    int any = 0;
    for (int i = 0; i < ep->n && !any; i++)
        if (still_open(&ep->list[i]) && entry_ready(&ep->list[i], 0))
            any = 1;
    depth--;
    return any ? (events & (POLLIN | POLLRDNORM)) : 0;
}

static const struct vfs_ops epoll_ops = {
    .name = "epoll",
    .stat = ep_stat,
    .hold = ep_hold,
    .release = ep_release,
    .is_stream = 1,
    .poll = ep_poll,
};

static long epoll_new(int flags)
{
    if (flags & ~EPOLL_CLOEXEC)
        return -EINVAL;
    struct epoll *ep = calloc(1, sizeof *ep);
    if (!ep)
        return -ENOMEM;
    ep->refs = 1;
    struct vnode n = { &epoll_ops, (unsigned long)ep };
    int fd = vfs_fd_open(n, O_RDWR, (flags & EPOLL_CLOEXEC) != 0);
    ep_release(n);
    return fd;
}

KILN_SYSCALL1(epoll_create1, int, flags)
{
    return epoll_new(flags);
}

KILN_SYSCALL1(epoll_create, int, size)
{
    /* the size is a hint since Linux 2.6.8, but must be positive */
    return size <= 0 ? -EINVAL : epoll_new(0);
}

static struct epoll *epoll_fd(int epfd, long *err)
{
    struct vnode n;
    if (vfs_fd_node(epfd, &n, 0) < 0) {
        *err = -EBADF;
        return 0;
    }
    if (n.fs != &epoll_ops) {
        *err = -EINVAL;
        return 0;
    }
    return ep_of(n);
}

static int find(struct epoll *ep, int fd)
{
    for (int i = 0; i < ep->n; i++) {
        if (ep->list[i].fd == fd) {
            if (still_open(&ep->list[i]))
                return i;
            drop(ep, i); /* a closed descriptor's stale entry */
            return -1;
        }
    }
    return -1;
}

KILN_SYSCALL4(epoll_ctl, int, epfd, int, op, int, fd, struct epoll_event *, ev)
{
    long err = 0;
    struct epoll *ep = epoll_fd(epfd, &err);
    if (!ep)
        return err;
    struct vnode target;
    if (vfs_fd_node(fd, &target, 0) < 0)
        return -EBADF;
    if (fd == epfd)
        return -EINVAL;
    if (!target.fs->poll)
        return -EPERM; /* regular files and directories cannot be watched */
    if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL)
        return -EINVAL;
    if (op != EPOLL_CTL_DEL && !ev)
        return -EFAULT;
    int i = find(ep, fd);
    if (op == EPOLL_CTL_ADD) {
        if (i >= 0)
            return -EEXIST;
        if (target.fs == &epoll_ops && ep_of(target) == ep)
            return -ELOOP;
        if (ep->n == ep->cap) {
            int cap = ep->cap ? ep->cap * 2 : 8;
            struct entry *l = realloc(ep->list, (unsigned long)cap * sizeof *l);
            if (!l)
                return -ENOMEM;
            ep->list = l;
            ep->cap = cap;
        }
        struct entry *e = &ep->list[ep->n++];
        memset(e, 0, sizeof *e);
        e->fd = fd;
        e->node = target;
        e->events = ev->events;
        e->data = ev->data.u64;
        e->gen = kiln_io_generation - 1;
        kiln_io_notify(); /* a waiter on epfd may have something to report now */
        return 0;
    }
    if (i < 0)
        return -ENOENT;
    if (op == EPOLL_CTL_DEL) {
        drop(ep, i);
        return 0;
    }
    struct entry *e = &ep->list[i];
    e->events = ev->events;
    e->data = ev->data.u64;
    e->disabled = 0;
    e->last = 0;
    e->gen = kiln_io_generation - 1;
    kiln_io_notify();
    return 0;
}

static long do_wait(struct epoll *ep, struct epoll_event *out, int max, unsigned long long deadline)
{
    for (;;) {
        int got = 0;
        for (int i = 0; i < ep->n && got < max;) {
            struct entry *e = &ep->list[i];
            if (!still_open(e)) {
                drop(ep, i);
                continue;
            }
            unsigned r = entry_ready(e, 1);
            if (r) {
                out[got].events = r;
                out[got].data.u64 = e->data;
                got++;
                if (e->events & EPOLLONESHOT)
                    e->disabled = 1;
            }
            i++;
        }
        if (got || deadline == 1)
            return got;
        if (!kiln_wait(&kiln_io_waitq, deadline, "epoll_wait for ever on descriptors nothing will make ready") && deadline)
            deadline = 1;
    }
}

KILN_SYSCALL6(epoll_pwait, int, epfd, struct epoll_event *, out, int, max, int, timeout_ms, const unsigned long *, mask, unsigned long, size)
{
    long err = 0;
    struct epoll *ep = epoll_fd(epfd, &err);
    if (!ep)
        return err;
    if (max <= 0 || max > MAXEVENTS_LIMIT)
        return -EINVAL;
    if (!out)
        return -EFAULT;
    unsigned long old = 0;
    int swapped;
    int r = kiln_mask_swap(mask, size, &old, &swapped);
    if (r)
        return r;
    unsigned long long deadline = timeout_ms < 0 ? 0 : timeout_ms == 0 ? 1 : kiln_deadline_after((unsigned long long)timeout_ms * 1000000ull);
    /* the instance stays alive while waited on (another thread could close its fd) */
    struct vnode n = { &epoll_ops, (unsigned long)ep };
    ep_hold(n);
    long got = do_wait(ep, out, max, deadline);
    ep_release(n);
    kiln_mask_restore(old, swapped);
    return got;
}

KILN_SYSCALL4(epoll_wait, int, epfd, struct epoll_event *, out, int, max, int, timeout_ms)
{
    return epoll_pwait_impl(epfd, out, max, timeout_ms, 0, 8);
}
