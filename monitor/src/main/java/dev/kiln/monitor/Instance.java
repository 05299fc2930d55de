package dev.kiln.monitor;

import dev.kiln.monitor.debug.GdbStub;
import dev.kiln.monitor.devices.BlockModule;
import dev.kiln.monitor.devices.ClockModule;
import dev.kiln.monitor.devices.ConsoleModule;
import dev.kiln.monitor.devices.NetModule;
import dev.kiln.monitor.devices.NetRingIo;
import dev.kiln.monitor.devices.NetRingPlan;
import dev.kiln.monitor.devices.PollModule;
import dev.kiln.monitor.extension.InfoPage;
import dev.kiln.monitor.extension.KilnAbi;
import dev.kiln.monitor.hvt.FaultKind;
import dev.kiln.monitor.hvt.GuestFault;
import dev.kiln.monitor.hvt.GuestMemory;
import dev.kiln.monitor.hvt.HypercallTable;
import dev.kiln.monitor.kvm.LibC;
import dev.kiln.monitor.kvm.Vcpu;
import dev.kiln.monitor.kvm.Vm;
import dev.kiln.monitor.vstate.Snapshot;
import dev.kiln.monitor.vstate.SnapshotException;
import dev.kiln.monitor.vstate.VcpuState;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One guest: a VM with one vCPU, its memory and its devices, and its lifecycle. Made ready to run
 * by {@link Monitor#create} (assembled by {@link InstanceBuilder}); {@link #run()} enters it on
 * the calling thread, {@link #start()} on a vCPU thread of the monitor's, where {@link VcpuLoop}
 * runs it ({@link VcpuRun}: an idle guest gives that thread back while it sleeps).
 * Whatever the guest does, it ends with an {@link Outcome}: a fault ends this instance only, and
 * never throws into the host program.
 */
public final class Instance implements AutoCloseable, VcpuLoop.Owner {
    public enum State { CREATED, RUNNING, EXITED, CLOSED }

    /** The run loop is shallow; a small stack keeps thousands of vCPU threads cheap. */
    static final long VCPU_STACK_BYTES = 256 << 10;

    private final Monitor monitor;
    private final long id;
    /** The forking parent's id, 0 if none (docs/kiln-abi.md 1.1). */
    private final long parentId;
    private final InstanceSpec spec;
    private final Vm vm;
    private final GuestMemory memory;
    private final Vcpu vcpu;
    private final ExecutionMode mode;
    private final ConsoleModule console;
    private final BlockModule blocks;
    private final NetModule nets;
    /** The network ring's I/O thread (docs/kiln-abi.md 4), or null. */
    private final NetRingIo ringIo;
    /** Set by a device thread that ended the guest for a fault (the ring's index garbage). */
    private volatile Outcome.Faulted deviceFault;
    private final VcpuLoop loop;
    private final ForkCalls forks;
    private final InstanceBuilder.Timings timings;

    private final AtomicReference<StopCause> stopCause = new AtomicReference<>();
    private final CompletableFuture<Outcome> outcome = new CompletableFuture<>();
    private final Object pauseLock = new Object();
    private volatile boolean pauseRequested;
    private boolean paused; // guarded by pauseLock
    private volatile State state = State.CREATED;
    /** The gdb stub of {@code kiln run --gdb}, or null. */
    private volatile GdbStub debugger;
    /** The vCPU's run, in stretches on vCPU threads (idle, it holds none). */
    private final VcpuRun run;
    /** The run's CPU time once it ended, -1 before. */
    private volatile long cpuNanos = -1;
    private volatile ScheduledFuture<?> timeLimit;

    Instance(Monitor monitor, long id, long parentId, InstanceSpec spec, InstanceBuilder.Machine machine,
             AttachedDevices devices, NetRingPlan ring, InstanceBuilder.Timings timings) {
        this.monitor = monitor;
        this.id = id;
        this.parentId = parentId;
        this.spec = spec;
        this.vm = machine.vm();
        this.memory = machine.memory();
        this.vcpu = machine.vcpu();
        this.mode = machine.mode();
        this.timings = timings;
        HypercallTable hypercalls = new HypercallTable();
        this.console = new ConsoleModule(memory, spec.console(), spec.consoleLimit());
        console.register(hypercalls);
        new ClockModule(memory).register(hypercalls);
        this.blocks = devices.blocks().isEmpty() ? null : new BlockModule(memory, devices.blocks());
        if (blocks != null) blocks.register(hypercalls);
        this.nets = devices.nets().isEmpty() ? null : new NetModule(memory, devices.nets());
        if (nets != null) nets.register(hypercalls);
        // A native guest on kvm_pvm shows no exit when it cannot run: the monitor looks for stalls.
        this.loop = new VcpuLoop(this, vcpu, memory, hypercalls,
                mode == ExecutionMode.NATIVE && monitor.kvm().pvmPageSeen());
        this.ringIo = ring == null ? null : ring.start("kiln-net-ring-" + id, memory, nets.devices(), this::faultFromDevice);
        new PollModule(memory, () -> stopCause.get() != null || pauseRequested || loop.debugInterrupt(),
                nets == null ? List.of() : nets.devices().stream().map(d -> new PollModule.Source(d.handle(), d.tap().fd())).toList(),
                ringIo, loop).register(hypercalls);
        this.forks = new ForkCalls(monitor, this, memory);
        this.run = new VcpuRun(monitor, loop, new VcpuRun.Owner() {
            @Override
            public void begun() {
                runBegun();
            }

            @Override
            public boolean wantsVcpu() {
                return stopCause.get() != null || pauseRequested;
            }

            @Override
            public void ended(Outcome result) {
                runEnded(result);
            }
        }, "kiln-vcpu-" + id);
    }

    public long id() {
        return id;
    }

    /** The id of the instance that forked this one, 0 if none. */
    public long parentId() {
        return parentId;
    }

    public InstanceSpec spec() {
        return spec;
    }

    public State state() {
        return state;
    }

    /**
     * The pages of its RAM touched since it was mapped (by the guest, or by the monitor for it):
     * measured at a snapshot, what a later restore of that snapshot may map in ahead
     * ({@link Monitor#restore(dev.kiln.monitor.vstate.Snapshot, InstanceSpec, dev.kiln.monitor.vstate.WorkingSet)}).
     */
    public dev.kiln.monitor.vstate.WorkingSet workingSet() {
        return new dev.kiln.monitor.vstate.WorkingSet(memory.mappedPages(), memory.mappedFromFile());
    }

    /** Whether this guest's instructions run on the CPU or in KVM's emulator. */
    public ExecutionMode executionMode() {
        return mode;
    }

    long memorySize() {
        return memory.size();
    }

    Vcpu vcpu() {
        return vcpu;
    }

    /**
     * Runs the guest on a platform thread of its own (one per vCPU: a waiting one when the monitor
     * keeps some, else a new one) and returns that thread at once. A monitor that keeps threads
     * may give it to another instance once this run ended: wait for the run with
     * {@link #awaitOutcome}, not by joining the thread.
     */
    public Thread start() {
        claimRun();
        VcpuThread t = monitor.vcpuThread();
        run.startOn(t);
        return t.thread();
    }

    /**
     * Runs the guest on a vCPU thread made ahead of time ({@link #reserveThread}) and returns at
     * once; for a caller that makes all its threads before any VM ({@link dev.kiln.monitor.fleet.Burst}).
     */
    public void startOn(VcpuThread reserved) {
        claimRun();
        run.startOn(reserved);
    }

    /**
     * A vCPU thread made now, waiting for the instance {@link #startOn} gives it (see
     * {@link VcpuThread} for why it pays to make them before any VM exists).
     */
    public static VcpuThread reserveThread() {
        return VcpuThread.make(VCPU_STACK_BYTES);
    }

    /** Runs the guest on the calling thread until it ends (it never sleeps without that thread). */
    public Outcome run() {
        claimRun();
        return run.runHere();
    }

    private synchronized void claimRun() {
        if (state != State.CREATED) {
            throw new IllegalStateException("instance " + id + " is " + state + "; only a CREATED instance can run");
        }
        state = State.RUNNING;
        if (ringIo != null) ringIo.begin(); // not before: an instance made ahead holds no I/O thread
    }

    /** True once the guest has ended (its outcome is known). */
    boolean ended() {
        return outcome.isDone();
    }

    /** Waits for the guest to end. */
    public Outcome awaitOutcome() {
        if (state == State.CREATED) {
            throw new IllegalStateException("instance " + id + " was never started");
        }
        return outcome.join();
    }

    /** The outcome as a future, completed when the guest ends. */
    public CompletableFuture<Outcome> outcome() {
        return outcome.copy();
    }

    /**
     * Stops the guest, from any thread; the first cause given wins. A guest spinning in its own code
     * is kicked out of KVM_RUN by a signal to its vCPU thread; one sleeping in POLL is unparked.
     */
    public void stop(StopCause cause) {
        stopCause.compareAndSet(null, cause);
        loop.kick();
        run.wake();
        synchronized (pauseLock) {
            pauseLock.notifyAll();
        }
        GdbStub d = debugger;
        if (d != null) d.close(); // gdb may hold the guest stopped: dropping it lets the vCPU thread see the stop
    }

    /**
     * A simulated power cut: the guest is stopped as if the machine lost power, and its block
     * devices with a volatile cache ({@link DeviceAttachment.Block#volatileCache}) lose every write
     * they had not flushed. What a guest made durable with BLOCK_FLUSH is all that is left.
     */
    public void powerCut() {
        if (blocks != null) blocks.powerCut(); // first: no write may reach a file from here on
        stop(StopCause.REQUESTED);
    }

    /**
     * Stops the guest between two instructions and waits until it is stopped; its memory and vCPU
     * then hold still for {@link #snapshot}. A guest waiting in POLL returns from it early, with
     * nothing ready, as if the timeout had passed.
     */
    public void pause() throws InterruptedException {
        if (state != State.RUNNING) throw new IllegalStateException("instance " + id + " is " + state + ", not RUNNING");
        pauseRequested = true;
        loop.kick();
        run.wake();
        synchronized (pauseLock) {
            while (!paused && state == State.RUNNING) pauseLock.wait(50);
            if (!paused) throw new IllegalStateException("instance " + id + " ended before it paused");
        }
    }

    /** Lets a paused guest go on. */
    public void resume() {
        synchronized (pauseLock) {
            pauseRequested = false;
            pauseLock.notifyAll();
        }
    }

    public boolean paused() {
        synchronized (pauseLock) {
            return paused;
        }
    }

    /** Writes a snapshot of a paused guest (see {@link Snapshot} for the format). */
    public void snapshot(java.nio.file.Path file) throws SnapshotException {
        synchronized (pauseLock) {
            if (!paused) throw new IllegalStateException("instance " + id + " must be paused for a snapshot");
            Snapshot.write(file, spec.image(), memory, VcpuState.capture(vcpu), mode == ExecutionMode.NATIVE);
        }
    }

    /**
     * Ends the guest for a fault a device thread found (the net ring's index garbage,
     * docs/kiln-abi.md 4.3): the outcome is that fault, as if a hypercall had broken the rules.
     */
    private void faultFromDevice(FaultKind kind, String message) {
        deviceFault = new Outcome.Faulted(kind, message);
        stop(StopCause.REQUESTED);
    }

    /**
     * Writes an ELF core of this guest (registers and memory; see {@link dev.kiln.monitor.vstate.CoreDump})
     * once it has ended, or while it is paused; gdb reads it beside the image's symbols.
     */
    public void dumpCore(java.nio.file.Path file) throws java.io.IOException {
        synchronized (pauseLock) {
            if (state != State.EXITED && !paused) {
                throw new IllegalStateException("instance " + id + " is " + state + "; dump its core once it ended or is paused");
            }
            dev.kiln.monitor.vstate.CoreDump.write(file, memory, VcpuState.capture(vcpu), LibC.getpid());
        }
    }

    // VcpuLoop.Owner: what the run loop asks of its instance.

    @Override
    public StopCause stopCause() {
        return stopCause.get();
    }

    @Override
    public Outcome.Faulted deviceFault() {
        return deviceFault;
    }

    @Override
    public boolean pauseRequested() {
        return pauseRequested;
    }

    @Override
    public GdbStub debugger() {
        return debugger;
    }

    /** Called on the vCPU thread when a pause was asked for: parks until resumed or stopped. */
    @Override
    public void holdWhilePaused() {
        loop.completePendingIo();
        if (ringIo != null) ringIo.quiesce(); // posted reads given back, the ring still (docs/kiln-abi.md 4.7)
        synchronized (pauseLock) {
            paused = true;
            pauseLock.notifyAll();
            while (pauseRequested && stopCause.get() == null) {
                try {
                    pauseLock.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            paused = false;
        }
        if (ringIo != null) ringIo.resume();
        loop.clearKickUnlessStopping();
    }

    @Override
    public void kilnHypercall(int nr, long gpa) throws GuestFault {
        switch (nr) {
            case KilnAbi.FORK -> forks.fork(gpa, loop, blocks != null || nets != null);
            case KilnAbi.WAIT -> forks.waitForChild(gpa, () -> stopCause.get() != null || pauseRequested);
            default -> { // BLOCK_FLUSH (docs/kiln-abi.md 1.3)
                java.lang.foreign.MemorySegment arg = memory.range(gpa, KilnAbi.BLOCK_FLUSH_SIZE, "BLOCK_FLUSH argument");
                long handle = GuestMemory.getLong(arg, KilnAbi.BLOCK_FLUSH_HANDLE);
                GuestMemory.putLong(arg, KilnAbi.BLOCK_FLUSH_RET, blocks == null ? KilnAbi.EINVAL : blocks.flush(handle));
            }
        }
    }

    /** Once, on the thread that enters the guest first. */
    private void runBegun() {
        if (spec.timeLimit() != null) {
            timeLimit = monitor.watchdog().schedule(() -> stop(StopCause.TIME_LIMIT),
                    spec.timeLimit().toNanos(), TimeUnit.NANOSECONDS);
        }
        if (loop.watchesForStalls()) monitor.watchForStalls();
    }

    /** Once, when the guest has ended. */
    private void runEnded(Outcome result) {
        if (ringIo != null) ringIo.guestEnded(); // its last writes go out
        GdbStub d = debugger;
        if (d != null) d.ended(result.exitStatus(), result instanceof Outcome.Halted, result instanceof Outcome.Faulted);
        cpuNanos = run.cpuNanos();
        ScheduledFuture<?> limit = timeLimit;
        if (limit != null) limit.cancel(false);
        forks.stopChildren();
        state = State.EXITED;
        synchronized (pauseLock) {
            pauseLock.notifyAll();
        }
        loop.up.complete(0L);
        outcome.complete(result);
    }

    /** The monitor's stall checker asks every interval (see {@link VcpuLoop#checkProgress}). */
    void checkProgress() {
        if (state == State.RUNNING) loop.checkProgress();
    }

    /**
     * Waits for gdb to connect to {@code stub} (see {@link GdbStub}), then lets it control this
     * instance from its first instruction. Only before the instance runs, and only emulated.
     */
    public void debugWith(GdbStub stub) throws java.io.IOException {
        if (state != State.CREATED) throw new IllegalStateException("instance " + id + " is " + state + "; attach a debugger before it runs");
        if (mode == ExecutionMode.NATIVE && monitor.kvm().pvmPageSeen()) {
            // A native vCPU on kvm_pvm delivers single steps and debug-register hits to the guest,
            // not to the monitor (pvm-native.md 3): the guest, which has no IDT, would triple-fault.
            throw new IllegalStateException("instance " + id + " runs natively; a debugger needs it emulated "
                    + "(InstanceSpec.withExecution(ExecutionMode.EMULATED), kiln run --emulate)");
        }
        stub.accept(loop::kick);
        debugger = stub;
    }

    /**
     * {@link System#nanoTime()} just before the vCPU first entered the guest (the guest's first
     * instruction, or a restored guest's next one, follows at once), or 0.
     */
    public long firstEntryNanos() {
        return loop.firstEntryNanos();
    }

    /**
     * Completes when the guest makes its first hypercall (it is up and talking) with that moment's
     * {@link System#nanoTime()}, or with 0 when it ended before making one.
     */
    public CompletableFuture<Long> upFuture() {
        return loop.up.copy();
    }

    /** {@link System#nanoTime()} of the guest's first hypercall (it is up and talking), or 0. */
    public long upNanos() {
        return loop.up.getNow(0L);
    }

    /** BLOCK_WRITEs the guest aimed at a read-only block device, each refused with EINVAL (docs/kiln-abi.md 6.5). */
    public long readOnlyWritesRefused() {
        return blocks == null ? 0 : blocks.readOnlyWritesRefused();
    }

    public InstanceStats stats() {
        long first = console.firstOutputNanos();
        long runNanos = run.runNanos();
        long ticks = state == State.CLOSED ? -1 : InfoPage.entryToMainTicks(memory.segment());
        long hz = ticks < 0 ? 0 : monitor.tscHz(vcpu);
        long entryToMain = ticks < 0 || hz <= 0 ? -1 : (long) (ticks * 1e9 / hz);
        long cpu = state == State.RUNNING ? run.cpuNanos() : cpuNanos;
        return new InstanceStats(timings.createNanos(), timings.loadNanos(),
                first == 0 ? -1 : first - timings.startNanos(), runNanos, loop.exits(), loop.hypercallCounts(),
                console.bytesWritten(), console.bytesDropped(), entryToMain, cpu, state == State.CLOSED ? -1 : memory.residentBytes(), mode,
                ringIo == null ? null : ringIo.stats());
    }

    /** Stops the guest if it runs, waits for it, and releases the VM and its memory. */
    @Override
    public void close() {
        if (state == State.CLOSED) return;
        if (state == State.RUNNING) {
            stop(StopCause.REQUESTED);
            outcome.join();
        }
        forks.closeChildren();
        loop.retire();
        state = State.CLOSED;
        monitor.parkVcpu(); // before this vCPU goes, so KVM's count of vCPUs never drops to zero
        if (ringIo != null) ringIo.close(); // its thread touches guest memory: ended before the memory goes
        vcpu.close();
        vm.close();
        memory.close();
        if (blocks != null) blocks.close();
        if (nets != null) nets.close();
        monitor.closed(this);
    }
}
