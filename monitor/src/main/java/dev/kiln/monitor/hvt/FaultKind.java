package dev.kiln.monitor.hvt;

/** Why the monitor ended a guest that broke the rules or crashed (hvt ABI section 5). */
public enum FaultKind {
    /** The CPU shut down: an exception the guest could not handle (no IDT, a bad page...). */
    TRIPLE_FAULT,
    /** An OUT to a port that is not a hypercall port. */
    BAD_PORT,
    /** An OUT of a size other than 4 bytes, or a string (REP) OUT, to a hypercall port. */
    BAD_IO_SIZE,
    /** An IN instruction: hvt guests never read ports. */
    IN_INSTRUCTION,
    /** A hypercall argument, or a guest memory access, outside guest RAM. */
    BAD_GPA,
    /** KVM could not emulate an instruction. */
    EMULATION_FAILURE,
    /** KVM could not enter the guest with the state it has. */
    ENTRY_FAILURE,
    /**
     * W^X broken while running: a write to the image's text or rodata (or the boot info), or an
     * instruction fetched from data, bss, heap or stack.
     */
    MEMORY_PROTECTION,
    /** HLT with interrupts off: the CPU would sleep forever instead of calling HALT. */
    HLT,
    /**
     * A native guest on kvm_pvm stuck where the host cannot run it (page tables without U/S, PML4
     * slot 256): it faults forever without an exit (pvm-native.md 3), found by the stall check.
     */
    NATIVE_STALL,
    /** A KVM exit the monitor does not expect from an hvt guest. */
    UNEXPECTED_EXIT,
    /** The guest broke the network ring's index rules (docs/kiln-abi.md 4.3): its ring cannot be served. */
    BAD_RING,
    /** KVM_RUN itself failed. */
    KVM_ERROR
}
