/*
 * kvm_floor: the "C floor" for Kiln's boot benchmark.
 *
 * Measures the cheapest possible KVM VM lifecycle from C, so the monitor's
 * boot time can be compared with what the kernel itself costs:
 * create a VM, give it 2 MiB of RAM holding one `hlt` at GPA 0x1000,
 * create a vCPU in real mode pointing at it, run until KVM_EXIT_HLT, tear
 * everything down.  /dev/kvm is opened once, outside the timed region.
 *
 * Usage: kvm_floor N [parked] [vif] [raw] [image=FILE]
 *        kvm_floor burst N [vif] [shared]   (see burst() below)
 * "parked" first makes one more VM with a vCPU that never runs and keeps it
 * for the whole run, as Kiln's monitor does (ParkedVcpu.java): KVM then never
 * sees its count of vCPUs drop to zero, so no boot pays for the kernel text
 * patching that flipping its static keys costs.
 * "vif" runs the guest natively on kvm_pvm hosts, as Kiln's monitor does: the
 * vCPU starts in 64-bit long mode (page tables with U/S, a 64-bit code
 * segment) with the native-execution page registered (MSR 0x4b564d10 =
 * 0x9000 | 0x400, pvm-native.md 2), and the guest's one instruction is an
 * OUT (natively HLT does not exit), run to its KVM_EXIT_IO.  A real-mode
 * guest with the page registered takes tens of milliseconds on kvm_pvm, so
 * the page alone would not be like for like.
 * "raw" prints each sample too, in the order taken, as "us <x.xx>" lines before the summary.
 * Prints: floor n=<N> min_us=<x.xx> median_us=<x.xx> p99_us=<x.xx>
 *         burst n=<N> up_ms=<x.x>
 * Build:  gcc -O2 -pthread -o kvm_floor kvm_floor.c
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MEM_SIZE   (2ul << 20)
#define CODE_GPA   0x1000ul

static void die(const char *what)
{
    fprintf(stderr, "kvm_floor: %s failed: %s\n", what, strerror(errno));
    exit(1);
}

static double now_us(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        die("clock_gettime");
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

#define MSR_PVM_VIF 0x4b564d10u
#define VIF_GPA     0x9000ul
static int register_vif;
/* The host's CPUID, read once: a long-mode vCPU needs it (the monitor sets it too). */
static struct kvm_cpuid2 *cpuid;
static uint64_t tsc_hz;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/*
 * "image=FILE": the guest is a real hvt image (hvt-abi.md), booted as the monitor boots it, so
 * that the floor's guest does the same work as the JVM's: its PT_LOAD segments copied in, the
 * boot info, manifest copy and empty command line at 0x10000, the boot page tables of section 3
 * (4 KiB pages for the first 2 MiB, every entry U/S with its accessed and dirty bits set, as the
 * monitor sets them), RIP = entry, RSP = top of memory - 8, RDI = the boot info. Its hypercalls
 * are answered with the least work: WALLTIME reads the clock, PUTS is dropped (the benchmark's
 * console is a null stream too), HALT ends the boot; any other is an error. The image is this
 * repository's own, read once: the floor trusts it (the monitor checks every rule of section 1).
 */
static const char *image_path;
static uint8_t *image;
static size_t image_size;
static uint64_t image_entry;

static void read_image(void)
{
    FILE *f = fopen(image_path, "rb");
    if (!f)
        die("open the image");
    if (fseek(f, 0, SEEK_END) != 0)
        die("fseek");
    long size = ftell(f);
    if (size < (long)sizeof(Elf64_Ehdr)) {
        fprintf(stderr, "kvm_floor: %s is too small for an ELF header\n", image_path);
        exit(1);
    }
    rewind(f);
    image = malloc((size_t)size);
    if (!image || fread(image, 1, (size_t)size, f) != (size_t)size)
        die("read the image");
    fclose(f);
    image_size = (size_t)size;
    Elf64_Ehdr *eh = (Elf64_Ehdr *)image;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_machine != EM_X86_64
        || eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > image_size) {
        fprintf(stderr, "kvm_floor: %s is not an x86-64 ELF image\n", image_path);
        exit(1);
    }
    image_entry = eh->e_entry;
}

static void load_image(uint8_t *mem)
{
    Elf64_Ehdr *eh = (Elf64_Ehdr *)image;
    Elf64_Phdr *ph = (Elf64_Phdr *)(image + eh->e_phoff);
    uint64_t end = 0;
    const uint8_t *mft = NULL;
    uint32_t mft_size = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD && ph[i].p_memsz > 0) {
            if (ph[i].p_paddr < 0x100000 || ph[i].p_paddr + ph[i].p_memsz > MEM_SIZE - 0x10000
                || ph[i].p_offset + ph[i].p_filesz > image_size) {
                fprintf(stderr, "kvm_floor: a segment of %s does not fit 2 MiB\n", image_path);
                exit(1);
            }
            memcpy(mem + ph[i].p_paddr, image + ph[i].p_offset, ph[i].p_filesz);
            uint64_t e = (ph[i].p_paddr + ph[i].p_memsz + 0xfff) & ~0xfffull;
            if (e > end)
                end = e;
        } else if (ph[i].p_type == PT_NOTE && ph[i].p_filesz >= 24 && ph[i].p_offset + ph[i].p_filesz <= image_size) {
            const uint32_t *n = (const uint32_t *)(image + ph[i].p_offset);
            /* Solo5's MFT1 note: payload after the 20-byte header and 4 bytes of padding */
            if (n[0] == 6 && n[2] == 0x3154464d && memcmp(n + 3, "Solo5", 6) == 0 && 20 + n[1] <= ph[i].p_filesz) {
                mft = (const uint8_t *)n + 24;
                mft_size = n[1] - 4;
            }
        }
    }
    /* Boot info (section 4), then the manifest copy, then the empty command line. */
    uint64_t *bi = (uint64_t *)(mem + 0x10000);
    uint64_t mft_gpa = 0x10000 + 56, cmd_gpa = (mft_gpa + mft_size + 7) & ~7ull;
    if (mft)
        memcpy(mem + mft_gpa, mft, mft_size);
    mem[cmd_gpa] = 0;
    bi[0] = MEM_SIZE;
    bi[1] = end;
    bi[2] = tsc_hz;
    bi[3] = cmd_gpa;
    bi[4] = mft ? mft_gpa : 0;
    /* Page tables (section 3): P | RW | U/S | A, and D on the leaves. */
    uint64_t *pml4 = (uint64_t *)(mem + 0x2000), *pdpt = (uint64_t *)(mem + 0x3000),
             *pd = (uint64_t *)(mem + 0x4000), *pt = (uint64_t *)(mem + 0x8000);
    pml4[0] = 0x3000 | 0x27;
    pdpt[0] = 0x4000 | 0x27;
    pd[0] = 0x8000 | 0x27;
    for (uint64_t a = 0x10000; a < MEM_SIZE; a += 0x1000)
        pt[a >> 12] = a | 0x65 | (a >= 0x100000 ? 2 : 0);
    uint64_t *gdt = (uint64_t *)(mem + 0x1000);
    gdt[1] = 0x00AF99000000FFFFull;
    gdt[2] = 0x00CF93000000FFFFull;
}

/* Answers the image's hypercall on an OUT exit; 1 when it was HALT. */
static int hypercall(struct kvm_run *run, uint8_t *mem)
{
    uint32_t gpa = *(uint32_t *)((uint8_t *)run + run->io.data_offset);
    if (run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 4 || gpa + 16 > MEM_SIZE) {
        fprintf(stderr, "kvm_floor: the image made a bad hypercall (port 0x%x)\n", run->io.port);
        exit(1);
    }
    switch (run->io.port - 0x500) {
    case 1: {                                   /* WALLTIME */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        *(uint64_t *)(mem + gpa) = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
        return 0;
    }
    case 2:                                     /* PUTS: the console is a null stream */
        return 0;
    case 8:                                     /* HALT */
        return 1;
    default:
        fprintf(stderr, "kvm_floor: the image made hypercall %d, which the floor does not answer\n",
                run->io.port - 0x500);
        exit(1);
    }
}

/* One guest: its VM, memory, vCPU and the vCPU's kvm_run. */
struct guest {
    int vm, vcpu;
    uint8_t *mem;
    struct kvm_run *run;
    size_t run_size;
};

static int create_vm(int kvm)
{
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0)
        die("KVM_CREATE_VM");
    return vm;
}

/* Memory, slot, vCPU and boot registers for the VM in g->vm. */
static void make_guest(struct guest *g, size_t run_size)
{
    int vm = g->vm;
    uint8_t *mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED)
        die("mmap guest memory");
    mem[CODE_GPA] = 0xf4;                       /* hlt */
    if (register_vif) {
        /* Identity map of the first 2 MiB: PML4 0x2000 -> PDPT 0x3000 -> one 2 MiB page,
         * every entry P|RW|U/S (U/S: pvm-native.md 3); the code is one OUT. */
        uint64_t *pml4 = (uint64_t *)(mem + 0x2000), *pdpt = (uint64_t *)(mem + 0x3000),
                 *pd = (uint64_t *)(mem + 0x4000);
        pml4[0] = 0x3000 | 7;
        pdpt[0] = 0x4000 | 7;
        pd[0] = 0x87;
        uint64_t *gdt = (uint64_t *)(mem + 0x1000);
        gdt[1] = 0x00AF99000000FFFFull;         /* 64-bit code, as the monitor's GDT */
        gdt[2] = 0x00CF93000000FFFFull;         /* data */
        /* mov $0x500, %dx; out %eax, (%dx): the port of an hvt hypercall (port 0x80 does
         * not exit on kvm_pvm: the guest would run on through the zeros after it) */
        static const uint8_t code[] = { 0x66, 0xba, 0x00, 0x05, 0xef };
        memcpy(mem + 0x10000, code, sizeof code);
    }
    if (image)
        load_image(mem);

    struct kvm_userspace_memory_region region = {
        .slot = 0,
        .guest_phys_addr = 0,
        .memory_size = MEM_SIZE,
        .userspace_addr = (uint64_t)(uintptr_t)mem,
    };
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        die("KVM_SET_USER_MEMORY_REGION");

    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0)
        die("KVM_CREATE_VCPU");
    struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE,
                               MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED)
        die("mmap kvm_run");

    if ((register_vif || image) && ioctl(vcpu, KVM_SET_CPUID2, cpuid) < 0)
        die("KVM_SET_CPUID2");
    /* Real mode: CS base 0 so that CS:IP = 0:0x1000 is the hlt. */
    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
        die("KVM_GET_SREGS");
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (register_vif || image) {
        /* Long mode as the hvt ABI's section 3 has it: flat 64-bit code, flat data. */
        struct kvm_segment code = { .base = 0, .limit = 0xffffffff, .selector = 8, .type = 11,
                                    .present = 1, .s = 1, .l = 1, .g = 1 };
        struct kvm_segment data = { .base = 0, .limit = 0xffffffff, .selector = 16, .type = 3,
                                    .present = 1, .s = 1, .db = 1, .g = 1 };
        struct kvm_segment tr = { .base = 0, .limit = 0x67, .selector = 0x18, .type = 11, .present = 1 };
        sregs.cs = code;
        sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
        sregs.tr = tr;
        sregs.ldt.unusable = 1;
        sregs.ldt.type = 2;
        sregs.gdt.base = 0x1000;
        sregs.gdt.limit = 23;
        sregs.cr0 = 0x80010021;                 /* PG | WP | NE | PE */
        sregs.cr3 = 0x2000;
        sregs.cr4 = image ? 0x620 : 0x20;       /* PAE (| OSFXSR | OSXMMEXCPT for an image) */
        sregs.efer = 0x500;                     /* LME | LMA */
    }
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
        die("KVM_SET_SREGS");

    if (register_vif) {
        struct { struct kvm_msrs h; struct kvm_msr_entry e; } msrs;
        memset(&msrs, 0, sizeof msrs);
        msrs.h.nmsrs = 1;
        msrs.e.index = MSR_PVM_VIF;
        msrs.e.data = VIF_GPA | 0x400;
        if (ioctl(vcpu, KVM_SET_MSRS, &msrs) != 1)
            die("KVM_SET_MSRS (native-execution page; not a kvm_pvm host?)");
    }

    struct kvm_regs regs;
    memset(&regs, 0, sizeof regs);
    regs.rip = image ? image_entry : register_vif ? 0x10000 : CODE_GPA;
    if (image) {
        regs.rsp = MEM_SIZE - 8;
        regs.rdi = 0x10000;
    }
    regs.rflags = 0x2;                          /* bit 1 is reserved-set */
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
        die("KVM_SET_REGS");

    g->vcpu = vcpu;
    g->mem = mem;
    g->run = run;
    g->run_size = run_size;
}

/* Runs the guest to its one exit. */
static void run_guest(struct guest *g)
{
    for (;;) {
        if (ioctl(g->vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            die("KVM_RUN");
        }
        if (image && g->run->exit_reason == KVM_EXIT_IO) {
            if (hypercall(g->run, g->mem))
                break;
            continue;
        }
        if (g->run->exit_reason == (register_vif ? KVM_EXIT_IO : KVM_EXIT_HLT))
            break;
        fprintf(stderr, "kvm_floor: KVM_RUN failed: unexpected exit reason %u\n",
                g->run->exit_reason);
        exit(1);
    }
}

static void destroy_guest(struct guest *g)
{
    if (munmap(g->run, g->run_size) != 0)
        die("munmap kvm_run");
    if (close(g->vcpu) != 0)
        die("close vcpu");
    if (close(g->vm) != 0)
        die("close vm");
    if (munmap(g->mem, MEM_SIZE) != 0)
        die("munmap guest memory");
}

/* One full VM lifecycle. */
static void one_vm(int kvm, size_t run_size)
{
    struct guest g = { .vm = create_vm(kvm) };
    make_guest(&g, run_size);
    run_guest(&g);
    destroy_guest(&g);
}


/*
 * "burst N": N idle guests brought up at once, the least work any monitor could do for
 * `kiln bench burst`. Every VM first, on this thread (KVM_CREATE_VM registers an MMU notifier,
 * which takes the process's mmap lock and walks all its mappings: it cannot run in parallel, and a
 * VM made before the others' memory, kvm_run and thread stacks exist is the cheapest); then one
 * creator thread per online core gives each guest its memory, vCPU and boot registers and a
 * thread of its own, which runs it to its first exit and then waits, as an idle guest's vCPU
 * thread waits in POLL. Timed from the first KVM_CREATE_VM to the last guest's first exit.
 * "burst N shared": the same without a thread per guest: the creators run each guest to its
 * first exit themselves, as a monitor whose idle guests hold no thread (their vCPUs taken up by
 * a pool of threads when there is work) would. Thread stacks are mappings too, and every one
 * made after the VMs calls each VM's MMU notifier.
 */
static struct guest *burst_guests;
static int burst_shared;                /* "shared": no thread per guest (see burst()) */
static size_t burst_run_size;
static long burst_n;
static atomic_long burst_next, burst_up;
static double burst_last_up;
static pthread_mutex_t burst_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t burst_done = PTHREAD_COND_INITIALIZER;

/* A guest made its first exit: the last one's time is the burst's. */
static void burst_up_one(void)
{
    double t = now_us();
    pthread_mutex_lock(&burst_lock);
    if (t > burst_last_up)
        burst_last_up = t;
    if (atomic_fetch_add(&burst_up, 1) + 1 == burst_n)
        pthread_cond_signal(&burst_done);
    pthread_mutex_unlock(&burst_lock);
}

static void *burst_vcpu(void *arg)
{
    run_guest(arg);
    burst_up_one();
    for (;;)
        pause();
    return NULL;
}

static void *burst_creator(void *unused)
{
    (void)unused;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 << 10);
    for (long i; (i = atomic_fetch_add(&burst_next, 1)) < burst_n; ) {
        make_guest(&burst_guests[i], burst_run_size);
        /* As the monitor does: the vCPU keeps its VM alive, and the VM's descriptor would
         * double the open files (10,000 guests would pass this sandbox's limit of 20,000). */
        if (close(burst_guests[i].vm) != 0)
            die("close vm");
        burst_guests[i].vm = -1;
        if (burst_shared) {
            run_guest(&burst_guests[i]);
            burst_up_one();
            continue;
        }
        pthread_t t;
        if ((errno = pthread_create(&t, &attr, burst_vcpu, &burst_guests[i])) != 0)
            die("pthread_create (a guest's vCPU thread)");
    }
    return NULL;
}

static void burst(int kvm, size_t run_size, long n)
{
    burst_guests = calloc((size_t)n, sizeof *burst_guests);
    if (!burst_guests)
        die("calloc");
    burst_run_size = run_size;
    burst_n = n;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1)
        cores = 1;
    double t0 = now_us();
    for (long i = 0; i < n; i++)
        burst_guests[i].vm = create_vm(kvm);
    pthread_t creators[64];
    long nc = cores < 64 ? cores : 64;
    for (long c = 0; c < nc; c++)
        if ((errno = pthread_create(&creators[c], NULL, burst_creator, NULL)) != 0)
            die("pthread_create (a creator)");
    pthread_mutex_lock(&burst_lock);
    while (atomic_load(&burst_up) < n)
        pthread_cond_wait(&burst_done, &burst_lock);
    pthread_mutex_unlock(&burst_lock);
    printf("burst n=%ld up_ms=%.1f\n", n, (burst_last_up - t0) / 1e3);
    fflush(stdout);
    _exit(0); /* the process's exit tears the guests down at once */
}

int main(int argc, char **argv)
{
    char *end = "";
    int burst_mode = argc >= 2 && strcmp(argv[1], "burst") == 0;
    int first = burst_mode ? 2 : 1;
    long n = argc > first ? strtol(argv[first], &end, 10) : 0;
    int parked = 0, raw = 0, bad = argc <= first;
    for (int i = first + 1; i < argc; i++) {
        if (strcmp(argv[i], "parked") == 0)
            parked = 1;
        else if (strcmp(argv[i], "vif") == 0)
            register_vif = 1;
        else if (strcmp(argv[i], "raw") == 0)
            raw = 1;
        else if (burst_mode && strcmp(argv[i], "shared") == 0)
            burst_shared = 1;
        else if (strncmp(argv[i], "image=", 6) == 0)
            image_path = argv[i] + 6;
        else
            bad = 1;
    }
    if (bad || *end != '\0' || n < 1 || n > 10000000) {
        fprintf(stderr, "usage: kvm_floor N [parked] [vif] [raw] [image=FILE]   (N >= 1 iterations)\n"
                        "       kvm_floor burst N [vif] [shared]   (N guests up at once)\n");
        return 1;
    }

    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        die("open /dev/kvm");
    int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
    if (api < 0)
        die("KVM_GET_API_VERSION");
    if (api != KVM_API_VERSION) {
        fprintf(stderr, "kvm_floor: KVM_GET_API_VERSION failed: got %d, want %d\n",
                api, KVM_API_VERSION);
        return 1;
    }
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < 0)
        die("KVM_GET_VCPU_MMAP_SIZE");

    if (image_path) {
        read_image();
        /* The TSC frequency for the boot info, from a vCPU made and closed before any timing. */
        int vm = ioctl(kvm, KVM_CREATE_VM, 0), vcpu = vm < 0 ? -1 : ioctl(vm, KVM_CREATE_VCPU, 0);
        int khz = vcpu < 0 ? -1 : ioctl(vcpu, KVM_GET_TSC_KHZ, 0);
        if (khz <= 0)
            die("KVM_GET_TSC_KHZ");
        tsc_hz = (uint64_t)khz * 1000;
        close(vcpu);
        close(vm);
    }
    if (register_vif || image) {
        cpuid = calloc(1, sizeof *cpuid + 256 * sizeof(struct kvm_cpuid_entry2));
        if (!cpuid)
            die("calloc");
        cpuid->nent = 256;
        if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, cpuid) < 0)
            die("KVM_GET_SUPPORTED_CPUID");
    }

    if (burst_mode)
        burst(kvm, (size_t)run_size, n);

    if (parked) {
        int pvm = ioctl(kvm, KVM_CREATE_VM, 0);
        if (pvm < 0)
            die("KVM_CREATE_VM (parked)");
        if (ioctl(pvm, KVM_CREATE_VCPU, 0) < 0)
            die("KVM_CREATE_VCPU (parked)");
    }

    double *us = malloc(sizeof *us * (size_t)n);
    if (!us)
        die("malloc");
    for (long i = 0; i < n; i++) {
        double t0 = now_us();
        one_vm(kvm, (size_t)run_size);
        us[i] = now_us() - t0;
    }

    if (raw)                                    /* each sample, in the order taken */
        for (long i = 0; i < n; i++)
            printf("us %.2f\n", us[i]);
    qsort(us, (size_t)n, sizeof *us, cmp_double);
    /* Median: mean of the two middle samples when n is even.
     * p99: nearest rank, the ceil(0.99 n)-th smallest sample. */
    double median = (n % 2) ? us[n / 2] : (us[n / 2 - 1] + us[n / 2]) / 2;
    long rank = (99 * n + 99) / 100;            /* ceil(0.99 n), >= 1 */
    double p99 = us[rank - 1];
    printf("floor n=%ld min_us=%.2f median_us=%.2f p99_us=%.2f\n", n, us[0], median, p99);
    free(us);
    close(kvm);
    return 0;
}
