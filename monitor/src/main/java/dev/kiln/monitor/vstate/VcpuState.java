package dev.kiln.monitor.vstate;

import dev.kiln.monitor.kvm.KvmApi;
import dev.kiln.monitor.kvm.Vcpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * A vCPU's architectural state as KVM hands it out: general registers ({@code struct kvm_regs}),
 * system registers ({@code struct kvm_sregs}: segments, control registers, EFER, descriptor
 * tables), x87/SSE state ({@code struct kvm_fpu}) and the time-stamp counter, so that a restored
 * guest's clock goes on from where it stopped.
 */
public record VcpuState(byte[] regs, byte[] sregs, byte[] fpu, long tsc) {
    public VcpuState {
        regs = regs.clone();
        sregs = sregs.clone();
        fpu = fpu.clone();
    }

    @Override
    public byte[] regs() {
        return regs.clone();
    }

    @Override
    public byte[] sregs() {
        return sregs.clone();
    }

    @Override
    public byte[] fpu() {
        return fpu.clone();
    }

    /** Reads the state of a vCPU that is not running. */
    public static VcpuState capture(Vcpu vcpu) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment regs = arena.allocate(KvmApi.REGS);
            MemorySegment sregs = arena.allocate(KvmApi.SREGS);
            MemorySegment fpu = arena.allocate(KvmApi.FPU_SIZE, 16);
            vcpu.getRegs(regs);
            vcpu.getSregs(sregs);
            vcpu.getFpu(fpu);
            return new VcpuState(regs.toArray(JAVA_BYTE), sregs.toArray(JAVA_BYTE), fpu.toArray(JAVA_BYTE),
                    vcpu.getMsr(KvmApi.MSR_IA32_TSC));
        }
    }

    /** Loads this state into a vCPU that has not run yet. */
    public void apply(Vcpu vcpu) {
        apply(vcpu, null, null);
    }

    /**
     * Loads this state into a vCPU that has not run yet and is known to hold {@code heldSregs} and
     * {@code heldFpu} (null: unknown). Parts it already holds byte for byte are not loaded again:
     * a clone of a guest that never changed its system or FPU registers needs two ioctls, not four
     * (KVM_SET_SREGS is the dearest: it resets the vCPU's MMU context).
     */
    public void apply(Vcpu vcpu, byte[] heldSregs, byte[] heldFpu) {
        try (Arena arena = Arena.ofConfined()) {
            if (!java.util.Arrays.equals(sregs, heldSregs)) {
                MemorySegment s = arena.allocate(KvmApi.SREGS);
                s.copyFrom(MemorySegment.ofArray(sregs));
                vcpu.setSregs(s);
            }
            MemorySegment r = arena.allocate(KvmApi.REGS);
            r.copyFrom(MemorySegment.ofArray(regs));
            vcpu.setRegs(r);
            if (!java.util.Arrays.equals(fpu, heldFpu)) {
                MemorySegment f = arena.allocate(KvmApi.FPU_SIZE, 16);
                f.copyFrom(MemorySegment.ofArray(fpu));
                vcpu.setFpu(f);
            }
            vcpu.setMsr(KvmApi.MSR_IA32_TSC, tsc);
        }
    }
}
