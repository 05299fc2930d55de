package dev.kiln.cli;

import dev.kiln.builder.build.BuildException;
import dev.kiln.cli.CommandLines.UsageException;
import dev.kiln.monitor.DeviceAttachment;
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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code kiln bench sqlite}: SQLite's own benchmark, test/speedtest1.c, as a guest
 * (guest/ports/sqlite-speedtest1) and as a host process built from the same generated sources
 * with the same options (SqlitePort), in one run. Both keep their database in RAM (the guest's
 * /tmp, the host's /dev/shm), so the comparison is SQLite over Kiln's POSIX layer and musl
 * against SQLite over Linux and glibc. The time compared is speedtest1's own TOTAL (the sum of
 * its timed steps, boot and process start excluded). Also finds the smallest --mem in which the
 * shell (sqlite3.hvt) runs a small script.
 */
final class SqliteBench {
    static final String SYNTAX = "kiln bench sqlite [--size N] [--runs N] [--tree DIR] [--out DIR]";
    static final double TARGET = 0.9;
    static final long GUEST_MEMORY = 256L << 20;
    private static final Pattern TOTAL = Pattern.compile("(?m)^\\s*TOTAL\\.+\\s+([0-9.]+)s\\s*$");

    private final PrintStream out;
    private final PrintStream err;

    SqliteBench(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    int execute(String[] args) throws IOException, InterruptedException {
        Options options = new Options()
                .addOption(CommandLines.valued(null, "size", "N", "speedtest1 --size (default 25; its own default is 100)"))
                .addOption(CommandLines.valued(null, "runs", "N", "runs of each side; the median is compared (default 3)"))
                .addOption(CommandLines.valued(null, "tree", "DIR", "the Kiln tree whose guest/ports/sqlite* are built (default: this one)"))
                .addOption(CommandLines.valued(null, "out", "DIR", "where the images and host programs go (default: TREE/guest/out)"))
                .addOption(CommandLines.flag("help", "show this help"));
        int size;
        int runs;
        Path tree;
        Path outDir;
        try {
            ParsedLine cl = CommandLines.parse(options, args, false);
            if (cl.hasOption("help")) {
                CommandLines.help(out, SYNTAX, "SQLite's speedtest1 as a guest and as a host process from the same source and"
                        + " options, in one run; target: guest >= " + TARGET + "x the host's speed.", options, "");
                return 0;
            }
            if (!cl.getArgList().isEmpty()) throw new UsageException("unexpected argument " + cl.getArgList().getFirst());
            size = (int) CommandLines.longValue(cl, "size", 25, 1, 10_000);
            runs = (int) CommandLines.longValue(cl, "runs", 3, 1, 100);
            tree = Path.of(cl.hasOption("tree") ? cl.getOptionValue("tree") : System.getProperty("kiln.home", "."));
            outDir = cl.hasOption("out") ? Path.of(cl.getOptionValue("out")) : tree.resolve("guest/out");
        } catch (UsageException e) {
            err.println("kiln bench sqlite: " + e.getMessage());
            err.println("usage: " + SYNTAX);
            return Main.EXIT_USAGE;
        }
        try (Monitor monitor = Monitor.open()) {
            Path image = SqlitePort.guestImage(tree, SqlitePort.SPEEDTEST, outDir);
            Path host = SqlitePort.hostProgram(tree, SqlitePort.SPEEDTEST, outDir);
            Path shell = SqlitePort.guestImage(tree, SqlitePort.SHELL, outDir);
            HvtImage img = HvtImage.read(image);
            double[] hostS = new double[runs];
            double[] guestS = new double[runs];
            for (int i = 0; i < runs; i++) {
                // alternate, so a slow phase of the machine falls on both sides
                hostS[i] = runHost(host, size);
                guestS[i] = runGuest(monitor, img, size);
            }
            double h = median(hostS);
            double g = median(guestS);
            double speed = h / g;
            out.printf(Locale.ROOT, "kiln bench sqlite: speedtest1 --size %d, %d run%s of each (medians), same run; %s%n", size, runs,
                    runs == 1 ? "" : "s", BenchCommand.execution(monitor));
            out.println("  source: SQLite 3.40.1 (Debian's sqlite3 3.40.1-2+deb12u2), amalgamation generated once, options from "
                    + SqlitePort.SPEEDTEST + "/kiln.toml on both sides");
            out.printf(Locale.ROOT, "  host process: %s (gcc -O2, glibc), database in /dev/shm%n", host.getFileName());
            out.printf(Locale.ROOT, "  guest: %s (musl over Kiln's POSIX layer), %d MiB, database in /tmp (RAM)%n",
                    image.getFileName(), GUEST_MEMORY >> 20);
            out.printf(Locale.ROOT, "  host  TOTAL: %.3f s (runs: %s)%n", h, list(hostS));
            out.printf(Locale.ROOT, "  guest TOTAL: %.3f s (runs: %s)%n", g, list(guestS));
            out.printf(Locale.ROOT, "  guest speed: %.3fx the host's (host time / guest time); %s%n", speed,
                    new Target(">= " + TARGET + "x").verdict(speed >= TARGET));
            double firstMs = shellFirstOutputMs(monitor, shell);
            out.printf(Locale.ROOT, "  boot to first output (%s :memory: 'select 1;': create, boot, musl start-up, mount, print):"
                    + " %.2f ms median of 5; %s%n", shell.getFileName(), firstMs,
                    new Target("<= " + FirstOutput.TARGET_MS + " ms").verdict(firstMs <= FirstOutput.TARGET_MS));
            int mem = smallestShellMemory(monitor, shell);
            out.printf(Locale.ROOT, "  smallest --mem for the shell (%s, --rootfs, a 1,000-row script): %s%n", shell.getFileName(),
                    mem < 0 ? "none up to 64 MiB" : mem + " MiB");
            out.printf(Locale.ROOT, "  image sizes: %s %d bytes, %s %d bytes%n", shell.getFileName(), Files.size(shell),
                    image.getFileName(), Files.size(image));
            return speed >= TARGET ? 0 : 1;
        } catch (BuildException | BadRun e) {
            err.println("kiln bench sqlite: " + e.getMessage());
            return 1;
        } catch (ImageException e) {
            err.println("kiln bench sqlite: " + e.getMessage());
            return Main.EXIT_CANNOT_START;
        }
    }

    static final class BadRun extends Exception {
        BadRun(String message) {
            super(message);
        }
    }

    private static double runHost(Path host, int size) throws IOException, InterruptedException, BadRun {
        Path shm = Path.of("/dev/shm");
        Path dir = Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
        Path db = dir.resolve("kiln-speedtest1-" + ProcessHandle.current().pid() + ".db");
        try {
            Process p = new ProcessBuilder(host.toString(), "--size", Integer.toString(size), db.toString())
                    .redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new BadRun("the host speedtest1 ended badly; its output:\n" + output.strip());
            }
            return total("host", output);
        } finally {
            Files.deleteIfExists(db);
            Files.deleteIfExists(Path.of(db + "-journal"));
        }
    }

    private static double runGuest(Monitor monitor, HvtImage image, int size) throws ImageException, BadRun {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        InstanceSpec spec = InstanceSpec.of(image, console, "--size", Integer.toString(size), "/tmp/speedtest1.db")
                .withMemory(GUEST_MEMORY).withTimeLimit(Duration.ofMinutes(30));
        try (Instance instance = monitor.create(spec)) {
            Outcome o = instance.run();
            String output = console.toString(StandardCharsets.UTF_8);
            if (!(o instanceof Outcome.Halted hl) || hl.status() != 0) {
                throw new BadRun("the guest speedtest1 ended badly (" + o.describe() + "); its console:\n" + output.strip());
            }
            return total("guest", output);
        }
    }

    static double total(String side, String output) throws BadRun {
        Matcher m = TOTAL.matcher(output);
        if (!m.find()) throw new BadRun("no TOTAL line in the " + side + " speedtest1's output:\n" + output.strip());
        return Double.parseDouble(m.group(1));
    }

    /** The script the memory search runs: a table of 1,000 rows, an index, an aggregate. */
    static final String MEMORY_SCRIPT = """
            CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);
            WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL SELECT x + 1 FROM c WHERE x < 1000)
            INSERT INTO t SELECT x, printf('row %05d', x) FROM c;
            CREATE INDEX tb ON t(b);
            SELECT count(*), sum(a), max(b) FROM t;
            """;
    static final String MEMORY_EXPECTED = "1000|500500|row 01000\n";

    /** Boot to first output of the shell answering one query (FirstOutput), median of 5, in milliseconds. */
    static double shellFirstOutputMs(Monitor monitor, Path shell) throws IOException, ImageException, BadRun {
        Path root = Files.createTempDirectory("kiln-sqlite-first");
        HvtImage img = HvtImage.read(shell);
        try (RootfsOption rootfs = RootfsOption.prepare(root, shell, img)) {
            InstanceSpec spec = InstanceSpec.of(img, java.io.OutputStream.nullOutputStream(), ":memory:", "select 1;")
                    .withMemory(8L << 20).withTimeLimit(Duration.ofSeconds(30)).withDevices(List.of(rootfs.attachment()));
            return FirstOutput.medianMillis(monitor, spec, 5);
        } catch (FirstOutput.Failed e) {
            throw new BadRun("the shell's first output: " + e.getMessage());
        } finally {
            Files.deleteIfExists(root);
        }
    }

    /** The smallest whole MiB (2..64) in which the shell runs MEMORY_SCRIPT right, or -1. */
    static int smallestShellMemory(Monitor monitor, Path shell) throws IOException, ImageException {
        Path root = Files.createTempDirectory("kiln-sqlite-mem");
        Files.writeString(root.resolve("q.sql"), MEMORY_SCRIPT);
        HvtImage img = HvtImage.read(shell);
        try (RootfsOption rootfs = RootfsOption.prepare(root, shell, img)) {
            List<DeviceAttachment> devices = List.of(rootfs.attachment());
            for (int mib = 2; mib <= 64; mib++) {
                ByteArrayOutputStream console = new ByteArrayOutputStream();
                InstanceSpec spec = InstanceSpec.of(img, console, ":memory:", ".read /q.sql").withMemory((long) mib << 20)
                        .withTimeLimit(Duration.ofSeconds(60)).withDevices(devices);
                Outcome o;
                try (Instance instance = monitor.create(spec)) {
                    o = instance.run();
                } catch (ImageException e) {
                    continue; // the image does not fit this memory at all
                }
                if (o instanceof Outcome.Halted h && h.status() == 0 && console.toString(StandardCharsets.UTF_8).equals(MEMORY_EXPECTED)) {
                    return mib;
                }
            }
            return -1;
        } finally {
            Files.deleteIfExists(root.resolve("q.sql"));
            Files.deleteIfExists(root);
        }
    }

    static double median(double[] xs) {
        double[] s = xs.clone();
        java.util.Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    private static String list(double[] xs) {
        List<String> s = new ArrayList<>();
        for (double x : xs) s.add(String.format(Locale.ROOT, "%.3f", x));
        return String.join(", ", s);
    }
}
