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
import dev.kiln.monitor.kvm.KvmException;
import org.apache.commons.cli.Options;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code kiln bench ...}: benchmarks that print numbers beside a baseline measured in the same run. */
final class BenchCommand {
    private final PrintStream out;
    private final PrintStream err;

    BenchCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /** Each benchmark's command line, for {@code kiln bench --help} and {@code kiln help}. */
    static final List<String> SYNTAXES = List.of(
            Boot.SYNTAX,
            syntax("restore"),
            CloneBench.SYNTAX,
            syntax("burst"),
            DensityBench.SYNTAX,
            ComputeBench.SYNTAX,
            ApiBench.SYNTAX,
            LuaBench.SYNTAX,
            SqliteBench.SYNTAX,
            dev.kiln.cluster.SchedulerBench.SYNTAX);

    int execute(String[] args) {
        if (args.length > 0 && List.of("--help", "-h", "help").contains(args[0])) {
            overview(out);
            return 0;
        }
        if (args.length == 0 || !List.of("boot", "restore", "clone", "burst", "density", "compute", "api", "lua", "sqlite", "cluster").contains(args[0])) {
            err.println(args.length == 0 ? "kiln bench: choose a benchmark: boot, restore, clone, burst, density, compute, api, lua, sqlite, cluster"
                    : "kiln bench: unknown benchmark '" + args[0] + "': choose boot, restore, clone, burst, density, compute, api, lua, sqlite or cluster");
            overview(err);
            return Main.EXIT_USAGE;
        }
        try {
            if (args[0].equals("burst")) return burst(Arrays.copyOfRange(args, 1, args.length));
            if (args[0].equals("density")) return new DensityBench(out, err).execute(Arrays.copyOfRange(args, 1, args.length));
            if (args[0].equals("lua")) return new LuaBench(out, err).execute(Arrays.copyOfRange(args, 1, args.length));
            if (args[0].equals("compute")) return new ComputeBench(out, err).execute(Arrays.copyOfRange(args, 1, args.length));
            if (args[0].equals("sqlite")) return new SqliteBench(out, err).execute(Arrays.copyOfRange(args, 1, args.length));
            if (args[0].equals("clone")) return new CloneBench(out, err).execute(Arrays.copyOfRange(args, 1, args.length));
            if (args[0].equals("cluster")) return new dev.kiln.cluster.SchedulerBench(out, err).execute(Arrays.copyOfRange(args, 1, args.length));
            if (args[0].equals("api")) return new ApiBench(out, err).execute(Arrays.copyOfRange(args, 1, args.length));
            if (args[0].equals("restore")) return new Restore(out, err).execute(Arrays.copyOfRange(args, 1, args.length));
            return new Boot(out, err).execute(Arrays.copyOfRange(args, 1, args.length));
        } catch (ImageException | KvmException | IOException | dev.kiln.monitor.vstate.SnapshotException e) {
            err.println("kiln bench " + args[0] + ": " + e.getMessage());
            return Main.EXIT_CANNOT_START;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 130;
        } catch (Exception e) {
            err.println("kiln bench " + args[0] + ": " + e);
            return Main.EXIT_CANNOT_START;
        }
    }

    private static void overview(PrintStream s) {
        s.println("usage:");
        for (String syntax : SYNTAXES) s.println("  " + syntax);
        s.println("Each benchmark prints its numbers beside a baseline measured in the same run;"
                + " 'kiln bench BENCHMARK --help' explains its options.");
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

    /**
     * How the benchmark's guests run, for the header of every benchmark: numbers taken natively and
     * emulated differ by orders of magnitude (pvm-native.md).
     */
    static String execution(Monitor monitor) {
        ExecutionMode wanted = ExecutionMode.requestedDefault();
        if (!monitor.pvmHost()) return "execution: native (hardware KVM)";
        return wanted == ExecutionMode.NATIVE
                ? "execution: native (kvm_pvm, native-execution page registered per vCPU; -Dkiln.execution=emulated to compare)"
                : "execution: emulated (kvm_pvm, every guest instruction in KVM's emulator; -Dkiln.execution=emulated)";
    }

    /**
     * Boot latency: N boots of one image in this JVM (create, first console byte, halt, teardown),
     * beside the C floor (a C program doing the least KVM work to run a guest to HLT) and the whole
     * {@code kiln run} process time.
     */
    static final class Boot {
        static final String SYNTAX = "kiln bench boot [-n N] [--warmup N] [--mem MiB] [--image PATH] [--process-runs N] [--plot DIR]";
        private final PrintStream out;
        private final PrintStream err;
        int n;
        int warmup;
        long memMiB;
        Path image;
        int processRuns;
        Path plotDir;

        Boot(PrintStream out, PrintStream err) {
            this.out = out;
            this.err = err;
        }

        int execute(String[] args) throws ImageException, IOException, InterruptedException {
            Options options = new Options()
                    .addOption(CommandLines.valued("n", null, "N", "boots to measure (default 200)"))
                    .addOption(CommandLines.valued(null, "warmup", "N", "boots run first and not counted (default 50)"))
                    .addOption(CommandLines.valued(null, "mem", "MiB", "guest memory: MiB, or 64M, 1G (default 2)"))
                    .addOption(CommandLines.valued(null, "image", "PATH", "image to boot (default guest/apps/helloworld/build/helloworld.hvt)"))
                    .addOption(CommandLines.valued(null, "process-runs", "N",
                            "whole 'kiln run' processes to time (default 20; 0 skips)"))
                    .addOption(plotOption())
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
                warmup = (int) CommandLines.longValue(cl, "warmup", 50, 0, 1_000_000);
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
            ExecutionMode mode = ExecutionMode.requestedDefault();
            boolean pvm;
            try (Monitor monitor = Monitor.open()) {
                pvm = monitor.pvmHost();
                out.println("  " + execution(monitor));
                InstanceSpec spec = new InstanceSpec(hvt, memMiB << 20, List.of(), OutputStream.nullOutputStream(), null);
                for (int i = -warmup; i < n; i++) {
                    long t0 = System.nanoTime();
                    Outcome o;
                    InstanceStats st;
                    try (Instance inst = monitor.create(spec)) {
                        o = inst.run();
                        st = inst.stats();
                    }
                    long t1 = System.nanoTime();
                    if (!(o instanceof Outcome.Halted h) || h.status() != 0) {
                        err.println("kiln bench boot: boot " + i + " ended badly: " + o.describe());
                        return 1;
                    }
                    if (i >= 0) {
                        total[i] = t1 - t0;
                        firstOutput[i] = st.firstOutputNanos();
                        create[i] = st.createNanos();
                        load[i] = st.loadNanos();
                        run[i] = st.runNanos();
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
            }
            Summary java = Summary.of(total);
            Summary first = Summary.of(firstOutput);
            out.println("  java in-JVM boot (create..teardown): " + java);
            out.println("  java create..first console byte:     " + first);
            out.println("    of which VM+memory+vCPU creation:  " + Summary.of(create));
            out.println("    of which image load + boot state:  " + Summary.of(load));
            out.println("    of which guest run (entry..HALT):  " + Summary.of(run));
            out.println("  java boot with a warm VM pool:       " + Summary.of(warmTotal)
                    + "   (VM creation done ahead by a background thread)");

            Summary floor = cFloor(home, n, false, false);
            // Like for like: the monitor parks one vCPU (ParkedVcpu) and, natively on kvm_pvm,
            // registers the native-execution page of each vCPU; the floor then does both too.
            boolean vif = pvm && mode == ExecutionMode.NATIVE;
            Summary parkedFloor = floor == null ? null : cFloor(home, n, true, vif);
            if (floor != null) {
                out.println("  C floor (create VM..HLT..teardown):  " + floor);
                double ratio = java.median / floor.median;
                out.printf(Locale.ROOT, "  ratio java/C floor (median): %.2fx   (%s)%n", ratio,
                        new Target("<= 2x and median <= 1.5 ms").verdict(ratio <= 2 && java.median <= 1.5e6));
            }
            if (parkedFloor != null) {
                // The monitor parks one vCPU (ParkedVcpu); the same trick in C is the like-for-like floor.
                out.println((vif ? "  C floor, parked vCPU + page (like for like): " : "  C floor, with a parked vCPU too:     ") + parkedFloor);
                double ratio = java.median / parkedFloor.median;
                out.printf(Locale.ROOT, "  ratio java/C floor like for like (median): %.2fx   (%s)%n", ratio,
                        new Target("<= 1.3x").verdict(ratio <= 1.3));
            }
            if (plotDir != null) {
                out.println("  plot: " + BenchPlots.latencyCdf(plotDir, "boot-latency.png",
                        "kiln bench boot: " + img.getFileName() + ", " + memMiB + " MiB, create..teardown",
                        List.of(new BenchPlots.Latencies("cold boot", total), new BenchPlots.Latencies("warm VM pool", warmTotal)),
                        floorQuantiles(floor, parkedFloor)));
            }
            if (processRuns > 0) {
                Path launcher = home.resolve("kiln");
                long[] proc = new long[processRuns];
                for (int i = 0; i < processRuns; i++) {
                    long t0 = System.nanoTime();
                    Process p = new ProcessBuilder(launcher.toString(), "run", "--mem=" + memMiB, img.toString())
                            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                            .redirectError(ProcessBuilder.Redirect.INHERIT).start();
                    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                        p.destroyForcibly();
                        err.println("kiln bench boot: '" + launcher + " run' failed");
                        return 1;
                    }
                    proc[i] = System.nanoTime() - t0;
                }
                Summary whole = Summary.of(proc);
                out.println("  whole 'kiln run' process:           " + whole + "   ("
                        + new Target("median <= 150 ms").verdict(whole.median <= 150e6) + ")");
            }
            return 0;
        }

        private static List<BenchPlots.Quantiles> floorQuantiles(Summary floor, Summary parkedFloor) {
            List<BenchPlots.Quantiles> q = new java.util.ArrayList<>();
            if (floor != null) q.add(new BenchPlots.Quantiles("C floor", floor));
            if (parkedFloor != null) q.add(new BenchPlots.Quantiles("C floor, parked vCPU", parkedFloor));
            return q;
        }

        /** Compiles and runs bench/kvm-floor/kvm_floor.c; null (with a note) when it cannot. */
        private Summary cFloor(Path home, int n, boolean parked, boolean vif) throws IOException, InterruptedException {
            Path src = home.resolve("bench/kvm-floor/kvm_floor.c");
            if (!Files.exists(src)) {
                out.println("  C floor: skipped, " + src + " not found");
                return null;
            }
            Path bin = Files.createTempDirectory("kiln-floor").resolve("kvm_floor");
            Process cc = new ProcessBuilder("gcc", "-O2", "-o", bin.toString(), src.toString()).inheritIO().start();
            if (cc.waitFor() != 0) {
                out.println("  C floor: skipped, gcc failed");
                return null;
            }
            List<String> cmd = new java.util.ArrayList<>(List.of(bin.toString(), Integer.toString(n)));
            if (parked) cmd.add("parked");
            if (vif) cmd.add("vif");
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String printed = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor();
            Files.deleteIfExists(bin);
            Files.deleteIfExists(bin.getParent());
            Matcher m = Pattern.compile("min_us=([0-9.]+) median_us=([0-9.]+) p99_us=([0-9.]+)").matcher(printed);
            if (p.exitValue() != 0 || !m.find()) {
                out.println("  C floor: failed: " + printed.strip());
                return null;
            }
            return new Summary(Double.parseDouble(m.group(1)) * 1e3, Double.parseDouble(m.group(2)) * 1e3,
                    Double.parseDouble(m.group(3)) * 1e3);
        }
    }

    /**
     * Burst and density: N idle guests (hvtcheck "idle") started at once in this JVM; prints the
     * time to the first and the last one up, then the host memory they hold (resident set growth
     * per instance, guest pages they touched included) while all are alive, then stops them.
     */
    private int burst(String[] args) throws ImageException, InterruptedException, IOException {
        CheckRun parsed = CheckRun.parse("burst", "Burst boot and density.", "instances", 1000, args, out, err);
        if (parsed.exit() != null) return parsed.exit();
        int n = parsed.n();
        Path img = parsed.image();
        HvtImage image = HvtImage.read(img);
        Monitor monitor = Monitor.open();
        boolean leftToExit = false;
        try {
            InstanceSpec idle = new InstanceSpec(image, 2L << 20, List.of("idle"), OutputStream.nullOutputStream(), null);
            // Warm-up: a small burst first, stopped and closed, so that the JIT has compiled the
            // start-up path (a long-lived host is in that state; the compiler threads would
            // otherwise take a core from the measured burst).
            dev.kiln.monitor.fleet.Burst warm = dev.kiln.monitor.fleet.Burst.start(monitor, idle, Math.min(n, 200),
                    i -> OutputStream.nullOutputStream(), 60, TimeUnit.SECONDS);
            for (Instance i : warm.instances()) i.close();
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
            Summary one = Summary.of(serial);
            long rssBefore = rssBytes();
            long cpuBefore = processCpuNanos();
            // KVM's cost per VM grows with the VMs alive: big bursts get a deadline to match
            long deadline = Math.max(120, n * 40L / 1000);
            dev.kiln.monitor.fleet.Burst b = dev.kiln.monitor.fleet.Burst.start(monitor, idle, n, i -> OutputStream.nullOutputStream(),
                    deadline, TimeUnit.SECONDS);
            long rssAfter = rssBytes();
            long cpuUsed = processCpuNanos() - cpuBefore;
            out.printf(Locale.ROOT, "kiln bench burst: %d idle %s instances (2 MiB each) in one JVM%n", n, img.getFileName());
            out.println("  " + execution(monitor));
            out.printf(Locale.ROOT, "  pacing: %d creator thread(s), %d instance(s) per turn, at most %d guests booting at once%n",
                    b.pacing().creators(), b.pacing().batch(), b.pacing().inFlight());
            double targetMs = burstTargetMillis(n);
            if (b.up() == n) {
                out.printf(Locale.ROOT, "  %s%n", new Target(String.format(Locale.ROOT,
                        "all %d up in <= %.0f ms (1,000 in 0.5 s, 10,000 in 20 s)", n, targetMs)).verdict(b.lastUpNanos() / 1e6 <= targetMs));
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
                out.println("  per instance, image load + boot state: " + Summary.of(made.stream().mapToLong(i -> i.stats().loadNanos()).toArray()));
                out.println("  per instance, vCPU thread CPU time:    " + Summary.of(made.stream().mapToLong(i -> i.stats().cpuNanos()).toArray()));
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

    /** Instances up against time since the burst started. */
    private static BenchPlots.Series upOverTime(dev.kiln.monitor.fleet.Burst b) {
        long[] up = b.instances().stream().mapToLong(Instance::upNanos).filter(u -> u != 0).sorted().toArray();
        long start = b.startNanos();
        List<BenchPlots.Point> points = new java.util.ArrayList<>(up.length + 1);
        points.add(new BenchPlots.Point(0, 0));
        for (int i = 0; i < up.length; i++) points.add(new BenchPlots.Point((up[i] - start) / 1e6, i + 1));
        return new BenchPlots.Series("instances up (of " + (b.instances().size() + b.refused() + b.late()) + " asked)", points);
    }

    /** This process's user + system CPU time so far (/proc/self/stat fields 14 and 15, in clock ticks of 10 ms). */
    static long processCpuNanos() throws IOException {
        String stat = Files.readAllLines(Path.of("/proc/self/stat")).getFirst();
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10_000_000L;
    }

    static long rssBytes() throws IOException {
        return procKiB("/proc/self/status", "VmRSS:");
    }

    /** A "Name:   N kB" line of a /proc file (status, meminfo), in bytes. */
    static long procKiB(String file, String name) throws IOException {
        for (String line : Files.readAllLines(Path.of(file))) {
            if (line.startsWith(name)) return Long.parseLong(line.replaceAll("[^0-9]", "")) << 10;
        }
        throw new IOException(file + " has no " + name + " line");
    }

    /**
     * Restore against fresh boot, in one JVM: the test guest (hvtcheck "count") is booted, paused
     * after its first line and snapshotted; then N fresh boots and N restores are timed from the
     * start of creation to the first console byte (for a restore: the first line it prints after
     * the snapshot point). Restores map the snapshot copy-on-write, as clones do.
     */
    static final class Restore {
        private final PrintStream out;
        private final PrintStream err;

        Restore(PrintStream out, PrintStream err) {
            this.out = out;
            this.err = err;
        }

        int execute(String[] args) throws ImageException, IOException, InterruptedException,
                dev.kiln.monitor.vstate.SnapshotException {
            CheckRun parsed = CheckRun.parse("restore", "Snapshot restore against fresh boot.", "boots and restores to measure",
                    100, args, out, err);
            if (parsed.exit() != null) return parsed.exit();
            int n = parsed.n();
            Path img = parsed.image();
            HvtImage image = HvtImage.read(img);
            Path snapFile = Files.createTempFile("kiln-bench", ".snap");
            try (Monitor monitor = Monitor.open()) {
                FirstByte first = new FirstByte();
                InstanceSpec spec = new InstanceSpec(image, 8L << 20, List.of("count", "100000000"), first, null);
                try (Instance i = monitor.create(spec)) {
                    i.start();
                    first.await();
                    i.pause();
                    i.snapshot(snapFile);
                }
                long[] fresh = new long[n];
                long[] restored = new long[n];
                try (dev.kiln.monitor.vstate.Snapshot snap = dev.kiln.monitor.vstate.Snapshot.open(snapFile)) {
                    for (int round = -10; round < n; round++) {
                        fresh[Math.max(round, 0)] = timeToFirstByte(monitor, () -> monitor.create(spec.withConsole(new FirstByte())));
                        restored[Math.max(round, 0)] = timeToFirstByte(monitor,
                                () -> monitor.restore(snap, spec.withConsole(new FirstByte())));
                    }
                }
                Summary f = Summary.of(fresh), r = Summary.of(restored);
                out.printf(Locale.ROOT, "kiln bench restore: %s, 8 MiB, %d of each in one JVM%n", img, n);
                out.println("  fresh boot, create..first console byte:    " + f);
                out.println("  restore (CoW map), create..first byte:     " + r);
                out.printf(Locale.ROOT, "  ratio restore/fresh (median): %.2fx   (%s)%n", r.median / f.median,
                        new Target("restore faster than a fresh boot").verdict(r.median < f.median));
                if (parsed.plotDir() != null) {
                    out.println("  plot: " + BenchPlots.latencyCdf(parsed.plotDir(), "restore-latency.png",
                            "kiln bench restore: " + img.getFileName() + ", 8 MiB, create..first console byte",
                            List.of(new BenchPlots.Latencies("fresh boot", fresh), new BenchPlots.Latencies("restore (CoW map)", restored)),
                            List.of()));
                }
            } finally {
                Files.deleteIfExists(snapFile);
            }
            return 0;
        }

        interface Maker {
            Instance make() throws Exception;
        }

        private static long timeToFirstByte(Monitor monitor, Maker maker) throws InterruptedException {
            long t0 = System.nanoTime();
            try (Instance i = maker.make()) {
                FirstByte console = (FirstByte) i.spec().console();
                i.start();
                long t = console.await() - t0;
                i.stop(dev.kiln.monitor.StopCause.REQUESTED);
                i.awaitOutcome();
                return t;
            } catch (InterruptedException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** A console that remembers when its first byte came. */
    static final class FirstByte extends OutputStream {
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

    /**
     * The command line of the benchmarks that run the hvtcheck test guest: {@code -n N},
     * {@code --image PATH} and {@code --plot DIR} (null: no charts). {@code exit} is set when the
     * command should end at once (help, or a usage error already reported).
     */
    record CheckRun(int n, Path image, Path plotDir, Integer exit) {
        static CheckRun parse(String bench, String description, String nHelp, int dflt, String[] args,
                              PrintStream out, PrintStream err) {
            Options options = new Options()
                    .addOption(CommandLines.valued("n", null, "N", nHelp + " (default " + dflt + ")"))
                    .addOption(CommandLines.valued(null, "image", "PATH", "the hvtcheck image (default guest/out/hvtcheck.hvt)"))
                    .addOption(plotOption())
                    .addOption(CommandLines.flag("help", "show this help"));
            try {
                ParsedLine cl = CommandLines.parse(options, args, false);
                if (cl.hasOption("help")) {
                    CommandLines.help(out, syntax(bench), description, options, "");
                    return new CheckRun(0, null, null, 0);
                }
                int n = (int) CommandLines.longValue(cl, "n", dflt, 1, 100_000);
                Path img = cl.hasOption("image") ? Path.of(cl.getOptionValue("image"))
                        : Path.of(System.getProperty("kiln.home", ".")).resolve("guest/out/hvtcheck.hvt");
                return new CheckRun(n, img, BenchPlots.directory(cl), null);
            } catch (UsageException e) {
                err.println("kiln bench " + bench + ": " + e.getMessage());
                err.println("usage: " + syntax(bench));
                return new CheckRun(0, null, null, Main.EXIT_USAGE);
            }
        }
    }

    static String syntax(String bench) {
        return "kiln bench " + bench + " [-n N] [--image PATH] [--plot DIR]";
    }

    static org.apache.commons.cli.Option plotOption() {
        return CommandLines.valued(null, "plot", "DIR", "also draw the results as PNG charts in DIR (created if missing)");
    }

    /** min / median / p99 of nanosecond samples, printed in milliseconds. */
    record Summary(double min, double median, double p99) {
        static Summary of(long[] nanos) {
            long[] s = nanos.clone();
            Arrays.sort(s);
            return new Summary(s[0], s[s.length / 2], s[Math.min(s.length - 1, (int) Math.ceil(s.length * 0.99) - 1)]);
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "min %.3f ms  median %.3f ms  p99 %.3f ms", min / 1e6, median / 1e6, p99 / 1e6);
        }
    }
}
