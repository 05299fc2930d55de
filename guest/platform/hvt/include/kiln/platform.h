/*
 * The one interface Kiln guest libraries and apps use to reach the
 * platform.  It is deliberately tiny and platform-neutral: only the hvt
 * bindings (guest/platform/hvt) implement it today, other platforms can
 * later implement the same functions.
 *
 * The application provides main(); the platform's _start calls it with the
 * NUL-terminated command line (the arguments after the image, joined by
 * single spaces) and exits with its return value.
 */
#ifndef KILN_PLATFORM_H
#define KILN_PLATFORM_H

struct hvt_boot_info;                        /* see <kiln/hvt_abi.h> */

/* Write len bytes to the instance's console (one PUTS hypercall). */
void plat_console_write(const char *buf, unsigned long len);

/* Monotonic time in ns since an unspecified point (the TSC's origin). */
unsigned long long plat_monotonic_ns(void);

/* Realtime clock, ns since the Unix epoch (one WALLTIME hypercall). */
unsigned long long plat_walltime_ns(void);

/* Block until a device has input or timeout_ns (relative) passes.
 * Returns the number of ready devices; if ready_set is not NULL it gets
 * the bitmap of ready handles (bit i = manifest index i). */
int plat_poll(unsigned long long timeout_ns, unsigned long long *ready_set);

/* End the instance with this exit status (0 success, 1 failure). */
__attribute__((noreturn)) void plat_exit(int status);

/* End the instance with exit status 255 (abort). */
__attribute__((noreturn)) void plat_abort(void);

/* The command line (never NULL; "" if empty). */
const char *plat_cmdline(void);

/* The monitor-provided boot info (read-only memory). */
const struct hvt_boot_info *plat_boot_info(void);

/* Provided by the application. */
int main(const char *cmdline);

/*
 * Devices (hvt ABI sections 2 and 5).  Apps declare them in kiln.toml
 * ([devices]); the operator attaches them (--block:NAME=FILE).  A handle is
 * the device's index in the manifest.
 */

/* The handle of the attached device NAME of TYPE (MFT_DEV_BLOCK_BASIC or
 * MFT_DEV_NET_BASIC), or -1. */
int plat_device_find(const char *name, unsigned type);

/* Capacity in bytes and block size of a block device; HVT_OK or HVT_EINVAL. */
int plat_block_info(int handle, unsigned long long *capacity, unsigned *block_size);

/* One whole block at a block-aligned offset: HVT_OK, HVT_EINVAL or HVT_EUNSPEC. */
int plat_block_read(int handle, unsigned long long offset, void *buf, unsigned long len);
int plat_block_write(int handle, unsigned long long offset, const void *buf, unsigned long len);

/* Kiln extension (docs/kiln-abi.md 1.3): returns once every write issued before it is on stable
 * storage: 0, -EINVAL (not a block device), -EIO, or -ENOSYS on a tender without Kiln's ABI. */
int plat_block_flush(int handle);

/* MAC and MTU of a net device; HVT_OK or HVT_EINVAL. */
int plat_net_info(int handle, unsigned char mac[6], unsigned *mtu);

/* One Ethernet frame out: HVT_OK, HVT_EINVAL or HVT_EUNSPEC. */
int plat_net_write(int handle, const void *frame, unsigned long len);

/* One frame in: *len is the buffer's size in and the frame's length out;
 * HVT_OK, HVT_EAGAIN when none waits, HVT_EINVAL. */
int plat_net_read(int handle, void *buf, unsigned long *len);

/*
 * Kiln extensions (docs/kiln-abi.md); they need Kiln's monitor.
 */
struct kiln_info;                            /* see <kiln/kiln_abi.h> */

/* The info page (who this instance is: id, parent, generation, its own
 * arguments), or NULL when the monitor is not Kiln's. */
const struct kiln_info *plat_info(void);

/* Fork this instance: the child's id in the parent, 0 in the child, or a
 * negative errno (-ENOMEM: over the memory budget, -EOPNOTSUPP: devices
 * attached, -EAGAIN: too many children, -ENOSYS: not on Kiln). */
long plat_fork(void);

/* Reap child ID (-1: any) that has ended, blocking up to timeout_ns: its id
 * (status and how filled in: KILN_WAIT_HALTED/FAULTED/STOPPED), 0 when none
 * ended in time, or a negative errno (-ECHILD: no such child). */
long plat_wait(long id, unsigned long long timeout_ns, int *status, unsigned *how);

#endif /* KILN_PLATFORM_H */
