package dev.kiln.monitor.hvt;

/** The guest broke the ABI or crashed; thrown inside the vCPU loop, it ends that guest only. */
public final class GuestFault extends Exception {
    private final FaultKind kind;

    public GuestFault(FaultKind kind, String message) {
        super(message, null, false, false);
        this.kind = kind;
    }

    public FaultKind kind() {
        return kind;
    }
}
