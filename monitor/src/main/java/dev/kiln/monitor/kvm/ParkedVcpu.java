package dev.kiln.monitor.kvm;

/**
 * A vCPU that never runs, in a VM with no memory: it only keeps KVM's kernel-wide counts of live
 * vCPUs above zero.
 *
 * <p>Why: KVM turns static keys on when the first vCPU without an in-kernel interrupt controller
 * (and the first software-disabled local APIC) appears, and off when the last one goes
 * ({@code kvm_has_noapic_vcpu}, {@code apic_sw_disabled} in arch/x86/kvm). Each flip patches kernel
 * text on every CPU ({@code text_poke} and IPIs): on this host that cost ~0.45 ms of each boot when
 * instances come and go one at a time (perf showed {@code __text_poke} under
 * {@code kvm_create_lapic} and {@code kvm_arch_vcpu_destroy}). One parked vCPU keeps the count
 * from returning to zero. It holds one file descriptor and no mapping.
 */
public final class ParkedVcpu implements AutoCloseable {
    private final int vcpuFd;
    private boolean closed;

    private ParkedVcpu(int vcpuFd) {
        this.vcpuFd = vcpuFd;
    }

    /** Creates the VM and its vCPU; the VM's descriptor is closed at once (the vCPU holds the VM). */
    static ParkedVcpu park(int vmFd) {
        try {
            int vcpu = LibC.ioctl(vmFd, KvmApi.KVM_CREATE_VCPU, 0L);
            if (vcpu < 0) throw new KvmException("KVM_CREATE_VCPU (parked vCPU)", -vcpu);
            return new ParkedVcpu(vcpu);
        } finally {
            LibC.close(vmFd);
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            LibC.close(vcpuFd);
        }
    }
}
