package dev.kiln.builder.resolve;

import dev.kiln.builder.manifest.AppManifest;
import dev.kiln.builder.manifest.LibraryManifest;
import dev.kiln.builder.manifest.ManifestException;
import dev.kiln.builder.manifest.ManifestParser;
import dev.kiln.builder.manifest.OptionValue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The resolver on small trees of real manifest files: what it picks, and every refusal it explains. */
class ResolverTest {
    @TempDir
    Path root;

    private void lib(String area, String name, String body) throws IOException {
        Path dir = root.resolve("guest").resolve(area).resolve(name);
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("kiln.toml"), "[library]\nname = \"" + name + "\"\ndescription = \"test\"\n" + body);
    }

    private Path app(String body) throws IOException {
        Path dir = root.resolve("app");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("kiln.toml"), "[app]\nname = \"demo\"\nsources = [\"main.c\"]\n" + body);
        return dir;
    }

    private ResolvedBuild resolve(Path appDir) throws Exception {
        return Resolver.resolve(ManifestParser.app(appDir), LibraryCatalog.scan(root.resolve("guest")));
    }

    private void refused(Path appDir, String... expected) throws Exception {
        AppManifest app = ManifestParser.app(appDir);
        LibraryCatalog catalog = LibraryCatalog.scan(root.resolve("guest"));
        ResolveException e = assertThrows(ResolveException.class, () -> Resolver.resolve(app, catalog));
        for (String x : expected) assertTrue(e.getMessage().contains(x), () -> "expected '" + x + "' in:\n" + e.getMessage());
    }

    private void basePlatform() throws IOException {
        lib("platform", "hvt", "provides = [\"platform\"]\nlinker_script = \"hvt.ld\"\nsources = [\"a.c\"]\n");
    }

    @Test
    void closureProvidersOrderAndOptions() throws Exception {
        basePlatform();
        lib("lib", "libc", "provides = [\"libc\"]\ndepends = [\"platform\"]\n"
                + "[options.LIBC_WIDTH]\ntype = \"int\"\ndefault = 10\nrange = [1, 100]\nhelp = \"w\"\n"
                + "[options.LIBC_ASSERT]\ntype = \"bool\"\ndefault = false\nhelp = \"a\"\n");
        lib("lib", "alloc", "provides = [\"malloc\"]\ndepends = [\"platform\"]\n");
        lib("lib", "sched", "depends = [\"malloc\", \"libc\"]\nselects = [\"LIBC_ASSERT\"]\n"
                + "[options.SCHED_NAME]\ntype = \"string\"\ndefault = \"x\"\nhelp = \"n\"\n");
        ResolvedBuild b = resolve(app("libraries = [\"sched\"]\n[options]\nLIBC_WIDTH = 42\nSCHED_NAME = \"a\\\"b\"\n"));
        assertEquals(List.of("sched", "libc", "alloc", "hvt"), b.libraries().stream().map(LibraryManifest::name).toList());
        assertEquals("hvt", b.platform().name());
        assertEquals(new OptionValue.Int(42), b.options().get("LIBC_WIDTH").value());
        assertEquals(new OptionValue.Bool(true), b.options().get("LIBC_ASSERT").value());
        assertEquals("selected by sched", b.options().get("LIBC_ASSERT").source());
        String h = b.configHeader();
        assertTrue(h.contains("#define CONFIG_LIBC_WIDTH 42LL\n"), h);
        assertTrue(h.contains("#define CONFIG_LIBC_ASSERT 1\n"), h);
        assertTrue(h.contains("#define CONFIG_SCHED_NAME \"a\\\"b\"\n"), h);
        assertTrue(h.contains("#define CONFIG_LIB_ALLOC 1\n"), h);
        assertTrue(b.reasons().get("alloc").getLast().startsWith("alloc ("), b.reasons().toString());
    }

    @Test
    void missingLibraryShowsThePathAndASuggestion() throws Exception {
        basePlatform();
        lib("lib", "sched", "depends = [\"maloc\"]\n");
        lib("lib", "alloc", "provides = [\"malloc\"]\n");
        refused(app("libraries = [\"sched\"]\n"), "missing library: no library is named or provides 'maloc'",
                "app demo (", "-> sched (", "-> needs 'maloc'", "did you mean 'malloc'?");
    }

    @Test
    void twoProvidersMustBeChosenBetween() throws Exception {
        basePlatform();
        lib("lib", "alloc", "provides = [\"malloc\"]\n");
        lib("lib", "bump", "provides = [\"malloc\"]\n");
        refused(app("libraries = [\"malloc\"]\n"), "two providers: 'malloc' is provided by alloc (", "and bump (",
                "[providers] malloc = \"alloc\"");
        assertEquals(List.of("hvt", "bump"), resolve(app("libraries = [\"malloc\"]\n[providers]\nmalloc = \"bump\"\n"))
                .libraries().stream().map(LibraryManifest::name).toList());
        refused(app("libraries = [\"malloc\"]\n[providers]\nmalloc = \"hvt\"\n"), "library 'hvt'", "does not provide 'malloc'");
        refused(app("libraries = [\"malloc\"]\n[providers]\nmalloc = \"nope\"\n"), "there is no library 'nope'");
    }

    @Test
    void cyclesAreRefusedWithTheCycle() throws Exception {
        basePlatform();
        lib("lib", "a", "depends = [\"b\"]\n");
        lib("lib", "b", "depends = [\"c\"]\n");
        lib("lib", "c", "depends = [\"a\"]\n");
        refused(app("libraries = [\"a\"]\n"), "dependency cycle: a (", "-> b (", "-> c (", "-> a (");
    }

    @Test
    void conflictsAreRefusedWithBothPaths() throws Exception {
        basePlatform();
        lib("lib", "a", "conflicts = [\"b\"]\n");
        lib("lib", "b", "");
        lib("lib", "c", "depends = [\"b\"]\n");
        refused(app("libraries = [\"a\", \"c\"]\n"), "conflict: a (", "cannot be linked with b (",
                "b is in the build through: app demo (", "-> c (");
    }

    @Test
    void optionValuesAreChecked() throws Exception {
        basePlatform();
        lib("lib", "libc", "[options.LIBC_WIDTH]\ntype = \"int\"\ndefault = 10\nrange = [1, 100]\nhelp = \"w\"\n"
                + "[options.LIBC_ASSERT]\ntype = \"bool\"\ndefault = false\nhelp = \"a\"\n");
        lib("lib", "other", "[options.OTHER_X]\ntype = \"bool\"\ndefault = false\nhelp = \"x\"\n");
        refused(app("libraries = [\"libc\"]\n[options]\nLIBC_WIDTH = 101\n"),
                "[options] LIBC_WIDTH: value 101 is out of range [1, 100] (declared by libc (");
        refused(app("libraries = [\"libc\"]\n[options]\nLIBC_WIDTH = \"wide\"\n"), "LIBC_WIDTH: expects an integer, got \"wide\"");
        refused(app("libraries = [\"libc\"]\n[options]\nLIBC_ASSERT = 1\n"), "LIBC_ASSERT: expects true or false, got 1");
        refused(app("libraries = [\"libc\"]\n[options]\nLIBC_WIDHT = 3\n"), "no library in this build has that option; did you mean LIBC_WIDTH?");
        refused(app("libraries = [\"libc\"]\n[options]\nOTHER_X = true\n"),
                "it belongs to library 'other', which this app does not use");
    }

    @Test
    void selectAgainstAnExplicitFalseIsAConflict() throws Exception {
        basePlatform();
        lib("lib", "libc", "[options.LIBC_ASSERT]\ntype = \"bool\"\ndefault = false\nhelp = \"a\"\n");
        lib("lib", "sched", "depends = [\"libc\"]\nselects = [\"LIBC_ASSERT\"]\n");
        refused(app("libraries = [\"sched\"]\n[options]\nLIBC_ASSERT = false\n"),
                "conflict: ", "sets LIBC_ASSERT = false, but sched (", "selects it");
        lib("lib", "bad", "selects = [\"NOPE\"]\n");
        refused(app("libraries = [\"bad\"]\n"), "bad (", "selects NOPE, but no library in the build declares it");
    }

    @Test
    void duplicateOptionsAndPlatformsAreRefused() throws Exception {
        basePlatform();
        lib("platform", "other", "provides = [\"platform2\"]\nlinker_script = \"x.ld\"\n");
        refused(app("libraries = [\"other\"]\n"), "the build has 2 platform libraries");
        lib("lib", "x", "[options.SAME]\ntype = \"bool\"\ndefault = false\nhelp = \"a\"\n");
        lib("lib", "y", "[options.SAME]\ntype = \"bool\"\ndefault = false\nhelp = \"a\"\n");
        refused(app("libraries = [\"x\", \"y\"]\n"), "option SAME is declared by both x (", "and y (");
    }

    @Test
    void malformedManifestsNameFileAndLine() throws Exception {
        basePlatform();
        lib("lib", "typo", "sourcse = [\"a.c\"]\n");
        ManifestException e = assertThrows(ManifestException.class, () -> LibraryCatalog.scan(root.resolve("guest")));
        assertTrue(e.getMessage().matches("(?s).*typo/kiln.toml:4: unknown key 'sourcse' in \\[library\\].*"), e.getMessage());
        Files.delete(root.resolve("guest/lib/typo/kiln.toml"));
        lib("lib", "range", "[options.R]\ntype = \"int\"\ndefault = 500\nrange = [1, 100]\nhelp = \"r\"\n");
        e = assertThrows(ManifestException.class, () -> LibraryCatalog.scan(root.resolve("guest")));
        assertTrue(e.getMessage().contains("options.R.default 500 is outside its range [1, 100]"), e.getMessage());
        Files.delete(root.resolve("guest/lib/range/kiln.toml"));
        lib("lib", "escape", "sources = [\"../../etc/passwd\"]\n");
        e = assertThrows(ManifestException.class, () -> LibraryCatalog.scan(root.resolve("guest")));
        assertTrue(e.getMessage().contains("must be a relative path inside"), e.getMessage());
        Files.delete(root.resolve("guest/lib/escape/kiln.toml"));
        lib("lib", "dup", "");
        Files.createDirectories(root.resolve("guest/lib/dup2"));
        Files.writeString(root.resolve("guest/lib/dup2/kiln.toml"), "[library]\nname = \"dup\"\ndescription = \"d\"\n");
        e = assertThrows(ManifestException.class, () -> LibraryCatalog.scan(root.resolve("guest")));
        assertTrue(e.getMessage().contains("library name 'dup' is already used by"), e.getMessage());

        Path bad = app("memory = 1\n");
        e = assertThrows(ManifestException.class, () -> ManifestParser.app(bad));
        assertTrue(e.getMessage().contains("kiln.toml:4: app.memory = 1 MiB is outside 2..4096"), e.getMessage());
        Files.writeString(bad.resolve("kiln.toml"), "[app\nname = 1\n");
        e = assertThrows(ManifestException.class, () -> ManifestParser.app(bad));
        assertTrue(e.getMessage().contains("kiln.toml:1: not valid TOML"), e.getMessage());
        Files.writeString(bad.resolve("kiln.toml"), "[app]\nname = \"a\"\nsources = [\"m.c\"]\n[devices]\nnet = [\"a-b\"]\n");
        e = assertThrows(ManifestException.class, () -> ManifestParser.app(bad));
        assertTrue(e.getMessage().contains("devices.net[0] 'a-b' is not a valid name"), e.getMessage());
    }
}
