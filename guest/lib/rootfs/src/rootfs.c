/*
 * KFS1 (docs/kiln-abi.md 6) over the block library.  The image is untrusted: mount loads the
 * superblock, the inode table and the names into memory and checks every rule of 6.4 before any
 * of it is used, so that afterwards every index, offset and size the other calls follow is known
 * to stay inside what was loaded (inodes and names) or inside the image (file contents).
 */
#include <kiln/rootfs.h>
#include <kiln/block.h>
/* Whichever library provides 'malloc' (Kiln's alloc, musl): only these two are used. */
void *malloc(__SIZE_TYPE__ size);
void free(void *p);
#include <kiln/platform.h>
#include <kiln/hvt_abi.h>

#define SECTOR          512ull
#define SUPERBLOCK_SIZE 64
#define INODE_SIZE      48ull
#define MAX_INODES      1000000ull
#define MAX_IMAGE       (4ull << 30)

/* Inode fields (6.2): offsets inside a 48-byte entry. */
#define I_MODE     0
#define I_NAME_OFF 4
#define I_NAME_LEN 8
#define I_PARENT   12
#define I_SIZE     16
#define I_DATA     24
#define I_MTIME    32
#define I_RESERVED 40

static struct {
    int mounted;
    struct blk dev;
    unsigned count;               /* inodes */
    unsigned char *inodes;        /* count * 48 bytes, validated */
    unsigned char *names;         /* names_size bytes */
    unsigned long long names_size;
    unsigned long long image_size;
    unsigned char *bounce;        /* one device block, for the unaligned ends of a read */
} fs;

static unsigned get32(const unsigned char *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8 | (unsigned)p[2] << 16 | (unsigned)p[3] << 24;
}

static unsigned long long get64(const unsigned char *p)
{
    return (unsigned long long)get32(p) | (unsigned long long)get32(p + 4) << 32;
}

static const unsigned char *inode(unsigned i)
{
    return fs.inodes + (unsigned long long)i * INODE_SIZE;
}

static unsigned mode_of(unsigned i) { return get32(inode(i) + I_MODE); }
static int is_dir(unsigned i) { return (mode_of(i) & ROOTFS_S_IFMT) == ROOTFS_S_IFDIR; }
static unsigned parent_of(unsigned i) { return get32(inode(i) + I_PARENT); }
static unsigned long long size_of(unsigned i) { return get64(inode(i) + I_SIZE); }
static unsigned long long data_of(unsigned i) { return get64(inode(i) + I_DATA); }
static const unsigned char *name_of(unsigned i) { return fs.names + get32(inode(i) + I_NAME_OFF); }
static unsigned name_len_of(unsigned i) { return get32(inode(i) + I_NAME_LEN); }

/* memcmp order, then the shorter name first (6.2): the order the packer sorts children in. */
static int compare(const unsigned char *a, unsigned alen, const unsigned char *b, unsigned blen)
{
    unsigned n = alen < blen ? alen : blen;
    for (unsigned k = 0; k < n; k++)
        if (a[k] != b[k])
            return a[k] < b[k] ? -1 : 1;
    return alen < blen ? -1 : alen > blen;
}

/* Reads LEN bytes at byte OFF of the device, any alignment: whole blocks straight into BUF, the
 * partial blocks at either end through the bounce block.  The caller keeps OFF + LEN inside the
 * image, which mount checked is inside the device. */
static int dev_read(unsigned long long off, void *buf, unsigned long long len)
{
    unsigned bs = fs.dev.block_size;
    unsigned char *out = buf;
    while (len > 0) {
        unsigned long long lba = off / bs;
        unsigned within = (unsigned)(off % bs);
        if (within == 0 && len >= bs) {
            unsigned long long whole = len / bs;
            if (blk_read(&fs.dev, lba, out, whole) != 0)
                return -1;
            off += whole * bs;
            out += whole * bs;
            len -= whole * bs;
            continue;
        }
        unsigned long long n = bs - within;
        if (n > len)
            n = len;
        if (blk_read(&fs.dev, lba, fs.bounce, 1) != 0)
            return -1;
        for (unsigned long long k = 0; k < n; k++)
            out[k] = fs.bounce[within + k];
        off += n;
        out += n;
        len -= n;
    }
    return 0;
}

/* CRC-32 with zlib's reflected polynomial 0xEDB88320 (the superblock's header_crc, 6.1). */
static unsigned crc_table[256];

static unsigned crc32_update(unsigned crc, const unsigned char *p, unsigned long long n)
{
    if (crc_table[1] == 0)
        for (unsigned i = 0; i < 256; i++) {
            unsigned c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            crc_table[i] = c;
        }
    crc = ~crc;
    for (unsigned long long i = 0; i < n; i++)
        crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* The message of a refused image, built whole so that it reaches the console in one write. */
struct line {
    char text[320];
    unsigned len;
};

static void put(struct line *l, const char *s)
{
    while (*s && l->len < sizeof l->text - 1)
        l->text[l->len++] = *s++;
}

static void put_u(struct line *l, unsigned long long v)
{
    char b[24];
    int i = sizeof b;
    b[--i] = 0;
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(l, b + i);
}

/* The one console line of a refused image: which device, which inode (or -1: the superblock), why. */
static int refuse(const char *device, long long ino, const char *why)
{
    struct line l = {.len = 0};
    put(&l, "rootfs: ");
    put(&l, device);
    put(&l, ": not a KFS1 image: ");
    if (ino >= 0) {
        put(&l, "inode ");
        put_u(&l, (unsigned long long)ino);
        put(&l, ": ");
    }
    put(&l, why);
    l.text[l.len++] = '\n';
    plat_console_write(l.text, l.len);
    return -ROOTFS_EINVAL;
}

static void release(void)
{
    free(fs.inodes);
    free(fs.names);
    free(fs.bounce);
    fs.inodes = fs.names = fs.bounce = 0;
    fs.mounted = 0;
}

/* The rules of 6.4 for each inode and each directory's children, over the loaded table and names. */
static int check_inodes(const char *device)
{
    unsigned long long children = 0;
    for (unsigned i = 0; i < fs.count; i++) {
        const unsigned char *n = inode(i);
        unsigned mode = get32(n + I_MODE), type = mode & ROOTFS_S_IFMT;
        if ((type != ROOTFS_S_IFDIR && type != ROOTFS_S_IFREG) || (mode & ~(ROOTFS_S_IFMT | 0777u)) != 0)
            return refuse(device, i, "mode is not a directory or regular file with permission bits");
        if (get64(n + I_RESERVED) != 0)
            return refuse(device, i, "the reserved field is not zero");
        if (get64(n + I_MTIME) >> 63)
            return refuse(device, i, "mtime is out of range");
        unsigned noff = get32(n + I_NAME_OFF), nlen = get32(n + I_NAME_LEN), parent = get32(n + I_PARENT);
        if (i == 0) {
            if (type != ROOTFS_S_IFDIR || nlen != 0 || parent != 0)
                return refuse(device, i, "the root must be a directory with no name and parent 0");
        } else {
            if (nlen < 1 || nlen > ROOTFS_NAME_MAX)
                return refuse(device, i, "name_len is not in 1..255");
            if (noff > fs.names_size || nlen > fs.names_size - noff)
                return refuse(device, i, "its name is outside the names area");
            if (parent >= fs.count)
                return refuse(device, i, "parent is not an inode");
            const unsigned char *name = fs.names + noff;
            if (name[0] == '.' && (nlen == 1 || (nlen == 2 && name[1] == '.')))
                return refuse(device, i, "the name is \".\" or \"..\"");
            for (unsigned k = 0; k < nlen; k++)
                if (name[k] == 0 || name[k] == '/')
                    return refuse(device, i, "the name contains a NUL or '/'");
        }
        unsigned long long size = get64(n + I_SIZE), data = get64(n + I_DATA);
        if (type == ROOTFS_S_IFREG) {
            /* inside the image here; after the names is checked by the caller, which knows where they end */
            if (size == 0 ? data != 0
                          : (data % SECTOR != 0 || data > fs.image_size || size > fs.image_size - data))
                return refuse(device, i, "its contents are not a 512-aligned range inside the image");
        }
    }
    /* second pass: every name is known to be inside the names area, so children can be compared */
    for (unsigned i = 0; i < fs.count; i++) {
        if (!is_dir(i))
            continue;
        unsigned long long size = size_of(i), first = data_of(i);
        if (size == 0) {
            if (first != 0)
                return refuse(device, i, "an empty directory's first child must be 0");
            continue;
        }
        /* children after their parent: following parents always reaches the root */
        if (first <= i || first >= fs.count || size > fs.count - first)
            return refuse(device, i, "its children are not a range of inodes after it");
        for (unsigned long long c = first; c < first + size; c++) {
            if (parent_of((unsigned)c) != i)
                return refuse(device, i, "a child names another parent");
            if (c > first && compare(name_of((unsigned)c - 1), name_len_of((unsigned)c - 1),
                                     name_of((unsigned)c), name_len_of((unsigned)c)) >= 0)
                return refuse(device, i, "its children are not in strictly increasing name order");
        }
        children += size;
    }
    /* child ranges cannot overlap (each child names its parent); together they must cover the rest */
    if (children != fs.count - 1ull)
        return refuse(device, -1, "the directories' children do not cover every inode once");
    return 0;
}

int rootfs_mount(const char *device)
{
    release();
    if (!device || blk_open(device, &fs.dev) != 0)
        return -ROOTFS_ENODEV;
    fs.bounce = malloc(fs.dev.block_size);
    if (!fs.bounce)
        return -ROOTFS_ENOMEM;
    if (fs.dev.capacity < SECTOR)
        return release(), refuse(device, -1, "the device is smaller than one 512-byte sector");
    unsigned char sb[SUPERBLOCK_SIZE];
    if (dev_read(0, sb, sizeof sb) != 0)
        return release(), -ROOTFS_EIO;
    static const unsigned char magic[8] = {'K', 'I', 'L', 'N', 'F', 'S', '1', 0};
    for (int k = 0; k < 8; k++)
        if (sb[k] != magic[k])
            return release(), refuse(device, -1, "bad magic (expected \"KILNFS1\\0\")");
    if (get32(sb + 8) != 1)
        return release(), refuse(device, -1, "version is not 1");
    unsigned long long count = get32(sb + 12), inode_off = get64(sb + 16), names_off = get64(sb + 24),
                       names_size = get64(sb + 32), image_size = get64(sb + 40);
    unsigned stored_crc = get32(sb + 48);
    if (get32(sb + 52) != 0 || get64(sb + 56) != 0)
        return release(), refuse(device, -1, "the reserved superblock fields are not zero");
    if (image_size % SECTOR != 0 || image_size > MAX_IMAGE || image_size > fs.dev.capacity || image_size < SECTOR)
        return release(), refuse(device, -1, "image_size is not a multiple of 512 inside the device and 4 GiB");
    if (count < 1 || count > MAX_INODES)
        return release(), refuse(device, -1, "inode_count is not in 1..1000000");
    if (inode_off < SUPERBLOCK_SIZE || inode_off % SECTOR != 0 || inode_off > image_size
        || count * INODE_SIZE > image_size - inode_off)
        return release(), refuse(device, -1, "the inode table is not a 512-aligned range inside the image");
    unsigned long long table_end = inode_off + count * INODE_SIZE;
    if (names_off < table_end || names_off > image_size || names_size > image_size - names_off)
        return release(), refuse(device, -1, "the names area is not between the inode table and the end of the image");
    if (names_size > count * ROOTFS_NAME_MAX)
        return release(), refuse(device, -1, "names_size is more than the inodes' names can use");
    fs.inodes = malloc(count * INODE_SIZE);
    fs.names = malloc(names_size ? names_size : 1);
    if (!fs.inodes || !fs.names)
        return release(), -ROOTFS_ENOMEM;
    if (dev_read(inode_off, fs.inodes, count * INODE_SIZE) != 0 || dev_read(names_off, fs.names, names_size) != 0)
        return release(), -ROOTFS_EIO;
    sb[48] = sb[49] = sb[50] = sb[51] = 0;
    unsigned crc = crc32_update(0, sb, sizeof sb);
    crc = crc32_update(crc, fs.inodes, count * INODE_SIZE);
    crc = crc32_update(crc, fs.names, names_size);
    if (crc != stored_crc)
        return release(), refuse(device, -1, "header CRC mismatch: the superblock, inode table or names are damaged");
    fs.count = (unsigned)count;
    fs.names_size = names_size;
    fs.image_size = image_size;
    int rc = check_inodes(device);
    if (rc != 0)
        return release(), rc;
    /* file contents must also start after the names (6.3): checked here, where names_end is known */
    for (unsigned i = 0; i < fs.count; i++)
        if (!is_dir(i) && size_of(i) != 0 && data_of(i) < names_off + names_size)
            return release(), refuse(device, i, "its contents overlap the superblock, inode table or names");
    fs.mounted = 1;
    return 0;
}

int rootfs_mounted(void)
{
    return fs.mounted;
}

/* -ENODEV when nothing is mounted, -EINVAL for a number that is no inode, else 0. */
static int valid(int ino)
{
    if (!fs.mounted)
        return -ROOTFS_ENODEV;
    return ino >= 0 && (unsigned)ino < fs.count ? 0 : -ROOTFS_EINVAL;
}

int rootfs_lookup_at(int dir_ino, const char *name, unsigned name_len, int *ino)
{
    int rc = valid(dir_ino);
    if (rc)
        return rc;
    unsigned d = (unsigned)dir_ino;
    if (!is_dir(d))
        return -ROOTFS_ENOTDIR;
    if (name_len > ROOTFS_NAME_MAX)
        return -ROOTFS_ENAMETOOLONG;
    if (name_len == 0)
        return -ROOTFS_ENOENT;
    if (name[0] == '.' && (name_len == 1 || (name_len == 2 && name[1] == '.'))) {
        *ino = name_len == 1 ? dir_ino : (int)parent_of(d);
        return 0;
    }
    /* children are consecutive and sorted (6.2): a binary search */
    unsigned long long lo = data_of(d), hi = lo + size_of(d);
    while (lo < hi) {
        unsigned long long mid = lo + (hi - lo) / 2;
        int c = compare(name_of((unsigned)mid), name_len_of((unsigned)mid), (const unsigned char *)name, name_len);
        if (c == 0) {
            *ino = (int)mid;
            return 0;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -ROOTFS_ENOENT;
}

int rootfs_lookup(const char *path, int *ino)
{
    if (!fs.mounted)
        return -ROOTFS_ENODEV;
    if (!path || !path[0])
        return -ROOTFS_ENOENT; /* as Linux: an empty path names nothing */
    unsigned long total = 0;
    while (path[total])
        if (++total > ROOTFS_PATH_MAX)
            return -ROOTFS_ENAMETOOLONG;
    int cur = 0, trailing_slash = 0;
    const char *p = path;
    while (*p) {
        if (*p == '/') {
            p++;
            trailing_slash = 1;
            continue;
        }
        unsigned len = 0;
        while (p[len] && p[len] != '/')
            len++;
        if (len > ROOTFS_NAME_MAX)
            return -ROOTFS_ENAMETOOLONG;
        /* a file followed by more of the path ("f/x", "f/.", "f/..") is ENOTDIR, as on Linux */
        int rc = rootfs_lookup_at(cur, p, len, &cur);
        if (rc)
            return rc;
        p += len;
        trailing_slash = 0;
    }
    if (trailing_slash && !is_dir((unsigned)cur))
        return -ROOTFS_ENOTDIR;
    *ino = cur;
    return 0;
}

int rootfs_stat(int ino, struct rootfs_stat *st)
{
    int rc = valid(ino);
    if (rc)
        return rc;
    unsigned i = (unsigned)ino;
    st->mode = mode_of(i);
    st->ino = i;
    st->size = size_of(i);
    st->mtime = get64(inode(i) + I_MTIME);
    st->nlink = 1;
    if (is_dir(i)) {
        st->nlink = 2;
        for (unsigned long long c = data_of(i); c < data_of(i) + size_of(i); c++)
            st->nlink += (unsigned)is_dir((unsigned)c);
    }
    return 0;
}

long rootfs_read(int ino, unsigned long long off, void *buf, unsigned long len)
{
    int rc = valid(ino);
    if (rc)
        return rc;
    unsigned i = (unsigned)ino;
    if (is_dir(i))
        return -ROOTFS_EISDIR;
    unsigned long long size = size_of(i);
    if (off >= size || len == 0)
        return 0;
    unsigned long long n = size - off;
    if (n > len)
        n = len;
    if (n > 0x7fffffffffffffffull)
        n = 0x7fffffffffffffffull; /* the count must fit the long returned */
    /* data + size <= image_size <= capacity (checked at mount), so the range is on the device */
    if (dev_read(data_of(i) + off, buf, n) != 0)
        return -ROOTFS_EIO;
    return (long)n;
}

int rootfs_readdir(int dir_ino, unsigned long index, int *child_ino, const char **name, unsigned *name_len)
{
    int rc = valid(dir_ino);
    if (rc)
        return rc;
    unsigned d = (unsigned)dir_ino;
    if (!is_dir(d))
        return -ROOTFS_ENOTDIR;
    if (index >= size_of(d))
        return 0;
    unsigned c = (unsigned)(data_of(d) + index);
    *child_ino = (int)c;
    *name = (const char *)name_of(c);
    *name_len = name_len_of(c);
    return 1;
}

int rootfs_parent(int ino)
{
    int rc = valid(ino);
    if (rc)
        return rc;
    return (int)parent_of((unsigned)ino);
}
