/*
 * guest/lib/musl/src/string_sse2.c against glibc's routines: random lengths (mostly the short
 * ones programs make, some long enough for the 64-byte loops and `rep movsb`), random alignments,
 * overlapping memmove both ways, and scans that end exactly at a page followed by an unmapped one
 * (an aligned 16-byte load must never touch it). The object under test has its symbols renamed
 * k_memcpy, k_memmove, ... by run.sh, so glibc's own stay the reference.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void *k_memcpy(void *, const void *, size_t);
void *k_memmove(void *, const void *, size_t);
void *k_memset(void *, int, size_t);
void *k_memchr(const void *, int, size_t);
int k_memcmp(const void *, const void *, size_t);
size_t k_strlen(const char *);

#define AREA 12000
static int sign(int x) { return (x > 0) - (x < 0); }

static int fail(const char *what, size_t n, size_t o1, size_t o2)
{
    printf("FAIL %s n=%zu offsets %zu %zu\n", what, n, o1, o2);
    return 1;
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 200000;
    unsigned char *a = malloc(AREA), *b = malloc(AREA), *c = malloc(AREA), *ref = malloc(AREA);
    srand(1);
    for (long it = 0; it < rounds; it++) {
        size_t n = rand() % 3 ? (size_t)rand() % 130 : (size_t)rand() % 5000;
        if (it % 1000 == 0) n = 2048 + rand() % 4000;      /* the rep movsb/stosb range */
        size_t o1 = rand() % 64, o2 = rand() % 64;
        for (int i = 0; i < AREA; i++) { a[i] = rand(); b[i] = a[i]; c[i] = rand(); }

        memcpy(ref, c, AREA);
        if (k_memcpy(c + o1, a + o2, n) != c + o1) return fail("memcpy return", n, o1, o2);
        memcpy(ref + o1, a + o2, n);
        if (memcmp(ref, c, AREA)) return fail("memcpy", n, o1, o2);

        memcpy(ref, a, AREA);                               /* overlapping, either direction */
        memmove(ref + o1, ref + o2, n);
        if (k_memmove(a + o1, a + o2, n) != a + o1) return fail("memmove return", n, o1, o2);
        if (memcmp(ref, a, AREA)) return fail("memmove", n, o1, o2);

        memcpy(ref, a, AREA);
        int v = rand();
        memset(ref + o1, v, n);
        if (k_memset(a + o1, v, n) != a + o1) return fail("memset return", n, o1, o2);
        if (memcmp(ref, a, AREA)) return fail("memset", n, o1, o2);

        int ch = a[o1 + (n ? rand() % n : 0)] ^ (rand() % 4 == 0);
        if (k_memchr(a + o1, ch, n) != memchr(a + o1, ch, n)) return fail("memchr", n, o1, o2);

        memcpy(b, a, AREA);
        if (n && rand() % 2) b[o1 + rand() % n] ^= 1 << (rand() % 8);
        if (sign(k_memcmp(a + o1, b + o1, n)) != sign(memcmp(a + o1, b + o1, n)))
            return fail("memcmp", n, o1, o2);

        a[o1 + n] = 0;
        if (k_strlen((char *)a + o1) != strlen((char *)a + o1)) return fail("strlen", n, o1, o2);
    }

    /* Page edges: the last k bytes of a page whose successor is PROT_NONE. */
    unsigned char *pg = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pg == MAP_FAILED || mprotect(pg + 4096, 4096, PROT_NONE)) { perror("mmap"); return 1; }
    memset(pg, 'x', 4096);
    pg[4095] = 0;
    for (size_t k = 1; k <= 100; k++) {
        unsigned char *p = pg + 4096 - k;
        if (k_strlen((char *)p) != k - 1) return fail("strlen at a page end", k, 0, 0);
        if (k_memchr(p, 'q', k)) return fail("memchr at a page end", k, 0, 0);
        if (k_memcmp(p, p, k)) return fail("memcmp at a page end", k, 0, 0);
    }
    for (size_t k = 1; k <= 100; k++) {                     /* copies that end at the page end */
        unsigned char *p = pg + 4096 - k;
        k_memcpy(pg, p, k);
        k_memmove(p, pg + 1, k);
        k_memset(p, 'y', k);
        if (p[0] != 'y' || p[k - 1] != 'y') return fail("memset at a page end", k, 0, 0);
    }
    printf("strings: %ld random rounds and 100 page-edge cases match glibc\n", rounds);
    return 0;
}
