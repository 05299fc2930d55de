package dev.kiln.monitor.hvt;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * Writes the boot information page at GPA 0x10000 (hvt ABI section 4): the 56-byte boot info,
 * then the filled-in manifest copy, then the command line.
 *
 * <pre>
 * struct hvt_boot_info {
 *     uint64_t mem_size;        // 0
 *     uint64_t kernel_end;      // 8
 *     uint64_t cpu_cycle_freq;  // 16
 *     GPA cmdline;              // 24
 *     GPA mft;                  // 32
 *     uint32_t host_features;   // 40
 *     uint32_t guest_features;  // 44
 *     GPA net_ring;             // 48
 * };                            // 56 bytes
 * </pre>
 */
public final class BootInfo {
    private BootInfo() {}

    public static final long GPA = 0x10000;
    public static final long SIZE = 56;
    /** The command line's room, NUL included (hvt ABI section 4). */
    public static final int CMDLINE_MAX = 8192;
    public static final long MFT_GPA = GPA + SIZE;
    static final long HOST_FEATURES = 40, NET_RING = 48;
    /** host_features bit 0: the network ring is offered at {@code net_ring} (hvt ABI section 6, docs/kiln-abi.md 4). */
    public static final int FEATURE_NET_RING = 1;

    /**
     * @param manifest the manifest with devices already filled in and marked attached
     * @param cmdline  the command line bytes, without the NUL; the caller checked the length
     */
    public static void write(MemorySegment ram, long memSize, long kernelEnd, long cpuCycleFreq,
                             byte[] manifest, byte[] cmdline) {
        write(ram, memSize, kernelEnd, cpuCycleFreq, manifest, cmdline, 0);
    }

    /**
     * @param memSize    usable RAM: below the ring area when there is one (hvt ABI section 4)
     * @param netRingGpa the network ring's GPA, 0 when it is not offered (then host_features is 0)
     */
    public static void write(MemorySegment ram, long memSize, long kernelEnd, long cpuCycleFreq,
                             byte[] manifest, byte[] cmdline, long netRingGpa) {
        long cmdlineGpa = MFT_GPA + ((manifest.length + 7) & ~7L);
        ram.set(JAVA_LONG_UNALIGNED, GPA, memSize);
        ram.set(JAVA_LONG_UNALIGNED, GPA + 8, kernelEnd);
        ram.set(JAVA_LONG_UNALIGNED, GPA + 16, cpuCycleFreq);
        ram.set(JAVA_LONG_UNALIGNED, GPA + 24, cmdlineGpa);
        ram.set(JAVA_LONG_UNALIGNED, GPA + 32, MFT_GPA);
        ram.set(JAVA_INT_UNALIGNED, GPA + HOST_FEATURES, netRingGpa == 0 ? 0 : FEATURE_NET_RING);
        ram.set(JAVA_INT_UNALIGNED, GPA + 44, 0);
        ram.set(JAVA_LONG_UNALIGNED, GPA + NET_RING, netRingGpa);
        MemorySegment.copy(manifest, 0, ram, JAVA_BYTE, MFT_GPA, manifest.length);
        MemorySegment.copy(cmdline, 0, ram, JAVA_BYTE, cmdlineGpa, cmdline.length);
        ram.set(JAVA_BYTE, cmdlineGpa + cmdline.length, (byte) 0);
    }

    /** host_features as the guest's memory holds it now (a restored snapshot's). */
    public static int hostFeatures(MemorySegment ram) {
        return ram.get(JAVA_INT_UNALIGNED, GPA + HOST_FEATURES);
    }

    /** net_ring as the guest's memory holds it now. */
    public static long netRing(MemorySegment ram) {
        return ram.get(JAVA_LONG_UNALIGNED, GPA + NET_RING);
    }
}
