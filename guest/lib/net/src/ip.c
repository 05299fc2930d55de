/* IPv4 (RFC 791) without fragmentation, and ICMP echo (RFC 792). */
#include "net_priv.h"

static uint16_t ip_id;

bool ip_is_broadcast(uint32_t a)
{
    if (a == 0xffffffffu)
        return true;
    if (net_if.mask && net_if.mask != 0xffffffffu && (a & ~net_if.mask) == ~net_if.mask &&
        (a & net_if.mask) == (net_if.ip & net_if.mask))
        return true;
    return false;
}

static bool ip_bad_source(uint32_t a)
{
    return a == 0 || ip_is_broadcast(a) || (a >> 28) == 0xe || (a >> 24) == 127;
}

static void icmp_input(uint32_t src, const uint8_t *p, size_t len)
{
    net_stats.icmp_rx++;
    if (len < 8 || net_csum_fold(net_csum_add(0, p, len)) != 0) {
        net_stats.icmp_bad++;
        return;
    }
    if (p[0] != 8 || p[1] != 0) {
        net_stats.icmp_other++;
        return;
    }
    size_t max = net_if.mtu - IP_HLEN;
    if (len > max) {
        net_stats.icmp_bad++;
        return;
    }
    uint8_t *r = net_txframe + ETH_HLEN + IP_HLEN;
    net_copy(r, p, len);
    r[0] = 0;           /* echo reply */
    r[1] = 0;
    put16(r + 2, 0);
    put16(r + 2, net_csum_fold(net_csum_add(0, r, len)));
    if (ip_output(src, IPPROTO_ICMP_, len) == 0)
        net_stats.icmp_echo_replied++;
}

void ip_input(const uint8_t *p, size_t len)
{
    net_stats.ip_rx++;
    if (len < IP_HLEN) {
        net_stats.ip_short++;
        return;
    }
    if ((p[0] >> 4) != 4) {
        net_stats.ip_bad_version++;
        return;
    }
    size_t hlen = (size_t)(p[0] & 15) * 4;
    if (hlen < IP_HLEN || hlen > len) {
        net_stats.ip_bad_hlen++;
        return;
    }
    size_t tot = get16(p + 2);
    if (tot < hlen || tot > len) {
        net_stats.ip_bad_len++;
        return;
    }
    if (net_csum_fold(net_csum_add(0, p, hlen)) != 0) {
        net_stats.ip_bad_csum++;
        return;
    }
    uint16_t frag = get16(p + 6);
    if ((frag & 0x2000) || (frag & 0x1fff)) {      /* MF or an offset */
        net_stats.ip_fragment++;
        return;
    }
    uint32_t src = get32(p + 12), dst = get32(p + 16);
    bool bcast = ip_is_broadcast(dst);
    if (dst != net_if.ip && !bcast) {
        net_stats.ip_not_for_us++;
        return;
    }
    if (ip_bad_source(src) || src == net_if.ip) {
        net_stats.ip_bad_src++;
        return;
    }
    const uint8_t *pl = p + hlen;
    size_t plen = tot - hlen;       /* Ethernet padding is cut off here */
    switch (p[9]) {
    case IPPROTO_ICMP_:
        if (!bcast)
            icmp_input(src, pl, plen);
        break;
    case IPPROTO_UDP_:
        udp_input(src, dst, pl, plen);
        break;
    case IPPROTO_TCP_:
        if (!bcast)
            tcp_input(src, dst, pl, plen);
        break;
    default:
        net_stats.ip_bad_proto++;
        break;
    }
}

int ip_output(uint32_t dst, uint8_t proto, size_t payload_len)
{
    if (!net_if.up)
        return -NET_ENODEV;
    if (payload_len + IP_HLEN > net_if.mtu)
        return -NET_EINVAL;
    uint32_t nh = dst;
    if (!ip_is_broadcast(dst) && ((dst ^ net_if.ip) & net_if.mask) != 0) {
        if (!net_if.gw) {
            net_stats.ip_tx_no_route++;
            return -NET_EINVAL;
        }
        nh = net_if.gw;
    }
    uint8_t *h = net_txframe + ETH_HLEN;
    h[0] = 0x45;
    h[1] = 0;
    put16(h + 2, (uint16_t)(IP_HLEN + payload_len));
    put16(h + 4, ip_id++);
    put16(h + 6, 0x4000);           /* DF: we never fragment */
    h[8] = 64;                      /* TTL */
    h[9] = proto;
    put16(h + 10, 0);
    put32(h + 12, net_if.ip);
    put32(h + 16, dst);
    put16(h + 10, net_csum_fold(net_csum_add(0, h, IP_HLEN)));
    return arp_output(nh, net_txframe, ETH_HLEN + IP_HLEN + payload_len);
}
