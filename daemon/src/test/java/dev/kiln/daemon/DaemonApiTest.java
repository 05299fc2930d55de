package dev.kiln.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** End to end on real KVM: a daemon on a temp socket and state dir, driven through its HTTP API. */
class DaemonApiTest {
    @TempDir
    static Path dir;
    static Daemon daemon;
    static Path hello;
    static Path kshell;

    @BeforeAll
    static void startDaemon() throws Exception {
        TestDaemons.requireKvm();
        hello = TestDaemons.guest("helloworld.hvt");
        kshell = TestDaemons.guest("kshell.hvt");
        daemon = TestDaemons.start(dir);
    }

    @AfterAll
    static void stopDaemon() {
        if (daemon != null) daemon.close();
    }

    static DaemonClient client() throws IOException {
        return DaemonClient.connect(daemon.socket());
    }

    static DaemonClient.Response call(String method, String path, String json) throws IOException {
        try (DaemonClient c = client()) {
            return c.send(method, path, json == null ? null : json.getBytes(StandardCharsets.UTF_8));
        }
    }

    static JsonNode ok(int status, DaemonClient.Response r) throws IOException {
        assertEquals(status, r.status(), r::text);
        return r.json();
    }

    /** Polls an instance until it is in {@code state}; its last view. */
    static JsonNode awaitState(String id, String state) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        JsonNode v;
        do {
            v = ok(200, call("GET", "/v1/instances/" + id, null));
            if (v.path("state").asText().equals(state)) return v;
            Thread.sleep(20);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("instance " + id + " never became " + state + ": " + v);
    }

    static String json(String s) {
        return s.replace('\'', '"');
    }

    @Test
    void imagesAreRegisteredByContentAndListed() throws Exception {
        JsonNode img = ok(201, call("POST", "/v1/images", json("{'path': '" + hello + "'}")));
        assertEquals(ImageStore.sha256(Files.readAllBytes(hello)), img.path("sha256").asText());
        assertEquals("helloworld", img.path("name").asText());
        assertEquals(Files.size(hello), img.path("size").asLong());
        // the same bytes again: the same image
        assertEquals(img.path("sha256"), ok(201, call("POST", "/v1/images", json("{'path': '" + hello + "'}"))).path("sha256"));
        assertTrue(Files.isRegularFile(dir.resolve("state/images/" + img.path("sha256").asText() + ".hvt")));
        JsonNode list = ok(200, call("GET", "/v1/images", null));
        assertTrue(list.toString().contains(img.path("sha256").asText()), list::toString);
    }

    @Test
    void helloRunsToItsEndWithLogsAndStats() throws Exception {
        JsonNode created = ok(201, call("POST", "/v1/instances", json("{'image': '" + hello + "', 'memory_mib': 2, 'args': ['a', 'b']}")));
        String id = created.path("id").asText();
        JsonNode v = awaitState(id, "exited");
        assertEquals(0, v.path("exit_status").asInt());
        assertEquals("stopped", v.path("desired").asText(), "a guest that ended by itself is not booted again");
        String log = call("GET", "/v1/instances/" + id + "/logs", null).text();
        assertTrue(log.startsWith("Hello from Kiln!\n") && log.contains("cmdline: a b\n"), log);
        JsonNode stats = ok(200, call("GET", "/v1/instances/" + id + "/stats", null));
        assertTrue(stats.path("booted").asBoolean());
        assertEquals(log.length(), stats.path("console_bytes").asLong());
        assertTrue(stats.path("exits").path("total").asLong() > 0, stats::toString);
        assertEquals(1, stats.path("hypercalls").path("HALT").asLong(), stats::toString);
        assertTrue(stats.path("boot").path("create_ns").asLong() > 0, stats::toString);
        assertFalse(stats.path("mode").asText().isEmpty());
        // by name, and following a finished run gives what it printed and ends
        ByteArrayOutputStream followed = new ByteArrayOutputStream();
        try (DaemonClient c = client()) {
            assertEquals(200, c.stream("GET", "/v1/instances/" + id + "/logs?follow=true", followed).status());
        }
        assertEquals(log, followed.toString(StandardCharsets.UTF_8));
    }

    @Test
    void lifecycleStartPauseResumeSnapshotCloneStopDelete() throws Exception {
        JsonNode created = ok(201, call("POST", "/v1/instances", json("{'image': '" + kshell + "', 'name': 'life', 'memory_mib': 4,"
                + " 'args': ['echo', 'ready;', 'sleep', '600000'], 'start': false}")));
        String id = created.path("id").asText();
        assertEquals("created", created.path("state").asText());
        assertEquals("running", ok(200, call("POST", "/v1/instances/life/start", null)).path("state").asText());
        assertEquals(409, call("POST", "/v1/instances/" + id + "/start", null).status(), "a running instance cannot start again");
        awaitLog(id, "ready\n");
        assertEquals("paused", ok(200, call("POST", "/v1/instances/" + id + "/pause", null)).path("state").asText());
        assertEquals("running", ok(200, call("POST", "/v1/instances/" + id + "/resume", null)).path("state").asText());
        JsonNode snap = ok(201, call("POST", "/v1/instances/" + id + "/snapshot", null));
        assertTrue(Files.size(Path.of(snap.path("path").asText())) > 0);
        assertEquals("running", awaitState(id, "running").path("state").asText(), "running again after its snapshot");

        JsonNode clones = ok(201, call("POST", "/v1/instances/" + id + "/clone", "{\"count\": 2}"));
        assertEquals(2, clones.path("ids").size());
        for (JsonNode c : clones.path("ids")) {
            assertEquals("running", awaitState(c.asText(), "running").path("state").asText());
            assertEquals(204, ok(200, call("GET", "/v1/instances/" + c.asText(), null)).path("args").size() == 4 ? 204 : 0);
            ok(200, call("DELETE", "/v1/instances/" + c.asText(), null));
        }

        JsonNode stopped = ok(200, call("POST", "/v1/instances/" + id + "/stop", null));
        assertEquals("stopped", stopped.path("state").asText());
        assertEquals(137, stopped.path("exit_status").asInt());
        assertEquals(409, call("POST", "/v1/instances/" + id + "/stop", null).status());
        JsonNode again = ok(200, call("POST", "/v1/instances/" + id + "/start", null));
        assertEquals(2, again.path("boots").asInt(), "a fresh boot each start");
        ok(200, call("DELETE", "/v1/instances/" + id, null));
        assertEquals(404, call("GET", "/v1/instances/" + id, null).status());
        assertEquals(404, call("GET", "/v1/instances/life", null).status());
    }

    private static void awaitLog(String id, String text) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        String log;
        do {
            log = call("GET", "/v1/instances/" + id + "/logs", null).text();
            if (log.contains(text)) return;
            Thread.sleep(20);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("log of " + id + " never showed '" + text + "': " + log);
    }

    @Test
    void followStreamsOutputUntilTheRunEnds() throws Exception {
        String id = ok(201, call("POST", "/v1/instances", json("{'image': '" + kshell + "', 'memory_mib': 4,"
                + " 'args': ['echo', 'one;', 'sleep', '300;', 'echo', 'two;', 'sleep', '600000']}"))).path("id").asText();
        ByteArrayOutputStream seen = new ByteArrayOutputStream();
        OutputStream sink = new OutputStream() {
            @Override
            public void write(int b) {
                synchronized (seen) {
                    seen.write(b);
                }
            }

            @Override
            public void write(byte[] b, int off, int len) {
                synchronized (seen) {
                    seen.write(b, off, len);
                }
            }
        };
        CompletableFuture<Integer> follow = CompletableFuture.supplyAsync(() -> {
            try (DaemonClient c = client()) {
                return c.stream("GET", "/v1/instances/" + id + "/logs?follow=true", sink).status();
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            synchronized (seen) {
                if (seen.toString(StandardCharsets.UTF_8).contains("two\n")) break;
            }
            assertTrue(System.nanoTime() < deadline, "never streamed 'two'");
            Thread.sleep(20);
        }
        assertFalse(follow.isDone(), "the stream goes on while the guest runs");
        ok(200, call("POST", "/v1/instances/" + id + "/stop", null));
        assertEquals(200, follow.get(10, TimeUnit.SECONDS), "the stream ends with the run");
        String text = seen.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("one\n") && text.indexOf("one\n") < text.indexOf("two\n"), text);
        ok(200, call("DELETE", "/v1/instances/" + id, null));
    }

    @Test
    void eventsStreamLifecycleChanges() throws Exception {
        ByteArrayOutputStream seen = new ByteArrayOutputStream();
        CompletableFuture<String> exited = new CompletableFuture<>();
        String[] idHolder = new String[1];
        OutputStream sink = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public synchronized void write(byte[] b, int off, int len) throws IOException {
                seen.write(b, off, len);
                String text = seen.toString(StandardCharsets.UTF_8);
                String id = idHolder[0];
                if (id != null && text.contains("event: exited\ndata: {\"seq\"") && text.contains("\"id\":\"" + id + "\",")
                        && text.indexOf("event: exited") > text.indexOf("event: created")) {
                    exited.complete(text);
                    throw new IOException("enough"); // ends this client's stream
                }
            }
        };
        DaemonClient events = client();
        Thread reader = Thread.ofVirtual().start(() -> {
            try {
                events.stream("GET", "/v1/events", sink);
            } catch (IOException e) {
                // closed by the sink or the test
            }
        });
        Thread.sleep(100); // subscribed before the instance is made
        String id = ok(201, call("POST", "/v1/instances", json("{'image': '" + hello + "', 'memory_mib': 2}"))).path("id").asText();
        synchronized (sink) {
            idHolder[0] = id;
        }
        try {
            sink.write(new byte[0], 0, 0); // the exit may have streamed before the id was known: look again
        } catch (IOException e) {
            // "enough": it had, and the future is complete
        }
        String text = exited.get(10, TimeUnit.SECONDS);
        int createdAt = text.indexOf("event: created"), startedAt = text.indexOf("event: started"), exitedAt = text.indexOf("event: exited");
        assertTrue(createdAt >= 0 && createdAt < startedAt && startedAt < exitedAt, "in order: " + text);
        events.close();
        reader.join(5000);
    }

    @Test
    void metricsHostAndMalformedRequests() throws Exception {
        String metrics = call("GET", "/metrics", null).text();
        assertTrue(metrics.contains("kiln_instances{state=\"running\"}"), metrics);
        assertTrue(metrics.contains("kiln_boots_total"), metrics);
        assertTrue(metrics.contains("kiln_exits_total{kind=\"halted\"}"), metrics);
        assertTrue(metrics.contains("kiln_console_bytes_total"), metrics);
        JsonNode host = ok(200, call("GET", "/v1/host", null));
        assertEquals(Runtime.getRuntime().availableProcessors(), host.path("cores").asInt());
        assertEquals(1024L << 20, host.path("memory_budget_bytes").asLong());

        String path = "/v1/instances";
        refused(call("POST", path, "{\"image\": "), 400, "bad_json", null);
        refused(call("POST", path, "[1, 2]"), 400, "bad_json", null);
        refused(call("POST", path, json("{'image': 'a', 'image': 'b'}")), 400, "bad_json", null);
        refused(call("POST", path, json("{'image': 'a'} {}")), 400, "bad_json", null);
        refused(call("POST", path, json("{'image': '" + hello + "', 'colour': 'red'}")), 400, "unknown_field", "colour");
        refused(call("POST", path, json("{'image': '" + hello + "', 'memory_mib': 'lots'}")), 400, "invalid_field", "memory_mib");
        refused(call("POST", path, json("{'image': '" + hello + "', 'memory_mib': -4}")), 400, "invalid_field", "memory_mib");
        refused(call("POST", path, json("{'image': '" + hello + "', 'memory_mib': 1.5}")), 400, "invalid_field", "memory_mib");
        refused(call("POST", path, json("{'image': '" + hello + "', 'args': [1]}")), 400, "invalid_field", "args[0]");
        refused(call("POST", path, json("{'image': '" + hello + "', 'start': 'yes'}")), 400, "invalid_field", "start");
        refused(call("POST", path, json("{'image': '" + hello + "', 'name': '../x'}")), 400, "invalid_field", "name");
        refused(call("POST", path, json("{'memory_mib': 2}")), 400, "invalid_field", "image");
        refused(call("POST", path, json("{'image': 'nosuchimage'}")), 422, "unknown_image", "image");
        refused(call("POST", path, json("{'image': '" + "0".repeat(64) + "'}")), 422, "unknown_image", "image");
        refused(call("POST", path, json("{'image': '/no/such/file.hvt'}")), 422, "unknown_image", "image");
        refused(call("POST", "/v1/images", json("{'path': 'relative.hvt'}")), 400, "invalid_field", "path");
        Path junk = Files.writeString(dir.resolve("junk.hvt"), "not an ELF file");
        refused(call("POST", "/v1/images", json("{'path': '" + junk + "'}")), 422, "bad_image", "path");
        refused(call("GET", "/v1/instances/nosuchid", null), 404, "not_found", null);
        refused(call("POST", "/v1/instances/nosuchid/stop", null), 404, "not_found", null);
        refused(call("GET", "/v1/nothing", null), 404, "no_route", null);
        refused(call("PUT", "/v1/instances", "{}"), 405, "method_not_allowed", null);
        try (DaemonClient c = client()) {
            refused(c.sendRaw("POST", path, "image=x".getBytes(StandardCharsets.UTF_8), "application/x-www-form-urlencoded"),
                    415, "unsupported_media_type", null);
            refused(c.sendRaw("POST", path, new byte[(1 << 20) + 1], "application/json"), 413, "body_too_large", null);
        }
        refused(call("POST", path, json("{'image': '" + hello + "', 'name': 'huge', 'memory_mib': 4096}")), 409, "no_capacity", null);
        refused(call("GET", "/v1/instances/huge", null), 404, "not_found", null); // a refused start leaves no record
        ok(201, call("POST", path, json("{'image': '" + hello + "', 'name': 'twin', 'start': false}")));
        refused(call("POST", path, json("{'image': '" + hello + "', 'name': 'twin'}")), 409, "name_in_use", "name");
        refused(call("POST", "/v1/instances/twin/clone", "{\"count\": 0}"), 400, "invalid_field", "count");
        refused(call("POST", "/v1/instances/twin/clone", "{\"count\": 1}"), 409, "conflict", null);
        refused(call("POST", "/v1/instances/twin/start", "{\"now\": true}"), 400, "unknown_field", "now");
        refused(call("GET", "/v1/instances/twin/logs?follow=maybe", null), 400, "invalid_field", "follow");
        ok(200, call("DELETE", "/v1/instances/twin", null));
        // and the daemon still answers
        ok(200, call("GET", "/v1/host", null));
    }

    private static void refused(DaemonClient.Response r, int status, String code, String field) throws IOException {
        assertEquals(status, r.status(), r::text);
        assertEquals("application/json", r.headers().get("content-type"), r::text);
        JsonNode e = r.json().path("error");
        assertEquals(code, e.path("code").asText(), r::text);
        assertFalse(e.path("message").asText().isEmpty(), r::text);
        if (field == null) assertTrue(e.path("field").isMissingNode(), r::text);
        else assertEquals(field, e.path("field").asText(), r::text);
    }

    /** Bytes that are not HTTP, or barely: each gets an answer or a closed connection, and the daemon goes on. */
    @Test
    void garbageOnTheSocketDoesNotHurtTheDaemon() throws Exception {
        String[] junk = {
            "GARBAGE\r\n\r\n",
            "GET /v1/host HTTP/9.9\r\n\r\n",
            "POST /v1/instances HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
            "POST /v1/instances HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nZZ\r\n",
            "GET /v1/instances/%00%ff HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /v1/" + "a".repeat(70_000) + " HTTP/1.1\r\nHost: x\r\n\r\n",
            "\u0000\u0001\u0002\r\n\r\n",
        };
        for (String j : junk) {
            try (var ch = java.nio.channels.SocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
                ch.connect(java.net.UnixDomainSocketAddress.of(daemon.socket()));
                ch.write(java.nio.ByteBuffer.wrap(j.getBytes(StandardCharsets.ISO_8859_1)));
                ch.shutdownOutput();
                byte[] answer = java.nio.channels.Channels.newInputStream(ch).readAllBytes();
                String text = new String(answer, StandardCharsets.ISO_8859_1);
                assertTrue(text.isEmpty() || (text.matches("(?s)HTTP/1.1 (4\\d\\d|505) .*") && text.contains("Content-Type: application/json")
                        && text.contains("{\"error\":{\"code\":")), j + " -> " + text);
            } catch (IOException e) {
                // the daemon may close on us mid-write: also a fine answer to garbage
            }
        }
        ok(200, call("GET", "/v1/host", null));
    }

    @Test
    void curlTalksToTheSocket() throws Exception {
        Path curl = Path.of("/usr/bin/curl");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(curl), "curl is not installed: skipping the curl test");
        Process p = new ProcessBuilder(curl.toString(), "-sS", "--unix-socket", daemon.socket().toString(),
                "-X", "POST", "-H", "Content-Type: application/json", "-d", "{\"path\": \"" + hello + "\"}",
                "-w", "\n%{http_code}", "http://kiln/v1/images").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        assertTrue(out.endsWith("\n201"), out);
        JsonNode img = Json.MAPPER.readTree(out.substring(0, out.lastIndexOf('\n')));
        assertEquals(ImageStore.sha256(Files.readAllBytes(hello)), img.path("sha256").asText());
        assertNotEquals(0, img.path("size").asLong());
    }
}
