/*
 * The workloads of `kiln bench compute`, written to compile identically for
 * a Kiln guest and for a host process: freestanding C, no libc, no platform
 * call, no floating point (the guest flags include -mgeneral-regs-only), and
 * no call the compiler could turn into a host-optimised memcpy/memset.
 *
 * Each workload works in a caller's arena, initialises everything it reads,
 * and returns a checksum of its results, so the compiler cannot drop the
 * work and the host and the guest can show they computed the same thing.
 *
 * The command line both sides take: "scale=PPM [WORKLOAD...]", where PPM is
 * the size in millionths of the full one (1000000 = full: ~0.5 s per workload
 * on a current x86 core) and the workloads default to all of them.  Each
 * result is one line:
 *   workload=NAME elems=E reps=R ns=N tsc=T checksum=0xHHHHHHHHHHHHHHHH
 */
#ifndef KILN_COMPUTE_H
#define KILN_COMPUTE_H

#include <stddef.h>
#include <stdint.h>

enum compute_workload {
    COMPUTE_INTEGER,    /* PRNG, binary GCD, Collatz steps, a division: ALU and branches */
    COMPUTE_MEMORY,     /* pointer chase over a random cycle + a streaming sweep (32 MiB at full size) */
    COMPUTE_SORT,       /* quicksort (heapsort below a depth limit) of 64-bit keys */
    COMPUTE_HASH,       /* FNV-1a, table CRC-32 and a four-lane multiply-rotate hash over a buffer */
    COMPUTE_MINIMARK,   /* CoreMark-like: linked list find/reverse/sort, matrix multiply, state machine */
    COMPUTE_COUNT
};

/* How big one workload is at a scale: elements and repetitions, and the arena it needs. */
struct compute_size {
    uint64_t elems;
    uint64_t reps;
    uint64_t arena_bytes;
};

/* The largest scale: 100x the full size (in millionths). */
#define COMPUTE_SCALE_MAX_PPM 100000000ull

/* What a command line asks for: a scale and a set of workloads (bit w = workload w), in enum order. */
struct compute_request {
    uint64_t scale_ppm;
    unsigned mask;
};

/* Parses "scale=PPM [WORKLOAD...]" into *req.  Returns NULL, or a message naming what is wrong
 * (static storage: valid until the next call). */
const char *compute_parse(const char *cmdline, struct compute_request *req);

/* The workload's name ("integer", "memory", "sort", "hash", "minimark"). */
const char *compute_name(enum compute_workload w);

/* The size of workload w at scale_ppm (1..COMPUTE_SCALE_MAX_PPM). */
struct compute_size compute_size(enum compute_workload w, uint64_t scale_ppm);

/* The largest arena any workload of the request needs. */
uint64_t compute_arena_bytes(const struct compute_request *req);

/* Writes one byte in every 4 KiB page of [arena, arena + bytes), so that no workload's timing
 * includes the first touch of a page (a host page fault, or a nested fault for a guest). */
void compute_prefault(void *arena, uint64_t bytes);

/* Runs workload w at size s in arena (at least s.arena_bytes) and returns its checksum. */
uint64_t compute_run(enum compute_workload w, struct compute_size s, void *arena);

/* Formats the result line (with its newline) into buf; returns its length. */
size_t compute_format(char *buf, size_t cap, enum compute_workload w, struct compute_size s,
                      uint64_t ns, uint64_t tsc, uint64_t checksum);

#endif
