package dev.kiln.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Scale to zero end to end, as root: httpreply with a published port and scale_to_zero_ms sleeps
 * when idle (snapshotted, stopped, its tap kept, the snapshot restored ahead into a VM that waits),
 * and the real curl's next connection wakes it (starts that VM) and gets the page through the
 * daemon's proxy; again and again. A sleeping instance that is started, deleted or left by a
 * daemon closing gives its prepared VM back.
 */
class DaemonScaleToZeroTest {
    static final long PID = ProcessHandle.current().pid();
    static final String BRIDGE = "kz" + (PID % 100000);
    static final String SUBNET = "10.203." + (PID % 200) + ".1/24";

    @TempDir
    Path dir;

    @BeforeAll
    static void require() throws Exception {
        DaemonNetTest.requireRootAndTools();
    }

    static String state(Daemon d, String id) throws Exception {
        return DaemonNetTest.call(d, "GET", "/v1/instances/" + id, null).path("state").asText();
    }

    static void awaitState(Daemon d, String id, String want) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!state(d, id).equals(want)) {
            if (System.nanoTime() > deadline) throw new AssertionError(id + " never became " + want + ": " + state(d, id));
            Thread.sleep(20);
        }
    }

    @Test
    void idleInstanceSleepsAndTheNextConnectionWakesIt() throws Exception {
        int port = DaemonNetTest.freePort();
        try (Daemon d = Daemon.start(TestDaemons.config(dir).withNetwork(BRIDGE, SUBNET), 200)) {
            String sha = DaemonNetTest.call(d, "POST", "/v1/images", "{'path': '" + TestDaemons.guest("httpreply.hvt") + "'}")
                    .path("sha256").asText();
            JsonNode v = DaemonNetTest.call(d, "POST", "/v1/instances",
                    "{'image': '" + sha + "', 'ports': ['" + port + ":80'], 'scale_to_zero_ms': 300}");
            String id = v.path("id").asText();
            assertEquals(300, v.path("scale_to_zero_ms").asInt());
            DaemonNetTest.awaitListening(d, id);
            String url = "http://127.0.0.1:" + port + "/";
            assertTrue(DaemonNetTest.curl(url).contains("Hello from a Kiln unikernel"));
            for (int round = 0; round < 3; round++) {
                awaitState(d, id, "sleeping");
                assertTrue(DaemonNetTest.succeeds("ip", "link", "show", HostNetwork.tapName(id)), "the tap is kept through a sleep");
                assertTrue(DaemonNetTest.call(d, "GET", "/v1/instances/" + id, null).path("wake_prepared").asBoolean(),
                        "asleep, its snapshot is already restored (the wake only starts it)");
                assertTrue(DaemonNetTest.curl(url).contains("Hello from a Kiln unikernel"), "woken by a connection, round " + round);
                assertEquals("running", state(d, id));
            }
            // asleep, its prepared VM holds the instance's reservation; started by hand instead of
            // by a connection, it boots fresh and that VM is given back: one reservation, not two
            awaitState(d, id, "sleeping");
            long oneInstance = (long) v.path("memory_mib").asInt() << 20;
            assertEquals(oneInstance, DaemonNetTest.call(d, "GET", "/v1/host", null).path("memory_reserved_bytes").asLong());
            DaemonNetTest.call(d, "POST", "/v1/instances/" + id + "/start", null);
            assertEquals("running", state(d, id));
            assertEquals(oneInstance, DaemonNetTest.call(d, "GET", "/v1/host", null).path("memory_reserved_bytes").asLong());
            DaemonNetTest.awaitListening(d, id);
            // kept alive by traffic: many requests on one connection do not let it sleep half-way
            assertTrue(DaemonNetTest.sh("curl", "-s", "--max-time", "10", url, url, url).split("Hello from a Kiln").length == 4);

            DaemonNetTest.call(d, "DELETE", "/v1/instances/" + id, null);
            assertFalse(DaemonNetTest.succeeds("curl", "-s", "--max-time", "2", url), "the port closes with the instance");
            assertFalse(DaemonNetTest.succeeds("ip", "link", "show", HostNetwork.tapName(id)));
        }
    }
}
