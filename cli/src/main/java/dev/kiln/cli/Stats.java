package dev.kiln.cli;

import dev.kiln.monitor.InstanceStats;
import dev.kiln.monitor.devices.NetRingIo;

import java.util.Locale;

/** One-line renderings of instance statistics for operators. */
final class Stats {
    private Stats() {}

    static String format(InstanceStats s) {
        long[] hc = s.hypercalls();
        long total = 0;
        for (long n : hc) total += n;
        return String.format(Locale.ROOT,
                "%s, create %.3f ms, load %.3f ms, guest entry..main %s, first output %s, run %.3f ms, cpu %s,"
                        + " exits %d (io %d, mmio %d, intr %d, other %d), hypercalls %d%s, console %d bytes (%d dropped), resident %s",
                s.mode().label(), s.createNanos() / 1e6, s.loadNanos() / 1e6,
                s.entryToMainNanos() < 0 ? "unknown" : String.format(Locale.ROOT, "%.3f ms", s.entryToMainNanos() / 1e6),
                s.firstOutputNanos() < 0 ? "none" : String.format(Locale.ROOT, "%.3f ms", s.firstOutputNanos() / 1e6),
                s.runNanos() / 1e6,
                s.cpuNanos() < 0 ? "unknown" : String.format(Locale.ROOT, "%.3f ms", s.cpuNanos() / 1e6),
                s.exits().total(), s.exits().io(), s.exits().mmio(), s.exits().interrupted(),
                s.exits().other(), total, byName(hc), s.consoleBytes(), s.consoleBytesDropped(),
                s.residentBytes() < 0 ? "unknown" : (s.residentBytes() >> 10) + " KiB") + netRing(s.netRing());
    }

    /** " (POLL 3, PUTS 2, HALT 1)": the hypercalls made, by name; empty when none. */
    private static String byName(long[] counts) {
        StringBuilder b = new StringBuilder();
        for (int nr = 0; nr < counts.length; nr++) {
            if (counts[nr] == 0) continue;
            b.append(b.isEmpty() ? " (" : ", ").append(dev.kiln.monitor.hvt.Hypercall.name(nr)).append(' ').append(counts[nr]);
        }
        return b.isEmpty() ? "" : b.append(')').toString();
    }

    /** What the network ring did (docs/kiln-abi.md 4); nothing when the instance had none. */
    private static String netRing(NetRingIo.Stats r) {
        if (r == null) return "";
        return String.format(Locale.ROOT, ", net ring: frames in %d, out %d, kicks %d, wake-ups %d, invalid entries %d,"
                + " dropped %d", r.framesIn(), r.framesOut(), r.kicks(), r.wakeups(), r.invalid(), r.dropped());
    }
}
