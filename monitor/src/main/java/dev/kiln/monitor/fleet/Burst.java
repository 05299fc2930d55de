package dev.kiln.monitor.fleet;

import dev.kiln.monitor.Instance;
import dev.kiln.monitor.InstanceSpec;
import dev.kiln.monitor.Monitor;
import dev.kiln.monitor.PreparedVm;
import dev.kiln.monitor.VcpuThread;
import dev.kiln.monitor.image.ImageException;
import dev.kiln.monitor.kvm.Vm;

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
 * @param late         instances not started because the deadline passed first
 * @param firstFailure why the first refused instance could not be made (null: none was refused)
 * @param startNanos   {@link System#nanoTime()} when the burst began
 * @param firstUpNanos from the start of the burst to the first instance up
 * @param lastUpNanos  from the start of the burst to the last instance up (or to the deadline)
 * @param up           instances that were up by the deadline
 * @param pacing       the plan the burst followed
 */
public record Burst(List<Instance> instances, int refused, int late, String firstFailure, long startNanos, long firstUpNanos, long lastUpNanos, int up,
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
         * The plan for this host: one creator per core that is idle now (sampled from
         * /proc/stat over 20 ms; at least one); a batch of instances worth about 1 MiB of image
         * to load per turn; and four booting guests per core, so that guests that spin at boot
         * cannot starve the creators.
         */
        public static Pacing forHost(long imageBytes) {
            int cores = Runtime.getRuntime().availableProcessors();
            int free = Math.max(1, (int) Math.round(cores * idleFraction()));
            int batch = (int) Math.max(1, Math.min(32, (1L << 20) / Math.max(1, imageBytes)));
            return new Pacing(Integer.getInteger("kiln.burst.creators", free), Integer.getInteger("kiln.burst.batch", batch),
                    Integer.getInteger("kiln.burst.inflight", 4 * cores));
        }

        /** The share of CPU time the host spent idle over a short sample (1.0 when unknown). */
        private static double idleFraction() {
            try {
                long[] a = cpuTimes();
                Thread.sleep(20);
                long[] b = cpuTimes();
                long total = b[0] - a[0], idle = b[1] - a[1];
                return total <= 0 ? 1.0 : Math.min(1.0, (double) idle / total);
            } catch (java.io.IOException | RuntimeException e) {
                return 1.0;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return 1.0;
            }
        }

        /** {total, idle + iowait} jiffies of all CPUs, from the first line of /proc/stat. */
        private static long[] cpuTimes() throws java.io.IOException {
            String line = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/stat")).getFirst();
            String[] f = line.trim().split("\\s+");
            long total = 0;
            for (int i = 1; i < f.length; i++) total += Long.parseLong(f[i]);
            return new long[] {total, Long.parseLong(f[4]) + Long.parseLong(f[5])};
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
        AtomicInteger refused = new AtomicInteger();
        AtomicInteger late = new AtomicInteger();
        java.util.concurrent.atomic.AtomicReference<String> failure = new java.util.concurrent.atomic.AtomicReference<>();
        ExecutorService pool = Executors.newFixedThreadPool(pacing.creators(), r -> {
            Thread t = new Thread(r, "kiln-burst-creator");
            t.setDaemon(true);
            return t;
        });
        try {
            // 1. Admission for all first: a refused instance costs nothing.
            int admitted = 0;
            for (int i = 0; i < count; i++) {
                try {
                    monitor.checkAndAdmit(spec);
                    admitted++;
                } catch (ImageException | RuntimeException e) {
                    failure.compareAndSet(null, e.getMessage());
                    refused.incrementAndGet();
                }
            }
            VcpuThread[] threads = new VcpuThread[admitted];
            Vm[] vms = new Vm[admitted];
            PreparedVm[] prepared = new PreparedVm[admitted];
            Instance[] made = new Instance[admitted];
            boolean[] givenBack = new boolean[admitted]; // createAdmitted failed and released the memory itself
            boolean[] tooLate = new boolean[admitted];
            Semaphore booting = new Semaphore(pacing.inFlight());
            // Guests that idle on time alone sleep without a thread once up: the monitor's pool,
            // made now before any VM, serves those booting at once (and the creators' slack).
            // Others keep a thread each, made per group below.
            boolean shared = spec.idlesWithoutThread();
            if (shared) monitor.reserveVcpuThreads(Math.max(0, pacing.inFlight() + pacing.creators() - monitor.spareVcpuThreads()));
            // A head group goes through every step first, so that the first guests are up within
            // milliseconds instead of after the whole burst is prepared; the rest follow in steps.
            // The head is kept small: its mappings are what each later KVM_CREATE_VM must walk.
            int head = Math.min(admitted, 2 * pacing.inFlight());
            for (int[] range : new int[][] {{0, head}, {head, admitted}}) {
                int from = range[0], to = range[1];
                if (from == to) continue;
                // 2. The vCPU threads, before any VM of this group exists (see VcpuThread: each
                //    thread's stack mapping would otherwise call every VM's MMU notifier).
                if (!shared) inParallel(pool, pacing, failure, from, to, index -> threads[index] = Instance.reserveThread());
                // 3. The VMs, before any guest memory or vCPU of this group exists: KVM_CREATE_VM
                //    registers an MMU notifier, which walks every memory mapping of the process
                //    (mm_take_all_locks), so a VM made behind thousands of guest, kvm_run and
                //    thread-stack mappings costs ten times one made first.
                inParallel(pool, pacing, failure, from, to, index -> vms[index] = monitor.createVm());
                // 4. Memory, slot and vCPU for each, still before any guest of this group runs.
                inParallel(pool, pacing, failure, from, to, index -> {
                    if (vms[index] != null) prepared[index] = monitor.prepare(vms[index], spec);
                });
                // 5. Load and start, with at most inFlight guests booting at once.
                inParallel(pool, pacing, failure, from, to, index -> {
                    if (prepared[index] == null) return;
                    long left = deadline - System.nanoTime();
                    if (left <= 0 || !booting.tryAcquire(left, TimeUnit.NANOSECONDS)) {
                        prepared[index].close();
                        tooLate[index] = true;
                        return;
                    }
                    try {
                        Instance inst = monitor.createAdmitted(spec.withConsole(consoles.apply(index)), prepared[index]);
                        inst.upFuture().whenComplete((u, e) -> booting.release());
                        if (threads[index] != null) {
                            inst.startOn(threads[index]);
                            threads[index] = null;
                        } else {
                            inst.start();
                        }
                        made[index] = inst;
                    } catch (ImageException | RuntimeException e) {
                        failure.compareAndSet(null, e.getMessage());
                        givenBack[index] = true;
                        booting.release();
                    }
                });
            }
            for (VcpuThread t : threads) if (t != null) t.release(); // unused: let them end
            List<Instance> all = new ArrayList<>(admitted);
            for (int i = 0; i < admitted; i++) {
                if (made[i] != null) {
                    all.add(made[i]);
                } else {
                    if (!givenBack[i]) monitor.unadmit(spec);
                    (tooLate[i] ? late : refused).incrementAndGet();
                }
            }
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
            return new Burst(List.copyOf(all), refused.get(), late.get(), refused.get() == 0 ? null : failure.get(), t0, first == Long.MAX_VALUE ? -1 : first, last, up, pacing);
        } finally {
            pool.shutdown();
        }
    }

    /** A step of the burst for one instance index; a failure leaves that index empty. */
    private interface Step {
        void run(int index) throws Exception;
    }

    /** Runs {@code step} for indexes [first, n) on the creators, {@code batch} indexes per turn, and waits. */
    private static void inParallel(ExecutorService pool, Pacing pacing, java.util.concurrent.atomic.AtomicReference<String> failure,
                                   int first, int n, Step step) throws InterruptedException {
        AtomicInteger next = new AtomicInteger(first);
        List<Future<?>> creators = new ArrayList<>();
        for (int c = 0; c < pacing.creators(); c++) {
            creators.add(pool.submit(() -> {
                for (int from; (from = next.getAndAdd(pacing.batch())) < n; ) {
                    for (int index = from; index < Math.min(n, from + pacing.batch()); index++) {
                        try {
                            step.run(index);
                        } catch (InterruptedException e) {
                            throw e;
                        } catch (Exception | OutOfMemoryError e) {
                            // this index stays empty and is counted as refused; the first reason is kept
                            failure.compareAndSet(null, e.getMessage() != null ? e.getMessage() : e.toString());
                        }
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : creators) {
            try {
                f.get();
            } catch (ExecutionException e) {
                throw new IllegalStateException(e.getCause());
            }
        }
    }
}
