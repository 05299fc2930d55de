/*
 * The libc under test, as the host tests see it: run.sh compiles the libc
 * sources with the guest flags and renames every symbol with objcopy
 * --prefix-symbols=kiln_, so they can live beside the host's glibc.
 * Declarations here use only compiler-provided headers; structure layouts
 * are checked against the libc's own headers by shim.c.
 */
#ifndef KILN_API_H
#define KILN_API_H

#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>

typedef struct kiln_FILE kiln_FILE;

struct kiln_timespec {
    long tv_sec;
    long tv_nsec;
};

struct kiln_tm {
    int tm_sec, tm_min, tm_hour, tm_mday, tm_mon, tm_year, tm_wday, tm_yday, tm_isdst;
    long tm_gmtoff;
    const char *tm_zone;
};

typedef struct { int quot, rem; } kiln_div_t;
typedef struct { long quot, rem; } kiln_ldiv_t;
typedef struct { long long quot, rem; } kiln_lldiv_t;

extern int kiln_errno;
extern kiln_FILE *kiln_stdout, *kiln_stderr, *kiln_stdin;

/* string.h / strings.h */
void *kiln_memcpy(void *, const void *, size_t);
void *kiln_memmove(void *, const void *, size_t);
void *kiln_memset(void *, int, size_t);
int kiln_memcmp(const void *, const void *, size_t);
void *kiln_memchr(const void *, int, size_t);
void *kiln_memrchr(const void *, int, size_t);
void *kiln_mempcpy(void *, const void *, size_t);
size_t kiln_strlen(const char *);
size_t kiln_strnlen(const char *, size_t);
int kiln_strcmp(const char *, const char *);
int kiln_strncmp(const char *, const char *, size_t);
int kiln_strcoll(const char *, const char *);
int kiln_strcasecmp(const char *, const char *);
int kiln_strncasecmp(const char *, const char *, size_t);
char *kiln_strcpy(char *, const char *);
char *kiln_stpcpy(char *, const char *);
char *kiln_strncpy(char *, const char *, size_t);
char *kiln_strcat(char *, const char *);
char *kiln_strncat(char *, const char *, size_t);
char *kiln_strchr(const char *, int);
char *kiln_strchrnul(const char *, int);
char *kiln_strrchr(const char *, int);
char *kiln_strstr(const char *, const char *);
size_t kiln_strspn(const char *, const char *);
size_t kiln_strcspn(const char *, const char *);
char *kiln_strpbrk(const char *, const char *);
char *kiln_strtok(char *, const char *);
char *kiln_strtok_r(char *, const char *, char **);
char *kiln_strsep(char **, const char *);
char *kiln_strerror(int);
const char *kiln_strerrorname_np(int);
char *kiln_strdup(const char *);
char *kiln_strndup(const char *, size_t);

/* The same string.c built with KILN_LIBC_NO_ASM (portable C). */
void *kiln_noasm_memcpy(void *, const void *, size_t);
void *kiln_noasm_memmove(void *, const void *, size_t);
void *kiln_noasm_memset(void *, int, size_t);
int kiln_noasm_memcmp(const void *, const void *, size_t);
void *kiln_noasm_memchr(const void *, int, size_t);
void *kiln_noasm_memrchr(const void *, int, size_t);
void *kiln_noasm_mempcpy(void *, const void *, size_t);
size_t kiln_noasm_strlen(const char *);
size_t kiln_noasm_strnlen(const char *, size_t);
int kiln_noasm_strcmp(const char *, const char *);
int kiln_noasm_strncmp(const char *, const char *, size_t);
int kiln_noasm_strcoll(const char *, const char *);
int kiln_noasm_strcasecmp(const char *, const char *);
int kiln_noasm_strncasecmp(const char *, const char *, size_t);
char *kiln_noasm_strcpy(char *, const char *);
char *kiln_noasm_stpcpy(char *, const char *);
char *kiln_noasm_strncpy(char *, const char *, size_t);
char *kiln_noasm_strcat(char *, const char *);
char *kiln_noasm_strncat(char *, const char *, size_t);
char *kiln_noasm_strchr(const char *, int);
char *kiln_noasm_strchrnul(const char *, int);
char *kiln_noasm_strrchr(const char *, int);
char *kiln_noasm_strstr(const char *, const char *);
size_t kiln_noasm_strspn(const char *, const char *);
size_t kiln_noasm_strcspn(const char *, const char *);
char *kiln_noasm_strpbrk(const char *, const char *);
char *kiln_noasm_strtok(char *, const char *);
char *kiln_noasm_strtok_r(char *, const char *, char **);
char *kiln_noasm_strsep(char **, const char *);

/* ctype.h (the functions; shim.c exports the macro forms) */
int kiln_isalnum(int);
int kiln_isalpha(int);
int kiln_isblank(int);
int kiln_iscntrl(int);
int kiln_isdigit(int);
int kiln_isgraph(int);
int kiln_islower(int);
int kiln_isprint(int);
int kiln_ispunct(int);
int kiln_isspace(int);
int kiln_isupper(int);
int kiln_isxdigit(int);
int kiln_isascii(int);
int kiln_toascii(int);
int kiln_tolower(int);
int kiln_toupper(int);

/* stdio.h */
int kiln_printf(const char *, ...);
int kiln_fprintf(kiln_FILE *, const char *, ...);
int kiln_sprintf(char *, const char *, ...);
int kiln_snprintf(char *, size_t, const char *, ...);
int kiln_vprintf(const char *, va_list);
int kiln_vfprintf(kiln_FILE *, const char *, va_list);
int kiln_vsprintf(char *, const char *, va_list);
int kiln_vsnprintf(char *, size_t, const char *, va_list);
int kiln_fputc(int, kiln_FILE *);
int kiln_putc(int, kiln_FILE *);
int kiln_putchar(int);
int kiln_fputs(const char *, kiln_FILE *);
int kiln_puts(const char *);
size_t kiln_fwrite(const void *, size_t, size_t, kiln_FILE *);
int kiln_fflush(kiln_FILE *);
int kiln_setvbuf(kiln_FILE *, char *, int, size_t);
void kiln_perror(const char *);
int kiln_fgetc(kiln_FILE *);
int kiln_getchar(void);
int kiln_ferror(kiln_FILE *);
int kiln_feof(kiln_FILE *);
void kiln_clearerr(kiln_FILE *);

/* stdlib.h / inttypes.h */
long kiln_strtol(const char *, char **, int);
unsigned long kiln_strtoul(const char *, char **, int);
long long kiln_strtoll(const char *, char **, int);
unsigned long long kiln_strtoull(const char *, char **, int);
intmax_t kiln_strtoimax(const char *, char **, int);
uintmax_t kiln_strtoumax(const char *, char **, int);
int kiln_atoi(const char *);
long kiln_atol(const char *);
long long kiln_atoll(const char *);
int kiln_abs(int);
long kiln_labs(long);
long long kiln_llabs(long long);
kiln_div_t kiln_div(int, int);
kiln_ldiv_t kiln_ldiv(long, long);
kiln_lldiv_t kiln_lldiv(long long, long long);
void kiln_qsort(void *, size_t, size_t, int (*)(const void *, const void *));
void kiln_qsort_r(void *, size_t, size_t, int (*)(const void *, const void *, void *), void *);
void *kiln_bsearch(const void *, const void *, size_t, size_t, int (*)(const void *, const void *));
__attribute__((noreturn)) void kiln_exit(int);
__attribute__((noreturn)) void kiln__Exit(int);
__attribute__((noreturn)) void kiln_abort(void);
int kiln_atexit(void (*)(void));
char *kiln_getenv(const char *);
int kiln_rand(void);
void kiln_srand(unsigned);

/* time.h */
long kiln_time(long *);
int kiln_clock_gettime(int, struct kiln_timespec *);
int kiln_clock_getres(int, struct kiln_timespec *);
int kiln_timespec_get(struct kiln_timespec *, int);
int kiln_nanosleep(const struct kiln_timespec *, struct kiln_timespec *);
int kiln_clock_nanosleep(int, int, const struct kiln_timespec *, struct kiln_timespec *);
struct kiln_tm *kiln_gmtime_r(const long *, struct kiln_tm *);
struct kiln_tm *kiln_gmtime(const long *);
long kiln_timegm(struct kiln_tm *);
long kiln_mktime(struct kiln_tm *);
size_t kiln_strftime(char *, size_t, const char *, const struct kiln_tm *);

/* shim.c: the header (macro / inline) forms, compiled against the libc's
 * own headers. */
int kiln_shim_ctype(int which, int c);      /* which: index in shim's table */
int kiln_shim_ctype_count(void);
int kiln_shim_layout_ok(void);
int kiln_shim_inttypes(char *buf, size_t size);
void kiln_shim_assert(int cond);
int kiln_shim_limits_ok(void);

/* Host stand-in for the platform (plat_stub.c). */
extern char stub_console[1 << 20];
extern size_t stub_console_len;
extern unsigned long stub_console_writes;
extern unsigned long stub_polls;
extern int stub_exit_status;
void stub_console_reset(void);

#endif
