/*
 * Devices the app declared in its kiln.toml ([devices]), found by name in the
 * monitor's filled-in manifest copy (hvt ABI section 2), and the block I/O
 * hypercalls (section 5).  A device handle is its manifest index.  Network
 * frames go through the shared ring when the monitor offers it (netring.c),
 * else through the NET_READ/NET_WRITE hypercalls; the first use of a net
 * device decides.
 */
#include <kiln/hvt_abi.h>
#include <kiln/platform.h>
#include "hvt_internal.h"

static int name_is(const char *a, const char *b)
{
    unsigned i = 0;
    for (; i < MFT_NAME_SIZE && a[i] == b[i]; i++)
        if (a[i] == '\0')
            return 1;
    return 0;
}

int plat_device_find(const char *name, unsigned type)
{
    const struct mft *m = (const struct mft *)(uintptr_t)hvt_bi->mft;
    for (unsigned i = 1; i < m->entries; i++) {
        const struct mft_entry *e = &m->e[i];
        if (e->type == type && e->attached && name_is(e->name, name))
            return (int)i;
    }
    return -1;
}

int plat_block_info(int handle, unsigned long long *capacity, unsigned *block_size)
{
    const struct mft *m = (const struct mft *)(uintptr_t)hvt_bi->mft;
    if (handle <= 0 || (unsigned)handle >= m->entries)
        return HVT_EINVAL;
    const struct mft_entry *e = &m->e[handle];
    if (e->type != MFT_DEV_BLOCK_BASIC || !e->attached)
        return HVT_EINVAL;
    *capacity = e->u.block_basic.capacity;
    *block_size = e->u.block_basic.block_size;
    return HVT_OK;
}

static int block_io(int nr, int handle, unsigned long long offset, void *buf, unsigned long len)
{
    volatile struct hvt_hc_block_io a = {
        .handle = (uint64_t)handle,
        .offset = offset,
        .data = (hvt_gpa_t)(uintptr_t)buf,
        .len = len,
        .ret = 0,
    };
    hvt_do_hypercall(nr, &a);
    return a.ret;
}

int plat_block_write(int handle, unsigned long long offset, const void *buf, unsigned long len)
{
    return block_io(HVT_HYPERCALL_BLOCK_WRITE, handle, offset, (void *)(uintptr_t)buf, len);
}

int plat_block_read(int handle, unsigned long long offset, void *buf, unsigned long len)
{
    return block_io(HVT_HYPERCALL_BLOCK_READ, handle, offset, buf, len);
}

int plat_net_info(int handle, unsigned char mac[6], unsigned *mtu)
{
    const struct mft *m = (const struct mft *)(uintptr_t)hvt_bi->mft;
    if (handle <= 0 || (unsigned)handle >= m->entries)
        return HVT_EINVAL;
    const struct mft_entry *e = &m->e[handle];
    if (e->type != MFT_DEV_NET_BASIC || !e->attached)
        return HVT_EINVAL;
    netring_on();   /* a stack asks for MAC and MTU first: receive buffers get posted now */
    for (int i = 0; i < 6; i++)
        mac[i] = e->u.net_basic.mac[i];
    *mtu = e->u.net_basic.mtu;
    return HVT_OK;
}

int plat_net_write(int handle, const void *frame, unsigned long len)
{
    if (netring_on())
        return netring_write(handle, frame, len);
    volatile struct hvt_hc_net_io a = {
        .handle = (uint64_t)handle,
        .data = (hvt_gpa_t)(uintptr_t)frame,
        .len = len,
        .ret = 0,
    };
    hvt_do_hypercall(HVT_HYPERCALL_NET_WRITE, &a);
    return a.ret;
}

int plat_net_read(int handle, void *buf, unsigned long *len)
{
    if (netring_on())
        return netring_read(handle, buf, len);
    volatile struct hvt_hc_net_io a = {
        .handle = (uint64_t)handle,
        .data = (hvt_gpa_t)(uintptr_t)buf,
        .len = *len,
        .ret = 0,
    };
    hvt_do_hypercall(HVT_HYPERCALL_NET_READ, &a);
    if (a.ret == HVT_OK)
        *len = a.len;
    return a.ret;
}
