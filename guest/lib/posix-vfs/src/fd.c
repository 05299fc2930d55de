/*
 * Open files and the fd table: the calls that take an fd (read, write,
 * lseek, dup, fcntl, getdents64...).  An open file is shared by the fds
 * dup'ed from it (offset and flags together, as POSIX requires); it holds
 * its vnode, so a removed file stays readable until the last close.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <kiln/posix.h>
#include <kiln/vfs.h>
#include "vfs_internal.h"

static struct {
    struct file *f;
    int cloexec;
} fds[FD_MAX];

struct file *file_new(struct vnode node, int flags, int is_dir, const char *path)
{
    struct file *f = calloc(1, sizeof *f);
    if (!f)
        return 0;
    if (path) {
        f->path = strdup(path);
        if (!f->path) {
            free(f);
            return 0;
        }
    }
    f->refs = 1;
    f->node = node;
    f->flags = flags;
    f->is_dir = is_dir;
    if (node.fs->hold)
        node.fs->hold(node);
    return f;
}

void file_put(struct file *f)
{
    if (--f->refs)
        return;
    if (f->node.fs->release)
        f->node.fs->release(f->node);
    free(f->path);
    free(f);
}

int fd_install(struct file *f, int min, int cloexec)
{
    for (int fd = min; fd < FD_MAX; fd++) {
        if (!fds[fd].f) {
            f->refs++;
            fds[fd].f = f;
            fds[fd].cloexec = cloexec;
            return fd;
        }
    }
    return -EMFILE;
}

struct file *fd_get(int fd)
{
    if (fd < 0 || fd >= FD_MAX)
        return 0;
    return fds[fd].f;
}

KILN_SYSCALL1(close, int, fd)
{
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    fds[fd].f = 0;
    file_put(f);
    return 0;
}

static long do_read(struct file *f, void *buf, unsigned long len, unsigned long long off, int positioned)
{
    if ((f->flags & O_ACCMODE) == O_WRONLY || (f->flags & O_PATH))
        return -EBADF;
    if (f->is_dir)
        return -EISDIR;
    if (len > 0x7ffff000ul)
        len = 0x7ffff000ul; /* Linux's cap per call */
    if (f->node.fs->stream_read) /* pipes, sockets: they block or not by O_NONBLOCK */
        return f->node.fs->stream_read(f->node, buf, len, f->flags);
    long r = f->node.fs->read(f->node, buf, len, positioned ? off : f->pos);
    if (r > 0 && !positioned && !f->node.fs->is_stream)
        f->pos += (unsigned long long)r;
    return r;
}

static long do_write(struct file *f, const void *buf, unsigned long len, unsigned long long off, int positioned)
{
    if ((f->flags & O_ACCMODE) == O_RDONLY || (f->flags & O_PATH))
        return -EBADF;
    if (f->node.fs->stream_write)
        return f->node.fs->stream_write(f->node, buf, len > 0x7ffff000ul ? 0x7ffff000ul : len, f->flags);
    if (!f->node.fs->write)
        return -EROFS;
    if (len > 0x7ffff000ul)
        len = 0x7ffff000ul;
    unsigned long long at = positioned ? off : f->pos;
    if ((f->flags & O_APPEND) && !positioned) {
        struct stat st;
        f->node.fs->stat(f->node, &st);
        at = (unsigned long long)st.st_size;
    }
    long r = f->node.fs->write(f->node, buf, len, at);
    if (r > 0 && !positioned && !f->node.fs->is_stream)
        f->pos = at + (unsigned long long)r;
    return r;
}

KILN_SYSCALL3(read, int, fd, void *, buf, unsigned long, len)
{
    struct file *f = fd_get(fd);
    return f ? do_read(f, buf, len, 0, 0) : -EBADF;
}

KILN_SYSCALL3(write, int, fd, const void *, buf, unsigned long, len)
{
    struct file *f = fd_get(fd);
    return f ? do_write(f, buf, len, 0, 0) : -EBADF;
}

KILN_SYSCALL4(pread64, int, fd, void *, buf, unsigned long, len, long, off)
{
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    if (off < 0)
        return -EINVAL;
    if (f->node.fs->is_stream)
        return -ESPIPE;
    return do_read(f, buf, len, (unsigned long long)off, 1);
}

KILN_SYSCALL4(pwrite64, int, fd, const void *, buf, unsigned long, len, long, off)
{
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    if (off < 0)
        return -EINVAL;
    if (f->node.fs->is_stream)
        return -ESPIPE;
    return do_write(f, buf, len, (unsigned long long)off, 1);
}

/* posix-mm's private file mappings read through here. */
long kiln_posix_pread(int fd, void *buf, unsigned long len, long off)
{
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    if (f->is_dir)
        return -ENODEV;
    unsigned long done = 0;
    while (done < len) {
        long r = do_read(f, (char *)buf + done, len - done, (unsigned long long)off + done, 1);
        if (r < 0)
            return r;
        if (r == 0)
            break; /* past the end: the rest of the mapping stays zero */
        done += (unsigned long)r;
    }
    return (long)done;
}

KILN_SYSCALL3(readv, int, fd, const struct iovec *, iov, int, n)
{
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    if (n < 0 || n > 1024)
        return -EINVAL;
    long total = 0;
    for (int i = 0; i < n; i++) {
        if (!iov[i].iov_len)
            continue;
        long r = do_read(f, iov[i].iov_base, iov[i].iov_len, 0, 0);
        if (r < 0)
            return total ? total : r;
        total += r;
        if ((unsigned long)r < iov[i].iov_len)
            break;
    }
    return total;
}

KILN_SYSCALL3(writev, int, fd, const struct iovec *, iov, int, n)
{
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    if (n < 0 || n > 1024)
        return -EINVAL;
    /* The console is a stream whose every write is a hypercall: gather small pieces
     * (musl's stdio writes its buffer and the new data as two) into one. */
    if (f->node.fs->is_stream && (f->flags & O_ACCMODE) != O_RDONLY) {
        char buf[4096];
        unsigned long used = 0, total = 0;
        for (int i = 0; i < n; i++) {
            const char *p = iov[i].iov_base;
            unsigned long len = iov[i].iov_len;
            if (used + len > sizeof buf && used) {
                long r = do_write(f, buf, used, 0, 0);
                if (r < 0)
                    return total ? (long)total : r;
                total += used;
                used = 0;
            }
            if (len > sizeof buf) {
                long r = do_write(f, p, len, 0, 0);
                if (r < 0)
                    return total ? (long)total : r;
                total += len;
                continue;
            }
            memcpy(buf + used, p, len);
            used += len;
        }
        if (used) {
            long r = do_write(f, buf, used, 0, 0);
            if (r < 0)
                return total ? (long)total : r;
            total += used;
        }
        return (long)total;
    }
    long total = 0;
    for (int i = 0; i < n; i++) {
        if (!iov[i].iov_len)
            continue;
        long r = do_write(f, iov[i].iov_base, iov[i].iov_len, 0, 0);
        if (r < 0)
            return total ? total : r;
        total += r;
        if ((unsigned long)r < iov[i].iov_len)
            break;
    }
    return total;
}

KILN_SYSCALL3(lseek, int, fd, long, off, int, whence)
{
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    if (f->node.fs->is_stream)
        return -ESPIPE;
    long long base;
    if (whence == SEEK_SET) {
        base = 0;
    } else if (whence == SEEK_CUR) {
        base = (long long)f->pos;
    } else if (whence == SEEK_END) {
        struct stat st;
        f->node.fs->stat(f->node, &st);
        base = st.st_size;
    } else {
        return -EINVAL;
    }
    long long to = base + off;
    if (to < 0)
        return -EINVAL;
    if (f->is_dir) {
        /* a directory's offset is the entry index getdents64 hands out */
        f->dir_index = (unsigned long)to;
    }
    f->pos = (unsigned long long)to;
    return (long)to;
}

KILN_SYSCALL1(dup, int, fd)
{
    struct file *f = fd_get(fd);
    return f ? fd_install(f, 0, 0) : -EBADF;
}

KILN_SYSCALL3(dup3, int, oldfd, int, newfd, int, flags)
{
    struct file *f = fd_get(oldfd);
    if (!f)
        return -EBADF;
    if (flags & ~O_CLOEXEC)
        return -EINVAL;
    if (newfd < 0 || newfd >= FD_MAX)
        return -EBADF;
    if (oldfd == newfd)
        return -EINVAL;
    if (fds[newfd].f)
        file_put(fds[newfd].f);
    f->refs++;
    fds[newfd].f = f;
    fds[newfd].cloexec = (flags & O_CLOEXEC) != 0;
    return newfd;
}

KILN_SYSCALL2(dup2, int, oldfd, int, newfd)
{
    if (oldfd == newfd)
        return fd_get(oldfd) ? newfd : -EBADF;
    return dup3_impl(oldfd, newfd, 0);
}

KILN_SYSCALL3(fcntl, int, fd, int, cmd, long, arg)
{
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
        if (arg < 0 || arg >= FD_MAX)
            return -EINVAL;
        return fd_install(f, (int)arg, cmd == F_DUPFD_CLOEXEC);
    case F_GETFD:
        return fds[fd].cloexec ? FD_CLOEXEC : 0;
    case F_SETFD:
        fds[fd].cloexec = (arg & FD_CLOEXEC) != 0;
        return 0;
    case F_GETFL:
        return f->flags;
    case F_SETFL:
        f->flags = (f->flags & ~(O_APPEND | O_NONBLOCK)) | ((int)arg & (O_APPEND | O_NONBLOCK));
        return 0;
    case F_GETLK:
    case F_OFD_GETLK: {
        /* One process: nothing else can hold a lock that would conflict. */
        struct flock *l = (struct flock *)arg;
        l->l_type = F_UNLCK;
        return 0;
    }
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
        return 0;
    default:
        return -EINVAL;
    }
}

KILN_SYSCALL3(ioctl, int, fd, unsigned long, req, long, arg)
{
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    switch (req) {
    case FIONBIO:
        if (*(int *)arg)
            f->flags |= O_NONBLOCK;
        else
            f->flags &= ~O_NONBLOCK;
        return 0;
    case FIONREAD: {
        if (f->node.fs->ioctl)
            return f->node.fs->ioctl(f->node, req, (void *)arg);
        struct stat st;
        f->node.fs->stat(f->node, &st);
        long left = S_ISREG(st.st_mode) && (unsigned long long)st.st_size > f->pos ? (long)(st.st_size - (long long)f->pos) : 0;
        *(int *)arg = (int)left;
        return 0;
    }
    default:
        if (f->node.fs->ioctl)
            return f->node.fs->ioctl(f->node, req, (void *)arg);
        /* The console is not a terminal (no input, no size): stdio buffers it fully, as it
         * would a pipe, which is also what a differential test against the host sees. */
        return -ENOTTY;
    }
}

KILN_SYSCALL1(fsync, int, fd)
{
    return fd_get(fd) ? 0 : -EBADF;
}

KILN_SYSCALL1(fdatasync, int, fd)
{
    return fd_get(fd) ? 0 : -EBADF;
}

KILN_SYSCALL2(flock, int, fd, int, op)
{
    (void)op;
    return fd_get(fd) ? 0 : -EBADF;
}

KILN_SYSCALL2(ftruncate, int, fd, long, length)
{
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    if (length < 0 || (f->flags & O_ACCMODE) == O_RDONLY || f->is_dir)
        return -EINVAL;
    if (!f->node.fs->truncate || !f->node.fs->write)
        return -EROFS;
    return f->node.fs->truncate(f->node, (unsigned long long)length);
}

KILN_SYSCALL2(fchmod, int, fd, unsigned, mode)
{
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    return f->node.fs->chmod ? f->node.fs->chmod(f->node, mode) : -EROFS;
}

struct dirent64_k {
    unsigned long long d_ino;
    long long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static unsigned char dtype(unsigned mode)
{
    if (S_ISDIR(mode))
        return 4;  /* DT_DIR */
    if (S_ISREG(mode))
        return 8;  /* DT_REG */
    if (S_ISCHR(mode))
        return 2;  /* DT_CHR */
    return 0;
}

KILN_SYSCALL3(getdents64, int, fd, void *, buf, unsigned long, size)
{
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    if (!f->is_dir)
        return -ENOTDIR;
    unsigned long used = 0;
    for (;;) {
        struct vnode child;
        const char *name;
        unsigned len;
        struct stat st;
        if (f->dir_index == 0) {
            child = f->node;
            name = ".";
            len = 1;
        } else if (f->dir_index == 1) {
            f->node.fs->parent(f->node, &child);
            name = "..";
            len = 2;
        } else {
            int r = f->node.fs->readdir(f->node, f->dir_index - 2, &child, &name, &len);
            if (r < 0)
                return used ? (long)used : r;
            if (r == 0)
                break;
        }
        unsigned long rec = (sizeof(struct dirent64_k) + len + 1 + 7) & ~7ul;
        if (used + rec > size) {
            if (!used)
                return -EINVAL; /* the buffer holds not even one entry */
            break;
        }
        child.fs->stat(child, &st);
        struct dirent64_k *d = (struct dirent64_k *)((char *)buf + used);
        d->d_ino = st.st_ino;
        d->d_off = (long long)f->dir_index + 1;
        d->d_reclen = (unsigned short)rec;
        d->d_type = dtype(st.st_mode);
        memcpy(d->d_name, name, len);
        d->d_name[len] = '\0';
        used += rec;
        f->dir_index++;
    }
    return (long)used;
}
