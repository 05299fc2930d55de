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
 * <p>With network devices it waits in {@code poll(2)} on their tap descriptors; without, it parks.
 * Once the guest uses the network ring, it waits for ring commits instead (docs/kiln-abi.md 4.6):
 * served at POLL, it serves the ring itself ({@link NetRingIo#serveAtPoll}); with an I/O thread,
 * it returns at once when commits wait unread, else when that thread publishes one. Bit i of the
 * ready set then means "commits for handle i wait". Either way a stop request ends the
 * wait at once: the stop unparks the thread and signals it, which makes {@code poll(2)} return
 * EINTR.
 *
 * <p>When the run loop offers it ({@link Sleeper}), a long POLL lets the guest sleep without its
 * thread: at once when there is nothing to wait on but time, else once its taps stayed quiet for
 * {@link #QUIET_NANOS} (a busy server keeps its thread, an idle one gives it back). The loop
 * resumes it at the deadline or when a tap has input, and POLL's answer is written then.
 */
public final class PollModule {
    static final short POLLIN = 1;
    /** How long a guest's taps stay quiet, waited on its own thread, before it sleeps without it. */
    static final long QUIET_NANOS = Long.getLong("kiln.quietMillis", 10) * 1_000_000;
    private static final int[] NO_FDS = {};

    private final GuestMemory memory;
    private final BooleanSupplier stopRequested;
    private final int[] handles;
    private final int[] tapFds;
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
        this(memory, stopRequested, sources, ring, NEVER);
    }

    /**
     * @param ring    the instance's network ring, or null
     * @param sleeper the run loop's offer to let a long POLL sleep without the thread
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
        this.tapFds = sources.stream().mapToInt(Source::fd).toArray();
        // struct pollfd { int fd; short events; short revents; }: 8 bytes each, for the instance's life.
        this.pollfds = sources.isEmpty() ? null : Arena.ofAuto().allocate(8L * sources.size(), 8);
        for (int i = 0; i < sources.size(); i++) {
            pollfds.set(JAVA_INT, 8L * i, sources.get(i).fd());
            pollfds.set(JAVA_SHORT, 8L * i + 4, POLLIN);
        }
    }

    /**
     * The run loop's offer to let the guest sleep in POLL without holding its thread. A guest cannot
     * tell such a sleep from a wait on the thread: it ends at the same deadline, on the same input,
     * or early with nothing ready for a stop or a pause.
     */
    public interface Sleeper {
        /** True when a POLL that would wait from {@code fromNanos} to {@code deadlineNanos} may sleep. */
        boolean maySleep(long fromNanos, long deadlineNanos);

        /**
         * The guest sleeps until {@code deadlineNanos} or input on {@code wakeFds}; the loop ends its
         * stretch when POLL returns, and runs {@code onWake} (POLL's answer; null when written
         * already) on the thread that resumes the guest, before the guest goes on.
         */
        void sleep(long deadlineNanos, int[] wakeFds, Completion onWake);
    }

    /** What finishes a POLL the guest slept in. */
    @FunctionalInterface
    public interface Completion {
        void finish() throws GuestFault;
    }

    private static final Sleeper NEVER = new Sleeper() {
        @Override
        public boolean maySleep(long fromNanos, long deadlineNanos) {
            return false;
        }

        @Override
        public void sleep(long deadlineNanos, int[] wakeFds, Completion onWake) {
            throw new IllegalStateException("no sleep was offered");
        }
    };

    /** A device whose descriptor POLL waits on. */
    public record Source(int handle, int fd) {}

    public void register(HypercallTable table) {
        table.register(Hypercall.POLL, this::poll);
    }

    private void poll(long argGpa) throws GuestFault {
        MemorySegment arg = memory.range(argGpa, Hypercall.POLL_SIZE, "POLL argument");
        long timeout = GuestMemory.getLong(arg, Hypercall.POLL_TIMEOUT);
        // The timeout is an unsigned 64-bit count of nanoseconds; beyond 2^62 it is "forever" enough.
        long now = System.nanoTime();
        long deadline = now + (timeout < 0 ? Long.MAX_VALUE / 2 : Math.min(timeout, Long.MAX_VALUE / 2));
        if (ring != null && ring.inUse()) {
            if (!ring.servedAtPoll()) {
                answer(arg, waitOnRing(deadline));
                return;
            }
            long quietEnd = now + QUIET_NANOS;
            if (!sleeper.maySleep(quietEnd, deadline)) {
                answer(arg, ring.serveAtPoll(deadline, stopRequested));
                return;
            }
            long ready = ring.serveAtPoll(quietEnd, stopRequested);
            if (ready != 0 || stopRequested.getAsBoolean()) {
                answer(arg, ready);
                return;
            }
            // One pass when it wakes: what arrived is delivered, and its answer is the ready set.
            sleeper.sleep(deadline, ring.wakeFds(), () -> answer(arg, ring.serveAtPoll(System.nanoTime(), stopRequested)));
        } else if (pollfds == null) {
            if (sleeper.maySleep(now, deadline)) {
                sleeper.sleep(deadline, NO_FDS, null);
            } else {
                for (long left; (left = deadline - System.nanoTime()) > 0 && !stopRequested.getAsBoolean(); ) {
                    LockSupport.parkNanos(this, left);
                }
            }
            answer(arg, 0);
        } else {
            long quietEnd = now + QUIET_NANOS;
            if (!sleeper.maySleep(quietEnd, deadline)) {
                answer(arg, pollTaps(deadline));
                return;
            }
            long ready = pollTaps(quietEnd);
            if (ready != 0 || stopRequested.getAsBoolean()) {
                answer(arg, ready);
                return;
            }
            sleeper.sleep(deadline, tapFds, () -> answer(arg, pollTaps(System.nanoTime())));
        }
    }

    /** POLL's answer: the ready set and how many handles are in it. */
    private static void answer(MemorySegment arg, long ready) {
        GuestMemory.putLong(arg, Hypercall.POLL_READY_SET, ready);
        GuestMemory.putInt(arg, Hypercall.POLL_RET, Long.bitCount(ready));
    }

    /** Waits in poll(2) until a tap has input, the deadline passes or a stop comes; returns the ready set. */
    private long pollTaps(long deadline) {
        long ready = 0;
        while (!stopRequested.getAsBoolean()) {
            long left = deadline - System.nanoTime();
            int ms = left <= 0 ? 0 : (int) Math.min(Integer.MAX_VALUE, (left + 999_999) / 1_000_000);
            int n = LibC.poll(pollfds, handles.length, ms);
            if (n > 0) {
                for (int i = 0; i < handles.length; i++) {
                    if ((pollfds.get(JAVA_SHORT, 8L * i + 6) & POLLIN) != 0) ready |= 1L << handles[i];
                }
                break;
            }
            if (n == 0 && deadline - System.nanoTime() <= 0) break;
            if (n < 0 && n != -LibC.EINTR) break; // a descriptor went bad: report nothing ready
            // n == 0 early (ms rounding) or -EINTR (a stop, or another signal): look again.
        }
        return ready;
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
