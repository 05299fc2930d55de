package dev.kiln.monitor;

/**
 * What an instance cost and did, all times in nanoseconds from {@link System#nanoTime()}.
 *
 * @param createNanos      creating the VM, its memory and its vCPU
 * @param loadNanos        loading the image and writing the boot state
 * @param firstOutputNanos from the start of creation to the first console byte (-1: none)
 * @param runNanos         from guest entry to the end of the run (0 while never run)
 * @param exits            VM exits by cause
 * @param hypercalls       hypercalls by number (index = hvt hypercall number)
 * @param consoleBytes     console bytes written
 */
public record InstanceStats(long createNanos, long loadNanos, long firstOutputNanos, long runNanos,
                            Exits exits, long[] hypercalls, long consoleBytes) {
    /** VM exits of an instance by KVM exit reason. */
    public record Exits(long io, long mmio, long interrupted, long other) {
        public long total() {
            return io + mmio + interrupted + other;
        }
    }

    public InstanceStats {
        hypercalls = hypercalls.clone();
    }

    @Override
    public long[] hypercalls() {
        return hypercalls.clone();
    }
}
