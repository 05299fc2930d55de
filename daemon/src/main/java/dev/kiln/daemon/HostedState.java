package dev.kiln.daemon;

import java.util.Locale;

/** Where a hosted instance is in its life, as the API names it. */
enum HostedState {
    /** Recorded, never booted (or not since the daemon started and it was not meant to run). */
    CREATED,
    RUNNING,
    PAUSED,
    /** Stopped on request (or by the daemon's shutdown). */
    STOPPED,
    /** The guest ended by itself: halted with a status, or faulted. */
    EXITED,
    /** Scaled to zero: snapshotted and stopped while idle; the next connection to a port restores it. */
    SLEEPING;

    String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    boolean live() {
        return this == RUNNING || this == PAUSED;
    }

    static HostedState parse(String label) {
        return valueOf(label.toUpperCase(Locale.ROOT));
    }
}
