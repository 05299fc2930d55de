/*
 * <stdio.h>: formatted output and console streams.
 *
 * stdout and stderr write to the platform console (plat_console_write, one
 * hypercall per write).  Each printf-family call formats into the stream's
 * buffer and writes at most once at its end: stdout is line buffered (it
 * writes when the call produced a newline, when the buffer fills, on
 * fflush and at exit()), stderr writes at the end of every call.  stdin has
 * no input: reads return EOF.  Note: returning from main() ends the
 * instance without exit(), so text still buffered in stdout (no newline
 * yet) is lost unless main calls exit() or fflush(stdout).
 *
 * The printf family follows C99 and glibc byte for byte: conversions d i u
 * o x X c s p n % and glibc's b B m (%#m: the errno's name) C S, flags
 * - + space # 0 (and ' and I, accepted and ignored as in the C locale),
 * width and precision with *, length modifiers hh h l ll j z t and glibc's
 * L q Z on integers; %lc/%ls for wide characters in the ASCII range
 * (others fail with EILSEQ, as in glibc's C locale).  A format ending
 * inside a conversion fails with EINVAL, as in glibc.
 *
 * Not supported: floating point (e E f F g G a A; guests are built without
 * FP registers) and positional arguments (%1$d).  Like an unknown
 * conversion these are printed back the way glibc prints unknown
 * conversions ("%-8.3f": flags, width, precision, letter) and consume no
 * argument beyond * widths and precisions.  Widths and integer precisions
 * above CONFIG_LIBC_PRINTF_WIDTH_MAX (default 4096) are clamped to it.
 */
#ifndef _STDIO_H
#define _STDIO_H

#include <stddef.h>
#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct __kiln_file FILE;

extern FILE *stdin;
extern FILE *stdout;
extern FILE *stderr;
#define stdin  stdin
#define stdout stdout
#define stderr stderr

#define EOF     (-1)
#define BUFSIZ  1024
#define _IOFBF  0
#define _IOLBF  1
#define _IONBF  2

#define __KILN_PRINTF(f, a) __attribute__((__format__(__printf__, f, a)))

int printf(const char *__restrict fmt, ...) __KILN_PRINTF(1, 2);
int fprintf(FILE *__restrict f, const char *__restrict fmt, ...) __KILN_PRINTF(2, 3);
int sprintf(char *__restrict buf, const char *__restrict fmt, ...) __KILN_PRINTF(2, 3);
int snprintf(char *__restrict buf, size_t size, const char *__restrict fmt, ...) __KILN_PRINTF(3, 4);
int vprintf(const char *__restrict fmt, va_list ap) __KILN_PRINTF(1, 0);
int vfprintf(FILE *__restrict f, const char *__restrict fmt, va_list ap) __KILN_PRINTF(2, 0);
int vsprintf(char *__restrict buf, const char *__restrict fmt, va_list ap) __KILN_PRINTF(2, 0);
int vsnprintf(char *__restrict buf, size_t size, const char *__restrict fmt, va_list ap) __KILN_PRINTF(3, 0);

int fputc(int c, FILE *f);
int putc(int c, FILE *f);
int putchar(int c);
int fputs(const char *__restrict s, FILE *__restrict f);
int puts(const char *s);
size_t fwrite(const void *__restrict p, size_t size, size_t nmemb, FILE *__restrict f);
int fflush(FILE *f);                       /* NULL: every stream */
int setvbuf(FILE *__restrict f, char *__restrict buf, int mode, size_t size);
void setbuf(FILE *__restrict f, char *__restrict buf);
void perror(const char *s);

int fgetc(FILE *f);                        /* always EOF: no console input */
int getc(FILE *f);
int getchar(void);
char *fgets(char *__restrict s, int size, FILE *__restrict f);
int ferror(FILE *f);
int feof(FILE *f);
void clearerr(FILE *f);

#undef __KILN_PRINTF

#ifdef __cplusplus
}
#endif

#endif
