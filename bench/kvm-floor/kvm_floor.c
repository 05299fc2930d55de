/*
 * kvm_floor: the "C floor" for Kiln's boot benchmark.
 *
 * Measures the cheapest possible KVM VM lifecycle from C, so the monitor's
 * boot time can be compared with what the kernel itself costs:
 * create a VM, give it 2 MiB of RAM holding one `hlt` at GPA 0x1000,
 * create a vCPU in real mode pointing at it, run until KVM_EXIT_HLT, tear
 * everything down.  /dev/kvm is opened once, outside the timed region.
 *
 * Usage: kvm_floor N [parked]
 * "parked" first makes one more VM with a vCPU that never runs and keeps it
 * for the whole run, as Kiln's monitor does (ParkedVcpu.java): KVM then never
 * sees its count of vCPUs drop to zero, so no boot pays for the kernel text
 * patching that flipping its static keys costs.
 * Prints: floor n=<N> min_us=<x.xx> median_us=<x.xx> p99_us=<x.xx>
 * Build:  gcc -O2 -o kvm_floor kvm_floor.c
 */
#define _GNU_SOURCE
#include <errno.h>
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

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One full VM lifecycle. */
static void one_vm(int kvm, size_t run_size)
{
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0)
        die("KVM_CREATE_VM");

    uint8_t *mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED)
        die("mmap guest memory");
    mem[CODE_GPA] = 0xf4;                       /* hlt */

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

    /* Real mode: CS base 0 so that CS:IP = 0:0x1000 is the hlt. */
    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
        die("KVM_GET_SREGS");
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
        die("KVM_SET_SREGS");

    struct kvm_regs regs;
    memset(&regs, 0, sizeof regs);
    regs.rip = CODE_GPA;
    regs.rflags = 0x2;                          /* bit 1 is reserved-set */
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
        die("KVM_SET_REGS");

    for (;;) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            die("KVM_RUN");
        }
        if (run->exit_reason == KVM_EXIT_HLT)
            break;
        fprintf(stderr, "kvm_floor: KVM_RUN failed: unexpected exit reason %u\n",
                run->exit_reason);
        exit(1);
    }

    if (munmap(run, run_size) != 0)
        die("munmap kvm_run");
    if (close(vcpu) != 0)
        die("close vcpu");
    if (close(vm) != 0)
        die("close vm");
    if (munmap(mem, MEM_SIZE) != 0)
        die("munmap guest memory");
}

int main(int argc, char **argv)
{
    char *end = "";
    long n = argc >= 2 ? strtol(argv[1], &end, 10) : 0;
    int parked = argc == 3 && strcmp(argv[2], "parked") == 0;
    if (argc < 2 || argc > 3 || (argc == 3 && !parked) || *end != '\0' || n < 1 || n > 10000000) {
        fprintf(stderr, "usage: kvm_floor N [parked]   (N >= 1 iterations)\n");
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
