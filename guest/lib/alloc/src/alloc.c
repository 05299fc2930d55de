/*
 * Kiln heap allocator: TLSF (two-level segregated fit), see <kiln/alloc.h>.
 *
 * Block layout.  A block is a 16-byte multiple of bytes starting at its
 * 8-byte header, so that the payload right after the header is 16-byte
 * aligned:
 *
 *     used block:  [hdr: size|flags][payload ..................... ]
 *     free block:  [hdr: size|flags][next_free][prev_free] ... [size]
 *                                                          footer ^
 *
 * hdr holds the block size (a multiple of 16, header included) and two flag
 * bits: F_FREE (this block is free) and F_PREV_FREE (the block just before
 * it in memory is free).  Only free blocks carry a footer (a copy of the
 * size in their last 8 bytes), so a used block costs 8 bytes of overhead and
 * free() finds the previous block in O(1) through the footer exactly when
 * F_PREV_FREE says it is there.  Free neighbours are always merged, so two
 * free blocks are never adjacent.  A zero-size, never-free sentinel header
 * ends the heap, so walking "next" never needs a bounds check.
 *
 * Free lists.  Sizes below 512 have one exact class per 16 bytes (first
 * level 0).  A larger size s with highest bit f goes to first level
 * f - 8 and to one of 32 second-level classes by the 5 bits below bit f,
 * so a class spans at most 1/32 of its sizes.  A bitmap per level says
 * which lists are non-empty; malloc rounds the request up to the next class
 * boundary, so the first block of the first non-empty list at or above that
 * class always fits: two bit scans, no list walk ("good fit").  Only if
 * that finds nothing is the request's own class scanned for a block that
 * happens to be big enough, so malloc fails only when no free block fits.
 *
 * The top block.  The free block that ends at the sentinel (at first the
 * whole heap) is kept out of the lists and used only when no listed block
 * fits, which keeps the untouched end of the heap in one piece; carving
 * from it and merging back into it need no list operations, so the common
 * allocate-then-free-the-newest pattern is the cheapest path.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <kiln/alloc.h>
#include <kiln/platform.h>
#include <kiln/hvt_abi.h>

#ifndef CONFIG_ALLOC_STACK_RESERVE
#define CONFIG_ALLOC_STACK_RESERVE 65536
#endif
#ifndef CONFIG_ALLOC_CHECKS
#define CONFIG_ALLOC_CHECKS 1
#endif
#ifndef CONFIG_ALLOC_STATS
#define CONFIG_ALLOC_STATS 0
#endif

#define ALIGN_SHIFT  4
#define ALIGN        ((size_t)1 << ALIGN_SHIFT)        /* 16 */
#define HDR_SIZE     ((size_t)8)                       /* per-block overhead */
#define MIN_BLOCK    ((size_t)32)                      /* hdr + 2 links + footer */
#define SL_LOG2      5
#define SL_COUNT     (1u << SL_LOG2)                   /* 32 second-level classes */
#define FL_SHIFT     (SL_LOG2 + ALIGN_SHIFT)           /* 9 */
#define SMALL_LIMIT  ((size_t)1 << FL_SHIFT)           /* 512 */
#define MAX_LOG2     40                                /* blocks < 1 TiB */
#define FL_COUNT     (MAX_LOG2 - FL_SHIFT + 1)         /* 32 */
#define MAX_BLOCK    (((size_t)1 << MAX_LOG2) - ALIGN)
#define MAX_REQUEST  ((size_t)1 << (MAX_LOG2 - 1))
#define MAX_ALIGN    ((size_t)1 << 30)

#define F_FREE       ((size_t)1)
#define F_PREV_FREE  ((size_t)2)
#define SIZE_MASK    (~(ALIGN - 1))

#define EINVAL_VALUE 22                                /* Linux errno values */
#define ENOMEM_VALUE 12

_Static_assert(FL_COUNT <= 64, "first-level bitmap is 64 bits");
_Static_assert(SL_COUNT <= 32, "second-level bitmaps are 32 bits");

/* may_alias: heap memory is reused as headers, links and user data of any
 * type, also across translation units under LTO. */
typedef size_t __attribute__((may_alias)) asize_t;
typedef uint64_t __attribute__((may_alias)) aword_t;

struct __attribute__((may_alias)) block {
    size_t hdr;                    /* size | F_FREE | F_PREV_FREE */
    struct block *next_free;       /* free blocks only (first payload bytes) */
    struct block *prev_free;
};

static struct {
    uint64_t fl_map;                       /* bit i: sl_map[i] != 0 */
    uint32_t sl_map[FL_COUNT];             /* bit j: heads[i][j] != NULL */
    struct block *heads[FL_COUNT][SL_COUNT];
    char *lo;                              /* first block */
    char *hi;                              /* the sentinel header */
    struct block *top;                     /* free block ending at hi, or NULL */
    size_t used_bytes;
    size_t used_count;
    bool ready;
    size_t peak_bytes;                     /* CONFIG_ALLOC_STATS only */
    unsigned long long n_alloc, n_free, n_fail;
} H;

#if CONFIG_ALLOC_STATS
#define STAT(x) do { x; } while (0)
#else
#define STAT(x) do { } while (0)
#endif

/* ------------------------------------------------------------------ */

static inline size_t bsize(const struct block *b)
{
    return b->hdr & SIZE_MASK;
}

static inline struct block *at(void *p, size_t off)
{
    return (struct block *)((char *)p + off);
}

static inline struct block *bprev(struct block *b)
{
    return (struct block *)((char *)b - ((asize_t *)b)[-1]);
}

static inline void set_footer(struct block *b, size_t s)
{
    *(asize_t *)((char *)b + s - sizeof(size_t)) = s;
}

static inline void *payload(struct block *b)
{
    return (char *)b + HDR_SIZE;
}

static inline struct block *from_payload(const void *p)
{
    return (struct block *)((char *)(uintptr_t)p - HDR_SIZE);
}

static inline unsigned fls_sz(size_t x)            /* x != 0 */
{
    return 63u - (unsigned)__builtin_clzll(x);
}

/* Block size for a request: header included, 16-byte multiple, >= 32.
 * Callers guarantee n <= MAX_REQUEST, so this cannot overflow. */
static inline size_t req_size(size_t n)
{
    size_t t = (n + HDR_SIZE + ALIGN - 1) & SIZE_MASK;
    return t < MIN_BLOCK ? MIN_BLOCK : t;
}

static inline void mapping(size_t s, unsigned *fl, unsigned *sl)
{
    if (s < SMALL_LIMIT) {
        *fl = 0;
        *sl = (unsigned)(s >> ALIGN_SHIFT);
    } else {
        unsigned f = fls_sz(s);
        *sl = (unsigned)(s >> (f - SL_LOG2)) & (SL_COUNT - 1);
        *fl = f - FL_SHIFT + 1;
    }
}

static void insert_free(struct block *b, size_t s)
{
    unsigned fl, sl;
    mapping(s, &fl, &sl);
    struct block *h = H.heads[fl][sl];
    b->next_free = h;
    b->prev_free = NULL;
    if (h)
        h->prev_free = b;
    H.heads[fl][sl] = b;
    H.fl_map |= (uint64_t)1 << fl;
    H.sl_map[fl] |= 1u << sl;
}

static void remove_free(struct block *b)
{
    unsigned fl, sl;
    mapping(bsize(b), &fl, &sl);
    struct block *n = b->next_free, *p = b->prev_free;
    if (n)
        n->prev_free = p;
    if (p) {
        p->next_free = n;
    } else {
        H.heads[fl][sl] = n;
        if (!n) {
            H.sl_map[fl] &= ~(1u << sl);
            if (!H.sl_map[fl])
                H.fl_map &= ~((uint64_t)1 << fl);
        }
    }
}

/* A free block that ends at the sentinel becomes the top block (see the
 * file comment), any other goes to its list. */
static inline void put_free(struct block *b, size_t s)
{
    if ((char *)b + s == H.hi)
        H.top = b;
    else
        insert_free(b, s);
}

/* Take free block b (listed or top) off its list. */
static inline void take_free(struct block *b)
{
    if (b == H.top)
        H.top = NULL;
    else
        remove_free(b);
}

/* Find a free block of at least t bytes and take it off its list. */
static struct block *find_free(size_t t)
{
    struct block *b;

    if (H.fl_map) {                         /* any listed block at all? */
        /* The request's class (fl0, sl0), and the first class all of
         * whose blocks fit: the next one unless t is its lower bound. */
        unsigned fl0, sl0, fl, sl;
        bool exact = true;
        if (t < SMALL_LIMIT) {
            fl0 = 0;
            sl0 = (unsigned)(t >> ALIGN_SHIFT);
            fl = fl0;
            sl = sl0;
        } else {
            unsigned shift = fls_sz(t) - SL_LOG2;
            fl0 = shift + SL_LOG2 - FL_SHIFT + 1;
            sl0 = (unsigned)(t >> shift) & (SL_COUNT - 1);
            fl = fl0;
            sl = sl0;
            if (t & (((size_t)1 << shift) - 1)) {
                exact = false;
                if (++sl == SL_COUNT) {
                    sl = 0;
                    fl++;
                }
            }
        }
        if (fl < FL_COUNT) {
            uint32_t slm = H.sl_map[fl] & (~0u << sl);
            if (!slm) {
                uint64_t flm = H.fl_map & (~(uint64_t)0 << (fl + 1));
                if (flm) {
                    fl = (unsigned)__builtin_ctzll(flm);
                    slm = H.sl_map[fl];
                }
            }
            if (slm) {
                sl = (unsigned)__builtin_ctz(slm);
                b = H.heads[fl][sl];
                struct block *n = b->next_free;
                H.heads[fl][sl] = n;
                if (n) {
                    n->prev_free = NULL;
                } else {
                    H.sl_map[fl] &= ~(1u << sl);
                    if (!H.sl_map[fl])
                        H.fl_map &= ~((uint64_t)1 << fl);
                }
                return b;
            }
        }
        /* Nothing in a class that surely fits: the request's own class may
         * still hold a big enough block (sizes there differ by < 1/32). */
        if (!exact && (H.sl_map[fl0] & (1u << sl0))) {
            for (b = H.heads[fl0][sl0]; b; b = b->next_free) {
                if (bsize(b) >= t) {
                    remove_free(b);
                    return b;
                }
            }
        }
    }
    b = H.top;
    if (b && bsize(b) >= t) {
        H.top = NULL;
        return b;
    }
    return NULL;
}

static inline void note_used(size_t add)
{
    H.used_bytes += add;
    STAT(if (H.used_bytes > H.peak_bytes) H.peak_bytes = H.used_bytes);
}

/* b is off the free lists (its own flags may still say free): make it a
 * used block of t bytes, returning any remainder of >= MIN_BLOCK bytes to
 * the heap.  b's successor is free-flagged-before, i.e. has F_PREV_FREE. */
static void use_block(struct block *b, size_t t)
{
    size_t s = bsize(b);
    size_t pf = b->hdr & F_PREV_FREE;

    if (s - t >= MIN_BLOCK) {
        struct block *r = at(b, t);
        size_t rs = s - t;
        r->hdr = rs | F_FREE;          /* its successor keeps F_PREV_FREE */
        set_footer(r, rs);
        put_free(r, rs);
        s = t;
    } else {
        at(b, s)->hdr &= ~F_PREV_FREE;
    }
    b->hdr = s | pf;
    note_used(s);
    H.used_count++;
    STAT(H.n_alloc++);
}

/* b is a used block already subtracted from the counters: free it,
 * merging with free neighbours. */
static void release(struct block *b)
{
    size_t s = bsize(b);
    struct block *n = at(b, s);

    if (n->hdr & F_FREE) {
        take_free(n);
        s += bsize(n);
    }
    if (b->hdr & F_PREV_FREE) {
        struct block *p = bprev(b);
        remove_free(p);                /* never the top: b follows it */
        s += bsize(p);
        b = p;
    }
    b->hdr = s | F_FREE;               /* its predecessor is used */
    set_footer(b, s);
    at(b, s)->hdr |= F_PREV_FREE;
    put_free(b, s);
}

/* Used block b of size >= t: cut it down to t bytes if that frees at least
 * a minimum block. */
static void shrink(struct block *b, size_t t)
{
    size_t s = bsize(b);
    if (s - t < MIN_BLOCK)
        return;
    struct block *r = at(b, t);
    b->hdr = t | (b->hdr & F_PREV_FREE);
    r->hdr = s - t;                    /* used, predecessor used */
    H.used_bytes -= s - t;
    release(r);
}

/* ------------------------------------------------------------------ */

#if CONFIG_ALLOC_CHECKS
static void put_hex(char *d, uintptr_t v)
{
    for (int i = 15; i >= 0; i--) {
        unsigned x = (unsigned)(v & 15);
        d[i] = (char)(x < 10 ? '0' + x : 'a' + x - 10);
        v >>= 4;
    }
}

__attribute__((noreturn, cold, noinline))
static void bad_pointer(const char *what, const void *p)
{
    char msg[64];
    unsigned long n = 0;
    const char *a = "alloc: ";
    const char *b = "(): invalid pointer 0x";
    while (*a)
        msg[n++] = *a++;
    while (*what && n < 24)
        msg[n++] = *what++;
    while (*b)
        msg[n++] = *b++;
    put_hex(msg + n, (uintptr_t)p);
    n += 16;
    msg[n++] = '\n';
    plat_console_write(msg, n);
    plat_abort();
}
#endif

/* Is b plausibly the header of a used block of ours? */
static inline bool valid_used(const void *p, struct block *b)
{
    if ((uintptr_t)p & (ALIGN - 1))
        return false;
    if ((char *)b < H.lo || (char *)b >= H.hi)
        return false;
    size_t h = b->hdr, s = h & SIZE_MASK;
    if ((h & F_FREE) || s < MIN_BLOCK || s > (size_t)(H.hi - (char *)b))
        return false;
    return !(at(b, s)->hdr & F_PREV_FREE);
}

#if CONFIG_ALLOC_CHECKS
#define CHECK_USED(what, p, b) do { if (!valid_used(p, b)) bad_pointer(what, p); } while (0)
#else
#define CHECK_USED(what, p, b) do { } while (0)
#endif

static void copy_words(void *dst, const void *src, size_t n)   /* n % 8 == 0, dst <= src */
{
    aword_t *d = dst;
    const aword_t *s = src;
    size_t w = n / 8;
    while (w >= 4) {
        aword_t a = s[0], b = s[1], c = s[2], e = s[3];
        d[0] = a; d[1] = b; d[2] = c; d[3] = e;
        d += 4; s += 4; w -= 4;
    }
    while (w--)
        *d++ = *s++;
}

static void zero_words(void *dst, size_t n)                   /* n % 8 == 0 */
{
    aword_t *d = dst;
    size_t w = n / 8;
    while (w >= 4) {
        d[0] = 0; d[1] = 0; d[2] = 0; d[3] = 0;
        d += 4; w -= 4;
    }
    while (w--)
        *d++ = 0;
}

/* ------------------------------------------------------------------ */

void alloc_init(void *base, size_t size)
{
    /* Invariant: heads[i][j] == NULL whenever its bitmap bit is clear
     * (true for the zeroed .bss), so a re-init only clears the lists in
     * use instead of all 1024 heads. */
    while (H.fl_map) {
        unsigned fl = (unsigned)__builtin_ctzll(H.fl_map);
        H.fl_map &= H.fl_map - 1;
        while (H.sl_map[fl]) {
            unsigned sl = (unsigned)__builtin_ctz(H.sl_map[fl]);
            H.sl_map[fl] &= H.sl_map[fl] - 1;
            H.heads[fl][sl] = NULL;
        }
    }
    H.lo = H.hi = NULL;
    H.top = NULL;
    H.used_bytes = H.used_count = 0;
    H.peak_bytes = 0;
    H.n_alloc = H.n_free = H.n_fail = 0;
    H.ready = true;

    uintptr_t start = (uintptr_t)base;
    if (!base || size < 4 * MIN_BLOCK)
        return;
    uintptr_t end = start + size;
    if (end < start)
        end = UINTPTR_MAX;
    /* First header 8 below a 16-aligned payload; sentinel likewise. */
    uintptr_t first = ((start + HDR_SIZE + ALIGN - 1) & SIZE_MASK) - HDR_SIZE;
    uintptr_t sent = ((end - 2 * HDR_SIZE) & SIZE_MASK) + HDR_SIZE;
    if (sent < first + MIN_BLOCK)
        return;
    size_t total = sent - first;
    if (total > MAX_BLOCK) {
        total = MAX_BLOCK;
        sent = first + total;
    }
    struct block *b = (struct block *)first;
    b->hdr = total | F_FREE;
    set_footer(b, total);
    ((struct block *)sent)->hdr = F_PREV_FREE;          /* size 0, used */
    H.lo = (char *)first;
    H.hi = (char *)sent;
    H.top = b;                                          /* the whole heap */
}

/* The heap from the boot info: [align_up(kernel_end), mem_size - reserve). */
__attribute__((cold, noinline)) static void default_init(void)
{
    const struct hvt_boot_info *bi = plat_boot_info();
    if (!bi) {
        alloc_init(NULL, 0);
        return;
    }
    uint64_t lo = (bi->kernel_end + ALIGN - 1) & ~(uint64_t)(ALIGN - 1);
    uint64_t reserve = (uint64_t)CONFIG_ALLOC_STACK_RESERVE;
    uint64_t hi = bi->mem_size > reserve ? bi->mem_size - reserve : 0;
    if (hi > lo)
        alloc_init((void *)(uintptr_t)lo, (size_t)(hi - lo));
    else
        alloc_init(NULL, 0);
}

static inline void ensure_ready(void)
{
    if (__builtin_expect(!H.ready, 0))
        default_init();
}

static inline void *fail(void)
{
    STAT(H.n_fail++);
    return NULL;
}

void *malloc(size_t n)
{
    ensure_ready();
    if (n > MAX_REQUEST)
        return fail();
    size_t t = req_size(n);
    struct block *b = find_free(t);
    if (!b)
        return fail();
    use_block(b, t);
    return payload(b);
}

void free(void *p)
{
    if (!p)
        return;
    struct block *b = from_payload(p);
    CHECK_USED("free", p, b);
    H.used_bytes -= bsize(b);
    H.used_count--;
    STAT(H.n_free++);
    release(b);
}

void *calloc(size_t nmemb, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(nmemb, size, &n))
        return fail();
    void *p = malloc(n);
    if (p)
        zero_words(p, (n + 7) & ~(size_t)7);   /* <= usable size */
    return p;
}

void *realloc(void *p, size_t n)
{
    if (!p)
        return malloc(n);
    if (n == 0) {
        free(p);
        return NULL;
    }
    struct block *b = from_payload(p);
    CHECK_USED("realloc", p, b);
    if (n > MAX_REQUEST)
        return fail();

    size_t t = req_size(n), s = bsize(b);
    if (t <= s) {                                   /* shrink in place */
        shrink(b, t);
        return p;
    }
    struct block *nx = at(b, s);
    size_t nxs = (nx->hdr & F_FREE) ? bsize(nx) : 0;
    if (s + nxs >= t) {                             /* grow into the next block */
        take_free(nx);
        b->hdr = (s + nxs) | (b->hdr & F_PREV_FREE);
        at(b, s + nxs)->hdr &= ~F_PREV_FREE;
        note_used(nxs);
        shrink(b, t);
        return p;
    }
    if (b->hdr & F_PREV_FREE) {                     /* grow downwards, move */
        struct block *pv = bprev(b);
        size_t pvs = bsize(pv);
        if (pvs + s + nxs >= t) {
            size_t total = pvs + s + nxs;
            remove_free(pv);                        /* never the top */
            if (nxs)
                take_free(nx);
            copy_words(payload(pv), p, s - HDR_SIZE);   /* overlapping, dst < src */
            pv->hdr = total;                            /* pv's predecessor is used */
            at(pv, total)->hdr &= ~F_PREV_FREE;
            note_used(pvs + nxs);
            shrink(pv, t);
            return payload(pv);
        }
    }
    void *q = malloc(n);
    if (!q)
        return NULL;
    copy_words(q, p, s - HDR_SIZE);                 /* old size < new size */
    free(p);
    return q;
}

void *aligned_alloc(size_t align, size_t n)
{
    ensure_ready();
    if (align == 0 || (align & (align - 1)))
        return fail();
    if (align <= ALIGN)
        return malloc(n);
    if (n > MAX_REQUEST || align > MAX_ALIGN)
        return fail();

    size_t t = req_size(n);
    /* The aligned payload is at most align + 16 past the block's own
     * payload (a gap of exactly 16 cannot become a free block). */
    struct block *b = find_free(t + align + ALIGN);
    if (!b)
        return fail();
    uintptr_t p = (uintptr_t)payload(b);
    uintptr_t a = (p + align - 1) & ~(uintptr_t)(align - 1);
    size_t gap = a - p;
    if (gap && gap < MIN_BLOCK) {
        a += align;
        gap += align;
    }
    if (gap) {                                      /* free the leading gap */
        size_t s = bsize(b);
        b->hdr = gap | F_FREE | (b->hdr & F_PREV_FREE);
        set_footer(b, gap);
        insert_free(b, gap);
        b = at(b, gap);
        b->hdr = (s - gap) | F_PREV_FREE;
    }
    use_block(b, t);
    return payload(b);
}

int posix_memalign(void **memptr, size_t align, size_t n)
{
    if (align < sizeof(void *) || (align & (align - 1)))
        return EINVAL_VALUE;
    void *p = aligned_alloc(align, n);
    if (!p)
        return ENOMEM_VALUE;
    *memptr = p;
    return 0;
}

size_t alloc_usable_size(const void *p)
{
    return p ? bsize(from_payload(p)) - HDR_SIZE : 0;
}

void alloc_stats(struct alloc_stats *out)
{
    size_t heap = (size_t)(H.hi - H.lo);
    size_t largest = 0, nfree = 0;
    uint64_t flm = H.fl_map;

    while (flm) {
        unsigned fl = (unsigned)__builtin_ctzll(flm);
        flm &= flm - 1;
        uint32_t slm = H.sl_map[fl];
        while (slm) {
            unsigned sl = (unsigned)__builtin_ctz(slm);
            slm &= slm - 1;
            for (struct block *b = H.heads[fl][sl]; b; b = b->next_free) {
                nfree++;
                if (bsize(b) > largest)
                    largest = bsize(b);
            }
        }
    }
    if (H.top) {
        nfree++;
        if (bsize(H.top) > largest)
            largest = bsize(H.top);
    }
    out->heap_bytes = heap;
    out->in_use_bytes = H.used_bytes;
    out->free_bytes = heap - H.used_bytes;
    out->largest_free = largest ? largest - HDR_SIZE : 0;
    out->alloc_count = H.used_count;
    out->free_blocks = nfree;
    out->peak_in_use_bytes = H.peak_bytes;
    out->total_allocs = H.n_alloc;
    out->total_frees = H.n_free;
    out->failed_allocs = H.n_fail;
}

int alloc_check(void)
{
    if (!H.ready)
        return H.lo || H.hi || H.fl_map ? -1 : 0;
    if (!H.lo) {                                      /* empty heap */
        return (H.hi || H.top || H.fl_map || H.used_bytes || H.used_count) ? -1 : 0;
    }

    size_t used = 0, nused = 0, nfree = 0;
    bool prev_free = false;
    char *p = H.lo;
    while (p < H.hi) {
        struct block *b = (struct block *)p;
        size_t s = bsize(b);
        if (s < MIN_BLOCK || ((uintptr_t)payload(b) & (ALIGN - 1)))
            return -2;
        if (s > (size_t)(H.hi - p))
            return -3;
        if (!!(b->hdr & F_PREV_FREE) != prev_free)
            return -4;
        if (b->hdr & F_FREE) {
            if (prev_free)
                return -5;                              /* not coalesced */
            if (*(asize_t *)(p + s - sizeof(size_t)) != s)
                return -6;
            if ((p + s == H.hi) != (b == H.top))
                return -19;                             /* top is the free tail */
            nfree++;
            prev_free = true;
        } else {
            used += s;
            nused++;
            prev_free = false;
        }
        p += s;
    }
    if (p != H.hi)
        return -7;
    struct block *sent = (struct block *)H.hi;
    if (bsize(sent) != 0 || (sent->hdr & F_FREE))
        return -8;
    if (!!(sent->hdr & F_PREV_FREE) != prev_free || (H.top != NULL) != prev_free)
        return -9;
    if (used != H.used_bytes)
        return -10;
    if (nused != H.used_count)
        return -11;

    size_t listed = 0;
    if (H.fl_map >> FL_COUNT)
        return -12;
    for (unsigned fl = 0; fl < FL_COUNT; fl++) {
        if (!!(H.fl_map & ((uint64_t)1 << fl)) != (H.sl_map[fl] != 0))
            return -12;
        for (unsigned sl = 0; sl < SL_COUNT; sl++) {
            if (!(H.sl_map[fl] & (1u << sl)))
                continue;
            struct block *prev = NULL;
            struct block *b = H.heads[fl][sl];
            if (!b)
                return -13;
            for (; b; prev = b, b = b->next_free) {
                unsigned f, l;
                if ((char *)b < H.lo || (char *)b >= H.hi || !(b->hdr & F_FREE))
                    return -14;
                mapping(bsize(b), &f, &l);
                if (f != fl || l != sl)
                    return -15;
                if (b->prev_free != prev)
                    return -16;
                if (b == H.top)
                    return -14;
                if (++listed > nfree)
                    return -17;                         /* cycle or stray */
            }
        }
    }
    if (listed + (H.top != NULL) != nfree)
        return -18;
    return 0;
}
