/* posix-core's private helpers: formatting for --strace and messages. */
#ifndef POSIX_CORE_H
#define POSIX_CORE_H

struct fmtbuf {
    char *buf;
    unsigned long cap;
    unsigned long len;
};

void fmt_str(struct fmtbuf *b, const char *s);
void fmt_dec(struct fmtbuf *b, long v);
void fmt_hex(struct fmtbuf *b, unsigned long v);
/* One system-call argument in the format letter's style (see syscalls.def). */
void fmt_arg(struct fmtbuf *b, char kind, long v);
/* "ENOENT" for 2...; "E<number>" for the rest. */
const char *errno_name(int e);

#endif
