package dev.kiln.builder.upstream;

import dev.kiln.builder.build.BuildException;
import dev.kiln.builder.build.BuildReport;
import dev.kiln.builder.build.ImageBuilder;
import dev.kiln.builder.build.Toolchain;
import dev.kiln.builder.manifest.LibraryManifest;
import dev.kiln.builder.manifest.ManifestParser;
import dev.kiln.builder.resolve.LibraryCatalog;
import dev.kiln.builder.resolve.ResolvedBuild;
import dev.kiln.builder.resolve.Resolver;
import dev.kiln.monitor.image.HvtImage;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Upstream sources end to end on the real guest tree and toolchain: a tarball made here with tar,
 * two libraries using it (one compiling its sources, one running its Makefile), patches, the
 * hash-keyed cache, stamps, offline builds and the errors.
 */
class UpstreamBuildTest {
    static final Path GUEST = Path.of(System.getProperty("kiln.guest.root", "../guest"));
    static Toolchain toolchain;

    @TempDir
    Path tmp;
    Path tarball;
    String sha;

    @BeforeAll
    static void tools() throws BuildException {
        toolchain = Toolchain.detect();
    }

    /** upfoo-1.0.tar.gz: a C file for sources mode, one for a Makefile, a header. */
    @BeforeEach
    void makeTarball() throws Exception {
        Path src = tmp.resolve("src/upfoo-1.0");
        Files.createDirectories(src.resolve("src"));
        Files.createDirectories(src.resolve("include"));
        Files.writeString(src.resolve("src/foo.c"), """
                #ifdef __OPTIMIZE_SIZE__
                #error foo.c is never listed in size_optimized
                #endif
                int upfoo_value(void) { return 41; }
                int upfoo_extra(void) { return FOO_EXTRA; }
                /* SSE: does not compile under -mgeneral-regs-only. */
                double upfoo_half(double x) { return x / 2; }
                """);
        Files.writeString(src.resolve("src/cold.c"), """
                #ifndef __OPTIMIZE_SIZE__
                #error cold.c is built with -Os when size_optimized names it
                #endif
                int upfoo_cold(void) { return 5; }
                """);
        Files.writeString(src.resolve("include/foo.h"), "int upfoo_value(void);\nint upfoo_extra(void);\n");
        Files.writeString(src.resolve("src/bar.c"), "int upbar_value(void) { return 7; }\nint upbar_unused(void) { return 8; }\n");
        Files.writeString(src.resolve("Makefile"), """
                libbar.a: src/bar.o
                \t$(KILN_AR) rcs $@ src/bar.o
                src/bar.o: src/bar.c
                \t$(CC) -c -o $@ src/bar.c
                """);
        tarball = tmp.resolve("upfoo-1.0.tar.gz");
        run(tmp.resolve("src"), "tar", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "-czf", tarball.toString(), "upfoo-1.0");
        sha = SourceCache.sha256(tarball);
    }

    private static void run(Path dir, String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, String.join(" ", cmd) + ": " + out);
    }

    static String patch(String file, String before, String after) {
        return "--- a/" + file + "\n+++ b/" + file + "\n@@ -1 +1 @@\n-" + before + "\n+" + after + "\n";
    }

    /** The library in sources mode: upstream foo.c compiled with the guest flags, plus glue of its own. */
    private Path sourcesLibrary(String hash) throws IOException {
        Path lib = tmp.resolve("libs/upsrc");
        Files.createDirectories(lib.resolve("patches"));
        Files.writeString(lib.resolve("patches/0001-value.patch"),
                patch("src/foo.c", "int upfoo_value(void) { return 41; }", "int upfoo_value(void) { return 42; }"));
        Files.writeString(lib.resolve("glue.c"), "#include <foo.h>\nint upsrc_glue(void) { return upfoo_value() + upfoo_extra() + GLUE_VALUE; }\n");
        Files.writeString(lib.resolve(ManifestParser.FILE_NAME), """
                [library]
                name = "upsrc"
                description = "upstream sources, compiled like a library's own"
                depends = ["platform"]
                sources = ["glue.c"]
                cflags = ["-DGLUE_VALUE=1"]

                [upstream]
                tarball = "../../upfoo-1.0.tar.gz"
                sha256 = "%s"
                patches = ["patches/0001-value.patch"]

                [upstream.build]
                sources = ["src/foo.c"]
                include = ["include"]
                cflags = ["-DFOO_EXTRA=2"]
                """.formatted(hash));
        return lib;
    }

    /** The library in commands mode: the upstream Makefile builds libbar.a with $KILN_CC. */
    private Path commandsLibrary() throws IOException {
        Path lib = tmp.resolve("libs/upcmd");
        Files.createDirectories(lib.resolve("patches"));
        Files.writeString(lib.resolve("patches/bar.patch"),
                patch("src/bar.c", "int upbar_value(void) { return 7; }", "int upbar_value(void) { return 9; }"));
        Files.writeString(lib.resolve(ManifestParser.FILE_NAME), """
                [library]
                name = "upcmd"
                description = "an upstream build system driven by kiln"
                depends = ["platform"]

                [upstream]
                tarball = "%s"
                sha256 = "%s"
                strip = 1
                patches = ["patches/bar.patch"]

                [upstream.build]
                commands = ["make libbar.a"]
                archives = ["libbar.a"]
                """.formatted(tarball, sha));
        return lib;
    }

    /** An app calling into each of {@code libraries} (upsrc, upcmd) it uses. */
    private Path app(String... libraries) throws IOException {
        Path app = tmp.resolve("app");
        Files.createDirectories(app);
        List<String> libs = List.of(libraries);
        Files.writeString(app.resolve("main.c"), """
                int upsrc_glue(void);
                int upbar_value(void);
                int main(const char *cmdline) { (void)cmdline; return %s + %s; }
                """.formatted(libs.contains("upsrc") ? "upsrc_glue()" : "0", libs.contains("upcmd") ? "upbar_value()" : "0"));
        Files.writeString(app.resolve(ManifestParser.FILE_NAME), """
                [app]
                name = "uptest"
                sources = ["main.c"]
                libraries = [%s]
                """.formatted(String.join(", ", Stream.of(libraries).map(l -> "\"" + l + "\"").toList())));
        return app;
    }

    private BuildReport build(Path app, Path out, SourceCache cache) throws Exception {
        List<LibraryManifest> libs = new ArrayList<>(LibraryCatalog.scan(GUEST).all());
        try (Stream<Path> s = Files.list(tmp.resolve("libs"))) {
            for (Path dir : s.sorted().toList()) libs.add(ManifestParser.library(dir.resolve(ManifestParser.FILE_NAME)));
        }
        ResolvedBuild build = Resolver.resolve(ManifestParser.app(app), LibraryCatalog.of(GUEST, libs));
        return new ImageBuilder(toolchain, 2, cache).build(build, GUEST, out, false);
    }

    private SourceCache cache() {
        return new SourceCache(tmp.resolve("cache"), SourceFetcher.standard());
    }

    @Test
    void bothModesBuildOnceAndRebuildWhenAPatchChanges() throws Exception {
        Path upsrc = sourcesLibrary(sha);
        Path upcmd = commandsLibrary();
        Path app = app("upsrc", "upcmd");
        Path out = tmp.resolve("out");

        BuildReport first = build(app, out, cache());
        HvtImage.read(first.image());
        byte[] image = Files.readAllBytes(first.image());
        assertTrue(first.floatingPoint());
        assertEquals(2, first.upstreamUnpacked());
        assertEquals(1, first.upstreamBuilt());
        // Owned code shows in the size table: upstream objects and the archive's members alike.
        assertTrue(first.sizes().containsKey("upsrc") && first.sizes().get("upsrc").text() > 0, first.sizes().toString());
        assertTrue(first.sizes().containsKey("upcmd") && first.sizes().get("upcmd").text() > 0, first.sizes().toString());
        assertEquals(new PatchStats(1, 1, 1, 1), first.patches().get("upsrc"));
        assertEquals(new PatchStats(1, 1, 1, 1), first.patches().get("upcmd"));
        assertTrue(Files.isRegularFile(tmp.resolve("cache/sources/" + sha + "-upfoo-1.0.tar.gz")));
        String map = Files.readString(out.resolve("uptest.map"));
        assertTrue(map.contains("libbar.a(bar.o)"), "the archive was linked");
        Path tree = out.resolve("libraries.build/upstream/upsrc-" + sha.substring(0, 12) + "/tree");
        assertTrue(Files.readString(tree.resolve("src/foo.c")).contains("return 42;"), "the patch was applied");

        BuildReport again = build(app, out, cache());
        assertEquals(0, again.upstreamUnpacked(), "an unchanged rebuild unpacks nothing");
        assertEquals(0, again.upstreamBuilt(), "nor runs the upstream build");
        assertEquals(0, again.compiled(), "nor compiles");
        assertArrayEquals(image, Files.readAllBytes(again.image()));

        // Reproducible: another output folder (another tree path) gives the same image.
        BuildReport elsewhere = build(app, tmp.resolve("elsewhere"), cache());
        assertArrayEquals(image, Files.readAllBytes(elsewhere.image()));
        assertArrayEquals(Files.readAllBytes(first.debug()), Files.readAllBytes(elsewhere.debug()), "debug info names no build path");
        String debug = new String(Files.readAllBytes(first.debug()), java.nio.charset.StandardCharsets.ISO_8859_1);
        // Library folders outside the guest tree keep their paths; the build folder never shows.
        assertTrue(debug.contains("upstream/upsrc/src/foo.c") && debug.contains("upstream/upcmd") && !debug.contains(out.toString()),
                "the trees are named upstream/NAME");

        Files.writeString(upsrc.resolve("patches/0001-value.patch"),
                patch("src/foo.c", "int upfoo_value(void) { return 41; }", "int upfoo_value(void) { return 43; }"));
        Files.writeString(upcmd.resolve("patches/bar.patch"),
                patch("src/bar.c", "int upbar_value(void) { return 7; }", "int upbar_value(void) { return 10; }"));
        BuildReport patched = build(app, out, cache());
        assertEquals(2, patched.upstreamUnpacked());
        assertEquals(1, patched.upstreamBuilt());
        assertEquals(1, patched.compiled(), "only the patched upstream source (its key has the patches)");
        assertTrue(Files.readString(tree.resolve("src/foo.c")).contains("return 43;"));
        assertFalse(java.util.Arrays.equals(image, Files.readAllBytes(patched.image())), "the patches reach the image");
    }

    /** size_optimized: -Os for the sources it names and for no other (each file refuses to compile otherwise). */
    @Test
    void sizeOptimizedSourcesAloneAreBuiltWithOs() throws Exception {
        Path lib = tmp.resolve("libs/upsize");
        Files.createDirectories(lib);
        Files.writeString(lib.resolve(ManifestParser.FILE_NAME), """
                [library]
                name = "upsrc"
                description = "upstream sources, one of them on no hot path"
                depends = ["platform"]

                [upstream]
                tarball = "%s"
                sha256 = "%s"

                [upstream.build]
                sources = ["src/foo.c", "src/cold.c"]
                size_optimized = ["src/cold.c"]
                include = ["include"]
                cflags = ["-DFOO_EXTRA=2"]
                """.formatted(tarball, sha));
        Path app = tmp.resolve("app");
        Files.createDirectories(app);
        Files.writeString(app.resolve("main.c"),
                "int upfoo_value(void);\nint upfoo_cold(void);\nint main(const char *c) { (void)c; return upfoo_value() + upfoo_cold(); }\n");
        Files.writeString(app.resolve(ManifestParser.FILE_NAME), "[app]\nname = \"uptest\"\nsources = [\"main.c\"]\nlibraries = [\"upsrc\"]\n");
        BuildReport r = build(app, tmp.resolve("out"), cache());
        HvtImage.read(r.image());
        assertTrue(Files.readString(tmp.resolve("out/uptest.map")).contains("cold.o"), "cold.c is linked");
    }

    /** A port: the app itself has the upstream; its glue gets the app's cflags and the upstream's headers. */
    @Test
    void aPortAppsUpstreamCountsAsTheApp() throws Exception {
        Path app = tmp.resolve("port");
        Files.createDirectories(app);
        Files.createDirectories(tmp.resolve("libs"));
        Files.writeString(app.resolve("glue.c"), "#include <foo.h>\nint main(const char *c) { (void)c; return upfoo_value() + GLUE; }\n");
        Files.writeString(app.resolve(ManifestParser.FILE_NAME), """
                [app]
                name = "foo-port"
                sources = ["glue.c"]
                cflags = ["-DGLUE=1"]

                [upstream]
                tarball = "../upfoo-1.0.tar.gz"
                sha256 = "%s"

                [upstream.build]
                sources = ["src/foo.c"]
                include = ["include"]
                cflags = ["-DFOO_EXTRA=3"]
                """.formatted(sha));
        BuildReport r = build(app, tmp.resolve("out"), cache());
        assertEquals(java.util.Set.of(ImageBuilder.APP, "hvt"), r.sizes().keySet());
        assertEquals(new PatchStats(0, 0, 0, 0), r.patches().get("foo-port"));
        assertTrue(Files.isDirectory(tmp.resolve("out/foo-port.build/upstream/foo-port-" + sha.substring(0, 12) + "/tree")));
        String debug = new String(Files.readAllBytes(r.debug()), java.nio.charset.StandardCharsets.ISO_8859_1);
        assertTrue(debug.contains("upstream/foo-port/src/foo.c"), "the tree is named by the app");
    }

    @Test
    void aWrongHashIsRefusedWithBothHashesAndNothingIsCached() throws Exception {
        String wrong = "0".repeat(64);
        sourcesLibrary(wrong);
        Path app = app("upsrc");
        BuildException e = assertThrows(BuildException.class, () -> build(app, tmp.resolve("out"), cache()));
        assertTrue(e.getMessage().contains("expected " + wrong) && e.getMessage().contains("actual " + sha)
                && e.getMessage().contains(tarball.toString()), e.getMessage());
        try (Stream<Path> s = Files.list(tmp.resolve("cache/sources"))) {
            assertEquals(List.of(), s.toList(), "nothing cached");
        }
    }

    @Test
    void aCorruptCachedFileIsNotUsed() throws Exception {
        sourcesLibrary(sha);
        Path cached = tmp.resolve("cache/sources/" + sha + "-upfoo-1.0.tar.gz");
        Files.createDirectories(cached.getParent());
        Files.writeString(cached, "not the tarball");
        BuildException e = assertThrows(BuildException.class,
                () -> build(app("upsrc"), tmp.resolve("out"), new SourceCache(tmp.resolve("cache"), null)));
        assertTrue(e.getMessage().contains("--offline"), e.getMessage());
        build(app("upsrc"), tmp.resolve("out"), cache());
        assertEquals(sha, SourceCache.sha256(cached), "fetched again over the bad copy");
    }

    @Test
    void offlineWithAnEmptyCacheSaysWhatToFetchAndWhere() throws Exception {
        Path lib = tmp.resolve("libs/upurl");
        Files.createDirectories(lib);
        Files.writeString(lib.resolve(ManifestParser.FILE_NAME), """
                [library]
                name = "upurl"
                description = "from a URL"
                [upstream]
                url = "https://example.invalid/dl/upfoo-1.0.tar.gz"
                sha256 = "%s"
                """.formatted(sha));
        SourceCache offline = new SourceCache(tmp.resolve("cache"), null);
        BuildException e = assertThrows(BuildException.class, () -> build(app("upurl"), tmp.resolve("out"), offline));
        Path where = tmp.resolve("cache/sources/" + sha + "-upfoo-1.0.tar.gz");
        assertTrue(e.getMessage().contains("curl -fL -o " + where + " 'https://example.invalid/dl/upfoo-1.0.tar.gz'"), e.getMessage());
        assertTrue(e.getMessage().contains("--offline") && e.getMessage().contains(lib.resolve("kiln.toml").toString()), e.getMessage());

        // Put there by hand as told, the offline build finds it.
        Files.createDirectories(where.getParent());
        Files.copy(tarball, where);
        assertEquals(where, offline.tarball(ManifestParser.library(lib.resolve(ManifestParser.FILE_NAME)).upstream()));
    }

    @Test
    void aPatchThatDoesNotApplyIsNamedWithPatchsOutput() throws Exception {
        Path lib = sourcesLibrary(sha);
        Files.writeString(lib.resolve("patches/0001-value.patch"), patch("src/foo.c", "int nothing_like_this;", "int x;"));
        BuildException e = assertThrows(BuildException.class, () -> build(app("upsrc"), tmp.resolve("out"), cache()));
        assertTrue(e.getMessage().contains(lib.resolve("patches/0001-value.patch").toAbsolutePath().normalize().toString())
                && e.getMessage().contains("does not apply") && e.getMessage().contains("FAILED"), e.getMessage());
    }

    @Test
    void aFailingCommandShowsTheLogsEndAndPath() throws Exception {
        Path lib = commandsLibrary();
        Files.writeString(lib.resolve(ManifestParser.FILE_NAME), Files.readString(lib.resolve(ManifestParser.FILE_NAME))
                .replace("\"make libbar.a\"", "\"echo making; echo the-last-words >&2; exit 3\""));
        Path app = app("upcmd");
        BuildException e = assertThrows(BuildException.class, () -> build(app, tmp.resolve("out"), cache()));
        assertTrue(e.getMessage().contains("exit status 3") && e.getMessage().contains("the-last-words")
                && e.getMessage().contains("build.log"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("out/uptest.build/upstream/upcmd-" + sha.substring(0, 12) + "/tree.stamp")),
                "a failed build leaves no tree to build on");
    }
}
