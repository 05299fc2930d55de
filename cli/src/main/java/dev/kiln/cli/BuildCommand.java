package dev.kiln.cli;

import dev.kiln.builder.build.BuildException;
import dev.kiln.builder.build.BuildReport;
import dev.kiln.builder.build.ImageBuilder;
import dev.kiln.builder.build.Toolchain;
import dev.kiln.builder.manifest.AppManifest;
import dev.kiln.builder.manifest.LibraryManifest;
import dev.kiln.builder.manifest.ManifestException;
import dev.kiln.builder.manifest.ManifestParser;
import dev.kiln.builder.resolve.LibraryCatalog;
import dev.kiln.builder.resolve.ResolveException;
import dev.kiln.builder.resolve.ResolvedBuild;
import dev.kiln.builder.resolve.Resolver;
import dev.kiln.builder.upstream.SourceCache;
import dev.kiln.cli.CommandLines.UsageException;
import org.apache.commons.cli.Options;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * {@code kiln build APP_DIR}: resolves the app's manifest against the guest libraries and writes
 * its image, debug image and size report.
 */
final class BuildCommand {
    static final String SYNTAX = "kiln build [--out DIR] [--lto] [--offline] [-j|--jobs N] APP_DIR";
    /** Issue target: the helloworld image stays at or below this. */
    static final long SIZE_TARGET = 32 * 1024;

    private final PrintStream out;
    private final PrintStream err;

    BuildCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /** The guest tree: {@code $KILN_HOME/guest}, or {@code --guest-root}. */
    static Path guestRoot(ParsedLine cl) {
        if (cl.hasOption("guest-root")) return Path.of(cl.getOptionValue("guest-root"));
        return Path.of(System.getProperty("kiln.home", ".")).resolve("guest");
    }

    static Options common() {
        return new Options()
                .addOption(CommandLines.valued(null, "guest-root", "DIR", "the guest tree with platform/ and lib/ (default: KILN_HOME/guest)"))
                .addOption(CommandLines.flag("help", "show this help"));
    }

    /** Reads the app and the catalog and resolves them; errors are printed, null returned. */
    static ResolvedBuild resolve(Path appDir, Path guestRoot, PrintStream err) {
        try {
            AppManifest app = ManifestParser.app(appDir);
            return Resolver.resolve(app, LibraryCatalog.scan(guestRoot));
        } catch (ManifestException | ResolveException e) {
            err.println("kiln: " + e.getMessage());
            return null;
        }
    }

    static Options options() {
        return common()
                .addOption(CommandLines.valued(null, "out", "DIR", "where the image goes (default: APP_DIR/build)"))
                .addOption(CommandLines.flag("lto", "link-time optimisation (also: lto = true in kiln.toml)"))
                .addOption(CommandLines.flag("offline", "never fetch upstream sources: use the cache ($KILN_CACHE or ~/.cache/kiln) only"))
                .addOption(CommandLines.valued("j", "jobs", "N", "parallel compiler jobs (default: the number of cores)"));
    }

    int execute(String[] args) {
        Options options = options();
        Path appDir;
        Path outDir;
        int jobs;
        ParsedLine cl;
        try {
            cl = CommandLines.parse(options, args, false);
            if (cl.hasOption("help")) {
                CommandLines.help(out, SYNTAX, "Build an app's hvt image from its kiln.toml.", options, "");
                return 0;
            }
            if (cl.getArgList().size() != 1) throw new UsageException("expected one APP_DIR, got " + cl.getArgList().size());
            appDir = Path.of(cl.getArgList().getFirst());
            outDir = cl.hasOption("out") ? Path.of(cl.getOptionValue("out")) : appDir.resolve("build");
            jobs = (int) CommandLines.longValue(cl, "jobs", Runtime.getRuntime().availableProcessors(), 1, 256);
        } catch (UsageException e) {
            err.println("kiln build: " + e.getMessage());
            err.println("usage: " + SYNTAX);
            return Main.EXIT_USAGE;
        }
        ResolvedBuild build = resolve(appDir, guestRoot(cl), err);
        if (build == null) return 1;
        try {
            boolean lto = cl.hasOption("lto") || build.app().lto();
            BuildReport r = new ImageBuilder(Toolchain.detect(), jobs, SourceCache.standard(cl.hasOption("offline"))).build(build, guestRoot(cl), outDir, lto);
            out.println("kiln build: " + build.app().name() + " (" + build.app().file() + ")" + (lto ? " with LTO" : ""));
            out.println("  libraries: " + build.libraries().stream().map(LibraryManifest::name).collect(Collectors.joining(" ")));
            out.printf(Locale.ROOT, "  compiled %d, from cache %d, in %d ms%n", r.compiled(), r.cached(), r.millis());
            if (r.upstreamUnpacked() + r.upstreamBuilt() > 0) {
                out.printf(Locale.ROOT, "  upstream: %d tree(s) unpacked and patched, %d build(s) run%n", r.upstreamUnpacked(), r.upstreamBuilt());
            }
            r.patches().forEach((owner, p) -> out.println("  patch " + owner + ": " + p.summary()));
            if (r.floatingPoint()) out.println("  floating point: built without -mgeneral-regs-only (SSE; needs native execution)");
            r.table().lines().forEach(l -> out.println("  " + l));
            out.printf(Locale.ROOT, "  image %s: %d bytes (%.1f KiB)%s%n", r.image(), r.imageSize(), r.imageSize() / 1024.0,
                    build.app().name().equals("helloworld") ? String.format(Locale.ROOT, "; %s (Solo5's test_hello"
                            + " is ~130 KB, Unikraft's helloworld ~197 KB)", new Target("<= 32 KiB").verdict(r.imageSize() <= SIZE_TARGET)) : "");
            out.println("  debug image " + r.debug() + " (symbols and DWARF for gdb)");
            if (r.entryToMain() != null) {
                out.printf(Locale.ROOT, "  entry to main(): %d instructions on the straight path%s (nothing natively; ~%d us"
                                + " where KVM emulates them, kiln run --emulate, at ~1 us each)%n", r.entryToMain().straight(),
                        r.entryToMain().loops() ? ", plus loops" : "", r.entryToMain().straight());
            }
            out.println("  memory: " + build.app().memoryMiB() + " MiB (kiln run --mem=" + build.app().memoryMiB() + ")");
            return 0;
        } catch (BuildException e) {
            err.println("kiln build: " + e.getMessage());
            return 1;
        }
    }

    static String list(List<String> xs) {
        return xs.isEmpty() ? "-" : String.join(", ", xs);
    }
}
