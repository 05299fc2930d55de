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

    /** Boots kvstore on the class's disk; returns what it printed before it listened, which must contain {@code expected}. */
    String boot(String expected, String... options) throws Exception {
        // one argument per word: kiln run quotes an argument holding a blank as one shell word
        List<String> args = new ArrayList<>(List.of("--mem=64", "--net:service0=" + TAP, "--block:storage=" + disk,
                NetTestSupport.GUESTS.resolve("kvstore.hvt").toString(), "ip=" + IP + "/24"));
        args.addAll(List.of(options));
        guest = NetTestSupport.Guest.start(NetTestSupport.kilnRun(NS, args.toArray(String[]::new)));
        StringBuilder said = new StringBuilder();
        for (String l; (l = guest.line()) != null && !l.equals("kvstore: listening on " + IP + ":6379"); ) said.append(l).append('\n');
        assertTrue(said.toString().contains(expected), "expected '" + expected + "' in: " + said);
        return said.toString();
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
        boot("kvstore: loaded 2 keys from snapshot ");
        assertEquals("across a reboot", cli("get", "kept"));
        assertEquals("hello world", cli("get", "greeting"));
    }

    /**
     * issue 10: with appendfsync always (the default), every acknowledged write survives kill -9 of
     * the monitor, also one in the middle of a SAVE, and the store always loads.
     */
    /** Kill points per CI run (issue 10 asks for at least 50); -Dkiln.kvstore.killTrials for more. */
    static final int TRIALS = Integer.getInteger("kiln.kvstore.killTrials", 50);

    @Test
    void acknowledgedWritesSurviveKillNineEvenDuringASave() throws Exception {
        boot("kvstore: ");
        assertEquals("OK", cli("flushall"));
        java.util.Random random = new java.util.Random(42);
        int acked = 0;
        for (int trial = 0; trial < TRIALS; trial++) {
            // writes, each acknowledged one at a time, some with an expiry far ahead
            StringBuilder script = new StringBuilder();
            for (int i = 0; i < 40; i++, acked++) {
                script.append("SET k").append(acked).append(" v").append(acked).append(i % 5 == 0 ? " EX 100000" : "").append('\n');
            }
            String out = sh("sh", "-c", "printf '" + script + "' | ip netns exec " + NS + " redis-cli -h " + IP);
            assertEquals(40, out.lines().filter("OK"::equals).count(), out);
            // a SAVE the monitor is killed in the middle of (or just after, or just before)
            Process save = new ProcessBuilder("ip", "netns", "exec", NS, "redis-cli", "-h", IP, "save").start();
            Thread.sleep(random.nextInt(40));
            guest.kill();
            save.destroyForcibly();
            boot("kvstore: ");
            assertEquals(Integer.toString(acked), cli("dbsize"), "trial " + trial + ": every acknowledged key is there");
            assertEquals("v" + (acked - 1), cli("get", "k" + (acked - 1)));
            assertTrue(Long.parseLong(cli("ttl", "k" + (acked - 40))) > 99_000, "the expiry came back too");
        }
    }

    /** A data set saved by kvstore before the log (format 1: one header block, relative TTLs) loads, and is kept. */
    @Test
    void aVersionOneDataSetIsMigrated() throws Exception {
        java.io.ByteArrayOutputStream entries = new java.io.ByteArrayOutputStream();
        java.nio.ByteBuffer e = java.nio.ByteBuffer.allocate(64).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        e.putInt(3).putInt(5).putLong(0).put("old".getBytes()).put("value".getBytes());
        entries.write(e.array(), 0, e.position());
        byte[] data = entries.toByteArray();
        long sum = 1469598103934665603L; // FNV-1a 64, as kvstore's checksum
        for (byte b : data) {
            sum ^= b & 0xff;
            sum *= 1099511628211L;
        }
        java.nio.ByteBuffer head = java.nio.ByteBuffer.allocate(512).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        head.put("KILNKV01".getBytes()).putLong(data.length).putLong(1).putLong(sum);
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
            f.seek(0);
            f.write(new byte[1024]); // no superblock of the new format
            f.seek(0);
            f.write(head.array());
            f.seek(512);
            f.write(data);
        }
        boot("kvstore: loaded a version 1 data set; saving it in the new format");
        assertEquals("value", cli("get", "old"));
        guest.kill();
        boot("kvstore: loaded 1 keys from snapshot ");
        assertEquals("value", cli("get", "old"));
    }

    /** Redis's appendonly no: nothing is logged, so a restart finds what the last SAVE wrote and no more. */
    @Test
    void appendonlyNoKeepsWhatSaveWroteAndNothingAfter() throws Exception {
        boot("kvstore: ", "appendonly=no");
        assertTrue(cli("info").contains("aof_enabled:0"), cli("info"));
        assertEquals("OK", cli("set", "ao-saved", "1"));
        assertEquals("OK", cli("save"));
        assertEquals("OK", cli("set", "ao-unsaved", "2"));
        guest.kill();
        boot("kvstore: ", "appendonly=no");
        assertEquals("1", cli("get", "ao-saved"));
        assertEquals("", cli("get", "ao-unsaved"), "a change after the SAVE was never logged");
        assertEquals("OK", cli("flushall"));
        assertEquals("OK", cli("save")); // the other tests start from an empty disk
        guest.stop();
        guest = NetTestSupport.Guest.start(NetTestSupport.kilnRun(NS, "--mem=64", "--net:service0=" + TAP,
                "--block:storage=" + disk, NetTestSupport.GUESTS.resolve("kvstore.hvt").toString(),
                "ip=" + IP + "/24", "appendonly=nope"));
        assertEquals("kvstore: appendonly must be yes or no", guest.line());
        assertTrue(guest.process().waitFor(20, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(1, guest.process().exitValue());
        guest = null;
    }

    @Test
    void appendfsyncPoliciesAndAnUnknownOne() throws Exception {
        boot("kvstore: ", "appendfsync=everysec");
        assertEquals("OK", cli("set", "a", "1"));
        assertTrue(cli("info").contains("appendfsync:everysec"), cli("info"));
        Thread.sleep(1500); // within a second it is flushed, with no further command to commit it
        assertTrue(Long.parseLong(cli("info").lines().filter(l -> l.startsWith("aof_flushes:")).findFirst().orElseThrow()
                .substring("aof_flushes:".length()).strip()) >= 1, cli("info"));
        guest.stop();
        guest = NetTestSupport.Guest.start(NetTestSupport.kilnRun(NS, "--mem=64", "--net:service0=" + TAP,
                "--block:storage=" + disk, NetTestSupport.GUESTS.resolve("kvstore.hvt").toString(),
                "ip=" + IP + "/24", "appendfsync=sometimes"));
        assertEquals("kvstore: appendfsync must be always, everysec or no", guest.line());
        assertTrue(guest.process().waitFor(20, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(1, guest.process().exitValue());
        guest = null;
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

    @Test
    void idleClientsAreClosedWhenFullAndAfterTheTimeout() throws Exception {
        boot("kvstore: ", "appendfsync=no", "timeout=4", "maxclients=100");
        // 300 clients that connect and send nothing, then redis-cli 20 times while they are held,
        // then the survivors are watched until the server closes them
        String py = """
                import socket, time, select, subprocess
                IP = "%s"
                socks, opened = [], []
                for i in range(300):
                    socks.append(socket.create_connection((IP, 6379), timeout=5))
                    opened.append(time.monotonic())
                time.sleep(0.5)
                def closed(s):
                    if not select.select([s], [], [], 0)[0]: return False
                    try: return not s.recv(64)
                    except OSError: return True
                gone = {i: time.monotonic() for i, s in enumerate(socks) if closed(s)}
                held = 300 - len(gone)
                ok = 0
                for i in range(20):
                    t = time.monotonic()
                    out = subprocess.run(["redis-cli", "-h", IP, "ping"], capture_output=True, text=True, timeout=10).stdout.strip()
                    if out == "PONG" and time.monotonic() - t <= 1: ok += 1
                survivors = [i for i in range(300) if i not in gone]
                end = time.monotonic() + 10
                while time.monotonic() < end and any(i not in gone for i in survivors):
                    for i in survivors:
                        if i not in gone and closed(socks[i]): gone[i] = time.monotonic()
                    time.sleep(0.1)
                # the probes closed some survivors too; the rest lived out the timeout
                lives = sorted(gone.get(i, 99) - opened[i] for i in survivors)
                print(held, ok, len(survivors), round(lives[-1], 1), round(lives[len(lives) // 2], 1))
                """.formatted(IP);
        String[] r = sh("ip", "netns", "exec", NS, "python3", "-c", py).trim().split(" ");
        String what = "held " + r[0] + " of 300 idle clients, redis-cli answered " + r[1] + " of 20 pings within 1 s, "
                + r[2] + " survivors closed at most " + r[3] + " s (median " + r[4] + " s) after they connected";
        System.err.println("kvstore idle clients: " + what);
        int held = Integer.parseInt(r[0]);
        assertTrue(held >= 90 && held <= 100, "maxclients=100: " + what);
        assertEquals(20, Integer.parseInt(r[1]), what);
        double last = Double.parseDouble(r[3]), median = Double.parseDouble(r[4]);
        assertTrue(last <= 6.5 && median >= 3.5, "timeout=4: " + what);
        assertEquals("PONG", cli("ping"));
    }
}
