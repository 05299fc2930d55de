package dev.kiln.monitor.fleet;

import dev.kiln.monitor.AdmissionException;
import dev.kiln.monitor.Instance;
import dev.kiln.monitor.InstanceSpec;
import dev.kiln.monitor.KvmAvailable;
import dev.kiln.monitor.Monitor;
import dev.kiln.monitor.Outcome;
import dev.kiln.monitor.StopCause;
import dev.kiln.monitor.image.GuestImages;
import dev.kiln.monitor.image.HvtImage;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Many instances in one JVM: a burst of 200, and admission control by memory budget. */
class BurstTest {
    static HvtImage check;

    @BeforeAll
    static void image() throws Exception {
        KvmAvailable.require();
        check = HvtImage.read(GuestImages.path("hvtcheck.hvt"));
    }

    @Test
    void aBurstOf200IdleGuestsComesUpAndStops() throws Exception {
        try (Monitor monitor = Monitor.open()) {
            InstanceSpec idle = new InstanceSpec(check, 2L << 20, List.of("idle"), OutputStream.nullOutputStream(), null);
            Burst b = Burst.start(monitor, idle, 200, i -> OutputStream.nullOutputStream(), 60, TimeUnit.SECONDS);
            assertEquals(200, b.instances().size());
            assertEquals(0, b.refused());
            assertEquals(0, b.late());
            assertEquals(null, b.firstFailure());
            assertEquals(200, b.up(), "every guest made its first hypercall");
            assertTrue(b.firstUpNanos() > 0 && b.firstUpNanos() <= b.lastUpNanos());
            assertEquals(200, monitor.instances().size());
            for (Instance i : b.instances()) i.stop(StopCause.REQUESTED);
            for (Instance i : b.instances()) {
                assertEquals(new Outcome.Stopped(StopCause.REQUESTED), i.outcome().get(30, TimeUnit.SECONDS));
                i.close();
            }
            assertEquals(0, monitor.memoryReserved());
        }
    }

    @Test
    void instancesBeyondTheMemoryBudgetAreRefusedUpFront() throws Exception {
        try (Monitor monitor = Monitor.open(10L << 20)) {
            InstanceSpec four = new InstanceSpec(check, 4L << 20, List.of("idle"), OutputStream.nullOutputStream(), null);
            Instance a = monitor.create(four);
            Instance b = monitor.create(four);
            AdmissionException e = assertThrows(AdmissionException.class, () -> monitor.create(four));
            assertTrue(e.getMessage().contains("needs 4 MiB of guest memory, but 2 MiB of the monitor's 10 MiB budget are left"),
                    e.getMessage());
            assertEquals(2, monitor.instances().size(), "the refusal made nothing");
            a.close();
            Instance c = monitor.create(four);   // room again
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (Instance d = monitor.create(new InstanceSpec(check, 2L << 20, List.of("puts"), out, null))) {
                assertEquals(new Outcome.Halted(0), d.run());
            }
            c.close();
            b.close();
            Burst burst = Burst.start(monitor, four, 4, i -> OutputStream.nullOutputStream(), 30, TimeUnit.SECONDS);
            assertEquals(2, burst.instances().size());
            assertEquals(2, burst.refused());
            assertTrue(burst.firstFailure().contains("needs 4 MiB of guest memory"), burst.firstFailure());
            for (Instance i : burst.instances()) i.close();
            assertEquals(0, monitor.memoryReserved(), "the refused ones reserved nothing, the closed ones gave it back");
        }
    }
}
