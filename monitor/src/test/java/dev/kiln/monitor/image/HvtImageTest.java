package dev.kiln.monitor.image;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static dev.kiln.monitor.image.TestElf.PT_LOAD;
import static dev.kiln.monitor.image.TestElf.PT_NOTE;
import static dev.kiln.monitor.image.TestElf.R;
import static dev.kiln.monitor.image.TestElf.W;
import static dev.kiln.monitor.image.TestElf.X;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every image rule of hvt ABI sections 1 and 2, each broken on purpose: each gives its own clear error. */
class HvtImageTest {

    private static void refused(byte[] image, String expected) {
        ImageException e = assertThrows(ImageException.class, () -> HvtImage.parse("t.hvt", image));
        assertTrue(e.getMessage().startsWith("image t.hvt: "), e.getMessage());
        assertTrue(e.getMessage().contains(expected), () -> "expected '" + expected + "' in: " + e.getMessage());
    }

    private static void refused(TestElf elf, String expected) {
        refused(elf.build(), expected);
    }

    @Test
    void validSyntheticImageParses() throws ImageException {
        HvtImage img = HvtImage.parse("t.hvt", TestElf.valid().build());
        assertEquals(TestElf.TEXT, img.entry());
        assertEquals(2, img.segments().size());
        assertEquals(0x104000, img.kernelEnd());
        assertEquals(new HvtImage.AbiNote(1, 2), img.abi());
        assertTrue(img.manifest().devices().isEmpty());
    }

    @Test
    void realGuestImagesParse() throws Exception {
        for (String name : new String[] {"helloworld.hvt", "hvtcheck.hvt"}) {
            HvtImage img = HvtImage.read(GuestImages.path(name));
            assertTrue(img.segments().stream().noneMatch(s -> s.permissions().equals("rwx")));
            assertEquals(1, img.manifest().raw().length > 0 ? 1 : 0);
        }
    }

    @Test
    void truncatedFilesAreRefusedAtEveryLength() throws Exception {
        byte[] whole = Files.readAllBytes(GuestImages.path("helloworld.hvt"));
        refused(new byte[0], "truncated: 0 bytes, an ELF64 header needs 64");
        refused(Arrays.copyOf(whole, 63), "truncated: 63 bytes");
        refused(Arrays.copyOf(whole, 100), "truncated: program headers end at byte");
        // Every cut inside the headers, loaded or note bytes is caught, never an exception of another
        // kind; the section headers past them are not needed.
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(whole).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        long needed = 64 + 56L * b.getShort(56);
        for (int i = 0; i < b.getShort(56); i++) {
            needed = Math.max(needed, b.getLong(64 + 56 * i + 8) + b.getLong(64 + 56 * i + 32));
        }
        for (int len = 64; len < needed; len += 37) {
            byte[] cut = Arrays.copyOf(whole, len);
            ImageException e = assertThrows(ImageException.class, () -> HvtImage.parse("t.hvt", cut), "length " + len);
            assertTrue(e.getMessage().contains("truncated") || e.getMessage().contains("cut short"), e.getMessage());
        }
    }

    @Test
    void elfHeaderRules() {
        refused(TestElf.valid().patch(b -> b.put(1, (byte) 'X')), "not an ELF file");
        refused(TestElf.valid().patch(b -> b.put(4, (byte) 1)), "not a 64-bit ELF");
        refused(TestElf.valid().patch(b -> b.put(5, (byte) 2)), "not a little-endian ELF");
        refused(TestElf.valid().patch(b -> b.putShort(16, (short) 3)), "e_type is 3, expected ET_EXEC");
        refused(TestElf.valid().patch(b -> b.putShort(18, (short) 183)), "e_machine is 183, expected EM_X86_64");
        refused(TestElf.valid().patch(b -> b.putShort(52, (short) 52)), "e_ehsize is 52");
        refused(TestElf.valid().patch(b -> b.putShort(54, (short) 32)), "e_phentsize is 32");
        refused(TestElf.valid().patch(b -> b.putShort(56, (short) 0)), "no program headers");
        refused(TestElf.valid().patch(b -> b.putLong(32, -8L)), "e_phoff 0xfffffffffffffff8 is out of range");
        refused(TestElf.valid().patch(b -> b.putLong(32, Long.MAX_VALUE - 10)), "program header table end overflows");
    }

    @Test
    void segmentRules() {
        TestElf wx = TestElf.valid();
        wx.replace(1, new TestElf.Seg(PT_LOAD, R | W | X, TestElf.DATA, TestElf.haltData(), 0x1000, 0x1000));
        refused(wx, "is both writable and executable (W^X)");

        TestElf low = TestElf.valid();
        low.replace(1, new TestElf.Seg(PT_LOAD, R | W, 0xff000, TestElf.haltData(), 0x1000, 0x1000));
        refused(low, "loads at 0xff000, below 1 MiB");

        TestElf overlap = TestElf.valid();
        overlap.replace(1, new TestElf.Seg(PT_LOAD, R | W, TestElf.TEXT + 8, TestElf.haltData(), 0x1000, 0x1000));
        refused(overlap, "overlaps the previous one");

        TestElf descending = TestElf.valid();
        descending.replace(1, new TestElf.Seg(PT_LOAD, R | W, 0x0f0000 + 0x10000 - 0x1000, TestElf.haltData(), 0x1000, 0x1000));
        refused(descending, "below 1 MiB"); // 0xff000: below the floor is caught first
        TestElf order = TestElf.valid();
        order.segments.add(1, new TestElf.Seg(PT_LOAD, R, 0x200000, new byte[16], 16, 0x1000));
        refused(order, "must be in ascending address order");

        refused(TestElf.valid().patch(b -> b.putLong(TestElf.ph(1, 32), 0x5000)), "p_filesz 20480 is larger than p_memsz");
        refused(TestElf.valid().patch(b -> b.putLong(TestElf.ph(1, 8), 0x100000)), "truncated: segment 1 needs file bytes");
        refused(TestElf.valid().patch(b -> b.putLong(TestElf.ph(1, 48), 0x1800)), "p_align 0x1800 is not a power of two");
        refused(TestElf.valid().patch(b -> b.putLong(TestElf.ph(1, 48), 16)), "p_align 0x10 is not a power of two of at least 4 KiB");
        refused(TestElf.valid().patch(b -> b.putLong(TestElf.ph(1, 40), Long.MAX_VALUE - 0x100)), "segment 1 end overflows");
        refused(TestElf.valid().patch(b -> b.putLong(TestElf.ph(1, 16), -4096L)), "p_vaddr 0xfffffffffffff000 is out of range");
        refused(TestElf.valid().patch(b -> b.putLong(24, TestElf.DATA)), "entry point 0x101000 is not inside an executable segment");

        TestElf none = TestElf.valid();
        none.segments.remove(1);
        none.segments.remove(0);
        refused(none, "no non-empty PT_LOAD segment");
    }

    @Test
    void emptyLoadSegmentsAreSkipped() throws ImageException {
        TestElf e = TestElf.valid();
        e.segments.add(2, new TestElf.Seg(PT_LOAD, R | W | X, 0x1000, new byte[0], 0, 0x1000));
        assertEquals(2, HvtImage.parse("t.hvt", e.build()).segments().size());
    }

    @Test
    void segmentPastMemoryIsRefusedAtLoad() throws ImageException {
        TestElf big = TestElf.valid();
        big.replace(1, new TestElf.Seg(PT_LOAD, R | W, TestElf.DATA, TestElf.haltData(), 0x200000, 0x1000));
        HvtImage img = HvtImage.parse("t.hvt", big.build());
        ImageException e = assertThrows(ImageException.class, () -> ImageLoader.checkFits(img, 2L << 20));
        assertTrue(e.getMessage().contains("past guest memory of 2 MiB"), e.getMessage());
        ImageLoader.checkFits(img, 4L << 20);
    }

    @Test
    void noteRules() {
        TestElf noAbi = TestElf.valid();
        noAbi.segments.remove(2);
        refused(noAbi, "no Solo5 ABI1 note: not an hvt image");

        TestElf noMft = TestElf.valid();
        noMft.segments.remove(3);
        refused(noMft, "no Solo5 MFT1 manifest note");

        refused(TestElf.valid().replace(2, new TestElf.Seg(PT_NOTE, R, 0, TestElf.abiNote(2, 2), 0, 4)),
                "built for ABI target 2, hvt is target 1");
        refused(TestElf.valid().replace(2, new TestElf.Seg(PT_NOTE, R, 0, TestElf.abiNote(1, 1), 0, 4)),
                "built for hvt ABI version 1, this monitor speaks version 2");
        refused(TestElf.valid().replace(2, new TestElf.Seg(PT_NOTE, R, 0, TestElf.note(0x31494241, new byte[16], 0), 0, 4)),
                "ABI1 note (segment 2) has an empty descriptor");
        refused(TestElf.valid().replace(2, new TestElf.Seg(PT_NOTE, R, 0, TestElf.note(0x31494241, new byte[40], 40), 0, 4)),
                "descriptor is 40 bytes, at most 32");
        refused(TestElf.valid().replace(2, new TestElf.Seg(PT_NOTE, R, 0, TestElf.note(0x31494241, new byte[16], 24), 0, 4)),
                "ABI1 note (segment 2) is cut short");
        refused(TestElf.valid().replace(2, new TestElf.Seg(PT_NOTE, R, 0, TestElf.note(0x31494241, new byte[8], 8), 0, 4)),
                "ABI1 note descriptor is 8 bytes, needs 16");
        refused(TestElf.valid().replace(2, new TestElf.Seg(PT_NOTE, R, 0, new byte[12], 0, 4)),
                "is 12 bytes, smaller than a note header (20)");
        refused(TestElf.valid().patch(b -> b.putLong(TestElf.ph(2, 32), 0x7fffffffL)), "truncated: note segment 2");
        TestElf two = TestElf.valid();
        two.segments.add(new TestElf.Seg(PT_NOTE, R, 0, TestElf.abiNote(1, 2), 0, 4));
        refused(two, "two ABI1 notes");
        refused(TestElf.valid().replace(3, new TestElf.Seg(PT_NOTE, R, 0, TestElf.note(0x3154464d, new byte[7000], 7000), 0, 4)),
                "MFT1 note (segment 3) descriptor is 7000 bytes, at most 6668");
    }

    @Test
    void notesWithAnotherNameAreSkipped() throws ImageException {
        TestElf e = TestElf.valid();
        byte[] openbsd = {8, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 'O', 'p', 'e', 'n', 'B', 'S', 'D', 0, 0, 0, 0, 0};
        e.segments.add(2, new TestElf.Seg(PT_NOTE, R, 0, openbsd, 0, 4));
        e.segments.add(new TestElf.Seg(TestElf.PT_INTERP, R, 0, "/nonexistent/solo5/\0".getBytes(), 0, 1));
        HvtImage.parse("t.hvt", e.build());
    }

    private static TestElf withManifest(byte[] manifest) {
        return TestElf.valid().replace(3, new TestElf.Seg(PT_NOTE, R, 0, TestElf.mftNote(manifest), 0, 4));
    }

    @Test
    void manifestRules() throws ImageException {
        byte[] ok = TestElf.manifest("service0", 2, "disk", 1);
        HvtImage img = HvtImage.parse("t.hvt", withManifest(ok).build());
        assertEquals(2, img.manifest().devices().size());
        assertEquals(new Manifest.Device(1, "service0", DeviceType.NET_BASIC), img.manifest().devices().get(0));
        assertEquals(new Manifest.Device(2, "disk", DeviceType.BLOCK_BASIC), img.manifest().devices().get(1));

        byte[] v2 = ok.clone();
        v2[0] = 2;
        refused(withManifest(v2), "manifest version is 2, expected 1");
        byte[] zero = ok.clone();
        zero[4] = 0;
        refused(withManifest(zero), "manifest declares 0 entries, allowed 1..64");
        byte[] many = ok.clone();
        many[4] = 65;
        refused(withManifest(many), "manifest declares 65 entries");
        byte[] sizeMismatch = ok.clone();
        sizeMismatch[4] = 2;
        refused(withManifest(sizeMismatch), "but 2 entries need exactly 216");
        refused(withManifest(new byte[4]), "smaller than its 8-byte header");
        byte[] first = ok.clone();
        first[8 + 68 + 3] = 0;
        refused(withManifest(first), "entry 0 must be RESERVED_FIRST with an empty name");
        byte[] unterminated = ok.clone();
        Arrays.fill(unterminated, 8 + 104, 8 + 104 + 68, (byte) 'a');
        refused(withManifest(unterminated), "manifest entry 1: name is not NUL-terminated");
        byte[] attached = ok.clone();
        attached[8 + 104 + 96] = 1;
        refused(withManifest(attached), "manifest entry 1: 'attached' is set in the image");
        refused(withManifest(TestElf.manifest("net-0", 2)), "device name 'net-0' must be 1..67 alphanumeric");
        refused(withManifest(TestElf.manifest("", 2)), "device name '' must be 1..67 alphanumeric");
        refused(withManifest(TestElf.manifest("x", 7)), "unknown device type 7");
        refused(withManifest(TestElf.manifest("a", 2, "a", 1)), "device name 'a' is declared twice");
    }

    @Test
    void unreadableFilesAreNamed(@org.junit.jupiter.api.io.TempDir Path dir) {
        ImageException missing = assertThrows(ImageException.class, () -> HvtImage.read(dir.resolve("nope.hvt")));
        assertTrue(missing.getMessage().endsWith("nope.hvt: no such file"), missing.getMessage());
        ImageException directory = assertThrows(ImageException.class, () -> HvtImage.read(dir));
        assertTrue(directory.getMessage().contains("is a directory"), directory.getMessage());
    }
}
