package dev.kiln.builder.upstream;

import dev.kiln.builder.build.BuildException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Upstream tarballs by hash: {@code DIR/sources/<sha256>-<basename>}, where DIR is
 * {@code $KILN_CACHE} or {@code ~/.cache/kiln}. Only a file whose hash matched is ever stored, and
 * a stored one is checked again before each use (a disk error or a hand-copied wrong file must not
 * go into an image unnoticed).
 *
 * @param fetcher null when offline: the cache alone must answer
 */
public record SourceCache(Path dir, SourceFetcher fetcher) {
    /** The usual folder, fetching with {@link SourceFetcher#standard()} unless {@code offline}. */
    public static SourceCache standard(boolean offline) {
        String env = System.getenv("KILN_CACHE");
        Path dir = env != null && !env.isEmpty() ? Path.of(env)
                : Path.of(System.getProperty("user.home"), ".cache", "kiln");
        return new SourceCache(dir, offline ? null : SourceFetcher.standard());
    }

    public boolean offline() {
        return fetcher == null;
    }

    /** Where the tarball of {@code u} is (or would be) cached. */
    public Path file(Upstream u) {
        return dir.resolve("sources").resolve(u.sha256() + "-" + u.origin().basename());
    }

    /** The verified tarball of {@code u}, fetched first unless cached. */
    public Path tarball(Upstream u) throws BuildException {
        Path file = file(u);
        try {
            if (Files.isRegularFile(file)) {
                if (sha256(file).equals(u.sha256())) return file;
                // Corrupt or replaced by hand: never use it, fetch it again.
                Files.delete(file);
            }
            if (offline()) {
                throw new BuildException(u.manifest() + ": the upstream " + u.origin().describe() + " (sha256 " + u.sha256()
                        + ") is not in the cache and --offline forbids fetching it; fetch it into " + file + " with:\n  "
                        + u.origin().howToFetch(file));
            }
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(file.getParent(), ".fetch-", ".tmp");
            try {
                fetcher.fetch(u.origin(), tmp);
                String actual = sha256(tmp);
                if (!actual.equals(u.sha256())) {
                    throw new BuildException(u.manifest() + ": the upstream " + u.origin().describe()
                            + " has the wrong SHA-256: expected " + u.sha256() + ", actual " + actual
                            + " (refused, not cached; if the new file is the one you mean, put its hash in the manifest)");
                }
                try {
                    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
            return file;
        } catch (IOException e) {
            throw new BuildException("the source cache " + dir + ": " + e);
        }
    }

    public static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
