/*
 * kshell: runs the commands in its command line, separated by ';', and exits with the status of
 * the last failing command (or the one 'exit' gives). A unikernel has no terminal to read from,
 * so its "script" is its command line: kiln run kshell.hvt 'calc 6*7; primes 100'.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <kiln/alloc.h>
#include <kiln/sched.h>
#include "calc.h"

#define MAX_ARGS 64

struct command {
    const char *name;
    const char *usage;
    int (*run)(int argc, char **argv);
};

static const struct command *find(const char *name);

static int parse_u64(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (*s == '-' || *end != '\0' || errno == ERANGE || v > max) {
        printf("  '%s' is not a number in 0..%llu\n", s, max);
        return -1;
    }
    *out = v;
    return 0;
}

static int cmd_echo(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        printf("%s%s", argv[i], i + 1 < argc ? " " : "");
    printf("\n");
    return 0;
}

static int cmd_calc(int argc, char **argv)
{
    char expr[512] = "";
    size_t used = 0;
    for (int i = 1; i < argc; i++) {
        int n = snprintf(expr + used, sizeof expr - used, "%s%s", i > 1 ? " " : "", argv[i]);
        if (n < 0 || (size_t)n >= sizeof expr - used) {
            printf("  expression too long\n");
            return 1;
        }
        used += (size_t)n;
    }
    long long v;
    const char *err;
    if (calc_eval(expr, &v, &err) != 0) {
        printf("  calc: %s\n", err);
        return 1;
    }
    printf("%lld (0x%llx)\n", v, (unsigned long long)v);
    return 0;
}

static int cmd_fib(int argc, char **argv)
{
    unsigned long long n;
    if (argc != 2 || parse_u64(argv[1], 93, &n) != 0)
        return 1;
    unsigned long long a = 0, b = 1;
    for (unsigned long long i = 0; i < n; i++) {
        unsigned long long t = a + b;
        a = b;
        b = t;
    }
    printf("fib(%llu) = %llu\n", n, a);
    return 0;
}

static int cmd_primes(int argc, char **argv)
{
    unsigned long long n;
    if (argc != 2 || parse_u64(argv[1], 10000000, &n) != 0)
        return 1;
    unsigned char *composite = calloc(n + 1, 1);
    if (!composite) {
        printf("  out of memory for %llu bytes\n", n + 1);
        return 1;
    }
    unsigned long long count = 0, last = 0;
    for (unsigned long long i = 2; i <= n; i++) {
        if (composite[i])
            continue;
        count++;
        last = i;
        for (unsigned long long j = i * i; j <= n; j += i)
            composite[j] = 1;
    }
    free(composite);
    printf("%llu primes up to %llu, the largest %llu\n", count, n, last);
    return 0;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static int cmd_sort(int argc, char **argv)
{
    long long *v = malloc(sizeof *v * (size_t)(argc > 1 ? argc - 1 : 1));
    if (!v)
        return 1;
    for (int i = 1; i < argc; i++) {
        char *end;
        errno = 0;
        v[i - 1] = strtoll(argv[i], &end, 0);
        if (*end != '\0' || errno == ERANGE) {
            printf("  '%s' is not a number\n", argv[i]);
            free(v);
            return 1;
        }
    }
    qsort(v, (size_t)(argc - 1), sizeof *v, cmp_ll);
    for (int i = 0; i < argc - 1; i++)
        printf("%lld%s", v[i], i + 2 < argc ? " " : "");
    printf("\n");
    free(v);
    return 0;
}

static int cmd_date(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    char buf[64];
    gmtime_r(&ts.tv_sec, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    printf("%s.%09ld UTC\n", buf, (long)ts.tv_nsec);
    return 0;
}

static int cmd_sleep(int argc, char **argv)
{
    unsigned long long ms;
    if (argc != 2 || parse_u64(argv[1], 3600000, &ms) != 0)
        return 1;
    struct timespec t0, t1, want = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    clock_gettime(CLOCK_MONOTONIC, &t0);
    nanosleep(&want, 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long us = (t1.tv_sec - t0.tv_sec) * 1000000LL + (t1.tv_nsec - t0.tv_nsec) / 1000;
    printf("slept %lld us\n", us);
    return 0;
}

static int cmd_mem(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct alloc_stats s;
    alloc_stats(&s);
    printf("heap %zu bytes: %zu in use in %zu allocations, %zu free in %zu blocks, largest %zu\n",
           s.heap_bytes, s.in_use_bytes, s.alloc_count, s.free_bytes, s.free_blocks, s.largest_free);
    return 0;
}

/* threads N ROUNDS: N threads take turns through a mutex-protected counter; each sleeps a little
 * between rounds, so the idle loop waits in POLL. Shows the scheduler, sleep and a mutex. */
struct worker {
    int id;
    int rounds;
};

static struct mutex counter_lock;
static long counter;

static void worker_run(void *arg)
{
    struct worker *w = arg;
    for (int r = 0; r < w->rounds; r++) {
        mutex_lock(&counter_lock);
        counter++;
        mutex_unlock(&counter_lock);
        thread_sleep_ns(1000000ull * (unsigned)(1 + w->id % 3));
    }
    printf("  thread %d done after %d rounds\n", w->id, w->rounds);
}

static int cmd_threads(int argc, char **argv)
{
    unsigned long long n, rounds = 3;
    if (argc < 2 || argc > 3 || parse_u64(argv[1], 256, &n) != 0 || (argc == 3 && parse_u64(argv[2], 1000, &rounds) != 0))
        return 1;
    struct worker *ws = calloc(n, sizeof *ws);
    struct thread **ts = calloc(n, sizeof *ts);
    if (!ws || !ts) {
        free(ws);
        free(ts);
        printf("  out of memory\n");
        return 1;
    }
    mutex_init(&counter_lock);
    counter = 0;
    uint64_t t0 = sched_now_ns();
    for (unsigned long long i = 0; i < n; i++) {
        ws[i] = (struct worker){ (int)i, (int)rounds };
        ts[i] = thread_create("worker", worker_run, &ws[i], 8192);
        if (!ts[i]) {
            printf("  cannot create thread %llu\n", i);
            n = i;
            break;
        }
    }
    for (unsigned long long i = 0; i < n; i++)
        thread_join(ts[i]);
    printf("%llu threads counted to %ld in %llu us\n", n, counter,
           (unsigned long long)((sched_now_ns() - t0) / 1000));
    free(ws);
    free(ts);
    return counter == (long)(n * rounds) ? 0 : 1;
}

static int exit_requested = -1;

static int cmd_exit(int argc, char **argv)
{
    unsigned long long code = 0;
    if (argc > 2 || (argc == 2 && parse_u64(argv[1], 255, &code) != 0))
        return 1;
    exit_requested = (int)code;
    return 0;
}

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
    { "help", "help", cmd_help },
    { "echo", "echo WORDS...", cmd_echo },
    { "calc", "calc EXPR          integer arithmetic: + - * / % ( )", cmd_calc },
    { "fib", "fib N              the Nth Fibonacci number (N <= 93)", cmd_fib },
    { "primes", "primes N           count primes up to N (a sieve in the heap)", cmd_primes },
    { "sort", "sort NUMBERS...", cmd_sort },
    { "date", "date               wall-clock time", cmd_date },
    { "sleep", "sleep MS           sleep in POLL, then report the time slept", cmd_sleep },
    { "mem", "mem                heap statistics", cmd_mem },
    { "threads", "threads N [ROUNDS] N cooperative threads share a mutex-protected counter", cmd_threads },
    { "exit", "exit [STATUS]", cmd_exit },
};

static int cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("commands, separated by ';':\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        printf("  %s\n", commands[i].usage);
    return 0;
}

static const struct command *find(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return 0;
}

/* Runs one command, split into words in place. */
static int run(char *line)
{
    char *argv[MAX_ARGS];
    int argc = 0;
    char *save;
    for (char *w = strtok_r(line, " \t", &save); w; w = strtok_r(0, " \t", &save)) {
        if (argc == MAX_ARGS) {
            printf("  too many words (at most %d)\n", MAX_ARGS);
            return 1;
        }
        argv[argc++] = w;
    }
    if (argc == 0)
        return 0;
    const struct command *c = find(argv[0]);
    if (!c) {
        printf("kshell: unknown command '%s' (try help)\n", argv[0]);
        return 1;
    }
    printf("> %s\n", argv[0]);
    return c->run(argc, argv);
}

int main(const char *cmdline)
{
    size_t n = strlen(cmdline);
    char *script = malloc(n + 1);
    if (!script) {
        printf("kshell: out of memory\n");
        return 1;
    }
    memcpy(script, cmdline, n + 1);
    if (n == 0) {
        free(script);
        return cmd_help(0, 0);
    }
    int status = 0;
    char *save;
    for (char *cmd = strtok_r(script, ";", &save); cmd && exit_requested < 0; cmd = strtok_r(0, ";", &save)) {
        int rc = run(cmd);
        if (rc != 0)
            status = rc;
    }
    free(script);
    fflush(stdout);
    return exit_requested >= 0 ? exit_requested : status;
}
