package dev.kiln.cli;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** kiln config for scripts, and kiln menuconfig driven for real through tmux. */
class ConfigAndMenuconfigTest {
    @TempDir
    Path root;
    Path guest;
    Path app;

    @BeforeEach
    void tree() throws IOException {
        guest = root.resolve("guest");
        Path plat = guest.resolve("platform/hvt");
        Files.createDirectories(plat);
        Files.writeString(plat.resolve("kiln.toml"), """
                [library]
                name = "hvt"
                description = "platform"
                provides = ["platform"]
                linker_script = "hvt.ld"
                """);
        Path lib = guest.resolve("lib/demo");
        Files.createDirectories(lib);
        Files.writeString(lib.resolve("kiln.toml"), """
                [library]
                name = "demo"
                description = "A demo library with options"
                depends = ["platform"]
                [options.DEMO_SIZE]
                type = "int"
                default = 64
                range = [1, 1000]
                help = "How big the demo is"
                [options.DEMO_FAST]
                type = "bool"
                default = false
                help = "Go fast"
                [options.DEMO_NAME]
                type = "string"
                default = "kiln"
                help = "A name"
                """);
        app = root.resolve("app");
        Files.createDirectories(app);
        Files.writeString(app.resolve("kiln.toml"), """
                # my app: comments survive edits
                [app]
                name = "demoapp"
                libraries = ["demo"]
                sources = ["main.c"]

                [options]
                DEMO_NAME = "x"   # a comment
                """);
    }

    private String[] cfg(String... args) {
        List<String> all = new java.util.ArrayList<>(List.of("config", "--guest-root=" + guest));
        all.addAll(List.of(args));
        return all.toArray(String[]::new);
    }

    @Test
    void configListGetSetUnset() throws IOException {
        CliRun list = CliRun.of(cfg("list", app.toString()));
        assertEquals(0, list.status(), list.err());
        assertTrue(list.out().contains("DEMO_SIZE = 64    # default; demo, int in 1..1000: How big the demo is\n"), list.out());
        assertTrue(list.out().contains("DEMO_FAST = false    # default; demo, bool: Go fast\n"), list.out());
        assertTrue(list.out().contains("DEMO_NAME = \"x\"    # set by the app, default \"kiln\"; demo, string: A name\n"), list.out());
        assertEquals("64\n", CliRun.of(cfg("get", app.toString(), "DEMO_SIZE")).out());
        assertEquals(0, CliRun.of(cfg("set", app.toString(), "DEMO_SIZE", "128")).status());
        assertEquals(0, CliRun.of(cfg("set", app.toString(), "DEMO_FAST", "true")).status());
        assertEquals(0, CliRun.of(cfg("set", app.toString(), "DEMO_NAME", "say \"hi\"")).status());
        assertEquals("128\n", CliRun.of(cfg("get", app.toString(), "DEMO_SIZE")).out());
        assertEquals("\"say \\\"hi\\\"\"\n", CliRun.of(cfg("get", app.toString(), "DEMO_NAME")).out());
        String text = Files.readString(app.resolve("kiln.toml"));
        assertTrue(text.startsWith("# my app: comments survive edits\n"), text);

        CliRun range = CliRun.of(cfg("set", app.toString(), "DEMO_SIZE", "5000"));
        assertEquals(1, range.status());
        assertTrue(range.err().contains("DEMO_SIZE: value 5000 is out of range [1, 1000]"), range.err());
        CliRun type = CliRun.of(cfg("set", app.toString(), "DEMO_FAST", "maybe"));
        assertTrue(type.err().contains("DEMO_FAST: expects true or false, got \"maybe\""), type.err());
        CliRun unknown = CliRun.of(cfg("get", app.toString(), "NOPE"));
        assertTrue(unknown.err().contains("no library in demoapp's build has an option NOPE"), unknown.err());
        assertEquals(text, Files.readString(app.resolve("kiln.toml")), "refused edits leave the file alone");

        CliRun changed = CliRun.of(cfg("list", app.toString()));
        assertTrue(changed.out().contains("DEMO_SIZE = 128    # set by the app, default 64; demo, int in 1..1000: How big"), changed.out());
        assertTrue(changed.out().contains("DEMO_FAST = true    # set by the app, default false; demo, bool"), changed.out());
        assertEquals(0, CliRun.of(cfg("unset", app.toString(), "DEMO_SIZE")).status());
        assertEquals("64\n", CliRun.of(cfg("get", app.toString(), "DEMO_SIZE")).out());
        assertEquals(Main.EXIT_USAGE, CliRun.of(cfg("frob", app.toString())).status());
    }

    @Test
    void libsVerboseShowsEachOptionsTypeRangeAndDefault() {
        CliRun libs = CliRun.of("libs", "-v", "--guest-root=" + guest);
        assertEquals(0, libs.status(), libs.err());
        assertTrue(libs.out().contains("           DEMO_SIZE: int in 1..1000, default 64  (How big the demo is)\n"), libs.out());
        assertTrue(libs.out().contains("           DEMO_FAST: bool, default false  (Go fast)\n"), libs.out());
        assertTrue(libs.out().contains("           DEMO_NAME: string, default \"kiln\"  (A name)\n"), libs.out());
        CliRun brief = CliRun.of("libs", "--guest-root=" + guest);
        assertTrue(brief.out().contains("demo       A demo library with options") && !brief.out().contains("DEMO_SIZE"), brief.out());
    }

    private static String tmux(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("tmux", "-L", "kiln-test"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out;
    }

    private static String waitFor(String text) throws Exception {
        String screen = "";
        for (int i = 0; i < 100; i++) {
            screen = tmux("capture-pane", "-p", "-t", "mc");
            if (screen.contains(text)) return screen;
            Thread.sleep(100);
        }
        throw new AssertionError("'" + text + "' never appeared on:\n" + screen);
    }

    @Test
    void menuconfigInARealTerminal() throws Exception {
        Assumptions.assumeTrue(new ProcessBuilder("tmux", "-V").start().waitFor() == 0, "tmux is not installed");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Path done = root.resolve("done");
        String cmd = java + " --enable-native-access=ALL-UNNAMED -cp " + System.getProperty("java.class.path")
                + " dev.kiln.cli.Main menuconfig --guest-root=" + guest + " " + app + "; echo $? > " + done + "; sleep 5";
        tmux("kill-session", "-t", "mc");
        tmux("new-session", "-d", "-s", "mc", "-x", "100", "-y", "30", cmd);
        try {
            String screen = waitFor("< Save and exit >");
            assertTrue(screen.contains("[*] demo - A demo library with options"), screen);
            assertTrue(screen.contains("DEMO_SIZE = 64"), screen);
            tmux("send-keys", "-t", "mc", "Down", "Enter");              // DEMO_FAST: toggle
            waitFor("DEMO_FAST = true  *");
            tmux("send-keys", "-t", "mc", "Down", "Down", "Enter");      // DEMO_SIZE: edit
            screen = waitFor("range [1, 1000]");
            tmux("send-keys", "-t", "mc", "BSpace", "BSpace", "2000", "Enter", "Enter");
            waitFor("value 2000 is out of range [1, 1000]");
            tmux("send-keys", "-t", "mc", "Enter");
            Thread.sleep(300);
            tmux("send-keys", "-t", "mc", "BTab");
            Thread.sleep(200);
            tmux("send-keys", "-t", "mc", "BSpace", "BSpace", "BSpace", "BSpace", "77", "Enter", "Enter");
            waitFor("DEMO_SIZE = 77  *");
            tmux("send-keys", "-t", "mc", "Down", "Down", "Enter");      // < Save and exit >
            for (int i = 0; i < 100 && !Files.exists(done); i++) Thread.sleep(100);
            assertEquals("0", Files.readString(done).strip());
        } finally {
            tmux("kill-session", "-t", "mc");
        }
        String text = Files.readString(app.resolve("kiln.toml"));
        assertTrue(text.contains("DEMO_FAST = true\n") && text.contains("DEMO_SIZE = 77\n"), text);
        assertTrue(text.contains("DEMO_NAME = \"x\"   # a comment"), text);
    }
}
