package dev.kiln.builder.upstream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class PatchStatsTest {
    @TempDir
    Path tmp;

    @Test
    void countsFilesAndLinesByHunk() throws Exception {
        Path a = tmp.resolve("a.patch");
        // A removed line that reads like a file header ("--- x") and a context line are counted right.
        Files.writeString(a, """
                From: someone
                Subject: fix

                --- a/x.c
                +++ b/x.c
                @@ -1,3 +1,3 @@
                 keep
                --- not a header
                +++ not a header either
                 keep
                --- a/y.c
                +++ b/y.c
                @@ -0,0 +1,2 @@
                +one
                +two
                \\ No newline at end of file
                """);
        Path b = tmp.resolve("b.patch");
        Files.writeString(b, "--- a/z.c\n+++ b/z.c\n@@ -5 +5 @@\n-old\n+new\n");
        PatchStats s = PatchStats.of(List.of(a, b));
        assertEquals(new PatchStats(2, 3, 4, 2), s);
        assertEquals("2 patches, 3 files, +4 -2 lines", s.summary());
        assertEquals("no patches (upstream as released)", PatchStats.of(List.of()).summary());
    }
}
