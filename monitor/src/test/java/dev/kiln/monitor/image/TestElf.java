package dev.kiln.monitor.image;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Builds hvt ELF images byte by byte, so each validation rule can be broken on purpose. The valid
 * image it starts from really boots: its code calls HALT with status 42.
 */
public final class TestElf {
    /** One program header and the bytes it covers. */
    public record Seg(int type, int flags, long vaddr, byte[] data, long memsz, long align) {}

    public static final int PT_LOAD = 1, PT_NOTE = 4, PT_INTERP = 3;
    public static final int R = 4, W = 2, X = 1;
    public static final long TEXT = 0x100000, DATA = 0x101000;
    public static final int EXIT_STATUS = 42;

    public final List<Seg> segments = new ArrayList<>();
    public long entry = TEXT;
    private final List<Consumer<ByteBuffer>> patches = new ArrayList<>();

    /** mov edx, 0x508; mov eax, DATA; out dx, eax; hlt  -- HALT with the struct at DATA. */
    public static byte[] haltCode() {
        ByteBuffer b = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0xba).putInt(0x508);
        b.put((byte) 0xb8).putInt((int) DATA);
        b.put((byte) 0xef).put((byte) 0xf4);
        return b.array();
    }

    /** struct hvt_hc_halt { GPA cookie = 0; int exit_status = 42; }, then BSS up to one page. */
    public static byte[] haltData() {
        return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(0).putInt(EXIT_STATUS).array();
    }

    public static TestElf valid() {
        TestElf e = new TestElf();
        e.segments.add(new Seg(PT_LOAD, R | X, TEXT, haltCode(), 12, 0x1000));
        e.segments.add(new Seg(PT_LOAD, R | W, DATA, haltData(), 0x3000, 0x1000));
        e.segments.add(new Seg(PT_NOTE, R, 0, abiNote(1, 2), 36, 4));
        e.segments.add(new Seg(PT_NOTE, R, 0, mftNote(manifest()), 0, 4));
        return e;
    }

    public TestElf patch(Consumer<ByteBuffer> p) {
        patches.add(p);
        return this;
    }

    public TestElf replace(int index, Seg seg) {
        segments.set(index, seg);
        return this;
    }

    /** A Solo5 note: namesz 6 "Solo5\0" padded to 8, then the descriptor. */
    public static byte[] note(int type, byte[] desc, int declaredDescSize) {
        ByteBuffer b = ByteBuffer.allocate(20 + desc.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(6).putInt(declaredDescSize).putInt(type);
        b.put("Solo5\0\0\0".getBytes(StandardCharsets.ISO_8859_1));
        b.put(desc);
        return b.array();
    }

    public static byte[] abiNote(int target, int version) {
        byte[] desc = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putInt(target).putInt(version).array();
        return note(0x31494241, desc, 16);
    }

    /** MFT1: 4 padding bytes, then the manifest; n_descsz counts the padding. */
    public static byte[] mftNote(byte[] manifest) {
        byte[] desc = new byte[4 + manifest.length];
        System.arraycopy(manifest, 0, desc, 4, manifest.length);
        return note(0x3154464d, desc, desc.length);
    }

    /** A manifest: entry 0 RESERVED_FIRST, then one entry per (name, type). */
    public static byte[] manifest(Object... nameTypePairs) {
        int entries = 1 + nameTypePairs.length / 2;
        ByteBuffer b = ByteBuffer.allocate(8 + 104 * entries).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, 1).putInt(4, entries);
        b.putInt(8 + 68, 1 << 30);
        for (int i = 1; i < entries; i++) {
            int at = 8 + 104 * i;
            byte[] name = ((String) nameTypePairs[2 * (i - 1)]).getBytes(StandardCharsets.ISO_8859_1);
            b.put(at, name, 0, Math.min(name.length, 68));
            b.putInt(at + 68, (Integer) nameTypePairs[2 * (i - 1) + 1]);
        }
        return b.array();
    }

    public byte[] build() {
        int phnum = segments.size();
        long offset = 64 + 56L * phnum;
        List<Long> offsets = new ArrayList<>();
        for (Seg s : segments) {
            if (s.type() == PT_LOAD) offset = (offset + 0xfff) & ~0xfffL;
            offsets.add(offset);
            offset += s.data().length;
        }
        ByteBuffer b = ByteBuffer.allocate((int) offset).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1});
        b.putShort(16, (short) 2).putShort(18, (short) 62).putInt(20, 1).putLong(24, entry).putLong(32, 64);
        b.putShort(52, (short) 64).putShort(54, (short) 56).putShort(56, (short) phnum);
        for (int i = 0; i < phnum; i++) {
            Seg s = segments.get(i);
            int at = 64 + 56 * i;
            long memsz = s.type() == PT_NOTE && s.memsz() == 0 ? s.data().length : s.memsz();
            b.putInt(at, s.type()).putInt(at + 4, s.flags()).putLong(at + 8, offsets.get(i))
                    .putLong(at + 16, s.vaddr()).putLong(at + 24, s.vaddr()).putLong(at + 32, s.data().length)
                    .putLong(at + 40, memsz).putLong(at + 48, s.align());
            b.put(offsets.get(i).intValue(), s.data());
        }
        for (Consumer<ByteBuffer> p : patches) p.accept(b);
        return b.array();
    }

    /** Byte offset of program header {@code i}'s field at {@code fieldOffset}. */
    public static int ph(int i, int fieldOffset) {
        return 64 + 56 * i + fieldOffset;
    }
}
