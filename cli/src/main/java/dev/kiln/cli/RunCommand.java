package dev.kiln.cli;

import dev.kiln.cli.CommandLines.UsageException;
import dev.kiln.monitor.ConsoleLimit;
import dev.kiln.monitor.DeviceAttachment;
import dev.kiln.monitor.Instance;
import dev.kiln.monitor.InstanceSpec;
import dev.kiln.monitor.Monitor;
import dev.kiln.monitor.Outcome;
import dev.kiln.monitor.StopCause;
import dev.kiln.monitor.image.HvtImage;
import dev.kiln.monitor.image.ImageException;
import dev.kiln.monitor.kvm.KvmException;
import org.apache.commons.cli.Options;
import dev.kiln.monitor.debug.GdbStub;
import dev.kiln.monitor.devices.NetRingService;
import sun.misc.Signal;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * {@code kiln run [--mem=MiB] IMAGE [ARGS...]}: boots one image, its console on stdout, and exits
 * with the guest's status. The flags follow solo5-hvt's, so Kiln can stand in for it.
 */
final class RunCommand {
    static final String SYNTAX = "kiln run [--mem=MiB] [--timeout=SECONDS] [--stats] [--emulate] [--gdb] [--gdb-port=PORT] [--rootfs=DIR|IMAGE] [--block:NAME=FILE]"
            + " [--block-sector-size:NAME=N] [--net:NAME=TAP] [--net-mac:NAME=MAC] [--no-net-ring | --net-ring-thread] [--console-rate=KiB] [--no-seccomp] [--strace] IMAGE [ARGS...]";
    static final String EXIT_STATUSES = "Exit status: the guest's HALT status (0 ok, 1 failure, 255 abort); 255 also"
            + " for a guest fault; 124 past --timeout; 130 SIGINT; 143 SIGTERM; 137 killed from gdb; 125 if the guest could not start;"
            + " 2 for a bad command line.";

    private final PrintStream out;
    private final PrintStream err;
    /** True when this command is the whole process (Main.main), the only case it may confine it. */
    private final boolean ownsProcess;

    RunCommand(PrintStream out, PrintStream err, boolean ownsProcess) {
        this.out = out;
        this.err = err;
        this.ownsProcess = ownsProcess;
    }

    static Options options() {
        return new Options()
                .addOption(CommandLines.valued(null, "mem", "MiB", "guest memory: MiB (as solo5-hvt), or with a suffix: 64M, 1G; 2..4096 MiB (default 512)"))
                .addOption(CommandLines.valued(null, "timeout", "SECONDS", "stop the guest after this long (exit 124)"))
                .addOption(CommandLines.flag("stats", "print boot timings and VM exit counts on stderr at the end"))
                .addOption(CommandLines.flag("gdb", "wait for gdb before the first instruction (as solo5-hvt --gdb):"
                        + " gdb IMAGE.dbg -ex 'target remote :PORT'"))
                .addOption(CommandLines.valued(null, "gdb-port", "PORT", "port gdb connects to, on 127.0.0.1 only (default 1234)"))
                .addOption(CommandLines.flag("emulate", "run every guest instruction in KVM's emulator instead of natively"
                        + " (kvm_pvm hosts; for comparison and debugging; --gdb implies it)"))
                .addOption(CommandLines.flag("no-net-ring", "do not offer the network ring (docs/kiln-abi.md 4): the guest"
                        + " moves every frame with a NET_READ/NET_WRITE hypercall"))
                .addOption(CommandLines.flag("net-ring-thread", "serve the network ring with an I/O thread of its own, which"
                        + " moves frames while the guest runs (for hosts with cores to spare); by default the vCPU's"
                        + " thread serves it when the guest waits in POLL"))
                .addOption(CommandLines.valued(null, "console-rate", "KiB", "console output the guest may write, in KiB/s with"
                        + " bursts of four seconds' worth; the rest is dropped and counted (default 1024; 0: no limit)"))
                .addOption(CommandLines.flag("no-seccomp", "do not put the process under the seccomp filter that refuses"
                        + " what a monitor never needs (exec, modules, mounts, namespaces, ptrace, reboot...)"))
                .addOption(CommandLines.valued(null, "rootfs", "DIR|IMAGE", "attach a read-only root file system as the"
                        + " block device 'rootfs' (docs/kiln-abi.md 6): a folder, packed for this run, or an image from kiln pack"))
                .addOption(CommandLines.flag("strace", "the guest's POSIX layer lists every system call with its"
                        + " arguments and result on the console (images built with musl; docs/kiln-abi.md 2)"))
                .addOption(CommandLines.flag("help", "show this help"));
        // --block:, --block-sector-size:, --net: and --net-mac: are read by DeviceOptions first.
    }

    int execute(String[] args) {
        Options options = options();
        long memMiB;
        Double timeout;
        Path image;
        List<String> guestArgs;
        boolean stats;
        boolean emulate;
        NetRingService netRing;
        boolean seccomp;
        boolean strace;
        ConsoleLimit consoleLimit;
        Integer gdbPort;
        List<DeviceAttachment> devices;
        Path rootfs;
        try {
            DeviceOptions.Split split = DeviceOptions.split(args, options);
            devices = split.devices();
            ParsedLine cl = CommandLines.parse(options, split.rest(), true);
            if (cl.hasOption("help")) {
                CommandLines.help(out, SYNTAX, "Boot an hvt unikernel image; its console goes to stdout.", options,
                        EXIT_STATUSES);
                return 0;
            }
            memMiB = CommandLines.mebibytes(cl, "mem", InstanceSpec.DEFAULT_MEMORY >> 20, 2, 4096);
            timeout = CommandLines.positiveSeconds(cl, "timeout");
            stats = cl.hasOption("stats");
            emulate = cl.hasOption("emulate");
            if (cl.hasOption("no-net-ring") && cl.hasOption("net-ring-thread")) {
                throw new UsageException("--no-net-ring and --net-ring-thread contradict each other: give one");
            }
            netRing = cl.hasOption("no-net-ring") ? NetRingService.OFF
                    : cl.hasOption("net-ring-thread") ? NetRingService.IO_THREAD : NetRingService.AT_POLL;
            seccomp = !cl.hasOption("no-seccomp");
            strace = cl.hasOption("strace");
            long rateKiB = CommandLines.longValue(cl, "console-rate", ConsoleLimit.DEFAULT.bytesPerSecond() >> 10, 0, 1L << 30);
            consoleLimit = rateKiB == 0 ? ConsoleLimit.NONE : new ConsoleLimit(rateKiB << 10, 4 * (rateKiB << 10));
            if (cl.hasOption("gdb-port") && !cl.hasOption("gdb")) throw new UsageException("--gdb-port needs --gdb");
            gdbPort = cl.hasOption("gdb") ? (int) CommandLines.longValue(cl, "gdb-port", 1234, 0, 65535) : null;
            List<String> rest = cl.getArgList();
            if (rest.isEmpty()) throw new UsageException("missing IMAGE");
            if (rest.getFirst().startsWith("-")) {
                throw new UsageException(unknownOption(rest.getFirst(), options));
            }
            image = Path.of(rest.getFirst());
            guestArgs = rest.subList(1, rest.size()); // InstanceSpec shell-quotes what needs it
            String rootfsValue = cl.getOptionValue("rootfs");
            RootfsOption.checkExclusive(rootfsValue, devices);
            if (rootfsValue != null && rootfsValue.isEmpty()) throw new UsageException("--rootfs: no folder or image given");
            rootfs = rootfsValue == null ? null : Path.of(rootfsValue);
        } catch (UsageException e) {
            err.println("kiln run: " + e.getMessage());
            err.println("usage: " + SYNTAX);
            return Main.EXIT_USAGE;
        }

        RootfsOption rootfsDevice = null;
        // The image before /dev/kvm: a mistake in what was typed is named first, on any machine.
        HvtImage img;
        try {
            img = HvtImage.read(image);
        } catch (ImageException e) {
            err.println("kiln: " + e.getMessage());
            return Main.EXIT_CANNOT_START;
        }
        try (Monitor monitor = Monitor.open()) {
            if (rootfs == null && RootfsOption.declared(img) && devices.stream().noneMatch(d -> d.name().equals(RootfsOption.DEVICE))) {
                // a program with a root file system runs without one given: an empty one, as a
                // fresh container has (its /tmp is the guest's RAM file system either way)
                rootfsDevice = RootfsOption.empty();
                devices = new java.util.ArrayList<>(devices);
                devices.add(rootfsDevice.attachment());
            }
            if (rootfs != null) {
                rootfsDevice = RootfsOption.prepare(rootfs, image, img);
                devices = new java.util.ArrayList<>(devices);
                devices.add(rootfsDevice.attachment());
            }
            InstanceSpec spec = new InstanceSpec(img, memMiB << 20, guestArgs, new FileOutputStream(FileDescriptor.out),
                    timeout == null ? null : Duration.ofNanos((long) (timeout * 1e9)), devices).withNetRing(netRing)
                    .withConsoleLimit(consoleLimit).withTraceSyscalls(strace);
            // A debugger needs the emulated path: natively, single steps and breakpoints reach the guest,
            // not the monitor (pvm-native.md 3).
            if (emulate || gdbPort != null) spec = spec.withExecution(dev.kiln.monitor.ExecutionMode.EMULATED);
            try (Instance instance = monitor.create(spec);
                 GdbStub stub = gdbPort == null ? null : GdbStub.listen(gdbPort)) {
                if (rootfsDevice != null) rootfsDevice.detach(); // the device holds the image open now
                // Everything the guest needs from the host is open now (KVM, memory, block files,
                // taps, the gdb socket): from here on the process never needs to run a program,
                // load a module, mount, enter a namespace or trace (Monitor.confine).
                if (seccomp && ownsProcess) {
                    try {
                        Monitor.confine();
                    } catch (KvmException e) {
                        // real or nothing: an unconfined run only when asked for
                        err.println("kiln: cannot confine the monitor: " + e.getMessage() + " (--no-seccomp runs without the filter)");
                        return Main.EXIT_CANNOT_START;
                    }
                }
                // A signal also drops the debugger: kiln may be waiting for gdb to connect, or gdb
                // may hold the guest stopped; either way the guest then stops as asked.
                java.util.concurrent.atomic.AtomicBoolean signalled = new java.util.concurrent.atomic.AtomicBoolean();
                Signal.handle(new Signal("INT"), s -> {
                    instance.stop(StopCause.INTERRUPT);
                    signalled.set(true);
                    if (stub != null) stub.close();
                });
                Signal.handle(new Signal("TERM"), s -> {
                    instance.stop(StopCause.TERMINATE);
                    signalled.set(true);
                    if (stub != null) stub.close();
                });
                if (stub != null) {
                    err.println("kiln: waiting for gdb on 127.0.0.1:" + stub.port() + " (gdb " + debugImage(image)
                            + " -ex 'target remote :" + stub.port() + "')");
                    stub.onDrop(why -> err.println("kiln: gdb dropped: " + why + "; the guest goes on undebugged"));
                    try {
                        instance.debugWith(stub);
                    } catch (IOException e) {
                        if (!signalled.get()) throw e;
                        Outcome stopped = instance.run(); // stopped by the signal before the first instruction
                        err.println("kiln: " + stopped.describe() + " while waiting for gdb");
                        return stopped.exitStatus();
                    }
                }
                Outcome outcome = instance.run();
                if (!(outcome instanceof Outcome.Halted)) {
                    err.println("kiln: " + outcome.describe());
                }
                if (stats) {
                    long refused = instance.readOnlyWritesRefused();
                    err.println("kiln: " + Stats.format(instance.stats())
                            + (refused == 0 ? "" : ", writes to read-only block devices refused " + refused));
                }
                return outcome.exitStatus();
            }
        } catch (ImageException | KvmException | IllegalArgumentException | IOException e) {
            err.println("kiln: " + e.getMessage());
            return Main.EXIT_CANNOT_START;
        } finally {
            closeQuietly(rootfsDevice);
        }
    }

    /** Removes a packed rootfs image that never reached a device (the run failed before it did). */
    private void closeQuietly(RootfsOption rootfsDevice) {
        if (rootfsDevice == null) return;
        try {
            rootfsDevice.close();
        } catch (IOException e) {
            err.println("kiln: cannot remove the packed rootfs image: " + e.getMessage());
        }
    }

    /** The image with symbols kiln build writes beside IMAGE.hvt (IMAGE.dbg), for gdb's command line. */
    private static String debugImage(Path image) {
        String name = image.toString();
        String dbg = name.endsWith(".hvt") ? name.substring(0, name.length() - 4) + ".dbg" : name;
        return java.nio.file.Files.exists(Path.of(dbg)) ? dbg : name;
    }

    private static String unknownOption(String arg, Options options) {
        String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
        // The parser stops at the first word it does not know, so "--stats=yes" lands here too.
        org.apache.commons.cli.Option known = options.getOption(name.replaceFirst("^--?", ""));
        if (known != null && !known.hasArg() && arg.contains("=")) return arg + ": " + name + " takes no value";
        return "unknown option " + name;
    }
}
