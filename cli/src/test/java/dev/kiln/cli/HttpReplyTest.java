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
                NetTestSupport.GUESTS.resolve("httpreply.hvt").toString(), "ip=10.97.0.2/24", "header_timeout=2", "idle_timeout=3"));
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

    @Test
    void silentClientsAreClosedAfterTheHeaderAndIdleTimeouts() throws Exception {
        // a half-sent head (trickled a byte every half second: bytes must not extend the header
        // timeout), a connection that sends nothing, and a kept-alive one idle after its answer
        String py = """
                import socket, time, select
                def conn():
                    return socket.create_connection(("10.97.0.2", 80), timeout=10)
                t0 = time.monotonic()
                slow, mute, idle = conn(), conn(), conn()
                idle.sendall(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
                got = b""
                while b"</html>" not in got:
                    got += idle.recv(65536)
                t_idle = time.monotonic()
                closed = {}
                trickle = iter(b"GET / HTTP/1.1\\r\\nHost: x\\r\\nX-Long: " + b"a" * 100)
                while len(closed) < 3 and time.monotonic() - t0 < 10:
                    if "slow" not in closed:
                        try: slow.send(bytes([next(trickle)]))
                        except OSError: pass
                    for name, s in (("slow", slow), ("mute", mute), ("idle", idle)):
                        if name in closed: continue
                        if select.select([s], [], [], 0)[0]:
                            try: data = s.recv(65536)
                            except OSError: data = b""
                            if not data: closed[name] = time.monotonic()
                    time.sleep(0.5)
                for name in ("slow", "mute"):
                    print(name, round(closed.get(name, 99) - t0, 1))
                print("idle", round(closed.get("idle", 99) - t_idle, 1))
                """;
        java.util.Map<String, Double> closedAfter = new java.util.HashMap<>();
        String out = inNs("python3", "-c", py);
        for (String line : out.lines().toList()) {
            String[] w = line.split(" ");
            closedAfter.put(w[0], Double.parseDouble(w[1]));
        }
        // header_timeout=2 and idle_timeout=3; the sampling adds up to half a second
        assertTrue(closedAfter.get("slow") >= 1.5 && closedAfter.get("slow") <= 3.5, out);
        assertTrue(closedAfter.get("mute") >= 1.5 && closedAfter.get("mute") <= 3.5, out);
        assertTrue(closedAfter.get("idle") >= 2.5 && closedAfter.get("idle") <= 4.5, out);
    }

    @Test
    void slowlorisDoesNotLockOutOtherClients() throws Exception {
        // 100 connections with half-sent heads from a second address of the host, each reopened as
        // soon as it is closed (more than the stack's 64 slots), while a probe from the first asks
        // for the page once every 50 ms for 8 seconds
        String py = """
                import socket, threading, time, select
                stop = False
                held = [0]
                opened = [0]
                def attacker():
                    socks = []
                    def open_one():
                        s = socket.socket()
                        s.bind(("10.97.0.3", 0))
                        s.setblocking(False)
                        s.connect_ex(("10.97.0.2", 80))
                        socks.append([s, False])
                        opened[0] += 1
                    for _ in range(100): open_one()
                    while not stop:
                        r, w, _ = select.select([x[0] for x in socks], [x[0] for x in socks if not x[1]], [], 0.2)
                        for entry in list(socks):
                            s = entry[0]
                            dead = False
                            if s in w and not entry[1]:
                                try:
                                    s.send(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n")
                                    entry[1] = True
                                except OSError: dead = True
                            if s in r:
                                try: dead = not s.recv(4096)
                                except OSError: dead = True
                            if dead:
                                s.close(); socks.remove(entry); open_one()
                        held[0] = max(held[0], sum(1 for x in socks if x[1]))
                t = threading.Thread(target=attacker); t.start()
                time.sleep(1)
                ok = total = 0
                why = []
                end = time.monotonic() + 8
                while time.monotonic() < end:
                    total += 1
                    t1 = time.monotonic()
                    try:
                        s = socket.create_connection(("10.97.0.2", 80), timeout=1)
                        s.settimeout(1)
                        s.sendall(b"GET / HTTP/1.1\\r\\nHost: probe\\r\\nConnection: close\\r\\n\\r\\n")
                        got = b""
                        while True:
                            c = s.recv(65536)
                            if not c: break
                            got += c
                        s.close()
                        if got.startswith(b"HTTP/1.1 200 OK") and b"</html>" in got and time.monotonic() - t1 <= 1: ok += 1
                        else: why.append("%d bytes in %.2fs" % (len(got), time.monotonic() - t1))
                    except OSError as e: why.append("%s after %.2fs" % (type(e).__name__, time.monotonic() - t1))
                    time.sleep(0.05)
                stop = True; t.join()
                print(ok, total, held[0], opened[0], ";".join(why[:5]).replace(" ", "_"))
                """;
        inNs("sh", "-c", "ip addr show dev " + TAP + " | grep -q 10.97.0.3/ || ip addr add 10.97.0.3/24 dev " + TAP);
        String[] r = inNs("python3", "-c", py).trim().split(" ");
        int ok = Integer.parseInt(r[0]), total = Integer.parseInt(r[1]), held = Integer.parseInt(r[2]);
        String what = ok + " of " + total + " probes answered within 1 s; the attacker held up to " + held
                + " half-sent requests, opened " + r[3] + " connections" + (r.length > 4 ? "; failures: " + r[4] : "");
        System.err.println("slowloris: " + what);
        assertTrue(held >= 40, "the attack did not take hold: " + what);
        assertTrue(total >= 50 && ok * 100 >= total * 99, what);
        assertTrue(inNs("curl", "-s", "--max-time", "10", URL).contains("Hello from a Kiln unikernel"));
    }

    @Test
    void synFloodFromALiveHostDoesNotLockOutOtherClients() throws Exception {
        // The flooding host is played on the tap with a raw socket: address 10.97.0.4 and a MAC of
        // its own, it answers the guest's ARP requests, but never completes a handshake (the host
        // kernel drops the guest's SYN-ACKs, addressed to another MAC, so it cannot reset them
        // either): every SYN holds a half-open slot until the stack gives it up.
        String py = """
                import socket, struct, threading, time, random, subprocess
                TAP, SRC, DST = "@TAP@", "10.97.0.4", "10.97.0.2"
                FAKE = bytes.fromhex("0200c0a80004")
                def csum(b):
                    if len(b) % 2: b += b"\\0"
                    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
                    while s >> 16: s = (s & 0xffff) + (s >> 16)
                    return ~s & 0xffff
                subprocess.run(["ping", "-c", "1", "-W", "2", DST], capture_output=True)
                guest_mac = bytes.fromhex(open("/proc/net/arp").read().split(DST + " ", 1)[1].split()[2].replace(":", ""))
                raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
                raw.bind((TAP, 0))
                out = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
                out.bind((TAP, 0))
                stop, sent, arps = False, [0], [0]
                def arp_answerer():
                    raw.settimeout(0.2)
                    while not stop:
                        try: f = raw.recv(2048)
                        except OSError: continue
                        if len(f) >= 42 and f[20:22] == b"\\0\\1" and f[38:42] == socket.inet_aton(SRC):
                            reply = f[6:12] + FAKE + b"\\x08\\x06" + f[14:20] + b"\\0\\2" + FAKE + f[38:42] + f[22:32]
                            out.send(reply); arps[0] += 1
                def syn(sport, seq):
                    opts = b"\\x02\\x04\\x05\\xb4"                      # MSS 1460
                    h = struct.pack("!HHIIBBHHH", sport, 80, seq, 0, (5 + 1) << 4, 0x02, 64240, 0, 0) + opts
                    pseudo = socket.inet_aton(SRC) + socket.inet_aton(DST) + struct.pack("!BBH", 0, 6, len(h))
                    h = h[:16] + struct.pack("!H", csum(pseudo + h)) + h[18:]
                    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(h), 0, 0, 64, 6, 0, socket.inet_aton(SRC), socket.inet_aton(DST))
                    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
                    return guest_mac + FAKE + b"\\x08\\x00" + ip + h
                def flood():
                    rnd = random.Random(7)
                    while not stop:
                        for _ in range(50):
                            try: out.send(syn(rnd.randrange(1024, 65536), rnd.getrandbits(32)))
                            except OSError: pass
                            sent[0] += 1
                        time.sleep(0.005)
                threads = [threading.Thread(target=arp_answerer), threading.Thread(target=flood)]
                for t in threads: t.start()
                time.sleep(1)
                ok = total = 0
                end = time.monotonic() + 6
                while time.monotonic() < end:
                    total += 1
                    t1 = time.monotonic()
                    try:
                        c = socket.create_connection((DST, 80), timeout=1)
                        c.settimeout(1)
                        c.sendall(b"GET / HTTP/1.1\\r\\nHost: probe\\r\\nConnection: close\\r\\n\\r\\n")
                        got = b""
                        while True:
                            d = c.recv(65536)
                            if not d: break
                            got += d
                        c.close()
                        if got.startswith(b"HTTP/1.1 200 OK") and time.monotonic() - t1 <= 1: ok += 1
                    except OSError: pass
                    time.sleep(0.05)
                stop = True
                for t in threads: t.join()
                print(ok, total, sent[0], arps[0])
                """.replace("@TAP@", TAP);
        String[] r = inNs("python3", "-c", py).trim().split(" ");
        int ok = Integer.parseInt(r[0]), total = Integer.parseInt(r[1]);
        long sent = Long.parseLong(r[2]);
        String what = ok + " of " + total + " probes answered within 1 s during a flood of " + sent
                + " SYNs from a host that answered " + r[3] + " ARP requests";
        System.err.println("syn flood: " + what);
        assertTrue(sent >= 20000 && Integer.parseInt(r[3]) >= 1, "the flood did not take hold: " + what);
        assertTrue(total >= 50 && ok * 100 >= total * 99, what);
    }
}
