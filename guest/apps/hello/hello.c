/*
 * hello: the smallest useful Kiln guest.  Reads both clocks first, then
 * prints everything with a single PUTS so the whole run costs three
 * hypercalls (WALLTIME, PUTS, HALT).
 */
#include <kiln/platform.h>
#include <kiln/fmt.h>

/* Room for the fixed text plus the longest command line (8,191 chars,
 * spec 3).  In .bss: costs no file bytes and no boot time. */
static char out[8192 + 128];

int main(const char *cmdline)
{
    unsigned long long wall = plat_walltime_ns();
    unsigned long long mono = plat_monotonic_ns();
    struct fmt_buf b;

    fmt_init(&b, out, sizeof out);
    fmt_puts(&b, "Hello from Kiln!\ncmdline: ");
    fmt_puts(&b, cmdline);
    fmt_puts(&b, "\nwalltime_ns: ");
    fmt_putu(&b, wall);
    fmt_puts(&b, "\nmonotonic_ns: ");
    fmt_putu(&b, mono);
    fmt_putc(&b, '\n');
    plat_console_write(b.p, b.len);
    return 0;
}
