package dev.kiln.monitor.devices;

import dev.kiln.monitor.hvt.GuestFault;
import dev.kiln.monitor.hvt.GuestMemory;
import dev.kiln.monitor.hvt.Hypercall;
import dev.kiln.monitor.hvt.HypercallTable;
import dev.kiln.monitor.kvm.LibC;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * POLL (hvt ABI section 5): the guest's idle point. It blocks the vCPU thread until a device has
 * input or the relative timeout passes, then reports the ready set (bit i = handle i) and its size.
 *
 * <p>With network devices it waits in {@code poll(2)} on their tap descriptors; without, it parks,
 * or lets the guest sleep without its thread when the run loop offers that ({@link Sleeper}).
 * Once the guest uses the network ring, it waits for ring commits instead (docs/kiln-abi.md 4.6):
 * served at POLL, it serves the ring itself ({@link NetRingIo#serveAtPoll}); with an I/O thread,
 * it returns at once when commits wait unread, else when that thread publishes one. Bit i of the
 * ready set then means "commits for handle i wait". Either way a stop request ends the
 * wait at once: the stop unparks the thread and signals it, which makes {@code poll(2)} return
 * EINTR.
 */
public final class PollModule {
    static final short POLLIN = 1;

    private final GuestMemory memory;
    private final BooleanSupplier stopRequested;
    private final int[] handles;
    private final MemorySegment pollfds;
    /** The network ring's I/O side, or null when the instance has no ring. */
    private final NetRingIo ring;
    private final Sleeper sleeper;
    /** One pollfd for the ring's wake-up eventfd. */
    private final MemorySegment ringPollfd;

    /**
     * @param sources the descriptors to wait on, by device handle
     */
    public PollModule(GuestMemory memory, BooleanSupplier stopRequested, List<Source> sources) {
        this(memory, stopRequested, sources, null);
    }

    /**
     * @param ring the instance's network ring, or null
     */
    public PollModule(GuestMemory memory, BooleanSupplier stopRequested, List<Source> sources, NetRingIo ring) {
        this(memory, stopRequested, sources, ring, deadline -> false);
    }

    /**
     * @param ring    the instance's network ring, or null
     * @param sleeper asked first when there is nothing to wait on but time
     */
    public PollModule(GuestMemory memory, BooleanSupplier stopRequested, List<Source> sources, NetRingIo ring, Sleeper sleeper) {
        this.sleeper = sleeper;
        this.ring = ring;
        this.ringPollfd = ring == null ? null : Arena.ofAuto().allocate(8, 8);
        if (ring != null) {
            ringPollfd.set(JAVA_INT, 0, ring.readyFd());
            ringPollfd.set(JAVA_SHORT, 4, POLLIN);
        }
        this.memory = memory;
        this.stopRequested = stopRequested;
        this.handles = sources.stream().mapToInt(Source::handle).toArray();
        // struct pollfd { int fd; short events; short revents; }: 8 bytes each, for the instance's life.
        this.pollfds = sources.isEmpty() ? null : Arena.ofAuto().allocate(8L * sources.size(), 8);
        for (int i = 0; i < sources.size(); i++) {
            pollfds.set(JAVA_INT, 8L * i, sources.get(i).fd());
            pollfds.set(JAVA_SHORT, 8L * i + 4, POLLIN);
        }
    }

    /**
     * The run loop's offer to let the guest sleep without holding its thread: when it accepts a
     * deadline, POLL answers "nothing ready" at once and the loop resumes the guest at that
     * deadline, or earlier when stopped or paused, which a guest cannot tell from a wait here.
     */
    @FunctionalInterface
    public interface Sleeper {
        boolean sleepWithoutThread(long deadlineNanos);
    }

    /** A device whose descriptor POLL waits on. */
    public record Source(int handle, int fd) {}

    public void register(HypercallTable table) {
        table.register(Hypercall.POLL, this::poll);
    }

    private void poll(long argGpa) throws GuestFault {
        MemorySegment arg = memory.range(argGpa, Hypercall.POLL_SIZE, "POLL argument");
        long timeout = GuestMemory.getLong(arg, Hypercall.POLL_TIMEOUT);
        // The timeout is an unsigned 64-bit count of nanoseconds; beyond 2^62 it is "forever" enough.
        long deadline = System.nanoTime() + (timeout < 0 ? Long.MAX_VALUE / 2 : Math.min(timeout, Long.MAX_VALUE / 2));
        long ready = 0;
        int count = 0;
        if (ring != null && ring.inUse()) {
            ready = ring.servedAtPoll() ? ring.serveAtPoll(deadline, stopRequested) : waitOnRing(deadline);
            count = Long.bitCount(ready);
        } else if (pollfds == null) {
            if (!sleeper.sleepWithoutThread(deadline)) { // else nothing ready: the guest sleeps without this thread
                for (long left; (left = deadline - System.nanoTime()) > 0 && !stopRequested.getAsBoolean(); ) {
                    LockSupport.parkNanos(this, left);
                }
            }
        } else {
            while (!stopRequested.getAsBoolean()) {
                long left = deadline - System.nanoTime();
                int ms = left <= 0 ? 0 : (int) Math.min(Integer.MAX_VALUE, (left + 999_999) / 1_000_000);
                int n = LibC.poll(pollfds, handles.length, ms);
                if (n > 0) {
                    for (int i = 0; i < handles.length; i++) {
                        if ((pollfds.get(JAVA_SHORT, 8L * i + 6) & POLLIN) != 0) {
                            ready |= 1L << handles[i];
                            count++;
                        }
                    }
                    break;
                }
                if (n == 0 && deadline - System.nanoTime() <= 0) break;
                if (n < 0 && n != -LibC.EINTR) break; // a descriptor went bad: report nothing ready
                // n == 0 early (ms rounding) or -EINTR (a stop, or another signal): look again.
            }
        }
        GuestMemory.putLong(arg, Hypercall.POLL_READY_SET, ready);
        GuestMemory.putInt(arg, Hypercall.POLL_RET, count);
    }

    /**
     * Waits until commits wait unread in the ring, the deadline passes or a stop comes; returns the
     * ready set. The vCPU marks itself waiting before it looks at the ring, and the I/O thread
     * publishes before it looks at the mark (both volatile): so either this look sees the commit
     * or the I/O thread sees the mark and signals the eventfd this thread then polls.
     */
    private long waitOnRing(long deadline) {
        ring.vcpuWaiting(true);
        try {
            while (true) {
                if (ring.commitsWaiting()) return ring.readySet();
                if (stopRequested.getAsBoolean()) return 0;
                ring.nudgeIfEntriesWaiting();
                long left = deadline - System.nanoTime();
                if (left <= 0) return 0;
                int ms = (int) Math.min(Integer.MAX_VALUE, (left + 999_999) / 1_000_000);
                int n = LibC.poll(ringPollfd, 1, ms);
                if (n > 0) ring.drainReady();
                else if (n < 0 && n != -LibC.EINTR) return 0; // the eventfd went bad: report nothing ready
            }
        } finally {
            ring.vcpuWaiting(false);
        }
    }
}
