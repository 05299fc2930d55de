package dev.kiln.builder.upstream;

import java.nio.file.Path;
import java.util.List;

/**
 * A manifest's {@code [upstream]} table: where a third-party source tarball comes from, its hash,
 * the repository's patches to it and how to build it for the guest (see LibraryManifest for the
 * format). The upstream code itself never lives in the repository.
 *
 * @param manifest the kiln.toml that declared it, for messages
 * @param origin   where the tarball comes from
 * @param sha256   the tarball's SHA-256, lower-case hex
 * @param strip    leading path components dropped when unpacking
 * @param patches  patch files (absolute), applied in order with {@code patch -p1}
 * @param build    what to build from the unpacked tree
 */
public record Upstream(Path manifest, UpstreamOrigin origin, String sha256, int strip, List<Path> patches, Build build) {
    public Upstream {
        patches = List.copyOf(patches);
    }

    /**
     * {@code [upstream.build]}: {@code sources} compiled like the manifest's own and/or
     * {@code commands} run in the tree first, producing {@code archives} or generating sources.
     * {@code sizeOptimized} names those of the sources that are on no hot path (a parser, start-up,
     * rarely used libraries): they are compiled with {@code -Os}, the rest as fast as the host build.
     * Paths are relative to the tree.
     */
    public record Build(List<String> sources, List<String> include, List<String> cflags,
                        List<String> commands, List<String> archives, List<String> sizeOptimized) {
        public static final Build NOTHING = new Build(List.of(), List.of(), List.of(), List.of(), List.of(), List.of());

        public Build {
            sources = List.copyOf(sources);
            sizeOptimized = List.copyOf(sizeOptimized);
            include = List.copyOf(include);
            cflags = List.copyOf(cflags);
            commands = List.copyOf(commands);
            archives = List.copyOf(archives);
        }
    }
}
