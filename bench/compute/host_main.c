/*
 * The host side of `kiln bench compute`: the same workloads as the guest app
 * guest/apps/computebench, as an ordinary Linux process.
 *
 * Only this driver is hosted C (argv, malloc, clock_gettime, stdio).  The
 * workloads (guest/lib/compute) and the formatter they use (guest/lib/fmt)
 * are compiled with the guest's own code-generation flags (the builder's
 * Toolchain.CFLAGS: -O2 -mgeneral-regs-only -mno-red-zone -ffreestanding
 * -fno-pic ...), so no side gets SSE or a library routine the other lacks.
 *
 * Usage: compute-host scale=PPM [WORKLOAD...]   (see <kiln/compute.h>)
 * Prints the guest's lines: a header, then one line per workload.
 */
#define _POSIX_C_SOURCE 200809L
#include <kiln/compute.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    /* The guest gets its arguments joined by single spaces; give the parser the same text. */
    char cmdline[4096] = "";
    size_t used = 0;
    for (int i = 1; i < argc; i++) {
        size_t n = strlen(argv[i]);
        if (used + n + 2 > sizeof cmdline) {
            fprintf(stderr, "compute-host: the command line is longer than %zu bytes\n", sizeof cmdline - 1);
            return 2;
        }
        if (used)
            cmdline[used++] = ' ';
        memcpy(cmdline + used, argv[i], n + 1);
        used += n;
    }
    struct compute_request req;
    const char *bad = compute_parse(cmdline, &req);
    if (bad) {
        fprintf(stderr, "compute-host: %s\n", bad);
        return 2;
    }
    uint64_t need = compute_arena_bytes(&req);
    void *arena = need ? aligned_alloc(4096, (need + 4095) & ~4095ull) : NULL;
    if (need && !arena) {
        fprintf(stderr, "compute-host: cannot allocate a %llu-byte arena\n", (unsigned long long)need);
        return 1;
    }
    compute_prefault(arena, need);
    printf("computebench: host arena_bytes=%llu\n", (unsigned long long)need);
    for (int w = 0; w < COMPUTE_COUNT; w++) {
        if (!(req.mask & (1u << w)))
            continue;
        struct compute_size s = compute_size(w, req.scale_ppm);
        uint64_t t0 = monotonic_ns(), c0 = rdtsc();
        uint64_t checksum = compute_run(w, s, arena);
        uint64_t c1 = rdtsc(), t1 = monotonic_ns();
        char line[200];
        fwrite(line, 1, compute_format(line, sizeof line, w, s, t1 - t0, c1 - c0, checksum), stdout);
        fflush(stdout);
    }
    free(arena);
    return 0;
}
