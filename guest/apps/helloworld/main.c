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

/* "00".."99": two digits per division halves the loop. */
static const char pairs[200] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/*
 * One DIV gives quotient and remainder: on an emulating KVM each instruction costs about a
 * microsecond, and the compiler's multiply-and-shift division by a constant takes six or more
 * instructions per digit where this loop takes seven per two digits (~60 in all instead of ~210).
 */
static inline unsigned long long divmod100(unsigned long long n, unsigned long long *rem)
{
    unsigned long long q, r;
    __asm__("divq %4" : "=a"(q), "=d"(r) : "a"(n), "d"(0ull), "r"(100ull));
    *rem = r;
    return q;
}

int main(const char *cmdline)
{
    unsigned long long now = plat_walltime_ns();
    char *d = text + sizeof PREFIX - 1 + DIGITS;
    for (int i = 0; i < DIGITS / 2; i++) {
        unsigned long long r;
        now = divmod100(now, &r);
        d -= 2;
        __builtin_memcpy(d, pairs + 2 * r, 2);
    }
    *--d = (char)('0' + now); /* DIGITS is odd: the leading digit, now < 10 */

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
