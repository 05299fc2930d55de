package dev.kiln.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The daemon's network end to end, as root: httpreply on the daemon's bridge with a published
 * port, reached by the real curl on 127.0.0.1 and on the bridge's own address; the tap and the
 * port go with the instance, everything with the daemon; a restart gives the same address back;
 * leftovers of a killed daemon are removed at start. A bridge and subnet of this test's own keep
 * it clear of any other daemon on the host.
 */
class DaemonNetTest {
    static final long PID = ProcessHandle.current().pid();
    static final String BRIDGE = "kb" + (PID % 100000);
    static final String SUBNET = "10.201." + (PID % 200) + ".1/24";
    static final String TABLE = "kiln_" + BRIDGE;

    @TempDir
    Path dir;

    @BeforeAll
    public static void requireRootAndTools() throws Exception {
        TestDaemons.requireKvm();
        boolean root = "root".equals(System.getProperty("user.name"));
        if (!root) System.err.println("!!! NETWORK TESTS SKIPPED: the daemon's bridge and NAT need root");
        Assumptions.assumeTrue(root, "NETWORK TESTS SKIPPED: not root");
        for (String tool : List.of("ip", "nft", "curl")) sh("sh", "-c", "command -v " + tool);
    }

    static String sh(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) throw new IOException(String.join(" ", cmd) + ": " + out);
        return out;
    }

    static boolean succeeds(String... cmd) {
        try {
            sh(cmd);
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private Daemon start() throws Exception {
        return Daemon.start(TestDaemons.config(dir).withNetwork(BRIDGE, SUBNET), 200);
    }

    static JsonNode call(Daemon d, String method, String path, String json) throws IOException {
        try (DaemonClient c = DaemonClient.connect(d.socket())) {
            DaemonClient.Response r = c.send(method, path, json == null ? null : json.replace('\'', '"').getBytes(StandardCharsets.UTF_8));
            if (r.status() >= 300) throw new AssertionError(method + " " + path + ": " + r.status() + " " + r.text());
            return r.json();
        }
    }

    static DaemonClient.Response raw(Daemon d, String method, String path, String json) throws IOException {
        try (DaemonClient c = DaemonClient.connect(d.socket())) {
            return c.send(method, path, json.replace('\'', '"').getBytes(StandardCharsets.UTF_8));
        }
    }

    /** Waits until the guest's console says it listens. */
    static void awaitListening(Daemon d, String id) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        String log = "";
        while (System.nanoTime() < deadline) {
            try (DaemonClient c = DaemonClient.connect(d.socket())) {
                log = c.get("/v1/instances/" + id + "/logs").text();
            }
            if (log.contains("httpreply: listening on")) return;
            Thread.sleep(20);
        }
        throw new AssertionError("httpreply never listened: " + log);
    }

    static String curl(String url) throws Exception {
        return sh("curl", "-s", "--max-time", "10", url);
    }

    String createHttpreply(Daemon d, int hostPort) throws Exception {
        String sha = call(d, "POST", "/v1/images", "{'path': '" + TestDaemons.guest("httpreply.hvt") + "'}").path("sha256").asText();
        JsonNode v = call(d, "POST", "/v1/instances", "{'image': '" + sha + "', 'net': true, 'ports': ['" + hostPort + ":80']}");
        return v.path("id").asText();
    }

    @Test
    void publishedPortServesCurlAndEverythingGoesWithTheInstanceAndTheDaemon() throws Exception {
        int port = freePort();
        try (Daemon d = start()) {
            String id = createHttpreply(d, port);
            JsonNode v = call(d, "GET", "/v1/instances/" + id, null);
            String address = v.path("net").path("address").asText();
            assertTrue(address.startsWith("10.201."), v.toString());
            assertEquals(List.of(port + ":80"), List.of(v.path("net").path("ports").get(0).asText()));
            awaitListening(d, id);
            assertTrue(curl("http://127.0.0.1:" + port + "/").contains("Hello from a Kiln unikernel"));
            String gateway = SUBNET.substring(0, SUBNET.indexOf('/'));
            assertTrue(curl("http://" + gateway + ":" + port + "/").contains("Hello from a Kiln unikernel"));
            for (String external : sh("ip", "-4", "-o", "addr", "show", "scope", "global").lines()
                    .filter(l -> !l.contains(BRIDGE)).map(l -> l.trim().split("\\s+")[3].split("/")[0]).toList()) {
                assertTrue(curl("http://" + external + ":" + port + "/").contains("Hello from a Kiln unikernel"), external);
            }
            assertTrue(curl("http://" + address + "/").contains("Hello from a Kiln unikernel"), "the guest itself, on the bridge");
            String tap = HostNetwork.tapName(id);
            assertTrue(sh("ip", "-o", "link", "show", "master", BRIDGE).contains(tap));
            assertTrue(sh("nft", "list", "map", "ip", TABLE, "ports").contains(port + " : " + address + " . 80"));

            call(d, "DELETE", "/v1/instances/" + id, null);
            assertFalse(succeeds("ip", "link", "show", tap), "the tap goes with the instance");
            assertFalse(sh("nft", "list", "map", "ip", TABLE, "ports").contains(String.valueOf(port)), "so does the port");
            assertFalse(succeeds("curl", "-s", "--max-time", "2", "http://127.0.0.1:" + port + "/"));

            createHttpreply(d, port);
        }
        assertFalse(succeeds("ip", "link", "show", BRIDGE), "the bridge goes with the daemon");
        assertFalse(succeeds("nft", "list", "table", "ip", TABLE), "so does its table");
        assertTrue(sh("ip", "-o", "link", "show").lines().noneMatch(l -> l.contains(": " + HostNetwork.TAP_PREFIX) && l.contains(BRIDGE)));
    }

    @Test
    void aRestartKeepsTheAddressAndAKilledDaemonsLeftoversAreRemoved() throws Exception {
        int port = freePort();
        String id;
        String address;
        try (Daemon d = start()) {
            id = createHttpreply(d, port);
            address = call(d, "GET", "/v1/instances/" + id, null).path("net").path("address").asText();
        }
        // What a daemon killed with SIGKILL leaves: its bridge, a tap on it, its table with a stale port.
        sh("ip", "link", "add", BRIDGE, "type", "bridge");
        sh("ip", "tuntap", "add", "kt0123456789ab", "mode", "tap");
        sh("ip", "link", "set", "kt0123456789ab", "master", BRIDGE);
        sh("nft", "add", "table", "ip", TABLE);
        sh("nft", "add", "map", "ip", TABLE, "ports", "{ type inet_service : ipv4_addr . inet_service ; }");
        sh("nft", "add", "element", "ip", TABLE, "ports", "{ 1 : 10.201.0.9 . 80 }");
        try (Daemon d = start()) {
            assertFalse(succeeds("ip", "link", "show", "kt0123456789ab"), "a leftover tap is removed at start");
            assertFalse(sh("nft", "list", "map", "ip", TABLE, "ports").contains("10.201.0.9"), "a leftover port too");
            JsonNode v = call(d, "GET", "/v1/instances/" + id, null);
            assertEquals(address, v.path("net").path("address").asText(), "the address is kept across restarts");
            assertEquals("running", v.path("state").asText());
            awaitListening(d, id);
            assertTrue(curl("http://127.0.0.1:" + port + "/").contains("Hello from a Kiln unikernel"));

            // a second instance gets another address, and may not take a published port
            String second = createHttpreply(d, freePort());
            assertFalse(address.equals(call(d, "GET", "/v1/instances/" + second, null).path("net").path("address").asText()));
            String sha = v.path("image").path("sha256").asText();
            DaemonClient.Response taken = raw(d, "POST", "/v1/instances", "{'image': '" + sha + "', 'ports': ['" + port + ":80']}");
            assertEquals(409, taken.status(), taken.text());
            assertEquals("ports", taken.json().path("error").path("field").asText());
        }
    }

    /** vCPU threads running a guest now (a pooled thread waiting for work is named kiln-vcpu-idle). */
    static long vcpuThreadsInGuests() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().matches("kiln-vcpu-[0-9]+")).count();
    }

    /** Waits up to 2 s for a moment when no vCPU thread runs a guest. */
    static boolean allAsleep() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (System.nanoTime() < deadline) {
            if (vcpuThreadsInGuests() == 0) return true;
            Thread.sleep(5);
        }
        return false;
    }

    @Test
    void idleServersGiveTheirThreadsBackAndWakeForEachRequest() throws Exception {
        int port = freePort(), port2 = freePort();
        try (Daemon d = start()) {
            String a = createHttpreply(d, port), b = createHttpreply(d, port2);
            awaitListening(d, a);
            awaitListening(d, b);
            // Quiet for 10 ms, each server sleeps in POLL without a thread, its tap watched by the
            // monitor's input waker (PollModule.QUIET_NANOS, InputWaker).
            assertTrue(allAsleep(), "two idle servers still hold " + vcpuThreadsInGuests() + " vCPU threads");
            for (int i = 0; i < 5; i++) {
                // the request's first frame wakes the server; it answers on whatever thread is free
                assertTrue(curl("http://127.0.0.1:" + port + "/").contains("Hello from a Kiln unikernel"), "request " + i);
                assertTrue(curl("http://127.0.0.1:" + port2 + "/").contains("Hello from a Kiln unikernel"), "request " + i);
                assertTrue(allAsleep(), "after request " + i + ": " + vcpuThreadsInGuests() + " vCPU threads in guests");
            }
            assertEquals("running", call(d, "GET", "/v1/instances/" + a, null).path("state").asText());
        }
    }

    @Test
    void malformedNetworkRequestsNameTheirField() throws Exception {
        try (Daemon d = start()) {
            String sha = call(d, "POST", "/v1/images", "{'path': '" + TestDaemons.guest("httpreply.hvt") + "'}").path("sha256").asText();
            String hello = call(d, "POST", "/v1/images", "{'path': '" + TestDaemons.guest("helloworld.hvt") + "'}").path("sha256").asText();
            List<String[]> cases = new ArrayList<>();
            cases.add(new String[] {"{'image': '" + sha + "', 'ports': ['80']}", "ports[0]"});
            cases.add(new String[] {"{'image': '" + sha + "', 'ports': ['70000:80']}", "ports[0]"});
            cases.add(new String[] {"{'image': '" + sha + "', 'ports': [8080]}", "ports[0]"});
            cases.add(new String[] {"{'image': '" + sha + "', 'net': 'yes'}", "net"});
            cases.add(new String[] {"{'image': '" + sha + "'}", "net"});
            cases.add(new String[] {"{'image': '" + hello + "', 'net': true}", "net"});
            cases.add(new String[] {"{'image': '" + sha + "', 'net': false, 'ports': ['8080:80']}", "ports"});
            cases.add(new String[] {"{'image': '" + sha + "', 'net': true, 'scale_to_zero_ms': 100}", "scale_to_zero_ms"});
            cases.add(new String[] {"{'image': '" + sha + "', 'ports': ['9:80', '9:81']}", "ports"});
            for (String[] c : cases) {
                DaemonClient.Response r = raw(d, "POST", "/v1/instances", c[0]);
                assertTrue(r.status() >= 400 && r.status() < 500, c[0] + ": " + r.text());
                assertEquals(c[1], r.json().path("error").path("field").asText(), c[0] + ": " + r.text());
            }
        }
    }
}
