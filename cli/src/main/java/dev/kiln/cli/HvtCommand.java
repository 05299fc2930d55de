package dev.kiln.cli;

import dev.kiln.cli.CommandLines.UsageException;
import dev.kiln.monitor.DeviceAttachment;
import dev.kiln.monitor.ExecutionMode;
import dev.kiln.monitor.Instance;
import dev.kiln.monitor.InstanceSpec;
import dev.kiln.monitor.Monitor;
import dev.kiln.monitor.Outcome;
import dev.kiln.monitor.StopCause;
import dev.kiln.monitor.debug.GdbStub;
import dev.kiln.monitor.image.HvtImage;
import dev.kiln.monitor.image.ImageException;
import dev.kiln.monitor.kvm.KvmException;
import sun.misc.Signal;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@code kiln hvt}, also run as {@code solo5-hvt} (a link to the launcher): Solo5's tender's
 * contract, for scripts written for it (Solo5 tenders/hvt/hvt_main.c and its modules, read for
 * facts). Options come first, up to the image or {@code --}: {@code --mem=MiB} (default 512;
 * below 2 rounded up with a notice), the device options ({@code --block:NAME=FILE},
 * {@code --block-sector-size:NAME=N}, {@code --net:NAME=TAP}, {@code --net-mac:NAME=MAC}),
 * {@code --gdb}, {@code --gdb-port=N}, {@code --dumpcore=DIR}, {@code --version}, {@code --help}. The exit status is the
 * guest's own HALT status; anything the tender decides itself (a bad command line or image, a
 * guest fault, a signal) is 1, with a message prefixed by the tender's name, as solo5-hvt's
 * {@code errx(1, ...)}. {@code kiln run} keeps its richer statuses (README, "exit status").
 */
final class HvtCommand {
    static final String SYNTAX = "kiln hvt [--mem=MiB] [--block:NAME=FILE] [--block-sector-size:NAME=N] [--net:NAME=TAP]"
            + " [--net-mac:NAME=MAC] [--gdb] [--gdb-port=PORT] [--dumpcore=DIR] [--version] [--] IMAGE [ARGS...]";
    static final String VERSION = "kiln hvt 0.1.0 (Solo5 hvt ABI 2; Kiln extensions docs/kiln-abi.md)";
    /** solo5-hvt's one status for everything the tender itself decides. */
    static final int EXIT_TENDER = 1;

    private final PrintStream out;
    private final PrintStream err;
    /** The name messages carry: "solo5-hvt" through that link, else "kiln hvt". */
    private final String tender;

    /** True when this command is the whole process (Main.main), the only case it may confine it. */
    private final boolean ownsProcess;

    HvtCommand(PrintStream out, PrintStream err, boolean ownsProcess) {
        this.out = out;
        this.err = err;
        this.ownsProcess = ownsProcess;
        this.tender = System.getProperty("kiln.invokedAs", "kiln hvt");
    }

    /** The parsed command line. */
    record Args(long memMiB, List<DeviceAttachment> devices, Integer gdbPort, Path dumpCoreDir, Path image,
                List<String> guestArgs) {}

    int execute(String[] argv) {
        Args a;
        try {
            if (argv.length > 0 && argv[0].equals("--version")) {
                out.println(VERSION);
                return 0;
            }
            if (Arrays.asList(argv).contains("--help") && !afterImage(argv, "--help")) {
                usage(out);
                return 0;
            }
            a = parse(argv);
        } catch (UsageException e) {
            err.println(tender + ": " + e.getMessage());
            usage(err);
            return EXIT_TENDER;
        }
        // The image before /dev/kvm: a mistake in what was typed is named first, on any machine.
        HvtImage image;
        try {
            image = HvtImage.read(a.image());
        } catch (ImageException e) {
            err.println(tender + ": " + e.getMessage());
            return EXIT_TENDER;
        }
        try (Monitor monitor = Monitor.open()) {
            InstanceSpec spec = new InstanceSpec(image, a.memMiB() << 20, a.guestArgs(),
                    new FileOutputStream(FileDescriptor.out), null, a.devices())
                    .withArgumentJoin(InstanceSpec.ArgumentJoin.SPACES); // solo5-hvt joins them as they are
            if (a.gdbPort() != null) spec = spec.withExecution(ExecutionMode.EMULATED); // docs/kiln-abi.md 3.3
            try (Instance instance = monitor.create(spec);
                 GdbStub stub = a.gdbPort() == null ? null : GdbStub.listen(a.gdbPort())) {
                for (String sig : List.of("INT", "TERM")) {
                    Signal.handle(new Signal(sig), s -> {
                        instance.stop(sig.equals("INT") ? StopCause.INTERRUPT : StopCause.TERMINATE);
                        if (stub != null) stub.close();
                    });
                }
                // As solo5-hvt drops its privileges once the guest's resources are open: the seccomp
                // filter of Monitor.confine (README, "Confinement").
                if (ownsProcess) Monitor.confine();
                if (stub != null) {
                    err.println(tender + ": waiting for gdb on 127.0.0.1:" + stub.port());
                    instance.debugWith(stub);
                }
                Outcome outcome = instance.run();
                boolean aborted = !(outcome instanceof Outcome.Halted h) || h.status() == 255;
                if (aborted && a.dumpCoreDir() != null) dumpCore(instance, a.dumpCoreDir());
                return switch (outcome) {
                    case Outcome.Halted h -> h.status();
                    case Outcome.Stopped s -> {
                        err.println(tender + ": Exiting on " + s.describe());
                        yield EXIT_TENDER;
                    }
                    case Outcome.Faulted f -> {
                        err.println(tender + ": " + f.describe());
                        yield EXIT_TENDER;
                    }
                };
            }
        } catch (ImageException | KvmException | IllegalArgumentException | IOException e) {
            err.println(tender + ": " + e.getMessage());
            return EXIT_TENDER;
        }
    }

    /**
     * solo5-hvt's dumpcore module: on an abort (HALT 255) or a guest fault, an ELF core of the
     * guest's memory and registers in DIR, which gdb reads beside the image's symbols.
     */
    private void dumpCore(Instance instance, Path dir) {
        Path core = dir.resolve("core." + tender.replace(' ', '-') + "." + dev.kiln.monitor.kvm.LibC.getpid());
        try {
            instance.dumpCore(core);
            err.println(tender + ": guest core dumped to " + core);
        } catch (IOException | RuntimeException e) {
            err.println(tender + ": could not dump the guest's core to " + core + ": " + e.getMessage());
        }
    }

    /** True when {@code option} appears only after the image, among the guest's own arguments. */
    private static boolean afterImage(String[] argv, String option) {
        for (String s : argv) {
            if (s.equals(option)) return false;
            if (s.equals("--") || !s.startsWith("-")) return true;
        }
        return true;
    }

    /** solo5-hvt's parsing: options until the first non-option or {@code --}; then the image and its arguments. */
    Args parse(String[] argv) throws UsageException {
        List<String> options = new ArrayList<>();
        int i = 0;
        for (; i < argv.length; i++) {
            if (argv[i].equals("--")) {
                i++;
                break;
            }
            if (!argv[i].startsWith("-")) break;
            options.add(argv[i]);
        }
        if (i >= argv.length) throw new UsageException("Missing KERNEL operand");
        Path image = Path.of(argv[i]);
        List<String> guestArgs = List.of(Arrays.copyOfRange(argv, i + 1, argv.length));

        // solo5-hvt takes every value after "=": no option takes the next word
        DeviceOptions.Split split = DeviceOptions.split(options.toArray(String[]::new), new org.apache.commons.cli.Options());
        long mem = InstanceSpec.DEFAULT_MEMORY >> 20;
        Integer gdbPort = null;
        Path dumpCore = null;
        boolean gdb = false;
        for (String o : split.rest()) {
            if (o.startsWith("--mem=")) {
                mem = memMiB(o.substring(6));
            } else if (o.startsWith("--dumpcore=")) {
                dumpCore = Path.of(o.substring(11));
                if (!java.nio.file.Files.isDirectory(dumpCore) || !java.nio.file.Files.isWritable(dumpCore)) {
                    throw new UsageException("--dumpcore=" + dumpCore + ": not a writable directory");
                }
            } else if (o.equals("--gdb")) {
                gdb = true;
            } else if (o.startsWith("--gdb-port=")) {
                gdbPort = port(o.substring(11));
            } else {
                throw new UsageException("Invalid option: `" + o + "'");
            }
        }
        if (gdbPort != null && !gdb) throw new UsageException("--gdb-port needs --gdb");
        if (gdb && gdbPort == null) gdbPort = 1234;
        return new Args(mem, split.devices(), gdbPort, dumpCore, image, guestArgs);
    }

    /** {@code --mem} in MiB as solo5-hvt reads it; below the 2 MiB an hvt guest needs, rounded up with a notice. */
    private long memMiB(String value) throws UsageException {
        long mem;
        try {
            mem = Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new UsageException("Malformed argument to --mem: '" + value + "' is not a whole number of MiB");
        }
        if (mem <= 0) throw new UsageException("Malformed argument to --mem: " + mem + " MiB");
        if (mem > 4096) throw new UsageException("--mem=" + mem + " is above the 4096 MiB an hvt guest can address");
        if (mem < 2) {
            err.println(tender + ": --mem=" + mem + " is below the 2 MiB an hvt guest needs; using 2");
            return 2;
        }
        return mem;
    }

    private static int port(String value) throws UsageException {
        try {
            int p = Integer.parseInt(value);
            if (p < 0 || p > 65535) throw new NumberFormatException();
            return p;
        } catch (NumberFormatException e) {
            throw new UsageException("Malformed argument to --gdb-port: '" + value + "' is not a port (0..65535)");
        }
    }

    private void usage(PrintStream s) {
        s.println("usage: " + tender + " [ CORE OPTIONS ] [ MODULE OPTIONS ] [ -- ] KERNEL [ ARGS ]");
        s.println("KERNEL is the filename of the unikernel to run.");
        s.println("ARGS are optional arguments passed to the unikernel.");
        s.println("Core options:");
        s.println("  [ --mem=512 ] (guest memory in MiB; below 2 is rounded up)");
        s.println("    --help (display this help)");
        s.println("    --version (display version information)");
        s.println("Compiled-in modules: net block gdb dumpcore");
        s.println("Compiled-in module options:");
        s.println("    [ --net:NAME=IFACE ] [ --net-mac:NAME=HWADDR ]");
        s.println("    [ --block:NAME=PATH ] [ --block-sector-size:NAME=512 ]");
        s.println("    [ --gdb ] [ --gdb-port=1234 ]");
        s.println("    [ --dumpcore=DIR ] (a core of the guest in DIR when it aborts or faults)");
        s.println("Exit status: the guest's own (HALT); 1 when " + tender
                + " itself ends it (bad command line or image, guest fault, signal).");
    }
}
