package dev.kiln.cli;

import dev.kiln.daemon.DaemonClient;
import dev.kiln.daemon.Json;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The recovery half of {@code kiln bench api} (issue 12's last target): a daemon started as a user
 * starts it ({@code kiln daemon}, a process of its own) gets N idle instances through its API and
 * is killed with SIGKILL; then the same command on the same state folder, timed from the moment it
 * is launched until the daemon answers with all N running again. Target: within 2 s.
 */
final class RestartBench {
    static final double TARGET_SECONDS = 2;

    private final PrintStream out;

    RestartBench(PrintStream out) {
        this.out = out;
    }

    void run(Path image, int n) throws Exception {
        Path home = Path.of(System.getProperty("kiln.home", ".")).toAbsolutePath();
        Path launcher = home.resolve("kiln");
        if (!Files.isExecutable(launcher)) {
            out.println("  restart after kill -9: not measured (" + launcher + " is missing)");
            return;
        }
        Path dir = Files.createTempDirectory("kiln-bench-restart");
        Path socket = dir.resolve("kiln.sock");
        List<String> command = List.of(launcher.toString(), "daemon", "--socket", socket.toString(),
                "--state", dir.resolve("state").toString(), "--no-net",
                "--memory-budget", Long.toString((long) n * 2 + 1024), "--spare-threads", Integer.toString(n + 16));
        Process first = null;
        Process second = null;
        try {
            first = launch(command, dir.resolve("first.out"));
            awaitAnswer(socket, first, 60);
            try (DaemonClient c = DaemonClient.connect(socket)) {
                DaemonClient.Response r = c.post("/v1/images", Json.object("path", image.toString()));
                if (r.status() != 201) throw new IOException("cannot register " + image + ": " + r.errorMessage());
                String sha = r.json().path("sha256").asText();
                for (int i = 0; i < n; i++) {
                    r = c.post("/v1/instances", Json.object("image", sha, "memory_mib", 2, "args", List.of("idle")));
                    if (r.status() != 201) throw new IOException("create " + (i + 1) + " of " + n + ": " + r.errorMessage());
                }
            }
            first.destroyForcibly(); // SIGKILL: no shutdown hook runs, nothing is saved on the way out
            if (!first.waitFor(20, TimeUnit.SECONDS)) throw new IOException("the killed daemon did not end");

            long t0 = System.nanoTime();
            second = launch(command, dir.resolve("second.out"));
            double answered = awaitAnswer(socket, second, 120) - t0;
            long running;
            while (true) {
                try (DaemonClient c = DaemonClient.connect(socket)) {
                    running = c.get("/v1/host").json().path("instances_by_state").path("running").asLong();
                }
                if (running >= n || System.nanoTime() - t0 > TimeUnit.SECONDS.toNanos(120)) break;
                Thread.sleep(10);
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            // the daemon's own account: "N instances meant to run booted again in X ms"
            String booting = Files.readAllLines(dir.resolve("second.out")).stream()
                    .filter(l -> l.contains("booted again in")).map(l -> l.substring(l.lastIndexOf(" in ") + 4)).findFirst().orElse("?");
            out.printf(Locale.ROOT, "  restart after kill -9: %d of %d running again %.3f s after `kiln daemon` was launched"
                            + " (it answered after %.3f s; booting them took %s of that)  target all within %.0f s: %s%n",
                    running, n, seconds, answered / 1e9, booting, TARGET_SECONDS,
                    running == n && seconds <= TARGET_SECONDS ? "met" : "NOT met");
        } finally {
            if (first != null) first.destroyForcibly();
            if (second != null) {
                second.destroy(); // SIGTERM: a clean stop
                if (!second.waitFor(30, TimeUnit.SECONDS)) second.destroyForcibly();
            }
            ApiBench.deleteTree(dir);
        }
    }

    private static Process launch(List<String> command, Path output) throws IOException {
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile()).start();
    }

    /** Waits until the daemon answers on its socket; the nanoTime of its first answer. */
    private static long awaitAnswer(Path socket, Process p, int seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) throw new IOException("the daemon ended with status " + p.exitValue());
            if (Files.exists(socket)) {
                try (DaemonClient c = DaemonClient.connect(socket)) {
                    if (c.get("/v1/host").status() == 200) return System.nanoTime();
                } catch (IOException e) {
                    // not serving yet
                }
            }
            Thread.sleep(5);
        }
        throw new IOException("the daemon did not answer within " + seconds + " s");
    }
}
