package dev.kiln.monitor;

import dev.kiln.monitor.image.GuestImages;
import dev.kiln.monitor.image.HvtImage;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Threads reserved ahead are taken by start(), named for their instance, and come back when the
 * run ended, up to the number reserved; a thread beyond that ends with its run, and the monitor's
 * close lets the waiting ones end.
 */
class SpareVcpuThreadTest {
    private static HvtImage hello() throws Exception {
        KvmAvailable.require();
        return HvtImage.read(GuestImages.path("helloworld.hvt"));
    }

    @Test
    void aRunsThreadComesBackForTheNextInstance() throws Exception {
        HvtImage hello = hello();
        Thread kept;
        try (Monitor monitor = Monitor.open()) {
            monitor.reserveVcpuThreads(2);
            assertEquals(2, monitor.spareVcpuThreads());
            Set<Thread> used = new HashSet<>();
            for (int i = 0; i < 5; i++) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                try (Instance inst = monitor.create(new InstanceSpec(hello, 2L << 20, List.of("n" + i), out, null))) {
                    used.add(inst.start());
                    assertEquals(new Outcome.Halted(0), inst.awaitOutcome());
                    assertTrue(out.toString(StandardCharsets.UTF_8).contains("cmdline: n" + i), out::toString);
                }
                awaitSpares(monitor, 2);
            }
            assertTrue(used.size() <= 2, "five runs, one after another, on the two reserved threads: " + used);
            kept = used.iterator().next();
            assertTrue(kept.isAlive(), "a kept thread waits");
        }
        kept.join(5000);
        assertFalse(kept.isAlive(), "the monitor's close lets the waiting threads end");
    }

    @Test
    void threadsBeyondTheReservedNumberEndWithTheirRuns() throws Exception {
        KvmAvailable.require();
        // "spin": computes until stopped, so it holds its thread (an idle guest would sleep without one)
        HvtImage check = HvtImage.read(GuestImages.path("hvtcheck.hvt"));
        try (Monitor monitor = Monitor.open()) {
            monitor.reserveVcpuThreads(1);
            List<Instance> running = new ArrayList<>();
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                ByteArrayOutputStream console = new ByteArrayOutputStream();
                Instance inst = monitor.create(new InstanceSpec(check, 2L << 20, List.of("spin"), console, null));
                running.add(inst);
                threads.add(inst.start());
                long deadline = System.nanoTime() + 5_000_000_000L;
                while (!console.toString(StandardCharsets.UTF_8).contains("spinning") && System.nanoTime() < deadline) Thread.sleep(1);
            }
            assertEquals(3, new HashSet<>(threads).size(), "one thread per running instance");
            for (Instance inst : running) {
                inst.stop(StopCause.REQUESTED);
                assertTrue(inst.awaitOutcome() instanceof Outcome.Stopped);
                inst.close();
            }
            awaitSpares(monitor, 1);
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (threads.stream().filter(t -> !t.isAlive()).count() < 2 && System.nanoTime() < deadline) Thread.sleep(1);
            assertEquals(1, monitor.spareVcpuThreads(), "only as many as were reserved are kept");
            assertEquals(2, threads.stream().filter(t -> !t.isAlive()).count(), "the other two threads ended with their runs");
        }
    }

    @Test
    void aMonitorThatReservedNoneKeepsNone() throws Exception {
        HvtImage hello = hello();
        try (Monitor monitor = Monitor.open();
             Instance inst = monitor.create(new InstanceSpec(hello, 2L << 20, List.of("x"), new ByteArrayOutputStream(), null))) {
            Thread t = inst.start();
            assertEquals(new Outcome.Halted(0), inst.awaitOutcome());
            t.join(5000);
            assertFalse(t.isAlive(), "kiln run's kind of monitor: the thread ends with the run");
            assertEquals(0, monitor.spareVcpuThreads());
        }
    }

    /** A run's thread comes back just after its outcome is published: wait for it briefly. */
    private static void awaitSpares(Monitor monitor, int n) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (monitor.spareVcpuThreads() < n && System.nanoTime() < deadline) Thread.sleep(1);
        assertEquals(n, monitor.spareVcpuThreads());
    }
}
