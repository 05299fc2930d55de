/*
 * hvtcheck: one test guest for the monitor's test suite.  The first word of
 * the command line picks a mode; the rest is the mode's argument.  Modes
 * that should make the monitor stop the guest (a guest fault, spec 5, or a
 * CPU-level failure) print "no-fault\n" and exit 2 if the monitor lets
 * the guest carry on instead, so a missed check is visible.
 *
 * Output formats are fixed (the monitor's tests match them); every line
 * is written with one PUTS.  "idle" sleeps until stopped (the benchmarks'
 * guest).
 */
#include <kiln/hvt_abi.h>
#include <kiln/platform.h>
#include <kiln/fmt.h>
#include <kiln/testkit.h>

/* Big enough for "[" + an 8,191-char command line + "]\n". */
static char line[8192 + 128];

/* puts-big payload: 64 lines of 63 'x' + '\n' = exactly 4096 bytes, so
 * every 4 KiB chunk of the output is this same buffer (or a prefix). */
#define CHUNK 4096
static char chunk[CHUNK] __attribute__((aligned(8)));

/* Raw hypercall with an arbitrary (possibly bogus) 32-bit argument GPA. */
static void hypercall_raw(int nr, uint32_t gpa)
{
    __asm__ __volatile__("outl %0, %1"
                         :
                         : "a"(gpa), "d"((unsigned short)(HVT_HYPERCALL_PIO_BASE + nr))
                         : "memory");
}

/* Hide a constant address from the optimiser (GCC 12 warns about, and may
 * mistreat, dereferences of small constant addresses). */
static inline uintptr_t opaque(uintptr_t a)
{
    __asm__("" : "+r"(a));
    return a;
}

__attribute__((noreturn)) static void no_fault(void)
{
    tk_say("no-fault\n");
    plat_exit(2);
}

/*
 * The guest's own page tables, for the modes that check what a native vCPU
 * on kvm_pvm cannot run (pvm-native.md 3): an identity map of the first
 * 1 GiB in 2 MiB pages, with or without U/S on every entry, and optionally
 * the same map again in PML4 slot 256 (0xffff800000000000).
 */
static uint64_t own_pml4[512] __attribute__((aligned(4096)));
static uint64_t own_pdpt[512] __attribute__((aligned(4096)));
static uint64_t own_pd[512] __attribute__((aligned(4096)));

#define PTE_P_RW 0x3ull
#define PTE_US 0x4ull
#define PTE_PS 0x80ull
#define SLOT256 0xffff800000000000ull

static void load_own_tables(uint64_t us, int slot256)
{
    for (uint64_t i = 0; i < 512; i++)
        own_pd[i] = (i << 21) | PTE_P_RW | PTE_PS | us;
    own_pdpt[0] = (uint64_t)(uintptr_t)own_pd | PTE_P_RW | us;
    own_pml4[0] = (uint64_t)(uintptr_t)own_pdpt | PTE_P_RW | us;
    if (slot256)
        own_pml4[256] = own_pml4[0];
    __asm__ __volatile__("mov %0, %%cr3" : : "r"((uint64_t)(uintptr_t)own_pml4) : "memory");
}

/* Runs at its alias in slot 256; its PUTS argument and data stay in the low map. */
__attribute__((noinline)) static void say_from_slot256(void)
{
    tk_say("slot256-ok\n");
}

/* One line "<label><value>\n" with one PUTS. */
static void say_u64(const char *label, unsigned long long v)
{
    struct fmt_buf b;
    fmt_init(&b, line, sizeof line);
    fmt_puts(&b, label);
    fmt_putu(&b, v);
    fmt_putc(&b, '\n');
    plat_console_write(b.p, b.len);
}

static int streq_n(const char *a, unsigned long n, const char *lit)
{
    unsigned long i = 0;
    for (; i < n; i++)
        if (lit[i] != a[i])          /* also stops at lit's NUL */
            return 0;
    return lit[i] == '\0';
}

/* Parse a decimal argument or stop with status 1. */
static unsigned long long arg_u64(const char *arg)
{
    unsigned long long v;
    unsigned long n = fmt_parse_u64(arg, &v);
    if (n == 0 || (arg[n] != '\0' && arg[n] != ' ')) {
        tk_say("bad argument\n");
        plat_exit(1);
    }
    return v;
}

static void mode_puts_big(unsigned long long n)
{
    /* 8 bytes at a time: 7 x 'x' words then one word ending in '\n'
     * (little-endian: the last byte is the top one). */
    uint64_t *w = (uint64_t *)chunk;
    for (unsigned i = 0; i < CHUNK / 8; i++)
        w[i] = (i % 8 == 7) ? 0x0a78787878787878ull : 0x7878787878787878ull;
    while (n) {
        unsigned long len = n < CHUNK ? (unsigned long)n : CHUNK;
        plat_console_write(chunk, len);
        n -= len;
    }
}

static void mode_poll(unsigned long long ms)
{
    volatile struct hvt_hc_poll a = {
        .timeout_nsecs = ms * 1000000ull,
        .ready_set = 0,
        .ret = 0,
    };
    unsigned long long t0 = plat_monotonic_ns();
    hvt_do_hypercall(HVT_HYPERCALL_POLL, &a);
    unsigned long long t1 = plat_monotonic_ns();
    struct fmt_buf b;
    fmt_init(&b, line, sizeof line);
    fmt_puts(&b, "poll ret=");
    fmt_puti(&b, a.ret);
    fmt_puts(&b, " ready=");
    fmt_putu(&b, a.ready_set);
    fmt_puts(&b, " elapsed_ns=");
    fmt_putu(&b, t1 - t0);
    fmt_putc(&b, '\n');
    plat_console_write(b.p, b.len);
}

static void mode_bootinfo(void)
{
    const struct hvt_boot_info *bi = plat_boot_info();
    const struct mft *m = (const struct mft *)(uintptr_t)bi->mft;
    struct fmt_buf b;
    fmt_init(&b, line, sizeof line);
    fmt_puts(&b, "mem_size=");
    fmt_putu(&b, bi->mem_size);
    fmt_puts(&b, " kernel_end=");
    fmt_putu(&b, bi->kernel_end);
    fmt_puts(&b, " cpu_cycle_freq=");
    fmt_putu(&b, bi->cpu_cycle_freq);
    fmt_puts(&b, " mft_entries=");
    fmt_putu(&b, m ? m->entries : 0);
    fmt_puts(&b, " host_features=");
    fmt_putu(&b, bi->host_features);
    fmt_putc(&b, '\n');
    plat_console_write(b.p, b.len);
}

/*
 * count N: N rounds of "count I sum=S", 10 ms apart in POLL, over a 64 KiB buffer filled once at
 * the start; then "count done ok" if the buffer, the running sum and the clock (never backwards)
 * held, "count corrupt" if not. A snapshot taken in between and restored must end the same way.
 */
static unsigned char pattern[65536];

static void mode_count(unsigned long long n)
{
    unsigned long long sum = 0, expect = 0, last = plat_monotonic_ns();
    for (unsigned i = 0; i < sizeof pattern; i++) {
        pattern[i] = (unsigned char)(i * 131 + 7);
        expect += pattern[i];
    }
    int ok = 1;
    for (unsigned long long round = 0; round < n; round++) {
        sum = 0;
        for (unsigned i = 0; i < sizeof pattern; i += 64)
            sum += pattern[i];
        unsigned long long now = plat_monotonic_ns();
        if (now < last)
            ok = 0;
        last = now;
        struct fmt_buf b;
        fmt_init(&b, line, sizeof line);
        fmt_puts(&b, "count ");
        fmt_putu(&b, round);
        fmt_puts(&b, " sum=");
        fmt_putu(&b, sum);
        fmt_putc(&b, '\n');
        plat_console_write(b.p, b.len);
        unsigned long long ready;
        plat_poll(10000000ull, &ready);
    }
    unsigned long long full = 0;
    for (unsigned i = 0; i < sizeof pattern; i++)
        full += pattern[i];
    tk_say(ok && full == expect ? "count done ok\n" : "count corrupt\n");
}

int main(const char *cmdline)
{
    /* idle: what the burst and density benchmarks start by the thousand. Matched first, before
     * any parsing, because each guest instruction costs a microsecond or two on an emulating
     * KVM: it sleeps in POLL, an hour at a time, until the monitor stops it. The command line
     * area is 8,192 bytes (hvt ABI section 4), so comparing 5 bytes never reads past it. */
    if (__builtin_memcmp(cmdline, "idle", 5) == 0) {
        for (;;) {
            unsigned long long ready;
            plat_poll(3600ull * 1000000000ull, &ready);
        }
    }
    const struct hvt_boot_info *bi = plat_boot_info();
    unsigned long wl = 0;
    while (cmdline[wl] != '\0' && cmdline[wl] != ' ')
        wl++;
    const char *arg = cmdline + wl;
    while (*arg == ' ')
        arg++;
    struct fmt_buf b;

#define MODE(s) streq_n(cmdline, wl, s)

    if (MODE("exit")) {
        return (int)arg_u64(arg);
    } else if (MODE("puts")) {
        tk_say("puts-ok\n");
        return 0;
    } else if (MODE("puts-big")) {
        mode_puts_big(arg_u64(arg));
        return 0;
    } else if (MODE("cmdline")) {
        fmt_init(&b, line, sizeof line);
        fmt_putc(&b, '[');
        fmt_puts(&b, cmdline);
        fmt_puts(&b, "]\n");
        plat_console_write(b.p, b.len);
        return 0;
    } else if (MODE("walltime")) {
        unsigned long long ns = plat_walltime_ns();
        say_u64("walltime_ns=", ns);
        return 0;
    } else if (MODE("poll")) {
        mode_poll(arg_u64(arg));
        return 0;
    } else if (MODE("count")) {
        mode_count(arg_u64(arg));
        return 0;
    } else if (MODE("bootinfo")) {
        mode_bootinfo();
        return 0;
    } else if (MODE("triple")) {
        /* #UD with no IDT -> #DF -> triple fault (KVM_EXIT_SHUTDOWN). */
        __asm__ __volatile__("ud2");
        no_fault();
    } else if (MODE("port")) {
        /* 32-bit OUT outside [0x500, 0x509) and Kiln's [0x581, 0x584): a
         * guest fault; the port is 0x5ff unless given (decimal). */
        unsigned short port = *arg ? (unsigned short)arg_u64(arg) : 0x5ff;
        __asm__ __volatile__("outl %0, %1" : : "a"(0u), "d"(port));
        no_fault();
    } else if (MODE("outb")) {
        /* 8-bit OUT to the PUTS port: wrong size, spec 5 guest fault. */
        __asm__ __volatile__("outb %0, %1" : : "a"((unsigned char)0), "d"((unsigned short)0x502));
        no_fault();
    } else if (MODE("in")) {
        /* Any IN is a spec 5 guest fault. */
        unsigned v;
        __asm__ __volatile__("inl %1, %0" : "=a"(v) : "d"((unsigned short)0x501));
        (void)v;
        no_fault();
    } else if (MODE("gpa-struct")) {
        /* PUTS whose argument struct lies beyond RAM.  With (close to)
         * 4 GiB of RAM, mem_size + 1 MiB no longer fits in 32 bits; then
         * use a struct straddling the 4 GiB end instead. */
        uint64_t gpa = bi->mem_size + 0x100000;
        if (gpa > 0xffffffffull)
            gpa = 0xfffffff8ull;
        hypercall_raw(HVT_HYPERCALL_PUTS, (uint32_t)gpa);
        no_fault();
    } else if (MODE("gpa-data")) {
        /* Valid struct; data starts 8 bytes below mem_size and runs 4 MiB
         * on, past the end of RAM even if a ring area (< 2.1 MiB, spec 6)
         * sits above mem_size. */
        volatile struct hvt_hc_puts a = {
            .data = bi->mem_size - 8,
            .len = 4ull << 20,
        };
        hvt_do_hypercall(HVT_HYPERCALL_PUTS, &a);
        no_fault();
    } else if (MODE("gpa-wrap")) {
        /* data + len wraps around 2^64 to 0xfff00, which is inside RAM:
         * only an overflow-checked range test catches it. */
        volatile struct hvt_hc_puts a = {
            .data = 0x100000,
            .len = 0xffffffffffffff00ull,
        };
        hvt_do_hypercall(HVT_HYPERCALL_PUTS, &a);
        no_fault();
    } else if (MODE("mmio")) {
        /* Mapped by the guest page tables (spec 3 maps 4 GiB) but no RAM
         * behind it: KVM reports an MMIO read exit. */
        volatile uint64_t *p = (volatile uint64_t *)opaque(0xC0000000ul);
        (void)*p;
        no_fault();
    } else if (MODE("emul")) {
        /* Instruction fetch from a GPA without RAM: memory outside the image's
         * text is not executable (W^X), so the fetch faults (#PF, no IDT). */
        void (*f)(void) = (void (*)(void))opaque(0xC0000000ul);
        f();
        no_fault();
    } else if (MODE("null")) {
        /* Page 0 is not present (spec 3): #PF, no IDT -> triple fault. */
        volatile uint64_t *p = (volatile uint64_t *)opaque(0x8);
        (void)*p;
        no_fault();
    } else if (MODE("hlt")) {
        /* Stop the vCPU without the HALT hypercall: emulated, KVM_EXIT_HLT;
         * natively HLT returns at once (pvm-native.md 3), so this loops and
         * the monitor's stall check must find it. */
        for (;;)
            __asm__ __volatile__("cli; hlt");
    } else if (MODE("hlt-only")) {
        /* HLT without CLI: natively it returns at once and nothing
         * privileged brings the emulator in, so only the stall check ends it. */
        for (;;)
            __asm__ __volatile__("hlt");
    } else if (MODE("sse")) {
        /* SSE2 through inline assembly (the guest is built without SSE code
         * generation, so nothing else touches XMM0): runs natively; KVM's
         * emulator cannot run it (pvm-native.md 3). 21 doubled by PADDQ. */
        uint64_t v = 21;
        __asm__ __volatile__("movq %0, %%xmm0\n\tpaddq %%xmm0, %%xmm0\n\tmovq %%xmm0, %0" : "+r"(v));
        say_u64("sse=", v);
        return 0;
    } else if (MODE("write-text")) {
        /* W^X: the image's text is read-only while it runs (#PF, no IDT). */
        volatile unsigned char *code = (volatile unsigned char *)opaque((uintptr_t)say_u64);
        code[0] = 0xc3;
        no_fault();
    } else if (MODE("write-rodata")) {
        static const char fixed[] = "read-only";
        volatile char *p = (volatile char *)opaque((uintptr_t)fixed);
        p[0] = 'R';
        no_fault();
    } else if (MODE("exec-stack")) {
        /* W^X: the stack is not executable; one RET byte there, called. */
        volatile unsigned char ret[16] = { 0xc3 };
        void (*f)(void) = (void (*)(void))opaque((uintptr_t)ret);
        f();
        no_fault();
    } else if (MODE("exec-data")) {
        static unsigned char ret_in_data[16] = { 0xc3 };
        void (*f)(void) = (void (*)(void))opaque((uintptr_t)ret_in_data);
        f();
        no_fault();
    } else if (MODE("pt-no-us")) {
        /* Page tables without U/S: fine emulated, a #PF forever natively. */
        load_own_tables(0, 0);
        tk_say("pt-switched\n");
        return 0;
    } else if (MODE("pt-us")) {
        /* The same tables with U/S: runs in both modes. */
        load_own_tables(PTE_US, 0);
        tk_say("pt-switched\n");
        return 0;
    } else if (MODE("slot256")) {
        /* Code in PML4 slot 256, which kvm_pvm cannot run natively. */
        load_own_tables(PTE_US, 1);
        void (*high)(void) = (void (*)(void))(opaque((uintptr_t)say_from_slot256) + SLOT256);
        high();
        return 0;
    } else if (MODE("spin")) {
        /* Say so first: a test waits for this line before it signals the monitor. */
        tk_say("spinning\n");
        for (;;)
            __asm__ __volatile__("pause");
    } else if (MODE("halt-cookie-bad")) {
        /* Spec 5: a cookie must be 0 or >= 512 readable bytes of RAM. */
        volatile struct hvt_hc_halt a = {
            .cookie = 0xF0000000ull,
            .exit_status = 0,
        };
        hvt_do_hypercall(HVT_HYPERCALL_HALT, &a);
        no_fault();
    }
#undef MODE
    tk_say("unknown mode\n");
    return 1;
}
