package dev.kiln.cli;

import dev.kiln.builder.manifest.AppOptionsEditor;
import dev.kiln.builder.manifest.ManifestException;
import dev.kiln.builder.manifest.OptionValue;
import dev.kiln.builder.resolve.ResolvedBuild;
import dev.kiln.cli.CommandLines.UsageException;
import org.apache.commons.cli.Options;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * {@code kiln config list|get|set|unset APP_DIR [NAME [VALUE]]}: an app's options, for scripts.
 * A set is checked against the option's type and range before the manifest is rewritten.
 */
final class ConfigCommand {
    static final String SYNTAX = "kiln config list APP_DIR | get APP_DIR NAME | set APP_DIR NAME VALUE | unset APP_DIR NAME";
    private final PrintStream out;
    private final PrintStream err;

    ConfigCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    int execute(String[] args) {
        Options options = BuildCommand.common();
        ParsedLine cl;
        List<String> rest;
        try {
            cl = CommandLines.parse(options, args, false);
            if (cl.hasOption("help")) {
                CommandLines.help(out, SYNTAX, "Read or change an app's library options.", options, "");
                return 0;
            }
            rest = cl.getArgList();
            int want = rest.isEmpty() ? -1 : switch (rest.getFirst()) {
                case "list" -> 2;
                case "get", "unset" -> 3;
                case "set" -> 4;
                default -> -1;
            };
            if (want < 0) throw new UsageException("expected list, get, set or unset");
            if (rest.size() != want) throw new UsageException(rest.getFirst() + " takes " + (want - 1) + " argument(s)");
        } catch (UsageException e) {
            err.println("kiln config: " + e.getMessage());
            err.println("usage: " + SYNTAX);
            return Main.EXIT_USAGE;
        }
        Path appDir = Path.of(rest.get(1));
        ResolvedBuild build = BuildCommand.resolve(appDir, BuildCommand.guestRoot(cl), err);
        if (build == null) return 1;
        String verb = rest.getFirst();
        if (verb.equals("list")) {
            // Every option of the build with the value it takes effect with; "default" marks those
            // nobody set, and a value set by the app or a select names the default it replaces.
            for (ResolvedBuild.Option o : build.options().values()) {
                String dflt = o.spec().defaultValue().toml();
                String origin = o.source().equals("default") ? "default"
                        : o.source() + ", default " + dflt;
                out.printf(Locale.ROOT, "%s = %s    # %s; %s, %s: %s%n", o.spec().name(), o.value().toml(), origin,
                        o.owner().name(), o.spec().typeAndRange(), o.spec().help());
            }
            return 0;
        }
        String name = rest.get(2);
        ResolvedBuild.Option o = build.options().get(name);
        if (o == null) {
            err.println("kiln config: no library in " + build.app().name() + "'s build has an option " + name
                    + " (kiln config list " + appDir + " shows them)");
            return 1;
        }
        if (verb.equals("get")) {
            out.println(o.value().toml());
            return 0;
        }
        OptionValue value = verb.equals("set") ? OptionValue.parse(o.spec(), rest.get(3)) : null;
        if (value != null) {
            String bad = o.spec().check(value);
            if (bad != null) {
                err.println("kiln config: " + name + ": " + bad);
                return 1;
            }
        }
        try {
            AppOptionsEditor.set(appDir, name, value);
        } catch (ManifestException e) {
            err.println("kiln config: " + e.getMessage());
            return 1;
        }
        // Resolve again: a set that a library's selects contradicts is refused now, not at build time.
        return BuildCommand.resolve(appDir, BuildCommand.guestRoot(cl), err) == null ? 1 : 0;
    }
}
