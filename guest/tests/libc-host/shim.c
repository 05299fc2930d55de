/*
 * Compiled like the libc itself (guest flags, the libc's own headers) and
 * renamed with the kiln_ prefix: exposes what only exists in the headers
 * (the ctype macros, the <inttypes.h> macros, assert) and checks that the
 * structure layouts kiln_api.h assumes match the headers.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "kiln_api.h"

int shim_ctype_count(void);
int shim_ctype(int which, int c);
int shim_layout_ok(void);
int shim_inttypes(char *buf, size_t size);
void shim_assert(int cond);
int shim_limits_ok(void);

int shim_ctype_count(void)
{
    return 16;
}

/* The macro forms, in kiln_api.h's order of the functions. */
int shim_ctype(int which, int c)
{
    switch (which) {
    case 0: return isalnum(c);
    case 1: return isalpha(c);
    case 2: return isblank(c);
    case 3: return iscntrl(c);
    case 4: return isdigit(c);
    case 5: return isgraph(c);
    case 6: return islower(c);
    case 7: return isprint(c);
    case 8: return ispunct(c);
    case 9: return isspace(c);
    case 10: return isupper(c);
    case 11: return isxdigit(c);
    case 12: return isascii(c);
    case 13: return toascii(c);
    case 14: return tolower(c);
    default: return toupper(c);
    }
}

#define SAME(a, b, f) (offsetof(a, f) == offsetof(b, f) && sizeof(((a *)0)->f) == sizeof(((b *)0)->f))

int shim_layout_ok(void)
{
    return sizeof(struct tm) == sizeof(struct kiln_tm) && SAME(struct tm, struct kiln_tm, tm_sec)
        && SAME(struct tm, struct kiln_tm, tm_min) && SAME(struct tm, struct kiln_tm, tm_hour)
        && SAME(struct tm, struct kiln_tm, tm_mday) && SAME(struct tm, struct kiln_tm, tm_mon)
        && SAME(struct tm, struct kiln_tm, tm_year) && SAME(struct tm, struct kiln_tm, tm_wday)
        && SAME(struct tm, struct kiln_tm, tm_yday) && SAME(struct tm, struct kiln_tm, tm_isdst)
        && SAME(struct tm, struct kiln_tm, tm_gmtoff) && SAME(struct tm, struct kiln_tm, tm_zone)
        && sizeof(struct timespec) == sizeof(struct kiln_timespec)
        && SAME(struct timespec, struct kiln_timespec, tv_sec)
        && SAME(struct timespec, struct kiln_timespec, tv_nsec)
        && sizeof(time_t) == sizeof(long) && sizeof(div_t) == sizeof(kiln_div_t)
        && sizeof(ldiv_t) == sizeof(kiln_ldiv_t) && sizeof(lldiv_t) == sizeof(kiln_lldiv_t);
}

int shim_inttypes(char *buf, size_t size)
{
    return snprintf(buf, size,
                    "%" PRId8 " %" PRId16 " %" PRId32 " %" PRId64 " %" PRIu64 " %" PRIx64
                    " %" PRIX64 " %" PRIo64 " %" PRIdMAX " %" PRIuMAX " %" PRIxPTR " %" PRIi64,
                    (int8_t)-8, (int16_t)-16, (int32_t)-32, (int64_t)INT64_MIN, (uint64_t)UINT64_MAX,
                    (uint64_t)0xabcdef0123456789ull, (uint64_t)0xabcdef0123456789ull,
                    (uint64_t)0777, (intmax_t)INTMAX_MIN, (uintmax_t)UINTMAX_MAX,
                    (uintptr_t)0xfeedull, (int64_t)42);
}

void shim_assert(int cond)
{
    assert(cond);
    assert(cond && "a message");
}

int shim_limits_ok(void)
{
    return CHAR_BIT == 8 && INT_MAX == 2147483647 && LONG_MAX == 9223372036854775807L
        && LLONG_MIN == -9223372036854775807LL - 1 && UCHAR_MAX == 255 && SHRT_MIN == -32768
        && ULLONG_MAX == 18446744073709551615ull && EOF == -1 && ERANGE == 34 && EILSEQ == 84
        && BUFSIZ > 0 && RAND_MAX == 2147483647 && CLOCK_MONOTONIC == 1;
}
