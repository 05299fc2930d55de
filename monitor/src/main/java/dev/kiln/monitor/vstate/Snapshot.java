package dev.kiln.monitor.vstate;

import dev.kiln.monitor.hvt.GuestMemory;
import dev.kiln.monitor.image.HvtImage;
import dev.kiln.monitor.kvm.KvmApi;
import dev.kiln.monitor.kvm.LibC;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HexFormat;
import java.util.zip.CRC32C;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * A frozen instance on disk, and the same file opened for restoring: version 2 of Kiln's format.
 *
 * <pre>
 * offset 0      header (4 KiB): "KILNSNP1", u32 version, u32 header bytes used, u64 memory size,
 *               u64 non-zero pages, u64 index offset, image SHA-256[32], u64 TSC, kvm_regs[144],
 *               kvm_sregs[312], kvm_fpu[416], u32 execution (0 emulated, 1 native),
 *               u32 CRC-32C of all the header before it
 * offset 4096   guest RAM, byte for byte; pages that were all zero are holes
 * index offset  per non-zero page: u64 page number, u32 CRC-32C of the page; then u32 CRC-32C
 *               of the index
 * </pre>
 *
 * RAM sits at a page-aligned offset so that restoring maps the file privately: restores and clones
 * share every page none of them writes (copy-on-write). Opening a snapshot checks everything once
 * (magic, version, every checksum, sizes, that pages lie inside RAM), so a corrupt or truncated
 * file, or one taken of another image, is refused before any VM exists.
 *
 * <p>Version 2 records whether the guest ran natively (pvm-native.md). A snapshot of either mode
 * restores in either: the boot page tables carry U/S in both since version 2, and the
 * native-execution page is zeroed and registered again at every restore. Version 1 snapshots are
 * refused: their page tables lack U/S, so a native restore would fault at its first instruction
 * forever without an exit (pvm-native.md 3).
 */
public final class Snapshot implements AutoCloseable {
    static final byte[] MAGIC = "KILNSNP1".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    public static final int VERSION = 2;
    static final int PAGE = 4096;
    static final long MEMORY_OFFSET = PAGE;
    static final int HEADER_USED = 956;
    static final int REGS_AT = 80, SREGS_AT = 224, FPU_AT = 536, EXECUTION_AT = 952;

    private final Path file;
    private final int fd;
    private final long memorySize;
    private final long storedPages;
    /** The pages the file stores (the others were zero): read from the index once, at open. */
    private final BitSet stored;
    private final byte[] imageDigest;
    private final VcpuState vcpu;
    private final boolean takenNative;
    private boolean closed;

    private Snapshot(Path file, int fd, long memorySize, BitSet stored, byte[] imageDigest, VcpuState vcpu,
                     boolean takenNative) {
        this.takenNative = takenNative;
        this.file = file;
        this.fd = fd;
        this.memorySize = memorySize;
        this.stored = stored;
        this.storedPages = stored.cardinality();
        this.imageDigest = imageDigest;
        this.vcpu = vcpu;
    }

    public static byte[] digest(HvtImage image) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(image.bytes());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes a snapshot of a paused guest: its RAM (zero pages as holes) and vCPU state. */
    public static void write(Path file, HvtImage image, GuestMemory memory, VcpuState state, boolean ranNative)
            throws SnapshotException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        MemorySegment ram = memory.segment();
        long pages = ram.byteSize() / PAGE;
        MemorySegment zero = MemorySegment.ofArray(new byte[PAGE]);
        ByteBuffer index = ByteBuffer.allocate((int) Math.min(Integer.MAX_VALUE - 8, pages * 12 + 4)).order(ByteOrder.LITTLE_ENDIAN);
        long nonZero = 0;
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            CRC32C crc = new CRC32C();
            for (long p = 0; p < pages; p++) {
                MemorySegment page = ram.asSlice(p * PAGE, PAGE);
                if (page.mismatch(zero) < 0) continue;
                ByteBuffer b = page.asByteBuffer();
                crc.reset();
                crc.update(b.duplicate());
                index.putLong(p).putInt((int) crc.getValue());
                nonZero++;
                for (long at = MEMORY_OFFSET + p * PAGE; b.hasRemaining(); ) at += ch.write(b, at);
            }
            long indexOffset = MEMORY_OFFSET + ram.byteSize();
            crc.reset();
            crc.update(index.array(), 0, index.position());
            index.putInt((int) crc.getValue());
            index.flip();
            for (long at = indexOffset; index.hasRemaining(); ) at += ch.write(index, at);

            ByteBuffer h = ByteBuffer.allocate(PAGE).order(ByteOrder.LITTLE_ENDIAN);
            h.put(MAGIC).putInt(VERSION).putInt(HEADER_USED).putLong(ram.byteSize()).putLong(nonZero).putLong(indexOffset);
            h.put(digest(image)).putLong(state.tsc());
            h.put(REGS_AT, state.regs()).put(SREGS_AT, state.sregs()).put(FPU_AT, state.fpu());
            h.putInt(EXECUTION_AT, ranNative ? 1 : 0);
            crc.reset();
            crc.update(h.array(), 0, HEADER_USED);
            h.putInt(HEADER_USED, (int) crc.getValue());
            h.clear();
            for (long at = 0; h.hasRemaining(); ) at += ch.write(h, at);
            ch.force(true);
        } catch (IOException e) {
            throw new SnapshotException("cannot write snapshot " + file + ": " + e.getMessage(), e);
        }
        try {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new SnapshotException("cannot write snapshot " + file + ": " + e.getMessage(), e);
        }
    }

    /** Opens and checks a snapshot; keep it open while instances restored from it run. */
    public static Snapshot open(Path file) throws SnapshotException {
        String name = "snapshot " + file;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < PAGE) throw new SnapshotException(name + ": truncated: " + size + " bytes, a header needs " + PAGE);
            ByteBuffer h = ByteBuffer.allocate(PAGE).order(ByteOrder.LITTLE_ENDIAN);
            read(ch, h, 0);
            if (!Arrays.equals(Arrays.copyOf(h.array(), 8), MAGIC)) throw new SnapshotException(name + ": not a Kiln snapshot");
            int version = h.getInt(8);
            if (version == 1) {
                throw new SnapshotException(name + ": format version 1 was written before native execution: its page tables "
                        + "lack the U/S bit a native vCPU needs (it would fault forever at its first instruction); take it again");
            }
            if (version != VERSION) {
                throw new SnapshotException(name + ": format version " + version + ", this monitor reads version " + VERSION);
            }
            CRC32C crc = new CRC32C();
            crc.update(h.array(), 0, HEADER_USED);
            if (h.getInt(12) != HEADER_USED || h.getInt(HEADER_USED) != (int) crc.getValue()) {
                throw new SnapshotException(name + ": header checksum mismatch (corrupt)");
            }
            long mem = h.getLong(16), nonZero = h.getLong(24), indexOffset = h.getLong(32);
            if (mem < GuestMemory.MIN_SIZE || mem > GuestMemory.MAX_SIZE || mem % GuestMemory.GRANULE != 0
                    || indexOffset != MEMORY_OFFSET + mem || nonZero < 0 || nonZero > mem / PAGE) {
                throw new SnapshotException(name + ": inconsistent sizes in the header (corrupt)");
            }
            long indexSize = nonZero * 12 + 4;
            if (size < indexOffset + indexSize) {
                throw new SnapshotException(name + ": truncated: " + size + " bytes, the snapshot needs " + (indexOffset + indexSize));
            }
            ByteBuffer index = ByteBuffer.allocate((int) indexSize).order(ByteOrder.LITTLE_ENDIAN);
            read(ch, index, indexOffset);
            crc.reset();
            crc.update(index.array(), 0, (int) indexSize - 4);
            if (index.getInt((int) indexSize - 4) != (int) crc.getValue()) {
                throw new SnapshotException(name + ": page index checksum mismatch (corrupt)");
            }
            ByteBuffer page = ByteBuffer.allocate(PAGE);
            long previous = -1;
            BitSet stored = new BitSet((int) (mem / PAGE));
            for (long i = 0; i < nonZero; i++) {
                long p = index.getLong((int) (i * 12));
                if (p <= previous || p >= mem / PAGE) throw new SnapshotException(name + ": page index out of order or range (corrupt)");
                previous = p;
                stored.set((int) p);
                page.clear();
                read(ch, page, MEMORY_OFFSET + p * PAGE);
                crc.reset();
                crc.update(page.array());
                if (index.getInt((int) (i * 12 + 8)) != (int) crc.getValue()) {
                    throw new SnapshotException(name + ": memory page at 0x" + Long.toHexString(p * PAGE) + " fails its checksum (corrupt)");
                }
            }
            byte[] digest = Arrays.copyOfRange(h.array(), 40, 72);
            VcpuState state = new VcpuState(Arrays.copyOfRange(h.array(), REGS_AT, REGS_AT + (int) KvmApi.REGS.byteSize()),
                    Arrays.copyOfRange(h.array(), SREGS_AT, SREGS_AT + (int) KvmApi.SREGS.byteSize()),
                    Arrays.copyOfRange(h.array(), FPU_AT, FPU_AT + (int) KvmApi.FPU_SIZE), h.getLong(72));
            int fd = LibC.open(file.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC);
            if (fd < 0) throw new SnapshotException(name + ": cannot open for mapping: " + LibC.describe(-fd));
            int execution = h.getInt(EXECUTION_AT);
            if (execution != 0 && execution != 1) {
                LibC.close(fd);
                throw new SnapshotException(name + ": execution mode " + execution + " in the header is neither 0 nor 1 (corrupt)");
            }
            return new Snapshot(file, fd, mem, stored, digest, state, execution == 1);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new SnapshotException(name + ": no such file");
        } catch (IOException e) {
            throw new SnapshotException(name + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static void read(FileChannel ch, ByteBuffer b, long at) throws IOException {
        while (b.hasRemaining()) {
            int n = ch.read(b, at);
            if (n < 0) throw new IOException("unexpected end of file");
            at += n;
        }
    }

    /** Refuses an image other than the one the snapshot was taken of. */
    public void checkImage(HvtImage image) throws SnapshotException {
        if (image == verifiedImage) return; // images are immutable: one hash per image, not per clone
        if (!Arrays.equals(digest(image), imageDigest)) {
            throw new SnapshotException("snapshot " + file + " was taken of another image (SHA-256 "
                    + HexFormat.of().formatHex(imageDigest, 0, 8) + "...), not of " + image.name());
        }
        verifiedImage = image;
    }

    private volatile HvtImage verifiedImage;

    /** The guest's RAM, mapped copy-on-write from the file. */
    public GuestMemory mapMemory() {
        return GuestMemory.mapPrivate(fd, MEMORY_OFFSET, memorySize);
    }

    /** Maps the guest's RAM copy-on-write over {@code memory} in place (a warm VM's; same size). */
    public void mapMemoryOver(GuestMemory memory) {
        if (memory.size() != memorySize) {
            throw new IllegalArgumentException("memory of " + memory.size() + " bytes cannot take a snapshot of "
                    + memorySize + " bytes");
        }
        memory.remapPrivate(fd, MEMORY_OFFSET);
    }

    /**
     * Maps in ahead, private and writable, the pages of {@code workingSet} in {@code memory} mapped
     * from this snapshot: the pages the restored guest will touch (zero ones too: a guest reads its
     * tables and stack whether or not they hold anything). Of a working set that is not exact, only
     * the pages this snapshot stores. Why writable: KVM's shadow MMU, on a guest page fault, also
     * fills in up to 7 neighbouring entries, but only for pages the host has mapped writable; so a
     * guest that faults once per page on the file's read-only pages (~21 us each on a nested host)
     * faults about once per 8 on these. The cost: these pages are the restore's own from now on,
     * not shared with the file.
     */
    public void prefetch(GuestMemory memory, WorkingSet workingSet) {
        BitSet pages = workingSet.pages();
        if (!workingSet.exact()) pages.and(stored);
        memory.populateWritable(pages);
    }

    /** True when the guest ran natively when it was taken (pvm-native.md), false when emulated. */
    public boolean takenNative() {
        return takenNative;
    }

    public long memorySize() {
        return memorySize;
    }

    /** Pages stored in the file; every other page of RAM was zero and is a hole. */
    public long storedPages() {
        return storedPages;
    }

    public VcpuState vcpu() {
        return vcpu;
    }

    public Path file() {
        return file;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            LibC.close(fd);
        }
    }
}
