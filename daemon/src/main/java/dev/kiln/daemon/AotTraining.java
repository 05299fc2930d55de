package dev.kiln.daemon;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The daemon's AOT-cache training run (JEP 483/514; the launcher makes {@code cli/target/kiln-daemon.aot}
 * once per build with {@code -Dkiln.aotTraining=true}): a daemon started on a scratch socket and
 * state goes through what every start and the commonest requests load -- the database, the HTTP
 * server, JSON, metrics, an image registered, an instance created, read, listed and deleted --
 * and ends. Classes loaded and linked then are in the cache, so a real start, the one after a kill
 * -9 above all, does not load them class by class (Jetty alone took ~450 ms of a 1.05 s start).
 */
final class AotTraining {
    private AotTraining() {
    }

    static boolean requested() {
        return Boolean.getBoolean("kiln.aotTraining");
    }

    /** Drives {@code daemon} through its API; best effort (a step that fails only caches less). */
    static void exercise(Daemon daemon) {
        try (DaemonClient c = DaemonClient.connect(daemon.socket())) {
            c.get("/v1/host");
            c.get("/v1/openapi.json");
            c.get("/metrics");
            String image = System.getProperty("kiln.aotTraining.image");
            if (image == null || !Files.isRegularFile(Path.of(image))) return;
            DaemonClient.Response r = c.post("/v1/images", Json.object("path", image));
            if (r.status() != 201) return;
            String sha = r.json().path("sha256").asText();
            r = c.post("/v1/instances", Json.object("image", sha, "memory_mib", 2, "args", List.of("aot", "training")));
            if (r.status() != 201) return;
            String id = r.json().path("id").asText();
            c.get("/v1/instances/" + id);
            c.get("/v1/instances/" + id + "/stats");
            c.get("/v1/instances");
            c.get("/v1/images");
            c.delete("/v1/instances/" + id);
        } catch (IOException | RuntimeException e) {
            // training only: what ran so far is cached all the same
        }
    }
}
