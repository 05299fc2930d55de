/*
 * A RAM file system: directories and regular files in guest memory (the
 * program's /tmp, and "/" when no root file system is attached).  File data
 * is one growable buffer per file; a directory keeps its entries in an
 * array in creation order, which readdir walks by index.  A removed file
 * lives on while open files hold it (POSIX unlink semantics).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <kiln/platform.h>
#include <kiln/posix.h>
#include <kiln/vfs.h>

#define RAMFS_FILE_MAX (1ull << 40)

struct ram_node {
    unsigned mode;
    unsigned long ino;
    unsigned links;                /* names pointing here (dirs: 1 while linked) */
    unsigned holds;                /* open files */
    struct ram_node *parent;
    char *name;
    unsigned name_len;
    long long atime, mtime, ctime; /* ns since the epoch */
    /* regular files */
    unsigned char *data;
    unsigned long long size, cap;
    /* directories */
    struct ram_node **kids;
    unsigned nkids, capkids;
};

static const struct vfs_ops ramfs_ops;
static unsigned long next_ino = 2;

static struct ram_node *node(struct vnode v)
{
    return (struct ram_node *)v.id;
}

static struct vnode vn(struct ram_node *n)
{
    struct vnode v = { &ramfs_ops, (unsigned long)n };
    return v;
}

static long long now_ns(void)
{
    return (long long)kiln_posix_realtime_ns();
}

static struct ram_node *new_node(unsigned mode, struct ram_node *parent, const char *name, unsigned len)
{
    struct ram_node *n = calloc(1, sizeof *n);
    if (!n)
        return 0;
    n->name = malloc(len + 1);
    if (!n->name) {
        free(n);
        return 0;
    }
    memcpy(n->name, name, len);
    n->name[len] = '\0';
    n->name_len = len;
    n->mode = mode;
    n->ino = next_ino++;
    n->parent = parent ? parent : n;
    n->links = 1;
    n->atime = n->mtime = n->ctime = now_ns();
    return n;
}

static void maybe_free(struct ram_node *n)
{
    if (n->links || n->holds)
        return;
    free(n->data);
    free(n->kids);
    free(n->name);
    free(n);
}

int ramfs_new(struct vnode *root)
{
    struct ram_node *r = new_node(S_IFDIR | 0777, 0, "", 0);
    if (!r)
        return -ENOMEM;
    *root = vn(r);
    return 0;
}

static int find(struct ram_node *dir, const char *name, unsigned len)
{
    for (unsigned i = 0; i < dir->nkids; i++) {
        struct ram_node *k = dir->kids[i];
        if (k->name_len == len && memcmp(k->name, name, len) == 0)
            return (int)i;
    }
    return -1;
}

static int rf_lookup(struct vnode d, const char *name, unsigned len, struct vnode *out)
{
    struct ram_node *dir = node(d);
    if (!S_ISDIR(dir->mode))
        return -ENOTDIR;
    int i = find(dir, name, len);
    if (i < 0)
        return -ENOENT;
    *out = vn(dir->kids[i]);
    return 0;
}

static int rf_stat(struct vnode v, struct stat *st)
{
    struct ram_node *n = node(v);
    memset(st, 0, sizeof *st);
    st->st_dev = 0x4b52; /* "KR" */
    st->st_ino = n->ino;
    st->st_mode = n->mode;
    st->st_nlink = S_ISDIR(n->mode) ? 2 : n->links;
    st->st_size = S_ISDIR(n->mode) ? 4096 : (off_t)n->size;
    st->st_blksize = 4096;
    st->st_blocks = (blkcnt_t)((n->cap + 511) / 512);
    st->st_atim.tv_sec = n->atime / 1000000000;
    st->st_atim.tv_nsec = n->atime % 1000000000;
    st->st_mtim.tv_sec = n->mtime / 1000000000;
    st->st_mtim.tv_nsec = n->mtime % 1000000000;
    st->st_ctim.tv_sec = n->ctime / 1000000000;
    st->st_ctim.tv_nsec = n->ctime % 1000000000;
    return 0;
}

static long rf_read(struct vnode v, void *buf, unsigned long len, unsigned long long off)
{
    struct ram_node *n = node(v);
    if (S_ISDIR(n->mode))
        return -EISDIR;
    if (off >= n->size)
        return 0;
    if (len > n->size - off)
        len = (unsigned long)(n->size - off);
    memcpy(buf, n->data + off, len);
    return (long)len;
}

static int reserve(struct ram_node *n, unsigned long long size)
{
    if (size <= n->cap)
        return 0;
    if (size > RAMFS_FILE_MAX)
        return -EFBIG;
    unsigned long long cap = n->cap ? n->cap : 256;
    while (cap < size)
        cap *= 2;
    unsigned char *d = realloc(n->data, cap);
    if (!d)
        return -ENOSPC;
    n->data = d;
    n->cap = cap;
    return 0;
}

static long rf_write(struct vnode v, const void *buf, unsigned long len, unsigned long long off)
{
    struct ram_node *n = node(v);
    if (S_ISDIR(n->mode))
        return -EISDIR;
    if (off + len < off)
        return -EFBIG;
    int r = reserve(n, off + len);
    if (r)
        return r;
    if (off > n->size)
        memset(n->data + n->size, 0, off - n->size);
    memcpy(n->data + off, buf, len);
    if (off + len > n->size)
        n->size = off + len;
    n->mtime = n->ctime = now_ns();
    return (long)len;
}

static int rf_truncate(struct vnode v, unsigned long long size)
{
    struct ram_node *n = node(v);
    if (S_ISDIR(n->mode))
        return -EISDIR;
    int r = reserve(n, size);
    if (r)
        return r;
    if (size > n->size)
        memset(n->data + n->size, 0, size - n->size);
    n->size = size;
    n->mtime = n->ctime = now_ns();
    return 0;
}

static int link_into(struct ram_node *dir, struct ram_node *k)
{
    if (dir->nkids == dir->capkids) {
        unsigned cap = dir->capkids ? dir->capkids * 2 : 8;
        struct ram_node **a = realloc(dir->kids, cap * sizeof *a);
        if (!a)
            return -ENOSPC;
        dir->kids = a;
        dir->capkids = cap;
    }
    dir->kids[dir->nkids++] = k;
    k->parent = dir;
    dir->mtime = dir->ctime = now_ns();
    return 0;
}

static void unlink_at(struct ram_node *dir, int i)
{
    memmove(&dir->kids[i], &dir->kids[i + 1], (dir->nkids - i - 1) * sizeof dir->kids[0]);
    dir->nkids--;
    dir->mtime = dir->ctime = now_ns();
}

static int rf_create(struct vnode d, const char *name, unsigned len, unsigned mode, struct vnode *out)
{
    struct ram_node *dir = node(d);
    if (!S_ISDIR(dir->mode))
        return -ENOTDIR;
    if (!dir->links && dir->parent != dir)
        return -ENOENT; /* a removed directory takes no new entries */
    if (find(dir, name, len) >= 0)
        return -EEXIST;
    if (!S_ISDIR(mode) && !S_ISREG(mode))
        return -EPERM;
    struct ram_node *k = new_node(mode, dir, name, len);
    if (!k)
        return -ENOSPC;
    int r = link_into(dir, k);
    if (r) {
        k->links = 0;
        maybe_free(k);
        return r;
    }
    *out = vn(k);
    return 0;
}

static int rf_remove(struct vnode d, const char *name, unsigned len, int is_dir)
{
    struct ram_node *dir = node(d);
    int i = find(dir, name, len);
    if (i < 0)
        return -ENOENT;
    struct ram_node *k = dir->kids[i];
    if (is_dir) {
        if (!S_ISDIR(k->mode))
            return -ENOTDIR;
        if (k->nkids)
            return -ENOTEMPTY;
    } else if (S_ISDIR(k->mode)) {
        return -EISDIR;
    }
    unlink_at(dir, i);
    k->links = 0;
    maybe_free(k);
    return 0;
}

static int is_ancestor(struct ram_node *a, struct ram_node *n)
{
    for (;;) {
        if (n == a)
            return 1;
        if (n->parent == n)
            return 0;
        n = n->parent;
    }
}

static int rf_rename(struct vnode fd_, const char *from, unsigned flen, struct vnode td, const char *to, unsigned tlen)
{
    struct ram_node *fdir = node(fd_), *tdir = node(td);
    int i = find(fdir, from, flen);
    if (i < 0)
        return -ENOENT;
    struct ram_node *k = fdir->kids[i];
    if (S_ISDIR(k->mode) && is_ancestor(k, tdir))
        return -EINVAL; /* a directory into itself */
    int j = find(tdir, to, tlen);
    if (j >= 0) {
        struct ram_node *old = tdir->kids[j];
        if (old == k)
            return 0;
        if (S_ISDIR(old->mode) && !S_ISDIR(k->mode))
            return -EISDIR;
        if (!S_ISDIR(old->mode) && S_ISDIR(k->mode))
            return -ENOTDIR;
        if (S_ISDIR(old->mode) && old->nkids)
            return -ENOTEMPTY;
    }
    char *nm = malloc(tlen + 1);
    if (!nm)
        return -ENOSPC;
    memcpy(nm, to, tlen);
    nm[tlen] = '\0';
    if (j >= 0) {
        struct ram_node *old = tdir->kids[j];
        unlink_at(tdir, j);
        old->links = 0;
        maybe_free(old);
    }
    i = find(fdir, from, flen);
    unlink_at(fdir, i);
    int r = link_into(tdir, k);
    if (r) {
        link_into(fdir, k); /* had room a moment ago */
        free(nm);
        return r;
    }
    free(k->name);
    k->name = nm;
    k->name_len = tlen;
    k->ctime = now_ns();
    return 0;
}

static int rf_readdir(struct vnode d, unsigned long index, struct vnode *child, const char **name, unsigned *len)
{
    struct ram_node *dir = node(d);
    if (!S_ISDIR(dir->mode))
        return -ENOTDIR;
    if (index >= dir->nkids)
        return 0;
    struct ram_node *k = dir->kids[index];
    *child = vn(k);
    *name = k->name;
    *len = k->name_len;
    return 1;
}

static int rf_parent(struct vnode v, struct vnode *out)
{
    *out = vn(node(v)->parent);
    return 0;
}

static int rf_chmod(struct vnode v, unsigned mode)
{
    struct ram_node *n = node(v);
    n->mode = (n->mode & S_IFMT) | (mode & 07777);
    n->ctime = now_ns();
    return 0;
}

static int rf_utimes(struct vnode v, long long atime, long long mtime)
{
    struct ram_node *n = node(v);
    if (atime >= 0)
        n->atime = atime;
    if (mtime >= 0)
        n->mtime = mtime;
    n->ctime = now_ns();
    return 0;
}

static void rf_hold(struct vnode v)
{
    node(v)->holds++;
}

static void rf_release(struct vnode v)
{
    struct ram_node *n = node(v);
    n->holds--;
    maybe_free(n);
}

static const struct vfs_ops ramfs_ops = {
    .name = "ramfs",
    .lookup = rf_lookup,
    .stat = rf_stat,
    .read = rf_read,
    .write = rf_write,
    .truncate = rf_truncate,
    .create = rf_create,
    .remove = rf_remove,
    .rename = rf_rename,
    .readdir = rf_readdir,
    .parent = rf_parent,
    .chmod = rf_chmod,
    .utimes = rf_utimes,
    .hold = rf_hold,
    .release = rf_release,
};
