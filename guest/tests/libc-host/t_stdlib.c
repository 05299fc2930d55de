/* stdlib odds and ends vs glibc: abs, div, getenv, rand's range, the
 * inttypes macros, the header layouts. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

void test_stdlib(void)
{
    static const long long vals[] = { 0, 1, -1, 7, -7, 100, -100, INT_MAX, INT_MIN + 1,
                                      LLONG_MAX, LLONG_MIN + 1, 123456789012LL };
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        CHECK(kiln_abs((int)vals[i]) == abs((int)vals[i]), "abs(%d)", (int)vals[i]);
        CHECK(kiln_labs((long)vals[i]) == labs((long)vals[i]), "labs");
        CHECK(kiln_llabs(vals[i]) == llabs(vals[i]), "llabs");
        for (size_t j = 0; j < sizeof vals / sizeof vals[0]; j++) {
            if (!vals[j])
                continue;
            int a = (int)vals[i], b = (int)vals[j];
            if (b == 0 || (a == INT_MIN && b == -1))
                continue;
            div_t g = div(a, b);
            kiln_div_t k = kiln_div(a, b);
            CHECK(g.quot == k.quot && g.rem == k.rem, "div(%d, %d)", a, b);
            ldiv_t gl = ldiv((long)vals[i], (long)vals[j]);
            kiln_ldiv_t kl = kiln_ldiv((long)vals[i], (long)vals[j]);
            CHECK(gl.quot == kl.quot && gl.rem == kl.rem, "ldiv");
            lldiv_t gll = lldiv(vals[i], vals[j]);
            kiln_lldiv_t kll = kiln_lldiv(vals[i], vals[j]);
            CHECK(gll.quot == kll.quot && gll.rem == kll.rem, "lldiv");
        }
    }
    CHECK(kiln_abs(INT_MIN) == INT_MIN, "abs(INT_MIN) wraps as in glibc");
    CHECK(kiln_getenv("PATH") == NULL && kiln_getenv("") == NULL, "getenv");

    int ok = 1;
    kiln_srand(42);
    int first = kiln_rand();
    for (int i = 0; i < 10000; i++) {
        int r = kiln_rand();
        ok &= r >= 0 && r <= RAND_MAX;
    }
    kiln_srand(42);
    CHECK(ok && kiln_rand() == first, "rand range and srand");

    char g[256], k[256];
    snprintf(g, sizeof g,
             "%" PRId8 " %" PRId16 " %" PRId32 " %" PRId64 " %" PRIu64 " %" PRIx64 " %" PRIX64
             " %" PRIo64 " %" PRIdMAX " %" PRIuMAX " %" PRIxPTR " %" PRIi64,
             (int8_t)-8, (int16_t)-16, (int32_t)-32, (int64_t)INT64_MIN, (uint64_t)UINT64_MAX,
             (uint64_t)0xabcdef0123456789ull, (uint64_t)0xabcdef0123456789ull, (uint64_t)0777,
             (intmax_t)INTMAX_MIN, (uintmax_t)UINTMAX_MAX, (uintptr_t)0xfeedull, (int64_t)42);
    kiln_shim_inttypes(k, sizeof k);
    CHECK(strcmp(g, k) == 0, "inttypes: glibc %s kiln %s", g, k);
    CHECK(kiln_shim_layout_ok(), "struct layouts of time.h/stdlib.h match kiln_api.h");
    CHECK(kiln_shim_limits_ok(), "limits.h and constants");
}
