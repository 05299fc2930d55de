package dev.kiln.cli;

import dev.kiln.monitor.DeviceAttachment;
import dev.kiln.monitor.Instance;
import dev.kiln.monitor.InstanceSpec;
import dev.kiln.monitor.Monitor;
import dev.kiln.monitor.Outcome;
import dev.kiln.monitor.StopCause;
import dev.kiln.monitor.WatchedConsole;
import dev.kiln.monitor.devices.NetRingService;
import dev.kiln.monitor.image.HvtImage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A server started in this JVM ({@link Instance#start}) on a real tap: once its taps stayed quiet
 * it sleeps in POLL without a vCPU thread, and each request's first frame wakes it (the monitor's
 * input waker) to answer real curl, whether it reads its frames from the ring served at POLL or
 * with the NET_READ hypercall; with the ring's own I/O thread it keeps its thread and serves too.
 */
class IdleServerTest {
    static final String TAP = "ki" + (ProcessHandle.current().pid() % 100000);
    static final String URL = "http://10.98.0.2/";

    @BeforeAll
    static void tap() throws Exception {
        NetTestSupport.require("IDLE SERVER", "httpreply.hvt", "curl", "ip");
        NetTestSupport.sh("ip", "tuntap", "add", TAP, "mode", "tap");
        NetTestSupport.sh("sysctl", "-qw", "net.ipv6.conf." + TAP + ".disable_ipv6=1");
        NetTestSupport.sh("ip", "addr", "add", "10.98.0.1/24", "dev", TAP);
        NetTestSupport.sh("ip", "link", "set", TAP, "up");
    }

    @AfterAll
    static void cleanup() throws Exception {
        NetTestSupport.sh("ip", "link", "delete", TAP);
    }

    static long vcpuThreadsInGuests() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().matches("kiln-vcpu-[0-9]+")).count();
    }

    /** Waits up to 2 s for a moment when no vCPU thread runs a guest. */
    static boolean asleep() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (System.nanoTime() < deadline) {
            if (vcpuThreadsInGuests() == 0) return true;
            Thread.sleep(5);
        }
        return false;
    }

    @ParameterizedTest
    @EnumSource(NetRingService.class)
    void anIdleServerSleepsWithoutItsThreadAndWakesForEachRequest(NetRingService service) throws Exception {
        HvtImage image = HvtImage.read(NetTestSupport.GUESTS.resolve("httpreply.hvt"));
        WatchedConsole console = new WatchedConsole();
        try (Monitor monitor = Monitor.open();
             Instance server = monitor.create(new InstanceSpec(image, 16L << 20, List.of("ip=10.98.0.2/24"), console, null,
                     List.of(new DeviceAttachment.Net("service0", TAP, null))).withNetRing(service))) {
            server.start();
            assertTrue(console.await("listening", Duration.ofSeconds(10)), console.toString());
            boolean sleeps = service != NetRingService.IO_THREAD;
            if (sleeps) assertTrue(asleep(), service + ": the idle server still holds its thread");
            for (int i = 0; i < 5; i++) {
                String page = NetTestSupport.sh("curl", "-s", "--max-time", "10", URL);
                assertTrue(page.contains("Hello from a Kiln unikernel"), service + ", request " + i + ": " + page);
                if (sleeps) assertTrue(asleep(), service + ": after request " + i + " it still holds its thread");
            }
            server.stop(StopCause.REQUESTED);
            assertEquals(new Outcome.Stopped(StopCause.REQUESTED), server.outcome().get(10, TimeUnit.SECONDS));
        }
    }
}
