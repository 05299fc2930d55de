package dev.kiln.monitor.devices;

import dev.kiln.monitor.DeviceAttachment;
import dev.kiln.monitor.Instance;
import dev.kiln.monitor.InstanceSpec;
import dev.kiln.monitor.KvmAvailable;
import dev.kiln.monitor.Monitor;
import dev.kiln.monitor.Outcome;
import dev.kiln.monitor.image.GuestImages;
import dev.kiln.monitor.image.HvtImage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Read-only block attachment (docs/kiln-abi.md 6.5): writes refused and counted, the file shared, never changed. */
class ReadOnlyBlockTest {
    private static Monitor monitor;
    private static HvtImage blockcheck;

    @TempDir
    Path dir;

    @BeforeAll
    static void open() throws Exception {
        KvmAvailable.require();
        monitor = Monitor.open();
        blockcheck = HvtImage.read(GuestImages.path("blockcheck.hvt"));
    }

    @AfterAll
    static void close() {
        if (monitor != null) monitor.close();
    }

    private Instance create(ByteArrayOutputStream out, DeviceAttachment device, String... args) throws Exception {
        return monitor.create(InstanceSpec.of(blockcheck, out, args).withMemory(4L << 20).withDevices(List.of(device)));
    }

    @Test
    void aWriteIsEinvalAndCountedAndTheFileIsUnchanged() throws Exception {
        byte[] content = new byte[8192];
        Arrays.fill(content, (byte) 0x5a);
        Path f = Files.write(dir.resolve("ro.img"), content);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (Instance i = create(out, DeviceAttachment.Block.readOnly("storage", f), "write", "1")) {
            assertEquals(new Outcome.Halted(1), i.run());
            assertEquals("write failed\n", out.toString(StandardCharsets.UTF_8));
            assertEquals(1, i.readOnlyWritesRefused());
        }
        assertArrayEquals(content, Files.readAllBytes(f));
        // reads work, and the guest's BLOCK_FLUSH has nothing to do: 0
        ByteArrayOutputStream info = new ByteArrayOutputStream();
        try (Instance i = create(info, DeviceAttachment.Block.readOnly("storage", f), "info")) {
            assertEquals(new Outcome.Halted(0), i.run());
            assertEquals("capacity=8192 block_size=512 handle=1\n", info.toString(StandardCharsets.UTF_8));
            assertEquals(0, i.readOnlyWritesRefused());
        }
    }

    @Test
    void readersShareAFileThatNoWriterMayHoldMeanwhile() throws Exception {
        Path f = Files.write(dir.resolve("shared.img"), new byte[4096]);
        DeviceAttachment ro = DeviceAttachment.Block.readOnly("storage", f);
        try (Instance a = create(new ByteArrayOutputStream(), ro, "info");
             Instance b = create(new ByteArrayOutputStream(), ro, "info")) {
            IllegalArgumentException writer = assertThrows(IllegalArgumentException.class,
                    () -> create(new ByteArrayOutputStream(), new DeviceAttachment.Block("storage", f, 512), "info"));
            assertEquals("block device 'storage': " + f + " is in use by another monitor (it holds a lock on the file)", writer.getMessage());
            assertEquals(new Outcome.Halted(0), a.run());
            assertEquals(new Outcome.Halted(0), b.run());
        }
        try (Instance w = create(new ByteArrayOutputStream(), new DeviceAttachment.Block("storage", f, 512), "info")) {
            IllegalArgumentException reader = assertThrows(IllegalArgumentException.class, () -> create(new ByteArrayOutputStream(), ro, "info"));
            assertEquals("block device 'storage': " + f + " is in use by another monitor that may write it (it holds an exclusive lock on the file)",
                    reader.getMessage());
            assertEquals(new Outcome.Halted(0), w.run());
        }
    }

    @Test
    void aReadOnlyFileNeedsOnlyReadPermission() throws Exception {
        Path f = Files.write(dir.resolve("r.img"), new byte[1024]);
        Files.setPosixFilePermissions(f, java.nio.file.attribute.PosixFilePermissions.fromString("r--r--r--"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (Instance i = create(out, DeviceAttachment.Block.readOnly("storage", f), "info")) {
            assertEquals(new Outcome.Halted(0), i.run());
        }
        assertThrows(IllegalArgumentException.class, () -> new DeviceAttachment.Block("storage", f, 512, true, true));
    }
}
