package dev.kiln.builder.upstream;

import dev.kiln.builder.build.BuildException;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** Fetches each kind of origin the way it is meant to be fetched. */
final class OriginFetcher implements SourceFetcher {
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration DOWNLOAD_TIMEOUT = Duration.ofMinutes(10);

    @Override
    public void fetch(UpstreamOrigin origin, Path into) throws BuildException {
        switch (origin) {
            case UpstreamOrigin.Debian d -> debian(d, into);
            case UpstreamOrigin.Url u -> url(u, into);
            case UpstreamOrigin.LocalTarball l -> local(l, into);
        }
    }

    private static void local(UpstreamOrigin.LocalTarball l, Path into) throws BuildException {
        try {
            Files.copy(l.file(), into, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new BuildException("cannot copy the upstream tarball " + l.file() + ": " + e);
        }
    }

    private static void url(UpstreamOrigin.Url u, Path into) throws BuildException {
        HttpClient client = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT)
                .followRedirects(HttpClient.Redirect.NORMAL).build();
        HttpRequest request = HttpRequest.newBuilder(u.uri()).timeout(DOWNLOAD_TIMEOUT).GET().build();
        try (client) {
            HttpResponse<Path> r = client.send(request, HttpResponse.BodyHandlers.ofFile(into));
            if (r.statusCode() != 200) {
                throw new BuildException("downloading " + u.uri() + " failed: HTTP status " + r.statusCode());
            }
        } catch (IOException e) {
            throw new BuildException("downloading " + u.uri() + " failed: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BuildException("downloading " + u.uri() + " was interrupted");
        }
    }

    /** apt-get writes into its working folder: a fresh temporary one, removed afterwards. */
    private static void debian(UpstreamOrigin.Debian d, Path into) throws BuildException {
        String spec = d.sourcePackage() + "=" + d.version();
        Path dir = null;
        try {
            dir = Files.createTempDirectory("kiln-apt-");
            Process p = new ProcessBuilder(List.of("apt-get", "source", "--download-only", spec))
                    .directory(dir.toFile()).redirectErrorStream(true).start();
            String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(15, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new BuildException("apt-get source --download-only " + spec + " did not finish in 15 minutes");
            }
            if (p.exitValue() != 0) {
                throw new BuildException("apt-get source --download-only " + spec + " failed for the Debian source package "
                        + d.sourcePackage() + " (it needs a deb-src entry: add deb-src to the Types line of "
                        + "/etc/apt/sources.list.d/debian.sources, e.g. 'Types: deb deb-src', then run apt-get update):\n"
                        + said.strip());
            }
            Path file = dir.resolve(d.file());
            if (!Files.isRegularFile(file)) {
                try (Stream<Path> s = Files.list(dir)) {
                    throw new BuildException("apt-get source " + spec + " downloaded no file named " + d.file() + "; it downloaded: "
                            + s.map(x -> x.getFileName().toString()).sorted().toList());
                }
            }
            Files.copy(file, into, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new BuildException("apt-get source --download-only " + spec + " cannot be run: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BuildException("apt-get source " + spec + " was interrupted");
        } finally {
            if (dir != null) deleteTree(dir);
        }
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
