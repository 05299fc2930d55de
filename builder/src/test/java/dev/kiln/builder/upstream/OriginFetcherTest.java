package dev.kiln.builder.upstream;

import dev.kiln.builder.build.BuildException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The fetcher's failures, on this machine only (no test here reaches the network). */
class OriginFetcherTest {
    @TempDir
    Path tmp;

    @Test
    void anUnknownDebianPackageNamesThePackageAndTheDebSrcEntry() throws Exception {
        UpstreamOrigin.Debian d = new UpstreamOrigin.Debian("kiln-no-such-package", "1.0-1", "x_1.0.orig.tar.gz");
        BuildException e = assertThrows(BuildException.class, () -> SourceFetcher.standard().fetch(d, tmp.resolve("into")));
        assertTrue(e.getMessage().contains("kiln-no-such-package=1.0-1"), e.getMessage());
        boolean aptGet = Stream.of(System.getenv("PATH").split(":")).anyMatch(dir -> Files.isExecutable(Path.of(dir, "apt-get")));
        // apt-get looks the package up in its local lists and fails without going on the network.
        assertTrue(aptGet ? e.getMessage().contains("Types: deb deb-src") && e.getMessage().contains("/etc/apt/sources.list.d/debian.sources")
                : e.getMessage().contains("cannot be run"), e.getMessage());
        assertEquals("(cd \"$(mktemp -d)\" && apt-get source --download-only kiln-no-such-package=1.0-1 && mkdir -p /c/sources"
                + " && cp x_1.0.orig.tar.gz /c/sources/x.tgz)", d.howToFetch(Path.of("/c/sources/x.tgz")));
    }

    @Test
    void aMissingLocalTarballIsNamed() {
        Path missing = tmp.resolve("nowhere.tar.gz");
        BuildException e = assertThrows(BuildException.class,
                () -> SourceFetcher.standard().fetch(new UpstreamOrigin.LocalTarball(missing), tmp.resolve("into")));
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
    }
}
