package dev.kiln.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code kiln}: the command line over the monitor library. Each subcommand is a thin layer; the
 * work happens in the library so that other hosts (a daemon, tests) can do the same from Java.
 */
@Command(name = "kiln", mixinStandardHelpOptions = true, version = "kiln 0.1.0",
        description = "Kiln: build and run hvt unikernels on KVM.",
        subcommands = {RunCommand.class, BenchCommand.class})
public final class Main implements Runnable {
    /** Exit status when the monitor could not start the guest at all (bad image, options, no KVM). */
    public static final int EXIT_CANNOT_START = 125;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required (run, bench)");
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("kiln: " + e.getMessage());
            return EXIT_CANNOT_START;
        });
        return cl;
    }
}
