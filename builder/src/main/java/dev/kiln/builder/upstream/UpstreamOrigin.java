package dev.kiln.builder.upstream;

import java.net.URI;
import java.nio.file.Path;

/** Where an upstream tarball comes from: exactly one of a Debian source package, a URL or a local file. */
public sealed interface UpstreamOrigin {
    /** The file name the tarball is cached under (after its hash). */
    String basename();

    /** One phrase for messages, e.g. {@code Debian source package musl=1.2.3-1 (musl_1.2.3.orig.tar.gz)}. */
    String describe();

    /** The shell commands that put the tarball at {@code cacheFile} by hand (for an offline build). */
    String howToFetch(Path cacheFile);

    /** {@code apt-get source --download-only PACKAGE=VERSION}, then the named file of what it downloaded. */
    record Debian(String sourcePackage, String version, String file) implements UpstreamOrigin {
        public String basename() {
            return file;
        }

        public String describe() {
            return "Debian source package " + sourcePackage + "=" + version + " (" + file + ")";
        }

        public String howToFetch(Path cacheFile) {
            return "(cd \"$(mktemp -d)\" && apt-get source --download-only " + sourcePackage + "=" + version
                    + " && mkdir -p " + cacheFile.getParent() + " && cp " + file + " " + cacheFile + ")";
        }
    }

    /** An http(s) download. */
    record Url(URI uri) implements UpstreamOrigin {
        public String basename() {
            String path = uri.getPath() == null ? "" : uri.getPath();
            String last = path.substring(path.lastIndexOf('/') + 1);
            return last.isEmpty() ? "source.tar" : last;
        }

        public String describe() {
            return uri.toString();
        }

        public String howToFetch(Path cacheFile) {
            return "mkdir -p " + cacheFile.getParent() + " && curl -fL -o " + cacheFile + " '" + uri + "'";
        }
    }

    /** A file on this machine (absolute: the manifest's relative path is resolved when parsed). */
    record LocalTarball(Path file) implements UpstreamOrigin {
        public String basename() {
            return file.getFileName().toString();
        }

        public String describe() {
            return "local file " + file;
        }

        public String howToFetch(Path cacheFile) {
            return "mkdir -p " + cacheFile.getParent() + " && cp " + file + " " + cacheFile;
        }
    }
}
