package dev.kiln.monitor.devices;

/**
 * A token bucket (one token a byte): it starts full at {@code capacity}, refills at {@code rate}
 * tokens a second up to {@code capacity}, and a request takes what is there. Time comes from the
 * caller, in {@link System#nanoTime()} units, so it can be tested without sleeping. Used by one
 * vCPU thread: not thread-safe.
 */
final class TokenBucket {
    private final double rate;
    private final double capacity;
    /** A double, so that fractions of a token earned between two close calls are kept, not lost. */
    private double tokens;
    private long lastNanos;

    TokenBucket(long ratePerSecond, long capacity, long nowNanos) {
        this.rate = ratePerSecond;
        this.capacity = capacity;
        this.tokens = capacity;
        this.lastNanos = nowNanos;
    }

    /** Takes up to {@code want} tokens at {@code nowNanos}; returns how many were granted. */
    long take(long want, long nowNanos) {
        long elapsed = nowNanos - lastNanos;
        if (elapsed > 0) {
            tokens = Math.min(capacity, tokens + rate * elapsed / 1e9);
            lastNanos = nowNanos;
        }
        long granted = (long) Math.min(want, Math.floor(tokens));
        tokens -= granted;
        return granted;
    }
}
