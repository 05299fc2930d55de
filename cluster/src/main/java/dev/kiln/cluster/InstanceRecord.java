package dev.kiln.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.daemon.Json;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * An instance's desired state, as any host's API writes it: what to boot (an image path every host
 * can read), and which hosts may run it (labels they must carry).
 */
record InstanceRecord(String id, String name, String image, int memoryMiB, List<String> args, String desired,
                      Map<String, String> constraints, long createdMillis) {
    InstanceRecord {
        args = List.copyOf(args);
        constraints = Map.copyOf(constraints);
    }

    boolean wantsRunning() {
        return "running".equals(desired);
    }

    ObjectNode json() {
        ObjectNode c = Json.object();
        new TreeMap<>(constraints).forEach(c::put);
        ObjectNode o = Json.object("id", id, "name", name, "image", image, "memory_mib", memoryMiB, "args", args,
                "desired", desired, "created_ms", createdMillis);
        o.set("constraints", c);
        return o;
    }

    static InstanceRecord parse(JsonNode o) {
        List<String> args = new ArrayList<>();
        if (o.path("args") instanceof ArrayNode a) a.forEach(x -> args.add(x.asText()));
        Map<String, String> constraints = new TreeMap<>();
        o.path("constraints").fields().forEachRemaining(e -> constraints.put(e.getKey(), e.getValue().asText()));
        return new InstanceRecord(o.path("id").asText(), o.path("name").isTextual() ? o.path("name").asText() : null,
                o.path("image").asText(), o.path("memory_mib").asInt(16), args, o.path("desired").asText("running"),
                constraints, o.path("created_ms").asLong());
    }
}
