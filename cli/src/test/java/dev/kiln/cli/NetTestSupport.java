package dev.kiln.cli;

import dev.kiln.monitor.kvm.Kvm;
import org.junit.jupiter.api.Assumptions;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the network tests share: their preconditions, shell commands, and guests booted in a namespace. */
final class NetTestSupport {
    private NetTestSupport() {}

    static final Path GUESTS = Path.of(System.getProperty("kiln.guest.dir", "../guest/out"));
    static final Path GUEST_ROOT = Path.of(System.getProperty("kiln.guest.root", "../guest"));

    /** Skips (loudly) without KVM, root, the guest image or a host tool the test needs. */
    static void require(String what, String image, String... tools) throws Exception {
        String reason = Kvm.unavailableReason();
        if (reason == null && !"root".equals(System.getProperty("user.name"))) reason = "needs root for network namespaces";
        if (reason == null && !Files.exists(GUESTS.resolve(image))) reason = image + " was not built";
        for (String t : tools) {
            if (reason == null && new ProcessBuilder("sh", "-c", "command -v " + t).start().waitFor() != 0) reason = t + " is missing";
        }
        if (reason != null) System.err.println("!!! " + what + " TESTS SKIPPED: " + reason);
        Assumptions.assumeTrue(reason == null, reason);
    }

    /** Runs a command; it must exit 0 within two minutes. Returns what it printed. */
    static String sh(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0, String.join(" ", cmd) + ": " + out);
        return out;
    }

    /** The command that runs {@code kiln run ARGS} (this build's classes) inside namespace {@code ns}. */
    static List<String> kilnRun(String ns, String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns,
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), "dev.kiln.cli.Main", "run"));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** A guest started in the background, with its console readable line by line. */
    record Guest(Process process, BufferedReader console) {
        static Guest start(List<String> cmd) throws Exception {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            return new Guest(p, new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)));
        }

        String line() throws Exception {
            return console.readLine();
        }

        /** kill -9: the monitor gets no chance to flush or close anything. */
        void kill() throws Exception {
            process.destroyForcibly();
            assertTrue(process.waitFor(20, TimeUnit.SECONDS), "kiln run did not die on SIGKILL");
        }

        void stop() throws Exception {
            process.destroy();
            assertTrue(process.waitFor(20, TimeUnit.SECONDS), "kiln run did not stop on SIGTERM");
        }

        /** Stops it with SIGTERM and returns what it printed since the last {@link #line} (kiln's --stats line, say). */
        String stopAndRest() throws Exception {
            process.toHandle().destroy(); // unlike Process.destroy, leaves its output readable
            assertTrue(process.waitFor(20, TimeUnit.SECONDS), "kiln run did not stop on SIGTERM");
            return String.join("\n", console.lines().toList());
        }
    }
}
