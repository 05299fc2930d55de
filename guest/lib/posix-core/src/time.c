/*
 * Clocks and sleeps.  The monotonic clock is the platform's TSC clock (no
 * exit).  WALLTIME is a hypercall (a VM exit, ~32 us natively), so the
 * realtime clock reads it once and then runs on the monotonic clock; it
 * reads it again when the instance became a new one (a restore or a fork
 * child: the info page's generation changed, docs/kiln-abi.md 2.1), since
 * the wall time moved while the snapshot slept.
 */
#include <errno.h>
#include <time.h>
#include <sys/time.h>
#include <kiln/kiln_abi.h>
#include <kiln/platform.h>
#include <kiln/posix.h>

static unsigned long long boot_ns;
static long long wall_offset;          /* realtime - monotonic */
static unsigned long long wall_generation = ~0ull;

unsigned long long kiln_posix_uptime_ns(void)
{
    unsigned long long now = plat_monotonic_ns();
    if (!boot_ns)
        boot_ns = now;
    return now - boot_ns;
}

unsigned long long kiln_posix_realtime_ns(void)
{
    const struct kiln_info *ki = plat_info();
    unsigned long long gen = ki ? ki->generation : 0;
    if (gen != wall_generation) {
        wall_generation = gen;
        wall_offset = (long long)plat_walltime_ns() - (long long)plat_monotonic_ns();
    }
    return (unsigned long long)((long long)plat_monotonic_ns() + wall_offset);
}

static int clock_ns(clockid_t id, unsigned long long *ns)
{
    switch (id) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
        *ns = kiln_posix_realtime_ns();
        return 0;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
        *ns = plat_monotonic_ns();
        return 0;
    case CLOCK_PROCESS_CPUTIME_ID:
    case CLOCK_THREAD_CPUTIME_ID:
        /* the vCPU runs this program only */
        *ns = kiln_posix_uptime_ns();
        return 0;
    default:
        return -EINVAL;
    }
}

KILN_SYSCALL2(clock_gettime, clockid_t, id, struct timespec *, ts)
{
    unsigned long long ns;
    int r = clock_ns(id, &ns);
    if (r)
        return r;
    if (!ts)
        return -EFAULT;
    ts->tv_sec = (time_t)(ns / 1000000000ull);
    ts->tv_nsec = (long)(ns % 1000000000ull);
    return 0;
}

KILN_SYSCALL2(clock_getres, clockid_t, id, struct timespec *, ts)
{
    unsigned long long ns;
    int r = clock_ns(id, &ns);
    if (r)
        return r;
    if (ts) {
        ts->tv_sec = 0;
        ts->tv_nsec = 1;
    }
    return 0;
}

KILN_SYSCALL2(gettimeofday, struct timeval *, tv, void *, tz)
{
    (void)tz;
    if (tv) {
        unsigned long long ns = kiln_posix_realtime_ns();
        tv->tv_sec = (time_t)(ns / 1000000000ull);
        tv->tv_usec = (long)((ns % 1000000000ull) / 1000);
    }
    return 0;
}

KILN_SYSCALL1(time, time_t *, t)
{
    time_t now = (time_t)(kiln_posix_realtime_ns() / 1000000000ull);
    if (t)
        *t = now;
    return now;
}

void kiln_posix_sleep_until(unsigned long long deadline)
{
    for (;;) {
        unsigned long long now = plat_monotonic_ns();
        if (now >= deadline)
            return;
        /* POLL blocks in the monitor until the time passes (or a device has input,
         * which nothing here is waiting for: go round again). */
        plat_poll(deadline - now, 0);
    }
}

static int valid(const struct timespec *ts)
{
    return ts && ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}

KILN_SYSCALL2(nanosleep, const struct timespec *, req, struct timespec *, rem)
{
    if (!valid(req))
        return -EINVAL;
    unsigned long long d = (unsigned long long)req->tv_sec * 1000000000ull + (unsigned long long)req->tv_nsec;
    kiln_posix_sleep_until(plat_monotonic_ns() + d);
    if (rem) {
        rem->tv_sec = 0;
        rem->tv_nsec = 0;
    }
    return 0;
}

KILN_SYSCALL4(clock_nanosleep, clockid_t, id, int, flags, const struct timespec *, req, struct timespec *, rem)
{
    unsigned long long now;
    int r = clock_ns(id, &now);
    if (r)
        return r;
    if (!valid(req))
        return -EINVAL;
    unsigned long long t = (unsigned long long)req->tv_sec * 1000000000ull + (unsigned long long)req->tv_nsec;
    unsigned long long mono = plat_monotonic_ns();
    if (flags & TIMER_ABSTIME)
        kiln_posix_sleep_until(t > now ? mono + (t - now) : mono);
    else
        kiln_posix_sleep_until(mono + t);
    if (rem && !(flags & TIMER_ABSTIME)) {
        rem->tv_sec = 0;
        rem->tv_nsec = 0;
    }
    return 0;
}

/* posix-thread replaces it when it is linked: a sleeping thread lets the others run. */
#pragma weak kiln_posix_sleep_until
