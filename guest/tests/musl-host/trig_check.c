/*
 * Built against glibc: reads trig_emit's records and compares each result with glibc's (which
 * is correctly rounded in practice). A sound reduction leaves musl within 1 ulp; a wrong
 * constant or a lost bit in the reduction is off by many.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int64_t ulps(double a, double b)
{
    int64_t x, y;
    memcpy(&x, &a, 8);
    memcpy(&y, &b, 8);
    if (x < 0) x = INT64_MIN - x;
    if (y < 0) y = INT64_MIN - y;
    return x > y ? x - y : y - x;
}

int main(void)
{
    double v[4];
    long n = 0, off = 0, bad = 0;
    while (fread(v, sizeof v, 1, stdin) == 1) {
        double want[3] = { sin(v[0]), cos(v[0]), tan(v[0]) };
        for (int i = 0; i < 3; i++) {
            int64_t d = ulps(v[i + 1], want[i]);
            if (d > 0) off++;
            if (d > 1 && bad++ < 10)
                printf("FAIL %s(%a): musl %a, glibc %a (%lld ulps)\n", i == 0 ? "sin" : i == 1 ? "cos" : "tan",
                       v[0], v[i + 1], want[i], (long long)d);
        }
        n++;
    }
    printf("trig: %ld arguments, %ld results 1 ulp from glibc, %ld more than 1 ulp\n", n, off, bad);
    return n < 1000000 || bad ? 1 : 0;
}
