package dev.kiln.cli;

import dev.kiln.cli.CommandLines.UsageException;
import dev.kiln.monitor.Instance;
import dev.kiln.monitor.InstanceSpec;
import dev.kiln.monitor.Monitor;
import dev.kiln.monitor.StopCause;
import dev.kiln.monitor.fleet.Burst;
import dev.kiln.monitor.image.HvtImage;
import dev.kiln.monitor.image.ImageException;
import org.apache.commons.cli.Options;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * {@code kiln bench density}: how much host memory each idle guest costs when many live in one
 * JVM. Idle instances (the hvtcheck guest waiting in POLL) are started in steps, each step a
 * {@link Burst}, and kept running; after each step the process's resident set and open files
 * (from /proc/self) and the guest RAM pages the instances hold (mincore, per instance) are read,
 * against a baseline read in the same run with no instance alive.
 */
final class DensityBench {
    static final String SYNTAX = "kiln bench density [--image PATH] [--mem MiB] [--max N] [--step N] [--plot DIR]";
    /** The hvtcheck mode that blocks in POLL, here for an hour: longer than any run. */
    private static final List<String> IDLE_ARGS = List.of("idle");
    /** Descriptors kept free for the JVM itself (jars, /proc reads, the C floor's pipes). */
    private static final int SPARE_FILES = 64;

    private final PrintStream out;
    private final PrintStream err;

    DensityBench(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /**
     * This process's memory at one moment: its resident set and open files (from /proc), the
     * guest RAM its instances hold resident (each instance's mincore count, {@link
     * dev.kiln.monitor.InstanceStats#residentBytes}), and the host's available memory.
     */
    record ProcessMemory(long rssBytes, long guestRamBytes, int openFiles, long hostAvailableBytes) {
        static ProcessMemory read(Monitor monitor) throws IOException {
            long guestRam = 0;
            for (Instance i : monitor.instances()) guestRam += Math.max(0, i.stats().residentBytes());
            int files;
            try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
                files = (int) fds.count() - 1; // the listing's own descriptor
            }
            return new ProcessMemory(ProcessUsage.rssBytes(), guestRam, files,
                    ProcessUsage.procKiB("/proc/meminfo", "MemAvailable:"));
        }
    }

    /** The state after one step. */
    record Step(int held, int running, int refused, ProcessMemory memory, long lastUpNanos) {}

    int execute(String[] args) throws ImageException, IOException, InterruptedException {
        Options options = new Options()
                .addOption(CommandLines.valued(null, "image", "PATH",
                        "the idle guest: hvtcheck, run as 'idle' (default guest/out/hvtcheck.hvt)"))
                .addOption(CommandLines.valued(null, "mem", "MiB", "guest memory of each instance: MiB, or 64M, 1G (default 2)"))
                .addOption(CommandLines.valued(null, "max", "N", "instances at most (default 1000)"))
                .addOption(CommandLines.valued(null, "step", "N", "instances started per step (default 100)"))
                .addOption(BenchCommand.plotOption())
                .addOption(CommandLines.flag("help", "show this help"));
        Path img;
        long memMiB;
        int max, step;
        Path plotDir;
        try {
            ParsedLine cl = CommandLines.parse(options, args, false);
            if (cl.hasOption("help")) {
                CommandLines.help(out, SYNTAX, "Host memory per idle instance, many instances in one JVM.", options, "");
                return 0;
            }
            if (!cl.getArgList().isEmpty()) throw new UsageException("unexpected argument " + cl.getArgList().getFirst());
            img = cl.hasOption("image") ? Path.of(cl.getOptionValue("image"))
                    : Path.of(System.getProperty("kiln.home", ".")).resolve("guest/out/hvtcheck.hvt");
            memMiB = CommandLines.mebibytes(cl, "mem", 2, 2, 4096);
            max = (int) CommandLines.longValue(cl, "max", 1000, 1, 100_000);
            step = (int) CommandLines.longValue(cl, "step", 100, 1, 100_000);
            plotDir = BenchPlots.directory(cl);
        } catch (UsageException e) {
            err.println("kiln bench density: " + e.getMessage());
            err.println("usage: " + SYNTAX);
            return Main.EXIT_USAGE;
        }
        HvtImage image = HvtImage.read(img);
        InstanceSpec spec = new InstanceSpec(image, memMiB << 20, IDLE_ARGS, OutputStream.nullOutputStream(), null);
        out.printf(Locale.ROOT, "kiln bench density: %s '%s', %d MiB each, up to %d in steps of %d, in one JVM%n",
                img, String.join(" ", IDLE_ARGS), memMiB, max, step);

        List<Step> steps = new ArrayList<>();
        try (Monitor monitor = Monitor.open()) {
            out.println("  " + BenchCommand.execution(monitor));
            // One instance booted and closed first, so that class loading and the first-use costs
            // are in the baseline, not charged to the first step; it also counts its descriptors.
            ProcessMemory alone = oneInstance(monitor, spec);
            ProcessMemory base = settled(monitor);
            int filesPerInstance = Math.max(1, alone.openFiles() - base.openFiles());
            long fileLimit = openFileLimit();
            out.printf(Locale.ROOT, "  baseline (monitor open, no instance; one booted and closed first): RSS %.1f MiB,"
                            + " guest RAM %d KiB, %d open files of %d allowed (ulimit -n), %d per instance%n",
                    base.rssBytes() / 1048576.0, base.guestRamBytes() >> 10, base.openFiles(), fileLimit, filesPerInstance);
            out.println("  instances  running  refused   RSS MiB  host KiB/inst  guest RAM KiB/inst  open files  step all up ms");

            int refused = 0;
            String stopped = null;
            while (held(monitor) < max) {
                int held = held(monitor);
                int count = Math.min(step, max - held);
                long need = (long) count * filesPerInstance;
                int files = steps.isEmpty() ? base.openFiles() : steps.getLast().memory().openFiles();
                if (files + need + SPARE_FILES > fileLimit) {
                    stopped = String.format(Locale.ROOT, "stopped at %d instances: %d more would need about %d open files"
                                    + " (%d each), and this process has %d of %d allowed (ulimit -n; %d kept spare)."
                                    + " Raise 'ulimit -n' to go further.",
                            held, count, need, filesPerInstance, files, fileLimit, SPARE_FILES);
                    break;
                }
                Burst b;
                try {
                    b = Burst.start(monitor, spec, count, i -> OutputStream.nullOutputStream(), 120, TimeUnit.SECONDS);
                } catch (IllegalStateException e) { // a creator failed outside the monitor, e.g. no thread
                    stopped = "stopped at " + held + " instances: starting more failed: " + e.getCause();
                    break;
                }
                refused += b.refused() + b.late();
                Step s = new Step(held(monitor), running(monitor), refused, settled(monitor), b.lastUpNanos());
                steps.add(s);
                out.printf(Locale.ROOT, "  %9d  %7d  %7d  %8.1f  %13.0f  %18.0f  %10d  %13.1f%n", s.held(), s.running(),
                        s.refused(), s.memory().rssBytes() / 1048576.0, perInstanceKiB(s.memory().rssBytes() - base.rssBytes(), s),
                        perInstanceKiB(s.memory().guestRamBytes() - base.guestRamBytes(), s), s.memory().openFiles(),
                        s.lastUpNanos() / 1e6);
                if (b.refused() + b.late() > 0) {
                    stopped = "stopped: " + b.refused() + " instances of the last step could not be created"
                            + " (out of memory, descriptors or KVM resources), " + b.late() + " not started within 120 s";
                    break;
                }
            }
            if (stopped != null) out.println("  " + stopped);
            if (!steps.isEmpty()) totals(base, steps.getLast());

            long t0 = System.nanoTime();
            int held = held(monitor);
            monitor.stopAll(StopCause.REQUESTED); // all at once, then each closed (and waited for) by close()
            for (Instance i : monitor.instances()) i.close();
            out.printf(Locale.ROOT, "  stopped and closed %d instances in %.0f ms; RSS after: %.1f MiB%n", held,
                    (System.nanoTime() - t0) / 1e6, settled(monitor).rssBytes() / 1048576.0);
            if (plotDir != null && !steps.isEmpty()) out.println("  plot: " + plot(plotDir, img, memMiB, base, steps));
        }
        return 0;
    }

    private void totals(ProcessMemory base, Step last) {
        ProcessMemory m = last.memory();
        double host = perInstanceKiB(m.rssBytes() - base.rssBytes(), last);
        double guest = perInstanceKiB(m.guestRamBytes() - base.guestRamBytes(), last);
        out.printf(Locale.ROOT, "  at %d instances (%d running): RSS %.1f MiB = baseline %.1f MiB + %d x %.0f KiB%n",
                last.held(), last.running(), m.rssBytes() / 1048576.0, base.rssBytes() / 1048576.0, last.held(), host);
        out.printf(Locale.ROOT, "    of which guest RAM touched:  %.0f KiB per instance (what the loader, the monitor and the guest wrote)%n", guest);
        out.printf(Locale.ROOT, "    host overhead beyond it:     %.0f KiB per instance (native and Java heap; asleep, a guest holds no vCPU thread)%n",
                host - guest);
        // Kernel memory (KVM's own page tables and vCPU state) is in no process's RSS; the host's
        // MemAvailable shows it, but for the whole machine, so other activity blurs it.
        out.printf(Locale.ROOT, "    host MemAvailable dropped:   %.0f KiB per instance (RSS and kernel side; system-wide, so noisy)%n",
                perInstanceKiB(base.hostAvailableBytes() - m.hostAvailableBytes(), last));
    }

    private static double perInstanceKiB(long bytes, Step s) {
        return bytes / 1024.0 / Math.max(1, s.held());
    }

    private static Path plot(Path dir, Path img, long memMiB, ProcessMemory base, List<Step> steps) throws IOException {
        List<BenchPlots.Point> rss = new ArrayList<>(), guest = new ArrayList<>();
        rss.add(new BenchPlots.Point(0, base.rssBytes() / 1048576.0));
        guest.add(new BenchPlots.Point(0, 0));
        for (Step s : steps) {
            rss.add(new BenchPlots.Point(s.held(), s.memory().rssBytes() / 1048576.0));
            guest.add(new BenchPlots.Point(s.held(), (s.memory().guestRamBytes() - base.guestRamBytes()) / 1048576.0));
        }
        return BenchPlots.xy(dir, "density-memory.png",
                "kiln bench density: idle " + img.getFileName() + " instances, " + memMiB + " MiB each",
                "live instances", "resident memory (MiB)",
                List.of(new BenchPlots.Series("process RSS", rss), new BenchPlots.Series("guest RAM touched", guest)),
                BenchPlots.Joint.LINES_AND_POINTS);
    }

    /** Boots one instance until it is up, reads the process while it lives, and closes it. */
    private static ProcessMemory oneInstance(Monitor monitor, InstanceSpec spec) throws InterruptedException, IOException {
        Burst b = Burst.start(monitor, spec, 1, i -> OutputStream.nullOutputStream(), 30, TimeUnit.SECONDS);
        if (b.instances().isEmpty()) throw new IOException("the first instance of " + spec.image().name() + " could not be created");
        ProcessMemory alive = ProcessMemory.read(monitor);
        for (Instance i : b.instances()) i.close();
        return alive;
    }

    /**
     * Reads the process after a full collection: the heap's touched pages then stop growing with
     * each step's garbage (allocation restarts at the bottom of an emptied young generation).
     */
    private static ProcessMemory settled(Monitor monitor) throws IOException {
        System.gc();
        return ProcessMemory.read(monitor);
    }

    private static int held(Monitor monitor) {
        return monitor.instances().size();
    }

    private static int running(Monitor monitor) {
        return (int) monitor.instances().stream().filter(i -> i.state() == Instance.State.RUNNING).count();
    }

    /** The soft limit on open files ("Max open files" in /proc/self/limits); Long.MAX_VALUE if unlimited. */
    private static long openFileLimit() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
            if (line.startsWith("Max open files")) {
                String soft = line.substring("Max open files".length()).strip().split("\\s+")[0];
                return soft.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(soft);
            }
        }
        throw new IOException("/proc/self/limits has no 'Max open files' line");
    }
}
