/*
 * strtol family, glibc's semantics: leading isspace() skipped, optional
 * sign, base 0 detects 0x/0X (hexadecimal) and 0 (octal), base 16 accepts
 * an optional 0x/0X.  "0x" not followed by a hex digit parses as "0" and
 * *end points at the 'x'.  No digits: 0 and *end = s (errno untouched).
 * Overflow: errno = ERANGE and the limit of the type (for the unsigned
 * functions ULONG_MAX even with a '-'; otherwise a '-' negates modulo
 * 2^N).  A bad base: errno = EINVAL, 0, and *end untouched (as glibc).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <inttypes.h>

/* Digit value of c, or 36+ when c is no digit in any base. */
static inline unsigned digit(unsigned char c)
{
    if ((unsigned)c - '0' < 10)
        return c - '0';
    c |= 32;
    if ((unsigned)c - 'a' < 26)
        return c - 'a' + 10u;
    return 99;
}

/*
 * Parse; the magnitude saturates at max (setting *ovf).  *neg tells the
 * sign.  Returns 0 with *ok = 0 for a bad base.
 */
static unsigned long long parse(const char *s, char **end, int base,
                                unsigned long long max, int *neg, int *ovf, int *ok)
{
    const unsigned char *p = (const unsigned char *)s;

    *neg = 0;
    *ovf = 0;
    if (base < 0 || base == 1 || base > 36) {
        *ok = 0;
        errno = EINVAL;
        return 0;
    }
    *ok = 1;
    while (*p == ' ' || (unsigned)*p - '\t' < 5)
        p++;
    if (*p == '-') {
        *neg = 1;
        p++;
    } else if (*p == '+') {
        p++;
    }
    if ((base == 0 || base == 16) && p[0] == '0' && (p[1] | 32) == 'x' && digit(p[2]) < 16) {
        p += 2;
        base = 16;
    } else if (base == 0) {
        base = *p == '0' ? 8 : 10;
    }

    const unsigned char *first = p;
    unsigned b = (unsigned)base;
    unsigned long long cutoff = max / b;
    unsigned cutlim = (unsigned)(max % b);
    unsigned long long v = 0;
    unsigned d;
    for (; (d = digit(*p)) < b; p++) {
        if (v > cutoff || (v == cutoff && d > cutlim)) {
            *ovf = 1;
            while (digit(*++p) < b)
                ;
            break;
        }
        v = v * b + d;
    }
    if (end)
        *end = (char *)(p == first ? (const unsigned char *)s : p);
    return *ovf ? max : v;
}

static long long to_signed(const char *s, char **end, int base, long long min, long long max)
{
    int neg, ovf, ok;
    /* The magnitude of min is one more than max's. */
    unsigned long long lim = (unsigned long long)max + 1;
    unsigned long long v = parse(s, end, base, lim, &neg, &ovf, &ok);

    if (!ok)
        return 0;
    if (ovf || (!neg && v == lim)) {
        errno = ERANGE;
        return neg ? min : max;
    }
    return neg ? (long long)(0 - v) : (long long)v;
}

static unsigned long long to_unsigned(const char *s, char **end, int base, unsigned long long max)
{
    int neg, ovf, ok;
    unsigned long long v = parse(s, end, base, max, &neg, &ovf, &ok);

    if (!ok)
        return 0;
    if (ovf) {
        errno = ERANGE;
        return max;
    }
    return neg ? (0 - v) & max : v;
}

long strtol(const char *__restrict s, char **__restrict end, int base)
{
    return (long)to_signed(s, end, base, LONG_MIN, LONG_MAX);
}

long long strtoll(const char *__restrict s, char **__restrict end, int base)
{
    return to_signed(s, end, base, LLONG_MIN, LLONG_MAX);
}

intmax_t strtoimax(const char *__restrict s, char **__restrict end, int base)
{
    return (intmax_t)to_signed(s, end, base, INTMAX_MIN, INTMAX_MAX);
}

unsigned long strtoul(const char *__restrict s, char **__restrict end, int base)
{
    return (unsigned long)to_unsigned(s, end, base, ULONG_MAX);
}

unsigned long long strtoull(const char *__restrict s, char **__restrict end, int base)
{
    return to_unsigned(s, end, base, ULLONG_MAX);
}

uintmax_t strtoumax(const char *__restrict s, char **__restrict end, int base)
{
    return (uintmax_t)to_unsigned(s, end, base, UINTMAX_MAX);
}

/* As glibc: (int)strtol(s, NULL, 10), errno included. */
int atoi(const char *s)
{
    return (int)strtol(s, NULL, 10);
}

long atol(const char *s)
{
    return strtol(s, NULL, 10);
}

long long atoll(const char *s)
{
    return strtoll(s, NULL, 10);
}
