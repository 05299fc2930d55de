/* posix-poll's shared helpers: one descriptor's readiness, deadlines, the signal mask of the p-calls. */
#ifndef POSIX_POLL_READY_H
#define POSIX_POLL_READY_H

#include <kiln/vfs.h>

/* The events of `events` ready on fd, plus POLLERR/POLLHUP; POLLNVAL for a bad fd. */
int kiln_fd_ready(int fd, int events);
/* A vnode's readiness: its poll op, or (a file) always readable and writable. */
int kiln_node_ready(struct vnode n, int events);
/* Monotonic deadline after ns nanoseconds (saturating). */
unsigned long long kiln_deadline_after(unsigned long long ns);
/* ppoll/pselect6/epoll_pwait: install *mask for the call (saved in *old); 0 or -EINVAL. */
int kiln_mask_swap(const unsigned long *mask, unsigned long size, unsigned long *old, int *swapped);
void kiln_mask_restore(unsigned long old, int swapped);

#endif
