/*
 * forkcheck: the monitor's fork tests drive this guest; the first word of
 * the command line picks a mode.  Every check prints "FAIL <what>" and the
 * guest exits 1 on the first failure, so a wrong result is visible in the
 * console; success ends with "forkcheck <mode> ok" and status 0.
 *
 *   semantics  ids, copy-on-write both ways, exit statuses, wait(-1),
 *              WNOHANG, ECHILD, a faulting child, a grandchild
 *   nomem      fork beyond the monitor's memory budget fails with ENOMEM
 *   bomb       every process forks until the monitor refuses; all reap
 *   orphan     forks a child that never ends, then exits: the monitor
 *              stops the child
 *   info       prints the info page (id, parent, generation, args)
 *   clone      idles until its generation changes (restore from a
 *              snapshot), then prints the new identity and exits 0
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <kiln/kiln_abi.h>
#include <kiln/platform.h>

static int value = 41;                       /* .data */
static char page_data[3 * 4096];             /* .bss, spans pages */

#define CHECK(what, cond)                                              \
    do {                                                               \
        if (!(cond)) {                                                 \
            printf("FAIL %s (line %d, errno %d)\n", what, __LINE__, errno); \
            exit(1);                                                   \
        }                                                              \
    } while (0)

static void sleep_ms(unsigned ms)
{
    unsigned long long end = plat_monotonic_ns() + ms * 1000000ull;
    while (plat_monotonic_ns() < end)
        plat_poll(end - plat_monotonic_ns(), 0);
}

static int semantics(void)
{
    const struct kiln_info *ki = plat_info();
    CHECK("info page present", ki != NULL);
    pid_t me = getpid();
    CHECK("own id", me > 0 && getppid() == 0);
    memset(page_data, 'p', sizeof page_data);

    /* 1. one child: it sees the parent's memory, its writes stay its own */
    pid_t c = fork();
    CHECK("fork", c >= 0);
    if (c == 0) {
        if (value != 41 || page_data[5000] != 'p')
            exit(3);
        if (getppid() != me || getpid() == me || plat_info()->generation != 1)
            exit(4);
        value = 99;
        page_data[5000] = 'c';
        exit(7);
    }
    printf("forked child %ld\n", (long)c);
    value = 42;                               /* the child must not see this either */
    int st = -1;
    CHECK("waitpid child", waitpid(c, &st, 0) == c);
    CHECK("child exited", WIFEXITED(st));
    CHECK("child status 7", WEXITSTATUS(st) == 7);
    CHECK("parent memory untouched by child", value == 42 && page_data[5000] == 'p');
    CHECK("reaped child is gone", waitpid(c, &st, WNOHANG) == -1 && errno == ECHILD);

    /* 2. three children, reaped in any order */
    int sum = 0;
    for (int i = 0; i < 3; i++) {
        pid_t k = fork();
        CHECK("fork of three", k >= 0);
        if (k == 0) {
            sleep_ms(10 * (unsigned)i);
            exit(10 + i);
        }
    }
    for (int i = 0; i < 3; i++) {
        CHECK("wait any", wait(&st) > 0 && WIFEXITED(st));
        sum += WEXITSTATUS(st);
    }
    CHECK("statuses 10+11+12", sum == 33);
    CHECK("no children left", wait(&st) == -1 && errno == ECHILD);

    /* 3. WNOHANG sees a running child as not ended */
    c = fork();
    CHECK("fork sleeper", c >= 0);
    if (c == 0) {
        sleep_ms(200);
        exit(0);
    }
    CHECK("WNOHANG on a running child", waitpid(c, &st, WNOHANG) == 0);
    CHECK("then it ends", waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* 4. a child that faults: the parent goes on and learns of it */
    c = fork();
    CHECK("fork faulter", c >= 0);
    if (c == 0) {
        volatile int *bad = (volatile int *)(uintptr_t)0x10;   /* not mapped */
        *bad = 1;
        exit(0);
    }
    CHECK("faulted child", waitpid(c, &st, 0) == c && WIFSIGNALED(st) && WTERMSIG(st) == 11);

    /* 5. a grandchild: a child forks too and reports its child's status */
    c = fork();
    CHECK("fork middle", c >= 0);
    if (c == 0) {
        pid_t g = fork();
        if (g < 0)
            exit(20);
        if (g == 0)
            exit(getppid() == me ? 21 : 5);   /* the grandchild's parent is not me */
        int gs;
        if (waitpid(g, &gs, 0) != g || !WIFEXITED(gs))
            exit(22);
        exit(WEXITSTATUS(gs) + 1);
    }
    CHECK("grandchild status via child", waitpid(c, &st, 0) == c && WEXITSTATUS(st) == 6);

    /* 6. bad arguments */
    CHECK("waitpid bad pid", waitpid(-7, &st, 0) == -1 && errno == EINVAL);
    CHECK("waitpid unknown child", waitpid(123456, &st, 0) == -1 && errno == ECHILD);
    return 0;
}

int main(const char *cmdline)
{
    char mode[16] = "";
    size_t n = 0;
    while (cmdline[n] && cmdline[n] != ' ' && n < sizeof mode - 1) {
        mode[n] = cmdline[n];
        n++;
    }
    mode[n] = 0;
    if (!strcmp(mode, "semantics")) {
        semantics();
    } else if (!strcmp(mode, "nomem")) {
        pid_t c = fork();
        if (c == 0)
            exit(0);
        CHECK("fork over budget fails", c == -1 && errno == ENOMEM);
    } else if (!strcmp(mode, "bomb")) {
        /* every process forks until the monitor says no; all reap and exit */
        int made = 0;
        for (int i = 0; i < 64; i++) {
            pid_t c = fork();
            if (c < 0) {
                CHECK("a fork bomb ends in ENOMEM or EAGAIN", errno == ENOMEM || errno == EAGAIN);
                break;
            }
            if (c == 0) {
                made = 0;                        /* the child forks on too */
                continue;
            }
            made++;
        }
        while (made-- > 0) {
            int st;
            CHECK("reap", wait(&st) > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
        }
        if (getppid() != 0)
            exit(0);
    } else if (!strcmp(mode, "orphan")) {
        pid_t c = fork();
        CHECK("fork", c >= 0);
        if (c == 0) {
            for (;;)
                plat_poll(1000000000ull, 0);
        }
        printf("orphan child %ld\n", (long)c);
    } else if (!strcmp(mode, "info") || !strcmp(mode, "clone")) {
        const struct kiln_info *ki = plat_info();
        CHECK("info page present", ki != NULL);
        unsigned long long gen = ki->generation;
        if (!strcmp(mode, "clone")) {
            printf("template %lu ready\n", (unsigned long)ki->id);
            fflush(stdout);
            value = 1000;                       /* state the clones inherit */
            while (ki->generation == gen)
                plat_poll(1000000ull, 0);
            CHECK("inherited state", value == 1000);
            value += (int)ki->id;               /* diverges per clone */
            printf("clone value %d\n", value);
        }
        printf("id %lu parent %lu generation %lu args [%s]\n", (unsigned long)ki->id,
               (unsigned long)ki->parent, (unsigned long)ki->generation, ki->args);
    } else {
        printf("FAIL unknown mode '%s'\n", mode);
        return 1;
    }
    printf("forkcheck %s ok\n", mode);
    return 0;
}
