package dev.kiln.monitor.kvm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One virtual CPU: its file descriptor and the {@code kvm_run} area shared with the kernel.
 * Only its own thread calls {@link #run()}; any thread may {@link #requestImmediateExit()}.
 */
public final class Vcpu implements AutoCloseable {
    private final int fd;
    private final MemorySegment run;
    private boolean closed;

    Vcpu(int fd, MemorySegment run) {
        this.fd = fd;
        this.run = run;
    }

    /** The shared {@code struct kvm_run}; read exit details at the {@link KvmApi} offsets. */
    public MemorySegment runArea() {
        return run;
    }

    /** Enters the guest until the next exit; returns 0 or -errno (-EINTR when kicked). */
    public int run() {
        return LibC.ioctl(fd, KvmApi.KVM_RUN, 0L);
    }

    public int exitReason() {
        return run.get(JAVA_INT, KvmApi.RUN_EXIT_REASON);
    }

    /**
     * Makes the next (or current, once a signal interrupts it) KVM_RUN return -EINTR at once, so a
     * stop request can never be lost between a check and the ioctl.
     */
    public void requestImmediateExit() {
        run.set(JAVA_BYTE, KvmApi.RUN_IMMEDIATE_EXIT, (byte) 1);
    }

    /** Lets KVM_RUN enter the guest again after a pause asked it not to. */
    public void clearImmediateExit() {
        run.set(JAVA_BYTE, KvmApi.RUN_IMMEDIATE_EXIT, (byte) 0);
    }

    public void getFpu(MemorySegment fpu) {
        check(LibC.ioctl(fd, KvmApi.KVM_GET_FPU, fpu), "KVM_GET_FPU");
    }

    public void setFpu(MemorySegment fpu) {
        check(LibC.ioctl(fd, KvmApi.KVM_SET_FPU, fpu), "KVM_SET_FPU");
    }

    /** Reads one model-specific register. */
    public long getMsr(int index) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment msrs = arena.allocate(KvmApi.MSRS_HEADER + KvmApi.MSR_ENTRY, 8);
            msrs.set(JAVA_INT, 0, 1);
            msrs.set(JAVA_INT, KvmApi.MSRS_HEADER, index);
            int rc = LibC.ioctl(fd, KvmApi.KVM_GET_MSRS, msrs);
            if (rc != 1) throw new KvmException("KVM_GET_MSRS 0x" + Integer.toHexString(index), rc < 0 ? -rc : 0);
            return msrs.get(JAVA_LONG, KvmApi.MSRS_HEADER + 8);
        }
    }

    /** Writes one model-specific register. */
    public void setMsr(int index, long value) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment msrs = arena.allocate(KvmApi.MSRS_HEADER + KvmApi.MSR_ENTRY, 8);
            msrs.set(JAVA_INT, 0, 1);
            msrs.set(JAVA_INT, KvmApi.MSRS_HEADER, index);
            msrs.set(JAVA_LONG, KvmApi.MSRS_HEADER + 8, value);
            int rc = LibC.ioctl(fd, KvmApi.KVM_SET_MSRS, msrs);
            if (rc != 1) throw new KvmException("KVM_SET_MSRS 0x" + Integer.toHexString(index), rc < 0 ? -rc : 0);
        }
    }

    public void setRegs(MemorySegment regs) {
        check(LibC.ioctl(fd, KvmApi.KVM_SET_REGS, regs), "KVM_SET_REGS");
    }

    public void getRegs(MemorySegment regs) {
        check(LibC.ioctl(fd, KvmApi.KVM_GET_REGS, regs), "KVM_GET_REGS");
    }

    public void setSregs(MemorySegment sregs) {
        check(LibC.ioctl(fd, KvmApi.KVM_SET_SREGS, sregs), "KVM_SET_SREGS");
    }

    public void getSregs(MemorySegment sregs) {
        check(LibC.ioctl(fd, KvmApi.KVM_GET_SREGS, sregs), "KVM_GET_SREGS");
    }

    /**
     * KVM_SET_GUEST_DEBUG: {@code control} (KVM_GUESTDBG_* bits; 0 turns debugging off) and the
     * eight debug registers (DR0-DR3 addresses, DR7 their enables; KVM API 4.59).
     */
    public void setGuestDebug(int control, long[] debugRegisters) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment d = arena.allocate(KvmApi.GUEST_DEBUG_SIZE, 8);
            d.set(JAVA_INT, 0, control);
            for (int i = 0; i < 8; i++) {
                d.set(JAVA_LONG, KvmApi.GUEST_DEBUG_REGS + 8L * i, debugRegisters[i]);
            }
            check(LibC.ioctl(fd, KvmApi.KVM_SET_GUEST_DEBUG, d), "KVM_SET_GUEST_DEBUG");
        }
    }

    public void setCpuid(MemorySegment cpuid2) {
        check(LibC.ioctl(fd, KvmApi.KVM_SET_CPUID2, cpuid2), "KVM_SET_CPUID2");
    }

    /** The guest TSC frequency in kHz. */
    public long tscKhz() {
        int khz = LibC.ioctl(fd, KvmApi.KVM_GET_TSC_KHZ, 0L);
        if (khz <= 0) {
            throw new KvmException("KVM_GET_TSC_KHZ", khz < 0 ? -khz : 0);
        }
        return khz;
    }

    private static void check(int rc, String call) {
        if (rc < 0) {
            throw new KvmException(call, -rc);
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            LibC.munmap(run);
            LibC.close(fd);
        }
    }
}
