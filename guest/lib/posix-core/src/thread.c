/*
 * The thread-level calls musl makes at start-up and in its locks:
 * arch_prctl for the TLS pointer, set_tid_address, futex.  This step runs
 * one thread; __kiln_clone answers ENOSYS (pthread_create fails with
 * EAGAIN) until threads run on Kiln's scheduler.
 */
#include <errno.h>
#include <time.h>
#include <kiln/platform.h>
#include <kiln/posix.h>

/* Linux's futex operations (include/uapi/linux/futex.h) */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_CMD_MASK (~(128 | 256)) /* without FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME */

#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define MSR_FS_BASE 0xc0000100u

static unsigned long fs_base;

KILN_SYSCALL2(arch_prctl, int, code, unsigned long, addr)
{
    switch (code) {
    case ARCH_SET_FS:
        /* Canonical addresses only: a bad one would make WRMSR fault (#GP). */
        if (addr >= 0x800000000000ul)
            return -EPERM;
        fs_base = addr;
        __asm__ __volatile__("wrmsr" : : "c"(MSR_FS_BASE), "a"((unsigned)addr), "d"((unsigned)(addr >> 32)));
        return 0;
    case ARCH_GET_FS:
        *(unsigned long *)addr = fs_base;
        return 0;
    default:
        return -EINVAL;
    }
}

KILN_SYSCALL1(set_tid_address, int *, tidptr)
{
    (void)tidptr;
    return kiln_posix_pid();
}

KILN_SYSCALL6(futex, int *, uaddr, int, op, int, val, const struct timespec *, timeout, int *, uaddr2, int, val3)
{
    (void)uaddr2;
    (void)val3;
    switch (op & FUTEX_CMD_MASK) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET:
        if (__atomic_load_n(uaddr, __ATOMIC_SEQ_CST) != val)
            return -EAGAIN;
        /* One thread: nobody can wake it.  With a timeout it is a sleep. */
        if (timeout) {
            unsigned long long ns = (unsigned long long)timeout->tv_sec * 1000000000ull + (unsigned long long)timeout->tv_nsec;
            kiln_posix_sleep_until(plat_monotonic_ns() + ns);
            return -ETIMEDOUT;
        }
        kiln_posix_say("kiln: posix: futex wait with no other thread to wake it (deadlock)\n");
        kiln_posix_exit(134);
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET:
        return 0;
    default:
        return -ENOSYS;
    }
}

/* musl's __clone (patched) jumps here. */
int __kiln_clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
    (void)fn;
    (void)stack;
    (void)flags;
    (void)arg;
    return -ENOSYS;
}

/* musl's __unmapself (patched): only detached threads reach it. */
void __kiln_unmapself(void *base, unsigned long size)
{
    (void)base;
    (void)size;
    kiln_posix_exit(0);
}

/* posix-thread replaces these with real threads when it is linked (its definitions are strong). */
#pragma weak kiln_sys_arch_prctl
#pragma weak kiln_sys_set_tid_address
#pragma weak kiln_sys_futex
#pragma weak __kiln_clone
#pragma weak __kiln_unmapself
