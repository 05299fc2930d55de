package dev.kiln.monitor.kvm;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The few libc calls the monitor needs, bound once through {@code java.lang.foreign}.
 *
 * <p>Every call captures {@code errno} into a per-thread segment, so a failing call can be reported
 * by name and reason. Signatures are kept few on purpose: each distinct downcall shape costs JVM
 * start-up time (method-handle spinning), and {@code kiln run} must start fast.
 *
 * <p>{@code ioctl} is variadic in C; on x86_64 the variadic convention differs from the fixed one
 * (AL holds the count of vector registers), so it is bound with {@code firstVariadicArg(2)}, once
 * for a pointer argument and once for an integer argument.
 */
public final class LibC {
    private LibC() {}

    public static final int O_RDWR = 2;
    public static final int O_CLOEXEC = 0x80000;
    public static final int O_NONBLOCK = 0x800;
    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;
    public static final int MAP_SHARED = 0x01;
    public static final int MAP_PRIVATE = 0x02;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_NORESERVE = 0x4000;
    public static final int EINTR = 4;
    public static final int EAGAIN = 11;
    public static final int E2BIG = 7;
    /** Signal used to kick a vCPU thread out of KVM_RUN; HotSpot installs a handler that ignores it. */
    public static final int SIGXFSZ = 25;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    private static final MethodHandle IOCTL_PTR = bind("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS),
            CAPTURE_ERRNO, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle IOCTL_LONG = bind("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG),
            CAPTURE_ERRNO, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle OPEN = bind("open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), CAPTURE_ERRNO);
    private static final MethodHandle CLOSE = bind("close",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT), CAPTURE_ERRNO);
    private static final MethodHandle MMAP = bind("mmap",
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG),
            CAPTURE_ERRNO);
    private static final MethodHandle MUNMAP = bind("munmap",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG), CAPTURE_ERRNO);
    private static final MethodHandle GETTID = bind("gettid",
            FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle TGKILL = bind("tgkill",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), CAPTURE_ERRNO);

    /** errno of the last failed call on this thread, kept beside the thread so calls never allocate. */
    private static final ThreadLocal<MemorySegment> CALL_STATE =
            ThreadLocal.withInitial(() -> Arena.global().allocate(CAPTURE));

    private static MethodHandle bind(String name, FunctionDescriptor fd, Linker.Option... options) {
        MemorySegment symbol = LIBC.find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no symbol " + name));
        return LINKER.downcallHandle(symbol, fd, options);
    }

    /** The errno captured by the last call on this thread. */
    public static int errno() {
        return (int) ERRNO.get(CALL_STATE.get(), 0L);
    }

    /** ioctl(fd, request, ptr); returns the result or -errno. */
    public static int ioctl(int fd, long request, MemorySegment arg) {
        MemorySegment state = CALL_STATE.get();
        try {
            int rc = (int) IOCTL_PTR.invokeExact(state, fd, request, arg);
            return rc < 0 ? -(int) ERRNO.get(state, 0L) : rc;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** ioctl(fd, request, value); returns the result or -errno. */
    public static int ioctl(int fd, long request, long arg) {
        MemorySegment state = CALL_STATE.get();
        try {
            int rc = (int) IOCTL_LONG.invokeExact(state, fd, request, arg);
            return rc < 0 ? -(int) ERRNO.get(state, 0L) : rc;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** open(path, flags); returns the fd or -errno. */
    public static int open(String path, int flags) {
        MemorySegment state = CALL_STATE.get();
        try (Arena arena = Arena.ofConfined()) {
            int rc = (int) OPEN.invokeExact(state, arena.allocateFrom(path), flags);
            return rc < 0 ? -(int) ERRNO.get(state, 0L) : rc;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int close(int fd) {
        MemorySegment state = CALL_STATE.get();
        try {
            int rc = (int) CLOSE.invokeExact(state, fd);
            return rc < 0 ? -(int) ERRNO.get(state, 0L) : rc;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * mmap; returns a segment of {@code length} bytes, or throws {@link KvmException} naming
     * {@code what} was being mapped.
     */
    public static MemorySegment mmap(long length, int prot, int flags, int fd, long offset, String what) {
        MemorySegment state = CALL_STATE.get();
        try {
            MemorySegment p = (MemorySegment) MMAP.invokeExact(state, MemorySegment.NULL, length, prot, flags, fd, offset);
            if (p.address() == -1L) {
                throw new KvmException("mmap of " + what + " (" + length + " bytes)", (int) ERRNO.get(state, 0L));
            }
            return p.reinterpret(length);
        } catch (KvmException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int munmap(MemorySegment segment) {
        MemorySegment state = CALL_STATE.get();
        try {
            int rc = (int) MUNMAP.invokeExact(state, segment, segment.byteSize());
            return rc < 0 ? -(int) ERRNO.get(state, 0L) : rc;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int gettid() {
        try {
            return (int) GETTID.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Sends {@code sig} to one thread of this process; returns 0 or -errno. */
    public static int tgkill(int tgid, int tid, int sig) {
        MemorySegment state = CALL_STATE.get();
        try {
            int rc = (int) TGKILL.invokeExact(state, tgid, tid, sig);
            return rc < 0 ? -(int) ERRNO.get(state, 0L) : rc;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }

    /** A short text for an errno, without another native binding (strerror is not thread-safe anyway). */
    public static String describe(int errno) {
        return switch (errno) {
            case 1 -> "Operation not permitted (EPERM)";
            case 2 -> "No such file or directory (ENOENT)";
            case 4 -> "Interrupted system call (EINTR)";
            case 5 -> "Input/output error (EIO)";
            case 7 -> "Argument list too long (E2BIG)";
            case 9 -> "Bad file descriptor (EBADF)";
            case 11 -> "Resource temporarily unavailable (EAGAIN)";
            case 12 -> "Cannot allocate memory (ENOMEM)";
            case 13 -> "Permission denied (EACCES)";
            case 14 -> "Bad address (EFAULT)";
            case 16 -> "Device or resource busy (EBUSY)";
            case 17 -> "File exists (EEXIST)";
            case 19 -> "No such device (ENODEV)";
            case 22 -> "Invalid argument (EINVAL)";
            case 23 -> "Too many open files in system (ENFILE)";
            case 24 -> "Too many open files (EMFILE)";
            case 25 -> "Inappropriate ioctl for device (ENOTTY)";
            case 28 -> "No space left on device (ENOSPC)";
            case 38 -> "Function not implemented (ENOSYS)";
            case 95 -> "Operation not supported (EOPNOTSUPP)";
            default -> "errno " + errno;
        };
    }

}
