package dev.kiln.builder.build;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

class LinkMapTest {
    /** The shapes GNU ld prints: one-line and wrapped input sections, archive members, discarded ones. */
    static final List<String> MAP = List.of(
            "Discarded input sections",
            "",
            " .text.unused   0x0000000000000000       0x40 /out/obj/app/main.o",
            "",
            "Linker script and memory map",
            "",
            ".text           0x0000000000100000      0x200",
            " .text.main     0x0000000000100000       0x10 /out/obj/app/main.o",
            " .text.upfoo_long_function_name",
            "                0x0000000000100010       0x20 /out/obj/upsrc/upstream/src/foo.o",
            " .text.printf   0x0000000000100030       0x30 /cache/tree/lib/libc.a(printf.o)",
            " .text.member_with_long_name",
            "                0x0000000000100060        0x8 /cache/tree/lib/libc.a(vfprintf.lo)",
            ".rodata         0x0000000000101000       0x10",
            " .rodata.str    0x0000000000101000        0x5 /cache/tree/lib/libc.a(printf.o)",
            ".bss            0x0000000000102000       0x10",
            " .bss.x         0x0000000000102000        0x4 /elsewhere/libother.a(x.o)");

    @Test
    void theLinkTimeOptimizersObjectsAreKnown() {
        assertEquals(true, LinkMap.isLtoObject("/tmp/ccv6XexC.lto.o"));
        assertEquals(true, LinkMap.isLtoObject("/tmp/ccv6XexC.ltrans0.ltrans.o"));
        assertEquals(false, LinkMap.isLtoObject("/out/obj/app/main.o"));
        assertEquals(false, LinkMap.isLtoObject("/out/obj/app/lto.c.o"));
    }

    @Test
    void archiveMembersCountForTheArchivesOwner() {
        Map<String, String> owners = Map.of("/out/obj/app/main.o", "app", "/out/obj/upsrc/upstream/src/foo.o", "upsrc",
                "/cache/tree/lib/libc.a", "musl");
        Map<String, LinkMap.Sizes> sizes = LinkMap.sizesByLibrary(MAP, owners::get);
        assertEquals(Map.of("app", new LinkMap.Sizes(0x10, 0, 0, 0), "upsrc", new LinkMap.Sizes(0x20, 0, 0, 0),
                "musl", new LinkMap.Sizes(0x38, 5, 0, 0)), sizes);
    }
}
