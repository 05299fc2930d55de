package dev.kiln.monitor;

import dev.kiln.monitor.arch.x86.LongMode;
import dev.kiln.monitor.devices.ClockModule;
import dev.kiln.monitor.devices.ConsoleModule;
import dev.kiln.monitor.devices.BlockModule;
import dev.kiln.monitor.devices.NetModule;
import dev.kiln.monitor.devices.NetRingIo;
import dev.kiln.monitor.devices.NetRingPlan;
import dev.kiln.monitor.devices.TapDevice;
import dev.kiln.monitor.devices.PollModule;
import dev.kiln.monitor.debug.GdbStub;
import dev.kiln.monitor.extension.InfoPage;
import dev.kiln.monitor.extension.KilnAbi;
import dev.kiln.monitor.hvt.BootInfo;
import dev.kiln.monitor.hvt.FaultKind;
import dev.kiln.monitor.hvt.GuestFault;
import dev.kiln.monitor.hvt.GuestMemory;
import dev.kiln.monitor.hvt.Hypercall;
import dev.kiln.monitor.hvt.HypercallHandler;
import dev.kiln.monitor.hvt.HypercallTable;
import dev.kiln.monitor.image.ImageException;
import dev.kiln.monitor.image.ImageLoader;
import dev.kiln.monitor.image.Manifest;
import dev.kiln.monitor.kvm.KvmApi;
import dev.kiln.monitor.kvm.KvmException;
import dev.kiln.monitor.kvm.LibC;
import dev.kiln.monitor.kvm.Vcpu;
import dev.kiln.monitor.kvm.Vm;
import dev.kiln.monitor.vstate.Snapshot;
import dev.kiln.monitor.vstate.SnapshotException;
import dev.kiln.monitor.vstate.VcpuState;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * One guest: a VM with one vCPU, its memory and its devices. Created ready to run by
 * {@link Monitor#create}; {@link #run()} enters it on the calling thread, {@link #start()} on a
 * new platform thread. Whatever the guest does, it ends with an {@link Outcome}: a fault ends
 * this instance only, and never throws into the host program.
 */
public final class Instance implements AutoCloseable {
    public enum State { CREATED, RUNNING, EXITED, CLOSED }

    /** From the kernel, not ProcessHandle: that one starts a process-reaper pool (startup time). */
    private static final int PROCESS_ID = LibC.getpid();
    private static final long VCPU_STACK_BYTES = 256 << 10;

    private final Monitor monitor;
    private final long id;
    private final InstanceSpec spec;
    private final Vm vm;
    private final GuestMemory memory;
    private final Vcpu vcpu;
    private final HypercallTable hypercalls = new HypercallTable();
    private final ConsoleModule console;
    private final BlockModule blocks;
    private final NetModule nets;
    /** The network ring's I/O thread (docs/kiln-abi.md 3), or null. */
    private final NetRingIo ringIo;
    /** Set by a device thread that ended the guest for a fault (the ring's index garbage). */
    private volatile Outcome.Faulted deviceFault;
    private final AtomicReference<StopCause> stopCause = new AtomicReference<>();
    private final CompletableFuture<Outcome> outcome = new CompletableFuture<>();
    /** Completed with the {@link System#nanoTime()} of the first hypercall, or with 0 if it ended before one. */
    private final CompletableFuture<Long> up = new CompletableFuture<>();
    private final Object kickLock = new Object();
    private final Object pauseLock = new Object();
    private volatile boolean pauseRequested;
    private boolean paused; // guarded by pauseLock
    private volatile State state = State.CREATED;
    private volatile Thread vcpuThread;
    private int vcpuTid;
    private boolean inRunLoop;

    private final long createStartNanos;
    private final long createNanos;
    private final long loadNanos;
    private long runStartNanos;
    /** The gdb stub of {@code kiln run --gdb}, or null. */
    private volatile GdbStub debugger;
    private volatile long firstEntryNanos;
    private long runEndNanos;
    private long exitsIo, exitsMmio, exitsInterrupted, exitsOther;
    private final long[] hypercallCounts = new long[Hypercall.PORT_END - Hypercall.PORT_BASE];
    private long cpuStartNanos = -1;
    private volatile long cpuNanos = -1;
    /** The forking parent's id, 0 if none (docs/kiln-abi.md 1.1). */
    private final long parentId;
    /** Children this guest forked and has not waited for; made by the vCPU thread on its first FORK. */
    private volatile Children children;

    private Instance(Monitor monitor, long id, long parentId, InstanceSpec spec, Vm vm, GuestMemory memory, Vcpu vcpu,
                     BlockModule blocks, NetModule nets, NetRingPlan ring, long createStartNanos, long createNanos, long loadNanos) {
        this.monitor = monitor;
        this.id = id;
        this.parentId = parentId;
        this.spec = spec;
        this.vm = vm;
        this.memory = memory;
        this.vcpu = vcpu;
        this.createStartNanos = createStartNanos;
        this.createNanos = createNanos;
        this.loadNanos = loadNanos;
        this.console = new ConsoleModule(memory, spec.console());
        console.register(hypercalls);
        new ClockModule(memory).register(hypercalls);
        this.blocks = blocks;
        if (blocks != null) blocks.register(hypercalls);
        this.nets = nets;
        if (nets != null) nets.register(hypercalls);
        this.ringIo = ring == null ? null : ring.start("kiln-net-ring-" + id, memory, nets.devices(), this::faultFromDevice);
        new PollModule(memory, () -> stopCause.get() != null || pauseRequested || debugInterrupt(), nets == null ? java.util.List.of()
                : nets.devices().stream().map(d -> new PollModule.Source(d.handle(), d.tap().fd())).toList(), ringIo)
                .register(hypercalls);
    }

    /** @param prepared a VM made for this instance ahead of time, or null (take one from the pool, or make one) */
    static Instance create(Monitor monitor, long id, InstanceSpec spec, WarmPool.Ready prepared) throws ImageException {
        long t0 = System.nanoTime();
        byte[] manifest = spec.image().manifest().raw();
        java.util.Map<Integer, BlockModule.Device> blockDevices = new java.util.HashMap<>();
        java.util.Map<Integer, NetModule.Device> netDevices = new java.util.HashMap<>();
        if (!spec.devices().isEmpty()) openDevices(spec, manifest, blockDevices, netDevices);
        NetRingPlan ring = null;
        WarmPool.Ready warm;
        Vm vm;
        try {
            // The ring's doorbell needs the VM's descriptor, which a pooled or prepared VM no longer has.
            ring = prepared != null ? null
                    : NetRingPlan.offer(spec.netRing(), spec.memoryBytes(), spec.image().kernelEnd(), netDevices.values());
            warm = prepared != null ? prepared : ring != null ? null : monitor.takeWarm(spec.memoryBytes());
            vm = warm != null ? warm.vm() : monitor.kvm().createVm();
        } catch (RuntimeException e) {
            if (ring != null) ring.close();
            BlockModule.closeAll(blockDevices.values());
            NetModule.closeAll(netDevices.values());
            throw e;
        }
        GuestMemory memory = null;
        Vcpu vcpu = null;
        BlockModule blocks = null;
        NetModule nets = null;
        try {
            if (warm != null) {
                memory = warm.memory();
                vcpu = warm.vcpu();
            } else {
                memory = GuestMemory.allocate(spec.memoryBytes());
                vcpu = WarmPool.attach(vm, memory, monitor.guestCpuid(), ring == null ? null : ring::register);
            }
            blocks = blockDevices.isEmpty() ? null : new BlockModule(memory, blockDevices);
            nets = netDevices.isEmpty() ? null : new NetModule(memory, netDevices);
            long t1 = System.nanoTime();

            MemorySegment ram = memory.segment();
            ImageLoader.load(spec.image(), ram);
            LongMode.writeTables(ram);
            long usable = ring == null ? memory.size() : ring.usableBytes(); // below the ring area (hvt ABI 4)
            BootInfo.write(ram, usable, spec.image().kernelEnd(), monitor.tscHz(vcpu), manifest,
                    spec.commandLine(), ring == null ? 0 : ring.gpa());
            InfoPage.write(ram, new InfoPage.Identity(id, 0, 0, spec.commandLine()));
            try (Arena arena = Arena.ofConfined()) {
                if (warm == null) { // a pooled vCPU got the boot system registers ahead of time
                    MemorySegment sregs = arena.allocate(KvmApi.SREGS);
                    LongMode.fillSregs(sregs);
                    vcpu.setSregs(sregs);
                }
                MemorySegment regs = arena.allocate(KvmApi.REGS);
                LongMode.fillRegs(regs, spec.image().entry(), usable, BootInfo.GPA);
                vcpu.setRegs(regs);
            }
            long t2 = System.nanoTime();
            return new Instance(monitor, id, 0, spec, vm, memory, vcpu, blocks, nets, ring, t0, t1 - t0, t2 - t1);
        } catch (RuntimeException | ImageException e) {
            if (ring != null) ring.close();
            if (vcpu != null) vcpu.close();
            vm.close();
            if (memory != null) memory.close();
            BlockModule.closeAll(blockDevices.values());
            NetModule.closeAll(netDevices.values());
            throw e;
        }
    }

    /**
     * Creates an instance from a snapshot: its RAM mapped copy-on-write from the snapshot file, its
     * vCPU state loaded; devices are attached afresh from the spec (the guest already holds their
     * manifest entries in its memory).
     */
    static Instance restore(Monitor monitor, long id, InstanceSpec spec, Snapshot snapshot) {
        long t0 = System.nanoTime();
        java.util.Map<Integer, BlockModule.Device> blockDevices = new java.util.HashMap<>();
        java.util.Map<Integer, NetModule.Device> netDevices = new java.util.HashMap<>();
        byte[] manifest = spec.image().manifest().raw();
        if (!spec.devices().isEmpty()) openDevices(spec, manifest, blockDevices, netDevices);
        Vm vm = null;
        GuestMemory memory = null;
        Vcpu vcpu = null;
        WarmPool.Ready warm;
        NetRingPlan ring = null;
        try {
            warm = netDevices.isEmpty() ? monitor.takeWarm(snapshot) : null; // a ring's doorbell needs a new VM's descriptor
            if (warm != null) {
                // a pre-made VM: the snapshot is mapped over its memory (unless the pool did), the
                // slot stays as it is
                vm = warm.vm();
                memory = warm.memory();
                vcpu = warm.vcpu();
                if (warm.preloaded() != snapshot) snapshot.mapMemoryOver(memory);
            } else {
                vm = monitor.kvm().createVm();
                memory = snapshot.mapMemory();
                ring = NetRingPlan.restored(memory.segment(), netDevices.values());
                vcpu = WarmPool.attach(vm, memory, monitor.guestCpuid(), ring == null ? null : ring::register);
            }
            long t1 = System.nanoTime();
            if (warm == null) snapshot.vcpu().apply(vcpu);
            else if (warm.preloaded() != snapshot) snapshot.vcpu().apply(vcpu, warm.sregs(), warm.fpu());
            // This clone's own identity (docs/kiln-abi.md 2.1): the manifest filled from its own
            // attachments, and its id, arguments and a new generation in the info page.
            MemorySegment ram = memory.segment();
            MemorySegment mft = ram.asSlice(BootInfo.MFT_GPA, manifest.length);
            if (mft.mismatch(MemorySegment.ofArray(manifest)) != -1) { // unchanged: no copy-on-write fault
                MemorySegment.copy(manifest, 0, ram, JAVA_BYTE, BootInfo.MFT_GPA, manifest.length);
            }
            InfoPage.write(ram, new InfoPage.Identity(id, 0, InfoPage.generation(ram) + 1, spec.commandLine()));
            long t2 = System.nanoTime();
            return new Instance(monitor, id, 0, spec, vm, memory, vcpu,
                    blockDevices.isEmpty() ? null : new BlockModule(memory, blockDevices),
                    netDevices.isEmpty() ? null : new NetModule(memory, netDevices), ring, t0, t1 - t0, t2 - t1);
        } catch (RuntimeException e) {
            if (ring != null) ring.close();
            if (vcpu != null) vcpu.close();
            if (vm != null) vm.close();
            if (memory != null) memory.close();
            BlockModule.closeAll(blockDevices.values());
            NetModule.closeAll(netDevices.values());
            throw e;
        }
    }

    /**
     * The child of a FORK (docs/kiln-abi.md 1.1): RAM mapped privately from the memfd the parent's
     * memory was shared into, the parent's vCPU state (taken after its OUT completed), 0 in the
     * child's {@code ret}, and the child's identity in its info page. It has no devices.
     */
    static Instance forkOf(Monitor monitor, long id, Instance parent, int memfd, VcpuState state, long retGpa) {
        long t0 = System.nanoTime();
        Vm vm = null;
        GuestMemory memory = null;
        Vcpu vcpu = null;
        try {
            vm = monitor.kvm().createVm();
            memory = GuestMemory.mapFork(memfd, parent.memory.size());
            vcpu = WarmPool.attach(vm, memory, monitor.guestCpuid());
            long t1 = System.nanoTime();
            state.apply(vcpu);
            MemorySegment ram = memory.segment();
            ram.set(JAVA_LONG_UNALIGNED, retGpa, 0L);
            InfoPage.write(ram, new InfoPage.Identity(id, parent.id, InfoPage.generation(ram) + 1,
                    parent.spec.commandLine()));
            long t2 = System.nanoTime();
            return new Instance(monitor, id, parent.id, parent.spec.withDevices(java.util.List.of()), vm, memory, vcpu,
                    null, null, null, t0, t1 - t0, t2 - t1);
        } catch (RuntimeException e) {
            if (vcpu != null) vcpu.close();
            if (vm != null) vm.close();
            if (memory != null) memory.close();
            throw e;
        }
    }

    /**
     * Opens what backs each attached device and fills its manifest entry in the guest's copy:
     * capacity and block size, and {@code attached} (hvt ABI section 2).
     */
    private static void openDevices(InstanceSpec spec, byte[] manifest, java.util.Map<Integer, BlockModule.Device> blocks,
                                    java.util.Map<Integer, NetModule.Device> nets) {
        java.nio.ByteBuffer mft = java.nio.ByteBuffer.wrap(manifest).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        try {
            for (DeviceAttachment a : spec.devices()) {
                Manifest.Device d = spec.image().manifest().devices().stream()
                        .filter(x -> x.name().equals(a.name())).findFirst().orElseThrow();
                int at = Manifest.HEADER_SIZE + d.handle() * Manifest.ENTRY_SIZE;
                switch (a) {
                    case DeviceAttachment.Block b -> {
                        BlockModule.Device dev = BlockModule.open(d.handle(), b.name(), b.file(), b.sectorSize());
                        blocks.put(d.handle(), dev);
                        mft.putLong(at + Manifest.UNION_OFFSET, dev.capacity());
                        mft.putShort(at + Manifest.UNION_OFFSET + 8, (short) dev.blockSize());
                    }
                    case DeviceAttachment.Net n -> {
                        TapDevice tap;
                        try {
                            tap = TapDevice.open(n.tap());
                        } catch (java.io.IOException e) {
                            throw new java.io.IOException("net device '" + n.name() + "': " + e.getMessage(), e);
                        }
                        byte[] mac = n.mac() != null ? n.mac() : randomMac();
                        nets.put(d.handle(), new NetModule.Device(d.handle(), n.name(), tap, mac));
                        mft.put(at + Manifest.UNION_OFFSET, mac);
                        mft.putShort(at + Manifest.UNION_OFFSET + 6, (short) Math.min(tap.mtu(), 0xffff));
                    }
                }
                mft.put(at + Manifest.ATTACHED_OFFSET, (byte) 1);
            }
        } catch (java.io.IOException e) {
            BlockModule.closeAll(blocks.values());
            NetModule.closeAll(nets.values());
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /** A random locally administered unicast MAC, as solo5-hvt gives a device without --net-mac. */
    private static byte[] randomMac() {
        byte[] mac = new byte[6];
        java.util.concurrent.ThreadLocalRandom.current().nextBytes(mac);
        mac[0] = (byte) ((mac[0] & 0xfe) | 0x02);
        return mac;
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

    /** Runs the guest on a new platform thread (one per vCPU) and returns at once. */
    public Thread start() {
        claimRun();
        // The run loop is shallow; a small stack keeps thousands of vCPU threads cheap.
        Thread t = Thread.ofPlatform().name("kiln-vcpu-" + id).stackSize(VCPU_STACK_BYTES).unstarted(this::loop);
        vcpuThread = t;
        t.start();
        return t;
    }

    /** Runs the guest on a vCPU thread made ahead of time (see {@link VcpuThread}) and returns at once. */
    void startOn(VcpuThread reserved) {
        claimRun();
        vcpuThread = reserved.thread();
        reserved.run("kiln-vcpu-" + id, this::loop);
    }

    static VcpuThread reserveThread() {
        return VcpuThread.make(VCPU_STACK_BYTES);
    }

    /** Runs the guest on the calling thread until it ends. */
    public Outcome run() {
        claimRun();
        vcpuThread = Thread.currentThread();
        loop();
        return outcome.join();
    }

    private synchronized void claimRun() {
        if (state != State.CREATED) {
            throw new IllegalStateException("instance " + id + " is " + state + "; only a CREATED instance can run");
        }
        state = State.RUNNING;
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
        kick();
        synchronized (pauseLock) {
            pauseLock.notifyAll();
        }
        GdbStub d = debugger;
        if (d != null) d.close(); // gdb may hold the guest stopped: dropping it lets the vCPU thread see the stop
    }

    /**
     * Ends the guest for a fault a device thread found (the net ring's index garbage,
     * docs/kiln-abi.md 3.3): the outcome is that fault, as if a hypercall had broken the rules.
     */
    private void faultFromDevice(FaultKind kind, String message) {
        deviceFault = new Outcome.Faulted(kind, message);
        stop(StopCause.REQUESTED);
    }

    /** Gets the vCPU thread out of the guest (or out of POLL) so that it looks at its flags. */
    private void kick() {
        synchronized (kickLock) {
            if (state == State.CLOSED || state == State.EXITED) return;
            vcpu.requestImmediateExit();
            if (inRunLoop) {
                LockSupport.unpark(vcpuThread);
                // SIGXFSZ: HotSpot's handler ignores it, and it makes a blocked KVM_RUN return EINTR.
                LibC.tgkill(PROCESS_ID, vcpuTid, LibC.SIGXFSZ);
            }
        }
    }

    /**
     * Stops the guest between two instructions and waits until it is stopped; its memory and vCPU
     * then hold still for {@link #snapshot}. A guest waiting in POLL returns from it early, with
     * nothing ready, as if the timeout had passed.
     */
    public void pause() throws InterruptedException {
        if (state != State.RUNNING) throw new IllegalStateException("instance " + id + " is " + state + ", not RUNNING");
        pauseRequested = true;
        kick();
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
            Snapshot.write(file, spec.image(), memory, VcpuState.capture(vcpu));
        }
    }

    /** Called on the vCPU thread when a pause was asked for: parks until resumed or stopped. */
    private void holdWhilePaused() {
        completePendingIo();
        if (ringIo != null) ringIo.quiesce(); // posted reads given back, the ring still (docs/kiln-abi.md 3.7)
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
        clearKickUnlessStopping();
    }

    /** Takes back a kick's immediate_exit unless a stop or a pause still wants the vCPU out. */
    private void clearKickUnlessStopping() {
        if (stopCause.get() == null && !pauseRequested) vcpu.clearImmediateExit();
    }

    /**
     * Finishes the I/O exit KVM may still have pending, so that the vCPU state is the one after the
     * guest's OUT: KVM completes it at the next KVM_RUN, which with {@code immediate_exit} set
     * returns EINTR before running any guest instruction (KVM API, "kvm_run": immediate_exit).
     * Needed before a snapshot or a fork copies the vCPU: else the copy would repeat the hypercall.
     */
    private void completePendingIo() {
        vcpu.requestImmediateExit();
        vcpu.run();
        clearKickUnlessStopping();
    }

    private void loop() {
        synchronized (kickLock) {
            vcpuTid = LibC.gettid();
            inRunLoop = true;
        }
        ScheduledFuture<?> deadline = null;
        if (spec.timeLimit() != null) {
            deadline = monitor.watchdog().schedule(() -> stop(StopCause.TIME_LIMIT),
                    spec.timeLimit().toNanos(), TimeUnit.NANOSECONDS);
        }
        runStartNanos = System.nanoTime();
        cpuStartNanos = LibC.threadCpuNanos(vcpuTid);
        Outcome result;
        try {
            result = runUntilExit();
        } catch (RuntimeException | Error e) {
            // A monitor bug must end this guest only, and say what happened.
            result = new Outcome.Faulted(FaultKind.KVM_ERROR, "monitor error: " + e);
        }
        runEndNanos = System.nanoTime();
        GdbStub d = debugger;
        if (d != null) d.ended(result.exitStatus(), result instanceof Outcome.Halted, result instanceof Outcome.Faulted);
        long cpuEnd = LibC.threadCpuNanos(vcpuTid);
        cpuNanos = cpuStartNanos < 0 || cpuEnd < 0 ? -1 : cpuEnd - cpuStartNanos;
        if (deadline != null) deadline.cancel(false);
        Children kids = children;
        if (kids != null) {
            for (Instance c : kids.all()) c.stop(StopCause.PARENT_EXITED);
        }
        synchronized (kickLock) {
            inRunLoop = false;
            state = State.EXITED;
        }
        synchronized (pauseLock) {
            pauseLock.notifyAll();
        }
        up.complete(0L);
        outcome.complete(result);
    }

    /** True when an attached debugger asked the running guest to stop (Ctrl-C in gdb). */
    private boolean debugInterrupt() {
        GdbStub d = debugger;
        return d != null && d.interruptPending();
    }

    /**
     * Waits for gdb to connect to {@code stub} (see {@link GdbStub}), then lets it control this
     * instance from its first instruction. Only before the instance runs.
     */
    public void debugWith(GdbStub stub) throws java.io.IOException {
        if (state != State.CREATED) throw new IllegalStateException("instance " + id + " is " + state + "; attach a debugger before it runs");
        stub.accept(this::kick);
        debugger = stub;
    }

    /** A stop for the debugger: it serves gdb until gdb resumes (null) or kills the guest. */
    private Outcome debugStop(GdbStub.Stop why) {
        GdbStub.Action a = debugger.stop(why, vcpu, memory);
        clearKickUnlessStopping();
        return a == GdbStub.Action.KILL ? new Outcome.Stopped(StopCause.DEBUGGER) : null;
    }

    private Outcome runUntilExit() {
        MemorySegment run = vcpu.runArea();
        if (debugger != null) {
            Outcome killed = debugStop(GdbStub.Stop.ENTRY);
            if (killed != null) return killed;
        }
        firstEntryNanos = System.nanoTime(); // the first KVM_RUN below enters the guest
        while (true) {
            StopCause cause = stopCause.get();
            if (cause != null) return deviceFault != null ? deviceFault : new Outcome.Stopped(cause);
            if (pauseRequested) {
                holdWhilePaused();
                continue;
            }
            int rc = vcpu.run();
            if (rc < 0) {
                if (rc == -LibC.EINTR || rc == -LibC.EAGAIN) {
                    exitsInterrupted++;
                    if (debugInterrupt() && stopCause.get() == null) {
                        Outcome killed = debugStop(GdbStub.Stop.INTERRUPT);
                        if (killed != null) return killed;
                    }
                    continue;
                }
                return fault(FaultKind.KVM_ERROR, "KVM_RUN failed: " + LibC.describe(-rc));
            }
            int reason = run.get(JAVA_INT, KvmApi.RUN_EXIT_REASON);
            switch (reason) {
                case KvmApi.EXIT_IO -> {
                    if (exitsIo++ == 0) up.complete(System.nanoTime());
                    try {
                        Integer halted = hypercall(run);
                        if (halted != null) return new Outcome.Halted(halted);
                    } catch (GuestFault f) {
                        return fault(f.kind(), f.getMessage());
                    }
                }
                case KvmApi.EXIT_INTR -> exitsInterrupted++;
                case KvmApi.EXIT_DEBUG -> {
                    exitsOther++;
                    if (debugger == null) {
                        return fault(FaultKind.UNEXPECTED_EXIT, "debug exit with no debugger attached" + atRip());
                    }
                    Outcome killed = debugStop(GdbStub.Stop.TRAP);
                    if (killed != null) return killed;
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
                    return fault(FaultKind.TRIPLE_FAULT, "triple fault: the guest took an exception it could not handle"
                            + atRip());
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
                        return fault(FaultKind.EMULATION_FAILURE, "KVM could not emulate the guest's instruction"
                                + atRip());
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
    }

    /**
     * Handles one port-I/O exit as a hypercall (hvt ABI section 5); returns the exit status when
     * the guest halts, null to continue.
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
                    + ", which is not a hypercall port (hvt: 0x500-0x508, Kiln: 0x581-0x582)" + atRip());
        }
        if (size != 4 || count != 1) {
            throw new GuestFault(FaultKind.BAD_IO_SIZE, "guest wrote " + size + " byte(s) x" + count + " to port 0x"
                    + Integer.toHexString(port) + "; a hypercall is one 32-bit OUT" + atRip());
        }
        long dataOffset = run.get(JAVA_LONG, KvmApi.RUN_IO_DATA_OFFSET);
        long gpa = Integer.toUnsignedLong(run.get(JAVA_INT, dataOffset));
        if (kiln) {
            switch (port - KilnAbi.PORT_BASE) {
                case KilnAbi.FORK -> fork(gpa);
                default -> waitForChild(gpa);
            }
            return null;
        }
        int nr = port - Hypercall.PORT_BASE;
        hypercallCounts[nr]++;
        if (nr == Hypercall.HALT) {
            return halt(gpa);
        }
        HypercallHandler handler = hypercalls.get(nr);
        if (handler == null) {
            throw new GuestFault(FaultKind.BAD_PORT, Hypercall.name(nr) + " (port 0x" + Integer.toHexString(port)
                    + ") is not available: the image declared no device that offers it" + atRip());
        }
        handler.handle(gpa);
        return null;
    }

    /** FORK (docs/kiln-abi.md 1.1): {@code struct kiln_hc_fork { int64_t ret; }}. */
    private void fork(long gpa) throws GuestFault {
        MemorySegment arg = memory.range(gpa, KilnAbi.FORK_SIZE, "FORK argument");
        GuestMemory.putLong(arg, KilnAbi.FORK_RET, forkChild(gpa));
    }

    private long forkChild(long gpa) {
        if (blocks != null || nets != null) return KilnAbi.EOPNOTSUPP;
        Children kids = children;
        if (kids == null) children = kids = new Children();
        if (kids.count() >= KilnAbi.MAX_CHILDREN || monitor.forkedLive() >= KilnAbi.MAX_FORKED) return KilnAbi.EAGAIN;
        completePendingIo();
        VcpuState state = VcpuState.capture(vcpu);
        Instance child;
        try {
            child = monitor.fork(this, childId -> {
                int fd = memory.shareForFork();
                try {
                    return forkOf(monitor, childId, this, fd, state, gpa);
                } finally {
                    LibC.close(fd);
                }
            });
        } catch (AdmissionException e) {
            return KilnAbi.ENOMEM;
        } catch (KvmException e) {
            Log.LOG.log(System.Logger.Level.WARNING, "instance " + id + ": FORK failed: " + e.getMessage());
            return KilnAbi.ENOMEM;
        }
        try {
            child.start();
        } catch (OutOfMemoryError | RuntimeException e) { // no thread for it (a fork bomb, say): the parent goes on
            child.close();
            return KilnAbi.EAGAIN;
        }
        kids.add(child);
        Thread parentThread = vcpuThread;
        child.outcome.whenComplete((o, t) -> {
            if (o instanceof Outcome.Faulted f) {
                Log.LOG.log(System.Logger.Level.WARNING, "instance " + child.id + " (forked by " + id + "): " + f.describe());
            }
            LockSupport.unpark(parentThread); // a WAIT in progress looks again
        });
        return child.id;
    }

    /**
     * The logger, in a holder class: java.util.logging's set-up (service lookup, jar reading) costs
     * ~15 ms, which a plain {@code kiln run} that never logs should not pay at start-up.
     */
    private static final class Log {
        static final System.Logger LOG = System.getLogger("dev.kiln.monitor");
    }

    /** WAIT (docs/kiln-abi.md 1.2): reaps an ended child, blocking up to the guest's timeout. */
    private void waitForChild(long gpa) throws GuestFault {
        MemorySegment arg = memory.range(gpa, KilnAbi.WAIT_SIZE, "WAIT argument");
        long which = GuestMemory.getLong(arg, KilnAbi.WAIT_ID);
        long timeout = GuestMemory.getLong(arg, KilnAbi.WAIT_TIMEOUT);
        long limit = timeout < 0 || timeout > Long.MAX_VALUE / 4 ? Long.MAX_VALUE / 4 : timeout; // unsigned in
        long start = System.nanoTime();
        while (true) {
            Children kids = children;
            Children.Lookup found = kids == null ? new Children.Lookup(false, null) : kids.find(which);
            if (!found.exists()) {
                GuestMemory.putLong(arg, KilnAbi.WAIT_RET, KilnAbi.ECHILD);
                return;
            }
            Instance ended = found.ended();
            if (ended != null) {
                Outcome o = ended.outcome.join();
                kids.remove(ended);
                ended.close();
                GuestMemory.putLong(arg, KilnAbi.WAIT_RET, ended.id);
                GuestMemory.putInt(arg, KilnAbi.WAIT_STATUS, o instanceof Outcome.Halted h ? h.status() : 255);
                GuestMemory.putInt(arg, KilnAbi.WAIT_HOW, switch (o) {
                    case Outcome.Halted h -> KilnAbi.HOW_HALTED;
                    case Outcome.Faulted f -> KilnAbi.HOW_FAULTED;
                    case Outcome.Stopped s -> KilnAbi.HOW_STOPPED;
                });
                return;
            }
            long left = limit - (System.nanoTime() - start);
            if (left <= 0 || stopCause.get() != null || pauseRequested) {
                GuestMemory.putLong(arg, KilnAbi.WAIT_RET, 0);
                return;
            }
            LockSupport.parkNanos(Math.min(left, 50_000_000L));
        }
    }

    /** HALT: {@code struct hvt_hc_halt { GPA cookie; int exit_status; }}. */
    private int halt(long gpa) throws GuestFault {
        MemorySegment arg = memory.range(gpa, Hypercall.HALT_SIZE, "HALT argument");
        long cookie = GuestMemory.getLong(arg, Hypercall.HALT_COOKIE);
        if (cookie != 0) {
            memory.range(cookie, Hypercall.HALT_COOKIE_SIZE, "HALT cookie");
        }
        return arg.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, Hypercall.HALT_EXIT_STATUS);
    }

    private Outcome fault(FaultKind kind, String message) {
        return new Outcome.Faulted(kind, message);
    }

    /** " at RIP=0x..." for fault messages; only on the slow path. */
    private String atRip() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment regs = arena.allocate(KvmApi.REGS);
            vcpu.getRegs(regs);
            return " (RIP=0x" + Long.toHexString(regs.get(JAVA_LONG, KvmApi.REGS_RIP)) + ")";
        } catch (KvmException e) {
            return "";
        }
    }

    /**
     * {@link System#nanoTime()} just before the vCPU first entered the guest (the guest's first
     * instruction, or a restored guest's next one, follows at once), or 0.
     */
    public long firstEntryNanos() {
        return firstEntryNanos;
    }

    /**
     * Completes when the guest makes its first hypercall (it is up and talking) with that moment's
     * {@link System#nanoTime()}, or with 0 when it ended before making one.
     */
    public CompletableFuture<Long> upFuture() {
        return up.copy();
    }

    /** {@link System#nanoTime()} of the guest's first hypercall (it is up and talking), or 0. */
    public long upNanos() {
        return up.getNow(0L);
    }

    public InstanceStats stats() {
        long first = console.firstOutputNanos();
        long runNanos = runStartNanos == 0 ? 0 : (runEndNanos == 0 ? System.nanoTime() : runEndNanos) - runStartNanos;
        long ticks = state == State.CLOSED ? -1 : InfoPage.entryToMainTicks(memory.segment());
        long hz = ticks < 0 ? 0 : monitor.tscHz(vcpu);
        long entryToMain = ticks < 0 || hz <= 0 ? -1 : (long) (ticks * 1e9 / hz);
        long cpu = cpuNanos;
        if (cpu < 0 && state == State.RUNNING && cpuStartNanos >= 0) {
            long now = LibC.threadCpuNanos(vcpuTid);
            cpu = now < 0 ? -1 : now - cpuStartNanos;
        }
        return new InstanceStats(createNanos, loadNanos, first == 0 ? -1 : first - createStartNanos, runNanos,
                new InstanceStats.Exits(exitsIo, exitsMmio, exitsInterrupted, exitsOther), hypercallCounts,
                console.bytesWritten(), entryToMain, cpu, state == State.CLOSED ? -1 : memory.residentBytes(),
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
        Children kids = children;
        if (kids != null) {
            for (Instance c : kids.all()) c.close();
        }
        synchronized (kickLock) {
            state = State.CLOSED;
        }
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
