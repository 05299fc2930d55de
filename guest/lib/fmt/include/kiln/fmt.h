/*
 * Minimal text formatting for guests until a real libc exists: append
 * strings and integers to a caller-provided buffer, then hand the buffer
 * to plat_console_write() in one go (one PUTS hypercall per message is far
 * cheaper than one per piece).  Appends that do not fit are truncated,
 * never overflow.  No dependency on the platform.
 */
#ifndef KILN_FMT_H
#define KILN_FMT_H

struct fmt_buf {
    char *p;
    unsigned long cap;
    unsigned long len;
};

static inline void fmt_init(struct fmt_buf *b, char *storage, unsigned long cap)
{
    b->p = storage;
    b->cap = cap;
    b->len = 0;
}

unsigned long fmt_strlen(const char *s);

void fmt_putn(struct fmt_buf *b, const char *s, unsigned long n);
void fmt_puts(struct fmt_buf *b, const char *s);             /* NUL-terminated */
void fmt_putc(struct fmt_buf *b, char c);
void fmt_putu(struct fmt_buf *b, unsigned long long v);      /* decimal */
void fmt_puti(struct fmt_buf *b, long long v);               /* signed decimal */
void fmt_putx(struct fmt_buf *b, unsigned long long v);      /* hex, no "0x" */

/* Parse an unsigned decimal at s.  Returns the number of characters
 * consumed (0 = no digits or overflow) and stores the value in *out. */
unsigned long fmt_parse_u64(const char *s, unsigned long long *out);

#endif
