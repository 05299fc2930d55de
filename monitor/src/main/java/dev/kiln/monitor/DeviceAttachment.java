package dev.kiln.monitor;

import java.nio.file.Path;
import java.util.Objects;

/**
 * What the operator attaches to a device the image declares in its manifest (hvt ABI section 2):
 * the declared name and the host resource behind it. Solo5's command line spells them
 * {@code --block:NAME=FILE} and {@code --net:NAME=TAP}.
 */
public sealed interface DeviceAttachment {
    String name();

    /**
     * A block device backed by a file; {@code sectorSize} is a power of two of at least 512.
     * {@code volatileCache}: writes stay in a simulated volatile cache until the guest flushes
     * (BLOCK_FLUSH) or ends in order, so that {@link Instance#powerCut} can drop them: for proving
     * a guest's durability ordering, never for a disk that matters. {@code readOnly}: the file is
     * opened O_RDONLY under a shared lock, so several guests can share it, and every BLOCK_WRITE is
     * refused with EINVAL (the root file system image of docs/kiln-abi.md 6).
     */
    record Block(String name, Path file, int sectorSize, boolean volatileCache, boolean readOnly) implements DeviceAttachment {
        public static final int DEFAULT_SECTOR_SIZE = 512;
        public static final int MAX_SECTOR_SIZE = 32768;

        public Block {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(file, "file");
            // The manifest's block_size is a u16 (hvt ABI section 2): 65536 would reach the guest as 0.
            if (sectorSize < 512 || Integer.bitCount(sectorSize) != 1 || sectorSize > MAX_SECTOR_SIZE) {
                throw new IllegalArgumentException("block device '" + name + "': sector size " + sectorSize
                        + " must be a power of two in 512..32768 (the manifest's block_size is 16 bits)");
            }
            if (volatileCache && readOnly) throw new IllegalArgumentException("block device '" + name + "': a read-only device has no write cache");
        }

        /** As above, writable. */
        public Block(String name, Path file, int sectorSize, boolean volatileCache) {
            this(name, file, sectorSize, volatileCache, false);
        }

        /** A read-only block device of 512-byte sectors. */
        public static Block readOnly(String name, Path file) {
            return new Block(name, file, DEFAULT_SECTOR_SIZE, false, true);
        }

        /** A block device whose writes go to its file at once. */
        public Block(String name, Path file, int sectorSize) {
            this(name, file, sectorSize, false);
        }
    }

    /**
     * A network device on a host tap interface; {@code mac} is six bytes, or null for a random
     * locally administered address.
     */
    record Net(String name, String tap, byte[] mac) implements DeviceAttachment {
        public Net {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(tap, "tap");
            if (mac != null) {
                if (mac.length != 6) throw new IllegalArgumentException("net device '" + name + "': a MAC has 6 bytes");
                if ((mac[0] & 1) != 0) {
                    throw new IllegalArgumentException("net device '" + name + "': " + format(mac) + " is a multicast address");
                }
                mac = mac.clone();
            }
        }

        /** Parses {@code xx:xx:xx:xx:xx:xx}. */
        public static byte[] parseMac(String text) {
            String[] parts = text.split(":", -1);
            if (parts.length != 6) throw new IllegalArgumentException("MAC '" + text + "' must be six hex bytes like 02:00:00:00:00:01");
            byte[] mac = new byte[6];
            for (int i = 0; i < 6; i++) {
                if (!parts[i].matches("[0-9A-Fa-f]{2}")) {
                    throw new IllegalArgumentException("MAC '" + text + "' must be six hex bytes like 02:00:00:00:00:01");
                }
                mac[i] = (byte) Integer.parseInt(parts[i], 16);
            }
            return mac;
        }

        public static String format(byte[] mac) {
            StringBuilder b = new StringBuilder();
            for (byte x : mac) b.append(b.isEmpty() ? "" : ":").append(String.format("%02x", x & 0xff));
            return b.toString();
        }
    }
}
