package dev.kiln.monitor;

import dev.kiln.monitor.hvt.GuestMemory;
import dev.kiln.monitor.arch.x86.LongMode;
import dev.kiln.monitor.kvm.Kvm;
import dev.kiln.monitor.kvm.KvmApi;
import dev.kiln.monitor.kvm.KvmException;
import dev.kiln.monitor.kvm.PvmPage;
import dev.kiln.monitor.kvm.Vcpu;
import dev.kiln.monitor.kvm.Vm;
import dev.kiln.monitor.vstate.Snapshot;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * Empty VMs made ahead of time, for one guest memory size: VM, fresh zeroed RAM in its memory
 * slot, and a vCPU with its CPUID and boot system registers set (a clone pool also loads a
 * snapshot into each). Creating a VM is most of a boot on KVM (about half a
 * millisecond here); a background thread pays it off the boot path, so an instance taken from the
 * pool only loads its image and runs. Nothing in a pooled VM has ever run.
 */
final class WarmPool implements AutoCloseable {
    private final long memorySize;
    /** How the pooled VMs run: the monitor's default; an instance that wants the other mode makes its own VM. */
    private final ExecutionMode mode;
    /** For a clone pool: the snapshot each VM is loaded from ahead of time; else null. */
    private final Snapshot template;
    private final BlockingQueue<PreparedVm> ready;
    private final Thread filler;
    private volatile boolean closed;

    WarmPool(Kvm kvm, MemorySegment cpuid, long memorySize, int size, ExecutionMode mode) {
        this(kvm, cpuid, memorySize, size, null, mode);
    }

    /**
     * A clone pool: each VM also gets {@code template}'s memory mapped copy-on-write and its vCPU
     * state loaded ahead of time, so that a clone only writes its identity before it runs. A
     * pooled clone's TSC goes on counting while it waits, as if it had slept.
     */
    WarmPool(Kvm kvm, MemorySegment cpuid, Snapshot template, int size, ExecutionMode mode) {
        this(kvm, cpuid, template.memorySize(), size, template, mode);
    }

    private WarmPool(Kvm kvm, MemorySegment cpuid, long memorySize, int size, Snapshot template, ExecutionMode mode) {
        this.memorySize = memorySize;
        this.mode = mode;
        this.template = template;
        this.ready = new ArrayBlockingQueue<>(size);
        this.filler = Thread.ofPlatform().daemon().name("kiln-warm-pool").start(() -> {
            while (!closed) {
                PreparedVm r;
                try {
                    r = make(kvm, cpuid, memorySize, mode);
                    if (template != null) r = preload(kvm, r, template);
                } catch (RuntimeException e) {
                    sleep();          // out of resources for now (or the snapshot closed): try again shortly
                    continue;
                }
                try {
                    while (!closed && !ready.offer(r, 100, TimeUnit.MILLISECONDS)) {
                        // full: wait for a taker
                    }
                } catch (InterruptedException e) {
                    closed = true;
                }
                if (closed) r.close();
            }
        });
    }

    private static PreparedVm preload(Kvm kvm, PreparedVm r, Snapshot template) {
        try {
            template.mapMemoryOver(r.memory());
            template.vcpu().apply(r.vcpu(), r.sregs(), r.fpu());
            registerPage(kvm, r.vcpu(), r.memory(), r.mode()); // the snapshot's copy of the page replaced the zeroed one
            return new PreparedVm(r.vm(), r.memory(), r.vcpu(), r.mode(), template.vcpu().sregs(), template.vcpu().fpu(), template);
        } catch (RuntimeException e) {
            r.close();
            throw e;
        }
    }

    Snapshot template() {
        return template;
    }

    private static void sleep() {
        try {
            Thread.sleep(50);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    ExecutionMode mode() {
        return mode;
    }

    static PreparedVm make(Kvm kvm, MemorySegment cpuid, long memorySize, ExecutionMode mode) {
        return finish(kvm, kvm.createVm(), cpuid, memorySize, mode, true);
    }

    /**
     * Puts {@code memory} in the VM's only memory slot at GPA 0 and makes its one vCPU with
     * {@code cpuid}: what every way of making an instance (fresh, pooled, restored, forked) shares.
     * Then closes the VM's descriptor: the vCPU keeps the VM alive in the kernel, nothing needs the
     * VM's descriptor again (a snapshot is mapped over the memory in place, the slot stays), and
     * one descriptor per instance instead of two lets a burst hold twice as many in the fd limit.
     */
    static Vcpu attach(Kvm kvm, Vm vm, GuestMemory memory, MemorySegment cpuid, ExecutionMode wanted) {
        return attach(kvm, vm, memory, cpuid, wanted, null);
    }

    /** As above; {@code beforeClose}, if not null, is what else needs the VM's descriptor (the net ring's doorbell). */
    static Vcpu attach(Kvm kvm, Vm vm, GuestMemory memory, MemorySegment cpuid, ExecutionMode wanted,
                       java.util.function.Consumer<Vm> beforeClose) {
        vm.setUserMemoryRegion(0, 0, memory.segment());
        Vcpu vcpu = vm.createVcpu(0);
        try {
            vcpu.setCpuid(cpuid);
            kvm.offersPvmPage(vcpu); // learnt from the first vCPU of the process, before it ever runs
            registerPage(kvm, vcpu, memory, resolve(kvm, wanted));
            if (beforeClose != null) beforeClose.accept(vm);
        } catch (RuntimeException e) {
            vcpu.close();
            throw e;
        }
        vm.close();
        return vcpu;
    }

    /**
     * The mode an instance that wants {@code wanted} gets: emulation exists only on kvm_pvm (on
     * hardware KVM the CPU runs every guest); native is what every host can give. Call after a vCPU
     * of this process was made (the host's kind is learnt from it).
     */
    static ExecutionMode resolve(Kvm kvm, ExecutionMode wanted) {
        return wanted == ExecutionMode.EMULATED && kvm.pvmPageSeen()
                ? ExecutionMode.EMULATED : ExecutionMode.NATIVE;
    }

    /**
     * Registers the native-execution page for a vCPU that has not run, with guest memory already
     * holding what the guest will see (a restore or fork brought its own copy of the page, which is
     * zeroed again): on kvm_pvm in native mode only.
     */
    static void registerPage(Kvm kvm, Vcpu vcpu, GuestMemory memory, ExecutionMode mode) {
        if (mode == ExecutionMode.NATIVE && kvm.pvmPageSeen()) {
            PvmPage.register(vcpu, memory.segment(), LongMode.VIF_GPA);
        }
    }

    /**
     * Gives a new VM its memory and vCPU, with the boot system registers; closes the VM if that
     * fails. {@code recordState}: also read back what the vCPU holds ({@link PreparedVm#sregs},
     * {@link PreparedVm#fpu}), which only a VM a snapshot may be restored into needs; a burst's VMs,
     * booted fresh, skip the two ioctls.
     */
    static PreparedVm finish(Kvm kvm, Vm vm, MemorySegment cpuid, long memorySize, ExecutionMode wanted, boolean recordState) {
        GuestMemory memory = null;
        try {
            memory = GuestMemory.allocate(memorySize);
            Vcpu vcpu = attach(kvm, vm, memory, cpuid, wanted);
            ExecutionMode mode = resolve(kvm, wanted);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment sregs = arena.allocate(KvmApi.SREGS);
                LongMode.fillSregs(sregs);
                vcpu.setSregs(sregs);
                if (!recordState) return new PreparedVm(vm, memory, vcpu, mode, null, null, null);
                vcpu.getSregs(sregs);
                MemorySegment fpu = arena.allocate(KvmApi.FPU_SIZE, 16);
                vcpu.getFpu(fpu);
                return new PreparedVm(vm, memory, vcpu, mode, sregs.toArray(JAVA_BYTE), fpu.toArray(JAVA_BYTE), null);
            } catch (RuntimeException e) {
                vcpu.close();
                throw e;
            }
        } catch (RuntimeException e) {
            vm.close();
            if (memory != null) memory.close();
            throw e;
        }
    }

    long memorySize() {
        return memorySize;
    }

    /** A ready VM, or null when none is (the caller then makes one itself). */
    PreparedVm take() {
        return ready.poll();
    }

    @Override
    public void close() {
        closed = true;
        filler.interrupt();
        try {
            filler.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (PreparedVm r; (r = ready.poll()) != null; ) r.close();
    }
}
