package dev.kiln.monitor;

import dev.kiln.monitor.image.GuestImages;
import dev.kiln.monitor.image.HvtImage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Kiln's FORK and WAIT hypercalls (docs/kiln-abi.md 1) end to end: the forkcheck guest checks the
 * parent/child semantics itself and prints FAIL with the broken rule; these tests check its verdict
 * and what the monitor sees.
 */
class ForkTest {
    private static HvtImage forkcheck;

    @BeforeAll
    static void open() throws Exception {
        KvmAvailable.require();
        forkcheck = HvtImage.read(GuestImages.path("forkcheck.hvt"));
    }

    record Run(Outcome outcome, String console) {}

    private static Run run(Monitor monitor, long memMiB, String... args) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        InstanceSpec spec = new InstanceSpec(forkcheck, memMiB << 20, List.of(args), out, Duration.ofSeconds(60));
        try (Instance i = monitor.create(spec)) {
            Outcome o = i.run();
            return new Run(o, out.toString(StandardCharsets.UTF_8));
        }
    }

    @Test
    void childrenGetACopyOnWriteCopyAndTheParentReapsTheirStatuses() throws Exception {
        try (Monitor monitor = Monitor.open()) {
            Run r = run(monitor, 4, "semantics");
            assertEquals(new Outcome.Halted(0), r.outcome(), r.console());
            assertTrue(r.console().endsWith("forkcheck semantics ok\n"), r.console());
            assertTrue(monitor.instances().isEmpty(), "every child was reaped or released: " + monitor.instances());
            assertEquals(0, monitor.memoryReserved(), "the budget got every child's memory back");
        }
    }

    @Test
    void aForkThatWouldExceedTheMemoryBudgetFailsWithEnomemInTheGuest() throws Exception {
        try (Monitor monitor = Monitor.open(6L << 20)) { // room for the 4 MiB parent, not for a child
            Run r = run(monitor, 4, "nomem");
            assertEquals(new Outcome.Halted(0), r.outcome(), r.console());
            assertTrue(r.console().endsWith("forkcheck nomem ok\n"), r.console());
        }
    }

    @Test
    void aForkBombEndsAtTheBudgetAndEveryoneIsReaped() throws Exception {
        try (Monitor monitor = Monitor.open(64L << 20)) { // 16 instances of 4 MiB
            Run r = run(monitor, 4, "bomb");
            assertEquals(new Outcome.Halted(0), r.outcome(), r.console());
            assertTrue(r.console().endsWith("forkcheck bomb ok\n"), r.console());
            assertTrue(monitor.instances().isEmpty(), "all reaped: " + monitor.instances());
            assertEquals(0, monitor.memoryReserved());
        }
    }

    @Test
    void childrenStillRunningAreStoppedWhenTheirParentEnds() throws Exception {
        try (Monitor monitor = Monitor.open()) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Instance parent = monitor.create(new InstanceSpec(forkcheck, 4L << 20, List.of("orphan"), out,
                    Duration.ofSeconds(60)));
            assertEquals(new Outcome.Halted(0), parent.run(), out.toString(StandardCharsets.UTF_8));
            Instance child = monitor.instances().stream().filter(i -> i.parentId() == parent.id()).findFirst()
                    .orElseThrow(() -> new AssertionError("the child is not listed: " + monitor.instances()));
            assertEquals(new Outcome.Stopped(StopCause.PARENT_EXITED), child.outcome().get(10, java.util.concurrent.TimeUnit.SECONDS));
            parent.close();
            assertTrue(monitor.instances().isEmpty(), "closing the parent released the child: " + monitor.instances());
        }
    }

    @Test
    void theInfoPageNamesTheInstanceAndItsArgumentsAndTheGuestStampsItsBoot() throws Exception {
        try (Monitor monitor = Monitor.open()) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (Instance i = monitor.create(new InstanceSpec(forkcheck, 4L << 20, List.of("info", "x", "y"), out, null))) {
                assertEquals(new Outcome.Halted(0), i.run());
                String text = out.toString(StandardCharsets.UTF_8);
                assertTrue(text.contains("id " + i.id() + " parent 0 generation 0 args [info x y]"), text);
                InstanceStats s = i.stats();
                assertTrue(s.entryToMainNanos() >= 0 && s.entryToMainNanos() < 1_000_000,
                        "entry to main measured by the guest: " + s.entryToMainNanos());
                assertTrue(s.cpuNanos() > 0, "vCPU thread CPU time: " + s.cpuNanos());
                assertTrue(s.residentBytes() > 0 && s.residentBytes() < (4L << 20), "resident: " + s.residentBytes());
            }
        }
    }

    @Test
    void portsBesideKilnsRangeFaultLikeAnyUnknownPort() throws Exception {
        // hvt's ports end at 0x508; Kiln's are 0x581-0x583: 0x580 and 0x584 are neither.
        try (Monitor monitor = Monitor.open()) {
            HvtImage check = HvtImage.read(GuestImages.path("hvtcheck.hvt"));
            for (int port : new int[] {0x580, 0x584}) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                try (Instance i = monitor.create(new InstanceSpec(check, 8L << 20, List.of("port", Integer.toString(port)),
                        out, null))) {
                    Outcome o = i.run();
                    assertTrue(o instanceof Outcome.Faulted f && f.message().contains("port 0x" + Integer.toHexString(port)
                            + ", which is not a hypercall port"), o.describe() + " / " + out);
                }
            }
        }
    }
}
