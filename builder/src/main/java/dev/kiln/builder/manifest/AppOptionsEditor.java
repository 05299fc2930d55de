package dev.kiln.builder.manifest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Sets or removes one key of an app manifest's {@code [options]} table in place, keeping every
 * other line (comments, order, formatting) as the author wrote it. TOML parsing stays with the
 * real parser: the edited text is parsed again before it replaces the file, so an edit can never
 * leave a manifest that does not read back to the intended value.
 */
public final class AppOptionsEditor {
    private AppOptionsEditor() {}

    private static final Pattern TABLE = Pattern.compile("^\\s*\\[\\s*([^\\]]+?)\\s*\\]\\s*(#.*)?$");

    /** Sets {@code name = value} (or removes it when value is null) and writes the file atomically. */
    public static void set(Path appDir, String name, OptionValue value) throws ManifestException {
        Path file = appDir.resolve(ManifestParser.FILE_NAME);
        List<String> lines;
        try {
            lines = new ArrayList<>(Files.readAllLines(file));
        } catch (IOException e) {
            throw new ManifestException(file + ": cannot read: " + e.getMessage());
        }
        Pattern key = Pattern.compile("^\\s*\"?" + Pattern.quote(name) + "\"?\\s*=.*$");
        int header = -1, end = lines.size(), existing = -1;
        for (int i = 0; i < lines.size(); i++) {
            var m = TABLE.matcher(lines.get(i));
            if (m.matches()) {
                if (header >= 0) {
                    end = i;
                    break;
                }
                if (m.group(1).equals("options")) header = i;
            } else if (header >= 0 && key.matcher(lines.get(i)).matches()) {
                existing = i;
            }
        }
        String line = value == null ? null : name + " = " + value.toml();
        if (existing >= 0) {
            if (line == null) lines.remove(existing);
            else lines.set(existing, line);
        } else if (line != null) {
            if (header < 0) {
                if (!lines.isEmpty() && !lines.getLast().isBlank()) lines.add("");
                lines.add("[options]");
                lines.add(line);
            } else {
                int at = end;
                while (at > header + 1 && lines.get(at - 1).isBlank()) at--;
                lines.add(at, line);
            }
        }
        String text = String.join("\n", lines) + "\n";
        AppManifest check = ManifestParser.app(appDir, text);
        OptionValue got = check.options().get(name);
        if (value == null ? got != null : !value.equals(got)) {
            throw new ManifestException(file + ": editing [options] " + name + " did not read back as intended; file left unchanged");
        }
        try {
            Path tmp = Files.createTempFile(appDir, ".kiln", ".toml");
            try {
                Files.writeString(tmp, text);
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new ManifestException(file + ": cannot write: " + e.getMessage());
        }
    }
}
