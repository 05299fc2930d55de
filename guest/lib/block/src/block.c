/* The hvt block hypercalls move one block each (hvt ABI section 5); this loops over a range after
 * checking it once against the device, overflow included. */
#include <kiln/block.h>
#include <kiln/hvt_abi.h>
#include <kiln/platform.h>

int blk_open(const char *name, struct blk *dev)
{
    int h = plat_device_find(name, MFT_DEV_BLOCK_BASIC);
    unsigned long long cap;
    unsigned bs;
    if (h < 0 || plat_block_info(h, &cap, &bs) != HVT_OK || bs == 0)
        return -1;
    dev->handle = h;
    dev->capacity = cap;
    dev->block_size = bs;
    return 0;
}

static int in_range(const struct blk *dev, uint64_t lba, size_t count)
{
    uint64_t blocks = dev->capacity / dev->block_size;
    return lba <= blocks && count <= blocks - lba;
}

int blk_read(const struct blk *dev, uint64_t lba, void *buf, size_t count)
{
    if (!in_range(dev, lba, count))
        return -1;
    unsigned char *p = buf;
    for (size_t i = 0; i < count; i++, p += dev->block_size)
        if (plat_block_read(dev->handle, (lba + i) * dev->block_size, p, dev->block_size) != HVT_OK)
            return -1;
    return 0;
}

int blk_write(const struct blk *dev, uint64_t lba, const void *buf, size_t count)
{
    if (!in_range(dev, lba, count))
        return -1;
    const unsigned char *p = buf;
    for (size_t i = 0; i < count; i++, p += dev->block_size)
        if (plat_block_write(dev->handle, (lba + i) * dev->block_size, p, dev->block_size) != HVT_OK)
            return -1;
    return 0;
}

int blk_flush(const struct blk *dev)
{
    return plat_block_flush(dev->handle) == 0 ? 0 : -1;
}
