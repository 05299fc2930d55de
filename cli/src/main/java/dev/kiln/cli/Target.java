package dev.kiln.cli;

/**
 * A benchmark's target and whether a run met it, printed the one way every benchmark uses
 * ({@code target <= 1.3x: met}, {@code target <= 150 ms: NOT met}; bench/net/run.sh writes the
 * same), so a reader or a script can look for "NOT met" across all of them.
 */
record Target(String goal) {
    Target {
        if (goal == null || goal.isBlank()) throw new IllegalArgumentException("a target needs a goal to print");
    }

    /** {@code target GOAL: met} or {@code target GOAL: NOT met}. */
    String verdict(boolean met) {
        return "target " + goal + ": " + (met ? "met" : "NOT met");
    }
}
