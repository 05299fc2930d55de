/*
 * <time.h>.  The clocks come from the platform: CLOCK_REALTIME from the
 * monitor's wall clock (plat_walltime_ns), CLOCK_MONOTONIC from the TSC
 * (plat_monotonic_ns).  There are no time zones: local time is UTC, so
 * localtime_r = gmtime_r and mktime = timegm.  No leap seconds.
 */
#ifndef _TIME_H
#define _TIME_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef __kiln_time_t_defined
#define __kiln_time_t_defined
typedef long time_t;
#endif
typedef int clockid_t;

struct timespec {
    time_t tv_sec;
    long tv_nsec;
};

struct tm {
    int tm_sec;         /* 0-60 */
    int tm_min;         /* 0-59 */
    int tm_hour;        /* 0-23 */
    int tm_mday;        /* 1-31 */
    int tm_mon;         /* 0-11 */
    int tm_year;        /* years since 1900 */
    int tm_wday;        /* 0-6, Sunday = 0 */
    int tm_yday;        /* 0-365 */
    int tm_isdst;       /* always 0 */
    long tm_gmtoff;     /* always 0 */
    const char *tm_zone; /* "GMT" */
};

#define CLOCK_REALTIME          0
#define CLOCK_MONOTONIC         1
#define CLOCK_MONOTONIC_RAW     4
#define CLOCK_REALTIME_COARSE   5
#define CLOCK_MONOTONIC_COARSE  6
#define CLOCK_BOOTTIME          7
#define TIMER_ABSTIME           1
#define TIME_UTC                1

time_t time(time_t *t);
int clock_gettime(clockid_t clk, struct timespec *ts);
int clock_getres(clockid_t clk, struct timespec *res);
int timespec_get(struct timespec *ts, int base);

/* Sleep by polling the platform (plat_poll) until the deadline; device
 * input may end a poll early, the sleep goes on.  Never interrupted. */
int nanosleep(const struct timespec *req, struct timespec *rem);
/* Returns 0 or an error number (not errno), like POSIX. */
int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req,
                    struct timespec *rem);

struct tm *gmtime_r(const time_t *t, struct tm *tm);
struct tm *gmtime(const time_t *t);
struct tm *localtime_r(const time_t *t, struct tm *tm);
struct tm *localtime(const time_t *t);
time_t timegm(struct tm *tm);
time_t mktime(struct tm *tm);

/* C locale.  Conversions: a A b B c C d D e F g G h H I j k l m M n p P r
 * R s S t T u U V w W x X y Y z Z %; E and O modifiers are ignored.  An
 * unknown conversion is copied as is. */
size_t strftime(char *__restrict s, size_t max, const char *__restrict fmt,
                const struct tm *__restrict tm);

#ifdef __cplusplus
}
#endif

#endif
