package dev.kiln.monitor;

import java.util.concurrent.CompletableFuture;

/**
 * A vCPU thread made ahead of time, waiting for the instance it will run. Making a thread maps
 * and protects its stack, and every such change to the process's memory map calls every KVM VM's
 * MMU notifier: with thousands of VMs alive, a thread made late costs many times one made before
 * the VMs exist. A burst therefore makes its threads first ({@link Instance#reserveThread}). Outside
 * this package it is only a handle: given to {@link Instance#startOn}, or released.
 */
public final class VcpuThread {
    private final CompletableFuture<Runnable> work = new CompletableFuture<>();
    private final Thread thread;
    private volatile String name;

    private VcpuThread(long stackBytes) {
        thread = Thread.ofPlatform().name("kiln-vcpu-idle").stackSize(stackBytes).unstarted(() -> {
            Runnable r = work.join();
            if (r == null) return;
            Thread.currentThread().setName(name); // from the thread itself, so the OS name follows (ps, top)
            r.run();
        });
        thread.start();
    }

    static VcpuThread make(long stackBytes) {
        return new VcpuThread(stackBytes);
    }

    Thread thread() {
        return thread;
    }

    /** Runs {@code loop} on this thread, named {@code name}. */
    void run(String name, Runnable loop) {
        this.name = name;
        work.complete(loop);
    }

    /** Lets an unused thread end. */
    public void release() {
        work.complete(null);
    }
}
