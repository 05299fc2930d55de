/*
 * Integer conversions (patches/0003: one pass without '$', fmt_u's multiply) printed by the
 * patched musl and by glibc; run.sh requires the two outputs to be byte-identical. Positional
 * arguments take the two-pass path and are checked too.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>

int main(void)
{
    static const long long values[] = { 0, 1, -1, 9, 10, 11, 99, 100, 12345, -12345, 1000000007,
        INT_MAX, INT_MIN, UINT_MAX, 4294967296LL, 999999999999999999LL, LLONG_MAX, LLONG_MIN };
    static const char *formats[] = { "%lld", "%5lld", "%-5lld|", "%05lld", "%+lld", "% lld", "%.3lld",
        "%.0lld", "%llx", "%#llx", "%llX", "%llo", "%#llo", "%llu", "%20llu", "%-22llo|" };
    char buf[128];
    for (size_t f = 0; f < sizeof formats / sizeof *formats; f++) {
        for (size_t v = 0; v < sizeof values / sizeof *values; v++) {
            int n = snprintf(buf, sizeof buf, formats[f], values[v]);
            printf("[%s] %d %s\n", formats[f], n, buf);
        }
    }
    unsigned long long u = 1;
    for (int i = 0; i <= 40; i++, u *= 3) printf("%llu %llx\n", u, u);     /* 3^40 < 2^64 */
    for (int i = -1000; i <= 1000; i += 7) printf("%d:%x %hd %hhu %ld %zu\n", i, i * 3, (short)i, (unsigned char)i, (long)i * 1000003, (size_t)i);
    /* the short buffer truncates but returns the full length */
    int n = snprintf(buf, 5, "%d", 123456789);
    printf("truncated %d %s\n", n, buf);
    printf("%2$s %1$d %3$llx\n", 42, "positional", 0xfeedULL);
    printf("%1$s-%1$s %2$05d\n", "twice", 7);
    printf("price $%d, %s\n", 5, "a dollar sign in the text");
    return 0;
}
