package dev.kiln.cli;

import dev.kiln.builder.build.Toolchain;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code kiln cc} and {@code kiln build --offline} for upstream sources. */
class CcCommandTest {
    @TempDir
    Path tmp;

    @Test
    void ccCompilesWithTheUpstreamGuestFlags() throws Exception {
        CliRun print = CliRun.of("cc", "--print");
        assertEquals(0, print.status(), print.err());
        assertEquals(String.join(" ", Toolchain.UPSTREAM_CFLAGS), print.out().strip());
        for (String dropped : new String[] {"-mgeneral-regs-only", "-nostdinc", "-ffreestanding", "-Wall"}) {
            assertFalse(print.out().contains(dropped + " "), print.out());
        }
        assertTrue(print.out().contains("-mno-red-zone") && print.out().contains("-ffunction-sections"), print.out());

        // SSE code, which the guest's own flags refuse, compiles.
        Path src = tmp.resolve("half.c");
        Files.writeString(src, "double half(double x) { return x / 2; }\n");
        Path obj = tmp.resolve("half.o");
        CliRun cc = CliRun.of("cc", "-c", src.toString(), "-o", obj.toString());
        assertEquals(0, cc.status(), cc.err());
        assertTrue(Files.size(obj) > 0);

        assertEquals(Main.EXIT_USAGE, CliRun.of("cc").status());
        assertTrue(CliRun.of("help").out().contains(CcCommand.SYNTAX));
    }

    @Test
    void buildOfflineNeverFetches() throws Exception {
        // A guest tree of the real platform and one library whose upstream no cache holds.
        Path guest = tmp.resolve("guest");
        Files.createDirectories(guest.resolve("platform"));
        Files.createSymbolicLink(guest.resolve("platform/hvt"), Path.of("../guest/platform/hvt").toAbsolutePath().normalize());
        Path lib = guest.resolve("lib/remote");
        Files.createDirectories(lib);
        String sha = "5e".repeat(32);
        Files.writeString(lib.resolve("kiln.toml"), "[library]\nname = \"remote\"\ndescription = \"d\"\ndepends = [\"platform\"]\n"
                + "[upstream]\nurl = \"https://example.invalid/remote-1.tar.gz\"\nsha256 = \"" + sha + "\"\n");
        Path app = tmp.resolve("app");
        Files.createDirectories(app);
        Files.writeString(app.resolve("main.c"), "int main(const char *c) { (void)c; return 0; }\n");
        Files.writeString(app.resolve("kiln.toml"), "[app]\nname = \"a\"\nsources = [\"main.c\"]\nlibraries = [\"remote\"]\n");
        CliRun r = CliRun.of("build", "--offline", "--guest-root", guest.toString(), "--out", tmp.resolve("out").toString(), app.toString());
        assertEquals(1, r.status(), r.out());
        assertTrue(r.err().contains("--offline forbids fetching") && r.err().contains("curl -fL -o ")
                && r.err().contains(sha + "-remote-1.tar.gz"), r.err());
    }
}
