package dev.kiln.monitor;

import dev.kiln.monitor.image.GuestImages;
import dev.kiln.monitor.image.HvtImage;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Threads reserved ahead are taken by start(), one each, named for their instance; the rest end with the monitor. */
class SpareVcpuThreadTest {
    @Test
    void startTakesASpareThreadUntilNoneIsLeft() throws Exception {
        KvmAvailable.require();
        HvtImage hello = HvtImage.read(GuestImages.path("helloworld.hvt"));
        try (Monitor monitor = Monitor.open()) {
            monitor.reserveVcpuThreads(2);
            assertEquals(2, monitor.spareVcpuThreads());
            for (int i = 0; i < 3; i++) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                try (Instance inst = monitor.create(new InstanceSpec(hello, 2L << 20, List.of("n" + i), out, null))) {
                    Thread t = inst.start();
                    assertEquals(new Outcome.Halted(0), inst.awaitOutcome());
                    t.join(5000);
                    assertTrue(out.toString(StandardCharsets.UTF_8).contains("cmdline: n" + i), out::toString);
                }
                assertEquals(Math.max(0, 1 - i), monitor.spareVcpuThreads());
            }
            monitor.reserveVcpuThreads(3); // left unused: the monitor's close lets them end
        }
    }
}
