package dev.kiln.builder.manifest;

import dev.kiln.builder.upstream.Upstream;

import java.nio.file.Path;
import java.util.List;

/**
 * A guest microlibrary's {@code kiln.toml}:
 *
 * <pre>
 * [library]
 * name = "libc"
 * description = "one line"
 * provides = ["libc"]          # capabilities others may depend on
 * default_for = ["libc"]       # of those, the ones it answers when several libraries provide one and
 *                              # the app chose none (Kiln's own libc and alloc: musl is chosen by name)
 * depends = ["platform"]       # library names or capabilities
 * selects = ["LIBC_ASSERT"]    # bool options of other libraries this one forces on
 * conflicts = ["otherlib"]     # libraries that cannot be in the same image
 * sources = ["src/a.c"]        # relative to the library folder
 * include = ["include"]        # public header folders
 * linker_script = "hvt.ld"     # platforms only
 * cflags = ["-DFOO"]           # extra compiler flags for this library's own sources
 * float = false                # true: the whole image is built without -mgeneral-regs-only
 *                              # (SSE/floating point allowed; such images need native execution)
 *
 * [options.LIBC_X]
 * type = "int"                 # bool | int | string
 * default = 4096
 * range = [64, 65536]          # ints only
 * help = "what it does"
 *
 * [upstream]                   # optional: third-party source, never committed (see Upstream)
 * debian = "musl"              # exactly one origin: a Debian source package...
 * version = "1.2.3-1"          #   ...at this exact version (required with debian)
 * file = "musl_1.2.3.orig.tar.gz"  # ...and which of its files is the tarball (required with debian)
 * # url = "https://www.lua.org/ftp/lua-5.4.4.tar.gz"      # or a download
 * # tarball = "../../../vendor/x.tar.gz"  # or a local file (relative to this folder, or absolute)
 * sha256 = "64 hex digits"     # of the tarball; required, checked on every use
 * strip = 1                    # leading path components dropped when unpacking (default 1)
 * patches = ["patches/0001-foo.patch"]  # relative to this folder; applied in order with patch -p1
 *
 * [upstream.build]             # paths relative to the unpacked tree
 * sources = ["src/lapi.c"]     # compile these like the library's own sources...
 * cflags = ["-DLUA_COMPAT_5_3"] #   ...with these extra flags (upstream sources only)
 * size_optimized = ["src/lparser.c"]  # those of the sources on no hot path: compiled with -Os
 * commands = ["make -j$KILN_JOBS lib/libc.a"]  # and/or first run these with /bin/sh -c in the tree (they may generate sources)
 *                              #   ($KILN_CC = $CC: gcc with the upstream guest flags; $KILN_AR, $KILN_JOBS)
 * archives = ["lib/libc.a"]    #   ...and link what they built (commands only), after all objects
 * include = ["src"]            # upstream header folders, on the include path of the whole image
 * </pre>
 *
 * <p>An upstream implies {@code float = true}. The tarball is cached by hash under
 * {@code $KILN_CACHE} (default {@code ~/.cache/kiln}), see SourceCache.
 *
 * @param file the manifest file, for messages
 * @param dir  the library folder, which sources and includes are relative to
 * @param upstream its {@code [upstream]} table, or null
 */
public record LibraryManifest(Path file, Path dir, String name, String description, List<String> provides,
                              List<String> depends, List<String> selects, List<String> conflicts,
                              List<String> sources, List<String> include, String linkerScript,
                              List<OptionSpec> options, List<String> cflags, boolean floatingPoint,
                              Upstream upstream, List<String> defaultFor) {
    public LibraryManifest {
        defaultFor = List.copyOf(defaultFor);
        provides = List.copyOf(provides);
        depends = List.copyOf(depends);
        selects = List.copyOf(selects);
        conflicts = List.copyOf(conflicts);
        sources = List.copyOf(sources);
        include = List.copyOf(include);
        options = List.copyOf(options);
        cflags = List.copyOf(cflags);
    }

    /** Whether this library needs the image built with SSE allowed. */
    public boolean needsFloat() {
        return floatingPoint || upstream != null;
    }

    /** True when this library answers a requirement for {@code need}, by name or capability. */
    public boolean satisfies(String need) {
        return name.equals(need) || provides.contains(need);
    }
}
