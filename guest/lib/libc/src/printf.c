/*
 * The printf engine: one pass over the format, writing straight into the
 * sink's buffer (the caller's for snprintf, the stream's for printf).
 * Literal runs are found a word at a time and copied in one piece;
 * numbers are converted backwards (two decimal digits per division) into
 * a small buffer, then laid out as
 *     [spaces] [sign or 0x] [zeros] digits [spaces]
 * with one bulk write or fill per part.
 *
 * Semantics are glibc's (checked byte for byte by tests/libc-host),
 * including its extensions %m (%#m: the errno's name), %b/%B, %C/%S, the
 * q/L/Z modifiers on integers, "(nil)" for a NULL %p and "(null)" for a
 * NULL %s (printed only when the precision allows all six characters, as
 * glibc does).  Floating conversions and positional arguments are not
 * supported; see <stdio.h>.
 */
#include <errno.h>
#include <string.h>
#include <kiln/platform.h>
#include "libc_internal.h"

/* Flags. */
#define F_LEFT    0x01      /* '-' or a negative '*' width */
#define F_PLUS    0x02
#define F_SPACE   0x04
#define F_ALT     0x08
#define F_ZERO    0x10
#define F_GROUP   0x20      /* ' : no grouping in the C locale */
#define F_I18N    0x40      /* I : locale digits, none in the C locale */
#define F_MINUS   0x80      /* an explicit '-' flag (cancels '0') */

/* Length modifiers. */
enum { L_NONE, L_HH, L_H, L_L, L_LL, L_J, L_Z, L_T };

void __kiln_out_overflow(struct __kiln_out *o, const char *s, size_t len)
{
    size_t room = (size_t)((uintptr_t)o->end - (uintptr_t)o->p);
    FILE *f = o->file;

    memcpy(o->p, s, room);
    o->p += room;
    s += room;
    len -= room;
    if (!f) {
        o->base -= len;                 /* string sink: drop the rest, count it */
        return;
    }

    /* Stream sink: write the full buffer, then start it again. */
    size_t full = (size_t)(o->p - f->buf);
    plat_console_write(f->buf, full);
    o->base -= full;
    o->p = o->mark = f->buf;
    if (len >= f->cap) {
        plat_console_write(s, len);     /* too big to buffer: straight out */
        o->base -= len;
        return;
    }
    memcpy(o->p, s, len);
    o->p += len;
}

/* Unaligned, alias-free 8/4/2-byte accesses (single instructions on x86). */
typedef unsigned long __attribute__((__may_alias__, __aligned__(1))) u64u;
typedef unsigned int __attribute__((__may_alias__, __aligned__(1))) u32u;
typedef unsigned short __attribute__((__may_alias__, __aligned__(1))) u16u;
typedef unsigned long __attribute__((__may_alias__)) word_t;

/* Copy n <= 32 bytes with a few overlapping word moves, no loop. */
static inline void copy_small(char *d, const char *s, size_t n)
{
    if (n >= 8) {
        if (n > 16) {
            u64u a = *(const u64u *)s, b = *(const u64u *)(s + 8);
            u64u c = *(const u64u *)(s + n - 16), e = *(const u64u *)(s + n - 8);
            *(u64u *)d = a;
            *(u64u *)(d + 8) = b;
            *(u64u *)(d + n - 16) = c;
            *(u64u *)(d + n - 8) = e;
        } else {
            u64u a = *(const u64u *)s, b = *(const u64u *)(s + n - 8);
            *(u64u *)d = a;
            *(u64u *)(d + n - 8) = b;
        }
    } else if (n >= 4) {
        u32u a = *(const u32u *)s, b = *(const u32u *)(s + n - 4);
        *(u32u *)d = a;
        *(u32u *)(d + n - 4) = b;
    } else if (n >= 2) {
        u16u a = *(const u16u *)s, b = *(const u16u *)(s + n - 2);
        *(u16u *)d = a;
        *(u16u *)(d + n - 2) = b;
    } else if (n) {
        *d = *s;
    }
}

static inline void out_put(struct __kiln_out *o, const char *s, size_t len)
{
    char *p = o->p;
    if (LIBC_LIKELY(len <= (size_t)((uintptr_t)o->end - (uintptr_t)p))) {
        if (len <= 32)
            copy_small(p, s, len);
        else
            memcpy(p, s, len);
        o->p = p + len;
    } else {
        __kiln_out_overflow(o, s, len);
    }
}

static const char spaces[32] = "                                ";
static const char zeros[32] = "00000000000000000000000000000000";

static void out_fill_slow(struct __kiln_out *o, const char *src, size_t len)
{
    while (len) {
        size_t k = len < sizeof spaces ? len : sizeof spaces;
        out_put(o, src, k);
        len -= k;
    }
}

static inline void out_fill(struct __kiln_out *o, char c, size_t len)
{
    if (len <= 32 && len <= (size_t)((uintptr_t)o->end - (uintptr_t)o->p)) {
        copy_small(o->p, c == '0' ? zeros : spaces, len);
        o->p += len;
    } else if (len <= (size_t)((uintptr_t)o->end - (uintptr_t)o->p)) {
        memset(o->p, c, len);
        o->p += len;
    } else {
        out_fill_slow(o, c == '0' ? zeros : spaces, len);
    }
}

#define ONES        ((word_t)-1 / 0xff)
#define HIGHS       (ONES * 0x80)
#define HASZERO(x)  (((x) - ONES) & ~(x) & HIGHS)

/*
 * The end of the literal run at f: the first '%' or NUL, eight bytes per
 * step.  A word load may read past the terminator, but never past the
 * end of the 4 KiB page holding f (mapped, since f is): within the last 7
 * bytes of a page the scan goes byte by byte.
 */
static inline const char *literal_end(const char *f)
{
    const word_t pct = ONES * '%';
    for (;;) {
        if (LIBC_LIKELY(((uintptr_t)f & 4095) <= 4096 - sizeof(word_t))) {
            word_t w = *(const u64u *)f;
            word_t m = HASZERO(w) | HASZERO(w ^ pct);
            if (m)
                return f + __builtin_ctzl(m) / 8;
            f += sizeof(word_t);
        } else {
            if (!*f || *f == '%')
                return f;
            f++;
        }
    }
}

/* "00" "01" ... "99": two decimal digits per division. */
static const char dec2[200] =
    "0001020304050607080910111213141516171819"
    "2021222324252627282930313233343536373839"
    "4041424344454647484950515253545556575859"
    "6061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Convert v to digits ending at end (exclusive); returns the first. */
static char *utoa(char *end, unsigned long long v, unsigned base, int upper)
{
    static const char lower_digits[16] = "0123456789abcdef";
    static const char upper_digits[16] = "0123456789ABCDEF";
    char *p = end;

    switch (base) {
    case 10:
        while (v >= 100) {
            unsigned long long q = v / 100;
            unsigned r = (unsigned)(v - q * 100);
            p -= 2;
            *(u16u *)p = *(const u16u *)(dec2 + 2 * r);
            v = q;
        }
        if (v >= 10) {
            p -= 2;
            *(u16u *)p = *(const u16u *)(dec2 + 2 * v);
        } else {
            *--p = (char)('0' + v);
        }
        break;
    case 16: {
        const char *digits = upper ? upper_digits : lower_digits;
        do {
            *--p = digits[v & 15];
            v >>= 4;
        } while (v);
        break;
    }
    case 8:
        do {
            *--p = (char)('0' + (v & 7));
            v >>= 3;
        } while (v);
        break;
    default: /* 2 */
        do {
            *--p = (char)('0' + (v & 1));
            v >>= 1;
        } while (v);
        break;
    }
    return p;
}

/* Pad a field of len bytes to width: the spaces before it. */
static inline void pad_before(struct __kiln_out *o, unsigned flags, int width, size_t len)
{
    if (!(flags & F_LEFT) && (size_t)width > len)
        out_fill(o, ' ', (size_t)width - len);
}

static inline void pad_after(struct __kiln_out *o, unsigned flags, int width, size_t len)
{
    if ((flags & F_LEFT) && (size_t)width > len)
        out_fill(o, ' ', (size_t)width - len);
}

static void put_field(struct __kiln_out *o, const char *s, size_t len, unsigned flags, int width)
{
    pad_before(o, flags, width, len);
    out_put(o, s, len);
    pad_after(o, flags, width, len);
}

/*
 * An integer conversion.  prefix is the sign or "0x" (plen bytes), the
 * digits are [d, e).  prec < 0: none given.
 */
static void put_number(struct __kiln_out *o, const char *prefix, size_t plen,
                       const char *d, const char *e, unsigned flags, int width, int prec)
{
    size_t ndig = (size_t)(e - d);
    size_t nzero = prec > 0 && (size_t)prec > ndig ? (size_t)prec - ndig : 0;
    size_t len = plen + nzero + ndig;

    if ((flags & (F_ZERO | F_LEFT)) == F_ZERO && prec < 0 && (size_t)width > len) {
        nzero += (size_t)width - len;
        len = (size_t)width;
    }
    pad_before(o, flags, width, len);
    if (plen)
        out_put(o, prefix, plen);
    if (nzero)
        out_fill(o, '0', nzero);
    out_put(o, d, ndig);
    pad_after(o, flags, width, len);
}

/* A signed decimal conversion (%d). */
static void put_signed(struct __kiln_out *o, long long v, unsigned flags, int width, int prec)
{
    char digits[24];
    char *const dend = digits + sizeof digits;
    char sign[1];
    size_t plen = 0;
    unsigned long long uv;

    if (v < 0) {
        sign[0] = '-';
        plen = 1;
        uv = 0ull - (unsigned long long)v;
    } else {
        uv = (unsigned long long)v;
        if (flags & (F_PLUS | F_SPACE)) {
            sign[0] = flags & F_PLUS ? '+' : ' ';
            plen = 1;
        }
    }
    if (prec > CONFIG_LIBC_PRINTF_WIDTH_MAX)
        prec = CONFIG_LIBC_PRINTF_WIDTH_MAX;
    char *d = prec == 0 && uv == 0 ? dend : utoa(dend, uv, 10, 0);
    put_number(o, sign, plen, d, dend, flags, width, prec);
}

/* Print an unsupported or unknown conversion back the way glibc does:
 * '%', the flags in a fixed order, the width, the precision, the letter. */
static void put_unknown(struct __kiln_out *o, unsigned flags, int width, int prec, char conv)
{
    char buf[48], *p = buf;
    char num[12];

    *p++ = '%';
    if (flags & F_ALT)
        *p++ = '#';
    if (flags & F_GROUP)
        *p++ = '\'';
    if (flags & F_PLUS)
        *p++ = '+';
    else if (flags & F_SPACE)
        *p++ = ' ';
    if (flags & F_LEFT)
        *p++ = '-';
    if ((flags & (F_ZERO | F_MINUS)) == F_ZERO)
        *p++ = '0';
    if (flags & F_I18N)
        *p++ = 'I';
    if (width) {
        char *d = utoa(num + sizeof num, (unsigned)width, 10, 0);
        while (d < num + sizeof num)
            *p++ = *d++;
    }
    if (prec >= 0) {
        *p++ = '.';
        char *d = utoa(num + sizeof num, (unsigned)prec, 10, 0);
        while (d < num + sizeof num)
            *p++ = *d++;
    }
    *p++ = conv;
    out_put(o, buf, (size_t)(p - buf));
}

/* Parse a decimal field width or precision, saturating. */
static inline int parse_num(const char **fp)
{
    const char *f = *fp;
    unsigned v = 0;

    while ((unsigned)*f - '0' < 10) {
        v = v * 10 + (unsigned)(*f++ - '0');
        if (v > 0x7fffffffu / 10)
            v = 0x7fffffffu / 10;       /* stays far above any clamp */
    }
    *fp = f;
    return (int)v;
}

/* Length of a wide string's conversion (ASCII only), at most max bytes;
 * -1 if a character outside ASCII comes first. */
static long wide_len(const wchar_t *ws, long max)
{
    long n = 0;
    for (; (max < 0 || n < max) && ws[n]; n++)
        if ((unsigned)ws[n] > 0x7f)
            return -1;
    return n;
}

static void put_wide(struct __kiln_out *o, const wchar_t *ws, size_t len)
{
    char chunk[64];

    while (len) {
        size_t k = len < sizeof chunk ? len : sizeof chunk;
        for (size_t i = 0; i < k; i++)
            chunk[i] = (char)ws[i];
        out_put(o, chunk, k);
        ws += k;
        len -= k;
    }
}

int __kiln_vformat(struct __kiln_out *o, const char *fmt, va_list ap)
{
    int saved_errno = errno;            /* for %m */
    char digits[72];                    /* 64 binary digits + slack */
    char *const dend = digits + sizeof digits;

    for (;;) {
        /* The literal run up to the next '%'. */
        const char *q = literal_end(fmt);
        if (q != fmt)
            out_put(o, fmt, (size_t)(q - fmt));
        if (!*q)
            return 0;
        fmt = q + 1;

        /* Flags. */
        unsigned flags = 0;
        for (;; fmt++) {
            switch (*fmt) {
            case '-': flags |= F_LEFT | F_MINUS; continue;
            case '+': flags |= F_PLUS; continue;
            case ' ': flags |= F_SPACE; continue;
            case '#': flags |= F_ALT; continue;
            case '0': flags |= F_ZERO; continue;
            case '\'': flags |= F_GROUP; continue;
            case 'I': flags |= F_I18N; continue;
            default: break;
            }
            break;
        }

        /* Width. */
        int width = 0;
        if (*fmt == '*') {
            fmt++;
            width = va_arg(ap, int);
            if (width < 0) {
                flags |= F_LEFT;
                width = width == -0x7fffffff - 1 ? 0x7fffffff : -width;
            }
        } else {
            width = parse_num(&fmt);
        }
        if (width > CONFIG_LIBC_PRINTF_WIDTH_MAX)
            width = CONFIG_LIBC_PRINTF_WIDTH_MAX;

        /* Precision. */
        int prec = -1;
        if (*fmt == '.') {
            fmt++;
            if (*fmt == '*') {
                fmt++;
                prec = va_arg(ap, int);
                if (prec < 0)
                    prec = -1;
            } else {
                prec = parse_num(&fmt);
            }
        }

        /* Length modifier. */
        int len = L_NONE;
        switch (*fmt) {
        case 'h':
            fmt++;
            len = L_H;
            if (*fmt == 'h')
                fmt++, len = L_HH;
            break;
        case 'l':
            fmt++;
            len = L_L;
            if (*fmt == 'l')
                fmt++, len = L_LL;
            break;
        case 'L': case 'q': fmt++; len = L_LL; break;
        case 'j': fmt++; len = L_J; break;
        case 'z': case 'Z': fmt++; len = L_Z; break;
        case 't': fmt++; len = L_T; break;
        default: break;
        }
        /* Every modifier from l up makes %c and %s wide, as in glibc. */
        int wide = len >= L_L;

        char conv = *fmt++;
        unsigned base = 10;
        unsigned long long uv;
        const char *s;
        size_t slen;

        switch (conv) {
        case 'd':
        case 'i': {
            long long v;
            switch (len) {
            case L_HH: v = (signed char)va_arg(ap, int); break;
            case L_H: v = (short)va_arg(ap, int); break;
            case L_NONE: v = va_arg(ap, int); break;
            case L_L: v = va_arg(ap, long); break;
            case L_Z: v = (long long)va_arg(ap, size_t); break;
            case L_T: v = va_arg(ap, ptrdiff_t); break;
            case L_J: v = va_arg(ap, intmax_t); break;
            default: v = va_arg(ap, long long); break;
            }
            put_signed(o, v, flags, width, prec);
            continue;
        }

        case 'o': base = 8; goto unsigned_conv;
        case 'x': case 'X': base = 16; goto unsigned_conv;
        case 'b': case 'B': base = 2; goto unsigned_conv;
        case 'u':
        unsigned_conv:
            switch (len) {
            case L_HH: uv = (unsigned char)va_arg(ap, unsigned); break;
            case L_H: uv = (unsigned short)va_arg(ap, unsigned); break;
            case L_NONE: uv = va_arg(ap, unsigned); break;
            case L_L: uv = va_arg(ap, unsigned long); break;
            case L_Z: uv = va_arg(ap, size_t); break;
            case L_T: uv = (unsigned long long)va_arg(ap, ptrdiff_t); break;
            case L_J: uv = va_arg(ap, uintmax_t); break;
            default: uv = va_arg(ap, unsigned long long); break;
            }
            {
                char prefix[2];
                size_t plen = 0;
                if (prec > CONFIG_LIBC_PRINTF_WIDTH_MAX)
                    prec = CONFIG_LIBC_PRINTF_WIDTH_MAX;
                char *d = prec == 0 && uv == 0 ? dend : utoa(dend, uv, base, conv == 'X');
                if (flags & F_ALT) {
                    if (base == 8) {
                        /* Force a leading 0 unless the digits or the
                         * precision's zeros already start with one. */
                        size_t nd = (size_t)(dend - d);
                        if ((d == dend || *d != '0') && (prec < 0 || (size_t)prec <= nd)) {
                            prefix[0] = '0';
                            plen = 1;
                        }
                    } else if (base != 10 && uv) {
                        prefix[0] = '0';
                        prefix[1] = conv;       /* x X b B */
                        plen = 2;
                    }
                }
                put_number(o, prefix, plen, d, dend, flags, width, prec);
            }
            continue;

        case 'p': {
            void *ptr = va_arg(ap, void *);
            if (!ptr) {
                put_field(o, "(nil)", 5, flags, width);
                continue;
            }
            char prefix[3];
            size_t plen = 0;
            if (flags & (F_PLUS | F_SPACE))
                prefix[plen++] = flags & F_PLUS ? '+' : ' ';
            prefix[plen++] = '0';
            prefix[plen++] = 'x';
            if (prec > CONFIG_LIBC_PRINTF_WIDTH_MAX)
                prec = CONFIG_LIBC_PRINTF_WIDTH_MAX;
            char *d = utoa(dend, (uintptr_t)ptr, 16, 0);
            put_number(o, prefix, plen, d, dend, flags, width, prec);
            continue;
        }

        case 'C':
            wide = 1;
            /* fall through */
        case 'c':
            if (wide) {
                unsigned wc = va_arg(ap, unsigned);     /* wint_t */
                if (wc > 0x7f)
                    goto eilseq;
                digits[0] = (char)wc;
            } else {
                digits[0] = (char)(unsigned char)va_arg(ap, int);
            }
            put_field(o, digits, 1, flags, width);
            continue;

        case 'S':
            wide = 1;
            /* fall through */
        case 's':
            if (wide) {
                const wchar_t *ws = va_arg(ap, const wchar_t *);
                if (ws) {
                    long n = wide_len(ws, prec);
                    if (n < 0)
                        goto eilseq;
                    pad_before(o, flags, width, (size_t)n);
                    put_wide(o, ws, (size_t)n);
                    pad_after(o, flags, width, (size_t)n);
                    continue;
                }
                s = NULL;
            } else {
                s = va_arg(ap, const char *);
            }
            if (!s) {
                if (prec < 0 || prec >= 6) {
                    s = "(null)";
                    slen = 6;
                } else {
                    s = "";
                    slen = 0;
                }
            } else {
                slen = prec < 0 ? strlen(s) : strnlen(s, (size_t)prec);
            }
            put_field(o, s, slen, flags, width);
            continue;

        case 'm':
            if (!(flags & F_ALT)) {
                s = strerror(saved_errno);
            } else if (!(s = strerrorname_np(saved_errno))) {
                put_signed(o, saved_errno, flags, width, prec);  /* no name: as %d */
                continue;
            }
            slen = prec < 0 ? strlen(s) : strnlen(s, (size_t)prec);
            put_field(o, s, slen, flags, width);
            continue;

        case 'n': {
            void *ptr = va_arg(ap, void *);
            switch (len) {
            case L_HH: *(signed char *)ptr = (signed char)__kiln_out_count(o); break;
            case L_H: *(short *)ptr = (short)__kiln_out_count(o); break;
            case L_NONE: *(int *)ptr = (int)__kiln_out_count(o); break;
            case L_L: *(long *)ptr = (long)__kiln_out_count(o); break;
            case L_Z: *(size_t *)ptr = __kiln_out_count(o); break;
            case L_T: *(ptrdiff_t *)ptr = (ptrdiff_t)__kiln_out_count(o); break;
            case L_J: *(intmax_t *)ptr = (intmax_t)__kiln_out_count(o); break;
            default: *(long long *)ptr = (long long)__kiln_out_count(o); break;
            }
            continue;
        }

        case '%':
            out_put(o, "%", 1);
            continue;

        case '\0':
            /* The format ended inside a conversion. */
            errno = EINVAL;
            return -1;

        default:
            /* Floating point (e E f F g G a A) and unknown conversions. */
            put_unknown(o, flags, width, prec, conv);
            continue;
        }
    eilseq:
        errno = EILSEQ;
        return -1;
    }
}

int __kiln_out_result(const struct __kiln_out *o, int rc)
{
    if (rc < 0)
        return -1;
    size_t n = __kiln_out_count(o);
    if (n > 0x7fffffff) {
        errno = EOVERFLOW;
        return -1;
    }
    return (int)n;
}
