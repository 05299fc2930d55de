package dev.kiln.monitor;

/**
 * How much console output one guest may write: {@code bytesPerSecond} on average, in bursts of up
 * to {@code burstBytes}. A guest that writes faster has the excess dropped and counted
 * ({@link InstanceStats#consoleBytesDropped()}), so a runaway guest cannot fill the host's disk or
 * log pipe, as a serial line drops what overruns it.
 */
public record ConsoleLimit(long bytesPerSecond, long burstBytes) {
    /** 1 MiB/s with 4 MiB of burst: far more than a person reads, far less than a disk takes. */
    public static final ConsoleLimit DEFAULT = new ConsoleLimit(1L << 20, 4L << 20);
    /** No limit (benchmarks and tests that measure output itself). */
    public static final ConsoleLimit NONE = new ConsoleLimit(Long.MAX_VALUE, Long.MAX_VALUE);

    public ConsoleLimit {
        if (bytesPerSecond <= 0 || burstBytes <= 0) {
            throw new IllegalArgumentException("console limit must be positive, got " + bytesPerSecond + " B/s, burst " + burstBytes + " B");
        }
    }
}
