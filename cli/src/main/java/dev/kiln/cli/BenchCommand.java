package dev.kiln.cli;

import dev.kiln.monitor.Instance;
import dev.kiln.monitor.InstanceSpec;
import dev.kiln.monitor.Monitor;
import dev.kiln.monitor.Outcome;
import dev.kiln.monitor.image.HvtImage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code kiln bench ...}: benchmarks that print numbers beside a baseline measured in the same run. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks.",
        subcommands = {BenchCommand.Boot.class})
final class BenchCommand implements Runnable {
    @Override
    public void run() {
        System.err.println("kiln bench: choose a benchmark: boot");
    }

    /**
     * Boot latency: N boots of one image in this JVM (create, first console byte, halt, teardown),
     * beside the C floor (a C program doing the least KVM work to run a guest to HLT) and the whole
     * {@code kiln run} process time.
     */
    @Command(name = "boot", mixinStandardHelpOptions = true,
            description = "Boot an image N times in one JVM; compare with a C floor and with whole kiln run processes.")
    static final class Boot implements Callable<Integer> {
        @Option(names = "-n", description = "Boots to measure (default ${DEFAULT-VALUE}).", defaultValue = "200")
        int n;

        @Option(names = "--warmup", description = "Boots run first and not counted (default ${DEFAULT-VALUE}).",
                defaultValue = "50")
        int warmup;

        @Option(names = "--mem", paramLabel = "MiB", description = "Guest memory (default ${DEFAULT-VALUE}).",
                defaultValue = "2")
        long memMiB;

        @Option(names = "--image", description = "Image to boot (default: guest/out/hello.hvt).")
        Path image;

        @Option(names = "--process-runs", description = "Whole 'kiln run' processes to time (default ${DEFAULT-VALUE}; 0 skips).",
                defaultValue = "20")
        int processRuns;

        @Override
        public Integer call() throws Exception {
            Path home = Path.of(System.getProperty("kiln.home", "."));
            Path img = image != null ? image : home.resolve("guest/out/hello.hvt");
            if (n < 1 || warmup < 0 || processRuns < 0) {
                System.err.println("kiln bench boot: -n must be >= 1, --warmup and --process-runs >= 0");
                return Main.EXIT_CANNOT_START;
            }
            HvtImage hvt = HvtImage.read(img);
            System.out.printf(Locale.ROOT, "kiln bench boot: %s, %d MiB, %d boots (+%d warm-up) in one JVM%n",
                    img, memMiB, n, warmup);

            long[] total = new long[n];
            long[] firstOutput = new long[n];
            try (Monitor monitor = Monitor.open()) {
                InstanceSpec spec = new InstanceSpec(hvt, memMiB << 20, List.of(), OutputStream.nullOutputStream(), null);
                for (int i = -warmup; i < n; i++) {
                    long t0 = System.nanoTime();
                    long first;
                    Outcome o;
                    try (Instance inst = monitor.create(spec)) {
                        o = inst.run();
                        first = inst.stats().firstOutputNanos();
                    }
                    long t1 = System.nanoTime();
                    if (!(o instanceof Outcome.Halted h) || h.status() != 0) {
                        System.err.println("kiln bench boot: boot " + i + " ended badly: " + o.describe());
                        return 1;
                    }
                    if (i >= 0) {
                        total[i] = t1 - t0;
                        firstOutput[i] = first;
                    }
                }
            }
            Summary java = Summary.of(total);
            Summary first = Summary.of(firstOutput);
            System.out.println("  java in-JVM boot (create..teardown): " + java);
            System.out.println("  java create..first console byte:     " + first);

            Summary floor = cFloor(home, n);
            if (floor != null) {
                System.out.println("  C floor (create VM..HLT..teardown):  " + floor);
                System.out.printf(Locale.ROOT, "  ratio java/C floor (median): %.2fx   (target <= 2x, and median <= 1.5 ms)%n",
                        java.median / floor.median);
            }
            if (processRuns > 0) {
                Path launcher = home.resolve("kiln");
                long[] proc = new long[processRuns];
                for (int i = 0; i < processRuns; i++) {
                    long t0 = System.nanoTime();
                    Process p = new ProcessBuilder(launcher.toString(), "run", "--mem=" + memMiB, img.toString())
                            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                            .redirectError(ProcessBuilder.Redirect.INHERIT).start();
                    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                        p.destroyForcibly();
                        System.err.println("kiln bench boot: '" + launcher + " run' failed");
                        return 1;
                    }
                    proc[i] = System.nanoTime() - t0;
                }
                System.out.println("  whole 'kiln run' process:           " + Summary.of(proc) + "   (target <= 150 ms)");
            }
            return 0;
        }

        /** Compiles and runs bench/kvm-floor/kvm_floor.c; null (with a note) when it cannot. */
        private static Summary cFloor(Path home, int n) throws IOException, InterruptedException {
            Path src = home.resolve("bench/kvm-floor/kvm_floor.c");
            if (!Files.exists(src)) {
                System.out.println("  C floor: skipped, " + src + " not found");
                return null;
            }
            Path bin = Files.createTempDirectory("kiln-floor").resolve("kvm_floor");
            Process cc = new ProcessBuilder("gcc", "-O2", "-o", bin.toString(), src.toString()).inheritIO().start();
            if (cc.waitFor() != 0) {
                System.out.println("  C floor: skipped, gcc failed");
                return null;
            }
            Process p = new ProcessBuilder(bin.toString(), Integer.toString(n)).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor();
            Files.deleteIfExists(bin);
            Files.deleteIfExists(bin.getParent());
            Matcher m = Pattern.compile("min_us=([0-9.]+) median_us=([0-9.]+) p99_us=([0-9.]+)").matcher(out);
            if (p.exitValue() != 0 || !m.find()) {
                System.out.println("  C floor: failed: " + out.strip());
                return null;
            }
            return new Summary(Double.parseDouble(m.group(1)) * 1e3, Double.parseDouble(m.group(2)) * 1e3,
                    Double.parseDouble(m.group(3)) * 1e3);
        }
    }

    /** min / median / p99 of nanosecond samples, printed in milliseconds. */
    record Summary(double min, double median, double p99) {
        static Summary of(long[] nanos) {
            long[] s = nanos.clone();
            Arrays.sort(s);
            return new Summary(s[0], s[s.length / 2], s[Math.min(s.length - 1, (int) Math.ceil(s.length * 0.99) - 1)]);
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "min %.3f ms  median %.3f ms  p99 %.3f ms", min / 1e6, median / 1e6, p99 / 1e6);
        }
    }
}
