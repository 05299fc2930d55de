package dev.kiln.daemon;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** TCP only with a bearer token: refused without one at start, 401 with a JSON error for a missing or wrong one. */
class DaemonTcpTest {
    @TempDir
    Path dir;

    @Test
    void tcpNeedsATokenFile() {
        var e = assertThrows(DaemonConfig.UsageException.class, () -> DaemonConfig.parse(new String[] {"--listen", "127.0.0.1:0"}));
        assertTrue(e.getMessage().contains("--token-file"), e.getMessage());
        assertThrows(DaemonConfig.UsageException.class, () -> DaemonConfig.parse(new String[] {"--listen", "nowhere"}));
        assertThrows(DaemonConfig.UsageException.class, () -> DaemonConfig.parse(new String[] {"--frobnicate"}));
    }

    @Test
    void everyTcpRequestNeedsTheToken() throws Exception {
        TestDaemons.requireKvm();
        String token = "s3cret-token-0123456789";
        Path tokenFile = Files.writeString(dir.resolve("token"), token + "\n");
        DaemonConfig open = new DaemonConfig(dir.resolve("kiln0.sock"), dir.resolve("state0"),
                new InetSocketAddress("127.0.0.1", 0), tokenFile, 1024, 1 << 20);
        Files.setPosixFilePermissions(tokenFile, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        var e = assertThrows(IllegalStateException.class, () -> Daemon.start(open, 200).close());
        assertTrue(e.getMessage().contains("readable by every user"), e.getMessage());
        Files.setPosixFilePermissions(tokenFile, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        DaemonConfig config = new DaemonConfig(dir.resolve("kiln.sock"), dir.resolve("state"),
                new InetSocketAddress("127.0.0.1", 0), tokenFile, 1024, 1 << 20);
        try (Daemon daemon = Daemon.start(config, 200); HttpClient http = HttpClient.newHttpClient()) {
            URI host = URI.create("http://127.0.0.1:" + daemon.tcpPort() + "/v1/host");
            HttpResponse<String> none = http.send(HttpRequest.newBuilder(host).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(401, none.statusCode());
            assertEquals("unauthorized", Json.MAPPER.readTree(none.body()).path("error").path("code").asText(), none.body());
            HttpResponse<String> wrong = http.send(HttpRequest.newBuilder(host).header("Authorization", "Bearer " + token + "x").build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(401, wrong.statusCode());
            HttpResponse<String> right = http.send(HttpRequest.newBuilder(host).header("Authorization", "Bearer " + token).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, right.statusCode(), right.body());
            // the Unix socket needs none: its file mode decides who connects
            try (DaemonClient c = DaemonClient.connect(daemon.socket())) {
                assertEquals(200, c.get("/v1/host").status());
            }
        }
        Files.writeString(tokenFile, "short");
        DaemonConfig weak = new DaemonConfig(dir.resolve("kiln2.sock"), dir.resolve("state2"),
                new InetSocketAddress("127.0.0.1", 0), tokenFile, 1024, 1 << 20);
        assertThrows(IllegalStateException.class, () -> Daemon.start(weak, 200).close());
    }
}
