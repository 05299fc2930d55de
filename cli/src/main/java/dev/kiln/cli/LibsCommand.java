package dev.kiln.cli;

import dev.kiln.builder.manifest.LibraryManifest;
import dev.kiln.builder.manifest.ManifestException;
import dev.kiln.builder.manifest.OptionSpec;
import dev.kiln.builder.resolve.LibraryCatalog;
import dev.kiln.cli.CommandLines.UsageException;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

import java.io.PrintStream;
import java.util.Locale;

/** {@code kiln libs [-v]}: the guest libraries, one line each (with -v: what they provide, need and offer). */
final class LibsCommand {
    static final String SYNTAX = "kiln libs [-v|--verbose]";
    private final PrintStream out;
    private final PrintStream err;

    LibsCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    int execute(String[] args) {
        Options options = BuildCommand.common().addOption(Option.builder("v").longOpt("verbose").desc("also show provides, depends and options (type, range, default)").build());
        ParsedLine cl;
        try {
            cl = CommandLines.parse(options, args, false);
            if (cl.hasOption("help")) {
                CommandLines.help(out, SYNTAX, "List the guest libraries.", options, "");
                return 0;
            }
            if (!cl.getArgList().isEmpty()) throw new UsageException("unexpected argument " + cl.getArgList().getFirst());
        } catch (UsageException e) {
            err.println("kiln libs: " + e.getMessage());
            err.println("usage: " + SYNTAX);
            return Main.EXIT_USAGE;
        }
        try {
            LibraryCatalog catalog = LibraryCatalog.scan(BuildCommand.guestRoot(cl));
            for (LibraryManifest l : catalog.all()) {
                out.printf(Locale.ROOT, "%-10s %s%n", l.name(), l.description());
                if (cl.hasOption("verbose")) {
                    out.println("           provides: " + BuildCommand.list(l.provides()) + "; depends: "
                            + BuildCommand.list(l.depends()) + "; " + l.sources().size() + " sources; " + l.file());
                    if (l.upstream() != null) {
                        out.println("           upstream: " + l.upstream().origin().describe() + ", sha256 " + l.upstream().sha256()
                                + ", " + l.upstream().patches().size() + " patch(es)");
                    }
                    for (OptionSpec o : l.options()) {
                        out.printf(Locale.ROOT, "           %s: %s, default %s  (%s)%n", o.name(), o.typeAndRange(),
                                o.defaultValue().toml(), o.help());
                    }
                }
            }
            return 0;
        } catch (ManifestException e) {
            err.println("kiln: " + e.getMessage());
            return 1;
        }
    }
}
