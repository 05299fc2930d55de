package dev.kiln.monitor.hvt;

import dev.kiln.monitor.kvm.KvmException;
import dev.kiln.monitor.kvm.LibC;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.BitSet;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * A guest's RAM: one anonymous private mapping, identity-mapped at guest-physical 0. Fresh memory
 * is zero-filled by the kernel, which is what hvt ABI section 1 asks of BSS and of all RAM, so
 * nothing is cleared by hand; pages the guest never touches cost no host memory
 * ({@code MAP_NORESERVE}).
 *
 * <p>Every access on behalf of a hypercall goes through {@link #range}, which refuses any range that
 * does not lie wholly inside RAM, with overflow-checked arithmetic: guest-supplied addresses and
 * lengths are untrusted.
 */
public final class GuestMemory implements AutoCloseable {
    /** Memory sizes are rounded down to this (hvt ABI section 3). */
    public static final long GRANULE = 2L << 20;
    public static final long MIN_SIZE = GRANULE;
    public static final long MAX_SIZE = 4L << 30;
    /**
     * Guest-physical memory below this is the monitor's (hvt ABI section 3): the null page, the GDT,
     * the page tables and the native-execution page (LongMode.VIF_GPA). The guest's page tables do
     * not map it; a hypercall may not read or write it either, else a guest could rewrite its own
     * page tables or KVM's interrupt state through the monitor (pvm-native.md 3).
     */
    public static final long MONITOR_OWNED_END = 0x10000;

    private final MemorySegment ram;
    /**
     * True when a page the kernel reports as not resident reads as zero: anonymous memory and
     * private mappings of a memfd (a hole in it is zero). A private mapping of a snapshot file on
     * disk is not: its pages may just be out of the page cache.
     */
    private boolean absentIsZero;
    /**
     * True when a file is mapped here (a snapshot, a fork's memfd): then a page is in the host's
     * page tables only once touched since, and {@link #mappedPages} is what the guest touched. Fresh
     * memory also holds what the loader and the guest's boot touched, and a huge page maps whole.
     */
    private boolean mappedFromFile;
    private boolean closed;

    private GuestMemory(MemorySegment ram, boolean absentIsZero) {
        this.ram = ram;
        this.absentIsZero = absentIsZero;
    }

    private GuestMemory fromFile() {
        mappedFromFile = true;
        return this;
    }

    /** See {@link #mappedFromFile}. */
    public boolean mappedFromFile() {
        return mappedFromFile;
    }

    private static final int RW = LibC.PROT_READ | LibC.PROT_WRITE;
    /** Every guest RAM mapping: private (copy-on-write where a file backs it), no swap reserved. */
    private static final int PRIVATE = LibC.MAP_PRIVATE | LibC.MAP_NORESERVE;

    /**
     * Fresh RAM of this size or more is backed by transparent huge pages where the host offers them
     * (/sys/kernel/mm/transparent_hugepage/enabled shows [always] or [madvise]; "never" turns this
     * off). Why: on a nested host a guest's first touch of a 4 KiB page costs a fault of ~25 us (a
     * host process pays ~2 us), so a program that grows its heap -- Lua filling a 200,000-entry
     * table touches 8 MiB -- spent 50 ms in faults where the host build spent 4 ms; with 2 MiB
     * pages it is one fault per 2 MiB and the guest matches the host (README, "Guest memory on huge
     * pages"). Why not below: a huge page is resident whole once touched, so a small guest of the
     * kind fleets run by the thousand (2-8 MiB, a few hundred KiB touched) would pay up to 2 MiB per
     * region it touches, and its boot needs no more than a handful of faults.
     */
    public static final long HUGE_PAGES_FROM = 16L << 20;
    private static final long HUGE_PAGE = 2L << 20;

    /**
     * Maps {@code size} bytes of zeroed RAM; {@code size} must already be a valid guest size. From
     * {@link #HUGE_PAGES_FROM} on, the mapping starts on a 2 MiB boundary (KVM maps a guest 2 MiB
     * page with one host huge page only where guest-physical and host addresses agree modulo 2 MiB)
     * and is advised to use huge pages.
     */
    public static GuestMemory allocate(long size) {
        checkSize(size);
        if (size < HUGE_PAGES_FROM) {
            return new GuestMemory(LibC.mmap(size, RW, PRIVATE | LibC.MAP_ANONYMOUS, -1, 0, "guest memory"), true);
        }
        MemorySegment wide = LibC.mmap(size + HUGE_PAGE, RW, PRIVATE | LibC.MAP_ANONYMOUS, -1, 0, "guest memory");
        long start = (wide.address() + HUGE_PAGE - 1) & -HUGE_PAGE;
        long head = start - wide.address();
        if (head > 0) LibC.munmap(wide.asSlice(0, head));
        long tail = HUGE_PAGE - head;
        if (tail > 0) LibC.munmap(wide.asSlice(head + size, tail));
        MemorySegment ram = MemorySegment.ofAddress(start).reinterpret(size);
        // Advice only: a kernel without THP refuses it (EINVAL) and the guest runs on 4 KiB pages.
        LibC.madvise(ram, LibC.MADV_HUGEPAGE);
        return new GuestMemory(ram, true);
    }

    private static long checkSize(long size) {
        if (size < MIN_SIZE || size > MAX_SIZE || size % GRANULE != 0) {
            throw new IllegalArgumentException("guest memory size " + size + " is not a multiple of 2 MiB in 2 MiB..4 GiB");
        }
        return size;
    }

    /**
     * Maps {@code size} bytes of a file privately (copy-on-write) as guest RAM: pages the guest
     * only reads stay shared with every other mapping of the file (snapshot clones); a page it
     * writes becomes its own. Holes in the file read as zeros.
     */
    public static GuestMemory mapPrivate(int fd, long offset, long size) {
        return new GuestMemory(LibC.mmap(checkSize(size), RW, PRIVATE, fd, offset, "snapshot memory"), false).fromFile();
    }

    /**
     * Makes this memory the parent half of a fork (docs/kiln-abi.md 1.1): copies its pages into a
     * new memfd, then maps that memfd privately over this memory in place, so parent and child
     * share one copy until either writes a page. Returns the memfd, for the child's
     * {@link #mapFork}; the caller closes it once the child is mapped. Pages never touched are not
     * copied (they stay holes, which read as zero), unless the host swaps, when "not resident"
     * no longer means "zero".
     */
    public int shareForFork() {
        int fd = LibC.memfdCreate("kiln-fork");
        if (fd < 0) throw new KvmException("memfd_create for a fork", -fd);
        try {
            int rc = LibC.ftruncate(fd, ram.byteSize());
            if (rc < 0) throw new KvmException("ftruncate of the fork memfd", -rc);
            if (absentIsZero && !HOST_SWAPS) {
                copyResidentPages(fd);
            } else {
                writeFully(fd, ram, 0);
            }
            LibC.mmapFixed(ram, RW, PRIVATE, fd, 0, "forked guest memory");
            absentIsZero = true;
            mappedFromFile = true;
            return fd;
        } catch (RuntimeException e) {
            LibC.close(fd);
            throw e;
        }
    }

    /**
     * Replaces this memory's contents, in place, with a private (copy-on-write) mapping of a file:
     * a pre-made VM's memory slot keeps pointing at the same addresses, so a snapshot clone can
     * take a warm VM instead of making one.
     */
    public void remapPrivate(int fd, long offset) {
        LibC.mmapFixed(ram, RW, PRIVATE, fd, offset, "snapshot memory");
        absentIsZero = false;
        mappedFromFile = true;
    }

    /**
     * The pages of this memory mapped in the host's page tables now (bit 63 of each page's entry in
     * /proc/self/pagemap): the ones the guest or the monitor touched since the memory was mapped,
     * unless the host reclaimed them since. Readable without privileges (only frame numbers are not).
     */
    public BitSet mappedPages() {
        long pages = ram.byteSize() / PAGE;
        BitSet mapped = new BitSet((int) pages);
        ByteBuffer entries = ByteBuffer.allocate((int) Math.min(pages, 8192) * 8).order(ByteOrder.nativeOrder());
        try (FileChannel ch = FileChannel.open(Path.of("/proc/self/pagemap"), StandardOpenOption.READ)) {
            for (long first = 0; first < pages; ) {
                entries.clear().limit((int) Math.min(pages - first, entries.capacity() / 8) * 8);
                long at = (ram.address() / PAGE + first) * 8;
                while (entries.hasRemaining()) {
                    int n = ch.read(entries, at + entries.position());
                    if (n <= 0) throw new IOException("short read");
                }
                for (int i = 0; i < entries.limit() / 8; i++) {
                    if (entries.getLong(i * 8) < 0) mapped.set((int) (first + i)); // bit 63: present
                }
                first += entries.limit() / 8;
            }
        } catch (IOException e) {
            throw new KvmException("reading /proc/self/pagemap for guest memory: " + e.getMessage());
        }
        return mapped;
    }

    /**
     * Maps {@code pages} in now, writable: a private page of a file mapping is copied, a hole
     * zero-filled (MADV_POPULATE_WRITE). Advice: a kernel without it (before 5.14) leaves them to
     * be faulted in as the guest touches them.
     */
    public void populateWritable(BitSet pages) {
        for (int p = pages.nextSetBit(0); p >= 0 && (long) p * PAGE < ram.byteSize(); ) {
            int end = pages.nextClearBit(p);
            long bytes = Math.min((long) end * PAGE, ram.byteSize()) - (long) p * PAGE;
            LibC.madvise(ram.asSlice((long) p * PAGE, bytes), LibC.MADV_POPULATE_WRITE);
            p = pages.nextSetBit(end);
        }
    }

    /** The child half of a fork: the memfd {@link #shareForFork} returned, mapped privately. */
    public static GuestMemory mapFork(int fd, long size) {
        return new GuestMemory(LibC.mmap(checkSize(size), RW, PRIVATE, fd, 0, "forked guest memory"), true).fromFile();
    }

    private static final long PAGE = 4096;
    private static final boolean HOST_SWAPS = hostSwaps();

    private static boolean hostSwaps() {
        try {
            return java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/swaps")).size() > 1;
        } catch (java.io.IOException | RuntimeException e) {
            return true; // cannot tell: copy everything
        }
    }

    /** One byte per page of RAM, bit 0 set where the page is resident (mincore(2)). */
    private MemorySegment residency(Arena arena) {
        MemorySegment vec = arena.allocate(ram.byteSize() / PAGE);
        int rc = LibC.mincore(ram, vec);
        if (rc < 0) throw new KvmException("mincore of guest memory", -rc);
        return vec;
    }

    private void copyResidentPages(int fd) {
        long pages = ram.byteSize() / PAGE;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment vec = residency(arena);
            long p = 0;
            while (p < pages) {
                if ((vec.get(JAVA_BYTE, p) & 1) == 0) {
                    p++;
                    continue;
                }
                long start = p;
                while (p < pages && (vec.get(JAVA_BYTE, p) & 1) != 0) p++;
                writeFully(fd, ram.asSlice(start * PAGE, (p - start) * PAGE), start * PAGE);
            }
        }
    }

    private static void writeFully(int fd, MemorySegment from, long offset) {
        long done = 0;
        while (done < from.byteSize()) {
            long n = LibC.pwrite(fd, from.asSlice(done), offset + done);
            if (n == -LibC.EINTR) continue;
            if (n <= 0) throw new KvmException("writing guest memory to the fork memfd", (int) -n);
            done += n;
        }
    }

    /** Bytes of this memory resident in host RAM now (pages the guest touched, or shared ones it reads). */
    public long residentBytes() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment vec = residency(arena);
            long n = 0;
            for (long p = 0; p < vec.byteSize(); p++) n += vec.get(JAVA_BYTE, p) & 1;
            return n * PAGE;
        } catch (KvmException e) {
            return -1; // unmapped under us (closed): unknown
        }
    }

    /** Rounds a requested size down to 2 MiB and checks the 2 MiB..4 GiB bounds (hvt ABI section 3). */
    public static long validSize(long requestedBytes) {
        long size = requestedBytes - Math.floorMod(requestedBytes, GRANULE);
        if (size < MIN_SIZE) {
            throw new IllegalArgumentException("guest memory of " + requestedBytes + " bytes is below the minimum of 2 MiB");
        }
        if (size > MAX_SIZE) {
            throw new IllegalArgumentException("guest memory of " + (requestedBytes >> 20) + " MiB is above the maximum of 4096 MiB");
        }
        return size;
    }

    public long size() {
        return ram.byteSize();
    }

    /** The whole of RAM, for the loader and the boot-time writers, which stay inside it by construction. */
    public MemorySegment segment() {
        return ram;
    }

    /** True when {@code [gpa, gpa+len)} lies wholly inside RAM; both values are unsigned. */
    public boolean contains(long gpa, long len) {
        return gpa >= 0 && len >= 0 && gpa <= ram.byteSize() && len <= ram.byteSize() - gpa;
    }

    /**
     * The guest bytes {@code [gpa, gpa+len)}, or a {@link FaultKind#BAD_GPA} fault naming
     * {@code what} when any part lies outside RAM.
     */
    public MemorySegment range(long gpa, long len, String what) throws GuestFault {
        if (len != 0 && Long.compareUnsigned(gpa, MONITOR_OWNED_END) < 0) {
            throw new GuestFault(FaultKind.BAD_GPA, what + " at 0x" + Long.toUnsignedString(gpa, 16) + " ("
                    + Long.toUnsignedString(len) + " bytes) touches the monitor's low memory (0x0-0x"
                    + Long.toHexString(MONITOR_OWNED_END) + ": null page, GDT, page tables, native-execution page)");
        }
        if (!contains(gpa, len)) {
            throw new GuestFault(FaultKind.BAD_GPA, what + " at 0x" + Long.toUnsignedString(gpa, 16) + " ("
                    + Long.toUnsignedString(len) + " bytes) is outside guest memory (0x0-0x"
                    + Long.toHexString(ram.byteSize()) + ")");
        }
        return ram.asSlice(gpa, len);
    }

    public static long getLong(MemorySegment struct, long offset) {
        return struct.get(JAVA_LONG_UNALIGNED, offset);
    }

    public static void putLong(MemorySegment struct, long offset, long value) {
        struct.set(JAVA_LONG_UNALIGNED, offset, value);
    }

    public static void putInt(MemorySegment struct, long offset, int value) {
        struct.set(JAVA_INT_UNALIGNED, offset, value);
    }

    /** Unmaps RAM. The caller guarantees the vCPU has stopped: nothing may touch it afterwards. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            LibC.munmap(ram);
        }
    }
}
