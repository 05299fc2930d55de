/*
 * computebench: the guest side of `kiln bench compute` (see <kiln/compute.h>).
 *
 * The arena is the guest RAM above the image, up to a reserve kept for the
 * boot stack at the top of memory; no allocator is linked.  Each workload
 * is timed with the TSC (rdtsc) and plat_monotonic_ns(), which converts the
 * TSC with the frequency the monitor put in the boot info.
 */
#include <kiln/compute.h>
#include <kiln/fmt.h>
#include <kiln/hvt_abi.h>
#include <kiln/platform.h>

/* The boot stack grows down from the top of RAM; the workloads recurse at most O(log n). */
#define STACK_RESERVE (1ull << 20)

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* Prints "computebench: TEXT[N][TEXT2[M]]" on one line; a NULL piece ends it. */
static void say(const char *text, const uint64_t *n, const char *text2, const uint64_t *m)
{
    char line[256];
    struct fmt_buf f;
    fmt_init(&f, line, sizeof line);
    fmt_puts(&f, "computebench: ");
    fmt_puts(&f, text);
    if (n)
        fmt_putu(&f, *n);
    if (text2)
        fmt_puts(&f, text2);
    if (m)
        fmt_putu(&f, *m);
    fmt_putc(&f, '\n');
    plat_console_write(f.p, f.len);
}

int main(const char *cmdline)
{
    struct compute_request req;
    const char *bad = compute_parse(cmdline, &req);
    if (bad) {
        say(bad, 0, 0, 0);
        return 2;
    }
    const struct hvt_boot_info *bi = plat_boot_info();
    uint64_t base = (bi->kernel_end + 4095) & ~4095ull;
    uint64_t top = bi->mem_size > STACK_RESERVE ? bi->mem_size - STACK_RESERVE : 0;
    uint64_t need = compute_arena_bytes(&req);
    if (top < base || top - base < need) {
        uint64_t have = top > base ? top - base : 0;
        say("the workloads need ", &need, " bytes of arena, the guest has ", &have);
        say("run it with a larger --mem", 0, 0, 0);
        return 1;
    }
    void *arena = (void *)(uintptr_t)base;
    compute_prefault(arena, need);
    say("guest tsc_hz=", &bi->cpu_cycle_freq, " arena_bytes=", &need);
    for (int w = 0; w < COMPUTE_COUNT; w++) {
        if (!(req.mask & (1u << w)))
            continue;
        struct compute_size s = compute_size(w, req.scale_ppm);
        uint64_t t0 = plat_monotonic_ns(), c0 = rdtsc();
        uint64_t checksum = compute_run(w, s, arena);
        uint64_t c1 = rdtsc(), t1 = plat_monotonic_ns();
        char line[200];
        plat_console_write(line, compute_format(line, sizeof line, w, s, t1 - t0, c1 - c0, checksum));
    }
    return 0;
}
