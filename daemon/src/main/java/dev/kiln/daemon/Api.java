package dev.kiln.daemon;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.monitor.InstanceStats;
import dev.kiln.monitor.hvt.Hypercall;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP API, version 1: each route's action, from a checked request to a JSON reply.
 * {@code src/main/resources/dev/kiln/daemon/openapi.json} documents every route here; ApiDocumentTest
 * holds the two to each other.
 */
final class Api {
    /** Guest memory for an instance that does not say (MiB). */
    static final int DEFAULT_MEMORY_MIB = 16;
    static final long MAX_CLONES = 256;

    private final Fleet fleet;
    private final Roster roster;
    private final Runs runs;
    private final ImageStore images;
    private final EventStream events;
    private final DaemonMetrics metrics;
    private final HostCapacity capacity;
    /** Seconds between SSE keep-alive comments, which also find clients that went away. */
    private final long heartbeatMillis;
    /** In cluster mode, what answers creates, lists and bursts cluster-wide; else null. */
    private final ClusterFront cluster;

    private final Dashboard dashboard;

    Api(Fleet fleet, Roster roster, Runs runs, ImageStore images, EventStream events, DaemonMetrics metrics, HostCapacity capacity,
        long heartbeatMillis) {
        this(fleet, roster, runs, images, events, metrics, capacity, heartbeatMillis, new Dashboard(), null);
    }

    Api(Fleet fleet, Roster roster, Runs runs, ImageStore images, EventStream events, DaemonMetrics metrics, HostCapacity capacity,
        long heartbeatMillis, Dashboard dashboard, ClusterFront cluster) {
        this.dashboard = dashboard;
        this.cluster = cluster;
        this.fleet = fleet;
        this.roster = roster;
        this.runs = runs;
        this.images = images;
        this.events = events;
        this.metrics = metrics;
        this.capacity = capacity;
        this.heartbeatMillis = heartbeatMillis;
    }

    Routes routes() {
        return new Routes()
                .add("GET", "/v1/openapi.json", x -> new Reply.Bytes(200, "application/json", openApi()))
                .add("GET", "/v1/host", x -> Reply.ok(host()))
                .add("POST", "/v1/images", this::registerImage)
                .add("GET", "/v1/images", x -> Reply.ok(imageList()))
                .add("POST", "/v1/instances", this::createInstance)
                .add("GET", "/v1/instances", x -> cluster != null ? new Reply.Bytes(200, "application/json", Json.bytes(cluster.list()))
                        : Reply.ok(instanceList()))
                .add("POST", "/v1/bursts", this::burst)
                .add("GET", "/v1/instances/{id}", x -> Reply.ok(view(roster.get(x.param("id")))))
                .add("DELETE", "/v1/instances/{id}", x -> {
                    if (cluster != null) return new Reply.Bytes(200, "application/json", Json.bytes(cluster.delete(x.param("id"))));
                    Hosted h = roster.get(x.param("id"));
                    fleet.delete(h);
                    return Reply.ok(Json.object("id", h.id, "deleted", true));
                })
                .add("POST", "/v1/instances/{id}/start", x -> act(x, runs::start))
                .add("POST", "/v1/instances/{id}/stop", x -> act(x, runs::stop))
                .add("POST", "/v1/instances/{id}/pause", x -> act(x, runs::pause))
                .add("POST", "/v1/instances/{id}/resume", x -> act(x, runs::resume))
                .add("GET", "/v1/instances/{id}/logs", this::logs)
                .add("GET", "/v1/instances/{id}/stats", x -> Reply.ok(stats(roster.get(x.param("id")))))
                .add("POST", "/v1/instances/{id}/snapshot", this::snapshot)
                .add("POST", "/v1/instances/{id}/clone", this::cloneInstance)
                .add("GET", "/v1/events", this::eventStream)
                .add("GET", "/metrics", x -> new Reply.Bytes(200, DaemonMetrics.CONTENT_TYPE, metrics.scrape()))
                .add("GET", "/", x -> new Reply.Redirect("/ui/", null))
                .add("GET", "/ui/", x -> new Reply.Bytes(200, "text/html; charset=utf-8", Dashboard.page("index.html")))
                .add("GET", "/ui/app.js", x -> new Reply.Bytes(200, "text/javascript; charset=utf-8", Dashboard.page("app.js")))
                .add("GET", "/ui/login", this::login);
    }

    /** The one-time login URL: a session cookie, then the dashboard; a spent or wrong code is a 401. */
    private Reply login(Exchange x) {
        String session = dashboard.login(x.query("code"));
        if (session == null) {
            throw new ApiException(401, "unauthorized", "this login code is wrong or was already used (the daemon prints a new one at start)", "code");
        }
        return new Reply.Redirect("/ui/", Dashboard.COOKIE + "=" + session + "; Path=/; HttpOnly; SameSite=Strict");
    }

    private Reply act(Exchange x, java.util.function.Consumer<Hosted> action) throws IOException {
        Hosted h = roster.get(x.param("id"));
        x.body(Set.of()); // no body expected: anything in it is an unknown field
        action.accept(h);
        return Reply.ok(view(h));
    }

    private static byte[] openApi() throws IOException {
        try (InputStream in = Api.class.getResourceAsStream("openapi.json")) {
            if (in == null) throw new IllegalStateException("openapi.json is missing from the daemon's jar");
            return in.readAllBytes();
        }
    }

    private ObjectNode host() {
        ObjectNode byState = Json.object();
        for (HostedState s : HostedState.values()) byState.put(s.label(), 0);
        for (Hosted h : roster.all()) {
            synchronized (h) {
                byState.put(h.state.label(), byState.get(h.state.label()).asInt() + 1);
            }
        }
        return Json.object("cores", Runtime.getRuntime().availableProcessors(),
                "memory_total_bytes", capacity.physicalBytes(),
                "memory_budget_bytes", capacity.budgetBytes(),
                "memory_reserved_bytes", runs.memoryReserved(),
                "memory_available_bytes", Math.max(0, capacity.budgetBytes() - runs.memoryReserved()),
                "instances", roster.all().size(),
                "instances_by_state", byState,
                "images", images.all().size());
    }

    private Reply registerImage(Exchange x) throws IOException {
        JsonBody b = x.body(Set.of("path"));
        StateDb.ImageRow r = images.register(b.string("path"), "path");
        return Reply.json(201, image(r));
    }

    private static ObjectNode image(StateDb.ImageRow r) {
        return Json.object("sha256", r.sha256(), "name", r.name(), "size", r.size(), "created_ms", r.createdMillis());
    }

    private ArrayNode imageList() {
        ArrayNode a = Json.MAPPER.createArrayNode();
        for (StateDb.ImageRow r : images.all()) a.add(image(r));
        return a;
    }

    private Reply createInstance(Exchange x) throws Exception {
        // Clustered, an instance may also name the labels its host must carry (networking is per host:
        // a clustered create takes no net, ports or scale-to-zero yet).
        if (cluster != null) {
            JsonBody cb = x.body(Set.of("image", "name", "memory_mib", "args", "start", "constraints"));
            return new Reply.Bytes(201, "application/json", Json.bytes(cluster.create(cb.node())));
        }
        JsonBody b = x.body(Set.of("image", "name", "memory_mib", "args", "start", "net", "ports", "scale_to_zero_ms"));
        List<String> portTexts = b.strings("ports");
        List<PortMapping> ports = new java.util.ArrayList<>();
        for (int i = 0; i < portTexts.size(); i++) ports.add(PortMapping.parse(portTexts.get(i), "ports[" + i + "]"));
        Fleet.CreateRequest req = new Fleet.CreateRequest(b.string("image"), b.optionalString("name"),
                (int) b.integer("memory_mib", DEFAULT_MEMORY_MIB, 2, 4096), b.strings("args"), b.bool("start", true),
                b.bool("net", !ports.isEmpty()), ports, b.integer("scale_to_zero_ms", 0, 0, 86_400_000));
        Hosted h = fleet.create(req);
        return Reply.json(201, view(h));
    }

    /** A burst is split across a cluster's hosts: only a clustered daemon takes one. */
    private Reply burst(Exchange x) throws Exception {
        JsonBody b = x.body(Set.of("image", "count", "memory_mib", "args"));
        if (cluster == null) throw ApiException.conflict("bursts are split across a cluster: start the daemon with --cluster");
        return new Reply.Bytes(201, "application/json", Json.bytes(cluster.burst(b.node())));
    }

    private ArrayNode instanceList() {
        ArrayNode a = Json.MAPPER.createArrayNode();
        for (Hosted h : roster.all()) a.add(view(h));
        return a;
    }

    ObjectNode view(Hosted h) {
        StateDb.ImageRow image = images.row(h.imageSha256);
        synchronized (h) {
            return Json.object("id", h.id, "name", h.name,
                    "image", Json.object("sha256", h.imageSha256, "name", image == null ? null : image.name()),
                    "memory_mib", h.memoryMiB, "args", h.args, "state", h.state.label(), "desired", h.desired,
                    "exit_status", h.exitStatus, "outcome", h.outcome, "boots", h.boots,
                    "created_ms", h.createdMillis, "started_ms", h.startedMillis == 0 ? null : h.startedMillis,
                    "ended_ms", h.endedMillis == 0 ? null : h.endedMillis,
                    "net", h.net == null ? null : Json.object("address", Subnet.format(h.net.address()),
                            "tap", HostNetwork.tapName(h.id), "ports", h.net.portTexts()),
                    "scale_to_zero_ms", h.scaleToZeroMillis == 0 ? null : h.scaleToZeroMillis,
                    "wake_prepared", h.state == HostedState.SLEEPING ? h.standby != null : null);
        }
    }

    private ObjectNode stats(Hosted h) {
        InstanceStats s = h.stats();
        if (s == null) return Json.object("id", h.id, "state", h.state.label(), "booted", false);
        long[] hc = s.hypercalls();
        ObjectNode hypercalls = Json.object();
        long total = 0;
        for (int nr = 0; nr < hc.length; nr++) {
            total += hc[nr];
            if (hc[nr] != 0) hypercalls.put(Hypercall.name(nr), hc[nr]);
        }
        ObjectNode o = Json.object("id", h.id, "state", h.state.label(), "booted", true, "mode", s.mode().label(),
                "memory_bytes", (long) h.memoryMiB << 20,
                "resident_bytes", s.residentBytes() < 0 ? null : s.residentBytes(),
                "boot", Json.object("create_ns", s.createNanos(), "load_ns", s.loadNanos(),
                        "entry_to_main_ns", s.entryToMainNanos() < 0 ? null : s.entryToMainNanos(),
                        "first_output_ns", s.firstOutputNanos() < 0 ? null : s.firstOutputNanos()),
                "run_ns", s.runNanos(), "cpu_ns", s.cpuNanos() < 0 ? null : s.cpuNanos(),
                "exits", Json.object("io", s.exits().io(), "mmio", s.exits().mmio(), "interrupted", s.exits().interrupted(),
                        "other", s.exits().other(), "total", s.exits().total()),
                "hypercalls", hypercalls, "hypercalls_total", total,
                "console_bytes", s.consoleBytes(), "console_bytes_dropped", s.consoleBytesDropped());
        if (s.netRing() != null) {
            var r = s.netRing();
            o.set("net_ring", Json.object("frames_in", r.framesIn(), "frames_out", r.framesOut(), "kicks", r.kicks(),
                    "wakeups", r.wakeups(), "invalid", r.invalid(), "dropped", r.dropped()));
        }
        return o;
    }

    /** The console; with follow=true, streamed until the run ends (or at once when none is live). */
    private Reply logs(Exchange x) throws IOException, InterruptedException {
        Hosted h = roster.get(x.param("id"));
        if (!x.flag("follow")) return new Reply.Bytes(200, "text/plain; charset=utf-8", h.log.read());
        ConsoleLog.Follow follow;
        boolean live;
        synchronized (h) { // ended() ends the log under this lock: a live run's end is never missed
            live = h.state.live();
            follow = live ? h.log.follow() : new ConsoleLog.Follow(h.log.read(), null);
        }
        Throwable failure = null;
        OutputStream out = x.stream("text/plain; charset=utf-8");
        try {
            out.write(follow.sofar());
            out.flush();
            if (live) {
                while (true) {
                    byte[] b = follow.later().poll(heartbeatMillis, TimeUnit.MILLISECONDS);
                    if (b == ConsoleLog.END) break;
                    if (b == null) {
                        if (!roster.contains(h)) break; // deleted while followed
                        continue;
                    }
                    out.write(b);
                    out.flush();
                }
            }
            out.close();
        } catch (IOException e) {
            failure = e; // the client went away
        } finally {
            if (follow.later() != null) h.log.unfollow(follow.later());
        }
        x.streamEnded(failure);
        return new Reply.Streamed();
    }

    private Reply snapshot(Exchange x) throws IOException {
        Hosted h = roster.get(x.param("id"));
        x.body(Set.of());
        Path file = runs.snapshot(h);
        return Reply.json(201, Json.object("id", h.id, "path", file.toString(), "size", Files.size(file)));
    }

    private Reply cloneInstance(Exchange x) throws IOException {
        Hosted h = roster.get(x.param("id"));
        JsonBody b = x.body(Set.of("count"));
        int count = (int) b.integer("count", 1, 1, MAX_CLONES);
        List<Hosted> clones = fleet.cloneOf(h, count);
        ArrayNode ids = Json.MAPPER.createArrayNode();
        for (Hosted c : clones) ids.add(c.id);
        return Reply.json(201, Json.object("source", h.id, "ids", ids));
    }

    /** Server-Sent Events: one {@code event:}/{@code data:} pair per lifecycle change, until the client leaves. */
    private Reply eventStream(Exchange x) throws InterruptedException {
        EventStream.Subscription s = events.subscribe();
        Throwable failure = null;
        OutputStream out = x.stream("text/event-stream");
        try {
            out.write(": kiln events\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            while (!s.overflowed) {
                EventStream.Event e = s.queue.poll(heartbeatMillis, TimeUnit.MILLISECONDS);
                String text = e == null ? ": keep-alive\n\n"
                        : "id: " + e.seq() + "\nevent: " + e.type() + "\ndata: " + new String(Json.bytes(e.json()), StandardCharsets.UTF_8) + "\n\n";
                out.write(text.getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
            out.close();
        } catch (IOException e) {
            failure = e;
        } finally {
            events.unsubscribe(s);
        }
        x.streamEnded(failure);
        return new Reply.Streamed();
    }
}
