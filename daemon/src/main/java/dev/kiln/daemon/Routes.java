package dev.kiln.daemon;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The route table: method + path template ({@code /v1/instances/{id}/start}) to an action. The
 * table is data, so a test can compare it with the OpenAPI document in both directions.
 */
final class Routes {
    @FunctionalInterface
    interface Action {
        Reply handle(Exchange exchange) throws Exception;
    }

    record Route(String method, String template, Action action) {
        List<String> segments() {
            return split(template);
        }
    }

    /** A match: the route and its path parameters. */
    record Match(Route route, Map<String, String> params) {}

    private final List<Route> routes = new ArrayList<>();

    Routes add(String method, String template, Action action) {
        routes.add(new Route(method, template, action));
        return this;
    }

    List<Route> all() {
        return List.copyOf(routes);
    }

    /** The route for this request; 404 for an unknown path, 405 (naming the allowed methods) for a known one. */
    Match match(String method, String path) {
        List<String> parts = split(path);
        Set<String> allowed = new TreeSet<>();
        for (Route r : routes) {
            Map<String, String> params = bind(r.segments(), parts);
            if (params == null) continue;
            if (r.method().equals(method)) return new Match(r, params);
            allowed.add(r.method());
        }
        if (!allowed.isEmpty()) {
            throw new ApiException(405, "method_not_allowed", method + " is not allowed on " + path
                    + "; allowed: " + String.join(", ", allowed), null);
        }
        throw new ApiException(404, "no_route", "no such endpoint: " + path + " (GET /v1/openapi.json lists them)", null);
    }

    private static Map<String, String> bind(List<String> template, List<String> parts) {
        if (template.size() != parts.size()) return null;
        Map<String, String> params = new LinkedHashMap<>();
        for (int i = 0; i < template.size(); i++) {
            String t = template.get(i);
            String p = parts.get(i);
            if (t.startsWith("{") && t.endsWith("}")) {
                if (p.isEmpty()) return null;
                params.put(t.substring(1, t.length() - 1), p);
            } else if (!t.equals(p)) {
                return null;
            }
        }
        return params;
    }

    private static List<String> split(String path) {
        String p = path.startsWith("/") ? path.substring(1) : path;
        if (p.endsWith("/")) p = p.substring(0, p.length() - 1);
        return List.of(p.split("/", -1));
    }
}
