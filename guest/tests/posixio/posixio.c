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
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
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


static void test_poll(void)
{
    int p[2];
    pipe(p);
    struct pollfd pf[3] = { { p[0], POLLIN, 0 }, { p[1], POLLOUT, 0 }, { -1, POLLIN, 0 } };
    long long t0 = now_ms();
    int n = poll(pf, 1, 150);
    long long dt = now_ms() - t0;
    CHECK("poll-timeout", n == 0 && pf[0].revents == 0 && dt >= 150 && dt < 1000, "n %d after %lld ms", n, dt);
    n = poll(pf, 3, 0);
    CHECK("poll-pollout", n == 1 && pf[1].revents == POLLOUT && pf[2].revents == 0, "n %d revents %x", n, pf[1].revents);
    write(p[1], "x", 1);
    n = poll(pf, 2, -1);
    CHECK("poll-pollin", n == 2 && pf[0].revents == POLLIN, "n %d revents %x", n, pf[0].revents);
    t0 = now_ms();
    n = poll(0, 0, 60);
    dt = now_ms() - t0;
    CHECK("poll-sleep", n == 0 && dt >= 60 && dt < 1000, "n %d after %lld ms", n, dt);
    struct pollfd bad = { 77, POLLIN, 0 };
    CHECK("poll-pollnval", poll(&bad, 1, 0) == 1 && bad.revents == POLLNVAL, "revents %x", bad.revents);
    CHECK("poll-too-many-einval", poll(pf, 5000, 0) == -1 && errno == EINVAL, "nfds 5000");
    struct timespec ts = { 0, 40000000 };
    char c;
    read(p[0], &c, 1);
    t0 = now_ms();
    n = ppoll(pf, 1, &ts, 0);
    dt = now_ms() - t0;
    CHECK("ppoll-timeout", n == 0 && dt >= 40 && dt < 1000, "n %d after %lld ms", n, dt);
    ts.tv_nsec = 2000000000;
    CHECK("ppoll-bad-timespec", ppoll(pf, 1, &ts, 0) == -1 && errno == EINVAL, "tv_nsec 2e9");

    fd_set r, w;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(p[0], &r);
    struct timeval tv = { 0, 70000 };
    t0 = now_ms();
    n = select(p[0] + 1, &r, 0, 0, &tv);
    dt = now_ms() - t0;
    CHECK("select-timeout", n == 0 && !FD_ISSET(p[0], &r) && dt >= 70 && dt < 1000, "n %d after %lld ms", n, dt);
    write(p[1], "y", 1);
    FD_SET(p[0], &r);
    FD_SET(p[1], &w);
    FD_SET(p[1], &r); /* the write end never becomes readable */
    n = select(p[1] + 1, &r, &w, 0, 0);
    CHECK("select-ready", n == 2 && FD_ISSET(p[0], &r) && !FD_ISSET(p[1], &r) && FD_ISSET(p[1], &w), "n %d", n);
    FD_ZERO(&r);
    FD_SET(90, &r);
    CHECK("select-ebadf", select(91, &r, 0, 0, &tv) == -1 && errno == EBADF, "fd 90");
    CHECK("select-einval", select(-1, 0, 0, 0, &tv) == -1 && errno == EINVAL, "nfds -1");
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    struct timespec pts = { 0, 0 };
    CHECK("pselect-ready", pselect(p[0] + 1, &r, 0, 0, &pts, 0) == 1 && FD_ISSET(p[0], &r), "pselect");
    read(p[0], &c, 1);

    /* hang-up and error conditions */
    int q[2];
    pipe(q);
    close(q[1]);
    struct pollfd h = { q[0], POLLIN, 0 };
    CHECK("poll-pollhup", poll(&h, 1, 0) == 1 && (h.revents & POLLHUP), "revents %x", h.revents);
    close(q[0]);
    pipe(q);
    close(q[0]);
    h.fd = q[1];
    h.events = POLLOUT;
    CHECK("poll-pollerr", poll(&h, 1, 0) == 1 && (h.revents & POLLERR), "revents %x", h.revents);
    close(q[1]);

    /* epoll */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    CHECK("epoll-create1", ep >= 0, "epoll_create1");
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 42 }, out[4];
    CHECK("epoll-ctl-add", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0, "add");
    CHECK("epoll-ctl-eexist", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == -1 && errno == EEXIST, "add twice");
    CHECK("epoll-ctl-enoent", epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev) == -1 && errno == ENOENT, "mod absent");
    CHECK("epoll-ctl-ebadf", epoll_ctl(ep, EPOLL_CTL_ADD, 99, &ev) == -1 && errno == EBADF, "fd 99");
    CHECK("epoll-ctl-self-einval", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev) == -1 && errno == EINVAL, "fd == epfd");
    CHECK("epoll-ctl-not-epoll", epoll_ctl(p[0], EPOLL_CTL_ADD, p[1], &ev) == -1 && errno == EINVAL, "epfd a pipe");
    int file = open("/tmp/epoll-file", O_CREAT | O_RDWR, 0600);
    CHECK("epoll-ctl-file-eperm", epoll_ctl(ep, EPOLL_CTL_ADD, file, &ev) == -1 && errno == EPERM, "regular file");
    close(file);
    CHECK("epoll-wait-einval", epoll_wait(ep, out, 0, 0) == -1 && errno == EINVAL, "maxevents 0");
    t0 = now_ms();
    n = epoll_wait(ep, out, 4, 80);
    dt = now_ms() - t0;
    CHECK("epoll-wait-timeout", n == 0 && dt >= 80 && dt < 1000, "n %d after %lld ms", n, dt);
    write(p[1], "z", 1);
    n = epoll_wait(ep, out, 4, -1);
    CHECK("epoll-wait-ready", n == 1 && out[0].events == EPOLLIN && out[0].data.u64 == 42, "n %d events %x", n, n > 0 ? out[0].events : 0);
    /* level-triggered: still readable, reported again */
    CHECK("epoll-level", epoll_wait(ep, out, 4, 0) == 1, "second wait");
    /* edge-triggered: once per new readiness */
    ev.events = EPOLLIN | EPOLLET;
    epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
    CHECK("epoll-edge", epoll_wait(ep, out, 4, 0) == 1 && epoll_wait(ep, out, 4, 0) == 0, "edge");
    read(p[0], &c, 1);
    write(p[1], "z", 1);
    CHECK("epoll-edge-again", epoll_wait(ep, out, 4, 0) == 1, "edge after a new write");
    /* one-shot: reported once, then disabled until MOD */
    ev.events = EPOLLIN | EPOLLONESHOT;
    epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
    CHECK("epoll-oneshot", epoll_wait(ep, out, 4, 0) == 1 && epoll_wait(ep, out, 4, 0) == 0, "oneshot");
    epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
    CHECK("epoll-oneshot-rearmed", epoll_wait(ep, out, 4, 0) == 1, "after MOD");
    /* an eventfd beside it, and the epoll fd itself pollable */
    int e = eventfd(0, EFD_NONBLOCK);
    struct epoll_event eev = { .events = EPOLLIN, .data.u64 = 7 };
    epoll_ctl(ep, EPOLL_CTL_DEL, p[0], 0);
    epoll_ctl(ep, EPOLL_CTL_ADD, e, &eev);
    struct pollfd epf = { ep, POLLIN, 0 };
    CHECK("epoll-fd-not-ready", poll(&epf, 1, 0) == 0, "revents %x", epf.revents);
    uint64_t one = 1;
    write(e, &one, 8);
    CHECK("epoll-fd-pollable", poll(&epf, 1, 0) == 1 && epf.revents == POLLIN, "revents %x", epf.revents);
    n = epoll_wait(ep, out, 4, 0);
    CHECK("epoll-eventfd", n == 1 && out[0].data.u64 == 7, "n %d", n);
    /* a closed descriptor leaves the interest list */
    close(e);
    CHECK("epoll-closed-fd-gone", epoll_wait(ep, out, 4, 0) == 0, "after close");
    close(ep);
    close(p[0]);
    close(p[1]);
}

/* ---- threads ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long counter;
static int queue[16], qn;
static pthread_key_t key; /* thread-specific data lives behind each thread's FS base */

static pthread_t main_self;

static void *add_many(void *arg)
{
    pthread_setspecific(key, arg);
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&mu);
        long v = counter;
        if (i % 100 == 0)
            sched_yield(); /* inside the lock: the others must wait on it */
        counter = v + 1;
        pthread_mutex_unlock(&mu);
    }
    return (void *)((long)pthread_getspecific(key) * 10 + (pthread_self() != main_self));
}

static void *producer(void *arg)
{
    (void)arg;
    for (int i = 1; i <= 100; i++) {
        pthread_mutex_lock(&mu);
        while (qn == 16)
            pthread_cond_wait(&cv, &mu);
        queue[qn++] = i;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
    }
    return 0;
}

static void *pipe_writer(void *arg)
{
    int fd = *(int *)arg;
    usleep(50000);
    write(fd, "from thread", 11);
    return 0;
}

/* __thread: each thread starts with the initial image (PT_TLS) and writes only its own copy */
static __thread long tls_counter = 7;
static __thread char tls_zero[64];
static void *tls_worker(void *arg)
{
    long id = (long)arg, clean = tls_counter == 7 && tls_zero[0] == 0 && tls_zero[63] == 0;
    for (int i = 0; i < 1000; i++) {
        tls_counter += id;
        tls_zero[i % 64] = (char)id;
        sched_yield();
    }
    return (void *)(clean && tls_counter == 7 + 1000 * id && tls_zero[5] == (char)id);
}

static int detached_ran;
static void *detached(void *arg)
{
    (void)arg;
    detached_ran = 1;
    return 0;
}

static void *sleeper(void *arg)
{
    usleep(100000);
    *(int *)arg = 1;
    return 0;
}

static void test_threads(void)
{
    pthread_t t[4];
    main_self = pthread_self();
    pthread_key_create(&key, 0);
    pthread_setspecific(key, (void *)99);
    for (long i = 0; i < 4; i++)
        CHECK("pthread-create", pthread_create(&t[i], 0, add_many, (void *)(i + 1)) == 0, "thread %ld", i);
    long sum = 0;
    for (int i = 0; i < 4; i++) {
        void *r = 0;
        CHECK("pthread-join", pthread_join(t[i], &r) == 0, "join %d", i);
        sum += (long)r;
    }
    CHECK("mutex-counter", counter == 4000, "counter %ld", counter);
    CHECK("tsd-per-thread", sum == 104 && pthread_getspecific(key) == (void *)99, "sum %ld main's %p", sum, pthread_getspecific(key));
    CHECK("gettid-distinct", gettid() > 0, "tid");

    /* condition variable: a bounded queue between two threads */
    pthread_t pr;
    pthread_create(&pr, 0, producer, 0);
    long got = 0, expect = 0;
    for (int i = 1; i <= 100; i++) {
        pthread_mutex_lock(&mu);
        while (qn == 0)
            pthread_cond_wait(&cv, &mu);
        got += queue[0];
        memmove(queue, queue + 1, sizeof(int) * (unsigned)--qn);
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
        expect += i;
    }
    pthread_join(pr, 0);
    CHECK("condvar-queue", got == expect, "got %ld of %ld", got, expect);

    /* a blocking read on a pipe, woken by another thread's write */
    int p[2];
    pipe(p);
    pthread_t w;
    long long t0 = now_ms();
    pthread_create(&w, 0, pipe_writer, &p[1]);
    char buf[32] = { 0 };
    ssize_t n = read(p[0], buf, sizeof buf);
    long long dt = now_ms() - t0;
    CHECK("pipe-across-threads", n == 11 && strcmp(buf, "from thread") == 0 && dt >= 50, "n %zd after %lld ms", n, dt);
    pthread_join(w, 0);

    /* poll blocks this thread only; a sleeping thread lets others run */
    int flag = 0;
    pthread_t s;
    pthread_create(&s, 0, sleeper, &flag);
    struct pollfd pf = { p[0], POLLIN, 0 };
    t0 = now_ms();
    int pr2 = poll(&pf, 1, 300);
    dt = now_ms() - t0;
    CHECK("poll-while-thread-sleeps", pr2 == 0 && flag == 1 && dt >= 300, "poll %d flag %d after %lld ms", pr2, flag, dt);
    pthread_join(s, 0);

    /* timed condition wait */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 50000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&mu);
    t0 = now_ms();
    int rc = pthread_cond_timedwait(&cv, &mu, &until);
    dt = now_ms() - t0;
    pthread_mutex_unlock(&mu);
    CHECK("cond-timedwait", rc == ETIMEDOUT && dt >= 40 && dt < 1000, "rc %d after %lld ms", rc, dt);

    /* detached threads end on their own; many threads one after another reuse stacks */
    pthread_t d;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    CHECK("pthread-detached", pthread_create(&d, &at, detached, 0) == 0, "create detached");
    usleep(1000);
    CHECK("pthread-detached-ran", detached_ran == 1, "ran %d", detached_ran);
    int ok = 1;
    for (int i = 0; i < 200 && ok; i++) {
        pthread_t x;
        ok = pthread_create(&x, 0, detached, 0) == 0 && pthread_join(x, 0) == 0;
    }
    CHECK("pthread-200-create-join", ok, "a create or join failed");

    tls_counter = 100;
    pthread_t tt[3];
    int started = 0, tls_ok = 1;
    while (started < 3 && pthread_create(&tt[started], 0, tls_worker, (void *)(long)(started + 1)) == 0) started++;
    if (started < 3) tls_ok = 0; /* a create failed: join only the threads that exist */
    for (int i = 0; i < started; i++) {
        void *r = 0;
        tls_ok &= pthread_join(tt[i], &r) == 0 && r == (void *)1;
    }
    CHECK("thread-local", tls_ok && tls_counter == 100, "threads saw another's __thread data (main's is %ld)", tls_counter);
    close(p[0]);
    close(p[1]);
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
    if (all || strcmp(mode, "poll") == 0) {
        known = 1;
        test_poll();
    }
    if (all || strcmp(mode, "threads") == 0) {
        known = 1;
        test_threads();
    }
    if (strcmp(mode, "deadlock") == 0) {
        deadlock();
        return 1;
    }
    if (!known) {
        printf("posixio: unknown mode '%s' (pipe, eventfd, poll, threads, deadlock, tcp-echo, all)\n", mode);
        return 2;
    }
    if (failures) {
        printf("posixio %s: FAIL (%d)\n", mode, failures);
        return 1;
    }
    printf("posixio %s: PASS\n", mode);
    return 0;
}
