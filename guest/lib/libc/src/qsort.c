/*
 * qsort, qsort_r: introsort.  Quicksort with a median-of-three pivot
 * (ninther above 64 elements) and a Hoare partition that stops on equal
 * keys (so runs of equal keys split evenly), an explicit stack of the
 * larger halves (at most log2(n) deep: no recursion), insertion sort below
 * 12 elements and heapsort when a partition goes too deep, which bounds
 * the worst case to O(n log n).  Not stable.  Elements are swapped a word
 * at a time when size and alignment allow.
 *
 * bsearch: the usual binary search.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define INSERTION_MAX 12

typedef unsigned long __attribute__((__may_alias__)) word_t;
typedef unsigned int __attribute__((__may_alias__)) u32_t;

enum swap_kind { SWAP_BYTES, SWAP_WORDS, SWAP_WORD, SWAP_U32 };

struct ctx {
    size_t size;
    enum swap_kind kind;
    int (*cmp)(const void *, const void *, void *);
    int (*cmp2)(const void *, const void *);    /* qsort's, when set */
    void *arg;
};

static inline int cmp(const struct ctx *c, const void *a, const void *b)
{
    return c->cmp2 ? c->cmp2(a, b) : c->cmp(a, b, c->arg);
}

static inline void swap(const struct ctx *c, char *a, char *b)
{
    if (c->kind == SWAP_WORD) {
        word_t t = *(word_t *)a;
        *(word_t *)a = *(word_t *)b;
        *(word_t *)b = t;
    } else if (c->kind == SWAP_U32) {
        u32_t t = *(u32_t *)a;
        *(u32_t *)a = *(u32_t *)b;
        *(u32_t *)b = t;
    } else if (c->kind == SWAP_WORDS) {
        for (size_t i = 0; i < c->size; i += sizeof(word_t)) {
            word_t t = *(word_t *)(a + i);
            *(word_t *)(a + i) = *(word_t *)(b + i);
            *(word_t *)(b + i) = t;
        }
    } else {
        for (size_t i = 0; i < c->size; i++) {
            char t = a[i];
            a[i] = b[i];
            b[i] = t;
        }
    }
}

static void insertion_sort(const struct ctx *c, char *base, size_t n)
{
    size_t size = c->size;
    for (size_t i = 1; i < n; i++)
        for (char *p = base + i * size; p > base && cmp(c, p - size, p) > 0; p -= size)
            swap(c, p - size, p);
}

static inline char *median3(const struct ctx *c, char *a, char *b, char *d)
{
    if (cmp(c, a, b) < 0) {
        if (cmp(c, b, d) < 0)
            return b;
        return cmp(c, a, d) < 0 ? d : a;
    }
    if (cmp(c, b, d) > 0)
        return b;
    return cmp(c, a, d) > 0 ? d : a;
}

static void sift_down(const struct ctx *c, char *base, size_t root, size_t n)
{
    size_t size = c->size;
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && cmp(c, base + child * size, base + (child + 1) * size) < 0)
            child++;
        if (cmp(c, base + root * size, base + child * size) >= 0)
            return;
        swap(c, base + root * size, base + child * size);
        root = child;
    }
}

static void heap_sort(const struct ctx *c, char *base, size_t n)
{
    for (size_t i = n / 2; i-- > 0; )
        sift_down(c, base, i, n);
    for (size_t end = n - 1; end > 0; end--) {
        swap(c, base, base + end * c->size);
        sift_down(c, base, 0, end);
    }
}

static void sort(const struct ctx *c, char *base, size_t n)
{
    struct { char *base; size_t n; unsigned depth; } stack[64];
    unsigned sp = 0;
    size_t size = c->size;
    unsigned depth = 0;

    /* Depth budget: 2 * floor(log2(n)). */
    for (size_t m = n; m > 1; m >>= 1)
        depth += 2;

    for (;;) {
        while (n > INSERTION_MAX) {
            if (depth == 0) {
                heap_sort(c, base, n);
                break;
            }
            depth--;

            /* Pivot to the front. */
            char *lo = base, *hi = base + (n - 1) * size, *mid = base + (n / 2) * size;
            if (n > 64) {
                size_t e = (n / 8) * size;
                lo = median3(c, lo, lo + e, lo + 2 * e);
                mid = median3(c, mid - e, mid, mid + e);
                hi = median3(c, hi - 2 * e, hi - e, hi);
            }
            char *pv = median3(c, lo, mid, hi);
            if (pv != base)
                swap(c, base, pv);

            /* Hoare partition around base[0]. */
            char *i = base + size, *j = base + (n - 1) * size;
            for (;;) {
                while (i <= j && cmp(c, i, base) < 0)
                    i += size;
                while (j >= i && cmp(c, j, base) > 0)
                    j -= size;
                if (i >= j)
                    break;
                swap(c, i, j);
                i += size;
                j -= size;
            }
            /* [base+1, j] <= pivot <= [j+1, end); put the pivot at j. */
            if (j != base)
                swap(c, base, j);

            size_t nl = (size_t)(j - base) / size;
            size_t nr = n - nl - 1;
            char *right = j + size;
            /* Loop on the smaller side, stack the larger one. */
            if (nl < nr) {
                stack[sp].base = right;
                stack[sp].n = nr;
                stack[sp].depth = depth;
                sp++;
                n = nl;
            } else {
                stack[sp].base = base;
                stack[sp].n = nl;
                stack[sp].depth = depth;
                sp++;
                base = right;
                n = nr;
            }
        }
        if (n <= INSERTION_MAX)
            insertion_sort(c, base, n);
        if (!sp)
            return;
        sp--;
        base = stack[sp].base;
        n = stack[sp].n;
        depth = stack[sp].depth;
    }
}

static void setup(struct ctx *c, void *base, size_t size)
{
    c->size = size;
    if (size % sizeof(word_t) == 0 && (uintptr_t)base % sizeof(word_t) == 0)
        c->kind = size == sizeof(word_t) ? SWAP_WORD : SWAP_WORDS;
    else if (size == 4 && (uintptr_t)base % 4 == 0)
        c->kind = SWAP_U32;
    else
        c->kind = SWAP_BYTES;
}

void qsort_r(void *base, size_t n, size_t size,
             int (*cmpf)(const void *, const void *, void *), void *arg)
{
    struct ctx c;
    if (n < 2 || !size)
        return;
    setup(&c, base, size);
    c.cmp = cmpf;
    c.cmp2 = NULL;
    c.arg = arg;
    sort(&c, base, n);
}

void qsort(void *base, size_t n, size_t size, int (*cmpf)(const void *, const void *))
{
    struct ctx c;
    if (n < 2 || !size)
        return;
    setup(&c, base, size);
    c.cmp = NULL;
    c.cmp2 = cmpf;
    c.arg = NULL;
    sort(&c, base, n);
}

void *bsearch(const void *key, const void *base, size_t n, size_t size,
              int (*cmpf)(const void *, const void *))
{
    const char *lo = base;

    while (n) {
        const char *mid = lo + (n / 2) * size;
        int r = cmpf(key, mid);
        if (r == 0)
            return (void *)mid;
        if (r > 0) {
            lo = mid + size;
            n -= n / 2 + 1;
        } else {
            n /= 2;
        }
    }
    return NULL;
}
