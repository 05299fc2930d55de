package dev.kiln.cli;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

import java.util.List;

/**
 * A parsed command line that remembers what the user typed, so an error names an option the way
 * it was written ({@code -j 0}, not {@code --jobs=0}): the name in a message is the one to look
 * for on the command line.
 */
final class ParsedLine {
    private final CommandLine cl;
    private final Options options;
    private final List<String> args;

    ParsedLine(CommandLine cl, Options options, List<String> args) {
        this.cl = cl;
        this.options = options;
        this.args = args;
    }

    boolean hasOption(String name) {
        return cl.hasOption(name);
    }

    String getOptionValue(String name) {
        return cl.getOptionValue(name);
    }

    List<String> getArgList() {
        return cl.getArgList();
    }

    /**
     * The option {@code name} (short or long) as it was typed: {@code -j} or {@code --jobs};
     * its long form when it was not typed at all.
     */
    String typed(String name) {
        Option o = options.getOption(name);
        if (o == null) return (name.length() == 1 ? "-" : "--") + name;
        return typedForm(o, args);
    }

    /** How {@code o} appears in {@code args}: the first token that spells it, short or long. */
    static String typedForm(Option o, List<String> args) {
        for (String a : args) {
            if (a.equals("--")) break;
            if (o.getLongOpt() != null && (a.equals("--" + o.getLongOpt()) || a.startsWith("--" + o.getLongOpt() + "="))) {
                return "--" + o.getLongOpt();
            }
            if (o.getOpt() != null && !a.startsWith("--") && a.startsWith("-" + o.getOpt())) return "-" + o.getOpt();
        }
        return o.getLongOpt() != null ? "--" + o.getLongOpt() : "-" + o.getOpt();
    }

    /** {@code typed(name)} with its value, written the way a user would repeat it. */
    String typedWithValue(String name, String value) {
        String t = typed(name);
        return t.startsWith("--") ? t + "=" + value : t + " " + value;
    }
}
