package dev.kiln.cli;

import dev.kiln.monitor.Instance;
import dev.kiln.monitor.InstanceSpec;
import dev.kiln.monitor.Monitor;
import dev.kiln.monitor.Outcome;
import dev.kiln.monitor.image.ImageException;

import java.io.OutputStream;
import java.util.Arrays;

/**
 * Boot to first output, the ports' start-up target (issue 11: <= 5 ms): wall time from asking the
 * monitor for an instance (VM, memory, image, vCPU) to the guest's first console byte, which
 * includes the libc's start-up and whatever the program does before it prints.
 */
final class FirstOutput {
    /** Issue 11's target for every port. */
    static final double TARGET_MS = 5.0;

    private FirstOutput() {}

    /** Thrown when the guest did not print or did not end with status 0. */
    static final class Failed extends Exception {
        Failed(String message) {
            super(message);
        }
    }

    /** The median over {@code runs} boots of {@code spec} (its console is replaced), in milliseconds. */
    static double medianMillis(Monitor monitor, InstanceSpec spec, int runs) throws Failed, ImageException {
        double[] ms = new double[runs];
        for (int i = 0; i < runs; i++) ms[i] = millis(monitor, spec);
        Arrays.sort(ms);
        return ms[runs / 2];
    }

    static double millis(Monitor monitor, InstanceSpec spec) throws Failed, ImageException {
        long[] first = {0};
        OutputStream console = new OutputStream() {
            @Override
            public void write(int b) {
                if (first[0] == 0) first[0] = System.nanoTime();
            }

            @Override
            public void write(byte[] b, int off, int len) {
                if (first[0] == 0 && len > 0) first[0] = System.nanoTime();
            }
        };
        long t0 = System.nanoTime();
        try (Instance instance = monitor.create(spec.withConsole(console))) {
            Outcome o = instance.run();
            if (!(o instanceof Outcome.Halted h) || h.status() != 0 || first[0] == 0) {
                throw new Failed(String.join(" ", spec.args()) + " ended with " + o.describe()
                        + (first[0] == 0 ? " and printed nothing" : ""));
            }
        }
        return (first[0] - t0) / 1e6;
    }
}
