package dev.kiln.monitor.hvt;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How guest RAM is mapped: huge pages from {@link GuestMemory#HUGE_PAGES_FROM} on, 4 KiB below. */
class GuestMemoryTest {
    private static final long MIB = 1L << 20;

    /**
     * The smaps(5) entry of the mapping holding {@code address}: its header and field lines. (A
     * small mapping may have merged with a neighbour, so it need not start there.)
     */
    private static List<String> smaps(long address) throws IOException {
        List<String> lines = Files.readAllLines(Path.of("/proc/self/smaps"));
        for (int i = 0; i < lines.size(); i++) {
            if (!HEADER.matcher(lines.get(i)).lookingAt()) continue;
            String[] range = lines.get(i).split(" ")[0].split("-");
            if (Long.parseUnsignedLong(range[0], 16) > address || Long.parseUnsignedLong(range[1], 16) <= address) continue;
            int end = i + 1;
            while (end < lines.size() && !HEADER.matcher(lines.get(end)).lookingAt()) end++;
            return lines.subList(i, end);
        }
        throw new AssertionError("no mapping holds 0x" + Long.toHexString(address));
    }

    private static final java.util.regex.Pattern HEADER = java.util.regex.Pattern.compile("[0-9a-f]+-[0-9a-f]+ ");

    private static String field(List<String> entry, String name) {
        return entry.stream().filter(l -> l.startsWith(name + ":")).findFirst()
                .orElseThrow(() -> new AssertionError("smaps has no " + name + ": " + entry)).substring(name.length() + 1).trim();
    }

    private static boolean hostOffersHugePages() throws IOException {
        Path p = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");
        if (!Files.exists(p)) return false;
        String s = Files.readString(p);
        return s.contains("[always]") || s.contains("[madvise]");
    }

    @Test
    void largeGuestsGetAlignedRamAdvisedForHugePages() throws IOException {
        long size = GuestMemory.HUGE_PAGES_FROM * 2;
        try (GuestMemory m = GuestMemory.allocate(size)) {
            long base = m.segment().address();
            assertEquals(0, base % (2 * MIB), "guest-physical 0 sits on a 2 MiB boundary of the host");
            List<String> entry = smaps(base);
            assertTrue(field(entry, "VmFlags").contains("hg"), "advised MADV_HUGEPAGE: " + entry);
            assertTrue(entry.get(0).startsWith(Long.toHexString(base) + "-" + Long.toHexString(base + size) + " "),
                    "exactly the guest's RAM is mapped, the alignment slack unmapped: " + entry.get(0));
            for (long off = 0; off < size; off += 4096) m.segment().set(JAVA_BYTE, off, (byte) 1);
            if (hostOffersHugePages()) {
                long huge = Long.parseLong(field(smaps(base), "AnonHugePages").replace(" kB", ""));
                assertTrue(huge > 0, "touched RAM is on huge pages: " + smaps(base));
            }
        }
    }

    @Test
    void smallGuestsStayOnSmallPages() throws IOException {
        try (GuestMemory m = GuestMemory.allocate(4 * MIB)) {
            m.segment().set(JAVA_BYTE, 0, (byte) 1);
            List<String> entry = smaps(m.segment().address());
            assertFalse(field(entry, "VmFlags").contains("hg"), "a small guest is not advised: " + entry);
        }
    }
}
