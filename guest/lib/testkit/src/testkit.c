#include <kiln/fmt.h>
#include <kiln/platform.h>
#include <kiln/testkit.h>

void tk_say(const char *s)
{
    plat_console_write(s, fmt_strlen(s));
}

int tk_word(const char **p, const char *w)
{
    unsigned i = 0;
    while (w[i] && (*p)[i] == w[i])
        i++;
    if (w[i] || ((*p)[i] != ' ' && (*p)[i] != '\0'))
        return 0;
    *p += i;
    while (**p == ' ')
        (*p)++;
    return 1;
}

void tk_expect(const char *what, int got, int want, int *bad)
{
    if (got == want)
        return;
    char line[160];
    struct fmt_buf b;
    fmt_init(&b, line, sizeof line);
    fmt_puts(&b, "unexpected: ");
    fmt_puts(&b, what);
    fmt_puts(&b, " ret=");
    fmt_puti(&b, got);
    fmt_putc(&b, '\n');
    plat_console_write(b.p, b.len);
    *bad = 1;
}
