/* See <kiln/fmt.h>. */
#include <kiln/fmt.h>

unsigned long fmt_strlen(const char *s)
{
    const char *e = s;
    while (*e)
        e++;
    return (unsigned long)(e - s);
}

void fmt_putn(struct fmt_buf *b, const char *s, unsigned long n)
{
    unsigned long room = b->cap - b->len;
    if (n > room)
        n = room;
    char *d = b->p + b->len;
    for (unsigned long i = 0; i < n; i++)
        d[i] = s[i];
    b->len += n;
}

void fmt_puts(struct fmt_buf *b, const char *s)
{
    fmt_putn(b, s, fmt_strlen(s));
}

void fmt_putc(struct fmt_buf *b, char c)
{
    fmt_putn(b, &c, 1);
}

void fmt_putu(struct fmt_buf *b, unsigned long long v)
{
    char tmp[20];                       /* 2^64-1 has 20 digits */
    unsigned long i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);    /* GCC turns /10 into a multiply */
        v /= 10;
    } while (v);
    fmt_putn(b, tmp + i, sizeof tmp - i);
}

void fmt_puti(struct fmt_buf *b, long long v)
{
    if (v < 0) {
        fmt_putc(b, '-');
        /* Negate in unsigned arithmetic so LLONG_MIN works. */
        fmt_putu(b, 0ull - (unsigned long long)v);
    } else {
        fmt_putu(b, (unsigned long long)v);
    }
}

void fmt_putx(struct fmt_buf *b, unsigned long long v)
{
    char tmp[16];
    unsigned long i = sizeof tmp;
    do {
        tmp[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    fmt_putn(b, tmp + i, sizeof tmp - i);
}

unsigned long fmt_parse_u64(const char *s, unsigned long long *out)
{
    unsigned long long v = 0;
    unsigned long i = 0;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (~0ull - d) / 10)
            return 0;                   /* overflow */
        v = v * 10 + d;
    }
    if (i)
        *out = v;
    return i;
}
