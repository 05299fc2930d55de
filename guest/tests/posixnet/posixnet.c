/*
 * Sockets of Kiln's POSIX layer, checked from a musl program over a real network: see kiln.toml.
 * Every check prints "ok NAME" or "FAIL NAME: why"; the end is "posixnet echo: PASS" or
 * "posixnet echo: FAIL (n)", and the exit status 0 or 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PORT 7007

static int failures;

#define CHECK(name, cond, ...)                                                \
    do {                                                                      \
        if (cond) {                                                           \
            printf("ok %s\n", name);                                          \
        } else {                                                              \
            failures++;                                                       \
            printf("FAIL %s: ", name);                                        \
            printf(__VA_ARGS__);                                              \
            printf(" (errno %d %s)\n", errno, strerror(errno));              \
        }                                                                     \
    } while (0)

static long served_bytes;
static int served_conns, live_conns;

static void *echo_conn(void *arg)
{
    int fd = (int)(long)arg;
    static __attribute__((unused)) int dummy;
    char buf[8192];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        ssize_t off = 0;
        while (off < n) {
            ssize_t w = write(fd, buf + off, (size_t)(n - off));
            if (w <= 0)
                goto done;
            off += w;
        }
        served_bytes += n;
    }
done:
    close(fd);
    live_conns--;
    return 0;
}

static int parse_peer(int argc, char **argv, struct sockaddr_in *peer)
{
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "peer=", 5) == 0) {
            char host[32];
            const char *colon = strchr(argv[i] + 5, ':');
            if (!colon || colon - (argv[i] + 5) >= (long)sizeof host)
                return -1;
            memcpy(host, argv[i] + 5, (size_t)(colon - (argv[i] + 5)));
            host[colon - (argv[i] + 5)] = 0;
            memset(peer, 0, sizeof *peer);
            peer->sin_family = AF_INET;
            peer->sin_port = htons((unsigned short)atoi(colon + 1));
            return inet_pton(AF_INET, host, &peer->sin_addr) == 1 ? 0 : -1;
        }
    }
    return -1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, 0, _IOLBF, 0);
    struct sockaddr_in peer;
    if (argc < 2 || strcmp(argv[1], "echo") != 0 || parse_peer(argc, argv, &peer) != 0) {
        printf("posixnet: usage: posixnet echo ip=A.B.C.D/PREFIX peer=A.B.C.D:PORT\n");
        return 2;
    }
    CHECK("socket-inet6-eafnosupport", socket(AF_INET6, SOCK_STREAM, 0) == -1 && errno == EAFNOSUPPORT, "AF_INET6");
    CHECK("socket-raw-esocktnosupport", socket(AF_INET, SOCK_RAW, 0) == -1 && errno == ESOCKTNOSUPPORT, "SOCK_RAW");
    CHECK("socket-bad-protocol", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP) == -1 && errno == EPROTONOSUPPORT, "TCP with UDP");

    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    CHECK("socket-tcp", ls >= 0, "socket");
    int one = 1;
    CHECK("setsockopt-reuseaddr", setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0, "SO_REUSEADDR");
    CHECK("setsockopt-nodelay", setsockopt(ls, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0, "TCP_NODELAY");
    CHECK("setsockopt-enoprotoopt", setsockopt(ls, SOL_SOCKET, 9999, &one, sizeof one) == -1 && errno == ENOPROTOOPT, "option 9999");
    CHECK("setsockopt-short-einval", setsockopt(ls, SOL_SOCKET, SO_KEEPALIVE, &one, 2) == -1 && errno == EINVAL, "optlen 2");
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(PORT), .sin_addr.s_addr = htonl(INADDR_ANY) };
    CHECK("bind-tcp", bind(ls, (struct sockaddr *)&a, sizeof a) == 0, "bind");
    CHECK("bind-twice-einval", bind(ls, (struct sockaddr *)&a, sizeof a) == -1 && errno == EINVAL, "bind again");
    int ls2 = socket(AF_INET, SOCK_STREAM, 0);
    CHECK("bind-eaddrinuse", bind(ls2, (struct sockaddr *)&a, sizeof a) == -1 && errno == EADDRINUSE, "same port");
    CHECK("bind-short-einval", bind(ls2, (struct sockaddr *)&a, 4) == -1 && errno == EINVAL, "addrlen 4");
    close(ls2);
    CHECK("listen", listen(ls, 16) == 0, "listen");
    struct sockaddr_in got;
    socklen_t gl = sizeof got;
    CHECK("getsockname", getsockname(ls, (struct sockaddr *)&got, &gl) == 0 && ntohs(got.sin_port) == PORT && gl == sizeof got, "port %d", ntohs(got.sin_port));
    int v = 0;
    socklen_t vl = sizeof v;
    CHECK("getsockopt-acceptconn", getsockopt(ls, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl) == 0 && v == 1, "v %d", v);
    vl = sizeof v;
    CHECK("getsockopt-type", getsockopt(ls, SOL_SOCKET, SO_TYPE, &v, &vl) == 0 && v == SOCK_STREAM, "v %d", v);
    CHECK("getpeername-enotconn", getpeername(ls, (struct sockaddr *)&got, &gl) == -1 && errno == ENOTCONN, "listener");
    CHECK("accept-eagain", accept(ls, 0, 0) == -1 && errno == EAGAIN, "non-blocking, nobody");
    char c;
    CHECK("recv-listener-enotconn", recv(ls, &c, 1, 0) == -1 && errno == ENOTCONN, "recv");
    int p[2];
    pipe(p);
    CHECK("bind-pipe-enotsock", bind(p[0], (struct sockaddr *)&a, sizeof a) == -1 && errno == ENOTSOCK, "a pipe");
    CHECK("bind-closed-ebadf", bind(999, (struct sockaddr *)&a, sizeof a) == -1 && errno == EBADF, "fd 999");
    struct stat st;
    CHECK("fstat-socket", fstat(ls, &st) == 0 && S_ISSOCK(st.st_mode), "mode %o", st.st_mode);

    int us = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK("bind-udp", bind(us, (struct sockaddr *)&a, sizeof a) == 0, "bind");
    CHECK("udp-send-edestaddrreq", send(us, "x", 1, 0) == -1 && errno == EDESTADDRREQ, "send unconnected");
    CHECK("udp-recv-dontwait", recv(us, &c, 1, MSG_DONTWAIT) == -1 && errno == EAGAIN, "MSG_DONTWAIT");

    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = ls };
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    ev.data.fd = us;
    epoll_ctl(ep, EPOLL_CTL_ADD, us, &ev);
    printf("posixnet echo: listening on port %d\n", PORT);

    int quit = 0, datagrams = 0;
    while (!quit) {
        struct epoll_event out[8];
        int n = epoll_wait(ep, out, 8, 30000);
        if (n == 0) {
            CHECK("echo-ended-by-quit", 0, "30 s without traffic");
            break;
        }
        for (int i = 0; i < n; i++) {
            if (out[i].data.fd == ls) {
                struct sockaddr_in from;
                socklen_t fl = sizeof from;
                int cfd;
                while ((cfd = accept4(ls, (struct sockaddr *)&from, &fl, SOCK_CLOEXEC)) >= 0) {
                    served_conns++;
                    live_conns++;
                    pthread_t t;
                    pthread_attr_t at;
                    pthread_attr_init(&at);
                    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
                    if (pthread_create(&t, &at, echo_conn, (void *)(long)cfd) != 0) {
                        CHECK("pthread-create-per-connection", 0, "create");
                        close(cfd);
                    }
                }
                if (errno != EAGAIN)
                    CHECK("accept4", 0, "accept4");
            } else {
                char buf[2048];
                struct sockaddr_in from;
                socklen_t fl = sizeof from;
                ssize_t r = recvfrom(us, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
                if (r == 4 && memcmp(buf, "quit", 4) == 0) {
                    quit = 1;
                    continue;
                }
                if (r > 0) {
                    datagrams++;
                    sendto(us, buf, (size_t)r, 0, (struct sockaddr *)&from, fl);
                }
            }
        }
    }
    for (int i = 0; i < 100 && live_conns; i++)
        usleep(10000);
    printf("served %d connections, %ld bytes, %d datagrams\n", served_conns, served_bytes, datagrams);
    CHECK("tcp-echo-served", served_conns >= 3 && served_bytes >= 3 * 1048576 && live_conns == 0, "conns %d bytes %ld live %d", served_conns, served_bytes, live_conns);
    CHECK("udp-echo-served", datagrams >= 5, "datagrams %d", datagrams);

    /* out: a blocking connect to the host, request and answer */
    int cs = socket(AF_INET, SOCK_STREAM, 0);
    CHECK("connect", connect(cs, (struct sockaddr *)&peer, sizeof peer) == 0, "connect to the host");
    gl = sizeof got;
    CHECK("getpeername", getpeername(cs, (struct sockaddr *)&got, &gl) == 0 && got.sin_port == peer.sin_port && got.sin_addr.s_addr == peer.sin_addr.s_addr, "peer");
    gl = sizeof got;
    CHECK("getsockname-connected", getsockname(cs, (struct sockaddr *)&got, &gl) == 0 && ntohs(got.sin_port) >= 1024, "local port %d", ntohs(got.sin_port));
    const char *hello = "hello from guest\n";
    struct iovec iov[2] = { { (void *)hello, 6 }, { (void *)(hello + 6), strlen(hello) - 6 } };
    struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
    CHECK("sendmsg", sendmsg(cs, &m, 0) == (ssize_t)strlen(hello), "sendmsg");
    char reply[64] = { 0 };
    size_t have = 0;
    while (have < sizeof reply - 1 && !strchr(reply, '\n')) {
        struct iovec riov = { reply + have, sizeof reply - 1 - have };
        struct msghdr rm = { .msg_iov = &riov, .msg_iovlen = 1 };
        ssize_t r = recvmsg(cs, &rm, 0);
        if (r <= 0)
            break;
        have += (size_t)r;
    }
    CHECK("recvmsg-reply", strcmp(reply, "hello guest\n") == 0, "got '%s'", reply);
    CHECK("shutdown-wr", shutdown(cs, SHUT_WR) == 0, "shutdown");
    CHECK("recv-eof", recv(cs, reply, sizeof reply, 0) == 0, "EOF after the host closes");
    CHECK("shutdown-einval", shutdown(cs, 7) == -1 && errno == EINVAL, "how 7");
    close(cs);

    /* a non-blocking connect to a closed port: EINPROGRESS, then POLLOUT|POLLERR and SO_ERROR */
    struct sockaddr_in closed = peer;
    closed.sin_port = htons(1);
    int ns = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int rc = connect(ns, (struct sockaddr *)&closed, sizeof closed);
    CHECK("connect-einprogress", rc == -1 && errno == EINPROGRESS, "rc %d", rc);
    struct pollfd pf = { ns, POLLOUT, 0 };
    int pr = poll(&pf, 1, 5000);
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(ns, SOL_SOCKET, SO_ERROR, &err, &el);
    CHECK("connect-refused-so_error", pr == 1 && (pf.revents & POLLOUT) && err == ECONNREFUSED, "poll %d revents %x SO_ERROR %d", pr, pf.revents, err);
    close(ns);

    if (failures) {
        printf("posixnet echo: FAIL (%d)\n", failures);
        return 1;
    }
    printf("posixnet echo: PASS\n");
    return 0;
}
