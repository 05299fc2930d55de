package dev.kiln.monitor.devices;

import dev.kiln.monitor.hvt.GuestFault;
import dev.kiln.monitor.hvt.GuestMemory;
import dev.kiln.monitor.hvt.Hypercall;
import dev.kiln.monitor.hvt.HypercallTable;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;

/**
 * BLOCK_BASIC devices backed by files (hvt ABI sections 2 and 5): BLOCK_WRITE and BLOCK_READ move
 * exactly one block at a block-aligned offset. Every argument is checked: a handle that is not a
 * block device, a misaligned offset, a length other than one block, or a range past the capacity
 * is EINVAL; a data range outside guest RAM is a guest fault; a host I/O error is EUNSPEC.
 *
 * <pre>
 * struct hvt_hc_block_write / _read {
 *     uint64_t handle;  // 0
 *     uint64_t offset;  // 8
 *     GPA data;         // 16
 *     size_t len;       // 24 (read: in/out)
 *     int ret;          // 32
 * };
 * </pre>
 */
public final class BlockModule implements AutoCloseable {
    static final long ARG_SIZE = 36;
    static final long HANDLE = 0, OFFSET = 8, DATA = 16, LEN = 24, RET = 32;

    /**
     * One open device: its file, the lock that keeps it to this monitor, its capacity in bytes and
     * its block size; {@code cache} is a simulated volatile write cache ({@link VolatileWriteCache}),
     * or null: writes go to the file at once. {@code readOnly}: BLOCK_WRITE is refused (EINVAL).
     */
    public record Device(int handle, String name, FileChannel file, BlockFileLock lock, long capacity, int blockSize,
                         VolatileWriteCache cache, boolean readOnly) {}

    private final GuestMemory memory;
    private final Map<Integer, Device> devices;
    /** BLOCK_WRITEs refused because their device is read-only: a guest that tries is worth knowing about. */
    private final java.util.concurrent.atomic.AtomicLong readOnlyWritesRefused = new java.util.concurrent.atomic.AtomicLong();

    public BlockModule(GuestMemory memory, Map<Integer, Device> devices) {
        this.memory = memory;
        this.devices = Map.copyOf(devices);
    }

    /**
     * Opens a backing file read-write and locks it for this device alone ({@link BlockFileLock});
     * its capacity is its size rounded down to whole blocks. Errors name the device and the file.
     */
    public static Device open(int handle, String name, Path file, int blockSize) throws IOException {
        return open(handle, name, file, blockSize, false);
    }

    /** As above; {@code volatileCache}: the device keeps writes in a volatile cache until a flush (a power-cut test). */
    public static Device open(int handle, String name, Path file, int blockSize, boolean volatileCache) throws IOException {
        return open(handle, name, file, blockSize, volatileCache, false);
    }

    /**
     * As above; {@code readOnly}: the file is opened O_RDONLY under a shared lock (several
     * instances may read it at once, none write it) and the guest's BLOCK_WRITEs are refused.
     */
    public static Device open(int handle, String name, Path file, int blockSize, boolean volatileCache, boolean readOnly)
            throws IOException {
        FileChannel ch;
        try {
            ch = readOnly ? FileChannel.open(file, StandardOpenOption.READ)
                    : FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IOException("block device '" + name + "': " + file + ": no such file", e);
        } catch (java.nio.file.AccessDeniedException e) {
            throw new IOException("block device '" + name + "': " + file + ": permission denied (it must be readable"
                    + (readOnly ? ")" : " and writable)"), e);
        } catch (IOException e) {
            throw new IOException("block device '" + name + "': cannot open " + file + (readOnly ? " to read: " : " read-write: ") + e, e);
        }
        BlockFileLock lock;
        try {
            lock = BlockFileLock.acquire(name, file, readOnly);
        } catch (IOException e) {
            ch.close();
            throw e;
        }
        long size;
        try {
            size = ch.size();
        } catch (IOException e) {
            ch.close();
            lock.close();
            throw new IOException("block device '" + name + "': cannot read the size of " + file + ": " + e, e);
        }
        long capacity = size - size % blockSize;
        if (capacity == 0) {
            ch.close();
            lock.close();
            throw new IOException("block device '" + name + "': " + file + " is " + size
                    + " bytes, smaller than one " + blockSize + "-byte block");
        }
        return new Device(handle, name, ch, lock, capacity, blockSize, volatileCache ? new VolatileWriteCache() : null, readOnly);
    }

    public void register(HypercallTable table) {
        table.register(Hypercall.BLOCK_WRITE, gpa -> transfer(gpa, true));
        table.register(Hypercall.BLOCK_READ, gpa -> transfer(gpa, false));
    }

    private void transfer(long argGpa, boolean write) throws GuestFault {
        String call = write ? "BLOCK_WRITE" : "BLOCK_READ";
        MemorySegment arg = memory.range(argGpa, ARG_SIZE, call + " argument");
        long handle = GuestMemory.getLong(arg, HANDLE);
        long offset = GuestMemory.getLong(arg, OFFSET);
        long data = GuestMemory.getLong(arg, DATA);
        long len = GuestMemory.getLong(arg, LEN);
        Device d = handle >= 0 && handle < Integer.MAX_VALUE ? devices.get((int) handle) : null;
        if (d == null || len != d.blockSize() || offset < 0 || offset % d.blockSize() != 0
                || offset >= d.capacity() || len > d.capacity() - offset) {
            arg.set(JAVA_INT_UNALIGNED, RET, Hypercall.EINVAL);
            return;
        }
        if (write && d.readOnly()) {
            // hvt's manifest cannot say read-only (hvt ABI section 2), so the refusal is the call's
            // result, the one error a guest already handles (docs/kiln-abi.md 6.5)
            readOnlyWritesRefused.incrementAndGet();
            arg.set(JAVA_INT_UNALIGNED, RET, Hypercall.EINVAL);
            return;
        }
        ByteBuffer buf = memory.range(data, len, call + " data").asByteBuffer();
        int ret = Hypercall.OK;
        try {
            if (d.cache() != null && write) {
                d.cache().write(offset, buf);
            } else if (d.cache() == null || !d.cache().read(offset, buf)) {
                long at = offset;
                while (buf.hasRemaining()) {
                    int n = write ? d.file().write(buf, at) : d.file().read(buf, at);
                    if (n < 0) throw new IOException("unexpected end of file");
                    at += n;
                }
            }
        } catch (IOException e) {
            ret = Hypercall.EUNSPEC;
        }
        arg.set(JAVA_INT_UNALIGNED, RET, ret);
    }

    /**
     * Kiln's BLOCK_FLUSH (docs/kiln-abi.md 1.3): 0 once the device's earlier writes are on stable
     * storage (fdatasync: FileChannel.force(false) writes the data, not the file's times), -EINVAL
     * for a handle that is not one of this instance's block devices, -EIO when the kernel reports
     * the write-back failed.
     */
    public long flush(long handle) {
        Device d = handle >= 0 && handle <= Integer.MAX_VALUE ? devices.get((int) handle) : null;
        if (d == null) return -22;
        if (d.readOnly()) return 0; // nothing was written: everything the guest wrote is durable
        try {
            if (d.cache() != null) d.cache().writeBack(d.file());
            d.file().force(false);
            return 0;
        } catch (IOException e) {
            return -5;
        }
    }

    /** How many BLOCK_WRITEs this instance's guest aimed at a read-only device (each answered EINVAL). */
    public long readOnlyWritesRefused() {
        return readOnlyWritesRefused.get();
    }

    /**
     * A simulated power cut: every device's volatile cache drops what was not flushed (devices
     * without one keep everything: their writes are in the file already).
     */
    public void powerCut() {
        for (Device d : devices.values()) {
            if (d.cache() != null) d.cache().discard();
        }
    }

    /** Flushes writes to the files (so nothing is lost when the guest ends) and closes them. */
    @Override
    public void close() {
        closeAll(devices.values());
    }

    public static void closeAll(java.util.Collection<Device> devices) {
        for (Device d : devices) {
            try {
                if (d.cache() != null) d.cache().writeBack(d.file()); // an orderly end; nothing after a power cut
                if (!d.readOnly()) d.file().force(true);
            } catch (IOException e) {
                // The guest's own writes already reached the page cache; nothing more can be done here.
            }
            try {
                d.file().close();
            } catch (IOException ignored) {
                // closing a file we only read or wrote through positional calls
            }
            d.lock().close();
        }
    }
}
