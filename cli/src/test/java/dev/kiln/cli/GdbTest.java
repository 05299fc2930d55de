package dev.kiln.cli;

import dev.kiln.monitor.kvm.Kvm;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code kiln run --gdb} driven by the real gdb (installed by scripts/prereqs). */
class GdbTest {
    private static final Path HELLO = NetTestSupport.GUEST_ROOT.resolve("apps/helloworld/build/helloworld.hvt");

    /** Starts {@code kiln run --gdb --gdb-port=0 ARGS}; returns it once it says which port it listens on. */
    private static Process kilnWaitingForGdb(int[] port, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), "dev.kiln.cli.Main",
                "run", "--gdb", "--gdb-port=0"));
        cmd.addAll(List.of(args));
        Process kiln = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.PIPE).start();
        BufferedReader err = new BufferedReader(new InputStreamReader(kiln.getErrorStream(), StandardCharsets.UTF_8));
        String line = err.readLine();
        Matcher m = Pattern.compile("waiting for gdb on 127\\.0\\.0\\.1:(\\d+) \\(gdb (\\S+) ").matcher(String.valueOf(line));
        assertTrue(m.find(), "kiln run --gdb said: " + line);
        port[0] = Integer.parseInt(m.group(1));
        assertTrue(m.group(2).endsWith("helloworld.dbg") || !args[args.length - 1].contains("helloworld"), line);
        return kiln;
    }

    private static String gdb(String dbg, int port, String... commands) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("gdb", "-nx", "-batch", "-ex", "set can-use-hw-watchpoints 0",
                "-ex", "target remote 127.0.0.1:" + port));
        for (String c : commands) cmd.addAll(List.of("-ex", c));
        cmd.add(dbg);
        Process g = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(g.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(g.waitFor(120, TimeUnit.SECONDS), "gdb did not finish: " + out);
        return out;
    }

    private static void requireKvm() {
        String reason = Kvm.unavailableReason();
        if (reason != null) System.err.println("!!! KVM TESTS SKIPPED: " + reason);
        Assumptions.assumeTrue(reason == null, () -> "KVM TESTS SKIPPED: " + reason);
    }

    @Test
    void gdbBreaksStepsWatchesWritesMemoryAndSeesTheExit() throws Exception {
        requireKvm();
        assertTrue(Files.isRegularFile(HELLO), HELLO + " is missing: ./kiln build guest/apps/helloworld");
        int[] port = new int[1];
        Process kiln = kilnWaitingForGdb(port, "--mem=2", HELLO.toString(), "hello", "gdb");
        String out = gdb(HELLO.toString().replace(".hvt", ".dbg"), port[0],
                "break main", "continue", "bt", "print cmdline",
                // the last digit of the time, written first; set to 'x' so that the write changes it
                // whatever the digit (a software watchpoint only sees changes)
                "set var text[48] = 'x'", "watch -l text[48]", "continue",
                "delete", "stepi", "info registers rip",
                "set var text[0] = 'J'", "continue");
        assertTrue(out.contains("Breakpoint 1, main (cmdline=0x100a8 \"hello gdb\")"), out);
        assertTrue(out.contains("#0  main (cmdline="), out);
        assertTrue(out.contains("$1 = 0x100a8 \"hello gdb\""), out);
        assertTrue(Pattern.compile("Old value = 120 'x'\nNew value = (4[89]|5[0-7]) '[0-9]'").matcher(out).find(), out);
        assertTrue(Pattern.compile("rip\\s+0x1002[0-9a-f]{2}\\s+0x1002[0-9a-f]{2} <main\\+\\d+>").matcher(out).find(), out);
        assertTrue(out.contains("[Inferior 1 (Remote target) exited normally]"), out);
        assertTrue(kiln.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, kiln.exitValue());
        String console = new String(kiln.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(console.startsWith("Jello from Kiln!\nwalltime_ns: "), "gdb's write reached the guest: " + console);
        assertTrue(console.endsWith("cmdline: hello gdb\n"), console);
    }

    @Test
    void gdbSeesAnExitStatusAndCanKill() throws Exception {
        requireKvm();
        Path check = NetTestSupport.GUESTS.resolve("hvtcheck.hvt");
        int[] port = new int[1];
        Process kiln = kilnWaitingForGdb(port, "--mem=2", check.toString(), "exit", "7");
        String out = gdb(check.toString().replace(".hvt", ".dbg"), port[0], "continue");
        assertTrue(out.contains("[Inferior 1 (Remote target) exited with code 07]"), out);
        assertTrue(kiln.waitFor(30, TimeUnit.SECONDS));
        assertEquals(7, kiln.exitValue());

        kiln = kilnWaitingForGdb(port, "--mem=2", check.toString(), "idle");
        out = gdb(check.toString().replace(".hvt", ".dbg"), port[0], "info registers rip", "kill");
        assertTrue(out.contains("[Inferior 1 (Remote target) killed]"), out);
        assertTrue(kiln.waitFor(30, TimeUnit.SECONDS));
        assertEquals(137, kiln.exitValue(), "killed from the debugger");
    }
}
