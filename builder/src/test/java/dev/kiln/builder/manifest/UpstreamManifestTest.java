package dev.kiln.builder.manifest;

import dev.kiln.builder.upstream.Upstream;
import dev.kiln.builder.upstream.UpstreamOrigin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The [upstream] table, cflags and float in library and app manifests: what parses and what each mistake says. */
class UpstreamManifestTest {
    static final String SHA = "ab".repeat(32);

    @TempDir
    Path dir;

    private LibraryManifest library(String upstream) throws Exception {
        Path file = dir.resolve("kiln.toml");
        Files.writeString(file, "[library]\nname = \"port\"\ndescription = \"d\"\n\n" + upstream);
        return ManifestParser.library(file);
    }

    private ManifestException libraryError(String upstream) {
        return assertThrows(ManifestException.class, () -> library(upstream));
    }

    @Test
    void aDebianUpstreamWithPatchesAndCommands() throws Exception {
        Files.createDirectories(dir.resolve("patches"));
        Files.writeString(dir.resolve("patches/0001-foo.patch"), "");
        LibraryManifest l = library("""
                [upstream]
                debian = "musl"
                version = "1.2.3-1"
                file = "musl_1.2.3.orig.tar.gz"
                sha256 = "%s"
                patches = ["patches/0001-foo.patch"]

                [upstream.build]
                commands = ["./configure CC=\\"$KILN_CC\\"", "make -j$KILN_JOBS lib/libc.a"]
                archives = ["lib/libc.a"]
                include = ["kiln-install/include"]
                """.formatted(SHA.toUpperCase()));
        Upstream u = l.upstream();
        assertEquals(new UpstreamOrigin.Debian("musl", "1.2.3-1", "musl_1.2.3.orig.tar.gz"), u.origin());
        assertEquals(SHA, u.sha256(), "kept lower-case");
        assertEquals(1, u.strip());
        assertEquals(List.of(dir.resolve("patches/0001-foo.patch").toAbsolutePath().normalize()), u.patches());
        assertEquals(List.of("./configure CC=\"$KILN_CC\"", "make -j$KILN_JOBS lib/libc.a"), u.build().commands());
        assertEquals(List.of("lib/libc.a"), u.build().archives());
        assertTrue(l.needsFloat(), "an upstream implies float");
    }

    @Test
    void urlAndLocalOrigins() throws Exception {
        Upstream u = library("[upstream]\nurl = \"https://www.lua.org/ftp/lua-5.4.4.tar.gz\"\nsha256 = \"" + SHA + "\"\nstrip = 0\n"
                + "[upstream.build]\nsources = [\"src/lapi.c\"]\ninclude = [\"src\"]\ncflags = [\"-DLUA_COMPAT_5_3\"]\n").upstream();
        assertEquals(new UpstreamOrigin.Url(URI.create("https://www.lua.org/ftp/lua-5.4.4.tar.gz")), u.origin());
        assertEquals("lua-5.4.4.tar.gz", u.origin().basename());
        assertEquals(0, u.strip());
        assertEquals(List.of("-DLUA_COMPAT_5_3"), u.build().cflags());
        Upstream local = library("[upstream]\ntarball = \"../vendor/x.tar.xz\"\nsha256 = \"" + SHA + "\"\n").upstream();
        assertEquals(new UpstreamOrigin.LocalTarball(dir.resolve("../vendor/x.tar.xz").toAbsolutePath().normalize()), local.origin());
        assertEquals(Upstream.Build.NOTHING, local.build());
    }

    @Test
    void sizeOptimizedSourcesAreSomeOfTheSources() throws Exception {
        String base = "[upstream]\nurl = \"https://x.org/a.tar.gz\"\nsha256 = \"" + SHA + "\"\n"
                + "[upstream.build]\nsources = [\"src/lvm.c\", \"src/lparser.c\"]\n";
        assertEquals(List.of("src/lparser.c"), library(base + "size_optimized = [\"src/lparser.c\"]\n").upstream().build().sizeOptimized());
        assertEquals(List.of(), library(base).upstream().build().sizeOptimized());
        ManifestException e = libraryError(base + "size_optimized = [\"src/lcode.c\"]\n");
        assertTrue(e.getMessage().contains(":10: upstream.build.size_optimized names 'src/lcode.c', which is not one of"
                + " upstream.build.sources"), e.getMessage());
        e = libraryError(base + "size_optimized = [\"../x.c\"]\n");
        assertTrue(e.getMessage().contains("upstream.build.size_optimized: '../x.c' must be a relative path inside"), e.getMessage());
    }

    @Test
    void cflagsAndFloatWithoutUpstream() throws Exception {
        LibraryManifest plain = library("");
        assertNull(plain.upstream());
        assertFalse(plain.needsFloat());
        Path file = dir.resolve("kiln.toml");
        Files.writeString(file, "[library]\nname = \"m\"\ndescription = \"d\"\ncflags = [\"-DX=1\"]\nfloat = true\n");
        LibraryManifest l = ManifestParser.library(file);
        assertEquals(List.of("-DX=1"), l.cflags());
        assertTrue(l.needsFloat());
        Files.writeString(file, "[app]\nname = \"a\"\nsources = [\"m.c\"]\ncflags = [\"-DGLUE\"]\nfloat = true\n");
        AppManifest app = ManifestParser.app(dir);
        assertEquals(List.of("-DGLUE"), app.cflags());
        assertTrue(app.needsFloat());
        Files.writeString(file, "[app]\nname = \"a\"\nsources = [\"m.c\"]\nfloat = 1\n");
        assertTrue(assertThrows(ManifestException.class, () -> ManifestParser.app(dir)).getMessage()
                .contains(":4: app.float must be true or false"));
    }

    @Test
    void anAppMayHaveAnUpstream() throws Exception {
        Files.writeString(dir.resolve("kiln.toml"), "[app]\nname = \"lua\"\nsources = [\"glue.c\"]\n\n[upstream]\nurl = \"http://x.org/a.tgz\"\n"
                + "sha256 = \"" + SHA + "\"\n");
        assertEquals(new UpstreamOrigin.Url(URI.create("http://x.org/a.tgz")), ManifestParser.app(dir).upstream().origin());
    }

    @Test
    void aMissingPatchIsAManifestErrorNamingTheFile() {
        ManifestException e = libraryError("[upstream]\nurl = \"https://x.org/a.tar.gz\"\nsha256 = \"" + SHA + "\"\n"
                + "patches = [\"patches/missing.patch\"]\n");
        assertTrue(e.getMessage().contains("kiln.toml:8:") && e.getMessage().contains("patches/missing.patch")
                && e.getMessage().contains(dir.resolve("patches/missing.patch").toString()), e.getMessage());
    }

    @Test
    void unknownKeysAreErrors() {
        String base = "[upstream]\nurl = \"https://x.org/a.tar.gz\"\nsha256 = \"" + SHA + "\"\n";
        ManifestException e = libraryError(base + "sha1 = \"x\"\n");
        assertTrue(e.getMessage().contains(":8: unknown key 'sha1' in [upstream]"), e.getMessage());
        e = libraryError(base + "[upstream.build]\nsource = [\"a.c\"]\n");
        assertTrue(e.getMessage().contains(":9: unknown key 'source' in [upstream.build]"), e.getMessage());
    }

    @Test
    void eachShapeMistakeIsNamed() {
        String sha = "sha256 = \"" + SHA + "\"\n";
        List<List<String>> cases = List.of(
                List.of("[upstream]\n" + sha, "needs exactly one origin"),
                List.of("[upstream]\nurl = \"https://x.org/a.tgz\"\ntarball = \"a.tgz\"\n" + sha, ":7: [upstream] names two origins, url and tarball"),
                List.of("[upstream]\ndebian = \"musl\"\nfile = \"m.tgz\"\n" + sha, "missing upstream.version"),
                List.of("[upstream]\ndebian = \"musl\"\nversion = \"1\"\n" + sha, "missing upstream.file"),
                List.of("[upstream]\nurl = \"https://x.org/a.tgz\"\nversion = \"1\"\n" + sha, "upstream.version only goes with debian"),
                List.of("[upstream]\nurl = \"ftp://x.org/a.tgz\"\n" + sha, "must be an http:// or https:// URL"),
                List.of("[upstream]\nurl = \"https://x.org/a.tgz\"\n", "missing upstream.sha256"),
                List.of("[upstream]\nurl = \"https://x.org/a.tgz\"\nsha256 = \"abc\"\n", ":7: upstream.sha256 must be 64 hex digits"),
                List.of("[upstream]\nurl = \"https://x.org/a.tgz\"\n" + sha + "strip = -1\n", "upstream.strip = -1 is outside 0..16"),
                List.of("[upstream]\nurl = \"https://x.org/a.tgz\"\n" + sha + "[upstream.build]\nsources = [\"a.c\"]\narchives = [\"a.a\"]\n",
                        "upstream.build.archives needs upstream.build.commands"),
                List.of("[upstream]\nurl = \"https://x.org/a.tgz\"\n" + sha + "[upstream.build]\nsources = [\"../a.c\"]\n",
                        "upstream.build.sources: '../a.c' must be a relative path inside the upstream tree"),
                List.of("[upstream]\nurl = \"https://x.org/a.tgz\"\n" + sha + "patches = [\"/etc/passwd\"]\n",
                        "upstream.patches: '/etc/passwd' must be a relative path inside"));
        for (List<String> c : cases) {
            ManifestException e = libraryError(c.get(0));
            assertTrue(e.getMessage().contains(c.get(1)) && e.getMessage().startsWith(dir.resolve("kiln.toml").toString()),
                    () -> c.get(0) + " gave: " + e.getMessage());
        }
    }

    /** Commands that generate sources (SQLite's amalgamation), then those sources compiled; an app of upstream code only. */
    @Test
    void commandsMayGenerateTheSourcesAndAnAppMayBeAllUpstream() throws Exception {
        String up = """
                [upstream]
                url = "https://x.org/a.tgz"
                sha256 = "%s"

                [upstream.build]
                commands = ["make sqlite3.c shell.c"]
                sources = ["sqlite3.c", "shell.c"]
                """.formatted(SHA);
        Upstream u = library(up).upstream();
        assertEquals(List.of("make sqlite3.c shell.c"), u.build().commands());
        assertEquals(List.of("sqlite3.c", "shell.c"), u.build().sources());
        AppManifest a = ManifestParser.app(dir, "[app]\nname = \"shell\"\nlibraries = []\nsources = []\n\n" + up);
        assertEquals(List.of(), a.sources());
        ManifestException e = assertThrows(ManifestException.class,
                () -> ManifestParser.app(dir, "[app]\nname = \"shell\"\nlibraries = []\nsources = []\n"));
        assertTrue(e.getMessage().contains("app.sources is empty: an app needs at least one source"), e.getMessage());
    }
}
