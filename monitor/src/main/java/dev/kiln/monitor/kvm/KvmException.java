package dev.kiln.monitor.kvm;

/** A KVM or libc call failed; the message names the call and the reason. */
public final class KvmException extends RuntimeException {
    private final int errno;

    public KvmException(String call, int errno) {
        super(call + " failed: " + LibC.describe(errno));
        this.errno = errno;
    }

    public KvmException(String message) {
        super(message);
        this.errno = 0;
    }

    /** The errno behind the failure, or 0 when the failure was not a system call's. */
    public int errno() {
        return errno;
    }
}
