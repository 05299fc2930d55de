package dev.kiln.monitor.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An hvt unikernel image, parsed and validated by every rule of hvt ABI section 1. An image is
 * untrusted input: each refusal is an {@link ImageException} naming the image and the rule.
 *
 * <p>Parsed once, an image can be booted any number of times (the bytes are kept; they are small).
 * Rules that depend on the guest's memory size are checked when it is loaded, by {@link ImageLoader}.
 *
 * @param name      how errors name the image (its file name)
 * @param bytes     the whole file
 * @param entry     {@code e_entry}
 * @param segments  the non-empty PT_LOAD segments in ascending address order
 * @param kernelEnd the highest aligned segment end
 * @param abi       the ABI1 note
 * @param manifest  the MFT1 device manifest
 */
public record HvtImage(String name, byte[] bytes, long entry, List<LoadSegment> segments, long kernelEnd,
                       AbiNote abi, Manifest manifest) {

    /** The ABI1 note: which target and version the image was built for. */
    public record AbiNote(int target, int version) {}

    public static final long PAGE_SIZE = 0x1000;
    /** Nothing loads below 1 MiB: the monitor owns that space (hvt ABI section 3). */
    public static final long LOWEST_LOAD_ADDRESS = 0x100000;
    /** Images beyond this size are refused outright (a Java array holds the file). */
    public static final long MAX_FILE_SIZE = Integer.MAX_VALUE - 16;

    static final int ELF_HEADER_SIZE = 64;
    static final int PHDR_SIZE = 56;
    static final int ET_EXEC = 2;
    static final int EM_X86_64 = 62;
    static final int PT_LOAD = 1;
    static final int PT_NOTE = 4;
    static final int NOTE_HEADER_SIZE = 20;
    static final int NT_ABI1 = 0x31494241;
    static final int NT_MFT1 = 0x3154464d;
    static final int ABI1_MAX_DESC = 32;
    static final int ABI1_DESC = 16;
    static final int MFT1_MAX_DESC = 6668;
    static final int MFT1_PAD = 4;
    public static final int HVT_ABI_TARGET = 1;
    public static final int HVT_ABI_VERSION = 2;

    public HvtImage {
        segments = List.copyOf(segments);
    }

    /**
     * The record's own equality (the file's bytes compared by reference, as a record compares an
     * array), written out: the generated one is bootstrapped through invokedynamic, which spins
     * nine classes on a {@code kiln run}'s path (ImageTables caches by image), ~5 ms of its start.
     */
    @Override
    public boolean equals(Object o) {
        return o instanceof HvtImage h && bytes == h.bytes && entry == h.entry && kernelEnd == h.kernelEnd
                && name.equals(h.name) && segments.equals(h.segments) && abi.equals(h.abi) && manifest.equals(h.manifest);
    }

    @Override
    public int hashCode() {
        return 31 * System.identityHashCode(bytes) + Long.hashCode(entry);
    }

    /** Reads and validates an image file. */
    public static HvtImage read(Path path) throws ImageException {
        String name = path.getFileName() == null ? path.toString() : path.getFileName().toString();
        try {
            if (Files.isDirectory(path)) {
                throw new ImageException("image " + path + ": is a directory, not an image file");
            }
            long size = Files.size(path);
            if (size > MAX_FILE_SIZE) {
                throw new ImageException("image " + name + ": " + size + " bytes is larger than the 2 GiB an image may have");
            }
            return parse(name, Files.readAllBytes(path));
        } catch (NoSuchFileException e) {
            throw new ImageException("image " + path + ": no such file");
        } catch (IOException e) {
            throw new ImageException("image " + path + ": cannot read: " + e.getMessage());
        }
    }

    /** Validates image bytes; {@code name} labels the errors. */
    public static HvtImage parse(String name, byte[] bytes) throws ImageException {
        return new Parser(name, bytes).parse();
    }

    /** Parses with little-endian reads and overflow-checked arithmetic; every failure names the rule. */
    private static final class Parser {
        private final String name;
        private final byte[] bytes;
        private final ByteBuffer b;

        Parser(String name, byte[] bytes) {
            this.name = name;
            this.bytes = bytes;
            this.b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        }

        private ImageException refuse(String why) {
            return new ImageException("image " + name + ": " + why);
        }

        HvtImage parse() throws ImageException {
            // The magic first: a script or a text file is "not an ELF file", whatever its length.
            if (bytes.length >= 4 && (bytes[0] != 0x7f || bytes[1] != 'E' || bytes[2] != 'L' || bytes[3] != 'F')) {
                throw refuse("not an ELF file (bad magic)");
            }
            if (bytes.length < ELF_HEADER_SIZE) {
                throw refuse("truncated: " + bytes.length + " bytes, an ELF64 header needs " + ELF_HEADER_SIZE);
            }
            if (bytes[4] != 2) throw refuse("not a 64-bit ELF (EI_CLASS " + bytes[4] + ")");
            if (bytes[5] != 1) throw refuse("not a little-endian ELF (EI_DATA " + bytes[5] + ")");
            if (bytes[6] != 1) throw refuse("unknown ELF version " + bytes[6]);
            int type = u16(16);
            if (type != ET_EXEC) throw refuse("e_type is " + type + ", expected ET_EXEC (2): a static executable");
            int machine = u16(18);
            if (machine != EM_X86_64) throw refuse("e_machine is " + machine + ", expected EM_X86_64 (62)");
            long entry = u64(24, "e_entry");
            long phoff = u64(32, "e_phoff");
            int ehsize = u16(52);
            int phentsize = u16(54);
            int phnum = u16(56);
            if (ehsize != ELF_HEADER_SIZE) throw refuse("e_ehsize is " + ehsize + ", expected " + ELF_HEADER_SIZE);
            if (phentsize != PHDR_SIZE) throw refuse("e_phentsize is " + phentsize + ", expected " + PHDR_SIZE);
            if (phnum == 0) throw refuse("no program headers");
            long phEnd = add(phoff, (long) phnum * PHDR_SIZE, "program header table end");
            if (phEnd > bytes.length) {
                throw refuse("truncated: program headers end at byte " + phEnd + ", file has " + bytes.length);
            }

            List<LoadSegment> segments = new ArrayList<>();
            AbiNote abi = null;
            Manifest manifest = null;
            long kernelEnd = 0;
            for (int i = 0; i < phnum; i++) {
                int at = (int) (phoff + (long) i * PHDR_SIZE);
                int ptype = b.getInt(at);
                int flags = b.getInt(at + 4);
                long offset = u64(at + 8, "segment " + i + " p_offset");
                long vaddr = u64(at + 16, "segment " + i + " p_vaddr");
                long filesz = u64(at + 32, "segment " + i + " p_filesz");
                long memsz = u64(at + 40, "segment " + i + " p_memsz");
                long align = u64(at + 48, "segment " + i + " p_align");
                if (ptype == PT_LOAD) {
                    if (memsz == 0) continue;
                    LoadSegment seg = loadSegment(i, offset, vaddr, filesz, memsz, align, flags);
                    if (!segments.isEmpty()) {
                        LoadSegment prev = segments.getLast();
                        if (seg.vaddr() < prev.vaddr()) {
                            throw refuse("segment " + i + " at 0x" + Long.toHexString(seg.vaddr())
                                    + " comes after one at 0x" + Long.toHexString(prev.vaddr())
                                    + ": PT_LOAD segments must be in ascending address order");
                        }
                        if (seg.vaddr() < prev.vaddr() + prev.memSize()) {
                            throw refuse("segment " + i + " at 0x" + Long.toHexString(seg.vaddr())
                                    + " overlaps the previous one (0x" + Long.toHexString(prev.vaddr()) + "-0x"
                                    + Long.toHexString(prev.vaddr() + prev.memSize()) + ")");
                        }
                    }
                    segments.add(seg);
                    kernelEnd = Math.max(kernelEnd, seg.alignedEnd());
                } else if (ptype == PT_NOTE) {
                    long end = add(offset, filesz, "segment " + i + " note end");
                    if (end > bytes.length) {
                        throw refuse("truncated: note segment " + i + " ends at byte " + end + ", file has " + bytes.length);
                    }
                    if (filesz < NOTE_HEADER_SIZE) {
                        throw refuse("note segment " + i + " is " + filesz + " bytes, smaller than a note header ("
                                + NOTE_HEADER_SIZE + ")");
                    }
                    int at0 = (int) offset;
                    long namesz = Integer.toUnsignedLong(b.getInt(at0));
                    long descsz = Integer.toUnsignedLong(b.getInt(at0 + 4));
                    int ntype = b.getInt(at0 + 8);
                    boolean solo5 = namesz == 6 && bytes[at0 + 12] == 'S' && bytes[at0 + 13] == 'o'
                            && bytes[at0 + 14] == 'l' && bytes[at0 + 15] == 'o' && bytes[at0 + 16] == '5'
                            && bytes[at0 + 17] == 0;
                    if (!solo5) continue;
                    if (ntype == NT_ABI1) {
                        if (abi != null) throw refuse("two ABI1 notes");
                        checkNoteSize("ABI1", i, descsz, ABI1_MAX_DESC, filesz);
                        if (descsz < ABI1_DESC) {
                            throw refuse("ABI1 note descriptor is " + descsz + " bytes, needs " + ABI1_DESC);
                        }
                        abi = new AbiNote(b.getInt(at0 + NOTE_HEADER_SIZE), b.getInt(at0 + NOTE_HEADER_SIZE + 4));
                    } else if (ntype == NT_MFT1) {
                        if (manifest != null) throw refuse("two MFT1 manifest notes");
                        checkNoteSize("MFT1", i, descsz, MFT1_MAX_DESC, filesz);
                        if (descsz <= MFT1_PAD) {
                            throw refuse("MFT1 note descriptor is " + descsz + " bytes: no room for a manifest");
                        }
                        int from = at0 + NOTE_HEADER_SIZE + MFT1_PAD;
                        byte[] raw = java.util.Arrays.copyOfRange(bytes, from, from + (int) descsz - MFT1_PAD);
                        try {
                            manifest = Manifest.parse(raw);
                        } catch (ImageException e) {
                            throw refuse("bad MFT1 manifest: " + e.getMessage());
                        }
                    }
                }
            }
            if (segments.isEmpty()) throw refuse("no non-empty PT_LOAD segment: nothing to load");
            if (abi == null) throw refuse("no Solo5 ABI1 note: not an hvt image");
            if (abi.target() != HVT_ABI_TARGET) {
                throw refuse("built for ABI target " + Integer.toUnsignedString(abi.target()) + ", hvt is target "
                        + HVT_ABI_TARGET);
            }
            if (abi.version() != HVT_ABI_VERSION) {
                throw refuse("built for hvt ABI version " + Integer.toUnsignedString(abi.version())
                        + ", this monitor speaks version " + HVT_ABI_VERSION);
            }
            if (manifest == null) throw refuse("no Solo5 MFT1 manifest note");
            boolean entryInText = false;
            for (LoadSegment s : segments) {
                if (s.executable() && entry >= s.vaddr() && entry < s.vaddr() + s.memSize()) entryInText = true;
            }
            if (!entryInText) {
                throw refuse("entry point 0x" + Long.toHexString(entry) + " is not inside an executable segment");
            }
            return new HvtImage(name, bytes, entry, segments, kernelEnd, abi, manifest);
        }

        private LoadSegment loadSegment(int i, long offset, long vaddr, long filesz, long memsz, long align, int flags)
                throws ImageException {
            String seg = "segment " + i;
            if ((flags & LoadSegment.PF_W) != 0 && (flags & LoadSegment.PF_X) != 0) {
                throw refuse(seg + " at 0x" + Long.toHexString(vaddr) + " is both writable and executable (W^X)");
            }
            if (vaddr < LOWEST_LOAD_ADDRESS) {
                throw refuse(seg + " loads at 0x" + Long.toHexString(vaddr) + ", below 1 MiB (0x100000), which the monitor owns");
            }
            if (filesz > memsz) {
                throw refuse(seg + ": p_filesz " + filesz + " is larger than p_memsz " + memsz);
            }
            long fileEnd = add(offset, filesz, seg + " file end");
            if (fileEnd > bytes.length) {
                throw refuse("truncated: " + seg + " needs file bytes up to " + fileEnd + ", file has " + bytes.length);
            }
            if (align == 0) align = 1;
            if (Long.bitCount(align) != 1 || align < PAGE_SIZE) {
                throw refuse(seg + ": p_align 0x" + Long.toHexString(align) + " is not a power of two of at least 4 KiB");
            }
            long end = add(vaddr, memsz, seg + " end");
            long alignedStart = vaddr & -align;
            long alignedEnd = add(end, align - 1, seg + " aligned end") & -align;
            return new LoadSegment(offset, vaddr, filesz, memsz, flags, alignedStart, alignedEnd);
        }

        private void checkNoteSize(String kind, int i, long descsz, long max, long filesz) throws ImageException {
            if (descsz == 0) throw refuse(kind + " note (segment " + i + ") has an empty descriptor");
            if (descsz > max) {
                throw refuse(kind + " note (segment " + i + ") descriptor is " + descsz + " bytes, at most " + max);
            }
            if (filesz < NOTE_HEADER_SIZE + descsz) {
                throw refuse(kind + " note (segment " + i + ") is cut short: segment has " + filesz
                        + " bytes, the note needs " + (NOTE_HEADER_SIZE + descsz));
            }
        }

        private int u16(int at) {
            return Short.toUnsignedInt(b.getShort(at));
        }

        /** A u64 field; values with the top bit set can never be valid here, so they are refused early. */
        private long u64(int at, String what) throws ImageException {
            long v = b.getLong(at);
            if (v < 0) throw refuse(what + " 0x" + Long.toUnsignedString(v, 16) + " is out of range");
            return v;
        }

        private long add(long a, long c, String what) throws ImageException {
            try {
                return Math.addExact(a, c);
            } catch (ArithmeticException e) {
                throw refuse(what + " overflows 64 bits");
            }
        }
    }
}
