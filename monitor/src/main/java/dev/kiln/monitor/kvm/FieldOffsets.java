package dev.kiln.monitor.kvm;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

/**
 * Byte offsets of named fields in the struct layouts that mirror kernel structures, found by
 * walking the members. {@code layout.byteOffset(groupElement(name))} answers the same, but its
 * first use builds the layout-path machinery (seven method-handle classes spun at run time, ~4 ms
 * of every {@code kiln run}, which the AOT cache cannot hold); these are plain loops.
 */
public final class FieldOffsets {
    private FieldOffsets() {}

    /** The offset of field {@code name} in {@code struct}; a name it lacks is a programming error. */
    public static long of(StructLayout struct, String name) {
        long offset = 0;
        for (MemoryLayout m : struct.memberLayouts()) {
            if (m.name().filter(name::equals).isPresent()) return offset;
            offset += m.byteSize();
        }
        throw new IllegalArgumentException("struct " + struct + " has no field " + name);
    }
}
