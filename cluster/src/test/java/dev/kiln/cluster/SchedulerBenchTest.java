package dev.kiln.cluster;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** kiln bench cluster, small: a real etcd of its own, every instance placed, both targets given a verdict. */
class SchedulerBenchTest {
    @Test
    void placesEveryInstanceAndJudgesBothTargets() throws Exception {
        Assumptions.assumeTrue(EtcdMembers.available(), "etcd-server is not installed (scripts/prereqs)");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int status = new SchedulerBench(new PrintStream(out, true, StandardCharsets.UTF_8), System.err)
                .execute(new String[] {"--hosts", "3", "--instances", "2000"});
        String text = out.toString(StandardCharsets.UTF_8);
        System.out.print(text);
        assertEquals(0, status, text);
        assertTrue(text.contains("placement: 2000 instances placed"), text);
        assertTrue(text.matches("(?s).*target >= 1000 placements/s[^:]*: (met|NOT met).*"), text);
        assertTrue(text.matches("(?s).*target re-placement within 5 s of lease expiry: (met|NOT met) \\(.*"), text);
        assertTrue(text.contains("re-placed"), text);
    }
}
