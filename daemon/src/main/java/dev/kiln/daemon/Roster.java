package dev.kiln.daemon;

import java.security.SecureRandom;
import java.util.Collection;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Every instance one daemon hosts, by id and by name: what a request names is found here. The
 * {@link Fleet} adds and removes records; {@link Runs}, the network and scale to zero only look.
 */
final class Roster {
    private final Map<String, Hosted> byId = new ConcurrentHashMap<>();
    private final Map<String, Hosted> byName = new ConcurrentHashMap<>();
    private final SecureRandom random = new SecureRandom();

    /** The instance with this id or name. */
    Hosted get(String idOrName) {
        Hosted h = byId.get(idOrName);
        if (h == null) h = byName.get(idOrName);
        if (h == null) throw ApiException.notFound("instance", idOrName);
        return h;
    }

    /** Whether {@code h} itself is recorded (not deleted, nor replaced by another of its id). */
    boolean contains(Hosted h) {
        return byId.get(h.id) == h;
    }

    /** Every instance, oldest first. */
    Collection<Hosted> all() {
        return byId.values().stream().sorted(java.util.Comparator.comparingLong((Hosted x) -> x.createdMillis).thenComparing(x -> x.id)).toList();
    }

    /** Whether an instance with this id is recorded (one deleted is not, even while its run ends). */
    boolean holds(String id) {
        return byId.containsKey(id);
    }

    /** Every instance, in no particular order: a live view, for a pass over all of them. */
    Collection<Hosted> unordered() {
        return byId.values();
    }

    /** A new random id no instance holds. */
    String newId() {
        byte[] b = new byte[6];
        String id;
        do {
            random.nextBytes(b);
            id = HexFormat.of().formatHex(b);
        } while (byId.containsKey(id));
        return id;
    }

    /** Adds a record loaded at the daemon's start. */
    void load(Hosted h) {
        byId.put(h.id, h);
        if (h.name != null) byName.put(h.name, h);
    }

    /** Takes {@code h}'s name for it (an instance without a name needs none): false when another holds it. */
    boolean claimName(Hosted h) {
        return h.name == null || byName.putIfAbsent(h.name, h) == null;
    }

    /** Gives back the name {@link #claimName} took. */
    void releaseName(Hosted h) {
        if (h.name != null) byName.remove(h.name, h);
    }

    /** Adds a new record, once its name is claimed and it is in the state database. */
    void add(Hosted h) {
        byId.put(h.id, h);
    }

    /** Removes {@code h} and its name; false when it was not there (deleted already). */
    boolean remove(Hosted h) {
        if (!byId.remove(h.id, h)) return false;
        releaseName(h);
        return true;
    }
}
