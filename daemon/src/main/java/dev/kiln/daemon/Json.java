package dev.kiln.daemon;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** The one Jackson mapper, and a terse way to build response objects. */
public final class Json {
    private Json() {}

    /** Nesting and string limits well under Jackson's defaults: bodies are small and untrusted. */
    public static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).maxStringLength(1 << 20).build())
            // {"start": false, "start": true} and {...} garbage mean something other than what was read: refused
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build())
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /**
     * An object from alternating names and values; null values are left out. The common types are
     * put directly: {@code valueToTree} runs a whole serializer per value, which showed in every
     * GET's cost.
     */
    public static ObjectNode object(Object... namesAndValues) {
        ObjectNode o = MAPPER.createObjectNode();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            String name = (String) namesAndValues[i];
            switch (namesAndValues[i + 1]) {
                case null -> { }
                case String s -> o.put(name, s);
                case Integer n -> o.put(name, n);
                case Long n -> o.put(name, n);
                case Boolean b -> o.put(name, b);
                case JsonNode n -> o.set(name, n);
                case java.util.List<?> list when list.stream().allMatch(String.class::isInstance) -> {
                    var a = o.putArray(name);
                    for (Object e : list) a.add((String) e);
                }
                case Object v -> o.set(name, MAPPER.valueToTree(v));
            }
        }
        return o;
    }

    public static byte[] bytes(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON: " + e.getMessage(), e);
        }
    }
}
