package dev.kiln.monitor;

import dev.kiln.monitor.image.GuestImages;
import dev.kiln.monitor.image.HvtImage;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Guests started with {@link Instance#start} that wait in POLL on time alone hold no vCPU thread
 * while asleep, and lose nothing for it: they wake at their deadline, and a stop, a pause or a
 * time limit reaches them there as it reaches a guest on its own thread.
 */
class SleepWithoutThreadTest {
    private static HvtImage check() throws Exception {
        KvmAvailable.require();
        return HvtImage.read(GuestImages.path("hvtcheck.hvt"));
    }

    /** The vCPU threads alive now: those running or waiting for a guest. */
    private static long vcpuThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("kiln-vcpu")).count();
    }

    @Test
    void fiftyIdleGuestsAsleepHoldAFewThreadsNotFifty() throws Exception {
        HvtImage check = check();
        try (Monitor monitor = Monitor.open()) {
            long before = vcpuThreads();
            List<Instance> idle = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                Instance inst = monitor.create(new InstanceSpec(check, 2L << 20, List.of("idle"), new ByteArrayOutputStream(), null));
                idle.add(inst);
                inst.start();
                inst.upFuture().get(10, TimeUnit.SECONDS);
            }
            // Started one after another, each was asleep before the next came up: they took turns
            // on the same thread or two (one kept idle for each guest asleep, made only when needed).
            long threads = vcpuThreads() - before;
            assertTrue(threads <= 4, "50 idle guests asleep hold " + threads + " vCPU threads");
            for (Instance inst : idle) {
                assertEquals(Instance.State.RUNNING, inst.state());
                assertTrue(inst.stats().cpuNanos() > 0, "its CPU time, counted over its stretches: " + inst.stats().cpuNanos());
            }
            for (Instance inst : idle) inst.stop(StopCause.REQUESTED);
            for (Instance inst : idle) {
                assertEquals(new Outcome.Stopped(StopCause.REQUESTED), inst.awaitOutcome());
                inst.close();
            }
        }
    }

    @Test
    void aSleepingGuestWakesAtEachDeadline() throws Exception {
        HvtImage check = check();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (Monitor monitor = Monitor.open();
             Instance inst = monitor.create(InstanceSpec.of(check, out, "count", "20").withMemory(8L << 20))) {
            long t0 = System.nanoTime();
            inst.start();
            Outcome o = inst.outcome().get(30, TimeUnit.SECONDS);
            long took = System.nanoTime() - t0;
            assertEquals(new Outcome.Halted(0), o, out::toString);
            String console = out.toString(StandardCharsets.UTF_8);
            // 20 rounds, each a 10 ms POLL: every one slept its time (none answered early), and each
            // round's memory pattern survived the hand-over from thread to thread.
            assertTrue(console.endsWith("count done ok\n"), console);
            assertTrue(took >= 190_000_000L, "20 sleeps of 10 ms took " + took / 1_000_000 + " ms");
            assertTrue(inst.stats().hypercalls()[dev.kiln.monitor.hvt.Hypercall.POLL] >= 20, "a POLL per round");
        }
    }

    @Test
    void aTimeLimitEndsASleepingGuest() throws Exception {
        HvtImage check = check();
        try (Monitor monitor = Monitor.open();
             Instance inst = monitor.create(new InstanceSpec(check, 2L << 20, List.of("idle"), new ByteArrayOutputStream(),
                     Duration.ofMillis(200)))) {
            inst.start();
            assertEquals(new Outcome.Stopped(StopCause.TIME_LIMIT), inst.outcome().get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void aSleepingGuestPausesResumesAndStops() throws Exception {
        HvtImage check = check();
        try (Monitor monitor = Monitor.open();
             Instance inst = monitor.create(new InstanceSpec(check, 2L << 20, List.of("idle"), new ByteArrayOutputStream(), null))) {
            inst.start();
            inst.upFuture().get(10, TimeUnit.SECONDS);
            Thread.sleep(20); // in its hour-long POLL, without a thread
            inst.pause();
            assertTrue(inst.paused());
            inst.resume();
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (inst.paused() && System.nanoTime() < deadline) Thread.sleep(1);
            assertEquals(Instance.State.RUNNING, inst.state(), "resumed, it sleeps on");
            assertTrue(!inst.outcome().isDone(), "resumed, it sleeps on");
            inst.stop(StopCause.REQUESTED);
            assertEquals(new Outcome.Stopped(StopCause.REQUESTED), inst.outcome().get(10, TimeUnit.SECONDS));
        }
    }
}
