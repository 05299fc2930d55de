package dev.kiln.monitor.extension;

/**
 * Kiln's own hypercalls, beside hvt's (docs/kiln-abi.md section 1): ports {@code 0x580 + nr}, the
 * same calling convention as hvt (one 32-bit OUT, EAX = GPA of the argument struct), results as
 * negative Linux errno values.
 */
public final class KilnAbi {
    private KilnAbi() {}

    public static final int PORT_BASE = 0x580;
    /** One past the highest Kiln port. */
    public static final int PORT_END = 0x584;

    public static final int FORK = 1;
    public static final int WAIT = 2;
    public static final int BLOCK_FLUSH = 3;

    public static final long EAGAIN = -11, ENOMEM = -12, ECHILD = -10, EOPNOTSUPP = -95, EINVAL = -22, EIO = -5;

    /* struct kiln_hc_block_flush { uint64_t handle; int64_t ret; }; (section 1.3) */
    public static final long BLOCK_FLUSH_SIZE = 16;
    public static final long BLOCK_FLUSH_HANDLE = 0;
    public static final long BLOCK_FLUSH_RET = 8;

    /* struct kiln_hc_fork { int64_t ret; }; (section 1.1) */
    public static final long FORK_SIZE = 8;
    public static final long FORK_RET = 0;

    /* struct kiln_hc_wait { int64_t id; uint64_t timeout_nsecs; int64_t ret; int32_t status; uint32_t how; }; (1.2) */
    public static final long WAIT_SIZE = 32;
    public static final long WAIT_ID = 0;
    public static final long WAIT_TIMEOUT = 8;
    public static final long WAIT_RET = 16;
    public static final long WAIT_STATUS = 24;
    public static final long WAIT_HOW = 28;
    public static final int HOW_HALTED = 0, HOW_FAULTED = 1, HOW_STOPPED = 2;

    /** A parent's live children at most (section 1.1). */
    public static final int MAX_CHILDREN = 1024;
    /** Forked instances alive in one monitor at most, over all families (a fork bomb stops here). */
    public static final int MAX_FORKED = 4096;

    public static String name(int nr) {
        return switch (nr) {
            case FORK -> "FORK";
            case WAIT -> "WAIT";
            case BLOCK_FLUSH -> "BLOCK_FLUSH";
            default -> "Kiln hypercall " + nr;
        };
    }
}
