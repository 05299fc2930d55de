package dev.kiln.monitor;

import dev.kiln.monitor.hvt.GuestMemory;
import dev.kiln.monitor.kvm.Kvm;
import dev.kiln.monitor.kvm.KvmException;
import dev.kiln.monitor.kvm.Vcpu;
import dev.kiln.monitor.kvm.Vm;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Empty VMs made ahead of time, for one guest memory size: VM, fresh zeroed RAM in its memory
 * slot, and a vCPU with its CPUID set. Creating a VM is most of a boot on KVM (about half a
 * millisecond here); a background thread pays it off the boot path, so an instance taken from the
 * pool only loads its image and runs. Nothing in a pooled VM has ever run.
 */
final class WarmPool implements AutoCloseable {
    /** One ready VM. */
    record Ready(Vm vm, GuestMemory memory, Vcpu vcpu) {
        void close() {
            vcpu.close();
            vm.close();
            memory.close();
        }
    }

    private final long memorySize;
    private final BlockingQueue<Ready> ready;
    private final Thread filler;
    private volatile boolean closed;

    WarmPool(Kvm kvm, MemorySegment cpuid, long memorySize, int size) {
        this.memorySize = memorySize;
        this.ready = new ArrayBlockingQueue<>(size);
        this.filler = Thread.ofPlatform().daemon().name("kiln-warm-pool").start(() -> {
            while (!closed) {
                Ready r;
                try {
                    r = make(kvm, cpuid, memorySize);
                } catch (KvmException e) {
                    sleep();          // out of resources for now: try again shortly
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

    private static void sleep() {
        try {
            Thread.sleep(50);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static Ready make(Kvm kvm, MemorySegment cpuid, long memorySize) {
        Vm vm = kvm.createVm();
        GuestMemory memory = null;
        try {
            memory = GuestMemory.allocate(memorySize);
            vm.setUserMemoryRegion(0, 0, memory.segment());
            Vcpu vcpu = vm.createVcpu(0);
            try {
                vcpu.setCpuid(cpuid);
            } catch (RuntimeException e) {
                vcpu.close();
                throw e;
            }
            return new Ready(vm, memory, vcpu);
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
    Ready take() {
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
        for (Ready r; (r = ready.poll()) != null; ) r.close();
    }
}
