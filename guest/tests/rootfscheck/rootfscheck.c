/*
 * rootfscheck MODE [ARGS]: drives the rootfs library (docs/kiln-abi.md 6) on the device 'rootfs'.
 *   tree          mounts, then one line per inode, depth first in name order:
 *                   d PATH mode=OCTAL nlink=N entries=N
 *                   f PATH mode=OCTAL size=N mtime=N fnv=HEX   (FNV-1a 64 of the contents)
 *                 every file is read in pieces of odd sizes at unaligned offsets and again whole,
 *                 and every path is looked up again; a disagreement prints "MISMATCH ...".
 *   lookup P...   "P -> INO" or "P -> -ERRNO" for each path
 *   errors        the API's error returns on the test tree (/hello.txt, /lib): "errors ok"
 *   write         a BLOCK_WRITE to the rootfs device: "write refused" (read-only) or "write accepted"
 *   mount         "mount=RC" (a refused image also prints the reason)
 */
#include <kiln/rootfs.h>
#include <kiln/block.h>
#include <kiln/alloc.h>
#include <kiln/platform.h>
#include <kiln/fmt.h>
#include <kiln/testkit.h>

static char line[4096 + 256];
static char path[4096 + 256];
static unsigned char piece[16384];
static int mismatches;

static void out(struct fmt_buf *b)
{
    fmt_putc(b, '\n');
    plat_console_write(b->p, b->len);
}

static void mismatch(const char *what, const char *p, long long v)
{
    struct fmt_buf b;
    fmt_init(&b, line, sizeof line);
    fmt_puts(&b, "MISMATCH ");
    fmt_puts(&b, what);
    fmt_putc(&b, ' ');
    fmt_puts(&b, p);
    fmt_puts(&b, " ");
    fmt_puti(&b, v);
    out(&b);
    mismatches++;
}

static unsigned long long fnv(unsigned long long h, const unsigned char *p, unsigned long n)
{
    for (unsigned long i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static void put_octal(struct fmt_buf *b, unsigned v)
{
    char d[12];
    int i = sizeof d;
    do {
        d[--i] = (char)('0' + (v & 7));
        v >>= 3;
    } while (v);
    fmt_putn(b, d + i, sizeof d - i);
}

/* The contents' hash, read in pieces whose sizes cycle through block-boundary neighbours so that
 * every alignment case of the library's reads is crossed; then checked against one whole read. */
static unsigned long long hash_file(int ino, unsigned long long size)
{
    static const unsigned long sizes[] = {1, 7, 500, 511, 512, 513, 4095, 4096, 4097, 10000, 3};
    unsigned long long h = 0xcbf29ce484222325ull, off = 0;
    for (unsigned k = 0; off < size; k++) {
        unsigned long want = sizes[k % (sizeof sizes / sizeof sizes[0])];
        long n = rootfs_read(ino, off, piece, want);
        unsigned long long expect = size - off < want ? size - off : want;
        if (n < 0 || (unsigned long long)n != expect) {
            mismatch("piece", path, n);
            return 0;
        }
        h = fnv(h, piece, (unsigned long)n);
        off += (unsigned long long)n;
    }
    if (rootfs_read(ino, size, piece, 10) != 0 || rootfs_read(ino, size + 1000, piece, 10) != 0)
        mismatch("read past the end", path, 0);
    unsigned char *whole = malloc(size ? size : 1);
    if (whole) {
        long n = rootfs_read(ino, 0, whole, (unsigned long)size + 100);
        if (n != (long)size || fnv(0xcbf29ce484222325ull, whole, (unsigned long)size) != h)
            mismatch("whole read", path, n);
        free(whole);
    }
    return h;
}

static void walk(int dir, unsigned long plen)
{
    struct rootfs_stat st;
    struct fmt_buf b;
    fmt_init(&b, line, sizeof line);
    rootfs_stat(dir, &st);
    fmt_puts(&b, "d ");
    fmt_putn(&b, plen ? path : "/", plen ? plen : 1);
    fmt_puts(&b, " mode=");
    put_octal(&b, st.mode);
    fmt_puts(&b, " nlink=");
    fmt_putu(&b, st.nlink);
    fmt_puts(&b, " entries=");
    fmt_putu(&b, st.size);
    out(&b);
    int child;
    const char *name;
    unsigned nlen;
    for (unsigned long i = 0; rootfs_readdir(dir, i, &child, &name, &nlen) == 1; i++) {
        unsigned long l = plen;
        path[l++] = '/';
        for (unsigned k = 0; k < nlen && l < 4096; k++)
            path[l++] = name[k];
        path[l] = 0;
        int again = -1;
        if (rootfs_lookup(path, &again) != 0 || again != child)
            mismatch("lookup", path, again);
        if (rootfs_parent(child) != dir)
            mismatch("parent", path, rootfs_parent(child));
        rootfs_stat(child, &st);
        if ((st.mode & ROOTFS_S_IFMT) == ROOTFS_S_IFDIR) {
            walk(child, l);
        } else {
            unsigned long long h = hash_file(child, st.size);
            fmt_init(&b, line, sizeof line);
            fmt_puts(&b, "f ");
            fmt_putn(&b, path, l);
            fmt_puts(&b, " mode=");
            put_octal(&b, st.mode);
            fmt_puts(&b, " size=");
            fmt_putu(&b, st.size);
            fmt_puts(&b, " mtime=");
            fmt_putu(&b, st.mtime);
            fmt_puts(&b, " fnv=");
            fmt_putx(&b, h);
            out(&b);
        }
        path[plen] = 0;
    }
}

static int errors(void)
{
    int bad = 0, file = -1, dir = -1, ino;
    struct rootfs_stat st;
    const char *name;
    unsigned nlen;
    static char longname[300];
    tk_expect("lookup /hello.txt", rootfs_lookup("/hello.txt", &file), 0, &bad);
    tk_expect("lookup lib", rootfs_lookup("lib", &dir), 0, &bad);
    tk_expect("read a directory", (int)rootfs_read(dir, 0, piece, 10), -ROOTFS_EISDIR, &bad);
    tk_expect("readdir a file", rootfs_readdir(file, 0, &ino, &name, &nlen), -ROOTFS_ENOTDIR, &bad);
    tk_expect("lookup_at a file", rootfs_lookup_at(file, "x", 1, &ino), -ROOTFS_ENOTDIR, &bad);
    tk_expect("lookup_at no name", rootfs_lookup_at(dir, "nope", 4, &ino), -ROOTFS_ENOENT, &bad);
    tk_expect("stat -1", rootfs_stat(-1, &st), -ROOTFS_EINVAL, &bad);
    tk_expect("stat 1000000", rootfs_stat(1000000, &st), -ROOTFS_EINVAL, &bad);
    tk_expect("read -1", (int)rootfs_read(-1, 0, piece, 1), -ROOTFS_EINVAL, &bad);
    tk_expect("parent 1000000", rootfs_parent(1000000), -ROOTFS_EINVAL, &bad);
    tk_expect("parent of root", rootfs_parent(0), 0, &bad);
    tk_expect("lookup empty", rootfs_lookup("", &ino), -ROOTFS_ENOENT, &bad);
    for (int i = 0; i < 256; i++)
        longname[i] = 'a';
    tk_expect("lookup a 256-byte name", rootfs_lookup(longname, &ino), -ROOTFS_ENAMETOOLONG, &bad);
    tk_expect("lookup_at a 256-byte name", rootfs_lookup_at(0, longname, 256, &ino), -ROOTFS_ENAMETOOLONG, &bad);
    tk_expect("lookup_at ..", rootfs_lookup_at(dir, "..", 2, &ino), 0, &bad);
    tk_expect("lookup_at .. is the root", ino, 0, &bad);
    tk_expect("read 0 bytes", (int)rootfs_read(file, 0, piece, 0), 0, &bad);
    tk_expect("read at an odd offset", (int)rootfs_read(file, 7, piece, 3), 3, &bad);
    tk_expect("its bytes", piece[0] == 'r' && piece[1] == 'o' && piece[2] == 'o', 1, &bad);
    tk_expect("stat file nlink", (rootfs_stat(file, &st), (int)st.nlink), 1, &bad);
    return bad;
}

int main(const char *cmdline)
{
    const char *p = cmdline;
    struct fmt_buf b;
    fmt_init(&b, line, sizeof line);
    if (tk_word(&p, "write")) {
        struct blk dev;
        if (blk_open("rootfs", &dev) != 0) {
            tk_say("no block device 'rootfs'\n");
            return 1;
        }
        for (unsigned i = 0; i < sizeof piece; i++)
            piece[i] = 0xee;
        tk_say(blk_write(&dev, 0, piece, 1) == 0 ? "write accepted\n" : "write refused\n");
        return 0;
    }
    int rc = rootfs_mount("rootfs");
    if (tk_word(&p, "mount")) {
        fmt_puts(&b, "mount=");
        fmt_puti(&b, rc);
        out(&b);
        return rc == 0 ? 0 : 1;
    }
    if (rc != 0 || !rootfs_mounted()) {
        fmt_puts(&b, "mount failed: ");
        fmt_puti(&b, rc);
        out(&b);
        return 1;
    }
    if (tk_word(&p, "tree")) {
        walk(0, 0);
        return mismatches ? 1 : 0;
    }
    if (tk_word(&p, "errors")) {
        if (errors())
            return 1;
        tk_say("errors ok\n");
        return 0;
    }
    if (tk_word(&p, "lookup")) {
        while (*p) {
            unsigned long n = 0;
            while (p[n] && p[n] != ' ')
                n++;
            if (n >= sizeof path)
                n = sizeof path - 1;
            for (unsigned long k = 0; k < n; k++)
                path[k] = p[k];
            path[n] = 0;
            int ino = -1;
            int r = rootfs_lookup(path, &ino);
            fmt_init(&b, line, sizeof line);
            fmt_puts(&b, path);
            fmt_puts(&b, " -> ");
            fmt_puti(&b, r == 0 ? ino : r);
            out(&b);
            p += n;
            while (*p == ' ')
                p++;
        }
        return 0;
    }
    tk_say("usage: rootfscheck tree|lookup PATH...|errors|write|mount\n");
    return 2;
}
