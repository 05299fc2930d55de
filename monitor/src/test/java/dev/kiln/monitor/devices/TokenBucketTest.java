package dev.kiln.monitor.devices;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The console's token bucket on a clock the test moves. */
class TokenBucketTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void aFullBucketGrantsItsBurstThenTheRate() {
        TokenBucket b = new TokenBucket(1000, 4000, 0);
        assertEquals(3000, b.take(3000, 0), "within the burst");
        assertEquals(1000, b.take(5000, 0), "the rest of the burst, no more");
        assertEquals(0, b.take(1, 0), "empty");
        assertEquals(500, b.take(5000, SECOND / 2), "half a second earns half the rate");
        assertEquals(0, b.take(5000, SECOND / 2));
        assertEquals(4000, b.take(10_000, 100 * SECOND), "a long pause refills only up to the burst");
    }

    @Test
    void fractionsOfATokenAreKeptAcrossCloseCalls() {
        TokenBucket b = new TokenBucket(1000, 1000, 0);
        assertEquals(1000, b.take(1000, 0));
        long granted = 0;
        for (long t = 1; t <= 1000; t++) granted += b.take(10, t * SECOND / 1000 / 4); // 0.25 token a call
        assertEquals(250, granted, "a quarter second at 1000/s, asked for in quarter-token steps");
    }

    @Test
    void noLimitGrantsEverything() {
        TokenBucket b = new TokenBucket(Long.MAX_VALUE, Long.MAX_VALUE, 0);
        for (int i = 0; i < 1000; i++) assertEquals(1L << 30, b.take(1L << 30, i));
    }
}
