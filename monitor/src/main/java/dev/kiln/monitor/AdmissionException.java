package dev.kiln.monitor;

/**
 * A new instance was refused up front because it would not fit (the monitor's memory budget);
 * nothing was created, and the instances already running are untouched.
 */
public final class AdmissionException extends RuntimeException {
    public AdmissionException(String message) {
        super(message);
    }
}
