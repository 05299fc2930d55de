/*
 * blockcheck MODE [ARG]: drives the block device 'storage' (hvt ABI section 5).
 *   info         capacity=N block_size=N
 *   write SEED   fills blocks 0..3 and the last block with a pattern from SEED
 *   verify SEED  reads them back and checks the pattern (across a reboot)
 *   bad          every EINVAL rule: misaligned, short, past the end, bad handles
 *   gpa          a read into memory the guest does not have (a guest fault)
 */
#include <kiln/hvt_abi.h>
#include <kiln/platform.h>
#include <kiln/fmt.h>
#include <kiln/testkit.h>

static char line[256];
static unsigned char block[65536];

static void fill(unsigned long long seed, unsigned long long blk, unsigned size)
{
    unsigned long long x = seed * 0x9e3779b97f4a7c15ull + blk;
    for (unsigned i = 0; i < size; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        block[i] = (unsigned char)x;
    }
}

static int same(unsigned long long seed, unsigned long long blk, unsigned size)
{
    unsigned long long x = seed * 0x9e3779b97f4a7c15ull + blk;
    for (unsigned i = 0; i < size; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (block[i] != (unsigned char)x)
            return 0;
    }
    return 1;
}

int main(const char *cmdline)
{
    int h = plat_device_find("storage", MFT_DEV_BLOCK_BASIC);
    unsigned long long cap;
    unsigned bs;
    if (h < 0 || plat_block_info(h, &cap, &bs) != HVT_OK) {
        tk_say("no block device 'storage'\n");
        return 1;
    }
    unsigned long long last = cap / bs - 1, seed = 0;
    const char *p = cmdline;
    struct fmt_buf b;
    fmt_init(&b, line, sizeof line);
    if (tk_word(&p, "info")) {
        fmt_puts(&b, "capacity=");
        fmt_putu(&b, cap);
        fmt_puts(&b, " block_size=");
        fmt_putu(&b, bs);
        fmt_puts(&b, " handle=");
        fmt_putu(&b, (unsigned)h);
        fmt_putc(&b, '\n');
        plat_console_write(b.p, b.len);
        return 0;
    }
    if (tk_word(&p, "write")) {
        fmt_parse_u64(p, &seed);
        for (unsigned long long blk = 0; blk <= last; blk = blk < 3 ? blk + 1 : (blk < last ? last : blk + 1)) {
            fill(seed, blk, bs);
            if (plat_block_write(h, blk * bs, block, bs) != HVT_OK) {
                tk_say("write failed\n");
                return 1;
            }
        }
        tk_say("write ok\n");
        return 0;
    }
    if (tk_word(&p, "verify")) {
        fmt_parse_u64(p, &seed);
        for (unsigned long long blk = 0; blk <= last; blk = blk < 3 ? blk + 1 : (blk < last ? last : blk + 1)) {
            if (plat_block_read(h, blk * bs, block, bs) != HVT_OK || !same(seed, blk, bs)) {
                tk_say("verify failed\n");
                return 1;
            }
        }
        tk_say("verify ok\n");
        return 0;
    }
    if (tk_word(&p, "bad")) {
        int bad = 0;
        tk_expect("misaligned", plat_block_read(h, 1, block, bs), HVT_EINVAL, &bad);
        tk_expect("short", plat_block_read(h, 0, block, bs / 2), HVT_EINVAL, &bad);
        tk_expect("two blocks", plat_block_read(h, 0, block, bs * 2), HVT_EINVAL, &bad);
        tk_expect("at capacity", plat_block_read(h, cap, block, bs), HVT_EINVAL, &bad);
        tk_expect("far past", plat_block_write(h, 0xfffffffffffff000ull, block, bs), HVT_EINVAL, &bad);
        tk_expect("handle 0", plat_block_read(0, 0, block, bs), HVT_EINVAL, &bad);
        tk_expect("handle 99", plat_block_read(99, 0, block, bs), HVT_EINVAL, &bad);
        tk_expect("last block", plat_block_read(h, last * bs, block, bs), HVT_OK, &bad);
        tk_say(bad ? "bad failed\n" : "bad ok\n");
        return bad;
    }
    if (tk_word(&p, "flush")) {
        /* Kiln spec 1.3: a write, then the barrier; a bad handle is -EINVAL (-22) */
        int bad = 0;
        fill(7, 0, bs);
        tk_expect("write", plat_block_write(h, 0, block, bs), HVT_OK, &bad);
        tk_expect("flush", plat_block_flush(h), 0, &bad);
        tk_expect("flush handle 0", plat_block_flush(0), -22, &bad);
        tk_expect("flush handle 99", plat_block_flush(99), -22, &bad);
        tk_say(bad ? "flush failed\n" : "flush ok\n");
        return bad;
    }
    if (tk_word(&p, "powercut")) {
        /* Ordering: blocks 0-7 written and flushed (BLOCK_FLUSH), blocks 8-12 written but not;
         * then it waits for the monitor to cut the power or stop it. */
        unsigned long long seed = 5;
        fmt_parse_u64(p, &seed);
        for (unsigned long long blk = 0; blk < 13; blk++) {
            fill(seed, blk, bs);
            if (plat_block_write(h, blk * bs, block, bs) != HVT_OK) {
                tk_say("write failed\n");
                return 1;
            }
            if (blk == 7 && plat_block_flush(h) != 0) {
                tk_say("flush failed\n");
                return 1;
            }
        }
        tk_say("unflushed\n");
        for (;;)
            plat_poll(1000000000ull, 0);
    }
    if (tk_word(&p, "gpa")) {
        plat_block_read(h, 0, (void *)(uintptr_t)(plat_boot_info()->mem_size - 16), bs);
        tk_say("no-fault\n");
        return 2;
    }
    tk_say("unknown mode\n");
    return 1;
}
