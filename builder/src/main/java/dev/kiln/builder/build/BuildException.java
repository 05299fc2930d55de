package dev.kiln.builder.build;

/** A build step failed; the message names the step and carries the tool's own output. */
public final class BuildException extends Exception {
    public BuildException(String message) {
        super(message);
    }
}
