package dev.kiln.monitor.vstate;

/** A snapshot could not be written, or was refused when read: the message names the file and the reason. */
public final class SnapshotException extends Exception {
    public SnapshotException(String message) {
        super(message);
    }

    public SnapshotException(String message, Throwable cause) {
        super(message, cause);
    }
}
