package dev.kiln.cli;

import dev.kiln.daemon.Daemon;
import dev.kiln.daemon.DaemonClient;
import dev.kiln.daemon.DaemonConfig;
import dev.kiln.daemon.Json;

import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The wake half of {@code kiln bench api}: httpreply behind a published port with scale to zero,
 * put to sleep again and again; each round times a client's connect (its SYN) to the first byte
 * of the answer, which includes the daemon restoring the guest from its snapshot and proxying.
 * Target (issue 12): 10 ms. Needs root (the daemon's bridge and taps).
 */
final class WakeBench {
    static final double TARGET_MILLIS = 10;
    private static final long IDLE_MILLIS = 100;

    private final PrintStream out;

    WakeBench(PrintStream out) {
        this.out = out;
    }

    void run(Path image, int rounds) throws Exception {
        if (!"root".equals(System.getProperty("user.name"))) {
            out.println("  wake from scale-to-zero: not measured (the daemon's bridge and taps need root)");
            return;
        }
        if (!Files.isRegularFile(image)) {
            out.println("  wake from scale-to-zero: not measured (" + image + " is missing: ./kiln build --out guest/out guest/apps/httpreply)");
            return;
        }
        long pid = ProcessHandle.current().pid();
        Path dir = Files.createTempDirectory("kiln-bench-wake");
        DaemonConfig config = new DaemonConfig(dir.resolve("kiln.sock"), dir.resolve("state"), null, null, 1024, 64 << 10)
                .withNetwork("kw" + (pid % 100000), "10.204." + (pid % 200) + ".1/24");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        try (Daemon daemon = Daemon.start(config); DaemonClient c = DaemonClient.connect(daemon.socket())) {
            DaemonClient.Response r = c.post("/v1/instances", Json.object("image", image.toString(),
                    "ports", List.of(port + ":80"), "scale_to_zero_ms", IDLE_MILLIS));
            if (r.status() != 201) {
                out.println("  wake from scale-to-zero: cannot create httpreply: " + r.errorMessage());
                return;
            }
            String id = r.json().path("id").asText();
            firstByteMillis(port); // the first answer (a fresh boot) is not a wake
            List<Double> wakes = new ArrayList<>();
            List<Double> awake = new ArrayList<>();
            for (int i = 0; i < rounds; i++) {
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (!c.get("/v1/instances/" + id).json().path("state").asText().equals("sleeping")) {
                    if (System.nanoTime() > deadline) throw new IllegalStateException("the instance never went to sleep");
                    Thread.sleep(10);
                }
                wakes.add(firstByteMillis(port));
                awake.add(firstByteMillis(port));
            }
            wakes.sort(null);
            awake.sort(null);
            double p50 = wakes.get(wakes.size() / 2);
            double p90 = wakes.get(Math.min(wakes.size() - 1, (int) Math.ceil(wakes.size() * 0.9) - 1));
            out.printf(Locale.ROOT, "  wake from scale-to-zero (SYN to first response byte, %d rounds): p50 %.2f ms, p90 %.2f ms, max %.2f ms"
                            + " (awake, through the proxy: p50 %.2f ms)  target <= %.0f ms: %s%n",
                    rounds, p50, p90, wakes.getLast(), awake.get(awake.size() / 2), TARGET_MILLIS, p90 <= TARGET_MILLIS ? "met" : "NOT met");
        } finally {
            ApiBench.deleteTree(dir);
        }
    }

    /** Connect, send a GET, read one byte: milliseconds from the connect's start. */
    private static double firstByteMillis(int port) throws Exception {
        long t0 = System.nanoTime();
        try (Socket s = new Socket()) {
            s.setTcpNoDelay(true);
            s.setSoTimeout(10_000);
            s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
            OutputStream o = s.getOutputStream();
            o.write("GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            o.flush();
            InputStream in = s.getInputStream();
            if (in.read() < 0) throw new IllegalStateException("no answer on port " + port);
            double ms = (System.nanoTime() - t0) / 1e6;
            in.readAllBytes();
            return ms;
        }
    }
}
