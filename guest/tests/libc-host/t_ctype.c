/* ctype vs glibc's C locale: every function, as function and as the
 * header's macro, over EOF and 0..255, the classes also over -128..-2
 * (glibc's table covers signed chars: none is in a class).  tolower and
 * toupper of -128..-2 are outside the C standard's domain (glibc returns
 * c + 256, Kiln returns c) and are not compared. */
#include <ctype.h>
#include <stdio.h>
#include "harness.h"

typedef int (*cfn)(int);

void test_ctype(void)
{
    static const struct { const char *name; cfn glibc, kiln; } fns[] = {
        { "isalnum", isalnum, kiln_isalnum }, { "isalpha", isalpha, kiln_isalpha },
        { "isblank", isblank, kiln_isblank }, { "iscntrl", iscntrl, kiln_iscntrl },
        { "isdigit", isdigit, kiln_isdigit }, { "isgraph", isgraph, kiln_isgraph },
        { "islower", islower, kiln_islower }, { "isprint", isprint, kiln_isprint },
        { "ispunct", ispunct, kiln_ispunct }, { "isspace", isspace, kiln_isspace },
        { "isupper", isupper, kiln_isupper }, { "isxdigit", isxdigit, kiln_isxdigit },
        { "isascii", isascii, kiln_isascii }, { "toascii", toascii, kiln_toascii },
        { "tolower", tolower, kiln_tolower }, { "toupper", toupper, kiln_toupper },
    };
    CHECK(kiln_shim_ctype_count() == (int)(sizeof fns / sizeof fns[0]), "shim table size");
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        int is_map = i >= 13;
        for (int c = is_map ? -1 : -128; c <= 255; c++) {
            int g = fns[i].glibc(c), k = fns[i].kiln(c), m = kiln_shim_ctype((int)i, c);
            if (!is_map) {
                g = !!g;
                k = !!k;
                m = !!m;
            }
            CHECK(g == k && g == m, "%s(%d): glibc %d kiln %d macro %d", fns[i].name, c, g, k, m);
        }
    }
}
