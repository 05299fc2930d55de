/*
 * Network I/O through the shared ring (hvt spec 6; Kiln spec 3 in
 * docs/kiln-abi.md): frames move without a VM exit each.  Used when the
 * monitor offers the ring (boot_info.host_features bit 0, net_ring != 0)
 * and it is Kiln's (the info page: the slot buffers' place is Kiln's);
 * otherwise devices.c keeps to the NET_READ/NET_WRITE hypercalls, so the
 * same image still runs on Solo5's tender.
 *
 * Buffers: the 1024 slot buffers of Kiln spec 3.1.  An entry's id is the
 * index of the buffer it carries, so a commit names its buffer.  RX_POSTED
 * of them are receive buffers for good: posted to the monitor, or holding a
 * frame the stack has not read yet, or waiting to be posted again; the rest
 * carry outgoing frames and return to the free list when their commit is
 * read.  Every entry in flight holds its own buffer, so the guest never has
 * more than 1024 entries in flight and the ring never overflows (Kiln spec
 * 3.3).
 *
 * Kicks (Kiln spec 3.5): after publishing ent_tail with a release store,
 * a full fence, then a look at needs_kick; only when the monitor set it
 * (its I/O thread is about to sleep or asleep) does the guest OUT to the
 * doorbell, which KVM turns into an eventfd signal without leaving the
 * kernel.  Receive buffers are posted again in batches, and only kick when
 * the monitor may run short of them: it wakes up for the next frame anyway.
 */
#include <kiln/hvt_abi.h>
#include <kiln/kiln_abi.h>
#include <kiln/platform.h>
#include "hvt_internal.h"

#define SLOTS        HVT_NET_RING_SLOTS
#define BUF          HVT_NET_RING_BUFFER
#define RX_POSTED    256u     /* receive buffers, shared by the net devices */
#define REPOST_BATCH 32u      /* receive buffers given back per publish */
#define RX_LOW       32u      /* fewer held by the monitor: posting back kicks */
#define MAX_HANDLES  64       /* manifest entries (hvt spec 2), and POLL's ready-set bits */
#define ETH_OVERHEAD 18u      /* Ethernet header with a VLAN tag, beyond the MTU */
#define WAIT_NS      10000000ull  /* a POLL while every transmit buffer is in flight */

enum buf_state {
    B_FREE,     /* transmit buffer on the free list */
    B_TX,       /* in a NET_WRITE entry */
    B_RX,       /* in a NET_READ entry */
    B_HELD,     /* receive buffer with a frame for the stack, or waiting to be posted again */
};

static struct hvt_net_ring *ring;
static uint8_t *bufs;
static int mode;                     /* 0 not decided, 1 ring, -1 hypercalls */
static uint32_t ent_tail, com_head;  /* the guest's own indices; the ring's copies are written, not read */
static uint16_t max_frame[MAX_HANDLES];   /* by handle: MTU + header; 0 = not a ring device */

static uint8_t state[SLOTS];
static uint8_t owner[SLOTS];         /* the handle a buffer is for */
static uint16_t free_list[SLOTS];
static unsigned nfree;

/* Completed receives by handle: a FIFO linked through rx_next. */
static uint16_t rx_next[SLOTS];
static uint16_t rx_len[SLOTS];
static int8_t rx_ret[SLOTS];
static int16_t rx_head[MAX_HANDLES], rx_tail[MAX_HANDLES];
static uint64_t rx_mask;             /* bit h: handle h has a completed receive */

static uint16_t repost[REPOST_BATCH];
static unsigned nrepost;
static unsigned rx_inflight[MAX_HANDLES];   /* by handle: receive buffers in NET_READ entries */

static inline void copy(void *dst, const void *src, unsigned long n)
{
    /* String moves: a handful of instructions however long the frame
     * (each guest instruction is expensive when KVM emulates them). */
    unsigned long q = n >> 3, r = n & 7;
    __asm__ __volatile__("rep movsq" : "+D"(dst), "+S"(src), "+c"(q) : : "memory");
    __asm__ __volatile__("rep movsb" : "+D"(dst), "+S"(src), "+c"(r) : : "memory");
}

static void put_entry(uint32_t op, unsigned id, uint32_t len)
{
    struct hvt_net_ring_entry *e = &ring->ent[ent_tail % SLOTS];
    e->op = op;
    e->handle = owner[id];
    e->data = (hvt_gpa_t)(uintptr_t)(bufs + (unsigned long)id * BUF);
    e->len = len;
    e->id = id;
    e->reserved = 0;
    ent_tail++;
}

/* Kiln spec 3.5: publish, fence, and kick only if the monitor asked.  The
 * guest takes the request back as it kicks (an atomic exchange), so the
 * writes that follow while the monitor's thread wakes up do not kick again;
 * the monitor sets it anew before it next sleeps.  The plain load first
 * keeps the monitor's cache line clean when nothing is asked. */
static void publish(int kick)
{
    __atomic_store_n(&ring->ent_tail, ent_tail, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (kick && __atomic_load_n(&ring->needs_kick, __ATOMIC_RELAXED)
        && __atomic_exchange_n(&ring->needs_kick, 0, __ATOMIC_ACQ_REL))
        hvt_net_ring_kick();
}

/* Whether posting receive buffers back needs a kick: only when the monitor
 * may hold too few to wake up for the next frame.  It holds at least the
 * buffers in flight minus the entries it has not taken yet (ent_head is
 * its). */
static int reposts_need_kick(void)
{
    uint32_t untaken = ent_tail - __atomic_load_n(&ring->ent_head, __ATOMIC_ACQUIRE);
    for (int h = 1; h < MAX_HANDLES; h++)
        if (max_frame[h] && rx_inflight[h] < untaken + RX_LOW)
            return 1;
    return 0;
}

static void flush_reposts(void)
{
    if (!nrepost)
        return;
    for (unsigned i = 0; i < nrepost; i++) {
        unsigned id = repost[i];
        state[id] = B_RX;
        rx_inflight[owner[id]]++;
        put_entry(HVT_NET_RING_OP_READ, id, BUF);
    }
    nrepost = 0;
    publish(reposts_need_kick());
}

static void queue_repost(unsigned id)
{
    state[id] = B_HELD;
    repost[nrepost++] = (uint16_t)id;
    if (nrepost == REPOST_BATCH)
        flush_reposts();
}

static void rx_push(unsigned h, unsigned id)
{
    rx_next[id] = 0xffff;
    if (rx_head[h] < 0)
        rx_head[h] = (int16_t)id;
    else
        rx_next[rx_tail[h]] = (uint16_t)id;
    rx_tail[h] = (int16_t)id;
    rx_mask |= 1ull << h;
}

static int rx_pop(unsigned h)
{
    int id = rx_head[h];
    if (id < 0)
        return -1;
    rx_head[h] = rx_next[id] == 0xffff ? -1 : (int16_t)rx_next[id];
    if (rx_head[h] < 0)
        rx_mask &= ~(1ull << h);
    return id;
}

/* Reads every published commit: transmit buffers back to the free list,
 * completed receives to their device's FIFO, given-back receives (AGAIN,
 * Kiln spec 3.7) posted again. */
static void reap(void)
{
    uint32_t tail = __atomic_load_n(&ring->com_tail, __ATOMIC_ACQUIRE);
    uint32_t head = com_head;
    if (head == tail)
        return;
    while (head != tail) {
        const struct hvt_net_ring_commit *c = &ring->com[head % SLOTS];
        unsigned id = c->id;
        int ret = c->ret;
        unsigned len = c->len;
        head++;
        if (id >= SLOTS)
            continue;                  /* not an id this guest gave: ignore */
        if (state[id] == B_TX) {
            state[id] = B_FREE;
            free_list[nfree++] = (uint16_t)id;
        } else if (state[id] == B_RX) {
            rx_inflight[owner[id]]--;
            if (ret == HVT_EAGAIN) {
                queue_repost(id);
            } else {
                state[id] = B_HELD;
                rx_len[id] = (uint16_t)(len < BUF ? len : BUF);
                rx_ret[id] = (int8_t)ret;
                rx_push(owner[id], id);
            }
        }
    }
    com_head = head;
    __atomic_store_n(&ring->com_head, head, __ATOMIC_RELEASE);
}

/* Reads the commits, then posts again the receive buffers the monitor gave
 * back (AGAIN after a pause): it must hold them before the guest sleeps. */
static void refresh(void)
{
    reap();
    flush_reposts();
}

/* Decides once whether the ring is used; posts the receive buffers. */
int netring_on(void)
{
    if (mode)
        return mode > 0;
    mode = -1;
    const struct hvt_boot_info *bi = hvt_bi;
    if (!(bi->host_features & HVT_HOST_FEATURE_RING) || !bi->net_ring || !plat_info())
        return 0;
    const struct mft *m = (const struct mft *)(uintptr_t)bi->mft;
    unsigned ndev = 0;
    for (unsigned i = 1; i < m->entries && i < MAX_HANDLES; i++) {
        const struct mft_entry *e = &m->e[i];
        if (e->type != MFT_DEV_NET_BASIC || !e->attached)
            continue;
        unsigned max = e->u.net_basic.mtu + ETH_OVERHEAD;
        if (max > BUF)
            return 0;                  /* a frame would not fit a slot buffer */
        max_frame[i] = (uint16_t)max;
        ndev++;
    }
    if (!ndev)
        return 0;
    ring = (struct hvt_net_ring *)(uintptr_t)bi->net_ring;
    bufs = (uint8_t *)ring + KILN_NET_RING_BUFFERS;
    ent_tail = ring->ent_tail;
    com_head = ring->com_head;
    for (int h = 0; h < MAX_HANDLES; h++)
        rx_head[h] = rx_tail[h] = -1;
    /* Receive buffers first, shared out among the devices; the rest transmit. */
    unsigned id = 0, per = RX_POSTED / ndev;
    for (unsigned h = 1; h < MAX_HANDLES; h++) {
        if (!max_frame[h])
            continue;
        for (unsigned k = 0; k < per; k++, id++) {
            owner[id] = (uint8_t)h;
            state[id] = B_RX;
            put_entry(HVT_NET_RING_OP_READ, id, BUF);
        }
        rx_inflight[h] = per;
    }
    for (unsigned i = SLOTS; i > id; i--)
        free_list[nfree++] = (uint16_t)(i - 1);
    mode = 1;
    publish(1);
    return 1;
}

/* True once the ring is in use (plat_poll then looks at it first). */
int netring_started(void)
{
    return mode > 0;
}

static int bad_handle(int handle)
{
    return handle <= 0 || handle >= MAX_HANDLES || !max_frame[handle];
}

int netring_write(int handle, const void *frame, unsigned long len)
{
    if (bad_handle(handle) || len == 0 || len > max_frame[handle])
        return HVT_EINVAL;
    if (!nfree) {
        refresh();
        /* Every transmit buffer is in flight: the monitor commits them as it
         * sends, and POLL returns as soon as a commit waits (a monitor that
         * serves the ring inside POLL is told so: wants_commits, Kiln spec
         * 4.6). The frame is never dropped here. */
        __atomic_store_n(&ring->wants_commits, 1, __ATOMIC_RELEASE);
        while (!nfree) {
            volatile struct hvt_hc_poll a = { .timeout_nsecs = WAIT_NS };
            publish(1);
            hvt_do_hypercall(HVT_HYPERCALL_POLL, &a);
            refresh();
        }
        __atomic_store_n(&ring->wants_commits, 0, __ATOMIC_RELEASE);
    }
    unsigned id = free_list[--nfree];
    copy(bufs + (unsigned long)id * BUF, frame, len);
    state[id] = B_TX;
    owner[id] = (uint8_t)handle;
    put_entry(HVT_NET_RING_OP_WRITE, id, (uint32_t)len);
    publish(1);
    return HVT_OK;
}

int netring_read(int handle, void *buf, unsigned long *len)
{
    if (bad_handle(handle) || *len == 0)
        return HVT_EINVAL;
    reap();
    int id = rx_pop((unsigned)handle);
    if (id < 0) {
        flush_reposts();
        return HVT_EAGAIN;
    }
    int ret = rx_ret[id];
    if (ret == HVT_OK) {
        unsigned long n = rx_len[id] < *len ? rx_len[id] : *len;
        copy(buf, bufs + (unsigned long)id * BUF, n);
        *len = n;
    }
    queue_repost((unsigned)id);
    /* Not OK: the monitor dropped a frame longer than the buffer (Kiln spec
     * 3.4); the caller counts it as a read error. */
    return ret == HVT_OK ? HVT_OK : HVT_EINVAL;
}

static int popcount(uint64_t x)
{
    int n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

int netring_poll(unsigned long long timeout_ns, unsigned long long *ready_set)
{
    refresh();
    uint64_t ready = rx_mask;
    /* Frames already waiting: no exit.  A zero timeout needs none either
     * when an I/O thread serves the ring: the ring in memory is the whole
     * answer.  A monitor that serves it only inside POLL (Kiln spec 4.5)
     * moves frames only then: a zero-timeout POLL lets it.  POLL also
     * returns for commits of sent frames, which make nothing ready: then
     * wait out the rest. */
    if (!ready && !timeout_ns && __atomic_load_n(&ring->served_at_poll, __ATOMIC_ACQUIRE)) {
        volatile struct hvt_hc_poll a = { .timeout_nsecs = 0 };
        hvt_do_hypercall(HVT_HYPERCALL_POLL, &a);
        refresh();
        ready = rx_mask;
    }
    if (!ready && timeout_ns) {
        unsigned long long deadline = plat_monotonic_ns() + timeout_ns;
        if (deadline < timeout_ns)
            deadline = ~0ull;          /* "forever" */
        for (;;) {
            volatile struct hvt_hc_poll a = { .timeout_nsecs = timeout_ns };
            hvt_do_hypercall(HVT_HYPERCALL_POLL, &a);
            refresh();
            ready = rx_mask;
            if (ready || !a.ret)
                break;                 /* a frame, or the timeout (or a pause) */
            unsigned long long now = plat_monotonic_ns();
            if (now >= deadline)
                break;
            timeout_ns = deadline - now;
        }
    }
    if (ready_set)
        *ready_set = ready;
    return popcount(ready);
}
