/*
 * Memory calls: brk, mmap, munmap, mremap, mprotect, madvise.
 *
 * Guest RAM between the image's end and the stack reserve (posix-core's
 * POSIX_STACK_SIZE) is one region: brk grows up from its bottom, mappings
 * are carved down from its top, and the two may not meet.  Freed mappings go
 * to a sorted list of disjoint free extents (merged with their neighbours;
 * one touching the mapping frontier moves the frontier back up).  Linux
 * hands out zeroed pages: memory never used since boot is zero already (the
 * monitor zero-fills RAM), memory used before is cleared when handed out
 * again.  All RAM is read/write and, under the monitor's W^X page tables,
 * not executable: PROT_EXEC is refused.
 */
#define _GNU_SOURCE /* MREMAP_MAYMOVE */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <kiln/hvt_abi.h>
#include <kiln/platform.h>
#include <kiln/posix.h>

#ifndef CONFIG_POSIX_STACK_SIZE
#define CONFIG_POSIX_STACK_SIZE (1024 * 1024)
#endif
#define PAGE 4096ul
#define MAX_EXTENTS 1024

struct extent {
    unsigned long lo, hi;
};

static struct {
    int ready;
    unsigned long lo, hi;          /* the region */
    unsigned long brk;             /* current break */
    unsigned long brk_dirty;       /* highest break ever: above it, zero */
    unsigned long frontier;        /* lowest mapped address (mappings live in [frontier, hi)) */
    unsigned long frontier_dirty;  /* lowest frontier ever: below it, zero */
    struct extent free[MAX_EXTENTS];
    int nfree;
} mm;

static unsigned long page_up(unsigned long v)
{
    return (v + PAGE - 1) & ~(PAGE - 1);
}

static void mm_init(void)
{
    if (mm.ready)
        return;
    const struct hvt_boot_info *bi = plat_boot_info();
    unsigned long top = bi->mem_size > CONFIG_POSIX_STACK_SIZE ? bi->mem_size - CONFIG_POSIX_STACK_SIZE : 0;
    mm.lo = page_up(bi->kernel_end);
    mm.hi = top & ~(PAGE - 1);
    if (mm.hi < mm.lo)
        mm.hi = mm.lo;
    mm.brk = mm.brk_dirty = mm.lo;
    mm.frontier = mm.frontier_dirty = mm.hi;
    mm.ready = 1;
}

/* Zeroes what in [lo, hi) was handed out before: what lies under the highest break
 * ever or at or above the lowest mapping frontier ever (see the file comment). */
static void clear_reused(unsigned long lo, unsigned long hi)
{
    unsigned long a = lo, b = hi < mm.brk_dirty ? hi : mm.brk_dirty;
    if (a < b)
        memset((void *)a, 0, b - a);
    a = lo > mm.frontier_dirty ? lo : mm.frontier_dirty;
    if (a < hi)
        memset((void *)a, 0, hi - a);
}

static void free_insert(unsigned long lo, unsigned long hi)
{
    /* union [lo, hi) into the sorted disjoint list */
    int i = 0;
    while (i < mm.nfree && mm.free[i].hi < lo)
        i++;
    int j = i;
    while (j < mm.nfree && mm.free[j].lo <= hi) {
        if (mm.free[j].lo < lo)
            lo = mm.free[j].lo;
        if (mm.free[j].hi > hi)
            hi = mm.free[j].hi;
        j++;
    }
    /* extents i..j-1 are merged into [lo, hi) */
    if (j == i) {
        if (mm.nfree == MAX_EXTENTS) {
            /* full: the range is lost to reuse until a neighbour frees (never wrong, only wasteful) */
            kiln_posix_say("kiln: posix: too many free extents; a freed mapping is not reused\n");
            return;
        }
        memmove(&mm.free[i + 1], &mm.free[i], (mm.nfree - i) * sizeof mm.free[0]);
        mm.nfree++;
    } else if (j > i + 1) {
        memmove(&mm.free[i + 1], &mm.free[j], (mm.nfree - j) * sizeof mm.free[0]);
        mm.nfree -= j - i - 1;
    }
    mm.free[i].lo = lo;
    mm.free[i].hi = hi;
    /* an extent starting at the frontier gives its pages back to the frontier */
    if (mm.nfree && mm.free[0].lo <= mm.frontier) {
        mm.frontier = mm.free[0].hi;
        memmove(&mm.free[0], &mm.free[1], (mm.nfree - 1) * sizeof mm.free[0]);
        mm.nfree--;
    }
}

/* Takes len bytes (page multiple) from the free list or the frontier; 0 when out of memory. */
static unsigned long take(unsigned long len)
{
    for (int i = mm.nfree - 1; i >= 0; i--) {
        struct extent *e = &mm.free[i];
        if (e->hi - e->lo >= len) {
            unsigned long at = e->hi - len;
            e->hi = at;
            if (e->hi == e->lo) {
                memmove(e, e + 1, (mm.nfree - i - 1) * sizeof *e);
                mm.nfree--;
            }
            clear_reused(at, at + len);
            return at;
        }
    }
    if (mm.frontier - mm.brk < len || mm.frontier - len < mm.brk)
        return 0;
    mm.frontier -= len;
    unsigned long at = mm.frontier;
    clear_reused(at, at + len);
    if (at < mm.frontier_dirty)
        mm.frontier_dirty = at;
    return at;
}

/* True when [lo, hi) lies in the mapping area and none of it is free. */
static int mapped(unsigned long lo, unsigned long hi)
{
    if (lo < mm.frontier || hi > mm.hi || lo >= hi)
        return 0;
    for (int i = 0; i < mm.nfree; i++)
        if (mm.free[i].lo < hi && lo < mm.free[i].hi)
            return 0;
    return 1;
}

/* posix-vfs reads a file into a private mapping; absent, file mappings are refused. */
__attribute__((weak)) long kiln_posix_pread(int fd, void *buf, unsigned long len, long off);

KILN_SYSCALL1(brk, unsigned long, want)
{
    mm_init();
    if (want == 0 || want < mm.lo)
        return (long)mm.brk;
    unsigned long need = page_up(want);
    if (need > mm.frontier)
        return (long)mm.brk; /* Linux reports failure by returning the old break */
    if (want > mm.brk) {
        unsigned long from = mm.brk, to = want < mm.brk_dirty ? want : mm.brk_dirty;
        if (from < to)
            memset((void *)from, 0, to - from);
    }
    mm.brk = want;
    if (need > mm.brk_dirty)
        mm.brk_dirty = need;
    return (long)want;
}

KILN_SYSCALL6(mmap, unsigned long, addr, unsigned long, len, int, prot, int, flags, int, fd, long, off)
{
    mm_init();
    if (len == 0 || len > mm.hi - mm.lo)
        return len ? -ENOMEM : -EINVAL;
    if (prot & PROT_EXEC)
        return -EACCES; /* W^X: guest RAM outside the image's text is never executable */
    int type = flags & MAP_TYPE;
    if (type != MAP_PRIVATE && type != MAP_SHARED)
        return -EINVAL;
    if (off & (PAGE - 1))
        return -EINVAL;
    unsigned long size = page_up(len);
    int anon = (flags & MAP_ANONYMOUS) != 0;
    if (!anon) {
        if (type == MAP_SHARED && (prot & PROT_WRITE))
            return -ENODEV; /* no page cache to share writes through */
        if (!kiln_posix_pread)
            return -ENODEV;
    }
    unsigned long at;
    if (flags & MAP_FIXED) {
        /* Only over what this process already mapped: replacing it is what MAP_FIXED means. */
        if (addr & (PAGE - 1))
            return -EINVAL;
        if (!mapped(addr, addr + size))
            return -ENOMEM;
        memset((void *)addr, 0, size);
        at = addr;
    } else {
        at = take(size);
        if (!at)
            return -ENOMEM;
    }
    if (!anon) {
        long r = kiln_posix_pread(fd, (void *)at, len, off);
        if (r < 0) {
            if (!(flags & MAP_FIXED))
                free_insert(at, at + size);
            return r;
        }
    }
    return (long)at;
}

KILN_SYSCALL2(munmap, unsigned long, addr, unsigned long, len)
{
    mm_init();
    if ((addr & (PAGE - 1)) || len == 0)
        return -EINVAL;
    unsigned long lo = addr, hi = addr + page_up(len);
    if (hi < lo)
        return -EINVAL;
    /* Outside the mapping area nothing is unmapped (Linux allows that). */
    if (lo < mm.frontier)
        lo = mm.frontier;
    if (hi > mm.hi)
        hi = mm.hi;
    if (lo < hi)
        free_insert(lo, hi);
    return 0;
}

KILN_SYSCALL5(mremap, unsigned long, old, unsigned long, old_len, unsigned long, new_len, int, flags, unsigned long, new_addr)
{
    (void)new_addr;
    mm_init();
    if ((old & (PAGE - 1)) || new_len == 0 || (flags & ~MREMAP_MAYMOVE))
        return -EINVAL;
    unsigned long os = page_up(old_len), ns = page_up(new_len);
    if (!mapped(old, old + os))
        return -EFAULT;
    if (ns <= os) {
        if (ns < os)
            free_insert(old + ns, old + os);
        return (long)old;
    }
    if (!(flags & MREMAP_MAYMOVE))
        return -ENOMEM;
    unsigned long at = take(ns);
    if (!at)
        return -ENOMEM;
    memcpy((void *)at, (void *)old, os);
    free_insert(old, old + os);
    return (long)at;
}

KILN_SYSCALL3(mprotect, unsigned long, addr, unsigned long, len, int, prot)
{
    if (addr & (PAGE - 1))
        return -EINVAL;
    (void)len;
    if (prot & PROT_EXEC)
        return -EACCES;
    /* Protection changes are recorded nowhere: RAM stays read/write (a guard page
     * made PROT_NONE still reads; programs do not rely on the fault). */
    return 0;
}

KILN_SYSCALL3(madvise, unsigned long, addr, unsigned long, len, int, advice)
{
    if (addr & (PAGE - 1))
        return -EINVAL;
    if (advice == MADV_DONTNEED && mapped(addr, addr + page_up(len)))
        memset((void *)addr, 0, page_up(len)); /* anonymous memory reads back as zero */
    return 0;
}
