/*
 * pipe(2) and pipe2(2): a ring of CONFIG_POSIX_PIPE_SIZE bytes with a read end and a write end,
 * each a vnode (the pipe's address, low bit 1 for the write end) whose open files count the
 * readers and writers.  The semantics are pipe(7)'s:
 *   - read blocks while the pipe is empty and a writer exists; with no writer it returns 0
 *     (end of file); under O_NONBLOCK an empty pipe with a writer answers EAGAIN;
 *   - write blocks until all of it is written, and a write of at most PIPE_BUF (4096) bytes is
 *     atomic (all in one go, never interleaved); under O_NONBLOCK it writes what fits (EAGAIN
 *     if nothing does, or an atomic write does not fit whole);
 *   - writing with no reader left raises SIGPIPE and fails with EPIPE;
 *   - poll: POLLIN with data, POLLOUT with PIPE_BUF bytes free, POLLHUP on the read end when
 *     no writer is left, POLLERR on the write end when no reader is.
 * A thread that must wait blocks on the scheduler; if no other thread could ever wake it (one
 * thread reading the pipe it alone writes), the program ends with a deadlock message.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <kiln/kthread.h>
#include <kiln/posix.h>
#include <kiln/vfs.h>

#ifndef CONFIG_POSIX_PIPE_SIZE
#define CONFIG_POSIX_PIPE_SIZE 65536
#endif
#define PIPE_ATOMIC 4096 /* PIPE_BUF */

struct pipe {
    char *buf;
    unsigned long head, len;
    int readers, writers;
    unsigned long ino;
};

static const struct vfs_ops pipe_ops;
static unsigned long next_ino = 1;

static struct pipe *pipe_of(struct vnode n, int *write_end)
{
    if (write_end)
        *write_end = (int)(n.id & 1);
    return (struct pipe *)(n.id & ~1ul);
}

static void pp_hold(struct vnode n)
{
    int w;
    struct pipe *p = pipe_of(n, &w);
    if (w)
        p->writers++;
    else
        p->readers++;
}

static void pp_release(struct vnode n)
{
    int w;
    struct pipe *p = pipe_of(n, &w);
    if (w)
        p->writers--;
    else
        p->readers--;
    /* the other end sees end of file, EPIPE, POLLHUP or POLLERR now */
    kiln_io_notify();
    if (!p->readers && !p->writers) {
        free(p->buf);
        free(p);
    }
}

static int pp_stat(struct vnode n, struct stat *st)
{
    struct pipe *p = pipe_of(n, 0);
    memset(st, 0, sizeof *st);
    st->st_mode = S_IFIFO | 0600;
    st->st_nlink = 1;
    st->st_ino = p->ino;
    st->st_dev = 0x6b70; /* the pipe file system's own device number */
    st->st_blksize = PIPE_ATOMIC;
    return 0;
}

static int pp_poll(struct vnode n, int events)
{
    int w;
    struct pipe *p = pipe_of(n, &w);
    int r = 0;
    if (!w) {
        if (p->len)
            r |= POLLIN | POLLRDNORM;
        if (!p->writers)
            r |= POLLHUP;
    } else {
        if (CONFIG_POSIX_PIPE_SIZE - p->len >= PIPE_ATOMIC)
            r |= POLLOUT | POLLWRNORM;
        if (!p->readers)
            r |= POLLERR;
    }
    return r & (events | POLLERR | POLLHUP);
}

static long pp_read(struct vnode n, void *buf, unsigned long len, int flags)
{
    int w;
    struct pipe *p = pipe_of(n, &w);
    if (w)
        return -EBADF;
    if (!len)
        return 0;
    while (!p->len) {
        if (!p->writers)
            return 0;
        if (flags & O_NONBLOCK)
            return -EAGAIN;
        kiln_wait(&kiln_io_waitq, 0, "read on an empty pipe whose write end is still open");
    }
    unsigned long n1 = len < p->len ? len : p->len, done = 0;
    while (done < n1) {
        unsigned long chunk = CONFIG_POSIX_PIPE_SIZE - p->head;
        if (chunk > n1 - done)
            chunk = n1 - done;
        memcpy((char *)buf + done, p->buf + p->head, chunk);
        p->head = (p->head + chunk) % CONFIG_POSIX_PIPE_SIZE;
        p->len -= chunk;
        done += chunk;
    }
    kiln_io_notify();
    return (long)done;
}

static void put(struct pipe *p, const char *src, unsigned long n)
{
    while (n) {
        unsigned long tail = (p->head + p->len) % CONFIG_POSIX_PIPE_SIZE;
        unsigned long chunk = CONFIG_POSIX_PIPE_SIZE - tail;
        if (chunk > n)
            chunk = n;
        memcpy(p->buf + tail, src, chunk);
        p->len += chunk;
        src += chunk;
        n -= chunk;
    }
}

static long pp_write(struct vnode n, const void *buf, unsigned long len, int flags)
{
    int w;
    struct pipe *p = pipe_of(n, &w);
    if (!w)
        return -EBADF;
    unsigned long done = 0;
    for (;;) {
        if (!p->readers) {
            __kiln_syscall(SYS_kill, kiln_posix_pid(), SIGPIPE, 0, 0, 0, 0);
            return done ? (long)done : -EPIPE;
        }
        if (done == len)
            return (long)done;
        unsigned long space = CONFIG_POSIX_PIPE_SIZE - p->len, left = len - done;
        /* at most PIPE_BUF bytes go in whole or not at all */
        int fits = left <= PIPE_ATOMIC ? space >= left : space > 0;
        if (fits) {
            unsigned long chunk = left < space ? left : space;
            put(p, (const char *)buf + done, chunk);
            done += chunk;
            kiln_io_notify();
            continue;
        }
        if (flags & O_NONBLOCK)
            return done ? (long)done : -EAGAIN;
        kiln_wait(&kiln_io_waitq, 0, "write to a full pipe whose read end is still open");
    }
}

static int pp_ioctl(struct vnode n, unsigned long req, void *arg)
{
    struct pipe *p = pipe_of(n, 0);
    if (req == FIONREAD) {
        *(int *)arg = (int)p->len;
        return 0;
    }
    return -ENOTTY;
}

static const struct vfs_ops pipe_ops = {
    .name = "pipefs",
    .stat = pp_stat,
    .hold = pp_hold,
    .release = pp_release,
    .is_stream = 1,
    .poll = pp_poll,
    .stream_read = pp_read,
    .stream_write = pp_write,
    .ioctl = pp_ioctl,
};

KILN_SYSCALL2(pipe2, int *, fds, int, flags)
{
    if (flags & ~(O_CLOEXEC | O_NONBLOCK))
        return -EINVAL; /* O_DIRECT (packet mode) and the rest are not supported */
    if (!fds)
        return -EFAULT;
    struct pipe *p = calloc(1, sizeof *p);
    if (!p)
        return -ENFILE;
    p->buf = malloc(CONFIG_POSIX_PIPE_SIZE);
    if (!p->buf) {
        free(p);
        return -ENFILE;
    }
    p->ino = next_ino++;
    int cloexec = (flags & O_CLOEXEC) != 0, nb = flags & O_NONBLOCK;
    /* the read end holds the pipe until the write end exists */
    p->readers = 1;
    int rfd = vfs_fd_open((struct vnode){ &pipe_ops, (unsigned long)p }, O_RDONLY | nb, cloexec);
    p->readers--;
    if (rfd < 0) {
        free(p->buf);
        free(p);
        return rfd;
    }
    int wfd = vfs_fd_open((struct vnode){ &pipe_ops, (unsigned long)p | 1 }, O_WRONLY | nb, cloexec);
    if (wfd < 0) {
        __kiln_syscall(SYS_close, rfd, 0, 0, 0, 0, 0);
        return wfd;
    }
    fds[0] = rfd;
    fds[1] = wfd;
    return 0;
}

KILN_SYSCALL1(pipe, int *, fds)
{
    return pipe2_impl(fds, 0);
}
