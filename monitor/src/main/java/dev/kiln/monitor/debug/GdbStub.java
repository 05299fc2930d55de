package dev.kiln.monitor.debug;

import dev.kiln.monitor.kvm.FieldOffsets;
import dev.kiln.monitor.arch.x86.LongMode;
import dev.kiln.monitor.hvt.GuestMemory;
import dev.kiln.monitor.kvm.KvmApi;
import dev.kiln.monitor.kvm.Vcpu;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteOrder;
import java.util.HexFormat;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A GDB remote stub for one instance, like solo5-hvt's {@code --gdb}: gdb connects over TCP
 * (loopback only), the guest waits before its first instruction, and gdb can read and write
 * registers and memory, single-step, continue, stop a running guest (Ctrl-C) and set up to four
 * breakpoints (watchpoints are gdb's own software ones: see {@link Breakpoints}).
 *
 * <p>Breakpoints use the x86 debug registers (KVM_SET_GUEST_DEBUG with KVM_GUESTDBG_USE_HW_BP):
 * this host's KVM does not report {@code int3} as a debug exit (checked with a probe guest), so
 * {@code break} (Z0) and {@code hbreak} (Z1) both take one of DR0-DR3.
 * Memory is addressed as the guest sees it: the hvt identity map (spec section 3) makes a virtual
 * address its physical one. gdb may read the monitor's low pages (GDT, page tables, boot info:
 * 0x1000-0xFFFF), as solo5-hvt's stub lets it; the null page answers an error, and writes below
 * 0x10000 too (they would change the guest's page tables under it).
 *
 * <p>Called on the instance's vCPU thread at each stop ({@link #stop}); the connection's reader
 * thread only flags an interrupt and kicks the vCPU.
 */
public final class GdbStub implements AutoCloseable {
    /** Why the guest stopped. */
    public enum Stop { ENTRY, TRAP, INTERRUPT }

    /** What the vCPU thread does next. */
    public enum Action { RESUME, KILL }

    // KVM API 4.59 KVM_SET_GUEST_DEBUG: control bits.
    static final int GUESTDBG_ENABLE = 0x1, GUESTDBG_SINGLESTEP = 0x2, GUESTDBG_USE_HW_BP = 0x20000;
    static final int SIGINT = 2, SIGTRAP = 5, SIGKILL = 9, SIGSEGV = 11;
    /** Register bytes in gdb's amd64 'g' packet we serve: 16 x 8 GPRs, rip 8, eflags 4, 6 x 4 selectors. */
    static final int G_BYTES = 16 * 8 + 8 + 4 + 6 * 4;
    /** The longest memory transfer answered in one packet (gdb asks again for the rest). */
    static final int MAX_TRANSFER = 4096;

    private final ServerSocket server;
    private volatile GdbConnection connection;
    private final Breakpoints breakpoints = new Breakpoints();
    private volatile boolean interrupt;
    private volatile Runnable kick = () -> {};
    private volatile java.util.function.Consumer<String> onDrop = why -> {};
    private boolean detached;
    private boolean steppingOver;
    private String lastStop = "S05";

    private GdbStub(ServerSocket server) {
        this.server = server;
    }

    /** Listens on 127.0.0.1:{@code port} (0: any free port); {@link #accept} waits for gdb. */
    public static GdbStub listen(int port) throws IOException {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("gdb port " + port + " is not in 0..65535");
        ServerSocket s = new ServerSocket();
        try {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
        } catch (IOException e) {
            s.close();
            throw new IOException("cannot listen for gdb on 127.0.0.1:" + port + ": " + e.getMessage(), e);
        }
        return new GdbStub(s);
    }

    /** The port gdb should connect to. */
    public int port() {
        return server.getLocalPort();
    }

    /** Waits for gdb to connect; {@code kick} gets the vCPU out of the guest when gdb sends Ctrl-C. */
    public void accept(Runnable kick) throws IOException {
        Socket s = server.accept();
        server.close(); // one debugger per instance
        this.kick = kick;
        connection = new GdbConnection(s, () -> {
            interrupt = true;
            this.kick.run();
        }, why -> onDrop.accept(why));
    }

    /** True once gdb asked the running guest to stop (Ctrl-C) and the stop was not yet reported. */
    public boolean interruptPending() {
        return interrupt && !detached;
    }

    public boolean detached() {
        return detached;
    }

    /** Who to tell, at once, when the stub drops a misbehaving debugger (set before {@link #accept}). */
    public void onDrop(java.util.function.Consumer<String> listener) {
        this.onDrop = java.util.Objects.requireNonNull(listener);
    }

    /** Why the stub dropped the debugger for misbehaving (see GdbConnection.MAX_QUEUED), or null. */
    public String droppedBecause() {
        GdbConnection c = connection;
        return c == null ? null : c.droppedBecause();
    }

    /**
     * The guest stopped (at entry, after a step, at a breakpoint or watchpoint, or on Ctrl-C):
     * reports it to gdb and serves gdb's requests until it says continue, step, detach or kill.
     */
    public Action stop(Stop why, Vcpu vcpu, GuestMemory memory) {
        if (detached) return Action.RESUME;
        if (why == Stop.TRAP && steppingOver) {
            // the one instruction under a breakpoint was stepped with breakpoints off: arm them, go on
            steppingOver = false;
            if (!interrupt) {
                armFor(vcpu, false);
                return Action.RESUME;
            }
        }
        interrupt = false;
        lastStop = switch (why) {
            case ENTRY -> "S05";
            case INTERRUPT -> "S02";
            case TRAP -> String.format("S%02x", SIGTRAP); // a breakpoint or a finished step
        };
        if (why != Stop.ENTRY) connection.send(lastStop);
        return serve(vcpu, memory);
    }

    /** The guest ended: tells gdb how, and closes the connection. */
    public void ended(int status, boolean halted, boolean faulted) {
        if (connection != null && !detached) {
            connection.send(halted ? String.format("W%02x", status & 0xff)
                    : String.format("X%02x", faulted ? SIGSEGV : SIGKILL));
        }
        close();
    }

    private Action serve(Vcpu vcpu, GuestMemory memory) {
        while (true) {
            GdbConnection.Input in;
            try {
                in = connection.next();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Action.KILL;
            }
            if (in instanceof GdbConnection.Closed) {
                // gdb went away without detaching: the guest goes on undebugged, as after 'D'
                detach(vcpu);
                return Action.RESUME;
            }
            String p = ((GdbConnection.Packet) in).payload();
            if (p.isEmpty()) {
                connection.send("");
                continue;
            }
            try {
                switch (p.charAt(0)) {
                    case 'c' -> {
                        if (p.length() > 1) setRip(vcpu, hexLong(p.substring(1)));
                        armFor(vcpu, true);
                        return Action.RESUME;
                    }
                    case 's' -> {
                        if (p.length() > 1) setRip(vcpu, hexLong(p.substring(1)));
                        vcpu.setGuestDebug(GUESTDBG_ENABLE | GUESTDBG_SINGLESTEP, breakpoints.debugRegisters(false));
                        return Action.RESUME;
                    }
                    case 'k' -> {
                        return Action.KILL;
                    }
                    case 'D' -> {
                        connection.send("OK");
                        detach(vcpu);
                        return Action.RESUME;
                    }
                    case 'v' -> {
                        if (p.startsWith("vKill")) {
                            connection.send("OK");
                            return Action.KILL;
                        }
                        connection.send(""); // vCont and the rest: gdb falls back to c and s
                    }
                    default -> connection.send(answer(p, vcpu, memory));
                }
            } catch (RuntimeException e) {
                connection.send("E01"); // a malformed request never ends the guest
            }
        }
    }

    /** Requests that do not resume the guest. */
    private String answer(String p, Vcpu vcpu, GuestMemory memory) {
        return switch (p.charAt(0)) {
            case '?' -> lastStop;
            case 'g' -> readRegisters(vcpu);
            case 'G' -> writeRegisters(vcpu, p.substring(1));
            case 'm' -> readMemory(memory, p.substring(1));
            case 'M' -> writeMemory(memory, p.substring(1));
            case 'H', 'T' -> "OK"; // one thread
            case 'Z', 'z' -> breakpoints.request(p);
            case 'q' -> query(p);
            default -> ""; // X, p, P, ...: unsupported, gdb uses what it has
        };
    }

    /**
     * The target description (GDB manual, "Target Descriptions"): only the architecture, so gdb
     * uses its own amd64 register layout whatever the image's ELF OS/ABI byte says; the 'g' reply
     * carries its first 24 registers and gdb counts the x87/SSE ones as unavailable.
     */
    static final String TARGET_XML = "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
            + "<target version=\"1.0\"><architecture>i386:x86-64</architecture><osabi>none</osabi></target>";

    private static String query(String p) {
        if (p.startsWith("qSupported")) {
            return "PacketSize=" + Integer.toHexString(MAX_TRANSFER * 2 + 64) + ";qXfer:features:read+";
        }
        if (p.startsWith("qXfer:features:read:target.xml:")) {
            String[] range = p.substring("qXfer:features:read:target.xml:".length()).split(",");
            int offset = (int) Math.min(hexLong(range[0]), TARGET_XML.length());
            int length = (int) Math.min(hexLong(range[1]), MAX_TRANSFER);
            int end = Math.min(TARGET_XML.length(), offset + length);
            return (end == TARGET_XML.length() ? "l" : "m") + TARGET_XML.substring(offset, end);
        }
        if (p.startsWith("qXfer:")) return "E00";
        if (p.equals("qAttached")) return "1";
        if (p.equals("qC")) return "QC1";
        if (p.equals("qfThreadInfo")) return "m1";
        if (p.equals("qsThreadInfo")) return "l";
        if (p.startsWith("qSymbol")) return "OK";
        return "";
    }

    /** Arms the breakpoints for a continue; from a breakpoint's own address, steps over it first. */
    private void armFor(Vcpu vcpu, boolean fromCommand) {
        if (fromCommand && breakpoints.at(rip(vcpu))) {
            steppingOver = true;
            vcpu.setGuestDebug(GUESTDBG_ENABLE | GUESTDBG_SINGLESTEP, breakpoints.debugRegisters(true));
            return;
        }
        vcpu.setGuestDebug(breakpoints.any() ? GUESTDBG_ENABLE | GUESTDBG_USE_HW_BP : 0, breakpoints.debugRegisters(false));
    }

    private void detach(Vcpu vcpu) {
        detached = true;
        vcpu.setGuestDebug(0, new long[8]);
        close();
    }

    // ---- registers: gdb's amd64 order (rax rbx rcx rdx rsi rdi rbp rsp r8-r15 rip eflags cs ss ds es fs gs)

    /** kvm_regs field of each of gdb's 16 general registers (kvm_regs has rsp before rbp). */
    private static final String[] GPR = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
            "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"};
    private static final String[] SEGMENTS = {"cs", "ss", "ds", "es", "fs", "gs"};
    private static final long SELECTOR = FieldOffsets.of(KvmApi.SEGMENT, "selector");

    private static String readRegisters(Vcpu vcpu) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment regs = arena.allocate(KvmApi.REGS);
            MemorySegment sregs = arena.allocate(KvmApi.SREGS);
            vcpu.getRegs(regs);
            vcpu.getSregs(sregs);
            StringBuilder b = new StringBuilder(G_BYTES * 2);
            for (String r : GPR) le(b, regs.get(JAVA_LONG, FieldOffsets.of(KvmApi.REGS, r)), 8);
            le(b, regs.get(JAVA_LONG, KvmApi.REGS_RIP), 8);
            le(b, regs.get(JAVA_LONG, KvmApi.REGS_RFLAGS), 4);
            for (String s : SEGMENTS) {
                le(b, Short.toUnsignedLong(sregs.get(JAVA_SHORT, FieldOffsets.of(KvmApi.SREGS, s) + SELECTOR)), 4);
            }
            return b.toString();
        }
    }

    /** 'G': the general registers, rip and eflags (selectors are fixed by hvt spec section 3). */
    private static String writeRegisters(Vcpu vcpu, String hex) {
        if (hex.length() < (16 * 8 + 8 + 4) * 2) return "E01";
        byte[] bytes = HexFormat.of().parseHex(hex.substring(0, (16 * 8 + 8 + 4) * 2));
        MemorySegment in = MemorySegment.ofArray(bytes);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment regs = arena.allocate(KvmApi.REGS);
            vcpu.getRegs(regs);
            for (int i = 0; i < GPR.length; i++) {
                regs.set(JAVA_LONG, FieldOffsets.of(KvmApi.REGS, GPR[i]), in.get(JAVA_LONG_LE, i * 8L));
            }
            regs.set(JAVA_LONG, KvmApi.REGS_RIP, in.get(JAVA_LONG_LE, 128));
            long flags = Integer.toUnsignedLong(in.get(JAVA_INT_LE, 136));
            regs.set(JAVA_LONG, KvmApi.REGS_RFLAGS, flags | 0x2); // bit 1 is reserved, always set
            vcpu.setRegs(regs);
        }
        return "OK";
    }

    /** gdb sends register bytes in target order: little-endian, at any offset. */
    private static final ValueLayout.OfLong JAVA_LONG_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt JAVA_INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static long rip(Vcpu vcpu) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment regs = arena.allocate(KvmApi.REGS);
            vcpu.getRegs(regs);
            return regs.get(JAVA_LONG, KvmApi.REGS_RIP);
        }
    }

    private static void setRip(Vcpu vcpu, long rip) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment regs = arena.allocate(KvmApi.REGS);
            vcpu.getRegs(regs);
            regs.set(JAVA_LONG, KvmApi.REGS_RIP, rip);
            vcpu.setRegs(regs);
        }
    }

    private static void le(StringBuilder b, long v, int bytes) {
        for (int i = 0; i < bytes; i++) {
            int x = (int) (v >>> (8 * i)) & 0xff;
            b.append(Character.forDigit(x >> 4, 16)).append(Character.forDigit(x & 0xf, 16));
        }
    }

    // ---- memory

    /** The lowest address gdb may read: above the null page, which stays an error for a debugger too. */
    static final long LOWEST_READ = 0x1000;

    /** The guest RAM slice for [addr, addr+len) from {@code lowest} up, or null when any of it is outside. */
    private static MemorySegment range(GuestMemory memory, long addr, long len, long lowest) {
        if (len < 0 || len > MAX_TRANSFER || addr < lowest || addr > memory.size() - len) return null;
        return memory.segment().asSlice(addr, len);
    }

    private static String readMemory(GuestMemory memory, String args) {
        int comma = args.indexOf(',');
        if (comma < 0) return "E01";
        long addr = hexLong(args.substring(0, comma));
        long len = Math.min(hexLong(args.substring(comma + 1)), MAX_TRANSFER);
        MemorySegment m = range(memory, addr, len, LOWEST_READ);
        if (m == null) return "E14"; // EFAULT
        return HexFormat.of().formatHex(m.toArray(JAVA_BYTE));
    }

    private static String writeMemory(GuestMemory memory, String args) {
        int comma = args.indexOf(','), colon = args.indexOf(':');
        if (comma < 0 || colon < comma) return "E01";
        long addr = hexLong(args.substring(0, comma));
        long len = hexLong(args.substring(comma + 1, colon));
        String data = args.substring(colon + 1);
        if (data.length() != len * 2) return "E01";
        MemorySegment m = range(memory, addr, len, LongMode.FIRST_PRESENT);
        if (m == null) return "E14";
        MemorySegment.copy(MemorySegment.ofArray(HexFormat.of().parseHex(data)), 0, m, 0, len);
        return "OK";
    }

    static long hexLong(String s) {
        if (s.isEmpty() || s.length() > 16) throw new IllegalArgumentException("bad hex number '" + s + "'");
        return Long.parseUnsignedLong(s, 16);
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException e) {
            // closing anyway
        }
        if (connection != null) connection.close();
    }
}
