package dev.kiln.builder.resolve;

/** The resolver refused a build; the message explains why and the chain of manifests that led there. */
public final class ResolveException extends Exception {
    public ResolveException(String message) {
        super(message);
    }
}
