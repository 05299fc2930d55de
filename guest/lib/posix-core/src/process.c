/*
 * Process identity and life: exit, ids, uname, limits, usage, fork/wait over
 * Kiln's unikernel fork (docs/kiln-abi.md 1.1/1.2).  One program is one
 * process; its pid is the instance's id, so what fork returns in the parent
 * is what wait4 takes and what the child's getpid says.
 */
#include <errno.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <kiln/hvt_abi.h>
#include <kiln/kiln_abi.h>
#include <kiln/platform.h>
#include <kiln/posix.h>

#ifndef CONFIG_POSIX_STACK_SIZE
#define CONFIG_POSIX_STACK_SIZE (1024 * 1024)
#endif
#define FD_LIMIT 1024

__attribute__((noreturn)) void kiln_posix_exit(int status)
{
    if (kiln_posix_vfs_exit)
        kiln_posix_vfs_exit();
    plat_exit(status & 0xff);
}

long kiln_posix_pid(void)
{
    const struct kiln_info *ki = plat_info();
    return ki && ki->id > 0 && ki->id < 0x40000000 ? (long)ki->id : 1;
}

KILN_SYSCALL1(exit_group, int, status)
{
    kiln_posix_exit(status);
}

KILN_SYSCALL1(exit, int, status)
{
    /* Only one thread: its end is the process's. */
    kiln_posix_exit(status);
}

KILN_SYSCALL0(getpid) { return kiln_posix_pid(); }
KILN_SYSCALL0(gettid) { return kiln_posix_pid(); }
KILN_SYSCALL0(getppid)
{
    const struct kiln_info *ki = plat_info();
    return ki && ki->parent < 0x40000000 ? (long)ki->parent : 0;
}
KILN_SYSCALL0(getpgrp) { return kiln_posix_pid(); }
KILN_SYSCALL0(getuid) { return 0; }
KILN_SYSCALL0(geteuid) { return 0; }
KILN_SYSCALL0(getgid) { return 0; }
KILN_SYSCALL0(getegid) { return 0; }

static void copy_field(char *dst, const char *src)
{
    /* utsname fields are 65 bytes */
    int i = 0;
    for (; src[i] && i < 64; i++)
        dst[i] = src[i];
    dst[i] = '\0';
}

KILN_SYSCALL1(uname, struct utsname *, u)
{
    if (!u)
        return -EFAULT;
    memset(u, 0, sizeof *u);
    /* Programs branch on the system's name to pick Linux's ABI, which is what this layer implements. */
    copy_field(u->sysname, "Linux");
    copy_field(u->nodename, "kiln");
    copy_field(u->release, "6.1.0-kiln");
    copy_field(u->version, "Kiln unikernel (POSIX layer over Solo5 hvt)");
    copy_field(u->machine, "x86_64");
    copy_field(u->__domainname, "(none)");
    return 0;
}

static struct rlimit limit_of(int resource)
{
    struct rlimit r = { RLIM_INFINITY, RLIM_INFINITY };
    if (resource == RLIMIT_STACK)
        r.rlim_cur = r.rlim_max = CONFIG_POSIX_STACK_SIZE;
    else if (resource == RLIMIT_NOFILE)
        r.rlim_cur = r.rlim_max = FD_LIMIT;
    else if (resource == RLIMIT_NPROC)
        r.rlim_cur = r.rlim_max = 1;
    else if (resource == RLIMIT_CORE)
        r.rlim_cur = r.rlim_max = 0;
    return r;
}

KILN_SYSCALL4(prlimit64, int, pid, int, resource, const struct rlimit *, nw, struct rlimit *, old)
{
    if (pid != 0 && pid != kiln_posix_pid())
        return -ESRCH;
    if (resource < 0 || resource >= RLIM_NLIMITS)
        return -EINVAL;
    if (old)
        *old = limit_of(resource);
    if (nw) {
        /* The limits are properties of the image (stack reserve, fd table): lowering is
         * accepted as a promise, raising past them is refused as Linux refuses it. */
        struct rlimit cur = limit_of(resource);
        if (nw->rlim_cur > nw->rlim_max || nw->rlim_max > cur.rlim_max)
            return -EPERM;
    }
    return 0;
}

KILN_SYSCALL2(getrlimit, int, resource, struct rlimit *, r)
{
    return prlimit64_impl(0, resource, 0, r);
}

KILN_SYSCALL2(getrusage, int, who, struct rusage *, ru)
{
    if (who != RUSAGE_SELF && who != RUSAGE_CHILDREN && who != RUSAGE_THREAD)
        return -EINVAL;
    memset(ru, 0, sizeof *ru);
    if (who != RUSAGE_CHILDREN) {
        /* The guest owns its vCPU: all time since boot is its user time. */
        unsigned long long ns = kiln_posix_uptime_ns();
        ru->ru_utime.tv_sec = ns / 1000000000ull;
        ru->ru_utime.tv_usec = (ns % 1000000000ull) / 1000;
        ru->ru_maxrss = (long)(plat_boot_info()->mem_size / 1024);
    }
    return 0;
}

KILN_SYSCALL1(times, struct tms *, t)
{
    long ticks = (long)(kiln_posix_uptime_ns() / 10000000ull); /* AT_CLKTCK = 100 */
    if (t) {
        t->tms_utime = ticks;
        t->tms_stime = 0;
        t->tms_cutime = 0;
        t->tms_cstime = 0;
    }
    return ticks;
}

KILN_SYSCALL1(sysinfo, struct sysinfo *, si)
{
    memset(si, 0, sizeof *si);
    si->uptime = (long)(kiln_posix_uptime_ns() / 1000000000ull);
    si->totalram = plat_boot_info()->mem_size;
    si->freeram = 0;
    si->procs = 1;
    si->mem_unit = 1;
    return 0;
}

KILN_SYSCALL0(sched_yield) { return 0; }

KILN_SYSCALL3(sched_getaffinity, int, pid, unsigned long, size, unsigned char *, mask)
{
    (void)pid;
    if (size < 8)
        return -EINVAL;
    memset(mask, 0, 8);
    mask[0] = 1; /* one vCPU */
    return 8;
}

KILN_SYSCALL0(fork) { return plat_fork(); }
KILN_SYSCALL0(vfork) { return plat_fork(); }

KILN_SYSCALL4(wait4, int, pid, int *, wstatus, int, options, struct rusage *, ru)
{
    if (pid < -1 || pid == 0)
        return -EINVAL; /* process groups: one process, none to wait for by group */
    if (options & ~(WNOHANG | WUNTRACED | WCONTINUED))
        return -EINVAL;
    int status = 0;
    unsigned how = 0;
    unsigned long long timeout = (options & WNOHANG) ? 0 : ~0ull;
    long r = plat_wait(pid, timeout, &status, &how);
    if (r <= 0)
        return r;
    if (wstatus) {
        if (how == KILN_WAIT_HALTED)
            *wstatus = (status & 0xff) << 8;      /* WIFEXITED */
        else if (how == KILN_WAIT_FAULTED)
            *wstatus = SIGSEGV;                   /* WIFSIGNALED: a guest fault */
        else
            *wstatus = SIGKILL;                   /* stopped by the monitor */
    }
    if (ru)
        memset(ru, 0, sizeof *ru);
    return r;
}

/* posix-thread replaces these when it is linked: exit ends one thread, yield switches. */
#pragma weak kiln_sys_exit
#pragma weak kiln_sys_gettid
#pragma weak kiln_sys_sched_yield
