package dev.kiln.cli;

import dev.kiln.monitor.kvm.Kvm;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code kiln bench density} and the {@code --plot} charts, on real KVM with short runs. */
class BenchCommandTest {
    private static final Path GUESTS = Path.of(System.getProperty("kiln.guest.dir", "../guest/out"));
    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    private static Path requireKvmAndGuest(String name) {
        String reason = Kvm.unavailableReason();
        if (reason != null) System.err.println("!!! KVM TESTS SKIPPED: " + reason);
        Assumptions.assumeTrue(reason == null, () -> "KVM TESTS SKIPPED: " + reason);
        Path image = GUESTS.resolve(name + ".hvt");
        assertTrue(Files.isRegularFile(image), image + " is missing: build the guests into " + GUESTS + " first (scripts/test does)");
        return image;
    }

    private static void assertPng(Path file) throws IOException {
        assertTrue(Files.isRegularFile(file), file + " was not written");
        byte[] head = Arrays.copyOf(Files.readAllBytes(file), PNG_SIGNATURE.length);
        assertArrayEquals(PNG_SIGNATURE, head, file + " does not start with the PNG signature");
    }

    @Test
    void densityStepsUpToMaxPrintsATableAndPlots(@TempDir Path dir) throws IOException {
        Path image = requireKvmAndGuest("hvtcheck");
        Path plots = dir.resolve("plots");
        CliRun r = CliRun.of("bench", "density", "--image", image.toString(), "--max", "20", "--step", "10",
                "--plot", plots.toString());
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().matches("(?s).*\\n\\s+10\\s+10\\s+0\\s.*\\n\\s+20\\s+20\\s+0\\s.*"), "one line per step, all running: " + r.out());
        assertTrue(r.out().contains("at 20 instances (20 running)"), r.out());
        assertTrue(r.out().contains("stopped and closed 20 instances"), r.out());
        assertTrue(r.out().contains("plot: " + plots.resolve("density-memory.png")), r.out());
        assertPng(plots.resolve("density-memory.png"));
    }

    @Test
    void bootPlotsItsLatencies(@TempDir Path dir) throws IOException {
        Path image = requireKvmAndGuest("helloworld");
        CliRun r = CliRun.of("bench", "boot", "--image", image.toString(), "-n", "20", "--warmup", "5",
                "--process-runs", "0", "--plot", dir.toString());
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().contains("plot: " + dir.resolve("boot-latency.png")), r.out());
        assertPng(dir.resolve("boot-latency.png"));
    }

    /** Every benchmark gives each target its verdict the one way: "target GOAL: met" or "target GOAL: NOT met". */
    @Test
    void everyTargetGetsItsVerdictTheSameWay(@TempDir Path dir) {
        Path check = requireKvmAndGuest("hvtcheck");
        Path fork = requireKvmAndGuest("forkcheck");
        Path hello = requireKvmAndGuest("helloworld");
        java.util.regex.Pattern verdict = java.util.regex.Pattern.compile("target [^:()]+(\\([^)]*\\))?[^:()]*: (met|NOT met)\\b");
        for (String[] run : new String[][] {
                {"bench", "boot", "--image", hello.toString(), "-n", "10", "--warmup", "2", "--process-runs", "0"},
                {"bench", "restore", "--image", check.toString(), "-n", "5"},
                {"bench", "clone", "--image", fork.toString(), "-n", "5"},
                {"bench", "burst", "--image", check.toString(), "-n", "20"},
                // kiln build prints the helloworld image's size target the same way
                {"build", "--guest-root", "../guest", "--out", dir.toString(), "../guest/apps/helloworld"}}) {
            // boot finds its C floor under kiln.home (the tree's root; tests run in cli/).
            String home = System.getProperty("kiln.home");
            System.setProperty("kiln.home", "..");
            CliRun r;
            try {
                r = CliRun.of(run);
            } finally {
                if (home == null) System.clearProperty("kiln.home");
                else System.setProperty("kiln.home", home);
            }
            assertEquals(0, r.status(), r.out() + r.err());
            List<String> targets = r.out().lines().filter(l -> l.contains("target")).toList();
            assertTrue(!targets.isEmpty(), run[1] + " printed no target: " + r.out());
            if (run[0].equals("build")) assertTrue(r.out().contains("target <= 32 KiB: met"), r.out());
            // the C floors run in the same run: the boot's like-for-like one in turns with the JVM's boots
            if (run[1].equals("boot")) assertTrue(r.out().contains("C floor, the same image booted from C (like for like): ")
                    && r.out().contains("(both floors in 5 rounds taking turns with the JVM's boots)"), r.out());
            if (run[1].equals("burst")) {
                assertTrue(java.util.regex.Pattern.compile("C floor, the same 20 guests up at once from C without a thread per guest "
                        + "\\(the creators run each to its first exit\\): [0-9.]+ ms   \\(java/C floor: [0-9.]+x\\)").matcher(r.out()).find(), r.out());
                assertTrue(r.out().matches("(?s).*C floor with a thread per vCPU \\(VMs first\\): [0-9.]+ ms\n.*"), r.out());
            }
            for (String line : targets) {
                assertTrue(verdict.matcher(line).find(), run[1] + ": a target without 'target GOAL: met|NOT met': " + line);
            }
        }
        assertEquals("target <= 1.3x: NOT met", new Target("<= 1.3x").verdict(false));
        assertEquals("target <= 1.3x: met", new Target("<= 1.3x").verdict(true));
    }

    @Test
    void badDensityAndPlotOptionsNameTheValue(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("file"), "not a directory");
        for (String[] c : new String[][] {
                {"--step=0: must be in 1..100000", "density", "--step", "0"},
                {"--max=x: not a whole number", "density", "--max", "x"},
                {"--mem=1: must be in 2..4096", "density", "--mem", "1"},
                {"--plot=" + file + ": not a directory", "density", "--plot", file.toString()},
                {"--plot=" + file + ": not a directory", "boot", "--plot", file.toString()},
                {"--plot=" + file + ": not a directory", "burst", "--plot", file.toString()}}) {
            String[] args = new String[c.length];
            args[0] = "bench";
            System.arraycopy(c, 1, args, 1, c.length - 1);
            CliRun r = CliRun.of(args);
            assertEquals(Main.EXIT_USAGE, r.status(), r.err());
            assertTrue(r.err().contains(c[0]), () -> "expected '" + c[0] + "' in: " + r.err());
        }
    }
}
