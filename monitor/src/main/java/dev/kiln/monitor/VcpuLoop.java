package dev.kiln.monitor;

import dev.kiln.monitor.debug.GdbStub;
import dev.kiln.monitor.devices.PollModule;
import dev.kiln.monitor.extension.KilnAbi;
import dev.kiln.monitor.hvt.FaultKind;
import dev.kiln.monitor.hvt.GuestFault;
import dev.kiln.monitor.hvt.GuestMemory;
import dev.kiln.monitor.hvt.Hypercall;
import dev.kiln.monitor.hvt.HypercallHandler;
import dev.kiln.monitor.hvt.HypercallTable;
import dev.kiln.monitor.kvm.KvmApi;
import dev.kiln.monitor.kvm.KvmException;
import dev.kiln.monitor.kvm.LibC;
import dev.kiln.monitor.kvm.Vcpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.LockSupport;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The vCPU run loop of one instance, kept apart from its lifecycle as Firecracker keeps its vCPU
 * loop apart from the VMM: enter the guest with KVM_RUN, turn each exit into a hypercall, a fault
 * or a stop, and count them. Only the vCPU's own thread runs {@link #run()}; any thread may
 * {@link #kick()} it out of the guest.
 */
final class VcpuLoop implements PollModule.Sleeper {
    /** What the loop asks of the instance it runs: stop and pause requests, the debugger, Kiln's own hypercalls. */
    interface Owner {
        /** Why the guest must stop, or null. */
        StopCause stopCause();

        /** The fault a device thread ended the guest for (it also set a stop cause), or null. */
        Outcome.Faulted deviceFault();

        boolean pauseRequested();

        /** Parks the vCPU thread while the instance is paused (called out of KVM_RUN). */
        void holdWhilePaused();

        /** The attached gdb stub, or null. */
        GdbStub debugger();

        /** A Kiln hypercall (docs/kiln-abi.md 1): FORK or WAIT. */
        void kilnHypercall(int nr, long gpa) throws GuestFault;
    }

    /** From the kernel, not ProcessHandle: that one starts a process-reaper pool (startup time). */
    private static final int PROCESS_ID = LibC.getpid();

    private final Owner owner;
    private final Vcpu vcpu;
    private final GuestMemory memory;
    private final HypercallTable hypercalls;
    /** Non-null for a native guest on kvm_pvm: it shows no exit when it cannot run (see {@link StallDiagnosis}). */
    private final StallDiagnosis stallDiagnosis;

    private final Object kickLock = new Object();
    private Thread thread;     // guarded by kickLock
    private int vcpuTid;
    private boolean inRunLoop; // guarded by kickLock
    private boolean retired;   // guarded by kickLock

    private volatile long firstEntryNanos;
    /** Completed with the {@link System#nanoTime()} of the first hypercall, or with 0 if it ended before one. */
    final CompletableFuture<Long> up = new CompletableFuture<>();
    private long exitsIo, exitsMmio, exitsInterrupted, exitsOther;
    private final long[] hypercallCounts = new long[Hypercall.PORT_END - Hypercall.PORT_BASE];
    /** Exits handled so far, for the stall check on another thread. */
    private volatile long progress;
    /** True while the vCPU thread is inside KVM_RUN (not in a hypercall handler such as POLL). */
    private volatile boolean inGuest;
    private long progressAtLastCheck = -1; // the checker thread's own
    private volatile boolean stallCheckWanted;

    VcpuLoop(Owner owner, Vcpu vcpu, GuestMemory memory, HypercallTable hypercalls, boolean watchForStalls) {
        this.owner = owner;
        this.vcpu = vcpu;
        this.memory = memory;
        this.hypercalls = hypercalls;
        this.stallDiagnosis = watchForStalls ? new StallDiagnosis(vcpu, memory) : null;
    }

    /** Binds the loop to the calling thread, the one that will run it (kicks signal that thread). */
    void enter() {
        synchronized (kickLock) {
            thread = Thread.currentThread();
            vcpuTid = LibC.gettid();
            inRunLoop = true;
        }
    }

    /** The calling thread is done with the guest: kicks no longer signal it. */
    void leave() {
        synchronized (kickLock) {
            inRunLoop = false;
        }
    }

    /** The vCPU is about to be closed: no kick may touch it any more. */
    void retire() {
        synchronized (kickLock) {
            retired = true;
            inRunLoop = false;
        }
    }

    int threadId() {
        return vcpuTid;
    }

    /**
     * Gets the vCPU thread out of the guest (or out of POLL) so that it looks at its flags: the
     * next or current KVM_RUN returns EINTR, a signal interrupts a blocked one, an unpark ends a
     * wait in a hypercall.
     */
    void kick() {
        synchronized (kickLock) {
            if (retired) return;
            vcpu.requestImmediateExit();
            if (inRunLoop) {
                LockSupport.unpark(thread);
                // SIGXFSZ: HotSpot's handler ignores it, and it makes a blocked KVM_RUN return EINTR.
                LibC.tgkill(PROCESS_ID, vcpuTid, LibC.SIGXFSZ);
            }
        }
    }


    /** Ends a wait in a hypercall (WAIT) on the thread in the loop now, if any; no signal, no immediate exit. */
    void unpark() {
        synchronized (kickLock) {
            if (inRunLoop) LockSupport.unpark(thread);
        }
    }

    /** Takes back a kick's immediate_exit unless a stop or a pause still wants the vCPU out. */
    void clearKickUnlessStopping() {
        if (owner.stopCause() == null && !owner.pauseRequested()) vcpu.clearImmediateExit();
    }

    /**
     * Finishes the I/O exit KVM may still have pending, so that the vCPU state is the one after the
     * guest's OUT: KVM completes it at the next KVM_RUN, which with {@code immediate_exit} set
     * returns EINTR before running any guest instruction (KVM API, "kvm_run": immediate_exit).
     * Needed before a snapshot or a fork copies the vCPU: else the copy would repeat the hypercall.
     */
    void completePendingIo() {
        vcpu.requestImmediateExit();
        vcpu.run();
        clearKickUnlessStopping();
    }

    /** True when an attached debugger asked the running guest to stop (Ctrl-C in gdb). */
    boolean debugInterrupt() {
        GdbStub d = owner.debugger();
        return d != null && d.interruptPending();
    }

    /** A stop for the debugger: it serves gdb until gdb resumes (null) or kills the guest. */
    private Outcome debugStop(GdbStub.Stop why) {
        GdbStub.Action a = owner.debugger().stop(why, vcpu, memory);
        clearKickUnlessStopping();
        return a == GdbStub.Action.KILL ? new Outcome.Stopped(StopCause.DEBUGGER) : null;
    }

    /** How a stretch of the run loop on one thread ended. */
    sealed interface SliceEnd {}

    /** The guest halted, faulted or was stopped: the run is over. */
    record Ended(Outcome outcome) implements SliceEnd {}

    /**
     * The guest sleeps in POLL: the run goes on at {@code deadlineNanos} ({@link System#nanoTime()}),
     * when one of {@code wakeFds} (its taps) has input, or when kicked, on whatever vCPU thread is
     * free then; POLL's answer is written before the guest goes on.
     */
    record Asleep(long deadlineNanos, int[] wakeFds) implements SliceEnd {}

    /**
     * Shortest POLL worth sleeping without a thread: a sleep costs a hand-over to another thread
     * (tens of microseconds) at its end, which a short wait had better spend parked.
     */
    static final long SLEEP_WITHOUT_THREAD_NANOS = Long.getLong("kiln.sleepWithoutThreadMicros", 1000) * 1000;

    /** Whether this stretch may end in {@link Asleep}: only a run whose thread goes back to a pool. */
    private boolean maySleep;
    /** The deadline of the POLL this stretch ends in, or 0. */
    private long sleepDeadline;
    private int[] sleepWakeFds;
    /** What finishes the POLL the guest sleeps in, run by the stretch that resumes it; or null. */
    private PollModule.Completion onWake;

    @Override
    public boolean maySleep(long fromNanos, long deadlineNanos) {
        return maySleep && deadlineNanos - fromNanos >= SLEEP_WITHOUT_THREAD_NANOS;
    }

    @Override
    public void sleep(long deadlineNanos, int[] wakeFds, PollModule.Completion onWake) {
        sleepDeadline = deadlineNanos;
        sleepWakeFds = wakeFds;
        this.onWake = onWake;
    }

    /** Runs the guest until it halts, faults or is stopped, on the calling thread only. */
    Outcome run() {
        return ((Ended) runSlice(true, false)).outcome();
    }

    /**
     * Runs the guest until it halts, faults or is stopped, or, if {@code maySleep}, until it sleeps
     * in POLL ({@link Asleep}); {@code first} for the stretch that enters it the first time.
     */
    SliceEnd runSlice(boolean first, boolean maySleep) {
        this.maySleep = maySleep && owner.debugger() == null;
        if (first && owner.debugger() != null) {
            Outcome killed = debugStop(GdbStub.Stop.ENTRY);
            if (killed != null) return new Ended(killed);
        }
        PollModule.Completion finishPoll = onWake;
        if (finishPoll != null) {
            onWake = null;
            try {
                finishPoll.finish(); // POLL's answer, before the guest reads it (or a pause copies the vCPU)
            } catch (GuestFault f) {
                return new Ended(fault(f.kind(), f.getMessage()));
            }
        }
        if (first) firstEntryNanos = System.nanoTime(); // the first KVM_RUN below enters the guest
        Outcome o = loop();
        if (o != null) return new Ended(o);
        long d = sleepDeadline;
        sleepDeadline = 0;
        return new Asleep(d, sleepWakeFds);
    }

    /** The loop of {@link #runSlice}: how the guest ended, or null when it went to sleep. */
    private Outcome loop() {
        MemorySegment run = vcpu.runArea();
        while (true) {
            StopCause cause = owner.stopCause();
            if (cause != null) {
                Outcome.Faulted byDevice = owner.deviceFault();
                return byDevice != null ? byDevice : new Outcome.Stopped(cause);
            }
            if (owner.pauseRequested()) {
                owner.holdWhilePaused();
                continue;
            }
            inGuest = true;
            int rc = vcpu.run();
            inGuest = false;
            progress++;
            if (rc < 0) {
                if (rc == -LibC.EINTR || rc == -LibC.EAGAIN) {
                    exitsInterrupted++;
                    if (stallCheckWanted) {
                        stallCheckWanted = false;
                        Outcome.Faulted stuck = stallDiagnosis.examine();
                        if (stuck != null) return stuck;
                        clearKickUnlessStopping();
                    }
                    if (debugInterrupt() && owner.stopCause() == null) {
                        Outcome killed = debugStop(GdbStub.Stop.INTERRUPT);
                        if (killed != null) return killed;
                    }
                    continue;
                }
                return fault(FaultKind.KVM_ERROR, "KVM_RUN failed: " + LibC.describe(-rc));
            }
            Outcome ended = exit(run, run.get(JAVA_INT, KvmApi.RUN_EXIT_REASON));
            if (ended != null) return ended;
            if (sleepDeadline != 0) return null;
        }
    }

    /** Handles one exit of KVM_RUN; returns how the guest ended, or null to go on. */
    private Outcome exit(MemorySegment run, int reason) {
        switch (reason) {
            case KvmApi.EXIT_IO -> {
                if (exitsIo++ == 0) up.complete(System.nanoTime());
                try {
                    Integer halted = hypercall(run);
                    return halted == null ? null : new Outcome.Halted(halted);
                } catch (GuestFault f) {
                    return fault(f.kind(), f.getMessage());
                }
            }
            case KvmApi.EXIT_INTR -> {
                exitsInterrupted++;
                return null;
            }
            case KvmApi.EXIT_DEBUG -> {
                exitsOther++;
                if (owner.debugger() == null) {
                    return fault(FaultKind.UNEXPECTED_EXIT, "debug exit with no debugger attached" + atRip());
                }
                return debugStop(GdbStub.Stop.TRAP);
            }
            case KvmApi.EXIT_MMIO -> {
                exitsMmio++;
                long gpa = run.get(JAVA_LONG, KvmApi.RUN_MMIO_PHYS_ADDR);
                boolean write = run.get(JAVA_BYTE, KvmApi.RUN_MMIO_IS_WRITE) != 0;
                int len = run.get(JAVA_INT, KvmApi.RUN_MMIO_LEN);
                return fault(FaultKind.BAD_GPA, "guest " + (write ? "wrote " : "read ") + len + " bytes at 0x"
                        + Long.toHexString(gpa) + ", outside its memory (0x0-0x" + Long.toHexString(memory.size())
                        + ")" + atRip());
            }
            case KvmApi.EXIT_SHUTDOWN -> {
                exitsOther++;
                return ShutdownDiagnosis.of(vcpu, memory, rip(), stallDiagnosis != null);
            }
            case KvmApi.EXIT_HLT -> {
                exitsOther++;
                return fault(FaultKind.HLT, "guest executed HLT with interrupts off instead of the HALT hypercall"
                        + atRip());
            }
            case KvmApi.EXIT_INTERNAL_ERROR -> {
                exitsOther++;
                int sub = run.get(JAVA_INT, KvmApi.RUN_INTERNAL_SUBERROR);
                if (sub == KvmApi.INTERNAL_ERROR_EMULATION) {
                    return fault(FaultKind.EMULATION_FAILURE, "KVM could not emulate the guest's instruction" + atRip());
                }
                return fault(FaultKind.EMULATION_FAILURE, "KVM internal error (suberror " + sub + ")" + atRip());
            }
            case KvmApi.EXIT_FAIL_ENTRY -> {
                exitsOther++;
                return fault(FaultKind.ENTRY_FAILURE, "KVM could not enter the guest (hardware reason 0x"
                        + Long.toHexString(run.get(JAVA_LONG, KvmApi.RUN_FAIL_ENTRY_REASON)) + ")");
            }
            default -> {
                exitsOther++;
                return fault(FaultKind.UNEXPECTED_EXIT, "unexpected KVM exit reason " + reason + atRip());
            }
        }
    }

    /**
     * Handles one port-I/O exit as a hypercall (hvt ABI section 5; Kiln's, docs/kiln-abi.md 1);
     * returns the exit status when the guest halts, null to continue.
     */
    private Integer hypercall(MemorySegment run) throws GuestFault {
        int direction = run.get(JAVA_BYTE, KvmApi.RUN_IO_DIRECTION);
        int size = run.get(JAVA_BYTE, KvmApi.RUN_IO_SIZE);
        int port = Short.toUnsignedInt(run.get(JAVA_SHORT, KvmApi.RUN_IO_PORT));
        int count = run.get(JAVA_INT, KvmApi.RUN_IO_COUNT);
        if (direction == KvmApi.EXIT_IO_IN) {
            throw new GuestFault(FaultKind.IN_INSTRUCTION, "guest executed IN from port 0x" + Integer.toHexString(port)
                    + "; hvt guests only write to hypercall ports" + atRip());
        }
        boolean kiln = port > KilnAbi.PORT_BASE && port < KilnAbi.PORT_END;
        if (!kiln && (port < Hypercall.PORT_BASE || port >= Hypercall.PORT_END)) {
            throw new GuestFault(FaultKind.BAD_PORT, "guest wrote to port 0x" + Integer.toHexString(port)
                    + ", which is not a hypercall port (hvt: 0x500-0x508, Kiln: 0x581-0x583)" + atRip());
        }
        if (size != 4 || count != 1) {
            throw new GuestFault(FaultKind.BAD_IO_SIZE, "guest wrote " + size + " byte(s) x" + count + " to port 0x"
                    + Integer.toHexString(port) + "; a hypercall is one 32-bit OUT" + atRip());
        }
        long dataOffset = run.get(JAVA_LONG, KvmApi.RUN_IO_DATA_OFFSET);
        long gpa = Integer.toUnsignedLong(run.get(JAVA_INT, dataOffset));
        if (kiln) {
            owner.kilnHypercall(port - KilnAbi.PORT_BASE, gpa);
            return null;
        }
        int nr = port - Hypercall.PORT_BASE;
        hypercallCounts[nr]++;
        if (nr == Hypercall.HALT) return halt(gpa);
        HypercallHandler handler = hypercalls.get(nr);
        if (handler == null) {
            throw new GuestFault(FaultKind.BAD_PORT, Hypercall.name(nr) + " (port 0x" + Integer.toHexString(port)
                    + ") is not available: the image declared no device that offers it" + atRip());
        }
        handler.handle(gpa);
        return null;
    }

    /** HALT: {@code struct hvt_hc_halt { GPA cookie; int exit_status; }}. */
    private int halt(long gpa) throws GuestFault {
        MemorySegment arg = memory.range(gpa, Hypercall.HALT_SIZE, "HALT argument");
        long cookie = GuestMemory.getLong(arg, Hypercall.HALT_COOKIE);
        if (cookie != 0) memory.range(cookie, Hypercall.HALT_COOKIE_SIZE, "HALT cookie");
        return arg.get(JAVA_INT_UNALIGNED, Hypercall.HALT_EXIT_STATUS);
    }

    private static Outcome fault(FaultKind kind, String message) {
        return new Outcome.Faulted(kind, message);
    }

    /** " (RIP=0x...)" for fault messages; only on the slow path. */
    String atRip() {
        long rip = rip();
        return rip == -1 ? "" : " (RIP=0x" + Long.toHexString(rip) + ")";
    }

    /** The guest's RIP, or -1 when KVM cannot say. */
    private long rip() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment regs = arena.allocate(KvmApi.REGS);
            vcpu.getRegs(regs);
            return regs.get(JAVA_LONG, KvmApi.REGS_RIP);
        } catch (KvmException e) {
            return -1;
        }
    }

    /**
     * Called by the monitor's stall checker every interval: a native guest on kvm_pvm that stayed
     * inside KVM_RUN with no exit since the last call is kicked out and examined on its own thread
     * ({@link StallDiagnosis}). One exit per interval for a guest that only computes.
     */
    void checkProgress() {
        if (stallDiagnosis == null) return;
        long now = progress;
        if (inGuest && now == progressAtLastCheck && !stallCheckWanted) {
            stallCheckWanted = true;
            kick();
        }
        progressAtLastCheck = now;
    }

    boolean watchesForStalls() {
        return stallDiagnosis != null;
    }

    long firstEntryNanos() {
        return firstEntryNanos;
    }

    InstanceStats.Exits exits() {
        return new InstanceStats.Exits(exitsIo, exitsMmio, exitsInterrupted, exitsOther);
    }

    long[] hypercallCounts() {
        return hypercallCounts;
    }
}
