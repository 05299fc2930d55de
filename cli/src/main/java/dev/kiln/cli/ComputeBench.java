package dev.kiln.cli;

import dev.kiln.builder.build.BuildException;
import dev.kiln.builder.build.Toolchain;
import dev.kiln.cli.CommandLines.UsageException;
import dev.kiln.cli.ComputeResults.BadRun;
import dev.kiln.monitor.Instance;
import dev.kiln.monitor.InstanceSpec;
import dev.kiln.monitor.Monitor;
import dev.kiln.monitor.Outcome;
import dev.kiln.monitor.image.HvtImage;
import dev.kiln.monitor.image.ImageException;
import org.apache.commons.cli.Options;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * {@code kiln bench compute}: the same C workloads (guest/lib/compute: integer, memory, sort, hash
 * and a CoreMark-like kernel) as a host process and as a guest in this JVM, in one run, with the
 * guest's speed relative to the host process. Target: at least 0.95x on every workload. Both sides
 * print a checksum per workload, and they must agree: that is the check that both computed the
 * same thing.
 */
final class ComputeBench {
    static final String SYNTAX = "kiln bench compute [--runs N] [--scale S] [--image PATH] [--tree DIR]";
    static final List<String> WORKLOADS = List.of("integer", "memory", "sort", "hash", "minimark");
    /** The target: guest speed over the host process's, on every workload. */
    static final double TARGET = 0.95;
    /** The default scale when the guest runs at host speed: ~0.5-1.5 s per workload on this host. */
    static final BigDecimal FULL_SCALE = BigDecimal.ONE;
    /**
     * The default scale when the guest runs emulated (about 2500 times slower here): a few
     * seconds per run. The probe that decides runs at a tenth of it.
     */
    static final BigDecimal EMULATED_SCALE = new BigDecimal("0.0002");
    static final BigDecimal PROBE_SCALE = new BigDecimal("0.00002");
    /** A probe guest this much slower than the host process is treated as emulated. */
    static final double EMULATED_SLOWDOWN = 20;
    /** The arena (32 MiB at full size), the image and the boot stack, with room. */
    static final long GUEST_MEMORY = 64L << 20;

    private final PrintStream out;
    private final PrintStream err;

    ComputeBench(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /** What the command line asked for; {@code scale} is null for "choose by probing". */
    record Request(int runs, BigDecimal scale, Path image, Path tree) {}

    /** One workload's outcome across the runs. */
    record Row(String workload, long elems, long reps, double hostMedianNs, double guestMedianNs) {
        double speed() {
            return hostMedianNs / guestMedianNs;
        }

        boolean met() {
            return speed() >= TARGET;
        }
    }

    int execute(String[] args) throws ImageException, IOException, InterruptedException {
        Options options = new Options()
                .addOption(CommandLines.valued(null, "runs", "N", "runs of each side; the medians are compared (default 5)"))
                .addOption(CommandLines.valued(null, "scale", "S", "workload size, 1 = full (~0.5-1.5 s per workload on a host core);"
                        + " default 1, or " + EMULATED_SCALE.toPlainString() + " when a probe finds the guest emulated"))
                .addOption(CommandLines.valued(null, "image", "PATH", "a computebench image built from this tree"
                        + " (default: build " + ComputeBuild.APP + " now)"))
                .addOption(CommandLines.valued(null, "tree", "DIR", "the Kiln tree whose guest/ and bench/compute/ are built"
                        + " (default: the one this kiln runs from)"))
                .addOption(CommandLines.flag("help", "show this help"));
        Request req;
        try {
            ParsedLine cl = CommandLines.parse(options, args, false);
            if (cl.hasOption("help")) {
                CommandLines.help(out, SYNTAX, "The same C workloads as a host process and as a guest, in one run;"
                        + " target: guest >= " + TARGET + "x the host process on every workload.", options, "");
                return 0;
            }
            if (!cl.getArgList().isEmpty()) throw new UsageException("unexpected argument " + cl.getArgList().getFirst());
            int runs = (int) CommandLines.longValue(cl, "runs", 5, 1, 1000);
            BigDecimal scale = cl.hasOption("scale") ? scale(cl.getOptionValue("scale")) : null;
            Path image = cl.hasOption("image") ? Path.of(cl.getOptionValue("image")) : null;
            Path tree = Path.of(cl.hasOption("tree") ? cl.getOptionValue("tree") : System.getProperty("kiln.home", "."));
            req = new Request(runs, scale, image, tree);
        } catch (UsageException e) {
            err.println("kiln bench compute: " + e.getMessage());
            err.println("usage: " + SYNTAX);
            return Main.EXIT_USAGE;
        }
        try (ComputeBuild build = ComputeBuild.make(req.tree(), req.image());
             Monitor monitor = Monitor.open()) {
            HvtImage image = HvtImage.read(build.guestImage());
            return measure(req, build, monitor, image);
        } catch (BuildException e) {
            err.println("kiln bench compute: " + e.getMessage());
            return 1;
        } catch (BadRun e) {
            err.println("kiln bench compute: " + e.getMessage());
            return 1;
        }
    }

    /** {@code --scale}: a positive decimal, at most 100, in whole millionths (what the C side takes). */
    static BigDecimal scale(String v) throws UsageException {
        BigDecimal s;
        try {
            s = new BigDecimal(v.strip());
        } catch (NumberFormatException e) {
            throw new UsageException("--scale=" + v + ": not a number");
        }
        if (s.signum() <= 0 || s.compareTo(BigDecimal.valueOf(100)) > 0) {
            throw new UsageException("--scale=" + v + ": must be in 0.000001..100");
        }
        if (s.movePointRight(6).stripTrailingZeros().scale() > 0) {
            throw new UsageException("--scale=" + v + ": finer than a millionth (the smallest step is 0.000001)");
        }
        return s.stripTrailingZeros();
    }

    private int measure(Request req, ComputeBuild build, Monitor monitor, HvtImage image)
            throws BadRun, ImageException, IOException, InterruptedException {
        BigDecimal scale = req.scale();
        String mode;
        String why;
        if (scale == null) {
            // A short probe of both sides (also warming the JIT, the caches and the page cache).
            ComputeResults host = runHost(build, PROBE_SCALE);
            GuestRun guest = runGuest(monitor, image, PROBE_SCALE, host);
            mode = guest.mode();
            double slowdown = total(guest.results()) / total(host);
            boolean emulated = mode.equals("emulated") || (mode.equals("unknown") && slowdown > EMULATED_SLOWDOWN);
            scale = emulated ? EMULATED_SCALE : FULL_SCALE;
            why = String.format(Locale.ROOT, "automatic: a probe at %s ran the guest %.1fx slower than the host process%s",
                    PROBE_SCALE.toPlainString(), slowdown, emulated ? ", as emulated guests run; pass --scale to choose" : "");
        } else {
            mode = null;
            why = "--scale";
        }
        List<ComputeResults> hosts = new ArrayList<>();
        List<ComputeResults> guests = new ArrayList<>();
        for (int r = 0; r < req.runs(); r++) {
            ComputeResults host = runHost(build, scale);
            GuestRun guest = runGuest(monitor, image, scale, host);
            mode = guest.mode();
            hosts.add(host);
            guests.add(guest.results());
        }
        List<Row> rows = rows(hosts, guests);
        report(build, scale, why, mode, req.runs(), rows, hosts, guests);
        return 0;
    }

    /** A guest's results and how its instructions were executed. */
    record GuestRun(ComputeResults results, String mode) {}

    private static String args(BigDecimal scale) {
        return "scale=" + scale.movePointRight(6).toBigIntegerExact();
    }

    /** Runs the host process once; a failure or a wrong line ends the benchmark. */
    private static ComputeResults runHost(ComputeBuild build, BigDecimal scale) throws BadRun, IOException, InterruptedException {
        Process p = new ProcessBuilder(build.hostBinary().toString(), args(scale)).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(1, TimeUnit.HOURS)) {
            p.destroyForcibly();
            throw new BadRun("the host process did not finish in an hour");
        }
        if (p.exitValue() != 0) throw new BadRun("the host process exited " + p.exitValue() + ":\n" + output.strip());
        return ComputeResults.parse("host", output, WORKLOADS);
    }

    /**
     * Boots the guest once in this JVM and checks its results against the host's of the same run.
     * A guest that takes 100,000 times the host's time (or 10 minutes, whichever is longer) is
     * stopped: it is stuck, not slow.
     */
    private static GuestRun runGuest(Monitor monitor, HvtImage image, BigDecimal scale, ComputeResults host)
            throws BadRun, ImageException {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        long limit = Math.max(TimeUnit.MINUTES.toNanos(10), (long) Math.min(Long.MAX_VALUE / 2.0, total(host) * 100_000));
        InstanceSpec spec = InstanceSpec.of(image, console, args(scale)).withMemory(GUEST_MEMORY)
                .withTimeLimit(Duration.ofNanos(limit));
        try (Instance instance = monitor.create(spec)) {
            Outcome o = instance.run();
            String output = console.toString(StandardCharsets.UTF_8);
            if (!(o instanceof Outcome.Halted h) || h.status() != 0) {
                throw new BadRun("the guest ended badly (" + o.describe() + "); its console:\n" + output.strip());
            }
            ComputeResults guest = ComputeResults.parse("guest", output, WORKLOADS);
            var differs = host.mismatch(guest);
            if (differs.isPresent()) {
                throw new BadRun("host and guest disagree, so they did not compute the same thing: " + differs.get());
            }
            return new GuestRun(guest, executionMode(instance));
        }
    }

    /** How the guest's instructions ran: "native" (at host speed) or "emulated" (KVM's instruction emulator). */
    static String executionMode(Instance instance) {
        return instance.stats().mode().label();
    }

    private static double total(ComputeResults r) {
        return r.lines().stream().mapToLong(ComputeResults.Line::ns).sum();
    }

    private static List<Row> rows(List<ComputeResults> hosts, List<ComputeResults> guests) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < WORKLOADS.size(); i++) {
            ComputeResults.Line first = hosts.getFirst().lines().get(i);
            int at = i;
            rows.add(new Row(first.workload(), first.elems(), first.reps(),
                    median(hosts.stream().mapToLong(h -> h.ns(at)).toArray()),
                    median(guests.stream().mapToLong(g -> g.ns(at)).toArray())));
        }
        return rows;
    }

    static double median(long[] xs) {
        long[] s = xs.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
    }

    private void report(ComputeBuild build, BigDecimal scale, String why, String mode, int runs, List<Row> rows,
                        List<ComputeResults> hosts, List<ComputeResults> guests) {
        out.printf(Locale.ROOT, "kiln bench compute: %d workloads as a host process and as a guest in this JVM, %d run%s of each"
                + " (medians), same run%n", rows.size(), runs, runs == 1 ? "" : "s");
        out.println("  like for like: the workloads (guest/lib/compute, guest/lib/fmt) are compiled for both sides with the guest's"
                + " flags, no SSE on either side:");
        out.println("    " + build.compiler() + ": " + String.join(" ", Toolchain.CFLAGS));
        out.println("  host process: " + ComputeBuild.HOST_DRIVER + " around them (gcc -O2, linked -no-pie)");
        out.printf(Locale.ROOT, "  guest: %s, %d MiB; execution: %s%n", build.guestImage().getFileName(), GUEST_MEMORY >> 20, mode);
        out.printf(Locale.ROOT, "  scale: %s (%s)%n", scale.toPlainString(), why);
        out.printf(Locale.ROOT, "  %-9s %19s %14s %14s %12s   %s%n", "workload", "size (elems x reps)", "host median", "guest median",
                "guest speed", "target >= " + TARGET + "x");
        for (Row r : rows) {
            out.printf(Locale.ROOT, "  %-9s %19s %11.3f ms %11.3f ms %11.4fx   %s%n", r.workload(), r.elems() + " x " + r.reps(),
                    r.hostMedianNs() / 1e6, r.guestMedianNs() / 1e6, r.speed(), r.met() ? "met" : "NOT met");
        }
        out.println("  checksums: host and guest equal on every workload in every run");
        double hostTick = hosts.stream().mapToDouble(ComputeResults::nsPerTick).average().orElse(Double.NaN);
        double guestTick = guests.stream().mapToDouble(ComputeResults::nsPerTick).average().orElse(Double.NaN);
        out.printf(Locale.ROOT, "  clocks: the guest's ns per TSC tick (from the boot info's frequency) is %.2f%% off the host's%n",
                Math.abs(guestTick / hostTick - 1) * 100);
        long met = rows.stream().filter(Row::met).count();
        Row worst = rows.stream().min((a, b) -> Double.compare(a.speed(), b.speed())).orElseThrow();
        double logSum = rows.stream().mapToDouble(r -> Math.log(r.speed())).sum();
        out.printf(Locale.ROOT, "summary: %d of %d workloads at >= %sx the host process (%s; geometric mean %.4fx,"
                        + " lowest %s %.4fx; guest execution: %s)%n", met, rows.size(), TARGET,
                new Target(">= " + TARGET + "x on every workload").verdict(met == rows.size()),
                Math.exp(logSum / rows.size()), worst.workload(), worst.speed(), mode);
    }
}
