/* The interface: init, the poll loop, Ethernet in/out, command line. */
#include "net_priv.h"

struct net_if net_if = { .handle = -1 };
struct net_stats net_stats;
uint8_t net_txframe[NET_FRAME_MAX];
static uint8_t rxframe[NET_FRAME_MAX + 64];

static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

int net_init(const char *device_name, uint32_t ip, uint32_t netmask, uint32_t gateway)
{
    int h = plat_device_find(device_name, MFT_DEV_NET_BASIC);
    if (h < 0)
        return -NET_ENODEV;
    unsigned mtu = 0;
    if (plat_net_info(h, net_if.mac, &mtu) != HVT_OK)
        return -NET_ENODEV;
    if (mtu < 576)
        mtu = 576;   /* the minimum every IPv4 host must accept */
    if (mtu > NET_MTU_MAX)
        mtu = NET_MTU_MAX;
    net_if.handle = h;
    net_if.mtu = mtu;
    net_if.ip = ip;
    net_if.mask = netmask;
    net_if.gw = gateway;
    net_if.up = true;
    uint64_t seed = plat_monotonic_ns() ^ ((uint64_t)ip << 16);
    for (int i = 0; i < 6; i++)
        seed = seed * 131 + net_if.mac[i];
    net_random_seed(seed);
    return 0;
}

const struct net_stats *net_get_stats(void) { return &net_stats; }
void net_get_mac(uint8_t mac[6]) { net_copy(mac, net_if.mac, 6); }
uint32_t net_get_ip(void) { return net_if.ip; }
unsigned net_get_mtu(void) { return net_if.mtu; }

int eth_send(const uint8_t dst[6], uint16_t type, uint8_t *frame, size_t len)
{
    if (!net_if.up)
        return -NET_ENODEV;
    net_copy(frame, dst, 6);
    net_copy(frame + 6, net_if.mac, 6);
    put16(frame + 12, type);
    if (len < 60) {               /* pad to the Ethernet minimum */
        net_zero(frame + len, 60 - len);
        len = 60;
    }
    if (plat_net_write(net_if.handle, frame, len) != HVT_OK) {
        net_stats.tx_err++;
        return -NET_EAGAIN;
    }
    net_stats.tx_frames++;
    net_stats.tx_bytes += len;
    return 0;
}

static void eth_input(const uint8_t *f, size_t len)
{
    net_stats.rx_frames++;
    net_stats.rx_bytes += len;
    if (len < ETH_HLEN) {
        net_stats.eth_short++;
        return;
    }
    /* ours, broadcast or (ignored) multicast */
    bool ours = true;
    for (int i = 0; i < 6; i++)
        if (f[i] != net_if.mac[i])
            ours = false;
    bool bc = true;
    for (int i = 0; i < 6; i++)
        if (f[i] != 0xff)
            bc = false;
    if (!ours && !bc) {
        net_stats.eth_not_for_us++;
        return;
    }
    uint16_t type = get16(f + 12);
    if (type == ETHTYPE_ARP)
        arp_input(f + ETH_HLEN, len - ETH_HLEN);
    else if (type == ETHTYPE_IP)
        ip_input(f + ETH_HLEN, len - ETH_HLEN);
    else
        net_stats.eth_other_type++;
}

uint64_t net_next_deadline(void)
{
    uint64_t a = tcp_next_deadline(), b = arp_next_deadline();
    if (!a)
        return b;
    if (!b)
        return a;
    return a < b ? a : b;
}

void net_poll(uint64_t timeout_ns)
{
    if (!net_if.up)
        return;
    uint64_t now = net_now();
    uint64_t next = net_next_deadline();
    if (next) {
        uint64_t until = next > now ? next - now : 0;
        if (until < timeout_ns)
            timeout_ns = until;
    }
    unsigned long long ready = 0;
    plat_poll(timeout_ns, &ready);
    for (int i = 0; i < 1024; i++) {
        unsigned long len = sizeof rxframe;
        int r = plat_net_read(net_if.handle, rxframe, &len);
        if (r == HVT_EAGAIN)
            break;
        if (r != HVT_OK || len > sizeof rxframe) {
            net_stats.rx_read_err++;
            break;
        }
        eth_input(rxframe, len);
        if ((i & 31) == 31)
            tcp_flush();      /* keep ACKs flowing during long bursts */
    }
    now = net_now();
    arp_timers(now);
    tcp_timers(now);
    tcp_flush();
}

/* ---- addresses and the command line --------------------------------- */

int net_parse_ip(const char *s, uint32_t *ip, const char **end)
{
    uint32_t v = 0;
    for (int part = 0; part < 4; part++) {
        if (part) {
            if (*s != '.')
                return -NET_EINVAL;
            s++;
        }
        if (*s < '0' || *s > '9')
            return -NET_EINVAL;
        unsigned n = 0;
        int digits = 0;
        while (*s >= '0' && *s <= '9') {
            n = n * 10 + (unsigned)(*s - '0');
            s++;
            if (++digits > 3 || n > 255)
                return -NET_EINVAL;
        }
        v = (v << 8) | n;
    }
    *ip = v;
    if (end)
        *end = s;
    return 0;
}

static bool word_is(const char *w, const char *key, const char **val)
{
    while (*key) {
        if (*w != *key)
            return false;
        w++;
        key++;
    }
    *val = w;
    return true;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

int net_config_from_cmdline(const char *cmdline, uint32_t *ip, uint32_t *netmask,
                            uint32_t *gateway)
{
    bool have_ip = false, bad = false;
    const char *p = cmdline ? cmdline : "";
    while (*p) {
        while (is_space(*p))
            p++;
        if (!*p)
            break;
        const char *v, *e;
        uint32_t a;
        if (word_is(p, "ip=", &v)) {
            if (net_parse_ip(v, &a, &e) == 0) {
                uint32_t m = 0xffffff00u;           /* default /24 */
                if (*e == '/') {
                    e++;
                    unsigned pl = 0;
                    int digits = 0;
                    while (*e >= '0' && *e <= '9' && digits < 3) {
                        pl = pl * 10 + (unsigned)(*e - '0');
                        e++;
                        digits++;
                    }
                    if (!digits || pl > 32)
                        bad = true;
                    m = pl == 0 ? 0 : 0xffffffffu << (32 - pl);
                }
                if (*e && !is_space(*e))
                    bad = true;
                else {
                    *ip = a;
                    if (netmask)
                        *netmask = m;
                    have_ip = true;
                }
            } else
                bad = true;
        } else if (word_is(p, "gw=", &v)) {
            if (net_parse_ip(v, &a, &e) == 0 && (!*e || is_space(*e))) {
                if (gateway)
                    *gateway = a;
            } else
                bad = true;
        } else if (word_is(p, "netmask=", &v)) {
            if (net_parse_ip(v, &a, &e) == 0 && (!*e || is_space(*e))) {
                if (netmask)
                    *netmask = a;
            } else
                bad = true;
        }
        while (*p && !is_space(*p))
            p++;
    }
    return have_ip && !bad ? 0 : -NET_EINVAL;
}

/* used by arp.c / ip.c for broadcasts */
const uint8_t *net_bcast_mac(void) { return bcast_mac; }
