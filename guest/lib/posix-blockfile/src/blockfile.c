/*
 * Block devices as files (docs/kiln-abi.md 7).  A block device holds one
 * file: its first block is a header with a magic and the file's length,
 * the file's bytes follow from the second block on.  Keeping the length
 * on the device is what lets a program like SQLite see a real file that
 * grows and shrinks, and find it again, at the same length, in the next
 * run on the same image file.
 *
 * The files appear in one folder (CONFIG_POSIX_BLOCKFILE_DIR, /dev/block
 * by default), named as the devices.  Programs create other files next to
 * their data (SQLite's rollback journal "NAME-journal"): the folder keeps
 * those in a private RAM file system, so they work but do not survive a
 * reboot (a crash in the middle of a transaction is not recoverable; a
 * program that ends normally leaves a consistent database).
 *
 * Writes go straight to the device (no cache in the guest); a write that
 * changes the length rewrites the header after the data, so the header
 * never claims bytes that were not written.  The monitor flushes the
 * backing file when the guest ends.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <kiln/block.h>
#include <kiln/posix.h>
#include <kiln/vfs.h>

#define MAGIC "KILNBF1"          /* 8 bytes with its NUL */
#define MAX_DEVICES 8
#define NAME_MAX_BF 32

struct bfile {
    int refused;         /* named but unusable: its name answers ENODEV, never a RAM file in its place */
    struct blk dev;
    char name[NAME_MAX_BF];
    unsigned name_len;
    uint64_t length;     /* the file's length in bytes (the header's) */
    uint64_t data_off;   /* where byte 0 of the file is on the device: one block in */
    unsigned char *bounce; /* one block, for partial-block reads and writes */
};

static struct bfile files[MAX_DEVICES];
static unsigned nfiles;
static struct vnode scratch;   /* the RAM folder for every other name */
static const struct vfs_ops bf_ops;

/* id 0 is the folder, id i (1..nfiles) the device file files[i-1]. */
static struct vnode vn(unsigned long id)
{
    struct vnode v = { &bf_ops, id };
    return v;
}

static struct bfile *file_of(struct vnode n)
{
    return n.id >= 1 && n.id <= nfiles ? &files[n.id - 1] : 0;
}

static struct bfile *by_name(const char *name, unsigned len)
{
    for (unsigned i = 0; i < nfiles; i++)
        if (files[i].name_len == len && memcmp(files[i].name, name, len) == 0)
            return &files[i];
    return 0;
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* The header block: magic, length, data offset (all little-endian), then zeros. */
static int write_header(struct bfile *f, uint64_t length)
{
    memset(f->bounce, 0, f->dev.block_size);
    memcpy(f->bounce, MAGIC, 8);
    put64(f->bounce + 8, length);
    put64(f->bounce + 16, f->data_off);
    if (blk_write(&f->dev, 0, f->bounce, 1))
        return -EIO;
    f->length = length;
    return 0;
}

/* Device bytes [off, off+len) <- buf (NULL: zeros), through the bounce block where partial. */
static int dev_write(struct bfile *f, uint64_t off, const unsigned char *buf, uint64_t len)
{
    unsigned bs = f->dev.block_size;
    while (len) {
        uint64_t lba = off / bs, in = off % bs;
        if (in == 0 && len >= bs && buf) {
            /* whole blocks straight from the caller's buffer */
            uint64_t n = len / bs;
            if (blk_write(&f->dev, lba, buf, n))
                return -EIO;
            off += n * bs, buf += n * bs, len -= n * bs;
            continue;
        }
        uint64_t n = bs - in < len ? bs - in : len;
        if (n < bs && blk_read(&f->dev, lba, f->bounce, 1))
            return -EIO;
        if (buf)
            memcpy(f->bounce + in, buf, n);
        else
            memset(f->bounce + in, 0, n);
        if (blk_write(&f->dev, lba, f->bounce, 1))
            return -EIO;
        off += n, len -= n;
        if (buf)
            buf += n;
    }
    return 0;
}

static int dev_read(struct bfile *f, uint64_t off, unsigned char *buf, uint64_t len)
{
    unsigned bs = f->dev.block_size;
    while (len) {
        uint64_t lba = off / bs, in = off % bs;
        if (in == 0 && len >= bs) {
            uint64_t n = len / bs;
            if (blk_read(&f->dev, lba, buf, n))
                return -EIO;
            off += n * bs, buf += n * bs, len -= n * bs;
            continue;
        }
        uint64_t n = bs - in < len ? bs - in : len;
        if (blk_read(&f->dev, lba, f->bounce, 1))
            return -EIO;
        memcpy(buf, f->bounce + in, n);
        off += n, buf += n, len -= n;
    }
    return 0;
}

static uint64_t capacity(struct bfile *f)
{
    return f->dev.capacity - f->data_off;
}

/* ---- the folder ---- */

static int bf_lookup(struct vnode dir, const char *name, unsigned len, struct vnode *out)
{
    if (dir.id != 0)
        return -ENOTDIR;
    struct bfile *f = by_name(name, len);
    if (f && f->refused)
        return -ENODEV; /* why was said on the console at start-up */
    if (f) {
        *out = vn((unsigned long)(f - files) + 1);
        return 0;
    }
    return scratch.fs->lookup(scratch, name, len, out);
}

static int bf_create(struct vnode dir, const char *name, unsigned len, unsigned mode, struct vnode *out)
{
    if (dir.id != 0)
        return -ENOTDIR;
    if (by_name(name, len))
        return -EEXIST;
    return scratch.fs->create(scratch, name, len, mode, out);
}

static int bf_remove(struct vnode dir, const char *name, unsigned len, int is_dir)
{
    if (dir.id != 0)
        return -ENOTDIR;
    if (by_name(name, len))
        return -EBUSY; /* the device stays; truncate it to empty it */
    return scratch.fs->remove(scratch, name, len, is_dir);
}

static int bf_rename(struct vnode from_dir, const char *from, unsigned from_len,
                     struct vnode to_dir, const char *to, unsigned to_len)
{
    if (by_name(from, from_len) || (to_dir.fs == &bf_ops && by_name(to, to_len)))
        return -EBUSY;
    if (from_dir.fs != &bf_ops || to_dir.fs != &bf_ops)
        return -EXDEV;
    return scratch.fs->rename(scratch, from, from_len, scratch, to, to_len);
}

static int bf_readdir(struct vnode dir, unsigned long index, struct vnode *child, const char **name, unsigned *len)
{
    if (dir.id != 0)
        return -ENOTDIR;
    if (index < nfiles) {
        /* a refused device is listed too; stat on it answers its zero length */
        *child = vn(index + 1);
        *name = files[index].name;
        *len = files[index].name_len;
        return 1;
    }
    return scratch.fs->readdir(scratch, index - nfiles, child, name, len);
}

static int bf_parent(struct vnode n, struct vnode *out)
{
    /* The folder is a mount root (the VFS answers ".." of mount points by path). */
    (void)n;
    *out = vn(0);
    return 0;
}

/* ---- the device files ---- */

static int bf_stat(struct vnode n, struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_dev = 0x4b42; /* "KB" */
    st->st_ino = n.id + 1;
    st->st_blksize = 4096;
    if (n.id == 0) {
        st->st_mode = S_IFDIR | 0755;
        st->st_nlink = 2;
        st->st_size = 4096;
        return 0;
    }
    struct bfile *f = file_of(n);
    st->st_mode = S_IFREG | 0644;
    st->st_nlink = 1;
    st->st_size = (off_t)f->length;
    st->st_blocks = (blkcnt_t)((f->length + 511) / 512);
    return 0;
}

static long bf_read(struct vnode n, void *buf, unsigned long len, unsigned long long off)
{
    struct bfile *f = file_of(n);
    if (!f)
        return -EISDIR;
    if (off >= f->length)
        return 0;
    if (len > f->length - off)
        len = (unsigned long)(f->length - off);
    int r = dev_read(f, f->data_off + off, buf, len);
    return r ? r : (long)len;
}

/* Grows the file to new_len: the gap [length, start) reads as zeros, as POSIX wants. */
static int zero_gap(struct bfile *f, uint64_t start)
{
    if (start <= f->length)
        return 0;
    return dev_write(f, f->data_off + f->length, 0, start - f->length);
}

static long bf_write(struct vnode n, const void *buf, unsigned long len, unsigned long long off)
{
    struct bfile *f = file_of(n);
    if (!f)
        return -EISDIR;
    if (off > capacity(f) || len > capacity(f) - off)
        return -EFBIG; /* the device is the file's largest size */
    int r = zero_gap(f, off);
    if (!r)
        r = dev_write(f, f->data_off + off, buf, len);
    if (!r && off + len > f->length)
        r = write_header(f, off + len); /* after the data: the length never covers unwritten bytes */
    return r ? r : (long)len;
}

static int bf_truncate(struct vnode n, unsigned long long size)
{
    struct bfile *f = file_of(n);
    if (!f)
        return -EISDIR;
    if (size > capacity(f))
        return -EFBIG;
    if (size == f->length)
        return 0;
    int r = zero_gap(f, size);
    return r ? r : write_header(f, size);
}

static int bf_chmod(struct vnode n, unsigned mode)
{
    (void)n, (void)mode;
    return 0; /* the device files' mode is fixed; accepted so programs that set it carry on */
}

static int bf_utimes(struct vnode n, long long atime_ns, long long mtime_ns)
{
    (void)n, (void)atime_ns, (void)mtime_ns;
    return 0;
}

static const struct vfs_ops bf_ops = {
    .name = "blockfile",
    .lookup = bf_lookup,
    .stat = bf_stat,
    .read = bf_read,
    .write = bf_write,
    .truncate = bf_truncate,
    .create = bf_create,
    .remove = bf_remove,
    .rename = bf_rename,
    .readdir = bf_readdir,
    .parent = bf_parent,
    .chmod = bf_chmod,
    .utimes = bf_utimes,
};

static void say(const char *a, const char *b, const char *c)
{
    kiln_posix_say(a);
    kiln_posix_say(b);
    kiln_posix_say(c);
}

/* Attaches device NAME (len bytes) as a file: 0, or -1 with the reason on the console. */
static int attach_one(struct bfile *f, const char *name, unsigned len);

static void attach(const char *name, unsigned len)
{
    struct bfile *f = &files[nfiles];
    if (attach_one(f, name, len) == 0) {
        nfiles++;
    } else if (f->name_len && !by_name(f->name, f->name_len)) {
        f->refused = 1; /* keep the name: a program must not get a RAM file where it expects its data */
        f->length = 0;
        nfiles++;
    }
}

static int attach_one(struct bfile *f, const char *name, unsigned len)
{
    f->name_len = 0;
    if (len == 0 || len >= NAME_MAX_BF) {
        kiln_posix_say("kiln: posix-blockfile: POSIX_BLOCKFILE_DEVICES names an empty or too long device name\n");
        return -1;
    }
    memcpy(f->name, name, len);
    f->name[len] = '\0';
    f->name_len = len;
    if (by_name(name, len)) {
        say("kiln: posix-blockfile: device '", f->name, "' is named twice in POSIX_BLOCKFILE_DEVICES\n");
        return -1;
    }
    if (blk_open(f->name, &f->dev)) {
        say("kiln: posix-blockfile: no block device '", f->name,
            "': declare it in [devices] block and attach it with kiln run --block:NAME=FILE\n");
        return -1;
    }
    f->data_off = f->dev.block_size;
    if (f->dev.capacity < 2ull * f->dev.block_size) {
        say("kiln: posix-blockfile: device '", f->name, "' is smaller than two blocks (header and data)\n");
        return -1;
    }
    f->bounce = malloc(f->dev.block_size);
    if (!f->bounce || blk_read(&f->dev, 0, f->bounce, 1)) {
        say("kiln: posix-blockfile: cannot read the header of device '", f->name, "'\n");
        return -1;
    }
    int zero = 1;
    for (unsigned i = 0; i < f->dev.block_size && zero; i++)
        zero = f->bounce[i] == 0;
    if (zero) {
        f->length = 0; /* a fresh (all-zero) device: an empty file, formatted by its first write */
    } else if (memcmp(f->bounce, MAGIC, 8) != 0) {
        /* Never overwrite what may be someone's data. */
        say("kiln: posix-blockfile: device '", f->name,
            "' holds something else (no KILNBF1 header and not all zero); refusing to use it\n");
        return -1;
    } else {
        uint64_t length = get64(f->bounce + 8), off = get64(f->bounce + 16);
        if (off != f->dev.block_size || length > capacity(f)) {
            say("kiln: posix-blockfile: device '", f->name,
                "' has a KILNBF1 header that does not fit it (data offset is not one block, or length past the end)\n");
            return -1;
        }
        f->length = length;
    }
    return 0;
}

/* posix-core calls this after posix-vfs mounted its file systems, before main. */
void kiln_posix_mount_more(void)
{
    const char *list = CONFIG_POSIX_BLOCKFILE_DEVICES;
    while (*list) {
        const char *end = list;
        while (*end && *end != ',')
            end++;
        if (nfiles == MAX_DEVICES) {
            kiln_posix_say("kiln: posix-blockfile: more than 8 devices in POSIX_BLOCKFILE_DEVICES\n");
            break;
        }
        attach(list, (unsigned)(end - list));
        list = *end ? end + 1 : end;
    }
    if (ramfs_new(&scratch)) {
        kiln_posix_say("kiln: posix-blockfile: no memory for the folder's RAM files\n");
        return;
    }
    int r = vfs_mount(CONFIG_POSIX_BLOCKFILE_DIR, vn(0));
    if (r)
        say("kiln: posix-blockfile: cannot mount POSIX_BLOCKFILE_DIR ", CONFIG_POSIX_BLOCKFILE_DIR,
            " (it must be an absolute path)\n");
}
