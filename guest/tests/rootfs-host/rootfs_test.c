/*
 * guest/lib/rootfs on the host, over a block device in memory, under ASan and UBSan:
 *   1. the API on an image `kiln pack` made from the tree run.sh wrote (contents, lookups,
 *      errors), with 512- and 4096-byte device blocks, so reads cross block edges both ways;
 *   2. a fuzz: damaged copies of the image (random bytes, with the CRC made right again half the
 *      time so that the structural checks are what is tested), truncated devices; mount must
 *      refuse or succeed, and after a success every call on every inode must stay inside what
 *      was loaded and inside the device (the sanitizers and the fake device's checks say so).
 * usage: rootfs_test IMAGE [ITERATIONS] [SEED]; the last line is "N passed, M failed".
 */
#include <kiln/rootfs.h>
#include <kiln/hvt_abi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *disk;
static unsigned long long disk_size, capacity;
static unsigned block_size = 512;
static int device_attached = 1, console_lines, device_faults;
static int passed, failed;

/* --- the platform, faked ---------------------------------------------------------------- */
int plat_device_find(const char *name, unsigned type)
{
    return device_attached && type == MFT_DEV_BLOCK_BASIC && strcmp(name, "rootfs") == 0 ? 1 : -1;
}

int plat_block_info(int handle, unsigned long long *cap, unsigned *bs)
{
    if (handle != 1)
        return HVT_EINVAL;
    *cap = capacity;
    *bs = block_size;
    return HVT_OK;
}

/* The monitor's rules (hvt spec 5): one whole block at an aligned offset inside the capacity. */
int plat_block_read(int handle, unsigned long long off, void *buf, unsigned long len)
{
    if (handle != 1 || len != block_size || off % block_size || off >= capacity || len > capacity - off) {
        device_faults++;
        return HVT_EINVAL;
    }
    memcpy(buf, disk + off, len);
    return HVT_OK;
}

int plat_block_write(int handle, unsigned long long off, const void *buf, unsigned long len)
{
    (void)handle, (void)off, (void)buf, (void)len;
    return HVT_EINVAL;
}

int plat_block_flush(int handle)
{
    (void)handle;
    return 0;
}

void plat_console_write(const char *buf, unsigned long len)
{
    if (getenv("ROOTFS_TEST_VERBOSE"))
        fwrite(buf, 1, len, stdout);
    console_lines++;
}

/* --- checks ------------------------------------------------------------------------------ */
static void check(const char *what, long long got, long long want)
{
    if (got == want) {
        passed++;
    } else {
        failed++;
        printf("FAIL %s: got %lld, want %lld (block size %u)\n", what, got, want, block_size);
    }
}

static void use(unsigned char *image, unsigned long long size, unsigned long long cap)
{
    disk = image;
    disk_size = size;
    capacity = cap - cap % block_size;
}

/* The tree run.sh writes: /hello.txt, /lib/data.bin (byte i = i * 131 + 7), /lib/empty, /empty-dir. */
static void api(void)
{
    int ino = -1, dir = -1, file = -1, child;
    struct rootfs_stat st;
    const char *name;
    unsigned nlen;
    char buf[8192];
    check("mount", rootfs_mount("rootfs"), 0);
    check("mounted", rootfs_mounted(), 1);
    check("lookup /hello.txt", rootfs_lookup("/hello.txt", &file), 0);
    check("read hello", rootfs_read(file, 0, buf, sizeof buf), 14);
    check("hello bytes", memcmp(buf, "hello, rootfs\n", 14), 0);
    check("lookup lib", rootfs_lookup("lib//", &dir), 0);
    check("lookup data.bin", rootfs_lookup("/empty-dir/../lib/./data.bin", &ino), 0);
    check("stat data.bin", rootfs_stat(ino, &st), 0);
    check("data.bin size", (long long)st.size, 70001);
    check("data.bin mode", st.mode, 0100640);
    check("data.bin parent", rootfs_parent(ino), dir);
    /* every alignment: reads of 1..600 bytes starting at every offset of a range that crosses blocks */
    int wrong = 0;
    for (unsigned long long off = 4000; off < 4200; off += 3)
        for (unsigned long len = 1; len < 5000; len += 499) {
            long n = rootfs_read(ino, off, buf, len);
            if (n != (long)len) {
                wrong++;
                continue;
            }
            for (long k = 0; k < n; k++)
                wrong += buf[k] != (char)((off + k) * 131 + 7);
        }
    check("unaligned reads", wrong, 0);
    check("read the tail", rootfs_read(ino, 70000, buf, 10), 1);
    check("the tail byte", (unsigned char)buf[0], (unsigned char)(70000 * 131 + 7));
    check("read at the end", rootfs_read(ino, 70001, buf, 10), 0);
    check("read far past the end", rootfs_read(ino, ~0ull, buf, 10), 0);
    check("read a dir", rootfs_read(dir, 0, buf, 1), -ROOTFS_EISDIR);
    check("lookup empty", rootfs_lookup("/lib/empty", &ino), 0);
    check("read empty", rootfs_read(ino, 0, buf, 10), 0);
    check("readdir lib 0", rootfs_readdir(dir, 0, &child, &name, &nlen), 1);
    check("readdir lib 0 name", nlen == 8 && memcmp(name, "data.bin", 8) == 0, 1);
    check("readdir lib 1", rootfs_readdir(dir, 1, &child, &name, &nlen), 1);
    check("readdir lib 1 is empty", child, ino);
    check("readdir lib 2", rootfs_readdir(dir, 2, &child, &name, &nlen), 0);
    check("readdir a file", rootfs_readdir(ino, 0, &child, &name, &nlen), -ROOTFS_ENOTDIR);
    check("stat lib nlink", (rootfs_stat(dir, &st), st.nlink), 2);
    check("stat root nlink", (rootfs_stat(0, &st), st.nlink), 4);
    check("lookup missing", rootfs_lookup("/lib/nope", &ino), -ROOTFS_ENOENT);
    check("lookup through a file", rootfs_lookup("/hello.txt/x", &ino), -ROOTFS_ENOTDIR);
    check("lookup file/", rootfs_lookup("/hello.txt/", &ino), -ROOTFS_ENOTDIR);
    check("lookup ..", rootfs_lookup("/../..", &ino), 0);
    check("lookup .. is root", ino, 0);
    check("lookup_at ..", rootfs_lookup_at(dir, "..", 2, &ino), 0);
    check("lookup_at .. is root", ino, 0);
    check("lookup_at a file", rootfs_lookup_at(file, "a", 1, &ino), -ROOTFS_ENOTDIR);
    check("lookup_at prefix", rootfs_lookup_at(0, "li", 2, &ino), -ROOTFS_ENOENT);
    check("lookup_at longer", rootfs_lookup_at(0, "libs", 4, &ino), -ROOTFS_ENOENT);
    memset(buf, 'a', 300);
    buf[300] = 0;
    check("a long component", rootfs_lookup(buf, &ino), -ROOTFS_ENAMETOOLONG);
    static char longpath[5000];
    for (int k = 0; k < 4998; k += 2)
        longpath[k] = '.', longpath[k + 1] = '/';
    check("a long path", rootfs_lookup(longpath, &ino), -ROOTFS_ENAMETOOLONG);
    check("stat -1", rootfs_stat(-1, &st), -ROOTFS_EINVAL);
    check("stat past the table", rootfs_stat(1 << 30, &st), -ROOTFS_EINVAL);
    check("parent -5", rootfs_parent(-5), -ROOTFS_EINVAL);
    check("device faults", device_faults, 0);
    device_attached = 0;
    check("no device", rootfs_mount("rootfs"), -ROOTFS_ENODEV);
    check("nothing mounted", rootfs_mounted(), 0);
    check("lookup unmounted", rootfs_lookup("/", &ino), -ROOTFS_ENODEV);
    device_attached = 1;
}

static unsigned crc32(const unsigned char *p, unsigned long long n, unsigned crc)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = crc & 1 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
    }
    return ~crc;
}

static unsigned long long le64(const unsigned char *p)
{
    unsigned long long v = 0;
    for (int k = 7; k >= 0; k--)
        v = v << 8 | p[k];
    return v;
}

static void fix_crc(unsigned char *img, unsigned long long size)
{
    unsigned long long table = le64(img + 16), names = le64(img + 24), names_size = le64(img + 32);
    if (table > size || names > size || names_size > size - names || names + names_size < table)
        return;
    memset(img + 48, 0, 4);
    unsigned crc = crc32(img, 64, 0);
    crc = crc32(img + table, names + names_size - table, crc);
    memcpy(img + 48, &crc, 4);
}

/* After a successful mount of damaged bytes: touch everything through the API. */
static void walk_everything(void)
{
    static char buf[70000];
    struct rootfs_stat st;
    for (int ino = 0; rootfs_stat(ino, &st) == 0; ino++) {
        int child;
        const char *name;
        unsigned nlen;
        for (unsigned long i = 0; rootfs_readdir(ino, i, &child, &name, &nlen) == 1; i++) {
            int again;
            volatile char first = nlen ? name[0] : 0, last = nlen ? name[nlen - 1] : 0;
            (void)first, (void)last;
            rootfs_lookup_at(ino, name, nlen, &again);
        }
        for (unsigned long long off = 0; off < st.size && off < 200000; off += 7777)
            rootfs_read(ino, off, buf, sizeof buf);
        for (int p = ino, steps = 0; p != 0 && steps < 2000000; steps++)
            p = rootfs_parent(p);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: rootfs_test IMAGE [ITERATIONS] [SEED]\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f)
        return perror(argv[1]), 2;
    static unsigned char image[1 << 20];
    unsigned long long size = fread(image, 1, sizeof image, f);
    fclose(f);
    long iterations = argc > 2 ? atol(argv[2]) : 20000;
    srand(argc > 3 ? (unsigned)atol(argv[3]) : 1);

    for (unsigned bs = 512; bs <= 4096; bs *= 8) {
        block_size = bs;
        use(image, size, size + (bs - size % bs) % bs); /* a device rounded up to whole blocks: */
        static unsigned char padded[(1 << 20) + 4096];
        memcpy(padded, image, size);
        memset(padded + size, 0, sizeof padded - size);
        use(padded, size, size + (bs - size % bs) % bs);
        api();
    }

    block_size = 512;
    static unsigned char damaged[1 << 20];
    unsigned long long header_end = le64(image + 24) + le64(image + 32);
    long mounted = 0, refused = 0;
    console_lines = 0;
    for (long it = 0; it < iterations; it++) {
        memcpy(damaged, image, size);
        int flips = 1 + rand() % 4;
        for (int k = 0; k < flips; k++) {
            unsigned long long at = rand() % 8 ? rand() % header_end : rand() % size;
            damaged[at] = rand() % 3 ? (unsigned char)rand() : damaged[at] ^ (unsigned char)(1 << (rand() % 8));
        }
        if (rand() % 2)
            fix_crc(damaged, size);
        unsigned long long cap = rand() % 16 ? size : (unsigned long long)(rand() % (size + 1));
        use(damaged, size, cap);
        int before = console_lines;
        int rc = rootfs_mount("rootfs");
        if (rc == 0) {
            mounted++;
            walk_everything();
        } else {
            refused++;
            if (rc != -ROOTFS_EINVAL && rc != -ROOTFS_ENOMEM && rc != -ROOTFS_EIO)
                check("a refusal's errno", rc, -ROOTFS_EINVAL);
            if (rc == -ROOTFS_EINVAL && console_lines - before != 1)
                check("one console line per refusal", console_lines - before, 1);
        }
    }
    printf("fuzz: %ld damaged images, %ld mounted, %ld refused\n", iterations, mounted, refused);
    check("fuzz refused some", refused > 0, 1);
    check("device faults in the fuzz", device_faults, 0);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
