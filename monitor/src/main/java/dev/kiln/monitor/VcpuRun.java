package dev.kiln.monitor;

import dev.kiln.monitor.hvt.FaultKind;
import dev.kiln.monitor.kvm.LibC;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * One run of an instance's vCPU, from its first entry to its outcome, in stretches on vCPU threads:
 * started on a thread ({@link #startOn}), a stretch runs the guest until it ends, or until it
 * sleeps in POLL with nothing to wait on but time ({@link VcpuLoop.Asleep}). Then the thread goes
 * back to the monitor's pool, and a timer on the watchdog thread hands the next stretch to a free
 * one at the POLL's deadline; {@link #wake} does it earlier for a stop or a pause. So idle guests
 * hold no thread: a thousand asleep need only the threads of those awake. KVM lets another thread
 * take a vCPU up (KVM API, "vcpu ioctls" run from any thread; ~3 us more on the next KVM_RUN here).
 * {@link #runHere} runs it on the caller's thread instead, which it never leaves.
 */
final class VcpuRun {
    /** What the run asks of its instance. */
    interface Owner {
        /** Once, on the thread that enters the guest first (the time limit, the stall watch). */
        void begun();

        /** True when a stop or a pause waits for the vCPU: a sleep ends at once. */
        boolean wantsVcpu();

        /** Once, when the guest has ended. */
        void ended(Outcome result);
    }

    private final Monitor monitor;
    private final VcpuLoop loop;
    private final Owner owner;
    private final String threadName;

    private volatile long startNanos;
    private volatile long endNanos;
    /** CPU time of the stretches ended so far; the current one's began at sliceCpuStart. */
    private volatile long cpuBefore;
    private volatile long sliceCpuStart;
    /** The thread in the guest now, 0 while it sleeps or before it runs. */
    private volatile int sliceTid;
    /** A thread's CPU clock could not be read: the run's CPU time is unknown (-1). */
    private volatile boolean cpuUnknown;
    private final AtomicBoolean asleep = new AtomicBoolean();
    private volatile ScheduledFuture<?> sleepTimer;
    /** The watch on the sleeping guest's taps: its waker (null when none), token and descriptors. */
    private volatile InputWaker sleepWaker;
    private volatile long sleepToken;
    private volatile int[] sleepFds;

    VcpuRun(Monitor monitor, VcpuLoop loop, Owner owner, String threadName) {
        this.monitor = monitor;
        this.loop = loop;
        this.owner = owner;
        this.threadName = threadName;
    }

    /** Runs the guest's first stretch on {@code thread} and returns at once. */
    void startOn(VcpuThread thread) {
        thread.run(threadName, this::slice);
    }

    /** Runs the guest on the calling thread until it ends; returns its outcome. */
    Outcome runHere() {
        beginSlice();
        begin();
        Outcome result;
        try {
            result = loop.run();
        } catch (RuntimeException | Error e) {
            result = monitorError(e);
        }
        endSlice();
        finish(result);
        return result;
    }

    private void slice() {
        beginSlice();
        boolean first = startNanos == 0;
        if (first) begin();
        VcpuLoop.SliceEnd end;
        try {
            end = loop.runSlice(first, true);
        } catch (RuntimeException | Error e) {
            end = new VcpuLoop.Ended(monitorError(e));
        }
        endSlice();
        switch (end) {
            case VcpuLoop.Ended e -> finish(e.outcome());
            case VcpuLoop.Asleep a -> sleepUntil(a.deadlineNanos(), a.wakeFds());
        }
    }

    /** A monitor bug must end this guest only, and say what happened. */
    private static Outcome monitorError(Throwable e) {
        return new Outcome.Faulted(FaultKind.KVM_ERROR, "monitor error: " + e);
    }

    private void begin() {
        owner.begun();
        startNanos = System.nanoTime();
    }

    /** The calling thread, bound to the loop, enters the guest: its CPU time counts from here. */
    private void beginSlice() {
        loop.enter();
        sliceCpuStart = LibC.threadCpuNanos(loop.threadId());
        sliceTid = loop.threadId();
    }

    /** The calling thread leaves the guest: its CPU time is counted, kicks no longer signal it. */
    private void endSlice() {
        long end = LibC.threadCpuNanos(sliceTid);
        if (end < 0 || sliceCpuStart < 0) cpuUnknown = true;
        else cpuBefore += end - sliceCpuStart;
        sliceTid = 0;
        loop.leave();
    }

    /**
     * The guest sleeps until {@code deadline}, or input on {@code fds}, without a thread. The timer
     * and the watch on the descriptors are set before the run is marked asleep, so a wake that
     * finds it asleep always finds them to cancel; a stop or a pause asked meanwhile, a deadline
     * already passed, or input that came before the watch, wakes it at once, and so does a watch
     * that could not be set (the guest then waits its quiet periods on a thread, as before).
     */
    private void sleepUntil(long deadline, int[] fds) {
        sleepTimer = monitor.watchdog().schedule(this::wake, Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        long token = 0;
        InputWaker waker = null;
        if (fds.length > 0) {
            try {
                waker = monitor.inputWaker();
                token = waker == null ? -1 : waker.watch(fds, this::wake);
            } catch (RuntimeException e) {
                token = -1; // no epoll descriptor left: this sleep cannot watch the taps
            }
        }
        sleepWaker = token > 0 ? waker : null;
        sleepToken = token;
        sleepFds = fds;
        monitor.vcpuThreadsAsleep(1);
        asleep.set(true);
        if (token < 0 || owner.wantsVcpu() || deadline - System.nanoTime() <= 0 || inputWaiting(fds)) wake();
    }

    /** True when one of {@code fds} has input (or an error) now. */
    private static boolean inputWaiting(int[] fds) {
        if (fds.length == 0) return false;
        try (Arena arena = Arena.ofConfined()) {
            // struct pollfd { int fd; short events; short revents; }
            MemorySegment pollfds = arena.allocate(8L * fds.length, 8);
            for (int i = 0; i < fds.length; i++) {
                pollfds.set(JAVA_INT, 8L * i, fds[i]);
                pollfds.set(JAVA_SHORT, 8L * i + 4, (short) 1); // POLLIN
            }
            return LibC.poll(pollfds, fds.length, 0) != 0; // an error too: let the woken POLL find it
        }
    }

    /** Resumes a sleeping guest on a free vCPU thread; nothing when it is not asleep. */
    void wake() {
        if (!asleep.compareAndSet(true, false)) return;
        monitor.vcpuThreadsAsleep(-1);
        ScheduledFuture<?> t = sleepTimer;
        if (t != null) t.cancel(false);
        InputWaker waker = sleepWaker;
        if (waker != null) waker.cancel(sleepToken, sleepFds);
        try {
            monitor.vcpuThread().run(threadName, this::slice);
        } catch (OutOfMemoryError | RuntimeException e) {
            // no thread can be made (the process is out of them): the guest ends, with the reason
            finish(new Outcome.Faulted(FaultKind.KVM_ERROR, "monitor error: no vCPU thread to wake the guest on: " + e));
        }
    }

    private void finish(Outcome result) {
        endNanos = System.nanoTime();
        owner.ended(result);
    }

    /** From the first entry to the end, or to now while it runs; 0 before it ran. */
    long runNanos() {
        long s = startNanos, e = endNanos;
        return s == 0 ? 0 : (e == 0 ? System.nanoTime() : e) - s;
    }

    /** CPU time the vCPU threads spent on this run, so far; -1 when unknown. */
    long cpuNanos() {
        if (cpuUnknown) return -1;
        long before = cpuBefore;
        int tid = sliceTid;
        if (tid == 0) return before;
        long now = LibC.threadCpuNanos(tid);
        return now < 0 ? -1 : before + Math.max(0, now - sliceCpuStart);
    }
}
