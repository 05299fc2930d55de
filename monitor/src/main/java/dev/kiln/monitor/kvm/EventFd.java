package dev.kiln.monitor.kvm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * An eventfd(2): a 64-bit counter behind a descriptor. A write adds to it, a read takes it back
 * to zero, and {@code poll(2)} reports it readable while it is not zero, so a signal given before
 * the waiter sleeps is never lost. Non-blocking: a drain of a zero counter returns at once.
 *
 * <p>Any thread may {@link #signal}; only one thread (the owner that polls it) may {@link #drain}.
 */
public final class EventFd implements AutoCloseable {
    /** EFD_CLOEXEC and EFD_NONBLOCK (include/uapi/linux/eventfd.h: the O_ flags' values). */
    private static final int EFD_CLOEXEC = LibC.O_CLOEXEC, EFD_NONBLOCK = LibC.O_NONBLOCK;
    /** The 8-byte value every signal adds; only ever read by the kernel, so one copy serves every thread. */
    private static final MemorySegment ONE = Arena.global().allocate(JAVA_LONG);

    static {
        ONE.set(JAVA_LONG, 0, 1L);
    }

    private final int fd;
    /** Where {@link #drain} reads the counter; only the owning thread drains. */
    private final MemorySegment counter = Arena.ofAuto().allocate(JAVA_LONG);
    private volatile boolean closed;

    private EventFd(int fd) {
        this.fd = fd;
    }

    /** A new counter at zero; throws {@link KvmException} naming {@code what} it is for when the host has none left. */
    public static EventFd open(String what) {
        int fd = LibC.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (fd < 0) throw new KvmException("eventfd for " + what, -fd);
        return new EventFd(fd);
    }

    public int fd() {
        return fd;
    }

    /** Adds one: a thread polling the descriptor wakes up. */
    public void signal() {
        if (!closed) LibC.write(fd, ONE);
    }

    /** Takes the counter back to zero; returns what it held (0 when nothing signalled). */
    public long drain() {
        long n = LibC.read(fd, counter);
        return n == 8 ? counter.get(JAVA_LONG, 0) : 0;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            LibC.close(fd);
        }
    }
}
