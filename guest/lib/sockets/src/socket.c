/*
 * BSD sockets over the event-driven TCP/IP stack (net) and the cooperative scheduler (sched).
 *
 * The stack never blocks; these calls do, but only the calling thread: when an operation would
 * have to wait, the thread sleeps on one wait queue that every network event wakes. Events come
 * from two places: the scheduler's idle loop, which waits in POLL and hands device readiness to
 * our I/O handler, and a small timer thread that runs the stack at its next protocol deadline
 * (retransmissions, delayed ACKs, TIME_WAIT). Both process input with net_poll(0) and wake the
 * queue; each woken thread retries its operation.
 *
 * Descriptors index a fixed table; a bad descriptor, address or length is an error with errno
 * set, never a crash.
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>
#include <kiln/net.h>
#include <kiln/platform.h>
#include <kiln/sched.h>

#ifndef CONFIG_SOCKETS_MAX
#define CONFIG_SOCKETS_MAX 256
#endif
#ifndef CONFIG_SOCKETS_UDP_QUEUE
#define CONFIG_SOCKETS_UDP_QUEUE 16
#endif

#define DGRAM_MAX 1472            /* an Ethernet MTU less IPv4 and UDP headers */
#define EPHEMERAL_FIRST 49152

struct dgram {
    uint32_t ip;
    uint16_t port;
    uint16_t len;
    unsigned char data[DGRAM_MAX];
};

struct sock {
    int used;
    int type;
    int nonblock;
    uint16_t port;                /* bound local port, host order */
    struct tcp_conn *tcp;         /* connected, connecting or listening */
    int listening;
    struct tcp_conn *pending;     /* accepted by poll() before accept() asked */
    int udp_bound;
    struct dgram *queue;          /* UDP receive ring */
    unsigned head, count;
    uint64_t rcvtimeo_ns;         /* SO_RCVTIMEO: how long a blocking receive waits (0: for ever) */
    int rd_shut;                  /* shutdown(SHUT_RD): receives return end of stream at once */
    int abortive;                 /* SO_LINGER on with 0 seconds: close() resets */
};

static struct sock socks[CONFIG_SOCKETS_MAX];
static struct dgram udp_space[4][CONFIG_SOCKETS_UDP_QUEUE];
static int udp_space_used;
static struct waitq net_events;
static int started;
static uint16_t next_ephemeral = EPHEMERAL_FIRST;

static int fail(int e)
{
    errno = e;
    return -1;
}

static void pump(void)
{
    net_poll(0);
    waitq_wake_all(&net_events);
}

static void io_ready(uint64_t ready_set)
{
    (void)ready_set;
    pump();
}

/* Runs the stack at its protocol deadlines; device input arrives through io_ready. */
static void timer_thread(void *arg)
{
    (void)arg;
    for (;;) {
        uint64_t now = sched_now_ns(), next = net_next_deadline();
        thread_sleep_until(next && next < now + 200000000ull ? next : now + 200000000ull);
        pump();
    }
}

static void start(void)
{
    if (started)
        return;
    started = 1;
    waitq_init(&net_events);
    sched_set_io_handler(io_ready);
    struct thread *t = thread_create("net-timer", timer_thread, 0, 8192);
    if (t)
        thread_detach(t);
}

static struct sock *get(int fd)
{
    if (fd < 0 || fd >= CONFIG_SOCKETS_MAX || !socks[fd].used)
        return 0;
    return &socks[fd];
}

/* Waits for the next network event; returns 0 once woken, -1 when the deadline passed. */
static int await(uint64_t deadline_ns)
{
    return waitq_wait(&net_events, deadline_ns) ? 0 : -1;
}

static int sock_error(long rc)
{
    return fail(rc < 0 ? (int)-rc : EIO);
}

int socket(int domain, int type, int protocol)
{
    int kind = type & ~SOCK_NONBLOCK;
    if (domain != AF_INET)
        return fail(EAFNOSUPPORT);
    if (kind != SOCK_STREAM && kind != SOCK_DGRAM)
        return fail(EPROTONOSUPPORT);
    if (protocol != 0 && protocol != (kind == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP))
        return fail(EPROTONOSUPPORT);
    start();
    for (int fd = 0; fd < CONFIG_SOCKETS_MAX; fd++) {
        if (!socks[fd].used) {
            memset(&socks[fd], 0, sizeof socks[fd]);
            socks[fd].used = 1;
            socks[fd].type = kind;
            socks[fd].nonblock = (type & SOCK_NONBLOCK) != 0;
            return fd;
        }
    }
    return fail(EMFILE);
}

static int addr_in(const struct sockaddr *addr, socklen_t len, uint32_t *ip, uint16_t *port)
{
    if (!addr || len < sizeof(struct sockaddr_in))
        return fail(EINVAL);
    const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
    if (in->sin_family != AF_INET)
        return fail(EAFNOSUPPORT);
    *ip = ntohl(in->sin_addr.s_addr);
    *port = ntohs(in->sin_port);
    return 0;
}

static void addr_out(struct sockaddr *addr, socklen_t *len, uint32_t ip, uint16_t port)
{
    if (!addr || !len)
        return;
    struct sockaddr_in in;
    memset(&in, 0, sizeof in);
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    in.sin_addr.s_addr = htonl(ip);
    size_t n = *len < sizeof in ? *len : sizeof in;
    memcpy(addr, &in, n);
    *len = sizeof in;
}

static void udp_in(void *arg, uint32_t src_ip, uint16_t src_port, uint16_t dst_port, const void *data, size_t len)
{
    (void)dst_port;
    struct sock *s = arg;
    if (!s->used || s->count == CONFIG_SOCKETS_UDP_QUEUE || len > DGRAM_MAX)
        return;                               /* full: dropped, as UDP may */
    struct dgram *d = &s->queue[(s->head + s->count) % CONFIG_SOCKETS_UDP_QUEUE];
    d->ip = src_ip;
    d->port = src_port;
    d->len = (uint16_t)len;
    memcpy(d->data, data, len);
    s->count++;
}

static int udp_bind_port(struct sock *s, uint16_t port)
{
    if (!s->queue) {
        if (udp_space_used == (int)(sizeof udp_space / sizeof udp_space[0]))
            return fail(ENOBUFS);
        s->queue = udp_space[udp_space_used++];
    }
    long rc = udp_bind(port, udp_in, s);
    if (rc < 0)
        return sock_error(rc);
    s->port = port;
    s->udp_bound = 1;
    return 0;
}

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    struct sock *s = get(fd);
    uint32_t ip;
    uint16_t port;
    if (!s)
        return fail(EBADF);
    if (addr_in(addr, len, &ip, &port) != 0)
        return -1;
    if (ip != INADDR_ANY && ip != net_get_ip())
        return fail(EADDRNOTAVAIL);
    if (s->port)
        return fail(EINVAL);
    if (s->type == SOCK_DGRAM)
        return udp_bind_port(s, port);
    s->port = port;
    return 0;
}

int listen(int fd, int backlog)
{
    struct sock *s = get(fd);
    if (!s)
        return fail(EBADF);
    if (s->type != SOCK_STREAM || !s->port)
        return fail(s->type != SOCK_STREAM ? EOPNOTSUPP : EDESTADDRREQ);
    if (s->listening)
        return 0;
    s->tcp = tcp_listen(s->port, backlog < 1 ? 1 : backlog);
    if (!s->tcp)
        return fail(EADDRINUSE);
    s->listening = 1;
    return 0;
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    struct sock *s = get(fd);
    if (!s)
        return fail(EBADF);
    if (!s->listening)
        return fail(EINVAL);
    for (;;) {
        struct tcp_conn *c = s->pending ? s->pending : tcp_accept(s->tcp);
        s->pending = 0;
        if (c) {
            int nfd = socket(AF_INET, SOCK_STREAM, 0);
            if (nfd < 0) {
                tcp_abort(c);
                return -1;
            }
            socks[nfd].tcp = c;
            uint32_t ip;
            uint16_t port;
            tcp_peer(c, &ip, &port);
            addr_out(addr, len, ip, port);
            return nfd;
        }
        if (s->nonblock)
            return fail(EAGAIN);
        await(0);
    }
}

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    struct sock *s = get(fd);
    uint32_t ip;
    uint16_t port;
    if (!s)
        return fail(EBADF);
    if (addr_in(addr, len, &ip, &port) != 0)
        return -1;
    if (s->type == SOCK_DGRAM)
        return fail(EOPNOTSUPP);
    if (s->tcp)
        return fail(EISCONN);
    s->tcp = tcp_connect(ip, port);
    if (!s->tcp)
        return fail(ENOBUFS);
    for (;;) {
        enum tcp_state st = tcp_state(s->tcp);
        if (st == TCP_ESTABLISHED || st == TCP_CLOSE_WAIT)
            return 0;
        if (st == TCP_CLOSED) {
            int e = tcp_error(s->tcp);
            tcp_close(s->tcp);
            s->tcp = 0;
            return fail(e ? -e : ECONNREFUSED);
        }
        if (s->nonblock)
            return fail(EINPROGRESS);
        await(0);
    }
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    struct sock *s = get(fd);
    if (!s)
        return fail(EBADF);
    if (s->type != SOCK_STREAM || !s->tcp || s->listening)
        return fail(ENOTCONN);
    if (len == 0)
        return 0;
    for (;;) {
        long n = tcp_send(s->tcp, buf, len);
        if (n > 0)
            return n;
        if (n != -NET_EAGAIN)
            return sock_error(n);
        if (s->nonblock || (flags & MSG_DONTWAIT))
            return fail(EAGAIN);
        await(0);
    }
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    struct sock *s = get(fd);
    if (!s)
        return fail(EBADF);
    if (s->type == SOCK_DGRAM)
        return recvfrom(fd, buf, len, flags, 0, 0);
    if (!s->tcp || s->listening)
        return fail(ENOTCONN);
    uint64_t deadline = s->rcvtimeo_ns ? sched_now_ns() + s->rcvtimeo_ns : 0;
    for (;;) {
        if (s->rd_shut)
            return 0;
        long n = tcp_recv(s->tcp, buf, len);
        if (n >= 0)
            return n;
        if (n != -NET_EAGAIN)
            return sock_error(n);
        if (s->nonblock || (flags & MSG_DONTWAIT))
            return fail(EAGAIN);
        /* SO_RCVTIMEO ran out: EAGAIN, as on Linux (socket(7)) */
        if (await(deadline) != 0 && deadline)
            return fail(EAGAIN);
    }
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tolen)
{
    struct sock *s = get(fd);
    uint32_t ip;
    uint16_t port;
    if (!s)
        return fail(EBADF);
    if (s->type == SOCK_STREAM)
        return to ? fail(EISCONN) : send(fd, buf, len, flags);
    if (addr_in(to, tolen, &ip, &port) != 0)
        return -1;
    if (!s->udp_bound) {
        for (int tries = 0; tries < 16384 && !s->udp_bound; tries++) {
            uint16_t p = next_ephemeral++;
            if (next_ephemeral == 0)
                next_ephemeral = EPHEMERAL_FIRST;
            if (udp_bind_port(s, p) != 0 && errno != EADDRINUSE)
                return -1;
        }
        if (!s->udp_bound)
            return fail(EADDRINUSE);
    }
    long n = udp_sendto(s->port, ip, port, buf, len);
    return n < 0 ? sock_error(n) : n;
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *fromlen)
{
    struct sock *s = get(fd);
    if (!s)
        return fail(EBADF);
    if (s->type == SOCK_STREAM) {
        ssize_t n = recv(fd, buf, len, flags);
        if (n >= 0 && from) {
            uint32_t ip;
            uint16_t port;
            tcp_peer(s->tcp, &ip, &port);
            addr_out(from, fromlen, ip, port);
        }
        return n;
    }
    if (!s->udp_bound)
        return fail(EINVAL);
    while (s->count == 0) {
        if (s->nonblock || (flags & MSG_DONTWAIT))
            return fail(EAGAIN);
        await(0);
    }
    struct dgram *d = &s->queue[s->head];
    size_t n = d->len < len ? d->len : len;      /* the rest of a datagram is discarded */
    memcpy(buf, d->data, n);
    addr_out(from, fromlen, d->ip, d->port);
    s->head = (s->head + 1) % CONFIG_SOCKETS_UDP_QUEUE;
    s->count--;
    return (ssize_t)n;
}

int shutdown(int fd, int how)
{
    struct sock *s = get(fd);
    if (!s)
        return fail(EBADF);
    if (!s->tcp || s->listening)
        return fail(ENOTCONN);
    if (how == SHUT_WR || how == SHUT_RDWR)
        tcp_shutdown(s->tcp);
    if (how == SHUT_RD || how == SHUT_RDWR) {
        /* POSIX: further receives are disallowed; as on Linux a thread blocked in recv() on the
         * socket wakes and sees end of stream, which is how another thread can end a client */
        s->rd_shut = 1;
        waitq_wake_all(&net_events);
    }
    return 0;
}

int setsockopt(int fd, int level, int name, const void *value, socklen_t len)
{
    struct sock *s = get(fd);
    if (!s)
        return fail(EBADF);
    if (level == SOL_SOCKET && name == SO_RCVTIMEO) {
        const struct timeval *tv = value;
        if (!tv || len < sizeof *tv || tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000)
            return fail(EINVAL);
        s->rcvtimeo_ns = (uint64_t)tv->tv_sec * 1000000000ull + (uint64_t)tv->tv_usec * 1000ull;
        return 0;
    }
    if (level == SOL_SOCKET && name == SO_LINGER) {
        /* Only the abortive close is honoured (on, 0 s: close() sends RST and frees the
         * connection at once, RFC 9293 3.10.7 ABORT); any other setting closes gracefully in
         * the background, as close() always does here. */
        const struct linger *l = value;
        if (!l || len < sizeof *l)
            return fail(EINVAL);
        s->abortive = l->l_onoff && l->l_linger == 0;
        return 0;
    }
    return 0;                                  /* accepted and ignored: REUSEADDR, NODELAY... */
}

int getsockopt(int fd, int level, int name, void *value, socklen_t *len)
{
    struct sock *s = get(fd);
    if (!s)
        return fail(EBADF);
    if (level != SOL_SOCKET || name != SO_ERROR || !value || !len || *len < sizeof(int))
        return fail(ENOPROTOOPT);
    *(int *)value = s->tcp ? -tcp_error(s->tcp) : 0;
    *len = sizeof(int);
    return 0;
}

int close(int fd)
{
    struct sock *s = get(fd);
    if (!s)
        return fail(EBADF);
    if (s->pending)
        tcp_abort(s->pending);
    if (s->tcp && s->abortive)
        tcp_abort(s->tcp);
    else if (s->tcp)
        tcp_close(s->tcp);
    if (s->udp_bound)
        udp_unbind(s->port);
    struct dgram *q = s->queue;
    memset(s, 0, sizeof *s);
    s->queue = q;                              /* the ring stays with the slot for reuse */
    return 0;
}

static short ready(struct sock *s, short events)
{
    short r = 0;
    if (s->type == SOCK_DGRAM)
        return (short)((s->count ? POLLIN : 0) | POLLOUT) & (events | POLLERR | POLLHUP);
    if (s->listening) {
        if (!s->pending)
            s->pending = tcp_accept(s->tcp);
        return s->pending ? (short)(POLLIN & events) : 0;
    }
    if (!s->tcp)
        return POLLHUP;
    enum tcp_state st = tcp_state(s->tcp);
    if (tcp_error(s->tcp))
        r |= POLLERR;
    if (tcp_recv_avail(s->tcp) || st == TCP_CLOSE_WAIT || st == TCP_CLOSED || st == TCP_LAST_ACK)
        r |= POLLIN;
    if (st == TCP_CLOSED)
        r |= POLLHUP;
    if ((st == TCP_ESTABLISHED || st == TCP_CLOSE_WAIT) && tcp_send_space(s->tcp))
        r |= POLLOUT;
    return (short)(r & (events | POLLERR | POLLHUP));
}

int poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
    uint64_t deadline = timeout_ms > 0 ? sched_now_ns() + (uint64_t)timeout_ms * 1000000ull : 0;
    for (;;) {
        int count = 0;
        for (nfds_t i = 0; i < n; i++) {
            struct sock *s = get(fds[i].fd);
            fds[i].revents = fds[i].fd < 0 ? 0 : s ? ready(s, fds[i].events) : POLLNVAL;
            if (fds[i].revents)
                count++;
        }
        if (count || timeout_ms == 0)
            return count;
        if (await(deadline) != 0 && timeout_ms > 0)
            return 0;
    }
}

int select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds, struct timeval *timeout)
{
    if (nfds < 0 || nfds > FD_SETSIZE || (timeout && (timeout->tv_sec < 0 || timeout->tv_usec < 0)))
        return fail(EINVAL);
    uint64_t deadline = 0;
    if (timeout)
        deadline = sched_now_ns() + (uint64_t)timeout->tv_sec * 1000000000ull + (uint64_t)timeout->tv_usec * 1000ull;
    for (int fd = 0; fd < nfds; fd++) {
        int asked = (readfds && FD_ISSET(fd, readfds)) || (writefds && FD_ISSET(fd, writefds))
                    || (exceptfds && FD_ISSET(fd, exceptfds));
        if (asked && !get(fd))
            return fail(EBADF);
    }
    for (;;) {
        int count = 0;
        fd_set r, w, e;
        FD_ZERO(&r);
        FD_ZERO(&w);
        FD_ZERO(&e);
        for (int fd = 0; fd < nfds; fd++) {
            struct sock *s = get(fd);
            if (!s)
                continue;
            short want = (short)((readfds && FD_ISSET(fd, readfds) ? POLLIN : 0)
                                 | (writefds && FD_ISSET(fd, writefds) ? POLLOUT : 0));
            short got = ready(s, want);
            if ((got & (POLLIN | POLLHUP | POLLERR)) && readfds && FD_ISSET(fd, readfds)) {
                FD_SET(fd, &r);
                count++;
            }
            if ((got & POLLOUT) && writefds && FD_ISSET(fd, writefds)) {
                FD_SET(fd, &w);
                count++;
            }
            if ((got & POLLERR) && exceptfds && FD_ISSET(fd, exceptfds)) {
                FD_SET(fd, &e);
                count++;
            }
        }
        int expired = timeout && (deadline == 0 || sched_now_ns() >= deadline);
        if (count || expired || (timeout && timeout->tv_sec == 0 && timeout->tv_usec == 0)) {
            if (readfds)
                *readfds = r;
            if (writefds)
                *writefds = w;
            if (exceptfds)
                *exceptfds = e;
            return count;
        }
        await(deadline);
    }
}

int inet_pton4(const char *text, struct in_addr *out)
{
    uint32_t ip;
    const char *end;
    if (net_parse_ip(text, &ip, &end) != 0 || *end != '\0')
        return 0;
    out->s_addr = htonl(ip);
    return 1;
}
