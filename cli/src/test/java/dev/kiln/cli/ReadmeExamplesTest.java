package dev.kiln.cli;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every image path the README names must be one that exists right after {@code ./scripts/demo}:
 * {@code guest/apps/APP/build/APP.hvt} for an app, or {@code guest/out/NAME.hvt} for a guest that
 * scripts/demo builds into guest/out (every app and test guest with a kiln.toml).
 */
class ReadmeExamplesTest {
    private static final Path ROOT = Path.of("..");
    private static final Pattern IMAGE = Pattern.compile("guest/[A-Za-z0-9_./-]+\\.hvt");
    private static final Pattern APP_IMAGE = Pattern.compile("guest/apps/([a-z0-9-]+)/build/\\1\\.hvt");
    private static final Pattern OUT_IMAGE = Pattern.compile("guest/out/([a-z0-9-]+)\\.hvt");

    @Test
    void everyImageTheReadmeNamesIsBuiltByTheDemo() throws IOException {
        String readme = Files.readString(ROOT.resolve("README.md"));
        String demo = Files.readString(ROOT.resolve("scripts/demo"));
        assertTrue(demo.contains("guest/apps/*/ guest/tests/*/ guest/ports/*/") && demo.contains("--out guest/out"),
                "scripts/demo no longer builds every guest into guest/out:\n" + demo);
        List<String> bad = new ArrayList<>();
        Matcher m = IMAGE.matcher(readme);
        int found = 0;
        while (m.find()) {
            found++;
            String path = m.group();
            Matcher app = APP_IMAGE.matcher(path);
            Matcher out = OUT_IMAGE.matcher(path);
            boolean ok;
            if (app.matches()) {
                ok = Files.isRegularFile(ROOT.resolve("guest/apps").resolve(app.group(1)).resolve("kiln.toml"));
            } else if (out.matches()) {
                String name = out.group(1);
                ok = Files.isRegularFile(ROOT.resolve("guest/apps").resolve(name).resolve("kiln.toml"))
                        || Files.isRegularFile(ROOT.resolve("guest/tests").resolve(name).resolve("kiln.toml"))
                        || portNamed(name);
            } else {
                ok = false;
            }
            if (!ok) bad.add(path);
        }
        assertTrue(found > 3, "the README names only " + found + " images: has the pattern gone stale?");
        assertTrue(bad.isEmpty(), "README names images no build makes: " + bad);
    }

    /** A port (guest/ports/DIR) whose app is NAME: a port's folder need not be its app's name (sqlite -> sqlite3). */
    private static boolean portNamed(String name) throws IOException {
        Path ports = ROOT.resolve("guest/ports");
        if (!Files.isDirectory(ports)) return false;
        try (var dirs = Files.list(ports)) {
            for (Path d : dirs.toList()) {
                Path toml = d.resolve("kiln.toml");
                if (Files.isRegularFile(toml) && Files.readString(toml).contains("\nname = \"" + name + "\"\n")) return true;
            }
        }
        return false;
    }

    /** The README's table of kiln run's exit statuses says what the code returns. */
    @Test
    void theReadmesExitStatusesAreTheCodes() throws IOException {
        String readme = Files.readString(ROOT.resolve("README.md"));
        java.util.Map<String, Integer> rows = new java.util.LinkedHashMap<>();
        Matcher m = Pattern.compile("(?m)^\\| ([0-9 ./]+) \\| (.+) \\|$").matcher(readme);
        while (m.find()) {
            String[] codes = m.group(1).split(" / ");
            String[] causes = m.group(2).split(" / ");
            if (codes.length == 2 && m.group(2).startsWith("stopped by SIGINT / SIGTERM")) {
                rows.put("SIGINT", Integer.parseInt(codes[0].strip()));
                rows.put("SIGTERM", Integer.parseInt(codes[1].strip()));
            } else if (!codes[0].contains("..") && causes.length == 1) {
                rows.put(m.group(2).split("[ :(,]")[0] + " " + m.group(2), Integer.parseInt(codes[0].strip()));
            }
        }
        java.util.function.Function<String, Integer> row = start -> rows.entrySet().stream()
                .filter(e -> e.getKey().contains(start)).map(java.util.Map.Entry::getValue).findFirst()
                .orElseThrow(() -> new AssertionError("no README exit-status row mentions '" + start + "': " + rows));
        org.junit.jupiter.api.Assertions.assertEquals(dev.kiln.monitor.Outcome.Faulted.EXIT_STATUS, row.apply("guest fault"));
        org.junit.jupiter.api.Assertions.assertEquals(dev.kiln.monitor.StopCause.TIME_LIMIT.exitStatus(), row.apply("--timeout"));
        org.junit.jupiter.api.Assertions.assertEquals(dev.kiln.monitor.StopCause.INTERRUPT.exitStatus(), row.apply("SIGINT"));
        org.junit.jupiter.api.Assertions.assertEquals(dev.kiln.monitor.StopCause.TERMINATE.exitStatus(), row.apply("SIGTERM"));
        org.junit.jupiter.api.Assertions.assertEquals(dev.kiln.monitor.StopCause.DEBUGGER.exitStatus(), row.apply("killed from gdb"));
        org.junit.jupiter.api.Assertions.assertEquals(Main.EXIT_CANNOT_START, row.apply("could not start"));
        org.junit.jupiter.api.Assertions.assertEquals(Main.EXIT_USAGE, row.apply("bad command line"));
        // kiln run --help says the same.
        for (int status : rows.values()) {
            assertTrue(RunCommand.EXIT_STATUSES.contains(Integer.toString(status)), status + " missing from: " + RunCommand.EXIT_STATUSES);
        }
    }
}
