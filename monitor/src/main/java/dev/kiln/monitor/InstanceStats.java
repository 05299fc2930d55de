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
 * @param consoleBytesDropped console bytes the guest wrote that were dropped: past its
 *                         {@link ConsoleLimit}, or the console stream failed
 * @param entryToMainNanos guest time from its first instruction to main(), from the guest's own TSC
 *                         stamps in the Kiln info page (-1: the guest did not write them)
 * @param cpuNanos         CPU time of the instance's vCPU thread: in the guest and in the monitor
 *                         on its behalf (-1: unknown)
 * @param residentBytes    guest memory resident in host RAM: pages the guest touched, or shares
 *                         with its snapshot or fork relatives (-1: unknown)
 * @param mode             whether the guest ran on the CPU or in KVM's emulator
 * @param netRing          what the network ring did (docs/kiln-abi.md 4), null when the instance has none
 */
public record InstanceStats(long createNanos, long loadNanos, long firstOutputNanos, long runNanos,
                            Exits exits, long[] hypercalls, long consoleBytes, long consoleBytesDropped, long entryToMainNanos,
                            long cpuNanos, long residentBytes, ExecutionMode mode,
                            dev.kiln.monitor.devices.NetRingIo.Stats netRing) {
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
