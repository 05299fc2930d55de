/*
 * <time.h>: clocks and sleeping on the platform, calendar conversion in
 * UTC (proleptic Gregorian calendar, no leap seconds).
 */
#include <errno.h>
#include <limits.h>
#include <time.h>
#include <kiln/platform.h>

#define NSEC_PER_SEC 1000000000ull
#define SECS_PER_DAY 86400

/* Nanoseconds of clk, or -1 for an unknown clock. */
static int clock_ns(clockid_t clk, unsigned long long *ns)
{
    switch (clk) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
        *ns = plat_walltime_ns();
        return 0;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
        *ns = plat_monotonic_ns();
        return 0;
    default:
        return -1;
    }
}

time_t time(time_t *t)
{
    time_t now = (time_t)(plat_walltime_ns() / NSEC_PER_SEC);
    if (t)
        *t = now;
    return now;
}

int clock_gettime(clockid_t clk, struct timespec *ts)
{
    unsigned long long ns;
    if (clock_ns(clk, &ns) < 0) {
        errno = EINVAL;
        return -1;
    }
    ts->tv_sec = (time_t)(ns / NSEC_PER_SEC);
    ts->tv_nsec = (long)(ns % NSEC_PER_SEC);
    return 0;
}

int clock_getres(clockid_t clk, struct timespec *res)
{
    switch (clk) {
    case CLOCK_REALTIME: case CLOCK_REALTIME_COARSE: case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW: case CLOCK_MONOTONIC_COARSE: case CLOCK_BOOTTIME:
        break;
    default:
        errno = EINVAL;
        return -1;
    }
    if (res) {
        res->tv_sec = 0;
        res->tv_nsec = 1;
    }
    return 0;
}

int timespec_get(struct timespec *ts, int base)
{
    if (base != TIME_UTC)
        return 0;
    clock_gettime(CLOCK_REALTIME, ts);
    return base;
}

static int valid_timespec(const struct timespec *ts)
{
    return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && (unsigned long)ts->tv_nsec < NSEC_PER_SEC;
}

/* ns of a valid timespec, saturating. */
static unsigned long long timespec_ns(const struct timespec *ts)
{
    unsigned long long s = (unsigned long long)ts->tv_sec;
    if (s >= ~0ull / NSEC_PER_SEC)
        return ~0ull;
    return s * NSEC_PER_SEC + (unsigned long long)ts->tv_nsec;
}

/* Poll until the monotonic clock reaches deadline. */
static void sleep_until(unsigned long long deadline)
{
    for (;;) {
        unsigned long long now = plat_monotonic_ns();
        if (now >= deadline)
            return;
        plat_poll(deadline - now, NULL);
    }
}

static void sleep_for(unsigned long long ns)
{
    unsigned long long start = plat_monotonic_ns();
    sleep_until(ns > ~0ull - start ? ~0ull : start + ns);
}

int nanosleep(const struct timespec *req, struct timespec *rem)
{
    (void)rem;                          /* never interrupted */
    if (!valid_timespec(req)) {
        errno = EINVAL;
        return -1;
    }
    sleep_for(timespec_ns(req));
    return 0;
}

int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req, struct timespec *rem)
{
    unsigned long long now;

    (void)rem;
    if (clock_ns(clk, &now) < 0)
        return EINVAL;
    if (!valid_timespec(req))
        return EINVAL;
    if (!(flags & TIMER_ABSTIME)) {
        sleep_for(timespec_ns(req));
        return 0;
    }
    unsigned long long target = timespec_ns(req);
    if (target <= now)
        return 0;
    if (clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_COARSE)
        sleep_for(target - now);        /* wall clock deadline, measured on the TSC */
    else
        sleep_until(target);
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (m 1-12). */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);                       /* 0-399 */
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0-365, from March */
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* 0-146096 */
    return era * 146097 + doe - 719468;
}

static int is_leap(long long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

struct tm *gmtime_r(const time_t *t, struct tm *tm)
{
    long long days = *t / SECS_PER_DAY;
    long long secs = *t % SECS_PER_DAY;
    if (secs < 0) {
        secs += SECS_PER_DAY;
        days--;
    }

    /* Civil date from days: eras of 400 years (146097 days) starting on
     * March 1st, so that the leap day is the last day of a year. */
    long long z = days + 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);                        /* 0-146096 */
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* 0-399 */
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);             /* 0-365 */
    unsigned mp = (5 * doy + 2) / 153;                                  /* 0-11, March = 0 */
    unsigned mday = doy - (153 * mp + 2) / 5 + 1;
    unsigned mon = mp < 10 ? mp + 2 : mp - 10;                          /* 0-11 */
    long long year = (long long)yoe + era * 400 + (mon <= 1);

    if (year - 1900 > INT_MAX || year - 1900 < INT_MIN) {
        errno = EOVERFLOW;
        return NULL;
    }
    int wday = (int)((days + 4) % 7);                                   /* 1970-01-01: Thursday */
    if (wday < 0)
        wday += 7;

    tm->tm_sec = (int)(secs % 60);
    tm->tm_min = (int)(secs / 60 % 60);
    tm->tm_hour = (int)(secs / 3600);
    tm->tm_mday = (int)mday;
    tm->tm_mon = (int)mon;
    tm->tm_year = (int)(year - 1900);
    tm->tm_wday = wday;
    tm->tm_yday = (int)(mon >= 2 ? doy - 306 + 365 + is_leap(year) : doy - 306);
    tm->tm_isdst = 0;
    tm->tm_gmtoff = 0;
    tm->tm_zone = "GMT";
    return tm;
}

struct tm *gmtime(const time_t *t)
{
    static struct tm tm;
    return gmtime_r(t, &tm);
}

struct tm *localtime_r(const time_t *t, struct tm *tm)
{
    return gmtime_r(t, tm);
}

struct tm *localtime(const time_t *t)
{
    return gmtime(t);
}

/* Floor division and modulo. */
static long long fdiv(long long a, long long b, long long *mod)
{
    long long q = a / b, r = a % b;
    if (r < 0) {
        r += b;
        q--;
    }
    *mod = r;
    return q;
}

time_t timegm(struct tm *tm)
{
    long long mon;
    long long year = (long long)tm->tm_year + 1900 + fdiv(tm->tm_mon, 12, &mon);
    long long days = days_from_civil(year, (unsigned)mon + 1, 1) + tm->tm_mday - 1;
    time_t t = (time_t)(days * SECS_PER_DAY + (long long)tm->tm_hour * 3600
                        + (long long)tm->tm_min * 60 + tm->tm_sec);
    struct tm out;
    if (!gmtime_r(&t, &out))
        return -1;                      /* errno = EOVERFLOW */
    *tm = out;
    return t;
}

time_t mktime(struct tm *tm)
{
    return timegm(tm);
}
