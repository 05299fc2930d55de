package dev.kiln.builder.upstream;

import dev.kiln.builder.build.BuildException;

import java.nio.file.Path;

/**
 * Gets an upstream tarball from its origin. The cache calls it only for a file it does not hold
 * and checks the hash of whatever it wrote, so an implementation need not.
 */
public interface SourceFetcher {
    /** Writes the tarball {@code origin} names to {@code into} (which exists and may be overwritten). */
    void fetch(UpstreamOrigin origin, Path into) throws BuildException;

    /** The real one: apt-get for Debian packages, HTTP for URLs, a copy for local files. */
    static SourceFetcher standard() {
        return new OriginFetcher();
    }
}
