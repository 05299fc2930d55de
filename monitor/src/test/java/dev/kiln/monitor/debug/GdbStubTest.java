package dev.kiln.monitor.debug;

import dev.kiln.monitor.ExecutionMode;
import dev.kiln.monitor.Instance;
import dev.kiln.monitor.InstanceSpec;
import dev.kiln.monitor.KvmAvailable;
import dev.kiln.monitor.Monitor;
import dev.kiln.monitor.Outcome;
import dev.kiln.monitor.StopCause;
import dev.kiln.monitor.hvt.FaultKind;
import dev.kiln.monitor.image.GuestImages;
import dev.kiln.monitor.image.HvtImage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The stub's protocol from a raw socket: what gdb itself cannot script (Ctrl-C, hostile packets). */
class GdbStubTest {
    private static Monitor monitor;
    private static HvtImage check;

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

    /** A raw RSP client: sends packets, reads replies, acknowledges them. */
    private record Client(Socket socket, InputStream in, OutputStream out) implements AutoCloseable {
        static Client connect(int port) throws Exception {
            Socket s = new Socket("127.0.0.1", port);
            s.setSoTimeout(20_000);
            return new Client(s, s.getInputStream(), s.getOutputStream());
        }

        void raw(String bytes) throws Exception {
            out.write(bytes.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        }

        String ask(String payload) throws Exception {
            int sum = 0;
            for (char c : payload.toCharArray()) sum += c;
            raw("$" + payload + "#" + String.format("%02x", sum & 0xff));
            return reply();
        }

        String reply() throws Exception {
            int c;
            while ((c = in.read()) != '$') {
                if (c < 0) return null;
            }
            StringBuilder b = new StringBuilder();
            while ((c = in.read()) != '#') b.append((char) c);
            in.read();
            in.read();
            raw("+");
            return b.toString();
        }

        @Override
        public void close() throws Exception {
            socket.close();
        }
    }

    /** Creates an instance waiting for a debugger and runs it on another thread once one connects. */
    private static CompletableFuture<Outcome> debugged(GdbStub stub, ByteArrayOutputStream console, String... args) {
        return CompletableFuture.supplyAsync(() -> {
            try (Instance i = monitor.create(InstanceSpec.of(check, console, args).withExecution(ExecutionMode.EMULATED))) {
                i.debugWith(stub);
                return i.run();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void ctrlCStopsARunningGuestAndKillEndsIt() throws Exception {
        GdbStub stub = GdbStub.listen(0);
        CompletableFuture<Outcome> outcome = debugged(stub, new ByteArrayOutputStream(), "idle");
        try (Client gdb = Client.connect(stub.port())) {
            assertEquals("S05", gdb.ask("?"), "stopped before the first instruction");
            assertTrue(gdb.ask("qSupported:multiprocess+").contains("qXfer:features:read+"));
            assertTrue(gdb.ask("qXfer:features:read:target.xml:0,fff").contains("<architecture>i386:x86-64</architecture>"));
            String regs = gdb.ask("g");
            assertEquals(GdbStub.G_BYTES * 2, regs.length());
            assertEquals(check.entry(), Long.reverseBytes(Long.parseUnsignedLong(regs.substring(256, 272), 16)), "rip is the entry");
            gdb.raw("$c#63");
            Thread.sleep(300); // asleep in POLL by now
            gdb.raw("\u0003");
            assertEquals("S02", gdb.reply(), "Ctrl-C reported as SIGINT");
            gdb.raw("$k#6b");
        }
        assertEquals(new Outcome.Stopped(StopCause.DEBUGGER), outcome.get(30, TimeUnit.SECONDS));
    }

    @Test
    void stoppingAGuestThatGdbHoldsEndsItAndDropsGdb() throws Exception {
        GdbStub stub = GdbStub.listen(0);
        try (Instance i = monitor.create(InstanceSpec.of(check, new ByteArrayOutputStream(), "idle").withExecution(ExecutionMode.EMULATED))) {
            CompletableFuture<Outcome> outcome = CompletableFuture.supplyAsync(() -> {
                try {
                    i.debugWith(stub);
                    return i.run();
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            try (Client gdb = Client.connect(stub.port())) {
                assertEquals("S05", gdb.ask("?"), "held before the first instruction");
                i.stop(StopCause.TIME_LIMIT); // as --timeout does
                assertEquals(new Outcome.Stopped(StopCause.TIME_LIMIT), outcome.get(30, TimeUnit.SECONDS));
                assertEquals(null, gdb.reply(), "gdb was dropped");
            }
        }
    }

    @Test
    void hostilePacketsGetErrorsAndNeverEndTheGuest() throws Exception {
        GdbStub stub = GdbStub.listen(0);
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        CompletableFuture<Outcome> outcome = debugged(stub, console, "puts");
        try (Client gdb = Client.connect(stub.port())) {
            gdb.raw("$g#00");                                   // wrong checksum
            assertEquals('-', gdb.in().read(), "a bad checksum asks for the packet again");
            assertEquals("E14", gdb.ask("m0,4"), "the null page is not mapped for the guest");
            assertEquals("E14", gdb.ask("mffc,8"), "a read that starts in the null page");
            // the monitor's low pages can be read, as with solo5-hvt: the GDT's code descriptor, the PML4
            assertEquals("ffff00000099af00", gdb.ask("m1008,8"), "the GDT's 64-bit code segment");
            assertTrue(gdb.ask("m2000,8").matches("[0-9a-f]{16}"), "the PML4's first entry");
            assertEquals("E14", gdb.ask("M2000,8:0000000000000000"), "but not written");
            assertEquals("E14", gdb.ask("mffffffffffffff00,100"), "past the end of memory, without overflow");
            assertEquals("E01", gdb.ask("M1ff000,2000:00"), "data shorter than the length it claims");
            assertEquals("E14", gdb.ask("M1fffffff,2:0000"), "a write running past the end of memory (512 MiB)");
            assertEquals("E01", gdb.ask("M100000,2:zz"), "not hex");
            assertEquals("E01", gdb.ask("m12345678901234567,1"), "an address of 17 hex digits");
            assertEquals("E01", gdb.ask("Zx"), "malformed breakpoint");
            assertEquals("", gdb.ask("Z2,100000,4"), "hardware watchpoints are not offered");
            for (int i = 0; i < 4; i++) assertEquals("OK", gdb.ask("Z0," + Long.toHexString(0x200000 + i) + ",1"));
            assertEquals("E28", gdb.ask("Z0,300000,1"), "four debug registers");
            for (int i = 0; i < 4; i++) assertEquals("OK", gdb.ask("z0," + Long.toHexString(0x200000 + i) + ",1"));
            assertEquals("", gdb.ask("vCont?"));
            assertEquals("", gdb.ask("Qunknown"));
            assertEquals("S05", gdb.ask("?"));
            gdb.raw("$c#63");
            assertEquals("W00", gdb.reply(), "the guest ran to its HALT");
        }
        assertEquals(new Outcome.Halted(0), outcome.get(30, TimeUnit.SECONDS));
        assertEquals("puts-ok\n", console.toString(StandardCharsets.UTF_8));
    }

    /**
     * A client that floods packets while the guest runs (nothing serves them then) is dropped once
     * GdbConnection.MAX_QUEUED wait, instead of queueing all of them; the guest goes on.
     */
    @Test
    void aDebuggerFloodingPacketsIsDroppedAndTheGuestGoesOn() throws Exception {
        GdbStub stub = GdbStub.listen(0);
        CompletableFuture<String> told = new CompletableFuture<>();
        stub.onDrop(told::complete);
        try (Instance i = monitor.create(InstanceSpec.of(check, new ByteArrayOutputStream(), "idle").withExecution(ExecutionMode.EMULATED))) {
            CompletableFuture<Outcome> outcome = CompletableFuture.supplyAsync(() -> {
                try {
                    i.debugWith(stub);
                    return i.run();
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            try (Client gdb = Client.connect(stub.port())) {
                assertEquals("S05", gdb.ask("?"));
                gdb.raw("$c#63");
                byte[] packet = "$?#3f".getBytes(StandardCharsets.ISO_8859_1);
                int sent = 0;
                try {
                    for (; sent < 400_000; sent++) gdb.out().write(packet);
                } catch (java.net.SocketException e) {
                    // the stub closed the connection under us: what is expected
                }
                assertTrue(sent < 400_000, "the stub stopped taking packets after " + sent);
                assertEquals(null, gdb.reply(), "the connection was closed");
            }
            assertEquals("the debugger sent more than " + GdbConnection.MAX_QUEUED + " packets without waiting for replies",
                    stub.droppedBecause());
            assertEquals(stub.droppedBecause(), told.get(5, TimeUnit.SECONDS), "told at once, the guest still running");
            Thread.sleep(200);
            assertTrue(!outcome.isDone(), "the guest still runs");
            i.stop(StopCause.TIME_LIMIT);
            assertEquals(new Outcome.Stopped(StopCause.TIME_LIMIT), outcome.get(30, TimeUnit.SECONDS));
        }
    }

    @Test
    void aDebuggerThatGoesAwayLeavesTheGuestRunningAndAFaultIsReported() throws Exception {
        GdbStub stub = GdbStub.listen(0);
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        CompletableFuture<Outcome> outcome = debugged(stub, console, "puts");
        try (Client gdb = Client.connect(stub.port())) {
            assertEquals("S05", gdb.ask("?"));
        } // closed without 'D' or 'k'
        assertEquals(new Outcome.Halted(0), outcome.get(30, TimeUnit.SECONDS));
        assertEquals("puts-ok\n", console.toString(StandardCharsets.UTF_8));

        GdbStub second = GdbStub.listen(0);
        CompletableFuture<Outcome> faulting = debugged(second, new ByteArrayOutputStream(), "triple");
        try (Client gdb = Client.connect(second.port())) {
            gdb.raw("$c#63");
            assertEquals("X0b", gdb.reply(), "a guest fault ends the session as SIGSEGV");
        }
        Outcome o = faulting.get(30, TimeUnit.SECONDS);
        assertEquals(FaultKind.TRIPLE_FAULT, assertInstanceOf(Outcome.Faulted.class, o).kind());

        GdbStub third = GdbStub.listen(0);
        CompletableFuture<Outcome> oversized = debugged(third, new ByteArrayOutputStream(), "puts");
        try (Client gdb = Client.connect(third.port())) {
            gdb.raw("$" + "m".repeat(GdbConnection.MAX_PACKET + 10));
            assertEquals(new Outcome.Halted(0), oversized.get(30, TimeUnit.SECONDS),
                    "an oversized packet ends the session; the guest goes on");
        }
    }
}
