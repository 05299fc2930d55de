package dev.kiln.cli;

import dev.kiln.cli.CommandLines.UsageException;
import dev.kiln.daemon.Daemon;
import dev.kiln.daemon.DaemonClient;
import dev.kiln.daemon.DaemonConfig;
import dev.kiln.daemon.Json;
import org.apache.commons.cli.Options;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * {@code kiln bench api}: the daemon's API under load, in this JVM (a daemon on a temporary socket
 * and state dir). N instances of the idle test guest created and started through
 * {@code POST /v1/instances} by several clients at once, then {@code GET /v1/instances/{id}} as
 * fast as those clients go while all N live. Targets (issue 12): 1,000 create+start in 2 s, and
 * 5,000 GET/s with 1,000 live instances.
 */
final class ApiBench {
    static final String SYNTAX = "kiln bench api [-n N] [--clients N] [--seconds S] [--image PATH] [--wake-rounds N] [--no-restart]";
    static final double CREATE_TARGET_PER_SECOND = 500;
    static final double GET_TARGET_PER_SECOND = 5000;

    private final PrintStream out;
    private final PrintStream err;

    ApiBench(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    int execute(String[] args) throws Exception {
        Options options = new Options()
                .addOption(CommandLines.valued("n", null, "N", "instances to create and start (default 1000)"))
                .addOption(CommandLines.valued(null, "clients", "N", "concurrent API clients, one connection each (default 8)"))
                .addOption(CommandLines.valued(null, "seconds", "S", "how long the GET phase lasts (default 2)"))
                .addOption(CommandLines.valued(null, "image", "PATH", "the hvtcheck image (default guest/out/hvtcheck.hvt)"))
                .addOption(CommandLines.valued(null, "wake-rounds", "N", "scale-to-zero wakes to time (httpreply; root; default 20, 0: none)"))
                .addOption(CommandLines.flag("no-restart", "skip the restart after kill -9 (N instances in a daemon process of its own)"))
                .addOption(CommandLines.flag("help", "show this help"));
        boolean restart;
        int wakeRounds;
        int n;
        int clients;
        int seconds;
        Path image;
        try {
            ParsedLine cl = CommandLines.parse(options, args, false);
            if (cl.hasOption("help")) {
                CommandLines.help(out, SYNTAX, "Create+start N idle guests through a daemon's API, then GET them.", options, "");
                return 0;
            }
            n = (int) CommandLines.longValue(cl, "n", 1000, 1, 20_000);
            clients = (int) CommandLines.longValue(cl, "clients", 8, 1, 256);
            seconds = (int) CommandLines.longValue(cl, "seconds", 2, 1, 600);
            wakeRounds = (int) CommandLines.longValue(cl, "wake-rounds", 20, 0, 10_000);
            restart = !cl.hasOption("no-restart");
            image = (cl.hasOption("image") ? Path.of(cl.getOptionValue("image"))
                    : Path.of(System.getProperty("kiln.home", ".")).resolve("guest/out/hvtcheck.hvt")).toAbsolutePath();
            if (!cl.getArgList().isEmpty()) throw new UsageException("unexpected argument " + cl.getArgList().getFirst());
        } catch (UsageException e) {
            err.println("kiln bench api: " + e.getMessage());
            err.println("usage: " + SYNTAX);
            return Main.EXIT_USAGE;
        }
        Path dir = Files.createTempDirectory("kiln-bench-api");
        DaemonConfig config = new DaemonConfig(dir.resolve("kiln.sock"), dir.resolve("state"), null, null,
                (long) n * 2 + 1024, 64 << 10, n + 16, null, DaemonConfig.DEFAULT_SUBNET);
        try (Daemon daemon = Daemon.start(config); ExecutorService pool = Executors.newFixedThreadPool(clients)) {
            String sha;
            try (DaemonClient c = DaemonClient.connect(daemon.socket())) {
                DaemonClient.Response r = c.post("/v1/images", Json.object("path", image.toString()));
                if (r.status() != 201) {
                    err.println("kiln bench api: " + r.errorMessage());
                    return Main.EXIT_CANNOT_START;
                }
                sha = r.json().path("sha256").asText(); // registered once, named by hash from then on
            }
            out.printf(Locale.ROOT, "kiln bench api: %d idle %s instances (2 MiB each) through a daemon's API, %d clients%n",
                    n, image.getFileName(), clients);

            // Phase 1: create + start, each client on its own kept-alive connection. Twice: on the
            // daemon as just started (its JIT compiling the request path as it serves: a third of
            // the CPU), and again once those are deleted, as a long-lived daemon serves; the
            // target is judged on the second (kiln bench burst warms up the same way).
            Round cold = createRound(daemon, pool, sha, n, clients);
            out.printf(Locale.ROOT, "  create+start, daemon just started: %d in %.3f s = %.0f/s (%d refused%s)%n",
                    cold.ids().size(), cold.seconds(), cold.ids().size() / cold.seconds(), cold.failures(), cold.firstFailure());
            double deleteSeconds = deleteAll(daemon, pool, cold.ids(), clients);
            out.printf(Locale.ROOT, "  deleted them (stop + remove): %.3f s%n", deleteSeconds);
            Round warm = createRound(daemon, pool, sha, n, clients);
            List<String> ids = warm.ids();
            double createSeconds = warm.seconds();
            out.printf(Locale.ROOT, "  create+start, daemon warmed up by the round above: %d in %.3f s = %.0f/s (%d refused%s)  target %d in 2 s: %s%n",
                    ids.size(), createSeconds, ids.size() / createSeconds, warm.failures(), warm.firstFailure(), n,
                    met(ids.size() == n && createSeconds <= n / CREATE_TARGET_PER_SECOND));
            List<Future<?>> jobs = new ArrayList<>();

            // Phase 2: GET one instance at random, as fast as the clients go, while all N live.
            AtomicLong gets = new AtomicLong();
            AtomicLong getFailures = new AtomicLong();
            long end = System.nanoTime() + seconds * 1_000_000_000L;
            List<String> targets = List.copyOf(ids);
            long g0 = System.nanoTime();
            jobs.clear();
            for (int c = 0; c < clients && !targets.isEmpty(); c++) {
                jobs.add(pool.submit(() -> {
                    try (DaemonClient client = DaemonClient.connect(daemon.socket())) {
                        while (System.nanoTime() < end) {
                            String id = targets.get(ThreadLocalRandom.current().nextInt(targets.size()));
                            if (client.get("/v1/instances/" + id).status() == 200) gets.incrementAndGet();
                            else getFailures.incrementAndGet();
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : jobs) f.get();
            double getRate = gets.get() / ((System.nanoTime() - g0) / 1e9);
            out.printf(Locale.ROOT, "  GET /v1/instances/{id}: %.0f/s over %d s with %d live (%d failed)  target >= %.0f/s with 1,000 live: %s%n",
                    getRate, seconds, targets.size(), getFailures.get(), GET_TARGET_PER_SECOND,
                    n < 1000 ? "not measured (fewer than 1,000 live)" : met(getRate >= GET_TARGET_PER_SECOND && getFailures.get() == 0));
        } finally {
            deleteTree(dir);
        }
        // A daemon of its own, a process killed with SIGKILL and started again.
        if (restart) new RestartBench(out).run(image, n);
        // A daemon of its own: the wake of a sleeping guest, measured apart from the load above.
        if (wakeRounds > 0) {
            new WakeBench(out).run(Path.of(System.getProperty("kiln.home", ".")).resolve("guest/out/httpreply.hvt").toAbsolutePath(), wakeRounds);
        }
        return 0;
    }

    /** One create+start round: who was created, how long it took, what was refused. */
    private record Round(List<String> ids, double seconds, long failures, String firstFailure) {}

    private static Round createRound(Daemon daemon, ExecutorService pool, String sha, int n, int clients) throws Exception {
        List<String> ids = java.util.Collections.synchronizedList(new ArrayList<>());
        AtomicInteger next = new AtomicInteger();
        AtomicLong failures = new AtomicLong();
        List<String> firstFailure = java.util.Collections.synchronizedList(new ArrayList<>());
        long t0 = System.nanoTime();
        List<Future<?>> jobs = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            jobs.add(pool.submit(() -> {
                try (DaemonClient client = DaemonClient.connect(daemon.socket())) {
                    while (next.getAndIncrement() < n) {
                        DaemonClient.Response r = client.post("/v1/instances",
                                Json.object("image", sha, "memory_mib", 2, "args", List.of("idle")));
                        if (r.status() == 201) ids.add(r.json().path("id").asText());
                        else if (failures.getAndIncrement() == 0) firstFailure.add(r.errorMessage());
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : jobs) f.get();
        double seconds = (System.nanoTime() - t0) / 1e9;
        return new Round(List.copyOf(ids), seconds, failures.get(), firstFailure.isEmpty() ? "" : ": " + firstFailure.getFirst());
    }

    /** Deletes every instance in {@code ids} (each client a share); seconds taken. A refused delete is an error. */
    private static double deleteAll(Daemon daemon, ExecutorService pool, List<String> ids, int clients) throws Exception {
        AtomicInteger next = new AtomicInteger();
        long t0 = System.nanoTime();
        List<Future<?>> jobs = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            jobs.add(pool.submit(() -> {
                try (DaemonClient client = DaemonClient.connect(daemon.socket())) {
                    for (int i; (i = next.getAndIncrement()) < ids.size(); ) {
                        DaemonClient.Response r = client.delete("/v1/instances/" + ids.get(i));
                        if (r.status() / 100 != 2) throw new IOException("DELETE of " + ids.get(i) + ": " + r.errorMessage());
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : jobs) f.get();
        return (System.nanoTime() - t0) / 1e9;
    }

    /** Deletes a benchmark's scratch folder (the api, restart and wake rounds each make one). */
    static void deleteTree(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temp dir left behind is harmless
        }
    }

    private static String met(boolean met) {
        return met ? "met" : "NOT met";
    }
}
