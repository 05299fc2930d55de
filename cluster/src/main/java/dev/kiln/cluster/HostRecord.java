package dev.kiln.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.daemon.Json;

import java.util.Map;
import java.util.TreeMap;

/**
 * A host as it registers: what it offers instances and where its API answers.
 *
 * @param memoryBudgetBytes guest memory its monitor admits
 * @param cores             its processors: vCPUs are handed out {@link Placement#VCPUS_PER_CORE} per core
 */
record HostRecord(String name, String address, long memoryBudgetBytes, int cores, Map<String, String> labels) {
    HostRecord {
        labels = Map.copyOf(labels);
    }

    ObjectNode json() {
        ObjectNode l = Json.object();
        new TreeMap<>(labels).forEach(l::put);
        ObjectNode o = Json.object("name", name, "address", address, "memory_budget_bytes", memoryBudgetBytes, "cores", cores);
        o.set("labels", l);
        return o;
    }

    static HostRecord parse(JsonNode o) {
        Map<String, String> labels = new TreeMap<>();
        o.path("labels").fields().forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
        return new HostRecord(o.path("name").asText(), o.path("address").asText(), o.path("memory_budget_bytes").asLong(),
                o.path("cores").asInt(1), labels);
    }
}
