package dev.kiln.monitor;

import dev.kiln.monitor.image.ImageException;

import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

/**
 * Starts many instances of one image at once and reports when the first and the last were up
 * (made their first hypercall). A {@link Pacing} plan, from the image's size and the host's free
 * cores, says how many threads create VMs, how many instances each takes at a time, and how many
 * started guests may be booting at once (booting guests and creators share the cores: past a
 * point, more guests booting only slows the creators). An instance the monitor's budget cannot
 * admit is counted as refused, not half-made.
 *
 * @param instances    the instances started, in the order they were created
 * @param refused      instances not admitted (memory budget), or that failed to be created
 * @param startNanos   {@link System#nanoTime()} when the burst began
 * @param firstUpNanos from the start of the burst to the first instance up
 * @param lastUpNanos  from the start of the burst to the last instance up (or to the deadline)
 * @param up           instances that were up by the deadline
 * @param pacing       the plan the burst followed
 */
public record Burst(List<Instance> instances, int refused, long startNanos, long firstUpNanos, long lastUpNanos, int up,
                    Pacing pacing) {

    /**
     * @param creators  threads creating instances in parallel
     * @param batch     instances a creator takes per turn (small images: more per turn)
     * @param inFlight  started guests allowed to be booting (not yet up) at once
     */
    public record Pacing(int creators, int batch, int inFlight) {
        public Pacing {
            if (creators < 1 || batch < 1 || inFlight < 1) throw new IllegalArgumentException("pacing values must be >= 1");
        }

        /**
         * The plan for this host: one creator per free core (cores minus the 1-minute load
         * average, at least one); a batch of instances worth about 1 MiB of image to load per
         * turn; and four booting guests per core, so that guests that spin at boot cannot starve
         * the creators.
         */
        public static Pacing forHost(long imageBytes) {
            int cores = Runtime.getRuntime().availableProcessors();
            int free = Math.max(1, (int) Math.round(cores - loadAverage()));
            int batch = (int) Math.max(1, Math.min(32, (1L << 20) / Math.max(1, imageBytes)));
            return new Pacing(free, batch, 4 * cores);
        }

        private static double loadAverage() {
            try {
                String s = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg"));
                return Double.parseDouble(s.substring(0, s.indexOf(' ')));
            } catch (java.io.IOException | RuntimeException e) {
                return 0;
            }
        }
    }

    /** {@link #start(Monitor, InstanceSpec, int, IntFunction, long, TimeUnit, Pacing)} with the host's plan. */
    public static Burst start(Monitor monitor, InstanceSpec spec, int count, IntFunction<OutputStream> consoles,
                              long timeout, TimeUnit unit) throws InterruptedException {
        return start(monitor, spec, count, consoles, timeout, unit, Pacing.forHost(spec.image().bytes().length));
    }

    /**
     * @param consoles one console per instance index
     * @param timeout  how long to wait for every instance to be up
     */
    public static Burst start(Monitor monitor, InstanceSpec spec, int count, IntFunction<OutputStream> consoles,
                              long timeout, TimeUnit unit, Pacing pacing) throws InterruptedException {
        if (count < 1) throw new IllegalArgumentException("count must be at least 1");
        long t0 = System.nanoTime();
        long deadline = t0 + unit.toNanos(timeout);
        Instance[] made = new Instance[count];
        AtomicInteger next = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        Semaphore booting = new Semaphore(pacing.inFlight());
        ExecutorService pool = Executors.newFixedThreadPool(pacing.creators(), r -> {
            Thread t = new Thread(r, "kiln-burst-creator");
            t.setDaemon(true);
            return t;
        });
        List<Future<?>> creators = new ArrayList<>();
        for (int c = 0; c < pacing.creators(); c++) {
            creators.add(pool.submit(() -> {
                while (true) {
                    int from = next.getAndAdd(pacing.batch());
                    if (from >= count) return null;
                    for (int index = from; index < Math.min(count, from + pacing.batch()); index++) {
                        long left = deadline - System.nanoTime();
                        if (left <= 0 || !booting.tryAcquire(left, TimeUnit.NANOSECONDS)) {
                            refused.incrementAndGet();
                            continue;
                        }
                        try {
                            Instance inst = monitor.create(spec.withConsole(consoles.apply(index)));
                            inst.upFuture().whenComplete((u, e) -> booting.release());
                            inst.start();
                            made[index] = inst;
                        } catch (ImageException | RuntimeException e) { // refused by the budget, or failed: counted
                            booting.release();
                            refused.incrementAndGet();
                        }
                    }
                }
            }));
        }
        try {
            for (Future<?> f : creators) f.get();
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        } finally {
            pool.shutdown();
        }
        List<Instance> all = new ArrayList<>(count);
        for (Instance i : made) if (i != null) all.add(i);
        long first = Long.MAX_VALUE, last = 0;
        int up = 0;
        for (Instance inst : all) {
            long u;
            try {
                u = inst.upFuture().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException | ExecutionException e) {
                u = 0;
            }
            if (u != 0) {
                up++;
                first = Math.min(first, u - t0);
                last = Math.max(last, u - t0);
            }
        }
        return new Burst(List.copyOf(all), refused.get(), t0, first == Long.MAX_VALUE ? -1 : first, last, up, pacing);
    }
}
