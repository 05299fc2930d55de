package dev.kiln.cli;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kvstore unikernel against the real redis-cli and redis-benchmark, over a tap in a network
 * namespace this test makes, with its data on a block device file that outlives a reboot.
 */
class KvstoreTest {
    static final String NS = "kiln-kv-" + ProcessHandle.current().pid();
    static final String TAP = "kv" + (ProcessHandle.current().pid() % 100000);
    static final String IP = "10.95.0.2";
    static Path disk;
    NetTestSupport.Guest guest;

    static String sh(String... cmd) throws Exception {
        return NetTestSupport.sh(cmd);
    }

    static String cli(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", NS, "redis-cli", "-h", IP));
        cmd.addAll(List.of(args));
        return sh(cmd.toArray(String[]::new)).strip();
    }

    @BeforeAll
    static void network() throws Exception {
        NetTestSupport.require("KVSTORE", "kvstore.hvt", "redis-cli", "redis-benchmark", "python3");
        assertEquals(0, CliRun.of("net", "create", TAP, "--ip", "10.95.0.1/24", "--netns", NS).status());
        disk = Files.createTempFile("kvstore", ".img");
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(8 << 20);
        }
    }

    @AfterAll
    static void cleanup() throws Exception {
        CliRun.of("net", "delete-netns", NS);
        if (disk != null) Files.deleteIfExists(disk);
    }

    void boot(String expectedFirstLine) throws Exception {
        guest = NetTestSupport.Guest.start(NetTestSupport.kilnRun(NS, "--mem=64", "--net:service0=" + TAP,
                "--block:storage=" + disk, NetTestSupport.GUESTS.resolve("kvstore.hvt").toString(), "ip=" + IP + "/24"));
        assertTrue(guest.line().startsWith(expectedFirstLine));
        assertEquals("kvstore: listening on " + IP + ":6379", guest.line());
    }

    @AfterEach
    void stop() throws Exception {
        if (guest != null) guest.stop();
    }

    @Test
    void redisCliCommandsPersistenceAndBadInput() throws Exception {
        boot("kvstore: ");
        assertEquals("PONG", cli("ping"));
        assertEquals("OK", cli("flushall"));
        assertEquals("OK", cli("set", "greeting", "hello world"));
        assertEquals("hello world", cli("get", "greeting"));
        assertEquals("1", cli("incr", "counter"));
        assertEquals("11", cli("incrby", "counter", "10"));
        assertEquals("hello world\n11\n", cli("mget", "greeting", "counter", "missing") + "\n");
        assertEquals("1", cli("expire", "greeting", "1000"));
        assertTrue(Long.parseLong(cli("ttl", "greeting")) > 990);
        // expiry times that overflow are refused, as Redis refuses them, and the key stays as it was
        // (they used to wrap into the past: the key answered OK and vanished)
        assertEquals("OK", cli("set", "kept", "v1"));
        assertEquals("ERR invalid expire time in 'set' command", cli("set", "kept", "v2", "ex", "18446744074"));
        assertEquals("ERR invalid expire time in 'set' command", cli("set", "kept", "v2", "px", "9223372036854775807"));
        assertEquals("ERR invalid expire time in 'expire' command", cli("expire", "kept", "9223372036854775807"));
        assertEquals("ERR invalid expire time in 'pexpire' command", cli("pexpire", "kept", "18446744073709552"));
        assertEquals("v1", cli("get", "kept"));
        assertEquals("-1", cli("ttl", "kept"));
        assertEquals("OK", cli("set", "gone", "x", "px", "50"));
        Thread.sleep(200);
        assertEquals("", cli("get", "gone"));
        assertEquals("1", cli("del", "counter"));
        assertEquals("ERR value is not an integer or out of range", cli("incr", "greeting"));
        assertTrue(cli("frobnicate").startsWith("ERR unknown command 'frobnicate'"));
        assertEquals("OK", cli("set", "kept", "across a reboot"));
        assertEquals("OK", cli("save"));

        // Malformed protocol input ends that connection with an error; the server goes on.
        String py = """
                import socket
                for raw in [b"*999999999\\r\\n", b"*1\\r\\n$-5\\r\\n", b"*2\\r\\n$3\\r\\nGET\\r\\n$99999999999\\r\\n",
                            b"*1\\r\\n$4\\r\\nPINGxx", b"\\x00\\xff" * 40000]:
                    s = socket.create_connection(("10.95.0.2", 6379), timeout=10)
                    s.sendall(raw)
                    s.shutdown(socket.SHUT_WR)
                    data = b""
                    while True:
                        chunk = s.recv(4096)
                        if not chunk: break
                        data += chunk
                    print(data[:40])
                """;
        sh("ip", "netns", "exec", NS, "python3", "-c", py);
        assertEquals("PONG", cli("ping"));

        guest.stop();
        boot("kvstore: loaded 2 keys from the block device");
        assertEquals("across a reboot", cli("get", "kept"));
        assertEquals("hello world", cli("get", "greeting"));
    }

    @Test
    void redisBenchmarkRuns() throws Exception {
        boot("kvstore: ");
        String out = sh("ip", "netns", "exec", NS, "redis-benchmark", "-h", IP, "-q", "-n", "300", "-c", "4", "-t", "ping,set,get");
        for (String t : List.of("PING_INLINE", "SET", "GET")) {
            assertTrue(out.contains(t + ": "), out);
        }
        assertTrue(out.contains("requests per second"), out);
    }
}
