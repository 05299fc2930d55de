/*
 * kvstore's durability, after Redis's append-only file (this file: the layout and what log.c and
 * snapshot.c share): every change to the store is appended to
 * a log on the block device and, with appendfsync "always", flushed (Kiln's BLOCK_FLUSH barrier,
 * docs/kiln-abi.md 1.3) before its reply goes out, so nothing acknowledged is lost; SAVE writes a
 * snapshot beside the previous one and switches to it with a superblock, so a crash at any moment
 * leaves one whole snapshot and the log after it.
 *
 * The device, in blocks:  0, 1     two superblocks, written alternately (a torn one is ignored)
 *                         A, B     two snapshot areas, 3/8 of the rest each
 *                         L        the log, the last quarter
 * Superblock: "KVSTORE2", u64 generation, u64 area (0/1), u64 snapshot bytes, u64 keys, u64
 *             snapshot checksum, u64 log epoch, u64 checksum of all before it.
 * Snapshot:   per key: u32 key length, u32 value length, u64 expiry (wall-clock ns, 0 = never),
 *             key, value.
 * Log record: u32 "KVLR", u32 change, u64 epoch, u32 key length, u32 value length, u64 expiry
 *             (wall-clock ns), key, value, u64 checksum of all before it. Records of another epoch
 *             (an older log) or with a bad checksum end the replay.
 * Expiry times are kept as wall-clock time on the device: the store's own clock (TSC) starts
 * anywhere at each boot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kiln/platform.h>
#include <kiln/sched.h>
#include "persist_internal.h"
#include "store.h"

struct blk *disk;
enum fsync_policy policy;
uint64_t bs, area_blocks, area_at[2], log_at, log_blocks;
uint64_t generation, area, epoch;
int64_t wall_offset;
unsigned long long flushes;
uint64_t last_flush_ns;

uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h;
}

uint64_t to_wall(uint64_t expires)
{
    return expires ? (uint64_t)((int64_t)expires + wall_offset) : 0;
}

/* The store's clock for a wall-clock expiry; 1 (long past) for one already gone. */
uint64_t from_wall(uint64_t wall, uint64_t now)
{
    if (!wall)
        return 0;
    int64_t t = (int64_t)wall - wall_offset;
    return t <= (int64_t)now ? 1 : (uint64_t)t;
}

int flush(void)
{
    flushes++;
    last_flush_ns = plat_monotonic_ns();
    return blk_flush(disk);
}

const char *persist_policy_name(void)
{
    return policy == FSYNC_ALWAYS ? "always" : policy == FSYNC_EVERYSEC ? "everysec" : "no";
}

unsigned long long persist_log_bytes(void)
{
    return log_position();
}

unsigned long long persist_flushes(void)
{
    return flushes;
}

