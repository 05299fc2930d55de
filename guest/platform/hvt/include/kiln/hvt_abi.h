/*
 * Kiln guest side of the Solo5 "hvt" ABI, version 2 (x86_64).
 *
 * Every layout here is fixed by /work/shared/docs/hvt-abi.md ("the spec");
 * section numbers in comments refer to that document.  The _Static_asserts
 * pin every size and offset so that a compiler or edit can never silently
 * change what the monitor sees.  All integers are little-endian, all
 * addresses are guest-physical (GPA) and, because the guest runs on an
 * identity map (spec 3), also usable directly as pointers.
 */
#ifndef KILN_HVT_ABI_H
#define KILN_HVT_ABI_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

typedef uint64_t hvt_gpa_t;

/* ---------------------------------------------------------------------
 * Spec 1: ELF notes.  The notes themselves are emitted in assembly
 * (src/notes.S) for an exact byte layout; these constants are shared.
 * ------------------------------------------------------------------- */
#define HVT_NOTE_NAME          "Solo5"       /* n_namesz == 6, incl. NUL */
#define HVT_NOTE_NAMESZ        6
#define HVT_NOTE_TYPE_ABI1     0x31494241u   /* "ABI1" little-endian */
#define HVT_NOTE_TYPE_MFT1     0x3154464du   /* "MFT1" little-endian */
#define HVT_ABI_TARGET_HVT     1u            /* spec 1: hvt needs abi_target == 1 */
#define HVT_ABI_VERSION        2u            /* spec 1: ... and abi_version == 2 */

/* Spec 1: ABI1 note descriptor, 16 bytes, no padding. */
struct hvt_abi1_desc {
    uint32_t abi_target;
    uint32_t abi_version;
    uint32_t reserved0;
    uint32_t reserved1;
};
_Static_assert(sizeof(struct hvt_abi1_desc) == 16, "spec 1: ABI1 descriptor is 16 bytes");

/* ---------------------------------------------------------------------
 * Spec 2: the manifest (MFT1), version 1, at most 64 entries.
 * ------------------------------------------------------------------- */
#define MFT_VERSION            1u
#define MFT_MAX_ENTRIES        64u
#define MFT_NAME_SIZE          68u           /* name[67] must be NUL */
#define MFT_NAME_MAX           67u           /* 1..67 alphanumeric chars */

enum mft_type {
    MFT_DEV_BLOCK_BASIC = 1,
    MFT_DEV_NET_BASIC   = 2,
    MFT_RESERVED_FIRST  = 1u << 30,          /* e[0] is always this, unnamed */
};

/* Spec 2: struct mft_entry, 104 bytes. */
struct mft_entry {
    char     name[MFT_NAME_SIZE];            /* @0 */
    uint32_t type;                           /* @68, enum mft_type */
    union {                                  /* @72, filled in by the monitor */
        struct {
            uint64_t capacity;               /* @72 */
            uint16_t block_size;             /* @80 */
        } block_basic;
        struct {
            uint8_t  mac[6];                 /* @72 */
            uint16_t mtu;                    /* @78 */
        } net_basic;
    } u;
    union {                                  /* @88, private to the monitor */
        uint64_t tender_private;
        uint8_t  bytes[8];
    } b;
    bool     attached;                       /* @96, false in the image */
};
_Static_assert(sizeof(struct mft_entry) == 104, "spec 2: mft_entry is 104 bytes");
_Static_assert(offsetof(struct mft_entry, name) == 0, "spec 2: name @0");
_Static_assert(offsetof(struct mft_entry, type) == 68, "spec 2: type @68");
_Static_assert(offsetof(struct mft_entry, u.block_basic.capacity) == 72, "spec 2: capacity @72");
_Static_assert(offsetof(struct mft_entry, u.block_basic.block_size) == 80, "spec 2: block_size @80");
_Static_assert(offsetof(struct mft_entry, u.net_basic.mac) == 72, "spec 2: mac @72");
_Static_assert(offsetof(struct mft_entry, u.net_basic.mtu) == 78, "spec 2: mtu @78");
_Static_assert(offsetof(struct mft_entry, b) == 88, "spec 2: tender-private union @88");
_Static_assert(sizeof(((struct mft_entry *)0)->b) == 8, "spec 2: tender-private union is 8 bytes");
_Static_assert(offsetof(struct mft_entry, attached) == 96, "spec 2: attached @96");

/* Spec 2: struct mft { u32 version @0; u32 entries @4; e[] @8 }. */
struct mft {
    uint32_t version;
    uint32_t entries;
    struct mft_entry e[];
};
_Static_assert(offsetof(struct mft, version) == 0, "spec 2: version @0");
_Static_assert(offsetof(struct mft, entries) == 4, "spec 2: entries @4");
_Static_assert(offsetof(struct mft, e) == 8, "spec 2: e[] @8");
_Static_assert(sizeof(struct mft) == 8, "spec 2: mft header is 8 bytes");

/* ---------------------------------------------------------------------
 * Spec 3/4: boot info, at GPA 0x10000 (RDI at entry), 56 bytes.
 * ------------------------------------------------------------------- */
#define HVT_BOOT_INFO_GPA      0x10000u
#define HVT_CMDLINE_SIZE       8192u         /* spec 3: incl. the NUL */
#define HVT_HOST_FEATURE_RING  (1u << 0)     /* spec 4: ring I/O offered */

struct hvt_boot_info {
    uint64_t  mem_size;                      /* @0  usable RAM (below any ring area) */
    uint64_t  kernel_end;                    /* @8  highest aligned segment end */
    uint64_t  cpu_cycle_freq;                /* @16 TSC Hz */
    hvt_gpa_t cmdline;                       /* @24 NUL-terminated */
    hvt_gpa_t mft;                           /* @32 the monitor's filled-in copy */
    uint32_t  host_features;                 /* @40 HVT_HOST_FEATURE_* */
    uint32_t  guest_features;                /* @44 0 */
    hvt_gpa_t net_ring;                      /* @48 0 if none (spec 6) */
};
_Static_assert(sizeof(struct hvt_boot_info) == 56, "spec 4: boot info is 56 bytes");
_Static_assert(offsetof(struct hvt_boot_info, mem_size) == 0, "spec 4: mem_size @0");
_Static_assert(offsetof(struct hvt_boot_info, kernel_end) == 8, "spec 4: kernel_end @8");
_Static_assert(offsetof(struct hvt_boot_info, cpu_cycle_freq) == 16, "spec 4: cpu_cycle_freq @16");
_Static_assert(offsetof(struct hvt_boot_info, cmdline) == 24, "spec 4: cmdline @24");
_Static_assert(offsetof(struct hvt_boot_info, mft) == 32, "spec 4: mft @32");
_Static_assert(offsetof(struct hvt_boot_info, host_features) == 40, "spec 4: host_features @40");
_Static_assert(offsetof(struct hvt_boot_info, guest_features) == 44, "spec 4: guest_features @44");
_Static_assert(offsetof(struct hvt_boot_info, net_ring) == 48, "spec 4: net_ring @48");

/* ---------------------------------------------------------------------
 * Spec 5: hypercalls.  A 32-bit OUT to port 0x500 + nr, EAX = low 32
 * bits of the argument struct's GPA.  Valid ports are [0x500, 0x509).
 * ------------------------------------------------------------------- */
#define HVT_HYPERCALL_PIO_BASE 0x500u

enum hvt_hypercall {
    HVT_HYPERCALL_WALLTIME    = 1,
    HVT_HYPERCALL_PUTS        = 2,
    HVT_HYPERCALL_POLL        = 3,
    HVT_HYPERCALL_BLOCK_WRITE = 4,
    HVT_HYPERCALL_BLOCK_READ  = 5,
    HVT_HYPERCALL_NET_WRITE   = 6,
    HVT_HYPERCALL_NET_READ    = 7,
    HVT_HYPERCALL_HALT        = 8,
    HVT_HYPERCALL_MAX         = 9,           /* first invalid nr */
};

/* Spec 5: hypercall results ("ret" fields). */
#define HVT_OK       0
#define HVT_EAGAIN   1
#define HVT_EINVAL   2
#define HVT_EUNSPEC  3

/* Spec 5: guest exit statuses with a fixed meaning. */
#define HVT_EXIT_SUCCESS 0
#define HVT_EXIT_FAILURE 1
#define HVT_EXIT_ABORT   255

/* Spec 5, nr 1: WALLTIME. */
struct hvt_hc_walltime {
    uint64_t nsecs;                          /* @0 out */
};
_Static_assert(sizeof(struct hvt_hc_walltime) == 8, "spec 5: walltime struct");
_Static_assert(offsetof(struct hvt_hc_walltime, nsecs) == 0, "spec 5: walltime nsecs @0");

/* Spec 5, nr 2: PUTS. */
struct hvt_hc_puts {
    hvt_gpa_t data;                          /* @0 */
    uint64_t  len;                           /* @8 */
};
_Static_assert(sizeof(struct hvt_hc_puts) == 16, "spec 5: puts struct");
_Static_assert(offsetof(struct hvt_hc_puts, data) == 0, "spec 5: puts data @0");
_Static_assert(offsetof(struct hvt_hc_puts, len) == 8, "spec 5: puts len @8");

/* Spec 5, nr 3: POLL. */
struct hvt_hc_poll {
    uint64_t timeout_nsecs;                  /* @0 in, relative */
    uint64_t ready_set;                      /* @8 out, bit i = handle i */
    int32_t  ret;                            /* @16 out, ready count */
};
_Static_assert(sizeof(struct hvt_hc_poll) == 24, "spec 5: poll struct");
_Static_assert(offsetof(struct hvt_hc_poll, timeout_nsecs) == 0, "spec 5: poll timeout @0");
_Static_assert(offsetof(struct hvt_hc_poll, ready_set) == 8, "spec 5: poll ready_set @8");
_Static_assert(offsetof(struct hvt_hc_poll, ret) == 16, "spec 5: poll ret @16");

/* Spec 5, nr 4 and 5: BLOCK_WRITE / BLOCK_READ (same layout; for READ
 * len is in/out). */
struct hvt_hc_block_io {
    uint64_t  handle;                        /* @0  manifest index */
    uint64_t  offset;                        /* @8  block aligned */
    hvt_gpa_t data;                          /* @16 */
    uint64_t  len;                           /* @24 one whole block */
    int32_t   ret;                           /* @32 out */
};
_Static_assert(sizeof(struct hvt_hc_block_io) == 40, "spec 5: block struct");
_Static_assert(offsetof(struct hvt_hc_block_io, handle) == 0, "spec 5: block handle @0");
_Static_assert(offsetof(struct hvt_hc_block_io, offset) == 8, "spec 5: block offset @8");
_Static_assert(offsetof(struct hvt_hc_block_io, data) == 16, "spec 5: block data @16");
_Static_assert(offsetof(struct hvt_hc_block_io, len) == 24, "spec 5: block len @24");
_Static_assert(offsetof(struct hvt_hc_block_io, ret) == 32, "spec 5: block ret @32");
#define hvt_hc_block_write hvt_hc_block_io
#define hvt_hc_block_read  hvt_hc_block_io

/* Spec 5, nr 6 and 7: NET_WRITE / NET_READ (same layout; for READ len is
 * in: buffer size, out: frame size; ret 1 = AGAIN when nothing waits). */
struct hvt_hc_net_io {
    uint64_t  handle;                        /* @0 */
    hvt_gpa_t data;                          /* @8 */
    uint64_t  len;                           /* @16 */
    int32_t   ret;                           /* @24 out */
};
_Static_assert(sizeof(struct hvt_hc_net_io) == 32, "spec 5: net struct");
_Static_assert(offsetof(struct hvt_hc_net_io, handle) == 0, "spec 5: net handle @0");
_Static_assert(offsetof(struct hvt_hc_net_io, data) == 8, "spec 5: net data @8");
_Static_assert(offsetof(struct hvt_hc_net_io, len) == 16, "spec 5: net len @16");
_Static_assert(offsetof(struct hvt_hc_net_io, ret) == 24, "spec 5: net ret @24");
#define hvt_hc_net_write hvt_hc_net_io
#define hvt_hc_net_read  hvt_hc_net_io

/* Spec 5, nr 8: HALT.  cookie is 0 or the GPA of >= 512 readable bytes. */
struct hvt_hc_halt {
    hvt_gpa_t cookie;                        /* @0 */
    int32_t   exit_status;                   /* @8 */
};
_Static_assert(sizeof(struct hvt_hc_halt) == 16, "spec 5: halt struct");
_Static_assert(offsetof(struct hvt_hc_halt, cookie) == 0, "spec 5: halt cookie @0");
_Static_assert(offsetof(struct hvt_hc_halt, exit_status) == 8, "spec 5: halt exit_status @8");
#define HVT_HALT_COOKIE_MIN 512u

/*
 * Spec 5: issue hypercall nr with argument struct arg.  The struct must lie
 * in guest RAM (stack, .data or .bss are all fine: every GPA is < 4 GiB,
 * so truncating to 32 bits is exact).  The "memory" clobber makes the
 * compiler store the inputs before the OUT and reload outputs after it.
 */
static inline void hvt_do_hypercall(int nr, volatile void *arg)
{
    __asm__ __volatile__("outl %0, %1"
                         :
                         : "a"((unsigned)(unsigned long)arg),
                           "d"((unsigned short)(HVT_HYPERCALL_PIO_BASE + nr))
                         : "memory");
}

/* ---------------------------------------------------------------------
 * Spec 6: ring I/O for the network (optional; host_features bit 0).
 * One ring for every net device, at boot_info.net_ring (top of RAM).
 * Indices are free-running u32; slot = index % HVT_NET_RING_SLOTS.
 * ------------------------------------------------------------------- */
#define HVT_NET_RING_SLOTS      1024u
#define HVT_NET_RING_BUFFER     2048u        /* slot buffer size */
#define HVT_NET_RING_OP_WRITE   1u
#define HVT_NET_RING_OP_READ    2u
#define HVT_NET_RING_KICK_PORT  0x600u       /* 32-bit OUT: the doorbell */

struct hvt_net_ring_entry {
    uint32_t  op;                            /* @0  HVT_NET_RING_OP_* */
    uint32_t  handle;                        /* @4  manifest index */
    hvt_gpa_t data;                          /* @8  frame / receive buffer */
    uint32_t  len;                           /* @16 frame length / buffer size */
    uint32_t  id;                            /* @20 the guest's, echoed in the commit */
    uint64_t  reserved;                      /* @24 0 */
};
_Static_assert(sizeof(struct hvt_net_ring_entry) == 32, "spec 6: entry is 32 bytes");
_Static_assert(offsetof(struct hvt_net_ring_entry, data) == 8, "spec 6: entry data @8");
_Static_assert(offsetof(struct hvt_net_ring_entry, len) == 16, "spec 6: entry len @16");
_Static_assert(offsetof(struct hvt_net_ring_entry, id) == 20, "spec 6: entry id @20");

struct hvt_net_ring_commit {
    uint32_t id;                             /* @0  the entry's id */
    int32_t  ret;                            /* @4  HVT_OK, HVT_EAGAIN, HVT_EINVAL, HVT_EUNSPEC */
    uint32_t len;                            /* @8  frame length (read) */
    uint32_t reserved;                       /* @12 */
};
_Static_assert(sizeof(struct hvt_net_ring_commit) == 16, "spec 6: commit is 16 bytes");

struct hvt_net_ring {
    uint32_t ent_tail;                       /* @0  guest-written cache line */
    uint32_t com_head;                       /* @4 */
    uint32_t wants_commits;                  /* @8  Kiln: waiting for write commits (kiln-abi 4.6) */
    uint8_t  pad0[52];
    uint32_t ent_head;                       /* @64 host-written cache line */
    uint32_t com_tail;                       /* @68 */
    uint32_t needs_kick;                     /* @72 */
    uint32_t served_at_poll;                 /* @76 Kiln: served only inside POLL (kiln-abi 4.5) */
    uint8_t  pad1[48];
    struct hvt_net_ring_entry ent[HVT_NET_RING_SLOTS];   /* @128 */
    struct hvt_net_ring_commit com[HVT_NET_RING_SLOTS];  /* @32896 */
};
_Static_assert(offsetof(struct hvt_net_ring, com_head) == 4, "spec 6: com_head @4");
_Static_assert(offsetof(struct hvt_net_ring, ent_head) == 64, "spec 6: ent_head @64");
_Static_assert(offsetof(struct hvt_net_ring, com_tail) == 68, "spec 6: com_tail @68");
_Static_assert(offsetof(struct hvt_net_ring, needs_kick) == 72, "spec 6: needs_kick @72");
_Static_assert(offsetof(struct hvt_net_ring, wants_commits) == 8, "Kiln 4.6: wants_commits @8");
_Static_assert(offsetof(struct hvt_net_ring, served_at_poll) == 76, "Kiln 4.5: served_at_poll @76");
_Static_assert(offsetof(struct hvt_net_ring, ent) == 128, "spec 6: entries @128");
_Static_assert(offsetof(struct hvt_net_ring, com) == 32896, "spec 6: commits @32896");
_Static_assert(sizeof(struct hvt_net_ring) == 49280, "spec 6: the ring is 49,280 bytes");

/* Spec 6: the doorbell.  Only when needs_kick is set; any 32-bit value. */
static inline void hvt_net_ring_kick(void)
{
    __asm__ __volatile__("outl %0, %1"
                         :
                         : "a"(0u), "d"((unsigned short)HVT_NET_RING_KICK_PORT)
                         : "memory");
}

#endif /* KILN_HVT_ABI_H */
