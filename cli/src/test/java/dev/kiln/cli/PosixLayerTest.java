package dev.kiln.cli;

import dev.kiln.monitor.kvm.Kvm;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The POSIX layer under musl (issue 11, item 2) through guest/tests/posixcheck, a C program that
 * checks file, memory and process semantics itself; plus what the layer says on the console:
 * ENOSYS reported once by name, and every call listed by {@code kiln run --strace}.
 */
class PosixLayerTest {
    private static final Path GUESTS = Path.of(System.getProperty("kiln.guest.dir", "../guest/out"));
    private static final String CHECK = GUESTS.resolve("posixcheck.hvt").toString();

    @TempDir
    Path tmp;

    @BeforeAll
    static void requireKvm() {
        String reason = Kvm.unavailableReason();
        if (reason != null) System.err.println("!!! KVM TESTS SKIPPED: " + reason);
        Assumptions.assumeTrue(reason == null, () -> "KVM TESTS SKIPPED: " + reason);
        assertTrue(Files.isRegularFile(Path.of(CHECK)), CHECK + " is missing: build it (./kiln build --out guest/out guest/tests/posixcheck)");
    }

    record Proc(int status, String out) {}

    private static Proc kiln(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), "dev.kiln.cli.Main"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "kiln " + String.join(" ", args) + " did not end");
        return new Proc(p.exitValue(), out);
    }

    @Test
    void filesMemoryAndProcessBehaveAsOnLinux() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("root/etc"));
        Files.writeString(root.resolve("motd"), "hello rootfs\n");
        Proc r = kiln("run", "--mem=32", "--rootfs", tmp.resolve("root").toString(), CHECK, "all");
        assertTrue(!r.out().contains("FAIL") && r.out().endsWith("posixcheck: passed (0 failed)\n"), r.out());
        assertTrue(r.out().contains("ok a file from --rootfs reads back"), r.out());
        assertEquals(0, r.status());
    }

    @Test
    void argumentsArriveExactlyAsTyped() throws Exception {
        Proc r = kiln("run", "--mem=8", CHECK, "args", "two words", "it's", "", "back\\slash", "\"quoted\"");
        assertEquals(new Proc(7, "argv[0]=<posixcheck>\nargv[1]=<args>\nargv[2]=<two words>\nargv[3]=<it's>\nargv[4]=<>\n"
                + "argv[5]=<back\\slash>\nargv[6]=<\"quoted\">\n"), r);
    }

    @Test
    void aMissingCallIsReportedOnceByName() throws Exception {
        Proc r = kiln("run", "--mem=8", CHECK, "enosys");
        assertEquals(new Proc(0, "kiln: posix: mount is not implemented (ENOSYS)\nmount: -1 ENOSYS, again -1\n"), r);
    }

    @Test
    void straceListsEveryCallWithItsResult() throws Exception {
        Proc r = kiln("run", "--mem=8", "--strace", CHECK, "enosys");
        assertTrue(r.out().contains("mount(\"a\", \"b\", \"c\", 0x0, NULL) = -1 ENOSYS\n"), r.out());
        assertTrue(r.out().contains("writev(1, "), r.out());
        assertTrue(r.out().endsWith("exit_group(0) = ?\n"), r.out());
        Proc quiet = kiln("run", "--mem=8", CHECK, "enosys");
        assertTrue(!quiet.out().contains("exit_group"), "no trace without --strace: " + quiet.out());
    }
}
