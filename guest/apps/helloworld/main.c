/*
 * hello: the smallest useful Kiln guest: prints a greeting, the wall-clock
 * time and its command line, then exits 0.
 *
 * Every guest instruction costs about a microsecond on an emulating KVM
 * and every hypercall a VM exit, so the text is laid out to do almost no
 * work: the fixed parts live pre-formatted in .data, the time's digits are
 * written in place, and the command line is printed straight from where
 * the monitor put it (hvt ABI section 4) instead of being copied.
 * An empty command line costs three hypercalls: WALLTIME, PUTS, HALT.
 */
#include <kiln/platform.h>

#define PREFIX "Hello from Kiln!\nwalltime_ns: "
#define DIGITS 19 /* nanoseconds since 1970 have 19 digits until 2286 */
#define SUFFIX "\ncmdline: "

static char text[] = PREFIX "0000000000000000000" SUFFIX "\n";

int main(const char *cmdline)
{
    unsigned long long now = plat_walltime_ns();
    char *d = text + sizeof PREFIX - 1 + DIGITS;
    for (int i = 0; i < DIGITS; i++) {
        *--d = (char)('0' + now % 10);
        now /= 10;
    }

    unsigned long head = sizeof text - 2; /* all but the final newline */
    if (cmdline[0] == '\0') {
        plat_console_write(text, head + 1);
        return 0;
    }
    unsigned long n = 0;
    while (cmdline[n] != '\0')
        n++;
    plat_console_write(text, head);
    plat_console_write(cmdline, n);
    plat_console_write("\n", 1);
    return 0;
}
