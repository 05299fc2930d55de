#ifndef KILN_SYS_SOCKET_H
#define KILN_SYS_SOCKET_H

#include <stddef.h>
#include <stdint.h>

typedef uint32_t socklen_t;
typedef uint16_t sa_family_t;
typedef long ssize_t;

#define AF_INET     2
#define PF_INET     AF_INET
#define SOCK_STREAM 1
#define SOCK_DGRAM  2
#define SOCK_NONBLOCK 04000
#define SOL_SOCKET  1
#define SO_REUSEADDR 2
#define SO_ERROR    4
#define SO_LINGER   13
#define SO_RCVTIMEO 20          /* a struct timeval (sys/select.h), as on Linux */
#define SHUT_RD     0
#define SHUT_WR     1
#define SHUT_RDWR   2
#define MSG_DONTWAIT 0x40

struct linger {
    int l_onoff;
    int l_linger;               /* seconds; only 0 (reset on close) is honoured */
};

struct sockaddr {
    sa_family_t sa_family;
    char sa_data[14];
};

int socket(int domain, int type, int protocol);
int bind(int fd, const struct sockaddr *addr, socklen_t len);
int listen(int fd, int backlog);
int accept(int fd, struct sockaddr *addr, socklen_t *len);
int connect(int fd, const struct sockaddr *addr, socklen_t len);
ssize_t send(int fd, const void *buf, size_t len, int flags);
ssize_t recv(int fd, void *buf, size_t len, int flags);
ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tolen);
ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *fromlen);
int shutdown(int fd, int how);
int setsockopt(int fd, int level, int name, const void *value, socklen_t len);
int getsockopt(int fd, int level, int name, void *value, socklen_t *len);

#endif
