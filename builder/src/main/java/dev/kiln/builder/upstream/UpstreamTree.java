package dev.kiln.builder.upstream;

import dev.kiln.builder.build.BuildException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * An unpacked and patched upstream tree under the build folder:
 * {@code OUT/APP.build/upstream/<OWNER>-<sha256 prefix>/tree}, with a stamp holding the key it
 * was made for (tarball hash, strip, each patch's name and content, the build commands). An
 * unchanged key reuses the tree as it is; any other key unpacks it afresh, so nothing from an
 * older patch or build survives.
 *
 * @param dir      the folder holding the tree, its stamps and logs
 * @param root     the unpacked tree
 * @param key      what the tree was made from
 * @param unpacked whether this call unpacked it (false: reused)
 */
public record UpstreamTree(Path dir, Path root, String key, boolean unpacked) {
    static final String STAMP = "tree.stamp";

    public static UpstreamTree prepare(String owner, Upstream u, Path tarball, Path upstreamDir) throws BuildException {
        // Absolute: the tree's path goes into -ffile-prefix-map and the commands' $PWD.
        Path dir = upstreamDir.toAbsolutePath().normalize().resolve(owner + "-" + u.sha256().substring(0, 12));
        Path root = dir.resolve("tree");
        Path stamp = dir.resolve(STAMP);
        try {
            String key = key(u);
            if (Files.isDirectory(root) && Files.isRegularFile(stamp) && Files.readString(stamp).equals(key)) {
                return new UpstreamTree(dir, root, key, false);
            }
            OriginFetcher.deleteTree(dir);
            Files.createDirectories(root);
            run(List.of("tar", "-xf", tarball.toString(), "--strip-components=" + u.strip(), "--no-same-owner", "-C", root.toString()),
                    root, u.manifest() + ": unpacking " + tarball);
            for (Path patch : u.patches()) {
                run(List.of("patch", "-p1", "--forward", "--batch", "-i", patch.toAbsolutePath().toString()), root,
                        u.manifest() + ": the patch " + patch + " does not apply to " + u.origin().describe());
            }
            Files.writeString(stamp, key);
            return new UpstreamTree(dir, root, key, true);
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new BuildException("cannot prepare the upstream tree " + root + ": " + e.getMessage());
        }
    }

    /** Everything the tree's content depends on. */
    static String key(Upstream u) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            update(md, u.sha256());
            update(md, Integer.toString(u.strip()));
            for (Path p : u.patches()) {
                update(md, p.getFileName().toString());
                md.update(Files.readAllBytes(p));
                md.update((byte) 0);
            }
            for (String c : u.build().commands()) update(md, c);
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void update(MessageDigest md, String s) {
        md.update(s.getBytes(StandardCharsets.UTF_8));
        md.update((byte) 0);
    }

    private static void run(List<String> cmd, Path dir, String what) throws BuildException, IOException {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        try {
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new BuildException(what + ": " + cmd.getFirst() + " did not finish in 10 minutes");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BuildException(what + ": interrupted");
        }
        if (p.exitValue() != 0) {
            throw new BuildException(what + " (" + cmd.getFirst() + " exit status " + p.exitValue() + "):\n"
                    + (said.isEmpty() ? "(no output)" : said) + "\n  command: " + String.join(" ", cmd));
        }
    }
}
