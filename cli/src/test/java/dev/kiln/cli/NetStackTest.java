package dev.kiln.cli;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The guest TCP/IP stack under Kiln, from a real Linux peer in a namespace: UDP and TCP echo, a
 * 10 MiB transfer that must come back byte-exact, many connections (in a row and at once), then
 * malformed frames and a SYN flood, after which the guest (and the monitor) must still answer.
 * Frames go through the network ring (docs/kiln-abi.md 4), which the guest's statistics must show;
 * one test runs the stack over the hypercalls instead ({@code --no-net-ring}).
 */
class NetStackTest {
    static final Path CLIENT = NetTestSupport.GUEST_ROOT.resolve("tests/net-host/client.py");
    static final String NS = "kiln-ns-" + ProcessHandle.current().pid();
    static final String TAP = "ks" + (ProcessHandle.current().pid() % 100000);
    static NetTestSupport.Guest guest;

    static String client(int timeoutSeconds, String... args) throws Exception {
        return inNs(NS, timeoutSeconds, args);
    }

    @BeforeAll
    static void boot() throws Exception {
        NetTestSupport.require("NET STACK", "netecho.hvt", "python3", "ethtool");
        assertEquals(0, CliRun.of("net", "create", TAP, "--ip", "10.77.0.1/24", "--netns", NS).status());
        guest = NetTestSupport.Guest.start(NetTestSupport.kilnRun(NS, "--stats", "--mem=32", "--net:service0=" + TAP,
                "--net-mac:service0=02:00:00:77:00:02", NetTestSupport.GUESTS.resolve("netecho.hvt").toString(), "ip=10.77.0.2/24"));
        assertEquals("netecho: ready", guest.line());
    }

    @AfterAll
    static void stop() throws Exception {
        if (guest != null) guest.stop();
        CliRun.of("net", "delete-netns", NS);
    }

    @Test
    void echoLargeTransferAndHostileTraffic() throws Exception {
        assertEquals("udp echo ok (20 datagrams)", client(60, "udp_echo"));
        assertTrue(client(400, "tcp_echo", "10485760", "300").startsWith("tcp echo ok: 10485760 bytes byte-exact"));
        assertEquals("tcp 20 sequential connections ok", client(120, "tcp_many", "20"));
        assertEquals("tcp 16 parallel echoes x 65536 bytes byte-exact", client(240, "tcp_echo_parallel", "16", "65536"));
        assertTrue(client(60, "malformed", TAP).startsWith("sent "));
        assertTrue(client(60, "synflood", TAP, "500").startsWith("sent 500 spoofed SYNs"));
        assertTrue(guest.process().isAlive(), "the guest survived");
        assertEquals("tcp 5 sequential connections ok", client(120, "tcp_many", "5"));
        assertEquals("udp echo ok (20 datagrams)", client(60, "udp_echo"));
        // The frames went through the network ring (docs/kiln-abi.md 4), not one exit each.
        String rest = guest.stopAndRest();
        guest = null;
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("net ring: frames in (\\d+), out (\\d+)").matcher(rest);
        assertTrue(m.find() && Long.parseLong(m.group(1)) > 5000 && Long.parseLong(m.group(2)) > 5000, rest);
    }

    /** The same stack with every frame a NET_READ/NET_WRITE hypercall (kiln run --no-net-ring). */
    @Test
    void echoOverHypercallsWithoutTheRing() throws Exception {
        String ns = NS + "h", tap = TAP + "h";
        NetTestSupport.Guest plain = null;
        try {
            assertEquals(0, CliRun.of("net", "create", tap, "--ip", "10.77.0.1/24", "--netns", ns).status());
            plain = NetTestSupport.Guest.start(NetTestSupport.kilnRun(ns, "--stats", "--no-net-ring", "--mem=32",
                    "--net:service0=" + tap, "--net-mac:service0=02:00:00:77:00:02",
                    NetTestSupport.GUESTS.resolve("netecho.hvt").toString(), "ip=10.77.0.2/24"));
            assertEquals("netecho: ready", plain.line());
            assertTrue(inNs(ns, 200, "tcp_echo", "1048576", "150").startsWith("tcp echo ok: 1048576 bytes byte-exact"));
            assertEquals("udp echo ok (20 datagrams)", inNs(ns, 60, "udp_echo"));
            assertEquals("tcp 5 sequential connections ok", inNs(ns, 120, "tcp_many", "5"));
            String rest = plain.stopAndRest();
            assertTrue(rest.contains("hypercalls ") && !rest.contains("net ring"), rest);
        } finally {
            if (plain != null && plain.process().isAlive()) plain.stop();
            CliRun.of("net", "delete-netns", ns);
        }
    }

    /**
     * Loss and reordering: this kernel has no netem qdisc, so the peer reaches the guest through a
     * user-space relay (net-host/lossy_relay.py) that drops 5% of frames and holds back 25%, in a
     * second namespace joined to the peer's by a veth pair.
     */
    @Test
    void transfersCompleteDespiteLossAndReordering() throws Exception {
        String peer = NS + "p", guestNs = NS + "g", tap = TAP + "l";
        Process relay = null;
        NetTestSupport.Guest lossyGuest = null;
        try {
            sh("ip", "netns", "add", peer);
            assertEquals(0, CliRun.of("net", "create", tap, "--netns", guestNs).status());
            sh("ip", "-n", guestNs, "link", "add", "lv1", "type", "veth", "peer", "name", "lv0");
            sh("ip", "-n", guestNs, "link", "set", "lv0", "netns", peer);
            sh("ip", "-n", peer, "addr", "add", "10.77.0.1/24", "dev", "lv0");
            sh("ip", "-n", peer, "link", "set", "lv0", "up");
            sh("ip", "-n", guestNs, "link", "set", "lv1", "up", "promisc", "on");
            sh("ip", "-n", guestNs, "link", "set", tap, "promisc", "on");
            // The relay sees frames as the veth hands them over: checksums must be filled in by then.
            sh("ip", "netns", "exec", peer, "ethtool", "-K", "lv0", "tx", "off");
            sh("ip", "netns", "exec", guestNs, "ethtool", "-K", "lv1", "tx", "off");
            relay = new ProcessBuilder("ip", "netns", "exec", guestNs, "python3",
                    CLIENT.resolveSibling("lossy_relay.py").toString(), tap, "lv1", "5", "25").redirectErrorStream(true).start();
            assertEquals("relay: ready", new BufferedReader(new InputStreamReader(relay.getInputStream(), StandardCharsets.UTF_8)).readLine());
            lossyGuest = NetTestSupport.Guest.start(NetTestSupport.kilnRun(guestNs, "--stats", "--mem=32", "--net:service0=" + tap,
                    "--net-mac:service0=02:00:00:77:00:02", NetTestSupport.GUESTS.resolve("netecho.hvt").toString(), "ip=10.77.0.2/24"));
            assertEquals("netecho: ready", lossyGuest.line());
            assertTrue(inNs(peer, 300, "tcp_echo", "2097152", "240").startsWith("tcp echo ok: 2097152 bytes byte-exact"));
            assertEquals("tcp 10 sequential connections ok", inNs(peer, 200, "tcp_many", "10"));
            String rest = lossyGuest.stopAndRest();
            lossyGuest = null;
            assertTrue(rest.matches("(?s).*net ring: frames in \\d{4,}, out \\d{4,},.*"), "through the ring: " + rest);
        } finally {
            if (lossyGuest != null) lossyGuest.stop();
            if (relay != null) relay.destroy();
            new ProcessBuilder("ip", "netns", "delete", peer).start().waitFor();
            CliRun.of("net", "delete-netns", guestNs);
        }
    }

    static void sh(String... cmd) throws Exception {
        NetTestSupport.sh(cmd);
    }

    static String inNs(String ns, int timeoutSeconds, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns, "timeout", Integer.toString(timeoutSeconds),
                "python3", CLIENT.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), String.join(" ", args) + ": " + out);
        return out.strip();
    }
}
