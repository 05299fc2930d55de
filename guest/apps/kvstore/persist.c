/*
 * kvstore's durability, after Redis's append-only file: every change to the store is appended to
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
#include "persist.h"
#include "store.h"

#define SB_MAGIC "KVSTORE2"
#define OLD_MAGIC "KILNKV01"
#define REC_MAGIC 0x524c564bu /* "KVLR" */
#define REC_HEAD 32
#define SB_BYTES 64

static struct blk *disk;
static enum fsync_policy policy;
static uint64_t bs, area_blocks, area_at[2], log_at, log_blocks;
static uint64_t generation, area, epoch;
static int64_t wall_offset;       /* wall-clock ns minus the store's clock, this boot */

/* The log's tail: bytes from the start of block tail_block of the log up to log_pos. */
static unsigned char *tail;       /* a buffer of tail_cap bytes */
static size_t tail_len, tail_cap;
static uint64_t tail_block, log_pos, synced_block_end;
static int dirty, replaying;
static int unsynced;              /* log blocks written since the last flush */
static uint64_t durable_pos;      /* log bytes known to be on stable storage */
static int committing;            /* a client thread is writing and flushing the log */
static uint64_t last_flush_ns;
static unsigned long long flushes;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h;
}
#define FNV0 1469598103934665603ull

static uint64_t to_wall(uint64_t expires)
{
    return expires ? (uint64_t)((int64_t)expires + wall_offset) : 0;
}

/* The store's clock for a wall-clock expiry; 1 (long past) for one already gone. */
static uint64_t from_wall(uint64_t wall, uint64_t now)
{
    if (!wall)
        return 0;
    int64_t t = (int64_t)wall - wall_offset;
    return t <= (int64_t)now ? 1 : (uint64_t)t;
}

static int flush(void)
{
    flushes++;
    last_flush_ns = plat_monotonic_ns();
    return blk_flush(disk);
}

/* ---- the log ------------------------------------------------------------ */

static int tail_put(const void *p, size_t n)
{
    if (tail_len + n > tail_cap) {
        size_t cap = tail_cap * 2 > tail_len + n ? tail_cap * 2 : tail_len + n;
        unsigned char *q = realloc(tail, cap);
        if (!q)
            return -1;
        tail = q;
        tail_cap = cap;
    }
    memcpy(tail + tail_len, p, n);
    tail_len += n;
    return 0;
}

/* Writes the dirty tail blocks; keeps the last, partial one in the buffer. */
static int write_tail(void)
{
    if (!dirty)
        return 0;
    size_t blocks = (tail_len + bs - 1) / bs;
    if (blocks) {
        size_t padded = blocks * bs;
        if (padded > tail_cap) {
            unsigned char *q = realloc(tail, padded);
            if (!q)
                return -1;
            tail = q;
            tail_cap = padded;
        }
        memset(tail + tail_len, 0, padded - tail_len);
        if (blk_write(disk, log_at + tail_block, tail, blocks) != 0)
            return -1;
    }
    size_t whole = tail_len / bs;   /* blocks now full: drop them from the buffer */
    memmove(tail, tail + whole * bs, tail_len - whole * bs);
    tail_len -= whole * bs;
    tail_block += whole;
    dirty = 0;
    return 0;
}

static void journal(enum store_change what, const char *key, size_t klen, const char *val, size_t vlen,
                    uint64_t expires);

/*
 * Each BLOCK_WRITE and BLOCK_FLUSH is a VM exit (and the flush an fdatasync), so they are shared:
 * with "always", a client that needs its changes durable first lets the other ready clients run
 * (they append theirs), then one write and one flush cover them all, and every client whose
 * changes lie before the flushed position replies without flushing again (group commit). With
 * "everysec" and "no", only filled blocks are written as they fill; the tick (persist_tick) writes
 * the partial last block and, for everysec, flushes.
 */
int persist_commit(void)
{
    if (!disk)
        return 0;
    if (policy != FSYNC_ALWAYS) {
        if (!dirty || tail_len < bs)
            return 0;
        size_t whole = tail_len - tail_len % bs, keep = tail_len - whole;
        tail_len = whole;                  /* write_tail writes (and drops) the whole blocks only */
        if (write_tail() != 0) {
            tail_len = whole + keep;
            return -1;
        }
        memmove(tail, tail + whole, keep); /* the partial block's bytes, for the tick or later */
        tail_len = keep;
        dirty = keep != 0;
        unsynced = 1;
        return 0;
    }
    uint64_t mine = log_pos;
    if (durable_pos >= mine)
        return 0;
    thread_yield();                    /* let the other ready clients append theirs first */
    while (committing && durable_pos < mine)
        thread_yield();                /* another thread's flush may cover us */
    if (durable_pos >= mine)
        return 0;
    committing = 1;
    uint64_t upto = log_pos;
    int rc = dirty ? write_tail() : 0;
    if (rc == 0)
        rc = flush();
    committing = 0;
    if (rc == 0 && upto > durable_pos)
        durable_pos = upto;
    return rc;
}

/* Once a second (a ticker thread): the partial last block written, and flushed for everysec. */
int persist_tick(void)
{
    if (!disk || policy == FSYNC_ALWAYS)
        return 0;
    if (dirty) {
        if (write_tail() != 0)
            return -1;
        unsynced = 1;
    }
    if (unsynced && policy == FSYNC_EVERYSEC) {
        unsynced = 0;
        return flush();
    }
    return 0;
}

static void journal(enum store_change what, const char *key, size_t klen, const char *val, size_t vlen,
                    uint64_t expires)
{
    if (replaying)
        return;
    uint64_t need = REC_HEAD + klen + vlen + 8;
    if (log_pos + need > log_blocks * bs) {
        /* the log is full: a snapshot of the store (this change included) starts a new one */
        if (persist_save() != NULL)
            printf("kvstore: the log is full and a snapshot failed: changes are not persisted\n");
        return;
    }
    unsigned char h[REC_HEAD];
    uint32_t magic = REC_MAGIC, w = (uint32_t)what, kl = (uint32_t)klen, vl = (uint32_t)vlen;
    uint64_t wall = to_wall(expires);
    memcpy(h, &magic, 4);
    memcpy(h + 4, &w, 4);
    memcpy(h + 8, &epoch, 8);
    memcpy(h + 16, &kl, 4);
    memcpy(h + 20, &vl, 4);
    memcpy(h + 24, &wall, 8);
    uint64_t sum = fnv(fnv(fnv(FNV0, h, REC_HEAD), key, klen), val, vlen);
    if (tail_put(h, REC_HEAD) || tail_put(key, klen) || tail_put(val, vlen) || tail_put(&sum, 8)) {
        printf("kvstore: out of memory for the log\n");
        return;
    }
    log_pos += need;
    dirty = 1;
}

/* The log read so far at boot: blocks are read only as far as records go (each is a VM exit). */
static unsigned char *rlog;
static uint64_t rlog_have;

/* Makes the first n bytes of the log readable in rlog: 0, or -1 past the log's end or on a read error. */
static int need(uint64_t n)
{
    if (n > log_blocks * bs)
        return -1;
    while (rlog_have < n) {
        if (blk_read(disk, log_at + rlog_have / bs, rlog + rlog_have, 1) != 0)
            return -1;
        rlog_have += bs;
    }
    return 0;
}

/* Replays the log of the current epoch from its start; leaves log_pos after the last good record. */
static void replay(void)
{
    uint64_t bytes = log_blocks * bs, at = 0, t = plat_monotonic_ns();
    unsigned char *log = rlog = malloc(bytes);
    rlog_have = 0;
    if (!log) {
        printf("kvstore: no memory to read the log; starting from the snapshot alone\n");
        log_pos = 0;
        return;
    }
    unsigned long long applied = 0;
    replaying = 1;
    while (need(at + REC_HEAD + 8) == 0) {
        uint32_t magic, what, kl, vl;
        uint64_t ep, wall, sum;
        memcpy(&magic, log + at, 4);
        memcpy(&what, log + at + 4, 4);
        memcpy(&ep, log + at + 8, 8);
        memcpy(&kl, log + at + 16, 4);
        memcpy(&vl, log + at + 20, 4);
        memcpy(&wall, log + at + 24, 8);
        if (magic != REC_MAGIC || ep != epoch || kl > bytes || vl > bytes || at + REC_HEAD + kl + vl + 8 > bytes
            || need(at + REC_HEAD + kl + vl + 8) != 0)
            break;
        const char *key = (const char *)log + at + REC_HEAD, *val = key + kl;
        memcpy(&sum, log + at + REC_HEAD + kl + vl, 8);
        if (sum != fnv(FNV0, log + at, REC_HEAD + kl + vl))
            break;                 /* a torn last record: it was never acknowledged */
        if (what == STORE_PUT)
            store_set(key, kl, val, vl, from_wall(wall, t));
        else if (what == STORE_DEL)
            store_del(key, kl, t);
        else if (what == STORE_CLEAR)
            store_clear();
        at += REC_HEAD + kl + vl + 8;
        applied++;
    }
    replaying = 0;
    log_pos = at;
    tail_block = at / bs;
    tail_len = 0;
    need(at);
    tail_put(log + tail_block * bs, at - tail_block * bs);
    durable_pos = at;
    free(log);
    rlog = NULL;
    if (applied)
        printf("kvstore: replayed %llu changes from the log\n", applied);
}

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
                log_pos = tail_block = durable_pos = 0;
                tail_len = 0;
                dirty = unsynced = 0;
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
        replay();
    } else if (load_version1() == 0) {
        printf("kvstore: loaded a version 1 data set; saving it in the new format\n");
        generation = area = 1;   /* the first save then goes to area 0, superblock 0 */
        epoch = 0;
        persist_save();
    } else {
        printf("kvstore: no saved data set on the block device; starting empty\n");
        generation = 0;
        area = 1;
        epoch = 0;
        /* a log of epoch 0 left by an earlier crash before any snapshot is replayed too */
        replay();
    }
    store_set_journal(journal);
    return 0;
}

const char *persist_policy_name(void)
{
    return policy == FSYNC_ALWAYS ? "always" : policy == FSYNC_EVERYSEC ? "everysec" : "no";
}

unsigned long long persist_log_bytes(void)
{
    return log_pos;
}

unsigned long long persist_flushes(void)
{
    return flushes;
}
