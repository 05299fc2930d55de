package dev.kiln.monitor;

import dev.kiln.monitor.hvt.FaultKind;
import dev.kiln.monitor.image.GuestImages;
import dev.kiln.monitor.image.HvtImage;
import dev.kiln.monitor.image.ImageException;
import dev.kiln.monitor.image.TestElf;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** End to end on real KVM: the test guest drives every hypercall, exit status and guest fault. */
class InstanceTest {
    private static Monitor monitor;
    private static HvtImage check;
    private static HvtImage hello;

    @BeforeAll
    static void open() throws ImageException {
        KvmAvailable.require();
        monitor = Monitor.open();
        check = HvtImage.read(GuestImages.path("hvtcheck.hvt"));
        hello = HvtImage.read(GuestImages.path("helloworld.hvt"));
    }

    @AfterAll
    static void close() {
        if (monitor != null) monitor.close();
    }

    record Run(Outcome outcome, String console, InstanceStats stats) {}

    private static Run boot(HvtImage image, long memMiB, Duration limit, String... args) throws ImageException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        InstanceSpec spec = new InstanceSpec(image, memMiB << 20, List.of(args), out, limit);
        try (Instance i = monitor.create(spec)) {
            Outcome o = i.run();
            return new Run(o, out.toString(StandardCharsets.UTF_8), i.stats());
        }
    }

    private static Run check(String... args) throws ImageException {
        return boot(check, 8, Duration.ofSeconds(60), args);
    }

    private static long field(String console, String name) {
        Matcher m = Pattern.compile(name + "=(\\d+)").matcher(console);
        assertTrue(m.find(), () -> name + " not in: " + console);
        return Long.parseLong(m.group(1));
    }

    @Test
    void helloBootsInTwoMiB() throws ImageException {
        long before = System.currentTimeMillis() * 1_000_000L;
        Run r = boot(hello, 2, null, "a", "b");
        long after = System.currentTimeMillis() * 1_000_000L + 1_000_000L;
        assertEquals(new Outcome.Halted(0), r.outcome());
        assertTrue(r.console().matches("Hello from Kiln!\nwalltime_ns: \\d{19}\ncmdline: a b\n"), r.console());
        // the guest's own decimal conversion (two digits per DIV) prints the host's clock
        Matcher printed = Pattern.compile("walltime_ns: (\\d{19})").matcher(r.console());
        assertTrue(printed.find());
        long ns = Long.parseLong(printed.group(1));
        assertTrue(ns >= before && ns <= after, ns + " not in [" + before + ", " + after + "]");
        assertTrue(r.stats().firstOutputNanos() > 0);
        Run bare = boot(hello, 2, null);
        assertTrue(bare.console().endsWith("\ncmdline: \n"), bare.console());
        assertEquals(3, bare.stats().exits().io(), "the demo boots with WALLTIME, PUTS, HALT");
    }

    @ParameterizedTest
    @CsvSource({"0", "1", "255", "7"})
    void exitStatusIsTheGuests(int status) throws ImageException {
        Run r = check("exit", Integer.toString(status));
        assertEquals(new Outcome.Halted(status), r.outcome());
        assertEquals(status, r.outcome().exitStatus());
    }

    @Test
    void puts() throws ImageException {
        Run r = check("puts");
        assertEquals("puts-ok\n", r.console());
        assertEquals(new Outcome.Halted(0), r.outcome());
    }

    @Test
    void putsLargeOutputIsByteExact() throws ImageException {
        int n = 300_000;
        Run r = check("puts-big", Integer.toString(n));
        StringBuilder expected = new StringBuilder(n);
        while (expected.length() < n) {
            for (int i = 0; i < 63 && expected.length() < n; i++) expected.append('x');
            if (expected.length() < n) expected.append('\n');
        }
        assertEquals(expected.toString(), r.console());
        assertEquals(n, r.stats().consoleBytes());
    }

    /** Console output past the instance's limit is dropped and counted, never queued; the guest runs on. */
    @Test
    void consoleOutputPastTheLimitIsDroppedAndCounted() throws ImageException {
        int n = 1 << 20;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        InstanceSpec spec = new InstanceSpec(check, 8L << 20, List.of("puts-big", Integer.toString(n)), out, Duration.ofSeconds(60))
                .withConsoleLimit(new ConsoleLimit(64 << 10, 64 << 10));
        try (Instance i = monitor.create(spec)) {
            assertEquals(new Outcome.Halted(0), i.run());
            InstanceStats s = i.stats();
            double seconds = (s.createNanos() + s.loadNanos() + s.runNanos()) / 1e9;
            assertEquals(out.size(), s.consoleBytes(), "what was counted as written reached the console");
            assertEquals(n, s.consoleBytes() + s.consoleBytesDropped(), "every byte is written or dropped");
            assertTrue(s.consoleBytes() >= 64 << 10, "the burst went through: " + s.consoleBytes());
            assertTrue(s.consoleBytes() <= (64 << 10) * (1 + seconds) + 1, "no more than burst + rate x time: "
                    + s.consoleBytes() + " in " + seconds + " s");
            assertTrue(out.toString(StandardCharsets.UTF_8).startsWith("x".repeat(63) + "\n"), "the output kept is the guest's");
        }
    }

    /** vCPU descriptors this process holds (the kernel names them anon_inode:kvm-vcpu:N). */
    private static long vcpuFds() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).toString().startsWith("anon_inode:kvm-vcpu");
                } catch (IOException e) {
                    return false; // closed while listing
                }
            }).count();
        }
    }

    @Test
    void aMonitorParksOneVcpuOnceInstancesComeAndGoAndReleasesItWhenClosed() throws Exception {
        long before = vcpuFds();
        try (Monitor m = Monitor.open()) {
            try (Instance one = m.create(InstanceSpec.of(hello, new ByteArrayOutputStream()))) {
                one.run();
            }
            assertEquals(before, vcpuFds(), "one instance closed: nothing parked yet (a single 'kiln run')");
            for (int i = 0; i < 3; i++) {
                try (Instance next = m.create(InstanceSpec.of(hello, new ByteArrayOutputStream()))) {
                    assertEquals(new Outcome.Halted(0), next.run());
                }
            }
            assertEquals(before + 1, vcpuFds(), "from the second close on, one vCPU is parked, and only one");
        }
        assertEquals(before, vcpuFds(), "closing the monitor releases the parked vCPU");
    }

    @Test
    void walltimeIsTheHostClock() throws ImageException {
        long before = System.currentTimeMillis() * 1_000_000L;
        long guest = field(check("walltime").console(), "walltime_ns");
        long after = System.currentTimeMillis() * 1_000_000L + 1_000_000L;
        assertTrue(guest >= before - 1_000_000L && guest <= after, before + " <= " + guest + " <= " + after);
    }

    @Test
    void pollSleepsForItsTimeoutWithNothingReady() throws ImageException {
        String out = check("poll", "120").console();
        assertEquals(0, field(out, "ret"));
        assertEquals(0, field(out, "ready"));
        long elapsed = field(out, "elapsed_ns");
        assertTrue(elapsed >= 110_000_000L && elapsed < 5_000_000_000L, "elapsed " + elapsed);
    }

    @Test
    void bootInfoDescribesTheGuest() throws ImageException {
        String out = boot(check, 16, null, "bootinfo").console();
        assertEquals(16L << 20, field(out, "mem_size"));
        assertEquals(check.kernelEnd(), field(out, "kernel_end"));
        assertTrue(field(out, "cpu_cycle_freq") > 100_000_000L);
        assertEquals(1, field(out, "mft_entries"));
        assertEquals(0, field(out, "host_features"));
    }

    @Test
    void memoryIsRoundedDownToTwoMiB() throws ImageException {
        assertEquals(4L << 20, field(boot(check, 5, null, "bootinfo").console(), "mem_size"));
    }

    @Test
    void commandLineArrivesExactly() throws ImageException {
        // solo5-hvt's plain join (kiln hvt): arguments as they are, separated by single spaces
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        InstanceSpec plain = new InstanceSpec(check, 8L << 20, List.of("cmdline", "", "two", "", "spaces", "ünïcödé", "\"q\""),
                out, Duration.ofSeconds(60)).withArgumentJoin(InstanceSpec.ArgumentJoin.SPACES);
        try (Instance i = monitor.create(plain)) {
            i.run();
        }
        assertEquals("[cmdline  two  spaces ünïcödé \"q\"]\n", out.toString(StandardCharsets.UTF_8));
        // the default: what needs it is shell-quoted, so a guest splitting with the shell's rules gets the argv back
        assertEquals("[cmdline '' two '' spaces ünïcödé '\"q\"']\n",
                check("cmdline", "", "two", "", "spaces", "ünïcödé", "\"q\"").console());
        String longest = "cmdline " + "y".repeat(8191 - "cmdline ".length());
        assertEquals("[" + longest + "]\n", check(longest.split(" ")).console());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new InstanceSpec(check, 8L << 20, List.of((longest + "z").split(" ")), System.out, null));
        assertTrue(e.getMessage().contains("guest command line is 8192 bytes; at most 8191 fit"), e.getMessage());
    }

    @Test
    void memoryOutsideTwoMiBToFourGiBIsRefused() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> boot(check, 1, null, "puts"))
                .getMessage().contains("below the minimum of 2 MiB"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> boot(check, 4100, null, "puts"))
                .getMessage().contains("above the maximum of 4096 MiB"));
    }

    @ParameterizedTest
    @CsvSource({
            "triple,          TRIPLE_FAULT,      triple fault",
            "null,            TRIPLE_FAULT,      triple fault",
            "port,            BAD_PORT,          port 0x5ff, which is not a hypercall port",
            "outb,            BAD_IO_SIZE,       wrote 1 byte(s) x1 to port 0x502",
            "in,              IN_INSTRUCTION,    guest executed IN from port 0x501",
            "gpa-struct,      BAD_GPA,           PUTS argument at 0x900000 (16 bytes) is outside guest memory",
            "gpa-data,        BAD_GPA,           PUTS data at 0x7ffff8 (4194304 bytes) is outside guest memory",
            "gpa-wrap,        BAD_GPA,           (18446744073709551360 bytes) is outside guest memory",
            "mmio,            BAD_GPA,           guest read 8 bytes at 0xc0000000",
            "emul,            MEMORY_PROTECTION, guest executed non-executable memory at 0xc0000000",
            "hlt,             HLT,               HLT with interrupts off instead of the HALT hypercall",
            "hlt-only,        HLT,               instead of the HALT hypercall",
            "write-text,      MEMORY_PROTECTION, guest wrote to read-only memory at 0x10",
            "write-rodata,    MEMORY_PROTECTION, (W^X: the image's text and rodata, and the boot info, are read-only)",
            "exec-stack,      MEMORY_PROTECTION, guest executed non-executable memory at 0x7f",
            "exec-data,       MEMORY_PROTECTION, (W^X: only the image's text is executable; data, bss, heap and stack are not)",
            "null,            TRIPLE_FAULT,      (CR2=0x8)",
            "halt-cookie-bad, BAD_GPA,           HALT cookie at 0xf0000000 (512 bytes)",
    })
    void guestFaultsEndTheGuestWithTheirCause(String mode, FaultKind kind, String message) throws ImageException {
        Run r = check(mode);
        Outcome.Faulted f = assertInstanceOf(Outcome.Faulted.class, r.outcome(), () -> mode + ": " + r.outcome());
        assertEquals(kind, f.kind());
        assertTrue(f.message().contains(message), f.message());
        assertEquals(255, f.exitStatus());
        assertTrue(!r.console().contains("no-fault"), "the monitor let the fault through");
    }

    private static Run run(InstanceSpec spec) throws ImageException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        try (Instance i = monitor.create(spec.withConsole(out))) {
            Outcome o = i.run();
            return new Run(o, out.toString(java.nio.charset.StandardCharsets.UTF_8), i.stats());
        }
    }

    @Test
    void guestsRunNativelyByDefaultAndEmulatedOnRequest() throws ImageException {
        InstanceSpec sse = InstanceSpec.of(check, new ByteArrayOutputStream(), "sse").withMemory(8 << 20)
                .withTimeLimit(Duration.ofSeconds(30)).withExecution(ExecutionMode.NATIVE);
        Run natively = run(sse);
        assertEquals(ExecutionMode.NATIVE, natively.stats().mode());
        // SSE runs on the CPU; KVM's emulator cannot run it: proof that the guest really ran natively
        assertEquals(new Outcome.Halted(0), natively.outcome(), natively.console());
        assertTrue(natively.console().contains("sse=42"), natively.console());
        if (!monitor.pvmHost()) return; // hardware KVM: every guest is native, there is no emulated mode
        Run emulated = run(sse.withExecution(ExecutionMode.EMULATED));
        assertEquals(ExecutionMode.EMULATED, emulated.stats().mode());
        Outcome.Faulted f = assertInstanceOf(Outcome.Faulted.class, emulated.outcome(), emulated.console());
        assertEquals(FaultKind.EMULATION_FAILURE, f.kind());
    }

    @ParameterizedTest
    @CsvSource({
            "pt-no-us, NATIVE_STALL, the PML4 entry of 0x",
            "pt-no-us, NATIVE_STALL, lacks the U/S bit",
            "slot256,  TRIPLE_FAULT, PML4 slot 256, which a native vCPU on kvm_pvm cannot run",
    })
    void aNativeGuestTheHostCannotRunIsEndedWithTheReason(String mode, FaultKind kind, String message) throws ImageException {
        org.junit.jupiter.api.Assumptions.assumeTrue(monitor.pvmHost(), "not a kvm_pvm host: guests there need no U/S");
        InstanceSpec spec = InstanceSpec.of(check, new ByteArrayOutputStream(), mode).withMemory(8 << 20)
                .withTimeLimit(Duration.ofSeconds(60));
        Run natively = run(spec.withExecution(ExecutionMode.NATIVE));
        Outcome.Faulted f = assertInstanceOf(Outcome.Faulted.class, natively.outcome(), natively.console());
        assertEquals(kind, f.kind(), f.message());
        assertTrue(f.message().contains(message), f.message());
        // Emulated, the same guest runs: the tables are valid x86, only kvm_pvm's native path refuses them.
        Run emulated = run(spec.withExecution(ExecutionMode.EMULATED));
        assertEquals(new Outcome.Halted(0), emulated.outcome(), emulated.console());
        // and a guest's own tables with U/S on every entry run natively
        assertEquals(new Outcome.Halted(0), run(InstanceSpec.of(check, new ByteArrayOutputStream(), "pt-us")
                .withMemory(8 << 20).withExecution(ExecutionMode.NATIVE)).outcome());
    }

    @Test
    void aSpinningGuestIsStoppedAtItsTimeLimit() throws ImageException {
        // 1.2 s: natively the stall check (every 200 ms in tests) examines the spinning guest several
        // times, and must let a guest that merely computes go on
        long t0 = System.nanoTime();
        Run r = boot(check, 8, Duration.ofMillis(1200), "spin");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(new Outcome.Stopped(StopCause.TIME_LIMIT), r.outcome());
        assertEquals(124, r.outcome().exitStatus());
        assertTrue(ms >= 1200 && ms < 10_000, ms + " ms");
        if (r.stats().mode() == ExecutionMode.NATIVE && monitor.pvmHost()) {
            assertTrue(r.stats().exits().interrupted() >= 3, "the stall check looked at it: " + r.stats().exits());
        }
    }

    @Test
    void stopEndsASpinningAndAnIdleGuest() throws Exception {
        for (String[] args : new String[][] {{"spin"}, {"poll", "3600000"}}) {
            try (Instance i = monitor.create(InstanceSpec.of(check, new ByteArrayOutputStream(), args))) {
                i.start();
                Thread.sleep(200);
                assertEquals(Instance.State.RUNNING, i.state());
                i.stop(StopCause.REQUESTED);
                Outcome o = i.outcome().get(10, TimeUnit.SECONDS);
                assertEquals(new Outcome.Stopped(StopCause.REQUESTED), o, String.join(" ", args));
            }
        }
    }

    @Test
    void aCraftedImageLoadsAndHalts() throws ImageException {
        HvtImage img = HvtImage.parse("crafted.hvt", TestElf.valid().build());
        assertEquals(new Outcome.Halted(TestElf.EXIT_STATUS), boot(img, 2, null).outcome());
    }

    @Test
    void declaredDevicesMustBeAttached() throws ImageException {
        TestElf e = TestElf.valid().replace(3, new TestElf.Seg(TestElf.PT_NOTE, TestElf.R, 0,
                TestElf.mftNote(TestElf.manifest("service0", 2)), 0, 4));
        HvtImage img = HvtImage.parse("net.hvt", e.build());
        ImageException x = assertThrows(ImageException.class, () -> boot(img, 2, null));
        assertTrue(x.getMessage().contains("all declared devices must be attached: net device 'service0'"), x.getMessage());
    }

    @Test
    void anImageTooBigForMemoryIsRefusedBeforeAnyVmExists() throws ImageException {
        TestElf e = TestElf.valid().replace(1, new TestElf.Seg(TestElf.PT_LOAD, TestElf.R | TestElf.W, TestElf.DATA,
                TestElf.haltData(), 8L << 20, 0x1000));
        HvtImage img = HvtImage.parse("big.hvt", e.build());
        ImageException x = assertThrows(ImageException.class, () -> boot(img, 4, null));
        assertTrue(x.getMessage().contains("past guest memory of 4 MiB"), x.getMessage());
        assertEquals(new Outcome.Halted(TestElf.EXIT_STATUS), boot(img, 12, null).outcome());
    }

    @Test
    void oneGuestsFaultDoesNotTouchAnother() throws Exception {
        ByteArrayOutputStream calmOut = new ByteArrayOutputStream();
        try (Instance calm = monitor.create(InstanceSpec.of(check, calmOut, "poll", "300"));
             Instance crash = monitor.create(InstanceSpec.of(check, new ByteArrayOutputStream(), "triple"))) {
            calm.start();
            crash.start();
            assertInstanceOf(Outcome.Faulted.class, crash.outcome().get(10, TimeUnit.SECONDS));
            assertEquals(new Outcome.Halted(0), calm.outcome().get(10, TimeUnit.SECONDS));
            assertTrue(calmOut.toString().startsWith("poll ret=0"), calmOut.toString());
        }
    }

    @Test
    void manyBootsLeakNoDescriptorsOrMappings() throws Exception {
        for (int i = 0; i < 5; i++) boot(hello, 2, null);
        long fds = countFds();
        long maps = countMaps();
        for (int i = 0; i < 100; i++) {
            assertEquals(new Outcome.Halted(0), boot(hello, 2, null).outcome());
        }
        assertTrue(countFds() <= fds + 2, "fds " + fds + " -> " + countFds());
        assertTrue(countMaps() <= maps + 8, "maps " + maps + " -> " + countMaps());
    }

    @Test
    void closingAMonitorClosesItsInstancesStartedOrNot() throws Exception {
        Monitor m = Monitor.open();
        Instance never = m.create(InstanceSpec.of(check, new ByteArrayOutputStream(), "exit", "0"));
        Instance spinning = m.create(InstanceSpec.of(check, new ByteArrayOutputStream(), "spin"));
        spinning.start();
        Thread.sleep(100);
        assertEquals(2, m.instances().size());
        m.close();
        assertEquals(Instance.State.CLOSED, never.state());
        assertEquals(Instance.State.CLOSED, spinning.state());
        assertEquals(new Outcome.Stopped(StopCause.REQUESTED), spinning.outcome().get());
        assertTrue(m.instances().isEmpty());
    }

    @Test
    void bootsFromTheWarmPoolBehaveLikeColdOnes() throws Exception {
        try (Monitor m = Monitor.open()) {
            m.keepWarm(2L << 20, 2);
            for (int i = 0; i < 20; i++) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                try (Instance inst = m.create(InstanceSpec.of(hello, out, "warm", Integer.toString(i)).withMemory(2L << 20))) {
                    assertEquals(new Outcome.Halted(0), inst.run());
                }
                assertTrue(out.toString().endsWith("cmdline: warm " + i + "\n"), out.toString());
            }
            ByteArrayOutputStream other = new ByteArrayOutputStream();
            try (Instance inst = m.create(InstanceSpec.of(check, other, "bootinfo").withMemory(8L << 20))) {
                assertEquals(new Outcome.Halted(0), inst.run(), "another memory size does not use the pool");
            }
            assertTrue(other.toString().contains("mem_size=8388608"), other.toString());
        }
        long fds = countFds();
        try (Monitor m = Monitor.open()) {
            m.keepWarm(2L << 20, 3);
            Thread.sleep(100);
        }
        assertTrue(countFds() <= fds + 2, "closing the monitor closes the pooled VMs");
    }

    @Test
    void anInstanceRunsOnlyOnce() throws Exception {
        try (Instance i = monitor.create(InstanceSpec.of(check, new ByteArrayOutputStream(), "exit", "0"))) {
            assertEquals(new Outcome.Halted(0), i.run());
            assertThrows(IllegalStateException.class, i::run);
        }
    }

    private static long countFds() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    private static long countMaps() throws IOException {
        try (Stream<String> s = Files.lines(Path.of("/proc/self/maps"))) {
            return s.count();
        }
    }
}
