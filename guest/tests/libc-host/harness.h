/* Shared by the host test files: pass/fail accounting. */
#ifndef HARNESS_H
#define HARNESS_H

#include <setjmp.h>
#include "kiln_api.h"

extern unsigned long long h_pass, h_fail;
void h_failf(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One comparison: counts a pass, or prints the first failures. */
#define CHECK(cond, ...)                                    \
    do {                                                    \
        if (__builtin_expect(!!(cond), 1))                  \
            h_pass++;                                       \
        else                                                \
            h_failf(__FILE__, __LINE__, __VA_ARGS__);       \
    } while (0)

/* A quoted, escaped copy of n bytes for messages (rotating buffers). */
const char *h_quote(const char *s, size_t n);

/* Deterministic PRNG (xorshift64*). */
unsigned long long h_rand(void);
static inline unsigned h_randn(unsigned n) { return (unsigned)(h_rand() % n); }

extern jmp_buf stub_exit_jmp;
extern int stub_exit_armed;

void test_printf(void);
void test_stdio(void);
void test_strtol(void);
void test_string(void);
void test_ctype(void);
void test_qsort(void);
void test_time(void);
void test_stdlib(void);

#endif
