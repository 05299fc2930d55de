package dev.kiln.monitor.rootfs;

import java.io.IOException;

/** A folder that cannot be packed, or an image that is not a valid KFS1 image; the message names what and why. */
public final class RootfsException extends IOException {
    public RootfsException(String message) {
        super(message);
    }

    public RootfsException(String message, Throwable cause) {
        super(message, cause);
    }
}
