package dev.kiln.monitor.arch.x86;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * Translates a guest-virtual address through the guest's own 4-level page tables (x86_64, 4 KiB
 * pages, 2 MiB and 1 GiB large pages; Intel SDM vol. 3, 4.5), reading them from guest RAM, and
 * says why an address cannot run natively on kvm_pvm. The monitor uses it only on a slow path: to
 * explain a native guest that stopped making progress, which there shows no exit at all.
 */
public final class PageWalk {
    private PageWalk() {}

    /** The PML4 slot kvm_pvm cannot run a guest in (0xffff800000000000-0xffff807fffffffff; pvm-native.md 3). */
    public static final int FORBIDDEN_PML4_SLOT = 256;
    private static final long P = 1, RW = 2, US = 4, PS = 0x80, NX = 1L << 63;
    private static final long ADDR = 0x000f_ffff_ffff_f000L;
    private static final String[] LEVEL = {"PML4", "PDPT", "page directory", "page table"};

    /**
     * The result of a walk: the guest-physical address and what every level allows (write: RW at
     * each; execute: NX at none), or why there is none or why it cannot run natively.
     */
    public record Translation(long gpa, String problem, boolean writable, boolean executable) {
        Translation(long gpa, String problem) {
            this(gpa, problem, false, false);
        }

        public boolean ok() {
            return problem == null;
        }
    }

    /** The PML4 slot of a canonical address. */
    public static int pml4Slot(long va) {
        return (int) ((va >>> 39) & 511);
    }

    /**
     * Walks {@code va} from {@code cr3} through tables in {@code ram}; the problem names the level
     * at which the entry is missing, lies outside RAM or lacks U/S (which a native vCPU needs at
     * every level: the guest runs in the CPU's user mode, pvm-native.md 3).
     */
    public static Translation translate(MemorySegment ram, long cr3, long va) {
        if (pml4Slot(va) == FORBIDDEN_PML4_SLOT && (va >>> 47) != 0) {
            return new Translation(-1, "0x" + Long.toHexString(va) + " is in PML4 slot 256, which a native vCPU on"
                    + " kvm_pvm cannot use");
        }
        long table = cr3 & ADDR;
        boolean writable = true, executable = true;
        for (int level = 0; level < 4; level++) {
            int shift = 39 - 9 * level;
            long at = table + ((va >>> shift) & 511) * 8;
            if (at < 0 || at + 8 > ram.byteSize()) {
                return new Translation(-1, "the " + LEVEL[level] + " of 0x" + Long.toHexString(va) + " at 0x"
                        + Long.toHexString(table) + " is outside guest memory");
            }
            long e = ram.get(JAVA_LONG_UNALIGNED, at);
            if ((e & P) == 0) {
                return new Translation(-1, "0x" + Long.toHexString(va) + " is not mapped (" + LEVEL[level]
                        + " entry not present)");
            }
            if ((e & US) == 0) {
                return new Translation(-1, "the " + LEVEL[level] + " entry of 0x" + Long.toHexString(va) + " lacks the"
                        + " U/S bit, which a native vCPU on kvm_pvm needs on every entry");
            }
            writable &= (e & RW) != 0;
            executable &= (e & NX) == 0;
            boolean large = level > 0 && level < 3 && (e & PS) != 0;
            if (large || level == 3) {
                long pageMask = (1L << shift) - 1;
                return new Translation((e & ADDR & ~pageMask) | (va & pageMask), null, writable, executable);
            }
            table = e & ADDR;
        }
        throw new AssertionError("unreachable");
    }
}
