/*
 * httpreply: answers every HTTP/1.1 GET or HEAD on port 80 with one fixed page, keeping
 * connections alive as HTTP/1.1 asks. Requests are untrusted: a malformed request line gets 400,
 * a header block larger than the buffer 431, another method 405, and the connection is closed;
 * nothing a client sends can make the server read or write outside its buffers.
 *
 * It runs as one event loop on the stack's non-blocking API: wait in net_poll (the POLL
 * hypercall), accept, read, answer, repeat.
 *
 * Clients are also untrusted in time: a slot held by a client that sends nothing would lock the
 * others out once every slot is taken (slowloris). So a client that has not sent a whole request
 * head within header_timeout seconds of starting it (or of connecting) is closed, and so is a
 * kept-alive connection idle for idle_timeout seconds (RFC 9112 section 9.8: a server may close
 * an idle connection at any time). When max_clients connections are open a new one still gets in:
 * the connection waiting longest for its next request head, of the address holding the most
 * connections, is closed to make room. All three are
 * guest command-line words: header_timeout=10 idle_timeout=30 max_clients=N (0 = no timeout).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <kiln/net.h>
#include <kiln/platform.h>

#define PORT 80
#define MAX_CLIENTS 128
/* Default limit: a few stack slots stay free for handshakes, so a new client always reaches
 * accept() and can then take the place of an idle one. */
#if defined(CONFIG_NET_TCP_CONNS) && CONFIG_NET_TCP_CONNS - 8 < MAX_CLIENTS
#define DEFAULT_MAX_CLIENTS (CONFIG_NET_TCP_CONNS > 16 ? CONFIG_NET_TCP_CONNS - 8 : CONFIG_NET_TCP_CONNS / 2 + 1)
#else
#define DEFAULT_MAX_CLIENTS MAX_CLIENTS
#endif
#define NS 1000000000ull
#define REQ_MAX 4096

static const char page[] =
    "<!doctype html>\n<html><head><title>Kiln</title></head>\n"
    "<body><h1>Hello from a Kiln unikernel</h1><p>httpreply answered.</p></body></html>\n";

struct client {
    struct tcp_conn *conn;
    size_t used;
    int closing;
    /* when the wait for the current request head began: at accept, after each answered request
     * (then the idle timeout applies until a byte comes), at the first byte (the header timeout) */
    uint64_t since;
    int answered;               /* a request was answered: with nothing buffered, it is idle */
    uint32_t ip;                /* the peer's address: the limit is shared fairly between hosts */
    char *req;                  /* its request buffer, REQ_MAX bytes in reqbufs */
};

static uint64_t header_timeout_ns = 10 * NS, idle_timeout_ns = 30 * NS;
static int max_clients = DEFAULT_MAX_CLIENTS;
static int open_clients;
static unsigned long long timed_out, evicted;

/* The event loop looks at every slot on every turn, so the slots stay small and together (a few
 * pages) and their buffers live apart: with a 4 KiB buffer inside each slot every turn touched
 * 129 pages, and a guest restored from a snapshot took a shadow-MMU fault on each of them
 * (~20 us apiece on a PVM host) before it could answer its first SYN. */
static struct client clients[MAX_CLIENTS];
static char reqbufs[MAX_CLIENTS][REQ_MAX];
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
    /* header and body in one buffer, one tcp_send: one segment, as for the kept-alive page */
    char buf[256 + sizeof page];
    int n = snprintf(buf, 256, "HTTP/1.1 %s\r\nServer: kiln-httpreply\r\nContent-Type: text/%s\r\n"
                     "Content-Length: %zu\r\nConnection: %s\r\n\r\n", status, page_response ? "html" : "plain",
                     len, keep ? "keep-alive" : "close");
    size_t total = n < 0 ? 0 : n >= 256 ? 255 : (size_t)n;
    int appended = !head_only && len <= sizeof buf - total;
    if (appended) {
        memcpy(buf + total, text, len);
        total += len;
    }
    tcp_send(c->conn, buf, total);
    if (!head_only && !appended)
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
        c->since = plat_monotonic_ns();
        c->answered = 1;
        if (c->closing)
            return;
    }
}

/* Drops a client at once with RST (RFC 9293 section 3.10.7.1, ABORT): a client that holds a
 * slot without sending is owed no graceful close, and a FIN would leave the stack's slot waiting
 * in FIN_WAIT_2 on a peer that may never answer. */
static void drop(struct client *c)
{
    tcp_abort(c->conn);
    c->conn = NULL;
    open_clients--;
}

static void release(struct client *c)
{
    tcp_close(c->conn);
    c->conn = NULL;
    open_clients--;
}

/* The value of the command-line word NAME=N (seconds or a count) in *out; 0 if absent or good,
 * -1 (after saying why) if malformed or larger than limit. */
static int word_uint(const char *cmdline, const char *name, unsigned long limit, unsigned long *out)
{
    size_t nl = strlen(name);
    for (const char *p = cmdline; p && *p; p++) {
        if ((p == cmdline || p[-1] == ' ') && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            const char *v = p + nl + 1;
            unsigned long n = 0;
            if (*v < '0' || *v > '9')
                goto bad;
            for (; *v >= '0' && *v <= '9'; v++) {
                n = n * 10 + (unsigned long)(*v - '0');
                if (n > limit)
                    goto bad;
            }
            if (*v && *v != ' ')
                goto bad;
            *out = n;
            return 0;
        bad:
            printf("httpreply: %s must be a whole number from 0 to %lu\n", name, limit);
            return -1;
        }
    }
    return 0;
}

/* Closes clients past their deadline; returns the next deadline (0: none). */
static uint64_t expire(uint64_t now)
{
    uint64_t next = 0;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        struct client *c = &clients[i];
        if (!c->conn)
            continue;
        /* bytes of a head buffered: the header timeout; none: the idle one (a fresh connection
         * is waiting for its first head, so the header timeout; so is one being closed that has
         * not yet sent its FIN) */
        uint64_t limit = c->used || !c->answered || c->closing ? header_timeout_ns : idle_timeout_ns;
        if (!limit)
            continue;
        uint64_t due = c->since + limit;
        if (now >= due) {
            timed_out++;
            drop(c);
        } else if (!next || due < next) {
            next = due;
        }
    }
    return next;
}

/*
 * Room for one more client: of the address holding the most connections, the connection that has
 * waited longest for its next request head goes (idle kept-alive ones first: they have had a
 * whole answer already). Counting by address keeps a host that reopens every connection it loses
 * from pushing out other hosts' clients: at its rate plain oldest-first would soon close everyone.
 */
static void make_room(void)
{
    enum { SLOTS = 256 };       /* > MAX_CLIENTS: the open-addressing table never fills */
    uint32_t ips[SLOTS];
    uint16_t counts[SLOTS];
    memset(counts, 0, sizeof counts);
    int best = -1;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        if (!clients[i].conn)
            continue;
        unsigned h = (clients[i].ip * 2654435761u) >> 24;
        while (counts[h] && ips[h] != clients[i].ip)
            h = (h + 1) % SLOTS;
        ips[h] = clients[i].ip;
        counts[h]++;
        if (best < 0 || counts[h] > counts[best])
            best = (int)h;
    }
    if (best < 0)
        return;
    struct client *victim = NULL;
    for (int pass = 0; pass < 2 && !victim; pass++)
        for (int i = 0; i < MAX_CLIENTS; i++) {
            struct client *c = &clients[i];
            if (!c->conn || c->ip != ips[best])
                continue;
            int idle = c->closing || (!c->used && c->answered);
            if ((pass == 0 && !idle) || (pass == 1 && idle))
                continue;
            if (!victim || c->since < victim->since)
                victim = c;
        }
    evicted++;
    drop(victim);
}

int main(const char *cmdline)
{
    uint32_t ip = 0, mask = 0, gw = 0;
    if (net_config_from_cmdline(cmdline, &ip, &mask, &gw) != 0) {
        printf("httpreply: give the address on the command line: ip=10.0.0.2/24 [gw=10.0.0.1]\n");
        return 1;
    }
    unsigned long ht = header_timeout_ns / NS, it = idle_timeout_ns / NS, mc = (unsigned long)max_clients;
    if (word_uint(cmdline, "header_timeout", 86400, &ht) || word_uint(cmdline, "idle_timeout", 86400, &it)
        || word_uint(cmdline, "max_clients", MAX_CLIENTS, &mc))
        return 1;
    if (mc < 1) {
        printf("httpreply: max_clients must be at least 1\n");
        return 1;
    }
    header_timeout_ns = ht * NS;
    idle_timeout_ns = it * NS;
    max_clients = (int)mc;
    for (int i = 0; i < MAX_CLIENTS; i++)
        clients[i].req = reqbufs[i];
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
        /* wake for the next timeout too, not only for input */
        uint64_t now = plat_monotonic_ns(), due = expire(now), wait = NS;
        if (due && due - now < wait)
            wait = due - now;
        net_poll(wait);
        struct tcp_conn *nc;
        while ((nc = tcp_accept(listener)) != NULL) {
            if (open_clients >= max_clients)
                make_room();
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
            slot->answered = 0;
            tcp_peer(nc, &slot->ip, NULL);
            slot->since = plat_monotonic_ns();
            open_clients++;
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
                    release(c);
                    break;
                }
                size_t before = c->used;
                long n = tcp_recv(c->conn, c->req + c->used, REQ_MAX - c->used);
                if (n > 0) {
                    /* the first byte of a kept-alive connection's next head starts its header
                     * timeout; bytes that follow do not extend it (a slow sender gets N seconds) */
                    if (!before && c->answered)
                        c->since = plat_monotonic_ns();
                    c->used += (size_t)n;
                    serve(c);
                    if (c->used == REQ_MAX || c->closing)
                        continue;
                } else if (n == -NET_EAGAIN) {
                    break;
                } else {
                    release(c);
                    break;
                }
            }
        }
    }
}
