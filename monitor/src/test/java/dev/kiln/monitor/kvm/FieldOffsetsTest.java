package dev.kiln.monitor.kvm;

import dev.kiln.monitor.confine.SeccompFilter;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** FieldOffsets answers what the JDK's layout paths answer, for every named field of every kernel struct mirrored. */
class FieldOffsetsTest {
    private static List<StructLayout> structs(Class<?> holder) throws IllegalAccessException {
        List<StructLayout> all = new ArrayList<>();
        for (Field f : holder.getDeclaredFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == StructLayout.class) {
                f.setAccessible(true);
                all.add((StructLayout) f.get(null));
            }
        }
        return all;
    }

    @Test
    void everyFieldOfEveryKernelStructMatchesTheLayoutPath() throws Exception {
        List<StructLayout> all = new ArrayList<>(structs(KvmApi.class));
        all.addAll(structs(SeccompFilter.class));
        all.add(Linker.Option.captureStateLayout());
        int fields = 0;
        for (StructLayout s : all) {
            for (MemoryLayout m : s.memberLayouts()) {
                if (m.name().isEmpty()) continue;
                String name = m.name().get();
                assertEquals(s.byteOffset(groupElement(name)), FieldOffsets.of(s, name), s + " field " + name);
                fields++;
            }
        }
        assertTrue(fields > 40, "checked " + fields + " fields");
    }

    @Test
    void anUnknownFieldIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FieldOffsets.of(KvmApi.REGS, "nope"));
        assertTrue(e.getMessage().contains("no field nope"), e.getMessage());
    }
}
