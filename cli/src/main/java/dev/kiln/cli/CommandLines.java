package dev.kiln.cli;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.AlreadySelectedException;
import org.apache.commons.cli.HelpFormatter;
import org.apache.commons.cli.MissingArgumentException;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;
import org.apache.commons.cli.UnrecognizedOptionException;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.List;

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
     * The parser's own errors are reworded into kiln's style, the option named as it was typed.
     */
    static ParsedLine parse(Options options, String[] args, boolean stopAtNonOption) throws UsageException {
        try {
            CommandLine cl = DefaultParser.builder().setAllowPartialMatching(false).build().parse(options, args, stopAtNonOption);
            return new ParsedLine(cl, options, List.of(args));
        } catch (MissingArgumentException e) {
            Option o = e.getOption();
            throw new UsageException(ParsedLine.typedForm(o, List.of(args)) + " needs a value ("
                    + ParsedLine.typedForm(o, List.of(args)) + " " + o.getArgName() + ")");
        } catch (UnrecognizedOptionException e) {
            String name = e.getOption().contains("=") ? e.getOption().substring(0, e.getOption().indexOf('=')) : e.getOption();
            // "--stats=yes" is a known flag given a value, not an unknown option.
            Option known = options.getOption(name.replaceFirst("^--?", ""));
            if (known != null && !known.hasArg() && e.getOption().contains("=")) {
                throw new UsageException(e.getOption() + ": " + name + " takes no value");
            }
            throw new UsageException("unknown option " + name);
        } catch (AlreadySelectedException e) {
            throw new UsageException(e.getOption() == null ? "two options that exclude each other"
                    : ParsedLine.typedForm(e.getOption(), List.of(args)) + " conflicts with an option given before it");
        } catch (ParseException e) {
            // Other parser errors (none expected with these options): still say which command line was refused.
            throw new UsageException("cannot read the options " + String.join(" ", args) + ": " + e.getMessage());
        }
    }

    /** A whole-number option in {@code min..max}; {@code dflt} when absent. Errors name it as typed. */
    static long longValue(ParsedLine cl, String name, long dflt, long min, long max) throws UsageException {
        String v = cl.getOptionValue(name);
        if (v == null) return dflt;
        String opt = cl.typedWithValue(name, v);
        try {
            long n = Long.parseLong(v.strip());
            if (n < min || n > max) {
                throw new UsageException(opt + ": must be in " + min + ".." + max);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new UsageException(opt + ": not a whole number");
        }
    }

    /** A memory option in MiB (plain, or with an M or G suffix: {@link MemorySize}); {@code dflt} when absent. */
    static long mebibytes(ParsedLine cl, String name, long dflt, long min, long max) throws UsageException {
        String v = cl.getOptionValue(name);
        return v == null ? dflt : MemorySize.parse(cl.typedWithValue(name, v), v, min, max).mebibytes();
    }

    static Double positiveSeconds(ParsedLine cl, String name) throws UsageException {
        String v = cl.getOptionValue(name);
        if (v == null) return null;
        try {
            double d = Double.parseDouble(v.strip());
            if (!(d > 0 && d < 1e9)) throw new NumberFormatException();
            return d;
        } catch (NumberFormatException e) {
            throw new UsageException(cl.typedWithValue(name, v) + ": must be a positive number of seconds");
        }
    }

    static void help(PrintStream out, String syntax, String header, Options options, String footer) {
        PrintWriter w = new PrintWriter(out);
        new HelpFormatter().printHelp(w, 100, syntax, header, options, 2, 2, footer, false);
        w.flush();
    }
}
