package dev.kiln.monitor.vstate;

import dev.kiln.monitor.ExecutionMode;
import dev.kiln.monitor.Instance;
import dev.kiln.monitor.InstanceSpec;
import dev.kiln.monitor.KvmAvailable;
import dev.kiln.monitor.Monitor;
import dev.kiln.monitor.Outcome;
import dev.kiln.monitor.WatchedConsole;
import dev.kiln.monitor.image.GuestImages;
import dev.kiln.monitor.image.HvtImage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Pause, snapshot, restore and copy-on-write clones, with a guest that checks its own state. */
class SnapshotTest {
    static Monitor monitor;
    static HvtImage check;

    @TempDir
    Path dir;

    /** Waits for the guest to print {@code s}; fails the test after 30 s, naming what never appeared. */
    static void await(WatchedConsole console, String s) throws InterruptedException {
        assertTrue(console.await(s, Duration.ofSeconds(30)), () -> "'" + s + "' never appeared in: " + console);
    }

    @BeforeAll
    static void open() throws Exception {
        KvmAvailable.require();
        monitor = Monitor.open();
        check = HvtImage.read(GuestImages.path("hvtcheck.hvt"));
    }

    @AfterAll
    static void close() {
        if (monitor != null) monitor.close();
    }

    /** Runs "count 30" until round 5, pauses it, writes a snapshot; the original then finishes too. */
    private Path snapshotMidway() throws Exception {
        Path file = dir.resolve("count.snap");
        WatchedConsole console = new WatchedConsole();
        try (Instance i = monitor.create(InstanceSpec.of(check, console, "count", "30").withMemory(8L << 20))) {
            i.start();
            await(console, "count 5 ");
            i.pause();
            assertTrue(i.paused());
            i.snapshot(file);
            i.resume();
            assertEquals(new Outcome.Halted(0), i.outcome().get(30, TimeUnit.SECONDS));
        }
        assertTrue(console.toString().endsWith("count 29 sum=105472\ncount done ok\n"), console.toString());
        return file;
    }

    @Test
    void aRestoredGuestGoesOnFromWhereItWasAndFindsItsStateIntact() throws Exception {
        Path file = snapshotMidway();
        try (Snapshot snap = Snapshot.open(file)) {
            assertEquals(8L << 20, snap.memorySize());
            assertTrue(snap.storedPages() > 10 && snap.storedPages() < 100, "only touched pages are stored: " + snap.storedPages());
            WatchedConsole console = new WatchedConsole();
            try (Instance r = monitor.restore(snap, InstanceSpec.of(check, console))) {
                assertEquals(new Outcome.Halted(0), r.run());
                assertTrue(r.stats().loadNanos() >= 0);
            }
            String out = console.toString();
            assertFalse(out.contains("count 0 "), "it does not start over: " + out);
            assertTrue(out.endsWith("count 29 sum=105472\ncount done ok\n"), out);
        }
    }

    @Test
    void aRestoreMapsInAheadTheWorkingSetItIsGivenAndTheGuestGoesOnIntact() throws Exception {
        Path file = dir.resolve("ws.snap");
        WatchedConsole first = new WatchedConsole();
        WorkingSet booted;
        try (Instance i = monitor.create(InstanceSpec.of(check, first, "count", "30").withMemory(8L << 20))) {
            i.start();
            await(first, "count 5 ");
            i.pause();
            i.snapshot(file);
            booted = i.workingSet();
            i.stop(dev.kiln.monitor.StopCause.REQUESTED);
        }
        long entryPage = check.entry() / 4096;
        assertFalse(booted.exact(), "fresh memory also holds what the loader touched");
        assertTrue(booted.contains(entryPage), "the guest ran its entry page: " + booted);
        try (Snapshot snap = Snapshot.open(file)) {
            try (Instance plain = monitor.restore(snap, InstanceSpec.of(check, new WatchedConsole()))) {
                assertFalse(plain.workingSet().contains(entryPage), "a plain restore maps nothing of the guest's ahead");
            }
            WatchedConsole second = new WatchedConsole();
            WorkingSet woken;
            try (Instance r = monitor.restore(snap, InstanceSpec.of(check, second), booted)) {
                assertTrue(r.workingSet().contains(entryPage), "mapped in before it runs");
                r.start();
                await(second, "count 9 ");
                r.pause();
                woken = r.workingSet();
                r.resume();
                assertEquals(new Outcome.Halted(0), r.outcome().get(30, TimeUnit.SECONDS));
            }
            assertTrue(second.toString().endsWith("count 29 sum=105472\ncount done ok\n"), second.toString());
            // measured on memory mapped from the snapshot: exactly what the guest touched, zero pages too
            assertTrue(woken.exact());
            WatchedConsole third = new WatchedConsole();
            try (Instance r = monitor.restore(snap, InstanceSpec.of(check, third), woken)) {
                java.util.BitSet missing = woken.pages();
                missing.andNot(r.workingSet().pages());
                assertTrue(missing.isEmpty(), "every page of an exact working set is mapped in: missing " + missing);
                assertEquals(new Outcome.Halted(0), r.run());
            }
            assertTrue(third.toString().endsWith("count 29 sum=105472\ncount done ok\n"), third.toString());
        }
    }

    @Test
    void aSnapshotRecordsItsModeAndRestoresInEither() throws Exception {
        Path file = snapshotMidway();
        try (Snapshot snap = Snapshot.open(file)) {
            boolean native_ = !monitor.pvmHost() || ExecutionMode.requestedDefault() == ExecutionMode.NATIVE;
            assertEquals(native_, snap.takenNative());
            for (ExecutionMode mode : ExecutionMode.values()) {
                WatchedConsole console = new WatchedConsole();
                try (Instance r = monitor.restore(snap, InstanceSpec.of(check, console).withExecution(mode))) {
                    assertEquals(new Outcome.Halted(0), r.run(), mode + ": " + console);
                    assertEquals(monitor.pvmHost() ? mode : ExecutionMode.NATIVE, r.stats().mode());
                }
                assertTrue(console.toString().endsWith("count 29 sum=105472\ncount done ok\n"), mode + ": " + console);
            }
        }
    }

    @Test
    void clonesShareTheSnapshotAndRunIndependently() throws Exception {
        Path file = snapshotMidway();
        try (Snapshot snap = Snapshot.open(file)) {
            List<WatchedConsole> consoles = List.of(new WatchedConsole(), new WatchedConsole(), new WatchedConsole(), new WatchedConsole());
            List<Instance> clones = new java.util.ArrayList<>();
            for (WatchedConsole c : consoles) clones.add(monitor.restore(snap, InstanceSpec.of(check, c)));
            for (Instance c : clones) c.start();
            for (Instance c : clones) assertEquals(new Outcome.Halted(0), c.outcome().get(60, TimeUnit.SECONDS));
            for (Instance c : clones) c.close();
            for (WatchedConsole c : consoles) assertTrue(c.toString().endsWith("count done ok\n"), c.toString());
        }
    }

    @Test
    void eachCloneGetsItsOwnIdentityArgumentsAndStateThroughTheInfoPage() throws Exception {
        // docs/kiln-abi.md 2.1: the template waits for its generation to change; each clone then
        // reads its own id and arguments, and its state diverges from the others'.
        HvtImage forkcheck = HvtImage.read(GuestImages.path("forkcheck.hvt"));
        Path file = dir.resolve("template.snap");
        WatchedConsole template = new WatchedConsole();
        try (Instance t = monitor.create(InstanceSpec.of(forkcheck, template, "clone").withMemory(4L << 20))) {
            t.start();
            await(template, " ready\n");
            t.pause();
            t.snapshot(file);
        }
        try (Snapshot snap = Snapshot.open(file)) {
            startClonesAndCheckTheirIdentity(forkcheck, snap);
            // The same from a clone pool: memory mapped and vCPU loaded ahead of time.
            monitor.keepWarm(snap, 2);
            Thread.sleep(300);
            startClonesAndCheckTheirIdentity(forkcheck, snap);
            monitor.keepWarm(null, 0);
        }
    }

    private static void startClonesAndCheckTheirIdentity(HvtImage forkcheck, Snapshot snap) throws Exception {
        List<WatchedConsole> consoles = List.of(new WatchedConsole(), new WatchedConsole(), new WatchedConsole());
        List<Instance> clones = new java.util.ArrayList<>();
        for (int k = 0; k < consoles.size(); k++) {
            clones.add(monitor.restore(snap, InstanceSpec.of(forkcheck, consoles.get(k), "clone", "member-" + k)));
        }
        for (Instance c : clones) c.start();
        for (int k = 0; k < clones.size(); k++) {
            Instance c = clones.get(k);
            assertEquals(new Outcome.Halted(0), c.outcome().get(30, TimeUnit.SECONDS), consoles.get(k).toString());
            String out = consoles.get(k).toString();
            assertTrue(out.contains("clone value " + (1000 + c.id()) + "\n"), out);
            assertTrue(out.contains("id " + c.id() + " parent 0 generation 1 args [clone member-" + k + "]"), out);
            assertFalse(out.contains("ready"), "a clone goes on from the snapshot, it does not boot: " + out);
            c.close();
        }
    }

    @Test
    void corruptTruncatedOrForeignSnapshotsAreRefused() throws Exception {
        Path file = snapshotMidway();
        byte[] good = Files.readAllBytes(file);

        Path flipped = dir.resolve("flipped.snap");
        Files.write(flipped, good);
        try (RandomAccessFile f = new RandomAccessFile(flipped.toFile(), "rw")) {
            long at = Snapshot.MEMORY_OFFSET + 0x1000 + 100; // the GDT page: always written
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0x40);
        }
        refused(flipped, "fails its checksum (corrupt)");

        Path header = dir.resolve("header.snap");
        byte[] h = good.clone();
        h[300] ^= 1;
        Files.write(header, h);
        refused(header, "header checksum mismatch (corrupt)");

        Path cut = dir.resolve("cut.snap");
        Files.write(cut, java.util.Arrays.copyOf(good, 2000));
        refused(cut, "truncated: 2000 bytes");

        Path version = dir.resolve("version.snap");
        byte[] v = good.clone();
        v[8] = 9;
        Files.write(version, v);
        refused(version, "format version 9, this monitor reads version 2");
        v[8] = 1; // written before native execution: its page tables lack U/S
        Files.write(version, v);
        refused(version, "format version 1 was written before native execution");

        Path execution = dir.resolve("execution.snap"); // a mode that is neither, with a valid checksum
        byte[] x = good.clone();
        x[Snapshot.EXECUTION_AT] = 7;
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(x, 0, Snapshot.HEADER_USED);
        java.nio.ByteBuffer.wrap(x).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(Snapshot.HEADER_USED, (int) crc.getValue());
        Files.write(execution, x);
        refused(execution, "execution mode 7 in the header is neither 0 nor 1");

        Path notSnap = dir.resolve("not.snap");
        Files.writeString(notSnap, "hello".repeat(1000));
        refused(notSnap, "not a Kiln snapshot");
        refused(dir.resolve("none.snap"), "no such file");

        HvtImage other = HvtImage.read(GuestImages.path("helloworld.hvt"));
        try (Snapshot snap = Snapshot.open(file)) {
            SnapshotException e = assertThrows(SnapshotException.class,
                    () -> monitor.restore(snap, InstanceSpec.of(other, OutputStream.nullOutputStream())));
            assertTrue(e.getMessage().contains("was taken of another image"), e.getMessage());
        }
    }

    @Test
    void onlyAPausedGuestCanBeSnapshotted() throws Exception {
        try (Instance i = monitor.create(InstanceSpec.of(check, OutputStream.nullOutputStream(), "count", "1000"))) {
            i.start();
            assertThrows(IllegalStateException.class, () -> i.snapshot(dir.resolve("x.snap")));
        }
    }

    private static void refused(Path file, String expected) {
        SnapshotException e = assertThrows(SnapshotException.class, () -> Snapshot.open(file).close());
        assertTrue(e.getMessage().contains(expected), () -> "expected '" + expected + "' in: " + e.getMessage());
    }
}
