package dev.kiln.builder.manifest;

/** A manifest is malformed; the message names the file, the line when known, and what is wrong. */
public final class ManifestException extends Exception {
    public ManifestException(String message) {
        super(message);
    }
}
