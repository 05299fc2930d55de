package dev.kiln.cli;

import java.io.OutputStream;

/** A console that remembers when its first byte came. */
final class FirstByte extends OutputStream {
    private long at;

    @Override
    public synchronized void write(int b) {
        mark();
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
        mark();
    }

    private void mark() {
        if (at == 0) {
            at = System.nanoTime();
            notifyAll();
        }
    }

    synchronized long await() throws InterruptedException {
        long end = System.nanoTime() + 30_000_000_000L;
        while (at == 0 && System.nanoTime() < end) wait(100);
        if (at == 0) throw new IllegalStateException("no console output in 30 s");
        return at;
    }
}
