/*
 * time.h: gmtime_r, timegm and strftime vs glibc (UTC) over many
 * timestamps, clock_gettime against the host clocks, nanosleep and
 * clock_nanosleep against elapsed time (the platform stub's poll returns
 * early, so the libc must keep polling until its deadline).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "harness.h"

static int same_tm(const struct tm *g, const struct kiln_tm *k)
{
    return g->tm_sec == k->tm_sec && g->tm_min == k->tm_min && g->tm_hour == k->tm_hour
        && g->tm_mday == k->tm_mday && g->tm_mon == k->tm_mon && g->tm_year == k->tm_year
        && g->tm_wday == k->tm_wday && g->tm_yday == k->tm_yday && g->tm_isdst == k->tm_isdst
        && g->tm_gmtoff == k->tm_gmtoff
        && strcmp(g->tm_zone ? g->tm_zone : "", k->tm_zone ? k->tm_zone : "") == 0;
}

static void to_kiln(const struct tm *g, struct kiln_tm *k)
{
    memset(k, 0, sizeof *k);
    k->tm_sec = g->tm_sec; k->tm_min = g->tm_min; k->tm_hour = g->tm_hour;
    k->tm_mday = g->tm_mday; k->tm_mon = g->tm_mon; k->tm_year = g->tm_year;
    k->tm_wday = g->tm_wday; k->tm_yday = g->tm_yday; k->tm_isdst = g->tm_isdst;
    k->tm_gmtoff = g->tm_gmtoff; k->tm_zone = g->tm_zone;
}

static void one_gmtime(long long t)
{
    time_t gt = (time_t)t;
    long kt = (long)t;
    struct tm g;
    struct kiln_tm k;
    memset(&g, 0, sizeof g);
    memset(&k, 0, sizeof k);
    errno = 0;
    struct tm *gr = gmtime_r(&gt, &g);
    int ge = errno;
    kiln_errno = 0;
    struct kiln_tm *kr = kiln_gmtime_r(&kt, &k);
    int ke = kiln_errno;
    if (!gr) {
        CHECK(!kr && ke == ge, "gmtime_r(%lld): glibc NULL errno %d, kiln %p errno %d", t, ge,
              (void *)kr, ke);
        return;
    }
    CHECK(kr == &k && same_tm(&g, &k),
          "gmtime_r(%lld): glibc %d-%02d-%02d %02d:%02d:%02d wd %d yd %d | kiln %d-%02d-%02d "
          "%02d:%02d:%02d wd %d yd %d", t, g.tm_year + 1900, g.tm_mon + 1, g.tm_mday,
          g.tm_hour, g.tm_min, g.tm_sec, g.tm_wday, g.tm_yday, k.tm_year + 1900, k.tm_mon + 1,
          k.tm_mday, k.tm_hour, k.tm_min, k.tm_sec, k.tm_wday, k.tm_yday);
}

static void gmtime_tests(void)
{
    static const long long fixed[] = {
        0, -1, 1, 59, 60, 86399, 86400, -86400, -86401, 951782400 /* 2000-02-29 */,
        951868800, 68169600, 2147483647, -2147483648LL, 4102444800LL /* 2100 */,
        -2208988800LL /* 1900 */, -62135596800LL /* 0001 */, -62167219200LL /* 0000 */,
        253402300799LL, 67767976233532799LL, 67767976233532800LL, 67767976233316800LL,
        -67768040609740800LL, -67768040609740801LL, -67768040609827200LL,
        LLONG_MAX, LLONG_MIN, LLONG_MAX / 2, LLONG_MIN / 2,
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        one_gmtime(fixed[i]);
    for (int i = 0; i < 300000; i++) {
        long long t;
        switch (i % 5) {
        case 0: t = (long long)(h_rand() % 4000000000ull) - 2000000000LL; break;
        case 1: t = (long long)(h_rand() % 800000000000ull) - 400000000000LL; break;
        case 2: t = (long long)(h_rand() % 140000000000000000ull) - 70000000000000000LL; break;
        case 3: t = (long long)h_rand(); break;
        default: {
            /* Around a year boundary (leap rules, week numbers). */
            long long y = (long long)h_randn(12000) - 2000;
            struct tm tm = { .tm_year = (int)(y - 1900), .tm_mday = 1 };
            t = (long long)timegm(&tm) + (long long)h_randn(20 * 86400) - 10 * 86400;
            break;
        }
        }
        one_gmtime(t);
    }
    long z = 86400 * 365L;
    struct kiln_tm *p = kiln_gmtime(&z);
    CHECK(p && p->tm_year == 71 && p->tm_yday == 0, "gmtime static");
}

static void timegm_tests(void)
{
    for (int i = 0; i < 100000; i++) {
        struct tm g;
        memset(&g, 0, sizeof g);
        int wide = i % 2;
        g.tm_sec = wide ? (int)h_randn(200000) - 100000 : (int)h_randn(61);
        g.tm_min = wide ? (int)h_randn(20000) - 10000 : (int)h_randn(60);
        g.tm_hour = wide ? (int)h_randn(2000) - 1000 : (int)h_randn(24);
        g.tm_mday = wide ? (int)h_randn(4000) - 2000 : 1 + (int)h_randn(31);
        g.tm_mon = wide ? (int)h_randn(400) - 200 : (int)h_randn(12);
        g.tm_year = (int)h_randn(20000) - 10000;
        g.tm_wday = (int)h_randn(100);
        g.tm_yday = (int)h_randn(1000);
        struct kiln_tm k;
        to_kiln(&g, &k);
        errno = 0;
        time_t gt = timegm(&g);
        int ge = errno;
        kiln_errno = 0;
        long kt = kiln_timegm(&k);
        int ke = kiln_errno;
        CHECK(gt == kt && (gt == -1 ? ge == ke : same_tm(&g, &k)),
              "timegm #%d: glibc %ld kiln %ld", i, (long)gt, kt);
    }
    /* mktime is timegm (no time zones). */
    struct kiln_tm k = { .tm_year = 100, .tm_mon = 1, .tm_mday = 29, .tm_hour = 12 };
    CHECK(kiln_mktime(&k) == 951825600L, "mktime");
    /* Overflowing years. */
    struct tm g = { .tm_year = INT_MAX, .tm_mon = 12, .tm_mday = 1 };
    struct kiln_tm k2;
    to_kiln(&g, &k2);
    errno = 0;
    time_t gt = timegm(&g);
    int ge = errno;
    kiln_errno = 0;
    long kt = kiln_timegm(&k2);
    CHECK(gt == kt && ge == kiln_errno, "timegm overflow: glibc %ld/%d kiln %ld/%d", (long)gt, ge,
          kt, kiln_errno);
}

static void strftime_tests(void)
{
    static const char *const fmts[] = {
        "%a", "%A", "%b", "%B", "%c", "%C", "%d", "%D", "%e", "%F", "%g", "%G", "%h", "%H",
        "%I", "%j", "%k", "%l", "%m", "%M", "%n", "%p", "%P", "%r", "%R", "%s", "%S", "%t",
        "%T", "%u", "%U", "%V", "%w", "%W", "%x", "%X", "%y", "%Y", "%z", "%Z", "%%",
        "%Y-%m-%dT%H:%M:%S%z", "week %V of %G (%g), day %j, %U/%W",
        "%-d %_d %0e %-m %_m %5Y %-j %_H %-H %3d %_5d %08Y %-y %10s", "%^a %^A %^b %^B %^p",
        "%10A|%-10b|%3a", "%Ey %EY %Od %OH %Ec", "plain text", "",
    };
    for (int i = 0; i < 60000; i++) {
        long long t;
        if (i % 3 == 0) {
            long long y = (long long)h_randn(10200) - 200;
            struct tm tm = { .tm_year = (int)(y - 1900), .tm_mday = 1 };
            t = (long long)timegm(&tm) + (long long)h_randn(20 * 86400) - 10 * 86400;
        } else {
            t = (long long)(h_rand() % 400000000000ull) - 80000000000LL;
        }
        time_t gt = (time_t)t;
        long kt = (long)t;
        struct tm g;
        struct kiln_tm k;
        gmtime_r(&gt, &g);
        kiln_gmtime_r(&kt, &k);
        const char *f = fmts[i % (sizeof fmts / sizeof fmts[0])];
        char gb[256], kb[256];
        size_t gn = strftime(gb, sizeof gb, f, &g);
        size_t kn = kiln_strftime(kb, sizeof kb, f, &k);
        CHECK(gn == kn && memcmp(gb, kb, gn + 1) == 0, "strftime(%s) at %lld: glibc %s kiln %s",
              h_quote(f, strlen(f)), t, h_quote(gb, gn), h_quote(kb, kn));
        /* Too small a buffer: 0. */
        size_t small = gn ? h_randn((unsigned)gn + 2) : 0;
        gn = strftime(gb, small, f, &g);
        kn = kiln_strftime(kb, small, f, &k);
        CHECK(gn == kn, "strftime(%s) size %zu: glibc %zu kiln %zu", h_quote(f, strlen(f)), small,
              gn, kn);
    }
}

static long long ns_of(const struct kiln_timespec *ts)
{
    return ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

static long long host_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void clock_tests(void)
{
    struct kiln_timespec ts;
    long long h0 = host_ns(CLOCK_REALTIME);
    CHECK(kiln_clock_gettime(CLOCK_REALTIME, &ts) == 0, "clock_gettime REALTIME");
    long long h1 = host_ns(CLOCK_REALTIME);
    CHECK(ns_of(&ts) >= h0 && ns_of(&ts) <= h1 && ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000,
          "REALTIME within the host's");
    h0 = host_ns(CLOCK_MONOTONIC);
    CHECK(kiln_clock_gettime(CLOCK_MONOTONIC, &ts) == 0, "clock_gettime MONOTONIC");
    h1 = host_ns(CLOCK_MONOTONIC);
    CHECK(ns_of(&ts) >= h0 && ns_of(&ts) <= h1, "MONOTONIC within the host's");
    kiln_errno = 0;
    CHECK(kiln_clock_gettime(12345, &ts) == -1 && kiln_errno == EINVAL, "bad clock");
    CHECK(kiln_clock_getres(CLOCK_MONOTONIC, &ts) == 0 && ts.tv_sec == 0 && ts.tv_nsec == 1,
          "clock_getres");
    long t1 = 0;
    time_t g0 = time(NULL);
    long k0 = kiln_time(&t1);
    CHECK(k0 == t1 && k0 >= g0 && k0 <= time(NULL), "time()");
    CHECK(kiln_timespec_get(&ts, 1) == 1 && ts.tv_sec >= g0, "timespec_get");

    /* nanosleep: at least the time asked, not much more. */
    static const long sleeps_ns[] = { 0, 1, 1000, 200000, 3000000 };
    for (size_t i = 0; i < sizeof sleeps_ns / sizeof sleeps_ns[0]; i++) {
        struct kiln_timespec req = { 0, sleeps_ns[i] };
        stub_polls = 0;
        long long s = host_ns(CLOCK_MONOTONIC);
        int r = kiln_nanosleep(&req, NULL);
        long long el = host_ns(CLOCK_MONOTONIC) - s;
        CHECK(r == 0 && el >= sleeps_ns[i] && el < sleeps_ns[i] + 50000000,
              "nanosleep %ld ns: r %d, slept %lld ns", sleeps_ns[i], r, el);
        if (sleeps_ns[i] >= 3000000)
            CHECK(stub_polls >= 2, "nanosleep keeps polling after an early return: %lu polls",
                  stub_polls);
    }
    struct kiln_timespec one_s = { 0, 1200000 };
    long long s = host_ns(CLOCK_MONOTONIC);
    CHECK(kiln_clock_nanosleep(CLOCK_MONOTONIC, 0, &one_s, NULL) == 0
              && host_ns(CLOCK_MONOTONIC) - s >= 1200000, "clock_nanosleep relative");
    struct kiln_timespec abs_t;
    kiln_clock_gettime(CLOCK_MONOTONIC, &abs_t);
    abs_t.tv_nsec += 1500000;
    if (abs_t.tv_nsec >= 1000000000) {
        abs_t.tv_sec++;
        abs_t.tv_nsec -= 1000000000;
    }
    CHECK(kiln_clock_nanosleep(CLOCK_MONOTONIC, 1, &abs_t, NULL) == 0
              && host_ns(CLOCK_MONOTONIC) >= ns_of(&abs_t), "clock_nanosleep absolute MONOTONIC");
    kiln_clock_gettime(CLOCK_REALTIME, &abs_t);
    abs_t.tv_nsec += 1500000;
    if (abs_t.tv_nsec >= 1000000000) {
        abs_t.tv_sec++;
        abs_t.tv_nsec -= 1000000000;
    }
    CHECK(kiln_clock_nanosleep(CLOCK_REALTIME, 1, &abs_t, NULL) == 0
              && host_ns(CLOCK_REALTIME) >= ns_of(&abs_t), "clock_nanosleep absolute REALTIME");
    struct kiln_timespec past = { 1, 0 };
    CHECK(kiln_clock_nanosleep(CLOCK_MONOTONIC, 1, &past, NULL) == 0, "absolute in the past");

    static const struct kiln_timespec bad[] = { { 0, -1 }, { 0, 1000000000 }, { -1, 0 } };
    for (size_t i = 0; i < 3; i++) {
        kiln_errno = 0;
        CHECK(kiln_nanosleep(&bad[i], NULL) == -1 && kiln_errno == EINVAL, "nanosleep EINVAL %zu", i);
        CHECK(kiln_clock_nanosleep(CLOCK_MONOTONIC, 0, &bad[i], NULL) == EINVAL,
              "clock_nanosleep EINVAL %zu", i);
    }
    CHECK(kiln_clock_nanosleep(99, 0, &one_s, NULL) == EINVAL, "clock_nanosleep bad clock");
}

void test_time(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    gmtime_tests();
    timegm_tests();
    strftime_tests();
    clock_tests();
}
