package dev.kiln.monitor.rootfs;

import dev.kiln.monitor.rootfs.RootfsFormat.Inode;
import dev.kiln.monitor.rootfs.RootfsFormat.Superblock;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32;

import static dev.kiln.monitor.rootfs.RootfsFormat.*;

/**
 * Read-only root file system images in the KFS1 format (docs/kiln-abi.md 6), the disk behind
 * {@code kiln run --rootfs}. {@link #pack} turns a folder into an image, the same bytes for the
 * same content (entries sorted by name bytes, breadth first, times taken from the files);
 * {@link #check} validates an image made anywhere before a guest is given it.
 *
 * <p>Only regular files and directories are packed. Symbolic links are refused, not followed:
 * following one could pull in files from outside the folder, and whether a link stays inside
 * depends on the host at packing time; copy the target in instead.
 */
public final class RootfsImage {
    private RootfsImage() {}

    /** What an image holds: its inode count, file and directory counts, and its size in bytes. */
    public record Summary(int inodeCount, int files, int directories, long imageSize) {}

    /** One entry found in the walk, in inode order: its host path, name bytes, attributes and parent. */
    private record Entry(Path path, byte[] name, PosixFileAttributes attrs, int parent) {}

    /**
     * Packs {@code dir} into {@code out} (replaced if it exists; removed again if packing fails).
     * Every refusal names the path and the reason.
     */
    public static Summary pack(Path dir, Path out) throws IOException {
        return pack(dir, out, Limits.KFS1);
    }

    /** The format's ceilings, lowered by tests that cannot create a million files or 4 GiB. */
    record Limits(int inodes, long imageBytes) {
        static final Limits KFS1 = new Limits(MAX_INODES, MAX_IMAGE);
    }

    static Summary pack(Path dir, Path out, Limits limits) throws IOException {
        if (!Files.exists(dir)) throw new RootfsException(dir + ": no such folder");
        if (!Files.isDirectory(dir)) throw new RootfsException(dir + ": not a folder");
        if (isInside(out, dir)) throw new RootfsException(out + " is inside " + dir + ": the image would pack itself");
        return write(walk(dir, limits), out, limits);
    }

    /** Whether {@code file} is (or would be created) somewhere under {@code dir}, links resolved. */
    public static boolean isInside(Path file, Path dir) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent == null || !Files.isDirectory(parent)) return false;
        return parent.toRealPath().startsWith(dir.toRealPath());
    }

    /** Validates the image at {@code image} fully (docs/kiln-abi.md 6.4); the message of a refusal names the first fault. */
    public static Summary check(Path image) throws IOException {
        return RootfsCheck.check(image);
    }

    /**
     * Breadth first, so that each directory's children get consecutive inode numbers (6.2) and
     * every child a higher number than its parent; children sorted by their name bytes.
     */
    private static List<Entry> walk(Path dir, Limits limits) throws IOException {
        List<Entry> entries = new ArrayList<>();
        entries.add(new Entry(dir, new byte[0], attributes(dir, true), 0));
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            if (!e.attrs().isDirectory()) continue;
            List<Entry> children = new ArrayList<>();
            try (DirectoryStream<Path> list = Files.newDirectoryStream(e.path())) {
                for (Path child : list) {
                    children.add(new Entry(child, name(child), attributes(child, false), i));
                    if (entries.size() + children.size() > limits.inodes()) {
                        throw new RootfsException(dir + ": more than " + limits.inodes() + " files and folders (KFS1 holds at most " + MAX_INODES + ")");
                    }
                }
            } catch (AccessDeniedException ex) {
                throw new RootfsException(e.path() + ": cannot list the folder: permission denied", ex);
            }
            children.sort((a, b) -> Arrays.compareUnsigned(a.name(), b.name()));
            entries.addAll(children);
        }
        return entries;
    }

    /** A child's name as KFS1 stores it (6.3): UTF-8, 1..255 bytes, no NUL. */
    static byte[] name(Path child) throws RootfsException {
        String s = child.getFileName().toString();
        if (s.indexOf('\uFFFD') >= 0) {
            // Java sees file names through the locale's charset (sun.jnu.encoding): under LANG=C
            // even a valid UTF-8 name arrives mangled, and would be packed wrong
            String charset = System.getProperty("sun.jnu.encoding", "?");
            throw new RootfsException(child + ": the name is not valid UTF-8" + (charset.equalsIgnoreCase("UTF-8") ? ""
                    : " or cannot be read in this locale (file names decode as " + charset + "; run with a UTF-8 locale, e.g. LC_ALL=C.UTF-8)"));
        }
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length > MAX_NAME) throw new RootfsException(child + ": the name is " + b.length + " bytes, longer than " + MAX_NAME);
        for (byte x : b) {
            if (x == 0) throw new RootfsException(child + ": the name contains a NUL byte");
        }
        return b;
    }

    /** The entry's own attributes (a link is not followed, except the folder named on the command line); refuses what KFS1 cannot hold. */
    private static PosixFileAttributes attributes(Path p, boolean top) throws RootfsException {
        PosixFileAttributes a;
        try {
            a = top ? Files.readAttributes(p, PosixFileAttributes.class)
                    : Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            throw new RootfsException(p + ": cannot read its attributes: " + e.getMessage(), e);
        }
        if (a.isSymbolicLink()) throw new RootfsException(p + ": a symbolic link (links are not packed; copy the target in instead)");
        if (a.isOther()) throw new RootfsException(p + ": " + kind(p) + " (only regular files and folders are packed)");
        if (a.isRegularFile() && !Files.isReadable(p)) throw new RootfsException(p + ": not readable (permission denied)");
        return a;
    }

    private static String kind(Path p) {
        try {
            int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & S_IFMT;
            return switch (mode) {
                case 0010000 -> "a FIFO";
                case 0140000 -> "a socket";
                case 0020000 -> "a character device";
                case 0060000 -> "a block device";
                default -> "a special file";
            };
        } catch (IOException | UnsupportedOperationException e) {
            return "a special file";
        }
    }

    private static int permissions(PosixFileAttributes a) {
        int bits = 0;
        for (PosixFilePermission p : a.permissions()) bits |= 0400 >> p.ordinal(); // OWNER_READ .. OTHERS_EXECUTE in mode-bit order
        return bits & PERMISSIONS;
    }

    private static Summary write(List<Entry> entries, Path out, Limits limits) throws IOException {
        int count = entries.size();
        long inodeOffset = SECTOR;
        long namesOffset = inodeOffset + (long) count * INODE_SIZE;
        long namesSize = 0;
        for (Entry e : entries) namesSize += e.name().length;
        long at = roundUp(namesOffset + namesSize);
        Inode[] inodes = new Inode[count];
        int[] firstChild = new int[count];
        int[] children = new int[count];
        for (int i = 1; i < count; i++) {
            int p = entries.get(i).parent();
            if (children[p]++ == 0) firstChild[p] = i;
        }
        int nameOff = 0, files = 0;
        for (int i = 0; i < count; i++) {
            Entry e = entries.get(i);
            long mtime = Math.max(0, e.attrs().lastModifiedTime().toMillis() / 1000);
            int perms = permissions(e.attrs());
            if (e.attrs().isDirectory()) {
                inodes[i] = new Inode(S_IFDIR | perms, nameOff, e.name().length, e.parent(), children[i], firstChild[i], mtime);
            } else {
                long size = e.attrs().size();
                inodes[i] = new Inode(S_IFREG | perms, nameOff, e.name().length, e.parent(), size, size == 0 ? 0 : at, mtime);
                at = roundUp(at + size);
                files++;
                if (at > limits.imageBytes()) {
                    throw new RootfsException(e.path() + ": the image would be over " + limits.imageBytes() + " bytes (the KFS1 limit is 4 GiB) from this file on");
                }
            }
            nameOff += e.name().length;
        }
        long imageSize = at;
        ByteBuffer table = ByteBuffer.allocate(Math.toIntExact(namesOffset + namesSize - inodeOffset)).order(ByteOrder.LITTLE_ENDIAN);
        for (Inode n : inodes) n.encode(table);
        for (Entry e : entries) table.put(e.name());
        CRC32 crc = new CRC32();
        crc.update(new Superblock(count, inodeOffset, namesOffset, namesSize, imageSize, 0).encode());
        crc.update(table.array());
        byte[] superblock = new Superblock(count, inodeOffset, namesOffset, namesSize, imageSize, (int) crc.getValue()).encode();
        FileChannel opened;
        try {
            opened = FileChannel.open(out, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
        } catch (java.nio.file.NoSuchFileException e) {
            Path parent = out.toAbsolutePath().getParent();
            throw new RootfsException(out + ": cannot create the image: " + (parent != null && Files.isDirectory(parent)
                    ? "the file system refuses a new file there (ENOENT)" : "no such folder " + parent), e);
        } catch (IOException e) {
            // the JDK's messages for these are often just the path; say what was being done and why
            String why = e instanceof AccessDeniedException ? "permission denied" : e.getMessage();
            throw new RootfsException(out + ": cannot create the image: " + why, e);
        }
        // from here on the file is ours: a failure removes it rather than leave half an image
        try (FileChannel ch = opened) {
            writeFully(ch, ByteBuffer.wrap(superblock), 0);
            writeFully(ch, table.flip(), inodeOffset);
            for (int i = 0; i < count; i++) {
                if (!inodes[i].isDirectory() && inodes[i].size() > 0) copy(entries.get(i).path(), inodes[i], ch);
            }
            // the last sector's tail and any gap before it read as zeros
            if (ch.size() < imageSize) writeFully(ch, ByteBuffer.allocate(1), imageSize - 1);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(out);
            throw e;
        }
        return new Summary(count, files, count - files, imageSize);
    }

    /** Copies a file's contents to its place; a file that changed size since the walk is an error, not a silent mismatch. */
    private static void copy(Path file, Inode inode, FileChannel ch) throws IOException {
        byte[] buf = new byte[1 << 16];
        long done = 0;
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                if (done + n > inode.size()) throw new RootfsException(file + ": the file grew while it was packed");
                writeFully(ch, ByteBuffer.wrap(buf, 0, n), inode.data() + done);
                done += n;
            }
        } catch (AccessDeniedException e) {
            throw new RootfsException(file + ": not readable (permission denied)", e);
        }
        if (done != inode.size()) throw new RootfsException(file + ": the file shrank while it was packed");
    }

    private static void writeFully(FileChannel ch, ByteBuffer b, long at) throws IOException {
        while (b.hasRemaining()) at += ch.write(b, at);
    }
}
