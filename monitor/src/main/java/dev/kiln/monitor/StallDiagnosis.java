package dev.kiln.monitor;

import dev.kiln.monitor.kvm.FieldOffsets;
import dev.kiln.monitor.arch.x86.LongMode;
import dev.kiln.monitor.arch.x86.PageWalk;
import dev.kiln.monitor.hvt.FaultKind;
import dev.kiln.monitor.hvt.GuestMemory;
import dev.kiln.monitor.kvm.KvmApi;
import dev.kiln.monitor.kvm.Vcpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Why a native guest on kvm_pvm made no progress, when the reason is one the host cannot run.
 *
 * <p>Emulated, such a guest ends with an exit the monitor sees: HLT exits, a bad page-table entry
 * leads to a triple fault. Natively it does not (pvm-native.md 3): HLT returns at once, so a
 * guest that halts instead of calling HALT spins; page tables without U/S, or code in PML4 slot
 * 256, make the guest take #PF forever inside the kernel, with no exit at all. So a guest that
 * made no hypercall for a while is kicked out of KVM_RUN (one exit, ~32 us) and examined here; a
 * guest that is merely computing is let go on.
 */
final class StallDiagnosis {
    /** Checks in a row that must find the vCPU at a HLT before it counts as halted, not computing. */
    static final int HLT_SIGHTINGS = 3;
    private static final byte HLT = (byte) 0xF4, CLI = (byte) 0xFA, JMP_SHORT = (byte) 0xEB;
    private static final long SR_CR0 = FieldOffsets.of(KvmApi.SREGS, "cr0");
    private static final long SR_CR3 = FieldOffsets.of(KvmApi.SREGS, "cr3");

    private final Vcpu vcpu;
    private final GuestMemory memory;
    private int hltSightings;

    StallDiagnosis(Vcpu vcpu, GuestMemory memory) {
        this.vcpu = vcpu;
        this.memory = memory;
    }

    /** A fault that ends the guest, or null when it may just be busy. Called on the vCPU thread, out of KVM_RUN. */
    Outcome.Faulted examine() {
        long rip, rsp, cr0, cr3;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment regs = arena.allocate(KvmApi.REGS);
            MemorySegment sregs = arena.allocate(KvmApi.SREGS);
            vcpu.getRegs(regs);
            vcpu.getSregs(sregs);
            rip = regs.get(JAVA_LONG, KvmApi.REGS_RIP);
            rsp = regs.get(JAVA_LONG, KvmApi.REGS_RSP);
            cr0 = sregs.get(JAVA_LONG, SR_CR0);
            cr3 = sregs.get(JAVA_LONG, SR_CR3);
        }
        if ((cr0 & LongMode.CR0_PG) == 0) return null; // not the hvt state; nothing to say
        MemorySegment ram = memory.segment();
        PageWalk.Translation code = PageWalk.translate(ram, cr3, rip);
        if (!code.ok()) {
            return new Outcome.Faulted(FaultKind.NATIVE_STALL, "the guest cannot run natively: " + code.problem()
                    + " (RIP=0x" + Long.toHexString(rip) + "); it faults there forever without an exit"
                    + " (pvm-native.md 3; kiln run --emulate runs it emulated)");
        }
        PageWalk.Translation stack = PageWalk.translate(ram, cr3, rsp - 8);
        if (!stack.ok()) {
            return new Outcome.Faulted(FaultKind.NATIVE_STALL, "the guest cannot run natively: its stack: " + stack.problem()
                    + " (RSP=0x" + Long.toHexString(rsp) + ", RIP=0x" + Long.toHexString(rip) + ")");
        }
        if (atHlt(ram, code.gpa())) {
            if (++hltSightings >= HLT_SIGHTINGS) {
                return new Outcome.Faulted(FaultKind.HLT, "guest executed HLT instead of the HALT hypercall (RIP=0x"
                        + Long.toHexString(rip) + "); natively HLT returns at once, so it spun there");
            }
        } else {
            hltSightings = 0;
        }
        return null;
    }

    /**
     * What to add to a native guest's triple-fault message when its RIP explains it: code in PML4
     * slot 256 takes an exception there on kvm_pvm (pvm-native.md 3). Empty otherwise.
     */
    static String nativeHint(long rip) {
        return (rip >>> 47) != 0 && PageWalk.pml4Slot(rip) == PageWalk.FORBIDDEN_PML4_SLOT
                ? ": the code is in PML4 slot 256, which a native vCPU on kvm_pvm cannot run (pvm-native.md 3;"
                + " kiln run --emulate runs it emulated)" : "";
    }

    /**
     * True when the instruction at {@code gpa} (RIP is always an instruction's first byte) is a HLT,
     * a CLI before one, or a short jump back over a HLT just before it: a {@code hlt; jmp} loop is
     * seen at either instruction. A byte 0xF4 merely before RIP proves nothing (it may end another
     * instruction's immediate), so a computing guest is never taken for a halted one.
     */
    private static boolean atHlt(MemorySegment ram, long gpa) {
        byte at = byteAt(ram, gpa), next = byteAt(ram, gpa + 1), before = byteAt(ram, gpa - 1);
        if (at == HLT || (at == CLI && next == HLT)) return true;
        if (before != HLT || at != JMP_SHORT) return false;
        long target = gpa + 2 + next; // rel8, sign-extended
        return target <= gpa - 1 && target >= gpa - 16;
    }

    private static byte byteAt(MemorySegment ram, long gpa) {
        return gpa >= 0 && gpa < ram.byteSize() ? ram.get(JAVA_BYTE, gpa) : 0;
    }
}
