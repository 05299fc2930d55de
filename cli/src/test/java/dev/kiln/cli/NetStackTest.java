package dev.kiln.cli;

import dev.kiln.monitor.kvm.Kvm;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The guest TCP/IP stack under Kiln, from a real Linux peer in a namespace: UDP and TCP echo, a
 * 10 MiB transfer that must come back byte-exact, many connections, then malformed frames and a
 * SYN flood, after which the guest (and the monitor) must still answer.
 */
class NetStackTest {
    static final Path GUESTS = Path.of(System.getProperty("kiln.guest.dir", "../guest/out"));
    static final Path CLIENT = Path.of(System.getProperty("kiln.guest.root", "../guest"), "tests/net-host/client.py");
    static final String NS = "kiln-ns-" + ProcessHandle.current().pid();
    static final String TAP = "ks" + (ProcessHandle.current().pid() % 100000);
    static Process guest;

    static String client(int timeoutSeconds, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", NS, "timeout", Integer.toString(timeoutSeconds),
                "python3", CLIENT.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), String.join(" ", args) + ": " + out);
        return out.strip();
    }

    @BeforeAll
    static void boot() throws Exception {
        String reason = Kvm.unavailableReason();
        if (reason == null && !"root".equals(System.getProperty("user.name"))) reason = "needs root for network namespaces";
        if (reason == null && !Files.exists(GUESTS.resolve("netecho.hvt"))) reason = "netecho.hvt was not built";
        if (reason != null) System.err.println("!!! NET STACK TESTS SKIPPED: " + reason);
        Assumptions.assumeTrue(reason == null, reason);
        assertEquals(0, CliRun.of("net", "create", TAP, "--ip", "10.77.0.1/24", "--netns", NS).status());
        guest = new ProcessBuilder("ip", "netns", "exec", NS, Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), "dev.kiln.cli.Main",
                "run", "--mem=32", "--net:service0=" + TAP, "--net-mac:service0=02:00:00:77:00:02",
                GUESTS.resolve("netecho.hvt").toString(), "ip=10.77.0.2/24").redirectErrorStream(true).start();
        BufferedReader r = new BufferedReader(new InputStreamReader(guest.getInputStream(), StandardCharsets.UTF_8));
        assertEquals("netecho: ready", r.readLine());
    }

    @AfterAll
    static void stop() throws Exception {
        if (guest != null) {
            guest.destroy();
            guest.waitFor(10, TimeUnit.SECONDS);
        }
        CliRun.of("net", "delete-netns", NS);
    }

    @Test
    void echoLargeTransferAndHostileTraffic() throws Exception {
        assertEquals("udp echo ok (20 datagrams)", client(60, "udp_echo"));
        assertTrue(client(400, "tcp_echo", "10485760", "300").startsWith("tcp echo ok: 10485760 bytes byte-exact"));
        assertEquals("tcp 20 sequential connections ok", client(120, "tcp_many", "20"));
        assertTrue(client(60, "malformed", TAP).startsWith("sent "));
        assertTrue(client(60, "synflood", TAP, "500").startsWith("sent 500 spoofed SYNs"));
        assertTrue(guest.isAlive(), "the guest survived");
        assertEquals("tcp 5 sequential connections ok", client(120, "tcp_many", "5"));
        assertEquals("udp echo ok (20 datagrams)", client(60, "udp_echo"));
    }
}
