/*
 * A guest that uses most of the libc, linked by run.sh into a real hvt
 * image (platform + libc) to prove that everything resolves and links
 * under the guest flags.  It also runs: `kiln run` on the image prints a
 * few lines and exits 0 when every check holds.
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
#include <kiln/platform.h>

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int failures;

static void bye(void)
{
    printf("smoke: %s\n", failures ? "FAILED" : "ok");
}

#define EXPECT(c)                                                    \
    do {                                                             \
        if (!(c)) {                                                  \
            failures++;                                              \
            fprintf(stderr, "smoke: check failed: %s\n", #c);        \
        }                                                            \
    } while (0)

int main(const char *cmdline)
{
    char buf[128];
    atexit(bye);

    printf("smoke: cmdline \"%s\" (%zu bytes)\n", cmdline, strlen(cmdline));
    const char *volatile nothing = NULL;
    snprintf(buf, sizeof buf, "%-5d|%.3x|%#o|%s|%p|%c", 42, 255u, 8u, nothing, (void *)0, 'k');
    EXPECT(strcmp(buf, "42   |0ff|010|(null)|(nil)|k") == 0);
    char *end;
    errno = 0;
    EXPECT(strtol(" -0x7fffffffffffffff1", &end, 0) == LONG_MIN && errno == ERANGE && *end == '\0');
    EXPECT(strtoull("777", NULL, 8) == 511 && atoi("  12z") == 12);
    int v[] = { 5, -3, 9, 0, 2 };
    qsort(v, 5, sizeof v[0], cmp_int);
    EXPECT(v[0] == -3 && v[4] == 9);
    int key = 2;
    EXPECT(bsearch(&key, v, 5, sizeof v[0], cmp_int) == &v[2]);
    EXPECT(isalpha('q') && !isdigit('q') && toupper('q') == 'Q' && strcasecmp("AbC", "aBc") == 0);

    struct timespec t0, t1, nap = { 0, 2000000 };
    clock_gettime(CLOCK_MONOTONIC, &t0);
    EXPECT(nanosleep(&nap, NULL) == 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long slept = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    EXPECT(slept >= 2000000);

    time_t now = time(NULL);
    struct tm tm;
    EXPECT(gmtime_r(&now, &tm) != NULL);
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %Z", &tm);
    printf("smoke: slept %" PRId64 " ns; now %s\n", (int64_t)slept, buf);
    assert(failures == 0);
    exit(failures ? 1 : 0);
}
