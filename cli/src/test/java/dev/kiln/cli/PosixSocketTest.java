package dev.kiln.cli;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The POSIX layer's sockets (issue 11, item 2) over a real tap in a network namespace: the posixnet
 * guest, a musl program, serves TCP echo (a thread per connection, blocking I/O) and UDP echo
 * (epoll) to the host's own Python clients, then connects out to a host server, and checks the
 * error cases itself; it ends with a verdict line.
 */
class PosixSocketTest {
    static final String NS = "kiln-psock-" + ProcessHandle.current().pid();
    static final String TAP = "kps" + (ProcessHandle.current().pid() % 100000);

    static String inNs(String... cmd) throws Exception {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", NS));
        all.addAll(List.of(cmd));
        return NetTestSupport.sh(all.toArray(String[]::new));
    }

    @BeforeAll
    static void network() throws Exception {
        NetTestSupport.require("POSIX SOCKET", "posixnet.hvt", "python3");
        assertEquals(0, CliRun.of("net", "create", TAP, "--ip", "10.96.0.1/24", "--netns", NS).status());
    }

    @AfterAll
    static void stop() {
        CliRun.of("net", "delete-netns", NS);
    }

    @Test
    void tcpAndUdpEchoToTheHostsClientsAndAConnectOut() throws Exception {
        // the host side of the guest's outgoing connection
        Process server = new ProcessBuilder("ip", "netns", "exec", NS, "python3", "-c", """
                import socket
                s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("10.96.0.1", 9000)); s.listen(1); s.settimeout(90)
                c, _ = s.accept(); d = b""
                while not d.endswith(b"\\n"): d += c.recv(100)
                c.sendall(b"hello guest\\n" if d == b"hello from guest\\n" else b"unexpected\\n"); c.close()
                """).redirectErrorStream(true).start();
        NetTestSupport.Guest guest = NetTestSupport.Guest.start(NetTestSupport.kilnRun(NS, "--mem=32", "--net:service0=" + TAP,
                NetTestSupport.GUESTS.resolve("posixnet.hvt").toString(), "echo", "ip=10.96.0.2/24", "peer=10.96.0.1:9000"));
        try {
            StringBuilder seen = new StringBuilder();
            String line;
            while ((line = guest.line()) != null && !line.startsWith("posixnet echo: listening")) seen.append(line).append('\n');
            assertTrue(line != null, "the guest never listened: " + seen);
            String out = inNs("python3", "-c", """
                    import socket, os, threading
                    ok = []
                    def client():
                        data = os.urandom(1 << 20)
                        s = socket.create_connection(("10.96.0.2", 7007), timeout=30)
                        got = bytearray()
                        def rd():
                            while len(got) < len(data):
                                c = s.recv(65536)
                                if not c: break
                                got.extend(c)
                        t = threading.Thread(target=rd); t.start(); s.sendall(data); t.join(); s.close()
                        ok.append(bytes(got) == data)
                    ts = [threading.Thread(target=client) for _ in range(3)]
                    [t.start() for t in ts]; [t.join() for t in ts]
                    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(5)
                    n = 0
                    for i in range(5):
                        u.sendto(b"dgram %d" % i, ("10.96.0.2", 7007)); d, _ = u.recvfrom(2000); n += d == b"dgram %d" % i
                    u.sendto(b"quit", ("10.96.0.2", 7007))
                    print(sum(ok), n)
                    """);
            assertEquals("3 5", out.trim(), "three 1 MiB TCP echoes byte for byte and five UDP echoes");
            StringBuilder rest = new StringBuilder();
            while ((line = guest.line()) != null) rest.append(line).append('\n');
            assertTrue(guest.process().waitFor(30, TimeUnit.SECONDS), rest.toString());
            assertTrue(rest.toString().contains("posixnet echo: PASS") && !rest.toString().contains("FAIL"), seen + rest.toString());
            assertEquals(0, guest.process().exitValue(), rest.toString());
        } finally {
            if (guest.process().isAlive()) guest.stop();
            server.destroy();
        }
    }
}
