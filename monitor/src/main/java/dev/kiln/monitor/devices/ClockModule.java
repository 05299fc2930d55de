package dev.kiln.monitor.devices;

import dev.kiln.monitor.hvt.GuestFault;
import dev.kiln.monitor.hvt.GuestMemory;
import dev.kiln.monitor.hvt.Hypercall;
import dev.kiln.monitor.hvt.HypercallTable;

import java.lang.foreign.MemorySegment;
import java.time.Instant;

/**
 * The wall clock: WALLTIME returns the host's realtime clock in nanoseconds since the epoch (hvt
 * ABI section 5). The guest's monotonic clock is its own TSC, scaled by the boot info frequency,
 * so it needs no hypercall.
 */
public final class ClockModule {
    private final GuestMemory memory;

    public ClockModule(GuestMemory memory) {
        this.memory = memory;
    }

    public void register(HypercallTable table) {
        table.register(Hypercall.WALLTIME, this::walltime);
    }

    private void walltime(long argGpa) throws GuestFault {
        MemorySegment arg = memory.range(argGpa, Hypercall.WALLTIME_SIZE, "WALLTIME argument");
        Instant now = Instant.now();
        GuestMemory.putLong(arg, Hypercall.WALLTIME_NSECS, now.getEpochSecond() * 1_000_000_000L + now.getNano());
    }
}
