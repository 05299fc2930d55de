package dev.kiln.monitor.devices;

import dev.kiln.monitor.kvm.LibC;

import java.io.IOException;
import java.nio.file.Path;

/**
 * An exclusive lock on a block device's backing file, held as long as the device is attached, so
 * that two monitors never write one disk at once (each would cache and flush over the other's
 * writes). It is a {@code flock(2)} lock on a descriptor of its own: flock locks belong to the open
 * file description, so a second open of the file conflicts even in the same process (another
 * instance in this JVM), unlike {@code fcntl} record locks, which are per process and which any
 * close of the file drops. {@code FileChannel.tryLock} is the latter, and in one JVM it only
 * throws OverlappingFileLockException, so the lock is taken here through {@link LibC}.
 */
public final class BlockFileLock implements AutoCloseable {
    private final int fd;

    private BlockFileLock(int fd) {
        this.fd = fd;
    }

    /**
     * Locks {@code file} without waiting (flock(2) with LOCK_NB): exclusively (LOCK_EX) for a
     * device the guest may write, shared (LOCK_SH) for a read-only one, so that any number of
     * guests read one image while none may write it meanwhile. A conflicting lock is an error
     * naming the device and the file.
     */
    static BlockFileLock acquire(String device, Path file, boolean shared) throws IOException {
        int fd = LibC.open(file.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC);
        if (fd < 0) throw new IOException("block device '" + device + "': cannot open " + file + " to lock it: " + LibC.describe(-fd));
        int rc = LibC.flock(fd, (shared ? LibC.LOCK_SH : LibC.LOCK_EX) | LibC.LOCK_NB);
        if (rc == 0) return new BlockFileLock(fd);
        LibC.close(fd);
        if (rc == -LibC.EAGAIN) {
            throw new IOException("block device '" + device + "': " + file + (shared
                    ? " is in use by another monitor that may write it (it holds an exclusive lock on the file)"
                    : " is in use by another monitor (it holds a lock on the file)"));
        }
        throw new IOException("block device '" + device + "': cannot lock " + file + ": " + LibC.describe(-rc));
    }

    /** Drops the lock: closing the only descriptor of its open file description releases it (flock(2)). */
    @Override
    public void close() {
        LibC.close(fd);
    }
}
