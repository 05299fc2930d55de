/*
 * Host tests for guest/lib/alloc.  The allocator is compiled with
 * rename.h force-included, so its malloc/free/... are kalloc_malloc/... and
 * this program keeps glibc's for its own bookkeeping.  Heaps are mmap'd
 * regions with PROT_NONE guard pages on both sides: a single byte written
 * outside the heap kills the test with SIGSEGV.
 *
 * Environment: SEED (default 1), OPS (stress operations, default 2000000).
 * Prints one line per test and finally "N passed, M failed".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>

#include "rename.h"
#include <kiln/alloc.h>
#include <kiln/hvt_abi.h>
#undef malloc
#undef free
#undef calloc
#undef realloc
#undef aligned_alloc
#undef posix_memalign

#define HDR 8u

/* ------------------------------------------------------------------ */
/* Platform stubs (the allocator only needs these three; <kiln/platform.h>
 * is not included because its main() is the guest's, not ours). */
const struct hvt_boot_info *plat_boot_info(void);
void plat_console_write(const char *buf, unsigned long len);
__attribute__((noreturn)) void plat_abort(void);

static struct hvt_boot_info fake_bi;
static bool have_bi;

const struct hvt_boot_info *plat_boot_info(void)
{
    return have_bi ? &fake_bi : NULL;
}

void plat_console_write(const char *buf, unsigned long len)
{
    fflush(stdout);
    if (write(2, buf, len) < 0)
        _exit(254);
}

void plat_abort(void)
{
    fflush(stdout);
    _exit(255);
}

/* ------------------------------------------------------------------ */

static uint64_t rng_state;

static uint64_t rnd(void)                      /* xorshift64* */
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static uint64_t rnd_range(uint64_t lo, uint64_t hi)   /* inclusive */
{
    return lo + rnd() % (hi - lo + 1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char fail_msg[512];

#define CHECK(cond, ...) do {                                               \
        if (!(cond)) {                                                      \
            int k_ = snprintf(fail_msg, sizeof fail_msg, "%s:%d: %s: ",     \
                              __FILE__, __LINE__, #cond);                   \
            snprintf(fail_msg + k_, sizeof fail_msg - (size_t)k_, __VA_ARGS__); \
            return false;                                                   \
        }                                                                   \
    } while (0)

/* A helper that failed has already written fail_msg. */
#define CHECK_OK(expr) do { if (!(expr)) return false; } while (0)

#define CHECK_HEAP() do {                                                   \
        int rc_ = alloc_check();                                            \
        CHECK(rc_ == 0, "alloc_check() = %d", rc_);                         \
    } while (0)

/* An mmap'd region with a PROT_NONE page on each side. */
struct region {
    char *map;
    size_t map_len;
    char *base;
    size_t size;
};

static struct region region_new(size_t size)
{
    long pg = sysconf(_SC_PAGESIZE);
    size_t len = (size + 2 * (size_t)pg + (size_t)pg - 1) & ~((size_t)pg - 1);
    char *m = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    size_t inner = len - 2 * (size_t)pg;
    if (mprotect(m + pg, inner, PROT_READ | PROT_WRITE) != 0) {
        perror("mprotect");
        exit(2);
    }
    /* Put the heap flush against the upper guard page. */
    struct region r = { m, len, m + pg + (inner - size), size };
    return r;
}

static void region_free(struct region *r)
{
    munmap(r->map, r->map_len);
}

/* Position-dependent pattern: byte j of a block tagged t. */
static inline uint64_t pat_word(uint64_t tag, size_t w)
{
    return (tag ^ (w * 0x9E3779B97F4A7C15ull)) + w;
}

static void fill_range(unsigned char *p, uint64_t tag, size_t from, size_t to)
{
    size_t j = from;
    while (j < to && (j & 7)) {
        p[j] = (unsigned char)(pat_word(tag, j >> 3) >> ((j & 7) * 8));
        j++;
    }
    for (; j + 8 <= to; j += 8) {
        uint64_t v = pat_word(tag, j >> 3);
        memcpy(p + j, &v, 8);
    }
    for (; j < to; j++)
        p[j] = (unsigned char)(pat_word(tag, j >> 3) >> ((j & 7) * 8));
}

/* Returns the first bad offset or SIZE_MAX if [from, to) matches. */
static size_t verify_range(const unsigned char *p, uint64_t tag, size_t from, size_t to)
{
    size_t j = from;
    while (j < to && (j & 7)) {
        if (p[j] != (unsigned char)(pat_word(tag, j >> 3) >> ((j & 7) * 8)))
            return j;
        j++;
    }
    for (; j + 8 <= to; j += 8) {
        uint64_t v;
        memcpy(&v, p + j, 8);
        if (v != pat_word(tag, j >> 3)) {
            while (p[j] == (unsigned char)(pat_word(tag, j >> 3) >> ((j & 7) * 8)))
                j++;
            return j;
        }
    }
    for (; j < to; j++)
        if (p[j] != (unsigned char)(pat_word(tag, j >> 3) >> ((j & 7) * 8)))
            return j;
    return SIZE_MAX;
}

/* The allocator's block size for a request (mirrors req_size()). */
static size_t block_for(size_t n)
{
    size_t t = (n + HDR + 15) & ~(size_t)15;
    return t < 32 ? 32 : t;
}

/* ------------------------------------------------------------------ */
/* Shadow model of live allocations. */

struct slot {
    unsigned char *p;
    size_t n;            /* requested size */
    size_t align;        /* requested alignment (16 = default) */
    uint64_t tag;
};

static int cmp_ptr(const void *a, const void *b)
{
    const struct slot *x = *(const struct slot *const *)a, *y = *(const struct slot *const *)b;
    return x->p < y->p ? -1 : x->p > y->p;
}

static const char *heap_lo, *heap_hi;

/* Every live block: inside the heap, aligned, no two blocks (header
 * included) overlapping, contents intact; and the allocator's counters
 * agree with the model. */
static bool verify_all(struct slot *slots, size_t nslots)
{
    static struct slot **v;
    static size_t vcap;
    if (vcap < nslots) {
        free(v);
        v = malloc(nslots * sizeof *v);
        vcap = nslots;
    }
    size_t k = 0, bytes = 0;
    for (size_t i = 0; i < nslots; i++) {
        if (!slots[i].p)
            continue;
        struct slot *s = &slots[i];
        v[k++] = s;
        size_t u = alloc_usable_size(s->p);
        bytes += u + HDR;
        CHECK(((uintptr_t)s->p & 15) == 0 && ((uintptr_t)s->p & (s->align - 1)) == 0,
              "misaligned %p (align %zu)", (void *)s->p, s->align);
        CHECK((const char *)s->p - HDR >= heap_lo && (const char *)s->p + u <= heap_hi,
              "block %p+%zu outside heap", (void *)s->p, u);
        CHECK(u >= s->n, "usable %zu < requested %zu", u, s->n);
        size_t bad = verify_range(s->p, s->tag, 0, s->n);
        CHECK(bad == SIZE_MAX, "block %p (%zu bytes) corrupted at offset %zu", (void *)s->p, s->n, bad);
    }
    qsort(v, k, sizeof *v, cmp_ptr);
    for (size_t i = 1; i < k; i++) {
        const unsigned char *end = v[i - 1]->p + alloc_usable_size(v[i - 1]->p);
        CHECK(end <= v[i]->p - HDR, "blocks %p and %p overlap", (void *)v[i - 1]->p, (void *)v[i]->p);
    }
    struct alloc_stats st;
    alloc_stats(&st);
    CHECK(st.alloc_count == k, "alloc_count %zu, model %zu", st.alloc_count, k);
    CHECK(st.in_use_bytes == bytes, "in_use %zu, model %zu", st.in_use_bytes, bytes);
    CHECK(st.in_use_bytes + st.free_bytes == st.heap_bytes, "stats do not add up");
    return true;
}

/* ------------------------------------------------------------------ */
/* Tests */

static struct region big;            /* 64 MiB, shared by most tests */
#define BIG_SIZE ((size_t)64 << 20)

static void use_big(void)
{
    alloc_init(big.base, big.size);
    heap_lo = big.base;
    heap_hi = big.base + big.size;
}

/* Must run first: no alloc_init yet, so malloc sets the heap up from the
 * (fake) boot info: [align_up(kernel_end, 16), mem_size - 65536). */
static bool t_lazy_init(void)
{
    struct region r = region_new(1 << 20);

    /* In a child: a boot info leaving no room for a heap. */
    pid_t pid = fork();
    if (pid == 0) {
        fake_bi.kernel_end = (uintptr_t)r.base;
        fake_bi.mem_size = (uintptr_t)r.base + 4096;      /* < reserve above it */
        have_bi = true;
        void *p = kalloc_malloc(1);
        struct alloc_stats st;
        alloc_stats(&st);
        _exit(p == NULL && st.heap_bytes == 0 && alloc_check() == 0 ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "empty lazy heap: status %d", status);

    /* free(NULL) before any initialisation is harmless. */
    kalloc_free(NULL);

    uintptr_t kend = (uintptr_t)r.base + 1234;              /* unaligned */
    uintptr_t hi = (uintptr_t)r.base + r.size;
    fake_bi.kernel_end = kend;
    fake_bi.mem_size = hi + 65536;
    have_bi = true;
    unsigned char *p = kalloc_malloc(100);
    CHECK(p != NULL, "lazy malloc failed");
    uintptr_t lo = (kend + 15) & ~(uintptr_t)15;
    CHECK((uintptr_t)p >= lo && (uintptr_t)p + 100 <= hi, "p %p outside [%#lx, %#lx)", (void *)p,
          (unsigned long)lo, (unsigned long)hi);
    struct alloc_stats st;
    alloc_stats(&st);
    CHECK(st.heap_bytes <= hi - lo && st.heap_bytes + 48 >= hi - lo, "heap_bytes %zu for a %lu-byte range",
          st.heap_bytes, (unsigned long)(hi - lo));
    memset(p, 0xab, 100);
    kalloc_free(p);
    alloc_stats(&st);
    CHECK(st.alloc_count == 0 && st.free_blocks == 1, "count %zu, fragments %zu", st.alloc_count, st.free_blocks);
    CHECK_HEAP();
    have_bi = false;
    region_free(&r);
    return true;
}

/* alloc_init must not touch memory in proportion to the heap size. */
static bool t_init_is_o1(void)
{
    size_t size = (size_t)8 << 30;                            /* 8 GiB, virtual only */
    char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) {
        size = (size_t)1 << 30;
        m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    }
    CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
    long pg = sysconf(_SC_PAGESIZE);
    double t0 = now_s();
    alloc_init(m, size);
    void *p = kalloc_malloc(1000);
    void *q = kalloc_malloc((size_t)1 << 20);
    kalloc_free(p);
    kalloc_free(q);
    double dt = now_s() - t0;
    size_t pages = size / (size_t)pg;
    unsigned char *vec = malloc(pages);
    CHECK(vec && mincore(m, size, vec) == 0, "mincore: %s", strerror(errno));
    size_t resident = 0;
    for (size_t i = 0; i < pages; i++)
        resident += vec[i] & 1;
    free(vec);
    munmap(m, size);
    printf("    init + 2 malloc/free on a %zu MiB heap: %zu pages touched, %.1f us\n",
           size >> 20, resident, dt * 1e6);
    CHECK(resident <= 6, "%zu pages touched", resident);
    return true;
}

static bool t_basic(void)
{
    use_big();
    CHECK_HEAP();
    struct alloc_stats st;
    alloc_stats(&st);
    CHECK(st.free_blocks == 1 && st.largest_free == st.heap_bytes - HDR && st.alloc_count == 0,
          "fresh heap: %zu fragments, largest %zu of %zu", st.free_blocks, st.largest_free, st.heap_bytes);

    void *z1 = kalloc_malloc(0), *z2 = kalloc_malloc(0);
    CHECK(z1 && z2 && z1 != z2, "malloc(0) must give distinct non-NULL blocks");
    kalloc_free(z1);
    kalloc_free(z2);
    kalloc_free(NULL);

    static unsigned char *ps[2100];
    for (size_t n = 0; n < 2100; n++) {
        ps[n] = kalloc_malloc(n);
        CHECK(ps[n] && ((uintptr_t)ps[n] & 15) == 0, "malloc(%zu) = %p", n, (void *)ps[n]);
        size_t u = alloc_usable_size(ps[n]);
        CHECK(u >= n && u + HDR <= block_for(n) + 16, "usable %zu for %zu", u, n);
        memset(ps[n], (int)n, n);
    }
    CHECK_HEAP();
    for (size_t n = 0; n < 2100; n += 2)
        kalloc_free(ps[n]);
    CHECK_HEAP();
    for (size_t n = 1; n < 2100; n += 2) {
        for (size_t j = 0; j < n; j++)
            CHECK(ps[n][j] == (unsigned char)n, "block %zu byte %zu changed", n, j);
        kalloc_free(ps[n]);
    }
    CHECK_HEAP();
    alloc_stats(&st);
    CHECK(st.free_blocks == 1 && st.in_use_bytes == 0, "after free: %zu fragments", st.free_blocks);
    return true;
}

/* A single free block of size S satisfies any request up to S - 8 even
 * when the request's size class is S's own (the fallback scan). */
static bool t_exact_fit(void)
{
    for (size_t hs = 600; hs < 300000; hs = hs * 5 / 4 + 16) {
        for (int off = 0; off < 16; off += 3) {
            alloc_init(big.base + off, hs);
            struct alloc_stats st;
            alloc_stats(&st);
            size_t want = st.largest_free;
            CHECK(want + HDR == st.heap_bytes, "largest %zu, heap %zu", want, st.heap_bytes);
            void *p = kalloc_malloc(want);
            CHECK(p != NULL, "malloc(%zu) failed on a %zu-byte heap", want, st.heap_bytes);
            CHECK(kalloc_malloc(0) == NULL, "heap should be full");
            CHECK_HEAP();
            kalloc_free(p);
            CHECK(kalloc_malloc(want + 1) == NULL, "malloc(largest + 1) succeeded");
            CHECK_HEAP();
        }
    }
    /* A hole of block size T (free, listed, between used blocks) serves a
     * request of exactly T - 8 even though T's class also holds smaller
     * blocks; it is preferred to the top block. */
    for (size_t n = 480; n < 200000; n = n * 9 / 8 + 8) {
        use_big();
        unsigned char *a = kalloc_malloc(n);
        unsigned char *g = kalloc_malloc(0);
        CHECK(a && g, "malloc");
        size_t usable = alloc_usable_size(a);
        kalloc_free(a);
        unsigned char *b = kalloc_malloc(usable);
        CHECK(b == a, "malloc(%zu) did not reuse the %zu-byte hole", usable, usable + HDR);
        kalloc_free(b);
        kalloc_free(g);
        CHECK_HEAP();
    }
    return true;
}

static bool t_calloc(void)
{
    use_big();
    /* Dirty the heap first so zeroing is really tested. */
    void *d = kalloc_malloc(1 << 20);
    CHECK(d, "malloc");
    memset(d, 0xa5, 1 << 20);
    kalloc_free(d);
    size_t sizes[] = { 1, 7, 8, 15, 16, 17, 100, 1000, 4097, 65536, 300000 };
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        unsigned char *p = kalloc_calloc(1, sizes[i]);
        CHECK(p, "calloc(1, %zu)", sizes[i]);
        for (size_t j = 0; j < sizes[i]; j++)
            CHECK(p[j] == 0, "calloc(1, %zu) byte %zu = %#x", sizes[i], j, p[j]);
        memset(p, 0x5a, sizes[i]);
        kalloc_free(p);
        p = kalloc_calloc(sizes[i], 3);
        CHECK(p, "calloc(%zu, 3)", sizes[i]);
        for (size_t j = 0; j < sizes[i] * 3; j++)
            CHECK(p[j] == 0, "calloc(%zu, 3) byte %zu", sizes[i], j);
        kalloc_free(p);
    }
    void *a = kalloc_calloc(0, 10), *b = kalloc_calloc(10, 0);
    CHECK(a && b && a != b, "calloc with a zero factor");
    kalloc_free(a);
    kalloc_free(b);

    struct alloc_stats before, after;
    alloc_stats(&before);
    struct { size_t n, m; } ov[] = {
        { SIZE_MAX, 2 }, { 2, SIZE_MAX }, { (size_t)1 << 32, (size_t)1 << 32 },
        { SIZE_MAX / 3 + 1, 3 }, { ((size_t)1 << 63) + 1, 2 }, { SIZE_MAX, SIZE_MAX },
        { 65537, ((size_t)1 << 48) + 1 },
    };
    for (size_t i = 0; i < sizeof ov / sizeof *ov; i++)
        CHECK(kalloc_calloc(ov[i].n, ov[i].m) == NULL, "calloc(%zu, %zu) must fail", ov[i].n, ov[i].m);
    /* No overflow, but too big. */
    CHECK(kalloc_calloc((size_t)1 << 20, (size_t)1 << 20) == NULL, "calloc(1M, 1M)");
    alloc_stats(&after);
    CHECK(before.alloc_count == after.alloc_count && before.in_use_bytes == after.in_use_bytes,
          "failed calloc changed the heap");
    CHECK_HEAP();
    return true;
}

static bool t_realloc(void)
{
    use_big();
    struct alloc_stats st;

    /* realloc(NULL, n) = malloc(n) */
    unsigned char *p = kalloc_realloc(NULL, 100);
    CHECK(p && alloc_usable_size(p) >= 100, "realloc(NULL, 100)");
    fill_range(p, 1, 0, 100);

    /* realloc(p, 0) frees p and returns NULL */
    alloc_stats(&st);
    size_t cnt = st.alloc_count;
    CHECK(kalloc_realloc(p, 0) == NULL, "realloc(p, 0) must return NULL");
    alloc_stats(&st);
    CHECK(st.alloc_count == cnt - 1, "realloc(p, 0) must free p");
    CHECK_HEAP();

    /* Shrink in place, then grow back in place (the tail is free again). */
    p = kalloc_malloc(1000);
    unsigned char *guard = kalloc_malloc(16);
    fill_range(p, 2, 0, 1000);
    unsigned char *q = kalloc_realloc(p, 100);
    CHECK(q == p, "shrink moved the block");
    CHECK(verify_range(q, 2, 0, 100) == SIZE_MAX, "shrink lost data");
    CHECK(alloc_usable_size(q) < 200, "shrink kept %zu bytes", alloc_usable_size(q));
    CHECK_HEAP();
    q = kalloc_realloc(p, 900);
    CHECK(q == p, "grow into the freed tail moved the block");
    CHECK(verify_range(q, 2, 0, 100) == SIZE_MAX, "grow lost data");
    fill_range(q, 2, 100, 900);
    CHECK_HEAP();

    /* Grow into a free successor. */
    unsigned char *a = kalloc_malloc(200), *b = kalloc_malloc(300), *c = kalloc_malloc(50);
    fill_range(a, 3, 0, 200);
    kalloc_free(b);
    q = kalloc_realloc(a, 450);
    CHECK(q == a, "grow into the free successor moved the block");
    CHECK(verify_range(q, 3, 0, 200) == SIZE_MAX, "grow lost data");
    CHECK_HEAP();
    kalloc_free(q);
    kalloc_free(c);
    kalloc_free(guard);
    kalloc_free(p);
    CHECK_HEAP();
    alloc_stats(&st);
    CHECK(st.alloc_count == 0 && st.free_blocks == 1, "leftovers: %zu blocks, %zu fragments",
          st.alloc_count, st.free_blocks);

    /* Grow downwards into a free predecessor (data moves down); on a
     * fresh heap so that a, b, c are adjacent and b's successor is used. */
    use_big();
    a = kalloc_malloc(400);
    b = kalloc_malloc(100);
    c = kalloc_malloc(50);
    fill_range(b, 4, 0, 100);
    kalloc_free(a);
    q = kalloc_realloc(b, 450);
    CHECK(q == a, "expected the predecessor's address %p, got %p", (void *)a, (void *)q);
    CHECK(verify_range(q, 4, 0, 100) == SIZE_MAX, "downward grow lost data");
    CHECK_HEAP();
    kalloc_free(q);
    kalloc_free(c);

    /* Grow with a move: neighbours used. */
    a = kalloc_malloc(64);
    b = kalloc_malloc(64);
    fill_range(a, 5, 0, 64);
    alloc_stats(&st);
    cnt = st.alloc_count;
    q = kalloc_realloc(a, 100000);
    CHECK(q && q != a, "grow should move");
    CHECK(verify_range(q, 5, 0, 64) == SIZE_MAX, "move lost data");
    alloc_stats(&st);
    CHECK(st.alloc_count == cnt, "old block not freed by the move");
    CHECK_HEAP();

    /* A failing realloc leaves the block alone. */
    fill_range(q, 6, 0, 100000);
    CHECK(kalloc_realloc(q, SIZE_MAX) == NULL, "realloc(SIZE_MAX)");
    CHECK(kalloc_realloc(q, BIG_SIZE) == NULL, "realloc(heap size)");
    CHECK(verify_range(q, 6, 0, 100000) == SIZE_MAX, "failed realloc changed data");
    CHECK_HEAP();
    kalloc_free(q);
    kalloc_free(b);
    CHECK_HEAP();
    alloc_stats(&st);
    CHECK(st.alloc_count == 0 && st.free_blocks == 1, "leftovers: %zu blocks, %zu fragments",
          st.alloc_count, st.free_blocks);
    return true;
}

static bool t_aligned(void)
{
    use_big();
    static struct slot s[2000];
    memset(s, 0, sizeof s);
    for (int i = 0; i < 2000; i++) {
        size_t al = (size_t)1 << rnd_range(0, 16);
        size_t n = rnd_range(0, 3000);
        void *p;
        if (i & 1) {
            p = kalloc_aligned_alloc(al, n);
        } else {
            int rc = kalloc_posix_memalign(&p, al < 8 ? 8 : al, n);
            CHECK(rc == 0, "posix_memalign(%zu, %zu) = %d", al, n, rc);
            if (al < 8)
                al = 8;
        }
        CHECK(p && ((uintptr_t)p & (al - 1)) == 0 && ((uintptr_t)p & 15) == 0, "aligned %zu: %p", al, p);
        CHECK(alloc_usable_size(p) <= block_for(n) + 8, "aligned block too big: %zu for %zu",
              alloc_usable_size(p), n);
        s[i] = (struct slot){ p, n, al < 16 ? 16 : al, (uint64_t)i * 7919 };
        fill_range(p, s[i].tag, 0, n);
        if (rnd() % 3 == 0) {
            int j = (int)(rnd() % (uint64_t)(i + 1));
            kalloc_free(s[j].p);
            s[j].p = NULL;
        }
    }
    CHECK_OK(verify_all(s, 2000));
    CHECK_HEAP();

    /* Bad alignments. */
    void *p = (void *)0x1234;
    CHECK(kalloc_posix_memalign(&p, 0, 8) == EINVAL && p == (void *)0x1234, "posix_memalign align 0");
    CHECK(kalloc_posix_memalign(&p, 4, 8) == EINVAL, "posix_memalign align 4 < sizeof(void *)");
    CHECK(kalloc_posix_memalign(&p, 24, 8) == EINVAL, "posix_memalign align 24");
    CHECK(kalloc_posix_memalign(&p, 48, 8) == EINVAL, "posix_memalign align 48");
    CHECK(kalloc_posix_memalign(&p, 64, SIZE_MAX) == ENOMEM && p == (void *)0x1234, "posix_memalign huge");
    CHECK(kalloc_posix_memalign(&p, 64, BIG_SIZE) == ENOMEM, "posix_memalign heap-size");
    CHECK(kalloc_aligned_alloc(3, 8) == NULL, "aligned_alloc align 3");
    CHECK(kalloc_aligned_alloc(0, 8) == NULL, "aligned_alloc align 0");
    CHECK(kalloc_aligned_alloc((size_t)1 << 40, 8) == NULL, "aligned_alloc align 2^40");
    void *z = kalloc_aligned_alloc(4096, 0);
    CHECK(z && ((uintptr_t)z & 4095) == 0, "aligned_alloc(4096, 0)");
    kalloc_free(z);
    /* A big alignment on a fresh heap. */
    void *m = kalloc_aligned_alloc((size_t)1 << 24, 100);
    CHECK(m && ((uintptr_t)m & (((size_t)1 << 24) - 1)) == 0, "16 MiB alignment");
    kalloc_free(m);
    for (int i = 0; i < 2000; i++)
        kalloc_free(s[i].p);
    CHECK_HEAP();
    struct alloc_stats st;
    alloc_stats(&st);
    CHECK(st.alloc_count == 0 && st.free_blocks == 1, "leftovers");
    return true;
}

static size_t rand_size(void)
{
    uint64_t r = rnd() % 1000;
    if (r < 5)
        return 0;
    if (r < 600)
        return rnd_range(1, 128);
    if (r < 850)
        return rnd_range(129, 2048);
    if (r < 970)
        return rnd_range(2049, 16384);
    return rnd_range(16385, 65536);
}

#define NSLOTS 8192
static struct slot slots[NSLOTS];
static uint64_t next_tag = 1;

/* Randomised stress with a shadow model.  A NULL return is only accepted
 * when no free block could have served the request. */
static bool t_stress(void)
{
    /* 16 MiB (flush against the guard page) for ~13 MiB of live data on
     * average: allocations fail now and then near the peaks. */
    size_t hs = (size_t)(getenv("STRESS_HEAP_MB") ? atol(getenv("STRESS_HEAP_MB")) : 16) << 20;
    if (hs == 0 || hs > BIG_SIZE)
        hs = BIG_SIZE;
    alloc_init(big.base + BIG_SIZE - hs, hs);
    heap_lo = big.base + BIG_SIZE - hs;
    heap_hi = big.base + BIG_SIZE;
    memset(slots, 0, sizeof slots);
    long ops = getenv("OPS") ? atol(getenv("OPS")) : 2000000;
    long fails = 0, reallocs_in_place = 0, reallocs = 0;
    double t0 = now_s();
    for (long op = 1; op <= ops; op++) {
        struct slot *s = &slots[rnd() % NSLOTS];
        if (!s->p) {
            size_t n = rand_size(), al = 16;
            uint64_t kind = rnd() % 100;
            unsigned char *p;
            if (kind < 70) {
                p = kalloc_malloc(n);
            } else if (kind < 85) {
                p = kalloc_calloc(1, n);
                if (p)
                    for (size_t j = 0; j < n; j++)
                        CHECK(p[j] == 0, "calloc(%zu) byte %zu not zero", n, j);
            } else if (kind < 95) {
                al = (size_t)1 << rnd_range(5, 12);
                p = kalloc_aligned_alloc(al, n);
            } else {
                al = (size_t)1 << rnd_range(3, 8);
                void *v = NULL;
                int rc = kalloc_posix_memalign(&v, al, n);
                CHECK((rc == 0) == (v != NULL) && (rc == 0 || rc == ENOMEM), "posix_memalign rc %d", rc);
                p = v;
                if (al < 16)
                    al = 16;
            }
            if (!p) {
                struct alloc_stats st;
                alloc_stats(&st);
                size_t need = block_for(n) + (al > 16 ? al + 16 : 0);
                CHECK(st.largest_free + HDR < need, "op %ld: allocation of %zu (align %zu) failed with %zu free",
                      op, n, al, st.largest_free);
                fails++;
                continue;
            }
            CHECK(alloc_usable_size(p) <= block_for(n) + 8, "block too big: %zu for %zu",
                  alloc_usable_size(p), n);
            *s = (struct slot){ p, n, al, next_tag++ };
            fill_range(p, s->tag, 0, n);
        } else if (rnd() % 100 < 60) {
            size_t bad = verify_range(s->p, s->tag, 0, s->n);
            CHECK(bad == SIZE_MAX, "op %ld: block corrupted at %zu before free", op, bad);
            kalloc_free(s->p);
            s->p = NULL;
        } else {
            size_t n = rand_size();
            if (n == 0)
                n = 1;                      /* realloc(p, 0) frees: tested elsewhere */
            unsigned char *q = kalloc_realloc(s->p, n);
            reallocs++;
            if (!q) {
                struct alloc_stats st;
                alloc_stats(&st);
                CHECK(st.largest_free + HDR < block_for(n), "op %ld: realloc to %zu failed with %zu free", op, n,
                      st.largest_free);
                CHECK(verify_range(s->p, s->tag, 0, s->n) == SIZE_MAX, "failed realloc changed data");
                fails++;
                continue;
            }
            if (q == s->p)
                reallocs_in_place++;
            size_t keep = n < s->n ? n : s->n;
            size_t bad = verify_range(q, s->tag, 0, keep);
            CHECK(bad == SIZE_MAX, "op %ld: realloc %zu -> %zu lost data at %zu", op, s->n, n, bad);
            CHECK(alloc_usable_size(q) <= block_for(n) + 8, "realloc block too big");
            s->p = q;
            s->align = 16;                  /* realloc keeps only the default alignment */
            if (n > s->n)
                fill_range(q, s->tag, s->n, n);
            s->n = n;
        }
        if (op % 1000 == 0)
            CHECK_HEAP();
        if (op % 50000 == 0)
            CHECK_OK(verify_all(slots, NSLOTS));
    }
    double dt = now_s() - t0;
    CHECK_OK(verify_all(slots, NSLOTS));
    CHECK_HEAP();
    struct alloc_stats st;
    alloc_stats(&st);
    printf("    %ld ops in %.2f s on a %zu MiB heap: %ld allocations failed (no fitting block), "
           "%ld/%ld reallocs in place; at the end %zu live blocks, %zu KiB in use, %zu fragments\n",
           ops, dt, hs >> 20, fails, reallocs_in_place, reallocs, st.alloc_count, st.in_use_bytes >> 10,
           st.free_blocks);
    return true;
}

/* After the stress test: free everything, the heap is one block again. */
static bool t_coalesce_all(void)
{
    for (size_t i = 0; i < NSLOTS; i++) {
        if (slots[i].p) {
            kalloc_free(slots[i].p);
            slots[i].p = NULL;
            if (i % 512 == 0)
                CHECK_HEAP();
        }
    }
    CHECK_HEAP();
    struct alloc_stats st;
    alloc_stats(&st);
    CHECK(st.alloc_count == 0 && st.in_use_bytes == 0, "%zu blocks, %zu bytes still in use", st.alloc_count,
          st.in_use_bytes);
    CHECK(st.free_blocks == 1, "%zu free blocks, expected 1", st.free_blocks);
    CHECK(st.free_bytes == st.heap_bytes && st.largest_free == st.heap_bytes - HDR, "largest %zu of %zu",
          st.largest_free, st.heap_bytes);
    unsigned char *all = kalloc_malloc(st.largest_free);
    CHECK(all != NULL && (const char *)all - HDR == heap_lo + ((uintptr_t)heap_lo & 8 ? 0 : 8),
          "the whole heap should be one allocation, got %p (heap %p)", (void *)all, (void *)heap_lo);
    CHECK(kalloc_malloc(0) == NULL, "heap should be full");
    kalloc_free(all);
    CHECK_HEAP();
    return true;
}

/* Exhaust a small heap with random sizes; failures must leave the heap
 * intact; freeing everything restores one block. */
static bool t_oom(void)
{
    struct region r = region_new((1 << 20) + 5);
    alloc_init(r.base + 5, (1 << 20));
    heap_lo = r.base + 5;
    heap_hi = r.base + 5 + (1 << 20);
    static struct slot s[20000];
    memset(s, 0, sizeof s);
    size_t k = 0;
    int nulls = 0;
    /* Fill until even a minimal block fails. */
    for (size_t cap = 65536; cap >= 1; cap /= 2) {
        for (;;) {
            size_t n = rnd_range(cap / 2, cap);
            unsigned char *p = kalloc_malloc(n);
            if (!p) {
                struct alloc_stats st;
                alloc_stats(&st);
                CHECK(st.largest_free + HDR < block_for(n), "malloc(%zu) failed with largest free %zu", n,
                      st.largest_free);
                nulls++;
                break;
            }
            CHECK(k < 20000, "too many blocks");
            s[k] = (struct slot){ p, n, 16, next_tag++ };
            fill_range(p, s[k].tag, 0, n);
            k++;
        }
    }
    CHECK(kalloc_malloc(0) == NULL, "a minimal block still fits");
    CHECK(kalloc_malloc(SIZE_MAX) == NULL && kalloc_malloc(SIZE_MAX - 7) == NULL &&
          kalloc_malloc(SIZE_MAX / 2) == NULL && kalloc_malloc(((size_t)1 << 40) + 1) == NULL, "huge malloc");
    CHECK(kalloc_aligned_alloc(64, SIZE_MAX - 100) == NULL, "huge aligned_alloc");
    CHECK(kalloc_calloc(1, 1 << 21) == NULL, "calloc larger than the heap");
    CHECK(kalloc_realloc(s[0].p, 1 << 21) == NULL, "realloc larger than the heap");
    CHECK_OK(verify_all(s, k));
    CHECK_HEAP();
    struct alloc_stats st;
    alloc_stats(&st);
    printf("    1 MiB heap full with %zu blocks: %zu bytes in use, %zu free in %zu fragments\n", k,
           st.in_use_bytes, st.free_bytes, st.free_blocks);
    /* Free every other block, refill with small blocks, then free all. */
    for (size_t i = 0; i < k; i += 2) {
        kalloc_free(s[i].p);
        s[i].p = NULL;
    }
    CHECK_HEAP();
    for (size_t i = 0; i < k; i += 2) {
        size_t n = rnd_range(1, 64);
        s[i].p = kalloc_malloc(n);
        if (s[i].p) {
            s[i].n = n;
            s[i].tag = next_tag++;
            fill_range(s[i].p, s[i].tag, 0, n);
        }
    }
    CHECK_OK(verify_all(s, k));
    for (size_t i = 0; i < k; i++)
        kalloc_free(s[i].p);
    CHECK_HEAP();
    alloc_stats(&st);
    CHECK(st.alloc_count == 0 && st.free_blocks == 1 && st.largest_free + HDR == st.heap_bytes,
          "not coalesced: %zu fragments", st.free_blocks);

    /* Degenerate heaps: too small for any block. */
    alloc_init(r.base, 0);
    CHECK(kalloc_malloc(1) == NULL && alloc_check() == 0, "empty heap");
    alloc_init(NULL, 1 << 20);
    CHECK(kalloc_malloc(1) == NULL && alloc_check() == 0, "NULL heap");
    alloc_init(r.base + 3, 40);
    CHECK(kalloc_malloc(0) == NULL && alloc_check() == 0, "40-byte heap");
    alloc_init(r.base + 1, 160);
    void *p = kalloc_malloc(0);
    CHECK(p && alloc_check() == 0, "160-byte heap holds a block");
    kalloc_free(p);
    region_free(&r);
    return true;
}

/* A child process must die through plat_abort (exit 255). */
static bool expect_abort(void (*fn)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", 1);
        if (devnull >= 0)
            dup2(devnull, 2);
        fn();
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 255;
}

static void do_double_free(void)
{
    use_big();
    void *p = kalloc_malloc(10);
    kalloc_free(p);
    kalloc_free(p);
}

static void do_interior_free(void)
{
    use_big();
    char *p = kalloc_malloc(100);
    kalloc_free(p + 16);
}

static void do_foreign_free(void)
{
    use_big();
    static char x[64] __attribute__((aligned(16)));
    kalloc_free(x + 16);
}

static void do_misaligned_free(void)
{
    use_big();
    char *p = kalloc_malloc(100);
    kalloc_free(p + 1);
}

static void do_bad_realloc(void)
{
    use_big();
    void *p = kalloc_malloc(10);
    kalloc_free(p);
    kalloc_realloc(p, 100);
}

static void do_good_free(void)
{
    use_big();
    void *p = kalloc_malloc(10);
    kalloc_free(p);
}

static bool t_bad_pointers(void)
{
    CHECK(!expect_abort(do_good_free), "a valid free aborted");
    CHECK(expect_abort(do_double_free), "double free not caught");
    CHECK(expect_abort(do_interior_free), "interior pointer not caught");
    CHECK(expect_abort(do_foreign_free), "foreign pointer not caught");
    CHECK(expect_abort(do_misaligned_free), "misaligned pointer not caught");
    CHECK(expect_abort(do_bad_realloc), "realloc of a freed block not caught");
    return true;
}

/* Mixed workload with random lifetimes; fragmentation sampled over time.
 *   internal = (block bytes - requested bytes) / block bytes
 *   external = (footprint - block bytes) / footprint, where the footprint
 *              is the heap up to the end of the highest live block: the
 *              holes the allocator could not reuse
 *   total    = (footprint - requested bytes) / footprint
 */
static bool t_fragmentation(void)
{
    use_big();
    enum { STEPS = 400000, MAXLIVE = 60000 };
    static struct { unsigned char *p; size_t n; long death; } live[MAXLIVE];
    size_t nlive = 0, req = 0, blk = 0;
    double worst_int = 0, worst_ext = 0, worst_tot = 0, sum_int = 0, sum_ext = 0, sum_tot = 0;
    double worst_split = 0, sum_split = 0, worst_bound = 0;
    size_t peak_req = 0, peak_foot = 0;
    int samples = 0;

    for (long step = 0; step < STEPS; step++) {
        /* Free what died (swap-remove; order does not matter). */
        for (size_t i = 0; i < nlive;) {
            if (live[i].death <= step) {
                req -= live[i].n;
                blk -= alloc_usable_size(live[i].p) + HDR;
                kalloc_free(live[i].p);
                live[i] = live[--nlive];
            } else {
                i++;
            }
            if (i >= 64 && step % 8)    /* scan a bounded prefix most steps */
                break;
        }
        /* Sizes: mostly small objects, some buffers, rare large ones;
         * lifetimes: short for most, a long-lived minority. */
        uint64_t r = rnd() % 1000;
        size_t n;
        if (r < 550)
            n = rnd_range(8, 96);
        else if (r < 800)
            n = rnd_range(97, 512);
        else if (r < 950)
            n = rnd_range(513, 4096);
        else if (r < 995)
            n = rnd_range(4097, 32768);
        else
            n = rnd_range(32769, 262144);
        uint64_t lr = rnd() % 100;
        long life = lr < 70 ? (long)rnd_range(1, 200) : lr < 95 ? (long)rnd_range(200, 5000)
                                                               : (long)rnd_range(5000, 100000);
        if (nlive < MAXLIVE) {
            unsigned char *p = kalloc_malloc(n);
            CHECK(p, "step %ld: malloc(%zu) failed", step, n);
            live[nlive].p = p;
            live[nlive].n = n;
            live[nlive].death = step + life;
            nlive++;
            req += n;
            blk += alloc_usable_size(p) + HDR;
        }
        if (req > peak_req)
            peak_req = req;

        if (step % 1000 == 999 && step > 50000) {
            const char *top = heap_lo;
            for (size_t i = 0; i < nlive; i++) {
                const char *e = (const char *)live[i].p + alloc_usable_size(live[i].p);
                if (e > top)
                    top = e;
            }
            size_t foot = (size_t)(top - heap_lo);
            if (foot > peak_foot)
                peak_foot = foot;
            struct alloc_stats st;
            alloc_stats(&st);
            CHECK(st.in_use_bytes == blk, "in_use %zu, model %zu", st.in_use_bytes, blk);
            /* Deterministic bound: each block wastes at most 39 bytes
             * beyond its request (8 header + 15 rounding + 16 unsplit). */
            CHECK(blk - req <= 39 * nlive, "internal waste %zu > 39 * %zu", blk - req, nlive);
            double fb = 39.0 * (double)nlive / (double)blk;
            if (fb > worst_bound)
                worst_bound = fb;
            double fi = (double)(blk - req) / (double)blk;
            double fe = (double)(foot - blk) / (double)foot;
            double ft = (double)(foot - req) / (double)foot;
            /* Classic free-space splitting measure, below the footprint. */
            double fs = 1.0 - (double)st.largest_free / (double)st.free_bytes;
            sum_int += fi;
            sum_ext += fe;
            sum_tot += ft;
            sum_split += fs;
            if (fi > worst_int)
                worst_int = fi;
            if (fe > worst_ext)
                worst_ext = fe;
            if (ft > worst_tot)
                worst_tot = ft;
            if (fs > worst_split)
                worst_split = fs;
            samples++;
        }
    }
    CHECK_HEAP();
    for (size_t i = 0; i < nlive; i++)
        kalloc_free(live[i].p);
    CHECK_HEAP();
    double peak_ratio = (double)peak_foot / (double)peak_req;
    printf("    fragmentation, %d samples (peak live %zu KiB requested, %zu KiB footprint):\n", samples,
           peak_req >> 10, peak_foot >> 10);
    printf("      internal  avg %5.2f%%  worst %5.2f%%  (analytic bound 39 B/block: worst %5.2f%%)\n",
           100 * sum_int / samples, 100 * worst_int, 100 * worst_bound);
    printf("      external  avg %5.2f%%  worst %5.2f%%  (free holes below the highest live block)\n",
           100 * sum_ext / samples, 100 * worst_ext);
    printf("      total     avg %5.2f%%  worst %5.2f%%\n", 100 * sum_tot / samples, 100 * worst_tot);
    printf("      peak footprint / peak requested = %.3f\n", peak_ratio);
    printf("      1 - largest_free/free_bytes (whole heap): avg %5.2f%%  worst %5.2f%%\n",
           100 * sum_split / samples, 100 * worst_split);
    /*
     * Bounds.  Internal: proven per block (asserted exactly above at every
     * sample); for this size mix the proven bound is a few percent, so
     * 5% is a bound with proof, not a measurement.  External/total: no
     * non-moving allocator has a useful worst-case bound (Robson), so
     * these are empirical: over seeds 1..30 this workload gave external
     * avg 25-30% / worst 38-53% and peak ratio 1.17-1.35 (long-lived
     * objects pin the footprint while short-lived ones come and go; a
     * different fit policy inside the classes changed nothing measurable).
     * The bounds leave ~25% headroom for other seeds; a worst-fit policy
     * does not even complete this workload in the 64 MiB heap.
     */
    CHECK(worst_int < 0.05, "internal fragmentation %.3f", worst_int);
    CHECK(sum_ext / samples < 0.40, "average external fragmentation %.3f", sum_ext / samples);
    CHECK(worst_ext < 0.66, "external fragmentation %.3f", worst_ext);
    CHECK(worst_tot < 0.67, "total fragmentation %.3f", worst_tot);
    CHECK(peak_ratio < 1.60, "peak footprint ratio %.3f", peak_ratio);
    return true;
}

/* Throughput of the O(1) paths with a large live set (informative). */
static bool t_speed(void)
{
    use_big();
    enum { LIVE = 20000, OPS = 2000000 };
    static void *v[LIVE];
    for (int i = 0; i < LIVE; i++)
        v[i] = kalloc_malloc(rnd_range(1, 1024));
    static uint32_t idx[OPS];
    static uint16_t sz[OPS];
    for (int i = 0; i < OPS; i++) {
        idx[i] = (uint32_t)(rnd() % LIVE);
        sz[i] = (uint16_t)rnd_range(1, 1024);
    }
    double t0 = now_s();
    for (int i = 0; i < OPS; i++) {
        kalloc_free(v[idx[i]]);
        v[idx[i]] = kalloc_malloc(sz[i]);
    }
    double dt = now_s() - t0;
    for (int i = 0; i < LIVE; i++)
        CHECK(v[i], "malloc failed");
    CHECK_HEAP();
    for (int i = 0; i < LIVE; i++)
        kalloc_free(v[i]);
    printf("    free+malloc pair: %.1f ns (host), %d live blocks\n", dt * 1e9 / OPS, LIVE);
    return true;
}

#if CHECK_STATS
static bool t_stats_counters(void)
{
    use_big();
    void *a = kalloc_malloc(1000), *b = kalloc_malloc(3000);
    kalloc_free(a);
    CHECK(kalloc_malloc(SIZE_MAX) == NULL, "huge");
    struct alloc_stats st;
    alloc_stats(&st);
    CHECK(st.total_allocs == 2 && st.total_frees == 1 && st.failed_allocs == 1, "counters %llu %llu %llu",
          st.total_allocs, st.total_frees, st.failed_allocs);
    CHECK(st.peak_in_use_bytes == block_for(1000) + block_for(3000), "peak %zu", st.peak_in_use_bytes);
    kalloc_free(b);
    return true;
}
#endif

/* ------------------------------------------------------------------ */

static int passed, failed;
static const char *running_test = "?";

/* Watchdog: a hang (e.g. a lost wake-up) is a failure, not a stuck run. */
static void on_alarm(int sig)
{
    (void)sig;
    char buf[256];
    int n = snprintf(buf, sizeof buf, "FAIL %s: timed out\n%d passed, %d failed\n", running_test, passed,
                     failed + 1);
    if (write(1, buf, (size_t)n) < 0)
        _exit(3);
    _exit(1);
}
static uint64_t seed;

static void run(const char *name, bool (*fn)(void))
{
    /* Each test gets its own stream: its numbers do not depend on what
     * the tests before it consumed. */
    rng_state = (seed + (uint64_t)(passed + failed + 1)) * 0x9E3779B97F4A7C15ull;
    if (rng_state == 0)
        rng_state = 1;
    fail_msg[0] = 0;
    running_test = name;
    alarm(40);
    double t0 = now_s();
    bool ok = fn();
    alarm(0);
    double dt = now_s() - t0;
    if (ok) {
        passed++;
        printf("ok   %-22s (%.2f s)\n", name, dt);
    } else {
        failed++;
        printf("FAIL %-22s %s\n", name, fail_msg);
    }
    fflush(stdout);
}

int main(void)
{
    signal(SIGALRM, on_alarm);
    seed = getenv("SEED") ? strtoull(getenv("SEED"), NULL, 0) : 1;
    printf("alloc host tests, SEED=%llu\n", (unsigned long long)seed);
    run("lazy_init", t_lazy_init);           /* must be first */
    big = region_new(BIG_SIZE);
    run("init_is_o1", t_init_is_o1);
    run("basic", t_basic);
    run("exact_fit", t_exact_fit);
    run("calloc", t_calloc);
    run("realloc", t_realloc);
    run("aligned", t_aligned);
    run("stress", t_stress);
    run("coalesce_all", t_coalesce_all);
    run("oom", t_oom);
    run("bad_pointers", t_bad_pointers);
    run("fragmentation", t_fragmentation);
    run("speed", t_speed);
#if CHECK_STATS
    run("stats_counters", t_stats_counters);
#endif
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
