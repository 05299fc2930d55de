package dev.kiln.monitor.devices;

import dev.kiln.monitor.hvt.GuestFault;
import dev.kiln.monitor.hvt.GuestMemory;
import dev.kiln.monitor.hvt.Hypercall;
import dev.kiln.monitor.hvt.HypercallTable;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * POLL (hvt ABI section 5): the guest's idle point. It blocks the vCPU thread until a device has
 * input or the relative timeout passes, then reports the ready set and its size. No device can
 * have input yet (devices arrive with the network and block modules), so it sleeps out the timeout.
 *
 * <p>The sleep parks the thread rather than sleeping in the kernel, so a stop request (which unparks
 * the vCPU thread) ends it at once: a guest idling for an hour still stops on Ctrl-C.
 */
public final class PollModule {
    private final GuestMemory memory;
    private final BooleanSupplier stopRequested;

    public PollModule(GuestMemory memory, BooleanSupplier stopRequested) {
        this.memory = memory;
        this.stopRequested = stopRequested;
    }

    public void register(HypercallTable table) {
        table.register(Hypercall.POLL, this::poll);
    }

    private void poll(long argGpa) throws GuestFault {
        MemorySegment arg = memory.range(argGpa, Hypercall.POLL_SIZE, "POLL argument");
        long timeout = GuestMemory.getLong(arg, Hypercall.POLL_TIMEOUT);
        // The timeout is an unsigned 64-bit count of nanoseconds; beyond 2^63 it is "forever" enough.
        long deadline = System.nanoTime() + (timeout < 0 ? Long.MAX_VALUE / 2 : Math.min(timeout, Long.MAX_VALUE / 2));
        for (long left; (left = deadline - System.nanoTime()) > 0 && !stopRequested.getAsBoolean(); ) {
            LockSupport.parkNanos(this, left);
        }
        GuestMemory.putLong(arg, Hypercall.POLL_READY_SET, 0L);
        GuestMemory.putInt(arg, Hypercall.POLL_RET, 0);
    }
}
