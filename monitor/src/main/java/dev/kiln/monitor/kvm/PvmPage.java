package dev.kiln.monitor.kvm;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * Native guest execution on this host family's paravirtual KVM ({@code kvm_pvm}): facts measured
 * in {@code ../shared/docs/pvm-native.md}, detected at run time, never assumed.
 *
 * <p>On kvm_pvm every instruction of an ordinary long-mode guest is run by KVM's instruction
 * emulator (~1 us each). Registering one zeroed guest page per vCPU, the "VIF" page that holds the
 * guest's virtual interrupt flag, makes the same vCPU run at the host's speed (pvm-native.md 2):
 * before the first KVM_RUN the host writes MSR {@value #MSR_VIF_HEX} = page GPA | {@link #ENABLE}.
 * The page is {@code struct { u8 if_; u8 pending; u8 pad[6]; u64 cr2; }}.
 *
 * <p>Detection (pvm-native.md 2): a fresh vCPU on kvm_pvm reads that MSR back as {@link #ENABLE}
 * with no GPA; hardware KVM (VMX/SVM) has no such MSR, KVM_GET_MSRS handles none of it, and guests
 * there run natively already.
 *
 * <p>The registration is not part of the vCPU state KVM_GET_* returns: every vCPU, fresh,
 * restored, cloned or forked, is registered anew, with the page's head zeroed (a snapshot or a
 * fork parent leaves its own interrupt state there).
 */
public final class PvmPage {
    private PvmPage() {}

    /** The VIF page MSR (pvm-native.md 2). */
    public static final int MSR_VIF = 0x4b564d10;
    static final String MSR_VIF_HEX = "0x4b564d10";
    /** Bit 10: "register this GPA"; a GPA written without it is refused by the host. */
    public static final long ENABLE = 0x400;
    /** Bytes of the page KVM uses: {@code if_, pending, pad[6], cr2}. */
    public static final long USED_BYTES = 16;

    /** True when {@code vcpu} (fresh, never run) belongs to a kvm_pvm host that offers the page. */
    public static boolean offeredBy(Vcpu vcpu) {
        try {
            long v = vcpu.getMsr(MSR_VIF);
            return (v & ENABLE) != 0 && (v & ~0xfffL) == 0;
        } catch (KvmException e) {
            return false; // no such MSR: hardware KVM (or a PVM flavour Kiln does not know)
        }
    }

    /**
     * Registers the page at {@code gpa} (page aligned, inside {@code ram}, owned by the monitor) for
     * {@code vcpu}, after zeroing the part KVM reads, unless it is zero already (a clone's page is
     * then not copied on write for nothing).
     */
    public static void register(Vcpu vcpu, MemorySegment ram, long gpa) {
        if ((gpa & 0xfff) != 0 || gpa + 4096 > ram.byteSize()) {
            throw new IllegalArgumentException("native-execution page at 0x" + Long.toHexString(gpa) + " is not a page of guest RAM");
        }
        if (ram.get(JAVA_LONG_UNALIGNED, gpa) != 0) ram.set(JAVA_LONG_UNALIGNED, gpa, 0L);
        if (ram.get(JAVA_LONG_UNALIGNED, gpa + 8) != 0) ram.set(JAVA_LONG_UNALIGNED, gpa + 8, 0L);
        vcpu.setMsr(MSR_VIF, gpa | ENABLE);
    }
}
