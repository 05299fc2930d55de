/*
 * strtol family vs glibc: strings built from every combination of
 * whitespace, sign, prefix, digits and suffix, in bases 0, 2, 8, 10, 16,
 * 36, a few others and invalid ones; compares value, errno and the end
 * offset (or that *end was left alone).  Plus random strings and atoi.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

static char *const SENTINEL = (char *)"sentinel";

static void one(const char *s, int base)
{
    char *ge, *ke;
    long long gv, kv;
    int gerr, kerr;

#define CMP_ONE(gfn, kfn, T, PF)                                                             \
    do {                                                                                     \
        ge = ke = SENTINEL;                                                                  \
        errno = 0;                                                                           \
        T g = gfn(s, &ge, base);                                                             \
        gerr = errno;                                                                        \
        kiln_errno = 0;                                                                      \
        T k = kfn(s, &ke, base);                                                             \
        kerr = kiln_errno;                                                                   \
        CHECK(g == k && gerr == kerr && ge == ke,                                            \
              #gfn "(%s, %d): glibc " PF " errno %d end %td | kiln " PF " errno %d end %td", \
              h_quote(s, strlen(s)), base, g, gerr, ge == SENTINEL ? -1 : ge - s, k, kerr,   \
              ke == SENTINEL ? -1 : ke - s);                                                 \
    } while (0)

    CMP_ONE(strtol, kiln_strtol, long, "%ld");
    CMP_ONE(strtoul, kiln_strtoul, unsigned long, "%lu");
    CMP_ONE(strtoll, kiln_strtoll, long long, "%lld");
    CMP_ONE(strtoull, kiln_strtoull, unsigned long long, "%llu");
    CMP_ONE(strtoimax, kiln_strtoimax, intmax_t, "%jd");
    CMP_ONE(strtoumax, kiln_strtoumax, uintmax_t, "%ju");
#undef CMP_ONE

    /* endptr NULL is allowed. */
    errno = 0;
    gv = strtoll(s, NULL, base);
    gerr = errno;
    kiln_errno = 0;
    kv = kiln_strtoll(s, NULL, base);
    kerr = kiln_errno;
    CHECK(gv == kv && gerr == kerr, "strtoll(%s, NULL, %d)", h_quote(s, strlen(s)), base);

    if (base == 10) {
        errno = 0;
        int ga = atoi(s);
        gerr = errno;
        kiln_errno = 0;
        int ka = kiln_atoi(s);
        kerr = kiln_errno;
        CHECK(ga == ka && gerr == kerr, "atoi(%s): %d errno %d | %d errno %d",
              h_quote(s, strlen(s)), ga, gerr, ka, kerr);
        CHECK(atol(s) == kiln_atol(s) && atoll(s) == kiln_atoll(s), "atol/atoll(%s)",
              h_quote(s, strlen(s)));
    }
}

void test_strtol(void)
{
    static const char *const spaces[] = { "", " ", "\t\n\v\f\r ", "\x01" };
    static const char *const signs[] = { "", "+", "-", "--", "+-", " -" };
    static const char *const prefixes[] = { "", "0", "0x", "0X", "x", "00x", "0b", "0x0x" };
    static const char *const digits[] = {
        "", "0", "1", "7", "8", "9", "a", "f", "g", "z", "Z", "10", "11", "ff", "FF", "777",
        "zz", "1010", "2147483647", "2147483648", "4294967295", "4294967296",
        "9223372036854775807", "9223372036854775808", "9223372036854775809",
        "18446744073709551615", "18446744073709551616", "99999999999999999999999",
        "7fffffffffffffff", "8000000000000000", "ffffffffffffffff", "10000000000000000",
        "1777777777777777777777", "2000000000000000000000", "3w5e11264sgsf", "3w5e11264sgsg",
        "1y2p0ij32e8e7", "1y2p0ij32e8e8",
        "111111111111111111111111111111111111111111111111111111111111111",
        "1111111111111111111111111111111111111111111111111111111111111111",
        "10000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000012",
    };
    static const char *const suffixes[] = { "", " ", "g", "x", "9z", "." };
    static const int bases[] = { 0, 2, 8, 10, 16, 36, 3, 7, 29, -1, 1, 37, 100 };
    char s[256];

    for (size_t a = 0; a < sizeof spaces / sizeof spaces[0]; a++)
        for (size_t b = 0; b < sizeof signs / sizeof signs[0]; b++)
            for (size_t c = 0; c < sizeof prefixes / sizeof prefixes[0]; c++)
                for (size_t d = 0; d < sizeof digits / sizeof digits[0]; d++)
                    for (size_t e = 0; e < sizeof suffixes / sizeof suffixes[0]; e++) {
                        snprintf(s, sizeof s, "%s%s%s%s%s", spaces[a], signs[b], prefixes[c],
                                 digits[d], suffixes[e]);
                        for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++)
                            if (bases[i] >= 0 && bases[i] <= 36 && bases[i] != 1 ? 1 : (e == 0 && a < 2))
                                one(s, bases[i]);
                    }

    /* Random strings over a digit-heavy alphabet, every base. */
    static const char alphabet[] = "0123456789abcdefxyzXYZ+- \t";
    for (int iter = 0; iter < 20000; iter++) {
        int n = (int)h_randn(30);
        for (int i = 0; i < n; i++)
            s[i] = alphabet[h_randn(sizeof alphabet - 1)];
        s[n] = 0;
        one(s, (int)h_randn(37));
    }
    /* Bytes above 127 are no digits nor spaces. */
    one("\xa0" "12", 10);
    one("1\xff", 16);
    one("\x85" "5", 0);
}
