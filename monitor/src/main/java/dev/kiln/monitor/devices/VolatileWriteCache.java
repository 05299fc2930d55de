package dev.kiln.monitor.devices;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.Map;
import java.util.TreeMap;

/**
 * A disk's volatile write cache, for proving a guest's durability ordering: blocks the guest
 * writes stay here (reads see them) until BLOCK_FLUSH (docs/kiln-abi.md 1.3) or an orderly end
 * writes them to the file; a simulated power cut ({@link #discard}) drops them, as a real disk
 * loses what it had not made durable. Without it, writes go to the file at once and only a host
 * crash could lose them, which no test can cause.
 */
final class VolatileWriteCache {
    private final Map<Long, byte[]> blocks = new TreeMap<>(); // offset -> the block's bytes
    private boolean cut;

    /** Keeps a written block. */
    synchronized void write(long offset, ByteBuffer data) {
        byte[] b = new byte[data.remaining()];
        data.get(b);
        blocks.put(offset, b);
    }

    /** Reads a block the cache holds into {@code into}; false when the file has the current bytes. */
    synchronized boolean read(long offset, ByteBuffer into) {
        byte[] b = blocks.get(offset);
        if (b == null) return false;
        into.put(b);
        return true;
    }

    /** Writes every cached block to the file (in offset order) and forgets them; none after a power cut. */
    synchronized void writeBack(FileChannel file) throws IOException {
        if (cut) return;
        for (Map.Entry<Long, byte[]> e : blocks.entrySet()) {
            ByteBuffer b = ByteBuffer.wrap(e.getValue());
            for (long at = e.getKey(); b.hasRemaining(); ) at += file.write(b, at);
        }
        blocks.clear();
    }

    /** The power is cut: what was not flushed is lost, and nothing reaches the file any more. */
    synchronized void discard() {
        cut = true;
        blocks.clear();
    }

    synchronized int size() {
        return blocks.size();
    }
}
