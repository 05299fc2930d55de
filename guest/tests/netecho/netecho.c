/* netecho ip=A.B.C.D/N: echoes TCP (one thread per connection) and UDP (waiting in select) on port 7. */
#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>
#include <kiln/net.h>
#include <kiln/sched.h>

static void tcp_client(void *arg)
{
    int fd = (int)(long)arg;
    /* One buffer per connection: send() can block with part of it unsent, and another
     * connection's recv() would then write over that part (a shared buffer corrupted
     * parallel echoes). */
    char *buf = malloc(16384);
    if (!buf) {
        close(fd);
        return;
    }
    for (;;) {
        ssize_t n = recv(fd, buf, 16384, 0);
        if (n <= 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t k = send(fd, buf + off, (size_t)(n - off), 0);
            if (k <= 0)
                goto done;
            off += k;
        }
    }
done:
    free(buf);
    close(fd);
}

static void udp_echo(void *arg)
{
    (void)arg;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(7) };
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0)
        return;
    static char buf[2048];
    for (;;) {
        /* select() first (it is what the test drives), then a read that cannot block. */
        fd_set r;
        FD_ZERO(&r);
        FD_SET(fd, &r);
        struct timeval tv = { 1, 0 };
        if (select(fd + 1, &r, NULL, NULL, &tv) <= 0 || !FD_ISSET(fd, &r))
            continue;
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
        if (n >= 0)
            sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
    }
}

int main(const char *cmdline)
{
    uint32_t ip = 0, mask = 0, gw = 0;
    if (net_config_from_cmdline(cmdline, &ip, &mask, &gw) != 0 || net_init("service0", ip, mask, gw) != 0) {
        printf("netecho: needs ip=A.B.C.D/N and --net:service0=TAP\n");
        return 1;
    }
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(7) };
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 64) != 0) {
        printf("netecho: cannot listen\n");
        return 1;
    }
    struct thread *u = thread_create("udp", udp_echo, 0, 16384);
    if (u)
        thread_detach(u);
    printf("netecho: ready\n");
    fflush(stdout);
    for (;;) {
        int fd = accept(l, NULL, NULL);
        if (fd < 0)
            continue;
        struct thread *t = thread_create("tcp", tcp_client, (void *)(long)fd, 16384);
        if (t)
            thread_detach(t);
        else
            close(fd);
    }
}
