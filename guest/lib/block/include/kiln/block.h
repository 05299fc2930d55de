#ifndef KILN_BLOCK_H
#define KILN_BLOCK_H

#include <stddef.h>
#include <stdint.h>

/* An attached block device (the app declares it in kiln.toml: [devices] block = ["NAME"]). */
struct blk {
    int handle;
    uint64_t capacity;      /* bytes */
    unsigned block_size;    /* bytes, a power of two >= 512 */
};

/* Finds the attached block device NAME: 0, or -1 if there is none. */
int blk_open(const char *name, struct blk *dev);

/* Reads or writes COUNT whole blocks starting at block LBA: 0, or -1 when the range is outside
 * the device or the monitor reports an error (nothing is partly done beyond the failing block). */
int blk_read(const struct blk *dev, uint64_t lba, void *buf, size_t count);
int blk_write(const struct blk *dev, uint64_t lba, const void *buf, size_t count);

/* A durability barrier: 0 once every write before it is on stable storage (the monitor fdatasyncs
 * the backing file, docs/kiln-abi.md 1.3); -1 when the monitor cannot say so. */
int blk_flush(const struct blk *dev);

#endif
