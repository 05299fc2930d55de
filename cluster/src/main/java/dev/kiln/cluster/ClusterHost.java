package dev.kiln.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.daemon.ApiException;
import dev.kiln.daemon.ClusterFront;
import dev.kiln.daemon.Json;
import dev.kiln.daemon.LocalFleet;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.PutOption;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A daemon as a host of a cluster: registers it, runs its reconciler and its candidacy for
 * scheduler, and answers the API's cluster-wide calls (create, list, burst) from etcd.
 */
final class ClusterHost implements ClusterFront {
    private final ClusterOptions options;
    private final KeySpace keys;
    private final LocalFleet fleet;
    private final EtcdStore store;
    private final SecureRandom random = new SecureRandom();
    private Registration registration;
    private Reconciler reconciler;
    private Scheduler scheduler;

    ClusterHost(ClusterOptions options, LocalFleet fleet) {
        this.options = options;
        this.keys = new KeySpace(options.root());
        this.fleet = fleet;
        this.store = new EtcdStore(options.endpoints());
    }

    @Override
    public void serving(String apiAddress) throws Exception {
        if (options.snapshotStore() != null) Files.createDirectories(options.snapshotStore());
        HostRecord me = new HostRecord(options.hostName(), apiAddress, fleet.memoryBudgetBytes(),
                Runtime.getRuntime().availableProcessors(), options.labels());
        registration = new Registration(store, keys, me, options.leaseTtlSeconds(), () -> {
            if (reconciler != null) reconciler.wake();
        });
        registration.start();
        reconciler = new Reconciler(store, keys, fleet, registration, options.snapshotStore(), options.snapshotEverySeconds() * 1000);
        reconciler.start();
        scheduler = new Scheduler(store, keys, options.policy(), options.hostName(), registration::lease);
        scheduler.start();
    }

    boolean leading() {
        return scheduler != null && scheduler.leading();
    }

    @Override
    public JsonNode create(JsonNode req) throws IOException {
        String image = req.path("image").asText("");
        if (!image.startsWith("/")) throw ApiException.invalid("image", "in a cluster, image must be an absolute path every host can read");
        if (!Files.isRegularFile(Path.of(image))) throw ApiException.unprocessable("image", "unknown_image", "no image file at " + image);
        int memory = req.path("memory_mib").asInt(16);
        if (memory < 2 || memory > 4096) throw ApiException.invalid("memory_mib", "memory_mib must be from 2 to 4096");
        List<String> args = new ArrayList<>();
        req.path("args").forEach(a -> args.add(a.asText()));
        Map<String, String> constraints = new TreeMap<>();
        req.path("constraints").fields().forEachRemaining(e -> constraints.put(e.getKey(), e.getValue().asText()));
        String name = req.path("name").isTextual() ? req.path("name").asText() : null;
        String id = HexFormat.of().formatHex(bytes6());
        InstanceRecord r = new InstanceRecord(id, name, image, memory, args,
                req.path("start").asBoolean(true) ? "running" : "stopped", constraints, System.currentTimeMillis());
        byte[] value = Json.bytes(r.json());
        List<Cmp> ifs = new ArrayList<>();
        List<Op> ops = new ArrayList<>();
        ifs.add(new Cmp(EtcdStore.bytes(keys.instance(id)), Cmp.Op.EQUAL, CmpTarget.version(0)));
        ops.add(Op.put(EtcdStore.bytes(keys.instance(id)), EtcdStore.bytes(value), PutOption.DEFAULT));
        if (name != null) {
            // A name is claimed in the same transaction: two hosts' APIs cannot give it twice.
            String nameKey = keys.root() + "/names/" + name;
            ifs.add(new Cmp(EtcdStore.bytes(nameKey), Cmp.Op.EQUAL, CmpTarget.version(0)));
            ops.add(Op.put(EtcdStore.bytes(nameKey), EtcdStore.bytes(id), PutOption.DEFAULT));
        }
        if (!store.txn(ifs, ops, value.length)) {
            throw new ApiException(409, "name_in_use", "an instance is already named '" + name + "'", "name");
        }
        return view(r, null, null);
    }

    private byte[] bytes6() {
        byte[] b = new byte[6];
        random.nextBytes(b);
        return b;
    }

    @Override
    public JsonNode list() throws IOException {
        Map<String, String> placed = new HashMap<>();
        for (EtcdStore.Entry e : store.prefix(keys.placements()).entries()) {
            placed.put(e.key().substring(keys.placements().length()), new String(e.value(), StandardCharsets.UTF_8));
        }
        Map<String, JsonNode> status = new HashMap<>();
        for (EtcdStore.Entry e : store.prefix(keys.statuses()).entries()) {
            status.put(e.key().substring(keys.statuses().length()), e.json());
        }
        List<InstanceRecord> all = new ArrayList<>();
        for (EtcdStore.Entry e : store.prefix(keys.instances()).entries()) all.add(InstanceRecord.parse(e.json()));
        all.sort(java.util.Comparator.comparingLong(InstanceRecord::createdMillis).thenComparing(InstanceRecord::id));
        ArrayNode a = Json.MAPPER.createArrayNode();
        for (InstanceRecord r : all) a.add(view(r, placed.get(r.id()), status.get(r.id())));
        return a;
    }

    /**
     * An instance as the list shows it: where it is placed, and its state as that host last
     * reported it ("pending" until the host it is placed on says).
     */
    private static ObjectNode view(InstanceRecord r, String host, JsonNode status) {
        // Not placed yet: "pending", or "stopped" for one created not to run.
        String state = r.wantsRunning() ? "pending" : "stopped";
        boolean fromSnapshot = false;
        if (status != null && host != null && host.equals(status.path("host").asText())) {
            state = status.path("state").asText();
            fromSnapshot = status.path("from_snapshot").asBoolean();
        }
        ObjectNode o = Json.object("id", r.id(), "name", r.name(), "memory_mib", r.memoryMiB(), "args", r.args(),
                "state", state, "desired", r.desired(), "host", host, "from_snapshot", fromSnapshot,
                "created_ms", r.createdMillis());
        o.set("image", Json.object("sha256", null, "name", Path.of(r.image()).getFileName().toString().replaceFirst("\\.hvt$", ""),
                "path", r.image()));
        return o;
    }

    @Override
    public JsonNode delete(String id) throws IOException {
        EtcdStore.Entry e = store.get(keys.instance(id));
        if (e == null) throw ApiException.notFound("instance", id);
        InstanceRecord r = InstanceRecord.parse(e.json());
        List<Cmp> ifs = List.of(new Cmp(EtcdStore.bytes(keys.instance(id)), Cmp.Op.EQUAL, CmpTarget.modRevision(e.modRevision())));
        List<Op> ops = new ArrayList<>();
        ops.add(Op.delete(EtcdStore.bytes(keys.instance(id)), io.etcd.jetcd.options.DeleteOption.DEFAULT));
        ops.add(Op.delete(EtcdStore.bytes(keys.status(id)), io.etcd.jetcd.options.DeleteOption.DEFAULT));
        if (r.name() != null) ops.add(Op.delete(EtcdStore.bytes(keys.root() + "/names/" + r.name()), io.etcd.jetcd.options.DeleteOption.DEFAULT));
        // The scheduler's next pass (woken by this delete) drops the placement; the host's reconciler then removes the run.
        if (!store.txn(ifs, ops, 64)) throw ApiException.conflict("instance " + id + " changed meanwhile; try again");
        return Json.object("id", id, "deleted", true);
    }

    @Override
    public JsonNode burst(JsonNode req) throws Exception {
        return new ClusterBurst(store, keys).run(req);
    }

    @Override
    public void close() {
        if (scheduler != null) scheduler.close();
        if (reconciler != null) reconciler.close();
        if (registration != null) registration.close();
        store.close();
    }
}
