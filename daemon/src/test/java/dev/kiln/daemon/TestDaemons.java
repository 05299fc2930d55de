package dev.kiln.daemon;

import dev.kiln.monitor.kvm.Kvm;
import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/** What the daemon tests share: KVM or a loud skip, the test guests, and a daemon on a temp socket and state dir. */
final class TestDaemons {
    private TestDaemons() {}

    static final Path GUESTS = Path.of(System.getProperty("kiln.guest.dir", "../guest/out"));

    static void requireKvm() {
        String reason = Kvm.unavailableReason();
        if (reason != null) System.err.println("!!! KVM TESTS SKIPPED: " + reason);
        Assumptions.assumeTrue(reason == null, () -> "KVM TESTS SKIPPED: " + reason);
    }

    /** A guest image from guest/out; missing is a failure with the command that builds it, never a skip. */
    static Path guest(String name) {
        Path p = GUESTS.resolve(name).toAbsolutePath().normalize();
        if (!Files.isRegularFile(p)) {
            throw new IllegalStateException("guest image " + p + " is missing: build the guests first"
                    + " (for a in guest/apps/*/ guest/tests/*/; do ./kiln build --out guest/out $a; done)");
        }
        return p;
    }

    static DaemonConfig config(Path dir) {
        return new DaemonConfig(dir.resolve("kiln.sock"), dir.resolve("state"), null, null, 1024, 64 << 10);
    }

    static Daemon start(Path dir) throws Exception {
        return Daemon.start(config(dir), 200);
    }
}
