/*
 * Console streams: output bytes and the number of console writes (each is
 * one hypercall in the guest): line buffering on stdout, per-call writes
 * on stderr, big outputs, fflush, setvbuf, exit() flushing and running
 * the atexit handlers, perror, stdin, assert.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "harness.h"

#define CONSOLE_IS(str, nwrites, what)                                                      \
    CHECK(stub_console_len == strlen(str) && memcmp(stub_console, str, stub_console_len) == 0 \
              && stub_console_writes == (nwrites),                                          \
          "%s: console %s in %lu writes, want %s in %d", what,                               \
          h_quote(stub_console, stub_console_len), stub_console_writes,                     \
          h_quote(str, strlen(str)), (int)(nwrites))

static int order[64], norder;
static void h1(void) { order[norder++] = 1; kiln_printf("[h1]"); }
static void h2(void) { order[norder++] = 2; kiln_printf("[h2]"); }
static void h3(void) { order[norder++] = 3; kiln_atexit(h1); }   /* registers during exit */
static void hcount(void) { order[norder++] = 9; }

/* One printf call, one write, for random formats ending in a newline. */
static void printf_one_write(void)
{
    static const char *const strs[] = { "", "abc", "a longer string with words", NULL };
    for (int i = 0; i < 3000; i++) {
        char fmt[128], want[2048];
        long long v = (long long)h_rand() >> h_randn(64);
        const char *s = strs[h_randn(4)];
        int w = (int)h_randn(40);
        snprintf(fmt, sizeof fmt, "%%%dlld|%%-*s|%%#%dlx|%%p\n", w, (int)h_randn(12));
        int gr = snprintf(want, sizeof want, fmt, v, w, s, (unsigned long)v, (void *)(uintptr_t)v);
        stub_console_reset();
        int kr = kiln_printf(fmt, v, w, s, (unsigned long)v, (void *)(uintptr_t)v);
        CHECK(kr == gr, "printf %s returned %d, want %d", fmt, kr, gr);
        CONSOLE_IS(want, 1, "printf random");
    }
    /* vprintf and fprintf(stdout) likewise. */
    stub_console_reset();
    kiln_fprintf(kiln_stdout, "%s=%d\n", "x", 5);
    CONSOLE_IS("x=5\n", 1, "fprintf stdout");
}

static void line_buffering(void)
{
    stub_console_reset();
    int r = kiln_printf("no newline %d", 1);
    CHECK(r == 12, "printf return %d", r);
    CONSOLE_IS("", 0, "stdout holds a line without newline");
    kiln_printf(", more");
    kiln_putchar('!');
    kiln_fputs(" fputs", kiln_stdout);
    kiln_fwrite("ab", 1, 2, kiln_stdout);
    CONSOLE_IS("", 0, "still no newline");
    kiln_printf(" end\n");
    CONSOLE_IS("no newline 1, more! fputsab end\n", 1, "newline flushes the line in one write");

    stub_console_reset();
    kiln_printf("a\nb");              /* newline mid-call: the whole call is written */
    CONSOLE_IS("a\nb", 1, "newline inside the output");
    stub_console_reset();
    kiln_putchar('x');
    kiln_putchar('\n');
    CONSOLE_IS("x\n", 1, "putchar newline");
    stub_console_reset();
    CHECK(kiln_puts("line") >= 0, "puts");
    CONSOLE_IS("line\n", 1, "puts");
    stub_console_reset();
    kiln_fputs("x\ny", kiln_stdout);
    CONSOLE_IS("x\ny", 1, "fputs with newline");
    stub_console_reset();
    CHECK(kiln_fwrite("abc\n", 2, 2, kiln_stdout) == 2, "fwrite count");
    CONSOLE_IS("abc\n", 1, "fwrite");
    stub_console_reset();
    kiln_printf("pending");
    kiln_fflush(kiln_stdout);
    CONSOLE_IS("pending", 1, "fflush(stdout)");
    stub_console_reset();
    kiln_printf("p2");
    kiln_fflush(NULL);
    kiln_fflush(NULL);
    CONSOLE_IS("p2", 1, "fflush(NULL)");

    /* stderr: one write per call, even without newline. */
    stub_console_reset();
    kiln_fprintf(kiln_stderr, "err %d", 2);
    CONSOLE_IS("err 2", 1, "stderr per call");
    kiln_fputc('c', kiln_stderr);
    CONSOLE_IS("err 2c", 2, "stderr fputc");

    /* Output larger than the buffer (1024): few writes, right bytes. */
    char want[5000];
    stub_console_reset();
    int gr = snprintf(want, sizeof want, "%3000s|%d\n", "big", 7);
    int kr = kiln_printf("%3000s|%d\n", "big", 7);
    CHECK(kr == gr, "big printf return %d want %d", kr, gr);
    CHECK(stub_console_len == (size_t)gr && memcmp(stub_console, want, (size_t)gr) == 0,
          "big printf bytes");
    CHECK(stub_console_writes >= 2 && stub_console_writes <= 4, "big printf writes %lu",
          stub_console_writes);
    stub_console_reset();
    memset(want, 'q', 4000);
    kiln_fwrite(want, 1, 4000, kiln_stdout);
    kiln_putchar('\n');
    CHECK(stub_console_len == 4001 && stub_console_writes <= 3, "big fwrite: %zu bytes %lu writes",
          stub_console_len, stub_console_writes);
    stub_console_reset();
    kiln_printf("%s", "x");
    kiln_fwrite(want, 1, 4000, kiln_stdout);    /* larger than the buffer: goes straight out */
    kiln_fflush(kiln_stdout);
    CHECK(stub_console_len == 4001 && stub_console[0] == 'x' && stub_console_writes <= 3,
          "fwrite past a pending byte: %zu bytes %lu writes", stub_console_len, stub_console_writes);

    /* Full buffering, then back to line buffering. */
    stub_console_reset();
    CHECK(kiln_setvbuf(kiln_stdout, NULL, 0 /* _IOFBF */, 0) == 0, "setvbuf IOFBF");
    kiln_printf("one\n");
    kiln_puts("two");
    CONSOLE_IS("", 0, "full buffering holds lines");
    kiln_fflush(kiln_stdout);
    CONSOLE_IS("one\ntwo\n", 1, "full buffering flush");
    CHECK(kiln_setvbuf(kiln_stdout, NULL, 2 /* _IONBF */, 0) == 0, "setvbuf IONBF");
    stub_console_reset();
    kiln_printf("u");
    CONSOLE_IS("u", 1, "unbuffered stdout");
    CHECK(kiln_setvbuf(kiln_stdout, NULL, 1 /* _IOLBF */, 0) == 0, "setvbuf IOLBF");
    CHECK(kiln_setvbuf(kiln_stdout, NULL, 7, 0) != 0, "setvbuf bad mode");

    /* Formatting errors: -1 and errno, the text before the error stays. */
    stub_console_reset();
    kiln_errno = 0;
    r = kiln_printf("abc%");
    CHECK(r == -1 && kiln_errno == EINVAL, "printf incomplete: %d errno %d", r, kiln_errno);
    kiln_fflush(kiln_stdout);
    CONSOLE_IS("abc", 1, "printf incomplete output");
    CHECK(kiln_ferror(kiln_stdout), "ferror after a failed printf");
    kiln_clearerr(kiln_stdout);
    CHECK(!kiln_ferror(kiln_stdout), "clearerr");
}

static void perror_stdin(void)
{
    stub_console_reset();
    kiln_errno = ENOENT;
    kiln_perror("open");
    CONSOLE_IS("open: No such file or directory\n", 1, "perror");
    stub_console_reset();
    kiln_errno = 0;
    kiln_perror(NULL);
    CONSOLE_IS("Success\n", 1, "perror(NULL)");

    CHECK(kiln_getchar() == -1 && kiln_feof(kiln_stdin), "getchar EOF");
    kiln_errno = 0;
    CHECK(kiln_fputc('x', kiln_stdin) == -1 && kiln_errno == EBADF && kiln_ferror(kiln_stdin),
          "write to stdin fails");
    kiln_clearerr(kiln_stdin);
    CHECK(kiln_fprintf(kiln_stdin, "x") == -1, "fprintf(stdin) fails");
    kiln_clearerr(kiln_stdin);
}

static void exit_flushes(void)
{
    stub_console_reset();
    norder = 0;
    kiln_printf("pending ");
    CHECK(kiln_atexit(h1) == 0 && kiln_atexit(h3) == 0 && kiln_atexit(h2) == 0, "atexit");
    if (!setjmp(stub_exit_jmp)) {
        stub_exit_armed = 1;
        kiln_exit(3);
    }
    CHECK(stub_exit_status == 3, "exit status %d", stub_exit_status);
    CHECK(norder == 4 && order[0] == 2 && order[1] == 3 && order[2] == 1 && order[3] == 1,
          "atexit order: %d handlers, %d %d %d", norder, order[0], order[1], order[2]);
    CONSOLE_IS("pending [h2][h1][h1]", 1, "exit flushes stdout once");

    /* At least 32 handlers; the next one is refused. */
    norder = 0;
    int ok = 1;
    for (int i = 0; i < 32; i++)
        ok &= kiln_atexit(hcount) == 0;
    CHECK(ok, "32 atexit handlers");
    CHECK(kiln_atexit(hcount) != 0, "33rd atexit handler refused");
    if (!setjmp(stub_exit_jmp)) {
        stub_exit_armed = 1;
        kiln_exit(0);
    }
    CHECK(norder == 32 && stub_exit_status == 0, "32 handlers ran: %d", norder);

    /* _Exit and abort: no handlers, no flush. */
    stub_console_reset();
    norder = 0;
    kiln_atexit(hcount);
    kiln_printf("lost");
    if (!setjmp(stub_exit_jmp)) {
        stub_exit_armed = 1;
        kiln__Exit(4);
    }
    CHECK(stub_exit_status == 4 && norder == 0 && stub_console_writes == 0, "_Exit");
    if (!setjmp(stub_exit_jmp)) {
        stub_exit_armed = 1;
        kiln_abort();
    }
    CHECK(stub_exit_status == 255 && norder == 0, "abort status %d", stub_exit_status);
    /* Clear the leftovers: the pending text and the handler. */
    if (!setjmp(stub_exit_jmp)) {
        stub_exit_armed = 1;
        kiln_exit(0);
    }

    /* assert: message on stderr, then abort. */
    stub_console_reset();
    kiln_shim_assert(1);
    CHECK(stub_console_len == 0 && stub_exit_status == 0, "assert(true) is silent");
    if (!setjmp(stub_exit_jmp)) {
        stub_exit_armed = 1;
        kiln_shim_assert(0);
    }
    stub_console[stub_console_len] = 0;
    CHECK(stub_exit_status == 255 && strstr(stub_console, "shim.c:") != NULL
              && strstr(stub_console, ": shim_assert: Assertion `cond' failed.\n") != NULL
              && stub_console_writes == 1,
          "assert(false): status %d, %s", stub_exit_status,
          h_quote(stub_console, stub_console_len));
}

void test_stdio(void)
{
    printf_one_write();
    line_buffering();
    perror_stdin();
    exit_flushes();
}
