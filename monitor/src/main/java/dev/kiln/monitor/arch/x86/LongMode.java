package dev.kiln.monitor.arch.x86;

import dev.kiln.monitor.kvm.FieldOffsets;
import dev.kiln.monitor.extension.InfoPage;
import dev.kiln.monitor.kvm.KvmApi;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The x86_64 machine state an hvt guest starts in (hvt ABI section 3): 64-bit long mode, paging on
 * with an identity map of the low 4 GiB, flat segments, interrupts off.
 *
 * <p>The low-memory tables (GDT at 0x1000, PML4 0x2000, PDPT 0x3000, four page directories
 * 0x4000-0x7FFF, the page table of the first 2 MiB at 0x8000) are built once per image by
 * {@link ImageTables} and copied into each guest.
 */
public final class LongMode {
    private LongMode() {}

    public static final long GDT_GPA = 0x1000;
    public static final long PML4_GPA = 0x2000;
    public static final long PDPT_GPA = 0x3000;
    public static final long PD_GPA = 0x4000;
    public static final long PT_GPA = 0x8000;
    /**
     * The native-execution page of the guest's one vCPU on kvm_pvm ({@link dev.kiln.monitor.kvm.PvmPage};
     * pvm-native.md 2): monitor-owned like the tables below it, never mapped in the guest's page
     * tables (it lies below {@link #FIRST_PRESENT}), and no hypercall buffer may touch it.
     */
    public static final long VIF_GPA = 0x9000;
    /** Guest pages below this are not present: a null dereference faults. */
    public static final long FIRST_PRESENT = 0x10000;
    /**
     * Guest pages below this are read-only (boot info, manifest and command line), except the first
     * page of Kiln's info page, where the guest writes its boot timestamps (docs/kiln-abi.md 2).
     */
    public static final long FIRST_WRITABLE = 0x100000;

    /**
     * Every entry carries U/S (bit 2): a native vCPU on kvm_pvm runs the guest in the CPU's user
     * mode, so a supervisor-only entry makes its first instruction take #PF forever, with no exit
     * (pvm-native.md 3). Nothing else sees the bit: hvt guests run at CPL 0 and the monitor turns
     * neither SMEP nor SMAP on (CR4 below), so on hardware KVM nothing changes.
     */
    static final long PTE_US = 4;
    /**
     * Accessed and dirty set ahead: a shadow MMU (kvm_pvm's native path) otherwise takes one more
     * fault per page to set them as the guest first reads and then writes it (~7 us each there); the
     * idle guest's page-table walks went 27 -> 19 (perf, kvmmmu:kvm_mmu_pagetable_walk). The CPU
     * ignores D in non-leaf entries.
     */
    static final long PTE_A = 0x20, PTE_D = 0x40;
    static final long PTE_P = 1 | PTE_US | PTE_A | PTE_D, PTE_RW = 2, PTE_PS = 0x80;

    public static final long CR0_PE = 1L, CR0_NE = 1L << 5, CR0_WP = 1L << 16, CR0_PG = 1L << 31;
    public static final long CR4_PAE = 1L << 5, CR4_OSFXSR = 1L << 9, CR4_OSXMMEXCPT = 1L << 10;
    public static final long EFER_LME = 1L << 8, EFER_LMA = 1L << 10;
    /** No-execute enable: the NX bit of the boot page tables takes effect (W^X, {@link ImageTables}). */
    public static final long EFER_NXE = 1L << 11;
    static final long APIC_BASE_DEFAULT = 0xFEE00000L | 0x800 | 0x100; // enabled, bootstrap processor

    public static final int SEL_CODE = 0x08;
    public static final int SEL_DATA = 0x10;
    public static final int SEL_TSS = 0x18;

    /** GDT entries: null; 64-bit code (type 9, L=1, G=1); data (type 3, D=1, G=1). */
    static final long GDT_CODE = 0x00AF99000000FFFFL;
    static final long GDT_DATA = 0x00CF93000000FFFFL;

    private static final long SR_CS = FieldOffsets.of(KvmApi.SREGS, "cs");
    private static final long SR_TR = FieldOffsets.of(KvmApi.SREGS, "tr");
    private static final long SR_LDT = FieldOffsets.of(KvmApi.SREGS, "ldt");
    private static final long SR_GDT = FieldOffsets.of(KvmApi.SREGS, "gdt");
    private static final long SR_CR0 = FieldOffsets.of(KvmApi.SREGS, "cr0");
    private static final long SR_CR3 = FieldOffsets.of(KvmApi.SREGS, "cr3");
    private static final long SR_CR4 = FieldOffsets.of(KvmApi.SREGS, "cr4");
    private static final long SR_EFER = FieldOffsets.of(KvmApi.SREGS, "efer");
    private static final long SR_APIC_BASE = FieldOffsets.of(KvmApi.SREGS, "apic_base");
    private static final String[] DATA_SEGMENTS = {"ds", "es", "fs", "gs", "ss"};

    /**
     * Fills a zeroed {@code struct kvm_sregs} with the long-mode state; the whole struct is written,
     * so no KVM_GET_SREGS round trip is needed first.
     */
    public static void fillSregs(MemorySegment sregs) {
        segment(sregs, SR_CS, 0xffffffffL, SEL_CODE, 9, 0, 1, 1, 1);
        for (String s : DATA_SEGMENTS) {
            segment(sregs, FieldOffsets.of(KvmApi.SREGS, s), 0xffffffffL, SEL_DATA, 3, 1, 1, 0, 1);
        }
        // A busy 64-bit TSS (type 11) with system-segment S=0: VMX requires a usable TR.
        segment(sregs, SR_TR, 0x67, SEL_TSS, 11, 0, 0, 0, 0);
        sregs.set(JAVA_BYTE, SR_LDT + seg("unusable"), (byte) 1);
        sregs.set(JAVA_BYTE, SR_LDT + seg("type"), (byte) 2);
        sregs.set(JAVA_LONG, SR_GDT, GDT_GPA);
        sregs.set(JAVA_SHORT, SR_GDT + 8, (short) 23);
        sregs.set(JAVA_LONG, SR_CR0, CR0_PE | CR0_NE | CR0_WP | CR0_PG);
        sregs.set(JAVA_LONG, SR_CR3, PML4_GPA);
        sregs.set(JAVA_LONG, SR_CR4, CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT);
        sregs.set(JAVA_LONG, SR_EFER, EFER_LME | EFER_LMA | EFER_NXE);
        sregs.set(JAVA_LONG, SR_APIC_BASE, APIC_BASE_DEFAULT);
    }

    private static long seg(String field) {
        return FieldOffsets.of(KvmApi.SEGMENT, field);
    }

    private static void segment(MemorySegment sregs, long at, long limit, int selector, int type,
                                int db, int s, int l, int g) {
        sregs.set(JAVA_LONG, at + seg("base"), 0L);
        sregs.set(JAVA_INT, at + seg("limit"), (int) limit);
        sregs.set(JAVA_SHORT, at + seg("selector"), (short) selector);
        sregs.set(JAVA_BYTE, at + seg("type"), (byte) type);
        sregs.set(JAVA_BYTE, at + seg("present"), (byte) 1);
        sregs.set(JAVA_BYTE, at + seg("dpl"), (byte) 0);
        sregs.set(JAVA_BYTE, at + seg("db"), (byte) db);
        sregs.set(JAVA_BYTE, at + seg("s"), (byte) s);
        sregs.set(JAVA_BYTE, at + seg("l"), (byte) l);
        sregs.set(JAVA_BYTE, at + seg("g"), (byte) g);
    }

    /** Fills a zeroed {@code struct kvm_regs}: RIP = entry, RFLAGS = 0x2, RSP = mem_size - 8, RDI = boot info. */
    public static void fillRegs(MemorySegment regs, long entry, long memSize, long bootInfoGpa) {
        regs.set(JAVA_LONG, KvmApi.REGS_RIP, entry);
        regs.set(JAVA_LONG, KvmApi.REGS_RFLAGS, 0x2L);
        regs.set(JAVA_LONG, KvmApi.REGS_RSP, memSize - 8);
        regs.set(JAVA_LONG, KvmApi.REGS_RDI, bootInfoGpa);
    }

}
