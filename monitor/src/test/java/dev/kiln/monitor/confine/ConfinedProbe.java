package dev.kiln.monitor.confine;

import dev.kiln.monitor.Instance;
import dev.kiln.monitor.InstanceSpec;
import dev.kiln.monitor.Monitor;
import dev.kiln.monitor.Outcome;
import dev.kiln.monitor.image.HvtImage;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Run in a JVM of its own by {@link SeccompFilterTest} (the filter is process-wide and cannot be
 * taken off): confines itself, then reports one line per check on stdout.
 */
public final class ConfinedProbe {
    public static void main(String[] args) throws Exception {
        Monitor.confine();
        System.out.println("confined");
        try {
            new ProcessBuilder("true").start().waitFor();
            System.out.println("exec: allowed");
        } catch (IOException e) {
            System.out.println("exec: " + e.getMessage());
        }
        Thread t = Thread.ofPlatform().start(() -> System.out.println("thread: ran"));
        t.join();
        for (int i = 0; i < 3; i++) {
            byte[][] garbage = new byte[1000][];
            for (int j = 0; j < garbage.length; j++) garbage[j] = new byte[10_000];
            System.gc();
        }
        System.out.println("gc: ran");
        try (Monitor monitor = Monitor.open()) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            HvtImage image = HvtImage.read(Path.of(args[0]));
            try (Instance i = monitor.create(InstanceSpec.of(image, out, "confined").withMemory(2L << 20))) {
                Outcome o = i.run();
                System.out.println("guest: " + o.describe() + ": " + out.toString(StandardCharsets.UTF_8).strip());
            }
        }
    }
}
