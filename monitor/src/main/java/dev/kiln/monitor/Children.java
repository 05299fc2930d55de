package dev.kiln.monitor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The children a guest forked and has not yet waited for (docs/kiln-abi.md 1): FORK adds one, WAIT
 * reaps one that ended, and the parent's end stops and releases the rest.
 */
final class Children {
    /** What WAIT found for an id: whether such a child exists, and one that has ended, or null. */
    record Lookup(boolean exists, Instance ended) {}

    private final Map<Long, Instance> byId = new LinkedHashMap<>();

    synchronized int count() {
        return byId.size();
    }

    synchronized void add(Instance child) {
        byId.put(child.id(), child);
    }

    synchronized void remove(Instance child) {
        byId.remove(child.id());
    }

    /** The child {@code id}, or any child when {@code id} is -1. */
    synchronized Lookup find(long id) {
        if (id == -1) {
            for (Instance c : byId.values()) {
                if (c.ended()) return new Lookup(true, c);
            }
            return new Lookup(!byId.isEmpty(), null);
        }
        Instance c = byId.get(id);
        if (c == null) return new Lookup(false, null);
        return new Lookup(true, c.ended() ? c : null);
    }

    synchronized List<Instance> all() {
        return new ArrayList<>(byId.values());
    }
}
