/*
 * /dev: the device files programs open by name.  null and zero as Linux
 * has them, random and urandom from getrandom, console (and stdout,
 * stderr, tty) writing to the instance's console, stdin reading end of
 * file (an hvt console has no input).
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <kiln/platform.h>
#include <kiln/posix.h>
#include <kiln/vfs.h>

enum { DEV_ROOT, DEV_NULL, DEV_ZERO, DEV_RANDOM, DEV_URANDOM, DEV_CONSOLE, DEV_STDIN, DEV_STDOUT, DEV_STDERR, DEV_TTY, DEV_COUNT };

static const char *const names[DEV_COUNT] = {
    "", "null", "zero", "random", "urandom", "console", "stdin", "stdout", "stderr", "tty",
};

static const struct vfs_ops devfs_ops;

struct vnode devfs_root(void)
{
    struct vnode v = { &devfs_ops, DEV_ROOT };
    return v;
}

static int dv_lookup(struct vnode d, const char *name, unsigned len, struct vnode *out)
{
    if (d.id != DEV_ROOT)
        return -ENOTDIR;
    for (unsigned i = 1; i < DEV_COUNT; i++) {
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0) {
            out->fs = &devfs_ops;
            out->id = i;
            return 0;
        }
    }
    return -ENOENT;
}

static int dv_stat(struct vnode v, struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_dev = 0x4b44; /* "KD" */
    st->st_ino = v.id + 1;
    st->st_mode = v.id == DEV_ROOT ? (S_IFDIR | 0755) : (S_IFCHR | 0666);
    st->st_nlink = v.id == DEV_ROOT ? 2 : 1;
    st->st_blksize = 4096;
    st->st_rdev = v.id;
    return 0;
}

long kiln_sys_getrandom(long, long, long, long, long, long);

static long dv_read(struct vnode v, void *buf, unsigned long len, unsigned long long off)
{
    (void)off;
    switch (v.id) {
    case DEV_ROOT:
        return -EISDIR;
    case DEV_ZERO:
        memset(buf, 0, len);
        return (long)len;
    case DEV_RANDOM:
    case DEV_URANDOM:
        return kiln_sys_getrandom((long)buf, (long)len, 0, 0, 0, 0);
    default:
        return 0; /* null, and the console's input: end of file */
    }
}

static long dv_write(struct vnode v, const void *buf, unsigned long len, unsigned long long off)
{
    (void)off;
    switch (v.id) {
    case DEV_ROOT:
        return -EISDIR;
    case DEV_CONSOLE:
    case DEV_STDOUT:
    case DEV_STDERR:
    case DEV_TTY:
        plat_console_write(buf, len);
        return (long)len;
    case DEV_STDIN:
        return -EBADF;
    default:
        return (long)len; /* null, zero, random: written and forgotten */
    }
}

static int dv_truncate(struct vnode v, unsigned long long size)
{
    (void)size;
    return v.id == DEV_ROOT ? -EISDIR : 0;
}

static int dv_readdir(struct vnode d, unsigned long index, struct vnode *child, const char **name, unsigned *len)
{
    if (d.id != DEV_ROOT)
        return -ENOTDIR;
    if (index + 1 >= DEV_COUNT)
        return 0;
    child->fs = &devfs_ops;
    child->id = index + 1;
    *name = names[index + 1];
    *len = (unsigned)strlen(names[index + 1]);
    return 1;
}

static int dv_parent(struct vnode v, struct vnode *out)
{
    (void)v;
    *out = devfs_root();
    return 0;
}

static const struct vfs_ops devfs_ops = {
    .name = "devfs",
    .lookup = dv_lookup,
    .stat = dv_stat,
    .read = dv_read,
    .write = dv_write,
    .truncate = dv_truncate,
    .readdir = dv_readdir,
    .parent = dv_parent,
    .is_stream = 1,
};
