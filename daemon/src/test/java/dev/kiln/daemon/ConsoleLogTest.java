package dev.kiln.daemon;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConsoleLogTest {
    @TempDir
    Path dir;

    @Test
    void rotationKeepsAtMostTwoCapsOfTheNewestOutput() throws Exception {
        ConsoleLog log = new ConsoleLog(dir, "x", 100);
        StringBuilder all = new StringBuilder();
        for (int i = 0; i < 50; i++) {
            String line = "line " + i + "\n";
            all.append(line);
            log.write(line.getBytes(StandardCharsets.UTF_8));
        }
        assertTrue(Files.size(dir.resolve("x.log")) <= 100);
        assertTrue(Files.size(dir.resolve("x.log.1")) <= 100);
        String kept = new String(log.read(), StandardCharsets.UTF_8);
        assertTrue(all.toString().endsWith(kept), kept);
        assertTrue(kept.length() > 100, "the rotated file is read too");
        log.delete();
        assertTrue(Files.notExists(dir.resolve("x.log")) && Files.notExists(dir.resolve("x.log.1")));
    }

    @Test
    void aFollowerGetsWhatWasThereThenEveryWriteThenTheEnd() throws Exception {
        ConsoleLog log = new ConsoleLog(dir, "y", 1 << 20);
        log.write("before\n".getBytes(StandardCharsets.UTF_8));
        ConsoleLog.Follow f = log.follow();
        log.write("after\n".getBytes(StandardCharsets.UTF_8));
        log.endRun();
        assertEquals("before\n", new String(f.sofar(), StandardCharsets.UTF_8));
        assertArrayEquals("after\n".getBytes(StandardCharsets.UTF_8), f.later().poll(1, TimeUnit.SECONDS));
        assertSame(ConsoleLog.END, f.later().poll(1, TimeUnit.SECONDS));
    }
}
