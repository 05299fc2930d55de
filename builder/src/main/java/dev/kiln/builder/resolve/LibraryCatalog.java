package dev.kiln.builder.resolve;

import dev.kiln.builder.manifest.LibraryManifest;
import dev.kiln.builder.manifest.ManifestException;
import dev.kiln.builder.manifest.ManifestParser;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Every library manifest under the guest tree: {@code guest/platform/*}{@code /kiln.toml} and
 * {@code guest/lib/*}{@code /kiln.toml}. Library names are unique.
 */
public final class LibraryCatalog {
    private final Path guestRoot;
    private final Map<String, LibraryManifest> byName;

    private LibraryCatalog(Path guestRoot, Map<String, LibraryManifest> byName) {
        this.guestRoot = guestRoot;
        this.byName = byName;
    }

    public static LibraryCatalog scan(Path guestRoot) throws ManifestException {
        Map<String, LibraryManifest> libs = new LinkedHashMap<>();
        for (String area : List.of("platform", "lib")) {
            Path dir = guestRoot.resolve(area);
            if (!Files.isDirectory(dir)) continue;
            List<Path> manifests = new ArrayList<>();
            try (Stream<Path> s = Files.list(dir)) {
                s.map(p -> p.resolve(ManifestParser.FILE_NAME)).filter(Files::isRegularFile).forEach(manifests::add);
            } catch (IOException e) {
                throw new ManifestException(dir + ": cannot list: " + e.getMessage());
            }
            manifests.sort(Comparator.naturalOrder());
            for (Path m : manifests) {
                LibraryManifest lib = ManifestParser.library(m);
                LibraryManifest other = libs.putIfAbsent(lib.name(), lib);
                if (other != null) {
                    throw new ManifestException(m + ": library name '" + lib.name() + "' is already used by " + other.file());
                }
            }
        }
        return new LibraryCatalog(guestRoot, libs);
    }

    public static LibraryCatalog of(Path guestRoot, List<LibraryManifest> libraries) {
        Map<String, LibraryManifest> libs = new LinkedHashMap<>();
        for (LibraryManifest l : libraries) libs.put(l.name(), l);
        return new LibraryCatalog(guestRoot, libs);
    }

    public Path guestRoot() {
        return guestRoot;
    }

    public Optional<LibraryManifest> byName(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    /** Libraries that provide capability {@code cap} (not counting one merely named so). */
    public List<LibraryManifest> providers(String cap) {
        return byName.values().stream().filter(l -> l.provides().contains(cap)).toList();
    }

    public List<LibraryManifest> all() {
        return List.copyOf(byName.values());
    }
}
