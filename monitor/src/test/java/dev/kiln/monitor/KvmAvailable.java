package dev.kiln.monitor;

import dev.kiln.monitor.kvm.Kvm;
import org.junit.jupiter.api.Assumptions;

/**
 * Guards the KVM tests: without a usable /dev/kvm they are skipped, and the reason is printed
 * loudly on stderr so a green run without KVM cannot pass for a real one.
 */
public final class KvmAvailable {
    private KvmAvailable() {}

    private static final String REASON = Kvm.unavailableReason();
    private static boolean announced;

    public static synchronized void require() {
        if (REASON != null && !announced) {
            announced = true;
            System.err.println();
            System.err.println("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
            System.err.println("!!! KVM TESTS SKIPPED: " + REASON);
            System.err.println("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
        }
        Assumptions.assumeTrue(REASON == null, () -> "KVM TESTS SKIPPED: " + REASON);
    }
}
