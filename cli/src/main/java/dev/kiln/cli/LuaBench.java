package dev.kiln.cli;

import dev.kiln.builder.build.BuildException;
import dev.kiln.builder.build.ImageBuilder;
import dev.kiln.builder.build.Toolchain;
import dev.kiln.builder.manifest.ManifestException;
import dev.kiln.builder.manifest.ManifestParser;
import dev.kiln.builder.resolve.LibraryCatalog;
import dev.kiln.builder.resolve.ResolveException;
import dev.kiln.builder.resolve.Resolver;
import dev.kiln.cli.CommandLines.UsageException;
import dev.kiln.monitor.DeviceAttachment;
import dev.kiln.monitor.Instance;
import dev.kiln.monitor.InstanceSpec;
import dev.kiln.monitor.Monitor;
import dev.kiln.monitor.Outcome;
import dev.kiln.monitor.image.HvtImage;
import dev.kiln.monitor.rootfs.RootfsImage;
import org.apache.commons.cli.Options;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code kiln bench lua}: the Lua port (guest/ports/lua) against the same Lua source built for the
 * host, in one run (issue 11's targets): a CPU-bound script (calls, tables, strings, floats) timed
 * by itself with os.clock in both, the image size, boot to first output, and the smallest memory
 * the interpreter runs in.
 */
final class LuaBench {
    static final String SYNTAX = "kiln bench lua [--runs=N] [--tree=DIR]";
    private static final double SPEED_TARGET = 0.9;
    private static final long SIZE_TARGET = 300_000;
    private static final Pattern SECONDS = Pattern.compile("seconds ([0-9.]+)");
    private static final String SCRIPT = "bench.lua";

    private final PrintStream out;
    private final PrintStream err;
    private final Options options = new Options()
            .addOption(CommandLines.valued(null, "runs", "N", "runs of the script on each side (default 3; the median counts)"))
            .addOption(CommandLines.valued(null, "tree", "DIR", "the Kiln tree (default: where kiln runs from)"))
            .addOption(CommandLines.flag("help", "show this help"));

    LuaBench(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    int execute(String[] args) {
        int runs;
        Path tree;
        try {
            ParsedLine cl = CommandLines.parse(options, args, false);
            if (cl.hasOption("help")) {
                CommandLines.help(out, SYNTAX, "The Lua port against the same Lua source built for the host, in one run;"
                        + " targets: >= " + SPEED_TARGET + "x the host process, image <= " + SIZE_TARGET / 1000
                        + " KB, boot to first output <= " + FirstOutput.TARGET_MS + " ms.", options, "");
                return 0;
            }
            if (!cl.getArgList().isEmpty()) throw new UsageException("unexpected argument " + cl.getArgList().getFirst());
            runs = (int) CommandLines.longValue(cl, "runs", 3, 1, 100);
            tree = Path.of(cl.hasOption("tree") ? cl.getOptionValue("tree") : System.getProperty("kiln.home", "."));
        } catch (UsageException e) {
            err.println("kiln bench lua: " + e.getMessage());
            err.println("usage: " + SYNTAX);
            return Main.EXIT_USAGE;
        }
        Path port = tree.resolve("guest/ports/lua");
        Path guestOut = tree.resolve("guest/out");
        Path work = null;
        try (Monitor monitor = Monitor.open()) {
            Path image = buildGuest(tree, port, guestOut);
            PortHostBuild host = PortHostBuild.of(port, guestOut);
            work = Files.createTempDirectory("kiln-bench-lua");
            Path root = Files.createDirectories(work.resolve("root"));
            try (InputStream in = LuaBench.class.getResourceAsStream("/bench/" + SCRIPT)) {
                if (in == null) throw new IOException("the benchmark script is missing from kiln's classpath");
                Files.write(root.resolve(SCRIPT), in.readAllBytes());
            }
            Path rootfs = work.resolve("root.kfs");
            RootfsImage.pack(root, rootfs);
            HvtImage img = HvtImage.read(image);

            out.printf("kiln bench lua: Lua 5.4.4 (Debian's source), %s as a unikernel (musl + POSIX layer) and as a host process%n",
                    SCRIPT);
            double[] guest = new double[runs], hostTimes = new double[runs];
            for (int i = 0; i < runs; i++) {
                guest[i] = seconds(runGuest(monitor, img, rootfs, 64, SCRIPT));
                hostTimes[i] = seconds(runHost(host.binary(), root, SCRIPT));
            }
            double g = median(guest), h = median(hostTimes);
            double speed = h / g;
            out.printf("  script      host %.3f s   guest %.3f s   guest speed %.3fx the host   (%d runs each, medians)%n",
                    h, g, speed, runs);
            out.println("  " + new Target(">= " + SPEED_TARGET + "x the host process").verdict(speed >= SPEED_TARGET));
            long size = Files.size(image);
            out.printf("  image       %s: %d bytes%n", image, size);
            out.println("  " + new Target("<= " + SIZE_TARGET / 1000 + " KB").verdict(size <= SIZE_TARGET));
            int firstRuns = Math.max(5, runs);
            double firstMs = firstOutputMs(monitor, img, rootfs, firstRuns);
            out.printf("  boot to first output (create, boot, musl start-up, mount, print): %.2f ms median of %d%n",
                    firstMs, firstRuns);
            out.println("  " + new Target("<= " + FirstOutput.TARGET_MS + " ms").verdict(firstMs <= FirstOutput.TARGET_MS));
            out.printf("  smallest --mem that runs the script: %d MiB%n", smallestMemory(monitor, img, rootfs));
            return 0;
        } catch (IOException | BuildException | BadRun | dev.kiln.monitor.image.ImageException e) {
            err.println("kiln bench lua: " + e.getMessage());
            return 1;
        } finally {
            if (work != null) deleteTree(work);
        }
    }

    private static final class BadRun extends Exception {
        BadRun(String m) {
            super(m);
        }
    }

    private static Path buildGuest(Path tree, Path port, Path guestOut) throws BuildException, IOException {
        try {
            Toolchain tc = Toolchain.detect();
            Path guestRoot = tree.resolve("guest");
            var resolved = Resolver.resolve(ManifestParser.app(port), LibraryCatalog.scan(guestRoot));
            return new ImageBuilder(tc, Runtime.getRuntime().availableProcessors()).build(resolved, guestRoot, guestOut, false).image();
        } catch (ManifestException | ResolveException e) {
            throw new BuildException(e.getMessage());
        }
    }

    private static String runGuest(Monitor monitor, HvtImage img, Path rootfs, long memMiB, String... args) throws BadRun {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        InstanceSpec spec = new InstanceSpec(img, memMiB << 20, List.of(args), console, Duration.ofMinutes(5),
                List.of(DeviceAttachment.Block.readOnly(RootfsOption.DEVICE, rootfs)));
        try (Instance instance = monitor.create(spec)) {
            Outcome o = instance.run();
            String said = console.toString(StandardCharsets.UTF_8);
            if (!(o instanceof Outcome.Halted h) || h.status() != 0) {
                throw new BadRun("the guest ended with " + o + " and printed: " + said.strip());
            }
            return said;
        } catch (dev.kiln.monitor.image.ImageException | RuntimeException e) {
            throw new BadRun("the guest could not start: " + e.getMessage());
        }
    }

    private static String runHost(Path binary, Path dir, String script) throws BadRun, IOException {
        Process p = new ProcessBuilder(binary.toString(), script).directory(dir.toFile()).redirectErrorStream(true).start();
        String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) throw new BadRun("the host build failed: " + said.strip());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BadRun("interrupted");
        }
        return said;
    }

    private static double seconds(String output) throws BadRun {
        Matcher m = SECONDS.matcher(output);
        if (!m.find()) throw new BadRun("no 'seconds' line in: " + output.strip());
        return Double.parseDouble(m.group(1));
    }

    /** Boot to first output of {@code lua -e print(1)} (FirstOutput), median of {@code runs}, in milliseconds. */
    private static double firstOutputMs(Monitor monitor, HvtImage img, Path rootfs, int runs) throws BadRun {
        InstanceSpec spec = new InstanceSpec(img, 8L << 20, List.of("-e", "print(1)"), java.io.OutputStream.nullOutputStream(),
                Duration.ofSeconds(30), List.of(DeviceAttachment.Block.readOnly(RootfsOption.DEVICE, rootfs)));
        try {
            return FirstOutput.medianMillis(monitor, spec, runs);
        } catch (FirstOutput.Failed e) {
            throw new BadRun(e.getMessage());
        } catch (dev.kiln.monitor.image.ImageException | RuntimeException e) {
            throw new BadRun("the guest could not start: " + e.getMessage());
        }
    }

    /** The smallest whole MiB (hvt rounds to 2 MiB) the benchmark script runs in. */
    private static long smallestMemory(Monitor monitor, HvtImage img, Path rootfs) {
        for (long mib = 2; mib <= 64; mib += 2) {
            try {
                runGuest(monitor, img, rootfs, mib, SCRIPT);
                return mib;
            } catch (BadRun e) {
                // too small: the next size
            }
        }
        return -1;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static void deleteTree(Path p) {
        try (var s = Files.walk(p)) {
            List<Path> all = new ArrayList<>(s.toList());
            java.util.Collections.reverse(all);
            for (Path x : all) Files.deleteIfExists(x);
        } catch (IOException e) {
            // a temporary folder left behind is harmless
        }
    }
}
