/*
 * getrandom: RDRAND where the CPU has it (CPUID.1:ECX bit 30), which a
 * native guest executes without an exit; otherwise a generator seeded from
 * the TSC, and a message once that the bytes are not from a hardware source.
 */
#include <errno.h>
#include <kiln/posix.h>

static int has_rdrand = -1;
static unsigned long long fallback_state;

static int cpu_has_rdrand(void)
{
    unsigned a = 1, b, c = 0, d;
    __asm__ __volatile__("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    return (c >> 30) & 1;
}

static int rdrand64(unsigned long long *v)
{
    for (int i = 0; i < 10; i++) {
        unsigned char ok;
        __asm__ __volatile__("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok));
        if (ok)
            return 1;
    }
    return 0;
}

static unsigned long long next_fallback(void)
{
    if (!fallback_state) {
        unsigned lo, hi;
        __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
        fallback_state = (((unsigned long long)hi << 32) | lo) ^ 0x9e3779b97f4a7c15ull;
        kiln_posix_say("kiln: posix: no RDRAND: getrandom returns TSC-seeded bytes\n");
    }
    /* splitmix64 */
    unsigned long long z = (fallback_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

KILN_SYSCALL3(getrandom, unsigned char *, buf, unsigned long, len, unsigned, flags)
{
    if (flags & ~7u)
        return -EINVAL;
    if (len > 33554431)
        len = 33554431; /* Linux's cap per call */
    if (has_rdrand < 0)
        has_rdrand = cpu_has_rdrand();
    unsigned long done = 0;
    while (done < len) {
        unsigned long long v;
        if (!has_rdrand || !rdrand64(&v))
            v = next_fallback();
        for (int i = 0; i < 8 && done < len; i++, v >>= 8)
            buf[done++] = (unsigned char)v;
    }
    return (long)done;
}
