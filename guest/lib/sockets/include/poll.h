#ifndef KILN_POLL_H
#define KILN_POLL_H

#define POLLIN   0x001
#define POLLOUT  0x004
#define POLLERR  0x008
#define POLLHUP  0x010
#define POLLNVAL 0x020

typedef unsigned long nfds_t;

struct pollfd {
    int fd;
    short events;
    short revents;
};

/* Waits until a socket is ready or timeout_ms passes (-1: forever); blocks this thread only. */
int poll(struct pollfd *fds, nfds_t n, int timeout_ms);

#endif
