package dev.kiln.builder.build;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class EntryPathTest {
    static final List<String> DISASSEMBLY = """
            0000000000100280 <_start>:
              100280:\tsub    $0x8,%rsp
              100284:\tcall   100300 <init>
              100289:\tmov    0x18(%rdi),%rdi
              10028f:\tcall   1001d0 <main>
              100294:\tcall   1002f0 <plat_exit>

            0000000000100300 <init>:
              100300:\tmov    $0x1,%eax
              100305:\tdec    %eax
              100307:\tjne    100305 <init+0x5>
              100309:\tret
              10030a:\tud2
            """.lines().toList();

    @Test
    void countsThePathThroughCalledFunctionsAndNoticesLoops() {
        // _start: sub, call init, mov, call main = 4; init up to its ret: 4
        assertEquals(new EntryPath.Count(8, true), EntryPath.count(DISASSEMBLY, "_start"));
        assertNull(EntryPath.count(DISASSEMBLY, "missing"));
        assertNull(EntryPath.count(DISASSEMBLY.subList(0, 6).stream().map(l -> l.replace("<main>", "<other>")).toList(), "_start"));
    }
}
