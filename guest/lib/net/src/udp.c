/* UDP (RFC 768). */
#include "net_priv.h"

struct udp_bind {
    uint16_t port;
    bool used;
    udp_recv_fn fn;
    void *arg;
};

static struct udp_bind binds[CONFIG_NET_UDP_BINDS];

int udp_bind(uint16_t port, udp_recv_fn fn, void *arg)
{
    if (!port || !fn)
        return -NET_EINVAL;
    struct udp_bind *fr = NULL;
    for (int i = 0; i < CONFIG_NET_UDP_BINDS; i++) {
        if (binds[i].used && binds[i].port == port)
            return -NET_EADDRINUSE;
        if (!binds[i].used && !fr)
            fr = &binds[i];
    }
    if (!fr)
        return -NET_ENOMEM;
    fr->used = true;
    fr->port = port;
    fr->fn = fn;
    fr->arg = arg;
    return 0;
}

int udp_unbind(uint16_t port)
{
    for (int i = 0; i < CONFIG_NET_UDP_BINDS; i++)
        if (binds[i].used && binds[i].port == port) {
            binds[i].used = false;
            return 0;
        }
    return -NET_EINVAL;
}

void udp_input(uint32_t src, uint32_t dst, const uint8_t *u, size_t len)
{
    net_stats.udp_rx++;
    if (len < 8) {
        net_stats.udp_bad_len++;
        return;
    }
    size_t ulen = get16(u + 4);
    if (ulen < 8 || ulen > len) {
        net_stats.udp_bad_len++;
        return;
    }
    if (get16(u + 6) != 0) {
        uint32_t s = net_pseudo_sum(src, dst, IPPROTO_UDP_, (uint16_t)ulen);
        if (net_csum_fold(net_csum_add(s, u, ulen)) != 0) {
            net_stats.udp_bad_csum++;
            return;
        }
    }
    uint16_t sport = get16(u), dport = get16(u + 2);
    for (int i = 0; i < CONFIG_NET_UDP_BINDS; i++)
        if (binds[i].used && binds[i].port == dport) {
            binds[i].fn(binds[i].arg, src, sport, dport, u + 8, ulen - 8);
            return;
        }
    net_stats.udp_no_port++;
}

long udp_sendto(uint16_t src_port, uint32_t dst_ip, uint16_t dst_port,
                const void *data, size_t len)
{
    if (!net_if.up)
        return -NET_ENODEV;
    if (len + 8 + IP_HLEN > net_if.mtu) {
        net_stats.udp_tx_too_big++;
        return -NET_EINVAL;
    }
    uint8_t *u = net_txframe + ETH_HLEN + IP_HLEN;
    /* data may point into net_txframe's payload (echo from a callback):
     * copy first with memmove semantics */
    if (len)
        __builtin_memmove(u + 8, data, len);
    put16(u, src_port);
    put16(u + 2, dst_port);
    put16(u + 4, (uint16_t)(len + 8));
    put16(u + 6, 0);
    uint32_t s = net_pseudo_sum(net_if.ip, dst_ip, IPPROTO_UDP_, (uint16_t)(len + 8));
    uint16_t c = net_csum_fold(net_csum_add(s, u, len + 8));
    put16(u + 6, c ? c : 0xffff);
    int r = ip_output(dst_ip, IPPROTO_UDP_, len + 8);
    if (r < 0)
        return r;
    net_stats.udp_tx++;
    return (long)len;
}
