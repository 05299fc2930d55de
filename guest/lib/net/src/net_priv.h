/* Internal to guest/lib/net. */
#ifndef KILN_NET_PRIV_H
#define KILN_NET_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <kiln/net.h>
#include <kiln/platform.h>
#include <kiln/hvt_abi.h>

#ifndef CONFIG_NET_TCP_CONNS
#define CONFIG_NET_TCP_CONNS 64
#endif
#ifndef CONFIG_NET_TCP_LISTENERS
#define CONFIG_NET_TCP_LISTENERS 8
#endif
#ifndef CONFIG_NET_TCP_RXBUF
#define CONFIG_NET_TCP_RXBUF 16384
#endif
#ifndef CONFIG_NET_TCP_TXBUF
#define CONFIG_NET_TCP_TXBUF 16384
#endif
#ifndef CONFIG_NET_TCP_OOO_RANGES
#define CONFIG_NET_TCP_OOO_RANGES 8
#endif
#ifndef CONFIG_NET_TCP_TIME_WAIT_MS
#define CONFIG_NET_TCP_TIME_WAIT_MS 1000
#endif
#ifndef CONFIG_NET_TCP_RTO_MIN_MS
#define CONFIG_NET_TCP_RTO_MIN_MS 200
#endif
#ifndef CONFIG_NET_TCP_DELACK_US
#define CONFIG_NET_TCP_DELACK_US 500
#endif
#ifndef CONFIG_NET_TCP_MAX_RETRIES
#define CONFIG_NET_TCP_MAX_RETRIES 10
#endif
#ifndef CONFIG_NET_TCP_SYN_RETRIES
#define CONFIG_NET_TCP_SYN_RETRIES 4
#endif
#ifndef CONFIG_NET_ARP_ENTRIES
#define CONFIG_NET_ARP_ENTRIES 16
#endif
#ifndef CONFIG_NET_UDP_BINDS
#define CONFIG_NET_UDP_BINDS 16
#endif

/* Frames are at most 14 + 1500 bytes (the MTU is clamped to 1500). */
#define NET_MTU_MAX    1500
#define NET_FRAME_MAX  (14 + NET_MTU_MAX)
#define ETH_HLEN       14
#define IP_HLEN        20
#define ETHTYPE_IP     0x0800
#define ETHTYPE_ARP    0x0806
#define IPPROTO_ICMP_  1
#define IPPROTO_TCP_   6
#define IPPROTO_UDP_   17

#define NS_PER_MS 1000000ull

struct net_if {
    int handle;
    bool up;
    uint8_t mac[6];
    unsigned mtu;
    uint32_t ip, mask, gw;
};

extern struct net_if net_if;
extern struct net_stats net_stats;
/* The one transmit frame being built (IP payload at ETH_HLEN + IP_HLEN). */
extern uint8_t net_txframe[NET_FRAME_MAX];

/* byte order helpers on unaligned bytes */
static inline uint16_t get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

void net_copy(void *dst, const void *src, size_t n);
void net_zero(void *dst, size_t n);
uint32_t net_csum_add(uint32_t sum, const void *data, size_t len);
uint16_t net_csum_fold(uint32_t sum);
/* Partial sum of the IPv4 pseudo header. */
uint32_t net_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);
uint32_t net_random(void);
void net_random_seed(uint64_t s);
uint64_t net_now(void);

/* eth.c */
int eth_send(const uint8_t dst[6], uint16_t type, uint8_t *frame, size_t len);

const uint8_t *net_bcast_mac(void);

/* arp.c */
void arp_input(const uint8_t *pkt, size_t len);
/* Send the IP frame (Ethernet header not filled yet) to next hop nh. */
int arp_output(uint32_t nh, uint8_t *frame, size_t len);
void arp_timers(uint64_t now);
uint64_t arp_next_deadline(void);

/* ip.c */
void ip_input(const uint8_t *pkt, size_t len);
/* net_txframe holds payload_len bytes at ETH_HLEN + IP_HLEN; fill the IP
 * header and send. */
int ip_output(uint32_t dst, uint8_t proto, size_t payload_len);
bool ip_is_broadcast(uint32_t a);

/* udp.c / tcp.c */
void udp_input(uint32_t src, uint32_t dst, const uint8_t *seg, size_t len);
void tcp_input(uint32_t src, uint32_t dst, const uint8_t *seg, size_t len);
void tcp_timers(uint64_t now);
void tcp_flush(void);
uint64_t tcp_next_deadline(void);

#endif
