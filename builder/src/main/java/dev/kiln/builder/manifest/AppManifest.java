package dev.kiln.builder.manifest;

import dev.kiln.builder.upstream.Upstream;
import dev.kiln.monitor.image.DeviceType;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * An application's {@code kiln.toml}:
 *
 * <pre>
 * [app]
 * name = "helloworld"
 * description = "one line"
 * libraries = ["libc"]         # what the app uses: library names or capabilities
 * sources = ["main.c"]
 * include = []                 # the app's own header folders
 * memory = 2                   # MiB of guest memory it is meant to run in
 * lto = false                  # link-time optimisation
 * cflags = ["-DFOO"]           # extra compiler flags for the app's own sources (e.g. a port's glue)
 * float = false                # true: build the image without -mgeneral-regs-only (needs native execution)
 *
 * [providers]                  # which library answers a capability several provide
 * malloc = "alloc"
 *
 * [options]                    # values for library options, by option name
 * LIBC_PRINTF_WIDTH_MAX = 1024
 *
 * [devices]                    # become the image's MFT1 manifest (hvt ABI section 2)
 * net = ["service0"]
 * block = ["storage"]
 *
 * [upstream]                   # a port (guest/ports/NAME): the app's upstream source, exactly
 * url = "https://..."          # as in LibraryManifest (debian/version/file | url | tarball, sha256,
 * sha256 = "..."               # strip, patches, [upstream.build]); its objects count as the app's
 * </pre>
 *
 * @param upstream the {@code [upstream]} table, or null
 */
public record AppManifest(Path file, Path dir, String name, String description, List<String> libraries,
                          List<String> sources, List<String> include, long memoryMiB, boolean lto,
                          Map<String, String> providers, Map<String, OptionValue> options,
                          List<Device> devices, List<String> cflags, boolean floatingPoint, Upstream upstream) {
    /** A device the app declares; its handle is its position + 1 in the manifest. */
    public record Device(String name, DeviceType type) {}

    public AppManifest {
        libraries = List.copyOf(libraries);
        sources = List.copyOf(sources);
        include = List.copyOf(include);
        providers = Map.copyOf(providers);
        options = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(options));
        devices = List.copyOf(devices);
        cflags = List.copyOf(cflags);
    }

    /** Whether the app needs the image built with SSE allowed. */
    public boolean needsFloat() {
        return floatingPoint || upstream != null;
    }
}
