package dev.kiln.cli;

import dev.kiln.builder.build.BuildException;
import dev.kiln.builder.build.Toolchain;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@code kiln cc ARGS...}: the toolchain's gcc with the guest flags for upstream code first
 * (Toolchain.UPSTREAM_CFLAGS), the compiler {@code [upstream.build] commands} get as
 * {@code $KILN_CC}, for building an upstream project by hand the same way.
 */
final class CcCommand {
    static final String SYNTAX = "kiln cc GCC_ARGS...";
    private final PrintStream out;
    private final PrintStream err;

    CcCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /** The command line it runs, for --print and tests. */
    static List<String> command(String cc, List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(cc);
        cmd.addAll(Toolchain.UPSTREAM_CFLAGS);
        cmd.addAll(args);
        return cmd;
    }

    int execute(String[] args) {
        if (args.length == 0 || args[0].equals("--help")) {
            (args.length == 0 ? err : out).println("usage: " + SYNTAX + "\n  runs $CC (default gcc) with the guest flags for"
                    + " upstream code first:\n  " + String.join(" ", Toolchain.UPSTREAM_CFLAGS)
                    + "\n  ('kiln cc --print' shows just the flags)");
            return args.length == 0 ? Main.EXIT_USAGE : 0;
        }
        if (args[0].equals("--print")) {
            out.println(String.join(" ", Toolchain.UPSTREAM_CFLAGS));
            return 0;
        }
        try {
            Toolchain tc = Toolchain.detect();
            Process p = new ProcessBuilder(command(tc.cc(), Arrays.asList(args))).inheritIO().start();
            return p.waitFor();
        } catch (BuildException | IOException e) {
            err.println("kiln cc: " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 130;
        }
    }
}
