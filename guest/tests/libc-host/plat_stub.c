/*
 * Host stand-in for <kiln/platform.h>, under the kiln_ prefix the libc
 * objects were renamed with: the console collects into a buffer (counting
 * the writes: each would be one hypercall), clocks and poll use the host's,
 * exit and abort jump back into the test that armed stub_exit_jmp.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "harness.h"

char stub_console[1 << 20];
size_t stub_console_len;
unsigned long stub_console_writes;
unsigned long stub_polls;
int stub_exit_status = -1;
jmp_buf stub_exit_jmp;
int stub_exit_armed;

void stub_console_reset(void)
{
    stub_console_len = 0;
    stub_console_writes = 0;
}

void kiln_plat_console_write(const char *buf, unsigned long len)
{
    stub_console_writes++;
    if (len > sizeof stub_console - stub_console_len) {
        fprintf(stderr, "plat_stub: console capture overflow\n");
        exit(2);
    }
    memcpy(stub_console + stub_console_len, buf, len);
    stub_console_len += len;
}

static unsigned long long host_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

unsigned long long kiln_plat_monotonic_ns(void)
{
    return host_ns(CLOCK_MONOTONIC);
}

unsigned long long kiln_plat_walltime_ns(void)
{
    return host_ns(CLOCK_REALTIME);
}

/* Sleeps about a quarter of the timeout: "device input" that ends polls
 * early, so the libc must keep polling until its deadline. */
int kiln_plat_poll(unsigned long long timeout_ns, unsigned long long *ready_set)
{
    stub_polls++;
    unsigned long long ns = timeout_ns / 4 + 1;
    struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };
    nanosleep(&ts, NULL);
    if (ready_set)
        *ready_set = 0;
    return 0;
}

void kiln_plat_exit(int status)
{
    stub_exit_status = status;
    if (stub_exit_armed) {
        stub_exit_armed = 0;
        longjmp(stub_exit_jmp, 1);
    }
    fprintf(stderr, "plat_stub: unexpected plat_exit(%d)\n", status);
    exit(2);
}

void kiln_plat_abort(void)
{
    kiln_plat_exit(255);
}

const char *kiln_plat_cmdline(void)
{
    return "";
}

/* The alloc library's malloc, for strdup. */
void *kiln_malloc(size_t n)
{
    return malloc(n);
}

/* Kiln process calls: the host is "not Kiln", as on Solo5's tender. */
const void *kiln_plat_info(void)
{
    return NULL;
}

long kiln_plat_fork(void)
{
    return -38; /* ENOSYS */
}

long kiln_plat_wait(long id, unsigned long long timeout_ns, int *status, unsigned *how)
{
    (void)id, (void)timeout_ns, (void)status, (void)how;
    return -38;
}
