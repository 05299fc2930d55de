package dev.kiln.cli;

import dev.kiln.daemon.Daemon;
import dev.kiln.daemon.DaemonConfig;
import dev.kiln.monitor.kvm.Kvm;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code kiln run -d -p HOST:GUEST}: httpreply through a daemon's bridge, reached by the real curl on localhost. */
class ClientPublishTest {
    private static final Path GUESTS = Path.of(System.getProperty("kiln.guest.dir", "../guest/out"));
    static final long PID = ProcessHandle.current().pid();

    @TempDir
    Path dir;

    @Test
    void runDetachedWithAPublishedPortServesCurl() throws Exception {
        String reason = Kvm.unavailableReason();
        Assumptions.assumeTrue(reason == null, () -> "KVM TESTS SKIPPED: " + reason);
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "NETWORK TESTS SKIPPED: not root");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        DaemonConfig config = new DaemonConfig(dir.resolve("kiln.sock"), dir.resolve("state"), null, null, 1024, 1 << 20)
                .withNetwork("kc" + (PID % 100000), "10.202." + (PID % 200) + ".1/24");
        try (Daemon daemon = Daemon.start(config)) {
            String socket = daemon.socket().toString();
            CliRun run = CliRun.of("run", "-d", "--socket", socket, "-p", port + ":80", GUESTS.resolve("httpreply.hvt").toString());
            assertEquals(0, run.status(), run.err());
            String id = run.out().strip();
            CliRun bad = CliRun.of("run", "-d", "--socket", socket, "-p", "80", GUESTS.resolve("httpreply.hvt").toString());
            assertEquals(1, bad.status());
            assertTrue(bad.err().contains("ports[0]"), bad.err());

            String page = "";
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!page.contains("Hello from a Kiln unikernel") && System.nanoTime() < deadline) {
                Process curl = new ProcessBuilder("curl", "-s", "--max-time", "2", "http://127.0.0.1:" + port + "/").start();
                page = new String(curl.getInputStream().readAllBytes());
                curl.waitFor();
            }
            assertTrue(page.contains("Hello from a Kiln unikernel"), page);
            CliRun ps = CliRun.of("ps", "--socket", socket);
            assertTrue(ps.out().matches("(?s).*" + id + ".*running.*10\\.202\\.\\d+\\.2\\s+" + port + ":80.*"), ps.out());
        }
    }
}
