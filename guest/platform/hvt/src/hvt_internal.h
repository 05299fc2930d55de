/* Private to the hvt platform sources. */
#ifndef KILN_HVT_INTERNAL_H
#define KILN_HVT_INTERNAL_H

#include <kiln/hvt_abi.h>

/* Boot info pointer saved by _start (start.c). */
extern const struct hvt_boot_info *hvt_bi;

#endif
