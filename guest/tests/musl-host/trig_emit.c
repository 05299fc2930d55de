/*
 * Built against Kiln's patched musl: writes (x, sin x, cos x, tan x) as raw doubles for the
 * arguments patches/0002 reduces without Payne-Hanek (2^20*(pi/2) <= |x| < 2^28) and a margin
 * on both sides: every integer that Lua's benchmark feeds sin, random doubles of each binade,
 * and the doubles nearest to large multiples of pi/2, where the remainder cancels.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

static uint64_t state = 88172645463325252ull;
static uint64_t next(void) { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state; }

static void emit(double x)
{
    double v[4] = { x, sin(x), cos(x), tan(x) };
    fwrite(v, sizeof v, 1, stdout);
}

int main(void)
{
    for (long i = 1600000; i <= 2000000; i++) emit((double)i);
    for (long k = 0; k < 600000; k++) {
        double x = ldexp(1.0 + (double)(next() >> 11) * 0x1p-53, 19 + (int)(next() % 12));
        emit(next() & 1 ? -x : x);
    }
    for (long k = 1000000; k < 340000000; k += 3331) {
        double x = (double)k * 1.5707963267948966;
        emit(nextafter(x, 0));
        emit(x);
        emit(nextafter(x, INFINITY));
    }
    return 0;
}
