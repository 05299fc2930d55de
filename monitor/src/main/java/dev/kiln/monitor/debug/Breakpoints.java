package dev.kiln.monitor.debug;

/**
 * gdb's breakpoints on the four x86 debug address registers (Intel SDM vol. 3, 18.2 "Debug
 * Registers": DR0-DR3 hold addresses, DR7 enables each with an R/W type and a length).
 *
 * <p>Z0/Z1 (break, hbreak) become instruction breakpoints (R/W 00, length 00). Watchpoints (Z2-Z4)
 * are answered as unsupported, and gdb then makes software watchpoints (single-stepping and
 * comparing): on this host KVM emulates every guest instruction and its emulator does not check
 * data breakpoints (a probe's DR0 write watch never fired), while instruction breakpoints are
 * checked before each emulated instruction and work.
 */
final class Breakpoints {
    private static final int SLOTS = 4;

    private final long[] addresses = new long[SLOTS];
    private final boolean[] used = new boolean[SLOTS];

    /** Answers a Z or z packet: OK, E28 (all four registers in use), or "" (a type we do not offer). */
    String request(String packet) {
        boolean insert = packet.charAt(0) == 'Z';
        String[] f = packet.substring(1).split(",");
        if (f.length < 3) return "E01";
        int type = Integer.parseInt(f[0]);
        if (type != 0 && type != 1) return "";
        long address = GdbStub.hexLong(f[1]);
        for (int i = 0; i < SLOTS; i++) {
            if (used[i] && addresses[i] == address) {
                if (!insert) used[i] = false;
                return "OK"; // inserting twice is harmless
            }
        }
        if (!insert) return "OK";
        for (int i = 0; i < SLOTS; i++) {
            if (!used[i]) {
                used[i] = true;
                addresses[i] = address;
                return "OK";
            }
        }
        return "E28"; // ENOSPC: four debug registers
    }

    boolean any() {
        for (boolean u : used) if (u) return true;
        return false;
    }

    boolean at(long rip) {
        for (int i = 0; i < SLOTS; i++) if (used[i] && addresses[i] == rip) return true;
        return false;
    }

    /** debugreg[0..7] for KVM_SET_GUEST_DEBUG; {@code off}: none enabled (stepping over one). */
    long[] debugRegisters(boolean off) {
        long[] dr = new long[8];
        long dr7 = 0x400; // bit 10 reads as 1
        for (int i = 0; i < SLOTS && !off; i++) {
            if (!used[i]) continue;
            dr[i] = addresses[i];
            dr7 |= 1L << (2 * i); // local enable; R/W and LEN stay 00: instruction fetch
        }
        dr[7] = dr7;
        return dr;
    }
}
