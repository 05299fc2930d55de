package dev.kiln.cli;

import java.util.Arrays;
import java.util.Locale;

/** min / median / p99 of nanosecond samples, printed in milliseconds. */
record LatencySummary(double min, double median, double p99) {
    static LatencySummary of(long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        return new LatencySummary(s[0], s[s.length / 2], s[Math.min(s.length - 1, (int) Math.ceil(s.length * 0.99) - 1)]);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "min %.3f ms  median %.3f ms  p99 %.3f ms", min / 1e6, median / 1e6, p99 / 1e6);
    }
}
