package dev.kiln.cli;

import dev.kiln.monitor.kvm.Kvm;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code kiln bench compute}: a real run of both sides at a tiny scale (the guest built from this
 * tree by the builder, booted on real KVM; the host process built with gcc), the checks on their
 * result lines, and every bad option. No assertion is about speed: the ratio is only required to
 * be printed with its verdict.
 */
class ComputeBenchTest {
    /** The Kiln tree: the parent of the guest tree the build points the tests at. */
    private static final Path TREE = Path.of(System.getProperty("kiln.guest.root", "../guest")).toAbsolutePath().getParent();

    @Test
    void runsEveryWorkloadOnBothSidesWithMatchingChecksums() {
        String reason = Kvm.unavailableReason();
        if (reason != null) System.err.println("!!! KVM TESTS SKIPPED: " + reason);
        Assumptions.assumeTrue(reason == null, () -> "KVM TESTS SKIPPED: " + reason);
        CliRun r = CliRun.of("bench", "compute", "--scale", "0.00002", "--runs", "1", "--tree", TREE.toString());
        assertEquals(0, r.status(), r.out() + r.err());
        for (String w : ComputeBench.WORKLOADS) {
            Pattern row = Pattern.compile("(?m)^  " + w + " +\\d+ x \\d+ +\\d+\\.\\d{3} ms +\\d+\\.\\d{3} ms +\\d+\\.\\d{4}x   (met|NOT met)$");
            assertTrue(row.matcher(r.out()).find(), "a row for " + w + " with both medians, the ratio and the verdict: " + r.out());
        }
        assertTrue(r.out().contains("scale: 0.00002 (--scale)"), r.out());
        assertTrue(r.out().contains("checksums: host and guest equal on every workload in every run"), r.out());
        assertTrue(r.out().contains("-mgeneral-regs-only -mno-red-zone"), "the flags both sides were built with: " + r.out());
        assertTrue(Pattern.compile("(?m)^  guest: computebench\\.hvt, 64 MiB; execution: (native|emulated|unknown)$")
                .matcher(r.out()).find(), r.out());
        assertTrue(Pattern.compile("(?m)^summary: \\d of 5 workloads at >= 0\\.95x the host process \\(target >= 0\\.95x on every workload: (met|NOT met); ")
                .matcher(r.out()).find(), r.out());
    }

    @Test
    void badOptionsNameTheValueAndExit2() {
        for (String[] c : new String[][] {
                {"--runs=0: must be in 1..1000", "--runs", "0"},
                {"--runs=x: not a whole number", "--runs", "x"},
                {"--scale=0: must be in 0.000001..100", "--scale", "0"},
                {"--scale=-1: must be in 0.000001..100", "--scale=-1"},
                {"--scale=101: must be in 0.000001..100", "--scale", "101"},
                {"--scale=fast: not a number", "--scale", "fast"},
                {"--scale=0.0000001: finer than a millionth", "--scale", "0.0000001"},
                {"unexpected argument extra", "extra"},
                {"kiln bench compute: unknown option --bogus", "--bogus"}}) {
            String[] args = new String[c.length + 1];
            args[0] = "bench";
            args[1] = "compute";
            System.arraycopy(c, 1, args, 2, c.length - 1);
            CliRun r = CliRun.of(args);
            assertEquals(Main.EXIT_USAGE, r.status(), r.err());
            assertTrue(r.err().contains(c[0]), () -> "expected '" + c[0] + "' in: " + r.err());
            assertTrue(r.err().contains("usage: kiln bench compute"), r.err());
        }
    }

    @Test
    void aTreeWithoutTheHostDriverIsRefusedByName(@TempDir Path dir) {
        CliRun r = CliRun.of("bench", "compute", "--tree", dir.toString());
        assertEquals(1, r.status(), r.out() + r.err());
        assertTrue(r.err().contains(dir.resolve("bench/compute/host_main.c") + " not found"), r.err());
    }

    @Test
    void helpExitsZero() {
        CliRun r = CliRun.of("bench", "compute", "--help");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("usage: kiln bench compute"), r.out());
        assertTrue(r.out().contains("--scale"), r.out());
    }

    private static final String LINES = """
            computebench: host arena_bytes=4096
            workload=integer elems=66 reps=1 ns=10 tsc=26 checksum=0xa1c49263656be49e
            workload=memory elems=1024 reps=1 ns=5 tsc=12 checksum=0x7fcdc1d6afb7d78a
            workload=sort elems=167 reps=1 ns=4 tsc=12 checksum=0xfc2e0893aa06cd84
            workload=hash elems=2680 reps=1 ns=10 tsc=27 checksum=0xb1f3d63366fa7aaf
            workload=minimark elems=1 reps=1 ns=8 tsc=21 checksum=0x8b3f798f24000001
            """;

    @Test
    void resultsAgreeOnlyWhenSizesAndChecksumsDo() throws ComputeResults.BadRun {
        ComputeResults host = ComputeResults.parse("host", LINES, ComputeBench.WORKLOADS);
        assertEquals(List.of(10L, 5L, 4L, 10L, 8L), host.lines().stream().map(ComputeResults.Line::ns).toList());
        ComputeResults same = ComputeResults.parse("guest", LINES.replace("ns=10 ", "ns=99999 "), ComputeBench.WORKLOADS);
        assertFalse(host.mismatch(same).isPresent(), "times may differ, results may not");

        ComputeResults otherSum = ComputeResults.parse("guest", LINES.replace("0xfc2e0893aa06cd84", "0xfc2e0893aa06cd85"),
                ComputeBench.WORKLOADS);
        assertEquals("sort: checksum 0xfc2e0893aa06cd84 on the host, 0xfc2e0893aa06cd85 on the guest",
                host.mismatch(otherSum).orElseThrow());
        ComputeResults otherSize = ComputeResults.parse("guest", LINES.replace("elems=2680", "elems=2688"), ComputeBench.WORKLOADS);
        assertEquals("hash: the host ran 2680 x 1, the guest 2688 x 1", host.mismatch(otherSize).orElseThrow());
    }

    @Test
    void aMissingOrMalformedLineIsABadRun() {
        String noSort = LINES.lines().filter(l -> !l.contains("=sort ")).reduce("", (a, b) -> a + b + "\n");
        var e = assertThrows(ComputeResults.BadRun.class, () -> ComputeResults.parse("guest", noSort, ComputeBench.WORKLOADS));
        assertTrue(e.getMessage().startsWith("the guest printed results for [integer, memory, hash, minimark], expected"
                + " [integer, memory, sort, hash, minimark]"), e.getMessage());
        String shortSum = LINES.replace("0xb1f3d63366fa7aaf", "0xb1f3");
        assertThrows(ComputeResults.BadRun.class, () -> ComputeResults.parse("host", shortSum, ComputeBench.WORKLOADS));
    }
}
