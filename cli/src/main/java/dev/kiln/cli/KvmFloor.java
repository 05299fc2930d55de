package dev.kiln.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The C floor of the boot and burst benchmarks: bench/kvm-floor/kvm_floor.c, compiled with the
 * host's gcc and run as a process of its own beside the JVM, in the same run, so that every
 * target has the least a C program can do on this host next to it. When the floor cannot run (no
 * source, no gcc, it fails) the reason is printed and the benchmark goes on without it.
 */
final class KvmFloor implements AutoCloseable {
    private static final Pattern SAMPLE = Pattern.compile("(?m)^us ([0-9.]+)$");
    private static final Pattern BURST = Pattern.compile("burst n=[0-9]+ up_ms=([0-9.]+)");

    private final Path binary;
    private final PrintStream out;

    private KvmFloor(Path binary, PrintStream out) {
        this.binary = binary;
        this.out = out;
    }

    /** Compiles the floor; null (with the reason printed) when it cannot be. */
    static KvmFloor compile(Path home, PrintStream out) throws IOException, InterruptedException {
        Path src = home.resolve("bench/kvm-floor/kvm_floor.c");
        if (!Files.exists(src)) {
            out.println("  C floor: skipped, " + src + " not found");
            return null;
        }
        Path bin = Files.createTempDirectory("kiln-floor").resolve("kvm_floor");
        Process cc = new ProcessBuilder("gcc", "-O2", "-pthread", "-o", bin.toString(), src.toString()).inheritIO().start();
        if (cc.waitFor() != 0) {
            Files.deleteIfExists(bin.getParent());
            out.println("  C floor: skipped, gcc failed");
            return null;
        }
        return new KvmFloor(bin, out);
    }

    /**
     * {@code n} whole boots, one after another: each one's nanoseconds, in the order taken; null
     * (with a note) when the floor failed. With an {@code image}, each boot runs that hvt image
     * to its HALT (its hypercalls answered); without, a guest of one instruction to its exit.
     */
    long[] boots(int n, boolean parked, boolean vif, Path image) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of(Integer.toString(n), "raw"));
        if (parked) args.add("parked");
        if (vif) args.add("vif");
        if (image != null) args.add("image=" + image);
        Matcher m = run(args, SAMPLE);
        if (m == null) return null;
        long[] nanos = new long[n];
        int i = 0;
        do {
            if (i == n) break;
            nanos[i++] = Math.round(Double.parseDouble(m.group(1)) * 1e3);
        } while (m.find());
        if (i != n) {
            out.println("  C floor: failed: printed " + i + " samples of " + n);
            return null;
        }
        return nanos;
    }

    /**
     * Milliseconds to bring {@code n} idle guests up at once, each with a thread of its own or
     * ({@code shared}) run to their first exit by the creators; negative (with a note) when the
     * floor failed.
     */
    double burstMillis(int n, boolean vif, boolean shared) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("burst", Integer.toString(n)));
        if (vif) args.add("vif");
        if (shared) args.add("shared");
        Matcher m = run(args, BURST);
        return m == null ? -1 : Double.parseDouble(m.group(1));
    }

    private Matcher run(List<String> args, Pattern answer) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(binary.toString()));
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String printed = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        Matcher m = answer.matcher(printed);
        if (p.exitValue() != 0 || !m.find()) {
            out.println("  C floor: failed: " + printed.strip());
            return null;
        }
        return m;
    }

    @Override
    public void close() throws IOException {
        Files.deleteIfExists(binary);
        Files.deleteIfExists(binary.getParent());
    }
}
