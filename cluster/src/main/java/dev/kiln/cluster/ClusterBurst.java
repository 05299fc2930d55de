package dev.kiln.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.daemon.ApiException;
import dev.kiln.daemon.Json;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * POST /v1/bursts in cluster mode: splits the count across live hosts in proportion to their free
 * memory (budget minus what is placed on them), writes each host's share for it to run, and waits
 * for every share's outcome. First and last up are cluster-wide: the earliest first-up and the
 * latest last-up of all hosts, from the moment the request arrived.
 */
final class ClusterBurst {
    private static final long WAIT_MILLIS = 60_000;

    private final EtcdStore store;
    private final KeySpace keys;

    ClusterBurst(EtcdStore store, KeySpace keys) {
        this.store = store;
        this.keys = keys;
    }

    JsonNode run(JsonNode req) throws IOException, InterruptedException {
        long t0 = System.currentTimeMillis() * 1_000_000;
        String image = req.path("image").asText("");
        if (!image.startsWith("/")) throw ApiException.invalid("image", "a cluster burst needs an absolute image path every host can read");
        int count = req.path("count").asInt(0);
        if (count < 1 || count > 1_000_000) throw ApiException.invalid("count", "count must be from 1 to 1000000");
        int memoryMiB = req.path("memory_mib").asInt(16);
        Map<String, Long> free = freeMemory();
        if (free.isEmpty()) throw new ApiException(409, "no_hosts", "no host is registered in the cluster", null);
        Map<String, Integer> shares = split(count, free);
        String burst = Long.toHexString(System.nanoTime()) + Integer.toHexString(count);
        for (var s : shares.entrySet()) {
            if (s.getValue() == 0) continue;
            ObjectNode share = Json.object("image", image, "count", s.getValue(), "memory_mib", memoryMiB, "timeout_ms", 30_000);
            share.set("args", req.path("args").isArray() ? req.path("args") : Json.MAPPER.createArrayNode());
            store.put(keys.bursts(s.getKey()) + burst, Json.bytes(share), 0);
        }
        long expected = shares.values().stream().filter(v -> v > 0).count();
        long deadline = System.currentTimeMillis() + WAIT_MILLIS;
        List<EtcdStore.Entry> results;
        do {
            Thread.sleep(50);
            results = store.prefix(keys.burstResults(burst)).entries();
        } while (results.size() < expected && System.currentTimeMillis() < deadline);
        ArrayNode hosts = Json.MAPPER.createArrayNode();
        long first = Long.MAX_VALUE, last = 0;
        int up = 0, refused = 0;
        for (EtcdStore.Entry e : results) {
            JsonNode r = e.json();
            hosts.add(r);
            up += r.path("up").asInt();
            refused += r.path("refused").asInt();
            if (r.has("first_up_epoch_ns")) first = Math.min(first, r.path("first_up_epoch_ns").asLong());
            if (r.has("last_up_epoch_ns")) last = Math.max(last, r.path("last_up_epoch_ns").asLong());
            store.delete(e.key());
        }
        ObjectNode o = Json.object("burst", burst, "count", count, "up", up, "refused", refused,
                "hosts_answered", results.size(), "hosts_asked", (int) expected,
                "first_up_ms", first == Long.MAX_VALUE ? null : (first - t0) / 1e6,
                "last_up_ms", last == 0 ? null : (last - t0) / 1e6);
        o.set("shares", hosts);
        return o;
    }

    /** Each live host's free guest memory: its budget minus the memory of what is placed on it. */
    private Map<String, Long> freeMemory() throws IOException {
        Map<String, Long> free = new LinkedHashMap<>();
        for (EtcdStore.Entry e : store.prefix(keys.hosts()).entries()) {
            HostRecord h = HostRecord.parse(e.json());
            free.put(h.name(), h.memoryBudgetBytes());
        }
        Map<String, Integer> memory = new HashMap<>();
        for (EtcdStore.Entry e : store.prefix(keys.instances()).entries()) {
            InstanceRecord r = InstanceRecord.parse(e.json());
            memory.put(r.id(), r.memoryMiB());
        }
        for (EtcdStore.Entry e : store.prefix(keys.placements()).entries()) {
            String host = new String(e.value(), java.nio.charset.StandardCharsets.UTF_8);
            Integer m = memory.get(e.key().substring(keys.placements().length()));
            if (m != null && free.containsKey(host)) free.merge(host, -((long) m << 20), Long::sum);
        }
        return free;
    }

    /** {@code count} split in proportion to {@code free} (largest remainders get the rest). */
    static Map<String, Integer> split(int count, Map<String, Long> free) {
        long total = free.values().stream().mapToLong(v -> Math.max(0, v)).sum();
        Map<String, Integer> shares = new LinkedHashMap<>();
        List<Map.Entry<String, Double>> remainders = new ArrayList<>();
        int given = 0;
        for (var e : free.entrySet()) {
            double exact = total == 0 ? (double) count / free.size() : (double) count * Math.max(0, e.getValue()) / total;
            int n = (int) Math.floor(exact);
            shares.put(e.getKey(), n);
            given += n;
            remainders.add(Map.entry(e.getKey(), exact - n));
        }
        remainders.sort(Map.Entry.<String, Double>comparingByValue().reversed());
        for (int i = 0; given < count; i = (i + 1) % remainders.size(), given++) {
            shares.merge(remainders.get(i).getKey(), 1, Integer::sum);
        }
        return shares;
    }
}
