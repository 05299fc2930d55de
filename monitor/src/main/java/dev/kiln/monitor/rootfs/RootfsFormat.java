package dev.kiln.monitor.rootfs;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The KFS1 layout (docs/kiln-abi.md 6): a 64-byte superblock, a table of 48-byte inodes, the names
 * area, then file contents at 512-byte boundaries; little-endian throughout.
 */
final class RootfsFormat {
    private RootfsFormat() {}

    static final byte[] MAGIC = {'K', 'I', 'L', 'N', 'F', 'S', '1', 0};
    static final int VERSION = 1;
    static final int SUPERBLOCK_SIZE = 64;
    static final int INODE_SIZE = 48;
    static final int SECTOR = 512;
    static final int MAX_NAME = 255;
    static final int MAX_INODES = 1_000_000;
    static final long MAX_IMAGE = 4L << 30;
    static final int S_IFDIR = 0040000, S_IFREG = 0100000, S_IFMT = 0170000, PERMISSIONS = 0777;
    /** Where the header CRC sits in the superblock (6.1). */
    static final int CRC_OFFSET = 48;

    /** The superblock's fields (6.1); the two reserved fields are always written as zero. */
    record Superblock(int inodeCount, long inodeOffset, long namesOffset, long namesSize, long imageSize, int headerCrc) {
        byte[] encode() {
            ByteBuffer b = ByteBuffer.allocate(SUPERBLOCK_SIZE).order(ByteOrder.LITTLE_ENDIAN);
            b.put(MAGIC).putInt(VERSION).putInt(inodeCount).putLong(inodeOffset).putLong(namesOffset)
                    .putLong(namesSize).putLong(imageSize).putInt(headerCrc).putInt(0).putLong(0);
            return b.array();
        }
    }

    /**
     * One inode (6.2): for a directory {@code size} counts its children and {@code data} is its first
     * child's index. The named fields fill 40 bytes; the last 8 of the 48 are reserved, zero.
     */
    record Inode(int mode, int nameOff, int nameLen, int parent, long size, long data, long mtime, long reserved) {
        Inode(int mode, int nameOff, int nameLen, int parent, long size, long data, long mtime) {
            this(mode, nameOff, nameLen, parent, size, data, mtime, 0);
        }

        boolean isDirectory() {
            return (mode & S_IFMT) == S_IFDIR;
        }

        void encode(ByteBuffer b) {
            b.putInt(mode).putInt(nameOff).putInt(nameLen).putInt(parent).putLong(size).putLong(data).putLong(mtime).putLong(reserved);
        }

        static Inode decode(ByteBuffer b) {
            return new Inode(b.getInt(), b.getInt(), b.getInt(), b.getInt(), b.getLong(), b.getLong(), b.getLong(), b.getLong());
        }
    }

    static long roundUp(long n) {
        return (n + SECTOR - 1) / SECTOR * SECTOR;
    }
}
