/*
 * kvstore's snapshots (persist.c has the device's layout): SAVE writes the store beside the current
 * snapshot, flushes, then switches to it with the next of two alternating superblocks, which also
 * starts a new log epoch; at boot the newest valid superblock names the snapshot to load.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kiln/platform.h>
#include <kiln/sched.h>
#include "persist_internal.h"
#include "store.h"

#define SB_MAGIC "KVSTORE2"
#define OLD_MAGIC "KILNKV01"

/* ---- snapshots and superblocks ------------------------------------------ */

struct image {
    unsigned char *p;
    size_t len, cap;
    uint64_t count;
    int failed;
};

static void put(struct image *im, const void *d, size_t n)
{
    if (im->failed)
        return;
    if (im->len + n > im->cap) {
        size_t cap = im->cap * 2 > im->len + n ? im->cap * 2 : im->len + n;
        unsigned char *q = realloc(im->p, cap);
        if (!q) {
            im->failed = 1;
            return;
        }
        im->p = q;
        im->cap = cap;
    }
    memcpy(im->p + im->len, d, n);
    im->len += n;
}

static void put_entry(const struct entry *e, void *arg)
{
    struct image *im = arg;
    uint32_t kl = (uint32_t)e->klen, vl = (uint32_t)e->vlen;
    uint64_t wall = to_wall(e->expires);
    put(im, &kl, 4);
    put(im, &vl, 4);
    put(im, &wall, 8);
    put(im, e->key, e->klen);
    put(im, e->val, e->vlen);
    im->count++;
}

static int write_superblock(uint64_t gen, uint64_t ar, uint64_t len, uint64_t count, uint64_t sum, uint64_t ep)
{
    unsigned char *b = calloc(1, bs);
    if (!b)
        return -1;
    memcpy(b, SB_MAGIC, 8);
    uint64_t f[6] = { gen, ar, len, count, sum, ep };
    memcpy(b + 8, f, sizeof f);
    uint64_t check = fnv(FNV0, b, 56);
    memcpy(b + 56, &check, 8);
    int rc = blk_write(disk, gen % 2, b, 1);
    free(b);
    return rc;
}

const char *persist_save(void)
{
    if (!disk)
        return "no block device";
    struct image im = { malloc(4096), 0, 4096, 0, 0 };
    if (!im.p)
        return "out of memory";
    store_each(plat_monotonic_ns(), put_entry, &im);
    uint64_t blocks = (im.len + bs - 1) / bs;
    const char *err = NULL;
    if (im.failed) {
        err = "out of memory";
    } else if (blocks > area_blocks) {
        err = "the data set is larger than a snapshot area of the block device";
    } else {
        size_t padded = blocks ? blocks * bs : bs;
        unsigned char *p = realloc(im.p, padded);
        if (!p) {
            err = "out of memory";
        } else {
            im.p = p;
            memset(im.p + im.len, 0, padded - im.len);
            uint64_t next = 1 - area, sum = fnv(FNV0, im.p, im.len);
            /* beside the current snapshot, flushed; only then the superblock that names it, flushed */
            if ((blocks && blk_write(disk, area_at[next], im.p, blocks) != 0) || flush() != 0
                || write_superblock(generation + 1, next, im.len, im.count, sum, epoch + 1) != 0 || flush() != 0) {
                err = "block write failed";
            } else {
                generation++;
                area = next;
                epoch++;
                log_reset();
            }
        }
    }
    free(im.p);
    return err;
}

/*
 * Puts a snapshot's keys (u32 key length, u32 value length, u64 expiry, key, value; at most count)
 * into the store, each expiry converted by expiry(); stops at the first entry that does not fit.
 * Returns the keys loaded.
 */
static uint64_t load_entries(const unsigned char *data, uint64_t len, uint64_t count,
                             uint64_t (*expiry)(uint64_t stored, uint64_t now))
{
    uint64_t at = 0, loaded = 0, t = plat_monotonic_ns();
    while (at + 16 <= len && loaded < count) {
        uint32_t kl, vl;
        uint64_t stored;
        memcpy(&kl, data + at, 4);
        memcpy(&vl, data + at + 4, 4);
        memcpy(&stored, data + at + 8, 8);
        at += 16;
        if (kl > len - at || vl > len - at - kl)
            break;
        store_set((const char *)data + at, kl, (const char *)data + at + kl, vl, expiry(stored, t));
        at += kl + vl;
        loaded++;
    }
    return loaded;
}

/* Version 1 stored milliseconds left to live (0 = never). */
static uint64_t from_ttl_ms(uint64_t ttl_ms, uint64_t now)
{
    return ttl_ms ? now + ttl_ms * 1000000ull : 0;
}

/* Loads the snapshot the superblock names; 0, or -1 when it is unreadable. */
static int load_snapshot(uint64_t len, uint64_t count, uint64_t sum)
{
    uint64_t blocks = (len + bs - 1) / bs;
    unsigned char *data = malloc(blocks ? blocks * bs : 1);
    if (!data || (blocks && blk_read(disk, area_at[area], data, blocks) != 0) || fnv(FNV0, data, len) != sum) {
        free(data);
        return -1;
    }
    uint64_t loaded = load_entries(data, len, count, from_wall);
    free(data);
    printf("kvstore: loaded %llu keys from snapshot %llu\n", (unsigned long long)loaded, (unsigned long long)generation);
    return 0;
}

/* The valid superblock with the highest generation: 0 and its fields, or -1 when there is none. */
static int read_superblocks(uint64_t f[6])
{
    unsigned char *b = malloc(bs);
    int found = -1;
    for (uint64_t i = 0; b && i < 2; i++) {
        uint64_t check, g[6];
        if (blk_read(disk, i, b, 1) != 0 || memcmp(b, SB_MAGIC, 8) != 0)
            continue;
        memcpy(g, b + 8, sizeof g);
        memcpy(&check, b + 56, 8);
        if (check != fnv(FNV0, b, 56) || g[1] > 1 || (found == 0 && g[0] <= f[0]))
            continue;
        memcpy(f, g, sizeof g);
        found = 0;
    }
    free(b);
    return found;
}

/* Version 1 stored one snapshot (header block 0, data from block 1, relative TTLs): loaded, then
 * saved again in this format. */
static int load_version1(void)
{
    unsigned char *head = malloc(bs);
    if (!head || blk_read(disk, 0, head, 1) != 0 || memcmp(head, OLD_MAGIC, 8) != 0) {
        free(head);
        return -1;
    }
    uint64_t len, count, sum;
    memcpy(&len, head + 8, 8);
    memcpy(&count, head + 16, 8);
    memcpy(&sum, head + 24, 8);
    free(head);
    uint64_t blocks = (len + bs - 1) / bs;
    unsigned char *data = len <= disk->capacity - bs ? malloc(blocks ? blocks * bs : 1) : NULL;
    if (!data || blk_read(disk, 1, data, blocks) != 0 || fnv(FNV0, data, len) != sum) {
        free(data);
        return -1;
    }
    load_entries(data, len, count, from_ttl_ms);
    free(data);
    return 0;
}

int persist_open(struct blk *d, enum fsync_policy p)
{
    uint64_t blocks = d->capacity / d->block_size;
    if (blocks < 2 + 2 * 3 + 2)
        return -1;
    disk = d;
    policy = p;
    bs = d->block_size;
    area_blocks = (blocks - 2) * 3 / 8;
    area_at[0] = 2;
    area_at[1] = 2 + area_blocks;
    log_at = 2 + 2 * area_blocks;
    log_blocks = blocks - log_at;
    wall_offset = (int64_t)plat_walltime_ns() - (int64_t)plat_monotonic_ns();
    last_flush_ns = plat_monotonic_ns();
    uint64_t f[6];
    if (read_superblocks(f) == 0) {
        generation = f[0];
        area = f[1];
        epoch = f[5];
        if (load_snapshot(f[2], f[3], f[4]) != 0)
            printf("kvstore: snapshot %llu fails its checksum; starting from the log alone\n",
                   (unsigned long long)generation);
    } else if (load_version1() == 0) {
        printf("kvstore: loaded a version 1 data set; saving it in the new format\n");
        generation = area = 1;   /* the first save then goes to area 0, superblock 0 */
        epoch = 0;
        log_start();             /* an empty log of epoch 0: the save below starts epoch 1 */
        persist_save();
        return 0;
    } else {
        printf("kvstore: no saved data set on the block device; starting empty\n");
        generation = 0;
        area = 1;
        epoch = 0;
    }
    /* the log after the snapshot (or, before any snapshot, a log of epoch 0 an earlier crash left) */
    log_start();
    return 0;
}
