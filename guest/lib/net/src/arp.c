/* ARP (RFC 826): a small cache, requests, replies, one waiting packet per
 * unresolved entry. */
#include "net_priv.h"

#define ARP_FREE     0
#define ARP_PENDING  1
#define ARP_VALID    2

#define ARP_VALID_NS   (300ull * 1000 * NS_PER_MS)  /* 5 min */
#define ARP_RETRY_NS   (1000ull * NS_PER_MS)
#define ARP_RETRIES    3

struct arp_entry {
    uint8_t state;
    uint8_t tries;
    uint8_t mac[6];
    uint32_t ip;
    uint64_t deadline;         /* VALID: expiry; PENDING: next retry */
    uint64_t used;
    uint16_t pending_len;      /* 0 = no packet waiting */
    uint8_t pending[NET_FRAME_MAX];
};

static struct arp_entry arp_table[CONFIG_NET_ARP_ENTRIES];
static uint8_t arp_frame[64];

static void arp_send(uint16_t op, const uint8_t *tha, uint32_t tpa, const uint8_t *dst_mac)
{
    uint8_t *a = arp_frame + ETH_HLEN;
    put16(a, 1);
    put16(a + 2, ETHTYPE_IP);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, op);
    net_copy(a + 8, net_if.mac, 6);
    put32(a + 14, net_if.ip);
    net_copy(a + 18, tha, 6);
    put32(a + 24, tpa);
    eth_send(dst_mac, ETHTYPE_ARP, arp_frame, ETH_HLEN + 28);
    if (op == 1)
        net_stats.arp_requests_sent++;
    else
        net_stats.arp_replies_sent++;
}

static void arp_request(uint32_t ip)
{
    static const uint8_t zero[6];
    arp_send(1, zero, ip, net_bcast_mac());
}

static struct arp_entry *arp_find(uint32_t ip)
{
    for (int i = 0; i < CONFIG_NET_ARP_ENTRIES; i++)
        if (arp_table[i].state != ARP_FREE && arp_table[i].ip == ip)
            return &arp_table[i];
    return NULL;
}

static struct arp_entry *arp_new(uint32_t ip)
{
    struct arp_entry *victim = NULL;
    for (int i = 0; i < CONFIG_NET_ARP_ENTRIES; i++) {
        struct arp_entry *e = &arp_table[i];
        if (e->state == ARP_FREE) {
            victim = e;
            break;
        }
        if (!victim || e->used < victim->used)
            victim = e;
    }
    if (victim->state != ARP_FREE && victim->pending_len)
        net_stats.arp_pending_dropped++;
    victim->state = ARP_FREE;
    victim->ip = ip;
    victim->pending_len = 0;
    victim->tries = 0;
    victim->used = net_now();
    return victim;
}

static void arp_update(struct arp_entry *e, const uint8_t *mac)
{
    net_copy(e->mac, mac, 6);
    e->state = ARP_VALID;
    e->deadline = net_now() + ARP_VALID_NS;
    if (e->pending_len) {
        uint16_t l = e->pending_len;
        e->pending_len = 0;
        eth_send(e->mac, ETHTYPE_IP, e->pending, l);
    }
}

void arp_input(const uint8_t *a, size_t len)
{
    net_stats.arp_rx++;
    if (len < 28 || get16(a) != 1 || get16(a + 2) != ETHTYPE_IP || a[4] != 6 || a[5] != 4) {
        net_stats.arp_bad++;
        return;
    }
    uint16_t op = get16(a + 6);
    const uint8_t *sha = a + 8;
    uint32_t spa = get32(a + 14);
    uint32_t tpa = get32(a + 24);
    if (op != 1 && op != 2) {
        net_stats.arp_bad++;
        return;
    }
    /* ignore nonsense senders (broadcast/multicast MACs, our own address) */
    if ((sha[0] & 1) || spa == 0 || spa == net_if.ip || ip_is_broadcast(spa)) {
        net_stats.arp_bad++;
        return;
    }
    struct arp_entry *e = arp_find(spa);
    bool merged = false;
    if (e) {
        arp_update(e, sha);
        merged = true;
    }
    if (tpa != net_if.ip)
        return;
    if (!merged)
        arp_update(arp_new(spa), sha);
    if (op == 1)
        arp_send(2, sha, spa, sha);
}

int arp_output(uint32_t nh, uint8_t *frame, size_t len)
{
    if (ip_is_broadcast(nh))
        return eth_send(net_bcast_mac(), ETHTYPE_IP, frame, len);
    uint64_t now = net_now();
    struct arp_entry *e = arp_find(nh);
    if (e && e->state == ARP_VALID) {
        e->used = now;
        return eth_send(e->mac, ETHTYPE_IP, frame, len);
    }
    if (!e) {
        e = arp_new(nh);
        e->state = ARP_PENDING;
        e->tries = 1;
        e->deadline = now + ARP_RETRY_NS;
        arp_request(nh);
    }
    if (e->pending_len)
        net_stats.arp_pending_dropped++;   /* the newer packet wins */
    if (len > sizeof e->pending)
        return -NET_EINVAL;
    net_copy(e->pending, frame, len);
    e->pending_len = (uint16_t)len;
    return 0;
}

void arp_timers(uint64_t now)
{
    for (int i = 0; i < CONFIG_NET_ARP_ENTRIES; i++) {
        struct arp_entry *e = &arp_table[i];
        if (e->state == ARP_FREE || now < e->deadline)
            continue;
        if (e->state == ARP_VALID) {
            e->state = ARP_FREE;        /* expired: re-resolve on next use */
        } else if (e->tries >= ARP_RETRIES) {
            net_stats.arp_timeouts++;
            if (e->pending_len)
                net_stats.arp_pending_dropped++;
            e->pending_len = 0;
            e->state = ARP_FREE;
        } else {
            e->tries++;
            e->deadline = now + ARP_RETRY_NS;
            arp_request(e->ip);
        }
    }
}

uint64_t arp_next_deadline(void)
{
    uint64_t d = 0;
    for (int i = 0; i < CONFIG_NET_ARP_ENTRIES; i++) {
        struct arp_entry *e = &arp_table[i];
        if (e->state == ARP_PENDING && (!d || e->deadline < d))
            d = e->deadline;
    }
    return d;
}
