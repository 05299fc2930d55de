/*
 * <string.h> memory and string functions.
 *
 * Every guest instruction is expensive (about a microsecond when the
 * hypervisor emulates), so the bulk paths do as few instructions per byte
 * as they can:
 *   - memcpy/memmove/memset use the x86 string instructions eight bytes at
 *     a time (rep movsq/stosq) and a byte tail;
 *   - scans (strlen, memchr, strchr, ...) test a whole 64-bit word per step
 *     with the "has a zero byte" trick on naturally aligned words.  An
 *     aligned word never crosses a page, so reading the bytes of the word
 *     that follow the terminator cannot fault.
 * Defining KILN_LIBC_NO_ASM (or building for another architecture) selects
 * portable C for the x86 parts; the host tests check both.
 *
 * This file calls no function outside itself (the tests rely on that).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#if defined(__x86_64__) && !defined(KILN_LIBC_NO_ASM)
#define USE_X86_STRING 1
#else
#define USE_X86_STRING 0
#endif

typedef unsigned long __attribute__((__may_alias__)) word_t;
typedef unsigned long __attribute__((__may_alias__, __aligned__(1))) uword_t;

#define WSIZE       sizeof(word_t)
#define ONES        ((word_t)-1 / 0xff)              /* 0x0101...01 */
#define HIGHS       (ONES * 0x80)                    /* 0x8080...80 */
/* Non-zero iff some byte of x is zero; its lowest set bit is exactly at
 * the first (lowest-addressed, little-endian) zero byte. */
#define HASZERO(x)  (((x) - ONES) & ~(x) & HIGHS)

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FIRSTBYTE(mask) ((size_t)__builtin_ctzl(mask) / 8)
#else
#define FIRSTBYTE(mask) ((size_t)__builtin_clzl(mask) / 8)
#endif

#define ALIGNED(p)  (((uintptr_t)(p) & (WSIZE - 1)) == 0)

void *memcpy(void *__restrict dst, const void *__restrict src, size_t n)
{
#if USE_X86_STRING
    void *ret = dst;
    size_t words = n >> 3, tail = n & 7;
    __asm__ __volatile__("rep movsq\n\t"
                         "mov %[tail], %%rcx\n\t"
                         "rep movsb"
                         : "+D"(dst), "+S"(src), "+c"(words)
                         : [tail] "r"(tail)
                         : "memory");
    return ret;
#else
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (; n >= WSIZE; n -= WSIZE, d += WSIZE, s += WSIZE)
        *(uword_t *)d = *(const uword_t *)s;
    while (n--)
        *d++ = *s++;
    return dst;
#endif
}

void *mempcpy(void *__restrict dst, const void *__restrict src, size_t n)
{
    return (char *)memcpy(dst, src, n) + n;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    /* Copying forwards is safe unless dst starts inside src. */
    if ((uintptr_t)d - (uintptr_t)s >= n) {
#if USE_X86_STRING
        return memcpy(dst, src, n);     /* rep movs copies in order */
#else
        /* Not memcpy: its restrict would let the compiler reorder. */
        for (; n >= WSIZE; n -= WSIZE, d += WSIZE, s += WSIZE)
            *(uword_t *)d = *(const uword_t *)s;
        while (n--)
            *d++ = *s++;
        return dst;
#endif
    }
#if USE_X86_STRING
    {
        /* Backwards: the byte tail at the top first, then whole words. */
        size_t words = n >> 3, tail = n & 7;
        const unsigned char *se = s + n - 1;
        unsigned char *de = d + n - 1;
        __asm__ __volatile__("std\n\t"
                             "rep movsb\n\t"
                             "sub $7, %%rsi\n\t"
                             "sub $7, %%rdi\n\t"
                             "mov %[words], %%rcx\n\t"
                             "rep movsq\n\t"
                             "cld"
                             : "+D"(de), "+S"(se), "+c"(tail)
                             : [words] "r"(words)
                             : "memory", "cc");
    }
#else
    while (n >= WSIZE) {
        n -= WSIZE;
        *(uword_t *)(d + n) = *(const uword_t *)(s + n);
    }
    while (n--)
        d[n] = s[n];
#endif
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
#if USE_X86_STRING
    void *ret = dst;
    size_t words = n >> 3, tail = n & 7;
    unsigned long v = (unsigned char)c * ONES;
    __asm__ __volatile__("rep stosq\n\t"
                         "mov %[tail], %%rcx\n\t"
                         "rep stosb"
                         : "+D"(dst), "+c"(words)
                         : "a"(v), [tail] "r"(tail)
                         : "memory");
    return ret;
#else
    unsigned char *d = dst;
    word_t v = (unsigned char)c * ONES;
    for (; n >= WSIZE; n -= WSIZE, d += WSIZE)
        *(uword_t *)d = v;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
#endif
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;

    /* Skip equal words (unaligned loads are fine on x86 and inside the
     * buffers); the byte loop then finds the difference. */
    for (; n >= WSIZE; n -= WSIZE, x += WSIZE, y += WSIZE)
        if (*(const uword_t *)x != *(const uword_t *)y)
            break;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

void *memchr(const void *s, int c, size_t n)
{
    const unsigned char *p = s;
    unsigned char ch = (unsigned char)c;

    for (; n && !ALIGNED(p); n--, p++)
        if (*p == ch)
            return (void *)p;
    if (n >= WSIZE) {
        word_t cc = ch * ONES;
        const word_t *w = (const word_t *)p;
        for (; n >= WSIZE; n -= WSIZE, w++) {
            word_t m = HASZERO(*w ^ cc);
            if (m)
                return (void *)((const unsigned char *)w + FIRSTBYTE(m));
        }
        p = (const unsigned char *)w;
    }
    for (; n; n--, p++)
        if (*p == ch)
            return (void *)p;
    return NULL;
}

void *memrchr(const void *s, int c, size_t n)
{
    const unsigned char *p = (const unsigned char *)s + n;
    unsigned char ch = (unsigned char)c;

    while (n--)
        if (*--p == ch)
            return (void *)p;
    return NULL;
}

size_t strlen(const char *s)
{
    const char *a = s;

    for (; !ALIGNED(s); s++)
        if (!*s)
            return (size_t)(s - a);
    const word_t *w = (const word_t *)s;
    word_t m;
    while (!(m = HASZERO(*w)))
        w++;
    return (size_t)((const char *)w - a) + FIRSTBYTE(m);
}

size_t strnlen(const char *s, size_t maxlen)
{
    const char *z = memchr(s, 0, maxlen);
    return z ? (size_t)(z - s) : maxlen;
}

char *strchrnul(const char *s, int c)
{
    unsigned char ch = (unsigned char)c;

    if (!ch)
        return (char *)s + strlen(s);
    for (; !ALIGNED(s); s++)
        if (!*s || *(const unsigned char *)s == ch)
            return (char *)s;
    word_t cc = ch * ONES;
    const word_t *w = (const word_t *)s;
    word_t m;
    while (!(m = HASZERO(*w) | HASZERO(*w ^ cc)))
        w++;
    return (char *)w + FIRSTBYTE(m);
}

char *strchr(const char *s, int c)
{
    char *p = strchrnul(s, c);
    return *(unsigned char *)p == (unsigned char)c ? p : NULL;
}

char *strrchr(const char *s, int c)
{
    return memrchr(s, c, strlen(s) + 1);
}

int strcmp(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a;
    const unsigned char *y = (const unsigned char *)b;

    while (*x && *x == *y)
        x++, y++;
    return *x - *y;
}

int strncmp(const char *a, const char *b, size_t n)
{
    const unsigned char *x = (const unsigned char *)a;
    const unsigned char *y = (const unsigned char *)b;

    if (!n)
        return 0;
    while (--n && *x && *x == *y)
        x++, y++;
    return *x - *y;
}

int strcoll(const char *a, const char *b)
{
    return strcmp(a, b);
}

static inline int lower(int c)
{
    return (unsigned)c - 'A' < 26 ? c | 32 : c;
}

int strcasecmp(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a;
    const unsigned char *y = (const unsigned char *)b;

    while (*x && lower(*x) == lower(*y))
        x++, y++;
    return lower(*x) - lower(*y);
}

int strncasecmp(const char *a, const char *b, size_t n)
{
    const unsigned char *x = (const unsigned char *)a;
    const unsigned char *y = (const unsigned char *)b;

    if (!n)
        return 0;
    while (--n && *x && lower(*x) == lower(*y))
        x++, y++;
    return lower(*x) - lower(*y);
}

char *stpcpy(char *__restrict dst, const char *__restrict src)
{
    size_t n = strlen(src);
    memcpy(dst, src, n + 1);
    return dst + n;
}

char *strcpy(char *__restrict dst, const char *__restrict src)
{
    memcpy(dst, src, strlen(src) + 1);
    return dst;
}

char *strncpy(char *__restrict dst, const char *__restrict src, size_t n)
{
    size_t k = strnlen(src, n);
    memcpy(dst, src, k);
    memset(dst + k, 0, n - k);
    return dst;
}

char *strcat(char *__restrict dst, const char *__restrict src)
{
    strcpy(dst + strlen(dst), src);
    return dst;
}

char *strncat(char *__restrict dst, const char *__restrict src, size_t n)
{
    char *d = dst + strlen(dst);
    size_t k = strnlen(src, n);
    memcpy(d, src, k);
    d[k] = '\0';
    return dst;
}

/* A 256-bit set of bytes. */
struct byteset {
    unsigned long w[4];
};

static inline void set_build(struct byteset *set, const char *chars)
{
    set->w[0] = set->w[1] = set->w[2] = set->w[3] = 0;
    for (const unsigned char *p = (const unsigned char *)chars; *p; p++)
        set->w[*p >> 6] |= 1ul << (*p & 63);
}

static inline int set_has(const struct byteset *set, unsigned char c)
{
    return (set->w[c >> 6] >> (c & 63)) & 1;
}

size_t strspn(const char *s, const char *accept)
{
    const unsigned char *p = (const unsigned char *)s;
    struct byteset set;

    if (!accept[0])
        return 0;
    if (!accept[1]) {
        while (*p == (unsigned char)accept[0])
            p++;
        return (size_t)(p - (const unsigned char *)s);
    }
    set_build(&set, accept);
    while (*p && set_has(&set, *p))
        p++;
    return (size_t)(p - (const unsigned char *)s);
}

size_t strcspn(const char *s, const char *reject)
{
    const unsigned char *p = (const unsigned char *)s;
    struct byteset set;

    if (!reject[0] || !reject[1])
        return (size_t)(strchrnul(s, reject[0]) - s);
    set_build(&set, reject);
    set.w[0] |= 1;                      /* the terminator stops the scan */
    while (!set_has(&set, *p))
        p++;
    return (size_t)(p - (const unsigned char *)s);
}

char *strpbrk(const char *s, const char *accept)
{
    s += strcspn(s, accept);
    return *s ? (char *)s : NULL;
}

/*
 * Candidates are found with strchr on the needle's first byte, then
 * compared.  Worst case O(len(haystack) * len(needle)), which only
 * pathological inputs reach.
 */
char *strstr(const char *haystack, const char *needle)
{
    size_t nlen;

    if (!needle[0])
        return (char *)haystack;
    nlen = strlen(needle);
    for (const char *h = haystack; (h = strchr(h, needle[0])) != NULL; h++) {
        size_t i = 1;
        while (i < nlen && h[i] == needle[i])
            i++;
        if (i == nlen)
            return (char *)h;
        if (!h[i])
            return NULL;                /* haystack ended inside a match */
    }
    return NULL;
}

char *strtok_r(char *__restrict s, const char *__restrict delim, char **__restrict save)
{
    if (!s)
        s = *save;
    s += strspn(s, delim);
    if (!*s) {
        *save = s;
        return NULL;
    }
    char *end = s + strcspn(s, delim);
    if (*end)
        *end++ = '\0';
    *save = end;
    return s;
}

char *strtok(char *__restrict s, const char *__restrict delim)
{
    static char *save;
    return strtok_r(s, delim, &save);
}

char *strsep(char **__restrict sp, const char *__restrict delim)
{
    char *s = *sp;
    if (!s)
        return NULL;
    char *end = s + strcspn(s, delim);
    if (*end)
        *end++ = '\0', *sp = end;
    else
        *sp = NULL;
    return s;
}
