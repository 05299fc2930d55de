package dev.kiln.monitor;

/**
 * How a guest's instructions run. On hardware KVM (VMX/SVM) they always run on the CPU. On this
 * host family's paravirtual KVM (kvm_pvm) they run on the CPU only once the monitor registers a
 * page per vCPU ({@link dev.kiln.monitor.kvm.PvmPage}); without it KVM's instruction emulator runs
 * each one (~1 us): slower by thousands of times, but a debugger's single steps and breakpoints
 * reach the monitor only there.
 */
public enum ExecutionMode {
    /** At the CPU's speed: hardware KVM, or kvm_pvm with the page registered. */
    NATIVE("native"),
    /** Every instruction by KVM's emulator (kvm_pvm without the page). */
    EMULATED("emulated");

    private final String label;

    ExecutionMode(String label) {
        this.label = label;
    }

    /** "native" or "emulated", as the CLI and benchmarks print it. */
    public String label() {
        return label;
    }

    /**
     * What a spec asks for when it does not say: {@code -Dkiln.execution=emulated} makes every
     * instance emulated (CI runs the guest tests once more that way), else native where possible.
     */
    public static ExecutionMode requestedDefault() {
        String p = System.getProperty("kiln.execution", "native");
        return switch (p) {
            case "native" -> NATIVE;
            case "emulated" -> EMULATED;
            default -> throw new IllegalArgumentException("kiln.execution is '" + p + "'; use native or emulated");
        };
    }
}
