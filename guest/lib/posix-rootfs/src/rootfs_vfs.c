/*
 * The read-only root file system of `kiln run --rootfs` in the POSIX
 * layer's name space: the rootfs library's inodes as vnodes.  posix-vfs
 * asks kiln_vfs_rootfs() for "/" at start-up; when the app declares no
 * 'rootfs' block device or none is attached, "/" is a RAM file system.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <kiln/posix.h>
#include <kiln/rootfs.h>
#include <kiln/vfs.h>

static const struct vfs_ops rootfs_ops;

static struct vnode vn(int ino)
{
    struct vnode v = { &rootfs_ops, (unsigned long)ino };
    return v;
}

static int rf_lookup(struct vnode dir, const char *name, unsigned len, struct vnode *out)
{
    int ino;
    int r = rootfs_lookup_at((int)dir.id, name, len, &ino);
    if (r)
        return r;
    *out = vn(ino);
    return 0;
}

static int rf_stat(struct vnode n, struct stat *st)
{
    struct rootfs_stat rs;
    int r = rootfs_stat((int)n.id, &rs);
    if (r)
        return r;
    memset(st, 0, sizeof *st);
    st->st_dev = 0x4b46; /* "KF" */
    st->st_ino = rs.ino + 1;
    st->st_mode = rs.mode;
    st->st_nlink = rs.nlink;
    st->st_size = S_ISDIR(rs.mode) ? 4096 : (off_t)rs.size;
    st->st_blksize = 4096;
    st->st_blocks = S_ISDIR(rs.mode) ? 8 : (blkcnt_t)((rs.size + 511) / 512);
    st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = (time_t)rs.mtime;
    return 0;
}

static long rf_read(struct vnode n, void *buf, unsigned long len, unsigned long long off)
{
    return rootfs_read((int)n.id, off, buf, len);
}

static int rf_readdir(struct vnode dir, unsigned long index, struct vnode *child, const char **name, unsigned *len)
{
    int ino;
    int r = rootfs_readdir((int)dir.id, index, &ino, name, len);
    if (r == 1)
        *child = vn(ino);
    return r;
}

static int rf_parent(struct vnode n, struct vnode *out)
{
    *out = vn(rootfs_parent((int)n.id));
    return 0;
}

/* Read-only: no write, truncate, create, remove, rename, chmod, utimes (EROFS). */
static const struct vfs_ops rootfs_ops = {
    .name = "rootfs",
    .lookup = rf_lookup,
    .stat = rf_stat,
    .read = rf_read,
    .readdir = rf_readdir,
    .parent = rf_parent,
};

int kiln_vfs_rootfs(struct vnode *root)
{
    int r = rootfs_mount("rootfs");
    if (r)
        return r; /* -ENODEV: not attached; -EINVAL: the library said why on the console */
    *root = vn(0);
    return 0;
}
