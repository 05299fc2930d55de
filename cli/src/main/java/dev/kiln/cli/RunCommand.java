package dev.kiln.cli;

import dev.kiln.monitor.Instance;
import dev.kiln.monitor.InstanceSpec;
import dev.kiln.monitor.Monitor;
import dev.kiln.monitor.Outcome;
import dev.kiln.monitor.StopCause;
import dev.kiln.monitor.image.HvtImage;
import dev.kiln.monitor.image.ImageException;
import dev.kiln.monitor.kvm.KvmException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import sun.misc.Signal;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code kiln run [--mem=MiB] IMAGE [ARGS...]}: boots one image, its console on stdout, and exits
 * with the guest's status. The flags follow solo5-hvt's, so Kiln can stand in for it.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Boot an hvt unikernel image; exit with the guest's status.",
                "Exit status: the guest's HALT status (0 ok, 1 failure, 255 abort); 255 also for a guest"
                        + " fault; 124 time limit; 130 SIGINT; 143 SIGTERM; 125 if the guest could not start."})
final class RunCommand implements Callable<Integer> {
    @Option(names = "--mem", paramLabel = "MiB", description = "Guest memory in MiB (default: ${DEFAULT-VALUE}).",
            defaultValue = "512")
    long memMiB;

    @Option(names = "--timeout", paramLabel = "SECONDS",
            description = "Stop the guest after this many seconds (exit status 124).")
    Double timeoutSeconds;

    @Option(names = "--stats", description = "Print boot timings and VM exit counts on stderr at the end.")
    boolean stats;

    @Parameters(index = "0", paramLabel = "IMAGE", description = "The hvt image (ELF) to boot.")
    Path image;

    @Parameters(index = "1..*", paramLabel = "ARGS", description = "Arguments for the guest (its command line).")
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() {
        PrintStream err = System.err;
        for (String a : args) {
            if (a.startsWith("--net:") || a.startsWith("--net-mac:") || a.startsWith("--block:")
                    || a.startsWith("--block-sector-size:")) {
                err.println("kiln: " + a.substring(0, a.indexOf(':') + 1)
                        + " must come before the image, and this monitor has no net or block devices yet");
                return Main.EXIT_CANNOT_START;
            }
        }
        if (memMiB <= 0 || memMiB > 4096) {
            err.println("kiln: --mem=" + memMiB + ": guest memory must be 2..4096 MiB");
            return Main.EXIT_CANNOT_START;
        }
        if (timeoutSeconds != null && !(timeoutSeconds > 0 && timeoutSeconds < 1e9)) {
            err.println("kiln: --timeout=" + timeoutSeconds + ": must be a positive number of seconds");
            return Main.EXIT_CANNOT_START;
        }
        try (Monitor monitor = Monitor.open()) {
            HvtImage img = HvtImage.read(image);
            InstanceSpec spec = new InstanceSpec(img, memMiB << 20, args, new FileOutputStream(FileDescriptor.out),
                    timeoutSeconds == null ? null : Duration.ofNanos((long) (timeoutSeconds * 1e9)));
            try (Instance instance = monitor.create(spec)) {
                Signal.handle(new Signal("INT"), s -> instance.stop(StopCause.INTERRUPT));
                Signal.handle(new Signal("TERM"), s -> instance.stop(StopCause.TERMINATE));
                Outcome outcome = instance.run();
                if (!(outcome instanceof Outcome.Halted)) {
                    err.println("kiln: " + outcome.describe());
                }
                if (stats) {
                    err.println("kiln: " + Stats.format(instance.stats()));
                }
                return outcome.exitStatus();
            }
        } catch (ImageException | KvmException | IllegalArgumentException e) {
            err.println("kiln: " + e.getMessage());
            return Main.EXIT_CANNOT_START;
        }
    }
}
