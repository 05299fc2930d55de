package dev.kiln.cli;

import dev.kiln.monitor.kvm.Kvm;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The SQLite port end to end (issue 11, item 4): the shell as a guest against the same shell built
 * for the host from the same generated sources and options (SqlitePort), on every script in
 * guest/ports/sqlite/tests, byte for byte (console against stdout and stderr together) and exit
 * status; a database on a block device that survives the guest (posix-blockfile, docs/kiln-abi.md
 * 7); speedtest1 at a small size. The images and the host programs are built when missing (the
 * first time: fetching Debian's source and compiling the amalgamation three times takes minutes).
 */
class SqlitePortTest {
    private static final Path TREE = Path.of(System.getProperty("kiln.guest.root", "../guest")).toAbsolutePath().getParent();
    private static final Path OUT = Path.of(System.getProperty("kiln.guest.dir", "../guest/out"));
    private static final Path SCRIPTS = TREE.resolve(SqlitePort.SHELL).resolve("tests");

    @TempDir
    Path tmp;

    @BeforeAll
    static void requireKvm() {
        String reason = Kvm.unavailableReason();
        if (reason != null) System.err.println("!!! KVM TESTS SKIPPED: " + reason);
        Assumptions.assumeTrue(reason == null, () -> "KVM TESTS SKIPPED: " + reason);
    }

    record Proc(int status, String out) {}

    /** A real `kiln run` process; its stdout is the guest's console (stderr must stay empty). */
    private static Proc kiln(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), "dev.kiln.cli.Main"));
        cmd.addAll(List.of(args));
        Path err = Files.createTempFile("kiln-test-", ".err");
        try {
            Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(300, TimeUnit.SECONDS), "kiln " + String.join(" ", args) + " did not end");
            assertEquals("", Files.readString(err), "kiln " + String.join(" ", args) + " wrote to stderr");
            return new Proc(p.exitValue(), out);
        } finally {
            Files.delete(err);
        }
    }

    /** The host program in dir with args, stdout and stderr in one stream as the guest's console has them. */
    private static Proc host(Path program, Path dir, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(program.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().put("TZ", "UTC"); // the guest has no time zone: UTC
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), program + " did not end");
        return new Proc(p.exitValue(), out);
    }

    @Test
    void everyScriptPrintsExactlyWhatTheHostBuildPrints() throws Exception {
        Path image = SqlitePort.guestImage(TREE, SqlitePort.SHELL, OUT);
        Path hostShell = SqlitePort.hostProgram(TREE, SqlitePort.SHELL, OUT);
        List<Path> scripts;
        try (Stream<Path> s = Files.list(SCRIPTS)) {
            scripts = s.filter(p -> p.toString().endsWith(".sql")).sorted().toList();
        }
        assertTrue(scripts.size() >= 7, "the scripts in " + SCRIPTS);
        for (Path script : scripts) {
            String name = script.getFileName().toString();
            Proc expected = host(hostShell, SCRIPTS, ":memory:", ".read " + name);
            Proc guest = kiln("run", "--mem=16", "--rootfs", SCRIPTS.toString(), image.toString(), ":memory:", ".read /" + name);
            assertEquals(expected, guest, name);
            assertFalse(expected.out().isBlank(), name + " prints something");
        }
        // the image stays small (issue 11: <= 1.5 MB)
        long size = Files.size(image);
        System.out.println("sqlite3.hvt: " + size + " bytes");
        assertTrue(size <= 1_500_000, image + " is " + size + " bytes");
    }

    @Test
    void aDatabaseOnABlockDeviceSurvivesTheGuest() throws Exception {
        Path image = SqlitePort.guestImage(TREE, SqlitePort.BLOCK, OUT);
        Path root = Files.createDirectories(tmp.resolve("root"));
        Files.writeString(root.resolve("fill.sql"), """
                CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);
                WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL SELECT x + 1 FROM c WHERE x < 3000)
                INSERT INTO t SELECT x, printf('%0200d', x) FROM c;
                CREATE INDEX tb ON t(b);
                SELECT count(*) FROM t;
                """);
        Path db = tmp.resolve("db.img");
        try (RandomAccessFile f = new RandomAccessFile(db.toFile(), "rw")) {
            f.setLength(8 << 20); // all zero: an empty file
        }
        String dev = "--block:data=" + db;
        String bin = image.toString();
        assertEquals(new Proc(0, "3000\n"), kiln("run", "--mem=16", "--rootfs", root.toString(), dev, bin, "/dev/block/data", ".read /fill.sql"));
        byte[] header = Arrays.copyOf(Files.readAllBytes(db), 24);
        assertArrayEquals("KILNBF1\0".getBytes(StandardCharsets.US_ASCII), Arrays.copyOf(header, 8), "the KILNBF1 header");
        long length = 0;
        for (int i = 15; i >= 8; i--) length = (length << 8) | (header[i] & 0xff);
        assertTrue(length > 600_000 && length % 4096 == 0, "the file's length in the header: " + length);
        // the next guest, same image file: the table is there, whole; it can change it and shrink the file
        assertEquals(new Proc(0, "3000|4501500\nok\n"), kiln("run", "--mem=16", "--rootfs", root.toString(), dev, bin,
                "/dev/block/data", "SELECT count(*), sum(a) FROM t; PRAGMA integrity_check;"));
        assertEquals(new Proc(0, ""), kiln("run", "--mem=16", "--rootfs", root.toString(), dev, bin,
                "/dev/block/data", "DELETE FROM t WHERE a > 10; DROP INDEX tb; VACUUM;"));
        assertEquals(new Proc(0, "10|55\nok\n"), kiln("run", "--mem=16", "--rootfs", root.toString(), dev, bin,
                "/dev/block/data", "SELECT count(*), sum(a) FROM t; PRAGMA integrity_check;"));
        byte[] after = Files.readAllBytes(db);
        long shrunk = 0;
        for (int i = 15; i >= 8; i--) shrunk = (shrunk << 8) | (after[i] & 0xff);
        assertTrue(shrunk < length, "VACUUM shrank the file: " + shrunk + " < " + length);
        // a device that holds something else is refused by name, and never overwritten
        Path other = tmp.resolve("other.img");
        byte[] junk = new byte[1 << 20];
        Arrays.fill(junk, (byte) 'x');
        Files.write(other, junk);
        Proc refused = kiln("run", "--mem=16", "--rootfs", root.toString(), "--block:data=" + other, bin, "/dev/block/data", "SELECT 1;");
        assertTrue(refused.out().contains("posix-blockfile: device 'data' holds something else"), refused.out());
        assertTrue(refused.out().contains("unable to open database"), refused.out());
        assertArrayEquals(junk, Files.readAllBytes(other), "the refused device is untouched");
    }

    @Test
    void speedtest1RunsAtASmallSize() throws Exception {
        Path image = SqlitePort.guestImage(TREE, SqlitePort.SPEEDTEST, OUT);
        Proc r = kiln("run", "--mem=64", image.toString(), "--size", "2", "/tmp/speedtest1.db");
        assertEquals(0, r.status(), r.out());
        assertTrue(SqliteBench.total("guest", r.out()) >= 0, r.out());
        assertFalse(r.out().contains("ENOSYS"), r.out());
        Path host = SqlitePort.hostProgram(TREE, SqlitePort.SPEEDTEST, OUT);
        Proc h = host(host, tmp, "--size", "2", tmp.resolve("s.db").toString());
        assertEquals(0, h.status(), h.out());
        // the same steps on both sides (times aside)
        assertEquals(steps(h.out()), steps(r.out()));
    }

    /** What {@code kiln bench sqlite} prints as the shell's smallest memory (the README records it). */
    @Test
    void theShellsSmallestMemoryIsFound() throws Exception {
        Path image = SqlitePort.guestImage(TREE, SqlitePort.SHELL, OUT);
        try (dev.kiln.monitor.Monitor monitor = dev.kiln.monitor.Monitor.open()) {
            int mib = SqliteBench.smallestShellMemory(monitor, image);
            assertTrue(mib >= 2 && mib <= 8, "the 1,000-row script runs in a few MiB, found: " + mib);
        }
    }

    private static List<String> steps(String out) {
        return out.lines().filter(l -> l.matches("\\s*\\d+ - .*")).map(l -> l.replaceAll("\\.+\\s+[0-9.]+s$", "")).toList();
    }
}
