/* Private to the hvt platform sources. */
#ifndef KILN_HVT_INTERNAL_H
#define KILN_HVT_INTERNAL_H

#include <kiln/hvt_abi.h>

/* Boot info pointer saved by _start (start.c). */
extern const struct hvt_boot_info *hvt_bi;

/* The network ring (netring.c; hvt spec 6, Kiln spec 3). */
int netring_on(void);          /* decides once; 1 when frames go through the ring */
int netring_started(void);     /* 1 once netring_on() chose the ring */
int netring_write(int handle, const void *frame, unsigned long len);
int netring_read(int handle, void *buf, unsigned long *len);
int netring_poll(unsigned long long timeout_ns, unsigned long long *ready_set);

#endif
