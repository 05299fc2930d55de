package dev.kiln.monitor;

import dev.kiln.monitor.hvt.FaultKind;

/** How an instance ended. */
public sealed interface Outcome {
    /** The status a command line exits with for this outcome (0..255). */
    int exitStatus();

    /** One line for an operator. */
    String describe();

    /** The guest called HALT: {@code status} is its own (0 success, 1 failure, 255 abort). */
    record Halted(int status) implements Outcome {
        @Override
        public int exitStatus() {
            return status & 0xff;
        }

        @Override
        public String describe() {
            return "guest halted with status " + status;
        }
    }

    /** The monitor ended a guest that crashed or broke the ABI; exits 255, as an abort. */
    record Faulted(FaultKind kind, String message) implements Outcome {
        public static final int EXIT_STATUS = 255;

        @Override
        public int exitStatus() {
            return EXIT_STATUS;
        }

        @Override
        public String describe() {
            return "guest fault: " + message;
        }
    }

    /** The host stopped the guest. */
    record Stopped(StopCause cause) implements Outcome {
        @Override
        public int exitStatus() {
            return cause.exitStatus();
        }

        @Override
        public String describe() {
            return "guest " + cause.description();
        }
    }
}
