package dev.kiln.cli;

import dev.kiln.monitor.kvm.Kvm;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code kiln run --rootfs} end to end (issue 11, docs/kiln-abi.md 6): the rootfscheck guest mounts
 * what the host packed and reports every file's hash, which must match the host's own files.
 */
class RootfsRunTest {
    private static final Path GUESTS = Path.of(System.getProperty("kiln.guest.dir", "../guest/out"));
    private static final String ROOTFSCHECK = GUESTS.resolve("rootfscheck.hvt").toString();

    @TempDir
    Path tmp;

    @BeforeAll
    static void requireKvm() {
        String reason = Kvm.unavailableReason();
        if (reason != null) System.err.println("!!! KVM TESTS SKIPPED: " + reason);
        Assumptions.assumeTrue(reason == null, () -> "KVM TESTS SKIPPED: " + reason);
        assertTrue(Files.isRegularFile(Path.of(ROOTFSCHECK)), ROOTFSCHECK
                + " is missing: build the test guests first (./kiln build --out guest/out guest/tests/rootfscheck)");
    }

    /** A tree with nested folders, an empty file and folder, binary data across many blocks, non-ASCII names. */
    private Path tree() throws IOException {
        Path root = tmp.resolve("root");
        Files.createDirectories(root.resolve("lib/lua/5.4"));
        Files.createDirectories(root.resolve("empty-dir"));
        Files.writeString(root.resolve("hello.txt"), "hello, rootfs\n");
        Files.writeString(root.resolve("lib/lua/5.4/init.lua"), "return 42\n");
        Files.write(root.resolve("empty"), new byte[0]);
        byte[] binary = new byte[70_001];
        new Random(11).nextBytes(binary);
        Files.write(root.resolve("lib/data.bin"), binary);
        Files.writeString(root.resolve("lib/Grüße-日本.txt"), "unicode\n");
        Files.writeString(root.resolve("B-upper-sorts-first"), "B\n");
        Files.setLastModifiedTime(root.resolve("hello.txt"), FileTime.fromMillis(1_700_000_000_999L));
        return root;
    }

    /** What rootfscheck's tree mode prints for {@code root}, computed from the host's files. */
    private static String expectedTree(Path root) throws IOException {
        StringBuilder b = new StringBuilder();
        expectedTree(root, "", b);
        return b.toString();
    }

    private static void expectedTree(Path dir, String path, StringBuilder b) throws IOException {
        List<Path> children;
        try (Stream<Path> s = Files.list(dir)) {
            children = new ArrayList<>(s.toList());
        }
        children.sort((x, y) -> Arrays.compareUnsigned(bytes(x), bytes(y)));
        long subdirs = children.stream().filter(Files::isDirectory).count();
        b.append("d ").append(path.isEmpty() ? "/" : path).append(" mode=").append(Integer.toOctalString(0040000 | perms(dir)))
                .append(" nlink=").append(2 + subdirs).append(" entries=").append(children.size()).append('\n');
        for (Path c : children) {
            String p = path + "/" + c.getFileName();
            if (Files.isDirectory(c)) {
                expectedTree(c, p, b);
            } else {
                byte[] data = Files.readAllBytes(c);
                long h = 0xcbf29ce484222325L;
                for (byte x : data) {
                    h ^= x & 0xff;
                    h *= 0x100000001b3L;
                }
                b.append("f ").append(p).append(" mode=").append(Integer.toOctalString(0100000 | perms(c)))
                        .append(" size=").append(data.length).append(" mtime=").append(Files.getLastModifiedTime(c).toMillis() / 1000)
                        .append(" fnv=").append(Long.toHexString(h)).append('\n');
            }
        }
    }

    private static byte[] bytes(Path p) {
        return p.getFileName().toString().getBytes(StandardCharsets.UTF_8);
    }

    private static int perms(Path p) throws IOException {
        int bits = 0;
        for (PosixFilePermission x : Files.getPosixFilePermissions(p)) bits |= 0400 >> x.ordinal();
        return bits;
    }

    record Proc(int status, String out, String err) {}

    /** A real `kiln run` process (the guest's console is the process's stdout); XDG_RUNTIME_DIR is {@code runtime}. */
    private static Proc kiln(Path runtime, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), "dev.kiln.cli.Main"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("XDG_RUNTIME_DIR", runtime.toString());
        Path err = Files.createTempFile("kiln-test-", ".err");
        try {
            Process p = pb.redirectError(err.toFile()).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "kiln " + String.join(" ", args) + " did not end");
            return new Proc(p.exitValue(), out, Files.readString(err));
        } finally {
            Files.delete(err);
        }
    }

    @Test
    void theGuestReadsWhatTheHostPackedAndNothingIsLeftBehind() throws Exception {
        Path root = tree();
        Path runtime = Files.createDirectories(tmp.resolve("runtime"));
        Proc r = kiln(runtime, "run", "--mem=8", "--rootfs", root.toString(), ROOTFSCHECK, "tree");
        assertEquals(new Proc(0, expectedTree(root), ""), r);
        try (Stream<Path> left = Files.list(runtime)) {
            assertEquals(List.of(), left.toList(), "the packed image is removed");
        }
        // a runtime folder inside the tree is not where the image goes (it would pack itself)
        Path inside = Files.createDirectories(root.resolve("run"));
        assertEquals(new Proc(0, expectedTree(root), ""), kiln(inside, "run", "--mem=8", "--rootfs", root.toString(), ROOTFSCHECK, "tree"));
        Files.delete(inside);
        // the same through an image kiln pack made
        Path image = tmp.resolve("root.kfs");
        CliRun pack = CliRun.of("pack", root.toString(), "-o", image.toString());
        assertEquals(0, pack.status(), pack.err());
        assertEquals(image + ": 11 inodes (6 files, 5 folders), " + Files.size(image) + " bytes\n", pack.out());
        assertEquals(new Proc(0, expectedTree(root), ""), kiln(runtime, "run", "--mem=8", "--rootfs=" + image, ROOTFSCHECK, "tree"));
    }

    @Test
    void lookupsAndErrorsAreThoseOfTheApi() throws Exception {
        Path root = tree();
        Path runtime = Files.createDirectories(tmp.resolve("runtime"));
        assertEquals(new Proc(0, "errors ok\n", ""), kiln(runtime, "run", "--mem=8", "--rootfs", root.toString(), ROOTFSCHECK, "errors"));
        // inodes breadth first: 0 /, 1 B-upper..., 2 empty, 3 empty-dir, 4 hello.txt, 5 lib, 6 lib/Grüße, 7 lib/data.bin, 8 lib/lua, 9 lib/lua/5.4
        String longName = "x".repeat(256);
        Proc r = kiln(runtime, "run", "--mem=8", "--rootfs", root.toString(), ROOTFSCHECK, "lookup",
                "/", "//", "hello.txt", "/lib/../hello.txt", "/lib/./lua//5.4/", "/..", "../../lib", "/hello.txt/", "/hello.txt/x",
                "/hello.txt/..", "/nope", "/lib/nope/x", "/" + longName, "/lib/lua/5.4/init.lua", "/Lib");
        assertEquals(new Proc(0, String.join("\n", "/ -> 0", "// -> 0", "hello.txt -> 4", "/lib/../hello.txt -> 4",
                "/lib/./lua//5.4/ -> 9", "/.. -> 0", "../../lib -> 5", "/hello.txt/ -> -20", "/hello.txt/x -> -20",
                "/hello.txt/.. -> -20", "/nope -> -2", "/lib/nope/x -> -2", "/" + longName + " -> -36",
                "/lib/lua/5.4/init.lua -> 10", "/Lib -> -2") + "\n", ""), r);
    }

    @Test
    void aGuestWriteToTheRootfsIsRefusedAndCounted() throws Exception {
        Path root = tree();
        Path image = tmp.resolve("root.kfs");
        assertEquals(0, CliRun.of("pack", root.toString(), "-o", image.toString()).status());
        byte[] before = Files.readAllBytes(image);
        Proc r = kiln(tmp, "run", "--mem=8", "--stats", "--rootfs", image.toString(), ROOTFSCHECK, "write");
        assertEquals(0, r.status(), r.err());
        assertEquals("write refused\n", r.out());
        assertTrue(r.err().contains("BLOCK_WRITE 1") && r.err().contains("writes to read-only block devices refused 1"), r.err());
        assertTrue(Arrays.equals(before, Files.readAllBytes(image)), "the image is unchanged");
    }

    @Test
    void badFoldersAndImagesAreRefusedWithTheReason() throws Exception {
        Path root = tree();
        Files.createSymbolicLink(root.resolve("lib/passwd"), Path.of("/etc/passwd"));
        CliRun link = CliRun.of("run", "--mem=8", "--rootfs", root.toString(), ROOTFSCHECK, "tree");
        assertEquals(Main.EXIT_CANNOT_START, link.status());
        assertEquals("kiln: --rootfs " + root.resolve("lib/passwd") + ": a symbolic link (links are not packed; copy the target in instead)\n",
                link.err());
        CliRun missing = CliRun.of("run", "--mem=8", "--rootfs", tmp.resolve("nothing").toString(), ROOTFSCHECK, "tree");
        assertEquals(Main.EXIT_CANNOT_START, missing.status());
        assertEquals("kiln: --rootfs " + tmp.resolve("nothing") + ": no such folder or image\n", missing.err());
        Path junk = Files.write(tmp.resolve("junk.kfs"), new byte[1024]);
        CliRun bad = CliRun.of("run", "--mem=8", "--rootfs", junk.toString(), ROOTFSCHECK, "tree");
        assertEquals(Main.EXIT_CANNOT_START, bad.status());
        assertEquals("kiln: --rootfs " + junk + ": not a KFS1 image: bad magic (expected \"KILNFS1\\0\")\n", bad.err());
        // an app that declares no 'rootfs' device
        String blockcheck = GUESTS.resolve("blockcheck.hvt").toString();
        CliRun undeclared = CliRun.of("run", "--mem=8", "--rootfs", tmp.resolve("nothing").toString(), blockcheck, "info");
        assertEquals(Main.EXIT_CANNOT_START, undeclared.status());
        assertEquals("kiln: " + blockcheck + " declares no block device named 'rootfs'\n", undeclared.err());
        // both ways of attaching one device
        CliRun both = CliRun.of("run", "--rootfs", root.toString(), "--block:rootfs=" + junk, ROOTFSCHECK, "tree");
        assertEquals(Main.EXIT_USAGE, both.status());
        assertTrue(both.err().startsWith("kiln run: --rootfs and --block:rootfs=FILE both attach the device 'rootfs'; give one of them\n"), both.err());
    }

    /** The guest library validates on its own: an image attached with --block (no host check) with a damaged table is refused at mount. */
    @Test
    void theGuestRefusesADamagedImageAtMount() throws Exception {
        Path root = tree();
        Path image = tmp.resolve("root.kfs");
        assertEquals(0, CliRun.of("pack", root.toString(), "-o", image.toString()).status());
        byte[] b = Files.readAllBytes(image);
        b[512 + 60] ^= 1; // inode 1's reserved field: the CRC no longer matches
        Files.write(image, b);
        Proc crc = kiln(tmp, "run", "--mem=8", "--block:rootfs=" + image, ROOTFSCHECK, "mount");
        assertEquals(new Proc(1, "rootfs: rootfs: not a KFS1 image: header CRC mismatch: the superblock, inode table or names are damaged\n"
                + "mount=-22\n", ""), crc);
        b[512 + 60] ^= 1;
        b[0] = 'X';
        Files.write(image, b);
        Proc magic = kiln(tmp, "run", "--mem=8", "--block:rootfs=" + image, ROOTFSCHECK, "mount");
        assertEquals(new Proc(1, "rootfs: rootfs: not a KFS1 image: bad magic (expected \"KILNFS1\\0\")\nmount=-22\n", ""), magic);
    }
}
