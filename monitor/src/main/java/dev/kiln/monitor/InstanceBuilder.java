package dev.kiln.monitor;

import dev.kiln.monitor.arch.x86.ImageTables;
import dev.kiln.monitor.arch.x86.LongMode;
import dev.kiln.monitor.devices.NetRingPlan;
import dev.kiln.monitor.extension.InfoPage;
import dev.kiln.monitor.hvt.BootInfo;
import dev.kiln.monitor.hvt.GuestMemory;
import dev.kiln.monitor.image.ImageException;
import dev.kiln.monitor.image.ImageLoader;
import dev.kiln.monitor.kvm.KvmApi;
import dev.kiln.monitor.kvm.Vcpu;
import dev.kiln.monitor.kvm.Vm;
import dev.kiln.monitor.vstate.Snapshot;
import dev.kiln.monitor.vstate.WorkingSet;
import dev.kiln.monitor.vstate.VcpuState;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * Assembles one instance in a single pass, as Firecracker's builder does: devices, then the
 * machine (VM, memory, vCPU, native-execution page: from a pool or made here), then what the guest
 * sees in memory and registers (a fresh boot, a snapshot, a fork parent's copy), then the
 * {@link Instance}. Whatever fails half-way, what was made is released here, in reverse order.
 */
final class InstanceBuilder implements AutoCloseable {
    /** The parts of one guest's machine. {@code vm}'s descriptor may already be closed (see {@link WarmPool#attach}). */
    record Machine(Vm vm, GuestMemory memory, Vcpu vcpu, ExecutionMode mode) {}

    /** When an instance was asked for and what making it cost, in {@link System#nanoTime()} units. */
    record Timings(long startNanos, long createNanos, long loadNanos) {}

    private final Monitor monitor;
    private final long id;
    private final long startNanos = System.nanoTime();
    private long machineNanos;
    private AttachedDevices devices;
    private Vm vm;
    private GuestMemory memory;
    private Vcpu vcpu;
    private ExecutionMode mode;
    /** The network ring offered to this guest (docs/kiln-abi.md 4), or null. */
    private NetRingPlan ring;
    private boolean handedOver;

    private InstanceBuilder(Monitor monitor, long id) {
        this.monitor = monitor;
        this.id = id;
    }

    /**
     * A fresh boot (hvt ABI section 3): the image loaded, page tables, boot info and info page
     * written, registers at the entry point.
     * @param prepared a VM made for this instance ahead of time (a burst's), or null: one from the
     *                 warm pool, else a new one
     */
    static Instance fresh(Monitor monitor, long id, InstanceSpec spec, PreparedVm prepared) throws ImageException {
        try (InstanceBuilder b = new InstanceBuilder(monitor, id)) {
            b.devices = AttachedDevices.open(spec);
            // The ring's doorbell is bound through the VM's descriptor, which a pooled or prepared VM
            // no longer has: a guest with the ring gets a new VM.
            b.ring = prepared != null ? null
                    : NetRingPlan.offer(spec.netRing(), spec.memoryBytes(), spec.image().kernelEnd(), b.devices.nets().values());
            PreparedVm warm = prepared != null ? prepared
                    : b.ring != null ? null : monitor.takeWarm(spec.memoryBytes(), spec.execution());
            if (warm != null) {
                b.take(warm);
            } else {
                b.vm = monitor.kvm().createVm();
                b.memory = GuestMemory.allocate(spec.memoryBytes());
                b.attach(spec.execution());
            }
            b.machineNanos = System.nanoTime();
            MemorySegment ram = b.memory.segment();
            ImageLoader.load(spec.image(), ram);
            ImageTables.of(spec.image()).write(ram);
            long usable = b.ring == null ? b.memory.size() : b.ring.usableBytes(); // below the ring area (hvt ABI 4)
            BootInfo.write(ram, usable, spec.image().kernelEnd(), monitor.tscHz(b.vcpu), b.devices.manifest(),
                    spec.commandLine(), b.ring == null ? 0 : b.ring.gpa());
            InfoPage.write(ram, new InfoPage.Identity(id, 0, 0, spec.commandLine(), spec.traceSyscalls() ? InfoPage.F_STRACE : 0));
            try (Arena arena = Arena.ofConfined()) {
                if (warm == null) { // a pooled vCPU got the boot system registers ahead of time
                    MemorySegment sregs = arena.allocate(KvmApi.SREGS);
                    LongMode.fillSregs(sregs);
                    b.vcpu.setSregs(sregs);
                }
                MemorySegment regs = arena.allocate(KvmApi.REGS);
                LongMode.fillRegs(regs, spec.image().entry(), usable, BootInfo.GPA);
                b.vcpu.setRegs(regs);
            }
            return b.build(0, spec);
        }
    }

    /**
     * A clone of a snapshot: RAM mapped copy-on-write from the file (over a pooled VM's memory when
     * one is ready), the vCPU state loaded, and the clone's own identity (docs/kiln-abi.md 2.1):
     * the manifest filled from its own attachments, its id, arguments and a new generation.
     */
    static Instance restored(Monitor monitor, long id, InstanceSpec spec, Snapshot snapshot, WorkingSet prefetch) {
        try (InstanceBuilder b = new InstanceBuilder(monitor, id)) {
            b.devices = AttachedDevices.open(spec);
            // a ring's doorbell needs a new VM's descriptor (see fresh)
            PreparedVm warm = b.devices.nets().isEmpty() ? monitor.takeWarm(snapshot, spec.execution()) : null;
            if (warm != null) {
                b.take(warm);
                if (warm.preloaded() != snapshot) { // a clone pool's VM already holds it all
                    snapshot.mapMemoryOver(b.memory); // in place: the memory slot stays as it is
                    snapshot.vcpu().apply(b.vcpu, warm.sregs(), warm.fpu());
                    WarmPool.registerPage(monitor.kvm(), b.vcpu, b.memory, b.mode); // the snapshot's copy came over it
                }
                b.machineNanos = System.nanoTime();
            } else {
                b.vm = monitor.kvm().createVm();
                b.memory = snapshot.mapMemory();
                b.ring = NetRingPlan.restored(b.memory.segment(), b.devices.nets().values(), spec.netRing()); // as the snapshot had it
                b.attach(spec.execution());
                b.machineNanos = System.nanoTime();
                snapshot.vcpu().apply(b.vcpu);
            }
            if (prefetch != null) snapshot.prefetch(b.memory, prefetch);
            MemorySegment ram = b.memory.segment();
            byte[] manifest = b.devices.manifest();
            MemorySegment mft = ram.asSlice(BootInfo.MFT_GPA, manifest.length);
            if (mft.mismatch(MemorySegment.ofArray(manifest)) != -1) { // unchanged: no copy-on-write fault
                MemorySegment.copy(manifest, 0, ram, JAVA_BYTE, BootInfo.MFT_GPA, manifest.length);
            }
            InfoPage.write(ram, new InfoPage.Identity(id, 0, InfoPage.generation(ram) + 1, spec.commandLine(), spec.traceSyscalls() ? InfoPage.F_STRACE : 0));
            return b.build(0, spec);
        }
    }

    /**
     * The child of a FORK (docs/kiln-abi.md 1.1): RAM mapped privately from the memfd the parent's
     * memory was shared into, the parent's vCPU state (taken after its OUT completed), 0 in the
     * child's {@code ret}, and the child's identity in its info page. It has no devices and runs
     * in its parent's mode.
     */
    static Instance forked(Monitor monitor, long id, Instance parent, int memfd, VcpuState state, long retGpa) {
        InstanceSpec spec = parent.spec().withDevices(java.util.List.of()).withExecution(parent.executionMode());
        try (InstanceBuilder b = new InstanceBuilder(monitor, id)) {
            b.devices = AttachedDevices.none(spec);
            b.vm = monitor.kvm().createVm();
            b.memory = GuestMemory.mapFork(memfd, parent.memorySize());
            b.attach(spec.execution());
            b.machineNanos = System.nanoTime();
            state.apply(b.vcpu);
            MemorySegment ram = b.memory.segment();
            ram.set(JAVA_LONG_UNALIGNED, retGpa, 0L);
            InfoPage.write(ram, new InfoPage.Identity(id, parent.id(), InfoPage.generation(ram) + 1, spec.commandLine(), spec.traceSyscalls() ? InfoPage.F_STRACE : 0));
            return b.build(parent.id(), spec);
        }
    }

    private void take(PreparedVm warm) {
        vm = warm.vm();
        memory = warm.memory();
        vcpu = warm.vcpu();
        mode = warm.mode();
    }

    /** Gives the new VM its memory and vCPU (with the native-execution page where it runs natively). */
    private void attach(ExecutionMode wanted) {
        vcpu = WarmPool.attach(monitor.kvm(), vm, memory, monitor.guestCpuid(), wanted, ring == null ? null : ring::register);
        mode = WarmPool.resolve(monitor.kvm(), wanted);
    }

    private Instance build(long parentId, InstanceSpec spec) {
        long now = System.nanoTime();
        Instance instance = new Instance(monitor, id, parentId, spec, new Machine(vm, memory, vcpu, mode), devices, ring,
                new Timings(startNanos, machineNanos - startNanos, now - machineNanos));
        handedOver = true;
        return instance;
    }

    /** Releases what was made unless the instance took it. */
    @Override
    public void close() {
        if (handedOver) return;
        if (ring != null) ring.close();
        if (vcpu != null) vcpu.close();
        if (vm != null) vm.close();
        if (memory != null) memory.close();
        if (devices != null) devices.close();
    }
}
