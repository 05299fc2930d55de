package dev.kiln.cli;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The httpreply unikernel served to real curl over a tap interface in a network namespace this
 * test makes: GET, HEAD, keep-alive, and bad requests that must not hurt it.
 */
class HttpReplyTest {
    static final String NS = "kiln-http-" + ProcessHandle.current().pid();
    static final String TAP = "kh" + (ProcessHandle.current().pid() % 100000);
    static final String URL = "http://10.97.0.2/";
    static NetTestSupport.Guest guest;

    static String inNs(String... cmd) throws Exception {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", NS));
        all.addAll(List.of(cmd));
        return NetTestSupport.sh(all.toArray(String[]::new));
    }

    @BeforeAll
    static void boot() throws Exception {
        NetTestSupport.require("HTTP", "httpreply.hvt", "curl", "wrk", "ping", "python3");
        assertEquals(0, CliRun.of("net", "create", TAP, "--ip", "10.97.0.1/24", "--netns", NS).status());
        guest = NetTestSupport.Guest.start(NetTestSupport.kilnRun(NS, "--mem=16", "--net:service0=" + TAP,
                NetTestSupport.GUESTS.resolve("httpreply.hvt").toString(), "ip=10.97.0.2/24"));
        assertEquals("httpreply: listening on 10.97.0.2:80", guest.line());
    }

    @AfterAll
    static void stop() throws Exception {
        if (guest != null) guest.stop();
        CliRun.of("net", "delete-netns", NS);
    }

    @Test
    void pingAndCurl() throws Exception {
        assertTrue(inNs("ping", "-c", "2", "-W", "2", "10.97.0.2").contains("2 received"));
        String page = inNs("curl", "-s", "--max-time", "10", URL);
        assertTrue(page.contains("<h1>Hello from a Kiln unikernel</h1>"), page);
        String head = inNs("curl", "-s", "-I", "--max-time", "10", URL);
        assertTrue(head.startsWith("HTTP/1.1 200 OK") && head.contains("Content-Length: "), head);
    }

    @Test
    void keepAliveServesManyRequestsOnOneConnection() throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "-s", "--max-time", "20", "-w", "%{num_connects}\\n"));
        for (int i = 0; i < 20; i++) cmd.addAll(List.of("-o", "/dev/null", URL));
        String out = inNs(cmd.toArray(String[]::new));
        long connects = out.lines().mapToLong(Long::parseLong).sum();
        assertEquals(1, connects, "20 requests over one kept-alive connection: " + out);
    }

    @Test
    void badRequestsGetAnErrorAndTheServerGoesOn() throws Exception {
        String py = """
                import socket, sys
                def ask(raw):
                    s = socket.create_connection(("10.97.0.2", 80), timeout=5)
                    s.sendall(raw)
                    data = b""
                    while True:
                        chunk = s.recv(65536)
                        if not chunk: break
                        data += chunk
                    s.close()
                    return data.split(b"\\r\\n", 1)[0].decode()
                print(ask(b"GARBAGE\\r\\n\\r\\n"))
                print(ask(b"POST / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"))
                print(ask(b"GET / HTTP/1.1\\r\\nX: " + b"a" * 8000 + b"\\r\\n\\r\\n"))
                print(ask(b"GET / HTTP/1.1\\r\\nConnection: close\\r\\n\\r\\n"))
                """;
        String out = inNs("python3", "-c", py);
        assertEquals(List.of("HTTP/1.1 400 Bad Request", "HTTP/1.1 405 Method Not Allowed",
                "HTTP/1.1 431 Request Header Fields Too Large", "HTTP/1.1 200 OK"), out.lines().toList());
        assertTrue(inNs("curl", "-s", "--max-time", "10", URL).contains("Hello from a Kiln unikernel"));
    }

    @Test
    void wrkGetsEveryAnswer() throws Exception {
        String out = inNs("wrk", "-t1", "-c4", "-d2s", URL);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+) requests in").matcher(out);
        assertTrue(m.find() && Long.parseLong(m.group(1)) > 0, out);
        assertTrue(!out.contains("Non-2xx") && !out.contains("Socket errors"), out);
    }
}
