package dev.kiln.monitor;

import dev.kiln.monitor.arch.x86.Cpuid;
import dev.kiln.monitor.hvt.GuestMemory;
import dev.kiln.monitor.image.ImageException;
import dev.kiln.monitor.image.ImageLoader;
import dev.kiln.monitor.kvm.Kvm;
import dev.kiln.monitor.kvm.KvmException;
import dev.kiln.monitor.kvm.ParkedVcpu;

import java.lang.foreign.MemorySegment;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The monitor as a library: one per process, it owns {@code /dev/kvm} and creates instances. It
 * is thread-safe; many instances can run at once, each on its own vCPU thread.
 *
 * <pre>{@code
 * try (Monitor monitor = Monitor.open()) {
 *     HvtImage image = HvtImage.read(Path.of("helloworld.hvt"));
 *     try (Instance i = monitor.create(InstanceSpec.of(image, System.out, "arg"))) {
 *         Outcome o = i.run();
 *     }
 * }
 * }</pre>
 */
public final class Monitor implements AutoCloseable {
    private final Kvm kvm;
    private final MemorySegment guestCpuid;
    private final AtomicLong nextId = new AtomicLong(1);
    private final Set<Instance> live = ConcurrentHashMap.newKeySet();
    private volatile long tscHz;
    /** Guest memory all live instances may declare together; Long.MAX_VALUE: no budget. */
    private final long memoryBudget;
    private final java.util.concurrent.atomic.AtomicLong memoryReserved = new java.util.concurrent.atomic.AtomicLong();
    private volatile ScheduledExecutorService watchdog;
    private volatile WarmPool warmPool;
    private volatile WarmPool clonePool;

    private Monitor(Kvm kvm, long memoryBudget) {
        this.kvm = kvm;
        this.memoryBudget = memoryBudget;
        this.guestCpuid = Cpuid.forGuest(kvm.supportedCpuid());
    }

    /** Opens KVM; a {@link KvmException} says why when it is unusable (missing, no permission). */
    public static Monitor open() {
        return new Monitor(Kvm.open(), Long.MAX_VALUE);
    }

    /**
     * Opens KVM with a memory budget: the guest memory of all live instances together may not
     * exceed {@code memoryBudgetBytes}; an instance that would is refused before anything is made
     * for it ({@link AdmissionException}), rather than failing half-way or starving the others.
     */
    public static Monitor open(long memoryBudgetBytes) {
        if (memoryBudgetBytes <= 0) throw new IllegalArgumentException("memory budget must be positive");
        return new Monitor(Kvm.open(), memoryBudgetBytes);
    }

    /**
     * Confines this whole process, for good: every thread is put under a seccomp filter that
     * refuses what a monitor never needs (running programs, modules, mounts, namespaces, tracing,
     * reboot; {@link dev.kiln.monitor.confine.SeccompFilter}). Call it once the host resources the
     * guests need are open; nothing in the monitor needs the refused calls after that, but nothing
     * else in the process (a library, a ProcessBuilder) may use them either.
     */
    public static void confine() {
        dev.kiln.monitor.confine.SeccompFilter.install(Boolean.getBoolean("kiln.aotTraining"));
    }

    /** Reserves guest memory for a new instance, or refuses it. */
    private void admit(long bytes) {
        long now;
        do {
            now = memoryReserved.get();
            if (bytes > memoryBudget - now) {
                throw new AdmissionException("instance refused: it needs " + (bytes >> 20) + " MiB of guest memory, but "
                        + ((memoryBudget - now) >> 20) + " MiB of the monitor's " + (memoryBudget >> 20)
                        + " MiB budget are left (" + live.size() + " instances hold " + (now >> 20) + " MiB)");
            }
        } while (!memoryReserved.compareAndSet(now, now + bytes));
    }

    /**
     * Creates an instance ready to run: VM, memory, image loaded, boot state set. Anything wrong
     * with the image for this spec is refused before any KVM object exists.
     */
    public Instance create(InstanceSpec spec) throws ImageException {
        checkAndAdmit(spec);
        return createAdmitted(spec, null);
    }

    /**
     * Checks a spec as {@link #create} does, and reserves its memory, for a caller that makes
     * instances in phases ({@link dev.kiln.monitor.fleet.Burst}: admission for all first, so that a
     * refused instance costs nothing). Each admitted spec ends in {@link #createAdmitted} or
     * {@link #unadmit}.
     */
    public void checkAndAdmit(InstanceSpec spec) throws ImageException {
        ImageLoader.checkFits(spec.image(), spec.memoryBytes());
        checkAttachments(spec);
        admit(spec.memoryBytes());
    }

    /** Gives back what {@link #checkAndAdmit} reserved, for an instance that will not be made. */
    public void unadmit(InstanceSpec spec) {
        memoryReserved.addAndGet(-spec.memoryBytes());
    }

    /**
     * Creates an instance whose memory {@link #checkAndAdmit} already reserved, on a VM from
     * {@link #prepare} if given (else as {@link #create} would). When it fails, the reservation is
     * given back here.
     */
    public Instance createAdmitted(InstanceSpec spec, PreparedVm prepared) throws ImageException {
        try {
            Instance instance = InstanceBuilder.fresh(this, nextId.getAndIncrement(), spec, prepared);
            live.add(instance);
            return instance;
        } catch (RuntimeException | ImageException e) {
            memoryReserved.addAndGet(-spec.memoryBytes());
            throw e;
        }
    }

    /**
     * Creates an instance from an open snapshot, ready to run from where the snapshot was taken.
     * The spec's image must be the one the snapshot was taken of; its memory size is the
     * snapshot's. Any number of instances can be restored from one snapshot: they share the pages
     * none of them writes.
     */
    public Instance restore(dev.kiln.monitor.vstate.Snapshot snapshot, InstanceSpec spec)
            throws ImageException, dev.kiln.monitor.vstate.SnapshotException {
        return restore(snapshot, spec, null);
    }

    /**
     * As {@link #restore(dev.kiln.monitor.vstate.Snapshot, InstanceSpec)}, and maps in ahead the
     * pages of {@code prefetch} (if not null) the snapshot stores, as the instance's own: its
     * guest then takes a fraction of the page faults on them (see
     * {@link dev.kiln.monitor.vstate.Snapshot#prefetch}). For one instance whose first response
     * matters more than sharing those pages (a scale-to-zero wake); clones keep sharing.
     */
    public Instance restore(dev.kiln.monitor.vstate.Snapshot snapshot, InstanceSpec spec,
                            dev.kiln.monitor.vstate.WorkingSet prefetch)
            throws ImageException, dev.kiln.monitor.vstate.SnapshotException {
        snapshot.checkImage(spec.image());
        InstanceSpec sized = spec.withMemory(snapshot.memorySize());
        checkAttachments(sized);
        admit(sized.memoryBytes());
        try {
            Instance instance = InstanceBuilder.restored(this, nextId.getAndIncrement(), sized, snapshot, prefetch);
            live.add(instance);
            return instance;
        } catch (RuntimeException e) {
            memoryReserved.addAndGet(-sized.memoryBytes());
            throw e;
        }
    }

    /**
     * Makes the child of a FORK hypercall (docs/kiln-abi.md 1.1) with {@code make}, given the
     * child's id, once the budget admitted its memory; called on the parent's vCPU thread.
     */
    Instance fork(Instance parent, java.util.function.LongFunction<Instance> make) {
        long bytes = parent.spec().memoryBytes();
        admit(bytes);
        try {
            Instance child = make.apply(nextId.getAndIncrement());
            live.add(child);
            forked.incrementAndGet();
            return child;
        } catch (RuntimeException e) {
            memoryReserved.addAndGet(-bytes);
            throw e;
        }
    }

    /**
     * Every device the image declares must be attached, with the right kind, and nothing else may
     * be (hvt ABI section 2).
     */
    private static void checkAttachments(InstanceSpec spec) throws ImageException {
        var declared = spec.image().manifest().devices();
        String image = "image " + spec.image().name() + ": ";
        java.util.Set<String> names = new java.util.HashSet<>();
        for (DeviceAttachment a : spec.devices()) {
            if (!names.add(a.name())) throw new ImageException(image + "device '" + a.name() + "' is attached twice");
            var d = declared.stream().filter(x -> x.name().equals(a.name())).findFirst();
            String kind = a instanceof DeviceAttachment.Block ? "block" : "net";
            if (d.isEmpty()) {
                throw new ImageException(image + "--" + kind + ":" + a.name() + " attaches a device the image does not declare"
                        + (declared.isEmpty() ? " (it declares none)" : " (it declares: " + declared.stream()
                        .map(x -> x.type().label() + " '" + x.name() + "'").collect(java.util.stream.Collectors.joining(", ")) + ")"));
            }
            if (!d.get().type().label().equals(kind)) {
                throw new ImageException(image + "device '" + a.name() + "' is a " + d.get().type().label()
                        + " device, attached as " + kind);
            }
        }
        for (var d : declared) {
            if (!names.contains(d.name())) {
                throw new ImageException(image + "all declared devices must be attached: " + d.type().label()
                        + " device '" + d.name() + "' is not (--" + d.type().label() + ":" + d.name() + "=...)");
            }
        }
    }

    /**
     * Keeps {@code size} empty VMs with {@code memoryBytes} of RAM made ahead of time, so that
     * instances of that memory size skip VM creation on their boot path (0 turns it off).
     */
    public synchronized void keepWarm(long memoryBytes, int size) {
        if (warmPool != null) {
            warmPool.close();
            warmPool = null;
        }
        if (size > 0) warmPool = new WarmPool(kvm, guestCpuid, GuestMemory.validSize(memoryBytes), size, ExecutionMode.requestedDefault());
    }

    /**
     * Keeps {@code size} clones of {@code snapshot} made ahead of time: VM, the snapshot's memory
     * mapped copy-on-write, its vCPU state loaded. {@link #restore} of that snapshot then only gives
     * the clone its identity and runs it. 0 turns it off; close it before closing the snapshot.
     */
    public synchronized void keepWarm(dev.kiln.monitor.vstate.Snapshot snapshot, int size) {
        if (clonePool != null) {
            clonePool.close();
            clonePool = null;
        }
        if (size > 0) clonePool = new WarmPool(kvm, guestCpuid, snapshot, size, ExecutionMode.requestedDefault());
    }

    private final VcpuThreadPool vcpuThreads = new VcpuThreadPool(Instance.VCPU_STACK_BYTES);

    /**
     * Makes {@code count} vCPU threads now, for {@link Instance#start} to take instead of making
     * one each, and keeps up to that many more: a run's thread, once the run ended, waits for the
     * next instance instead of ending. A thread made or ended behind hundreds of live VMs costs
     * milliseconds (its stack mapping calls every VM's MMU notifier, see {@link VcpuThread}), one
     * made before them a few microseconds. For a host that will start instances one by one for a
     * long time (a daemon).
     */
    public void reserveVcpuThreads(int count) {
        vcpuThreads.reserve(count);
    }

    /** vCPU threads waiting for an instance (made ahead, or kept from an ended run). */
    public int spareVcpuThreads() {
        return vcpuThreads.idleCount();
    }

    /** {@code delta} more (or fewer) guests asleep without a vCPU thread (see {@link VcpuThreadPool}). */
    void vcpuThreadsAsleep(int delta) {
        vcpuThreads.asleep(delta);
    }

    /** A waiting vCPU thread, or a new one that this monitor may keep after its run. */
    VcpuThread vcpuThread() {
        VcpuThread t = vcpuThreads.take();
        return t != null ? t : vcpuThreads.make();
    }

    /** A pre-made VM for this memory size, or null. */
    PreparedVm takeWarm(long memoryBytes, ExecutionMode mode) {
        WarmPool p = warmPool;
        return p != null && p.memorySize() == memoryBytes && p.mode() == mode ? p.take() : null;
    }

    /** A pre-made clone of this snapshot, else a pre-made empty VM of its size, or null. */
    PreparedVm takeWarm(dev.kiln.monitor.vstate.Snapshot snapshot, ExecutionMode mode) {
        WarmPool p = clonePool;
        PreparedVm r = p != null && p.template() == snapshot && p.mode() == mode ? p.take() : null;
        return r != null ? r : takeWarm(snapshot.memorySize(), mode);
    }

    /**
     * True on kvm_pvm, this host family's paravirtual KVM, where guests run natively only with the
     * monitor's help and can be run emulated instead ({@link ExecutionMode}); false on hardware KVM.
     */
    public boolean pvmHost() {
        return kvm.offersPvmPage();
    }

    Kvm kvm() {
        return kvm;
    }

    /**
     * A new, empty VM, for a caller that makes instances in phases ({@link dev.kiln.monitor.fleet.Burst}):
     * KVM_CREATE_VM walks every memory mapping of the process, so it makes every VM first, before
     * any guest memory, vCPU or thread of them exists, then gives each to {@link #prepare}.
     */
    public dev.kiln.monitor.kvm.Vm createVm() {
        return kvm.createVm();
    }

    /**
     * Makes the rest of a VM prepared for a fresh boot of {@code spec} (memory, slot, vCPU with
     * CPUID and boot registers), for {@link #createAdmitted}; closes the VM if that fails.
     */
    public PreparedVm prepare(dev.kiln.monitor.kvm.Vm vm, InstanceSpec spec) {
        return WarmPool.finish(kvm, vm, guestCpuid, spec.memoryBytes(), spec.execution(), false);
    }

    MemorySegment guestCpuid() {
        return guestCpuid;
    }

    /** The TSC frequency, read from the first vCPU created and the same for all on this host. */
    long tscHz(dev.kiln.monitor.kvm.Vcpu vcpu) {
        long hz = tscHz;
        if (hz == 0) {
            tscHz = hz = vcpu.tscKhz() * 1000;
        }
        return hz;
    }

    /** Milliseconds between two stall checks of each native guest ({@link StallDiagnosis}). */
    static final long STALL_CHECK_MILLIS = Long.getLong("kiln.stallCheckMillis", 1000);
    private volatile boolean stallWatch;

    /** Starts the periodic stall check of native guests, once, on the watchdog thread. */
    void watchForStalls() {
        if (stallWatch) return;
        synchronized (this) {
            if (stallWatch) return;
            stallWatch = true;
            watchdog().scheduleWithFixedDelay(() -> {
                for (Instance i : live) {
                    try {
                        i.checkProgress();
                    } catch (RuntimeException e) {
                        // one instance closing under us must not end the checks of the others
                    }
                }
            }, STALL_CHECK_MILLIS, STALL_CHECK_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS);
        }
    }

    private InputWaker inputWaker; // guarded by this

    /**
     * The thread that wakes guests asleep without a thread when their taps have input, made with
     * the first such sleep; null once the monitor is closing (the guest then keeps its thread).
     */
    synchronized InputWaker inputWaker() {
        if (inputWaker == null && !closing) inputWaker = new InputWaker();
        return inputWaker;
    }

    /** One shared daemon thread enforces every instance's time limit. */
    ScheduledExecutorService watchdog() {
        ScheduledExecutorService w = watchdog;
        if (w == null) {
            synchronized (this) {
                w = watchdog;
                if (w == null) {
                    ScheduledThreadPoolExecutor e = new ScheduledThreadPoolExecutor(1, r -> {
                        Thread t = new Thread(r, "kiln-watchdog");
                        t.setDaemon(true);
                        return t;
                    });
                    e.setRemoveOnCancelPolicy(true);
                    watchdog = w = e;
                }
            }
        }
        return w;
    }

    /**
     * Parks one vCPU for the rest of this monitor's life (see {@link ParkedVcpu}) when a second
     * instance closes while the monitor stays open (instances come and go: a host, not a single
     * {@code kiln run}). Made while that instance's vCPU still exists, it costs no kernel text
     * patching itself, and later boots pay none either.
     * Best effort: when it cannot be made (no fd left, say) instances work as before.
     * {@code -Dkiln.parkVcpu=false} turns it off (to measure what it saves).
     */
    void parkVcpu() {
        if (parkTried || !PARK_VCPU) return;
        synchronized (this) {
            if (parkTried || closing || closes++ == 0) return;
            parkTried = true;
            try {
                parked = kvm.parkVcpu();
            } catch (KvmException e) {
                parked = null;
            }
        }
    }

    private static final boolean PARK_VCPU = !"false".equals(System.getProperty("kiln.parkVcpu"));
    private volatile boolean parkTried;
    private volatile boolean closing;
    private int closes;
    private ParkedVcpu parked;

    void closed(Instance instance) {
        if (live.remove(instance)) {
            memoryReserved.addAndGet(-instance.spec().memoryBytes());
            if (instance.parentId() != 0) forked.decrementAndGet();
        }
    }

    /** Guest memory reserved by live instances. */
    public long memoryReserved() {
        return memoryReserved.get();
    }

    /** The instances created and not yet closed. */
    public Set<Instance> instances() {
        return Set.copyOf(live);
    }

    /** Live instances that a guest forked. */
    int forkedLive() {
        return forked.get();
    }

    private final java.util.concurrent.atomic.AtomicInteger forked = new java.util.concurrent.atomic.AtomicInteger();

    /** Stops every live instance with {@code cause}; used on SIGINT/SIGTERM. */
    public void stopAll(StopCause cause) {
        for (Instance i : live) {
            i.stop(cause);
        }
    }

    /** Stops and closes every live instance and releases the monitor's own VMs and threads; a second call does nothing. */
    @Override
    public void close() {
        synchronized (this) {
            if (closing) return; // closed already: /dev/kvm's descriptor may be another file's by now
            closing = true;
        }
        for (Instance i : live) {
            i.close(); // stops and waits for a running guest first
        }
        vcpuThreads.close();
        ScheduledExecutorService w = watchdog;
        if (w != null) w.shutdownNow();
        InputWaker iw;
        synchronized (this) {
            iw = inputWaker;
        }
        if (iw != null) iw.close();
        keepWarm(0, 0);
        keepWarm(null, 0);
        synchronized (this) {
            if (parked != null) parked.close();
        }
        kvm.close();
    }
}
