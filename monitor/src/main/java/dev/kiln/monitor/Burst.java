package dev.kiln.monitor;

import dev.kiln.monitor.image.ImageException;

import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * Starts many instances of one image at once and reports when the first and the last were up
 * (made their first hypercall). Creation is paced by the host's cores: as many creators as cores
 * build VMs in parallel, and each started guest runs on its own vCPU thread; an instance the
 * monitor's budget cannot admit is counted as refused, not half-made.
 *
 * @param instances    the instances started, in the order they were created
 * @param refused      instances not admitted (memory budget), or that failed to be created
 * @param firstUpNanos from the start of the burst to the first instance up
 * @param lastUpNanos  from the start of the burst to the last instance up (or to the deadline)
 * @param up           instances that were up by the deadline
 */
public record Burst(List<Instance> instances, int refused, long firstUpNanos, long lastUpNanos, int up) {

    /**
     * @param consoles one console per instance index
     * @param timeout  how long to wait for every instance to be up
     */
    public static Burst start(Monitor monitor, InstanceSpec spec, int count, IntFunction<OutputStream> consoles,
                              long timeout, TimeUnit unit) throws InterruptedException {
        if (count < 1) throw new IllegalArgumentException("count must be at least 1");
        int creators = Math.max(1, Runtime.getRuntime().availableProcessors());
        List<Instance> started = Collections.synchronizedList(new ArrayList<>(count));
        long t0 = System.nanoTime();
        ExecutorService pool = Executors.newFixedThreadPool(creators);
        List<Future<?>> jobs = new ArrayList<>(count);
        int[] refused = {0};
        for (int i = 0; i < count; i++) {
            int index = i;
            jobs.add(pool.submit(() -> {
                try {
                    Instance inst = monitor.create(spec.withConsole(consoles.apply(index)));
                    inst.start();
                    started.add(inst);
                } catch (ImageException | RuntimeException e) { // refused by the budget, or failed: counted
                    synchronized (refused) {
                        refused[0]++;
                    }
                }
            }));
        }
        for (Future<?> f : jobs) {
            try {
                f.get();
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException(e.getCause());
            }
        }
        pool.shutdown();
        long deadline = t0 + unit.toNanos(timeout);
        long first = Long.MAX_VALUE, last = 0;
        int up = 0;
        List<Instance> all;
        synchronized (started) {
            all = List.copyOf(started);
        }
        for (Instance inst : all) {
            while (inst.upNanos() == 0 && inst.state() == Instance.State.RUNNING && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            long u = inst.upNanos();
            if (u != 0) {
                up++;
                first = Math.min(first, u - t0);
                last = Math.max(last, u - t0);
            }
        }
        return new Burst(all, refused[0], first == Long.MAX_VALUE ? -1 : first, last, up);
    }
}
