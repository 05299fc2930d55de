/*
 * BSD sockets for POSIX programs: AF_INET TCP and UDP over Kiln's TCP/IP stack (guest/lib/net),
 * as descriptors of posix-vfs's fd table (vnodes of the "sockfs" pseudo file system), so read,
 * write, close, fcntl(O_NONBLOCK), poll, select and epoll work on them as on Linux.
 *
 * The stack is event driven and never blocks.  Calls that must wait (accept, connect, recv,
 * send into a full buffer) block the calling thread on posix-thread's scheduler; the scheduler's
 * I/O hook runs the stack (net_poll) whenever the platform's POLL hypercall reports input or
 * the stack's next timer is due, then wakes every waiter to check again.  O_NONBLOCK (socket's
 * SOCK_NONBLOCK, accept4's, fcntl) and MSG_DONTWAIT answer EAGAIN instead; a non-blocking
 * connect answers EINPROGRESS and reports its outcome through POLLOUT and SO_ERROR (connect(2)).
 *
 * Network configuration (the interface comes up at the first socket()): a musl program owns its
 * argv, so the address comes, first found wins, from
 *   1. the environment variable KILN_NET ("ip=10.0.0.2/24 gw=10.0.0.1"), for a program or
 *      wrapper that sets it before its first socket;
 *   2. the ip=A.B.C.D/PREFIX [gw=A.B.C.D] words of the instance's command line -- the same words
 *      Kiln's own network guests take (httpreply) -- read from the platform's command line; the
 *      program sees them in argv too and should ignore them;
 *   3. the image's option POSIX_SOCKET_NET.
 * Without any, or without the NET_BASIC device POSIX_SOCKET_DEVICE, socket() fails with
 * ENETDOWN after one message naming what to give.
 *
 * Not supported (answered as named): AF_INET6 and AF_UNIX (EAFNOSUPPORT), raw sockets
 * (ESOCKTNOSUPPORT), MSG_PEEK/MSG_OOB (EOPNOTSUPP), choosing the local port of an outgoing TCP
 * connection (the stack picks one), options other than the common ones (ENOPROTOOPT).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
/* not <netinet/tcp.h>: its TCP_LISTEN... macros clash with the stack's enum tcp_state */
#define TCP_NODELAY 1
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <kiln/kthread.h>
#include <kiln/net.h>
#include <kiln/platform.h>
#include <kiln/posix.h>
#include <kiln/vfs.h>

#ifndef CONFIG_POSIX_SOCKET_DEVICE
#define CONFIG_POSIX_SOCKET_DEVICE "service0"
#endif
#ifndef CONFIG_POSIX_SOCKET_NET
#define CONFIG_POSIX_SOCKET_NET ""
#endif
#ifndef CONFIG_POSIX_SOCKET_UDP_QUEUE
#define CONFIG_POSIX_SOCKET_UDP_QUEUE 32
#endif

#define DGRAM_MAX 1472 /* an Ethernet MTU less the IPv4 and UDP headers */
#define EPHEMERAL_FIRST 49152
#define BUF_DEFAULT 16384

struct dgram {
    uint32_t ip;
    uint16_t port;
    uint16_t len;
    unsigned char data[DGRAM_MAX];
};

struct sock {
    int refs;
    int type;                     /* SOCK_STREAM or SOCK_DGRAM */
    uint16_t port;                /* bound local port, host order (0: none) */
    struct tcp_conn *tcp;         /* connected, connecting or listening */
    int listening;
    int connecting;               /* a non-blocking connect in progress */
    int so_error;                 /* pending error for SO_ERROR (positive errno) */
    struct tcp_conn *pending;     /* accepted from the stack by poll before accept asked */
    int udp_bound;
    struct dgram *queue;          /* UDP receive ring */
    unsigned head, count;
    uint32_t peer_ip;             /* UDP connect(): the default destination */
    uint16_t peer_port;
    int rd_shut, wr_shut;
    unsigned long long rcvtimeo, sndtimeo; /* ns, 0 = for ever */
    int reuseaddr, keepalive, nodelay, broadcast;
    int rcvbuf, sndbuf;
    int abortive;                 /* SO_LINGER on with 0 s: close resets */
    struct sock *next;            /* all sockets (port conflicts) */
};

static const struct vfs_ops sock_ops;
static struct sock *all;
static int net_state;             /* 0 not tried, 1 up, -1 failed */
static uint16_t next_ephemeral = EPHEMERAL_FIRST;

/* ---- the stack and the scheduler ----------------------------------------------------------- */

static void io_poll(unsigned long long ready)
{
    (void)ready;
    net_poll(0);
    kiln_io_notify();
}

static unsigned long long io_deadline(void)
{
    return net_next_deadline();
}

/* Runs the stack once from a call that would otherwise answer EAGAIN: input may be waiting. */
static void pump(void)
{
    if (net_state == 1)
        io_poll(0);
}

static int config_from(const char *words, uint32_t *ip, uint32_t *mask, uint32_t *gw)
{
    return words && *words && net_config_from_cmdline(words, ip, mask, gw) == 0;
}

static int net_up(void)
{
    if (net_state)
        return net_state == 1 ? 0 : -ENETDOWN;
    net_state = -1;
    uint32_t ip = 0, mask = 0, gw = 0;
    const char *env = getenv("KILN_NET");
    const char *how = "KILN_NET";
    if (!config_from(env, &ip, &mask, &gw)) {
        how = "the command line";
        if (!config_from(plat_cmdline(), &ip, &mask, &gw)) {
            how = "POSIX_SOCKET_NET";
            if (!config_from(CONFIG_POSIX_SOCKET_NET, &ip, &mask, &gw)) {
                kiln_posix_say("kiln: posix: sockets: no network address: give ip=A.B.C.D/PREFIX [gw=A.B.C.D] on the "
                               "command line, in the environment variable KILN_NET, or as the image's option "
                               "POSIX_SOCKET_NET (ENETDOWN)\n");
                return -ENETDOWN;
            }
        }
    }
    (void)how;
    int rc = net_init(CONFIG_POSIX_SOCKET_DEVICE, ip, mask, gw);
    if (rc != 0) {
        kiln_posix_say("kiln: posix: sockets: no network device '" CONFIG_POSIX_SOCKET_DEVICE
                       "': declare it ([devices] net) and attach it with --net:" CONFIG_POSIX_SOCKET_DEVICE "=TAP (ENETDOWN)\n");
        return -ENETDOWN;
    }
    kiln_thread_set_io(io_poll, io_deadline);
    net_state = 1;
    return 0;
}

/* ---- helpers ---------------------------------------------------------------------------------- */

static struct sock *sock_of(struct vnode n)
{
    return (struct sock *)n.id;
}

/* The socket behind fd: -EBADF for a closed fd, -ENOTSOCK for another kind of descriptor. */
static struct sock *get(int fd, int *flags, long *err)
{
    struct vnode n;
    if (vfs_fd_node(fd, &n, flags) < 0) {
        *err = -EBADF;
        return 0;
    }
    if (n.fs != &sock_ops) {
        *err = -ENOTSOCK;
        return 0;
    }
    return sock_of(n);
}

#define GET(s, fd, flags)                                  \
    long err_ = 0;                                         \
    struct sock *s = get(fd, flags, &err_);                \
    if (!s)                                                \
        return err_

static int addr_in(const void *addr, unsigned len, uint32_t *ip, uint16_t *port)
{
    if (!addr)
        return -EFAULT;
    if (len < sizeof(struct sockaddr_in))
        return -EINVAL;
    const struct sockaddr_in *in = addr;
    if (in->sin_family != AF_INET)
        return -EAFNOSUPPORT;
    *ip = ntohl(in->sin_addr.s_addr);
    *port = ntohs(in->sin_port);
    return 0;
}

/* Writes a sockaddr_in truncated to *len, and sets *len to its full size (accept(2)). */
static void addr_out(void *addr, socklen_t *len, uint32_t ip, uint16_t port)
{
    if (!addr || !len)
        return;
    struct sockaddr_in in;
    memset(&in, 0, sizeof in);
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    in.sin_addr.s_addr = htonl(ip);
    unsigned n = *len < sizeof in ? *len : (unsigned)sizeof in;
    memcpy(addr, &in, n);
    *len = sizeof in;
}

static unsigned long long deadline_in(unsigned long long ns)
{
    return ns ? plat_monotonic_ns() + ns : 0;
}

static void raise_sigpipe(int flags)
{
    if (!(flags & MSG_NOSIGNAL))
        __kiln_syscall(SYS_kill, kiln_posix_pid(), SIGPIPE, 0, 0, 0, 0);
}

static int port_taken(struct sock *self, uint16_t port, int type)
{
    for (struct sock *s = all; s; s = s->next)
        if (s != self && s->type == type && s->port == port)
            return 1;
    return 0;
}

static long udp_bind_port(struct sock *s, uint16_t port);

static uint16_t ephemeral(struct sock *s)
{
    for (int tries = 0; tries < 16384; tries++) {
        uint16_t p = next_ephemeral++;
        if (next_ephemeral < EPHEMERAL_FIRST)
            next_ephemeral = EPHEMERAL_FIRST;
        if (!port_taken(s, p, s->type))
            return p;
    }
    return 0;
}

static void udp_in(void *arg, uint32_t src_ip, uint16_t src_port, uint16_t dst_port, const void *data, size_t len)
{
    (void)dst_port;
    struct sock *s = arg;
    if (s->count == CONFIG_POSIX_SOCKET_UDP_QUEUE || len > DGRAM_MAX || s->rd_shut)
        return; /* full: dropped, as UDP may */
    if (s->peer_port && (src_ip != s->peer_ip || src_port != s->peer_port))
        return; /* a connected UDP socket takes datagrams from its peer only (udp(7)) */
    struct dgram *d = &s->queue[(s->head + s->count) % CONFIG_POSIX_SOCKET_UDP_QUEUE];
    d->ip = src_ip;
    d->port = src_port;
    d->len = (uint16_t)len;
    memcpy(d->data, data, len);
    s->count++;
}

static long udp_bind_port(struct sock *s, uint16_t port)
{
    if (!s->queue) {
        s->queue = malloc(sizeof(struct dgram) * CONFIG_POSIX_SOCKET_UDP_QUEUE);
        if (!s->queue)
            return -ENOBUFS;
    }
    long rc = udp_bind(port, udp_in, s);
    if (rc < 0)
        return rc == -NET_EADDRINUSE ? -EADDRINUSE : rc;
    s->port = port;
    s->udp_bound = 1;
    return 0;
}

/* ---- the vnode: lifetime, readiness, read/write -------------------------------------------- */

static void so_hold(struct vnode n)
{
    sock_of(n)->refs++;
}

static void so_release(struct vnode n)
{
    struct sock *s = sock_of(n);
    if (--s->refs)
        return;
    if (s->pending)
        tcp_abort(s->pending);
    if (s->tcp && (s->abortive || s->listening))
        tcp_abort(s->tcp);
    else if (s->tcp)
        tcp_close(s->tcp);
    if (s->udp_bound)
        udp_unbind(s->port);
    for (struct sock **p = &all; *p; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            break;
        }
    }
    free(s->queue);
    free(s);
    kiln_io_notify();
}

static int so_stat(struct vnode n, struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_mode = S_IFSOCK | 0777;
    st->st_nlink = 1;
    st->st_ino = (unsigned long)sock_of(n) >> 4;
    st->st_blksize = 4096;
    return 0;
}

static long connect_result(struct sock *s);

/* A non-blocking connect that finished: its error (if any) waits for SO_ERROR. */
static void settle(struct sock *s)
{
    if (s->connecting && s->tcp) {
        long r = connect_result(s);
        if (r != -EINPROGRESS && r != 0)
            s->so_error = (int)-r;
    }
}

static int tcp_ready(struct sock *s)
{
    settle(s);
    if (s->so_error && !s->tcp)
        return POLLERR | POLLHUP | POLLIN | POLLOUT; /* a refused connect (connect(2): writable, SO_ERROR) */
    int r = 0;
    if (s->listening) {
        if (!s->pending)
            s->pending = tcp_accept(s->tcp);
        return s->pending ? POLLIN | POLLRDNORM : 0;
    }
    if (!s->tcp)
        return s->connecting ? 0 : POLLOUT | POLLHUP; /* never connected: Linux says POLLOUT|POLLHUP */
    enum tcp_state st = tcp_state(s->tcp);
    if (st == TCP_SYN_SENT || st == TCP_SYN_RCVD)
        return 0;
    if (tcp_error(s->tcp))
        r |= POLLERR;
    if (tcp_recv_avail(s->tcp) || st == TCP_CLOSE_WAIT || st == TCP_CLOSED || st == TCP_LAST_ACK
        || st == TCP_CLOSING || st == TCP_TIME_WAIT || s->rd_shut)
        r |= POLLIN | POLLRDNORM;
    if (st == TCP_CLOSE_WAIT || st == TCP_LAST_ACK || st == TCP_CLOSED || st == TCP_TIME_WAIT || st == TCP_CLOSING)
        r |= POLLRDHUP;
    if (st == TCP_CLOSED || ((st == TCP_TIME_WAIT || st == TCP_LAST_ACK || st == TCP_CLOSING) && s->wr_shut))
        r |= POLLHUP;
    if ((st == TCP_ESTABLISHED || st == TCP_CLOSE_WAIT) && !s->wr_shut && tcp_send_space(s->tcp))
        r |= POLLOUT | POLLWRNORM;
    if (st == TCP_CLOSED || s->wr_shut)
        r |= POLLOUT | POLLWRNORM; /* a write would not block: it fails at once */
    return r;
}

static int so_poll(struct vnode n, int events)
{
    struct sock *s = sock_of(n);
    int r;
    if (s->type == SOCK_DGRAM)
        r = (s->count ? POLLIN | POLLRDNORM : 0) | POLLOUT | POLLWRNORM;
    else
        r = tcp_ready(s);
    return r & (events | POLLERR | POLLHUP);
}

struct io {
    const struct iovec *iov;
    int n;
};

static unsigned long io_len(struct io v)
{
    unsigned long t = 0;
    for (int i = 0; i < v.n; i++)
        t += v.iov[i].iov_len;
    return t;
}

/* Copies from the iovec at offset off into buf (up to len bytes); returns how many. */
static unsigned long io_gather(struct io v, unsigned long off, void *buf, unsigned long len)
{
    unsigned long done = 0;
    for (int i = 0; i < v.n && done < len; i++) {
        unsigned long l = v.iov[i].iov_len;
        if (off >= l) {
            off -= l;
            continue;
        }
        unsigned long c = l - off < len - done ? l - off : len - done;
        memcpy((char *)buf + done, (char *)v.iov[i].iov_base + off, c);
        done += c;
        off = 0;
    }
    return done;
}

static unsigned long io_scatter(struct io v, unsigned long off, const void *buf, unsigned long len)
{
    unsigned long done = 0;
    for (int i = 0; i < v.n && done < len; i++) {
        unsigned long l = v.iov[i].iov_len;
        if (off >= l) {
            off -= l;
            continue;
        }
        unsigned long c = l - off < len - done ? l - off : len - done;
        memcpy((char *)v.iov[i].iov_base + off, (const char *)buf + done, c);
        done += c;
        off = 0;
    }
    return done;
}

static long net_err(long rc)
{
    switch (-rc) {
    case NET_EAGAIN: return -EAGAIN;
    case NET_EPIPE: return -EPIPE;
    case NET_ECONNRESET: return -ECONNRESET;
    case NET_ETIMEDOUT: return -ETIMEDOUT;
    case NET_ECONNREFUSED: return -ECONNREFUSED;
    case NET_ENOTCONN: return -ENOTCONN;
    case NET_ENOMEM: return -ENOBUFS;
    default: return rc < 0 ? rc : -EIO;
    }
}

static long do_send(struct sock *s, struct io v, int flags, int fflags, const void *to, unsigned tolen)
{
    int nonblock = (fflags & O_NONBLOCK) || (flags & MSG_DONTWAIT);
    unsigned long len = io_len(v);
    if (s->type == SOCK_DGRAM) {
        uint32_t ip = s->peer_ip;
        uint16_t port = s->peer_port;
        if (to) {
            int r = addr_in(to, tolen, &ip, &port);
            if (r)
                return r;
        } else if (!s->peer_port) {
            return -EDESTADDRREQ;
        }
        if (s->wr_shut) {
            raise_sigpipe(flags);
            return -EPIPE;
        }
        if (len > DGRAM_MAX)
            return -EMSGSIZE;
        if (!port)
            return -EINVAL;
        if (!s->udp_bound) {
            uint16_t p = ephemeral(s);
            long r = p ? udp_bind_port(s, p) : -EAGAIN;
            if (r)
                return r;
        }
        static unsigned char one[DGRAM_MAX];
        io_gather(v, 0, one, len);
        long n = udp_sendto(s->port, ip, port, one, len);
        return n < 0 ? net_err(n) : n;
    }
    settle(s);
    if (s->connecting) {
        if (nonblock)
            return -EAGAIN;
        while (s->connecting) {
            kiln_wait(&kiln_io_waitq, 0, "send on a connecting socket");
            settle(s);
        }
    }
    if (s->so_error && !s->tcp) {
        int e = s->so_error;
        s->so_error = 0;
        return -e;
    }
    if (to && s->tcp)
        return -EISCONN;
    if (s->listening || !s->tcp)
        return -ENOTCONN;
    unsigned long done = 0;
    unsigned long long deadline = deadline_in(s->sndtimeo);
    static unsigned char chunk[16384];
    while (done < len || len == 0) {
        if (s->wr_shut) {
            raise_sigpipe(flags);
            return done ? (long)done : -EPIPE;
        }
        if (len == 0)
            return 0;
        unsigned long want = len - done < sizeof chunk ? len - done : sizeof chunk;
        io_gather(v, done, chunk, want);
        long n = tcp_send(s->tcp, chunk, want);
        if (n > 0) {
            done += (unsigned long)n;
            pump(); /* let the stack send it now */
            continue;
        }
        if (n != -NET_EAGAIN) {
            long e = net_err(n);
            if (e == -EPIPE || e == -ECONNRESET)
                raise_sigpipe(flags);
            return done ? (long)done : e;
        }
        pump();
        if (tcp_send_space(s->tcp))
            continue;
        if (nonblock)
            return done ? (long)done : -EAGAIN;
        if (!kiln_wait(&kiln_io_waitq, deadline, "send on a TCP socket whose buffer stays full") && deadline)
            return done ? (long)done : -EAGAIN; /* SO_SNDTIMEO ran out (socket(7)) */
    }
    return (long)done;
}

static long do_recv(struct sock *s, struct io v, int flags, int fflags, void *from, socklen_t *fromlen, int *msg_flags)
{
    int nonblock = (fflags & O_NONBLOCK) || (flags & MSG_DONTWAIT);
    unsigned long len = io_len(v);
    unsigned long long deadline = deadline_in(s->rcvtimeo);
    if (flags & (MSG_PEEK | MSG_OOB))
        return -EOPNOTSUPP;
    if (s->type == SOCK_DGRAM) {
        if (!s->udp_bound)
            return nonblock ? -EAGAIN : -EINVAL; /* nothing could ever arrive */
        while (s->count == 0) {
            if (s->rd_shut)
                return 0;
            pump();
            if (s->count)
                break;
            if (nonblock)
                return -EAGAIN;
            if (!kiln_wait(&kiln_io_waitq, deadline, "recv on a UDP socket") && deadline)
                return -EAGAIN;
        }
        struct dgram *d = &s->queue[s->head];
        unsigned long n = io_scatter(v, 0, d->data, d->len);
        if (n < d->len && msg_flags)
            *msg_flags |= MSG_TRUNC; /* the rest of the datagram is discarded (udp(7)) */
        addr_out(from, fromlen, d->ip, d->port);
        s->head = (s->head + 1) % CONFIG_POSIX_SOCKET_UDP_QUEUE;
        s->count--;
        return (flags & MSG_TRUNC) ? d->len : (long)n;
    }
    settle(s);
    if (s->connecting) {
        if (nonblock)
            return -EAGAIN;
        while (s->connecting) {
            kiln_wait(&kiln_io_waitq, 0, "recv on a connecting socket");
            settle(s);
        }
    }
    if (s->so_error && !s->tcp) {
        int e = s->so_error;
        s->so_error = 0;
        return -e;
    }
    if (s->listening || !s->tcp)
        return -ENOTCONN;
    unsigned long done = 0;
    static unsigned char chunk[16384];
    for (;;) {
        if (s->rd_shut)
            return (long)done;
        if (!s->tcp)
            return -ENOTCONN;
        if (len == 0)
            return 0;
        unsigned long want = len - done < sizeof chunk ? len - done : sizeof chunk;
        long n = tcp_recv(s->tcp, chunk, want);
        if (n > 0) {
            io_scatter(v, done, chunk, (unsigned long)n);
            done += (unsigned long)n;
            kiln_io_notify(); /* the window opened: senders and pollers look again */
            if (!(flags & MSG_WAITALL) || done == len)
                break;
            continue;
        }
        if (n == 0)
            break; /* end of stream */
        if (n != -NET_EAGAIN)
            return done ? (long)done : net_err(n);
        pump();
        if (tcp_recv_avail(s->tcp) || tcp_state(s->tcp) != TCP_ESTABLISHED)
            continue;
        if (done && !(flags & MSG_WAITALL))
            break;
        if (nonblock)
            return done ? (long)done : -EAGAIN;
        if (!kiln_wait(&kiln_io_waitq, deadline, "recv on a TCP socket") && deadline)
            return done ? (long)done : -EAGAIN; /* SO_RCVTIMEO ran out (socket(7)) */
    }
    if (from) {
        uint32_t ip;
        uint16_t port;
        tcp_peer(s->tcp, &ip, &port);
        addr_out(from, fromlen, ip, port);
    }
    return (long)done;
}

static long so_read(struct vnode n, void *buf, unsigned long len, int flags)
{
    struct iovec iov = { buf, len };
    return do_recv(sock_of(n), (struct io){ &iov, 1 }, 0, flags, 0, 0, 0);
}

static long so_write(struct vnode n, const void *buf, unsigned long len, int flags)
{
    struct iovec iov = { (void *)buf, len };
    return do_send(sock_of(n), (struct io){ &iov, 1 }, 0, flags, 0, 0);
}

static int so_ioctl(struct vnode n, unsigned long req, void *arg)
{
    struct sock *s = sock_of(n);
    if (req == FIONREAD) {
        pump();
        if (s->type == SOCK_DGRAM)
            *(int *)arg = s->count ? s->queue[s->head].len : 0;
        else if (s->listening)
            return -EINVAL;
        else
            *(int *)arg = s->tcp ? (int)tcp_recv_avail(s->tcp) : 0;
        return 0;
    }
    return -ENOTTY;
}

static const struct vfs_ops sock_ops = {
    .name = "sockfs",
    .stat = so_stat,
    .hold = so_hold,
    .release = so_release,
    .is_stream = 1,
    .poll = so_poll,
    .stream_read = so_read,
    .stream_write = so_write,
    .ioctl = so_ioctl,
};

/* ---- the calls --------------------------------------------------------------------------------- */

static long new_sock(int type, int nonblock, int cloexec, struct sock **out)
{
    struct sock *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOBUFS;
    s->type = type;
    s->rcvbuf = s->sndbuf = BUF_DEFAULT;
    s->refs = 1;
    s->next = all;
    all = s;
    struct vnode n = { &sock_ops, (unsigned long)s };
    long fd = vfs_fd_open(n, O_RDWR | (nonblock ? O_NONBLOCK : 0), cloexec);
    if (fd >= 0 && out)
        *out = s;
    so_release(n);
    return fd;
}

KILN_SYSCALL3(socket, int, domain, int, type, int, protocol)
{
    int kind = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (domain != AF_INET)
        return -EAFNOSUPPORT;
    if (kind != SOCK_STREAM && kind != SOCK_DGRAM)
        return -ESOCKTNOSUPPORT;
    if (protocol != 0 && protocol != (kind == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP))
        return -EPROTONOSUPPORT;
    int r = net_up();
    if (r)
        return r;
    return new_sock(kind, type & SOCK_NONBLOCK, (type & SOCK_CLOEXEC) != 0, 0);
}

KILN_SYSCALL4(socketpair, int, domain, int, type, int, protocol, int *, sv)
{
    (void)type;
    (void)protocol;
    (void)sv;
    /* Linux: AF_INET has no pairs (EOPNOTSUPP); AF_UNIX is not supported here */
    return domain == AF_INET ? -EOPNOTSUPP : -EAFNOSUPPORT;
}

KILN_SYSCALL3(bind, int, fd, const struct sockaddr *, addr, socklen_t, len)
{
    GET(s, fd, 0);
    uint32_t ip;
    uint16_t port;
    int r = addr_in(addr, len, &ip, &port);
    if (r)
        return r;
    if (ip != INADDR_ANY && ip != net_get_ip())
        return -EADDRNOTAVAIL;
    if (s->port || s->tcp)
        return -EINVAL; /* already bound */
    if (!port && !(port = ephemeral(s)))
        return -EADDRINUSE;
    if (s->type == SOCK_DGRAM)
        return udp_bind_port(s, port);
    if (port_taken(s, port, SOCK_STREAM))
        return -EADDRINUSE;
    s->port = port;
    return 0;
}

KILN_SYSCALL2(listen, int, fd, int, backlog)
{
    GET(s, fd, 0);
    if (s->type != SOCK_STREAM)
        return -EOPNOTSUPP;
    if (s->listening)
        return 0;
    if (s->tcp)
        return -EINVAL; /* connected */
    if (!s->port && !(s->port = ephemeral(s)))
        return -EADDRINUSE; /* Linux binds an unbound socket to an ephemeral port */
    if (backlog < 1)
        backlog = 1;
    if (backlog > 4096)
        backlog = 4096;
    s->tcp = tcp_listen(s->port, backlog);
    if (!s->tcp)
        return -EADDRINUSE;
    s->listening = 1;
    return 0;
}

KILN_SYSCALL4(accept4, int, fd, struct sockaddr *, addr, socklen_t *, len, int, flags)
{
    int fflags;
    GET(s, fd, &fflags);
    if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
        return -EINVAL;
    if (!s->listening)
        return -EINVAL;
    if (addr && !len)
        return -EFAULT;
    for (;;) {
        struct tcp_conn *c = s->pending ? s->pending : tcp_accept(s->tcp);
        s->pending = 0;
        if (c) {
            struct sock *ns;
            long nfd = new_sock(SOCK_STREAM, flags & SOCK_NONBLOCK, (flags & SOCK_CLOEXEC) != 0, &ns);
            if (nfd < 0) {
                tcp_abort(c);
                return nfd;
            }
            ns->tcp = c;
            ns->port = s->port;
            ns->nodelay = s->nodelay;
            uint32_t ip;
            uint16_t port;
            tcp_peer(c, &ip, &port);
            addr_out(addr, len, ip, port);
            return nfd;
        }
        pump();
        if (s->pending || (s->pending = tcp_accept(s->tcp)))
            continue;
        if (fflags & O_NONBLOCK)
            return -EAGAIN;
        kiln_wait(&kiln_io_waitq, deadline_in(s->rcvtimeo), "accept on a listening socket");
        if (s->rcvtimeo && !s->pending && !(s->pending = tcp_accept(s->tcp)))
            return -EAGAIN;
    }
}

KILN_SYSCALL3(accept, int, fd, struct sockaddr *, addr, socklen_t *, len)
{
    return accept4_impl(fd, addr, len, 0);
}

static long connect_result(struct sock *s)
{
    enum tcp_state st = tcp_state(s->tcp);
    if (st == TCP_ESTABLISHED || st == TCP_CLOSE_WAIT) {
        s->connecting = 0;
        return 0;
    }
    if (st == TCP_CLOSED) {
        int e = tcp_error(s->tcp);
        tcp_close(s->tcp);
        s->tcp = 0;
        s->connecting = 0;
        return e ? net_err(e) : -ECONNREFUSED;
    }
    return -EINPROGRESS;
}

KILN_SYSCALL3(connect, int, fd, const struct sockaddr *, addr, socklen_t, len)
{
    int fflags;
    GET(s, fd, &fflags);
    if (s->type == SOCK_DGRAM) {
        if (addr && len >= sizeof(sa_family_t) && ((const struct sockaddr *)addr)->sa_family == AF_UNSPEC) {
            s->peer_ip = 0; /* dissolve the association (connect(2)) */
            s->peer_port = 0;
            return 0;
        }
        uint32_t ip;
        uint16_t port;
        int r = addr_in(addr, len, &ip, &port);
        if (r)
            return r;
        if (!s->udp_bound) {
            uint16_t p = ephemeral(s);
            long b = p ? udp_bind_port(s, p) : -EAGAIN;
            if (b)
                return b;
        }
        s->peer_ip = ip;
        s->peer_port = port;
        return 0;
    }
    uint32_t ip;
    uint16_t port;
    int r = addr_in(addr, len, &ip, &port);
    if (r)
        return r;
    if (s->listening)
        return -EISCONN;
    settle(s);
    if (s->connecting)
        return -EALREADY;
    if (s->tcp)
        return -EISCONN;
    if (!port || !ip)
        return -ECONNREFUSED;
    s->tcp = tcp_connect(ip, port);
    if (!s->tcp)
        return -EAGAIN; /* no connection slot (Linux: no free local port) */
    s->connecting = 1;
    pump();
    /* Non-blocking: EINPROGRESS even when the answer came back during the
     * pump (a monitor that serves the ring inside POLL sends the SYN there,
     * and a host's RST can be back before it returns), as Linux answers
     * once its SYN is out; the outcome waits for POLLOUT and SO_ERROR. */
    if (fflags & O_NONBLOCK)
        return -EINPROGRESS;
    for (;;) {
        long res = connect_result(s);
        if (res != -EINPROGRESS)
            return res;
        kiln_wait(&kiln_io_waitq, 0, "connect");
    }
}

KILN_SYSCALL6(sendto, int, fd, const void *, buf, unsigned long, len, int, flags, const struct sockaddr *, to, socklen_t, tolen)
{
    int fflags;
    GET(s, fd, &fflags);
    if (len && !buf)
        return -EFAULT;
    struct iovec iov = { (void *)buf, len };
    return do_send(s, (struct io){ &iov, 1 }, flags, fflags, to, tolen);
}

KILN_SYSCALL6(recvfrom, int, fd, void *, buf, unsigned long, len, int, flags, struct sockaddr *, from, socklen_t *, fromlen)
{
    int fflags;
    GET(s, fd, &fflags);
    if (len && !buf)
        return -EFAULT;
    if (from && !fromlen)
        return -EFAULT;
    struct iovec iov = { buf, len };
    return do_recv(s, (struct io){ &iov, 1 }, flags, fflags, from, fromlen, 0);
}

KILN_SYSCALL3(sendmsg, int, fd, const struct msghdr *, m, int, flags)
{
    int fflags;
    GET(s, fd, &fflags);
    if (!m)
        return -EFAULT;
    if (m->msg_iovlen > 1024)
        return -EMSGSIZE;
    return do_send(s, (struct io){ m->msg_iov, (int)m->msg_iovlen }, flags, fflags, m->msg_name, m->msg_namelen);
}

KILN_SYSCALL3(recvmsg, int, fd, struct msghdr *, m, int, flags)
{
    int fflags;
    GET(s, fd, &fflags);
    if (!m)
        return -EFAULT;
    if (m->msg_iovlen > 1024)
        return -EMSGSIZE;
    int mf = 0;
    socklen_t nl = m->msg_namelen;
    long r = do_recv(s, (struct io){ m->msg_iov, (int)m->msg_iovlen }, flags, fflags, m->msg_name, m->msg_name ? &nl : 0, &mf);
    if (r >= 0) {
        m->msg_namelen = m->msg_name ? nl : 0;
        m->msg_flags = mf;
        m->msg_controllen = 0; /* no ancillary data */
    }
    return r;
}

KILN_SYSCALL2(shutdown, int, fd, int, how)
{
    GET(s, fd, 0);
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
        return -EINVAL;
    if (s->type == SOCK_STREAM && (!s->tcp || s->listening))
        return -ENOTCONN;
    if (s->type == SOCK_DGRAM && !s->peer_port)
        return -ENOTCONN;
    if (how != SHUT_RD && !s->wr_shut) {
        s->wr_shut = 1;
        if (s->tcp)
            tcp_shutdown(s->tcp); /* FIN after the queued data */
    }
    if (how != SHUT_WR)
        s->rd_shut = 1; /* receives see end of stream, a blocked one wakes (Linux) */
    pump();
    kiln_io_notify();
    return 0;
}

KILN_SYSCALL3(getsockname, int, fd, struct sockaddr *, addr, socklen_t *, len)
{
    GET(s, fd, 0);
    if (!addr || !len)
        return -EFAULT;
    uint16_t port = s->port;
    if (s->tcp && !s->listening)
        port = tcp_local_port(s->tcp);
    uint32_t ip = (s->tcp && !s->listening) || s->peer_port ? net_get_ip() : 0;
    addr_out(addr, len, ip, port);
    return 0;
}

KILN_SYSCALL3(getpeername, int, fd, struct sockaddr *, addr, socklen_t *, len)
{
    GET(s, fd, 0);
    if (!addr || !len)
        return -EFAULT;
    uint32_t ip = s->peer_ip;
    uint16_t port = s->peer_port;
    if (s->type == SOCK_STREAM) {
        settle(s);
        if (!s->tcp || s->listening || s->connecting)
            return -ENOTCONN;
        tcp_peer(s->tcp, &ip, &port);
    } else if (!port) {
        return -ENOTCONN;
    }
    addr_out(addr, len, ip, port);
    return 0;
}

static int tv_ns(const void *v, socklen_t len, unsigned long long *ns)
{
    const struct timeval *tv = v;
    if (!tv)
        return -EFAULT;
    if (len < sizeof *tv)
        return -EINVAL;
    if (tv->tv_usec < 0 || tv->tv_usec >= 1000000)
        return -EDOM; /* Linux's answer to a bad timeval */
    *ns = tv->tv_sec < 0 ? 0 : (unsigned long long)tv->tv_sec * 1000000000ull + (unsigned long long)tv->tv_usec * 1000ull;
    return 0;
}

KILN_SYSCALL5(setsockopt, int, fd, int, level, int, name, const void *, value, socklen_t, len)
{
    GET(s, fd, 0);
    if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO))
        return tv_ns(value, len, name == SO_RCVTIMEO ? &s->rcvtimeo : &s->sndtimeo);
    if (level == SOL_SOCKET && name == SO_LINGER) {
        const struct linger *l = value;
        if (!l)
            return -EFAULT;
        if (len < sizeof *l)
            return -EINVAL;
        /* only the abortive close is honoured (on, 0 s: RST at close, RFC 9293 3.10.7 ABORT);
         * any other setting closes gracefully in the background */
        s->abortive = l->l_onoff && l->l_linger == 0;
        return 0;
    }
    int *slot = 0;
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_REUSEADDR: slot = &s->reuseaddr; break;
        case SO_REUSEPORT: slot = &s->reuseaddr; break;
        case SO_KEEPALIVE: slot = &s->keepalive; break;
        case SO_BROADCAST: slot = &s->broadcast; break;
        case SO_RCVBUF: slot = &s->rcvbuf; break; /* the stack's buffers are fixed: remembered only */
        case SO_SNDBUF: slot = &s->sndbuf; break;
        default: return -ENOPROTOOPT;
        }
    } else if (level == IPPROTO_TCP && s->type == SOCK_STREAM) {
        if (name != TCP_NODELAY)
            return -ENOPROTOOPT;
        slot = &s->nodelay; /* the stack sends at once anyway (no Nagle delay) */
    } else {
        return -ENOPROTOOPT;
    }
    if (!value)
        return -EFAULT;
    if (len < sizeof(int))
        return -EINVAL;
    int v = *(const int *)value;
    if (slot == &s->rcvbuf || slot == &s->sndbuf)
        *slot = v < 1024 ? 2048 : v * 2; /* Linux doubles the value for its bookkeeping */
    else
        *slot = v != 0;
    return 0;
}

KILN_SYSCALL5(getsockopt, int, fd, int, level, int, name, void *, value, socklen_t *, len)
{
    GET(s, fd, 0);
    if (!value || !len)
        return -EFAULT;
    if ((int)*len < 0)
        return -EINVAL;
    if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
        unsigned long long ns = name == SO_RCVTIMEO ? s->rcvtimeo : s->sndtimeo;
        struct timeval tv = { (long)(ns / 1000000000ull), (long)(ns % 1000000000ull / 1000) };
        unsigned n = *len < sizeof tv ? *len : (unsigned)sizeof tv;
        memcpy(value, &tv, n);
        *len = n;
        return 0;
    }
    if (level == SOL_SOCKET && name == SO_LINGER) {
        struct linger l = { s->abortive, 0 };
        unsigned n = *len < sizeof l ? *len : (unsigned)sizeof l;
        memcpy(value, &l, n);
        *len = n;
        return 0;
    }
    int v;
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_TYPE: v = s->type; break;
        case SO_DOMAIN: v = AF_INET; break;
        case SO_PROTOCOL: v = s->type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP; break;
        case SO_ACCEPTCONN: v = s->listening; break;
        case SO_REUSEADDR: case SO_REUSEPORT: v = s->reuseaddr; break;
        case SO_KEEPALIVE: v = s->keepalive; break;
        case SO_BROADCAST: v = s->broadcast; break;
        case SO_RCVBUF: v = s->rcvbuf; break;
        case SO_SNDBUF: v = s->sndbuf; break;
        case SO_ERROR:
            /* the pending error, cleared by reading it; a finished non-blocking connect reports here */
            v = s->so_error;
            s->so_error = 0;
            if (!v && s->connecting) {
                long r = connect_result(s);
                v = r == -EINPROGRESS ? 0 : (int)-r;
            } else if (!v && s->tcp && !s->listening && tcp_error(s->tcp)) {
                v = (int)-net_err(tcp_error(s->tcp));
            }
            break;
        default: return -ENOPROTOOPT;
        }
    } else if (level == IPPROTO_TCP && s->type == SOCK_STREAM) {
        if (name != TCP_NODELAY)
            return -ENOPROTOOPT;
        v = s->nodelay;
    } else {
        return -ENOPROTOOPT;
    }
    unsigned n = *len < sizeof v ? *len : (unsigned)sizeof v;
    memcpy(value, &v, n);
    *len = n;
    return 0;
}
