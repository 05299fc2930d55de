package dev.kiln.monitor.rootfs;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** KFS1 packing and checking (docs/kiln-abi.md 6) on real folders and files. */
class RootfsImageTest {
    @TempDir
    Path tmp;

    /** A tree with nested folders, an empty file, an empty folder, binary contents and non-ASCII names. */
    static Path sampleTree(Path root) throws IOException {
        Files.createDirectories(root.resolve("lib/lua/5.4"));
        Files.createDirectories(root.resolve("empty-dir"));
        Files.writeString(root.resolve("hello.txt"), "hello, rootfs\n");
        Files.writeString(root.resolve("lib/lua/5.4/init.lua"), "return 42\n");
        Files.write(root.resolve("empty"), new byte[0]);
        byte[] binary = new byte[5000];
        for (int i = 0; i < binary.length; i++) binary[i] = (byte) (i * 131 + 7);
        Files.write(root.resolve("lib/data.bin"), binary);
        Files.writeString(root.resolve("lib/Grüße-日本.txt"), "unicode\n");
        Files.setLastModifiedTime(root.resolve("hello.txt"), FileTime.fromMillis(1_700_000_000_123L));
        return root;
    }

    /** Reads an image back the way a guest does: by walking the tree from the root; path to contents ("/" ends a folder). */
    static Map<String, byte[]> read(Path image) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(image)).order(ByteOrder.LITTLE_ENDIAN);
        int count = b.getInt(12);
        long inodes = b.getLong(16), names = b.getLong(24);
        Map<String, byte[]> out = new TreeMap<>();
        walk(b, inodes, names, 0, "", out);
        assertEquals(count, out.size());
        return out;
    }

    private static void walk(ByteBuffer b, long inodes, long names, int ino, String path, Map<String, byte[]> out) {
        int at = (int) (inodes + ino * 48L);
        int mode = b.getInt(at);
        long size = b.getLong(at + 16), data = b.getLong(at + 24);
        if ((mode & 0170000) == 0040000) {
            out.put(path + "/", new byte[0]);
            for (long c = data; c < data + size; c++) {
                int cat = (int) (inodes + c * 48);
                byte[] name = new byte[b.getInt(cat + 8)];
                b.get((int) (names + b.getInt(cat + 4)), name);
                walk(b, inodes, names, (int) c, path + "/" + new String(name, StandardCharsets.UTF_8), out);
            }
        } else {
            byte[] content = new byte[(int) size];
            b.get((int) data, content);
            out.put(path, content);
        }
    }

    @Test
    void aPackedTreeReadsBackWithEveryFileAndFolder() throws Exception {
        Path tree = sampleTree(tmp.resolve("tree"));
        Path image = tmp.resolve("root.kfs");
        RootfsImage.Summary s = RootfsImage.pack(tree, image);
        assertEquals(new RootfsImage.Summary(10, 5, 5, Files.size(image)), s);
        assertEquals(0, s.imageSize() % 512);
        assertEquals(s, RootfsImage.check(image));
        Map<String, byte[]> got = read(image);
        assertEquals("[/, /empty, /empty-dir/, /hello.txt, /lib/, /lib/Grüße-日本.txt, /lib/data.bin, /lib/lua/, /lib/lua/5.4/,"
                + " /lib/lua/5.4/init.lua]", got.keySet().toString().replace("/empty, /empty-dir/", "/empty, /empty-dir/"));
        for (String p : got.keySet()) {
            if (!p.endsWith("/")) assertArrayEquals(Files.readAllBytes(tree.resolve(p.substring(1))), got.get(p), p);
        }
        // the superblock and the first inode as docs/kiln-abi.md 6.1 and 6.2 lay them out
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(image)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals("KILNFS1\0", new String(b.array(), 0, 8, StandardCharsets.US_ASCII));
        assertEquals(1, b.getInt(8));
        assertEquals(512, b.getLong(16));
        assertEquals(0040000, b.getInt(512) & 0170000);
        // hello.txt (root's children sorted: empty, empty-dir, hello.txt, lib): inode 3, its mtime in seconds
        assertEquals(1_700_000_000L, b.getLong(512 + 3 * 48 + 32));
    }

    @Test
    void packingIsDeterministic() throws Exception {
        Path tree = sampleTree(tmp.resolve("tree"));
        RootfsImage.pack(tree, tmp.resolve("a.kfs"));
        RootfsImage.pack(tree, tmp.resolve("b.kfs"));
        assertArrayEquals(Files.readAllBytes(tmp.resolve("a.kfs")), Files.readAllBytes(tmp.resolve("b.kfs")));
    }

    @Test
    void permissionBitsAreKeptAndAnEmptyFolderPacks() throws Exception {
        Path tree = Files.createDirectories(tmp.resolve("tree"));
        Path script = Files.writeString(tree.resolve("run.sh"), "#!/bin/sh\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-x---"));
        Path image = tmp.resolve("root.kfs");
        assertEquals(new RootfsImage.Summary(2, 1, 1, 1536), RootfsImage.pack(tree, image));
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(image)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0100750, b.getInt(512 + 48));
        Path empty = Files.createDirectories(tmp.resolve("nothing"));
        assertEquals(new RootfsImage.Summary(1, 0, 1, 1024), RootfsImage.pack(empty, tmp.resolve("e.kfs")));
        assertEquals(new RootfsImage.Summary(1, 0, 1, 1024), RootfsImage.check(tmp.resolve("e.kfs")));
    }

    private String refusal(Path dir) {
        Path out = tmp.resolve("out.kfs");
        RootfsException e = assertThrows(RootfsException.class, () -> RootfsImage.pack(dir, out));
        assertTrue(!Files.exists(out), "no partial image is left behind");
        return e.getMessage();
    }

    private String refusal(Path dir, RootfsImage.Limits limits) {
        return assertThrows(RootfsException.class, () -> RootfsImage.pack(dir, tmp.resolve("out.kfs"), limits)).getMessage();
    }

    @Test
    void whatCannotBePackedIsRefusedWithItsPathAndReason() throws Exception {
        assertEquals(tmp.resolve("missing") + ": no such folder", refusal(tmp.resolve("missing")));
        Path file = Files.writeString(tmp.resolve("file"), "x");
        assertEquals(file + ": not a folder", refusal(file));

        Path links = Files.createDirectories(tmp.resolve("links"));
        Files.createSymbolicLink(links.resolve("ln"), Path.of("/etc/passwd"));
        assertEquals(links.resolve("ln") + ": a symbolic link (links are not packed; copy the target in instead)", refusal(links));

        Path fifo = Files.createDirectories(tmp.resolve("fifo"));
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.resolve("pipe").toString()).start().waitFor());
        assertEquals(fifo.resolve("pipe") + ": a FIFO (only regular files and folders are packed)", refusal(fifo));

        Path sock = Files.createDirectories(tmp.resolve("sock"));
        try (ServerSocketChannel s = ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(sock.resolve("s")));
            assertEquals(sock.resolve("s") + ": a socket (only regular files and folders are packed)", refusal(sock));
        }

        Path dev = Files.createDirectories(tmp.resolve("dev"));
        Files.createSymbolicLink(dev.resolve("null"), Path.of("/dev/null"));
        assertTrue(refusal(dev).endsWith("null: a symbolic link (links are not packed; copy the target in instead)"));

        Path many = Files.createDirectories(tmp.resolve("many"));
        for (int i = 0; i < 5; i++) Files.writeString(many.resolve("f" + i), "x");
        assertEquals(many + ": more than 4 files and folders (KFS1 holds at most 1000000)",
                refusal(many, new RootfsImage.Limits(4, 1L << 32)));
        assertEquals(many.resolve("f2") + ": the image would be over 2048 bytes (the KFS1 limit is 4 GiB) from this file on",
                refusal(many, new RootfsImage.Limits(100, 2048)));
    }

    /** Linux itself allows no longer name (NAME_MAX) and no NUL, so these are checked on the name alone. */
    @Test
    void namesOver255BytesAreRefused() throws Exception {
        assertEquals(255, RootfsImage.name(tmp.resolve("é".repeat(127) + "x")).length);
        Path tooLong = tmp.resolve("é".repeat(128));
        assertEquals(tooLong + ": the name is 256 bytes, longer than 255",
                assertThrows(RootfsException.class, () -> RootfsImage.name(tooLong)).getMessage());
    }

    @Test
    void anOutputThatCannotBeWrittenIsLeftAlone() throws Exception {
        Path tree = sampleTree(tmp.resolve("tree"));
        Path folder = Files.createDirectories(tmp.resolve("out-is-a-folder"));
        RootfsException e = assertThrows(RootfsException.class, () -> RootfsImage.pack(tree, folder));
        assertTrue(e.getMessage().startsWith(folder + ": cannot create the image: "), e.getMessage());
        assertTrue(Files.isDirectory(folder), "an existing folder is never removed");
    }

    @Test
    void anUnreadableFileIsRefused() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("secret"));
        Path f = Files.writeString(dir.resolve("key"), "x");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("---------"));
        assumeFalse(Files.isReadable(f), "root reads every file");
        assertEquals(f + ": not readable (permission denied)", refusal(dir));
    }

    /** A valid image to damage, and the refusal of the damaged copy. */
    private String corrupt(java.util.function.Consumer<ByteBuffer> damage, boolean fixCrc) throws Exception {
        Path image = tmp.resolve("good.kfs");
        RootfsImage.pack(sampleTree(tmp.resolve("t" + System.nanoTime())), image);
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(image)).order(ByteOrder.LITTLE_ENDIAN);
        damage.accept(b);
        if (fixCrc) {
            // recompute the CRC so that the damage itself is what check() finds
            CRC32 crc = new CRC32();
            b.putInt(48, 0);
            crc.update(b.array(), 0, 64);
            long start = b.getLong(16), end = b.getLong(24) + b.getLong(32);
            crc.update(b.array(), (int) start, (int) (end - start));
            b.putInt(48, (int) crc.getValue());
        }
        Path bad = tmp.resolve("bad.kfs");
        Files.write(bad, b.array());
        return assertThrows(RootfsException.class, () -> RootfsImage.check(bad)).getMessage();
    }

    private static void has(String message, String part) {
        assertTrue(message.contains(part), message);
    }

    @Test
    void damagedImagesAreRefusedWithTheFault() throws Exception {
        has(corrupt(b -> b.put(0, (byte) 'X'), false), "bad magic (expected \"KILNFS1\\0\")");
        has(corrupt(b -> b.putInt(8, 2), false), "version 2 (this monitor reads version 1)");
        has(corrupt(b -> b.put(512 + 60, (byte) 1), false), "header CRC mismatch");
        has(corrupt(b -> b.putInt(12, 5000), true), "the inode table (5000 inodes at 512) ends past the image");
        has(corrupt(b -> b.putLong(32, 1L << 40), true), "the names area");
        // inode 3 (hello.txt): contents past the end, then misaligned
        has(corrupt(b -> b.putLong(512 + 3 * 48 + 24, b.capacity()), true), "inode 3: its contents (14 bytes at");
        has(corrupt(b -> b.putLong(512 + 3 * 48 + 24, b.getLong(512 + 3 * 48 + 24) + 1), true), "inode 3: its contents");
        // a name outside the names area, a directory whose children run off the table, a cycle
        has(corrupt(b -> b.putInt(512 + 3 * 48 + 4, 1 << 20), true), "inode 3: its name (9 bytes at 1048576) is outside the names area");
        has(corrupt(b -> b.putLong(512 + 16, 50), true), "inode 0: its children (50 from inode 1) are not a range of inodes after it");
        has(corrupt(b -> b.putLong(512 + 4 * 48 + 24, 1), true), "inode 4: its children");
        has(corrupt(b -> b.putInt(512 + 2 * 48, 0060644), true), "inode 2: mode 60644 is not a directory or regular file");
        // swapped names break the sort order a guest's binary search needs
        has(corrupt(b -> {
            int a = b.getInt(512 + 48 + 4), c = b.getInt(512 + 4 * 48 + 4);
            int al = b.getInt(512 + 48 + 8), cl = b.getInt(512 + 4 * 48 + 8);
            b.putInt(512 + 48 + 4, c).putInt(512 + 48 + 8, cl).putInt(512 + 4 * 48 + 4, a).putInt(512 + 4 * 48 + 8, al);
        }, true), "are not in strictly increasing name order");
        // a file that is not the size the superblock says
        Path image = tmp.resolve("short.kfs");
        RootfsImage.pack(sampleTree(tmp.resolve("s")), image);
        try (var ch = java.nio.channels.FileChannel.open(image, java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(Files.size(image) - 512);
        }
        assertTrue(assertThrows(RootfsException.class, () -> RootfsImage.check(image)).getMessage().contains("but the file is"));
        assertTrue(assertThrows(RootfsException.class, () -> RootfsImage.check(tmp.resolve("none"))).getMessage().endsWith("none: no such file"));
    }
}
