package dev.kiln.builder.manifest;

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
 * depends = ["platform"]       # library names or capabilities
 * selects = ["LIBC_ASSERT"]    # bool options of other libraries this one forces on
 * conflicts = ["otherlib"]     # libraries that cannot be in the same image
 * sources = ["src/a.c"]        # relative to the library folder
 * include = ["include"]        # public header folders
 * linker_script = "hvt.ld"     # platforms only
 *
 * [options.LIBC_X]
 * type = "int"                 # bool | int | string
 * default = 4096
 * range = [64, 65536]          # ints only
 * help = "what it does"
 * </pre>
 *
 * @param file the manifest file, for messages
 * @param dir  the library folder, which sources and includes are relative to
 */
public record LibraryManifest(Path file, Path dir, String name, String description, List<String> provides,
                              List<String> depends, List<String> selects, List<String> conflicts,
                              List<String> sources, List<String> include, String linkerScript,
                              List<OptionSpec> options) {
    public LibraryManifest {
        provides = List.copyOf(provides);
        depends = List.copyOf(depends);
        selects = List.copyOf(selects);
        conflicts = List.copyOf(conflicts);
        sources = List.copyOf(sources);
        include = List.copyOf(include);
        options = List.copyOf(options);
    }

    /** True when this library answers a requirement for {@code need}, by name or capability. */
    public boolean satisfies(String need) {
        return name.equals(need) || provides.contains(need);
    }
}
