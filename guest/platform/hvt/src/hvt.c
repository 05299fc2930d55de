/*
 * hvt implementations of <kiln/platform.h>: console, clocks, poll, exit.
 * Each service is one hypercall (spec 5) with its argument struct on the
 * stack; the stack is in guest RAM, so its address is a valid GPA on the
 * identity map (spec 3).  The structs are volatile so that every field is
 * really written before the OUT and read back after it.
 */
#include <kiln/hvt_abi.h>
#include <kiln/platform.h>
#include "hvt_internal.h"

void plat_console_write(const char *buf, unsigned long len)
{
    volatile struct hvt_hc_puts a = {
        .data = (hvt_gpa_t)(uintptr_t)buf,
        .len = len,
    };
    hvt_do_hypercall(HVT_HYPERCALL_PUTS, &a);
}

unsigned long long plat_walltime_ns(void)
{
    volatile struct hvt_hc_walltime a = { .nsecs = 0 };
    hvt_do_hypercall(HVT_HYPERCALL_WALLTIME, &a);
    return a.nsecs;
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    /* Not serialising on purpose: callers want a cheap timestamp, not a
     * fence around an instruction sequence. */
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

#define NSEC_PER_SEC 1000000000ull

/*
 * ns = tsc * 1e9 / freq without 128-bit arithmetic: split tsc into whole
 * seconds (q) and a remainder of cycles (r < freq).  q * 1e9 cannot overflow
 * before ~584 years of uptime, and r * 1e9 < freq * 1e9 fits in 64 bits for
 * any freq below 18.4 GHz.  The divisions only run when a time is asked
 * for, never at boot.  The origin is the TSC's, i.e. unspecified (under
 * KVM not necessarily VM creation); only differences are meaningful.
 */
unsigned long long plat_monotonic_ns(void)
{
    uint64_t freq = hvt_bi->cpu_cycle_freq;     /* spec 4: TSC Hz */
    uint64_t tsc = rdtsc();

    if (freq == 0)          /* a broken monitor; avoid #DE (= triple fault) */
        return tsc;
    uint64_t q = tsc / freq;
    uint64_t r = tsc % freq;
    return q * NSEC_PER_SEC + (r * NSEC_PER_SEC) / freq;
}

int plat_poll(unsigned long long timeout_ns, unsigned long long *ready_set)
{
    if (netring_started())  /* frames waiting in the ring: no exit (Kiln spec 3.6) */
        return netring_poll(timeout_ns, ready_set);
    volatile struct hvt_hc_poll a = {
        .timeout_nsecs = timeout_ns,
        .ready_set = 0,
        .ret = 0,
    };
    hvt_do_hypercall(HVT_HYPERCALL_POLL, &a);
    if (ready_set)
        *ready_set = a.ready_set;
    return a.ret;
}

__attribute__((noreturn)) void plat_exit(int status)
{
    /* Spec 5: HALT; cookie 0 = no panic/dump data. Not volatile: the hypercall's "memory"
     * clobber already makes the stores happen first, and a volatile initializer made GCC spend
     * seven more (emulated, ~2 us each) instructions merging the padding into one word. */
    struct hvt_hc_halt a;
    a.cookie = 0;
    a.exit_status = status;
    hvt_do_hypercall(HVT_HYPERCALL_HALT, &a);
    /* HALT does not return.  Should a monitor resume us anyway, stop the
     * vCPU for good: with interrupts off, HLT never wakes up. */
    for (;;)
        __asm__ __volatile__("cli; hlt");
}

__attribute__((noreturn)) void plat_abort(void)
{
    plat_exit(HVT_EXIT_ABORT);                  /* spec 5: 255 = abort */
}
