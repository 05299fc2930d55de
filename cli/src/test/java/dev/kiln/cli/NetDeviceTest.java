package dev.kiln.cli;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * NET_BASIC end to end on a real tap interface, in a network namespace this test makes: the
 * netcheck guest echoes Ethernet frames that a Python AF_PACKET peer sends and checks.
 */
class NetDeviceTest {
    static final Path GUESTS = NetTestSupport.GUESTS;
    static final Path PEER = NetTestSupport.GUEST_ROOT.resolve("tests/netcheck/peer.py");
    static final String NS = "kiln-net-" + ProcessHandle.current().pid();
    static final String TAP = "kt" + (ProcessHandle.current().pid() % 100000);

    static String sh(String... cmd) throws Exception {
        return NetTestSupport.sh(cmd);
    }

    @BeforeAll
    static void namespace() throws Exception {
        NetTestSupport.require("NET", "netcheck.hvt", "ip", "python3");
        sh("ip", "netns", "add", NS);
        sh("ip", "netns", "exec", NS, "ip", "tuntap", "add", TAP, "mode", "tap");
        sh("ip", "netns", "exec", NS, "ip", "link", "set", TAP, "up");
        // No IPv6 chatter from the host on the test link: only the test's frames cross it.
        sh("ip", "netns", "exec", NS, "sysctl", "-qw", "net.ipv6.conf." + TAP + ".disable_ipv6=1");
    }

    @AfterAll
    static void cleanup() throws Exception {
        new ProcessBuilder("ip", "netns", "delete", NS).start().waitFor();
    }

    static List<String> kiln(String... args) {
        return NetTestSupport.kilnRun(NS, args);
    }

    /** {@code kiln run ARGS}, with {@code --no-net-ring} first unless {@code ring}. */
    static String[] kiln(boolean ring, String... args) {
        List<String> cmd = new java.util.ArrayList<>(NetTestSupport.kilnRun(NS));
        if (!ring) cmd.add("--no-net-ring");
        cmd.addAll(List.of(args));
        return cmd.toArray(String[]::new);
    }

    /**
     * With the ring served inside POLL (the default), with the ring served by an I/O thread, and
     * without it (every frame a NET_READ/NET_WRITE hypercall). The guest halts right after its last
     * echo: that frame must still go out.
     */
    @ParameterizedTest
    @ValueSource(strings = {"", "--net-ring-thread", "--no-net-ring"})
    void framesEchoThroughTheGuestByteExact(String service) throws Exception {
        boolean ring = !service.equals("--no-net-ring");
        List<String> cmd = new java.util.ArrayList<>(NetTestSupport.kilnRun(NS));
        if (!service.isEmpty()) cmd.add(service);
        cmd.addAll(List.of("--stats", "--net:service0=" + TAP, "--net-mac:service0=02:00:00:00:00:02",
                GUESTS.resolve("netcheck.hvt").toString(), "echo", "200", "5000"));
        Process guest = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        BufferedReader r = new BufferedReader(new InputStreamReader(guest.getInputStream(), StandardCharsets.UTF_8));
        assertEquals("echo ready", r.readLine());
        String peer = sh("ip", "netns", "exec", NS, "python3", PEER.toString(), TAP, "02:00:00:00:00:02", "200");
        assertTrue(peer.contains("200 passed, 0 failed"), peer);
        assertTrue(guest.waitFor(30, TimeUnit.SECONDS));
        assertEquals("echoed 200", r.readLine());
        String stats = r.readLine();
        assertEquals(0, guest.exitValue());
        java.util.regex.Matcher hypercalls = java.util.regex.Pattern.compile("hypercalls (\\d+)").matcher(stats);
        assertTrue(hypercalls.find(), stats);
        if (ring) {
            // 200 frames each way through the ring, none through NET_READ/NET_WRITE; what exits are
            // left are the console's and POLLs (the peer sends one frame at a time: the guest waits
            // between them)
            assertTrue(stats.contains("net ring: frames in 200, out 200,"), stats);
            // served at POLL the guest never kicks: the monitor never asks (needs_kick stays 0)
            if (service.isEmpty()) assertTrue(stats.contains(", kicks 0,"), stats);
            assertTrue(!stats.contains("NET_READ") && !stats.contains("NET_WRITE"), stats);
        } else {
            assertTrue(!stats.contains("net ring"), stats);
            assertTrue(stats.matches("(?s).*NET_WRITE 200[,)].*"), stats);
            assertTrue(Long.parseLong(hypercalls.group(1)) >= 400, stats);
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void macMtuAndEveryBadRequest(boolean ring) throws Exception {
        String info = sh(kiln(ring, "--net:service0=" + TAP, "--net-mac:service0=02:aa:bb:cc:dd:ee",
                GUESTS.resolve("netcheck.hvt").toString(), "info"));
        assertEquals("mac=02:aa:bb:cc:dd:ee mtu=1500\n", info);
        String bad = sh(kiln(ring, "--net:service0=" + TAP, GUESTS.resolve("netcheck.hvt").toString(), "bad"));
        assertEquals("bad ok\n", bad);
        Process missing = new ProcessBuilder(kiln("--net:service0=nosuch0", GUESTS.resolve("netcheck.hvt").toString(), "info"))
                .redirectErrorStream(true).start();
        String out = new String(missing.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(125, missing.waitFor());
        assertTrue(out.contains("there is no network interface 'nosuch0'"), out);
        assertTrue(Files.exists(PEER));
    }

    @Test
    void kilnNetMakesAndRemovesTapsBridgesAndNamespaces() throws Exception {
        String ns = NS + "b";
        try {
            CliRun made = CliRun.of("net", "create", "kb" + TAP, "--ip", "10.98.0.1/24", "--netns", ns, "--bridge", "kbr0");
            assertEquals(0, made.status(), made.err());
            assertTrue(made.out().contains("+ ip -n " + ns + " link set kb" + TAP + " master kbr0"), made.out());
            String addrs = sh("ip", "-n", ns, "-br", "addr");
            assertTrue(addrs.matches("(?s).*kbr0\\s+\\S+\\s+10\\.98\\.0\\.1/24.*"), addrs);
            String info = sh(java.util.stream.Stream.concat(java.util.stream.Stream.of("ip", "netns", "exec", ns),
                    kiln("--net:service0=kb" + TAP, GUESTS.resolve("netcheck.hvt").toString(), "info").stream().skip(4))
                    .toArray(String[]::new));
            assertTrue(info.startsWith("mac=") && info.endsWith(" mtu=1500\n"), info);
            CliRun again = CliRun.of("net", "create", "kb" + TAP, "--netns", ns);
            assertEquals(1, again.status());
            assertTrue(again.err().contains("tuntap add kb" + TAP + " mode tap failed"), again.err());
            assertEquals(Main.EXIT_USAGE, CliRun.of("net", "create", "bad name!").status());
            assertEquals(Main.EXIT_USAGE, CliRun.of("net", "create", "a-very-long-tap-name").status());
        } finally {
            assertEquals(0, CliRun.of("net", "delete-netns", ns).status());
        }
        assertTrue(!sh("ip", "netns", "list").contains(ns));
    }
}
