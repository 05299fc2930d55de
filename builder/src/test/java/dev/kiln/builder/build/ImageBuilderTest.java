package dev.kiln.builder.build;

import dev.kiln.builder.manifest.ManifestParser;
import dev.kiln.builder.resolve.LibraryCatalog;
import dev.kiln.builder.resolve.ResolvedBuild;
import dev.kiln.builder.resolve.Resolver;
import dev.kiln.monitor.Instance;
import dev.kiln.monitor.InstanceSpec;
import dev.kiln.monitor.Monitor;
import dev.kiln.monitor.Outcome;
import dev.kiln.monitor.image.DeviceType;
import dev.kiln.monitor.image.HvtImage;
import dev.kiln.monitor.image.Manifest;
import dev.kiln.monitor.kvm.Kvm;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The builder on the real guest tree: reproducible images, the cache, sizes, and images that boot. */
class ImageBuilderTest {
    static final Path GUEST = Path.of(System.getProperty("kiln.guest.root", "../guest"));
    static Toolchain toolchain;

    @TempDir
    Path tmp;

    @BeforeAll
    static void tools() throws BuildException {
        toolchain = Toolchain.detect();
    }

    static ResolvedBuild resolve(Path appDir) throws Exception {
        return Resolver.resolve(ManifestParser.app(appDir), LibraryCatalog.scan(GUEST));
    }

    static BuildReport build(Path appDir, Path out, boolean lto) throws Exception {
        return new ImageBuilder(toolchain, 2).build(resolve(appDir), GUEST, out, lto);
    }

    @Test
    void twoCleanBuildsAreByteIdenticalAndSmall() throws Exception {
        Path app = GUEST.resolve("apps/helloworld");
        BuildReport a = build(app, tmp.resolve("a"), false);
        BuildReport b = build(app, tmp.resolve("b"), false);
        assertArrayEquals(Files.readAllBytes(a.image()), Files.readAllBytes(b.image()));
        assertTrue(a.imageSize() <= 32 * 1024, a.imageSize() + " bytes");
        assertTrue(a.sizes().containsKey(ImageBuilder.APP) && a.sizes().containsKey("hvt"), a.sizes().toString());
        assertTrue(a.sizes().get(ImageBuilder.APP).text() > 0);
        assertTrue(a.table().contains("(all)"));
        assertTrue(a.entryToMain() != null && a.entryToMain().straight() < 20 && !a.entryToMain().loops(),
                "boot path " + a.entryToMain());
        assertTrue(Files.size(a.debug()) > a.imageSize(), "the .dbg keeps symbols");
        HvtImage.read(a.image());
    }

    @Test
    void aRebuildWithNoChangeCompilesNothingAndAChangeRecompilesOnlyWhatItMust() throws Exception {
        Path app = copyApp("tests/hvtcheck");
        Path out = tmp.resolve("out");
        BuildReport first = build(app, out, false);
        assertEquals(0, first.cached());
        byte[] image = Files.readAllBytes(first.image());
        BuildReport again = build(app, out, false);
        assertEquals(0, again.compiled(), "nothing changed");
        assertArrayEquals(image, Files.readAllBytes(again.image()));

        Path src = app.resolve("hvtcheck.c");
        Files.writeString(src, Files.readString(src) + "\n/* a change */\nint kiln_test_marker;\n");
        BuildReport changed = build(app, out, false);
        assertEquals(1, changed.compiled(), "only the changed source");

        Files.writeString(app.resolve("kiln.toml"), Files.readString(app.resolve("kiln.toml")).replace("memory = 8", "memory = 16"));
        assertEquals(0, build(app, out, false).compiled(), "memory is not part of any object");
    }

    @Test
    void declaredDevicesBecomeTheImagesManifest() throws Exception {
        Path app = copyApp("apps/helloworld");
        Files.writeString(app.resolve("kiln.toml"), Files.readString(app.resolve("kiln.toml"))
                + "\n[devices]\nnet = [\"service0\"]\nblock = [\"storage\", \"logs\"]\n");
        HvtImage img = HvtImage.read(build(app, tmp.resolve("out"), false).image());
        assertEquals(List.of(new Manifest.Device(1, "service0", DeviceType.NET_BASIC),
                new Manifest.Device(2, "storage", DeviceType.BLOCK_BASIC),
                new Manifest.Device(3, "logs", DeviceType.BLOCK_BASIC)), img.manifest().devices());
    }

    @Test
    void aCompileErrorNamesTheSourceAndShowsTheCompilersWords() throws Exception {
        Path app = copyApp("apps/helloworld");
        Files.writeString(app.resolve("main.c"), "int main(const char *c) { return undefined_thing; }\n");
        BuildException e = assertThrows(BuildException.class, () -> build(app, tmp.resolve("out"), false));
        assertTrue(e.getMessage().contains("main.c (app)") && e.getMessage().contains("undefined_thing"), e.getMessage());
        // The compiler's message comes right after the one line saying what failed, before gcc's long command line.
        List<String> lines = e.getMessage().lines().toList();
        assertTrue(lines.getFirst().matches("compiling .*main\\.c \\(app\\) failed:"), e.getMessage());
        assertTrue(lines.get(1).matches(".*main\\.c:.*"), "gcc's words first: " + e.getMessage());
        assertTrue(lines.stream().limit(4).anyMatch(l -> l.matches(".*main\\.c:\\d+:\\d+: error: .*")), e.getMessage());
        assertTrue(lines.getLast().startsWith("  command: ") && lines.getLast().contains(" -c "), e.getMessage());
    }

    /** With LTO most code is the optimizer's own object: the size table still accounts for it. */
    @Test
    void theSizeTableCoversLinkTimeOptimizedCode() throws Exception {
        long[] text = new long[2];
        for (boolean lto : new boolean[] {false, true}) {
            BuildReport r = build(GUEST.resolve("apps/kshell"), tmp.resolve("size-lto-" + lto), lto);
            text[lto ? 1 : 0] = r.sizes().values().stream().mapToLong(LinkMap.Sizes::text).sum();
            assertEquals(lto, r.sizes().containsKey(LinkMap.LTO_OWNER), r.sizes().toString());
        }
        assertTrue(text[1] > text[0] / 2, "the LTO build's table counts " + text[1] + " bytes of text, the plain one " + text[0]);
    }

    @Test
    void builtImagesBootInTheirDeclaredMemory() throws Exception {
        String reason = Kvm.unavailableReason();
        if (reason != null) System.err.println("!!! KVM TESTS SKIPPED: " + reason);
        Assumptions.assumeTrue(reason == null, reason);
        for (boolean lto : new boolean[] {false, true}) {
            BuildReport r = build(GUEST.resolve("apps/helloworld"), tmp.resolve("lto-" + lto), lto);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (Monitor m = Monitor.open();
                 Instance i = m.create(InstanceSpec.of(HvtImage.read(r.image()), out, "built", "by", "kiln")
                         .withMemory(2L << 20))) {
                assertEquals(new Outcome.Halted(0), i.run());
            }
            assertTrue(out.toString(StandardCharsets.UTF_8).endsWith("cmdline: built by kiln\n"), out.toString());
        }
    }

    /** The second app: libc, the allocator and the clock at work in a real guest. */
    @Test
    void kshellRunsItsScript() throws Exception {
        String reason = Kvm.unavailableReason();
        Assumptions.assumeTrue(reason == null, reason);
        BuildReport r = build(GUEST.resolve("apps/kshell"), tmp.resolve("kshell"), false);
        assertTrue(r.sizes().containsKey("libc") && r.sizes().containsKey("alloc") && r.sizes().containsKey("sched"),
                r.sizes().toString());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Outcome o;
        try (Monitor m = Monitor.open();
             Instance i = m.create(InstanceSpec.of(HvtImage.read(r.image()), out,
                     "calc (2+3)*7 - 0x10; fib 90; primes 10000; sort 5 -3 9 1; sleep 30; threads 4 3; mem; calc 1/0; exit 3".split(" "))
                     .withMemory(4L << 20))) {
            o = i.run();
        }
        String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(new Outcome.Halted(3), o, text);
        for (String expected : List.of("19 (0x13)\n", "fib(90) = 2880067194370816120\n",
                "1229 primes up to 10000, the largest 9973\n", "-3 1 5 9\n", "calc: division by zero\n", "4 threads counted to 12 in ")) {
            assertTrue(text.contains(expected), () -> "'" + expected + "' not in:\n" + text);
        }
        java.util.regex.Matcher slept = java.util.regex.Pattern.compile("slept (\\d+) us").matcher(text);
        assertTrue(slept.find() && Long.parseLong(slept.group(1)) >= 30_000, text);
        assertTrue(text.contains("in use in 0 allocations") || text.contains("in use in 1 allocations"), text);
    }

    private Path copyApp(String rel) throws IOException {
        Path from = GUEST.resolve(rel);
        Path to = tmp.resolve("app-" + from.getFileName());
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(from)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) Files.copy(p, to.resolve(p.getFileName()));
        }
        return to;
    }
}
