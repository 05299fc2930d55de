/*
 * Signals within one process: handlers, the mask, and delivery of what the
 * program sends itself (raise, abort, kill(getpid())).  No signal arrives
 * from outside (the monitor stops an instance instead of signalling it), so
 * delivery happens synchronously: at the sending call, or when
 * rt_sigprocmask unblocks a pending one -- which is how musl's raise()
 * works (block all, tgkill, restore the mask).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <kiln/platform.h>
#include <kiln/posix.h>
#include "core.h"

#define NSIG_KILN 65

/* The kernel's struct k_sigaction for x86-64, what musl passes to rt_sigaction. */
struct k_sigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    unsigned long mask;
};

#define K_SA_SIGINFO 4
#define K_SA_RESETHAND 0x80000000ul
#define K_SA_NODEFER 0x40000000ul

static struct k_sigaction actions[NSIG_KILN];
static unsigned long blocked;
static unsigned long pending;

static unsigned long bit(int sig)
{
    return 1ul << (sig - 1);
}

static int default_ignores(int sig)
{
    return sig == SIGCHLD || sig == SIGCONT || sig == SIGURG || sig == SIGWINCH;
}

static void deliver(int sig)
{
    struct k_sigaction *a = &actions[sig];
    if (a->handler == SIG_IGN)
        return;
    if (a->handler == SIG_DFL) {
        if (default_ignores(sig))
            return;
        char line[80];
        struct fmtbuf b = { line, sizeof line, 0 };
        fmt_str(&b, "kiln: posix: terminated by signal ");
        fmt_dec(&b, sig);
        fmt_str(&b, "\n");
        plat_console_write(line, b.len);
        /* a shell's status for death by signal */
        kiln_posix_exit(128 + sig);
    }
    unsigned long saved = blocked;
    if (!(a->flags & K_SA_NODEFER))
        blocked |= bit(sig);
    blocked |= a->mask;
    void (*handler)(int) = a->handler;
    unsigned long flags = a->flags;
    if (flags & K_SA_RESETHAND)
        a->handler = SIG_DFL;
    if (flags & K_SA_SIGINFO) {
        siginfo_t info;
        memset(&info, 0, sizeof info);
        info.si_signo = sig;
        info.si_code = SI_USER;
        ((void (*)(int, siginfo_t *, void *))(void *)handler)(sig, &info, 0);
    } else {
        handler(sig);
    }
    blocked = saved;
}

static void deliver_pending(void)
{
    unsigned long ready;
    while ((ready = pending & ~blocked) != 0) {
        int sig = __builtin_ctzl(ready) + 1;
        pending &= ~bit(sig);
        deliver(sig);
    }
}

static long send_self(int sig)
{
    if (sig < 0 || sig >= NSIG_KILN)
        return -EINVAL;
    if (sig == 0)
        return 0;
    pending |= bit(sig);
    /* SIGKILL and SIGSTOP cannot be blocked */
    if (sig == SIGKILL || sig == SIGSTOP)
        blocked &= ~bit(sig);
    deliver_pending();
    return 0;
}

KILN_SYSCALL4(rt_sigaction, int, sig, const struct k_sigaction *, act, struct k_sigaction *, old, unsigned long, size)
{
    if (sig < 1 || sig >= NSIG_KILN || size != 8)
        return -EINVAL;
    if (act && (sig == SIGKILL || sig == SIGSTOP))
        return -EINVAL;
    if (old)
        *old = actions[sig];
    if (act) {
        actions[sig] = *act;
        actions[sig].mask &= ~(bit(SIGKILL) | bit(SIGSTOP));
    }
    return 0;
}

KILN_SYSCALL4(rt_sigprocmask, int, how, const unsigned long *, set, unsigned long *, old, unsigned long, size)
{
    if (size != 8)
        return -EINVAL;
    unsigned long prev = blocked;
    if (set) {
        unsigned long s = *set & ~(bit(SIGKILL) | bit(SIGSTOP));
        if (how == SIG_BLOCK)
            blocked |= s;
        else if (how == SIG_UNBLOCK)
            blocked &= ~s;
        else if (how == SIG_SETMASK)
            blocked = s;
        else
            return -EINVAL;
    }
    if (old)
        *old = prev;
    deliver_pending();
    return 0;
}

KILN_SYSCALL2(kill, int, pid, int, sig)
{
    if (pid != kiln_posix_pid() && pid != 0 && pid != -1)
        return -ESRCH;
    return send_self(sig);
}

KILN_SYSCALL3(tgkill, int, tgid, int, tid, int, sig)
{
    if (tgid != kiln_posix_pid() || tid != kiln_posix_pid())
        return -ESRCH;
    return send_self(sig);
}

KILN_SYSCALL2(sigaltstack, const stack_t *, ss, stack_t *, old)
{
    /* Handlers run on the caller's stack (delivery is synchronous). */
    if (old) {
        memset(old, 0, sizeof *old);
        old->ss_flags = SS_DISABLE;
    }
    if (ss && !(ss->ss_flags & SS_DISABLE) && ss->ss_size < MINSIGSTKSZ)
        return -ENOMEM;
    return 0;
}

KILN_SYSCALL0(rt_sigreturn)
{
    return -ENOSYS;
}

/* musl's __restore_rt (patched) jumps here; handlers are called, not entered by the
 * kernel, so they return to deliver() and this is never reached. */
void __kiln_sigreturn(void)
{
    kiln_posix_say("kiln: posix: rt_sigreturn without a signal frame\n");
    plat_abort();
}
