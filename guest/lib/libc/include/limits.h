/*
 * <limits.h>: GCC's own.  This wrapper only tells it that no system
 * limits.h lies behind it: without _LIBC_LIMITS_H_, GCC's header does an
 * #include_next that fails under -nostdinc.
 */
#ifndef _KILN_LIMITS_H
#define _KILN_LIMITS_H

#pragma GCC system_header   /* #include_next is an extension; no -Wpedantic noise */

#ifndef _LIBC_LIMITS_H_
#define _LIBC_LIMITS_H_ 1
#endif
#include_next <limits.h>

#endif
