package dev.kiln.monitor.hvt;

/**
 * The hypercalls one instance answers, indexed by number. Device modules register theirs at
 * creation (as Solo5's tender modules do); a number nobody registered is a guest fault.
 */
public final class HypercallTable {
    private final HypercallHandler[] handlers = new HypercallHandler[Hypercall.PORT_END - Hypercall.PORT_BASE];

    public void register(int nr, HypercallHandler handler) {
        if (nr <= 0 || nr >= handlers.length) {
            throw new IllegalArgumentException("hypercall number " + nr + " is outside 1.." + (handlers.length - 1));
        }
        if (handlers[nr] != null) {
            throw new IllegalStateException(Hypercall.name(nr) + " is registered twice");
        }
        handlers[nr] = handler;
    }

    /** The handler for {@code nr}, or null. */
    public HypercallHandler get(int nr) {
        return nr > 0 && nr < handlers.length ? handlers[nr] : null;
    }
}
