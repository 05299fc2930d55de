/*
 * The name space: the root, the mounts, the working directory, and the
 * calls that take a path (openat, stat, mkdir, unlink, rename, chdir...).
 *
 * There are no symbolic links, so ".." is resolved lexically against the
 * absolute path and the working directory is kept as a normalized string
 * (getcwd needs no walk up the tree).  A mount is matched by the longest
 * path prefix, so a mount point need not exist in the file system below it
 * (a read-only root file system gets /tmp and /dev whatever it contains).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <kiln/posix.h>
#include <kiln/vfs.h>
#include "vfs_internal.h"

#define MOUNT_MAX 8

struct mount {
    char path[256];            /* normalized absolute path */
    struct vnode root;
};

static struct vnode root_node;
static struct mount mounts[MOUNT_MAX];
static int nmounts;
/* zero-initialized (bss, not 4 KiB of image); set to "/" at start-up */
static char cwd[PATH_MAX_KILN];
static unsigned mask = 022;

int same_node(struct vnode a, struct vnode b)
{
    return a.fs == b.fs && a.id == b.id;
}

/* Normalizes base + "/" + path (path absolute: base ignored) into out; -ENAMETOOLONG. */
static int normalize(const char *base, const char *path, char *out)
{
    char tmp[PATH_MAX_KILN];
    unsigned long n = 0;
    if (path[0] != '/') {
        unsigned long bl = strlen(base);
        if (bl + 1 >= sizeof tmp)
            return -ENAMETOOLONG;
        memcpy(tmp, base, bl);
        n = bl;
        tmp[n++] = '/';
    }
    unsigned long pl = strlen(path);
    if (n + pl + 1 > sizeof tmp)
        return -ENAMETOOLONG;
    memcpy(tmp + n, path, pl + 1);

    unsigned long o = 0;
    const char *p = tmp;
    while (*p) {
        while (*p == '/')
            p++;
        const char *s = p;
        while (*p && *p != '/')
            p++;
        unsigned long len = (unsigned long)(p - s);
        if (len == 0 || (len == 1 && s[0] == '.'))
            continue;
        if (len > 255)
            return -ENAMETOOLONG;
        if (len == 2 && s[0] == '.' && s[1] == '.') {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--; /* the slash before it */
            continue;
        }
        out[o++] = '/';
        memcpy(out + o, s, len);
        o += len;
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    return 0;
}

int vfs_mount(const char *path, struct vnode fs_root)
{
    if (nmounts == MOUNT_MAX)
        return -ENOSPC;
    char abs[PATH_MAX_KILN];
    int r = normalize("/", path, abs);
    if (r)
        return r;
    if (strlen(abs) >= sizeof mounts[0].path)
        return -ENAMETOOLONG;
    if (strcmp(abs, "/") == 0) {
        root_node = fs_root;
        return 0;
    }
    strcpy(mounts[nmounts].path, abs);
    mounts[nmounts].root = fs_root;
    nmounts++;
    return 0;
}

/* Walks the normalized absolute path abs from the root; stops before the last
 * component when want_parent.  The longest mount prefix decides where to start. */
static int walk(const char *abs, struct vnode *out, int want_parent, const char **last, unsigned *last_len)
{
    struct vnode at = root_node;
    const char *p = abs;
    unsigned long best = 0;
    unsigned long full = strlen(abs);
    unsigned long limit = full;
    if (want_parent) {
        /* the parent's path is everything before the last slash */
        const char *slash = strrchr(abs, '/');
        limit = (unsigned long)(slash - abs);
        *last = slash + 1;
        *last_len = (unsigned)(full - limit - 1);
    }
    for (int i = 0; i < nmounts; i++) {
        unsigned long ml = strlen(mounts[i].path);
        if (ml <= limit && ml > best && strncmp(abs, mounts[i].path, ml) == 0 && (abs[ml] == '/' || abs[ml] == '\0')) {
            best = ml;
            at = mounts[i].root;
        }
    }
    p = abs + best;
    const char *end = abs + limit;
    while (p < end) {
        while (p < end && *p == '/')
            p++;
        if (p >= end)
            break;
        const char *s = p;
        while (p < end && *p != '/')
            p++;
        struct vnode next;
        int r = at.fs->lookup(at, s, (unsigned)(p - s), &next);
        if (r)
            return r;
        at = next;
    }
    *out = at;
    return 0;
}

int vfs_resolve(int dirfd, const char *path, struct vnode *out, const char **last, unsigned *last_len,
                int want_parent, char *abs)
{
    static char scratch[PATH_MAX_KILN];
    if (!path)
        return -EFAULT;
    if (!path[0])
        return -ENOENT;
    if (strlen(path) >= PATH_MAX_KILN)
        return -ENAMETOOLONG;
    const char *base = cwd;
    if (path[0] != '/' && dirfd != AT_FDCWD) {
        struct file *d = fd_get(dirfd);
        if (!d)
            return -EBADF;
        if (!d->is_dir || !d->path)
            return -ENOTDIR;
        base = d->path;
    }
    char *a = abs ? abs : scratch;
    int r = normalize(base, path, a);
    if (r)
        return r;
    /* "dir/" must name a directory: checked by the caller through want_dir below */
    if (want_parent && strcmp(a, "/") == 0) {
        *out = root_node;
        *last = a + 1;
        *last_len = 0;
        return 0;
    }
    r = walk(a, out, want_parent, last, last_len);
    if (r)
        return r;
    if (!want_parent) {
        unsigned long pl = strlen(path);
        if (path[pl - 1] == '/') {
            struct stat st;
            out->fs->stat(*out, &st);
            if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        }
    }
    return 0;
}

/* Final node of a path, following the rule that "x/" must be a directory. */
static int lookup_path(int dirfd, const char *path, struct vnode *out, char *abs)
{
    return vfs_resolve(dirfd, path, out, 0, 0, 0, abs);
}

static int node_is_dir(struct vnode n)
{
    struct stat st;
    return n.fs->stat(n, &st) == 0 && S_ISDIR(st.st_mode);
}

static int mount_root(const char *abs)
{
    for (int i = 0; i < nmounts; i++)
        if (strcmp(mounts[i].path, abs) == 0)
            return 1;
    return strcmp(abs, "/") == 0;
}

KILN_SYSCALL4(openat, int, dirfd, const char *, path, int, flags, unsigned, mode)
{
    char abs[PATH_MAX_KILN];
    struct vnode n;
    int acc = flags & O_ACCMODE;
    if (acc == 3)
        return -EINVAL;
    int writing = acc != O_RDONLY || (flags & O_TRUNC);
    int r;
    if (flags & O_CREAT) {
        struct vnode dir;
        const char *last;
        unsigned len;
        r = vfs_resolve(dirfd, path, &dir, &last, &len, 1, abs);
        if (r)
            return r;
        if (path[strlen(path) - 1] == '/')
            return -EISDIR;
        if (len == 0)
            return -EISDIR;
        r = dir.fs->lookup(dir, last, len, &n);
        if (r == 0) {
            if (flags & O_EXCL)
                return -EEXIST;
        } else if (r == -ENOENT) {
            if (!dir.fs->create)
                return -EROFS;
            r = dir.fs->create(dir, last, len, S_IFREG | (mode & 07777 & ~mask), &n);
            if (r)
                return r;
        } else {
            return r;
        }
    } else {
        r = lookup_path(dirfd, path, &n, abs);
        if (r)
            return r;
    }
    int is_dir = node_is_dir(n);
    if ((flags & O_DIRECTORY) && !is_dir)
        return -ENOTDIR;
    if (is_dir && writing && !(flags & O_PATH))
        return -EISDIR;
    if (writing && !(flags & O_PATH) && !n.fs->write)
        return -EROFS;
    if ((flags & O_TRUNC) && acc != O_RDONLY && !is_dir) {
        r = n.fs->truncate ? n.fs->truncate(n, 0) : -EROFS;
        if (r)
            return r;
    }
    struct file *f = file_new(n, flags & (O_ACCMODE | O_APPEND | O_NONBLOCK | O_PATH), is_dir, is_dir ? abs : 0);
    if (!f)
        return -ENOMEM;
    r = fd_install(f, 0, (flags & O_CLOEXEC) != 0);
    file_put(f);
    return r;
}

KILN_SYSCALL3(open, const char *, path, int, flags, unsigned, mode)
{
    return openat_impl(AT_FDCWD, path, flags, mode);
}

static long stat_node(struct vnode n, struct stat *st)
{
    if (!st)
        return -EFAULT;
    return n.fs->stat(n, st);
}

KILN_SYSCALL4(newfstatat, int, dirfd, const char *, path, struct stat *, st, int, flags)
{
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT))
        return -EINVAL;
    if ((flags & AT_EMPTY_PATH) && path && !path[0]) {
        struct file *f = fd_get(dirfd);
        if (!f)
            return -EBADF;
        return stat_node(f->node, st);
    }
    struct vnode n;
    int r = lookup_path(dirfd, path, &n, 0);
    if (r)
        return r;
    return stat_node(n, st);
}

KILN_SYSCALL2(stat, const char *, path, struct stat *, st)
{
    return newfstatat_impl(AT_FDCWD, path, st, 0);
}

KILN_SYSCALL2(lstat, const char *, path, struct stat *, st)
{
    return newfstatat_impl(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

KILN_SYSCALL2(fstat, int, fd, struct stat *, st)
{
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    return stat_node(f->node, st);
}

KILN_SYSCALL4(faccessat2, int, dirfd, const char *, path, int, amode, int, flags)
{
    if (amode & ~7)
        return -EINVAL;
    if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    struct vnode n;
    int r = lookup_path(dirfd, path, &n, 0);
    if (r)
        return r;
    if ((amode & W_OK) && !n.fs->write)
        return -EROFS;
    if (amode & X_OK) {
        struct stat st;
        n.fs->stat(n, &st);
        if (!(st.st_mode & 0111))
            return -EACCES;
    }
    return 0;
}

KILN_SYSCALL3(faccessat, int, dirfd, const char *, path, int, amode)
{
    return faccessat2_impl(dirfd, path, amode, 0);
}

KILN_SYSCALL2(access, const char *, path, int, amode)
{
    return faccessat2_impl(AT_FDCWD, path, amode, 0);
}

KILN_SYSCALL3(mkdirat, int, dirfd, const char *, path, unsigned, mode)
{
    struct vnode dir, n;
    const char *last;
    unsigned len;
    int r = vfs_resolve(dirfd, path, &dir, &last, &len, 1, 0);
    if (r)
        return r;
    if (len == 0 || dir.fs->lookup(dir, last, len, &n) == 0)
        return -EEXIST;
    if (!dir.fs->create)
        return -EROFS;
    return dir.fs->create(dir, last, len, S_IFDIR | (mode & 07777 & ~mask), &n);
}

KILN_SYSCALL2(mkdir, const char *, path, unsigned, mode)
{
    return mkdirat_impl(AT_FDCWD, path, mode);
}

KILN_SYSCALL3(unlinkat, int, dirfd, const char *, path, int, flags)
{
    if (flags & ~AT_REMOVEDIR)
        return -EINVAL;
    struct vnode dir;
    const char *last;
    unsigned len;
    char abs[PATH_MAX_KILN];
    int r = vfs_resolve(dirfd, path, &dir, &last, &len, 1, abs);
    if (r)
        return r;
    if (len == 0 || mount_root(abs))
        return -EBUSY;
    if (!dir.fs->remove)
        return -EROFS;
    return dir.fs->remove(dir, last, len, (flags & AT_REMOVEDIR) != 0);
}

KILN_SYSCALL1(unlink, const char *, path)
{
    return unlinkat_impl(AT_FDCWD, path, 0);
}

KILN_SYSCALL1(rmdir, const char *, path)
{
    return unlinkat_impl(AT_FDCWD, path, AT_REMOVEDIR);
}

#define RENAME_NOREPLACE 1

KILN_SYSCALL5(renameat2, int, olddirfd, const char *, oldpath, int, newdirfd, const char *, newpath, unsigned, flags)
{
    if (flags & ~RENAME_NOREPLACE)
        return -EINVAL;
    struct vnode od, nd, probe;
    const char *ol, *nl;
    unsigned olen, nlen;
    char oabs[PATH_MAX_KILN], nabs[PATH_MAX_KILN];
    int r = vfs_resolve(olddirfd, oldpath, &od, &ol, &olen, 1, oabs);
    if (r)
        return r;
    r = vfs_resolve(newdirfd, newpath, &nd, &nl, &nlen, 1, nabs);
    if (r)
        return r;
    if (olen == 0 || nlen == 0 || mount_root(oabs) || mount_root(nabs))
        return -EBUSY;
    if (od.fs != nd.fs)
        return -EXDEV;
    r = od.fs->lookup(od, ol, olen, &probe);
    if (r)
        return r;
    if ((flags & RENAME_NOREPLACE) && nd.fs->lookup(nd, nl, nlen, &probe) == 0)
        return -EEXIST;
    if (!od.fs->rename)
        return -EROFS;
    return od.fs->rename(od, ol, olen, nd, nl, nlen);
}

KILN_SYSCALL4(renameat, int, olddirfd, const char *, oldpath, int, newdirfd, const char *, newpath)
{
    return renameat2_impl(olddirfd, oldpath, newdirfd, newpath, 0);
}

KILN_SYSCALL2(rename, const char *, oldpath, const char *, newpath)
{
    return renameat2_impl(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0);
}

KILN_SYSCALL2(getcwd, char *, buf, unsigned long, size)
{
    unsigned long n = strlen(cwd) + 1;
    if (!buf)
        return -EFAULT;
    if (size < n)
        return -ERANGE;
    memcpy(buf, cwd, n);
    return (long)n;
}

static long change_dir(const char *abs, struct vnode n)
{
    if (!node_is_dir(n))
        return -ENOTDIR;
    strcpy(cwd, abs);
    return 0;
}

KILN_SYSCALL1(chdir, const char *, path)
{
    char abs[PATH_MAX_KILN];
    struct vnode n;
    int r = lookup_path(AT_FDCWD, path, &n, abs);
    if (r)
        return r;
    return change_dir(abs, n);
}

KILN_SYSCALL1(fchdir, int, fd)
{
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    if (!f->is_dir || !f->path)
        return -ENOTDIR;
    return change_dir(f->path, f->node);
}

KILN_SYSCALL4(readlinkat, int, dirfd, const char *, path, char *, buf, unsigned long, size)
{
    (void)buf;
    (void)size;
    struct vnode n;
    int r = lookup_path(dirfd, path, &n, 0);
    /* no file here is a symbolic link */
    return r ? r : -EINVAL;
}

KILN_SYSCALL3(readlink, const char *, path, char *, buf, unsigned long, size)
{
    return readlinkat_impl(AT_FDCWD, path, buf, size);
}

KILN_SYSCALL2(truncate, const char *, path, long, length)
{
    if (length < 0)
        return -EINVAL;
    struct vnode n;
    int r = lookup_path(AT_FDCWD, path, &n, 0);
    if (r)
        return r;
    if (node_is_dir(n))
        return -EISDIR;
    if (!n.fs->write || !n.fs->truncate)
        return -EROFS;
    return n.fs->truncate(n, (unsigned long long)length);
}

KILN_SYSCALL2(chmod, const char *, path, unsigned, mode)
{
    struct vnode n;
    int r = lookup_path(AT_FDCWD, path, &n, 0);
    if (r)
        return r;
    return n.fs->chmod ? n.fs->chmod(n, mode) : -EROFS;
}

KILN_SYSCALL1(umask, unsigned, m)
{
    unsigned old = mask;
    mask = m & 0777;
    return old;
}

#define UTIME_NOW_K ((1l << 30) - 1l)
#define UTIME_OMIT_K ((1l << 30) - 2l)

KILN_SYSCALL4(utimensat, int, dirfd, const char *, path, const struct timespec *, times, int, flags)
{
    struct vnode n;
    int r;
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    if (!path) {
        struct file *f = fd_get(dirfd);
        if (!f)
            return -EBADF;
        n = f->node;
    } else {
        r = lookup_path(dirfd, path, &n, 0);
        if (r)
            return r;
    }
    if (!n.fs->utimes)
        return -EROFS;
    long long now = (long long)kiln_posix_realtime_ns(), t[2] = { now, now };
    if (times) {
        for (int i = 0; i < 2; i++) {
            if (times[i].tv_nsec == UTIME_OMIT_K)
                t[i] = -1;
            else if (times[i].tv_nsec != UTIME_NOW_K) {
                if (times[i].tv_nsec < 0 || times[i].tv_nsec >= 1000000000L)
                    return -EINVAL;
                t[i] = (long long)times[i].tv_sec * 1000000000LL + times[i].tv_nsec;
            }
        }
    }
    return n.fs->utimes(n, t[0], t[1]);
}

/* Start-up (posix-core calls it before main): the name space and fds 0, 1, 2. */
void kiln_posix_vfs_start(void)
{
    struct vnode tmp;
    cwd[0] = '/';
    int have_rootfs = kiln_vfs_rootfs && kiln_vfs_rootfs(&root_node) == 0;
    if (!have_rootfs) {
        if (ramfs_new(&root_node)) {
            kiln_posix_say("kiln: posix: no memory for the root file system\n");
            kiln_posix_exit(127);
        }
        root_node.fs->create(root_node, "tmp", 3, S_IFDIR | 01777, &tmp);
        root_node.fs->create(root_node, "dev", 3, S_IFDIR | 0755, &tmp);
    } else if (ramfs_new(&tmp) == 0) {
        vfs_mount("/tmp", tmp);
    }
    vfs_mount("/dev", devfs_root());
    struct vnode dev = devfs_root(), in, out, err;
    dev.fs->lookup(dev, "stdin", 5, &in);
    dev.fs->lookup(dev, "stdout", 6, &out);
    dev.fs->lookup(dev, "stderr", 6, &err);
    struct file *f;
    f = file_new(in, O_RDONLY, 0, 0);
    fd_install(f, 0, 0);
    file_put(f);
    f = file_new(out, O_WRONLY, 0, 0);
    fd_install(f, 1, 0);
    file_put(f);
    f = file_new(err, O_WRONLY, 0, 0);
    fd_install(f, 2, 0);
    file_put(f);
}
