/*
 * netcheck MODE: drives the net device 'service0' (hvt ABI section 5).
 *   info         mac=xx:xx:xx:xx:xx:xx mtu=N
 *   echo N MS    sends each received frame back to its sender (source MAC
 *                becomes destination, ours the source) until N frames or MS
 *                milliseconds without one; waits in POLL meanwhile
 *   bad          every EINVAL rule, and AGAIN with nothing to read
 */
#include <kiln/hvt_abi.h>
#include <kiln/platform.h>
#include <kiln/fmt.h>
#include <kiln/testkit.h>

static unsigned char frame[9216];
static char line[256];
static unsigned char mac[6];

static void put_mac(struct fmt_buf *b, const unsigned char *m)
{
    for (int i = 0; i < 6; i++) {
        if (i)
            fmt_putc(b, ':');
        fmt_putc(b, "0123456789abcdef"[m[i] >> 4]);
        fmt_putc(b, "0123456789abcdef"[m[i] & 15]);
    }
}

int main(const char *cmdline)
{
    int h = plat_device_find("service0", MFT_DEV_NET_BASIC);
    unsigned mtu;
    if (h < 0 || plat_net_info(h, mac, &mtu) != HVT_OK) {
        tk_say("no net device 'service0'\n");
        return 1;
    }
    const char *p = cmdline;
    struct fmt_buf b;
    fmt_init(&b, line, sizeof line);
    if (tk_word(&p, "info")) {
        fmt_puts(&b, "mac=");
        put_mac(&b, mac);
        fmt_puts(&b, " mtu=");
        fmt_putu(&b, mtu);
        fmt_putc(&b, '\n');
        plat_console_write(b.p, b.len);
        return 0;
    }
    if (tk_word(&p, "echo")) {
        unsigned long long want = 0, idle_ms = 0;
        p += fmt_parse_u64(p, &want);
        while (*p == ' ')
            p++;
        fmt_parse_u64(p, &idle_ms);
        tk_say("echo ready\n");
        unsigned long long echoed = 0;
        while (echoed < want) {
            unsigned long long ready = 0;
            if (plat_poll(idle_ms * 1000000ull, &ready) == 0)
                break;
            for (;;) {
                unsigned long len = sizeof frame;
                if (plat_net_read(h, frame, &len) != HVT_OK)
                    break;
                if (len < 14)
                    continue;
                for (int i = 0; i < 6; i++) {
                    frame[i] = frame[6 + i];
                    frame[6 + i] = mac[i];
                }
                if (plat_net_write(h, frame, len) == HVT_OK)
                    echoed++;
            }
        }
        fmt_puts(&b, "echoed ");
        fmt_putu(&b, echoed);
        fmt_putc(&b, '\n');
        plat_console_write(b.p, b.len);
        return echoed == want ? 0 : 1;
    }
    if (tk_word(&p, "bad")) {
        int bad = 0;
        unsigned long len = sizeof frame;
        /* The host may have queued a frame of its own (IPv6 router solicitation): drain first. */
        for (int i = 0; i < 64 && plat_net_read(h, frame, &len) == HVT_OK; i++)
            len = sizeof frame;
        len = sizeof frame;
        tk_expect("read with nothing waiting", plat_net_read(h, frame, &len), HVT_EAGAIN, &bad);
        tk_expect("empty frame", plat_net_write(h, frame, 0), HVT_EINVAL, &bad);
        tk_expect("frame over the MTU", plat_net_write(h, frame, mtu + 19), HVT_EINVAL, &bad);
        tk_expect("handle 0", plat_net_write(0, frame, 60), HVT_EINVAL, &bad);
        tk_expect("handle 77", plat_net_write(77, frame, 60), HVT_EINVAL, &bad);
        len = 0;
        tk_expect("zero-length buffer", plat_net_read(h, frame, &len), HVT_EINVAL, &bad);
        tk_say(bad ? "bad failed\n" : "bad ok\n");
        return bad;
    }
    tk_say("unknown mode\n");
    return 1;
}
