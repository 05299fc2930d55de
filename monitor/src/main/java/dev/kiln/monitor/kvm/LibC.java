package dev.kiln.monitor.kvm;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The few system calls the monitor needs, bound once through {@code java.lang.foreign}.
 *
 * <p>Every call captures {@code errno} into a per-thread segment, so a failing call can be reported
 * by name and reason. {@code syscall} is variadic in C; on x86_64 the variadic convention differs
 * from the fixed one (AL holds the count of vector registers), so it is bound with
 * {@code firstVariadicArg(1)}.
 */
public final class LibC {
    private LibC() {}

    public static final int O_RDONLY = 0;
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

    // x86_64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl).
    private static final long SYS_READ = 0, SYS_WRITE = 1, SYS_POLL = 7, SYS_MMAP = 9, SYS_MUNMAP = 11,
            SYS_IOCTL = 16, SYS_OPEN = 2, SYS_CLOSE = 3, SYS_SOCKET = 41, SYS_GETTID = 186, SYS_GETPID = 39, SYS_TGKILL = 234,
            SYS_PWRITE64 = 18, SYS_MINCORE = 27, SYS_MADVISE = 28, SYS_FTRUNCATE = 77, SYS_CLOCK_GETTIME = 228, SYS_MEMFD_CREATE = 319,
            SYS_EVENTFD2 = 290, SYS_FLOCK = 73, SYS_PRCTL = 157, SYS_SECCOMP = 317,
            SYS_EPOLL_CREATE1 = 291, SYS_EPOLL_CTL = 233, SYS_EPOLL_WAIT = 232;
    public static final int MAP_FIXED = 0x10;
    public static final int MFD_CLOEXEC = 1;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    /** Where errno lies in the capture state, read with a plain {@code get} (no VarHandle to build). */
    private static final long ERRNO_OFFSET = FieldOffsets.of(CAPTURE, "errno");

    /**
     * {@code long syscall(long number, ...)} with six integer arguments: every call the monitor
     * makes goes through this one downcall shape. Each distinct FFM signature costs the JVM
     * start-up time (method handles and a stub spun at run time), and {@code kiln run} must start
     * fast; pointers travel as their addresses, which is exactly how the kernel takes them.
     */
    private static final MethodHandle SYSCALL = LINKER.downcallHandle(
            LINKER.defaultLookup().find("syscall").orElseThrow(() -> new UnsatisfiedLinkError("libc has no syscall")),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
            Linker.Option.captureCallState("errno"), Linker.Option.firstVariadicArg(1));

    /** errno of the last failed call on this thread, kept beside the thread so calls never allocate. */
    private static final ThreadLocal<MemorySegment> CALL_STATE =
            ThreadLocal.withInitial(() -> Arena.global().allocate(CAPTURE));

    /** One system call; returns its result, or -errno when it failed. */
    private static long syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
        MemorySegment state = CALL_STATE.get();
        try {
            long rc = (long) SYSCALL.invokeExact(state, nr, a1, a2, a3, a4, a5, a6);
            return rc == -1 ? -state.get(JAVA_INT, ERRNO_OFFSET) : rc;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** ioctl(fd, request, ptr); returns the result or -errno. */
    public static int ioctl(int fd, long request, MemorySegment arg) {
        return (int) syscall(SYS_IOCTL, fd, request, arg.address(), 0, 0, 0);
    }

    /** ioctl(fd, request, value); returns the result or -errno. */
    public static int ioctl(int fd, long request, long arg) {
        return (int) syscall(SYS_IOCTL, fd, request, arg, 0, 0, 0);
    }

    /**
     * {@code s} as a NUL-terminated UTF-8 string in {@code arena}: a bulk copy into zeroed memory.
     * ({@code Arena.allocateFrom(String)} spins eight method-handle classes on first use, ~5 ms
     * of every {@code kiln run}.)
     */
    private static MemorySegment cString(Arena arena, String s) {
        byte[] utf8 = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        MemorySegment c = arena.allocate(utf8.length + 1L);
        MemorySegment.copy(utf8, 0, c, JAVA_BYTE, 0, utf8.length);
        return c;
    }

    /** open(path, flags); returns the fd or -errno. */
    public static int open(String path, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            return (int) syscall(SYS_OPEN, cString(arena, path).address(), flags, 0, 0, 0, 0);
        }
    }

    public static int close(int fd) {
        return (int) syscall(SYS_CLOSE, fd, 0, 0, 0, 0, 0);
    }

    /**
     * mmap at a fixed address, replacing whatever was mapped there in one step (the address range
     * never goes unmapped, so KVM's memory slot over it stays valid; KVM drops its old mappings
     * through its MMU notifier). Throws {@link KvmException} naming {@code what}.
     */
    public static void mmapFixed(MemorySegment at, int prot, int flags, int fd, long offset, String what) {
        long p = syscall(SYS_MMAP, at.address(), at.byteSize(), prot, flags | MAP_FIXED, fd, offset);
        if (p < 0 && p > -4096) throw new KvmException("mmap of " + what + " (" + at.byteSize() + " bytes)", (int) -p);
    }

    /** memfd_create(name, MFD_CLOEXEC): an anonymous file; a file descriptor or -errno. */
    public static int memfdCreate(String name) {
        try (Arena arena = Arena.ofConfined()) {
            return (int) syscall(SYS_MEMFD_CREATE, cString(arena, name).address(), MFD_CLOEXEC, 0, 0, 0, 0);
        }
    }

    /** eventfd2(initval, flags): an event counter descriptor (eventfd(2)); a file descriptor or -errno. */
    public static int eventfd(int initval, int flags) {
        return (int) syscall(SYS_EVENTFD2, initval, flags, 0, 0, 0, 0);
    }

    /** flock(2) operations (include/uapi/asm-generic/fcntl.h). */
    public static final int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4;

    /** flock(fd, operation): 0, or -errno (-EAGAIN, which is EWOULDBLOCK, when LOCK_NB finds it held). */
    public static int flock(int fd, int operation) {
        return (int) syscall(SYS_FLOCK, fd, operation, 0, 0, 0, 0);
    }

    /** prctl(option, arg2, 0, 0, 0): the result, or -errno (prctl(2)). */
    public static int prctl(int option, long arg2) {
        return (int) syscall(SYS_PRCTL, option, arg2, 0, 0, 0, 0);
    }

    /** seccomp(operation, flags, args): the result, or -errno (seccomp(2)). */
    public static long seccomp(int operation, int flags, MemorySegment args) {
        return syscall(SYS_SECCOMP, operation, flags, args.address(), 0, 0, 0);
    }

    public static int ftruncate(int fd, long length) {
        return (int) syscall(SYS_FTRUNCATE, fd, length, 0, 0, 0, 0);
    }

    /** pwrite(fd, buf, len, offset); bytes written or -errno. */
    public static long pwrite(int fd, MemorySegment buf, long offset) {
        return syscall(SYS_PWRITE64, fd, buf.address(), buf.byteSize(), offset, 0, 0);
    }

    /** mincore(addr, len, vec): one byte per page, bit 0 set when resident; 0 or -errno. */
    public static int mincore(MemorySegment range, MemorySegment vec) {
        return (int) syscall(SYS_MINCORE, range.address(), range.byteSize(), vec.address(), 0, 0, 0);
    }

    /** madvise(2) advice: back this range with transparent huge pages where the host allows. */
    public static final int MADV_HUGEPAGE = 14;
    /** madvise(2) advice (Linux 5.14): fault the range in now, writable (private pages copied or zero-filled). */
    public static final int MADV_POPULATE_WRITE = 23;

    /** madvise(addr, len, advice); 0 or -errno. */
    public static int madvise(MemorySegment range, int advice) {
        return (int) syscall(SYS_MADVISE, range.address(), range.byteSize(), advice, 0, 0, 0);
    }

    /**
     * CPU time of thread {@code tid} of this process in nanoseconds, or -1. The clock id is the
     * kernel's per-thread CPU clock ({@code MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED)} in
     * include/linux/posix-timers.h), which any thread may read.
     */
    public static long threadCpuNanos(int tid) {
        MemorySegment ts = CLOCK_BUF.get();
        long clock = ((long) ~tid << 3) | 6;
        if (syscall(SYS_CLOCK_GETTIME, clock, ts.address(), 0, 0, 0, 0) != 0) return -1;
        return ts.get(JAVA_LONG, 0) * 1_000_000_000L + ts.get(JAVA_LONG, 8);
    }

    private static final ThreadLocal<MemorySegment> CLOCK_BUF =
            ThreadLocal.withInitial(() -> Arena.global().allocate(16, 8));

    /**
     * mmap; returns a segment of {@code length} bytes, or throws {@link KvmException} naming
     * {@code what} was being mapped.
     */
    public static MemorySegment mmap(long length, int prot, int flags, int fd, long offset, String what) {
        long p = syscall(SYS_MMAP, 0, length, prot, flags, fd, offset);
        if (p < 0 && p > -4096) {
            throw new KvmException("mmap of " + what + " (" + length + " bytes)", (int) -p);
        }
        return MemorySegment.ofAddress(p).reinterpret(length);
    }

    public static int munmap(MemorySegment segment) {
        return (int) syscall(SYS_MUNMAP, segment.address(), segment.byteSize(), 0, 0, 0, 0);
    }

    /** read(fd, buf, len): bytes read, or -errno. */
    public static long read(int fd, MemorySegment buf) {
        return syscall(SYS_READ, fd, buf.address(), buf.byteSize(), 0, 0, 0);
    }

    /** write(fd, buf, len): bytes written, or -errno. */
    public static long write(int fd, MemorySegment buf) {
        return syscall(SYS_WRITE, fd, buf.address(), buf.byteSize(), 0, 0, 0);
    }

    /** poll(fds, n, timeoutMillis) over {@code struct pollfd { int fd; short events; short revents; }}. */
    public static int poll(MemorySegment fds, int n, int timeoutMillis) {
        return (int) syscall(SYS_POLL, fds.address(), n, timeoutMillis, 0, 0, 0);
    }

    // epoll(7): include/uapi/linux/eventpoll.h
    public static final int EPOLL_CLOEXEC = 0x80000, EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2;
    public static final int EPOLLIN = 0x1, EPOLLERR = 0x8, EPOLLHUP = 0x10, EPOLLONESHOT = 1 << 30;
    /**
     * {@code struct epoll_event { __u32 events; __u64 data; }}, packed on x86_64
     * (__attribute__((packed)) under __x86_64__): 12 bytes, data at 4.
     */
    public static final long EPOLL_EVENT_BYTES = 12, EPOLL_EVENT_DATA = 4;

    /** epoll_create1(flags); returns the fd or -errno. */
    public static int epollCreate(int flags) {
        return (int) syscall(SYS_EPOLL_CREATE1, flags, 0, 0, 0, 0, 0);
    }

    /**
     * epoll_ctl(epfd, op, fd, &event) with {@code event} (EPOLL_EVENT_BYTES, its events and data
     * set by the caller; ignored for EPOLL_CTL_DEL); returns 0 or -errno.
     */
    public static int epollCtl(int epfd, int op, int fd, MemorySegment event) {
        return (int) syscall(SYS_EPOLL_CTL, epfd, op, fd, event.address(), 0, 0);
    }

    /** epoll_wait(epfd, events, max, timeout); returns how many events it wrote, or -errno. */
    public static int epollWait(int epfd, MemorySegment events, int max, int timeoutMillis) {
        return (int) syscall(SYS_EPOLL_WAIT, epfd, events.address(), max, timeoutMillis, 0, 0);
    }

    public static int socket(int domain, int type, int protocol) {
        return (int) syscall(SYS_SOCKET, domain, type, protocol, 0, 0, 0);
    }

    public static int getpid() {
        return (int) syscall(SYS_GETPID, 0, 0, 0, 0, 0, 0);
    }

    public static int gettid() {
        return (int) syscall(SYS_GETTID, 0, 0, 0, 0, 0, 0);
    }

    /** Sends {@code sig} to one thread of this process; returns 0 or -errno. */
    public static int tgkill(int tgid, int tid, int sig) {
        return (int) syscall(SYS_TGKILL, tgid, tid, sig, 0, 0, 0);
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
