/*
 * Kiln's small TCP/IP stack: Ethernet, ARP, IPv4, ICMP echo, UDP, TCP.
 *
 * Event driven and single threaded: the application calls net_poll() in its
 * loop; all protocol work (input, timers, delayed ACKs) happens inside it.
 * Every call is non-blocking.  Memory is static (pool sizes are the
 * library's CONFIG_NET_* options); nothing is allocated at run time.
 *
 * IPv4 addresses are uint32_t in host byte order (10.0.0.2 = 0x0a000002,
 * see NET_IP4()); ports are in host byte order.
 * Errors are negative errno values (the Linux numbers, defined below so no
 * libc is needed).
 */
#ifndef KILN_NET_H
#define KILN_NET_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define NET_EAGAIN        11
#define NET_ENOMEM        12
#define NET_EINVAL        22
#define NET_EPIPE         32
#define NET_ENODEV        19
#define NET_EADDRINUSE    98
#define NET_ECONNRESET   104
#define NET_ENOTCONN     107
#define NET_ETIMEDOUT    110
#define NET_ECONNREFUSED 111

#define NET_IP4(a, b, c, d) \
    (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

/* Counters; malformed or unwanted input is dropped and counted, never fatal. */
struct net_stats {
    uint64_t rx_frames, tx_frames, rx_bytes, tx_bytes;
    uint64_t rx_read_err, tx_err;
    uint64_t eth_short, eth_other_type, eth_not_for_us;
    uint64_t arp_rx, arp_bad, arp_requests_sent, arp_replies_sent, arp_pending_dropped,
             arp_timeouts;
    uint64_t ip_rx, ip_short, ip_bad_version, ip_bad_hlen, ip_bad_len, ip_bad_csum,
             ip_fragment, ip_not_for_us, ip_bad_src, ip_bad_proto, ip_tx_no_route;
    uint64_t icmp_rx, icmp_bad, icmp_echo_replied, icmp_other;
    uint64_t udp_rx, udp_bad_len, udp_bad_csum, udp_no_port, udp_tx, udp_tx_too_big;
    uint64_t tcp_rx, tcp_bad_len, tcp_bad_csum, tcp_bad_opt, tcp_no_conn, tcp_rst_sent,
             tcp_rst_rx, tcp_syn_dropped, tcp_syn_evicted, tcp_not_acceptable,
             tcp_ooo_segs, tcp_retransmits, tcp_fast_retransmits, tcp_timeouts,
             tcp_zwp_sent, tcp_sack_sent, tcp_conns_opened, tcp_conns_aborted;
};

/* ---- interface ------------------------------------------------------- */

/* Attach to the network device NAME (MFT_DEV_NET_BASIC), read its MAC and
 * MTU, set a static address.  netmask 0 means /32 (everything via the
 * gateway); gateway 0 means no default route.  0 or a negative errno. */
int net_init(const char *device_name, uint32_t ip, uint32_t netmask, uint32_t gateway);

/* Parse "ip=A.B.C.D/PREFIX gw=A.B.C.D" words out of a command line (other
 * words are ignored; "netmask=A.B.C.D" is also understood).  Outputs are
 * left alone for missing words.  Returns 0 if an ip= word was found and all
 * net words parsed, -NET_EINVAL otherwise. */
int net_config_from_cmdline(const char *cmdline, uint32_t *ip, uint32_t *netmask,
                            uint32_t *gateway);

/* Wait up to timeout_ns (less if a protocol timer is due) for input, then
 * process every received frame, run the timers and send pending ACKs.
 * timeout 0 = just process what is there. */
void net_poll(uint64_t timeout_ns);

/* The stack's next timer deadline (plat_monotonic_ns time), 0 if none. */
uint64_t net_next_deadline(void);

const struct net_stats *net_get_stats(void);
void net_get_mac(uint8_t mac[6]);
uint32_t net_get_ip(void);
unsigned net_get_mtu(void);

/* "a.b.c.d" -> *ip; 0 or -NET_EINVAL.  end (may be NULL) gets the first
 * character after the address. */
int net_parse_ip(const char *s, uint32_t *ip, const char **end);

/* ---- UDP ------------------------------------------------------------- */

typedef void (*udp_recv_fn)(void *arg, uint32_t src_ip, uint16_t src_port,
                            uint16_t dst_port, const void *data, size_t len);

/* Deliver datagrams for local port PORT to fn (called from net_poll). */
int udp_bind(uint16_t port, udp_recv_fn fn, void *arg);
int udp_unbind(uint16_t port);
/* Send one datagram (no fragmentation: len <= MTU - 28).  Bytes sent or a
 * negative errno.  If the next hop's MAC is unknown the datagram waits in
 * the ARP entry (one per entry; a newer one replaces it). */
long udp_sendto(uint16_t src_port, uint32_t dst_ip, uint16_t dst_port,
                const void *data, size_t len);

/* ---- TCP ------------------------------------------------------------- */

enum tcp_state {
    TCP_CLOSED = 0, TCP_LISTEN, TCP_SYN_SENT, TCP_SYN_RCVD, TCP_ESTABLISHED,
    TCP_FIN_WAIT_1, TCP_FIN_WAIT_2, TCP_CLOSE_WAIT, TCP_CLOSING, TCP_LAST_ACK,
    TCP_TIME_WAIT
};

struct tcp_conn;

/* A listener on PORT; at most backlog connections wait (handshaking or
 * established but not accepted); when full a new SYN evicts the oldest
 * half-open one, or is dropped.  NULL if the port is taken or no listener
 * slot is free. */
struct tcp_conn *tcp_listen(uint16_t port, int backlog);
/* The next established connection of a listener, or NULL (none yet). */
struct tcp_conn *tcp_accept(struct tcp_conn *listener);
/* Active open; the connection is TCP_SYN_SENT until the handshake
 * completes (watch tcp_state()).  NULL if no slot is free. */
struct tcp_conn *tcp_connect(uint32_t ip, uint16_t port);

/* Copy up to len received bytes: >0 bytes, 0 at end of stream (FIN
 * received and all data read), -NET_EAGAIN if nothing is there yet, or
 * -NET_ECONNRESET / -NET_ETIMEDOUT / -NET_ECONNREFUSED / -NET_ENOTCONN. */
long tcp_recv(struct tcp_conn *c, void *buf, size_t len);
/* Queue up to len bytes for sending: bytes queued (may be short), or
 * -NET_EAGAIN if the send buffer is full, -NET_EPIPE after shutdown/close,
 * or the connection's error. */
long tcp_send(struct tcp_conn *c, const void *buf, size_t len);
size_t tcp_recv_avail(const struct tcp_conn *c);
size_t tcp_send_space(const struct tcp_conn *c);
/* Bytes queued but not yet acknowledged by the peer. */
size_t tcp_send_pending(const struct tcp_conn *c);
/* Send FIN after the queued data; receiving continues. */
int tcp_shutdown(struct tcp_conn *c);
/* Release the connection: graceful close (FIN after queued data; RST if
 * received data was left unread).  The handle is invalid afterwards; the
 * stack finishes the close by itself. */
int tcp_close(struct tcp_conn *c);
/* Send RST and release the connection at once. */
void tcp_abort(struct tcp_conn *c);
enum tcp_state tcp_state(const struct tcp_conn *c);
/* 0 or the negative errno that ended the connection. */
int tcp_error(const struct tcp_conn *c);
void tcp_peer(const struct tcp_conn *c, uint32_t *ip, uint16_t *port);
/* The connection's local port (getsockname of a connected socket). */
uint16_t tcp_local_port(const struct tcp_conn *c);
const char *tcp_state_name(enum tcp_state s);
/* Number of connection slots in use (listeners not counted). */
int tcp_conns_in_use(void);

#endif /* KILN_NET_H */
