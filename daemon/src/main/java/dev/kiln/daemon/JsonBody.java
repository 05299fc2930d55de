package dev.kiln.daemon;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A request body read as a JSON object, with typed accessors that name the field at fault. Bodies
 * come from anyone who can reach the socket, so every field is checked by hand (type, range,
 * unknown names) instead of binding to a class: the error then says exactly what was wrong.
 */
final class JsonBody {
    private final ObjectNode object;

    private JsonBody(ObjectNode object) {
        this.object = object;
    }

    /** Parses {@code bytes} (empty: an empty object) and refuses fields outside {@code allowed}. */
    static JsonBody parse(byte[] bytes, Set<String> allowed) {
        ObjectNode object;
        if (bytes.length == 0) {
            object = Json.MAPPER.createObjectNode();
        } else {
            JsonNode node;
            try {
                node = Json.MAPPER.readTree(bytes);
            } catch (JsonProcessingException e) {
                throw new ApiException(400, "bad_json", "request body is not valid JSON: " + e.getOriginalMessage()
                        + " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")", null);
            } catch (java.io.IOException e) {
                throw new ApiException(400, "bad_json", "request body could not be read: " + e.getMessage(), null);
            }
            if (node == null || node.isMissingNode()) {
                object = Json.MAPPER.createObjectNode();
            } else if (!(node instanceof ObjectNode o)) {
                throw new ApiException(400, "bad_json", "request body must be a JSON object, got " + kind(node), null);
            } else {
                object = o;
            }
        }
        var names = object.fieldNames();
        while (names.hasNext()) {
            String name = names.next();
            if (!allowed.contains(name)) {
                throw new ApiException(400, "unknown_field", "unknown field '" + name + "'; allowed: "
                        + String.join(", ", new java.util.TreeSet<>(allowed)), name);
            }
        }
        return new JsonBody(object);
    }

    /** The object as parsed (its fields already checked against the allowed names). */
    ObjectNode node() {
        return object;
    }

    boolean has(String field) {
        JsonNode n = object.get(field);
        return n != null && !n.isNull();
    }

    String string(String field) {
        JsonNode n = object.get(field);
        if (n == null || n.isNull()) throw ApiException.invalid(field, "field '" + field + "' is required");
        if (!n.isTextual()) throw wrongType(field, "a string", n);
        return n.textValue();
    }

    String optionalString(String field) {
        return has(field) ? string(field) : null;
    }

    long integer(String field, long fallback, long min, long max) {
        if (!has(field)) return fallback;
        JsonNode n = object.get(field);
        if (!n.isIntegralNumber() || !n.canConvertToLong()) throw wrongType(field, "an integer", n);
        long v = n.longValue();
        if (v < min || v > max) {
            throw ApiException.invalid(field, "field '" + field + "' must be from " + min + " to " + max + ", got " + v);
        }
        return v;
    }

    boolean bool(String field, boolean fallback) {
        if (!has(field)) return fallback;
        JsonNode n = object.get(field);
        if (!n.isBoolean()) throw wrongType(field, "true or false", n);
        return n.booleanValue();
    }

    List<String> strings(String field) {
        if (!has(field)) return List.of();
        JsonNode n = object.get(field);
        if (!n.isArray()) throw wrongType(field, "an array of strings", n);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n.size(); i++) {
            JsonNode e = n.get(i);
            if (!e.isTextual()) throw wrongType(field + "[" + i + "]", "a string", e);
            out.add(e.textValue());
        }
        return out;
    }

    private static ApiException wrongType(String field, String expected, JsonNode got) {
        return ApiException.invalid(field, "field '" + field + "' must be " + expected + ", got " + kind(got));
    }

    private static String kind(JsonNode n) {
        return switch (n.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> n.isIntegralNumber() ? "an integer" : "a number";
            case BOOLEAN -> "a boolean";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case NULL -> "null";
            default -> n.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
    }
}
