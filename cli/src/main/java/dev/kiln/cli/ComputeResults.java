package dev.kiln.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One side's results of a compute run (the host process or the guest): the lines
 * guest/lib/compute's {@code compute_format} prints, one per workload.
 *
 * @param side  "host" or "guest", for messages
 * @param lines in the order printed
 */
record ComputeResults(String side, List<ComputeResults.Line> lines) {
    /** One workload's result line. */
    record Line(String workload, long elems, long reps, long ns, long tsc, String checksum) {}

    /** A run that ended badly or printed something other than the expected lines. */
    static final class BadRun extends Exception {
        BadRun(String message) {
            super(message);
        }
    }

    private static final Pattern LINE = Pattern.compile(
            "(?m)^workload=([a-z]+) elems=(\\d+) reps=(\\d+) ns=(\\d+) tsc=(\\d+) checksum=(0x[0-9a-f]{16})$");

    ComputeResults {
        lines = List.copyOf(lines);
    }

    /** Reads {@code output}, which must hold exactly the {@code expected} workloads, in that order. */
    static ComputeResults parse(String side, String output, List<String> expected) throws BadRun {
        List<Line> lines = new ArrayList<>();
        Matcher m = LINE.matcher(output);
        while (m.find()) {
            lines.add(new Line(m.group(1), Long.parseLong(m.group(2)), Long.parseLong(m.group(3)),
                    Long.parseLong(m.group(4)), Long.parseLong(m.group(5)), m.group(6)));
        }
        List<String> got = lines.stream().map(Line::workload).toList();
        if (!got.equals(expected)) {
            throw new BadRun("the " + side + " printed results for " + got + ", expected " + expected + "; its output:\n"
                    + output.strip());
        }
        return new ComputeResults(side, lines);
    }

    /** How {@code other} differs from these results in sizes or checksums, if it does. */
    Optional<String> mismatch(ComputeResults other) {
        for (int i = 0; i < lines.size(); i++) {
            Line a = lines.get(i), b = other.lines.get(i);
            if (a.elems() != b.elems() || a.reps() != b.reps()) {
                return Optional.of(a.workload() + ": the " + side + " ran " + a.elems() + " x " + a.reps() + ", the " + other.side
                        + " " + b.elems() + " x " + b.reps());
            }
            if (!a.checksum().equals(b.checksum())) {
                return Optional.of(a.workload() + ": checksum " + a.checksum() + " on the " + side + ", " + b.checksum()
                        + " on the " + other.side);
            }
        }
        return Optional.empty();
    }

    /** This side's nanoseconds of workload {@code i}. */
    long ns(int i) {
        return lines.get(i).ns();
    }

    /** Nanoseconds per TSC tick over all workloads, as this side measured them. */
    double nsPerTick() {
        long ns = 0, ticks = 0;
        for (Line l : lines) {
            ns += l.ns();
            ticks += l.tsc();
        }
        return ticks == 0 ? Double.NaN : (double) ns / ticks;
    }
}
