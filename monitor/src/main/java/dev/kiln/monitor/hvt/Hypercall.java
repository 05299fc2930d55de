package dev.kiln.monitor.hvt;

/**
 * The hvt hypercall numbers and their argument structs (hvt ABI section 5). A guest calls number
 * {@code nr} with a 32-bit OUT to port {@code 0x500 + nr}, EAX holding the low 32 bits of the GPA
 * of the argument struct.
 */
public final class Hypercall {
    private Hypercall() {}

    public static final int PORT_BASE = 0x500;
    /** One past the highest hvt port: {@code [0x500, 0x509)}. */
    public static final int PORT_END = 0x509;

    public static final int WALLTIME = 1;
    public static final int PUTS = 2;
    public static final int POLL = 3;
    public static final int BLOCK_WRITE = 4;
    public static final int BLOCK_READ = 5;
    public static final int NET_WRITE = 6;
    public static final int NET_READ = 7;
    public static final int HALT = 8;

    /** Results written into {@code ret} fields. */
    public static final int OK = 0;
    public static final int AGAIN = 1;
    public static final int EINVAL = 2;
    public static final int EUNSPEC = 3;

    /* struct hvt_hc_walltime { uint64_t nsecs; }; */
    public static final long WALLTIME_SIZE = 8;
    public static final long WALLTIME_NSECS = 0;

    /* struct hvt_hc_puts { GPA data; size_t len; }; */
    public static final long PUTS_SIZE = 16;
    public static final long PUTS_DATA = 0;
    public static final long PUTS_LEN = 8;

    /* struct hvt_hc_poll { uint64_t timeout_nsecs; uint64_t ready_set; int ret; }; */
    public static final long POLL_SIZE = 24;
    public static final long POLL_TIMEOUT = 0;
    public static final long POLL_READY_SET = 8;
    public static final long POLL_RET = 16;

    /* struct hvt_hc_halt { GPA cookie; int exit_status; }; */
    public static final long HALT_SIZE = 16;
    public static final long HALT_COOKIE = 0;
    public static final long HALT_EXIT_STATUS = 8;
    /** A non-zero cookie points at this many readable bytes (the guest's abort record). */
    public static final long HALT_COOKIE_SIZE = 512;

    public static String name(int nr) {
        return switch (nr) {
            case WALLTIME -> "WALLTIME";
            case PUTS -> "PUTS";
            case POLL -> "POLL";
            case BLOCK_WRITE -> "BLOCK_WRITE";
            case BLOCK_READ -> "BLOCK_READ";
            case NET_WRITE -> "NET_WRITE";
            case NET_READ -> "NET_READ";
            case HALT -> "HALT";
            default -> "hypercall " + nr;
        };
    }
}
