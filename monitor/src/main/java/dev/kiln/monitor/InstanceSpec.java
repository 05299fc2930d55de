package dev.kiln.monitor;

import dev.kiln.monitor.devices.NetRingService;
import dev.kiln.monitor.hvt.BootInfo;
import dev.kiln.monitor.hvt.GuestMemory;
import dev.kiln.monitor.image.HvtImage;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What to boot and how: everything an instance needs, validated when built so that creating the
 * instance cannot fail half-way for a reason the caller could have been told up front.
 *
 * @param image       the validated image
 * @param memoryBytes guest RAM, already rounded down to 2 MiB and within 2 MiB..4 GiB
 * @param args        the guest's arguments; the command line is them joined by single spaces, each
 *                    quoted as {@code argumentJoin} says
 * @param console     where the guest's PUTS output goes
 * @param timeLimit   stop the guest after this long (null: no limit)
 * @param devices     what backs each device the image declares; every declared device needs one
 * @param execution   native (the default where the host can) or emulated (for a debugger, or to compare);
 *                    see {@link ExecutionMode}
 * @param netRing     offer the network ring when it fits (docs/kiln-abi.md 4.1), served at POLL (the
 *                    default) or by an I/O thread ({@link NetRingService}); OFF leaves the guest to the
 *                    NET_READ/NET_WRITE hypercalls. A restored instance follows its snapshot as to
 *                    whether it has a ring.
 * @param consoleLimit how fast the guest may write its console (default {@link ConsoleLimit#DEFAULT});
 *                    the excess is dropped and counted
 * @param argumentJoin how arguments become the one hvt command line: {@link ArgumentJoin#SHELL_QUOTED}
 *                    (the default: an argument with a blank, a quote or a backslash, or an empty one, is
 *                    single-quoted as a POSIX shell would, so a guest that splits with the shell's
 *                    rules -- the POSIX layer does -- gets back exactly the argv that was typed) or
 *                    {@link ArgumentJoin#SPACES} (solo5-hvt's plain join, for {@code kiln hvt})
 * @param traceSyscalls ask the guest's POSIX layer to list every system call on the console (Kiln ABI
 *                    2, info page flag KILN_INFO_F_STRACE; {@code kiln run --strace})
 */
public record InstanceSpec(HvtImage image, long memoryBytes, List<String> args, OutputStream console,
                           Duration timeLimit, List<DeviceAttachment> devices, ExecutionMode execution,
                           NetRingService netRing, ConsoleLimit consoleLimit, ArgumentJoin argumentJoin,
                           boolean traceSyscalls) {
    /** How the arguments are joined into the hvt command line. */
    public enum ArgumentJoin { SHELL_QUOTED, SPACES }
    /** Solo5's default, so Kiln is a drop-in replacement for solo5-hvt. */
    public static final long DEFAULT_MEMORY = 512L << 20;

    public InstanceSpec {
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(console, "console");
        Objects.requireNonNull(execution, "execution");
        Objects.requireNonNull(consoleLimit, "consoleLimit");
        Objects.requireNonNull(argumentJoin, "argumentJoin");
        Objects.requireNonNull(netRing, "netRing");
        args = List.copyOf(args);
        devices = List.copyOf(devices);
        memoryBytes = GuestMemory.validSize(memoryBytes);
        if (timeLimit != null && (timeLimit.isNegative() || timeLimit.isZero())) {
            throw new IllegalArgumentException("time limit must be positive, got " + timeLimit);
        }
        int length = commandLine(args, argumentJoin).length;
        if (length + 1 > BootInfo.CMDLINE_MAX) {
            throw new IllegalArgumentException("guest command line is " + length + " bytes; at most "
                    + (BootInfo.CMDLINE_MAX - 1) + " fit (hvt ABI section 4)");
        }
        for (String a : args) {
            if (a.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("guest argument contains a NUL byte: " + a.replace('\0', '?'));
            }
        }
    }

    /**
     * A spec in the default execution mode ({@link ExecutionMode#requestedDefault()}) that offers the
     * network ring when it fits.
     */
    public InstanceSpec(HvtImage image, long memoryBytes, List<String> args, OutputStream console, Duration timeLimit,
                        List<DeviceAttachment> devices) {
        this(image, memoryBytes, args, console, timeLimit, devices, ExecutionMode.requestedDefault(), NetRingService.AT_POLL,
                ConsoleLimit.DEFAULT);
    }

    /** A spec with shell-quoted arguments and no system-call trace. */
    public InstanceSpec(HvtImage image, long memoryBytes, List<String> args, OutputStream console, Duration timeLimit,
                        List<DeviceAttachment> devices, ExecutionMode execution, NetRingService netRing, ConsoleLimit consoleLimit) {
        this(image, memoryBytes, args, console, timeLimit, devices, execution, netRing, consoleLimit,
                ArgumentJoin.SHELL_QUOTED, false);
    }

    /** A spec without devices. */
    public InstanceSpec(HvtImage image, long memoryBytes, List<String> args, OutputStream console, Duration timeLimit) {
        this(image, memoryBytes, args, console, timeLimit, List.of());
    }

    public static InstanceSpec of(HvtImage image, OutputStream console, String... args) {
        return new InstanceSpec(image, DEFAULT_MEMORY, List.of(args), console, null);
    }

    public InstanceSpec withMemory(long bytes) {
        return new InstanceSpec(image, bytes, args, console, timeLimit, devices, execution, netRing, consoleLimit, argumentJoin, traceSyscalls);
    }

    public InstanceSpec withTimeLimit(Duration limit) {
        return new InstanceSpec(image, memoryBytes, args, console, limit, devices, execution, netRing, consoleLimit, argumentJoin, traceSyscalls);
    }

    public InstanceSpec withConsole(OutputStream out) {
        return new InstanceSpec(image, memoryBytes, args, out, timeLimit, devices, execution, netRing, consoleLimit, argumentJoin, traceSyscalls);
    }

    public InstanceSpec withDevices(List<DeviceAttachment> attached) {
        return new InstanceSpec(image, memoryBytes, args, console, timeLimit, attached, execution, netRing, consoleLimit, argumentJoin, traceSyscalls);
    }

    /** The same spec run natively or emulated. */
    public InstanceSpec withExecution(ExecutionMode mode) {
        return new InstanceSpec(image, memoryBytes, args, console, timeLimit, devices, mode, netRing, consoleLimit, argumentJoin, traceSyscalls);
    }

    /** The same spec with the network ring offered when it fits and served as {@code service} says, or never ({@code OFF}). */
    public InstanceSpec withNetRing(NetRingService service) {
        return new InstanceSpec(image, memoryBytes, args, console, timeLimit, devices, execution, service, consoleLimit, argumentJoin, traceSyscalls);
    }

    /** The same spec with another console output limit ({@link ConsoleLimit#NONE} for none). */
    public InstanceSpec withConsoleLimit(ConsoleLimit limit) {
        return new InstanceSpec(image, memoryBytes, args, console, timeLimit, devices, execution, netRing, limit, argumentJoin, traceSyscalls);
    }

    /** The same spec with arguments joined another way. */
    public InstanceSpec withArgumentJoin(ArgumentJoin join) {
        return new InstanceSpec(image, memoryBytes, args, console, timeLimit, devices, execution, netRing, consoleLimit,
                join, traceSyscalls);
    }

    /** The same spec with the POSIX layer's system-call trace on or off. */
    public InstanceSpec withTraceSyscalls(boolean on) {
        return new InstanceSpec(image, memoryBytes, args, console, timeLimit, devices, execution, netRing, consoleLimit,
                argumentJoin, on);
    }

    /**
     * True when the guest's idle waits are on time alone (it has no network device whose input
     * POLL would wait for): started with {@link Instance#start}, it sleeps without a vCPU thread
     * from its first long POLL on, so a burst of such guests needs threads only for those booting
     * at once. (A guest with taps gives its thread back too, but only after they stayed quiet.)
     */
    public boolean idlesWithoutThread() {
        return devices.stream().noneMatch(d -> d instanceof DeviceAttachment.Net);
    }

    /** The command line bytes the guest sees, without the terminating NUL. */
    public byte[] commandLine() {
        return commandLine(args, argumentJoin);
    }

    private static byte[] commandLine(List<String> args, ArgumentJoin join) {
        if (join == ArgumentJoin.SPACES) return String.join(" ", args).getBytes(StandardCharsets.UTF_8);
        StringBuilder b = new StringBuilder();
        for (String a : args) {
            if (!b.isEmpty()) b.append(' ');
            b.append(shellQuoted(a));
        }
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** {@code a} as a POSIX shell word: unchanged when it needs no quoting (so 'ip=10.0.0.2/24' stays as
     *  every existing guest reads it), else in single quotes with each ' written as '\'' (XCU 2.2.2). */
    static String shellQuoted(String a) {
        boolean plain = !a.isEmpty();
        for (int i = 0; i < a.length() && plain; i++) {
            char c = a.charAt(i);
            plain = !(c == ' ' || c == '\t' || c == '\n' || c == '\'' || c == '"' || c == '\\');
        }
        return plain ? a : "'" + a.replace("'", "'\\''") + "'";
    }
}
