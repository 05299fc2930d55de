/* <stdlib.h>: exit and atexit, arithmetic helpers, rand, getenv. */
#include <stdlib.h>
#include <inttypes.h>
#include <kiln/platform.h>
#include "libc_internal.h"

static void (*atexit_fns[CONFIG_LIBC_ATEXIT_MAX])(void);
static unsigned atexit_count;

int atexit(void (*fn)(void))
{
    if (atexit_count >= CONFIG_LIBC_ATEXIT_MAX)
        return -1;
    atexit_fns[atexit_count++] = fn;
    return 0;
}

void exit(int status)
{
    /* Last registered runs first; a handler may register more. */
    while (atexit_count)
        atexit_fns[--atexit_count]();
    __kiln_stdio_flush_all();
    plat_exit(status);
}

void _Exit(int status)
{
    plat_exit(status);
}

void abort(void)
{
    plat_abort();
}

char *getenv(const char *name)
{
    (void)name;
    return NULL;
}

/* The most negative value is returned unchanged (no trap, as glibc). */
int abs(int v) { return v < 0 ? (int)(0u - (unsigned)v) : v; }
long labs(long v) { return v < 0 ? (long)(0ul - (unsigned long)v) : v; }
long long llabs(long long v) { return v < 0 ? (long long)(0ull - (unsigned long long)v) : v; }
intmax_t imaxabs(intmax_t v) { return v < 0 ? (intmax_t)(0 - (uintmax_t)v) : v; }

div_t div(int num, int den)
{
    return (div_t){ num / den, num % den };
}

ldiv_t ldiv(long num, long den)
{
    return (ldiv_t){ num / den, num % den };
}

lldiv_t lldiv(long long num, long long den)
{
    return (lldiv_t){ num / den, num % den };
}

imaxdiv_t imaxdiv(intmax_t num, intmax_t den)
{
    return (imaxdiv_t){ num / den, num % den };
}

static unsigned long long rand_state = 1;

void srand(unsigned seed)
{
    rand_state = seed;
}

int rand(void)
{
    /* Knuth's MMIX LCG; the high bits are the good ones. */
    rand_state = rand_state * 6364136223846793005ull + 1442695040888963407ull;
    return (int)(rand_state >> 33);
}
