package dev.kiln.monitor.rootfs;

import dev.kiln.monitor.rootfs.RootfsFormat.Inode;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.zip.CRC32;

import static dev.kiln.monitor.rootfs.RootfsFormat.*;

/**
 * The validation of docs/kiln-abi.md 6.4, rule by rule, so that an image made by hand or damaged
 * on the way is refused with its first fault before any guest reads it. The guest library checks
 * the same rules at mount; this is the host's copy, for a message the operator sees.
 */
final class RootfsCheck {
    private RootfsCheck() {}

    static RootfsImage.Summary check(Path image) throws IOException {
        try (FileChannel ch = FileChannel.open(image, StandardOpenOption.READ)) {
            return check(image, ch);
        } catch (NoSuchFileException e) {
            throw new RootfsException(image + ": no such file", e);
        }
    }

    private static RootfsImage.Summary check(Path image, FileChannel ch) throws IOException {
        String where = image + ": not a KFS1 image: ";
        long fileSize = ch.size();
        if (fileSize < SECTOR) throw new RootfsException(where + "it is " + fileSize + " bytes, smaller than one 512-byte superblock sector");
        ByteBuffer sb = read(ch, 0, SUPERBLOCK_SIZE);
        byte[] magic = new byte[8];
        sb.get(magic);
        if (!Arrays.equals(magic, MAGIC)) throw new RootfsException(where + "bad magic (expected \"KILNFS1\\0\")");
        int version = sb.getInt();
        if (version != VERSION) throw new RootfsException(where + "version " + Integer.toUnsignedString(version) + " (this monitor reads version 1)");
        long count = Integer.toUnsignedLong(sb.getInt());
        long inodeOffset = sb.getLong(), namesOffset = sb.getLong(), namesSize = sb.getLong(), imageSize = sb.getLong();
        int crc = sb.getInt(), reserved = sb.getInt();
        long reserved2 = sb.getLong();
        if (reserved != 0 || reserved2 != 0) throw new RootfsException(where + "the reserved superblock fields are not zero");
        if (imageSize != fileSize) throw new RootfsException(where + "image_size is " + Long.toUnsignedString(imageSize) + " but the file is " + fileSize + " bytes");
        if (imageSize % SECTOR != 0) throw new RootfsException(where + "image_size " + imageSize + " is not a multiple of 512");
        if (imageSize > MAX_IMAGE) throw new RootfsException(where + "image_size " + imageSize + " is over the 4 GiB limit");
        if (count < 1 || count > MAX_INODES) throw new RootfsException(where + "inode_count " + count + " is not in 1.." + MAX_INODES);
        if (inodeOffset < SUPERBLOCK_SIZE || inodeOffset % SECTOR != 0 || inodeOffset > imageSize) {
            throw new RootfsException(where + "inode_offset " + Long.toUnsignedString(inodeOffset) + " is not a 512-aligned offset after the superblock inside the image");
        }
        long tableEnd = inodeOffset + count * INODE_SIZE;
        if (tableEnd > imageSize) throw new RootfsException(where + "the inode table (" + count + " inodes at " + inodeOffset + ") ends past the image");
        if (namesOffset < tableEnd || namesOffset > imageSize || namesSize > imageSize - namesOffset) {
            throw new RootfsException(where + "the names area (" + Long.toUnsignedString(namesSize) + " bytes at "
                    + Long.toUnsignedString(namesOffset) + ") is not between the inode table and the end of the image");
        }
        if (namesSize > count * MAX_NAME) throw new RootfsException(where + "names_size " + namesSize + " is more than " + count + " names can use");
        ByteBuffer table = read(ch, inodeOffset, (int) (count * INODE_SIZE));
        byte[] names = read(ch, namesOffset, (int) namesSize).array();
        CRC32 sum = new CRC32();
        ByteBuffer zeroed = read(ch, 0, SUPERBLOCK_SIZE);
        zeroed.putInt(CRC_OFFSET, 0);
        sum.update(zeroed.array());
        sum.update(table.array());
        sum.update(names);
        if ((int) sum.getValue() != crc) {
            throw new RootfsException(where + "header CRC mismatch (stored " + Integer.toHexString(crc) + ", computed "
                    + Long.toHexString(sum.getValue()) + "): the superblock, inode table or names are damaged");
        }
        Inode[] inodes = new Inode[(int) count];
        for (int i = 0; i < count; i++) inodes[i] = Inode.decode(table);
        long dataStart = namesOffset + namesSize;
        long children = 0;
        int files = 0;
        for (int i = 0; i < count; i++) {
            Inode n = inodes[i];
            String at = where + "inode " + i + ": ";
            int type = n.mode() & S_IFMT;
            if ((type != S_IFDIR && type != S_IFREG) || (n.mode() & ~(S_IFMT | PERMISSIONS)) != 0) {
                throw new RootfsException(at + "mode " + Integer.toOctalString(n.mode()) + " is not a directory or regular file with permission bits");
            }
            if (i == 0) {
                if (type != S_IFDIR || n.nameLen() != 0 || n.parent() != 0) throw new RootfsException(at + "the root must be a directory with no name and parent 0");
            } else {
                checkName(at, n, names, inodes);
            }
            if (n.reserved() != 0) throw new RootfsException(at + "the reserved field is not zero");
            if (n.mtime() < 0) throw new RootfsException(at + "mtime " + Long.toUnsignedString(n.mtime()) + " is out of range");
            if (type == S_IFREG) {
                files++;
                if (n.size() == 0 ? n.data() != 0 : (n.data() % SECTOR != 0 || n.data() < dataStart || n.data() > imageSize
                        || n.size() < 0 || n.size() > imageSize - n.data())) {
                    throw new RootfsException(at + "its contents (" + Long.toUnsignedString(n.size()) + " bytes at "
                            + Long.toUnsignedString(n.data()) + ") are not a 512-aligned range after the names inside the image");
                }
            }
        }
        // a second pass: children's names are checked by now, so their order can be compared
        for (int i = 0; i < count; i++) {
            if (!inodes[i].isDirectory()) continue;
            checkChildren(where + "inode " + i + ": ", i, inodes[i], names, inodes);
            children += inodes[i].size();
        }
        // every inode but the root is some directory's child once: child ranges never overlap (each
        // child names its own parent) and together they cover the rest of the table
        if (children != count - 1) throw new RootfsException(where + "the directories have " + children + " children in all, not " + (count - 1));
        return new RootfsImage.Summary((int) count, files, (int) count - files, imageSize);
    }

    private static void checkName(String at, Inode n, byte[] names, Inode[] inodes) throws RootfsException {
        long len = Integer.toUnsignedLong(n.nameLen()), off = Integer.toUnsignedLong(n.nameOff());
        if (len < 1 || len > MAX_NAME) throw new RootfsException(at + "name_len " + len + " is not in 1..255");
        if (off > names.length || len > names.length - off) throw new RootfsException(at + "its name (" + len + " bytes at " + off + ") is outside the names area");
        if (Integer.toUnsignedLong(n.parent()) >= inodes.length) throw new RootfsException(at + "parent " + Integer.toUnsignedString(n.parent()) + " is not an inode");
        boolean dots = len <= 2 && names[(int) off] == '.' && (len == 1 || names[(int) off + 1] == '.');
        if (dots) throw new RootfsException(at + "the name is \".\" or \"..\"");
        for (long k = off; k < off + len; k++) {
            if (names[(int) k] == 0 || names[(int) k] == '/') throw new RootfsException(at + "the name contains a NUL or '/'");
        }
    }

    private static void checkChildren(String at, int dir, Inode n, byte[] names, Inode[] inodes) throws RootfsException {
        if (n.size() == 0) {
            if (n.data() != 0) throw new RootfsException(at + "an empty directory's first child must be 0");
            return;
        }
        // children after their parent: following parents always reaches the root, never a cycle
        if (n.data() <= dir || n.data() >= inodes.length || n.size() < 0 || n.size() > inodes.length - n.data()) {
            throw new RootfsException(at + "its children (" + Long.toUnsignedString(n.size()) + " from inode "
                    + Long.toUnsignedString(n.data()) + ") are not a range of inodes after it");
        }
        for (long c = n.data(); c < n.data() + n.size(); c++) {
            Inode child = inodes[(int) c];
            if (child.parent() != dir) throw new RootfsException(at + "child inode " + c + " names parent " + child.parent());
            if (c > n.data() && compare(inodes[(int) c - 1], child, names) >= 0) {
                throw new RootfsException(at + "children " + (c - 1) + " and " + c + " are not in strictly increasing name order");
            }
        }
    }

    /** memcmp order of two names already checked to be inside the names area (6.2). */
    private static int compare(Inode a, Inode b, byte[] names) {
        return Arrays.compareUnsigned(names, a.nameOff(), a.nameOff() + a.nameLen(), names, b.nameOff(), b.nameOff() + b.nameLen());
    }

    private static ByteBuffer read(FileChannel ch, long at, int len) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (ch.read(b, at + b.position()) < 0) throw new RootfsException("unexpected end of the image");
        }
        return b.flip();
    }
}
