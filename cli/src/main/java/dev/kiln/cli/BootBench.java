package dev.kiln.cli;

import dev.kiln.cli.CommandLines.UsageException;
import dev.kiln.monitor.ExecutionMode;
import dev.kiln.monitor.Instance;
import dev.kiln.monitor.InstanceSpec;
import dev.kiln.monitor.InstanceStats;
import dev.kiln.monitor.Monitor;
import dev.kiln.monitor.Outcome;
import dev.kiln.monitor.image.HvtImage;
import dev.kiln.monitor.image.ImageException;
import org.apache.commons.cli.Options;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Boot latency: N boots of one image in this JVM (create, first console byte, halt, teardown),
 * beside the C floor (a C program doing the least KVM work to run a guest to HLT) and the whole
 * {@code kiln run} process time.
 */
final class BootBench {
    /** Rounds in which the JVM's boots and the C floor's take turns. */
    private static final int ROUNDS = 5;
    static final String SYNTAX = "kiln bench boot [-n N] [--warmup N] [--mem MiB] [--image PATH] [--process-runs N] [--plot DIR]";
    private final PrintStream out;
    private final PrintStream err;
    int n;
    int warmup;
    long memMiB;
    Path image;
    int processRuns;
    Path plotDir;

    BootBench(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    int execute(String[] args) throws ImageException, IOException, InterruptedException {
        Options options = new Options()
                .addOption(CommandLines.valued("n", null, "N", "boots to measure (default 200)"))
                .addOption(CommandLines.valued(null, "warmup", "N", "boots run first and not counted (default 500: the JIT has compiled the boot path by then)"))
                .addOption(CommandLines.valued(null, "mem", "MiB", "guest memory: MiB, or 64M, 1G (default 2)"))
                .addOption(CommandLines.valued(null, "image", "PATH", "image to boot (default guest/apps/helloworld/build/helloworld.hvt)"))
                .addOption(CommandLines.valued(null, "process-runs", "N",
                        "whole 'kiln run' processes to time (default 20; 0 skips)"))
                .addOption(BenchCommand.plotOption())
                .addOption(CommandLines.flag("help", "show this help"));
        try {
            ParsedLine cl = CommandLines.parse(options, args, false);
            if (cl.hasOption("help")) {
                CommandLines.help(out, SYNTAX, "Boot latency in one JVM, beside a C floor measured in the same run.",
                        options, "");
                return 0;
            }
            if (!cl.getArgList().isEmpty()) throw new UsageException("unexpected argument " + cl.getArgList().getFirst());
            n = (int) CommandLines.longValue(cl, "n", 200, 1, 1_000_000);
            // A host that boots guests all day runs the boot path compiled by C2; with 50 warm-up boots C2
            // was still compiling it during the measured ones (java/C floor 1.51-1.71x, 1.25-1.31x after 500).
            warmup = (int) CommandLines.longValue(cl, "warmup", 500, 0, 1_000_000);
            memMiB = CommandLines.mebibytes(cl, "mem", 2, 2, 4096);
            processRuns = (int) CommandLines.longValue(cl, "process-runs", 20, 0, 10_000);
            image = cl.hasOption("image") ? Path.of(cl.getOptionValue("image")) : null;
            plotDir = BenchPlots.directory(cl);
        } catch (UsageException e) {
            err.println("kiln bench boot: " + e.getMessage());
            err.println("usage: " + SYNTAX);
            return Main.EXIT_USAGE;
        }
        Path home = Path.of(System.getProperty("kiln.home", "."));
        Path img = image != null ? image : home.resolve("guest/apps/helloworld/build/helloworld.hvt");
        HvtImage hvt = HvtImage.read(img);
        out.printf(Locale.ROOT, "kiln bench boot: %s, %d MiB, %d boots (+%d warm-up) in one JVM%n",
                img, memMiB, n, warmup);

        long[] total = new long[n];
        long[] firstOutput = new long[n];
        long[] create = new long[n];
        long[] load = new long[n];
        long[] run = new long[n];
        long[] warmTotal = new long[n];
        long[] floorTotal = null, outTotal = null, likeTotal = null;
        ExecutionMode mode = ExecutionMode.requestedDefault();
        boolean vif;
        try (Monitor monitor = Monitor.open(); KvmFloor floor = KvmFloor.compile(home, out)) {
            // Like for like: the monitor parks one vCPU (ParkedVcpu) and, natively on kvm_pvm,
            // registers the native-execution page of each vCPU; the floor then does both too.
            vif = monitor.pvmHost() && mode == ExecutionMode.NATIVE;
            out.println("  " + BenchCommand.execution(monitor));
            InstanceSpec spec = new InstanceSpec(hvt, memMiB << 20, List.of(), OutputStream.nullOutputStream(), null);
            for (int i = 0; i < warmup; i++) {
                if (boot(monitor, spec, i - warmup) == null) return 1;
            }
            // The JVM's boots and the C floor's take turns, a round each, so that both see the
            // same host: on a shared machine the floor alone drifts by a third from run to run.
            if (floor != null) {
                outTotal = new long[n];
                likeTotal = new long[n];
            }
            int rounds = Math.min(ROUNDS, n);
            for (int r = 0; r < rounds; r++) {
                int from = n * r / rounds, to = n * (r + 1) / rounds;
                for (int i = from; i < to; i++) {
                    long t0 = System.nanoTime();
                    Booted b = boot(monitor, spec, i);
                    if (b == null) return 1;
                    total[i] = System.nanoTime() - t0 - b.statsNanos();
                    InstanceStats st = b.stats();
                    firstOutput[i] = st.firstOutputNanos();
                    create[i] = st.createNanos();
                    load[i] = st.loadNanos();
                    run[i] = st.runNanos();
                }
                if (likeTotal != null) {
                    long[] one = floor.boots(to - from, true, vif, null);
                    long[] like = one == null ? null : floor.boots(to - from, true, vif, img);
                    if (like == null) {
                        outTotal = likeTotal = null;
                    } else {
                        System.arraycopy(one, 0, outTotal, from, one.length);
                        System.arraycopy(like, 0, likeTotal, from, like.length);
                    }
                }
            }
            // The same boots again with VMs made ahead of time by a background thread.
            monitor.keepWarm(memMiB << 20, 4);
            for (int i = -warmup; i < n; i++) {
                long t0 = System.nanoTime();
                try (Instance inst = monitor.create(spec)) {
                    inst.run();
                }
                if (i >= 0) warmTotal[i] = System.nanoTime() - t0;
                Thread.sleep(1); // let the pool's thread make the next VM, as a host between requests would
            }
            monitor.close();
            // The plain floor once the monitor is closed: no vCPU of this JVM (not even the parked
            // one) may be alive then, or the floor would not pay for flipping KVM's static keys.
            if (floor != null) floorTotal = floor.boots(n, false, false, null);
        }
        LatencySummary java = LatencySummary.of(total);
        LatencySummary first = LatencySummary.of(firstOutput);
        out.println("  java in-JVM boot (create..teardown): " + java);
        out.println("  java create..first console byte:     " + first);
        out.println("    of which VM+memory+vCPU creation:  " + LatencySummary.of(create));
        out.println("    of which image load + boot state:  " + LatencySummary.of(load));
        out.println("    of which guest run (entry..HALT):  " + LatencySummary.of(run));
        out.println("  java boot with a warm VM pool:       " + LatencySummary.of(warmTotal)
                + "   (VM creation done ahead by a background thread)");

        LatencySummary floor = floorTotal == null ? null : LatencySummary.of(floorTotal);
        LatencySummary parkedFloor = outTotal == null ? null : LatencySummary.of(outTotal);
        LatencySummary imageFloor = likeTotal == null ? null : LatencySummary.of(likeTotal);
        if (floor != null) {
            out.println("  C floor (create VM..HLT..teardown):  " + floor);
            double ratio = java.median() / floor.median();
            out.printf(Locale.ROOT, "  ratio java/C floor (median): %.2fx   (%s)%n", ratio,
                    new Target("<= 2x and median <= 1.5 ms").verdict(ratio <= 2 && java.median() <= 1.5e6));
        }
        if (parkedFloor != null) {
            // The monitor parks one vCPU (ParkedVcpu) and registers the native-execution page: the
            // floor does both too, and runs a guest of one OUT.
            out.println((vif ? "  C floor, parked vCPU + page, one OUT: " : "  C floor, parked vCPU, one OUT:        ") + parkedFloor
                    + String.format(Locale.ROOT, "   (ratio %.2fx)", java.median() / parkedFloor.median()));
        }
        if (imageFloor != null) {
            // Like for like: the same, booting the same image to its HALT, its hypercalls answered
            // (hello's guest work, three exits and a dozen first touches, is no monitor's to save).
            out.println("  C floor, the same image booted from C (like for like): " + imageFloor
                    + String.format(Locale.ROOT, "   (both floors in %d rounds taking turns with the JVM's boots)", Math.min(ROUNDS, n)));
            double ratio = java.median() / imageFloor.median();
            out.printf(Locale.ROOT, "  ratio java/C floor like for like (median): %.2fx   (%s)%n", ratio,
                    new Target("<= 1.3x").verdict(ratio <= 1.3));
        }
        if (plotDir != null) {
            out.println("  plot: " + BenchPlots.latencyCdf(plotDir, "boot-latency.png",
                    "kiln bench boot: " + img.getFileName() + ", " + memMiB + " MiB, create..teardown",
                    List.of(new BenchPlots.Latencies("cold boot", total), new BenchPlots.Latencies("warm VM pool", warmTotal)),
                    floorQuantiles(floor, parkedFloor, imageFloor)));
        }
        if (processRuns > 0) {
            Path launcher = home.resolve("kiln");
            long[] proc = timeProcesses(processRuns, ProcessBuilder.Redirect.INHERIT,
                    launcher.toString(), "run", "--mem=" + memMiB, img.toString());
            // The same run's floor for any JVM-hosted monitor: a JVM that starts and ends at once,
            // with the launcher's GC and JIT options and the JDK's own class data archive.
            long[] jvmStarts = proc == null ? null : timeProcesses(processRuns, ProcessBuilder.Redirect.DISCARD,
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-XX:+UseSerialGC", "-XX:-UsePerfData", "-XX:TieredStopAtLevel=1", "-version");
            if (jvmStarts == null) return 1;
            LatencySummary whole = LatencySummary.of(proc);
            LatencySummary jvm = LatencySummary.of(jvmStarts);
            // Issue target: a whole 'kiln run' in <= 50 ms median (solo5-hvt takes ~6 ms).
            out.println("  whole 'kiln run' process:           " + whole + "   ("
                    + new Target("median <= 50 ms").verdict(whole.median() <= 50e6) + ")");
            out.println("  JVM floor ('java -version'):        " + jvm + "   (kiln run / floor, median: "
                    + String.format(Locale.ROOT, "%.2fx", (double) whole.median() / jvm.median()) + ")");
        }
        return 0;
    }

    /**
     * Wall time of {@code runs} whole processes of {@code command}, one after another, stdout
     * discarded; null, with the failure named on stderr, if one fails or takes over a minute.
     */
    private long[] timeProcesses(int runs, ProcessBuilder.Redirect stderr, String... command)
            throws IOException, InterruptedException {
        long[] times = new long[runs];
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            Process p = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(stderr).start();
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                err.println("kiln bench boot: '" + String.join(" ", command) + "' failed");
                return null;
            }
            times[i] = System.nanoTime() - t0;
        }
        return times;
    }

    private static List<BenchPlots.Quantiles> floorQuantiles(LatencySummary floor, LatencySummary parkedFloor, LatencySummary imageFloor) {
        List<BenchPlots.Quantiles> q = new java.util.ArrayList<>();
        if (floor != null) q.add(new BenchPlots.Quantiles("C floor", floor));
        if (parkedFloor != null) q.add(new BenchPlots.Quantiles("C floor, parked vCPU", parkedFloor));
        if (imageFloor != null) q.add(new BenchPlots.Quantiles("C floor, same image", imageFloor));
        return q;
    }

    /** One boot to HALT and teardown; its statistics, or null (with the reason on stderr) when it ended badly. */
    private Booted boot(Monitor monitor, InstanceSpec spec, int index) throws ImageException {
        try (Instance inst = monitor.create(spec)) {
            Outcome o = inst.run();
            if (!(o instanceof Outcome.Halted h) || h.status() != 0) {
                err.println("kiln bench boot: boot " + index + " ended badly: " + o.describe());
                return null;
            }
            long t = System.nanoTime();
            InstanceStats stats = inst.stats();
            return new Booted(stats, System.nanoTime() - t);
        }
    }

    /**
     * One boot's statistics, and how long reading them took: the benchmark's own instrumentation
     * (mincore over guest RAM, the TSC rate), taken out of the boot's time, as the C floor has none.
     */
    private record Booted(InstanceStats stats, long statsNanos) {}
}
