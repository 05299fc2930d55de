/*
 * httpreply: answers every HTTP/1.1 GET or HEAD on port 80 with one fixed page, keeping
 * connections alive as HTTP/1.1 asks. Requests are untrusted: a malformed request line gets 400,
 * a header block larger than the buffer 431, another method 405, and the connection is closed;
 * nothing a client sends can make the server read or write outside its buffers.
 *
 * It runs as one event loop on the stack's non-blocking API: wait in net_poll (the POLL
 * hypercall), accept, read, answer, repeat.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <kiln/net.h>
#include <kiln/platform.h>

#define PORT 80
#define MAX_CLIENTS 128
#define REQ_MAX 4096

static const char page[] =
    "<!doctype html>\n<html><head><title>Kiln</title></head>\n"
    "<body><h1>Hello from a Kiln unikernel</h1><p>httpreply answered.</p></body></html>\n";

struct client {
    struct tcp_conn *conn;
    size_t used;
    int closing;
    char req[REQ_MAX];
};

static struct client clients[MAX_CLIENTS];
/* The whole kept-alive 200 response, header and page, formatted once: one tcp_send, so one
 * segment per response (as the host server's one write), not a header segment and a page one. */
static char resp_ok[256 + sizeof page];
static size_t resp_ok_len;
static unsigned long long served;

/*
 * Sends one response: the page (for HEAD without its body) or a short error text, then shuts the
 * connection down unless it is kept alive. The common case, a kept-alive GET, sends a header
 * formatted once at start-up.
 */
static void respond(struct client *c, const char *status, int page_response, int head_only, int keep)
{
    if (page_response && keep && !head_only) {
        tcp_send(c->conn, resp_ok, resp_ok_len);
        served++;
        return;
    }
    const char *text = page_response ? page : status;
    size_t len = page_response ? sizeof page - 1 : strlen(status);
    char head[256];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %s\r\nServer: kiln-httpreply\r\nContent-Type: text/%s\r\n"
                     "Content-Length: %zu\r\nConnection: %s\r\n\r\n", status, page_response ? "html" : "plain",
                     len, keep ? "keep-alive" : "close");
    tcp_send(c->conn, head, (size_t)n);
    if (!head_only)
        tcp_send(c->conn, text, len);
    if (page_response)
        served++;
    if (!keep) {
        c->closing = 1;
        tcp_shutdown(c->conn);
    }
}

/* Case-insensitive search for a header value inside the header block [p, end). */
static int has_token(const char *p, const char *end, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    for (const char *line = p; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol)
            eol = end;
        if ((size_t)(eol - line) > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            for (const char *v = line + nl + 1; v + vl <= eol; v++)
                if (strncasecmp(v, value, vl) == 0)
                    return 1;
        }
        line = eol + 1;
    }
    return 0;
}

/* Answers every complete request in the buffer; a bad one closes the connection. */
static void serve(struct client *c)
{
    for (;;) {
        char *end = NULL;
        for (size_t i = 3; i < c->used; i++) {
            if (c->req[i] == '\n' && c->req[i - 1] == '\r' && c->req[i - 2] == '\n' && c->req[i - 3] == '\r') {
                end = c->req + i + 1;
                break;
            }
        }
        if (!end) {
            if (c->used == REQ_MAX)
                respond(c, "431 Request Header Fields Too Large", 0, 0, 0);
            return;
        }
        char *sp1 = memchr(c->req, ' ', (size_t)(end - c->req));
        char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1)) : NULL;
        char *eol = memchr(c->req, '\r', (size_t)(end - c->req));
        if (!sp1 || !sp2 || !eol || sp2 > eol || sp1 == c->req || sp2 == sp1 + 1 || sp1[1] != '/'
            || eol - sp2 - 1 != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0) {
            respond(c, "400 Bad Request", 0, 0, 0);
            return;
        }
        int http10 = sp2[8] == '0';
        int keep = http10 ? has_token(eol, end, "Connection", "keep-alive") : !has_token(eol, end, "Connection", "close");
        size_t mlen = (size_t)(sp1 - c->req);
        if (mlen == 3 && memcmp(c->req, "GET", 3) == 0)
            respond(c, "200 OK", 1, 0, keep);
        else if (mlen == 4 && memcmp(c->req, "HEAD", 4) == 0)
            respond(c, "200 OK", 1, 1, keep);
        else {
            respond(c, "405 Method Not Allowed", 0, 0, 0);
            return;
        }
        size_t consumed = (size_t)(end - c->req);
        memmove(c->req, end, c->used - consumed);
        c->used -= consumed;
        if (c->closing)
            return;
    }
}

int main(const char *cmdline)
{
    uint32_t ip = 0, mask = 0, gw = 0;
    if (net_config_from_cmdline(cmdline, &ip, &mask, &gw) != 0) {
        printf("httpreply: give the address on the command line: ip=10.0.0.2/24 [gw=10.0.0.1]\n");
        return 1;
    }
    int rc = net_init("service0", ip, mask, gw);
    if (rc != 0) {
        printf("httpreply: net_init failed (%d): attach the device with --net:service0=TAP\n", rc);
        return 1;
    }
    struct tcp_conn *listener = tcp_listen(PORT, 64);
    if (!listener) {
        printf("httpreply: cannot listen on port %d\n", PORT);
        return 1;
    }
    resp_ok_len = (size_t)snprintf(resp_ok, sizeof resp_ok, "HTTP/1.1 200 OK\r\nServer: kiln-httpreply\r\n"
                                   "Content-Type: text/html\r\nContent-Length: %zu\r\nConnection: keep-alive\r\n\r\n%s",
                                   sizeof page - 1, page);
    printf("httpreply: listening on %u.%u.%u.%u:%d\n", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255, PORT);
    fflush(stdout);
    for (;;) {
        net_poll(1000000000ull);
        struct tcp_conn *nc;
        while ((nc = tcp_accept(listener)) != NULL) {
            struct client *slot = NULL;
            for (int i = 0; i < MAX_CLIENTS && !slot; i++)
                if (!clients[i].conn)
                    slot = &clients[i];
            if (!slot) {
                tcp_abort(nc);
                continue;
            }
            slot->conn = nc;
            slot->used = 0;
            slot->closing = 0;
        }
        for (int i = 0; i < MAX_CLIENTS; i++) {
            struct client *c = &clients[i];
            if (!c->conn)
                continue;
            for (;;) {
                if (c->closing) {
                    char sink[512];
                    long n = tcp_recv(c->conn, sink, sizeof sink);
                    if (n > 0)
                        continue;
                    if (n == -NET_EAGAIN)
                        break;
                    tcp_close(c->conn);
                    c->conn = NULL;
                    break;
                }
                long n = tcp_recv(c->conn, c->req + c->used, REQ_MAX - c->used);
                if (n > 0) {
                    c->used += (size_t)n;
                    serve(c);
                    if (c->used == REQ_MAX || c->closing)
                        continue;
                } else if (n == -NET_EAGAIN) {
                    break;
                } else {
                    tcp_close(c->conn);
                    c->conn = NULL;
                    break;
                }
            }
        }
    }
}
