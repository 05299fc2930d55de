/*
 * The memory and string routines a C program spends its time in, with 16-byte SSE2 loads.
 *
 * musl's x86-64 memcpy/memset are `rep movsq` plus a byte loop (`movsb`) for the tail, and its
 * memchr/memcmp/strlen are byte or word loops in C. For the short copies real programs make (Lua's
 * strings, printf's pieces: 1-40 bytes) the rep start-up and the microcoded byte moves cost more
 * than the copy: Lua built on musl ran its benchmark at 0.74x the same source on glibc, 7% of the
 * time in memcpy alone (perf, issue 11). These versions move short blocks with two overlapping
 * loads and stores (no loop, no branch per byte), long ones 64 bytes per iteration, and leave very
 * long ones to `rep movsb`/`rep stosb`, which current CPUs run at cache speed (ERMS).
 *
 * SSE2 is part of x86-64 itself, so an image stays runnable on any x86-64 host. Loads never cross
 * into a page the caller did not name: the scans (memchr, strlen) read whole aligned 16-byte
 * blocks, which never straddle a page.
 *
 * These objects are linked before musl's libc.a, so the archive's own members for these names are
 * never pulled in (memmove is here too: musl's memmove.s jumps into its memcpy.s).
 */
#include <emmintrin.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t u64_unaligned __attribute__((may_alias, aligned(1)));
typedef uint32_t u32_unaligned __attribute__((may_alias, aligned(1)));
typedef uint16_t u16_unaligned __attribute__((may_alias, aligned(1)));

#define LOAD16(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
#define STORE16(p, v) _mm_storeu_si128((__m128i *)(void *)(p), (v))

/* At and above this many bytes `rep movsb`/`rep stosb` beats the vector loop. */
#define REP_THRESHOLD 2048

/*
 * Copies n <= 64 bytes, reading everything before writing anything, so it is also a correct
 * memmove for overlapping buffers of that size.
 */
static inline void copy_small(unsigned char *d, const unsigned char *s, size_t n)
{
    if (n >= 32) {
        __m128i a = LOAD16(s), b = LOAD16(s + 16), c = LOAD16(s + n - 32), e = LOAD16(s + n - 16);
        STORE16(d, a);
        STORE16(d + 16, b);
        STORE16(d + n - 32, c);
        STORE16(d + n - 16, e);
    } else if (n >= 16) {
        __m128i a = LOAD16(s), b = LOAD16(s + n - 16);
        STORE16(d, a);
        STORE16(d + n - 16, b);
    } else if (n >= 8) {
        uint64_t a = *(const u64_unaligned *)s, b = *(const u64_unaligned *)(s + n - 8);
        *(u64_unaligned *)d = a;
        *(u64_unaligned *)(d + n - 8) = b;
    } else if (n >= 4) {
        uint32_t a = *(const u32_unaligned *)s, b = *(const u32_unaligned *)(s + n - 4);
        *(u32_unaligned *)d = a;
        *(u32_unaligned *)(d + n - 4) = b;
    } else if (n >= 2) {
        uint16_t a = *(const u16_unaligned *)s, b = *(const u16_unaligned *)(s + n - 2);
        *(u16_unaligned *)d = a;
        *(u16_unaligned *)(d + n - 2) = b;
    } else if (n == 1) {
        *d = *s;
    }
}

static inline void rep_movsb(unsigned char *d, const unsigned char *s, size_t n)
{
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

/* Forward copy of n > 64 bytes; correct for overlap when d < s. */
static void copy_forward(unsigned char *d, const unsigned char *s, size_t n)
{
    /* the last 64 bytes are loaded first: with d < s the loop below may overwrite them */
    __m128i t0 = LOAD16(s + n - 64), t1 = LOAD16(s + n - 48), t2 = LOAD16(s + n - 32), t3 = LOAD16(s + n - 16);
    unsigned char *end = d + n;
    while (n > 64) {
        __m128i a = LOAD16(s), b = LOAD16(s + 16), c = LOAD16(s + 32), e = LOAD16(s + 48);
        STORE16(d, a);
        STORE16(d + 16, b);
        STORE16(d + 32, c);
        STORE16(d + 48, e);
        d += 64;
        s += 64;
        n -= 64;
    }
    STORE16(end - 64, t0);
    STORE16(end - 48, t1);
    STORE16(end - 32, t2);
    STORE16(end - 16, t3);
}

/* Backward copy of n > 64 bytes; correct for overlap when d > s. */
static void copy_backward(unsigned char *d, const unsigned char *s, size_t n)
{
    __m128i h0 = LOAD16(s), h1 = LOAD16(s + 16), h2 = LOAD16(s + 32), h3 = LOAD16(s + 48);
    unsigned char *start = d;
    while (n > 64) {
        __m128i a = LOAD16(s + n - 16), b = LOAD16(s + n - 32), c = LOAD16(s + n - 48), e = LOAD16(s + n - 64);
        STORE16(d + n - 16, a);
        STORE16(d + n - 32, b);
        STORE16(d + n - 48, c);
        STORE16(d + n - 64, e);
        n -= 64;
    }
    STORE16(start, h0);
    STORE16(start + 16, h1);
    STORE16(start + 32, h2);
    STORE16(start + 48, h3);
}

void *memcpy(void *restrict dest, const void *restrict src, size_t n)
{
    unsigned char *d = dest;
    const unsigned char *s = src;
    if (n <= 64) copy_small(d, s, n);
    else if (n >= REP_THRESHOLD) rep_movsb(d, s, n);
    else copy_forward(d, s, n);
    return dest;
}

void *memmove(void *dest, const void *src, size_t n)
{
    unsigned char *d = dest;
    const unsigned char *s = src;
    if (n <= 64) copy_small(d, s, n);
    else if ((uintptr_t)d - (uintptr_t)s >= n) {
        /* d before s, or no overlap: a forward copy never reads what it already wrote */
        if (n >= REP_THRESHOLD && (uintptr_t)s - (uintptr_t)d >= n) rep_movsb(d, s, n);
        else copy_forward(d, s, n);
    } else {
        copy_backward(d, s, n);
    }
    return dest;
}

void *memset(void *dest, int c, size_t n)
{
    unsigned char *d = dest;
    if (n >= 16) {
        __m128i v = _mm_set1_epi8((char)c);
        if (n >= REP_THRESHOLD) {
            size_t count = n;
            __asm__ volatile("rep stosb" : "+D"(d), "+c"(count) : "a"(c) : "memory");
            return dest;
        }
        unsigned char *end = d + n;
        while (end - d > 64) {
            STORE16(d, v);
            STORE16(d + 16, v);
            STORE16(d + 32, v);
            STORE16(d + 48, v);
            d += 64;
        }
        while (end - d > 16) {
            STORE16(d, v);
            d += 16;
        }
        STORE16(end - 16, v);
    } else if (n >= 8) {
        uint64_t v = 0x0101010101010101ull * (unsigned char)c;
        *(u64_unaligned *)d = v;
        *(u64_unaligned *)(d + n - 8) = v;
    } else if (n >= 4) {
        uint32_t v = 0x01010101u * (unsigned char)c;
        *(u32_unaligned *)d = v;
        *(u32_unaligned *)(d + n - 4) = v;
    } else {
        for (size_t i = 0; i < n; i++) d[i] = (unsigned char)c;
    }
    return dest;
}

void *memchr(const void *src, int c, size_t n)
{
    if (n == 0) return NULL;
    const unsigned char *s = src;
    uintptr_t offset = (uintptr_t)s & 15;
    const unsigned char *block = s - offset;
    __m128i needle = _mm_set1_epi8((char)c);
    /* the first aligned block, with the bytes before s masked off */
    unsigned mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128((const __m128i *)(const void *)block), needle));
    mask &= 0xffffu << offset;
    size_t scanned = 16 - offset; /* bytes of [s, s + n) the first block covered */
    for (;;) {
        if (mask) {
            size_t at = (size_t)(block - s) + (size_t)__builtin_ctz(mask);
            return at < n ? (void *)(s + at) : NULL;
        }
        if (scanned >= n) return NULL;
        block += 16;
        scanned += 16;
        mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128((const __m128i *)(const void *)block), needle));
    }
}

size_t strlen(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    uintptr_t offset = (uintptr_t)s & 15;
    const unsigned char *block = s - offset;
    __m128i zero = _mm_setzero_si128();
    unsigned mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128((const __m128i *)(const void *)block), zero));
    mask &= 0xffffu << offset;
    while (!mask) {
        block += 16;
        mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128((const __m128i *)(const void *)block), zero));
    }
    return (size_t)(block - s) + (size_t)__builtin_ctz(mask);
}

int memcmp(const void *left, const void *right, size_t n)
{
    const unsigned char *a = left, *b = right;
    while (n >= 16) {
        unsigned eq = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(LOAD16(a), LOAD16(b)));
        if (eq != 0xffffu) {
            unsigned i = (unsigned)__builtin_ctz(~eq);
            return a[i] - b[i];
        }
        a += 16;
        b += 16;
        n -= 16;
    }
    if (n >= 8) {
        /* byte-swapped, the first differing byte decides the unsigned order */
        uint64_t x = __builtin_bswap64(*(const u64_unaligned *)a), y = __builtin_bswap64(*(const u64_unaligned *)b);
        if (x != y) return x < y ? -1 : 1;
        x = __builtin_bswap64(*(const u64_unaligned *)(a + n - 8));
        y = __builtin_bswap64(*(const u64_unaligned *)(b + n - 8));
        return x == y ? 0 : x < y ? -1 : 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i]) return a[i] - b[i];
    }
    return 0;
}
