#ifndef NET_HOST_PLAT_H
#define NET_HOST_PLAT_H
int host_tap_open(const char *name);
extern unsigned long long host_dropped_rx, host_dropped_tx, host_reordered;
#endif
