/*
 * Private to the libc library: configuration defaults, the FILE object and
 * the formatting engine shared by the printf family.
 */
#ifndef KILN_LIBC_INTERNAL_H
#define KILN_LIBC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>

/*
 * Options from kiln.toml.  The builder passes them as CONFIG_* macros from
 * a generated header; these defaults keep the sources buildable without it
 * and must match the defaults in kiln.toml.
 */
#ifndef CONFIG_LIBC_PRINTF_WIDTH_MAX
#define CONFIG_LIBC_PRINTF_WIDTH_MAX 4096
#endif
#ifndef CONFIG_LIBC_STDIO_BUFSIZE
#define CONFIG_LIBC_STDIO_BUFSIZE 1024
#endif
#ifndef CONFIG_LIBC_ATEXIT_MAX
#define CONFIG_LIBC_ATEXIT_MAX 32
#endif

#define LIBC_LIKELY(x)   __builtin_expect(!!(x), 1)
#define LIBC_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* FILE: only console streams exist (stdout and stderr write to the
 * platform console, stdin has no input). */
struct __kiln_file {
    char *buf;          /* output buffer */
    size_t cap;         /* its size in bytes (0: cannot write) */
    size_t len;         /* bytes pending in buf */
    int mode;           /* _IOFBF, _IOLBF or _IONBF */
    int flags;          /* KILN_F_* */
};

#define KILN_F_ERR  1
#define KILN_F_EOF  2

/* Write the pending bytes of f to the console (one hypercall). */
void __kiln_file_flush(FILE *f);
/* Flush stdout and stderr (exit() calls it). */
void __kiln_stdio_flush_all(void);

/*
 * Output sink of the formatting engine.  Bytes go to [p, end); what does
 * not fit goes to __kiln_out_overflow(), which drops it (string sinks,
 * file == NULL) or flushes the FILE's buffer and carries on.  The count of
 * bytes produced so far, kept or dropped (printf's return value), is
 * p - base: base starts where p starts and only the overflow path moves
 * it, so the fast path keeps no counter.
 */
struct __kiln_out {
    char *p;
    char *end;
    uintptr_t base;
    FILE *file;
    char *mark;         /* file sinks: where this call's unflushed output starts */
};

static inline size_t __kiln_out_count(const struct __kiln_out *o)
{
    return (size_t)((uintptr_t)o->p - o->base);
}

void __kiln_out_overflow(struct __kiln_out *o, const char *s, size_t len);

/* Format into o.  Returns 0, or -1 with errno set (EINVAL: incomplete
 * conversion at the end of fmt, EILSEQ: wide character outside ASCII). */
int __kiln_vformat(struct __kiln_out *o, const char *fmt, va_list ap);

/* Turn a finished __kiln_vformat into printf's return value. */
int __kiln_out_result(const struct __kiln_out *o, int rc);

#endif
