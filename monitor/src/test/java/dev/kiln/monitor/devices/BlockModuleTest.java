package dev.kiln.monitor.devices;

import dev.kiln.monitor.DeviceAttachment;
import dev.kiln.monitor.Instance;
import dev.kiln.monitor.InstanceSpec;
import dev.kiln.monitor.KvmAvailable;
import dev.kiln.monitor.Monitor;
import dev.kiln.monitor.Outcome;
import dev.kiln.monitor.hvt.FaultKind;
import dev.kiln.monitor.image.GuestImages;
import dev.kiln.monitor.image.HvtImage;
import dev.kiln.monitor.image.ImageException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** BLOCK_BASIC end to end: the blockcheck guest against a real file. */
class BlockModuleTest {
    private static Monitor monitor;
    private static HvtImage image;

    @TempDir
    Path dir;

    @BeforeAll
    static void open() throws ImageException {
        KvmAvailable.require();
        monitor = Monitor.open();
        image = HvtImage.read(GuestImages.path("blockcheck.hvt"));
    }

    @AfterAll
    static void close() {
        if (monitor != null) monitor.close();
    }

    record Run(Outcome outcome, String console) {}

    private Run boot(List<DeviceAttachment> devices, String... args) throws ImageException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (Instance i = monitor.create(InstanceSpec.of(image, out, args).withMemory(4L << 20).withDevices(devices))) {
            return new Run(i.run(), out.toString(StandardCharsets.UTF_8));
        }
    }

    private Path disk(long size) throws Exception {
        Path f = dir.resolve("disk-" + size + ".img");
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            r.setLength(size);
        }
        return f;
    }

    @Test
    void capacityAndBlockSizeReachTheGuest() throws Exception {
        Path f = disk(1 << 20);
        assertEquals("capacity=1048576 block_size=512 handle=1\n",
                boot(List.of(new DeviceAttachment.Block("storage", f, 512)), "info").console());
        assertEquals("capacity=1048576 block_size=4096 handle=1\n",
                boot(List.of(new DeviceAttachment.Block("storage", f, 4096)), "info").console());
        assertEquals("capacity=1048576 block_size=32768 handle=1\n",
                boot(List.of(new DeviceAttachment.Block("storage", f, 32768)), "info").console());
    }

    @Test
    void aBackingFileThatDoesNotEndOnABlockBoundaryIsRefused() throws Exception {
        // solo5-hvt's rule: the tail would be neither readable nor writable by the guest
        Path f = disk((1 << 20) + 100);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> boot(List.of(new DeviceAttachment.Block("storage", f, 512)), "info"));
        assertTrue(e.getMessage().endsWith("is 1048676 bytes, not a multiple of its 512-byte blocks"), e.getMessage());
        // and a block size the manifest's 16-bit field cannot hold
        assertThrows(IllegalArgumentException.class, () -> new DeviceAttachment.Block("storage", f, 65536));
    }

    @Test
    void writesSurviveARebootAndReachTheFile() throws Exception {
        Path f = disk(64 * 1024);
        List<DeviceAttachment> d = List.of(new DeviceAttachment.Block("storage", f, 512));
        assertEquals(new Run(new Outcome.Halted(0), "write ok\n"), boot(d, "write", "42"));
        assertEquals(new Run(new Outcome.Halted(0), "verify ok\n"), boot(d, "verify", "42"));
        assertEquals(new Run(new Outcome.Halted(1), "verify failed\n"), boot(d, "verify", "43"));
        byte[] bytes = Files.readAllBytes(f);
        assertTrue(bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0, "the file holds the guest's data");
    }

    @Test
    void aFlushIsABarrierAndABadHandleIsEinval() throws Exception {
        // docs/kiln-abi.md 1.3: the guest writes, flushes (0), then flushes handles 0 and 99 (-EINVAL)
        Path f = disk(64 * 1024);
        assertEquals(new Run(new Outcome.Halted(0), "flush ok\n"),
                boot(List.of(new DeviceAttachment.Block("storage", f, 512)), "flush"));
        byte[] bytes = Files.readAllBytes(f);
        assertTrue(java.util.stream.IntStream.range(0, 512).anyMatch(i -> bytes[i] != 0), "the flushed block is in the file");
    }

    /**
     * Ordering (issue 10): with a volatile write cache, a power cut leaves exactly what the guest
     * flushed (blocks 0-7) and loses what it had not (8-12); an orderly stop writes everything.
     */
    @Test
    void aPowerCutLeavesWhatWasFlushedAndOnlyThat() throws Exception {
        for (boolean cut : new boolean[] {true, false}) {
            Path f = disk(64 * 512);
            dev.kiln.monitor.WatchedConsole console = new dev.kiln.monitor.WatchedConsole();
            try (Instance i = monitor.create(InstanceSpec.of(image, console, "powercut", "9").withMemory(4L << 20)
                    .withDevices(List.of(new DeviceAttachment.Block("storage", f, 512, true))))) {
                i.start();
                assertTrue(console.await("unflushed\n", java.time.Duration.ofSeconds(30)), console.toString());
                if (cut) i.powerCut();
                else i.stop(dev.kiln.monitor.StopCause.REQUESTED);
                i.awaitOutcome();
            }
            byte[] bytes = Files.readAllBytes(f);
            for (int blk = 0; blk < 13; blk++) {
                boolean written = java.util.stream.IntStream.range(blk * 512, blk * 512 + 512).anyMatch(k -> bytes[k] != 0);
                boolean expected = blk < 8 || !cut;
                assertEquals(expected, written, (cut ? "power cut" : "orderly stop") + ": block " + blk);
            }
        }
    }

    @Test
    void everyBadRequestIsEinvalAndTheGuestGoesOn() throws Exception {
        assertEquals(new Run(new Outcome.Halted(0), "bad ok\n"),
                boot(List.of(new DeviceAttachment.Block("storage", disk(8192), 512)), "bad"));
    }

    @Test
    void aTransferOutsideGuestMemoryIsAGuestFault() throws Exception {
        Run r = boot(List.of(new DeviceAttachment.Block("storage", disk(8192), 512)), "gpa");
        Outcome.Faulted f = assertInstanceOf(Outcome.Faulted.class, r.outcome());
        assertEquals(FaultKind.BAD_GPA, f.kind());
        assertTrue(f.message().startsWith("BLOCK_READ data at 0x3ffff0 (512 bytes) is outside guest memory"), f.message());
    }

    @Test
    void attachmentsMustMatchTheManifest() throws Exception {
        Path f = disk(8192);
        ImageException none = assertThrows(ImageException.class, () -> boot(List.of(), "info"));
        assertTrue(none.getMessage().contains("all declared devices must be attached: block device 'storage'"), none.getMessage());
        ImageException extra = assertThrows(ImageException.class, () -> boot(List.of(
                new DeviceAttachment.Block("storage", f, 512), new DeviceAttachment.Block("other", f, 512)), "info"));
        assertTrue(extra.getMessage().contains("--block:other attaches a device the image does not declare (it declares: block 'storage')"),
                extra.getMessage());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> boot(List.of(new DeviceAttachment.Block("storage", dir.resolve("nope.img"), 512)), "info"));
        assertTrue(missing.getMessage().endsWith("nope.img: no such file"), missing.getMessage());
        IllegalArgumentException tiny = assertThrows(IllegalArgumentException.class,
                () -> boot(List.of(new DeviceAttachment.Block("storage", disk(100), 512)), "info"));
        assertTrue(tiny.getMessage().contains("is 100 bytes, smaller than one 512-byte block"), tiny.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new DeviceAttachment.Block("storage", f, 1000));
    }

    @Test
    void aBackingFileAttachedToOneInstanceIsRefusedToASecond() throws Exception {
        Path f = disk(8192);
        List<DeviceAttachment> d = List.of(new DeviceAttachment.Block("storage", f, 512));
        try (Instance first = monitor.create(InstanceSpec.of(image, new ByteArrayOutputStream(), "info")
                .withMemory(4L << 20).withDevices(d))) {
            // flock(2) locks belong to the open file description: a second open in this process conflicts
            IllegalArgumentException busy = assertThrows(IllegalArgumentException.class, () -> boot(d, "info"));
            assertEquals("block device 'storage': " + f + " is in use by another monitor (it holds a lock on the file)",
                    busy.getMessage());
            assertEquals(new Outcome.Halted(0), first.run(), "the first instance keeps its disk");
        }
        assertEquals(new Run(new Outcome.Halted(0), "capacity=8192 block_size=512 handle=1\n"), boot(d, "info"),
                "the lock goes with the instance that held it");
    }
}
