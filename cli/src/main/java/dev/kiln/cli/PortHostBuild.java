package dev.kiln.cli;

import dev.kiln.builder.build.BuildException;
import dev.kiln.builder.build.Toolchain;
import dev.kiln.builder.manifest.AppManifest;
import dev.kiln.builder.manifest.ManifestException;
import dev.kiln.builder.manifest.ManifestParser;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * A port's upstream program built for the host from the very tree the guest image was built from
 * (the builder's unpacked, patched tree under {@code OUT/NAME.build/upstream/}), with the same
 * sources and the port's own defines: the reference the differential tests compare the unikernel's
 * output with, and the baseline of {@code kiln bench lua}. Only ports whose upstream is built from
 * a list of sources (guest/ports/lua) can be rebuilt this way.
 *
 * @param binary the host executable
 * @param tree   the upstream tree it was built from
 */
record PortHostBuild(Path binary, Path tree) {
    /** Flags only the guest needs (or that gcc refuses without -ffreestanding before them). */
    private static final List<String> GUEST_ONLY = List.of("-fhosted", "-fbuiltin");

    /**
     * Builds (or reuses, when newer than every source) {@code OUT/NAME.build/host/NAME} for the port
     * in {@code portDir}, whose guest image must have been built into {@code out} first.
     */
    static PortHostBuild of(Path portDir, Path out) throws IOException {
        AppManifest app;
        try {
            app = ManifestParser.app(portDir);
        } catch (ManifestException e) {
            throw new IOException(e.getMessage(), e);
        }
        if (app.upstream() == null || app.upstream().build().sources().isEmpty()) {
            throw new IOException(portDir + ": not a port built from a list of upstream sources");
        }
        Path upstream = out.resolve(app.name() + ".build/upstream");
        Path tree;
        try (Stream<Path> s = Files.exists(upstream) ? Files.list(upstream) : Stream.empty()) {
            tree = s.filter(d -> d.getFileName().toString().startsWith(app.name() + "-"))
                    .map(d -> d.resolve("tree")).filter(Files::isDirectory).findFirst()
                    .orElseThrow(() -> new IOException("no upstream tree of " + app.name() + " under " + upstream
                            + ": build the port first (kiln build --out " + out + " " + portDir + ")"));
        }
        Path binary = out.resolve(app.name() + ".build/host/" + app.name());
        List<Path> sources = new ArrayList<>();
        for (String src : app.upstream().build().sources()) sources.add(tree.resolve(src));
        if (upToDate(binary, sources)) return new PortHostBuild(binary, tree);
        Files.createDirectories(binary.getParent());
        List<String> cmd = new ArrayList<>(List.of("gcc", "-O2"));
        for (String inc : app.upstream().build().include()) cmd.addAll(List.of("-I", tree.resolve(inc).toString()));
        app.upstream().build().cflags().stream().filter(f -> !GUEST_ONLY.contains(f)).forEach(cmd::add);
        cmd.addAll(List.of("-o", binary.toString()));
        for (Path p : sources) cmd.add(p.toString());
        cmd.add("-lm");
        try {
            Toolchain.run(cmd, "building " + app.name() + " for the host");
        } catch (BuildException e) {
            throw new IOException(e.getMessage(), e);
        }
        return new PortHostBuild(binary, tree);
    }

    private static boolean upToDate(Path binary, List<Path> sources) throws IOException {
        if (!Files.isRegularFile(binary)) return false;
        var built = Files.getLastModifiedTime(binary);
        for (Path s : sources) {
            if (Files.getLastModifiedTime(s).compareTo(built) > 0) return false;
        }
        return true;
    }
}
