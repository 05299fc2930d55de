package dev.kiln.monitor.extension;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * The Kiln info page at GPA 0x14000 (docs/kiln-abi.md section 2): who this instance is, written by
 * the monitor at boot, restore and fork; and the guest's boot timestamps, written by the guest.
 *
 * <pre>
 * struct kiln_info {
 *     uint64_t magic;            // 0   "KILNINFO"
 *     uint32_t version;          // 8   1
 *     uint32_t size;             // 12  8256
 *     uint64_t id;               // 16
 *     uint64_t parent;           // 24
 *     uint64_t generation;       // 32
 *     uint32_t args_len;         // 40
 *     uint32_t flags;            // 44  KILN_INFO_F_STRACE = 1
 *     uint64_t guest_entry_tsc;  // 48  guest-written
 *     uint64_t guest_main_tsc;   // 56  guest-written
 *     char     args[8192];       // 64
 * };
 * </pre>
 */
public final class InfoPage {
    private InfoPage() {}

    public static final long GPA = 0x14000;
    public static final long MAGIC = 0x4f464e494e4c494bL; // "KILNINFO" little-endian
    public static final int VERSION = 1;
    public static final int ARGS_MAX = 8192;
    public static final int SIZE = 64 + ARGS_MAX;

    /** Flag: the guest's POSIX layer lists every system call (kiln run --strace). */
    public static final int F_STRACE = 1;

    static final long ID = 16, PARENT = 24, GENERATION = 32, ARGS_LEN = 40, ENTRY_TSC = 48, MAIN_TSC = 56, ARGS = 64;

    /** Identity of an instance as its guest sees it. */
    public record Identity(long id, long parent, long generation, byte[] args, int flags) {
        public Identity(long id, long parent, long generation, byte[] args) {
            this(id, parent, generation, args, 0);
        }

        public Identity {
            if (args.length >= ARGS_MAX) throw new IllegalArgumentException("command line of " + args.length
                    + " bytes does not fit the info page (at most " + (ARGS_MAX - 1) + ")");
            args = args.clone();
        }
    }

    /** Writes the monitor's part; the guest's boot timestamps stay as they are (a clone's are its origin's). */
    public static void write(MemorySegment ram, Identity who) {
        ram.set(JAVA_LONG_UNALIGNED, GPA, MAGIC);
        ram.set(JAVA_INT_UNALIGNED, GPA + 8, VERSION);
        ram.set(JAVA_INT_UNALIGNED, GPA + 12, SIZE);
        ram.set(JAVA_LONG_UNALIGNED, GPA + ID, who.id());
        ram.set(JAVA_LONG_UNALIGNED, GPA + PARENT, who.parent());
        ram.set(JAVA_LONG_UNALIGNED, GPA + GENERATION, who.generation());
        ram.set(JAVA_INT_UNALIGNED, GPA + ARGS_LEN, who.args().length);
        ram.set(JAVA_INT_UNALIGNED, GPA + 44, who.flags());
        byte[] args = who.args();
        MemorySegment.copy(args, 0, ram, JAVA_BYTE, GPA + ARGS, args.length);
        ram.set(JAVA_BYTE, GPA + ARGS + args.length, (byte) 0);
    }

    /** The generation this memory holds (0 when the page was never written: not a Kiln guest). */
    public static long generation(MemorySegment ram) {
        return ram.get(JAVA_LONG_UNALIGNED, GPA) == MAGIC ? ram.get(JAVA_LONG_UNALIGNED, GPA + GENERATION) : 0;
    }

    /**
     * The guest's entry-to-main time in TSC ticks, or -1 when the guest did not write both
     * stamps (an hvt guest not built with Kiln's platform, or not yet at main). The guest's values
     * are untrusted: nonsense gives -1.
     */
    public static long entryToMainTicks(MemorySegment ram) {
        long entry = ram.get(JAVA_LONG_UNALIGNED, GPA + ENTRY_TSC);
        long main = ram.get(JAVA_LONG_UNALIGNED, GPA + MAIN_TSC);
        return entry == 0 || main == 0 || main < entry ? -1 : main - entry;
    }
}
