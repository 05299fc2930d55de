package dev.kiln.cli;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.HelpFormatter;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;

import java.io.PrintStream;
import java.io.PrintWriter;

/** Shared parsing helpers: typed option values with errors that name the option and the bad value. */
final class CommandLines {
    private CommandLines() {}

    /** A bad command line; the message is for the operator. */
    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }

    static Option flag(String longName, String description) {
        return Option.builder().longOpt(longName).desc(description).build();
    }

    static Option valued(String shortName, String longName, String argName, String description) {
        return Option.builder(shortName).longOpt(longName).hasArg().argName(argName).desc(description).build();
    }

    /**
     * Parses {@code args}; with {@code stopAtNonOption} everything from the first non-option on is
     * left as arguments (the image, then the guest's own arguments, which may look like options).
     */
    static CommandLine parse(Options options, String[] args, boolean stopAtNonOption) throws UsageException {
        try {
            return DefaultParser.builder().setAllowPartialMatching(false).build().parse(options, args, stopAtNonOption);
        } catch (ParseException e) {
            throw new UsageException(e.getMessage());
        }
    }

    static long longValue(CommandLine cl, String name, long dflt, long min, long max) throws UsageException {
        String v = cl.getOptionValue(name);
        if (v == null) return dflt;
        String opt = (name.length() == 1 ? "-" : "--") + name;
        try {
            long n = Long.parseLong(v.strip());
            if (n < min || n > max) {
                throw new UsageException(opt + "=" + v + ": must be in " + min + ".." + max);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new UsageException(opt + "=" + v + ": not a whole number");
        }
    }

    /** A memory option in MiB (plain, or with an M or G suffix: {@link MemorySize}); {@code dflt} when absent. */
    static long mebibytes(CommandLine cl, String name, long dflt, long min, long max) throws UsageException {
        String v = cl.getOptionValue(name);
        return v == null ? dflt : MemorySize.parse("--" + name, v, min, max).mebibytes();
    }

    static Double positiveSeconds(CommandLine cl, String name) throws UsageException {
        String v = cl.getOptionValue(name);
        if (v == null) return null;
        try {
            double d = Double.parseDouble(v.strip());
            if (!(d > 0 && d < 1e9)) throw new NumberFormatException();
            return d;
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + "=" + v + ": must be a positive number of seconds");
        }
    }

    static void help(PrintStream out, String syntax, String header, Options options, String footer) {
        PrintWriter w = new PrintWriter(out);
        new HelpFormatter().printHelp(w, 100, syntax, header, options, 2, 2, footer, false);
        w.flush();
    }
}
