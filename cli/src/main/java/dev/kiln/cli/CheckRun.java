package dev.kiln.cli;

import dev.kiln.cli.CommandLines.UsageException;
import org.apache.commons.cli.Options;

import java.io.PrintStream;
import java.nio.file.Path;

/**
 * The command line of the benchmarks that run the hvtcheck test guest: {@code -n N},
 * {@code --image PATH} and {@code --plot DIR} (null: no charts). {@code exit} is set when the
 * command should end at once (help, or a usage error already reported).
 */
record CheckRun(int n, Path image, Path plotDir, Integer exit) {
    static CheckRun parse(String bench, String description, String nHelp, int dflt, String[] args,
                          PrintStream out, PrintStream err) {
        Options options = new Options()
                .addOption(CommandLines.valued("n", null, "N", nHelp + " (default " + dflt + ")"))
                .addOption(CommandLines.valued(null, "image", "PATH", "the hvtcheck image (default guest/out/hvtcheck.hvt)"))
                .addOption(BenchCommand.plotOption())
                .addOption(CommandLines.flag("help", "show this help"));
        try {
            ParsedLine cl = CommandLines.parse(options, args, false);
            if (cl.hasOption("help")) {
                CommandLines.help(out, syntax(bench), description, options, "");
                return new CheckRun(0, null, null, 0);
            }
            int n = (int) CommandLines.longValue(cl, "n", dflt, 1, 100_000);
            Path img = cl.hasOption("image") ? Path.of(cl.getOptionValue("image"))
                    : Path.of(System.getProperty("kiln.home", ".")).resolve("guest/out/hvtcheck.hvt");
            return new CheckRun(n, img, BenchPlots.directory(cl), null);
        } catch (UsageException e) {
            err.println("kiln bench " + bench + ": " + e.getMessage());
            err.println("usage: " + syntax(bench));
            return new CheckRun(0, null, null, Main.EXIT_USAGE);
        }
    }

    /** The command line of a benchmark that takes these options. */
    static String syntax(String bench) {
        return "kiln bench " + bench + " [-n N] [--image PATH] [--plot DIR]";
    }
}
