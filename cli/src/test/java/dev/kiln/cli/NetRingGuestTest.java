package dev.kiln.cli;

import dev.kiln.monitor.devices.NetRingService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The network ring against guests that break its rules (docs/kiln-abi.md 4.3, 4.4), in a
 * namespace this test makes: the ringcheck guest writes garbage entries (each must come back
 * EINVAL), garbage indices (the guest must be stopped with a message naming them), and the
 * monitor's own cache line. Then, in one monitor, a hostile guest next to a healthy one, and a
 * guest paused, snapshotted and cloned with its ring in use.
 */
class NetRingGuestTest {
    static final String NS = "kiln-ring-" + ProcessHandle.current().pid();
    /** netecho's tap (10.77.0.1 on the host side) and ringcheck's. */
    static final String TAP = "kr" + (ProcessHandle.current().pid() % 100000), TAP2 = TAP + "b";
    static final Path CLIENT = NetTestSupport.GUEST_ROOT.resolve("tests/net-host/client.py");

    @TempDir
    Path dir;

    @BeforeAll
    static void namespace() throws Exception {
        NetTestSupport.require("NET RING", "ringcheck.hvt", "ip", "python3");
        NetTestSupport.require("NET RING", "netecho.hvt");
        assertEquals(0, CliRun.of("net", "create", TAP, "--ip", "10.77.0.1/24", "--netns", NS).status());
        NetTestSupport.sh("ip", "netns", "exec", NS, "ip", "tuntap", "add", TAP2, "mode", "tap");
        NetTestSupport.sh("ip", "netns", "exec", NS, "sysctl", "-qw", "net.ipv6.conf." + TAP2 + ".disable_ipv6=1");
        NetTestSupport.sh("ip", "netns", "exec", NS, "ip", "link", "set", TAP2, "up");
    }

    @AfterAll
    static void cleanup() {
        CliRun.of("net", "delete-netns", NS);
    }

    record Run(int status, String out) {}

    static Run ringcheck(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("--net:service0=" + TAP2));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(NetTestSupport.kilnRun(NS, cmd.toArray(String[]::new))).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new Run(p.exitValue(), out);
    }

    static String image() {
        return NetTestSupport.GUESTS.resolve("ringcheck.hvt").toString();
    }

    /** The ring served inside POLL (the default), then by an I/O thread of its own. */
    static final List<List<String>> SERVICES = List.of(List.of(), List.of("--net-ring-thread"));

    static Run ringcheck(List<String> service, String... args) throws Exception {
        List<String> all = new ArrayList<>(service);
        all.addAll(List.of(args));
        return ringcheck(all.toArray(String[]::new));
    }

    @ParameterizedTest
    @ValueSource(strings = {"entries", "hostline", "room"})
    void garbageEntriesAreAnsweredAndTheMonitorsIndicesAreItsOwn(String mode) throws Exception {
        for (List<String> service : SERVICES) {
            Run r = ringcheck(service, "--mem=16", image(), mode);
            assertEquals(mode + " ok\n", r.out(), service.toString());
            assertEquals(0, r.status(), service.toString());
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "ahead|ent_tail 5000 is not within 1024 entries after ent_head 0",
            "backwards|ent_tail 1 is not within 1024 entries after ent_head 2",
            "comhead|com_head 7 is not between the last com_head 0 and com_tail 1"})
    void indexGarbageStopsTheGuestWithAMessageNamingIt(String mode, String message) throws Exception {
        for (List<String> service : SERVICES) {
            Run r = ringcheck(service, "--mem=16", image(), mode);
            assertTrue(r.out().contains("kiln: guest fault: net ring: " + message), service + ": " + r.out());
            assertTrue(!r.out().contains("not stopped"), r.out());
            assertEquals(255, r.status(), service.toString());
        }
    }

    @Test
    void noRingWhenTurnedOffOrRamIsTooSmall() throws Exception {
        Run off = ringcheck("--mem=16", "--no-net-ring", image(), "entries");
        assertEquals("ringcheck: no net device 'service0' or no ring offered\n", off.out());
        Run small = ringcheck("--mem=8", image(), "entries");
        assertEquals("ringcheck: no net device 'service0' or no ring offered\n", small.out());
        assertEquals(1, small.status());
        assertEquals("entries ok\n", ringcheck("--mem=10", image(), "entries").out(), "10 MiB is enough (a quarter for the ring)");
    }

    /** {@link RingScenario} in the namespace, stepped through its stdin. */
    record Scenario(Process process, BufferedReader out, PrintStream in) {
        static Scenario start(NetRingService service, String... args) throws Exception {
            List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", NS,
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
                    "-Dkiln.test.netRing=" + service, "-cp", System.getProperty("java.class.path"), RingScenario.class.getName()));
            cmd.addAll(List.of(args));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            return new Scenario(p, new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)),
                    new PrintStream(p.getOutputStream(), true, StandardCharsets.UTF_8));
        }

        String line() throws Exception {
            String l = out.readLine();
            assertTrue(l != null, "the scenario ended early");
            return l;
        }

        void go(String step) {
            in.println(step);
        }

        void finish() throws Exception {
            assertEquals("done", line());
            assertTrue(process.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, process.exitValue());
        }
    }

    static String client(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", NS, "timeout", "120", "python3", CLIENT.toString()));
        cmd.addAll(List.of(args));
        return NetTestSupport.sh(cmd.toArray(String[]::new)).strip();
    }

    @ParameterizedTest
    @EnumSource(value = NetRingService.class, names = {"AT_POLL", "IO_THREAD"})
    void aHostileGuestIsStoppedWhileItsNeighbourInTheSameMonitorServesOn(NetRingService service) throws Exception {
        Scenario s = Scenario.start(service, "isolation", NetTestSupport.GUESTS.toString(), TAP2, TAP);
        try {
            assertEquals("ready", s.line());
            Process transfer = new ProcessBuilder("ip", "netns", "exec", NS, "timeout", "120", "python3", CLIENT.toString(),
                    "tcp_echo", "1048576", "100").redirectErrorStream(true).start();
            s.go("hostile");
            assertEquals("hostile: guest fault: net ring: ent_tail 5000 is not within 1024 entries after ent_head 0 (it moved"
                    + " backwards or too far ahead; hvt ABI section 6, docs/kiln-abi.md 4.3)", s.line());
            assertEquals("again: guest halted with status 0: entries ok", s.line(), "the tap and the monitor serve a new guest");
            String out = new String(transfer.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, transfer.waitFor(), out);
            assertTrue(out.startsWith("tcp echo ok: 1048576 bytes byte-exact"), out);
            assertEquals("udp echo ok (20 datagrams)", client("udp_echo"));
            s.go("end");
            String healthy = s.line();
            assertTrue(healthy.matches("healthy: running, frames in \\d{3,} out \\d{3,}"), healthy);
            s.finish();
        } finally {
            s.process().destroyForcibly();
        }
    }

    @ParameterizedTest
    @EnumSource(value = NetRingService.class, names = {"AT_POLL", "IO_THREAD"})
    void pauseSnapshotResumeAndACloneKeepTheRingGoing(NetRingService service) throws Exception {
        Scenario s = Scenario.start(service, "snapshot", NetTestSupport.GUESTS.toString(), TAP, dir.toString());
        try {
            assertEquals("up", s.line());
            assertEquals("udp echo ok (20 datagrams)", client("udp_echo"));
            s.go("pause");
            assertEquals("resumed", s.line());
            assertEquals("udp echo ok (20 datagrams)", client("udp_echo"));
            assertEquals("tcp 3 sequential connections ok", client("tcp_many", "3"));
            s.go("restore");
            assertTrue(s.line().matches("original: frames in \\d{2,} out \\d{2,}"));
            assertEquals("restored", s.line());
            assertEquals("udp echo ok (20 datagrams)", client("udp_echo"));
            assertEquals("tcp 3 sequential connections ok", client("tcp_many", "3"));
            s.go("end");
            String clone = s.line();
            assertTrue(clone.matches("clone: running, frames in \\d{2,} out \\d{2,}"), clone);
            s.finish();
        } finally {
            s.process().destroyForcibly();
        }
    }
}
