package dev.kiln.monitor.hvt;

/** Handles one hypercall number; a bad argument is a {@link GuestFault}, never a host error. */
@FunctionalInterface
public interface HypercallHandler {
    /** @param argGpa the guest-physical address of the argument struct, zero-extended from EAX */
    void handle(long argGpa) throws GuestFault;
}
