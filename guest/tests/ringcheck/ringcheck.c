/*
 * ringcheck MODE: a hostile guest for the network ring (hvt spec 6, Kiln
 * spec 3 in docs/kiln-abi.md).  It never calls plat_net_*: it drives the
 * ring by hand, as a buggy or malicious guest would, and checks what the
 * monitor does.
 *   entries    every entry rule of Kiln spec 3.4: each garbage entry gets an
 *              EINVAL commit carrying its id, the good ones among them OK
 *   hostline   the guest writes over the monitor's cache line: nothing
 *              changes, the monitor writes its own values back (3.2)
 *   room       with 1024 commits unread the next entry waits, and is taken
 *              once one commit is read back (3.3)
 *   ahead      ent_tail 5000 entries ahead: the monitor must stop the guest
 *   backwards  ent_tail moves backwards: stopped
 *   comhead    com_head moves past com_tail: stopped
 * The last three print "not stopped" and fail if the monitor lets them go on.
 */
#include <kiln/hvt_abi.h>
#include <kiln/kiln_abi.h>
#include <kiln/platform.h>
#include <kiln/fmt.h>
#include <kiln/testkit.h>

#define SLOTS HVT_NET_RING_SLOTS
#define READ  HVT_NET_RING_OP_READ
#define WRITE HVT_NET_RING_OP_WRITE

static struct hvt_net_ring *ring;
static uint8_t *bufs;
static uint32_t tail, head;
static int handle;
static unsigned mtu;
static unsigned char mac[6];
static uint8_t low_frame[64];            /* ordinary RAM below the area: a good place for a frame */
static char line[160];

static void say_num(const char *what, unsigned long long v)
{
    struct fmt_buf b;
    fmt_init(&b, line, sizeof line);
    fmt_puts(&b, what);
    fmt_putu(&b, v);
    fmt_putc(&b, '\n');
    plat_console_write(b.p, b.len);
}

/* A frame to ourselves with the local experimental EtherType: nobody answers. */
static void make_frame(uint8_t *f)
{
    for (int i = 0; i < 6; i++)
        f[i] = f[6 + i] = mac[i];
    f[12] = 0x88;
    f[13] = 0xb5;
    for (int i = 14; i < 60; i++)
        f[i] = (uint8_t)i;
}

static void put(uint32_t op, uint32_t h, uint64_t data, uint32_t len, uint32_t id, uint64_t reserved)
{
    struct hvt_net_ring_entry *e = &ring->ent[tail % SLOTS];
    e->op = op;
    e->handle = h;
    e->data = data;
    e->len = len;
    e->id = id;
    e->reserved = reserved;
    tail++;
}

/* Publishes ent_tail and always kicks (a kick is never wrong, Kiln spec 3.5). */
static void publish(void)
{
    __atomic_store_n(&ring->ent_tail, tail, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    hvt_net_ring_kick();
}

static void poll_once(unsigned long long ns)
{
    volatile struct hvt_hc_poll a = { .timeout_nsecs = ns };
    hvt_do_hypercall(HVT_HYPERCALL_POLL, &a);
}

/* Waits until the monitor published at least n commits; 0 if it did not within 5 s. */
static int wait_commits(uint32_t n)
{
    unsigned long long end = plat_monotonic_ns() + 5000000000ull;
    while (__atomic_load_n(&ring->com_tail, __ATOMIC_ACQUIRE) - n > 0x80000000u) {
        if (plat_monotonic_ns() > end)
            return 0;
        poll_once(100000000ull);
    }
    return 1;
}

static void read_back(void)
{
    head = __atomic_load_n(&ring->com_tail, __ATOMIC_ACQUIRE);
    __atomic_store_n(&ring->com_head, head, __ATOMIC_RELEASE);
}

static const struct hvt_net_ring_commit *commit(uint32_t i)
{
    return &ring->com[i % SLOTS];
}

struct bad { uint32_t op, h; uint64_t data; uint32_t len; uint64_t reserved; const char *what; };

static int entries(void)
{
    uint64_t ram_end = (uint64_t)(uintptr_t)ring + KILN_NET_RING_AREA;
    uint64_t ring_gpa = (uint64_t)(uintptr_t)ring;
    uint64_t buf0 = (uint64_t)(uintptr_t)bufs;
    uint64_t low = (uint64_t)(uintptr_t)low_frame;
    make_frame(bufs);
    make_frame(low_frame);
    const struct bad cases[] = {
        { 3, handle, buf0, 60, 0, "unknown op 3" },
        { 0, handle, buf0, 60, 0, "op 0" },
        { 0xffffffffu, handle, buf0, 60, 0, "op 0xffffffff" },
        { WRITE, 0, buf0, 60, 0, "handle 0" },
        { WRITE, 77, buf0, 60, 0, "handle 77" },
        { WRITE, 0xffffffffu, buf0, 60, 0, "handle 0xffffffff" },
        { WRITE, handle, buf0, 60, 1, "reserved not 0" },
        { WRITE, handle, buf0, 0, 0, "write len 0" },
        { WRITE, handle, buf0, mtu + 19, 0, "write over MTU + 18" },
        { WRITE, handle, buf0, 2049, 0, "write over a slot buffer" },
        { WRITE, handle, buf0, 0xffffffffu, 0, "write len 0xffffffff" },
        { READ, handle, buf0, 0, 0, "read len 0" },
        { READ, handle, 0x200000, 65537, 0, "read over 64 KiB" },
        { WRITE, handle, ram_end, 60, 0, "data at the end of RAM" },
        { WRITE, handle, ram_end - 8, 60, 0, "data across the end of RAM" },
        { WRITE, handle, 0x100000000ull, 60, 0, "data above 4 GiB" },
        { WRITE, handle, 0xfffffffffffff000ull, 60, 0, "data near 2^64" },
        { WRITE, handle, 0x7ffffffffffffff0ull, 60, 0, "data + len overflowing" },
        { WRITE, handle, 0x1000, 60, 0, "data in the GDT page" },
        { WRITE, handle, 0xffe0, 60, 0, "data across 0x10000" },
        { READ, handle, ring_gpa, 64, 0, "read into the guest's cache line" },
        { READ, handle, ring_gpa + 64, 16, 0, "read into the monitor's cache line" },
        { READ, handle, ring_gpa + 32896, 2048, 0, "read into the commits" },
        { READ, handle, ring_gpa - 16, 2048, 0, "read across the ring's start" },
        { READ, handle, buf0 - 8, 2048, 0, "read across the ring pages' end" },
    };
    const unsigned n = sizeof cases / sizeof cases[0];
    /* Garbage and good entries interleaved: a good write from a slot buffer
     * and one from ordinary RAM, the first and the last. */
    put(WRITE, handle, buf0, 60, 1000, 0);
    for (unsigned i = 0; i < n; i++)
        put(cases[i].op, cases[i].h, cases[i].data, cases[i].len, 100 + i, cases[i].reserved);
    put(WRITE, handle, low, 60, 1001, 0);
    publish();
    if (!wait_commits(n + 2)) {
        tk_say("entries: the monitor did not commit every entry\n");
        return 1;
    }
    int bad = 0;
    for (uint32_t i = 0; i < n + 2; i++) {
        const struct hvt_net_ring_commit *c = commit(i);
        if (c->id == 1000 || c->id == 1001) {
            tk_expect(c->id == 1000 ? "good write from a slot buffer" : "good write from RAM", c->ret, HVT_OK, &bad);
            tk_expect("its length", (int)c->len, 60, &bad);
        } else if (c->id >= 100 && c->id < 100 + n) {
            tk_expect(cases[c->id - 100].what, c->ret, HVT_EINVAL, &bad);
        } else {
            say_num("entries: a commit with an id never posted: ", c->id);
            bad = 1;
        }
    }
    read_back();
    if (__atomic_load_n(&ring->ent_head, __ATOMIC_ACQUIRE) != n + 2) {
        tk_say("entries: ent_head did not reach ent_tail\n");
        bad = 1;
    }
    tk_say(bad ? "entries failed\n" : "entries ok\n");
    return bad;
}

static int hostline(void)
{
    make_frame(bufs);
    ring->ent_head = 999;
    ring->com_tail = 12345;
    ring->needs_kick = 7;
    put(WRITE, handle, (uint64_t)(uintptr_t)bufs, 60, 42, 0);
    publish();
    /* The monitor writes com_tail = 1 and ent_head = 1 over the garbage. */
    unsigned long long end = plat_monotonic_ns() + 5000000000ull;
    while (__atomic_load_n(&ring->com_tail, __ATOMIC_ACQUIRE) != 1 && plat_monotonic_ns() < end)
        poll_once(100000000ull);
    int bad = 0;
    tk_expect("com_tail written back", (int)ring->com_tail, 1, &bad);
    tk_expect("ent_head written back", (int)ring->ent_head, 1, &bad);
    tk_expect("the commit's id", (int)commit(0)->id, 42, &bad);
    tk_expect("the commit's ret", commit(0)->ret, HVT_OK, &bad);
    tk_say(bad ? "hostline failed\n" : "hostline ok\n");
    return bad;
}

static int room(void)
{
    make_frame(bufs);
    for (uint32_t i = 0; i < SLOTS; i++)
        put(WRITE, handle, (uint64_t)(uintptr_t)bufs, 60, i, 0);
    publish();
    int bad = 0;
    if (!wait_commits(SLOTS)) {
        tk_say("room: 1024 writes were not committed\n");
        return 1;
    }
    put(WRITE, handle, (uint64_t)(uintptr_t)bufs, 60, 5000, 0);
    publish();
    /* No commit is read back: the 1025th entry must wait.  POLL returns at
     * once while commits wait, so wait on the clock. */
    unsigned long long until = plat_monotonic_ns() + 300000000ull;
    while (plat_monotonic_ns() < until)
        ;
    tk_expect("ent_head with no room", (int)__atomic_load_n(&ring->ent_head, __ATOMIC_ACQUIRE), SLOTS, &bad);
    tk_expect("com_tail with no room", (int)__atomic_load_n(&ring->com_tail, __ATOMIC_ACQUIRE), SLOTS, &bad);
    head = 1;
    __atomic_store_n(&ring->com_head, head, __ATOMIC_RELEASE);
    publish();   /* nothing new to post: the kick alone wakes the monitor */
    if (!wait_commits(SLOTS + 1)) {
        tk_say("room: the waiting entry was not taken after a commit was read\n");
        return 1;
    }
    tk_expect("the waiting entry's id", (int)commit(SLOTS)->id, 5000, &bad);
    tk_expect("the waiting entry's ret", commit(SLOTS)->ret, HVT_OK, &bad);
    tk_say(bad ? "room failed\n" : "room ok\n");
    return bad;
}

/* The guest broke an index rule: the monitor must stop it before this ends. */
static int expect_stop(const char *mode)
{
    unsigned long long end = plat_monotonic_ns() + 10000000000ull;
    while (plat_monotonic_ns() < end) {
        hvt_net_ring_kick();
        poll_once(100000000ull);
    }
    tk_say(mode);
    tk_say(": not stopped\n");
    return 1;
}

int main(const char *cmdline)
{
    const struct hvt_boot_info *bi = plat_boot_info();
    handle = plat_device_find("service0", MFT_DEV_NET_BASIC);
    if (handle < 0 || !(bi->host_features & HVT_HOST_FEATURE_RING) || !bi->net_ring) {
        tk_say("ringcheck: no net device 'service0' or no ring offered\n");
        return 1;
    }
    /* The manifest directly, not plat_net_info: that would start the
     * platform's own use of the ring. */
    const struct mft_entry *e = &((const struct mft *)(uintptr_t)bi->mft)->e[handle];
    mtu = e->u.net_basic.mtu;
    for (int i = 0; i < 6; i++)
        mac[i] = e->u.net_basic.mac[i];
    ring = (struct hvt_net_ring *)(uintptr_t)bi->net_ring;
    bufs = (uint8_t *)ring + KILN_NET_RING_BUFFERS;
    if (bi->mem_size != bi->net_ring) {
        tk_say("ringcheck: mem_size is not the ring's GPA\n");
        return 1;
    }
    const char *p = cmdline;
    if (tk_word(&p, "entries"))
        return entries();
    if (tk_word(&p, "hostline"))
        return hostline();
    if (tk_word(&p, "room"))
        return room();
    if (tk_word(&p, "ahead")) {
        tail = 5000;
        publish();
        return expect_stop("ahead");
    }
    if (tk_word(&p, "backwards")) {
        make_frame(bufs);
        put(WRITE, handle, (uint64_t)(uintptr_t)bufs, 60, 1, 0);
        put(WRITE, handle, (uint64_t)(uintptr_t)bufs, 60, 2, 0);
        publish();
        if (!wait_commits(2))
            return 1;
        read_back();
        tail = 1;
        publish();
        return expect_stop("backwards");
    }
    if (tk_word(&p, "comhead")) {
        make_frame(bufs);
        put(WRITE, handle, (uint64_t)(uintptr_t)bufs, 60, 1, 0);
        publish();
        if (!wait_commits(1))
            return 1;
        __atomic_store_n(&ring->com_head, 7u, __ATOMIC_RELEASE);
        put(WRITE, handle, (uint64_t)(uintptr_t)bufs, 60, 2, 0);
        publish();
        return expect_stop("comhead");
    }
    tk_say("unknown mode\n");
    return 1;
}
