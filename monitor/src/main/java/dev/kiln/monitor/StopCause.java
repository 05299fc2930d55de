package dev.kiln.monitor;

/**
 * Why an instance was stopped from outside rather than halting by itself, with the process exit
 * status a command line reports for it (shell conventions: 128 + signal, 124 for a time limit).
 */
public enum StopCause {
    /** {@link Instance#stop} was called by the host program. */
    REQUESTED(137, "stopped on request"),
    /** The monitor process got SIGINT (Ctrl-C). */
    INTERRUPT(130, "stopped by SIGINT"),
    /** The monitor process got SIGTERM. */
    TERMINATE(143, "stopped by SIGTERM"),
    /** The instance ran past its time limit: a guest that spins or hangs. */
    TIME_LIMIT(124, "ran past its time limit"),
    /** The guest was a forked child and its parent ended (docs/kiln-abi.md 1.1). */
    PARENT_EXITED(143, "stopped because its parent ended"),
    /** The debugger attached with {@code --gdb} killed the guest. */
    DEBUGGER(137, "killed from the debugger");

    private final int exitStatus;
    private final String description;

    StopCause(int exitStatus, String description) {
        this.exitStatus = exitStatus;
        this.description = description;
    }

    public int exitStatus() {
        return exitStatus;
    }

    public String description() {
        return description;
    }
}
