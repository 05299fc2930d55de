package dev.kiln.builder.build;

import dev.kiln.builder.manifest.LibraryManifest;
import dev.kiln.builder.resolve.ResolvedBuild;
import dev.kiln.builder.upstream.PatchStats;
import dev.kiln.builder.upstream.SourceCache;
import dev.kiln.builder.upstream.UpstreamBuild;
import dev.kiln.monitor.image.HvtImage;
import dev.kiln.monitor.image.ImageException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

/**
 * Turns a resolved build into an hvt image: generates the config header and the MFT1 note,
 * compiles every source in parallel through a content-hash cache, links with the platform's
 * linker script and {@code --gc-sections}, strips, checks the result with the monitor's own image
 * rules, and reports sizes by library from the link map.
 *
 * <p>Layout under the output folder {@code OUT}: {@code OUT/NAME.hvt} (stripped), {@code NAME.dbg}
 * (symbols), {@code NAME.map}, and {@code OUT/NAME.build/} with {@code gen/}, {@code obj/LIB/...}
 * and {@code cache/}. A cache entry's key hashes the compiler's version, the exact flags, the
 * source and every header the build can see, so a rebuild with no change compiles nothing and any
 * change that could matter recompiles. Paths are mapped to fixed prefixes so two clean builds of
 * the same tree are byte-identical.
 *
 * <p>Manifests with an {@code [upstream]} table are made ready first (UpstreamBuild: fetched
 * through the hash-keyed SourceCache, unpacked and patched under {@code NAME.build/upstream/},
 * their build system run): their sources join the units above, their archives are linked after
 * every object in one group, and the image is then built without {@code -mgeneral-regs-only}.
 */
public final class ImageBuilder {
    /** The app's objects are attributed to this pseudo-library in the size table. */
    public static final String APP = "app";

    private final Toolchain toolchain;
    private final int jobs;
    private final SourceCache sources;

    /** Fetches upstream sources as needed into the usual cache ({@code $KILN_CACHE} or {@code ~/.cache/kiln}). */
    public ImageBuilder(Toolchain toolchain, int jobs) {
        this(toolchain, jobs, SourceCache.standard(false));
    }

    public ImageBuilder(Toolchain toolchain, int jobs, SourceCache sources) {
        this.toolchain = toolchain;
        this.jobs = Math.max(1, jobs);
        this.sources = sources;
    }

    /**
     * One object to compile: {@code flags} come after the build's own (a manifest's cflags, an
     * upstream's), {@code key} is extra cache-key input (an upstream tree's key).
     */
    private record Unit(String library, Path source, Path object, List<String> flags, String key) {}

    public BuildReport build(ResolvedBuild build, Path guestRoot, Path out, boolean lto) throws BuildException {
        long t0 = System.nanoTime();
        String name = build.app().name();
        Path work = out.resolve(name + ".build");
        Path gen = work.resolve("gen");
        Path objDir = work.resolve("obj");
        Path cache = work.resolve("cache");
        try {
            Files.createDirectories(gen.resolve("kiln"));
            Files.createDirectories(cache);
            writeIfChanged(gen.resolve("kiln/config.h"), build.configHeader());
            writeIfChanged(gen.resolve("manifest.S"), ManifestNote.assembly(build.app().devices()));
        } catch (IOException e) {
            throw new BuildException("cannot write to " + work + ": " + e.getMessage());
        }

        // Upstream trees first: their include folders (some made by their build) go on everyone's path.
        List<UpstreamBuild> upstreams = new ArrayList<>();
        if (build.app().upstream() != null) {
            upstreams.add(UpstreamBuild.prepare(APP, name, build.app().upstream(), work, sources, toolchain, jobs));
        }
        // A library's upstream build is the same for every app (musl is), so all apps built into OUT
        // share one: OUT/libraries.build/upstream/NAME-HASH, built once.
        Path shared = out.resolve("libraries.build");
        for (LibraryManifest l : build.libraries()) {
            if (l.upstream() != null) upstreams.add(UpstreamBuild.prepare(l.name(), l.name(), l.upstream(), shared, sources, toolchain, jobs));
        }

        boolean floatingPoint = build.floatingPoint();
        List<String> flags = new ArrayList<>(Toolchain.guestCflags(floatingPoint));
        if (lto) flags.addAll(List.of("-flto", "-flto-partition=none"));
        flags.addAll(List.of("-isystem", toolchain.builtinIncludeDir()));
        flags.addAll(List.of("-include", gen.resolve("kiln/config.h").toString()));
        List<Path> includeDirs = new ArrayList<>();
        for (String inc : build.app().include()) includeDirs.add(build.app().dir().resolve(inc));
        for (LibraryManifest l : build.libraries()) {
            for (String inc : l.include()) includeDirs.add(l.dir().resolve(inc));
        }
        for (UpstreamBuild u : upstreams) includeDirs.addAll(u.include());
        for (Path inc : includeDirs) flags.addAll(List.of("-I", inc.toString()));
        // Fixed prefixes instead of where the tree happens to be: reproducible objects and debug info.
        flags.add("-ffile-prefix-map=" + guestRoot.toAbsolutePath().normalize() + "=guest");
        flags.add("-ffile-prefix-map=" + build.app().dir().toAbsolutePath().normalize() + "=app");
        flags.add("-ffile-prefix-map=" + work.toAbsolutePath().normalize() + "=build");
        flags.add("-ffile-prefix-map=" + guestRoot + "=guest");
        flags.add("-ffile-prefix-map=" + build.app().dir() + "=app");
        flags.add("-ffile-prefix-map=" + work + "=build");
        // After the build folder's: gcc takes the last matching map, and the trees are inside it.
        for (UpstreamBuild u : upstreams) flags.add(u.prefixMap());

        List<Unit> units = new ArrayList<>();
        for (String src : build.app().sources()) {
            units.add(unit(APP, build.app().dir(), src, objDir.resolve(APP), build.app().cflags(), ""));
        }
        for (LibraryManifest l : build.libraries()) {
            for (String src : l.sources()) units.add(unit(l.name(), l.dir(), src, objDir.resolve(l.name()), l.cflags(), ""));
        }
        for (UpstreamBuild u : upstreams) {
            for (Path src : u.sources()) {
                units.add(unit(u.owner(), u.tree().root(), u.tree().root().relativize(src).toString(),
                        objDir.resolve(u.owner()).resolve("upstream"), u.cflagsFor(src), u.tree().key()));
            }
        }
        units.add(new Unit("platform-notes", gen.resolve("manifest.S"), objDir.resolve(build.platform().name()).resolve("manifest.o"),
                List.of(), ""));

        for (Unit u : units) {
            if (!Files.isRegularFile(u.source())) {
                throw new BuildException("source " + u.source() + " of " + u.library() + " does not exist");
            }
        }
        String headerDigest = headerDigest(includeDirs, gen);
        int[] compiled = {0};
        ExecutorService pool = Executors.newFixedThreadPool(jobs);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (Unit u : units) results.add(pool.submit(() -> compile(u, flags, headerDigest, cache)));
            for (Future<Boolean> f : results) {
                if (f.get()) compiled[0]++;
            }
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof BuildException b) throw b;
            throw new BuildException("compilation failed: " + c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BuildException("interrupted");
        } finally {
            pool.shutdownNow();
        }

        Path dbg = out.resolve(name + ".dbg");
        Path hvt = out.resolve(name + ".hvt");
        Path map = out.resolve(name + ".map");
        List<String> link = new ArrayList<>();
        link.add(toolchain.cc());
        link.addAll(Toolchain.LDFLAGS);
        if (lto) {
            link.addAll(List.of("-flto", "-flto-partition=none", "-O2", "-mno-red-zone"));
            if (!floatingPoint) link.add("-mgeneral-regs-only");
        }
        link.add("-Wl,-T," + build.platform().dir().resolve(build.platform().linkerScript()));
        link.add("-Wl,-Map=" + map);
        link.addAll(List.of("-o", dbg.toString()));
        for (Unit u : units) link.add(u.object().toString());
        // Archives after every object, as one group: --gc-sections then keeps only the members
        // something uses, whatever order the archives need each other in.
        List<Path> archives = upstreams.stream().flatMap(u -> u.archives().stream()).toList();
        if (!archives.isEmpty()) {
            link.add("-Wl,--start-group");
            for (Path a : archives) link.add(a.toString());
            link.add("-Wl,--end-group");
        }
        Toolchain.run(link, "linking " + name);
        Toolchain.run(List.of(toolchain.strip(), "-s", "-o", hvt.toString(), dbg.toString()), "strip");
        // The .dbg is for gdb only. gdb picks the OS ABI from a section named .note.openbsd.ident
        // and, lacking an OpenBSD handler, falls back to 32-bit registers; renamed, the same note
        // bytes leave gdb on bare amd64 (the booted .hvt keeps the name hvt images carry).
        String objcopy = toolchain.strip().replaceAll("strip$", "objcopy");
        Toolchain.run(List.of(objcopy, "--rename-section", ".note.openbsd.ident=.note.kiln.openbsd-ident", dbg.toString()),
                "objcopy");

        try {
            HvtImage.read(hvt);
        } catch (ImageException e) {
            throw new BuildException("the linked image breaks an hvt rule (check the platform's linker script): " + e.getMessage());
        }
        Map<String, LinkMap.Sizes> sizes;
        long imageSize;
        try {
            Map<String, String> owners = new LinkedHashMap<>();
            for (Unit u : units) owners.put(u.object().toString(), u.library().equals("platform-notes") ? build.platform().name() : u.library());
            for (UpstreamBuild u : upstreams) {
                for (Path a : u.archives()) owners.put(a.toString(), u.owner());
            }
            // With LTO the compiler hands the linker one object of its own (/tmp/ccXXXX.lto.o, or
            // ltrans objects when partitioned) for all the code it optimized across libraries: its
            // bytes belong to no one library, but they are in the image and count in the total.
            sizes = LinkMap.sizesByLibrary(Files.readAllLines(map),
                    f -> owners.getOrDefault(f, lto && LinkMap.isLtoObject(f) ? LinkMap.LTO_OWNER : null));
            imageSize = Files.size(hvt);
        } catch (IOException e) {
            throw new BuildException("cannot read the link map " + map + ": " + e.getMessage());
        }
        String objdump = toolchain.strip().replaceAll("strip$", "objdump");
        EntryPath.Count entry = EntryPath.count(Toolchain.run(List.of(objdump, "-d", "--no-show-raw-insn", dbg.toString()),
                "objdump").lines().toList(), "_start");
        Map<String, PatchStats> patches = new LinkedHashMap<>();
        for (UpstreamBuild u : upstreams) patches.put(u.name(), u.patch());
        return new BuildReport(hvt, dbg, compiled[0], units.size() - compiled[0], sizes, imageSize, entry,
                (System.nanoTime() - t0) / 1_000_000, floatingPoint, patches,
                (int) upstreams.stream().filter(u -> u.tree().unpacked()).count(),
                (int) upstreams.stream().filter(UpstreamBuild::built).count());
    }

    private static Unit unit(String library, Path dir, String src, Path objDir, List<String> flags, String key) {
        String obj = src.replaceAll("\\.(c|S|s)$", "") + ".o";
        return new Unit(library, dir.resolve(src), objDir.resolve(obj), flags, key);
    }

    /** Compiles one unit unless the cache has it; returns true when it compiled. */
    private boolean compile(Unit u, List<String> flags, String headerDigest, Path cache) throws BuildException, IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(toolchain.cc());
        cmd.addAll(flags);
        cmd.addAll(u.flags());
        cmd.add("-c");
        cmd.add(u.source().toString());
        String key = digest(toolchain.version(), String.join("\u0000", flags), String.join("\u0000", u.flags()), u.key(),
                u.source().toString(), Files.readString(u.source(), StandardCharsets.ISO_8859_1), headerDigest);
        Path cached = cache.resolve(key + ".o");
        Files.createDirectories(u.object().getParent());
        boolean built = false;
        if (!Files.isRegularFile(cached)) {
            Path tmp = Files.createTempFile(cache, key, ".tmp");
            List<String> full = new ArrayList<>(cmd);
            full.addAll(List.of("-o", tmp.toString()));
            try {
                Toolchain.run(full, "compiling " + u.source() + " (" + u.library() + ")");
                move(tmp, cached);
            } finally {
                Files.deleteIfExists(tmp);
            }
            built = true;
        }
        Path tmp = Files.createTempFile(u.object().getParent(), "obj", ".tmp");
        Files.copy(cached, tmp, StandardCopyOption.REPLACE_EXISTING);
        move(tmp, u.object());
        return built;
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** One hash over every header the build can include (conservative: any header change recompiles). */
    private static String headerDigest(List<Path> includeDirs, Path gen) throws BuildException {
        List<Path> headers = new ArrayList<>();
        List<Path> dirs = new ArrayList<>(includeDirs);
        dirs.add(gen);
        try {
            for (Path d : dirs) {
                if (!Files.isDirectory(d)) continue;
                try (Stream<Path> s = Files.walk(d)) {
                    s.filter(p -> Files.isRegularFile(p) && p.toString().endsWith(".h")).forEach(headers::add);
                }
            }
            headers.sort(null);
            List<String> parts = new ArrayList<>();
            for (Path h : headers) {
                parts.add(h.toString());
                parts.add(Files.readString(h, StandardCharsets.ISO_8859_1));
            }
            return digest(parts.toArray(String[]::new));
        } catch (IOException | UncheckedIOException e) {
            throw new BuildException("cannot read headers: " + e.getMessage());
        }
    }

    static String digest(String... parts) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (String p : parts) {
                md.update(p.getBytes(StandardCharsets.UTF_8));
                md.update((byte) 0);
            }
            return HexFormat.of().formatHex(md.digest()).substring(0, 40);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void writeIfChanged(Path file, String content) throws IOException {
        if (Files.isRegularFile(file) && Files.readString(file).equals(content)) return;
        Files.writeString(file, content);
    }
}
