package dev.kiln.monitor.arch.x86;

import dev.kiln.monitor.kvm.KvmApi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * The CPUID a guest sees: what KVM supports, less the virtualization extensions (hvt ABI section 3),
 * so a guest never believes it can run VMX/SVM itself.
 */
public final class Cpuid {
    private Cpuid() {}

    static final int LEAF_FEATURES = 0x1;
    static final int ECX_VMX = 1 << 5;
    static final int LEAF_EXT_FEATURES = 0x80000001;
    static final int ECX_SVM = 1 << 2;

    /** Copies a {@code struct kvm_cpuid2} into process-lifetime memory and masks VMX and SVM. */
    public static MemorySegment forGuest(MemorySegment supported) {
        MemorySegment cpuid = Arena.global().allocate(supported.byteSize(), 8);
        cpuid.copyFrom(supported);
        int nent = cpuid.get(JAVA_INT, 0);
        long entrySize = KvmApi.CPUID_ENTRY2.byteSize();
        for (int i = 0; i < nent; i++) {
            long at = KvmApi.CPUID2_HEADER + i * entrySize;
            int function = cpuid.get(JAVA_INT, at + KvmApi.CPUID_FUNCTION);
            long ecx = at + KvmApi.CPUID_ECX;
            if (function == LEAF_FEATURES) {
                cpuid.set(JAVA_INT, ecx, cpuid.get(JAVA_INT, ecx) & ~ECX_VMX);
            } else if (function == LEAF_EXT_FEATURES) {
                cpuid.set(JAVA_INT, ecx, cpuid.get(JAVA_INT, ecx) & ~ECX_SVM);
            }
        }
        return cpuid;
    }
}
