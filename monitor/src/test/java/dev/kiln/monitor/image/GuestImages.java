package dev.kiln.monitor.image;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the test guests are (scripts/test builds them into guest/out with kiln build); a missing image fails loudly, never skips. */
public final class GuestImages {
    private GuestImages() {}

    public static Path path(String name) {
        Path dir = Path.of(System.getProperty("kiln.guest.dir", "../guest/out"));
        Path p = dir.resolve(name);
        if (!Files.isRegularFile(p)) {
            throw new IllegalStateException("guest image " + p + " is missing: build the test guests first (for a in guest/apps/*/ guest/tests/*/; do ./kiln build --out guest/out $a; done)"
                    + " (the README's test command does)");
        }
        return p;
    }
}
