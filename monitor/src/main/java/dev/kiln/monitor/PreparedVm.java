package dev.kiln.monitor;

import dev.kiln.monitor.hvt.GuestMemory;
import dev.kiln.monitor.kvm.Vcpu;
import dev.kiln.monitor.kvm.Vm;
import dev.kiln.monitor.vstate.Snapshot;

/**
 * A VM made ahead of the instance that will run in it: memory in its slot and a vCPU that already
 * holds the boot system registers (hvt ABI section 3); nothing in it has ever run. The warm pools
 * keep some, and {@link Monitor#prepare} makes one for a caller that makes instances in phases
 * ({@link dev.kiln.monitor.fleet.Burst}). Outside this package it is only a handle: given to
 * {@link Monitor#createAdmitted}, or closed. A class rather than a record, so that its parts stay
 * inside the package.
 */
public final class PreparedVm {
    private final Vm vm;
    private final GuestMemory memory;
    private final Vcpu vcpu;
    private final ExecutionMode mode;
    private final byte[] sregs;
    private final byte[] fpu;
    private final Snapshot preloaded;

    /**
     * {@code sregs} and {@code fpu} are what its vCPU holds now ({@code struct kvm_sregs},
     * {@code struct kvm_fpu}; null when not read back), so a restore can skip loading state that
     * is already there; {@code preloaded} is the snapshot a clone pool loaded into it, or null.
     */
    PreparedVm(Vm vm, GuestMemory memory, Vcpu vcpu, ExecutionMode mode, byte[] sregs, byte[] fpu, Snapshot preloaded) {
        this.vm = vm;
        this.memory = memory;
        this.vcpu = vcpu;
        this.mode = mode;
        this.sregs = sregs;
        this.fpu = fpu;
        this.preloaded = preloaded;
    }

    Vm vm() {
        return vm;
    }

    GuestMemory memory() {
        return memory;
    }

    Vcpu vcpu() {
        return vcpu;
    }

    ExecutionMode mode() {
        return mode;
    }

    byte[] sregs() {
        return sregs;
    }

    byte[] fpu() {
        return fpu;
    }

    Snapshot preloaded() {
        return preloaded;
    }

    /** Releases the vCPU, the VM and the memory of a VM no instance will take. */
    public void close() {
        vcpu.close();
        vm.close();
        memory.close();
    }
}
