/*
 * Waiting for forked children (Kiln's WAIT hypercall, docs/kiln-abi.md
 * 1.2).  Status words use Linux's encoding: a child that halted with
 * status s is WIFEXITED with WEXITSTATUS == s & 0xff; one the monitor ended
 * for a fault is WIFSIGNALED with WTERMSIG == SIGSEGV (11); one stopped from
 * outside (its parent ended, a time limit) with WTERMSIG == SIGKILL (9).
 */
#ifndef _KILN_SYS_WAIT_H
#define _KILN_SYS_WAIT_H

#ifndef _KILN_PID_T
#define _KILN_PID_T
typedef long pid_t;
#endif

#define WNOHANG 1

#define WIFEXITED(s)   (((s) & 0x7f) == 0)
#define WEXITSTATUS(s) (((s) >> 8) & 0xff)
#define WIFSIGNALED(s) (((s) & 0x7f) != 0)
#define WTERMSIG(s)    ((s) & 0x7f)

/* pid > 0: that child; -1: any child.  options: 0 or WNOHANG.  The reaped
 * child's id, 0 (WNOHANG and none ended), or -1 with errno (ECHILD: no such
 * child; EINVAL: bad pid or options). */
pid_t waitpid(pid_t pid, int *wstatus, int options);

/* waitpid(-1, wstatus, 0). */
pid_t wait(int *wstatus);

#endif
