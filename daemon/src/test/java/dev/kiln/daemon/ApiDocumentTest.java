package dev.kiln.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The OpenAPI document and the routes the server registers name the same method + path pairs, both ways. */
class ApiDocumentTest {
    private static final Set<String> METHODS = Set.of("get", "put", "post", "delete", "patch", "head", "options");

    @Test
    void everyRouteIsDocumentedAndEveryDocumentedRouteExists() throws Exception {
        JsonNode doc;
        try (InputStream in = Api.class.getResourceAsStream("openapi.json")) {
            doc = Json.MAPPER.readTree(in);
        }
        assertTrue(doc.path("openapi").asText().startsWith("3."), "an OpenAPI 3 document");
        Set<String> documented = new TreeSet<>();
        doc.path("paths").properties().forEach(p -> p.getValue().properties().forEach(m -> {
            if (METHODS.contains(m.getKey())) documented.add(m.getKey().toUpperCase() + " " + p.getKey());
        }));
        Set<String> served = new Api(null, null, null, null, null, null, null, 1000).routes().all().stream()
                .map(r -> r.method() + " " + r.template()).collect(Collectors.toCollection(TreeSet::new));
        assertEquals(served, documented);
    }

    @Test
    void everyOperationDocumentsItsResponsesAndPathParameters() throws Exception {
        JsonNode doc;
        try (InputStream in = Api.class.getResourceAsStream("openapi.json")) {
            doc = Json.MAPPER.readTree(in);
        }
        doc.path("paths").properties().forEach(p -> p.getValue().properties().forEach(m -> {
            JsonNode op = m.getValue();
            assertTrue(op.path("responses").size() > 0, m.getKey() + " " + p.getKey() + " has no responses");
            if (p.getKey().contains("{id}")) {
                boolean declared = false;
                for (JsonNode param : op.path("parameters")) declared |= param.path("name").asText().equals("id") && param.path("in").asText().equals("path");
                assertTrue(declared, m.getKey() + " " + p.getKey() + " does not declare its path parameter id");
            }
        }));
    }
}
