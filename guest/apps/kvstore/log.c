/*
 * kvstore's log (persist.c has the device's layout): every change the store journals is appended as
 * a record, written in whole blocks, and made durable as appendfsync asks (group commit for
 * "always"); at boot the records of the current epoch are replayed, read only as far as they go.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kiln/platform.h>
#include <kiln/sched.h>
#include "persist_internal.h"
#include "store.h"

#define REC_MAGIC 0x524c564bu /* "KVLR" */
#define REC_HEAD 32

/* The log's tail: bytes from the start of block tail_block of the log up to log_pos. */
static unsigned char *tail;       /* a buffer of tail_cap bytes */
static size_t tail_len, tail_cap;
static uint64_t tail_block, log_pos;
static int dirty, replaying;
static int unsynced;              /* log blocks written since the last flush */
static uint64_t durable_pos;      /* log bytes known to be on stable storage */

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
    if (durable_pos >= mine)
        return 0;                      /* one of them flushed past our changes */
    /* write and flush are hypercalls: no other client runs until they return */
    uint64_t upto = log_pos;
    int rc = dirty ? write_tail() : 0;
    if (rc == 0)
        rc = flush();
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

void log_start(void)
{
    replay();
    store_set_journal(journal);
}

void log_reset(void)
{
    log_pos = tail_block = durable_pos = 0;
    tail_len = 0;
    dirty = unsynced = 0;
}

uint64_t log_position(void)
{
    return log_pos;
}
