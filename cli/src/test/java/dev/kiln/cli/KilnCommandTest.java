package dev.kiln.cli;

import dev.kiln.monitor.kvm.Kvm;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line end to end: parsing, exit statuses, messages, and signals to a real process. */
class KilnCommandTest {
    private static final Path GUESTS = Path.of(System.getProperty("kiln.guest.dir", "../guest/out"));
    private static final String CHECK = GUESTS.resolve("hvtcheck.hvt").toString();

    private static void requireKvm() {
        String reason = Kvm.unavailableReason();
        if (reason != null) System.err.println("!!! KVM TESTS SKIPPED: " + reason);
        Assumptions.assumeTrue(reason == null, () -> "KVM TESTS SKIPPED: " + reason);
        assertTrue(Files.isRegularFile(Path.of(CHECK)), CHECK + " is missing: build the test guests first (./kiln build --out guest/out guest/tests/hvtcheck)");
    }

    private static void usageError(String expected, String... args) {
        CliRun r = CliRun.of(args);
        assertEquals(Main.EXIT_USAGE, r.status(), r.err());
        assertTrue(r.err().contains(expected), () -> "expected '" + expected + "' in: " + r.err());
    }

    @Test
    void badCommandLinesAreUsageErrorsThatSayWhatIsWrong() {
        usageError("usage: kiln COMMAND");
        usageError("unknown command 'boot'", "boot");
        usageError("missing IMAGE", "run");
        usageError("--mem=abc: not a memory size: give MiB as a whole number (64), or with a suffix M or G (64M, 1G)",
                "run", "--mem=abc", CHECK);
        usageError("--mem=1.5G: not a memory size", "run", "--mem=1.5G", CHECK);
        usageError("--mem=64K: not a memory size", "run", "--mem=64K", CHECK);
        usageError("--mem=1: must be in 2..4096 MiB (2M..4G)", "run", "--mem=1", CHECK);
        usageError("--mem=9000: must be in 2..4096", "run", "--mem", "9000", CHECK);
        usageError("--mem=5G: must be in 2..4096 MiB", "run", "--mem=5G", CHECK);
        usageError("--mem=1M: must be in 2..4096 MiB", "bench", "clone", "--mem=1M");
        usageError("--timeout=-3: must be a positive number of seconds", "run", "--timeout=-3", CHECK);
        usageError("unknown option --memory", "run", "--memory=4", CHECK);
        usageError("--gdb-port needs --gdb", "run", "--gdb-port=1234", CHECK);
        usageError("--gdb-port=70000: must be in 0..65535", "run", "--gdb", "--gdb-port=70000", CHECK);
        usageError("--net-mac:service0 without --net:service0=TAP", "run", "--net-mac:service0=02:00:00:00:00:01", CHECK);
        usageError("MAC 'zz' must be six hex bytes", "run", "--net:a=tap0", "--net-mac:a=zz", CHECK);
        usageError("--block:a/b=x: device name 'a/b' must be 1..67 letters and digits", "run", "--block:a/b=x", CHECK);
        usageError("--block-sector-size:disk without --block:disk=FILE", "run", "--block-sector-size:disk=4096", CHECK);
        usageError("sector size 1000 must be a power of two", "run", "--block:disk=f", "--block-sector-size:disk=1000", CHECK);
        // a value given as the next word does not end the options: the device option after it is still read
        usageError("sector size 1000 must be a power of two", "run", "--gdb", "--gdb-port", "0", "--timeout", "5",
                "--block:disk=f", "--block-sector-size:disk=1000", CHECK);
        usageError("--console-rate=-1: must be in 0..1073741824", "run", "--console-rate=-1", CHECK);
        usageError("choose a benchmark", "bench");
        usageError("-n 0: must be in 1..1000000", "bench", "boot", "-n", "0");
    }

    /** The option parser's own wording never reaches the user; options are named as they were typed. */
    @Test
    void parserErrorsAreInKilnsWordsAndNameTheOptionAsTyped() {
        usageError("kiln build: -j needs a value (-j N)", "build", "-j");
        usageError("kiln build: --jobs needs a value (--jobs N)", "build", "--jobs");
        usageError("kiln build: -j 0: must be in 1..256", "build", "-j", "0", "app");
        usageError("kiln build: -j x: not a whole number", "build", "-jx", "app");
        usageError("kiln build: --jobs=300: must be in 1..256", "build", "--jobs=300", "app");
        usageError("kiln build: --out needs a value (--out DIR)", "build", "--out");
        usageError("kiln build: unknown option --frob", "build", "--frob=1", "app");
        usageError("kiln libs: unknown option -x", "libs", "-x");
        usageError("kiln build: --lto=1: --lto takes no value", "build", "--lto=1", "app");
        usageError("kiln libs: -v=2: -v takes no value", "libs", "-v=2");
        usageError("kiln run: --stats=yes: --stats takes no value", "run", "--stats=yes", CHECK);
        usageError("kiln run: --mem needs a value (--mem MiB)", "run", "--mem");
        usageError("kiln bench boot: -n needs a value (-n N)", "bench", "boot", "-n");
        usageError("kiln bench compute: --runs needs a value (--runs N)", "bench", "compute", "--runs");
        usageError("kiln net: --ip needs a value (--ip ADDR/PREFIX)", "net", "create", "tap0", "--ip");
        usageError("kiln config: unknown option --frob", "config", "--frob", "list", "x");
        for (String[] args : new String[][] {{"build", "-j"}, {"build", "--frob"}, {"libs", "-x"}, {"run", "--mem"},
                {"bench", "clone", "-n"}, {"bench", "density", "--max"}, {"menuconfig", "--guest-root"}}) {
            CliRun r = CliRun.of(args);
            assertEquals(Main.EXIT_USAGE, r.status(), r.err());
            for (String raw : List.of("Missing argument", "Unrecognized option", "for option:")) {
                assertTrue(!r.err().contains(raw), String.join(" ", args) + ": the parser's wording leaked: " + r.err());
            }
        }
    }

    @Test
    void helpListsEveryCommandAndOption() {
        CliRun help = CliRun.of("help");
        assertEquals(0, help.status(), help.err());
        List<String> missing = new ArrayList<>();
        for (org.apache.commons.cli.Options options : List.of(RunCommand.options(), BuildCommand.options())) {
            for (org.apache.commons.cli.Option o : options.getOptions()) {
                if (o.getLongOpt().equals("help")) continue;
                if (!help.out().contains("--" + o.getLongOpt()) && (o.getOpt() == null || !help.out().contains("-" + o.getOpt() + " ")
                        && !help.out().contains("-" + o.getOpt() + "|"))) {
                    missing.add(o.getLongOpt());
                }
            }
        }
        for (String device : List.of("--block:NAME=FILE", "--block-sector-size:NAME=N", "--net:NAME=TAP", "--net-mac:NAME=MAC",
                "-j|--jobs N", "--guest-root DIR", "libs [-v|--verbose]", "menuconfig APP_DIR", "config list", "net create TAP",
                "delete-netns NS", "kiln version")) {
            if (!help.out().contains(device)) missing.add(device);
        }
        for (String bench : List.of("boot", "restore", "clone", "burst", "density", "compute", "sqlite")) {
            if (!help.out().contains("kiln bench " + bench + " [")) missing.add("bench " + bench);
        }
        assertTrue(missing.isEmpty(), "kiln help does not list " + missing + ":\n" + help.out());
    }

    @Test
    void benchHelpExitsZeroAndListsEveryBenchmark() {
        for (String asked : List.of("--help", "-h", "help")) {
            CliRun r = CliRun.of("bench", asked);
            assertEquals(0, r.status(), r.err());
            for (String syntax : BenchCommand.SYNTAXES) assertTrue(r.out().contains(syntax), r.out());
        }
        for (String bench : List.of("boot", "restore", "clone", "burst", "density", "compute", "sqlite")) {
            CliRun r = CliRun.of("bench", bench, "--help");
            assertEquals(0, r.status(), bench + ": " + r.err());
            assertTrue(r.out().contains("usage: kiln bench " + bench), r.out());
        }
        CliRun wrong = CliRun.of("bench", "bogus");
        assertEquals(Main.EXIT_USAGE, wrong.status());
        assertTrue(wrong.err().contains("unknown benchmark 'bogus'") && wrong.err().contains(CloneBench.SYNTAX), wrong.err());
    }

    @Test
    void helpAndVersion() {
        CliRun help = CliRun.of("run", "--help");
        assertEquals(0, help.status());
        assertTrue(help.out().contains("--mem <MiB>") && help.out().contains("Exit status"), help.out());
        assertEquals("kiln 0.1.0\n", CliRun.of("--version").out());
    }

    @Test
    void aMissingOrBadImageCannotStart(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        requireKvm();
        CliRun missing = CliRun.of("run", dir.resolve("none.hvt").toString());
        assertEquals(Main.EXIT_CANNOT_START, missing.status());
        assertTrue(missing.err().contains("none.hvt: no such file"), missing.err());
        Path junk = Files.writeString(dir.resolve("junk.hvt"), "#!/bin/sh\necho not an image\n");
        CliRun bad = CliRun.of("run", junk.toString());
        assertEquals(Main.EXIT_CANNOT_START, bad.status());
        assertTrue(bad.err().contains("image junk.hvt: not an ELF file"), bad.err());
    }

    @Test
    void exitStatusesFaultsAndTimeLimits() {
        requireKvm();
        assertEquals(7, CliRun.of("run", "--mem=8", CHECK, "exit", "7").status());
        assertEquals(255, CliRun.of("run", "--mem=8", CHECK, "exit", "255").status());
        CliRun fault = CliRun.of("run", "--mem=8", CHECK, "port");
        assertEquals(255, fault.status());
        assertTrue(fault.err().contains("kiln: guest fault: guest wrote to port 0x5ff"), fault.err());
        CliRun spin = CliRun.of("run", "--mem=8", "--timeout=0.3", CHECK, "spin");
        assertEquals(124, spin.status());
        assertTrue(spin.err().contains("kiln: guest ran past its time limit"), spin.err());
        CliRun stats = CliRun.of("run", "--mem=8", "--stats", CHECK, "exit", "0");
        assertTrue(stats.err().matches("(?s)kiln: (native|emulated), create [0-9.]+ ms, load [0-9.]+ ms, guest entry..main [0-9.]+ ms, .*cpu [0-9.]+ ms,"
                + " .*hypercalls 1 \\(HALT 1\\), console 0 bytes \\(0 dropped\\), resident [0-9]+ KiB\\s*"), stats.err());
        // --emulate runs the same guest in KVM's emulator where the host has one (kvm_pvm), and says so
        CliRun emulated = CliRun.of("run", "--mem=8", "--stats", "--emulate", CHECK, "exit", "0");
        assertEquals(0, emulated.status(), emulated.err());
        boolean pvm = Files.isDirectory(Path.of("/sys/module/kvm_pvm"));
        assertTrue(emulated.err().startsWith(pvm ? "kiln: emulated, " : "kiln: native, "), emulated.err());
        assertTrue(stats.err().startsWith("kiln: native, "), stats.err());
    }

    /**
     * A real `kiln run` process; SIGINT and SIGTERM stop the guest cleanly with 130 and 143, and
     * --stats still prints (bench/net/run.sh reads the exit counts of servers it stops this way).
     */
    @Test
    void signalsStopTheGuestCleanly() throws Exception {
        requireKvm();
        for (String[] c : new String[][] {{"INT", "130", "spin"}, {"TERM", "143", "spin"}}) {
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    "dev.kiln.cli.Main", "run", "--mem=8", "--stats", CHECK, c[2]));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            assertEquals("spinning", r.readLine(), "the guest is running");
            Process kill = new ProcessBuilder("kill", "-" + c[0], Long.toString(p.pid())).inheritIO().start();
            assertEquals(0, kill.waitFor());
            assertTrue(p.waitFor(20, TimeUnit.SECONDS), "kiln run did not stop on SIG" + c[0]);
            String rest = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(Integer.parseInt(c[1]), p.exitValue(), rest);
            assertTrue(rest.matches("(?s).*kiln: guest stopped by SIG" + c[0] + "\n"
                    + "kiln: (native|emulated), create [0-9.]+ ms, .* exits [0-9]+ \\(io [0-9]+, .*hypercalls [0-9]+ \\(.*"), rest);
        }
    }

    /** --mem takes MiB as solo5-hvt does, or an M or G suffix; the guest's boot info shows what it got. */
    @Test
    void memorySizesTakeSuffixesAndPlainNumbersAreMiB() throws Exception {
        requireKvm();
        for (String[] c : new String[][] {{"64", "67108864"}, {"64M", "67108864"}, {"64mib", "67108864"},
                {"1G", "1073741824"}, {"2g", "2147483648"}}) {
            Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    "dev.kiln.cli.Main", "run", "--mem=" + c[0], CHECK, "bootinfo").redirectErrorStream(true).start();
            String printed = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), printed);
            assertTrue(printed.startsWith("mem_size=" + c[1] + " "), "--mem=" + c[0] + ": " + printed);
        }
    }

    /** A `kiln run` process refuses a block file another monitor (here, this JVM) has attached: exit 125, naming the file. */
    @Test
    void aBlockFileInUseByAnotherMonitorCannotStart(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        requireKvm();
        String blockcheck = GUESTS.resolve("blockcheck.hvt").toString();
        Path disk = dir.resolve("disk.img");
        Files.write(disk, new byte[8192]);
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "dev.kiln.cli.Main", "run", "--mem=4", "--block:storage=" + disk, blockcheck, "info");
        try (dev.kiln.monitor.Monitor monitor = dev.kiln.monitor.Monitor.open();
             dev.kiln.monitor.Instance holder = monitor.create(dev.kiln.monitor.InstanceSpec.of(
                     dev.kiln.monitor.image.HvtImage.read(Path.of(blockcheck)), System.out, "info").withMemory(4L << 20)
                     .withDevices(List.of(new dev.kiln.monitor.DeviceAttachment.Block("storage", disk, 512))))) {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(Main.EXIT_CANNOT_START, p.exitValue(), text);
            assertTrue(text.contains("block device 'storage': " + disk + " is in use by another monitor"), text);
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), text);
        assertEquals("capacity=8192 block_size=512 handle=1\n", text, "free again once the holder is closed");
    }

    /** A guest writing past the default console limit (ConsoleLimit.DEFAULT) has the rest dropped, and --stats says how much. */
    @Test
    void consoleOutputPastTheLimitIsDroppedAndShownByStats() throws Exception {
        requireKvm();
        int n = 12 << 20;
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "dev.kiln.cli.Main", "run", "--mem=8", "--stats", CHECK, "puts-big", Integer.toString(n))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), err);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("console ([0-9]+) bytes \\(([0-9]+) dropped\\)").matcher(err);
        assertTrue(m.find(), err);
        long written = Long.parseLong(m.group(1)), dropped = Long.parseLong(m.group(2));
        assertEquals(n, written + dropped, err);
        assertTrue(written >= 4 << 20 && dropped > 0, err);
        // --console-rate=0 lifts the limit: every byte reaches stdout
        Process all = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "dev.kiln.cli.Main", "run", "--mem=8", "--stats", "--console-rate=0", CHECK, "puts-big", Integer.toString(n))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        String allErr = new String(all.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(all.waitFor(60, TimeUnit.SECONDS));
        assertTrue(allErr.contains("console " + n + " bytes (0 dropped)"), allErr);
    }

    /**
     * A `kiln run` process puts itself under the seccomp filter once the guest's resources are open
     * (/proc/PID/status, proc(5): "Seccomp: 2" is filter mode), the guest runs, and SIGTERM still
     * stops it cleanly; --no-seccomp leaves it unconfined.
     */
    @Test
    void kilnRunConfinesItselfUnlessToldNotTo() throws Exception {
        requireKvm();
        for (boolean confined : new boolean[] {true, false}) {
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), "dev.kiln.cli.Main", "run", "--mem=8"));
            if (!confined) cmd.add("--no-seccomp");
            cmd.addAll(List.of(CHECK, "spin"));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            assertEquals("spinning", r.readLine(), "the guest is running");
            String status = Files.readString(Path.of("/proc/" + p.pid() + "/status"));
            assertTrue(status.contains(confined ? "\nSeccomp:\t2\n" : "\nSeccomp:\t0\n"), status);
            assertTrue(status.contains(confined ? "\nNoNewPrivs:\t1\n" : "\nNoNewPrivs:\t0\n"), status);
            assertEquals(0, new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).inheritIO().start().waitFor());
            assertTrue(p.waitFor(20, TimeUnit.SECONDS), "kiln run did not stop on SIGTERM");
            assertEquals(143, p.exitValue());
        }
        Process hello = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), "dev.kiln.cli.Main", "run", "--mem=2",
                GUESTS.resolve("helloworld.hvt").toString(), "under", "seccomp").redirectErrorStream(true).start();
        String text = new String(hello.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(hello.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, hello.exitValue(), text);
        assertTrue(text.matches("Hello from Kiln!\nwalltime_ns: [0-9]+\ncmdline: under seccomp\n"), text);
    }

    /**
     * Started as root through the launcher, `kiln run` holds no capability at all (bounding set
     * included) while its guest runs, and still stops cleanly on SIGTERM (issue 9: a confined monitor).
     */
    @Test
    void theLauncherDropsEveryCapabilityForRun() throws Exception {
        requireKvm();
        Path launcher = Path.of("..", "kiln").toAbsolutePath().normalize();
        Assumptions.assumeTrue(Files.isExecutable(launcher) && Files.exists(Path.of("target", "kiln.jar")),
                "the launcher and its jar (mvn package) are needed");
        String self = Files.readString(Path.of("/proc/self/status"));
        Assumptions.assumeTrue(self.contains("\nUid:\t0\t"), "only a root kiln run has capabilities to drop");
        Process p = new ProcessBuilder(launcher.toString(), "run", "--mem=8", CHECK, "spin").redirectErrorStream(true).start();
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        assertEquals("spinning", r.readLine(), "the guest is running");
        String status = Files.readString(Path.of("/proc/" + p.pid() + "/status"));
        assertTrue(status.contains("\nCapEff:\t0000000000000000\n") && status.contains("\nCapPrm:\t0000000000000000\n")
                && status.contains("\nCapBnd:\t0000000000000000\n"), status);
        assertTrue(status.contains("\nSeccomp:\t2\n"), status);
        assertEquals(0, new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).inheritIO().start().waitFor());
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "kiln run did not stop on SIGTERM");
        assertEquals(143, p.exitValue());
    }
}
