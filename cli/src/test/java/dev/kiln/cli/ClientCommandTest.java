package dev.kiln.cli;

import dev.kiln.daemon.Daemon;
import dev.kiln.daemon.DaemonConfig;
import dev.kiln.monitor.kvm.Kvm;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLI as the daemon's client: run -d, ps, logs, stop, start, pause, unpause, snapshot, rm, images. */
class ClientCommandTest {
    private static final Path GUESTS = Path.of(System.getProperty("kiln.guest.dir", "../guest/out"));

    @TempDir
    static Path dir;
    static Daemon daemon;
    static String socket;

    @BeforeAll
    static void start() throws Exception {
        String reason = Kvm.unavailableReason();
        Assumptions.assumeTrue(reason == null, () -> "KVM TESTS SKIPPED: " + reason);
        daemon = Daemon.start(new DaemonConfig(dir.resolve("kiln.sock"), dir.resolve("state"), null, null, 1024, 1 << 20));
        socket = daemon.socket().toString();
    }

    @AfterAll
    static void stop() {
        if (daemon != null) daemon.close();
    }

    private static CliRun kiln(String command, String... rest) {
        String[] args = new String[rest.length + 3];
        args[0] = command;
        args[1] = "--socket";
        args[2] = socket;
        System.arraycopy(rest, 0, args, 3, rest.length);
        return CliRun.of(args);
    }

    @Test
    void runDetachedPsLogsAndTheLifecycle() throws Exception {
        Path hello = GUESTS.resolve("helloworld.hvt");
        Path kshell = GUESTS.resolve("kshell.hvt");
        CliRun run = kiln("run", "-d", "--name", "greeter", "--mem", "2", hello.toString(), "hi", "there");
        assertEquals(0, run.status(), run.err());
        String helloId = run.out().strip();
        assertTrue(helloId.matches("[0-9a-f]{12}"), run.out());
        CliRun sleeper = kiln("run", "-d", "--mem", "4", kshell.toString(), "echo", "up;", "sleep", "600000");
        assertEquals(0, sleeper.status(), sleeper.err());
        String id = sleeper.out().strip();

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        CliRun ps;
        do {
            ps = kiln("ps");
            Thread.sleep(20);
        } while (!(ps.out().contains("greeter") && ps.out().matches("(?s).*greeter\\s+helloworld\\s+exited\\s+0.*"))
                && System.nanoTime() < deadline);
        assertTrue(ps.out().matches("(?s).*greeter\\s+helloworld\\s+exited\\s+0.*"), ps.out());
        assertTrue(ps.out().matches("(?s).*" + id + "\\s+-\\s+kshell\\s+running.*"), ps.out());
        CliRun logs = kiln("logs", "greeter");
        assertEquals(0, logs.status(), logs.err());
        assertTrue(logs.out().startsWith("Hello from Kiln!\n") && logs.out().contains("cmdline: hi there"), logs.out());

        assertEquals(0, kiln("pause", id).status());
        assertEquals(0, kiln("unpause", id).status());
        CliRun snap = kiln("snapshot", id);
        assertEquals(0, snap.status(), snap.err());
        assertTrue(Files.size(Path.of(snap.out().strip())) > 0);
        assertEquals(0, kiln("stop", id).status());
        CliRun again = kiln("stop", id);
        assertEquals(1, again.status());
        assertTrue(again.err().startsWith("kiln: instance " + id + " is stopped"), again.err());
        assertEquals(0, kiln("start", id).status());
        CliRun rm = kiln("rm", id, "greeter");
        assertEquals(0, rm.status(), rm.err());
        assertEquals(id + "\ngreeter\n", rm.out());
        CliRun images = kiln("images");
        assertTrue(images.out().contains("helloworld") && images.out().contains("kshell"), images.out());
    }

    @Test
    void refusalsAndAMissingDaemonAreOneLine() {
        CliRun missing = kiln("logs", "nosuch");
        assertEquals(1, missing.status());
        assertEquals("kiln: no instance 'nosuch'\n", missing.err());
        CliRun badImage = kiln("run", "-d", "/no/such/image.hvt");
        assertEquals(1, badImage.status());
        assertTrue(badImage.err().startsWith("kiln: no image file at /no/such/image.hvt"), badImage.err());
        CliRun noDaemon = CliRun.of("ps", "--socket", dir.resolve("nobody.sock").toString());
        assertEquals(1, noDaemon.status());
        assertTrue(noDaemon.err().startsWith("kiln: no kiln daemon answers on " + dir.resolve("nobody.sock")), noDaemon.err());
        CliRun usage = kiln("logs");
        assertEquals(Main.EXIT_USAGE, usage.status());
    }

    @Test
    void logsFollowEndsWithTheRun() throws Exception {
        CliRun run = kiln("run", "-d", "--mem", "4", GUESTS.resolve("kshell.hvt").toString(), "echo", "first;", "sleep", "600000");
        String id = run.out().strip();
        var follow = java.util.concurrent.CompletableFuture.supplyAsync(() -> kiln("logs", "-f", id));
        Thread.sleep(300);
        assertTrue(!follow.isDone(), "following a live guest waits for more");
        assertEquals(0, kiln("stop", id).status());
        CliRun logs = follow.get(10, TimeUnit.SECONDS);
        assertEquals(0, logs.status(), logs.err());
        assertTrue(logs.out().contains("first\n"), logs.out());
        assertEquals(0, kiln("rm", id).status());
    }

    @Test
    void daemonCommandLineErrorsAreUsageErrors() {
        CliRun tcp = CliRun.of("daemon", "--listen", "127.0.0.1:0");
        assertEquals(Main.EXIT_USAGE, tcp.status());
        assertTrue(tcp.err().contains("--listen needs --token-file"), tcp.err());
        CliRun help = CliRun.of("daemon", "--help");
        assertEquals(0, help.status());
        assertTrue(help.out().contains("--token-file"), help.out());
    }

    @Test
    void usageListsTheDaemonCommands() {
        CliRun help = CliRun.of("help");
        for (String c : new String[] {"kiln daemon", "kiln run -d", "kiln ps", "kiln logs", "kiln images", "kiln snapshot", "unpause"}) {
            assertTrue(help.out().contains(c), c + " missing from: " + help.out());
        }
    }
}
