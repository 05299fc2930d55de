package dev.kiln.monitor.devices;

import dev.kiln.monitor.hvt.GuestFault;
import dev.kiln.monitor.hvt.GuestMemory;
import dev.kiln.monitor.hvt.Hypercall;
import dev.kiln.monitor.hvt.HypercallTable;

import dev.kiln.monitor.ConsoleLimit;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * The console: the PUTS hypercall (hvt ABI section 5) writes guest bytes to the instance's console
 * stream. The byte range is checked to lie inside guest RAM before anything is copied.
 *
 * <p>A console that cannot be written (a closed pipe) does not stop the guest: its output is
 * dropped and counted, as a serial line with nobody listening would. So is output beyond the
 * instance's {@link ConsoleLimit}: a guest writing without end costs the host a bounded rate.
 */
public final class ConsoleModule {
    private static final int CHUNK = 64 * 1024;

    private final GuestMemory memory;
    private final OutputStream out;
    private byte[] buffer = new byte[256];
    private long firstOutputNanos;
    private long bytesWritten;
    private long bytesDropped;
    private final TokenBucket bucket;

    public ConsoleModule(GuestMemory memory, OutputStream out, ConsoleLimit limit) {
        this.memory = memory;
        this.out = out;
        this.bucket = new TokenBucket(limit.bytesPerSecond(), limit.burstBytes(), System.nanoTime());
    }

    public void register(HypercallTable table) {
        table.register(Hypercall.PUTS, this::puts);
    }

    private void puts(long argGpa) throws GuestFault {
        MemorySegment arg = memory.range(argGpa, Hypercall.PUTS_SIZE, "PUTS argument");
        long data = GuestMemory.getLong(arg, Hypercall.PUTS_DATA);
        long len = GuestMemory.getLong(arg, Hypercall.PUTS_LEN);
        MemorySegment bytes = memory.range(data, len, "PUTS data");
        if (len == 0) return;
        long now = System.nanoTime();
        if (firstOutputNanos == 0) firstOutputNanos = now;
        long allowed = bucket.take(len, now);
        bytesDropped += len - allowed;
        for (long done = 0; done < allowed; ) {
            int n = (int) Math.min(CHUNK, allowed - done);
            if (buffer.length < n) buffer = new byte[Math.max(n, buffer.length * 2)];
            MemorySegment.copy(bytes, JAVA_BYTE, done, buffer, 0, n);
            try {
                out.write(buffer, 0, n);
                bytesWritten += n;
            } catch (IOException e) {
                bytesDropped += n;
            }
            done += n;
        }
        try {
            out.flush();
        } catch (IOException e) {
            // Counted above as dropped bytes if the writes failed too; a flush failure alone loses nothing.
        }
    }

    /** {@link System#nanoTime()} of the first byte of output, or 0 if none yet. */
    public long firstOutputNanos() {
        return firstOutputNanos;
    }

    public long bytesWritten() {
        return bytesWritten;
    }

    /** Bytes the guest wrote that never reached the console: over its limit, or the stream failed. */
    public long bytesDropped() {
        return bytesDropped;
    }
}
