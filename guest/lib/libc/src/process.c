/* fork/wait/getpid over the platform's Kiln process calls. */
#include <errno.h>
#include <unistd.h>
#include <sys/wait.h>
#include <kiln/kiln_abi.h>
#include <kiln/platform.h>

pid_t fork(void)
{
    long r = plat_fork();
    if (r < 0) {
        errno = (int)-r;
        return -1;
    }
    return r;
}

pid_t getpid(void)
{
    const struct kiln_info *ki = plat_info();
    return ki ? (pid_t)ki->id : 1;
}

pid_t getppid(void)
{
    const struct kiln_info *ki = plat_info();
    return ki ? (pid_t)ki->parent : 0;
}

pid_t waitpid(pid_t pid, int *wstatus, int options)
{
    if ((pid <= 0 && pid != -1) || (options & ~WNOHANG)) {
        errno = EINVAL;
        return -1;
    }
    for (;;) {
        int status = 0;
        unsigned how = 0;
        /* block in slices: WAIT returns early (0) when the monitor pauses us */
        long r = plat_wait(pid, (options & WNOHANG) ? 0 : 1000000000ull, &status, &how);
        if (r < 0) {
            errno = (int)-r;
            return -1;
        }
        if (r > 0) {
            if (wstatus) {
                if (how == KILN_WAIT_HALTED)
                    *wstatus = (status & 0xff) << 8;
                else
                    *wstatus = how == KILN_WAIT_FAULTED ? 11 : 9;
            }
            return r;
        }
        if (options & WNOHANG)
            return 0;
    }
}

pid_t wait(int *wstatus)
{
    return waitpid(-1, wstatus, 0);
}
