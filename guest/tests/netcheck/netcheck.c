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

static unsigned char frame[9216];
static char line[256];
static unsigned char mac[6];

static void say(const char *s)
{
    plat_console_write(s, fmt_strlen(s));
}

static void put_mac(struct fmt_buf *b, const unsigned char *m)
{
    for (int i = 0; i < 6; i++) {
        if (i)
            fmt_putc(b, ':');
        fmt_putc(b, "0123456789abcdef"[m[i] >> 4]);
        fmt_putc(b, "0123456789abcdef"[m[i] & 15]);
    }
}

static int word(const char **p, const char *w)
{
    unsigned i = 0;
    while (w[i] && (*p)[i] == w[i])
        i++;
    if (w[i] || ((*p)[i] != ' ' && (*p)[i] != '\0'))
        return 0;
    *p += i;
    while (**p == ' ')
        (*p)++;
    return 1;
}

static void check(const char *what, int got, int want, int *bad)
{
    if (got == want)
        return;
    struct fmt_buf b;
    fmt_init(&b, line, sizeof line);
    fmt_puts(&b, "unexpected: ");
    fmt_puts(&b, what);
    fmt_puts(&b, " ret=");
    fmt_putu(&b, (unsigned)got);
    fmt_putc(&b, '\n');
    plat_console_write(b.p, b.len);
    *bad = 1;
}

int main(const char *cmdline)
{
    int h = plat_device_find("service0", MFT_DEV_NET_BASIC);
    unsigned mtu;
    if (h < 0 || plat_net_info(h, mac, &mtu) != HVT_OK) {
        say("no net device 'service0'\n");
        return 1;
    }
    const char *p = cmdline;
    struct fmt_buf b;
    fmt_init(&b, line, sizeof line);
    if (word(&p, "info")) {
        fmt_puts(&b, "mac=");
        put_mac(&b, mac);
        fmt_puts(&b, " mtu=");
        fmt_putu(&b, mtu);
        fmt_putc(&b, '\n');
        plat_console_write(b.p, b.len);
        return 0;
    }
    if (word(&p, "echo")) {
        unsigned long long want = 0, idle_ms = 0;
        p += fmt_parse_u64(p, &want);
        while (*p == ' ')
            p++;
        fmt_parse_u64(p, &idle_ms);
        say("echo ready\n");
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
    if (word(&p, "bad")) {
        int bad = 0;
        unsigned long len = sizeof frame;
        /* The host may have queued a frame of its own (IPv6 router solicitation): drain first. */
        for (int i = 0; i < 64 && plat_net_read(h, frame, &len) == HVT_OK; i++)
            len = sizeof frame;
        len = sizeof frame;
        check("read with nothing waiting", plat_net_read(h, frame, &len), HVT_EAGAIN, &bad);
        check("empty frame", plat_net_write(h, frame, 0), HVT_EINVAL, &bad);
        check("frame over the MTU", plat_net_write(h, frame, mtu + 19), HVT_EINVAL, &bad);
        check("handle 0", plat_net_write(0, frame, 60), HVT_EINVAL, &bad);
        check("handle 77", plat_net_write(77, frame, 60), HVT_EINVAL, &bad);
        len = 0;
        check("zero-length buffer", plat_net_read(h, frame, &len), HVT_EINVAL, &bad);
        say(bad ? "bad failed\n" : "bad ok\n");
        return bad;
    }
    say("unknown mode\n");
    return 1;
}
