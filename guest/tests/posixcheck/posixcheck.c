/*
 * The POSIX layer's file, memory, process and error semantics checked from a
 * program built against musl, the way a ported program sees them.  The mode
 * (first argument) picks a group; each check prints "ok ..." or "FAIL ...",
 * and the run ends with a verdict line and status 0 only when all passed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static int failures;

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "ok" : "FAIL", what);
    if (!ok)
        failures++;
}

static int fails_with(long r, int e)
{
    return r == -1 && errno == e;
}

static void files(void)
{
    check(mkdir("/tmp/d", 0755) == 0, "mkdir");
    check(fails_with(mkdir("/tmp/d", 0755), EEXIST), "mkdir twice: EEXIST");
    int fd = open("/tmp/d/f", O_CREAT | O_EXCL | O_RDWR, 0644);
    check(fd >= 0, "open O_CREAT|O_EXCL");
    check(fails_with(open("/tmp/d/f", O_CREAT | O_EXCL | O_RDWR, 0644), EEXIST), "O_EXCL on an existing file: EEXIST");
    check(write(fd, "hello world", 11) == 11, "write");
    check(lseek(fd, 6, SEEK_SET) == 6, "lseek SEEK_SET");
    char buf[32] = {0};
    check(read(fd, buf, sizeof buf) == 5 && memcmp(buf, "world", 5) == 0, "read after lseek");
    check(pwrite(fd, "HELLO", 5, 0) == 5 && pread(fd, buf, 5, 0) == 5 && memcmp(buf, "HELLO", 5) == 0, "pwrite/pread");
    check(lseek(fd, 100, SEEK_SET) == 100 && write(fd, "x", 1) == 1, "write past the end");
    struct stat st;
    check(fstat(fd, &st) == 0 && st.st_size == 101 && S_ISREG(st.st_mode), "fstat size after a hole");
    check(pread(fd, buf, 4, 50) == 4 && buf[0] == 0 && buf[3] == 0, "a hole reads as zeros");
    int fd2 = dup(fd);
    check(fd2 > fd && lseek(fd2, 0, SEEK_CUR) == 101, "dup shares the offset");
    check(fcntl(fd, F_SETFD, FD_CLOEXEC) == 0 && fcntl(fd, F_GETFD) == FD_CLOEXEC, "fcntl FD_CLOEXEC");
    check(ftruncate(fd, 3) == 0 && fstat(fd, &st) == 0 && st.st_size == 3, "ftruncate");
    close(fd2);
    close(fd);
    int a = open("/tmp/d/f", O_WRONLY | O_APPEND);
    check(a >= 0 && write(a, "!", 1) == 1 && stat("/tmp/d/f", &st) == 0 && st.st_size == 4, "O_APPEND writes at the end");
    close(a);
    check(rename("/tmp/d/f", "/tmp/d/g") == 0 && access("/tmp/d/f", F_OK) == -1 && access("/tmp/d/g", R_OK) == 0, "rename");
    check(fails_with(rmdir("/tmp/d"), ENOTEMPTY), "rmdir a full directory: ENOTEMPTY");
    check(fails_with(open("/tmp/d/g/x", O_RDONLY), ENOTDIR), "a file as a directory: ENOTDIR");
    check(fails_with(open("/tmp/d", O_WRONLY), EISDIR), "a directory opened for writing: EISDIR");
    check(fails_with(open("/nope", O_RDONLY), ENOENT), "a missing file: ENOENT");
    int keep = open("/tmp/d/g", O_RDONLY);
    check(unlink("/tmp/d/g") == 0 && read(keep, buf, 4) == 4 && memcmp(buf, "HEL!", 4) == 0, "an unlinked file stays readable while open");
    close(keep);
    check(rmdir("/tmp/d") == 0, "rmdir an empty directory");
    check(chdir("/tmp") == 0 && getcwd(buf, sizeof buf) && strcmp(buf, "/tmp") == 0, "chdir and getcwd");
    FILE *f = fopen("rel.txt", "w");
    check(f && fputs("relative\n", f) >= 0 && fclose(f) == 0 && access("/tmp/rel.txt", F_OK) == 0, "relative paths from the working directory");
    DIR *d = opendir("/tmp");
    int seen = 0, dots = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, "rel.txt") == 0)
            seen++;
        else if (e->d_name[0] == '.')
            dots++;
    check(d && seen == 1 && dots == 2 && closedir(d) == 0, "readdir lists the file, '.' and '..'");
    check(fails_with(open("/etc/motd", O_WRONLY), EROFS) || fails_with(open("/etc/motd", O_WRONLY), ENOENT),
          "the root file system refuses writes (EROFS)");
    f = fopen("/etc/motd", "r");
    if (f) {
        check(fgets(buf, sizeof buf, f) && strcmp(buf, "hello rootfs\n") == 0, "a file from --rootfs reads back");
        fclose(f);
    }
    f = fopen("/dev/null", "w");
    check(f && fprintf(f, "gone") == 4 && fclose(f) == 0, "/dev/null");
    fd = open("/dev/urandom", O_RDONLY);
    unsigned long r1 = 0, r2 = 0;
    check(fd >= 0 && read(fd, &r1, 8) == 8 && read(fd, &r2, 8) == 8 && r1 != r2, "/dev/urandom");
    close(fd);
}

static void memory(void)
{
    char *small = malloc(100), *big = malloc(8 << 20);
    check(small && big, "malloc small and 8 MiB");
    memset(big, 0xab, 8 << 20);
    free(big);
    char *again = calloc(8 << 20, 1);
    int zero = again != NULL;
    for (long i = 0; zero && i < (8 << 20); i += 4096)
        zero = again[i] == 0;
    check(zero, "calloc after free hands out zeroed memory");
    free(again);
    char *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check(m != MAP_FAILED && m[12345] == 0, "mmap anonymous is zero");
    memset(m, 7, 1 << 20);
    char *m2 = mremap(m, 1 << 20, 2 << 20, MREMAP_MAYMOVE);
    check(m2 != MAP_FAILED && m2[1000] == 7 && m2[(1 << 20) + 5] == 0, "mremap keeps the contents and zero-fills the rest");
    check(munmap(m2, 2 << 20) == 0, "munmap");
    check(mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == EACCES,
          "PROT_EXEC is refused (W^X)");
    check(malloc((size_t)1 << 40) == NULL && errno == ENOMEM, "malloc beyond memory: NULL and ENOMEM");
    free(small);
}

static void process(void)
{
    struct utsname u;
    check(uname(&u) == 0 && strcmp(u.machine, "x86_64") == 0, "uname");
    check(getpid() > 0, "getpid");
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    struct timespec ten = { 0, 10 * 1000 * 1000 };
    nanosleep(&ten, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ns = (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);
    check(ns >= 10000000L && ns < 500000000L, "nanosleep 10 ms");
    check(time(NULL) > 1600000000, "the realtime clock");
    unsigned char r[16] = {0};
    check(getrandom(r, sizeof r, 0) == 16, "getrandom");
    check(getenv("HOME") && strcmp(getenv("HOME"), "/") == 0, "the environment");
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "all";
    if (strcmp(mode, "args") == 0) {
        for (int i = 0; i < argc; i++)
            printf("argv[%d]=<%s>\n", i, argv[i]);
        return argc;
    }
    if (strcmp(mode, "enosys") == 0) {
        long r1 = syscall(SYS_mount, "a", "b", "c", 0, 0);
        int e1 = errno;
        long r2 = syscall(SYS_mount, "a", "b", "c", 0, 0);
        printf("mount: %ld %s, again %ld\n", r1, e1 == ENOSYS ? "ENOSYS" : "?", r2);
        return 0;
    }
    if (strcmp(mode, "files") == 0 || strcmp(mode, "all") == 0)
        files();
    if (strcmp(mode, "memory") == 0 || strcmp(mode, "all") == 0)
        memory();
    if (strcmp(mode, "process") == 0 || strcmp(mode, "all") == 0)
        process();
    printf("posixcheck: %s (%d failed)\n", failures ? "FAILED" : "passed", failures);
    return failures ? 1 : 0;
}
