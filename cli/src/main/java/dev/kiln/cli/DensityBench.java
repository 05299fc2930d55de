package dev.kiln.cli;

import dev.kiln.cli.CommandLines.UsageException;
import dev.kiln.monitor.Burst;
import dev.kiln.monitor.Instance;
import dev.kiln.monitor.InstanceSpec;
import dev.kiln.monitor.Monitor;
import dev.kiln.monitor.StopCause;
import dev.kiln.monitor.image.HvtImage;
import dev.kiln.monitor.image.ImageException;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
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
 * {@link Burst}, and kept running; after each step the process's resident set, its open files and
 * the guest RAM pages actually touched are read from /proc/self, against a baseline read in the
 * same run with no instance alive.
 */
final class DensityBench {
    static final String SYNTAX = "kiln bench density [--image PATH] [--mem MiB] [--max N] [--step N] [--plot DIR]";
    /** The hvtcheck mode that blocks in POLL, here for an hour: longer than any run. */
    private static final List<String> IDLE_ARGS = List.of("poll", "3600000");
    /** Descriptors kept free for the JVM itself (jars, /proc reads, the C floor's pipes). */
    private static final int SPARE_FILES = 64;

    private final PrintStream out;
    private final PrintStream err;

    DensityBench(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /** What /proc says about this process (and the host's available memory) at one moment. */
    record ProcessMemory(long rssBytes, long guestRamBytes, int openFiles, long hostAvailableBytes) {
        static ProcessMemory read() throws IOException {
            long guestRam = 0;
            List<Mapping> maps = Mapping.ofThisProcess();
            try (FileChannel pagemap = FileChannel.open(Path.of("/proc/self/pagemap"))) {
                for (int i = 0; i < maps.size(); i++) {
                    guestRam += maps.get(i).guestRamResident(i + 1 < maps.size() ? maps.get(i + 1) : null, pagemap);
                }
            }
            int files;
            try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
                files = (int) fds.count() - 1; // the listing's own descriptor
            }
            return new ProcessMemory(field("/proc/self/status", "VmRSS:"), guestRam, files,
                    field("/proc/meminfo", "MemAvailable:"));
        }

        private static long field(String file, String name) throws IOException {
            for (String line : Files.readAllLines(Path.of(file))) {
                if (line.startsWith(name)) return Mapping.kib(line) << 10;
            }
            throw new IOException(file + " has no " + name + " line");
        }
    }

    /**
     * One mapping of /proc/self/smaps, as far as telling guest RAM apart needs. Guest RAM is
     * mapped anonymous, private, read-write and MAP_NORESERVE (smaps flag "nr"); the JVM commits
     * its own memory without NORESERVE. glibc's malloc heaps have it too: each is the start of a
     * 64 MiB-aligned reservation whose rest is inaccessible, and the kernel merges adjacent guest
     * RAM into the same mapping when one lies just below such a heap.
     */
    record Mapping(long start, long end, String perms, boolean anonymous, boolean noReserve, long rssBytes) {
        private static final long GLIBC_HEAP = 64L << 20, PAGE = 4096;

        /** Resident bytes of guest RAM in this mapping. */
        long guestRamResident(Mapping next, FileChannel pagemap) throws IOException {
            if (!anonymous || !noReserve || !perms.equals("rw-p")) return 0;
            if (start % GLIBC_HEAP == 0 && end - start == GLIBC_HEAP) return 0; // a heap grown to its full size
            boolean heapFollows = next != null && next.start == end && next.perms.equals("---p") && next.noReserve
                    && next.end % GLIBC_HEAP == 0 && next.end - GLIBC_HEAP >= start;
            if (!heapFollows) return rssBytes;
            long heapStart = next.end - GLIBC_HEAP;
            return heapStart == start ? 0 : residentBytes(pagemap, start, heapStart);
        }

        /** Pages present in [from, to), from pagemap: one 64-bit entry per page, bit 63 "present". */
        private static long residentBytes(FileChannel pagemap, long from, long to) throws IOException {
            ByteBuffer entries = ByteBuffer.allocate((int) ((to - from) / PAGE * 8)).order(ByteOrder.nativeOrder());
            long at = from / PAGE * 8;
            while (entries.hasRemaining()) {
                if (pagemap.read(entries, at + entries.position()) < 0) throw new IOException("/proc/self/pagemap ended early");
            }
            long present = 0;
            for (entries.flip(); entries.hasRemaining(); ) present += entries.getLong() >>> 63;
            return present * PAGE;
        }

        static List<Mapping> ofThisProcess() throws IOException {
            List<Mapping> maps = new ArrayList<>();
            try (BufferedReader smaps = Files.newBufferedReader(Path.of("/proc/self/smaps"))) {
                String[] head = null;
                long rss = 0;
                for (String line; (line = smaps.readLine()) != null; ) {
                    String[] f = line.split("\\s+");
                    if (f[0].indexOf('-') > 0 && !f[0].endsWith(":")) {
                        head = f; // "start-end perms offset dev inode [path]": anonymous without a path
                    } else if (line.startsWith("Rss:")) {
                        rss = kib(line) << 10;
                    } else if (line.startsWith("VmFlags:") && head != null) { // the last line of a mapping
                        int dash = head[0].indexOf('-');
                        maps.add(new Mapping(Long.parseUnsignedLong(head[0], 0, dash, 16),
                                Long.parseUnsignedLong(head[0], dash + 1, head[0].length(), 16), head[1], head.length == 5,
                                List.of(f).contains("nr"), rss));
                    }
                }
            }
            return maps;
        }

        static long kib(String line) {
            return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
    }

    /** The state after one step. */
    record Step(int held, int running, int refused, ProcessMemory memory, long lastUpNanos) {}

    int execute(String[] args) throws ImageException, IOException, InterruptedException {
        Options options = new Options()
                .addOption(CommandLines.valued(null, "image", "PATH",
                        "the idle guest: hvtcheck, run as 'poll 3600000' (default guest/out/hvtcheck.hvt)"))
                .addOption(CommandLines.valued(null, "mem", "MiB", "guest memory of each instance (default 2)"))
                .addOption(CommandLines.valued(null, "max", "N", "instances at most (default 1000)"))
                .addOption(CommandLines.valued(null, "step", "N", "instances started per step (default 100)"))
                .addOption(BenchCommand.plotOption())
                .addOption(CommandLines.flag("help", "show this help"));
        Path img;
        long memMiB;
        int max, step;
        Path plotDir;
        try {
            CommandLine cl = CommandLines.parse(options, args, false);
            if (cl.hasOption("help")) {
                CommandLines.help(out, SYNTAX, "Host memory per idle instance, many instances in one JVM.", options, "");
                return 0;
            }
            if (!cl.getArgList().isEmpty()) throw new UsageException("unexpected argument " + cl.getArgList().getFirst());
            img = cl.hasOption("image") ? Path.of(cl.getOptionValue("image"))
                    : Path.of(System.getProperty("kiln.home", ".")).resolve("guest/out/hvtcheck.hvt");
            memMiB = CommandLines.longValue(cl, "mem", 2, 2, 4096);
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
            // One instance booted and closed first, so that class loading and the first-use costs
            // are in the baseline, not charged to the first step; it also counts its descriptors.
            ProcessMemory alone = oneInstance(monitor, spec);
            ProcessMemory base = settled();
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
                Step s = new Step(held(monitor), running(monitor), refused, settled(), b.lastUpNanos());
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
                    (System.nanoTime() - t0) / 1e6, settled().rssBytes() / 1048576.0);
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
        out.printf(Locale.ROOT, "    host overhead beyond it:     %.0f KiB per instance (vCPU thread, native and Java heap)%n",
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
        ProcessMemory alive = ProcessMemory.read();
        for (Instance i : b.instances()) i.close();
        return alive;
    }

    /**
     * Reads the process after a full collection: the heap's touched pages then stop growing with
     * each step's garbage (allocation restarts at the bottom of an emptied young generation).
     */
    private static ProcessMemory settled() throws IOException {
        System.gc();
        return ProcessMemory.read();
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
