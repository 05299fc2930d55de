/*
 * TCP (RFC 9293/793) with RFC 6298 retransmission timers, Karn's rule,
 * RFC 5681 slow start / congestion avoidance, fast retransmit and NewReno
 * style recovery (RFC 6582), zero-window probing, MSS option, out-of-order
 * reassembly straight into the receive ring, a bounded SYN backlog that
 * evicts the oldest half-open connection, and TIME_WAIT.  As a receiver it
 * sends SACK blocks (RFC 2018) and an immediate pure duplicate ACK for each
 * out-of-order segment, so a Linux sender recovers by SACK instead of by
 * timeout; as a sender it ignores SACK blocks (allowed: they are advisory).
 * No window scaling or timestamps.
 */
#include "net_priv.h"

#define SEQ_LT(a, b)  ((int32_t)((a) - (b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((a) - (b)) <= 0)
#define SEQ_GT(a, b)  ((int32_t)((a) - (b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((a) - (b)) >= 0)

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

#define RXSZ ((uint32_t)CONFIG_NET_TCP_RXBUF)
#define TXSZ ((uint32_t)CONFIG_NET_TCP_TXBUF)
#define RTO_INIT_US 1000000u
#define RTO_MIN_US  ((uint32_t)CONFIG_NET_TCP_RTO_MIN_MS * 1000u)
#define RTO_MAX_US  60000000u
#define TW_NS       ((uint64_t)CONFIG_NET_TCP_TIME_WAIT_MS * NS_PER_MS)
#define DELACK_NS   ((uint64_t)CONFIG_NET_TCP_DELACK_US * 1000u)
#define CWND_MAX    (4u * 65535u)

_Static_assert(CONFIG_NET_TCP_RXBUF >= 1024 && CONFIG_NET_TCP_RXBUF <= 65535,
               "NET_TCP_RXBUF must be 1024..65535 (no window scaling)");
_Static_assert(CONFIG_NET_TCP_TXBUF >= 1024, "NET_TCP_TXBUF must be >= 1024");

struct tcp_range {
    uint32_t start, end;
};

/* The options of an incoming segment that the stack acts on. */
struct tcp_opts {
    uint16_t mss;        /* 0: none given */
    bool sack_ok;        /* SACK-permitted (RFC 2018 section 2), only on SYNs */
};

struct tcp_conn {
    uint8_t state;
    bool in_use, is_listener, user_owned, user_closed, accepted;
    bool fin_queued, fin_rcvd, ooo_fin, ack_pending, ack_now, in_recovery, rtt_active;
    bool tlp_armed, tlp_done;
    bool sack_ok;       /* both ends sent SACK-permitted: our ACKs carry SACK blocks */
    bool dupack_owed;   /* out-of-order data came: a pure duplicate ACK goes first */
    uint8_t dupacks, retries, n_ooo;
    uint16_t lport, rport, mss;
    uint32_t rip;
    int err;
    struct tcp_conn *listener;
    int backlog;
    uint32_t order;
    /* send side; tx ring byte tx_head has sequence number tx_seq */
    uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2;
    uint32_t cwnd, ssthresh, recover;
    uint32_t tx_head, tx_len, tx_seq;
    /* receive side; ring byte rx_head+rx_len has sequence number rcv_nxt */
    uint32_t irs, rcv_nxt, rcv_adv;
    uint32_t rcv_acked;  /* rcv_nxt as our last ACK carried it */
    uint32_t rx_head, rx_len;
    uint32_t ooo_fin_seq;
    struct tcp_range ooo[CONFIG_NET_TCP_OOO_RANGES];
    /* timers */
    uint32_t srtt_us, rttvar_us, rto_us, persist_us;
    uint32_t rtt_seq;
    uint64_t rtt_start;
    uint64_t rto_deadline, persist_deadline, tw_deadline, born;
    uint64_t delack_deadline;  /* a pending ACK goes out bare then, if no segment carried it */
    uint8_t *rxbuf, *txbuf;
};

static struct tcp_conn conns[CONFIG_NET_TCP_CONNS];
static struct tcp_conn listeners[CONFIG_NET_TCP_LISTENERS];
static uint8_t rxbufs[CONFIG_NET_TCP_CONNS][CONFIG_NET_TCP_RXBUF];
static uint8_t txbufs[CONFIG_NET_TCP_CONNS][CONFIG_NET_TCP_TXBUF];
static uint16_t next_eport;
static uint32_t order_counter;

static inline uint32_t umin(uint32_t a, uint32_t b) { return a < b ? a : b; }
static inline uint32_t umax(uint32_t a, uint32_t b) { return a > b ? a : b; }

static bool synchronized(const struct tcp_conn *c)
{
    return c->state >= TCP_ESTABLISHED;
}

static uint32_t rcv_wnd(const struct tcp_conn *c)
{
    return RXSZ - c->rx_len;
}

/* ---- slots ------------------------------------------------------------ */

static void conn_free(struct tcp_conn *c)
{
    c->in_use = false;
    c->state = TCP_CLOSED;
}

static struct tcp_conn *conn_alloc(void)
{
    struct tcp_conn *c = NULL, *tw = NULL;
    for (int i = 0; i < CONFIG_NET_TCP_CONNS; i++) {
        if (!conns[i].in_use) {
            c = &conns[i];
            break;
        }
        /* never one the application still holds (it shut down, the peer's FIN came, it has
         * not closed yet): its handle would then name a stranger's connection */
        if (conns[i].state == TCP_TIME_WAIT && (!conns[i].user_owned || conns[i].user_closed)
            && (!tw || conns[i].tw_deadline < tw->tw_deadline))
            tw = &conns[i];
    }
    if (!c)
        c = tw;                 /* recycle the oldest TIME_WAIT */
    if (!c)
        return NULL;
    size_t idx = (size_t)(c - conns);
    net_zero(c, sizeof *c);
    c->in_use = true;
    c->rxbuf = rxbufs[idx];
    c->txbuf = txbufs[idx];
    c->mss = 536;
    c->rto_us = RTO_INIT_US;
    c->ssthresh = CWND_MAX;
    c->born = net_now();
    c->iss = net_random();
    c->snd_una = c->iss;
    c->snd_nxt = c->iss;
    c->snd_max = c->iss;
    c->tx_seq = c->iss + 1;
    return c;
}

/* The connection is gone from the protocol's point of view. */
static void conn_closed(struct tcp_conn *c, int err)
{
    if (err && !c->err)
        c->err = err;
    c->state = TCP_CLOSED;
    c->rto_deadline = c->persist_deadline = c->tw_deadline = c->delack_deadline = 0;
    c->ack_pending = c->ack_now = false;
    if (!c->user_owned || c->user_closed)
        conn_free(c);
}

static uint16_t our_mss(void)
{
    return (uint16_t)(net_if.mtu - IP_HLEN - 20);
}

/* ---- output ----------------------------------------------------------- */

static void tcp_raw(uint32_t dst, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                    uint8_t flags, uint16_t win)
{
    uint8_t *t = net_txframe + ETH_HLEN + IP_HLEN;
    put16(t, sport);
    put16(t + 2, dport);
    put32(t + 4, seq);
    put32(t + 8, ack);
    t[12] = 5 << 4;
    t[13] = flags;
    put16(t + 14, win);
    put16(t + 16, 0);
    put16(t + 18, 0);
    put16(t + 16, net_csum_fold(net_csum_add(net_pseudo_sum(net_if.ip, dst, IPPROTO_TCP_, 20),
                                             t, 20)));
    ip_output(dst, IPPROTO_TCP_, 20);
    if (flags & F_RST)
        net_stats.tcp_rst_sent++;
}

/* Answer a segment that has no connection (RFC 9293 3.10.7.1). */
static void reset_reply(uint32_t src, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                        uint8_t flags, uint32_t dlen)
{
    if (flags & F_RST)
        return;
    if (flags & F_ACK)
        tcp_raw(src, dport, sport, ack, 0, F_RST, 0);
    else
        tcp_raw(src, dport, sport, 0, seq + dlen + !!(flags & F_SYN) + !!(flags & F_FIN),
                F_RST | F_ACK, 0);
}

/* One segment: SEQ seq, FLAGS, n data bytes from the tx ring at seq. */
static void send_segment(struct tcp_conn *c, uint32_t seq, uint8_t flags, uint32_t n)
{
    uint8_t *t = net_txframe + ETH_HLEN + IP_HLEN;
    uint32_t hl = 20;
    if (flags & F_SYN) {
        /* MSS; SACK-permitted on our SYN, and on a SYN-ACK if the peer's SYN had it */
        t[hl] = 2;
        t[hl + 1] = 4;
        put16(t + hl + 2, our_mss());
        hl += 4;
        if (c->state == TCP_SYN_SENT || c->sack_ok) {
            t[hl] = t[hl + 1] = 1;
            t[hl + 2] = 4;
            t[hl + 3] = 2;
            hl += 4;
        }
    } else if (c->sack_ok && c->n_ooo && n == 0 && (flags & F_ACK)) {
        /* SACK blocks (RFC 2018 section 3), newest range first; at most 4 fit */
        uint32_t k = umin(c->n_ooo, 4);
        t[hl] = t[hl + 1] = 1;
        t[hl + 2] = 5;
        t[hl + 3] = (uint8_t)(2 + 8 * k);
        for (uint32_t i = 0; i < k; i++) {
            const struct tcp_range *r = &c->ooo[c->n_ooo - 1 - i];
            put32(t + hl + 4 + 8 * i, r->start);
            put32(t + hl + 8 + 8 * i, r->end);
        }
        hl += 4 + 8 * k;
        net_stats.tcp_sack_sent++;
    }
    put16(t, c->lport);
    put16(t + 2, c->rport);
    put32(t + 4, seq);
    put32(t + 8, (flags & F_ACK) ? c->rcv_nxt : 0);
    t[12] = (uint8_t)((hl / 4) << 4);
    t[13] = flags;
    uint32_t w = rcv_wnd(c);
    /* never shrink the window already offered */
    if (SEQ_LT(c->rcv_nxt + w, c->rcv_adv))
        w = c->rcv_adv - c->rcv_nxt;
    put16(t + 14, (uint16_t)umin(w, 65535));
    put16(t + 16, 0);
    put16(t + 18, 0);
    if (n) {
        uint32_t off = seq - c->tx_seq;
        uint32_t pos = c->tx_head + off;
        if (pos >= TXSZ)
            pos -= TXSZ;
        uint32_t first = umin(n, TXSZ - pos);
        net_copy(t + hl, c->txbuf + pos, first);
        net_copy(t + hl + first, c->txbuf, n - first);
    }
    uint16_t tl = (uint16_t)(hl + n);
    put16(t + 16, net_csum_fold(net_csum_add(net_pseudo_sum(net_if.ip, c->rip, IPPROTO_TCP_, tl),
                                             t, tl)));
    if (flags & F_ACK) {
        c->rcv_adv = c->rcv_nxt + umin(w, 65535);
        c->rcv_acked = c->rcv_nxt;
        c->ack_pending = c->ack_now = false;
        c->delack_deadline = 0;
    }
    ip_output(c->rip, IPPROTO_TCP_, tl);
}

static void arm_rto(struct tcp_conn *c)
{
    uint32_t us = c->rto_us;
    c->tlp_armed = false;
    /* tail loss probe (after RFC 8985): the first expiry after new data
     * was acknowledged comes after about two RTTs and retransmits one
     * segment without collapsing the window */
    if (!c->tlp_done && c->srtt_us && c->state >= TCP_ESTABLISHED) {
        uint32_t pto = umax(2 * c->srtt_us, 10000);
        if (pto < us) {
            us = pto;
            c->tlp_armed = true;
        }
    }
    c->rto_deadline = net_now() + (uint64_t)us * 1000;
}

static bool can_send_data(const struct tcp_conn *c)
{
    return c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT ||
           c->state == TCP_FIN_WAIT_1 || c->state == TCP_CLOSING || c->state == TCP_LAST_ACK;
}

/* Send what the windows allow, then a bare ACK if one is owed now. */
static void tcp_output(struct tcp_conn *c)
{
    bool sent = false;
    if (c->dupack_owed) {
        /* RFC 5681 section 4.2: an immediate duplicate ACK for out-of-order data,
         * pure so the peer counts it, before any data that would carry the ACK */
        c->dupack_owed = false;
        if (synchronized(c))
            send_segment(c, c->snd_nxt, F_ACK, 0);
    }
    if (can_send_data(c)) {
        for (;;) {
            uint32_t off = c->snd_nxt - c->tx_seq;
            uint32_t wnd = umin(c->snd_wnd, c->cwnd);
            uint32_t flight = c->snd_nxt - c->snd_una;
            uint32_t usable = wnd > flight ? wnd - flight : 0;
            uint8_t flags = F_ACK;
            uint32_t n = 0;
            if (off < c->tx_len) {
                uint32_t avail = c->tx_len - off;
                n = umin(umin(avail, c->mss), usable);
                if (n == 0)
                    break;
                if (n < c->mss && n < avail && flight > 0)
                    break;              /* sender-side silly window avoidance */
                if (n == avail) {
                    flags |= F_PSH;
                    if (c->fin_queued)
                        flags |= F_FIN;
                }
            } else if (off == c->tx_len && c->fin_queued) {
                flags |= F_FIN;
            } else {
                break;
            }
            if (!c->rtt_active && c->snd_nxt == c->snd_max && n) {
                c->rtt_active = true;
                c->rtt_seq = c->snd_nxt + n;
                c->rtt_start = net_now();
            }
            send_segment(c, c->snd_nxt, flags, n);
            c->snd_nxt += n + ((flags & F_FIN) ? 1 : 0);
            if (SEQ_GT(c->snd_nxt, c->snd_max))
                c->snd_max = c->snd_nxt;
            if (!c->rto_deadline)
                arm_rto(c);
            sent = true;
        }
        /* zero window with data waiting and nothing in flight: probe */
        if (c->snd_wnd == 0 && c->snd_nxt == c->snd_una &&
            c->tx_len > c->snd_nxt - c->tx_seq && !c->persist_deadline) {
            if (!c->persist_us)
                c->persist_us = umax(c->rto_us, RTO_MIN_US);
            c->persist_deadline = net_now() + (uint64_t)c->persist_us * 1000;
        }
    }
    /* A bare ACK only when one is owed now: a delayed one (ack_pending) waits for data to carry
     * it or for its timer, also when an arriving ACK made us look for something to send. */
    if (!sent && c->ack_now && synchronized(c))
        send_segment(c, c->snd_nxt, F_ACK, 0);
}

/* Retransmit the first unacknowledged segment. */
static void retransmit_one(struct tcp_conn *c)
{
    uint32_t off = c->snd_una - c->tx_seq;
    uint8_t flags = F_ACK;
    uint32_t n = 0;
    if (off < c->tx_len) {
        n = umin(c->tx_len - off, c->mss);
        /* the FIN rides along if it was sent right after these bytes */
        if (off + n == c->tx_len && c->fin_queued && SEQ_GT(c->snd_max, c->tx_seq + c->tx_len))
            flags |= F_FIN;
    } else if (c->fin_queued && SEQ_GT(c->snd_max, c->snd_una)) {
        flags |= F_FIN;
    } else {
        return;
    }
    send_segment(c, c->snd_una, flags | (n ? F_PSH : 0), n);
    c->rtt_active = false;                  /* Karn */
    net_stats.tcp_retransmits++;
}

/* ---- RTT / RTO (RFC 6298) ---------------------------------------------- */

static void rto_update(struct tcp_conn *c)
{
    uint32_t rto = c->srtt_us + umax(1000, 4 * c->rttvar_us);
    c->rto_us = umin(umax(rto, RTO_MIN_US), RTO_MAX_US);
}

static void rtt_sample(struct tcp_conn *c, uint64_t ns)
{
    uint32_t r = ns / 1000 > RTO_MAX_US ? RTO_MAX_US : (uint32_t)(ns / 1000);
    if (!r)
        r = 1;
    if (!c->srtt_us) {
        c->srtt_us = r;
        c->rttvar_us = r / 2;
    } else {
        uint32_t d = c->srtt_us > r ? c->srtt_us - r : r - c->srtt_us;
        c->rttvar_us = (3 * c->rttvar_us + d) / 4;
        c->srtt_us = (7 * c->srtt_us + r) / 8;
        if (!c->srtt_us)
            c->srtt_us = 1;
    }
    rto_update(c);
}

/* ---- input --------------------------------------------------------------- */

static struct tcp_conn *find_conn(uint32_t src, uint16_t sport, uint16_t dport)
{
    for (int i = 0; i < CONFIG_NET_TCP_CONNS; i++) {
        struct tcp_conn *c = &conns[i];
        if (c->in_use && c->state != TCP_CLOSED && c->lport == dport && c->rport == sport &&
            c->rip == src)
            return c;
    }
    return NULL;
}

static struct tcp_conn *find_listener(uint16_t port)
{
    for (int i = 0; i < CONFIG_NET_TCP_LISTENERS; i++)
        if (listeners[i].in_use && listeners[i].lport == port)
            return &listeners[i];
    return NULL;
}

static void enter_time_wait(struct tcp_conn *c)
{
    c->state = TCP_TIME_WAIT;
    c->rto_deadline = c->persist_deadline = 0;
    c->tw_deadline = net_now() + TW_NS;
}

/*
 * The pending connection to give up for a new SYN: of the address holding the most connections
 * not yet accepted (of listener l, or of any when l is NULL), its oldest half-open one, else its
 * oldest established one still waiting for accept(). A flood from one host then recycles its own
 * slots and leaves another host's handshake alone, which plain oldest-first (RFC 4987 section
 * 3.4) does not: at flood rates the oldest is soon everybody's. Addresses are counted in a small
 * open-addressing table, so this stays linear in the connection table.
 */
static struct tcp_conn *syn_victim(const struct tcp_conn *l)
{
    enum { SLOTS = 256 };
    uint32_t ips[SLOTS];
    uint16_t counts[SLOTS];
    net_zero(counts, sizeof counts);
    int best = -1;
    for (int i = 0; i < CONFIG_NET_TCP_CONNS; i++) {
        const struct tcp_conn *c = &conns[i];
        if (!c->in_use || !c->listener || c->accepted || (l && c->listener != l))
            continue;
        unsigned h = (c->rip * 2654435761u) >> 24;
        /* a full table (more than 256 addresses half-open) counts the rest in the last probe */
        for (int n = 0; n < SLOTS && counts[h] && ips[h] != c->rip; n++)
            h = (h + 1) % SLOTS;
        if (!counts[h])
            ips[h] = c->rip;
        counts[h]++;
        if (best < 0 || counts[h] > counts[best])
            best = (int)h;
    }
    if (best < 0)
        return NULL;
    struct tcp_conn *victim = NULL;
    for (int i = 0; i < CONFIG_NET_TCP_CONNS; i++) {
        struct tcp_conn *c = &conns[i];
        if (!c->in_use || !c->listener || c->accepted || (l && c->listener != l) || c->rip != ips[best])
            continue;
        int half = c->state == TCP_SYN_RCVD, vhalf = victim && victim->state == TCP_SYN_RCVD;
        if (!victim || half > vhalf || (half == vhalf && c->born < victim->born))
            victim = c;
    }
    return victim;
}

void tcp_abort(struct tcp_conn *c);

/* A half-open connection goes silently (the peer's ACK will meet a RST); an established one the
 * peer believes open gets a RST now. */
static void evict_pending(struct tcp_conn *c)
{
    if (c->state == TCP_SYN_RCVD)
        conn_free(c);
    else
        tcp_abort(c);
    net_stats.tcp_syn_evicted++;
}

static void listen_input(struct tcp_conn *l, uint32_t src, uint16_t sport, uint32_t seq,
                         uint32_t ack, uint8_t flags, uint16_t win, const struct tcp_opts *opt,
                         uint32_t dlen)
{
    if (flags & F_RST)
        return;
    if (flags & F_ACK) {
        reset_reply(src, sport, l->lport, seq, ack, flags, dlen);
        return;
    }
    if (!(flags & F_SYN))
        return;
    /* bounded backlog: half-open + not yet accepted */
    int pending = 0;
    for (int i = 0; i < CONFIG_NET_TCP_CONNS; i++) {
        struct tcp_conn *c = &conns[i];
        if (c->in_use && c->listener == l && !c->accepted)
            pending++;
    }
    if (pending >= l->backlog) {
        struct tcp_conn *oldest = syn_victim(l);
        if (!oldest) {
            net_stats.tcp_syn_dropped++;
            return;
        }
        evict_pending(oldest);
    }
    struct tcp_conn *c = conn_alloc();
    if (!c) {
        /* The table is full below the backlog (the application holds the rest): a connection
         * not yet accepted is still the cheapest to give up (RFC 4987 section 3.4, recycling
         * the oldest half-open TCB), whichever listener it is for; only a table of accepted
         * and closing connections drops the SYN. */
        struct tcp_conn *victim = syn_victim(NULL);
        if (!victim) {
            net_stats.tcp_syn_dropped++;
            return;
        }
        evict_pending(victim);
        c = conn_alloc();
    }
    c->state = TCP_SYN_RCVD;
    c->listener = l;
    c->lport = l->lport;
    c->rport = sport;
    c->rip = src;
    c->irs = seq;
    c->rcv_nxt = seq + 1;
    c->rcv_adv = c->rcv_nxt;
    c->snd_wnd = win;
    c->snd_wl1 = seq;
    c->mss = (uint16_t)umin(opt->mss ? opt->mss : 536, our_mss());
    c->sack_ok = opt->sack_ok;
    if (c->mss < 64)
        c->mss = 64;
    c->cwnd = 10u * c->mss;
    c->snd_nxt = c->snd_max = c->iss + 1;
    c->rtt_active = true;                  /* time the handshake (Karn-safe) */
    c->rtt_seq = c->iss + 1;
    c->rtt_start = net_now();
    send_segment(c, c->iss, F_SYN | F_ACK, 0);
    arm_rto(c);
}

static void ooo_add(struct tcp_conn *c, uint32_t s, uint32_t e)
{
    for (int i = 0; i < c->n_ooo; i++) {
        struct tcp_range *r = &c->ooo[i];
        if (SEQ_LT(e, r->start) || SEQ_GT(s, r->end))
            continue;
        if (SEQ_LT(r->start, s))
            s = r->start;
        if (SEQ_GT(r->end, e))
            e = r->end;
        c->ooo[i] = c->ooo[--c->n_ooo];
        i = -1;                             /* rescan with the grown range */
    }
    if (c->n_ooo < CONFIG_NET_TCP_OOO_RANGES) {
        c->ooo[c->n_ooo].start = s;
        c->ooo[c->n_ooo].end = e;
        c->n_ooo++;
    }
}

static void ooo_merge(struct tcp_conn *c)
{
    for (int i = 0; i < c->n_ooo; i++) {
        struct tcp_range *r = &c->ooo[i];
        if (SEQ_LEQ(r->start, c->rcv_nxt)) {
            if (SEQ_GT(r->end, c->rcv_nxt)) {
                c->rx_len += r->end - c->rcv_nxt;
                c->rcv_nxt = r->end;
            }
            c->ooo[i] = c->ooo[--c->n_ooo];
            i = -1;
        }
    }
}

static void rx_store(struct tcp_conn *c, uint32_t rel, const uint8_t *d, uint32_t n)
{
    uint32_t pos = c->rx_head + c->rx_len + rel;
    while (pos >= RXSZ)
        pos -= RXSZ;
    uint32_t first = umin(n, RXSZ - pos);
    net_copy(c->rxbuf + pos, d, first);
    net_copy(c->rxbuf, d + first, n - first);
}

static void process_fin(struct tcp_conn *c)
{
    c->rcv_nxt++;
    c->fin_rcvd = true;
    c->ooo_fin = false;
    c->ack_now = true;
    switch (c->state) {
    case TCP_ESTABLISHED:
        c->state = TCP_CLOSE_WAIT;
        break;
    case TCP_FIN_WAIT_1:
        c->state = TCP_CLOSING;
        break;
    case TCP_FIN_WAIT_2:
        enter_time_wait(c);
        break;
    default:
        break;
    }
}

static void new_ack(struct tcp_conn *c, uint32_t ack)
{
    uint32_t acked = ack - c->snd_una;
    if (SEQ_GT(ack, c->tx_seq)) {
        uint32_t n = umin(ack - c->tx_seq, c->tx_len);
        c->tx_head += n;
        if (c->tx_head >= TXSZ)
            c->tx_head -= TXSZ;
        c->tx_len -= n;
        c->tx_seq += n;
    }
    c->snd_una = ack;
    if (SEQ_LT(c->snd_nxt, ack))
        c->snd_nxt = ack;
    if (c->rtt_active && SEQ_GEQ(ack, c->rtt_seq)) {
        c->rtt_active = false;
        rtt_sample(c, net_now() - c->rtt_start);
    } else if (c->srtt_us) {
        rto_update(c);                     /* undo backoff once data moves */
    }
    c->retries = 0;
    c->tlp_done = false;
    if (c->in_recovery) {
        if (SEQ_GEQ(ack, c->recover)) {
            c->in_recovery = false;
            c->cwnd = c->ssthresh;
            c->dupacks = 0;
        } else {
            /* partial ACK: the next hole */
            retransmit_one(c);
            c->cwnd = (c->cwnd > acked ? c->cwnd - acked : 0) + c->mss;
        }
    } else {
        c->dupacks = 0;
        if (c->cwnd < c->ssthresh)
            c->cwnd += umin(acked, c->mss);
        else
            c->cwnd += umax(1, (uint32_t)c->mss * c->mss / c->cwnd);
        if (c->cwnd > CWND_MAX)
            c->cwnd = CWND_MAX;
    }
    if (c->snd_una == c->snd_max)
        c->rto_deadline = 0;
    else
        arm_rto(c);
}

static void dup_ack(struct tcp_conn *c)
{
    c->dupacks++;
    /* early retransmit (RFC 5827): with few segments out and nothing new to
     * send, fewer than three duplicate ACKs will ever come */
    uint32_t thresh = 3;
    uint32_t outstanding = (c->snd_max - c->snd_una + c->mss - 1) / c->mss;
    if (outstanding < 4 && c->snd_max == c->tx_seq + c->tx_len)
        thresh = outstanding > 1 ? outstanding - 1 : 1;
    if (c->dupacks == thresh && !c->in_recovery) {
        uint32_t flight = c->snd_max - c->snd_una;
        c->ssthresh = umax(flight / 2, 2u * c->mss);
        retransmit_one(c);
        net_stats.tcp_fast_retransmits++;
        c->cwnd = c->ssthresh + 3u * c->mss;
        c->in_recovery = true;
        c->recover = c->snd_max;
    } else if (c->in_recovery) {
        c->cwnd += c->mss;
    }
}

static bool fin_acked(const struct tcp_conn *c)
{
    return c->fin_queued && c->tx_len == 0 && c->snd_una == c->tx_seq + 1;
}

static void conn_input(struct tcp_conn *c, uint32_t seq, uint32_t ack, uint8_t flags,
                       uint16_t win, const struct tcp_opts *opt, const uint8_t *data, uint32_t dlen)
{
    if (c->state == TCP_SYN_SENT) {
        if ((flags & F_ACK) && (SEQ_LEQ(ack, c->iss) || SEQ_GT(ack, c->snd_max))) {
            reset_reply(c->rip, c->rport, c->lport, seq, ack, flags, dlen);
            return;
        }
        if (flags & F_RST) {
            if (flags & F_ACK)
                conn_closed(c, -NET_ECONNREFUSED);
            return;
        }
        if (!(flags & F_SYN))
            return;
        c->irs = seq;
        c->rcv_nxt = seq + 1;
        c->rcv_adv = c->rcv_nxt;
        c->mss = (uint16_t)umin(opt->mss ? opt->mss : 536, our_mss());
        c->sack_ok = opt->sack_ok;
        if (c->mss < 64)
            c->mss = 64;
        c->cwnd = 10u * c->mss;
        c->snd_wnd = win;
        c->snd_wl1 = seq;
        c->snd_wl2 = ack;
        if (flags & F_ACK) {
            c->snd_una = ack;
            if (c->rtt_active)
                rtt_sample(c, net_now() - c->rtt_start);
            c->rtt_active = false;
            c->retries = 0;
            c->rto_deadline = 0;
            c->state = TCP_ESTABLISHED;
            c->ack_now = true;
            tcp_output(c);
        } else {
            c->state = TCP_SYN_RCVD;          /* simultaneous open */
            send_segment(c, c->iss, F_SYN | F_ACK, 0);
        }
        return;
    }

    if (c->state == TCP_SYN_RCVD && (flags & F_SYN) && !(flags & F_ACK) && seq == c->irs) {
        send_segment(c, c->iss, F_SYN | F_ACK, 0);     /* our SYN-ACK was lost */
        return;
    }

    /* acceptability (RFC 9293 3.10.7.4) */
    uint32_t seglen = dlen + !!(flags & F_SYN) + !!(flags & F_FIN);
    uint32_t wnd = rcv_wnd(c);
    bool ok;
    if (seglen == 0)
        ok = wnd == 0 ? seq == c->rcv_nxt
                      : SEQ_LEQ(c->rcv_nxt, seq) && SEQ_LT(seq, c->rcv_nxt + wnd);
    else if (wnd == 0)
        ok = seq == c->rcv_nxt;                /* zero-window probe: take its ACK */
    else
        ok = (SEQ_LEQ(c->rcv_nxt, seq) && SEQ_LT(seq, c->rcv_nxt + wnd)) ||
             (SEQ_LEQ(c->rcv_nxt, seq + seglen - 1) && SEQ_LT(seq + seglen - 1, c->rcv_nxt + wnd));
    if (!ok) {
        net_stats.tcp_not_acceptable++;
        if (!(flags & F_RST)) {
            c->ack_now = true;
            tcp_output(c);
        }
        return;
    }
    if (flags & F_RST) {
        net_stats.tcp_rst_rx++;
        if (seq == c->rcv_nxt) {
            conn_closed(c, -NET_ECONNRESET);
        } else {
            c->ack_now = true;                 /* RFC 5961 challenge ACK */
            tcp_output(c);
        }
        return;
    }
    if (flags & F_SYN) {
        c->ack_now = true;                     /* challenge ACK */
        tcp_output(c);
        return;
    }
    if (!(flags & F_ACK))
        return;

    if (c->state == TCP_SYN_RCVD) {
        if (SEQ_GT(ack, c->snd_una) && SEQ_LEQ(ack, c->snd_max)) {
            c->state = TCP_ESTABLISHED;
            c->order = order_counter++;
            c->snd_wnd = win;
            c->snd_wl1 = seq;
            c->snd_wl2 = ack;
            c->retries = 0;
            net_stats.tcp_conns_opened++;
        } else {
            reset_reply(c->rip, c->rport, c->lport, seq, ack, flags, dlen);
            return;
        }
    }

    if (SEQ_GT(ack, c->snd_max)) {
        c->ack_now = true;
        tcp_output(c);
        return;
    }
    bool more = false;
    if (SEQ_GT(ack, c->snd_una)) {
        new_ack(c, ack);
        more = true;
    } else if (ack == c->snd_una && dlen == 0 && !(flags & F_FIN) && win == c->snd_wnd &&
               c->snd_max != c->snd_una) {
        dup_ack(c);
        more = c->in_recovery;
    }
    if (SEQ_LT(c->snd_wl1, seq) || (c->snd_wl1 == seq && SEQ_LEQ(c->snd_wl2, ack))) {
        if (c->snd_wnd == 0 && win > 0) {
            c->persist_deadline = 0;
            c->persist_us = 0;
            more = true;
        }
        if (win > c->snd_wnd)
            more = true;
        c->snd_wnd = win;
        c->snd_wl1 = seq;
        c->snd_wl2 = ack;
    }
    if (fin_acked(c)) {
        if (c->state == TCP_FIN_WAIT_1)
            c->state = TCP_FIN_WAIT_2;
        else if (c->state == TCP_CLOSING)
            enter_time_wait(c);
        else if (c->state == TCP_LAST_ACK) {
            conn_closed(c, 0);
            return;
        }
    }
    if (c->state == TCP_TIME_WAIT) {
        if (flags & F_FIN) {
            c->ack_now = true;
            tcp_output(c);
            c->tw_deadline = net_now() + TW_NS;
        }
        return;
    }

    /* data and FIN */
    if ((dlen || (flags & F_FIN)) &&
        (c->state == TCP_ESTABLISHED || c->state == TCP_FIN_WAIT_1 || c->state == TCP_FIN_WAIT_2)) {
        uint32_t fin_seq = seq + dlen;
        bool fin = (flags & F_FIN) != 0;
        if (SEQ_LT(seq, c->rcv_nxt)) {
            uint32_t skip = c->rcv_nxt - seq;
            if (skip >= dlen) {
                dlen = 0;
            } else {
                data += skip;
                dlen -= skip;
            }
            seq = c->rcv_nxt;
        }
        if (dlen && c->user_closed && c->rxbuf) {
            /* nobody will read it: RFC 9293 3.10.7.4 / RFC 2525 */
            send_segment(c, c->snd_nxt, F_RST | F_ACK, 0);
            net_stats.tcp_rst_sent++;
            conn_closed(c, -NET_ECONNRESET);
            return;
        }
        uint32_t rel = seq - c->rcv_nxt;
        if (rel >= wnd) {
            dlen = 0;
            fin = false;
        } else if (rel + dlen > wnd) {
            dlen = wnd - rel;
            fin = false;
        }
        if (dlen) {
            rx_store(c, rel, data, dlen);
            if (rel == 0) {
                bool had_holes = c->n_ooo != 0;
                c->rx_len += dlen;
                c->rcv_nxt += dlen;
                ooo_merge(c);
                if (had_holes || DELACK_NS == 0 || c->rcv_nxt - c->rcv_acked >= 2u * c->mss) {
                    c->ack_now = true;              /* RFC 9293 3.8.6.3: every second full segment */
                } else {
                    /* Delayed: the reply the application is about to write carries it (one frame
                     * per request/response instead of two), else the timer sends it bare. */
                    c->ack_pending = true;
                    if (!c->delack_deadline)
                        c->delack_deadline = net_now() + DELACK_NS;
                }
            } else {
                ooo_add(c, seq, seq + dlen);
                net_stats.tcp_ooo_segs++;
                c->ack_now = true;                  /* duplicate ACK */
                c->dupack_owed = true;
            }
        } else if (rel || SEQ_LT(fin_seq, c->rcv_nxt)) {
            c->ack_now = true;                      /* old or out of window */
        }
        if (fin && SEQ_GT(fin_seq, c->rcv_nxt)) {
            c->ooo_fin = true;
            c->ooo_fin_seq = fin_seq;
            c->ack_now = true;
        } else if (fin && fin_seq == c->rcv_nxt) {
            process_fin(c);
        }
        if (c->ooo_fin && c->ooo_fin_seq == c->rcv_nxt)
            process_fin(c);
    }
    if (c->ack_now || more)
        tcp_output(c);
}

void tcp_input(uint32_t src, uint32_t dst, const uint8_t *t, size_t len)
{
    net_stats.tcp_rx++;
    if (len < 20) {
        net_stats.tcp_bad_len++;
        return;
    }
    size_t doff = (size_t)(t[12] >> 4) * 4;
    if (doff < 20 || doff > len || len > 65535) {
        net_stats.tcp_bad_len++;
        return;
    }
    if (net_csum_fold(net_csum_add(net_pseudo_sum(src, dst, IPPROTO_TCP_, (uint16_t)len),
                                   t, len)) != 0) {
        net_stats.tcp_bad_csum++;
        return;
    }
    uint16_t sport = get16(t), dport = get16(t + 2);
    uint32_t seq = get32(t + 4), ack = get32(t + 8);
    uint8_t flags = t[13] & 0x3f;
    uint16_t win = get16(t + 14);
    struct tcp_opts opt = { 0, false };
    for (size_t i = 20; i < doff;) {
        uint8_t kind = t[i];
        if (kind == 0)
            break;
        if (kind == 1) {
            i++;
            continue;
        }
        if (i + 1 >= doff || t[i + 1] < 2 || i + t[i + 1] > doff) {
            net_stats.tcp_bad_opt++;
            return;
        }
        if (kind == 2 && t[i + 1] == 4)
            opt.mss = get16(t + i + 2);
        else if (kind == 4 && t[i + 1] == 2)
            opt.sack_ok = true;
        i += t[i + 1];
    }
    if (sport == 0 || dport == 0 || ((flags & F_SYN) && (flags & (F_FIN | F_RST)))) {
        net_stats.tcp_bad_len++;
        return;
    }
    const uint8_t *data = t + doff;
    uint32_t dlen = (uint32_t)(len - doff);

    struct tcp_conn *c = find_conn(src, sport, dport);
    if (c && c->state == TCP_TIME_WAIT && (flags & F_SYN) && !(flags & F_ACK) &&
        SEQ_GT(seq, c->rcv_nxt) && find_listener(dport)) {
        conn_free(c);                          /* new incarnation (RFC 1122 4.2.2.13) */
        c = NULL;
    }
    if (c) {
        conn_input(c, seq, ack, flags, win, &opt, data, dlen);
        return;
    }
    struct tcp_conn *l = find_listener(dport);
    if (l) {
        listen_input(l, src, sport, seq, ack, flags, win, &opt, dlen);
        return;
    }
    net_stats.tcp_no_conn++;
    reset_reply(src, sport, dport, seq, ack, flags, dlen);
}

/* ---- timers ---------------------------------------------------------------- */

static void rto_expired(struct tcp_conn *c, uint64_t now)
{
    net_stats.tcp_timeouts++;
    c->rto_deadline = 0;
    if (c->state == TCP_SYN_SENT || c->state == TCP_SYN_RCVD) {
        if (++c->retries > CONFIG_NET_TCP_SYN_RETRIES) {
            conn_closed(c, -NET_ETIMEDOUT);
            return;
        }
        c->rto_us = umin(c->rto_us * 2, RTO_MAX_US);
        c->rtt_active = false;
        send_segment(c, c->iss, c->state == TCP_SYN_SENT ? F_SYN : (F_SYN | F_ACK), 0);
        net_stats.tcp_retransmits++;
        c->rto_deadline = now + (uint64_t)c->rto_us * 1000;
        return;
    }
    if (c->snd_una == c->snd_max || !can_send_data(c))
        return;
    if (c->tlp_armed) {
        c->tlp_armed = false;
        c->tlp_done = true;
        retransmit_one(c);
        arm_rto(c);
        return;
    }
    if (++c->retries > CONFIG_NET_TCP_MAX_RETRIES) {
        send_segment(c, c->snd_nxt, F_RST | F_ACK, 0);
        net_stats.tcp_conns_aborted++;
        conn_closed(c, -NET_ETIMEDOUT);
        return;
    }
    uint32_t flight = c->snd_max - c->snd_una;
    c->ssthresh = umax(flight / 2, 2u * c->mss);
    c->cwnd = c->mss;
    c->in_recovery = false;
    c->dupacks = 0;
    c->rtt_active = false;
    c->rto_us = umin(c->rto_us * 2, RTO_MAX_US);
    c->snd_nxt = c->snd_una;                   /* go back N */
    retransmit_one(c);
    uint32_t off = c->snd_una - c->tx_seq;
    if (off < c->tx_len)
        c->snd_nxt += umin(c->tx_len - off, c->mss);
    else
        c->snd_nxt++;                          /* the FIN */
    if (SEQ_GT(c->snd_nxt, c->snd_max))
        c->snd_max = c->snd_nxt;
    c->rto_deadline = now + (uint64_t)c->rto_us * 1000;
}

void tcp_timers(uint64_t now)
{
    for (int i = 0; i < CONFIG_NET_TCP_CONNS; i++) {
        struct tcp_conn *c = &conns[i];
        if (!c->in_use)
            continue;
        if (c->tw_deadline && now >= c->tw_deadline) {
            c->tw_deadline = 0;
            conn_closed(c, 0);
            continue;
        }
        if (c->rto_deadline && now >= c->rto_deadline)
            rto_expired(c, now);
        if (c->in_use && c->delack_deadline && now >= c->delack_deadline) {
            c->delack_deadline = 0;
            if (c->ack_pending) {
                c->ack_now = true;  /* no reply carried it: the ACK goes bare */
                tcp_output(c);
            }
        }
        if (c->in_use && c->persist_deadline && now >= c->persist_deadline) {
            c->persist_deadline = 0;
            if (c->snd_wnd == 0 && can_send_data(c)) {
                /* an old sequence number makes the peer answer with its window */
                send_segment(c, c->snd_una - 1, F_ACK, 0);
                net_stats.tcp_zwp_sent++;
                c->persist_us = umin(c->persist_us * 2, RTO_MAX_US);
                c->persist_deadline = now + (uint64_t)c->persist_us * 1000;
            }
        }
    }
}

/* Sends the ACKs owed now; delayed ones wait for a reply to carry them or for their timer. */
void tcp_flush(void)
{
    for (int i = 0; i < CONFIG_NET_TCP_CONNS; i++) {
        struct tcp_conn *c = &conns[i];
        if (c->in_use && c->ack_now)
            tcp_output(c);
    }
}

uint64_t tcp_next_deadline(void)
{
    uint64_t d = 0;
    for (int i = 0; i < CONFIG_NET_TCP_CONNS; i++) {
        struct tcp_conn *c = &conns[i];
        if (!c->in_use)
            continue;
        uint64_t t[4] = { c->rto_deadline, c->persist_deadline, c->tw_deadline, c->delack_deadline };
        for (int k = 0; k < 4; k++)
            if (t[k] && (!d || t[k] < d))
                d = t[k];
    }
    return d;
}

/* ---- API ---------------------------------------------------------------------- */

struct tcp_conn *tcp_listen(uint16_t port, int backlog)
{
    if (!port || find_listener(port))
        return NULL;
    for (int i = 0; i < CONFIG_NET_TCP_LISTENERS; i++) {
        struct tcp_conn *l = &listeners[i];
        if (l->in_use)
            continue;
        net_zero(l, sizeof *l);
        l->in_use = true;
        l->is_listener = true;
        l->user_owned = true;
        l->state = TCP_LISTEN;
        l->lport = port;
        l->backlog = backlog < 1 ? 1 : backlog > CONFIG_NET_TCP_CONNS ? CONFIG_NET_TCP_CONNS : backlog;
        return l;
    }
    return NULL;
}

struct tcp_conn *tcp_accept(struct tcp_conn *l)
{
    if (!l || !l->is_listener)
        return NULL;
    struct tcp_conn *best = NULL;
    for (int i = 0; i < CONFIG_NET_TCP_CONNS; i++) {
        struct tcp_conn *c = &conns[i];
        if (c->in_use && c->listener == l && !c->accepted && c->state != TCP_SYN_RCVD &&
            c->state != TCP_CLOSED && (!best || SEQ_LT(c->order, best->order)))
            best = c;
    }
    if (best) {
        best->accepted = true;
        best->user_owned = true;
        best->listener = NULL;
    }
    return best;
}

struct tcp_conn *tcp_connect(uint32_t ip, uint16_t port)
{
    if (!net_if.up || !port || !ip)
        return NULL;
    struct tcp_conn *c = conn_alloc();
    if (!c)
        return NULL;
    if (!next_eport)
        next_eport = (uint16_t)(49152 + net_random() % 16384);
    for (int tries = 0; tries < 16384; tries++) {
        uint16_t p = next_eport++;
        if (next_eport < 49152)
            next_eport = 49152;
        if (!find_conn(ip, port, p) && !find_listener(p)) {
            c->lport = p;
            break;
        }
    }
    if (!c->lport) {
        conn_free(c);
        return NULL;
    }
    c->user_owned = true;
    c->rport = port;
    c->rip = ip;
    c->state = TCP_SYN_SENT;
    c->snd_nxt = c->snd_max = c->iss + 1;
    c->rtt_active = true;
    c->rtt_seq = c->iss + 1;
    c->rtt_start = net_now();
    send_segment(c, c->iss, F_SYN, 0);
    arm_rto(c);
    net_stats.tcp_conns_opened++;
    return c;
}

long tcp_recv(struct tcp_conn *c, void *buf, size_t len)
{
    if (!c || !c->in_use || c->is_listener)
        return -NET_EINVAL;
    if (c->rx_len) {
        uint32_t n = (uint32_t)(len < c->rx_len ? len : c->rx_len);
        uint32_t first = umin(n, RXSZ - c->rx_head);
        net_copy(buf, c->rxbuf + c->rx_head, first);
        net_copy((uint8_t *)buf + first, c->rxbuf, n - first);
        uint32_t old_wnd = c->rcv_adv - c->rcv_nxt;
        c->rx_head += n;
        if (c->rx_head >= RXSZ)
            c->rx_head -= RXSZ;
        c->rx_len -= n;
        /* window update when it opens by a real amount */
        if (synchronized(c) && !c->fin_rcvd) {
            uint32_t nw = rcv_wnd(c);
            if (nw >= old_wnd + umin(RXSZ / 2, 2u * c->mss) || (old_wnd < c->mss && nw >= c->mss)) {
                c->ack_now = true;
                tcp_output(c);
            }
        }
        return (long)n;
    }
    if (c->fin_rcvd)
        return 0;
    if (c->err)
        return c->err;
    if (c->state == TCP_CLOSED)
        return -NET_ENOTCONN;
    return -NET_EAGAIN;
}

long tcp_send(struct tcp_conn *c, const void *buf, size_t len)
{
    if (!c || !c->in_use || c->is_listener)
        return -NET_EINVAL;
    if (c->err)
        return c->err;
    if (c->fin_queued)
        return -NET_EPIPE;
    if (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT &&
        c->state != TCP_SYN_SENT && c->state != TCP_SYN_RCVD)
        return -NET_ENOTCONN;
    uint32_t space = TXSZ - c->tx_len;
    if (!space)
        return -NET_EAGAIN;
    uint32_t n = (uint32_t)(len < space ? len : space);
    uint32_t pos = c->tx_head + c->tx_len;
    if (pos >= TXSZ)
        pos -= TXSZ;
    uint32_t first = umin(n, TXSZ - pos);
    net_copy(c->txbuf + pos, buf, first);
    net_copy(c->txbuf, (const uint8_t *)buf + first, n - first);
    c->tx_len += n;
    tcp_output(c);
    return (long)n;
}

size_t tcp_recv_avail(const struct tcp_conn *c) { return c && c->in_use ? c->rx_len : 0; }

size_t tcp_send_space(const struct tcp_conn *c)
{
    return c && c->in_use && !c->is_listener ? TXSZ - c->tx_len : 0;
}

size_t tcp_send_pending(const struct tcp_conn *c) { return c && c->in_use ? c->tx_len : 0; }

static int queue_fin(struct tcp_conn *c)
{
    if (c->fin_queued)
        return 0;
    if (c->state == TCP_ESTABLISHED)
        c->state = TCP_FIN_WAIT_1;
    else if (c->state == TCP_CLOSE_WAIT)
        c->state = TCP_LAST_ACK;
    else
        return -NET_ENOTCONN;
    c->fin_queued = true;
    tcp_output(c);
    return 0;
}

int tcp_shutdown(struct tcp_conn *c)
{
    if (!c || !c->in_use || c->is_listener)
        return -NET_EINVAL;
    return queue_fin(c);
}

void tcp_abort(struct tcp_conn *c)
{
    if (!c || !c->in_use)
        return;
    if (c->is_listener) {
        tcp_close(c);
        return;
    }
    if (synchronized(c) || c->state == TCP_SYN_RCVD) {
        send_segment(c, c->snd_nxt, F_RST | F_ACK, 0);
        net_stats.tcp_rst_sent++;
        net_stats.tcp_conns_aborted++;
    }
    conn_free(c);
}

int tcp_close(struct tcp_conn *c)
{
    if (!c || !c->in_use)
        return -NET_EINVAL;
    if (c->is_listener) {
        for (int i = 0; i < CONFIG_NET_TCP_CONNS; i++)
            if (conns[i].in_use && conns[i].listener == c && !conns[i].accepted)
                tcp_abort(&conns[i]);
        c->in_use = false;
        return 0;
    }
    c->user_closed = true;
    switch (c->state) {
    case TCP_CLOSED:
    case TCP_SYN_SENT:
        conn_free(c);
        return 0;
    case TCP_SYN_RCVD:
        tcp_abort(c);
        return 0;
    case TCP_ESTABLISHED:
    case TCP_CLOSE_WAIT:
        if (c->rx_len) {                        /* unread data: reset */
            tcp_abort(c);
            return 0;
        }
        return queue_fin(c);
    default:
        return 0;                               /* already closing */
    }
}

enum tcp_state tcp_state(const struct tcp_conn *c)
{
    return c && c->in_use ? (enum tcp_state)c->state : TCP_CLOSED;
}

int tcp_error(const struct tcp_conn *c) { return c ? c->err : -NET_EINVAL; }

void tcp_peer(const struct tcp_conn *c, uint32_t *ip, uint16_t *port)
{
    if (ip)
        *ip = c ? c->rip : 0;
    if (port)
        *port = c ? c->rport : 0;
}

uint16_t tcp_local_port(const struct tcp_conn *c)
{
    return c ? c->lport : 0;
}

const char *tcp_state_name(enum tcp_state s)
{
    static const char *const names[] = {
        "CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED", "FIN_WAIT_1",
        "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT"
    };
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

int tcp_conns_in_use(void)
{
    int n = 0;
    for (int i = 0; i < CONFIG_NET_TCP_CONNS; i++)
        n += conns[i].in_use;
    return n;
}
