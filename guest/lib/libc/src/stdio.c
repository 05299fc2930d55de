/*
 * Console streams and the printf family's entry points.
 *
 * A write to the console is a hypercall (a VM exit, ~10 us), so output is
 * gathered in the stream's buffer and written once per call at most:
 * stdout (line buffered) when the call produced a newline, stderr
 * (unbuffered) at the end of every call, either when the buffer fills.
 */
#include <errno.h>
#include <string.h>
#include <kiln/platform.h>
#include "libc_internal.h"

static char stdout_buf[CONFIG_LIBC_STDIO_BUFSIZE];
static char stderr_buf[CONFIG_LIBC_STDIO_BUFSIZE];

static struct __kiln_file stdin_file = { NULL, 0, 0, _IONBF, 0 };
static struct __kiln_file stdout_file = { stdout_buf, sizeof stdout_buf, 0, _IOLBF, 0 };
static struct __kiln_file stderr_file = { stderr_buf, sizeof stderr_buf, 0, _IONBF, 0 };

FILE *stdin = &stdin_file;
FILE *stdout = &stdout_file;
FILE *stderr = &stderr_file;

void __kiln_file_flush(FILE *f)
{
    if (f->len) {
        plat_console_write(f->buf, f->len);
        f->len = 0;
    }
}

void __kiln_stdio_flush_all(void)
{
    __kiln_file_flush(&stdout_file);
    __kiln_file_flush(&stderr_file);
}

int fflush(FILE *f)
{
    if (!f)
        __kiln_stdio_flush_all();
    else
        __kiln_file_flush(f);
    return 0;
}

static inline int writable(FILE *f)
{
    if (LIBC_LIKELY(f->cap))
        return 1;
    f->flags |= KILN_F_ERR;
    errno = EBADF;
    return 0;
}

/* Does [a, b) contain a newline?  Scans from the end, where printf-style
 * output usually has it. */
static inline int has_newline(const char *a, const char *b)
{
    while (b > a)
        if (*--b == '\n')
            return 1;
    return 0;
}

/* End of a write of [mark, f->buf + f->len): apply the buffering mode. */
static inline void settle(FILE *f, const char *mark)
{
    if (f->mode == _IONBF || (f->mode == _IOLBF && has_newline(mark, f->buf + f->len)))
        __kiln_file_flush(f);
}

/* Append len bytes to f. */
static void file_write(FILE *f, const char *s, size_t len)
{
    struct __kiln_out o = {
        .p = f->buf + f->len,
        .end = f->buf + f->cap,
        .base = (uintptr_t)(f->buf + f->len),
        .file = f,
        .mark = f->buf + f->len,
    };
    if (len <= f->cap - f->len) {
        memcpy(o.p, s, len);
        o.p += len;
    } else {
        __kiln_out_overflow(&o, s, len);
    }
    f->len = (size_t)(o.p - f->buf);
    settle(f, o.mark);
}

int vfprintf(FILE *__restrict f, const char *__restrict fmt, va_list ap)
{
    if (!writable(f))
        return -1;
    struct __kiln_out o = {
        .p = f->buf + f->len,
        .end = f->buf + f->cap,
        .base = (uintptr_t)(f->buf + f->len),
        .file = f,
        .mark = f->buf + f->len,
    };
    int rc = __kiln_vformat(&o, fmt, ap);
    f->len = (size_t)(o.p - f->buf);
    settle(f, o.mark);
    if (rc < 0)
        f->flags |= KILN_F_ERR;
    return __kiln_out_result(&o, rc);
}

int fprintf(FILE *__restrict f, const char *__restrict fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vfprintf(f, fmt, ap);
    va_end(ap);
    return r;
}

int vprintf(const char *__restrict fmt, va_list ap)
{
    return vfprintf(stdout, fmt, ap);
}

int printf(const char *__restrict fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vfprintf(stdout, fmt, ap);
    va_end(ap);
    return r;
}

int vsnprintf(char *__restrict buf, size_t size, const char *__restrict fmt, va_list ap)
{
    /* Room for size - 1 bytes and the terminator; a size reaching past
     * the top of the address space means "unbounded". */
    uintptr_t room = size ? size - 1 : 0;
    struct __kiln_out o = {
        .p = buf,
        .end = room <= UINTPTR_MAX - (uintptr_t)buf ? buf + room : (char *)UINTPTR_MAX,
        .base = (uintptr_t)buf,
        .file = NULL,
        .mark = NULL,
    };
    int rc = __kiln_vformat(&o, fmt, ap);
    if (size)
        *o.p = '\0';
    return __kiln_out_result(&o, rc);
}

int snprintf(char *__restrict buf, size_t size, const char *__restrict fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return r;
}

int vsprintf(char *__restrict buf, const char *__restrict fmt, va_list ap)
{
    /* Unbounded: the end is the top of the address space. */
    struct __kiln_out o = {
        .p = buf,
        .end = (char *)UINTPTR_MAX,
        .base = (uintptr_t)buf,
        .file = NULL,
        .mark = NULL,
    };
    int rc = __kiln_vformat(&o, fmt, ap);
    *o.p = '\0';
    return __kiln_out_result(&o, rc);
}

int sprintf(char *__restrict buf, const char *__restrict fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsprintf(buf, fmt, ap);
    va_end(ap);
    return r;
}

int fputc(int c, FILE *f)
{
    if (!writable(f))
        return EOF;
    if (f->len == f->cap)
        __kiln_file_flush(f);
    f->buf[f->len++] = (char)c;
    if (f->mode == _IONBF || (f->mode == _IOLBF && (unsigned char)c == '\n'))
        __kiln_file_flush(f);
    return (unsigned char)c;
}

int putc(int c, FILE *f)
{
    return fputc(c, f);
}

int putchar(int c)
{
    return fputc(c, stdout);
}

int fputs(const char *__restrict s, FILE *__restrict f)
{
    if (!writable(f))
        return EOF;
    file_write(f, s, strlen(s));
    return 1;
}

int puts(const char *s)
{
    FILE *f = stdout;
    if (!writable(f))
        return EOF;
    size_t n = strlen(s);
    if (n < f->cap - f->len) {
        /* Common case: string and newline fit; one write. */
        memcpy(f->buf + f->len, s, n);
        f->buf[f->len + n] = '\n';
        f->len += n + 1;
        if (f->mode != _IOFBF)
            __kiln_file_flush(f);
        return 1;
    }
    file_write(f, s, n);
    file_write(f, "\n", 1);
    return 1;
}

size_t fwrite(const void *__restrict p, size_t size, size_t nmemb, FILE *__restrict f)
{
    if (!size || !nmemb)
        return 0;
    if (!writable(f))
        return 0;
    size_t total = size * nmemb;
    if (total / size != nmemb) {        /* overflow: cannot be a real object */
        f->flags |= KILN_F_ERR;
        errno = EINVAL;
        return 0;
    }
    file_write(f, p, total);
    return nmemb;
}

int setvbuf(FILE *__restrict f, char *__restrict buf, int mode, size_t size)
{
    if (mode != _IOFBF && mode != _IOLBF && mode != _IONBF)
        return -1;
    if (!f->cap)
        return -1;                      /* stdin: nothing to buffer */
    __kiln_file_flush(f);
    if (buf && size) {
        f->buf = buf;
        f->cap = size;
    }
    f->mode = mode;
    return 0;
}

void setbuf(FILE *__restrict f, char *__restrict buf)
{
    setvbuf(f, buf, buf ? _IOFBF : _IONBF, BUFSIZ);
}

void perror(const char *s)
{
    const char *msg = strerror(errno);

    if (s && *s)
        fprintf(stderr, "%s: %s\n", s, msg);
    else
        fprintf(stderr, "%s\n", msg);
}

int fgetc(FILE *f)
{
    f->flags |= KILN_F_EOF;
    return EOF;
}

int getc(FILE *f)
{
    return fgetc(f);
}

int getchar(void)
{
    return fgetc(stdin);
}

char *fgets(char *__restrict s, int size, FILE *__restrict f)
{
    (void)s;
    (void)size;
    f->flags |= KILN_F_EOF;
    return NULL;
}

int ferror(FILE *f)
{
    return (f->flags & KILN_F_ERR) != 0;
}

int feof(FILE *f)
{
    return (f->flags & KILN_F_EOF) != 0;
}

void clearerr(FILE *f)
{
    f->flags = 0;
}
