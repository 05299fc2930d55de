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

    /** A block device backed by a file; {@code sectorSize} is a power of two of at least 512. */
    record Block(String name, Path file, int sectorSize) implements DeviceAttachment {
        public static final int DEFAULT_SECTOR_SIZE = 512;

        public Block {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(file, "file");
            if (sectorSize < 512 || Integer.bitCount(sectorSize) != 1 || sectorSize > 65536) {
                throw new IllegalArgumentException("block device '" + name + "': sector size " + sectorSize
                        + " must be a power of two in 512..65536");
            }
        }
    }
}
