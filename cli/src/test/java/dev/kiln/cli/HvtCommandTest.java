package dev.kiln.cli;

import dev.kiln.monitor.kvm.Kvm;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code kiln hvt} and the solo5-hvt link: solo5-hvt's command line and exit statuses, end to end. */
class HvtCommandTest {
    private static final Path GUESTS = Path.of(System.getProperty("kiln.guest.dir", "../guest/out"));
    private static final String CHECK = GUESTS.resolve("hvtcheck.hvt").toString();
    private static final String BLOCKCHECK = GUESTS.resolve("blockcheck.hvt").toString();

    private static void requireKvm() {
        String reason = Kvm.unavailableReason();
        if (reason != null) System.err.println("!!! KVM TESTS SKIPPED: " + reason);
        Assumptions.assumeTrue(reason == null, () -> "KVM TESTS SKIPPED: " + reason);
    }

    private static void tenderError(String expected, String... args) {
        CliRun r = CliRun.of(args);
        assertEquals(HvtCommand.EXIT_TENDER, r.status(), r.err());
        assertTrue(r.err().startsWith("kiln hvt: ") && r.err().contains(expected), () -> "expected '" + expected + "' in: " + r.err());
    }

    @Test
    void theCommandLineIsSolo5sAndEveryTenderErrorIsStatusOne() {
        CliRun v = CliRun.of("hvt", "--version");
        assertEquals(0, v.status());
        assertTrue(v.out().startsWith("kiln hvt "), v.out());
        CliRun help = CliRun.of("hvt", "--help");
        assertEquals(0, help.status());
        assertTrue(help.out().contains("[ --block:NAME=PATH ] [ --block-sector-size:NAME=512 ]"), help.out());
        tenderError("Missing KERNEL operand", "hvt");
        tenderError("Missing KERNEL operand", "hvt", "--mem=8", "--");
        tenderError("Invalid option: `--timeout=3'", "hvt", "--timeout=3", CHECK);
        tenderError("Malformed argument to --mem: 'lots'", "hvt", "--mem=lots", CHECK);
        tenderError("--mem=5000 is above the 4096 MiB", "hvt", "--mem=5000", CHECK);
        tenderError("--gdb-port needs --gdb", "hvt", "--gdb-port=1", CHECK);
        tenderError("sector size 65536 must be a power of two in 512..32768", "hvt", "--block:storage=x",
                "--block-sector-size:storage=65536", BLOCKCHECK);
        tenderError("image /nonexistent.hvt: no such file", "hvt", "/nonexistent.hvt");
    }

    @Test
    void theGuestsStatusPassesAndWhatTheTenderEndsIsOne(@TempDir Path dir) throws Exception {
        requireKvm();
        assertEquals(7, CliRun.of("hvt", "--mem=8", CHECK, "exit", "7").status());
        assertEquals(0, CliRun.of("hvt", "--mem=8", "--", CHECK, "exit", "0").status());
        // the guest's own 255 (abort) and a guest fault are told apart only by the message
        assertEquals(255, CliRun.of("hvt", "--mem=8", CHECK, "exit", "255").status());
        tenderError("guest fault: guest wrote to port 0x5ff", "hvt", "--mem=8", CHECK, "port");
        // --mem below 2 MiB is rounded up, with a notice
        CliRun small = CliRun.of("hvt", "--mem=1", CHECK, "puts");
        assertEquals(0, small.status(), small.err());
        assertTrue(small.err().contains("--mem=1 is below the 2 MiB an hvt guest needs; using 2"), small.err());
        // block rules: the backing file must end on a block boundary
        Path odd = dir.resolve("odd.img");
        try (RandomAccessFile f = new RandomAccessFile(odd.toFile(), "rw")) {
            f.setLength(1000);
        }
        tenderError("odd.img is 1000 bytes, not a multiple of its 512-byte blocks", "hvt", "--mem=8",
                "--block:storage=" + odd, BLOCKCHECK);
        assertEquals(Main.EXIT_CANNOT_START, CliRun.of("run", "--mem=8", "--block:storage=" + odd, BLOCKCHECK).status());
    }

    /** --dumpcore: a guest that faults leaves an ELF core that the real gdb reads beside the image's symbols. */
    @Test
    void aFaultingGuestLeavesACoreThatGdbReads(@TempDir Path dir) throws Exception {
        requireKvm();
        CliRun r = CliRun.of("hvt", "--mem=8", "--dumpcore=" + dir, CHECK, "write-rodata");
        assertEquals(HvtCommand.EXIT_TENDER, r.status(), r.err());
        java.util.regex.Matcher rip = java.util.regex.Pattern.compile("RIP=(0x[0-9a-f]+)").matcher(r.err());
        java.util.regex.Matcher at = java.util.regex.Pattern.compile("read-only memory at (0x[0-9a-f]+)").matcher(r.err());
        assertTrue(rip.find() && at.find() && r.err().contains("guest core dumped to "), r.err());
        Path core;
        try (var files = Files.list(dir)) {
            core = files.filter(f -> f.getFileName().toString().startsWith("core.kiln-hvt.")).findFirst().orElseThrow();
        }
        Path dbg = GUESTS.resolve("hvtcheck.dbg");
        Process gdb = new ProcessBuilder("gdb", "-batch", "-nx", "-ex", "info registers rip", "-ex", "x/s " + at.group(1),
                dbg.toString(), core.toString()).redirectErrorStream(true).start();
        String said = new String(gdb.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(gdb.waitFor(60, TimeUnit.SECONDS));
        assertTrue(said.contains("Program terminated with signal SIGSEGV"), said);
        assertTrue(said.matches("(?s).*rip\\s+" + rip.group(1) + "\\s+" + rip.group(1) + " <main\\+\\d+>.*"), said);
        assertTrue(said.contains("\"read-only\""), "the guest's rodata, read from the core: " + said);
        // no core for a guest that ended well
        Path clean = Files.createDirectory(dir.resolve("clean"));
        assertEquals(0, CliRun.of("hvt", "--mem=8", "--dumpcore=" + clean, CHECK, "exit", "0").status());
        try (var files = Files.list(clean)) {
            assertEquals(0, files.count());
        }
    }

    /** The launcher through a link named solo5-hvt is the tender, and a signal ends it with 1. */
    @Test
    void aSolo5HvtLinkAndASignal(@TempDir Path dir) throws Exception {
        requireKvm();
        Path launcher = Path.of("..", "kiln").toAbsolutePath().normalize();
        Assumptions.assumeTrue(Files.isExecutable(launcher) && Files.exists(Path.of("target", "kiln.jar")),
                "the launcher and its jar (mvn package) are needed");
        Path link = Files.createSymbolicLink(dir.resolve("solo5-hvt"), launcher);
        Process p = new ProcessBuilder(link.toString(), "--mem=8", CHECK, "spin").redirectErrorStream(true).start();
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        assertEquals("spinning", r.readLine(), "the guest is running");
        assertEquals(0, new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).inheritIO().start().waitFor());
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "solo5-hvt did not stop on SIGTERM");
        String rest = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(1, p.exitValue(), rest);
        assertTrue(rest.contains("solo5-hvt: Exiting on guest stopped by SIGTERM"), rest);
        Process missing = new ProcessBuilder(List.of(link.toString())).redirectErrorStream(true).start();
        String said = new String(missing.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(missing.waitFor(30, TimeUnit.SECONDS));
        assertEquals(1, missing.exitValue(), said);
        assertTrue(said.startsWith("solo5-hvt: Missing KERNEL operand\nusage: solo5-hvt "), said);
    }
}
