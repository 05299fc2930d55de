package dev.kiln.daemon;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * An instance's console as files: {@code ID.log}, and {@code ID.log.1} holding the previous
 * {@code capBytes} once the current file would grow past them (so at most twice the cap on disk,
 * whatever a guest prints). The guest's vCPU thread writes straight through to the file, unbuffered:
 * what a guest printed is on disk when PUTS returns, and survives the daemon being killed.
 * Followers ({@code logs?follow=true}) get every write as it happens, then an end marker.
 */
final class ConsoleLog extends OutputStream {
    /** What a follower receives after the last bytes of a run. */
    static final byte[] END = new byte[0];

    private final Path file;
    private final Path previous;
    private final long capBytes;
    private OutputStream out; // guarded by this
    private long size; // guarded by this
    private final List<BlockingQueue<byte[]>> followers = new CopyOnWriteArrayList<>();

    ConsoleLog(Path dir, String id, long capBytes) throws IOException {
        this.file = dir.resolve(id + ".log");
        this.previous = dir.resolve(id + ".log.1");
        this.capBytes = capBytes;
        this.size = Files.exists(file) ? Files.size(file) : 0;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) throws IOException {
        if (len == 0) return;
        if (size + len > capBytes && size > 0) rotate();
        if (out == null) out = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        out.write(b, off, len);
        size += len;
        if (!followers.isEmpty()) {
            byte[] copy = java.util.Arrays.copyOfRange(b, off, off + len);
            for (BlockingQueue<byte[]> f : followers) f.offer(copy);
        }
    }

    private void rotate() throws IOException {
        if (out != null) out.close();
        out = null;
        Files.move(file, previous, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        size = 0;
    }

    /** Everything kept: the previous file, then the current one. */
    synchronized byte[] read() throws IOException {
        byte[] old = Files.exists(previous) ? Files.readAllBytes(previous) : new byte[0];
        byte[] now = Files.exists(file) ? Files.readAllBytes(file) : new byte[0];
        byte[] all = java.util.Arrays.copyOf(old, old.length + now.length);
        System.arraycopy(now, 0, all, old.length, now.length);
        return all;
    }

    /**
     * What is kept so far, and a queue of every later write, atomically (no byte missed or
     * repeated); {@link #END} closes the queue when the run ends.
     */
    synchronized Follow follow() throws IOException {
        BlockingQueue<byte[]> q = new LinkedBlockingQueue<>();
        followers.add(q);
        return new Follow(read(), q);
    }

    record Follow(byte[] sofar, BlockingQueue<byte[]> later) {}

    void unfollow(BlockingQueue<byte[]> q) {
        followers.remove(q);
    }

    /** The run ended: followers get the end marker. */
    synchronized void endRun() {
        for (BlockingQueue<byte[]> f : followers) f.offer(END);
        followers.clear();
        closeFile();
    }

    private void closeFile() {
        try {
            if (out != null) out.close();
        } catch (IOException e) {
            // the bytes were written unbuffered; a failing close loses nothing
        }
        out = null;
    }

    /** Deletes the files (the instance was deleted). */
    synchronized void delete() {
        endRun();
        try {
            Files.deleteIfExists(file);
            Files.deleteIfExists(previous);
        } catch (IOException e) {
            // a log left behind is harmless; the record is gone
        }
    }
}
