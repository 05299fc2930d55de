/*
 * Host shim for guest/lib/net: the plat_* functions the stack uses,
 * implemented over a Linux tap device in an ordinary process.
 *
 * Optional impairment (for kernels without the netem qdisc), from the
 * environment: NH_LOSS=percent drops that share of frames in each
 * direction, NH_REORDER=percent holds that share of transmitted frames
 * back until after the next one (or the next poll).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/if.h>
#include <linux/if_tun.h>

#include <kiln/platform.h>
#include <kiln/hvt_abi.h>
#include "host_plat.h"

static int tap_fd = -1;
static unsigned char tap_mac[6] = { 0x02, 0x00, 0x00, 0x77, 0x00, 0x02 };
static int loss_pct, reorder_pct;
static unsigned char held[2048];
static size_t held_len;
static unsigned long long rng = 88172645463325252ull;
unsigned long long host_dropped_rx, host_dropped_tx, host_reordered;

static unsigned rnd100(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % 100);
}

int host_tap_open(const char *name)
{
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        perror("open /dev/net/tun");
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        perror("TUNSETIFF");
        close(fd);
        return -1;
    }
    tap_fd = fd;
    const char *e = getenv("NH_LOSS");
    loss_pct = e ? atoi(e) : 0;
    e = getenv("NH_REORDER");
    reorder_pct = e ? atoi(e) : 0;
    rng ^= (unsigned long long)getpid() * 2654435761u;
    return 0;
}

unsigned long long plat_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

int plat_device_find(const char *name, unsigned type)
{
    (void)name;
    return tap_fd >= 0 && type == MFT_DEV_NET_BASIC ? 0 : -1;
}

int plat_net_info(int handle, unsigned char mac[6], unsigned *mtu)
{
    if (handle != 0 || tap_fd < 0)
        return HVT_EINVAL;
    memcpy(mac, tap_mac, 6);
    *mtu = 1500;
    return HVT_OK;
}

static void flush_held(void)
{
    if (held_len) {
        if (write(tap_fd, held, held_len) < 0) { /* dropped */ }
        held_len = 0;
    }
}

int plat_net_write(int handle, const void *frame, unsigned long len)
{
    if (handle != 0 || tap_fd < 0 || len > sizeof held)
        return HVT_EINVAL;
    if (loss_pct && rnd100() < (unsigned)loss_pct) {
        host_dropped_tx++;
        return HVT_OK;
    }
    if (reorder_pct && !held_len && rnd100() < (unsigned)reorder_pct) {
        memcpy(held, frame, len);
        held_len = len;
        host_reordered++;
        return HVT_OK;
    }
    ssize_t r = write(tap_fd, frame, len);
    flush_held();
    if (r < 0)
        return errno == EAGAIN ? HVT_OK : HVT_EUNSPEC;   /* full queue = loss */
    return HVT_OK;
}

int plat_net_read(int handle, void *buf, unsigned long *len)
{
    if (handle != 0 || tap_fd < 0)
        return HVT_EINVAL;
    for (;;) {
        ssize_t r = read(tap_fd, buf, *len);
        if (r < 0)
            return errno == EAGAIN || errno == EINTR ? HVT_EAGAIN : HVT_EINVAL;
        if (loss_pct && rnd100() < (unsigned)loss_pct) {
            host_dropped_rx++;
            continue;
        }
        *len = (unsigned long)r;
        return HVT_OK;
    }
}

int plat_poll(unsigned long long timeout_ns, unsigned long long *ready_set)
{
    flush_held();
    struct pollfd p = { .fd = tap_fd, .events = POLLIN };
    struct timespec ts = { (time_t)(timeout_ns / 1000000000ull), (long)(timeout_ns % 1000000000ull) };
    int r = ppoll(&p, 1, &ts, NULL);
    if (ready_set)
        *ready_set = (r > 0 && (p.revents & POLLIN)) ? 1 : 0;
    return r > 0 ? 1 : 0;
}
