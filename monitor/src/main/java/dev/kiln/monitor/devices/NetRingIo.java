package dev.kiln.monitor.devices;

import dev.kiln.monitor.hvt.FaultKind;
import dev.kiln.monitor.hvt.GuestFault;
import dev.kiln.monitor.hvt.Hypercall;
import dev.kiln.monitor.kvm.EventFd;
import dev.kiln.monitor.kvm.LibC;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The service of one guest's network ring (docs/kiln-abi.md section 4): it moves frames between
 * the ring and the taps, in one of two ways ({@link NetRingService}).
 *
 * <p>Served at POLL (the default), the vCPU's own thread does it inside the guest's POLL
 * ({@link #serveAtPoll}): it takes every new entry, fills posted buffers from the taps, publishes,
 * and returns once a frame was delivered, else waits in {@code poll(2)} on the taps. The guest
 * never kicks (needs_kick stays 0) and POLLs when it has nothing left to do, so one exit serves a
 * batch; a guest waiting for write commits says so ({@code wants_commits}).
 *
 * <p>With an I/O thread of its own, the vCPU never leaves the guest for the ring. The thread
 * sleeps in {@code poll(2)} on the doorbell (the eventfd KVM signals when the guest kicks
 * port 0x600), on each tap that has receive buffers posted, and on a control eventfd (pause,
 * close, a nudge from POLL). Awake, it takes every new entry (NET_WRITE: one {@code write(2)} to
 * the tap at once; NET_READ: the buffer joins that device's queue), fills posted buffers from the
 * taps until they run dry, publishes the commits and, when the vCPU waits in POLL, wakes it. When
 * a round finds nothing to do it sets {@code needs_kick}, looks once more, and sleeps (3.5).
 *
 * <p>Index garbage stops the guest through {@link FaultSink}; entry garbage is EINVAL commits
 * ({@link NetRing}). While the instance is paused the thread is {@linkplain #quiesce quiescent}:
 * every posted read was given back with AGAIN (3.7), and it touches no guest memory.
 */
public final class NetRingIo implements AutoCloseable {
    /** How an I/O thread ends its guest: the instance's fault hook. */
    @FunctionalInterface
    public interface FaultSink {
        void fault(FaultKind kind, String message);
    }

    /**
     * What the ring did so far.
     *
     * @param kicks     doorbell signals (guest kicks, several may fold into one wake-up)
     * @param wakeups   times the thread slept and woke up
     * @param framesOut frames written to taps
     * @param framesIn  frames delivered into posted buffers
     * @param invalid   entries answered with EINVAL
     * @param dropped   frames longer than the posted buffer (answered with EINVAL), or a write the tap refused
     */
    public record Stats(long kicks, long wakeups, long framesOut, long framesIn, long invalid, long dropped) {}

    /** Frames read from one tap per round before the others get a turn. */
    private static final int READ_BATCH = 64;
    /**
     * How long the thread keeps looking for work before it sleeps in poll(2) (-Dkiln.netRing.spinMicros,
     * 0 to sleep at once): a wake-up costs both sides microseconds, and under load the next frame is closer.
     * httpreply under wrk -t2 -c16 here: 0 us 40.8k req/s, 20 us 46.3k, 50 us 53.6k, 200 us 54-57k (kicks
     * per request 0.05 -> 0.0001), 500 us no better. A guest-side spin before POLL was tried too and
     * lost ~20%: on two cores its vCPU then competes with this thread and the load generator.
     */
    private static final long SPIN_NANOS = Long.getLong("kiln.netRing.spinMicros", 200) * 1000;
    /** The longest frame a tap can hand over: 64 KiB of MTU plus the Ethernet header; reads go here first. */
    private static final int BOUNCE = 65_536 + NetModule.FRAME_OVERHEAD;
    private static final short POLLIN = 1;
    /** POLLERR | POLLHUP | POLLNVAL: a tap that reports one of these is gone (its interface deleted). */
    private static final short POLL_BROKEN = 0x08 | 0x10 | 0x20;
    /** pollfd slots before the taps. */
    private static final int DOORBELL = 0, CONTROL = 1, FIRST_TAP = 2;

    private final NetRing ring;
    /** Served by the vCPU thread inside POLL: no thread of its own (see the class comment). */
    private final boolean atPoll;
    private final int[] handles;
    private final TapDevice[] taps;
    private final ArrayDeque<NetRing.Entry>[] posted;
    /** Taps that reported an error: no longer polled, or the thread would spin on them. */
    private final boolean[] broken;
    private final EventFd doorbell;
    /** The I/O thread's control and the vCPU's wake-up from POLL; both null when served at POLL. */
    private final EventFd control;
    private final EventFd ready;
    private final FaultSink onFault;
    /** Set when the ring could not be taken over from a snapshot: the thread's first act is to stop the guest. */
    private final GuestFault startFault;
    /** struct pollfd { int fd; short events; short revents; }: 8 bytes each. */
    private final MemorySegment pollfds;
    /** The taps' slots of {@link #pollfds}: what a POLL served at POLL sleeps on. */
    private final MemorySegment tapPollfds;
    private final MemorySegment bounce = Arena.ofAuto().allocate(BOUNCE, 64);
    /** The I/O thread; null when served at POLL. */
    private final Thread thread;

    private final Object lock = new Object();
    private boolean holdRequested, held, closing, ended; // guarded by lock
    private boolean begun, shut; // guarded by this
    /** Set by the vCPU thread while it waits in POLL: the thread then signals {@link #ready} after publishing. */
    private volatile boolean vcpuWaiting;
    private volatile long kicks, wakeups, framesOut, framesIn, dropped;

    /**
     * Makes the service ({@link #begin} starts its thread, if it has one). {@code doorbell} is the
     * eventfd already bound to port 0x600 with KVM_IOEVENTFD; this object owns it from now on.
     *
     * @param ring      the ring, or null when {@code startFault} says why it could not be taken over
     * @param devices   the net devices, by handle
     */
    NetRingIo(String name, NetRingService service, NetRing ring, GuestFault startFault, List<NetModule.Device> devices,
              EventFd doorbell, FaultSink onFault) {
        this.ring = ring;
        this.atPoll = service == NetRingService.AT_POLL;
        // The guest learns how it is served from the ring itself (a snapshot's may say otherwise).
        if (ring != null) ring.servedAtPoll(atPoll);
        this.startFault = startFault;
        this.handles = devices.stream().mapToInt(NetModule.Device::handle).toArray();
        this.taps = devices.stream().map(NetModule.Device::tap).toArray(TapDevice[]::new);
        @SuppressWarnings("unchecked")
        ArrayDeque<NetRing.Entry>[] queues = new ArrayDeque[taps.length];
        for (int i = 0; i < queues.length; i++) queues[i] = new ArrayDeque<>();
        this.posted = queues;
        this.broken = new boolean[taps.length];
        this.doorbell = doorbell;
        this.onFault = onFault;
        EventFd c = null, r = null;
        try {
            // Served at POLL there is no thread to control or to wake the vCPU: no descriptors for them
            // either (an instance's open files are what a dense host runs out of first).
            if (!atPoll) {
                c = EventFd.open("the net ring's control");
                r = EventFd.open("the net ring's POLL wake-up");
            }
            this.pollfds = Arena.ofAuto().allocate(8L * (FIRST_TAP + taps.length), 8);
            pollfds.set(JAVA_INT, 8L * DOORBELL, doorbell.fd());
            pollfds.set(JAVA_SHORT, 8L * DOORBELL + 4, POLLIN);
            pollfds.set(JAVA_INT, 8L * CONTROL, c == null ? -1 : c.fd());
            pollfds.set(JAVA_SHORT, 8L * CONTROL + 4, POLLIN);
            for (int i = 0; i < taps.length; i++) pollfds.set(JAVA_INT, 8L * (FIRST_TAP + i), taps[i].fd());
            this.tapPollfds = pollfds.asSlice(8L * FIRST_TAP);
            this.control = c;
            this.ready = r;
            this.thread = atPoll ? null : Thread.ofPlatform().daemon().name(name).stackSize(256 << 10).unstarted(this::run);
        } catch (RuntimeException | Error e) {
            if (r != null) r.close();
            if (c != null) c.close();
            doorbell.close();
            throw e;
        }
    }

    /**
     * Starts the thread, once, as the guest starts to run: an instance made ahead and not run yet
     * (a scale-to-zero instance's restored standby) holds no thread and touches no guest memory.
     */
    public synchronized void begin() {
        if (begun || shut) return;
        if (atPoll) {
            // no thread: a ring that could not be taken over stops its guest before it runs
            begun = true;
            if (startFault != null) onFault.fault(startFault.kind(), startFault.getMessage());
            return;
        }
        begun = true;
        thread.start();
    }

    private void run() {
        try {
            if (startFault != null) throw startFault;
            serve();
        } catch (GuestFault f) {
            onFault.fault(f.kind(), f.getMessage());
        } catch (RuntimeException | Error e) {
            // A monitor bug must end this guest only, and say what happened.
            onFault.fault(FaultKind.KVM_ERROR, "monitor error in the net ring's I/O thread: " + e);
        } finally {
            synchronized (lock) {
                ended = true;
                lock.notifyAll();
            }
        }
    }

    private void serve() throws GuestFault {
        long idleSince = 0;
        while (true) {
            if (holdOrClose()) return;
            if (round()) {
                idleSince = 0;
                continue;
            }
            // Look again for a short while before sleeping: under load the next frame or entry comes
            // within microseconds, and a sleep costs a wake-up (poll, scheduler) on each side.
            long now = System.nanoTime();
            if (idleSince == 0) idleSince = now;
            if (now - idleSince < SPIN_NANOS) {
                Thread.onSpinWait();
                continue;
            }
            idleSince = 0;
            ring.needsKick(true);
            if (ring.hasWork()) {
                ring.needsKick(false);
                continue;
            }
            sleep();
            ring.needsKick(false);
        }
    }

    /** One pass: new entries, then tap input into posted buffers, then the commits out. True when it did anything. */
    private boolean round() throws GuestFault {
        int taken = ring.consume(this::take);
        int delivered = 0;
        for (int i = 0; i < taps.length; i++) delivered += fill(i);
        publish();
        return taken > 0 || delivered > 0;
    }

    private void publish() {
        if (ring.publish() && vcpuWaiting) ready.signal();
    }

    /** One checked entry: a write goes out now; a read waits in its device's queue for a frame. */
    private void take(NetRing.Entry e) {
        int i = index(e.handle());
        if (e.op() == NetRingLayout.OP_READ) {
            posted[i].add(e);
            return;
        }
        long sent = LibC.write(taps[i].fd(), ring.data(e));
        if (sent == e.len()) {
            framesOut++;
            ring.commit(e.id(), e.handle(), Hypercall.OK, e.len());
        } else {
            dropped++; // the host refused it (as NET_WRITE's EUNSPEC): the guest hears of it in the commit
            ring.commit(e.id(), e.handle(), Hypercall.EUNSPEC, 0);
        }
    }

    private int index(int handle) {
        for (int i = 0; i < handles.length; i++) if (handles[i] == handle) return i;
        throw new IllegalStateException("net ring: handle " + handle + " passed the checks but has no tap");
    }

    /**
     * Reads frames from tap {@code i} into its posted buffers until either runs out (or a batch is
     * done). A frame longer than the buffer at the head of the queue is dropped and that buffer
     * answered with EINVAL and the frame's length (docs/kiln-abi.md 4.4).
     */
    private int fill(int i) {
        ArrayDeque<NetRing.Entry> q = posted[i];
        if (broken[i]) return 0;
        int n = 0;
        while (!q.isEmpty() && n < READ_BATCH) {
            long got = taps[i].read(bounce);
            if (got <= 0) break; // nothing waits (or the tap failed: POLLERR would show it; nothing to deliver)
            NetRing.Entry r = q.poll();
            n++;
            if (got > r.len()) {
                dropped++;
                ring.commit(r.id(), r.handle(), Hypercall.EINVAL, (int) got);
                continue;
            }
            MemorySegment.copy(bounce, 0, ring.data(r), 0, got);
            framesIn++;
            ring.commit(r.id(), r.handle(), Hypercall.OK, (int) got);
        }
        return n;
    }

    /** Sleeps until the guest kicks, a tap with posted buffers has a frame, or the control eventfd fires. */
    private void sleep() {
        armTaps();
        int rc = LibC.poll(pollfds, FIRST_TAP + taps.length, -1);
        wakeups++;
        if (rc <= 0) return; // EINTR: just look again
        if (revents(DOORBELL) != 0) kicks += doorbell.drain();
        if (revents(CONTROL) != 0) control.drain();
        markBroken();
    }

    private short revents(int slot) {
        return pollfds.get(JAVA_SHORT, 8L * slot + 6);
    }

    /**
     * Serves a pause, or ends the thread on close. Before it holds, everything the guest posted is
     * taken and every posted read is given back with AGAIN, so no host state is lost and the guest
     * memory (a snapshot's) holds the whole ring (docs/kiln-abi.md 4.7). True: close.
     */
    private boolean holdOrClose() throws GuestFault {
        synchronized (lock) {
            if (closing) return true;
            if (!holdRequested) return false;
        }
        giveBack();
        synchronized (lock) {
            held = true;
            lock.notifyAll();
            while (holdRequested && !closing) {
                try {
                    lock.wait();
                } catch (InterruptedException e) {
                    closing = true; // nobody interrupts this thread but close: treat it as one
                }
            }
            held = false;
            return closing;
        }
    }

    /** Takes every waiting entry and answers every posted read with AGAIN, then publishes (4.7). */
    private void giveBack() throws GuestFault {
        ring.consume(this::take);
        for (ArrayDeque<NetRing.Entry> q : posted) {
            for (NetRing.Entry r; (r = q.poll()) != null; ) ring.commit(r.id(), r.handle(), Hypercall.AGAIN, 0);
        }
        ring.publish();
    }

    /**
     * Called on the vCPU thread as the instance pauses: returns once the thread holds still (or
     * has ended), with every posted read given back to the guest.
     */
    public void quiesce() {
        if (atPoll) {
            // This is the only thread that serves the ring: give back what it holds, here and now.
            try {
                if (startFault == null) giveBack();
            } catch (GuestFault f) {
                onFault.fault(f.kind(), f.getMessage());
            }
            return;
        }
        synchronized (lock) {
            holdRequested = true;
        }
        control.signal();
        synchronized (lock) {
            while (!held && !ended) {
                try {
                    lock.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /** Lets a quiescent thread go on (the instance resumed). */
    public void resume() {
        synchronized (lock) {
            holdRequested = false;
            lock.notifyAll();
        }
    }

    /**
     * POLL for a ring served at POLL, on the vCPU thread (docs/kiln-abi.md 4.5, 4.6): takes every
     * new entry (writes go out), fills posted reads from the taps and publishes; returns the ready
     * set once a frame was delivered, at once when commits already waited unread, when the guest
     * waits for write commits and some were published, and otherwise at the deadline (0 then, unless
     * commits wait) or when {@code stop} says so. Between looks it sleeps in {@code poll(2)} on the
     * taps that have posted reads; a stop signals the thread, which ends the sleep with EINTR.
     */
    public long serveAtPoll(long deadline, java.util.function.BooleanSupplier stop) throws GuestFault {
        if (startFault != null) throw startFault;
        boolean waited = ring.commitsWaiting();
        while (true) {
            long wrote = framesOut;
            ring.consume(this::take);
            int delivered = 0;
            for (int i = 0; i < taps.length; i++) delivered += fill(i);
            ring.publish();
            if (delivered > 0 || waited || (framesOut != wrote && ring.wantsCommits())) return ring.readySet();
            if (stop.getAsBoolean()) return 0;
            long left = deadline - System.nanoTime();
            if (left <= 0) return ring.commitsWaiting() ? ring.readySet() : 0;
            armTaps();
            int ms = (int) Math.min(Integer.MAX_VALUE, (left + 999_999) / 1_000_000);
            int rc = LibC.poll(tapPollfds, taps.length, ms);
            wakeups++;
            if (rc < 0 && rc != -LibC.EINTR) return 0; // the taps went bad: report nothing ready
            if (rc > 0) markBroken();
        }
    }

    /**
     * The taps whose input should wake a guest asleep in POLL without its thread: as for
     * {@link #armTaps}, those with posted buffers and not broken (the others' frames have nowhere
     * to go, and waking for them would only put the guest back to sleep).
     */
    public int[] wakeFds() {
        int n = 0;
        int[] fds = new int[taps.length];
        for (int i = 0; i < taps.length; i++) {
            if (!broken[i] && !posted[i].isEmpty()) fds[n++] = taps[i].fd();
        }
        return n == fds.length ? fds : java.util.Arrays.copyOf(fds, n);
    }

    /** Only a tap with posted buffers is waited on: its frames have somewhere to go. */
    private void armTaps() {
        for (int i = 0; i < taps.length; i++) {
            pollfds.set(JAVA_SHORT, 8L * (FIRST_TAP + i) + 4, posted[i].isEmpty() ? 0 : POLLIN);
        }
    }

    /** Taps that report POLLERR/POLLHUP/POLLNVAL are no longer polled (poll(2) skips a negative descriptor). */
    private void markBroken() {
        for (int i = 0; i < taps.length; i++) {
            if ((revents(FIRST_TAP + i) & POLL_BROKEN) != 0) {
                broken[i] = true; // the guest's writes to it fail (EUNSPEC), reads wait
                pollfds.set(JAVA_INT, 8L * (FIRST_TAP + i), -1);
            }
        }
    }

    /**
     * The guest has ended: frames it posted and nobody took yet go out now. A guest that writes
     * and then halts loses no frame (hvt's NET_WRITE is done when it returns); served at POLL,
     * nothing else would take them.
     */
    public void guestEnded() {
        if (atPoll) flush();
    }

    /** Takes what waits in the ring (writes go out) and publishes; a ring in garbage is left as it is. */
    private void flush() {
        if (ring == null || startFault != null) return;
        try {
            ring.consume(this::take);
            ring.publish();
        } catch (GuestFault f) {
            // the guest broke its indices: it was stopped for that, and nothing in the ring can be trusted
        }
    }

    /** True when the vCPU thread serves the ring inside POLL ({@link #serveAtPoll}). */
    public boolean servedAtPoll() {
        return atPoll;
    }

    // ---- for POLL, on the vCPU thread (docs/kiln-abi.md 4.6) ----

    /** True once the guest has posted to the ring: POLL then waits for commits instead of tap input. */
    public boolean inUse() {
        return ring != null && ring.guestPosted();
    }

    /** Marks the vCPU as waiting in POLL (or no longer); while it waits, publishing a commit signals {@link #readyFd}. */
    public void vcpuWaiting(boolean waiting) {
        vcpuWaiting = waiting;
    }

    public boolean commitsWaiting() {
        return ring.commitsWaiting();
    }

    public long readySet() {
        return ring.readySet();
    }

    /** The descriptor POLL waits on: readable after commits were published while the vCPU waited. */
    public int readyFd() {
        return ready == null ? -1 : ready.fd();
    }

    public void drainReady() {
        ready.drain();
    }

    /**
     * Wakes the thread when entries wait that it has not taken: a guest about to sleep in POLL
     * may have posted without a kick it needed (or without room in the commit ring until now).
     */
    public void nudgeIfEntriesWaiting() {
        if (ring.entriesWaiting()) control.signal();
    }

    public Stats stats() {
        return new Stats(kicks, wakeups, framesOut, framesIn, ring == null ? 0 : ring.invalidEntries(), dropped);
    }

    /** Ends the thread and waits for it; then nothing touches guest memory any more. */
    @Override
    public void close() {
        synchronized (lock) {
            closing = true;
            lock.notifyAll();
        }
        if (control != null) control.signal();
        boolean interrupted = false;
        synchronized (this) {
            shut = true; // a thread never begun stays so
        }
        while (thread != null && thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        // Writes posted as the guest ended, which the thread may not have reached: out before the memory goes.
        flush();
        doorbell.close();
        if (control != null) control.close();
        if (ready != null) ready.close();
    }
}
