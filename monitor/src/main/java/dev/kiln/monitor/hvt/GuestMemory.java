package dev.kiln.monitor.hvt;

import dev.kiln.monitor.kvm.LibC;

import java.lang.foreign.MemorySegment;

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

    private final MemorySegment ram;
    private boolean closed;

    private GuestMemory(MemorySegment ram) {
        this.ram = ram;
    }

    /** Maps {@code size} bytes of zeroed RAM; {@code size} must already be a valid guest size. */
    public static GuestMemory allocate(long size) {
        if (size < MIN_SIZE || size > MAX_SIZE || size % GRANULE != 0) {
            throw new IllegalArgumentException("guest memory size " + size + " is not a multiple of 2 MiB in 2 MiB..4 GiB");
        }
        return new GuestMemory(LibC.mmap(size, LibC.PROT_READ | LibC.PROT_WRITE,
                LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS | LibC.MAP_NORESERVE, -1, 0, "guest memory"));
    }

    /**
     * Maps {@code size} bytes of a file privately (copy-on-write) as guest RAM: pages the guest
     * only reads stay shared with every other mapping of the file (snapshot clones); a page it
     * writes becomes its own. Holes in the file read as zeros.
     */
    public static GuestMemory mapPrivate(int fd, long offset, long size) {
        if (size < MIN_SIZE || size > MAX_SIZE || size % GRANULE != 0) {
            throw new IllegalArgumentException("guest memory size " + size + " is not a multiple of 2 MiB in 2 MiB..4 GiB");
        }
        return new GuestMemory(LibC.mmap(size, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_PRIVATE | LibC.MAP_NORESERVE,
                fd, offset, "snapshot memory"));
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
