/*
 * Kiln extensions (docs/kiln-abi.md): fork, wait, the block flush barrier and the info page.  They
 * need Kiln's monitor; on another hvt tender plat_info() is NULL and
 * plat_fork() fails with -ENOSYS instead of issuing an unknown hypercall.
 */
#include <kiln/hvt_abi.h>
#include <kiln/kiln_abi.h>
#include <kiln/platform.h>
#include "hvt_internal.h"

#define ENOSYS_ 38

const struct kiln_info *plat_info(void)
{
    const struct kiln_info *ki = (const struct kiln_info *)(uintptr_t)KILN_INFO_GPA;
    return ki->magic == KILN_INFO_MAGIC ? ki : 0;
}

long plat_fork(void)
{
    if (!plat_info())
        return -ENOSYS_;
    volatile struct kiln_hc_fork a = { .ret = 0 };
    kiln_do_hypercall(KILN_HYPERCALL_FORK, &a);
    return a.ret;
}

int plat_block_flush(int handle)
{
    if (!plat_info())
        return -ENOSYS_;
    volatile struct kiln_hc_block_flush a = { .handle = (uint64_t)handle, .ret = 0 };
    kiln_do_hypercall(KILN_HYPERCALL_BLOCK_FLUSH, &a);
    return (int)a.ret;
}

long plat_wait(long id, unsigned long long timeout_ns, int *status, unsigned *how)
{
    if (!plat_info())
        return -ENOSYS_;
    volatile struct kiln_hc_wait a = { .id = id, .timeout_nsecs = timeout_ns };
    kiln_do_hypercall(KILN_HYPERCALL_WAIT, &a);
    if (a.ret > 0) {
        if (status)
            *status = a.status;
        if (how)
            *how = a.how;
    }
    return a.ret;
}
