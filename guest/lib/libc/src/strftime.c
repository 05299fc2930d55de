/*
 * strftime in the C locale, with glibc's output for the conversions listed
 * in <time.h>, including its GNU flags on numbers (- _ 0, a field width)
 * and ^ (upper case) on names.  %s and the ISO 8601 week conversions
 * (%G %g %V) compute in UTC.
 */
#include <stddef.h>
#include <time.h>

struct sout {
    char *p;
    char *end;          /* one before the buffer's end: room for the NUL */
    int full;           /* something did not fit */
};

static void put(struct sout *o, const char *s, size_t n)
{
    for (; n; n--) {
        if (o->p == o->end) {
            o->full = 1;
            return;
        }
        *o->p++ = *s++;
    }
}

static void put_str(struct sout *o, const char *s, int width, int upper)
{
    char buf[16];
    size_t n = 0;
    while (s[n])
        n++;
    for (size_t i = width > 0 && (size_t)width > n ? (size_t)width - n : 0; i; i--)
        put(o, " ", 1);
    if (upper && n <= sizeof buf) {
        for (size_t i = 0; i < n; i++)
            buf[i] = (char)((unsigned)s[i] - 'a' < 26 ? s[i] & 0x5f : s[i]);
        s = buf;
    }
    put(o, s, n);
}

/* v at least width wide, padded with pad ('0', ' ' or 0 for none). */
static void put_num(struct sout *o, long long v, int width, char pad)
{
    char buf[24], *e = buf + sizeof buf, *d = e;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do
        *--d = (char)('0' + u % 10);
    while (u /= 10);
    int len = (int)(e - d) + (v < 0);
    if (pad == ' ')
        for (; len < width; len++)
            put(o, " ", 1);
    if (v < 0)
        put(o, "-", 1);
    if (pad == '0')
        for (; len < width; len++)
            put(o, "0", 1);
    put(o, d, (size_t)(e - d));
}

static int is_leap(long long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* yday of the Monday that starts ISO week 1 (the week of January 4th),
 * for a day at yday that is a wd (Monday = 0). */
static int week1_monday(int yday, int wd)
{
    int jan4_wd = ((wd - (yday - 3)) % 7 + 7) % 7;
    return 3 - jan4_wd;
}

static int iso_week(const struct tm *tm, long long *iso_year)
{
    long long y = (long long)tm->tm_year + 1900;
    int wd = ((tm->tm_wday + 6) % 7 + 7) % 7;
    int yday = tm->tm_yday;
    int m1 = week1_monday(yday, wd);

    if (yday < m1) {
        int yd = yday + 365 + is_leap(y - 1);
        *iso_year = y - 1;
        return (yd - week1_monday(yd, wd)) / 7 + 1;
    }
    int yd = yday - 365 - is_leap(y);
    if (yd >= week1_monday(yd, wd)) {
        *iso_year = y + 1;
        return 1;
    }
    *iso_year = y;
    return (yday - m1) / 7 + 1;
}

static long long floor_div(long long a, long long b)
{
    long long q = a / b;
    return (a % b < 0) ? q - 1 : q;
}

static const char *const wday_abbr[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const wday_full[] = { "Sunday", "Monday", "Tuesday", "Wednesday",
                                         "Thursday", "Friday", "Saturday" };
static const char *const mon_abbr[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
static const char *const mon_full[] = { "January", "February", "March", "April", "May", "June",
                                        "July", "August", "September", "October", "November",
                                        "December" };

static void format(struct sout *o, const char *f, const struct tm *tm)
{
    for (; *f && !o->full; f++) {
        if (*f != '%') {
            put(o, f, 1);
            continue;
        }
        const char *start = f++;
        char pad = 0;           /* 0: the conversion's default */
        int upper = 0;
        int width = -1;
        for (;; f++) {
            if (*f == '_')
                pad = ' ';
            else if (*f == '-')
                pad = '-';
            else if (*f == '0')
                pad = '0';
            else if (*f == '^')
                upper = 1;
            else if (*f == '#')
                ;
            else
                break;
        }
        if ((unsigned)*f - '0' < 10) {
            width = 0;
            while ((unsigned)*f - '0' < 10)
                width = width * 10 + (*f++ - '0');
        }
        if (*f == 'E' || *f == 'O')
            f++;

        long long num;
        int nwidth = 2;         /* default width of a number */
        char npad = '0';        /* default padding of a number */
        const char *str;
        long long iso_year;

        switch (*f) {
        case 'a':
            str = (unsigned)tm->tm_wday < 7 ? wday_abbr[tm->tm_wday] : "?";
            goto string;
        case 'A':
            str = (unsigned)tm->tm_wday < 7 ? wday_full[tm->tm_wday] : "?";
            goto string;
        case 'b':
        case 'h':
            str = (unsigned)tm->tm_mon < 12 ? mon_abbr[tm->tm_mon] : "?";
            goto string;
        case 'B':
            str = (unsigned)tm->tm_mon < 12 ? mon_full[tm->tm_mon] : "?";
            goto string;
        case 'p':
            str = tm->tm_hour < 12 ? "AM" : "PM";
            goto string;
        case 'P':
            str = tm->tm_hour < 12 ? "am" : "pm";
            goto string;
        case 'Z':
            str = tm->tm_zone ? tm->tm_zone : "";
            goto string;
        case 'n':
            str = "\n";
            goto string;
        case 't':
            str = "\t";
            goto string;
        case '%':
            str = "%";
            goto string;

        case 'c': format(o, "%a %b %e %H:%M:%S %Y", tm); continue;
        case 'D':
        case 'x': format(o, "%m/%d/%y", tm); continue;
        case 'F': format(o, "%Y-%m-%d", tm); continue;
        case 'r': format(o, "%I:%M:%S %p", tm); continue;
        case 'R': format(o, "%H:%M", tm); continue;
        case 'T':
        case 'X': format(o, "%H:%M:%S", tm); continue;

        case 'C': num = floor_div((long long)tm->tm_year + 1900, 100); nwidth = 1; break;
        case 'd': num = tm->tm_mday; break;
        case 'e': num = tm->tm_mday; npad = ' '; break;
        case 'g':
            iso_week(tm, &iso_year);
            num = (iso_year % 100 + 100) % 100;
            break;
        case 'G': iso_week(tm, &num); nwidth = 1; break;
        case 'H': num = tm->tm_hour; break;
        case 'I': num = (tm->tm_hour % 12 + 11) % 12 + 1; break;
        case 'j': num = tm->tm_yday + 1; nwidth = 3; break;
        case 'k': num = tm->tm_hour; npad = ' '; break;
        case 'l': num = (tm->tm_hour % 12 + 11) % 12 + 1; npad = ' '; break;
        case 'm': num = tm->tm_mon + 1; break;
        case 'M': num = tm->tm_min; break;
        case 's': {
            struct tm copy = *tm;
            num = timegm(&copy);
            nwidth = 1;
            npad = ' ';
            break;
        }
        case 'S': num = tm->tm_sec; break;
        case 'u': num = (tm->tm_wday + 6) % 7 + 1; nwidth = 1; break;
        case 'U': num = (tm->tm_yday + 7 - tm->tm_wday) / 7; break;
        case 'V': num = iso_week(tm, &iso_year); break;
        case 'w': num = tm->tm_wday; nwidth = 1; break;
        case 'W': num = (tm->tm_yday + 7 - (tm->tm_wday + 6) % 7) / 7; break;
        case 'y': num = ((tm->tm_year + 1900LL) % 100 + 100) % 100; break;
        case 'Y': num = tm->tm_year + 1900LL; nwidth = 1; break;
        case 'z': {
            long off = tm->tm_gmtoff;
            char sign = off < 0 ? '-' : '+';
            if (off < 0)
                off = -off;
            put(o, &sign, 1);
            put_num(o, off / 3600 * 100 + off / 60 % 60, 4, '0');
            continue;
        }
        default:
            /* Unknown or the format's end: copy the text as is. */
            if (!*f)
                f--;
            put(o, start, (size_t)(f - start + 1));
            continue;
        }

        /* A number. */
        if (pad == '-')
            put_num(o, num, 0, 0);
        else
            put_num(o, num, width >= 0 ? width : nwidth, pad ? pad : npad);
        continue;

    string:
        put_str(o, str, width, upper);
    }
}

size_t strftime(char *__restrict s, size_t max, const char *__restrict fmt,
                const struct tm *__restrict tm)
{
    if (!max)
        return 0;
    struct sout o = { s, s + max - 1, 0 };
    format(&o, fmt, tm);
    *o.p = '\0';
    return o.full ? 0 : (size_t)(o.p - s);
}
