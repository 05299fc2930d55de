/*
 * Checks of the POSIX layer's descriptors and threads, run inside a Kiln guest.  Every check
 * prints "ok NAME" or "FAIL NAME: why"; each mode ends with "posixio MODE: PASS" or
 * "posixio MODE: FAIL (n)" and the exit status says the same (0 or 1).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int failures;

#define CHECK(name, cond, ...)                                                \
    do {                                                                      \
        if (cond) {                                                           \
            printf("ok %s\n", name);                                          \
        } else {                                                              \
            failures++;                                                       \
            printf("FAIL %s: ", name);                                        \
            printf(__VA_ARGS__);                                              \
            printf(" (errno %d %s)\n", errno, strerror(errno));              \
        }                                                                     \
    } while (0)

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

static int sigpipes;
static void on_sigpipe(int sig)
{
    (void)sig;
    sigpipes++;
}

static void test_pipe(void)
{
    int p[2];
    CHECK("pipe", pipe(p) == 0 && p[0] >= 3 && p[1] > p[0], "pipe -> %d %d", p[0], p[1]);
    struct stat st;
    CHECK("pipe-fstat-fifo", fstat(p[0], &st) == 0 && S_ISFIFO(st.st_mode), "mode %o", st.st_mode);
    CHECK("pipe-write", write(p[1], "hello", 5) == 5, "write");
    int avail = -1;
    CHECK("pipe-fionread", ioctl(p[0], FIONREAD, &avail) == 0 && avail == 5, "FIONREAD %d", avail);
    char buf[128] = { 0 };
    ssize_t n = read(p[0], buf, sizeof buf);
    CHECK("pipe-read", n == 5 && memcmp(buf, "hello", 5) == 0, "read %zd", n);
    CHECK("pipe-lseek-espipe", lseek(p[0], 0, SEEK_SET) == -1 && errno == ESPIPE, "lseek");
    CHECK("pipe-read-wrong-end", read(p[1], buf, 1) == -1 && errno == EBADF, "read on write end");
    CHECK("pipe-write-wrong-end", write(p[0], buf, 1) == -1 && errno == EBADF, "write on read end");

    /* O_NONBLOCK through fcntl: an empty pipe with a writer is EAGAIN */
    fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
    CHECK("pipe-nonblock-eagain", read(p[0], buf, 1) == -1 && errno == EAGAIN, "read on empty non-blocking");

    /* fill the 64 KiB ring without blocking: a non-blocking writer stops at EAGAIN */
    int q[2];
    CHECK("pipe2-nonblock", pipe2(q, O_NONBLOCK | O_CLOEXEC) == 0, "pipe2");
    CHECK("pipe2-cloexec", (fcntl(q[0], F_GETFD) & FD_CLOEXEC) && (fcntl(q[1], F_GETFL) & O_NONBLOCK), "flags");
    static char big[100000];
    memset(big, 'x', sizeof big);
    n = write(q[1], big, sizeof big);
    CHECK("pipe-capacity-64k", n == 65536, "wrote %zd of 100000", n);
    CHECK("pipe-full-eagain", write(q[1], "y", 1) == -1 && errno == EAGAIN, "write on a full pipe");
    long total = 0;
    while ((n = read(q[0], big, sizeof big)) > 0)
        total += n;
    CHECK("pipe-drain", total == 65536 && n == -1 && errno == EAGAIN, "read back %ld", total);
    CHECK("pipe2-bad-flags", pipe2(q, 0x1) == -1 && errno == EINVAL, "pipe2(0x1)");

    /* EOF once every writer is closed (a dup keeps the end open) */
    int w2 = dup(p[1]);
    close(p[1]);
    CHECK("pipe-dup-keeps-writer", read(p[0], buf, 1) == -1 && errno == EAGAIN, "still EAGAIN with a dup'ed writer");
    write(w2, "z", 1);
    close(w2);
    CHECK("pipe-data-then-eof", read(p[0], buf, 10) == 1 && read(p[0], buf, 10) == 0, "data, then 0 at EOF");

    /* EPIPE and SIGPIPE when no reader is left */
    int r[2];
    pipe(r);
    close(r[0]);
    signal(SIGPIPE, on_sigpipe);
    CHECK("pipe-epipe", write(r[1], "a", 1) == -1 && errno == EPIPE && sigpipes == 1, "sigpipes %d", sigpipes);
    signal(SIGPIPE, SIG_IGN);
    CHECK("pipe-epipe-ignored", write(r[1], "a", 1) == -1 && errno == EPIPE && sigpipes == 1, "sigpipes %d", sigpipes);
    close(r[1]);
    close(p[0]);
    close(q[0]);
    close(q[1]);

    /* stdio over a pipe */
    pipe(p);
    FILE *f = fdopen(p[1], "w");
    fprintf(f, "line %d\n", 42);
    fclose(f);
    f = fdopen(p[0], "r");
    char line[32] = { 0 };
    CHECK("pipe-stdio", fgets(line, sizeof line, f) && strcmp(line, "line 42\n") == 0 && !fgets(line, sizeof line, f), "got '%s'", line);
    fclose(f);
}

static void test_eventfd(void)
{
    int e = eventfd(3, 0);
    uint64_t v = 0;
    CHECK("eventfd", e >= 0, "eventfd");
    CHECK("eventfd-read", read(e, &v, 8) == 8 && v == 3, "read %llu", (unsigned long long)v);
    v = 5;
    write(e, &v, 8);
    v = 7;
    write(e, &v, 8);
    CHECK("eventfd-sum", read(e, &v, 8) == 8 && v == 12, "read %llu", (unsigned long long)v);
    CHECK("eventfd-short-buffer", read(e, &v, 4) == -1 && errno == EINVAL, "4-byte read");
    v = ~0ull;
    CHECK("eventfd-max-einval", write(e, &v, 8) == -1 && errno == EINVAL, "write ~0");
    close(e);

    e = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
    CHECK("eventfd-semaphore", read(e, &v, 8) == 8 && v == 1 && read(e, &v, 8) == 8 && v == 1, "v %llu", (unsigned long long)v);
    CHECK("eventfd-nonblock-eagain", read(e, &v, 8) == -1 && errno == EAGAIN, "read at zero");
    v = 0xfffffffffffffffeull;
    CHECK("eventfd-to-max", write(e, &v, 8) == 8, "write max");
    v = 1;
    CHECK("eventfd-overflow-eagain", write(e, &v, 8) == -1 && errno == EAGAIN, "write past max");
    CHECK("eventfd-bad-flags", eventfd(0, 0x10) == -1 && errno == EINVAL, "eventfd(0, 0x10)");
    close(e);
}

static void deadlock(void)
{
    int p[2];
    pipe(p);
    char c;
    printf("reading an empty pipe this thread alone writes\n");
    fflush(stdout);
    read(p[0], &c, 1);
    printf("read returned (it must not)\n");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, 0, _IOLBF, 0);
    const char *mode = argc > 1 ? argv[1] : "all";
    int all = strcmp(mode, "all") == 0, known = all;
    if (all || strcmp(mode, "pipe") == 0) {
        known = 1;
        test_pipe();
    }
    if (all || strcmp(mode, "eventfd") == 0) {
        known = 1;
        test_eventfd();
    }
    if (strcmp(mode, "deadlock") == 0) {
        deadlock();
        return 1;
    }
    if (!known) {
        printf("posixio: unknown mode '%s' (pipe, eventfd, poll, threads, deadlock, tcp-echo, all)\n", mode);
        return 2;
    }
    (void)now_ms;
    if (failures) {
        printf("posixio %s: FAIL (%d)\n", mode, failures);
        return 1;
    }
    printf("posixio %s: PASS\n", mode);
    return 0;
}
