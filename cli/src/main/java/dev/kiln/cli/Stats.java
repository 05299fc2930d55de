package dev.kiln.cli;

import dev.kiln.monitor.InstanceStats;

import java.util.Locale;

/** One-line renderings of instance statistics for operators. */
final class Stats {
    private Stats() {}

    static String format(InstanceStats s) {
        long[] hc = s.hypercalls();
        long total = 0;
        for (long n : hc) total += n;
        return String.format(Locale.ROOT,
                "create %.3f ms, load %.3f ms, first output %s, run %.3f ms, exits %d (io %d, mmio %d, intr %d, other %d),"
                        + " hypercalls %d, console %d bytes",
                s.createNanos() / 1e6, s.loadNanos() / 1e6,
                s.firstOutputNanos() < 0 ? "none" : String.format(Locale.ROOT, "%.3f ms", s.firstOutputNanos() / 1e6),
                s.runNanos() / 1e6, s.exits().total(), s.exits().io(), s.exits().mmio(), s.exits().interrupted(),
                s.exits().other(), total, s.consoleBytes());
    }
}
