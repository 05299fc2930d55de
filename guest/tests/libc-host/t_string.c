/*
 * string.h vs glibc on random buffers at every alignment and length up to
 * a few hundred bytes (and some big ones): copies including overlapping
 * memmove both ways, fills, comparisons (sign), searches, tokenizers,
 * strerror.  Run twice: the x86 build of string.c and the portable C one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>
#include "harness.h"

struct strfns {
    const char *name;
    void *(*memcpy)(void *, const void *, size_t);
    void *(*memmove)(void *, const void *, size_t);
    void *(*memset)(void *, int, size_t);
    int (*memcmp)(const void *, const void *, size_t);
    void *(*memchr)(const void *, int, size_t);
    void *(*memrchr)(const void *, int, size_t);
    void *(*mempcpy)(void *, const void *, size_t);
    size_t (*strlen)(const char *);
    size_t (*strnlen)(const char *, size_t);
    int (*strcmp)(const char *, const char *);
    int (*strncmp)(const char *, const char *, size_t);
    int (*strcoll)(const char *, const char *);
    int (*strcasecmp)(const char *, const char *);
    int (*strncasecmp)(const char *, const char *, size_t);
    char *(*strcpy)(char *, const char *);
    char *(*stpcpy)(char *, const char *);
    char *(*strncpy)(char *, const char *, size_t);
    char *(*strcat)(char *, const char *);
    char *(*strncat)(char *, const char *, size_t);
    char *(*strchr)(const char *, int);
    char *(*strchrnul)(const char *, int);
    char *(*strrchr)(const char *, int);
    char *(*strstr)(const char *, const char *);
    size_t (*strspn)(const char *, const char *);
    size_t (*strcspn)(const char *, const char *);
    char *(*strpbrk)(const char *, const char *);
    char *(*strtok)(char *, const char *);
    char *(*strtok_r)(char *, const char *, char **);
    char *(*strsep)(char **, const char *);
};

#define FNS(prefix, label)                                                                  \
    {                                                                                       \
        label, prefix##memcpy, prefix##memmove, prefix##memset, prefix##memcmp,             \
            prefix##memchr, prefix##memrchr, prefix##mempcpy, prefix##strlen,               \
            prefix##strnlen, prefix##strcmp, prefix##strncmp, prefix##strcoll,              \
            prefix##strcasecmp, prefix##strncasecmp, prefix##strcpy, prefix##stpcpy,        \
            prefix##strncpy, prefix##strcat, prefix##strncat, prefix##strchr,               \
            prefix##strchrnul, prefix##strrchr, prefix##strstr, prefix##strspn,             \
            prefix##strcspn, prefix##strpbrk, prefix##strtok, prefix##strtok_r,             \
            prefix##strsep                                                                  \
    }

static const struct strfns variants[] = {
    FNS(kiln_, "x86"),
    FNS(kiln_noasm_, "portable"),
};

static int sign(int v)
{
    return (v > 0) - (v < 0);
}

#define N 600
static unsigned char A[N + 64], B[N + 64], G[N + 64], K[N + 64];

static void fill_random(unsigned char *p, size_t n, unsigned alpha)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(alpha ? 'a' + h_randn(alpha) : h_rand());
}

static void copies(const struct strfns *f)
{
    for (size_t len = 0; len < 300; len += (len < 40 ? 1 : 7))
        for (size_t da = 0; da < 8; da++)
            for (size_t sa = 0; sa < 8; sa++) {
                fill_random(A, N, 0);
                memcpy(G, A + 300, N - 300);
                memcpy(K, A + 300, N - 300);
                void *gr = memcpy(G + da, A + sa, len);
                void *kr = f->memcpy(K + da, A + sa, len);
                CHECK(memcmp(G, K, N - 300) == 0 && kr == K + da && gr == G + da,
                      "%s memcpy len %zu da %zu sa %zu", f->name, len, da, sa);
                memcpy(G, A + 300, N - 300);
                memcpy(K, A + 300, N - 300);
                kr = f->mempcpy(K + da, A + sa, len);
                memcpy(G + da, A + sa, len);
                CHECK(memcmp(G, K, N - 300) == 0 && kr == K + da + len, "%s mempcpy len %zu",
                      f->name, len);

                int c = (int)h_randn(256) - (h_randn(4) ? 0 : 512);
                memset(G + da, c, len);
                f->memset(K + da, c, len);
                CHECK(memcmp(G, K, N - 300) == 0, "%s memset len %zu da %zu c %d", f->name, len, da, c);

                /* memmove in both directions, all overlaps. */
                for (int back = 0; back < 2; back++) {
                    size_t d = back ? da + sa : da, s = back ? da : da + sa;
                    memcpy(G, A, N);
                    memcpy(K, A, N);
                    memmove(G + d, G + s, len);
                    kr = f->memmove(K + d, K + s, len);
                    CHECK(memcmp(G, K, N) == 0 && kr == K + d, "%s memmove len %zu dst %zu src %zu",
                          f->name, len, d, s);
                }
            }
    /* Big overlapping moves. */
    for (int i = 0; i < 200; i++) {
        size_t len = h_randn(N - 40), d = h_randn(40), s = h_randn(40);
        fill_random(A, N, 0);
        memcpy(G, A, N);
        memcpy(K, A, N);
        memmove(G + d, G + s, len);
        f->memmove(K + d, K + s, len);
        CHECK(memcmp(G, K, N) == 0, "%s memmove big len %zu d %zu s %zu", f->name, len, d, s);
    }
    {
        static unsigned char big1[1 << 16], big2[1 << 16];
        fill_random(big1, sizeof big1, 0);
        f->memcpy(big2, big1, sizeof big1);
        CHECK(memcmp(big1, big2, sizeof big1) == 0, "%s memcpy 64K", f->name);
        f->memmove(big2 + 3, big2, sizeof big2 - 3);
        CHECK(memcmp(big2 + 3, big1, sizeof big2 - 3) == 0, "%s memmove 64K up", f->name);
        f->memmove(big2, big2 + 3, sizeof big2 - 3);
        CHECK(memcmp(big2, big1, sizeof big2 - 3) == 0, "%s memmove 64K down", f->name);
    }
}

static void compares(const struct strfns *f)
{
    for (int iter = 0; iter < 40000; iter++) {
        size_t len = h_randn(100), oa = h_randn(8), ob = h_randn(8);
        unsigned alpha = h_randn(3) ? 3 : 0;
        fill_random(A + oa, len + 1, alpha);
        memcpy(B + ob, A + oa, len + 1);
        /* Sometimes change one byte, sometimes the terminator position. */
        if (len && h_randn(4)) {
            size_t at = h_randn((unsigned)len);
            B[ob + at] = h_randn(2) ? (unsigned char)h_rand() : (unsigned char)(B[ob + at] + 1);
        }
        size_t n = h_randn((unsigned)len + 3);
        CHECK(sign(memcmp(A + oa, B + ob, n)) == sign(f->memcmp(A + oa, B + ob, n)),
              "%s memcmp n %zu", f->name, n);
        A[oa + len] = 0;
        B[ob + len - (len && h_randn(3) == 0)] = 0;
        const char *sa = (const char *)A + oa, *sb = (const char *)B + ob;
        CHECK(sign(strcmp(sa, sb)) == sign(f->strcmp(sa, sb)), "%s strcmp %s %s", f->name,
              h_quote(sa, strlen(sa)), h_quote(sb, strlen(sb)));
        CHECK(sign(strncmp(sa, sb, n)) == sign(f->strncmp(sa, sb, n)), "%s strncmp n %zu", f->name, n);
        CHECK(sign(strcoll(sa, sb)) == sign(f->strcoll(sa, sb)), "%s strcoll", f->name);
        CHECK(sign(strcasecmp(sa, sb)) == sign(f->strcasecmp(sa, sb)), "%s strcasecmp %s %s",
              f->name, h_quote(sa, strlen(sa)), h_quote(sb, strlen(sb)));
        CHECK(sign(strncasecmp(sa, sb, n)) == sign(f->strncasecmp(sa, sb, n)), "%s strncasecmp",
              f->name);
    }
    /* Case folding only touches ASCII letters. */
    for (int c = 1; c < 256; c++)
        for (int d = 1; d < 256; d += 5) {
            char x[2] = { (char)c, 0 }, y[2] = { (char)d, 0 };
            CHECK(sign(strcasecmp(x, y)) == sign(f->strcasecmp(x, y)), "%s strcasecmp %d %d",
                  f->name, c, d);
        }
}

static void searches(const struct strfns *f)
{
    for (int iter = 0; iter < 30000; iter++) {
        size_t len = h_randn(200), oa = h_randn(16);
        unsigned alpha = h_randn(2) ? 4 : 0;
        fill_random(A + oa, len, alpha);
        for (size_t i = 0; i < len; i++)
            if (!A[oa + i])
                A[oa + i] = 1;
        A[oa + len] = 0;
        A[oa + len + 1] = (unsigned char)h_rand();
        const char *s = (const char *)A + oa;
        int c = h_randn(8) ? (int)('a' + h_randn(5)) : (int)h_rand() % 512;
        if (h_randn(20) == 0)
            c = 0;
        size_t n = h_randn((unsigned)len + 2);

        CHECK(memchr(s, c, n) == f->memchr(s, c, n), "%s memchr len %zu c %d", f->name, n, c);
        CHECK(memrchr(s, c, n) == f->memrchr(s, c, n), "%s memrchr len %zu c %d", f->name, n, c);
        CHECK(strlen(s) == f->strlen(s), "%s strlen %zu off %zu", f->name, len, oa);
        CHECK(strnlen(s, n) == f->strnlen(s, n), "%s strnlen", f->name);
        CHECK(strchr(s, c) == f->strchr(s, c), "%s strchr c %d in %s", f->name, c, h_quote(s, len));
        CHECK(strchrnul(s, c) == f->strchrnul(s, c), "%s strchrnul c %d", f->name, c);
        CHECK(strrchr(s, c) == f->strrchr(s, c), "%s strrchr c %d", f->name, c);

        char set[8];
        size_t sl = h_randn(5);
        for (size_t i = 0; i < sl; i++)
            set[i] = (char)(alpha && h_randn(4) ? 'a' + h_randn(6) : 1 + h_randn(255));
        set[sl] = 0;
        CHECK(strspn(s, set) == f->strspn(s, set), "%s strspn %s in %s", f->name,
              h_quote(set, sl), h_quote(s, len));
        CHECK(strcspn(s, set) == f->strcspn(s, set), "%s strcspn %s", f->name, h_quote(set, sl));
        CHECK(strpbrk(s, set) == f->strpbrk(s, set), "%s strpbrk %s", f->name, h_quote(set, sl));

        char needle[8];
        size_t nl = h_randn(6);
        if (len && h_randn(2)) {
            size_t at = h_randn((unsigned)len);
            for (size_t i = 0; i < nl; i++)
                needle[i] = at + i < len ? s[at + i] : 'a';
        } else {
            for (size_t i = 0; i < nl; i++)
                needle[i] = (char)('a' + h_randn(4));
        }
        needle[nl] = 0;
        CHECK(strstr(s, needle) == f->strstr(s, needle), "%s strstr %s in %s", f->name,
              h_quote(needle, nl), h_quote(s, len));
    }
    /* Every alignment of the terminator for the word-at-a-time scans. */
    for (size_t off = 0; off < 16; off++)
        for (size_t len = 0; len < 40; len++) {
            memset(A, 'x', sizeof A);
            A[off + len] = 0;
            const char *s = (const char *)A + off;
            CHECK(f->strlen(s) == len, "%s strlen off %zu len %zu", f->name, off, len);
            CHECK(f->strchr(s, 0) == s + len && f->strchr(s, 'y') == NULL
                      && f->strchrnul(s, 'y') == s + len,
                  "%s strchr off %zu len %zu", f->name, off, len);
            A[off + len] = 'y';
            A[off + len + 1] = 0;
            CHECK(f->strchr(s, 'y') == s + len && f->memchr(s, 'y', len + 1) == s + len
                      && f->memchr(s, 'y', len) == NULL,
                  "%s strchr y off %zu len %zu", f->name, off, len);
            /* High bytes must not look like matches or terminators. */
            A[off + len] = 0x80;
            A[off + len + 1] = 0;
            CHECK(f->strlen(s) == len + 1 && f->strchr(s, 0x80) == s + len
                      && f->strchr(s, 0x80 - 256) == s + len,
                  "%s high byte off %zu len %zu", f->name, off, len);
        }
}

static void string_copies(const struct strfns *f)
{
    for (int iter = 0; iter < 20000; iter++) {
        char src[128], g[300], k[300];
        size_t len = h_randn(100), n = h_randn(120);
        size_t dlen = h_randn(50);
        fill_random((unsigned char *)src, len, 26);
        src[len] = 0;
        memset(g, 'Q', sizeof g);
        memset(k, 'Q', sizeof k);
        fill_random((unsigned char *)g, dlen, 26);
        memcpy(k, g, dlen);
        g[dlen] = k[dlen] = 0;

        size_t off = h_randn(8);
        char *gr, *kr;
        switch (iter % 6) {
        case 0:
            gr = strcpy(g + off, src);
            kr = f->strcpy(k + off, src);
            break;
        case 1:
            gr = stpcpy(g + off, src);
            kr = f->stpcpy(k + off, src);
            break;
        case 2:
            gr = strncpy(g + off, src, n);
            kr = f->strncpy(k + off, src, n);
            break;
        case 3:
            gr = strcat(g, src);
            kr = f->strcat(k, src);
            off = 0;
            break;
        case 4:
            gr = strncat(g, src, n);
            kr = f->strncat(k, src, n);
            off = 0;
            break;
        default:
            gr = g + off;
            kr = k + off;
            break;
        }
        CHECK(memcmp(g, k, sizeof g) == 0 && gr - g == kr - k, "%s string copy %d len %zu n %zu",
              f->name, iter % 6, len, n);
    }
}

static void tokenizers(const struct strfns *f)
{
    for (int iter = 0; iter < 20000; iter++) {
        char g[64], k[64], delim[4];
        size_t len = h_randn(40);
        for (size_t i = 0; i < len; i++)
            g[i] = "ab,; "[h_randn(5)];
        g[len] = 0;
        memcpy(k, g, len + 1);
        size_t dl = h_randn(4);
        for (size_t i = 0; i < dl; i++)
            delim[i] = ",; "[h_randn(3)];
        delim[dl] = 0;

        char *gs, *ks;
        char *gt = strtok_r(g, delim, &gs), *kt = f->strtok_r(k, delim, &ks);
        int ok = 1;
        for (int t = 0; t < 50 && ok; t++) {
            ok = (gt ? gt - g : -1) == (kt ? kt - k : -1);
            if (!gt || !ok)
                break;
            gt = strtok_r(NULL, delim, &gs);
            kt = f->strtok_r(NULL, delim, &ks);
        }
        CHECK(ok && memcmp(g, k, len + 1) == 0, "%s strtok_r %s", f->name, h_quote(g, len));

        memcpy(g, k, len + 1);
        for (size_t i = 0; i < len; i++)
            g[i] = g[i] ? g[i] : ',';
        memcpy(k, g, len + 1);
        gt = strtok(g, delim);
        kt = f->strtok(k, delim);
        ok = 1;
        for (int t = 0; t < 50 && ok; t++) {
            ok = (gt ? gt - g : -1) == (kt ? kt - k : -1);
            if (!gt || !ok)
                break;
            gt = strtok(NULL, delim);
            kt = f->strtok(NULL, delim);
        }
        CHECK(ok, "%s strtok", f->name);

        for (size_t i = 0; i < len; i++)
            g[i] = g[i] ? g[i] : ';';
        memcpy(k, g, len + 1);
        char *gp = g, *kp = k;
        ok = 1;
        for (int t = 0; t < 60 && ok; t++) {
            gt = strsep(&gp, delim);
            kt = f->strsep(&kp, delim);
            ok = (gt ? gt - g : -1) == (kt ? kt - k : -1) && (gp ? gp - g : -1) == (kp ? kp - k : -1);
            if (!gt)
                break;
        }
        CHECK(ok && memcmp(g, k, len + 1) == 0, "%s strsep", f->name);
    }
}

static void errors_and_dup(void)
{
    for (int e = -5; e < 140; e++) {
        const char *g = strerror(e);
        char gcopy[128];
        snprintf(gcopy, sizeof gcopy, "%s", g);
        const char *k = kiln_strerror(e);
        CHECK(strcmp(gcopy, k) == 0, "strerror(%d): glibc %s kiln %s", e, gcopy, k);
    }
    static const int odd[] = { 1000, 65535, 2147483647, -2147483647 - 1, 41, 58 };
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        char gcopy[128];
        snprintf(gcopy, sizeof gcopy, "%s", strerror(odd[i]));
        CHECK(strcmp(gcopy, kiln_strerror(odd[i])) == 0, "strerror(%d): %s vs %s", odd[i], gcopy,
              kiln_strerror(odd[i]));
    }

    for (int e = -5; e < 140; e++) {
        const char *g = strerrorname_np(e), *k = kiln_strerrorname_np(e);
        CHECK(g ? k && strcmp(g, k) == 0 : !k, "strerrorname_np(%d): glibc %s kiln %s", e,
              g ? g : "NULL", k ? k : "NULL");
    }

    char *d = kiln_strdup("duplicate me");
    CHECK(d && strcmp(d, "duplicate me") == 0, "strdup");
    free(d);
    d = kiln_strndup("duplicate me", 4);
    CHECK(d && strcmp(d, "dupl") == 0, "strndup");
    free(d);
    d = kiln_strndup("ab", 10);
    CHECK(d && strcmp(d, "ab") == 0, "strndup short");
    free(d);
}

/* Strings that end at the very end of a page followed by an unmapped
 * one: the word-at-a-time scans must not touch the next page. */
static void page_end(const struct strfns *f)
{
    long pg = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED && mprotect(m + pg, (size_t)pg, PROT_NONE) == 0, "guard page");
    if (m == MAP_FAILED)
        return;
    for (size_t len = 0; len < 40; len++) {
        char *s = m + pg - len - 1;
        memset(s, 'a', len);
        s[len] = 0;
        char *end = m + pg;
        CHECK(f->strlen(s) == len && f->strnlen(s, len + 5) == len, "%s strlen at page end %zu",
              f->name, len);
        CHECK(f->strchr(s, 'z') == NULL && f->strchr(s, 0) == s + len
                  && f->strchrnul(s, 'z') == s + len && f->strrchr(s, 'a') == (len ? s + len - 1 : NULL),
              "%s strchr at page end %zu", f->name, len);
        CHECK(f->memchr(s, 'z', len + 1) == NULL && f->memchr(s, 0, len + 1) == s + len,
              "%s memchr at page end %zu", f->name, len);
        CHECK(f->strcmp(s, s) == 0 && f->strncmp(s, s, 100) == 0 && f->strcasecmp(s, s) == 0,
              "%s strcmp at page end %zu", f->name, len);
        CHECK(f->strspn(s, "a") == len && f->strcspn(s, "z") == len && f->strcspn(s, "zy") == len
                  && f->strpbrk(s, "zy") == NULL && f->strstr(s, "ab") == NULL,
              "%s spans at page end %zu", f->name, len);
        CHECK(f->memcmp(s, s, len + 1) == 0 && end - s == (long)len + 1, "%s memcmp at page end", f->name);
    }
    munmap(m, (size_t)pg * 2);
}

void test_string(void)
{
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        copies(&variants[v]);
        compares(&variants[v]);
        searches(&variants[v]);
        string_copies(&variants[v]);
        tokenizers(&variants[v]);
        page_end(&variants[v]);
    }
    errors_and_dup();
}
