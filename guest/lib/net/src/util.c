/* Byte helpers, Internet checksum, a small PRNG, the clock. */
#include "net_priv.h"

void net_copy(void *dst, const void *src, size_t n)
{
    if (n)
        __builtin_memcpy(dst, src, n);
}

void net_zero(void *dst, size_t n)
{
    if (n)
        __builtin_memset(dst, 0, n);
}

uint32_t net_csum_add(uint32_t sum, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t s = sum;
    while (len >= 4) {
        s += ((uint32_t)p[0] << 8 | p[1]) + ((uint32_t)p[2] << 8 | p[3]);
        p += 4;
        len -= 4;
    }
    while (len >= 2) {
        s += (uint32_t)p[0] << 8 | p[1];
        p += 2;
        len -= 2;
    }
    if (len)
        s += (uint32_t)p[0] << 8;
    while (s >> 32)
        s = (s & 0xffffffffu) + (s >> 32);
    /* fold into 32 bits keeping the ones' complement value */
    s = (s & 0xffff) + ((s >> 16) & 0xffff) + (s >> 32);
    return (uint32_t)s;
}

uint16_t net_csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)(~sum & 0xffff);
}

uint32_t net_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
    uint32_t s = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff);
    return s + proto + len;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

void net_random_seed(uint64_t s)
{
    rng_state ^= s * 0x2545f4914f6cdd1dull;
    if (!rng_state)
        rng_state = 1;
}

uint32_t net_random(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return (uint32_t)((x * 0x2545f4914f6cdd1dull) >> 32);
}

uint64_t net_now(void)
{
    return plat_monotonic_ns();
}
