package dev.kiln.cli;

import dev.kiln.monitor.kvm.Kvm;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The POSIX layer's descriptors and threads (issue 11, item 2) checked from a musl program, the
 * posixio guest: each mode prints one line per check and a verdict, and exits 0 only when every
 * check held. Sockets over a real tap are in {@link PosixSocketTest}.
 */
class PosixIoTest {
    static final Path GUESTS = Path.of(System.getProperty("kiln.guest.dir", "../guest/out"));
    static final String POSIXIO = GUESTS.resolve("posixio.hvt").toString();

    @BeforeAll
    static void requireKvm() {
        String reason = Kvm.unavailableReason();
        if (reason != null) System.err.println("!!! KVM TESTS SKIPPED: " + reason);
        Assumptions.assumeTrue(reason == null, () -> "KVM TESTS SKIPPED: " + reason);
        assertTrue(Files.isRegularFile(Path.of(POSIXIO)), POSIXIO
                + " is missing: build it first (./kiln build --out guest/out guest/tests/posixio)");
    }

    record Proc(int status, String out) {}

    /** A real `kiln run` process (the guest's console is its stdout, merged with stderr). */
    static Proc run(String... args) {
        try {
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), "dev.kiln.cli.Main", "run"));
            cmd.addAll(List.of(args));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "kiln run " + String.join(" ", args) + " did not end");
            return new Proc(p.exitValue(), out);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static void passes(String mode) {
        Proc r = run("--mem=32", "--timeout=60", POSIXIO, mode);
        assertTrue(r.out().contains("posixio " + mode + ": PASS"), "status " + r.status() + ": " + r.out());
        assertTrue(!r.out().contains("FAIL") && !r.out().contains("not implemented"), r.out());
        assertEquals(0, r.status(), r.out());
    }

    @Test
    void pipes() {
        passes("pipe");
    }

    @Test
    void eventfd() {
        passes("eventfd");
    }

    @Test
    void pollSelectAndEpollWithTimeouts() {
        passes("poll");
    }

    @Test
    void pthreadsMutexesCondvarsAndBlockingAcrossThreads() {
        passes("threads");
    }

    @Test
    void everythingInOneRun() {
        passes("all");
    }

    @Test
    void oneThreadReadingItsOwnEmptyPipeIsADeadlockNotAHang() {
        Proc r = run("--mem=32", "--timeout=30", POSIXIO, "deadlock");
        assertTrue(r.out().contains("kiln: posix: deadlock: every thread is blocked and nothing can wake them "
                + "(read on an empty pipe whose write end is still open)"), r.out());
        assertTrue(!r.out().contains("read returned"), r.out());
        assertEquals(134, r.status(), r.out());
    }

    @Test
    void unknownModeIsRefusedByName() {
        Proc r = run("--mem=32", "--timeout=30", POSIXIO, "bogus");
        assertTrue(r.out().contains("posixio: unknown mode 'bogus'"), r.out());
        assertEquals(2, r.status());
    }
}
