/*
 * eventfd(2): a 64-bit counter behind a descriptor.  write adds its 8-byte value (blocking, or
 * EAGAIN under O_NONBLOCK, while the sum would pass 0xfffffffffffffffe; the value ~0 is EINVAL);
 * read returns the counter and zeroes it, or with EFD_SEMAPHORE returns 1 and decrements it;
 * either blocks (or answers EAGAIN) while it is zero.  Buffers under 8 bytes are EINVAL.  poll:
 * POLLIN while the counter is non-zero, POLLOUT while at least 1 can be added.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <kiln/kthread.h>
#include <kiln/posix.h>
#include <kiln/vfs.h>

#define EFD_SEMAPHORE 1
#define COUNT_MAX 0xfffffffffffffffeull

struct eventfd {
    unsigned long long count;
    int semaphore;
    int refs;
};

static struct eventfd *efd_of(struct vnode n)
{
    return (struct eventfd *)n.id;
}

static void ef_hold(struct vnode n)
{
    efd_of(n)->refs++;
}

static void ef_release(struct vnode n)
{
    struct eventfd *e = efd_of(n);
    if (--e->refs == 0)
        free(e);
}

static int ef_stat(struct vnode n, struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_mode = 0600; /* an anonymous inode: no file type bits, as on Linux */
    st->st_nlink = 1;
    st->st_ino = (unsigned long)efd_of(n) >> 4;
    st->st_blksize = 4096;
    return 0;
}

static int ef_poll(struct vnode n, int events)
{
    struct eventfd *e = efd_of(n);
    int r = 0;
    if (e->count > 0)
        r |= POLLIN | POLLRDNORM;
    if (e->count < COUNT_MAX)
        r |= POLLOUT | POLLWRNORM;
    return r & (events | POLLERR | POLLHUP);
}

static long ef_read(struct vnode n, void *buf, unsigned long len, int flags)
{
    struct eventfd *e = efd_of(n);
    if (len < 8)
        return -EINVAL;
    while (e->count == 0) {
        if (flags & O_NONBLOCK)
            return -EAGAIN;
        kiln_wait(&kiln_io_waitq, 0, "read on an eventfd whose counter is zero");
    }
    unsigned long long v = e->semaphore ? 1 : e->count;
    e->count -= v;
    memcpy(buf, &v, 8);
    kiln_io_notify();
    return 8;
}

static long ef_write(struct vnode n, const void *buf, unsigned long len, int flags)
{
    struct eventfd *e = efd_of(n);
    unsigned long long v;
    if (len < 8)
        return -EINVAL;
    memcpy(&v, buf, 8);
    if (v == ~0ull)
        return -EINVAL;
    while (COUNT_MAX - e->count < v) {
        if (flags & O_NONBLOCK)
            return -EAGAIN;
        kiln_wait(&kiln_io_waitq, 0, "write to an eventfd whose counter would overflow");
    }
    e->count += v;
    if (v)
        kiln_io_notify();
    return 8;
}

static int ef_ioctl(struct vnode n, unsigned long req, void *arg)
{
    (void)n;
    (void)arg;
    return req == FIONREAD ? -EINVAL : -ENOTTY;
}

static const struct vfs_ops eventfd_ops = {
    .name = "eventfd",
    .stat = ef_stat,
    .hold = ef_hold,
    .release = ef_release,
    .is_stream = 1,
    .poll = ef_poll,
    .stream_read = ef_read,
    .stream_write = ef_write,
    .ioctl = ef_ioctl,
};

KILN_SYSCALL2(eventfd2, unsigned, initval, int, flags)
{
    if (flags & ~(EFD_SEMAPHORE | O_CLOEXEC | O_NONBLOCK))
        return -EINVAL;
    struct eventfd *e = calloc(1, sizeof *e);
    if (!e)
        return -ENOMEM;
    e->count = initval;
    e->semaphore = (flags & EFD_SEMAPHORE) != 0;
    e->refs = 1; /* ours until the descriptor holds it */
    int fd = vfs_fd_open((struct vnode){ &eventfd_ops, (unsigned long)e }, O_RDWR | (flags & O_NONBLOCK), (flags & O_CLOEXEC) != 0);
    ef_release((struct vnode){ &eventfd_ops, (unsigned long)e });
    return fd;
}

KILN_SYSCALL1(eventfd, unsigned, initval)
{
    return eventfd2_impl(initval, 0);
}
