/*
 * What persist.c, log.c and snapshot.c share: the device's layout (see persist.c), the current
 * snapshot and log epoch, and the helpers both the log and the snapshots use.
 */
#ifndef KVSTORE_PERSIST_INTERNAL_H
#define KVSTORE_PERSIST_INTERNAL_H

#include <stdint.h>
#include <stddef.h>
#include <kiln/block.h>
#include "persist.h"

#define FNV0 1469598103934665603ull

extern struct blk *disk;
extern enum fsync_policy policy;
extern uint64_t bs, area_blocks, area_at[2], log_at, log_blocks;
extern uint64_t generation, area, epoch;
extern int64_t wall_offset;       /* wall-clock ns minus the store's clock, this boot */
extern unsigned long long flushes;
extern uint64_t last_flush_ns;    /* when flush() last ran (the store's clock) */

uint64_t fnv(uint64_t h, const void *p, size_t n);
uint64_t to_wall(uint64_t expires);
uint64_t from_wall(uint64_t wall, uint64_t now);
int flush(void);

/* log.c */
void log_start(void);             /* replays the log of the current epoch; journals from then on */
void log_reset(void);             /* a snapshot holds everything: the log of the new epoch is empty */
uint64_t log_position(void);

#endif
