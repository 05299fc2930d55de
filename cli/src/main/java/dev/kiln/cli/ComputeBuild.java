package dev.kiln.cli;

import dev.kiln.builder.build.BuildException;
import dev.kiln.builder.build.ImageBuilder;
import dev.kiln.builder.build.Toolchain;
import dev.kiln.builder.manifest.LibraryManifest;
import dev.kiln.builder.manifest.ManifestException;
import dev.kiln.builder.manifest.ManifestParser;
import dev.kiln.builder.resolve.LibraryCatalog;
import dev.kiln.builder.resolve.ResolveException;
import dev.kiln.builder.resolve.Resolver;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Builds the two programs {@code kiln bench compute} compares, from one set of sources: the guest
 * image (guest/apps/computebench, with the builder) and the host process (bench/compute/host_main.c
 * around the same guest/lib/compute and guest/lib/fmt sources, compiled with the builder's guest
 * flags). Everything goes into a temporary folder that {@link #close()} removes.
 */
final class ComputeBuild implements AutoCloseable {
    /** The guest app, the host driver and the libraries both sides run, relative to the Kiln tree. */
    static final String APP = "guest/apps/computebench";
    static final String HOST_DRIVER = "bench/compute/host_main.c";
    static final List<String> SHARED_LIBRARIES = List.of("compute", "fmt");

    private final Path work;
    private final Path hostBinary;
    private final Path guestImage;
    private final String compiler;

    private ComputeBuild(Path work, Path hostBinary, Path guestImage, String compiler) {
        this.work = work;
        this.hostBinary = hostBinary;
        this.guestImage = guestImage;
        this.compiler = compiler;
    }

    /**
     * Builds both programs from the Kiln tree {@code tree}; with {@code prebuiltImage} the guest
     * image is that file instead (it must come from the same sources: the checksums tell).
     */
    static ComputeBuild make(Path tree, Path prebuiltImage) throws BuildException, IOException {
        Path guestRoot = tree.resolve("guest");
        Path driver = tree.resolve(HOST_DRIVER);
        if (!Files.isRegularFile(driver)) {
            throw new BuildException(driver + " not found: is " + tree + " a Kiln tree? (--tree DIR)");
        }
        Path work = Files.createTempDirectory("kiln-compute");
        try {
            Toolchain tc = Toolchain.detect();
            LibraryCatalog catalog = LibraryCatalog.scan(guestRoot);
            Path host = buildHost(tc, catalog, driver, work);
            Path image = prebuiltImage;
            if (image == null) {
                var resolved = Resolver.resolve(ManifestParser.app(tree.resolve(APP)), catalog);
                image = new ImageBuilder(tc, Runtime.getRuntime().availableProcessors())
                        .build(resolved, guestRoot, work.resolve("guest"), false).image();
            }
            return new ComputeBuild(work, host, image, tc.version());
        } catch (ManifestException | ResolveException e) {
            deleteTree(work);
            throw new BuildException(e.getMessage());
        } catch (BuildException | RuntimeException e) {
            deleteTree(work);
            throw e;
        }
    }

    Path hostBinary() {
        return hostBinary;
    }

    Path guestImage() {
        return guestImage;
    }

    /** The compiler's version line, printed with the flags both sides were built with. */
    String compiler() {
        return compiler;
    }

    /**
     * The host process: the shared libraries' sources (as their manifests list them) with exactly
     * the guest's flags, then the hosted driver, linked without PIE (the objects are -fno-pic).
     */
    private static Path buildHost(Toolchain tc, LibraryCatalog catalog, Path driver, Path work) throws BuildException {
        List<LibraryManifest> libs = new ArrayList<>();
        for (String name : SHARED_LIBRARIES) {
            libs.add(catalog.byName(name).orElseThrow(() -> new BuildException(
                    "guest library '" + name + "' not found under " + catalog.guestRoot() + "/lib")));
        }
        List<String> flags = new ArrayList<>(Toolchain.CFLAGS);
        flags.addAll(List.of("-isystem", tc.builtinIncludeDir()));
        for (LibraryManifest l : libs) {
            for (String inc : l.include()) flags.addAll(List.of("-I", l.dir().resolve(inc).toString()));
        }
        Path objDir = work.resolve("host");
        List<Path> shared = new ArrayList<>();
        for (LibraryManifest l : libs) {
            for (String src : l.sources()) {
                Path obj = objDir.resolve(l.name() + "-" + Path.of(src).getFileName().toString().replaceAll("\\.[cS]$", "") + ".o");
                List<String> cmd = new ArrayList<>(List.of(tc.cc()));
                cmd.addAll(flags);
                cmd.addAll(List.of("-c", l.dir().resolve(src).toString(), "-o", obj.toString()));
                mkdirs(objDir);
                Toolchain.run(cmd, "compiling " + src + " of " + l.name() + " for the host");
                shared.add(obj);
            }
        }
        requireSelfContained(tc, shared);
        LibraryManifest compute = libs.getFirst();
        Path driverObj = objDir.resolve("host_main.o");
        List<String> cc = new ArrayList<>(List.of(tc.cc(), "-std=gnu11", "-O2", "-Wall", "-Wextra"));
        for (String inc : compute.include()) cc.addAll(List.of("-I", compute.dir().resolve(inc).toString()));
        cc.addAll(List.of("-c", driver.toString(), "-o", driverObj.toString()));
        Toolchain.run(cc, "compiling " + driver);
        Path bin = work.resolve("compute-host");
        List<String> link = new ArrayList<>(List.of(tc.cc(), "-no-pie", "-o", bin.toString(), driverObj.toString()));
        for (Path o : shared) link.add(o.toString());
        Toolchain.run(link, "linking the host driver");
        return bin;
    }

    /**
     * The workloads must not call anything outside themselves: a call the compiler made to memcpy
     * or memset would run glibc's vectorised routine in the host process and the platform's byte
     * loop in the guest, and the comparison would no longer be like for like.
     */
    private static void requireSelfContained(Toolchain tc, List<Path> objects) throws BuildException {
        String nm = tc.strip().replaceAll("strip$", "nm");
        Set<String> defined = new TreeSet<>();
        Set<String> undefined = new TreeSet<>();
        for (Path o : objects) {
            for (String line : Toolchain.run(List.of(nm, "-P", o.toString()), "nm").lines().toList()) {
                String[] f = line.trim().split("\\s+");
                if (f.length < 2) continue;
                if (f[1].equals("U")) undefined.add(f[0]);
                else if (!f[1].equals("w")) defined.add(f[0]);
            }
        }
        undefined.removeAll(defined);
        if (!undefined.isEmpty()) {
            throw new BuildException("the compute workloads call " + String.join(", ", undefined)
                    + ", which the host would take from glibc and the guest from its platform: not like for like");
        }
    }

    private static void mkdirs(Path dir) throws BuildException {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new BuildException("cannot create " + dir + ": " + e.getMessage());
        }
    }

    @Override
    public void close() {
        deleteTree(work);
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            // a leftover temporary folder is not worth failing a benchmark for; say where it is
            System.err.println("kiln bench compute: could not remove " + dir + ": " + e.getMessage());
        }
    }
}
