package dev.kiln.cli;

import dev.kiln.monitor.Instance;
import dev.kiln.monitor.InstanceSpec;
import dev.kiln.monitor.Monitor;
import dev.kiln.monitor.image.HvtImage;
import dev.kiln.monitor.image.ImageException;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Restore against fresh boot, in one JVM: the test guest (hvtcheck "count") is booted, paused
 * after its first line and snapshotted; then N fresh boots and N restores are timed from the
 * start of creation to the first console byte (for a restore: the first line it prints after
 * the snapshot point). Restores map the snapshot copy-on-write, as clones do.
 */
final class RestoreBench {
    static final String SYNTAX = CheckRun.syntax("restore");
    private final PrintStream out;
    private final PrintStream err;

    RestoreBench(PrintStream out, PrintStream err) {
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
            LatencySummary f = LatencySummary.of(fresh), r = LatencySummary.of(restored);
            out.printf(Locale.ROOT, "kiln bench restore: %s, 8 MiB, %d of each in one JVM%n", img, n);
            out.println("  fresh boot, create..first console byte:    " + f);
            out.println("  restore (CoW map), create..first byte:     " + r);
            out.printf(Locale.ROOT, "  ratio restore/fresh (median): %.2fx   (%s)%n", r.median() / f.median(),
                    new Target("restore faster than a fresh boot").verdict(r.median() < f.median()));
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
