/*
 * The host baseline for the httpreply benchmark: a Linux process answering the same fixed page
 * with HTTP/1.1 keep-alive, one epoll loop, like the unikernel's event loop.
 * Usage: host_httpreply ADDR PORT
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char page[] =
    "<!doctype html>\n<html><head><title>Kiln</title></head>\n"
    "<body><h1>Hello from a Kiln unikernel</h1><p>httpreply answered.</p></body></html>\n";

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s ADDR PORT\n", argv[0]);
        return 2;
    }
    char head[256];
    int hl = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nServer: host-httpreply\r\nContent-Type: text/html\r\n"
                      "Content-Length: %zu\r\nConnection: keep-alive\r\n\r\n", sizeof page - 1);
    char resp[1024];
    memcpy(resp, head, (size_t)hl);
    memcpy(resp + hl, page, sizeof page - 1);
    size_t rl = (size_t)hl + sizeof page - 1;

    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2])) };
    inet_pton(AF_INET, argv[1], &a.sin_addr);
    if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 512)) {
        perror("bind/listen");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = l };
    epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
    printf("host_httpreply: listening on %s:%s\n", argv[1], argv[2]);
    fflush(stdout);
    struct epoll_event evs[64];
    char buf[8192];
    for (;;) {
        int n = epoll_wait(ep, evs, 64, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == l) {
                int c = accept(l, NULL, NULL);
                if (c >= 0) {
                    struct epoll_event ce = { .events = EPOLLIN, .data.fd = c };
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
                }
                continue;
            }
            ssize_t k = read(fd, buf, sizeof buf);
            if (k <= 0) {
                close(fd);
                continue;
            }
            /* Count complete requests (wrk sends one at a time per connection unless pipelining). */
            for (ssize_t j = 3; j < k; j++)
                if (buf[j] == '\n' && buf[j - 1] == '\r' && buf[j - 2] == '\n' && buf[j - 3] == '\r')
                    if (write(fd, resp, rl) < 0)
                        break;
        }
    }
}
