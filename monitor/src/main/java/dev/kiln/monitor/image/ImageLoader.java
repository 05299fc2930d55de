package dev.kiln.monitor.image;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * Copies a validated image into guest RAM (hvt ABI section 1). RAM comes zero-filled from the
 * kernel, so BSS (the part of each segment past its file bytes) needs no clearing.
 */
public final class ImageLoader {
    private ImageLoader() {}

    /** Refuses an image that does not fit in {@code memSize} bytes of guest memory. */
    public static void checkFits(HvtImage image, long memSize) throws ImageException {
        if (image.kernelEnd() > memSize) {
            throw new ImageException("image " + image.name() + ": its segments end at 0x"
                    + Long.toHexString(image.kernelEnd()) + ", past guest memory of " + (memSize >> 20)
                    + " MiB (0x" + Long.toHexString(memSize) + "); give the guest more memory with --mem");
        }
    }

    /** Loads every segment's file bytes at its address; {@link #checkFits} must have passed. */
    public static void load(HvtImage image, MemorySegment ram) throws ImageException {
        checkFits(image, ram.byteSize());
        byte[] bytes = image.bytes();
        for (LoadSegment s : image.segments()) {
            MemorySegment.copy(bytes, (int) s.fileOffset(), ram, JAVA_BYTE, s.vaddr(), (int) s.fileSize());
        }
    }
}
