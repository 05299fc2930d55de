package dev.kiln.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.daemon.Json;
import dev.kiln.daemon.LocalFleet;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * A host's side of a cluster burst: takes the shares written under its name, runs each through the
 * monitor's paced burst, and writes how it went (when its first and last instances were up, in
 * epoch time, so the coordinator can compare hosts).
 */
final class BurstRunner {
    private final EtcdStore store;
    private final KeySpace keys;
    private final String host;
    private final LocalFleet fleet;

    BurstRunner(EtcdStore store, KeySpace keys, String host, LocalFleet fleet) {
        this.store = store;
        this.keys = keys;
        this.host = host;
        this.fleet = fleet;
    }

    void pass() throws IOException {
        for (EtcdStore.Entry e : store.prefix(keys.bursts(host)).entries()) {
            String burst = e.key().substring(keys.bursts(host).length());
            // Taken first: a share is run once even if this pass fails half-way.
            store.delete(e.key());
            JsonNode share = e.json();
            Thread.ofVirtual().name("kiln-cluster-burst-" + burst).start(() -> run(burst, share));
        }
    }

    private void run(String burst, JsonNode share) {
        List<String> args = new ArrayList<>();
        share.path("args").forEach(a -> args.add(a.asText()));
        var result = Json.object("host", host, "requested", share.path("count").asInt());
        try {
            LocalFleet.BurstShare s = fleet.burst(share.path("image").asText(), share.path("memory_mib").asInt(16), args,
                    share.path("count").asInt(), share.path("timeout_ms").asLong(30_000));
            result = Json.object("host", host, "requested", s.requested(), "up", s.up(), "refused", s.refused(),
                    "first_up_epoch_ns", s.startEpochMillis() * 1_000_000 + s.firstUpNanos(),
                    "last_up_epoch_ns", s.startEpochMillis() * 1_000_000 + s.lastUpNanos(),
                    "first_failure", s.firstFailure());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            result.put("error", "interrupted");
        } catch (RuntimeException e) {
            result.put("error", String.valueOf(e.getMessage()));
        }
        try {
            store.put(keys.burstResults(burst) + host, Json.bytes(result), 0);
        } catch (IOException e) {
            // the coordinator times out on this host's share and says so
        }
    }
}
