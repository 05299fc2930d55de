/*
 * qsort/qsort_r/bsearch: random arrays (many sizes, few or many distinct
 * keys, presorted, reversed, organ pipe, all equal) of ints, longs, bytes
 * and odd-sized records, compared with glibc's qsort; comparison counts
 * stay O(n log n) even on inputs that break naive quicksorts.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

static unsigned long ncmp;

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    ncmp++;
    return (x > y) - (x < y);
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static int cmp_uchar(const void *a, const void *b)
{
    return *(const unsigned char *)a - *(const unsigned char *)b;
}

struct rec { int key; char payload[9]; };   /* 16 bytes, 4-aligned, not 8 */
struct rec3 { unsigned char b[3]; };        /* 3 bytes */

static int cmp_rec(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    return (x->key > y->key) - (x->key < y->key);
}

static int cmp_rec3(const void *a, const void *b)
{
    return memcmp(a, b, 2);                 /* the third byte is payload */
}

static int cmp_int_r(const void *a, const void *b, void *arg)
{
    int dir = *(int *)arg;
    int x = *(const int *)a, y = *(const int *)b;
    return dir * ((x > y) - (x < y));
}

static void gen(int *v, size_t n, int kind)
{
    for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case 0: v[i] = (int)h_rand(); break;
        case 1: v[i] = (int)h_randn(4); break;
        case 2: v[i] = (int)i; break;
        case 3: v[i] = (int)(n - i); break;
        case 4: v[i] = (int)(i < n / 2 ? i : n - i); break;
        case 5: v[i] = 7; break;
        default: v[i] = (int)(i % 2 ? i : n + i); break;
        }
    }
}

void test_qsort(void)
{
    static int a[5000], b[5000];
    for (int kind = 0; kind < 7; kind++)
        for (size_t n = 0; n < 300; n += (n < 40 ? 1 : 13))
            for (int rep = 0; rep < 3; rep++) {
                gen(a, n, kind);
                memcpy(b, a, n * sizeof a[0]);
                qsort(a, n, sizeof a[0], cmp_int);
                kiln_qsort(b, n, sizeof b[0], cmp_int);
                CHECK(memcmp(a, b, n * sizeof a[0]) == 0, "qsort int kind %d n %zu", kind, n);
                /* bsearch: every element, and misses. */
                int ok = 1;
                for (size_t i = 0; i < n && ok; i++) {
                    int *p = kiln_bsearch(&a[i], b, n, sizeof b[0], cmp_int);
                    ok = p && *p == a[i];
                    int miss = a[i] + 1;
                    int *q = kiln_bsearch(&miss, b, n, sizeof b[0], cmp_int);
                    int *gq = bsearch(&miss, a, n, sizeof a[0], cmp_int);
                    ok = ok && !q == !gq;
                }
                CHECK(ok, "bsearch kind %d n %zu", kind, n);
            }

    /* Comparison counts on large inputs of every shape. */
    for (int kind = 0; kind < 7; kind++) {
        size_t n = 5000;
        gen(a, n, kind);
        memcpy(b, a, sizeof a);
        qsort(a, n, sizeof a[0], cmp_int);
        ncmp = 0;
        kiln_qsort(b, n, sizeof b[0], cmp_int);
        CHECK(memcmp(a, b, sizeof a) == 0, "qsort 5000 kind %d", kind);
        CHECK(ncmp < 3 * n * 13, "qsort 5000 kind %d: %lu comparisons", kind, ncmp);
    }
    /* Median-of-3 killer style input: still O(n log n) thanks to the
     * heapsort fallback. */
    {
        size_t n = 5000;
        for (size_t i = 0; i < n; i++)
            a[i] = (int)(i % 2 ? n / 2 + i : i);
        memcpy(b, a, sizeof a);
        qsort(a, n, sizeof a[0], cmp_int);
        ncmp = 0;
        kiln_qsort(b, n, sizeof b[0], cmp_int);
        CHECK(memcmp(a, b, sizeof a) == 0 && ncmp < 3 * n * 13, "qsort killer: %lu", ncmp);
    }

    /* Other element sizes and alignments. */
    for (int iter = 0; iter < 300; iter++) {
        size_t n = h_randn(200);
        static long la[200], lb[200];
        for (size_t i = 0; i < n; i++)
            la[i] = (long)h_rand() >> h_randn(60);
        memcpy(lb, la, n * sizeof la[0]);
        qsort(la, n, sizeof la[0], cmp_long);
        kiln_qsort(lb, n, sizeof lb[0], cmp_long);
        CHECK(memcmp(la, lb, n * sizeof la[0]) == 0, "qsort long n %zu", n);

        static unsigned char ca[201], cb[201];
        for (size_t i = 0; i < n; i++)
            ca[i + 1] = (unsigned char)h_rand();
        memcpy(cb, ca, n + 1);
        qsort(ca + 1, n, 1, cmp_uchar);
        kiln_qsort(cb + 1, n, 1, cmp_uchar);
        CHECK(memcmp(ca, cb, n + 1) == 0, "qsort bytes n %zu", n);

        /* Unstable sort of records: same key sequence, same multiset. */
        static struct rec ra[200], rb[200];
        for (size_t i = 0; i < n; i++) {
            ra[i].key = (int)h_randn(20);
            snprintf(ra[i].payload, sizeof ra[i].payload, "%zu", i);
        }
        memcpy(rb, ra, n * sizeof ra[0]);
        kiln_qsort(rb, n, sizeof rb[0], cmp_rec);
        int ok = 1;
        for (size_t i = 1; i < n; i++)
            ok &= rb[i - 1].key <= rb[i].key;
        unsigned long sa = 0, sb = 0;
        for (size_t i = 0; i < n; i++) {
            sa += (unsigned long)(strtoul(ra[i].payload, NULL, 10) + 1) * (unsigned long)(ra[i].key + 1);
            sb += (unsigned long)(strtoul(rb[i].payload, NULL, 10) + 1) * (unsigned long)(rb[i].key + 1);
        }
        CHECK(ok && sa == sb, "qsort records n %zu", n);

        static struct rec3 ta[200], tb[200];
        for (size_t i = 0; i < n; i++) {
            ta[i].b[0] = (unsigned char)h_randn(3);
            ta[i].b[1] = (unsigned char)h_randn(3);
            ta[i].b[2] = (unsigned char)i;
        }
        memcpy(tb, ta, n * sizeof ta[0]);
        kiln_qsort(tb, n, sizeof tb[0], cmp_rec3);
        ok = 1;
        unsigned long xa = 0, xb = 0;
        for (size_t i = 0; i < n; i++) {
            if (i)
                ok &= memcmp(&tb[i - 1], &tb[i], 2) <= 0;
            xa += (ta[i].b[2] + 1u) * (ta[i].b[0] * 3u + ta[i].b[1] + 1u);
            xb += (tb[i].b[2] + 1u) * (tb[i].b[0] * 3u + tb[i].b[1] + 1u);
        }
        CHECK(ok && xa == xb, "qsort 3-byte records n %zu", n);

        /* qsort_r with a descending argument. */
        int dir = -1;
        gen(a, n, 0);
        memcpy(b, a, n * sizeof a[0]);
        qsort_r(a, n, sizeof a[0], cmp_int_r, &dir);
        kiln_qsort_r(b, n, sizeof b[0], cmp_int_r, &dir);
        CHECK(memcmp(a, b, n * sizeof a[0]) == 0, "qsort_r n %zu", n);
    }
    CHECK(kiln_bsearch(&a[0], a, 0, sizeof a[0], cmp_int) == NULL, "bsearch empty");
}
