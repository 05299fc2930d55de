package dev.kiln.monitor.arch.x86;

import dev.kiln.monitor.extension.InfoPage;
import dev.kiln.monitor.image.HvtImage;
import dev.kiln.monitor.image.LoadSegment;

import java.lang.foreign.MemorySegment;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import java.util.WeakHashMap;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * The GDT and identity page tables one image boots with (hvt ABI section 3), with W^X while it runs:
 * its text is read-only and executable, its rodata read-only, and everything else (data, bss, heap,
 * stack, boot info) not executable (NX; {@link LongMode#EFER_NXE} is on), as solo5-hvt maps it.
 *
 * <p>The first 2 MiB are mapped by 4 KiB pages (0x8000), the rest of the 4 GiB by 2 MiB pages. A
 * segment above 2 MiB gets a 4 KiB table of its own from the monitor-owned pages 0xA000-0xFFFF (six:
 * images up to 14 MiB); beyond those, its 2 MiB page gets the union of the permissions it needs.
 * A page two segments share gets the union too (a segment is never both writable and executable:
 * the image checks refuse that). Built once per image and copied into each guest in two bulk copies.
 */
public final class ImageTables {
    private static final long PAGE = 4096, LARGE = 2L << 20;
    static final long NX = 1L << 63;
    /** Monitor-owned pages for the 4 KiB tables of segments above 2 MiB. */
    static final long EXTRA_PT_GPA = 0xA000, EXTRA_PT_END = 0x10000;
    private static final Map<HvtImage, ImageTables> CACHE = Collections.synchronizedMap(new WeakHashMap<>());

    /** The bytes of GPA [0x1000, 0x9000): GDT, PML4, PDPT, page directories, the first 2 MiB's table. */
    private final byte[] low;
    /** The bytes of GPA [0xA000, 0xA000 + length): tables of 2 MiB regions that hold segments. */
    private final byte[] extra;

    private ImageTables(byte[] low, byte[] extra) {
        this.low = low;
        this.extra = extra;
    }

    /** The tables for {@code image} (cached while the image is alive). */
    public static ImageTables of(HvtImage image) {
        return CACHE.computeIfAbsent(image, ImageTables::build);
    }

    /** Writes the GDT and page tables into guest RAM; the native-execution page at 0x9000 is left alone. */
    public void write(MemorySegment ram) {
        MemorySegment.copy(low, 0, ram, JAVA_BYTE, LongMode.GDT_GPA, low.length);
        if (extra.length > 0) MemorySegment.copy(extra, 0, ram, JAVA_BYTE, EXTRA_PT_GPA, extra.length);
    }

    /** What a page needs: written by some segment, executed by some segment. */
    private record Access(boolean write, boolean exec) {
        Access with(LoadSegment s) {
            return new Access(write || (s.flags() & LoadSegment.PF_W) != 0, exec || s.executable());
        }
    }

    private static ImageTables build(HvtImage image) {
        long base = LongMode.GDT_GPA;
        MemorySegment t = MemorySegment.ofArray(new byte[(int) (LongMode.PT_GPA + PAGE - base)]);
        long leaf = LongMode.PTE_P | LongMode.PTE_RW | NX; // data by default: writable, not executable
        t.set(JAVA_LONG_UNALIGNED, LongMode.GDT_GPA - base + 8, LongMode.GDT_CODE);
        t.set(JAVA_LONG_UNALIGNED, LongMode.GDT_GPA - base + 16, LongMode.GDT_DATA);
        t.set(JAVA_LONG_UNALIGNED, LongMode.PML4_GPA - base, LongMode.PDPT_GPA | LongMode.PTE_P | LongMode.PTE_RW);
        for (int i = 0; i < 4; i++) {
            t.set(JAVA_LONG_UNALIGNED, LongMode.PDPT_GPA - base + i * 8L,
                    (LongMode.PD_GPA + i * PAGE) | LongMode.PTE_P | LongMode.PTE_RW);
        }
        // 2048 directory entries cover 4 GiB in 2 MiB pages; the first points at the 4 KiB table.
        t.set(JAVA_LONG_UNALIGNED, LongMode.PD_GPA - base, LongMode.PT_GPA | LongMode.PTE_P | LongMode.PTE_RW);
        for (long i = 1; i < 2048; i++) {
            t.set(JAVA_LONG_UNALIGNED, LongMode.PD_GPA - base + i * 8, (i << 21) | leaf | LongMode.PTE_PS);
        }
        for (long page = LongMode.FIRST_PRESENT >> 12; page < 512; page++) {
            boolean readOnly = page < (LongMode.FIRST_WRITABLE >> 12) && page != (InfoPage.GPA >> 12);
            t.set(JAVA_LONG_UNALIGNED, LongMode.PT_GPA - base + page * 8, (page << 12) | (readOnly ? leaf & ~LongMode.PTE_RW : leaf));
        }

        // Each page the image occupies, with what its segments need of it.
        TreeMap<Long, Access> pages = new TreeMap<>();
        for (LoadSegment s : image.segments()) {
            for (long p = s.vaddr() & ~(PAGE - 1); p < s.vaddr() + s.memSize(); p += PAGE) {
                pages.merge(p, new Access(false, false).with(s), (a, b) -> a.with(s));
            }
        }
        int extraTables = (int) ((EXTRA_PT_END - EXTRA_PT_GPA) / PAGE);
        MemorySegment x = MemorySegment.ofArray(new byte[(int) (extraTables * PAGE)]);
        Map<Long, Long> tableOfRegion = new TreeMap<>(); // 2 MiB region -> GPA of its 4 KiB table
        tableOfRegion.put(0L, LongMode.PT_GPA);
        int used = 0;
        for (Map.Entry<Long, Access> e : pages.entrySet()) {
            long page = e.getKey(), region = page / LARGE;
            Long table = tableOfRegion.get(region);
            if (table == null && used < extraTables) {
                table = EXTRA_PT_GPA + used * PAGE;
                for (long i = 0; i < 512; i++) x.set(JAVA_LONG_UNALIGNED, used * PAGE + i * 8, (region * LARGE + i * PAGE) | leaf);
                t.set(JAVA_LONG_UNALIGNED, LongMode.PD_GPA - base + region * 8, table | LongMode.PTE_P | LongMode.PTE_RW);
                tableOfRegion.put(region, table);
                used++;
            }
            Access a = e.getValue();
            long flags = LongMode.PTE_P | (a.write() ? LongMode.PTE_RW : 0) | (a.exec() ? 0 : NX);
            if (table != null) {
                MemorySegment in = table == LongMode.PT_GPA ? t : x;
                long at = table == LongMode.PT_GPA ? LongMode.PT_GPA - base + (page % LARGE / PAGE) * 8
                        : (table - EXTRA_PT_GPA) + (page % LARGE / PAGE) * 8;
                in.set(JAVA_LONG_UNALIGNED, at, page | flags);
            } else { // no 4 KiB table left: the 2 MiB page gets what every page in it needs
                long at = LongMode.PD_GPA - base + region * 8;
                long old = t.get(JAVA_LONG_UNALIGNED, at);
                t.set(JAVA_LONG_UNALIGNED, at, a.exec() ? old & ~NX : old);
            }
        }
        return new ImageTables(t.toArray(JAVA_BYTE), x.asSlice(0, used * PAGE).toArray(JAVA_BYTE));
    }
}
