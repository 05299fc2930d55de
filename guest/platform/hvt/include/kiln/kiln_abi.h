/*
 * Kiln's extensions to the hvt ABI, version 1 (docs/kiln-abi.md, "the Kiln
 * spec").  A guest that uses them needs Kiln's monitor; the info page is
 * only read after its magic is checked, so a guest that merely links this
 * platform still runs on Solo5's tender.
 */
#ifndef KILN_KILN_ABI_H
#define KILN_KILN_ABI_H

#include <stdint.h>
#include <stddef.h>

/* Kiln spec 1: hypercall ports 0x580 + nr, same convention as hvt spec 5. */
#define KILN_HYPERCALL_PIO_BASE 0x580u

enum kiln_hypercall {
    KILN_HYPERCALL_FORK = 1,
    KILN_HYPERCALL_WAIT = 2,
    KILN_HYPERCALL_BLOCK_FLUSH = 3,
};

/* Kiln spec 1.1: FORK. */
struct kiln_hc_fork {
    int64_t ret;                 /* @0 out: parent: child id or -errno; child: 0 */
};
_Static_assert(sizeof(struct kiln_hc_fork) == 8, "kiln spec 1.1: fork struct");

/* Kiln spec 1.2: WAIT. */
struct kiln_hc_wait {
    int64_t  id;                 /* @0  in: child id or -1 (any) */
    uint64_t timeout_nsecs;      /* @8  in */
    int64_t  ret;                /* @16 out: id reaped, 0 none in time, -ECHILD */
    int32_t  status;             /* @24 out */
    uint32_t how;                /* @28 out: KILN_WAIT_* */
};
_Static_assert(sizeof(struct kiln_hc_wait) == 32, "kiln spec 1.2: wait struct");
_Static_assert(offsetof(struct kiln_hc_wait, ret) == 16, "kiln spec 1.2: ret @16");
_Static_assert(offsetof(struct kiln_hc_wait, status) == 24, "kiln spec 1.2: status @24");
_Static_assert(offsetof(struct kiln_hc_wait, how) == 28, "kiln spec 1.2: how @28");
#define KILN_WAIT_HALTED  0u
#define KILN_WAIT_FAULTED 1u
#define KILN_WAIT_STOPPED 2u

/* Kiln spec 1.3: BLOCK_FLUSH, a durability barrier. */
struct kiln_hc_block_flush {
    uint64_t handle;             /* @0 in: a block device's handle */
    int64_t  ret;                /* @8 out: 0 once earlier writes are on stable storage, or -errno */
};
_Static_assert(sizeof(struct kiln_hc_block_flush) == 16, "kiln spec 1.3: block flush struct");

/* Kiln spec 2: the info page. */
#define KILN_INFO_GPA     0x14000u
#define KILN_INFO_MAGIC   0x4f464e494e4c494bull   /* "KILNINFO" */
#define KILN_INFO_ARGS_MAX 8192u
#define KILN_INFO_F_STRACE 1u     /* kiln run --strace: the POSIX layer lists every system call */

struct kiln_info {
    uint64_t magic;              /* @0 */
    uint32_t version;            /* @8 */
    uint32_t size;               /* @12 */
    uint64_t id;                 /* @16 */
    uint64_t parent;             /* @24 */
    uint64_t generation;         /* @32 */
    uint32_t args_len;           /* @40 */
    uint32_t flags;              /* @44 KILN_INFO_F_* */
    uint64_t guest_entry_tsc;    /* @48 guest-written */
    uint64_t guest_main_tsc;     /* @56 guest-written */
    char     args[KILN_INFO_ARGS_MAX]; /* @64 */
};
_Static_assert(offsetof(struct kiln_info, generation) == 32, "kiln spec 2: generation @32");
_Static_assert(offsetof(struct kiln_info, guest_entry_tsc) == 48, "kiln spec 2: entry tsc @48");
_Static_assert(offsetof(struct kiln_info, args) == 64, "kiln spec 2: args @64");
_Static_assert(sizeof(struct kiln_info) == 8256, "kiln spec 2: info is 8256 bytes");

/* Kiln spec 3.1: the ring area at boot_info.net_ring: the ring (hvt spec
 * 6) rounded up to whole pages, then the slot buffers, buffer i at
 * net_ring + KILN_NET_RING_BUFFERS + i * HVT_NET_RING_BUFFER. */
#define KILN_NET_RING_BUFFERS   53248u       /* 49,280 rounded up to 4 KiB */
#define KILN_NET_RING_AREA      (53248u + 1024u * 2048u)

static inline void kiln_do_hypercall(int nr, volatile void *arg)
{
    __asm__ __volatile__("outl %0, %1"
                         :
                         : "a"((unsigned)(unsigned long)arg),
                           "d"((unsigned short)(KILN_HYPERCALL_PIO_BASE + nr))
                         : "memory");
}

#endif /* KILN_KILN_ABI_H */
