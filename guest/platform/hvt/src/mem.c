/*
 * GCC requires a freestanding environment to provide memcpy, memmove,
 * memset and memcmp: it may emit calls to them for struct copies and
 * initialisers even with -fno-builtin.  These are minimal byte loops,
 * defined weak so that a real libc linked later wins; --gc-sections drops
 * them from images that never call them.  A C library that comes as an
 * archive (musl) cannot win that way: the linker pulls an archive member
 * only for a symbol still undefined, and these weak ones define it; so
 * they are left out when musl is in the image (CONFIG_LIB_MUSL).  build.sh compiles everything with
 * -fno-tree-loop-distribute-patterns, which stops GCC from turning these
 * very loops back into (recursive) calls to themselves.
 */
#include <stddef.h>

#ifndef CONFIG_LIB_MUSL

/* No libc headers here (-nostdinc): declare what we define. */
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

__attribute__((weak)) void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}

__attribute__((weak)) void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d < s) {
        while (n--)
            *d++ = *s++;
    } else if (d > s) {
        while (n--)
            d[n] = s[n];
    }
    return dst;
}

__attribute__((weak)) void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

__attribute__((weak)) int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

#endif /* CONFIG_LIB_MUSL */
