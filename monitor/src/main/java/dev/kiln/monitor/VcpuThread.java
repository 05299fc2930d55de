package dev.kiln.monitor;

/**
 * A platform thread that runs vCPU loops: made ahead of time and waiting for the instance it will
 * run, and, when it came from a {@link VcpuThreadPool}, handed back to it once that run ended, to
 * wait for the next. Making a thread maps and protects its stack and ending one unmaps it, and
 * every such change to the process's memory map calls every KVM VM's MMU notifier: with
 * thousands of VMs alive, a thread made or ended late costs many times one made before the VMs
 * exist, and one kept costs nothing. Outside this package it is only a handle: given to
 * {@link Instance#startOn}, or released.
 */
public final class VcpuThread {
    /** Asked when a run has ended: true when the thread was taken back to wait for another. */
    interface Recycler {
        boolean takeBack(VcpuThread thread);
    }

    private static final String IDLE_NAME = "kiln-vcpu-idle";
    /** The work that ends an idle thread. */
    private static final Runnable END = () -> { };

    private final Thread thread;
    /** Null: one run, then the thread ends (Burst's threads, kiln run's). */
    private final Recycler recycler;
    private Runnable next;   // guarded by this
    private String nextName; // guarded by this

    private VcpuThread(long stackBytes, Recycler recycler) {
        this.recycler = recycler;
        thread = Thread.ofPlatform().name(IDLE_NAME).stackSize(stackBytes).unstarted(this::serve);
        thread.start();
    }

    static VcpuThread make(long stackBytes) {
        return new VcpuThread(stackBytes, null);
    }

    static VcpuThread make(long stackBytes, Recycler recycler) {
        return new VcpuThread(stackBytes, recycler);
    }

    Thread thread() {
        return thread;
    }

    private void serve() {
        while (true) {
            Runnable work;
            String name;
            synchronized (this) {
                while (next == null) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        // an idle thread ends only by release()
                    }
                }
                work = next;
                name = nextName;
                next = null;
            }
            if (work == END) return;
            thread.setName(name); // from the thread itself, so the OS name follows (ps, top)
            work.run();
            thread.setName(IDLE_NAME);
            Thread.interrupted(); // nothing of this run may reach the next
            if (recycler == null || !recycler.takeBack(this)) return;
        }
    }

    /** Runs {@code loop} on this thread, named {@code name}; the thread must be idle. */
    synchronized void run(String name, Runnable loop) {
        if (next != null) throw new IllegalStateException("vCPU thread " + thread.getName() + " already has work");
        nextName = name;
        next = loop;
        notifyAll();
    }

    /** Lets an idle thread end. */
    public synchronized void release() {
        if (next == null) {
            next = END;
            notifyAll();
        }
    }
}
