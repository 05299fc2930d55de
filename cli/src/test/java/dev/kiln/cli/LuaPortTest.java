package dev.kiln.cli;

import dev.kiln.monitor.kvm.Kvm;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Lua port (guest/ports/lua, issue 11) against the same Lua source built for the host: every
 * script under test resources ports/lua runs as `kiln run --rootfs DIR lua.hvt SCRIPT` and as the host
 * build in DIR, and what each prints (stdout and stderr, in order) and its exit status must be
 * byte-identical. The scripts cover the standard libraries the issue names (string, table, math,
 * utf8, coroutine, os/io over the VFS), errors and exit statuses.
 */
class LuaPortTest {
    private static final Path GUESTS = Path.of(System.getProperty("kiln.guest.dir", "../guest/out"));
    private static final Path PORT = Path.of("../guest/ports/lua");
    private static final String LUA = GUESTS.resolve("lua.hvt").toString();
    private static final List<String> SCRIPTS = List.of("strings.lua", "tables.lua", "mathlib.lua", "coroutines.lua",
            "utf8lib.lua", "errors.lua", "files.lua", "closures.lua", "gc.lua", "exitcode.lua", "runtimeerror.lua");

    private static PortHostBuild host;

    @TempDir
    Path tmp;

    @BeforeAll
    static void requireKvmAndBuilds() throws IOException {
        String reason = Kvm.unavailableReason();
        if (reason != null) System.err.println("!!! KVM TESTS SKIPPED: " + reason);
        Assumptions.assumeTrue(reason == null, () -> "KVM TESTS SKIPPED: " + reason);
        assertTrue(Files.isRegularFile(Path.of(LUA)), LUA + " is missing: build it first (./kiln build --out guest/out guest/ports/lua)");
        host = PortHostBuild.of(PORT, GUESTS);
    }

    record Run(int status, String output) {}

    private Path scripts() throws IOException {
        Path root = Files.createDirectories(tmp.resolve("root"));
        for (String s : SCRIPTS) {
            try (InputStream in = LuaPortTest.class.getResourceAsStream("/ports/lua/" + s)) {
                Files.write(root.resolve(s), in.readAllBytes());
            }
        }
        return root;
    }

    private static Run guest(Path root, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), "dev.kiln.cli.Main",
                "run", "--mem=32", "--rootfs", root.toString(), LUA));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "lua.hvt " + String.join(" ", args) + " did not end");
        return new Run(p.exitValue(), out);
    }

    private static Run host(Path dir, String... args) throws Exception {
        // argv[0] "lua", as the unikernel's is, since Lua prints it in its messages
        List<String> cmd = new ArrayList<>(List.of("bash", "-c", "exec -a lua \"$0\" \"$@\"", host.binary().toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "host lua " + String.join(" ", args) + " did not end");
        return new Run(p.exitValue(), out);
    }

    @Test
    void everyScriptPrintsWhatTheHostBuildPrints() throws Exception {
        Path root = scripts();
        for (String s : SCRIPTS) {
            Run h = host(root, s);
            Run g = guest(root, s);
            assertEquals(h, g, s + ": the unikernel differs from the host build of the same source");
            assertTrue(h.output().length() > 0, s + " printed nothing");
        }
    }

    @Test
    void chunksFromTheCommandLineAndArguments() throws Exception {
        Path root = scripts();
        for (List<String> args : List.of(List.of("-e", "print(1 + 2, ('x'):rep(3))"),
                List.of("-e", "print(#arg, arg[1], arg[2])", "closures.lua", "two words", "it's"),
                List.of("-e", "error('boom')"),
                List.of("-e", "os.exit(false)"),
                List.of("no-such-script.lua"))) {
            String[] a = args.toArray(String[]::new);
            assertEquals(host(root, a), guest(root, a), "lua " + args);
        }
    }

    @Test
    void theRootFileSystemIsReadOnlyAndTmpIsWritable() throws Exception {
        Path root = scripts();
        Run r = guest(root, "-e", "print(io.open('/strings.lua', 'w')) print(io.open('/tmp/x', 'w') ~= nil)"
                + " print(os.remove('/tmp/x')) print(io.open('/strings.lua'):read('l'))");
        assertEquals(new Run(0, "nil\t/strings.lua: Read-only file system\t30\ntrue\ntrue\n"
                + "-- string library: formatting, patterns, gsub, packing\n"), r);
    }
}
