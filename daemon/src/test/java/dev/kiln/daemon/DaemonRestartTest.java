package dev.kiln.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A daemon in a child JVM, killed with SIGKILL and started again on the same state: every record
 * is there, and what was meant to run runs again (fresh boot).
 */
class DaemonRestartTest {
    @TempDir
    Path dir;

    private Process launch(Path socket, Path state) throws Exception {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                "dev.kiln.daemon.Daemon", "--socket", socket.toString(), "--state", state.toString(), "--memory-budget", "1024")
                .redirectErrorStream(true).redirectOutput(dir.resolve("daemon.out").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) throw new AssertionError("daemon exited: " + Files.readString(dir.resolve("daemon.out")));
            try (DaemonClient c = DaemonClient.connect(socket)) {
                if (c.get("/v1/host").status() == 200) return p;
            } catch (IOException e) {
                Thread.sleep(50);
            }
        }
        p.destroyForcibly();
        throw new AssertionError("daemon did not answer: " + Files.readString(dir.resolve("daemon.out")));
    }

    private static JsonNode call(Path socket, String method, String path, String json) throws IOException {
        try (DaemonClient c = DaemonClient.connect(socket)) {
            DaemonClient.Response r = c.send(method, path, json == null ? null : json.replace('\'', '"').getBytes(StandardCharsets.UTF_8));
            assertTrue(r.status() < 300, () -> method + " " + path + ": " + r.text());
            return r.json();
        }
    }

    private static JsonNode awaitState(Path socket, String id, String state) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        JsonNode v;
        do {
            v = call(socket, "GET", "/v1/instances/" + id, null);
            if (v.path("state").asText().equals(state)) return v;
            Thread.sleep(20);
        } while (System.nanoTime() < deadline);
        throw new AssertionError(id + " never became " + state + ": " + v);
    }

    @Test
    void killedDaemonLosesNoRecordAndBootsWhatWasRunning() throws Exception {
        TestDaemons.requireKvm();
        Path kshell = TestDaemons.guest("kshell.hvt");
        Path hello = TestDaemons.guest("helloworld.hvt");
        Path socket = dir.resolve("kiln.sock");
        Path state = dir.resolve("state");
        Process first = launch(socket, state);
        String sha;
        String running;
        String created;
        String exited;
        try {
            sha = call(socket, "POST", "/v1/images", "{'path': '" + kshell + "'}").path("sha256").asText();
            running = call(socket, "POST", "/v1/instances", "{'image': '" + sha + "', 'name': 'keeper', 'memory_mib': 4,"
                    + " 'args': ['echo', 'ready;', 'sleep', '600000']}").path("id").asText();
            created = call(socket, "POST", "/v1/instances", "{'image': 'kshell', 'memory_mib': 4, 'start': false}").path("id").asText();
            exited = call(socket, "POST", "/v1/instances", "{'image': '" + hello + "', 'memory_mib': 2}").path("id").asText();
            awaitState(socket, running, "running");
            awaitState(socket, exited, "exited");
            awaitLog(socket, running, 1);
        } finally {
            first.destroyForcibly(); // SIGKILL: no shutdown hook, no goodbye
            assertTrue(first.waitFor(10, TimeUnit.SECONDS));
        }
        assertEquals(137, first.exitValue());

        Process second = launch(socket, state);
        try {
            JsonNode keeper = awaitState(socket, running, "running");
            assertEquals("keeper", keeper.path("name").asText());
            assertEquals(List.of("echo", "ready;", "sleep", "600000"),
                    Json.MAPPER.convertValue(keeper.path("args"), List.class));
            awaitLog(socket, running, 2); // booted again: its log shows both runs
            assertEquals("created", call(socket, "GET", "/v1/instances/" + created, null).path("state").asText());
            JsonNode hv = call(socket, "GET", "/v1/instances/" + exited, null);
            assertEquals("exited", hv.path("state").asText());
            assertEquals(0, hv.path("exit_status").asInt());
            assertTrue(call(socket, "GET", "/v1/images", null).toString().contains(sha));
            assertEquals(3, call(socket, "GET", "/v1/instances", null).size());
        } finally {
            second.destroy(); // SIGTERM: a clean stop
            assertTrue(second.waitFor(20, TimeUnit.SECONDS));
        }
        assertTrue(Files.notExists(socket), "a clean stop removes its socket");
    }

    private static void awaitLog(Path socket, String id, int readies) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        String log = "";
        while (System.nanoTime() < deadline) {
            try (DaemonClient c = DaemonClient.connect(socket)) {
                log = c.get("/v1/instances/" + id + "/logs").text();
            }
            if (log.split("\nready\n", -1).length - 1 >= readies) return;
            Thread.sleep(20);
        }
        throw new AssertionError("log never showed 'ready' " + readies + " times: " + log);
    }
}
