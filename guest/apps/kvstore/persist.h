#ifndef KVSTORE_PERSIST_H
#define KVSTORE_PERSIST_H

#include <kiln/block.h>

/* When an acknowledged write is on stable storage (Redis's appendfsync). */
enum fsync_policy {
    FSYNC_ALWAYS,   /* before its reply goes out: nothing acknowledged is lost */
    FSYNC_EVERYSEC, /* within about a second */
    FSYNC_NO,       /* when the monitor flushes (the guest's end) */
};

/* Opens the store's persistence on DISK: loads the last snapshot, replays the log after it, and
 * journals every later change. 0, or -1 when the device is too small. */
int persist_open(struct blk *disk, enum fsync_policy policy);

/* Makes what was logged so far as durable as the policy asks; call before replies go out.
 * 0, or -1 when the device failed (the caller must not acknowledge). */
int persist_commit(void);

/* Once a second: the partial last log block written (everysec and no), and flushed (everysec). */
int persist_tick(void);

/* A crash-safe snapshot (SAVE): written beside the previous one, flushed, then switched to with a
 * new superblock; the log starts over. NULL, or why it failed (the previous snapshot stays). */
const char *persist_save(void);

/* For INFO: the policy's name, log bytes in use, flushes so far. */
const char *persist_policy_name(void);
unsigned long long persist_log_bytes(void);
unsigned long long persist_flushes(void);

#endif
