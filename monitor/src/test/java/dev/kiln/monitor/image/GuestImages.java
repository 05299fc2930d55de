package dev.kiln.monitor.image;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the test guests built by guest/build.sh are; a missing image fails loudly, never skips. */
public final class GuestImages {
    private GuestImages() {}

    public static Path path(String name) {
        Path dir = Path.of(System.getProperty("kiln.guest.dir", "../guest/out"));
        Path p = dir.resolve(name);
        if (!Files.isRegularFile(p)) {
            throw new IllegalStateException("guest image " + p + " is missing: run guest/build.sh first"
                    + " (the README's test command does)");
        }
        return p;
    }
}
