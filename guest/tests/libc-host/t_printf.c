/*
 * printf family vs glibc: every flag combination x widths x precisions x
 * length modifiers x conversions x edge values, then %c %s %p %% %m %n,
 * wide characters, unknown conversions, incomplete formats and random
 * formats.  Each case compares vsnprintf's bytes, return value and errno
 * at full size and at one small (truncating) size, and checks that
 * nothing is written past the terminator.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>
#include <wchar.h>
#include "harness.h"

#define BUFSZ 1024
static char gbuf[BUFSZ + 64], kbuf[BUFSZ + 64];
static int test_errno;          /* errno both libraries see at the call (for %m) */
static unsigned rot;

static void cmp_size(const char *fmt, size_t size, va_list ap)
{
    va_list a1, a2;

    memset(gbuf, 0xa5, sizeof gbuf);
    memset(kbuf, 0xa5, sizeof kbuf);
    va_copy(a1, ap);
    errno = test_errno;
    int gr = vsnprintf(size ? gbuf : NULL, size, fmt, a1);
    int ge = errno;
    va_end(a1);
    va_copy(a2, ap);
    kiln_errno = test_errno;
    int kr = kiln_vsnprintf(size ? kbuf : NULL, size, fmt, a2);
    int ke = kiln_errno;
    va_end(a2);

    if (gr < 0) {
        CHECK(kr == gr && ke == ge, "fmt %s size %zu: glibc -1 errno %d, kiln %d errno %d",
              h_quote(fmt, strlen(fmt)), size, ge, kr, ke);
        return;
    }
    size_t written = size ? ((size_t)gr < size - 1 ? (size_t)gr : size - 1) : 0;
    int ok = kr == gr && ke == ge;
    if (ok && size)
        ok = memcmp(gbuf, kbuf, written + 1) == 0;
    if (ok)
        for (size_t i = size ? written + 1 : 0; i < size + 16 && i < sizeof kbuf; i++)
            if ((unsigned char)kbuf[i] != 0xa5) {
                ok = 0;
                break;
            }
    CHECK(ok, "fmt %s size %zu: glibc %d %s errno %d | kiln %d %s errno %d",
          h_quote(fmt, strlen(fmt)), size, gr, h_quote(gbuf, size ? written : 0), ge, kr,
          h_quote(kbuf, size ? written + 1 : 0), ke);
}

/* Compare at full size and at one rotating smaller size. */
static void cmp(const char *fmt, ...)
{
    static const size_t small[] = { 0, 1, 2, 3, 4, 6, 9, 17 };
    va_list ap;

    va_start(ap, fmt);
    cmp_size(fmt, BUFSZ, ap);
    cmp_size(fmt, small[rot++ % (sizeof small / sizeof small[0])], ap);
    va_end(ap);
}

/* Also compare sprintf/vsprintf (unbounded). */
static void cmp_sprintf(const char *fmt, ...)
{
    va_list ap, a1, a2;

    va_start(ap, fmt);
    memset(gbuf, 0xa5, sizeof gbuf);
    memset(kbuf, 0xa5, sizeof kbuf);
    va_copy(a1, ap);
    int gr = vsprintf(gbuf, fmt, a1);
    va_end(a1);
    va_copy(a2, ap);
    int kr = kiln_vsprintf(kbuf, fmt, a2);
    va_end(a2);
    va_end(ap);
    CHECK(gr == kr && gr >= 0 && memcmp(gbuf, kbuf, (size_t)gr + 2) == 0,
          "sprintf fmt %s: glibc %d %s kiln %d %s", h_quote(fmt, strlen(fmt)), gr,
          h_quote(gbuf, gr > 0 ? (size_t)gr : 0), kr, h_quote(kbuf, kr > 0 ? (size_t)kr : 0));
}

/* ---- The systematic part ---- */

static const char flag_chars[] = "-+ #0";

struct field {
    const char *text;
    int star;                   /* consumes an int argument */
    int value;                  /* its value */
};

static const struct field widths[] = {
    { "", 0, 0 }, { "1", 0, 0 }, { "5", 0, 0 }, { "25", 0, 0 },
    { "*", 1, -10 }, { "*", 1, 0 }, { "*", 1, 20 },
};

static const struct field precs[] = {
    { "", 0, 0 }, { ".", 0, 0 }, { ".0", 0, 0 }, { ".1", 0, 0 }, { ".5", 0, 0 },
    { ".25", 0, 0 }, { ".*", 1, -1 }, { ".*", 1, 0 }, { ".*", 1, 7 },
};

enum { LN, LHH, LH, LL, LLL, LJ, LZ, LT, LBIGL, LQ, LBIGZ };
static const char *const lens[] = { "", "hh", "h", "l", "ll", "j", "z", "t", "L", "q", "Z" };

static const unsigned long long int_values[] = {
    0, 1, 7, 8, 10, 15, 16, 100, 127, 128, 255, 256, 32767, 65535, 65536,
    0x7fffffffull, 0x80000000ull, 0xffffffffull, 0x123456789abcdefull,
    0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull, ~0ull - 1, (unsigned long long)-129,
    (unsigned long long)INT_MIN, 4294967296ull, 999999999999ull,
};

static void call_int(const char *fmt, int ns, int s1, int s2, int len, int sgn,
                     unsigned long long v)
{
#define CALLN(arg)                                      \
    do {                                                \
        if (ns == 0)                                    \
            cmp(fmt, arg);                              \
        else if (ns == 1)                               \
            cmp(fmt, s1, arg);                          \
        else                                            \
            cmp(fmt, s1, s2, arg);                      \
    } while (0)

    switch (len) {
    case LN: case LHH: case LH:
        if (sgn)
            CALLN((int)v);
        else
            CALLN((unsigned)v);
        break;
    case LL:
        if (sgn)
            CALLN((long)v);
        else
            CALLN((unsigned long)v);
        break;
    case LJ:
        if (sgn)
            CALLN((intmax_t)v);
        else
            CALLN((uintmax_t)v);
        break;
    case LZ: case LBIGZ:
        if (sgn)
            CALLN((ssize_t)v);
        else
            CALLN((size_t)v);
        break;
    case LT:
        CALLN((ptrdiff_t)v);
        break;
    default: /* ll L q */
        if (sgn)
            CALLN((long long)v);
        else
            CALLN((unsigned long long)v);
        break;
    }
#undef CALLN
}

static int build(char *fmt, unsigned flagbits, const struct field *w, const struct field *p,
                 const char *len, char conv, int *ns, int *s1, int *s2)
{
    char *f = fmt;
    *f++ = '[';
    *f++ = '%';
    for (int i = 0; i < 5; i++)
        if (flagbits & (1u << i))
            *f++ = flag_chars[i];
    f = stpcpy(f, w->text);
    f = stpcpy(f, p->text);
    f = stpcpy(f, len);
    *f++ = conv;
    *f++ = ']';
    *f = 0;
    int n = 0, v[2] = { 0, 0 };
    if (w->star)
        v[n++] = w->value;
    if (p->star)
        v[n++] = p->value;
    *ns = n;
    *s1 = v[0];
    *s2 = v[1];
    return (int)(f - fmt);
}

static void systematic_integers(void)
{
    static const char convs[] = "diouxXbB";
    char fmt[64];
    int ns, s1, s2;

    for (unsigned fl = 0; fl < 32; fl++)
        for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; wi++)
            for (size_t pi = 0; pi < sizeof precs / sizeof precs[0]; pi++)
                for (int li = 0; li <= LT; li++)
                    for (const char *c = convs; *c; c++) {
                        build(fmt, fl, &widths[wi], &precs[pi], lens[li], *c, &ns, &s1, &s2);
                        int sgn = *c == 'd' || *c == 'i';
                        for (size_t vi = 0; vi < sizeof int_values / sizeof int_values[0]; vi++)
                            call_int(fmt, ns, s1, s2, li, sgn, int_values[vi]);
                    }

    /* The glibc-only length modifiers L q Z on integers, fewer flags. */
    for (unsigned fl = 0; fl < 32; fl += 3)
        for (int li = LBIGL; li <= LBIGZ; li++)
            for (const char *c = convs; *c; c++)
                for (size_t vi = 0; vi < sizeof int_values / sizeof int_values[0]; vi++) {
                    build(fmt, fl, &widths[2], &precs[li - LBIGL], lens[li], *c, &ns, &s1, &s2);
                    call_int(fmt, ns, s1, s2, li, *c == 'd' || *c == 'i', int_values[vi]);
                }
}

static void systematic_others(void)
{
    char fmt[64];
    int ns, s1, s2;
    static const char *const strs[] = { "", "a", "hello", "0123456789abcdefghijklmnopqrstuvwxyz",
                                        "tab\there", NULL };
    static const wchar_t *const wstrs[] = { L"", L"w", L"wide str", NULL };
    static const int chars[] = { 'a', 'Z', ' ', 0, 255, 128, 'A' + 256, -1 };
    static const void *const ptrs[] = { NULL, (void *)1, (void *)0xdeadbeef,
                                        (void *)0x7fff12345678, (void *)~(uintptr_t)0 };

    for (unsigned fl = 0; fl < 32; fl++)
        for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; wi++)
            for (size_t pi = 0; pi < sizeof precs / sizeof precs[0]; pi++) {
#define CALLN(f, arg)                                       \
    do {                                                    \
        if (ns == 0)                                        \
            cmp(f, arg);                                    \
        else if (ns == 1)                                   \
            cmp(f, s1, arg);                                \
        else                                                \
            cmp(f, s1, s2, arg);                            \
    } while (0)
                static const char *const narrow_lens[] = { "", "hh", "h" };
                for (int l = 0; l < 3; l++) {
                    build(fmt, fl, &widths[wi], &precs[pi], narrow_lens[l], 's', &ns, &s1, &s2);
                    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
                        CALLN(fmt, strs[i]);
                    build(fmt, fl, &widths[wi], &precs[pi], narrow_lens[l], 'c', &ns, &s1, &s2);
                    for (size_t i = 0; i < sizeof chars / sizeof chars[0]; i++)
                        CALLN(fmt, chars[i]);
                }
                build(fmt, fl, &widths[wi], &precs[pi], "l", 's', &ns, &s1, &s2);
                for (size_t i = 0; i < sizeof wstrs / sizeof wstrs[0]; i++)
                    CALLN(fmt, wstrs[i]);
                build(fmt, fl, &widths[wi], &precs[pi], "", 'S', &ns, &s1, &s2);
                CALLN(fmt, wstrs[2]);
                build(fmt, fl, &widths[wi], &precs[pi], "l", 'c', &ns, &s1, &s2);
                CALLN(fmt, (wint_t)'x');
                CALLN(fmt, (wint_t)0);
                build(fmt, fl, &widths[wi], &precs[pi], "", 'C', &ns, &s1, &s2);
                CALLN(fmt, (wint_t)'q');
                build(fmt, fl, &widths[wi], &precs[pi], "", 'p', &ns, &s1, &s2);
                for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++)
                    CALLN(fmt, ptrs[i]);
                build(fmt, fl, &widths[wi], &precs[pi], "", '%', &ns, &s1, &s2);
                if (ns == 0)
                    cmp(fmt, 0);
                else if (ns == 1)
                    cmp(fmt, s1);
                else
                    cmp(fmt, s1, s2);
                build(fmt, fl, &widths[wi], &precs[pi], "", 'm', &ns, &s1, &s2);
                static const int errnos[] = { 0, EINVAL, ERANGE, EAGAIN, 41, 5000, -7 };
                for (size_t i = 0; i < sizeof errnos / sizeof errnos[0]; i++) {
                    test_errno = errnos[i];
                    if (ns == 0)
                        cmp(fmt, 0);
                    else if (ns == 1)
                        cmp(fmt, s1);
                    else
                        cmp(fmt, s1, s2);
                }
                test_errno = 0;
                /* Unknown conversions: printed back, glibc style. */
                static const char unknown[] = "kyvrKYVRNUMW!&]";
                for (int l = 0; l < 4; l++)
                    for (const char *u = unknown; *u; u++) {
                        build(fmt, fl, &widths[wi], &precs[pi], lens[l * 2], *u, &ns, &s1, &s2);
                        if (ns == 0)
                            cmp(fmt, 0);
                        else if (ns == 1)
                            cmp(fmt, s1);
                        else
                            cmp(fmt, s1, s2);
                    }
#undef CALLN
            }

    /* Wide characters outside ASCII fail with EILSEQ in the C locale. */
    cmp("%lc", (wint_t)0xe9);
    cmp("%5lc|", (wint_t)0x100);
    cmp("%ls", L"h\xe9llo");
    cmp("%.1ls|", L"h\xe9llo");
    cmp("%ls", L"\x80");
    cmp("%lc", (wint_t)0x7f);
    cmp("%ls|%s", L"ab", "cd");
    /* Every modifier from l up makes %s and %c wide, as in glibc. */
    cmp("%llc %jc %zc %tc %Lc %qc", 'a', 'b', 'c', 'd', 'e', 'f');
    cmp("%lls %js %zs %ts %Ls %qs", L"a", L"b", L"c", L"d", L"e", L"f");
}

static void incomplete_formats(void)
{
    static const char *const fmts[] = {
        "%", "abc%", "%5", "%-", "%.", "%h", "%hh", "%l", "%ll", "%#", "%0", "% ", "%+",
        "%'", "%I", "%L", "%q", "%j", "%z", "%Z", "%t", "%5.3", "%-08.3l", "x%d%", "%%%",
    };
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++)
        cmp(fmts[i], 42);
    cmp("%*", 5);
    cmp("%.*", 5);
    cmp("%*.*", 5, 6);
}

static void misc_formats(void)
{
    /* Plain text, long text, many conversions, literal %%. */
    cmp("", 0);
    cmp("hello, world", 0);
    cmp("100%% sure %d%%", 5);
    cmp("%d %i %u %o %x %X %c %s %p %%", -1, 2, 3u, 8u, 255u, 255u, 'q', "str", (void *)16);
    cmp("%s%s%s%s%s%s%s%s%s%s", "a", "bb", "ccc", "", "e", "ff", "g", "hhhh", "i", "j");
    cmp("%hhd %hhu %hd %hu", 300, 300, 70000, 70000);
    cmp("%-+ #0d|%0-+ #d|%#-0+ d", 7, 7, 7);
    cmp("%++d %  d %--5d %005d %##x", 1, 2, 3, 4, 255u);
    cmp("%'d %'u %I d %'I5d", 1234567, 7654321u, 42, 43);
    cmp("%.0d|%.0x|%#.0o|%#.0x|%+.0d|% .0d", 0, 0u, 0u, 0u, 0, 0);
    cmp("%0*d|%-*d|%*d", 5, 42, 5, 42, -5, 42);
    cmp("%0*d|%0*x", -6, 42, -6, 42u);
    cmp("%.*d|%.*d", -3, 42, 4000, 0);
    cmp("%5%|%-5%|%05%|%.3%");
    cmp("%l%|%hh%|%5.3%");
    for (int w = 0; w < 300; w += 17) {
        cmp("%*s|", w, "x");
        cmp("%-*s|", w, "x");
        cmp("%0*d|", w, -12345);
        cmp("%.*d|", w, 12345);
        cmp("%.*s|", w, "0123456789");
        cmp("%#*.*o|", w, w / 2, 01234u);
    }
    /* Long outputs, larger than the comparison buffer: truncated. */
    cmp("%1000s%1000s", "a", "b");
    cmp("%2000d", 7);
    cmp("%.1500d", 7);

    /* sprintf (unbounded). */
    cmp_sprintf("%d %s %x %p %c %5.3s|%-10d|", -12, "abc", 0xbeefu, (void *)0x1234, 'z', "truncate", 9);
    cmp_sprintf("%500d|%.300u", 1, 2u);
    cmp_sprintf("", 0);
}

/* %n: the count so far, stored at every length. */
static void percent_n(void)
{
    {
        int gi = -1, ki = -1;
        char g[64], k[64];
        snprintf(g, sizeof g, "abc%n", &gi);
        kiln_snprintf(k, sizeof k, "abc%n", &ki);
        CHECK(gi == ki && strcmp(g, k) == 0, "abc%%n: glibc %d kiln %d", gi, ki);
        snprintf(g, sizeof g, "%5d%n|", 7, &gi);
        kiln_snprintf(k, sizeof k, "%5d%n|", 7, &ki);
        CHECK(gi == ki && strcmp(g, k) == 0, "%%5d%%n: glibc %d kiln %d", gi, ki);
        snprintf(g, sizeof g, "%s%n%s", "xx", &gi, "yy");
        kiln_snprintf(k, sizeof k, "%s%n%s", "xx", &ki, "yy");
        CHECK(gi == ki && strcmp(g, k) == 0, "%%s%%n%%s: glibc %d kiln %d", gi, ki);
        snprintf(g, sizeof g, "%%%n", &gi);
        kiln_snprintf(k, sizeof k, "%%%n", &ki);
        CHECK(gi == ki && strcmp(g, k) == 0, "%%%%%%n: glibc %d kiln %d", gi, ki);
    }
    {
        signed char g1 = 0, k1 = 0;
        short g2 = 0, k2 = 0;
        long g3 = 0, k3 = 0;
        long long g4 = 0, k4 = 0;
        size_t g5 = 0, k5 = 0;
        intmax_t g6 = 0, k6 = 0;
        ptrdiff_t g7 = 0, k7 = 0;
        char g[512], k[512];
        const char *f = "%300d%hhn%hn%ln%lln%zn%jn%tn";
        snprintf(g, sizeof g, f, 1, &g1, &g2, &g3, &g4, &g5, &g6, &g7);
        kiln_snprintf(k, sizeof k, f, 1, &k1, &k2, &k3, &k4, &k5, &k6, &k7);
        CHECK(g1 == k1 && g2 == k2 && g3 == k3 && g4 == k4 && g5 == k5 && g6 == k6 && g7 == k7,
              "%%n lengths: hh %d/%d h %d/%d", g1, k1, g2, k2);
        /* %n counts the bytes that did not fit too. */
        int gi = 0, ki = 0;
        snprintf(g, 4, "%s%n", "abcdefgh", &gi);
        kiln_snprintf(k, 4, "%s%n", "abcdefgh", &ki);
        CHECK(gi == ki && gi == 8, "%%n truncated: %d %d", gi, ki);
    }
}

/* Floating point is not supported: printed back as an unknown
 * conversion, no argument consumed. */
static void floats(void)
{
    static const struct { const char *fmt, *out; } cases[] = {
        { "%f", "%f" }, { "%e|%E|%g|%G|%a|%A|%F", "%e|%E|%g|%G|%a|%A|%F" },
        { "%5.2f", "%5.2f" }, { "%-+ #010.3e", "%#+-10.3e" }, { "%Lf", "%f" },
        { "%lf %d", "%f 7" }, { "%.f", "%.0f" }, { "%08.3g", "%08.3g" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char k[64];
        int r = kiln_snprintf(k, sizeof k, cases[i].fmt, 7);
        CHECK(r == (int)strlen(cases[i].out) && strcmp(k, cases[i].out) == 0,
              "float fmt %s: got %s (%d), want %s", cases[i].fmt, k, r, cases[i].out);
    }
    char k[64];
    int r = kiln_snprintf(k, sizeof k, "%*.*f|%d", 9, 4, 5);
    CHECK(r == 7 && strcmp(k, "%9.4f|5") == 0, "float with *: got %s", k);
}

/* Random formats: several conversions with random flags (repeated, any
 * order), widths and precisions, literal text, random arguments.  Every
 * argument is passed as a 64-bit integer, which the x86-64 ABI hands to
 * va_arg as int, long, or pointer alike. */
static const char *const pool[] = { "", "x", "hello", "a somewhat longer string", NULL, "%d",
                                    "\t\n", "0123456789" };

static void random_formats(void)
{
    static const char rflags[] = "-+ #0'";
    static const char iconv[] = "diouxXbB";
    static const char *const rlens[] = { "", "hh", "h", "l", "ll", "j", "z", "t", "L", "q", "Z" };

    for (int iter = 0; iter < 200000; iter++) {
        char fmt[256], *f = fmt;
        long long a[12];
        int na = 0;
        int nconv = 1 + (int)h_randn(4);
        for (int c = 0; c < nconv; c++) {
            int lit = (int)h_randn(4);
            for (int i = 0; i < lit; i++) {
                char ch = (char)(' ' + h_randn(95));
                *f++ = ch == '%' ? '-' : ch;
            }
            *f++ = '%';
            int nf = (int)h_randn(5);
            for (int i = 0; i < nf; i++)
                *f++ = rflags[h_randn(sizeof rflags - 1)];
            switch (h_randn(4)) {
            case 0: break;
            case 1: f += sprintf(f, "%u", h_randn(30)); break;
            case 2: f += sprintf(f, "%u", h_randn(3)); break;
            default: *f++ = '*'; a[na++] = (long long)h_randn(61) - 30; break;
            }
            switch (h_randn(5)) {
            case 0: case 1: break;
            case 2: *f++ = '.'; break;
            case 3: f += sprintf(f, ".%u", h_randn(25)); break;
            default: *f++ = '.'; *f++ = '*'; a[na++] = (long long)h_randn(41) - 10; break;
            }
            unsigned kind = h_randn(10);
            if (kind < 6) {
                f = stpcpy(f, rlens[h_randn(sizeof rlens / sizeof rlens[0])]);
                *f++ = iconv[h_randn(sizeof iconv - 1)];
                switch (h_randn(3)) {
                case 0: a[na++] = (long long)int_values[h_randn(sizeof int_values / sizeof int_values[0])]; break;
                case 1: a[na++] = (long long)h_rand(); break;
                default: a[na++] = (long long)h_randn(2000) - 1000; break;
                }
            } else if (kind == 6) {
                /* No h/hh on %s here: undefined in C, and after one glibc
                 * 2.36 reads later %L and %q integers as 32-bit. */
                *f++ = 's';
                a[na++] = (long long)(intptr_t)pool[h_randn(sizeof pool / sizeof pool[0])];
            } else if (kind == 7) {
                *f++ = 'c';
                a[na++] = (long long)h_randn(256);
            } else if (kind == 8) {
                *f++ = 'p';
                a[na++] = h_randn(4) ? (long long)h_rand() >> h_randn(64) : 0;
            } else {
                *f++ = '%';
            }
        }
        *f = 0;
        while (na < 12)
            a[na++] = 0;
        cmp(fmt, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11]);
    }
}

/* Formats that end at the very end of a page followed by an unmapped
 * one: the word-at-a-time literal scan must not touch the next page. */
static void page_end_formats(void)
{
    long pg = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED && mprotect(m + pg, (size_t)pg, PROT_NONE) == 0, "guard page");
    if (m == MAP_FAILED)
        return;
    static const char *const tails[] = { "", "x", "%d", "ab%dcd", "%s|", "literal only text", "%%" };
    for (size_t t = 0; t < sizeof tails / sizeof tails[0]; t++)
        for (size_t pad = 0; pad < 20; pad++) {
            size_t n = strlen(tails[t]) + pad;
            char *f = m + pg - n - 1;
            memset(f, 'y', pad);
            memcpy(f + pad, tails[t], strlen(tails[t]) + 1);
            if (strstr(tails[t], "%s"))
                cmp(f, "s");
            else
                cmp(f, 42);
        }
    munmap(m, (size_t)pg * 2);
}

void test_printf(void)
{
    systematic_integers();
    systematic_others();
    incomplete_formats();
    misc_formats();
    percent_n();
    floats();
    random_formats();
    page_end_formats();
}
