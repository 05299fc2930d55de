package dev.kiln.cli;

import dev.kiln.builder.build.BuildException;
import dev.kiln.builder.build.ImageBuilder;
import dev.kiln.builder.build.Toolchain;
import dev.kiln.builder.manifest.AppManifest;
import dev.kiln.builder.manifest.ManifestException;
import dev.kiln.builder.manifest.ManifestParser;
import dev.kiln.builder.resolve.LibraryCatalog;
import dev.kiln.builder.resolve.ResolveException;
import dev.kiln.builder.resolve.Resolver;
import dev.kiln.builder.upstream.SourceCache;
import dev.kiln.builder.upstream.Upstream;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The SQLite port (guest/ports/sqlite*) and its host twin: the guest images come from the builder,
 * the host programs from the very tree the guest build unpacked and generated (the same amalgamation
 * sqlite3.c) compiled by the host's gcc with the manifest's own [upstream.build] cflags, so the two
 * differ only in libc and in what runs them. The tests (SqlitePortTest) and {@code kiln bench sqlite}
 * compare them.
 */
final class SqlitePort {
    /** The shell (rootfs only), the shell with a database on the block device 'data', speedtest1. */
    static final String SHELL = "guest/ports/sqlite";
    static final String BLOCK = "guest/ports/sqlite-block";
    static final String SPEEDTEST = "guest/ports/sqlite-speedtest1";

    private SqlitePort() {}

    /** Builds app (a folder relative to the Kiln tree) into out; unchanged sources compile and run nothing again. */
    static Path guestImage(Path tree, String app, Path out) throws BuildException {
        Path guestRoot = tree.resolve("guest");
        try {
            var resolved = Resolver.resolve(ManifestParser.app(tree.resolve(app)), LibraryCatalog.scan(guestRoot));
            return new ImageBuilder(Toolchain.detect(), Runtime.getRuntime().availableProcessors(), SourceCache.standard(false))
                    .build(resolved, guestRoot, out, false).image();
        } catch (ManifestException | ResolveException e) {
            throw new BuildException(e.getMessage());
        }
    }

    /**
     * The host program of app: its [upstream.build] sources from the tree its guest build left in
     * out (so guestImage first), compiled with gcc -O2 and its cflags. Cached in out/sqlite-host
     * under a hash of the command and the sources, so a second call costs nothing.
     */
    static Path hostProgram(Path tree, String app, Path out) throws BuildException, IOException {
        AppManifest m;
        try {
            m = ManifestParser.app(tree.resolve(app));
        } catch (ManifestException e) {
            throw new BuildException(e.getMessage());
        }
        Upstream u = m.upstream();
        if (u == null) throw new BuildException(m.file() + " has no [upstream] table");
        Path src = upstreamTree(out.resolve(m.name() + ".build").resolve("upstream"), u.sha256());
        List<String> cmd = new ArrayList<>(List.of(Toolchain.detect().cc(), "-O2"));
        cmd.addAll(u.build().cflags());
        for (String inc : u.build().include()) cmd.addAll(List.of("-I", src.resolve(inc).toString()));
        for (String s : u.build().sources()) cmd.add(src.resolve(s).toString());
        cmd.add("-lm");
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        md.update(String.join("\u0000", cmd).getBytes(StandardCharsets.UTF_8));
        for (String s : u.build().sources()) md.update(Files.readAllBytes(src.resolve(s)));
        Path dir = Files.createDirectories(out.resolve("sqlite-host"));
        Path bin = dir.resolve(m.name() + "-" + HexFormat.of().formatHex(md.digest()).substring(0, 16));
        if (Files.isExecutable(bin)) return bin;
        Path tmp = dir.resolve(bin.getFileName() + ".tmp");
        cmd.addAll(List.of("-o", tmp.toString()));
        Path log = dir.resolve(m.name() + ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            if (!p.waitFor(15, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new BuildException("the host build of " + app + " did not finish in 15 minutes: " + String.join(" ", cmd));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BuildException("the host build of " + app + " was interrupted");
        }
        if (p.exitValue() != 0) {
            throw new BuildException("the host build of " + app + " failed (" + String.join(" ", cmd) + "):\n" + Files.readString(log));
        }
        Files.move(tmp, bin, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return bin;
    }

    /** The unpacked, built tree of the tarball with this SHA-256 under an app's build folder. */
    private static Path upstreamTree(Path upstreamDir, String sha256) throws BuildException, IOException {
        String suffix = "-" + sha256.substring(0, 12);
        if (Files.isDirectory(upstreamDir)) {
            try (Stream<Path> s = Files.list(upstreamDir)) {
                for (Path d : s.toList()) {
                    if (d.getFileName().toString().endsWith(suffix) && Files.isDirectory(d.resolve("tree"))) return d.resolve("tree");
                }
            }
        }
        throw new BuildException("no upstream tree of " + sha256 + " in " + upstreamDir + ": build the guest image first");
    }
}
