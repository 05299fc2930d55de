package dev.kiln.builder.upstream;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How much a port changes its upstream: files touched and lines added/removed over all its
 * patches, read from the unified diffs' hunks (counted by the hunk headers' lengths, so a removed
 * line that itself starts with "--" is not taken for a file header).
 */
public record PatchStats(int patches, int files, int added, int removed) {
    private static final Pattern HUNK = Pattern.compile("^@@ -\\d+(?:,(\\d+))? \\+\\d+(?:,(\\d+))? @@.*");

    public static PatchStats of(List<Path> patches) throws IOException {
        int files = 0, added = 0, removed = 0;
        for (Path p : patches) {
            int oldLeft = 0, newLeft = 0;
            for (String line : Files.readAllLines(p, StandardCharsets.ISO_8859_1)) {
                if (oldLeft > 0 || newLeft > 0) {
                    if (line.startsWith("+")) {
                        added++;
                        newLeft--;
                    } else if (line.startsWith("-")) {
                        removed++;
                        oldLeft--;
                    } else if (!line.startsWith("\\")) {
                        oldLeft--;
                        newLeft--;
                    }
                    continue;
                }
                Matcher m = HUNK.matcher(line);
                if (m.matches()) {
                    oldLeft = m.group(1) == null ? 1 : Integer.parseInt(m.group(1));
                    newLeft = m.group(2) == null ? 1 : Integer.parseInt(m.group(2));
                } else if (line.startsWith("+++ ")) {
                    files++;
                }
            }
        }
        return new PatchStats(patches.size(), files, added, removed);
    }

    /** e.g. "2 patches, 3 files, +40 -7 lines". */
    public String summary() {
        if (patches == 0) return "no patches (upstream as released)";
        return String.format(Locale.ROOT, "%d patch%s, %d file%s, +%d -%d lines", patches, patches == 1 ? "" : "es",
                files, files == 1 ? "" : "s", added, removed);
    }
}
