/*
 * Processes, unikernel style: an instance is a process; fork() makes a
 * child instance with a copy-on-write copy of this one's memory (Kiln's FORK
 * hypercall, docs/kiln-abi.md 1.1).  Needs Kiln's monitor: elsewhere fork()
 * fails with ENOSYS.
 */
#ifndef _KILN_UNISTD_H
#define _KILN_UNISTD_H

#ifndef _KILN_PID_T
#define _KILN_PID_T
typedef long pid_t;
#endif

/* The child's id in the parent, 0 in the child; -1 with errno set
 * (ENOMEM over the monitor's memory budget, EOPNOTSUPP with devices
 * attached, EAGAIN too many children, ENOSYS not on Kiln). */
pid_t fork(void);

/* This instance's id in its monitor (1 when not on Kiln). */
pid_t getpid(void);

/* The forking parent's id, 0 if none. */
pid_t getppid(void);

#endif
