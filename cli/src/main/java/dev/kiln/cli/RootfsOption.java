package dev.kiln.cli;

import dev.kiln.cli.CommandLines.UsageException;
import dev.kiln.monitor.DeviceAttachment;
import dev.kiln.monitor.image.DeviceType;
import dev.kiln.monitor.image.HvtImage;
import dev.kiln.monitor.rootfs.RootfsException;
import dev.kiln.monitor.rootfs.RootfsImage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code --rootfs DIR|IMAGE} (docs/kiln-abi.md 6): the read-only block device {@code rootfs}, from
 * a folder packed for this run or from an image {@code kiln pack} made, which is checked first. A
 * packed folder lives in a temporary file only until the device has opened it: {@link #detach} then
 * removes the name, and the open descriptor keeps the contents for the guest, so nothing is left
 * behind however the run ends.
 */
final class RootfsOption implements AutoCloseable {
    static final String DEVICE = "rootfs";

    private final DeviceAttachment.Block attachment;
    private Path temporary;

    private RootfsOption(DeviceAttachment.Block attachment, Path temporary) {
        this.attachment = attachment;
        this.temporary = temporary;
    }

    /** Refuses {@code --rootfs} together with {@code --block:rootfs=FILE}: both would attach one device. */
    static void checkExclusive(String rootfs, List<DeviceAttachment> devices) throws UsageException {
        if (rootfs != null && devices.stream().anyMatch(d -> d.name().equals(DEVICE))) {
            throw new UsageException("--rootfs and --block:rootfs=FILE both attach the device 'rootfs'; give one of them");
        }
    }

    /**
     * Packs or checks {@code source} for {@code image}, which must declare the block device
     * {@code rootfs}; every refusal is an IOException whose message says what is wrong.
     */
    static RootfsOption prepare(Path source, Path imagePath, HvtImage image) throws IOException {
        if (!declared(image)) throw new IOException(imagePath + " declares no block device named 'rootfs'");
        if (Files.isDirectory(source)) {
            Path tmp = Files.createTempFile(temporaryFolder(source), "kiln-rootfs-", ".kfs");
            try {
                RootfsImage.pack(source, tmp);
            } catch (IOException | RuntimeException e) {
                Files.deleteIfExists(tmp);
                throw new RootfsException("--rootfs " + e.getMessage(), e);
            }
            return new RootfsOption(DeviceAttachment.Block.readOnly(DEVICE, tmp), tmp);
        }
        if (!Files.exists(source)) throw new RootfsException("--rootfs " + source + ": no such folder or image");
        try {
            RootfsImage.check(source);
        } catch (RootfsException e) {
            throw new RootfsException("--rootfs " + e.getMessage(), e);
        }
        return new RootfsOption(DeviceAttachment.Block.readOnly(DEVICE, source), null);
    }

    /** True when the image declares the block device 'rootfs'. */
    static boolean declared(HvtImage image) {
        return image.manifest().devices().stream()
                .anyMatch(d -> d.name().equals(DEVICE) && d.type() == DeviceType.BLOCK_BASIC);
    }

    /** An empty root file system (an empty folder packed), for an image run without --rootfs. */
    static RootfsOption empty() throws IOException {
        Path dir = Files.createTempDirectory("kiln-empty-rootfs-");
        try {
            Path tmp = Files.createTempFile(temporaryFolder(dir), "kiln-rootfs-", ".kfs");
            RootfsImage.pack(dir, tmp);
            return new RootfsOption(DeviceAttachment.Block.readOnly(DEVICE, tmp), tmp);
        } finally {
            Files.deleteIfExists(dir);
        }
    }

    /**
     * $XDG_RUNTIME_DIR when it is a folder (tmpfs, the user's own), else the JVM's temporary folder;
     * never one inside the folder being packed, where the image would pack itself.
     */
    private static Path temporaryFolder(Path source) throws IOException {
        List<Path> candidates = new java.util.ArrayList<>();
        String xdg = System.getenv("XDG_RUNTIME_DIR");
        if (xdg != null && !xdg.isEmpty() && Files.isDirectory(Path.of(xdg))) candidates.add(Path.of(xdg));
        candidates.add(Path.of(System.getProperty("java.io.tmpdir")));
        for (Path c : candidates) {
            if (!RootfsImage.isInside(c.resolve("kiln-rootfs.kfs"), source)) return c;
        }
        throw new RootfsException("--rootfs " + source + ": it holds the temporary folders " + candidates
                + " the image would be packed into; pack it with kiln pack DIR -o IMAGE outside it and give --rootfs IMAGE");
    }

    DeviceAttachment.Block attachment() {
        return attachment;
    }

    /** Removes the packed image's name once the device holds it open (a given image is the user's, untouched). */
    void detach() throws IOException {
        if (temporary != null) Files.deleteIfExists(temporary);
        temporary = null; // once: the run may be confined by then (Monitor.confine), with no need to touch files again
    }

    @Override
    public void close() throws IOException {
        detach();
    }
}
