package dev.kiln.monitor;

import dev.kiln.monitor.kvm.FieldOffsets;
import dev.kiln.monitor.arch.x86.LongMode;
import dev.kiln.monitor.arch.x86.PageWalk;
import dev.kiln.monitor.hvt.FaultKind;
import dev.kiln.monitor.hvt.GuestMemory;
import dev.kiln.monitor.kvm.KvmApi;
import dev.kiln.monitor.kvm.KvmException;
import dev.kiln.monitor.kvm.Vcpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * Why a guest shut down (a triple fault: an exception it had no IDT for), when its page tables say:
 * a write to a read-only page or an instruction fetched from a no-execute one breaks W^X (the boot
 * tables of {@link dev.kiln.monitor.arch.x86.ImageTables}); the faulting address is CR2, which KVM
 * reports in the system registers, or natively on kvm_pvm in the native-execution page
 * ({@code u64 cr2} at offset 8, pvm-native.md 2).
 */
final class ShutdownDiagnosis {
    private static final long SR_CR2 = FieldOffsets.of(KvmApi.SREGS, "cr2");
    private static final long SR_CR3 = FieldOffsets.of(KvmApi.SREGS, "cr3");
    private static final long SR_CR0 = FieldOffsets.of(KvmApi.SREGS, "cr0");
    private static final long CR0_PE = 1;
    /** Where an x86 CPU starts after RESET or INIT (SDM vol. 3, 10.1.4: CS.base 0xffff0000 + IP 0xfff0). */
    private static final long RESET_RIP = 0xfff0;

    private ShutdownDiagnosis() {}

    /** The fault to end the guest with for a shutdown at {@code rip} (-1: unknown). */
    static Outcome.Faulted of(Vcpu vcpu, GuestMemory memory, long rip, boolean native_) {
        String at = rip == -1 ? "" : " (RIP=0x" + Long.toHexString(rip) + ")";
        String nativeHint = native_ ? StallDiagnosis.nativeHint(rip) : "";
        long cr2, cr3;
        boolean reset;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sregs = arena.allocate(KvmApi.SREGS);
            vcpu.getSregs(sregs);
            cr2 = sregs.get(JAVA_LONG, SR_CR2);
            cr3 = sregs.get(JAVA_LONG, SR_CR3);
            // An hvt guest never leaves long mode: at the reset vector with protection off, KVM reset
            // the vCPU, as KVM on AMD-V does on a SHUTDOWN intercept (the VMCB is undefined after
            // one): what faulted is gone.
            reset = rip == RESET_RIP && (sregs.get(JAVA_LONG, SR_CR0) & CR0_PE) == 0;
        } catch (KvmException e) {
            cr2 = 0;
            cr3 = -1;
            reset = false;
        }
        if (reset) {
            return new Outcome.Faulted(FaultKind.TRIPLE_FAULT, "triple fault: the guest took an exception it could not"
                    + " handle (this host's KVM reset the vCPU on it, as KVM on AMD-V does, so its address is not known)");
        }
        MemorySegment ram = memory.segment();
        if (cr2 == 0 && native_) cr2 = ram.get(JAVA_LONG_UNALIGNED, LongMode.VIF_GPA + 8);
        if (nativeHint.isEmpty() && cr2 != 0 && cr3 != -1) {
            PageWalk.Translation t = PageWalk.translate(ram, cr3, cr2);
            // a fetch faults at the instruction's own bytes (RIP, or the next page for one that
            // straddles a page end, within its at most 15 bytes); anything else was a data access
            boolean fetch = rip != -1 && cr2 - rip >= 0 && cr2 - rip < 15;
            if (t.ok() && fetch && !t.executable()) {
                return new Outcome.Faulted(FaultKind.MEMORY_PROTECTION, "guest executed non-executable memory at 0x"
                        + Long.toHexString(cr2) + " (W^X: only the image's text is executable; data, bss, heap and"
                        + " stack are not)" + at);
            }
            if (t.ok() && !fetch && !t.writable()) {
                return new Outcome.Faulted(FaultKind.MEMORY_PROTECTION, "guest wrote to read-only memory at 0x"
                        + Long.toHexString(cr2) + " (W^X: the image's text and rodata, and the boot info, are"
                        + " read-only)" + at);
            }
        }
        return new Outcome.Faulted(FaultKind.TRIPLE_FAULT, "triple fault: the guest took an exception it could not handle"
                + at + (cr2 != 0 ? " (CR2=0x" + Long.toHexString(cr2) + ")" : "") + nativeHint);
    }
}
