package dev.kiln.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code kiln pack DIR -o IMAGE}: its output, its refusals, its usage errors (the format itself: RootfsImageTest). */
class PackCommandTest {
    @TempDir
    Path tmp;

    @Test
    void packsAFolderAndSaysWhatItHolds() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("site/css"));
        Files.writeString(dir.resolve("a.css"), "body {}\n");
        Path image = tmp.resolve("site.kfs");
        CliRun r = CliRun.of("pack", tmp.resolve("site").toString(), "-o", image.toString());
        assertEquals(new CliRun(0, image + ": 3 inodes (1 files, 2 folders), 1536 bytes\n", ""), r);
        byte[] first = Files.readAllBytes(image);
        assertEquals(0, CliRun.of("pack", "--output=" + image, tmp.resolve("site").toString()).status());
        assertArrayEquals(first, Files.readAllBytes(image), "packing again gives the same bytes");
    }

    @Test
    void refusalsNameThePathAndLeaveNoImage() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("d"));
        Files.createSymbolicLink(dir.resolve("up"), Path.of(".."));
        Path image = tmp.resolve("d.kfs");
        CliRun r = CliRun.of("pack", dir.toString(), "-o", image.toString());
        assertEquals(new CliRun(1, "", "kiln pack: " + dir.resolve("up")
                + ": a symbolic link (links are not packed; copy the target in instead)\n"), r);
        assertFalse(Files.exists(image));
        Files.delete(dir.resolve("up"));
        CliRun itself = CliRun.of("pack", dir.toString(), "-o", dir.resolve("d.kfs").toString());
        assertEquals(new CliRun(1, "", "kiln pack: " + dir.resolve("d.kfs") + " is inside " + dir + ": the image would pack itself\n"), itself);
        Files.createDirectories(dir.resolve("sub"));
        CliRun roundabout = CliRun.of("pack", dir.resolve("sub").toString(), "-o", dir.resolve("sub/x/../d.kfs").toString());
        assertEquals(1, roundabout.status(), "a parent that does not exist: the image cannot be written");
        Files.createDirectories(dir.resolve("sub/x"));
        assertTrue(CliRun.of("pack", dir.resolve("sub").toString(), "-o", dir.resolve("sub/x/../d.kfs").toString()).err()
                .endsWith(" is inside " + dir.resolve("sub") + ": the image would pack itself\n"));
        assertFalse(Files.exists(dir.resolve("d.kfs")) || Files.exists(dir.resolve("sub/d.kfs")));
        CliRun missing = CliRun.of("pack", tmp.resolve("none").toString(), "-o", image.toString());
        assertEquals(new CliRun(1, "", "kiln pack: " + tmp.resolve("none") + ": no such folder\n"), missing);
    }

    @Test
    void badCommandLinesAreUsageErrors() {
        for (String[] args : new String[][] {{"pack"}, {"pack", "dir"}, {"pack", "a", "b", "-o", "x"}, {"pack", "--bogus"}}) {
            CliRun r = CliRun.of(args);
            assertEquals(Main.EXIT_USAGE, r.status(), r.err());
            assertTrue(r.err().startsWith("kiln pack: ") && r.err().contains("usage: kiln pack DIR -o IMAGE"), r.err());
        }
        assertTrue(CliRun.of("pack").err().contains("missing DIR"));
        assertTrue(CliRun.of("pack", "dir").err().contains("missing -o IMAGE"));
        CliRun help = CliRun.of("pack", "--help");
        assertEquals(0, help.status());
        assertTrue(help.out().contains("-o,--output <IMAGE>"), help.out());
        assertTrue(CliRun.of("help").out().contains("kiln pack DIR -o IMAGE"));
    }
}
