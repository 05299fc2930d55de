package dev.kiln.monitor.kvm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * The open {@code /dev/kvm} system handle: checks the API version once, knows the size of a vCPU's
 * shared {@code kvm_run} area and the CPUID features this host supports. One per process; VMs are
 * created from it.
 */
public final class Kvm implements AutoCloseable {
    public static final String DEVICE = "/dev/kvm";
    private static final int MAX_CPUID_ENTRIES = 256;

    private final int fd;
    private final long vcpuMmapSize;
    private final MemorySegment supportedCpuid;

    private Kvm(int fd, long vcpuMmapSize, MemorySegment supportedCpuid) {
        this.fd = fd;
        this.vcpuMmapSize = vcpuMmapSize;
        this.supportedCpuid = supportedCpuid;
    }

    /** Opens {@code /dev/kvm}; throws {@link KvmException} with the reason when KVM is unusable. */
    public static Kvm open() {
        int fd = LibC.open(DEVICE, LibC.O_RDWR | LibC.O_CLOEXEC);
        if (fd < 0) {
            throw new KvmException("open " + DEVICE, -fd);
        }
        try {
            int version = LibC.ioctl(fd, KvmApi.KVM_GET_API_VERSION, 0L);
            if (version != KvmApi.API_VERSION) {
                throw new KvmException("KVM API version is " + version + ", Kiln needs " + KvmApi.API_VERSION);
            }
            int mmapSize = LibC.ioctl(fd, KvmApi.KVM_GET_VCPU_MMAP_SIZE, 0L);
            if (mmapSize < 0) {
                throw new KvmException("KVM_GET_VCPU_MMAP_SIZE", -mmapSize);
            }
            return new Kvm(fd, mmapSize, readSupportedCpuid(fd));
        } catch (RuntimeException e) {
            LibC.close(fd);
            throw e;
        }
    }

    /** Reports why KVM cannot be used here, or null when it can: for tests that must skip loudly. */
    public static String unavailableReason() {
        try (Kvm ignored = open()) {
            return null;
        } catch (KvmException e) {
            return e.getMessage();
        }
    }

    private static MemorySegment readSupportedCpuid(int fd) {
        long size = KvmApi.CPUID2_HEADER + MAX_CPUID_ENTRIES * KvmApi.CPUID_ENTRY2.byteSize();
        MemorySegment cpuid = Arena.global().allocate(size, 8);
        cpuid.set(JAVA_INT, 0, MAX_CPUID_ENTRIES);
        int rc = LibC.ioctl(fd, KvmApi.KVM_GET_SUPPORTED_CPUID, cpuid);
        if (rc < 0) {
            throw new KvmException("KVM_GET_SUPPORTED_CPUID", -rc);
        }
        int nent = cpuid.get(JAVA_INT, 0);
        return cpuid.asSlice(0, KvmApi.CPUID2_HEADER + nent * KvmApi.CPUID_ENTRY2.byteSize());
    }

    /** A VM with one vCPU that never runs: see {@link ParkedVcpu}. */
    public ParkedVcpu parkVcpu() {
        int vmfd = createVmFd();
        if (vmfd < 0) {
            throw new KvmException("KVM_CREATE_VM (parked vCPU)", -vmfd);
        }
        return ParkedVcpu.park(vmfd);
    }

    /** Creates an empty VM (no memory, no vCPU). */
    public Vm createVm() {
        int vmfd = createVmFd();
        if (vmfd < 0) {
            throw new KvmException("KVM_CREATE_VM", -vmfd);
        }
        return new Vm(this, vmfd);
    }

    /**
     * KVM_CREATE_VM, again while it answers EINTR: registering the VM's MMU notifier takes every
     * mapping of the process in turn (mm_take_all_locks) and gives up when a signal is pending, so
     * any signal to the creating thread (a profiler's, the JVM's own) would fail a create that can
     * simply be made again. Seen: one create in 2,000 under JFR in {@code kiln bench api}.
     */
    private int createVmFd() {
        int vmfd;
        do {
            vmfd = LibC.ioctl(fd, KvmApi.KVM_CREATE_VM, 0L);
        } while (vmfd == -LibC.EINTR);
        return vmfd;
    }

    /** 0: not known yet; 1: this host's KVM offers the native-execution page; -1: it does not. */
    private volatile int pvmPage;

    /**
     * True when this host's KVM is kvm_pvm and offers the native-execution page ({@link PvmPage}).
     * Learnt once per process from the first vCPU made, {@code fresh} (it must not have run).
     */
    public boolean offersPvmPage(Vcpu fresh) {
        int known = pvmPage;
        if (known == 0) pvmPage = known = PvmPage.offeredBy(fresh) ? 1 : -1;
        return known > 0;
    }

    /** Whether the page is offered, asking a throwaway vCPU when no vCPU was made yet. */
    public boolean offersPvmPage() {
        if (pvmPage == 0) {
            try (Vm vm = createVm(); Vcpu vcpu = vm.createVcpu(0)) {
                offersPvmPage(vcpu);
            }
        }
        return pvmPage > 0;
    }

    /**
     * True when a vCPU of this process already showed the page is offered: every instance's vCPU
     * asked before it ran ({@link #offersPvmPage(Vcpu)}), so for a made instance this is the answer.
     */
    public boolean pvmPageSeen() {
        return pvmPage > 0;
    }

    long vcpuMmapSize() {
        return vcpuMmapSize;
    }

    /**
     * The host's supported CPUID as a {@code struct kvm_cpuid2}; read-only by convention, callers
     * copy it before masking features.
     */
    public MemorySegment supportedCpuid() {
        return supportedCpuid;
    }

    @Override
    public void close() {
        LibC.close(fd);
    }
}
