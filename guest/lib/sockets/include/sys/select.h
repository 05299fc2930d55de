#ifndef KILN_SYS_SELECT_H
#define KILN_SYS_SELECT_H

#include <stdint.h>

#ifndef FD_SETSIZE
#define FD_SETSIZE 1024
#endif

typedef struct {
    uint64_t bits[FD_SETSIZE / 64];
} fd_set;

#define FD_ZERO(s)     __builtin_memset((s), 0, sizeof(fd_set))
#define FD_SET(fd, s)  ((s)->bits[(unsigned)(fd) / 64] |= 1ull << ((unsigned)(fd) % 64))
#define FD_CLR(fd, s)  ((s)->bits[(unsigned)(fd) / 64] &= ~(1ull << ((unsigned)(fd) % 64)))
#define FD_ISSET(fd, s) (((s)->bits[(unsigned)(fd) / 64] >> ((unsigned)(fd) % 64)) & 1)

struct timeval {
    long tv_sec;
    long tv_usec;
};

/* Waits until a socket in the sets is ready or the timeout passes (NULL: forever); blocks this
 * thread only. Returns the number of ready sockets, with the sets narrowed to them; -1 with errno
 * EBADF or EINVAL. */
int select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds, struct timeval *timeout);

#endif
