package dev.kiln.cli;

import dev.kiln.monitor.Instance;
import dev.kiln.monitor.InstanceSpec;
import dev.kiln.monitor.Monitor;
import dev.kiln.monitor.image.HvtImage;
import dev.kiln.monitor.image.ImageException;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Burst and density: N idle guests (hvtcheck "idle") started at once in this JVM; prints the
 * time to the first and the last one up, then the host memory they hold (resident set growth
 * per instance, guest pages they touched included) while all are alive, then stops them.
 */
final class BurstBench {
    static final String SYNTAX = CheckRun.syntax("burst");
    /** The warm-up ends after a burst of 200 that kept the compilers busy for less than this. */
    private static final long WARM_JIT_MILLIS = 20;
    private static final int MAX_WARM_ROUNDS = 10;
    private final PrintStream out;
    private final PrintStream err;

    BurstBench(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    int execute(String[] args) throws ImageException, InterruptedException, IOException {
        CheckRun parsed = CheckRun.parse("burst", "Burst boot and density.", "instances", 1000, args, out, err);
        if (parsed.exit() != null) return parsed.exit();
        int n = parsed.n();
        Path img = parsed.image();
        HvtImage image = HvtImage.read(img);
        Monitor monitor = Monitor.open();
        boolean leftToExit = false;
        try {
            InstanceSpec idle = new InstanceSpec(image, 2L << 20, List.of("idle"), OutputStream.nullOutputStream(), null);
            // Warm-up: small bursts first, each stopped and closed, until the JIT compilers are
            // nearly idle through one (a long-lived host is in that state; the compiler threads
            // would otherwise take a core from the measured burst: 18% of the samples in one).
            java.lang.management.CompilationMXBean jit = java.lang.management.ManagementFactory.getCompilationMXBean();
            int warmRounds = 0;
            long jitMillis;
            do {
                long jit0 = jit.getTotalCompilationTime();
                dev.kiln.monitor.fleet.Burst warm = dev.kiln.monitor.fleet.Burst.start(monitor, idle, Math.min(n, 200),
                        i -> OutputStream.nullOutputStream(), 60, TimeUnit.SECONDS);
                for (Instance i : warm.instances()) i.close();
                jitMillis = jit.getTotalCompilationTime() - jit0;
                warmRounds++;
            } while (jitMillis > WARM_JIT_MILLIS && warmRounds < MAX_WARM_ROUNDS);
            // Baseline: the same guest, one at a time (request..first hypercall, then stopped).
            long[] serial = new long[Math.min(n, 50)];
            for (int k = 0; k < serial.length; k++) {
                long t0 = System.nanoTime();
                try (Instance one = monitor.create(idle)) {
                    one.start();
                    long u = one.upFuture().get(10, TimeUnit.SECONDS);
                    serial[k] = u - t0;
                } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                    throw new IllegalStateException("the baseline guest did not come up", e);
                }
            }
            LatencySummary one = LatencySummary.of(serial);
            // The same burst from C, the least any monitor could do on this host (bench/kvm-floor),
            // before this JVM's burst so that neither shares the cores with the other.
            double floorMillis = -1, sharedFloorMillis = -1;
            try (KvmFloor floor = KvmFloor.compile(Path.of(System.getProperty("kiln.home", ".")), out)) {
                boolean vif = monitor.pvmHost() && dev.kiln.monitor.ExecutionMode.requestedDefault() == dev.kiln.monitor.ExecutionMode.NATIVE;
                if (floor != null) {
                    sharedFloorMillis = floor.burstMillis(n, vif, true);
                    floorMillis = floor.burstMillis(n, vif, false);
                }
            }
            long rssBefore = ProcessUsage.rssBytes();
            long cpuBefore = ProcessUsage.cpuNanos();
            // KVM's cost per VM grows with the VMs alive: big bursts get a deadline to match
            long deadline = Math.max(120, n * 40L / 1000);
            dev.kiln.monitor.fleet.Burst b = dev.kiln.monitor.fleet.Burst.start(monitor, idle, n, i -> OutputStream.nullOutputStream(),
                    deadline, TimeUnit.SECONDS);
            long rssAfter = ProcessUsage.rssBytes();
            long cpuUsed = ProcessUsage.cpuNanos() - cpuBefore;
            out.printf(Locale.ROOT, "kiln bench burst: %d idle %s instances (2 MiB each) in one JVM%n", n, img.getFileName());
            out.println("  " + BenchCommand.execution(monitor));
            out.printf(Locale.ROOT, "  warm-up: %d burst(s) of %d, the last with %d ms of JIT compilation%n", warmRounds, Math.min(n, 200), jitMillis);
            out.printf(Locale.ROOT, "  pacing: %d creator thread(s), %d instance(s) per turn, at most %d guests booting at once%n",
                    b.pacing().creators(), b.pacing().batch(), b.pacing().inFlight());
            double targetMs = burstTargetMillis(n);
            if (b.up() == n) {
                out.printf(Locale.ROOT, "  %s%n", new Target(String.format(Locale.ROOT,
                        "all %d up in <= %.0f ms (1,000 in 0.5 s, 10,000 in 20 s)", n, targetMs)).verdict(b.lastUpNanos() / 1e6 <= targetMs));
            }
            if (sharedFloorMillis > 0) {
                // Like for like: Kiln's idle guests hold no thread once asleep, and a few pooled
                // threads boot them, as the creators of this floor run each guest to its first exit.
                out.printf(Locale.ROOT, "  C floor, the same %d guests up at once from C without a thread per guest (the creators run each"
                        + " to its first exit): %.1f ms   (java/C floor: %.2fx)%n", n, sharedFloorMillis, b.lastUpNanos() / 1e6 / sharedFloorMillis);
            }
            if (floorMillis > 0) {
                out.printf(Locale.ROOT, "  C floor with a thread per vCPU (VMs first): %.1f ms%n", floorMillis);
            }
            out.printf(Locale.ROOT, "  up: %d of %d (refused %d, not started within %d s: %d); first up after %.1f ms, last after %.1f ms%n",
                    b.up(), n, b.refused(), deadline, b.late(), b.firstUpNanos() / 1e6, b.lastUpNanos() / 1e6);
            if (b.firstFailure() != null) {
                out.println("  first refusal: " + b.firstFailure());
                if (b.firstFailure().contains("EMFILE")) {
                    out.println("  each instance holds one open file: raise the limit (ulimit -n) for bursts this big");
                }
                long maps = Files.readAllLines(Path.of("/proc/self/maps")).size();
                // readAllLines, not readString: on this sysctl file readString returns a truncated value
                long maxMaps = Long.parseLong(Files.readAllLines(Path.of("/proc/sys/vm/max_map_count")).getFirst().strip());
                if (maps > maxMaps * 9 / 10) {
                    out.printf(Locale.ROOT, "  the process holds %d memory mappings of vm.max_map_count=%d (about 6 per instance):"
                            + " raise it (sysctl -w vm.max_map_count=262144) for bursts this big%n", maps, maxMaps);
                }
            }
            out.printf(Locale.ROOT, "  baseline, one at a time (request..up): %s -> %d in series would take %.0f ms; the burst took %.0f ms (%.1fx)%n",
                    one, n, one.median() * n / 1e6, b.lastUpNanos() / 1e6, one.median() * n / Math.max(1, b.lastUpNanos()));
            out.printf(Locale.ROOT, "  process CPU time during the burst: %.0f ms (%.2f ms per instance)%n", cpuUsed / 1e6,
                    cpuUsed / 1e6 / Math.max(1, b.instances().size()));
            List<Instance> made = b.instances();
            if (!made.isEmpty()) {
                out.println("  per instance, image load + boot state: " + LatencySummary.of(made.stream().mapToLong(i -> i.stats().loadNanos()).toArray()));
                out.println("  per instance, vCPU thread CPU time:    " + LatencySummary.of(made.stream().mapToLong(i -> i.stats().cpuNanos()).toArray()));
            }
            // The target is on the host's own overhead: what each guest touched of its RAM is its
            // own (the statistic mincore gives) and is taken out before comparing.
            double perInstanceKiB = (rssAfter - rssBefore) / 1024.0 / Math.max(1, b.instances().size());
            double guestKiB = made.stream().mapToLong(i -> i.stats().residentBytes()).average().orElse(0) / 1024.0;
            out.printf(Locale.ROOT, "  host memory: %.0f KiB resident per live instance, of which %.0f KiB guest pages touched   (%s)%n",
                    perInstanceKiB, guestKiB, new Target("< 600 KiB beyond the guest's pages").verdict(perInstanceKiB - guestKiB < 600));
            if (parsed.plotDir() != null && b.up() > 0) {
                out.println("  plot: " + BenchPlots.xy(parsed.plotDir(), "burst-up.png",
                        "kiln bench burst: " + n + " idle " + img.getFileName() + " instances",
                        "ms since the burst started", "instances up", List.of(upOverTime(b)), BenchPlots.Joint.STEPS));
            }
            if (b.instances().size() > 2000) {
                // Stopping and closing guests one by one costs O(VMs) each: every thread stack or
                // guest memory unmapped calls every VM's MMU notifier. The process's exit tears
                // them all down at once (exit_mmap releases each notifier once).
                leftToExit = true;
                out.printf(Locale.ROOT, "  leaving the %d guests to be torn down by this process's exit%n", b.instances().size());
                return 0;
            }
            long t0 = System.nanoTime();
            for (Instance i : b.instances()) i.stop(dev.kiln.monitor.StopCause.REQUESTED);
            for (Instance i : b.instances()) i.awaitOutcome();
            for (Instance i : b.instances()) i.close();
            out.printf(Locale.ROOT, "  stopped and closed them one by one in %.0f ms%n", (System.nanoTime() - t0) / 1e6);
        } finally {
            if (!leftToExit) monitor.close();
        }
        return 0;
    }

    /**
     * The burst target for {@code n} guests (issue 8): 1,000 up in 0.5 s, 10,000 in 20 s; linear
     * between the two, and proportional below 1,000.
     */
    static double burstTargetMillis(int n) {
        if (n <= 1000) return 500.0 * n / 1000;
        if (n >= 10_000) return 20_000.0 * n / 10_000;
        return 500 + (n - 1000) * (20_000.0 - 500) / 9000;
    }

    /** Instances up against time since the burst started. */
    private static BenchPlots.Series upOverTime(dev.kiln.monitor.fleet.Burst b) {
        long[] up = b.instances().stream().mapToLong(Instance::upNanos).filter(u -> u != 0).sorted().toArray();
        long start = b.startNanos();
        List<BenchPlots.Point> points = new java.util.ArrayList<>(up.length + 1);
        points.add(new BenchPlots.Point(0, 0));
        for (int i = 0; i < up.length; i++) points.add(new BenchPlots.Point((up[i] - start) / 1e6, i + 1));
        return new BenchPlots.Series("instances up (of " + (b.instances().size() + b.refused() + b.late()) + " asked)", points);
    }
}
