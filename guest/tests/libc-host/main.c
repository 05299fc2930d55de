/* Host test driver: every group compares the Kiln libc with glibc. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "harness.h"

unsigned long long h_pass, h_fail;

#define MAX_REPORTED 25
static unsigned long long max_reported = MAX_REPORTED;     /* $KILN_LIBC_MAX_REPORT */

void h_failf(const char *file, int line, const char *fmt, ...)
{
    h_fail++;
    if (h_fail > max_reported)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "MISMATCH %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

const char *h_quote(const char *s, size_t n)
{
    static char bufs[4][2048];
    static int k;
    char *b = bufs[k++ & 3], *p = b;
    *p++ = '"';
    for (size_t i = 0; i < n && p < b + sizeof bufs[0] - 8; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            p += sprintf(p, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            *p++ = (char)c;
        else
            p += sprintf(p, "\\x%02x", c);
    }
    *p++ = '"';
    *p = 0;
    return b;
}

static unsigned long long rng = 0x9e3779b97f4a7c15ull;

unsigned long long h_rand(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ull;
}

static const struct {
    const char *name;
    void (*fn)(void);
} groups[] = {
    { "printf", test_printf },
    { "stdio", test_stdio },
    { "strtol", test_strtol },
    { "string", test_string },
    { "ctype", test_ctype },
    { "qsort", test_qsort },
    { "time", test_time },
    { "stdlib", test_stdlib },
};

int main(int argc, char **argv)
{
    if (getenv("KILN_LIBC_MAX_REPORT"))
        max_reported = strtoull(getenv("KILN_LIBC_MAX_REPORT"), NULL, 10);
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        if (argc > 1 && strcmp(argv[1], groups[i].name) != 0)
            continue;
        unsigned long long p0 = h_pass, f0 = h_fail;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        groups[i].fn();
        clock_gettime(CLOCK_MONOTONIC, &t1);
        printf("  %-8s %10llu passed, %llu failed  (%.2f s)\n", groups[i].name, h_pass - p0,
               h_fail - f0, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    }
    if (h_fail > max_reported)
        fprintf(stderr, "(%llu more mismatches not shown)\n", h_fail - max_reported);
    printf("%llu passed, %llu failed\n", h_pass, h_fail);
    return h_fail ? 1 : 0;
}
