package dev.kiln.monitor;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A guest console kept in memory that a host can wait on: give it as an {@link InstanceSpec}'s
 * console, then {@link #await} a line the guest prints when it is ready (before a pause and a
 * snapshot, say). Bytes are kept as ISO-8859-1 characters, one per byte.
 */
public final class WatchedConsole extends OutputStream {
    private final StringBuilder text = new StringBuilder();

    @Override
    public synchronized void write(int b) {
        text.append((char) (b & 0xff));
        notifyAll();
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
        text.append(new String(b, off, len, StandardCharsets.ISO_8859_1));
        notifyAll();
    }

    /** Waits until the console holds {@code s}; false if it did not within {@code limit}. */
    public synchronized boolean await(String s, Duration limit) throws InterruptedException {
        long end = System.nanoTime() + limit.toNanos();
        while (text.indexOf(s) < 0) {
            long left = end - System.nanoTime();
            if (left <= 0) return false;
            wait(Math.max(1, left / 1_000_000));
        }
        return true;
    }

    /** Everything written so far. */
    @Override
    public synchronized String toString() {
        return text.toString();
    }
}
