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
        assertTrue(demo.contains("guest/apps/*/ guest/tests/*/") && demo.contains("--out guest/out"),
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
                        || Files.isRegularFile(ROOT.resolve("guest/tests").resolve(name).resolve("kiln.toml"));
            } else {
                ok = false;
            }
            if (!ok) bad.add(path);
        }
        assertTrue(found > 3, "the README names only " + found + " images: has the pattern gone stale?");
        assertTrue(bad.isEmpty(), "README names images no build makes: " + bad);
    }
}
