package dev.kiln.cli;

import dev.kiln.cli.CommandLines.UsageException;
import dev.kiln.monitor.Instance;
import dev.kiln.monitor.InstanceSpec;
import dev.kiln.monitor.Monitor;
import dev.kiln.monitor.Outcome;
import dev.kiln.monitor.WatchedConsole;
import dev.kiln.monitor.image.HvtImage;
import dev.kiln.monitor.image.ImageException;
import dev.kiln.monitor.vstate.Snapshot;
import dev.kiln.monitor.vstate.SnapshotException;
import org.apache.commons.cli.Options;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * {@code kiln bench clone}: how soon a copy-on-write clone of a snapshot runs its first instruction,
 * beside a fresh boot of the same image measured in the same run. "First instruction" is the
 * moment the vCPU thread enters KVM_RUN for the first time (the guest's next instruction runs
 * right after); the clock starts when the host asks for the instance.
 */
final class CloneBench {
    static final String SYNTAX = "kiln bench clone [-n N] [--image PATH] [--mem MiB] [--plot DIR]";
    private final PrintStream out;
    private final PrintStream err;

    CloneBench(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /** One way of making an instance, timed. */
    interface Maker {
        Instance make() throws ImageException, SnapshotException;
    }

    int execute(String[] args) throws ImageException, IOException, SnapshotException, InterruptedException {
        Options options = new Options()
                .addOption(CommandLines.valued("n", null, "N", "instances of each kind to measure (default 200)"))
                .addOption(CommandLines.valued(null, "image", "PATH",
                        "the forkcheck test guest (default guest/out/forkcheck.hvt)"))
                .addOption(CommandLines.valued(null, "mem", "MiB", "guest memory: MiB, or 64M, 1G (default 4)"))
                .addOption(BenchCommand.plotOption())
                .addOption(CommandLines.flag("help", "show this help"));
        int n;
        long mem;
        Path img;
        Path plots;
        try {
            ParsedLine cl = CommandLines.parse(options, args, false);
            if (cl.hasOption("help")) {
                CommandLines.help(out, SYNTAX, "Clone-to-first-instruction against a fresh boot, in one JVM.", options, "");
                return 0;
            }
            if (!cl.getArgList().isEmpty()) throw new UsageException("unexpected argument " + cl.getArgList().getFirst());
            n = (int) CommandLines.longValue(cl, "n", 200, 1, 100_000);
            mem = CommandLines.mebibytes(cl, "mem", 4, 2, 4096) << 20;
            Path home = Path.of(System.getProperty("kiln.home", "."));
            img = cl.hasOption("image") ? Path.of(cl.getOptionValue("image")) : home.resolve("guest/out/forkcheck.hvt");
            plots = BenchPlots.directory(cl);
        } catch (UsageException e) {
            err.println("kiln bench clone: " + e.getMessage());
            err.println("usage: " + SYNTAX);
            return Main.EXIT_USAGE;
        }
        HvtImage image = HvtImage.read(img);
        Path snapFile = Files.createTempFile("kiln-clone", ".snap");
        try (Monitor monitor = Monitor.open()) {
            // The template: booted, initialised, waiting for its generation to change.
            WatchedConsole ready = new WatchedConsole();
            try (Instance t = monitor.create(new InstanceSpec(image, mem, List.of("clone"), ready, null))) {
                t.start();
                if (!ready.await(" ready\n", Duration.ofSeconds(30))) {
                    throw new IllegalStateException("the template never printed 'ready': " + ready);
                }
                t.pause();
                t.snapshot(snapFile);
            }
            long[] fresh = new long[n];
            long[] cold = new long[n];
            long[] warm = new long[n];
            long[] pooled = new long[n];
            long[][] warmParts = new long[3][n]; // map, vCPU state + identity, rest until first entry
            InstanceSpec freshSpec = new InstanceSpec(image, mem, List.of("info"), OutputStream.nullOutputStream(), null);
            try (Snapshot snap = Snapshot.open(snapFile)) {
                InstanceSpec cloneSpec = new InstanceSpec(image, mem, List.of("clone", "bench"),
                        OutputStream.nullOutputStream(), null);
                for (int i = -20; i < n; i++) {
                    int at = Math.max(i, 0);
                    fresh[at] = toFirstInstruction(() -> monitor.create(freshSpec), null, 0);
                    cold[at] = toFirstInstruction(() -> monitor.restore(snap, cloneSpec), null, 0);
                }
                // The same clones, each taking a VM that a background thread made ahead of time.
                monitor.keepWarm(mem, 8);
                for (int i = -20; i < n; i++) {
                    int at = Math.max(i, 0);
                    Thread.sleep(5); // let the pool refill in the background: a burst of clones is `kiln bench burst`
                    warm[at] = toFirstInstruction(() -> monitor.restore(snap, cloneSpec), warmParts, at);
                }
                monitor.keepWarm(0, 0);
                // Clones made ahead of time from this snapshot: memory mapped, vCPU state loaded.
                monitor.keepWarm(snap, 8);
                for (int i = -20; i < n; i++) {
                    Thread.sleep(5);
                    pooled[Math.max(i, 0)] = toFirstInstruction(() -> monitor.restore(snap, cloneSpec), null, 0);
                }
                monitor.keepWarm(null, 0);
            }
            LatencySummary f = LatencySummary.of(fresh), c = LatencySummary.of(cold),
                    w = LatencySummary.of(warm), p = LatencySummary.of(pooled);
            out.printf(Locale.ROOT, "kiln bench clone: %s, %d MiB, %d of each in one JVM (request..first KVM_RUN entry)%n",
                    img, mem >> 20, n);
            out.println("  " + BenchCommand.execution(monitor));
            out.println("  fresh boot (create, load, first instruction): " + f);
            out.println("  clone of a snapshot (new VM, CoW map):        " + c);
            out.println("  clone with a warm VM (CoW map over it):       " + w);
            out.println("    of which taking the VM + mapping memory:    " + LatencySummary.of(warmParts[0]));
            out.println("    of which vCPU state + clone identity:       " + LatencySummary.of(warmParts[1]));
            out.println("    of which the rest (checks, devices, entry): " + LatencySummary.of(warmParts[2]));
            out.println("  clone from a clone pool (made ahead):        " + p);
            out.printf(Locale.ROOT, "  ratio clone/fresh (median): cold %.2fx, warm VM %.2fx, clone pool %.2fx"
                            + "   (%s)%n",
                    c.median() / f.median(), w.median() / f.median(), p.median() / f.median(),
                    new Target("clone median <= 0.3 ms").verdict(Math.min(w.median(), p.median()) <= 300_000));
            if (plots != null) {
                out.println("  plot: " + BenchPlots.latencyCdf(plots, "clone-latency.png",
                        "kiln bench clone: " + img.getFileName() + ", request..first instruction",
                        List.of(new BenchPlots.Latencies("fresh boot", fresh),
                                new BenchPlots.Latencies("clone, new VM", cold),
                                new BenchPlots.Latencies("clone, warm VM", warm),
                                new BenchPlots.Latencies("clone from a clone pool", pooled)), List.of()));
            }
        } finally {
            Files.deleteIfExists(snapFile);
        }
        return 0;
    }

    /** Makes an instance, runs it on this thread to its end, and returns request..first entry. */
    private static long toFirstInstruction(Maker maker, long[][] parts, int at) throws ImageException, SnapshotException {
        long t0 = System.nanoTime();
        try (Instance i = maker.make()) {
            Outcome o = i.run();
            if (!(o instanceof Outcome.Halted h) || h.status() != 0) {
                throw new IllegalStateException("instance " + i.id() + " ended badly: " + o.describe());
            }
            long total = i.firstEntryNanos() - t0;
            if (parts != null) {
                var st = i.stats();
                parts[0][at] = st.createNanos();
                parts[1][at] = st.loadNanos();
                parts[2][at] = total - st.createNanos() - st.loadNanos();
            }
            return total;
        }
    }
}
