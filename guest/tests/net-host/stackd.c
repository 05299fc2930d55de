/*
 * stackd: runs guest/lib/net in a host process on a tap device.
 *   ICMP echo; UDP echo on 7; UDP control on 8 ("connect PORT": active open
 *   to the sender, send a greeting, close); TCP echo on 7; TCP discard on 9
 *   that answers "BYTES CRC32HEX\n" at EOF.
 * Usage: stackd TAP "ip=A.B.C.D/N gw=A.B.C.D"
 * SIGUSR1 prints the counters; SIGTERM prints them and exits.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kiln/net.h>
#include "host_plat.h"

#define MAXAPP 128

struct app {
    struct tcp_conn *c;
    int kind;                 /* 7 echo, 9 discard, 1 active greeting */
    unsigned char pend[4096];
    size_t pend_len, pend_off;
    unsigned long long count;
    unsigned crc;
    int eof;
    int greeted;
};

static struct app apps[MAXAPP];
static volatile sig_atomic_t want_stats, want_exit;
static unsigned crc_table[256];
static unsigned long long app_opened, app_closed, udp_echoed;

static void crc_init(void)
{
    for (unsigned i = 0; i < 256; i++) {
        unsigned c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static unsigned crc_update(unsigned crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
    while (n--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static struct app *app_new(struct tcp_conn *c, int kind)
{
    for (int i = 0; i < MAXAPP; i++)
        if (!apps[i].c) {
            memset(&apps[i], 0, sizeof apps[i]);
            apps[i].c = c;
            apps[i].kind = kind;
            app_opened++;
            return &apps[i];
        }
    tcp_abort(c);
    return NULL;
}

static void app_end(struct app *a)
{
    tcp_close(a->c);
    a->c = NULL;
    app_closed++;
}

static void udp_echo(void *arg, uint32_t src, uint16_t sport, uint16_t dport,
                     const void *data, size_t len)
{
    (void)arg;
    if (udp_sendto(dport, src, sport, data, len) >= 0)
        udp_echoed++;
}

static void udp_ctl(void *arg, uint32_t src, uint16_t sport, uint16_t dport,
                    const void *data, size_t len)
{
    (void)arg;
    char cmd[64];
    if (len >= sizeof cmd)
        return;
    memcpy(cmd, data, len);
    cmd[len] = 0;
    int port;
    if (sscanf(cmd, "connect %d", &port) == 1 && port > 0 && port < 65536) {
        struct tcp_conn *c = tcp_connect(src, (uint16_t)port);
        const char *r = c && app_new(c, 1) ? "ok" : "fail";
        udp_sendto(dport, src, sport, r, strlen(r));
    }
}

static void print_stats(FILE *f)
{
    const struct net_stats *s = net_get_stats();
    fprintf(f, "stats rx_frames=%llu tx_frames=%llu eth_short=%llu eth_other=%llu "
               "arp_bad=%llu ip_short=%llu ip_bad_version=%llu ip_bad_hlen=%llu "
               "ip_bad_len=%llu ip_bad_csum=%llu ip_fragment=%llu icmp_bad=%llu "
               "icmp_replied=%llu udp_bad_len=%llu udp_bad_csum=%llu udp_no_port=%llu "
               "tcp_bad_len=%llu tcp_bad_csum=%llu tcp_bad_opt=%llu tcp_rst_sent=%llu "
               "tcp_syn_dropped=%llu tcp_syn_evicted=%llu tcp_ooo=%llu tcp_retrans=%llu "
               "tcp_fast_retrans=%llu tcp_timeouts=%llu tcp_zwp=%llu tcp_sack=%llu conns_in_use=%d "
               "app_open=%llu app_closed=%llu udp_echoed=%llu host_drop_rx=%llu "
               "host_drop_tx=%llu host_reordered=%llu\n",
            (unsigned long long)s->rx_frames, (unsigned long long)s->tx_frames,
            (unsigned long long)s->eth_short, (unsigned long long)s->eth_other_type,
            (unsigned long long)s->arp_bad, (unsigned long long)s->ip_short,
            (unsigned long long)s->ip_bad_version, (unsigned long long)s->ip_bad_hlen,
            (unsigned long long)s->ip_bad_len, (unsigned long long)s->ip_bad_csum,
            (unsigned long long)s->ip_fragment, (unsigned long long)s->icmp_bad,
            (unsigned long long)s->icmp_echo_replied, (unsigned long long)s->udp_bad_len,
            (unsigned long long)s->udp_bad_csum, (unsigned long long)s->udp_no_port,
            (unsigned long long)s->tcp_bad_len, (unsigned long long)s->tcp_bad_csum,
            (unsigned long long)s->tcp_bad_opt, (unsigned long long)s->tcp_rst_sent,
            (unsigned long long)s->tcp_syn_dropped, (unsigned long long)s->tcp_syn_evicted,
            (unsigned long long)s->tcp_ooo_segs, (unsigned long long)s->tcp_retransmits,
            (unsigned long long)s->tcp_fast_retransmits, (unsigned long long)s->tcp_timeouts,
            (unsigned long long)s->tcp_zwp_sent,
            (unsigned long long)s->tcp_sack_sent, tcp_conns_in_use(),
            app_opened, app_closed, udp_echoed, host_dropped_rx, host_dropped_tx,
            host_reordered);
    fflush(f);
}

static void on_sig(int s)
{
    if (s == SIGUSR1)
        want_stats = 1;
    else
        want_exit = 1;
}

/* move queued bytes of an echo/reply into the send buffer */
static int flush_pend(struct app *a)
{
    while (a->pend_off < a->pend_len) {
        long n = tcp_send(a->c, a->pend + a->pend_off, a->pend_len - a->pend_off);
        if (n == -NET_EAGAIN)
            return 0;
        if (n < 0)
            return -1;
        a->pend_off += (size_t)n;
    }
    a->pend_off = a->pend_len = 0;
    return 1;
}

static void service(struct app *a)
{
    struct tcp_conn *c = a->c;
    if (a->kind == 1) {                       /* active open greeting */
        enum tcp_state st = tcp_state(c);
        if (st == TCP_SYN_SENT)
            return;
        if (st != TCP_ESTABLISHED && st != TCP_CLOSE_WAIT) {
            app_end(a);
            return;
        }
        if (!a->greeted) {
            const char *g = "hello from kiln\n";
            tcp_send(c, g, strlen(g));
            a->greeted = 1;
            app_end(a);
        }
        return;
    }
    for (int rounds = 0; rounds < 64; rounds++) {
        if (a->pend_len) {
            int r = flush_pend(a);
            if (r < 0) {
                app_end(a);
                return;
            }
            if (r == 0)
                return;
        }
        if (a->eof) {
            app_end(a);
            return;
        }
        long n = tcp_recv(c, a->pend, sizeof a->pend);
        if (n == -NET_EAGAIN)
            return;
        if (n < 0) {
            app_end(a);
            return;
        }
        if (n == 0) {
            a->eof = 1;
            if (a->kind == 9)
                a->pend_len = (size_t)snprintf((char *)a->pend, sizeof a->pend, "%llu %08x\n",
                                               a->count, a->crc);
            continue;
        }
        if (a->kind == 7) {
            a->pend_len = (size_t)n;
        } else {
            a->count += (unsigned long long)n;
            a->crc = crc_update(a->crc, a->pend, (size_t)n);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: stackd TAP CMDLINE\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    crc_init();
    if (host_tap_open(argv[1]) < 0)
        return 1;
    uint32_t ip = 0, mask = 0, gw = 0;
    if (net_config_from_cmdline(argv[2], &ip, &mask, &gw) != 0) {
        fprintf(stderr, "stackd: bad command line '%s'\n", argv[2]);
        return 1;
    }
    int r = net_init("service0", ip, mask, gw);
    if (r) {
        fprintf(stderr, "stackd: net_init: %d\n", r);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sig;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    struct tcp_conn *l7 = tcp_listen(7, 16), *l9 = tcp_listen(9, 16);
    if (!l7 || !l9 || udp_bind(7, udp_echo, NULL) || udp_bind(8, udp_ctl, NULL)) {
        fprintf(stderr, "stackd: listen/bind failed\n");
        return 1;
    }
    printf("stackd ready ip=%u.%u.%u.%u mask=%08x gw=%u.%u.%u.%u mtu=%u\n", ip >> 24,
           (ip >> 16) & 255, (ip >> 8) & 255, ip & 255, mask, gw >> 24, (gw >> 16) & 255,
           (gw >> 8) & 255, gw & 255, net_get_mtu());
    while (!want_exit) {
        net_poll(20 * 1000000ull);
        struct tcp_conn *c;
        while ((c = tcp_accept(l7)))
            app_new(c, 7);
        while ((c = tcp_accept(l9)))
            app_new(c, 9);
        for (int i = 0; i < MAXAPP; i++)
            if (apps[i].c)
                service(&apps[i]);
        if (want_stats) {
            want_stats = 0;
            print_stats(stdout);
        }
    }
    print_stats(stdout);
    return 0;
}
