package dev.kiln.monitor;

import java.util.ArrayDeque;

/**
 * vCPU threads made ahead for a monitor that starts instances one by one for a long time (a
 * daemon), and kept: a thread whose run ended waits here for the next instance instead of ending,
 * while fewer than the number reserved wait. So threads are made before any VM exists and
 * never ended behind live VMs, where each would cost milliseconds of MMU-notifier calls
 * ({@link VcpuThread}); a create/delete churn reuses them. A monitor that reserves none keeps
 * none: each run's thread ends with it.
 *
 * <p>Guests asleep without a thread (in POLL, see {@link Instance}) count too: one more thread
 * is kept for each, so the one its wake-up takes is waiting, not made behind the live VMs. Yet
 * only as many exist as guests were awake at once: a thousand guests that boot eight at a time
 * and then sleep run on eight threads or so.
 */
final class VcpuThreadPool {
    private final long stackBytes;
    private final ArrayDeque<VcpuThread> idle = new ArrayDeque<>(); // guarded by this
    /** How many idle threads are kept: the number reserved so far. */
    private int keep;          // guarded by this
    /** Guests asleep without a thread: each may keep one more idle. */
    private int asleep;        // guarded by this
    private boolean closed;    // guarded by this

    VcpuThreadPool(long stackBytes) {
        this.stackBytes = stackBytes;
    }

    /** Makes {@code count} threads now and keeps that many more idle from now on. */
    void reserve(int count) {
        if (count < 0) throw new IllegalArgumentException("cannot reserve " + count + " vCPU threads");
        for (int i = 0; i < count; i++) {
            VcpuThread t = VcpuThread.make(stackBytes, this::takeBack);
            synchronized (this) {
                if (closed) {
                    t.release();
                    return;
                }
                keep++;
                idle.add(t);
            }
        }
    }

    /** An idle thread, or null when none waits. */
    synchronized VcpuThread take() {
        return idle.poll();
    }

    /**
     * A thread for a run that found none idle: one that comes back here after it, if there is room
     * then (the run ends later, when the pool may have emptied).
     */
    VcpuThread make() {
        return VcpuThread.make(stackBytes, this::takeBack);
    }

    private synchronized boolean takeBack(VcpuThread t) {
        if (closed || idle.size() >= keep + asleep) return false;
        idle.add(t);
        return true;
    }

    /** {@code delta} more (or fewer) guests asleep without a thread. */
    synchronized void asleep(int delta) {
        asleep += delta;
    }

    synchronized int idleCount() {
        return idle.size();
    }

    /** Lets every idle thread end; a run that ends later ends its thread. */
    void close() {
        ArrayDeque<VcpuThread> ending;
        synchronized (this) {
            closed = true;
            ending = new ArrayDeque<>(idle);
            idle.clear();
        }
        for (VcpuThread t : ending) t.release();
    }
}
