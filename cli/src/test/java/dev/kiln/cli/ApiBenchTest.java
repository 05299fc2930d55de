package dev.kiln.cli;

import dev.kiln.monitor.kvm.Kvm;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * kiln bench api, small: it runs, counts what it did (a daemon process killed with SIGKILL and
 * started again included), and prints its targets with a verdict.
 */
class ApiBenchTest {
    private static final Path GUESTS = Path.of(System.getProperty("kiln.guest.dir", "../guest/out"));

    @Test
    void twentyInstancesThroughTheApi() {
        String reason = Kvm.unavailableReason();
        Assumptions.assumeTrue(reason == null, () -> "KVM TESTS SKIPPED: " + reason);
        // the restart round launches ./kiln daemon, the way a user restarts one, from the checkout
        String home = System.getProperty("kiln.home");
        System.setProperty("kiln.home", GUESTS.toAbsolutePath().getParent().getParent().toString());
        CliRun r;
        try {
            r = CliRun.of("bench", "api", "-n", "20", "--clients", "4", "--seconds", "1", "--wake-rounds", "0",
                    "--image", GUESTS.resolve("hvtcheck.hvt").toString());
        } finally {
            if (home == null) System.clearProperty("kiln.home");
            else System.setProperty("kiln.home", home);
        }
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().matches("(?s).*restart after kill -9: 20 of 20 running again [0-9.]+ s after `kiln daemon` was launched"
                + " \\(it answered after [0-9.]+ s; booting them took \\d+ ms of that\\)  target all within 2 s: (met|NOT met)\n.*"), r.out());
        assertTrue(r.out().matches("(?s).*create\\+start, daemon just started: 20 in [0-9.]+ s = \\d+/s \\(0 refused\\)\n.*"), r.out());
        assertTrue(r.out().matches("(?s).*deleted them \\(stop \\+ remove\\): [0-9.]+ s\n.*"), r.out());
        assertTrue(r.out().matches("(?s).*create\\+start, daemon warmed up by the round above: 20 in [0-9.]+ s = \\d+/s \\(0 refused\\)"
                + "  target 20 in 2 s: (met|NOT met).*"), r.out());
        assertTrue(r.out().matches("(?s).*GET /v1/instances/\\{id\\}: \\d+/s over 1 s with 20 live \\(0 failed\\).*"), r.out());
    }

    @Test
    void badOptionsAreUsageErrors() {
        CliRun r = CliRun.of("bench", "api", "-n", "zero");
        assertEquals(Main.EXIT_USAGE, r.status());
        assertTrue(r.err().contains("usage: kiln bench api"), r.err());
    }
}
