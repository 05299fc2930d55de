package dev.kiln.cli;

import dev.kiln.daemon.DaemonConfig;

import java.io.PrintStream;
import java.util.Arrays;

/**
 * {@code kiln}: the command line over the monitor library. Each subcommand is a thin layer; the
 * work happens in the library so that other hosts (a daemon, tests) can do the same from Java.
 *
 * <p>Options are parsed with Apache Commons CLI: small and built for a recent class-file version,
 * so the AOT cache holds it and {@code kiln run} starts in tens of milliseconds.
 */
public final class Main {
    /** Exit status for a usage error. */
    public static final int EXIT_USAGE = 2;
    /** Exit status when the monitor could not start the guest at all (bad image, options, no KVM). */
    public static final int EXIT_CANNOT_START = 125;

    private Main() {}

    public static void main(String[] args) {
        int status = execute(args, System.out, System.err, true);
        if (args.length > 0 && (args[0].equals("run") || args[0].equals("hvt"))) {
            // System.exit asks System.Logger whether to log the exit (JDK 21+), which sets up
            // java.util.logging: ~13 ms of a ~140 ms 'kiln run'. 'run' registers no shutdown hooks
            // and has closed its instance, so halting after a flush loses nothing.
            System.out.flush();
            System.err.flush();
            Runtime.getRuntime().halt(status);
        }
        // A daemon returns once its shutdown hook ran: the JVM is already ending.
        // (A training run of the AOT cache returns at once: it exits here, and the cache is written.)
        if (args.length > 0 && args[0].equals("daemon") && status == 0 && !Boolean.getBoolean("kiln.aotTraining")) return;
        System.exit(status);
    }

    /**
     * Runs one command line and returns its exit status; never exits the JVM itself, and never
     * confines it: a seccomp filter holds for the whole process and for good, which only the
     * process's own entry point may decide (tests run commands in a JVM that goes on).
     */
    public static int execute(String[] args, PrintStream out, PrintStream err) {
        return execute(args, out, err, false);
    }

    /** As above; {@code ownsProcess}: this command is the process, so 'run' confines it (unless --no-seccomp). */
    static int execute(String[] args, PrintStream out, PrintStream err, boolean ownsProcess) {
        if (args.length == 0) {
            usage(err);
            return EXIT_USAGE;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        return switch (args[0]) {
            case "run" -> ClientCommand.detached(rest) ? new ClientCommand(out, err).runDetached(rest)
                    : new RunCommand(out, err, ownsProcess).execute(rest);
            case "daemon" -> dev.kiln.cluster.ClusterMain.clustered(rest) ? dev.kiln.cluster.ClusterMain.run(rest, out, err)
                    : dev.kiln.daemon.Daemon.run(rest, out, err);
            case "ps", "logs", "start", "stop", "rm", "pause", "unpause", "images", "snapshot" ->
                    new ClientCommand(out, err).execute(args[0], rest);
            case "hvt" -> new HvtCommand(out, err, ownsProcess).execute(rest);
            case "bench" -> new BenchCommand(out, err).execute(rest);
            case "build" -> new BuildCommand(out, err).execute(rest);
            case "cc" -> new CcCommand(out, err).execute(rest);
            case "libs" -> new LibsCommand(out, err).execute(rest);
            case "config" -> new ConfigCommand(out, err).execute(rest);
            case "menuconfig" -> new MenuconfigCommand(out, err).execute(rest);
            case "net" -> new NetCommand(out, err).execute(rest);
            case "pack" -> new PackCommand(out, err).execute(rest);
            case "help", "-h", "--help" -> {
                usage(out);
                yield 0;
            }
            case "version", "--version" -> {
                out.println("kiln 0.1.0");
                yield 0;
            }
            default -> {
                err.println("kiln: unknown command '" + args[0] + "'");
                usage(err);
                yield EXIT_USAGE;
            }
        };
    }

    /**
     * The overview: every command with its full syntax, built from the syntax each command prints
     * for its own errors, so the two cannot drift apart.
     */
    static void usage(PrintStream s) {
        s.println("usage: kiln COMMAND [OPTIONS]");
        s.println();
        s.println("commands:");
        command(s, RunCommand.SYNTAX, "boot an hvt unikernel; exit with the guest's status (kiln run --help lists them)");
        command(s, HvtCommand.SYNTAX, "the same with solo5-hvt's contract (exit 1 for anything the tender decides);"
                + " a link named solo5-hvt to the launcher runs this");
        command(s, DaemonConfig.SYNTAX, "host instances as a service: HTTP/1.1 + JSON on a Unix socket"
                + " (default " + DaemonConfig.defaultSocket() + "); TCP only with a bearer token");
        command(s, "kiln daemon --cluster ETCD_ENDPOINTS [--host-name N] [--labels k=v,...] [daemon options]",
                "one host of a cluster on etcd: instances placed across hosts, re-placed when a host dies (--cluster --help)");
        for (String c : ClientCommand.SYNTAXES) command(s, c, null);
        s.println("      drive a running daemon (--socket PATH or KILN_SOCKET to name its socket)");
        command(s, BuildCommand.SYNTAX, "build an app's image from its kiln.toml");
        command(s, CcCommand.SYNTAX, "gcc with the guest flags for upstream code (what [upstream.build] commands get as $KILN_CC)");
        command(s, LibsCommand.SYNTAX, "list the guest libraries (-v: provides, depends, options with type and range)");
        command(s, MenuconfigCommand.SYNTAX, "browse libraries and options in a terminal UI; change values");
        command(s, ConfigCommand.SYNTAX, "read or change an app's library options");
        command(s, PackCommand.SYNTAX, "pack a folder into a read-only root file system image for kiln run --rootfs");
        command(s, NetCommand.SYNTAX, "tap devices, bridges and namespaces for guests");
        for (String bench : BenchCommand.SYNTAXES) command(s, bench, null);
        s.println("      benchmarks, each beside a baseline from the same run");
        command(s, "kiln version", "print the version");
        command(s, "kiln help", "print this overview");
        s.println();
        s.println("build, libs, menuconfig and config also take --guest-root DIR (default: KILN_HOME/guest).");
        s.println("Run 'kiln COMMAND --help' for a command's options.");
    }

    private static void command(PrintStream s, String syntax, String what) {
        s.println("  " + syntax);
        if (what != null) s.println("      " + what);
    }
}
