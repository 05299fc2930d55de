package dev.kiln.builder.manifest;

import dev.kiln.builder.upstream.Upstream;
import dev.kiln.builder.upstream.UpstreamOrigin;
import dev.kiln.monitor.image.DeviceType;
import org.tomlj.Toml;
import org.tomlj.TomlArray;
import org.tomlj.TomlParseError;
import org.tomlj.TomlParseResult;
import org.tomlj.TomlPosition;
import org.tomlj.TomlTable;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Reads library and app manifests with a real TOML parser (tomlj) and checks their shape strictly:
 * an unknown key, a wrong type or a missing field is an error naming the file and line, so a typo
 * never silently changes a build.
 */
public final class ManifestParser {
    private ManifestParser() {}

    public static final String FILE_NAME = "kiln.toml";
    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_-]{0,62}");
    private static final Pattern OPTION = Pattern.compile("[A-Z][A-Z0-9_]{0,62}");
    private static final Pattern DEVICE = Pattern.compile("[A-Za-z0-9]{1,67}");

    public static LibraryManifest library(Path file) throws ManifestException {
        Doc doc = Doc.read(file);
        doc.onlyKeys(doc.root, "", Set.of("library", "options", "upstream"));
        TomlTable lib = doc.table(doc.root, "library", true);
        doc.onlyKeys(lib, "library", Set.of("name", "description", "provides", "depends", "selects", "conflicts",
                "sources", "include", "linker_script", "cflags", "float", "default_for"));
        String name = doc.name(lib, "library.name", NAME);
        List<OptionSpec> options = new ArrayList<>();
        TomlTable opts = doc.table(doc.root, "options", false);
        if (opts != null) {
            for (String key : new TreeMap<>(opts.toMap()).keySet()) {
                options.add(doc.option(opts, key));
            }
        }
        return new LibraryManifest(file, file.getParent(), name, doc.string(lib, "library.description", true),
                doc.strings(lib, "library.provides", NAME), doc.strings(lib, "library.depends", NAME),
                doc.strings(lib, "library.selects", OPTION), doc.strings(lib, "library.conflicts", NAME),
                doc.paths(lib, "library.sources"), doc.paths(lib, "library.include"),
                doc.pathOrNull(lib, "library.linker_script"), options, doc.strings(lib, "library.cflags", null),
                lib.contains("float") && doc.bool(lib, "library.float"), upstream(doc), defaultFor(doc, lib));
    }

    /** default_for: capabilities the library itself provides. */
    private static List<String> defaultFor(Doc doc, TomlTable lib) throws ManifestException {
        List<String> provides = doc.strings(lib, "library.provides", NAME);
        List<String> defaults = doc.strings(lib, "library.default_for", NAME);
        for (String d : defaults) {
            if (!provides.contains(d)) {
                throw doc.error(lib, "default_for", "library.default_for names '" + d + "', which library.provides does not list");
            }
        }
        return defaults;
    }

    public static AppManifest app(Path dir) throws ManifestException {
        return app(dir, Doc.readText(dir.resolve(FILE_NAME)));
    }

    /** Parses {@code text} as the app manifest of {@code dir} (used to check an edit before writing it). */
    public static AppManifest app(Path dir, String text) throws ManifestException {
        Path file = dir.resolve(FILE_NAME);
        Doc doc = Doc.parse(file, text);
        doc.onlyKeys(doc.root, "", Set.of("app", "providers", "options", "devices", "upstream"));
        TomlTable app = doc.table(doc.root, "app", true);
        doc.onlyKeys(app, "app", Set.of("name", "description", "libraries", "sources", "include", "memory", "lto",
                "cflags", "float"));
        String name = doc.name(app, "app.name", NAME);
        long memory = 2;
        if (app.contains("memory")) {
            memory = doc.integer(app, "app.memory");
            if (memory < 2 || memory > 4096) {
                throw doc.error(app, "memory", "app.memory = " + memory + " MiB is outside 2..4096");
            }
        }
        boolean lto = app.contains("lto") && doc.bool(app, "app.lto");

        Map<String, String> providers = new LinkedHashMap<>();
        TomlTable prov = doc.table(doc.root, "providers", false);
        if (prov != null) {
            for (String cap : prov.keySet()) {
                providers.put(cap, doc.name(prov, "providers." + cap, NAME));
            }
        }
        Map<String, OptionValue> options = new LinkedHashMap<>();
        TomlTable opts = doc.table(doc.root, "options", false);
        if (opts != null) {
            for (String key : opts.keySet()) {
                if (!OPTION.matcher(key).matches()) {
                    throw doc.error(opts, key, "option name '" + key + "' must be UPPER_CASE letters, digits and _");
                }
                options.put(key, doc.value(opts, key));
            }
        }
        List<AppManifest.Device> devices = new ArrayList<>();
        TomlTable devs = doc.table(doc.root, "devices", false);
        if (devs != null) {
            doc.onlyKeys(devs, "devices", Set.of("net", "block"));
            for (String kind : List.of("net", "block")) {
                for (String d : doc.strings(devs, "devices." + kind, DEVICE)) {
                    if (devices.stream().anyMatch(x -> x.name().equals(d))) {
                        throw doc.error(devs, kind, "device '" + d + "' is declared twice");
                    }
                    devices.add(new AppManifest.Device(d, kind.equals("net") ? DeviceType.NET_BASIC : DeviceType.BLOCK_BASIC));
                }
            }
            if (devices.size() > 63) {
                throw doc.error(devs, "net", devices.size() + " devices declared; an hvt manifest holds at most 63");
            }
        }
        List<String> sources = doc.paths(app, "app.sources");
        Upstream upstream = upstream(doc);
        // A port's program may be all upstream code (SQLite's shell.c): then it needs no glue of its own.
        boolean upstreamCode = upstream != null && (!upstream.build().sources().isEmpty() || !upstream.build().archives().isEmpty());
        if (sources.isEmpty() && !upstreamCode) {
            throw doc.error(app, "sources", "app.sources is empty: an app needs at least one source (its own or [upstream.build] sources)");
        }
        return new AppManifest(file, dir, name, doc.string(app, "app.description", false), doc.strings(app, "app.libraries", NAME),
                sources, doc.paths(app, "app.include"), memory, lto, providers, options, devices,
                doc.strings(app, "app.cflags", null), app.contains("float") && doc.bool(app, "app.float"), upstream);
    }

    private static final Pattern SHA256 = Pattern.compile("[0-9a-fA-F]{64}");
    private static final Pattern DEBIAN_PACKAGE = Pattern.compile("[a-z0-9][a-z0-9+.-]+");
    private static final Pattern DEBIAN_VERSION = Pattern.compile("[0-9A-Za-z.+~:-]+");
    private static final Pattern FILE_NAME_ONLY = Pattern.compile("[^/\\u0000]+");

    /** The optional {@code [upstream]} table (format in LibraryManifest's javadoc), or null. */
    private static Upstream upstream(Doc doc) throws ManifestException {
        TomlTable up = doc.table(doc.root, "upstream", false);
        if (up == null) return null;
        doc.onlyKeys(up, "upstream", Set.of("debian", "version", "file", "url", "tarball", "sha256", "strip", "patches", "build"));
        List<String> origins = Stream.of("debian", "url", "tarball").filter(up::contains).toList();
        if (origins.isEmpty()) {
            throw new ManifestException(doc.file + ": [upstream] needs exactly one origin: debian, url or tarball");
        }
        if (origins.size() > 1) {
            throw doc.error(up, origins.get(1), "[upstream] names two origins, " + origins.get(0) + " and " + origins.get(1)
                    + "; give exactly one of debian, url, tarball");
        }
        Path dir = doc.file.getParent();
        UpstreamOrigin origin = switch (origins.getFirst()) {
            case "debian" -> new UpstreamOrigin.Debian(doc.name(up, "upstream.debian", DEBIAN_PACKAGE),
                    doc.name(up, "upstream.version", DEBIAN_VERSION), doc.name(up, "upstream.file", FILE_NAME_ONLY));
            case "url" -> {
                String text = doc.string(up, "upstream.url", true);
                URI uri;
                try {
                    uri = new URI(text);
                } catch (URISyntaxException e) {
                    throw doc.error(up, "url", "upstream.url '" + text + "' is not a valid URL: " + e.getMessage());
                }
                if (uri.getScheme() == null || !Set.of("http", "https").contains(uri.getScheme()) || uri.getHost() == null) {
                    throw doc.error(up, "url", "upstream.url '" + text + "' must be an http:// or https:// URL");
                }
                yield new UpstreamOrigin.Url(uri);
            }
            default -> {
                String text = doc.string(up, "upstream.tarball", true);
                if (text.isEmpty()) throw doc.error(up, "tarball", "upstream.tarball is empty");
                yield new UpstreamOrigin.LocalTarball(dir.resolve(text).toAbsolutePath().normalize());
            }
        };
        if (!origins.getFirst().equals("debian")) {
            for (String k : List.of("version", "file")) {
                if (up.contains(k)) throw doc.error(up, k, "upstream." + k + " only goes with debian (a Debian source package)");
            }
        }
        String sha = doc.string(up, "upstream.sha256", true);
        if (!SHA256.matcher(sha).matches()) {
            throw doc.error(up, "sha256", "upstream.sha256 must be 64 hex digits (the tarball's SHA-256), not '" + sha + "'");
        }
        long strip = 1;
        if (up.contains("strip")) {
            strip = doc.integer(up, "upstream.strip");
            if (strip < 0 || strip > 16) throw doc.error(up, "strip", "upstream.strip = " + strip + " is outside 0..16");
        }
        List<Path> patches = new ArrayList<>();
        for (String p : doc.paths(up, "upstream.patches")) {
            Path file = dir.resolve(p);
            if (!Files.isRegularFile(file)) {
                throw doc.error(up, "patches", "upstream.patches names '" + p + "', but there is no such file " + file);
            }
            patches.add(file.toAbsolutePath().normalize());
        }
        return new Upstream(doc.file, origin, sha.toLowerCase(java.util.Locale.ROOT), (int) strip, patches, upstreamBuild(doc, up));
    }

    private static Upstream.Build upstreamBuild(Doc doc, TomlTable up) throws ManifestException {
        TomlTable b = doc.table(up, "build", false);
        if (b == null) return Upstream.Build.NOTHING;
        doc.onlyKeys(b, "upstream.build", Set.of("sources", "include", "cflags", "commands", "archives", "size_optimized"));
        String tree = "the upstream tree";
        List<String> sources = doc.paths(b, "upstream.build.sources", tree);
        List<String> commands = doc.strings(b, "upstream.build.commands", null);
        List<String> archives = doc.paths(b, "upstream.build.archives", tree);
        // Both together is allowed: the commands run first and may generate the sources (SQLite's
        // build makes its amalgamation sqlite3.c with tclsh), which are then compiled like the library's own.
        if (!archives.isEmpty() && commands.isEmpty()) {
            throw doc.error(b, "archives", "upstream.build.archives needs upstream.build.commands that build them");
        }
        for (String c : commands) {
            if (c.isBlank()) throw doc.error(b, "commands", "upstream.build.commands has an empty command");
        }
        List<String> sizeOptimized = doc.paths(b, "upstream.build.size_optimized", tree);
        for (String s : sizeOptimized) {
            if (!sources.contains(s)) {
                throw doc.error(b, "size_optimized", "upstream.build.size_optimized names '" + s
                        + "', which is not one of upstream.build.sources");
            }
        }
        return new Upstream.Build(sources, doc.paths(b, "upstream.build.include", tree),
                doc.strings(b, "upstream.build.cflags", null), commands, archives, sizeOptimized);
    }

    /** One parsed file and typed accessors whose errors carry the file and line. */
    private record Doc(Path file, TomlParseResult root) {
        static Doc read(Path file) throws ManifestException {
            return parse(file, readText(file));
        }

        static String readText(Path file) throws ManifestException {
            try {
                return Files.readString(file);
            } catch (NoSuchFileException e) {
                throw new ManifestException(file + ": no such file");
            } catch (IOException e) {
                throw new ManifestException(file + ": cannot read: " + e.getMessage());
            }
        }

        static Doc parse(Path file, String text) throws ManifestException {
            TomlParseResult r = Toml.parse(text);
            if (r.hasErrors()) {
                TomlParseError e = r.errors().getFirst();
                throw new ManifestException(file + ":" + e.position().line() + ": not valid TOML: " + e.getMessage());
            }
            return new Doc(file, r);
        }

        ManifestException error(TomlTable t, String key, String why) {
            TomlPosition p = t.inputPositionOf(key);
            return new ManifestException(file + (p != null ? ":" + p.line() : "") + ": " + why);
        }

        void onlyKeys(TomlTable t, String where, Set<String> allowed) throws ManifestException {
            for (String k : t.keySet()) {
                if (!allowed.contains(k)) {
                    throw error(t, k, "unknown key '" + k + "'" + (where.isEmpty() ? "" : " in [" + where + "]")
                            + "; expected one of " + new java.util.TreeSet<>(allowed));
                }
            }
        }

        TomlTable table(TomlTable t, String key, boolean required) throws ManifestException {
            if (!t.contains(key)) {
                if (required) throw new ManifestException(file + ": missing [" + key + "] table");
                return null;
            }
            if (!t.isTable(key)) throw error(t, key, "'" + key + "' must be a table");
            return t.getTable(key);
        }

        private static String leaf(String dotted) {
            return dotted.substring(dotted.lastIndexOf('.') + 1);
        }

        String string(TomlTable t, String dotted, boolean required) throws ManifestException {
            String k = leaf(dotted);
            if (!t.contains(k)) {
                if (required) throw new ManifestException(file + ": missing " + dotted);
                return "";
            }
            if (!t.isString(k)) throw error(t, k, dotted + " must be a string");
            return t.getString(k);
        }

        String name(TomlTable t, String dotted, Pattern rule) throws ManifestException {
            String v = string(t, dotted, true);
            if (!rule.matcher(v).matches()) throw error(t, leaf(dotted), dotted + " '" + v + "' is not a valid name");
            return v;
        }

        long integer(TomlTable t, String dotted) throws ManifestException {
            String k = leaf(dotted);
            if (!t.isLong(k)) throw error(t, k, dotted + " must be an integer");
            return t.getLong(k);
        }

        boolean bool(TomlTable t, String dotted) throws ManifestException {
            String k = leaf(dotted);
            if (!t.isBoolean(k)) throw error(t, k, dotted + " must be true or false");
            return t.getBoolean(k);
        }

        List<String> strings(TomlTable t, String dotted, Pattern rule) throws ManifestException {
            String k = leaf(dotted);
            List<String> out = new ArrayList<>();
            if (!t.contains(k)) return out;
            if (!t.isArray(k)) throw error(t, k, dotted + " must be an array of strings");
            TomlArray a = t.getArray(k);
            for (int i = 0; i < a.size(); i++) {
                if (!(a.get(i) instanceof String s)) throw error(t, k, dotted + "[" + i + "] must be a string");
                if (rule != null && !rule.matcher(s).matches()) {
                    throw error(t, k, dotted + "[" + i + "] '" + s + "' is not a valid name");
                }
                if (out.contains(s)) throw error(t, k, dotted + " names '" + s + "' twice");
                out.add(s);
            }
            return out;
        }

        /** Relative paths that stay inside the manifest's folder. */
        List<String> paths(TomlTable t, String dotted) throws ManifestException {
            return paths(t, dotted, file.getParent().toString());
        }

        /** Relative paths that stay inside {@code inside} (named in the message). */
        List<String> paths(TomlTable t, String dotted, String inside) throws ManifestException {
            List<String> out = strings(t, dotted, null);
            for (String p : out) checkPath(t, dotted, p, inside);
            return out;
        }

        String pathOrNull(TomlTable t, String dotted) throws ManifestException {
            if (!t.contains(leaf(dotted))) return null;
            String p = string(t, dotted, true);
            checkPath(t, dotted, p, file.getParent().toString());
            return p;
        }

        private void checkPath(TomlTable t, String dotted, String p, String inside) throws ManifestException {
            Path path = Path.of(p);
            if (p.isEmpty() || path.isAbsolute() || path.normalize().startsWith("..")) {
                throw error(t, leaf(dotted), dotted + ": '" + p + "' must be a relative path inside " + inside);
            }
        }

        OptionValue value(TomlTable t, String key) throws ManifestException {
            Object v = t.get(key);
            return switch (v) {
                case Boolean b -> new OptionValue.Bool(b);
                case Long l -> new OptionValue.Int(l);
                case String s -> new OptionValue.Str(s);
                case null, default -> throw error(t, key, "option " + key + " must be true/false, an integer or a string");
            };
        }

        OptionSpec option(TomlTable opts, String key) throws ManifestException {
            if (!OPTION.matcher(key).matches()) {
                throw error(opts, key, "option name '" + key + "' must be UPPER_CASE letters, digits and _");
            }
            if (!opts.isTable(key)) throw error(opts, key, "[options." + key + "] must be a table");
            TomlTable o = opts.getTable(key);
            String where = "options." + key;
            onlyKeys(o, where, Set.of("type", "default", "range", "help"));
            String type = string(o, where + ".type", true);
            String help = string(o, where + ".help", true);
            if (!o.contains("default")) throw new ManifestException(file + ": missing " + where + ".default");
            switch (type) {
                case "bool" -> {
                    if (o.contains("range")) throw error(o, "range", where + ": only int options have a range");
                    return new OptionSpec.BoolOption(key, bool(o, where + ".default"), help);
                }
                case "int" -> {
                    long dflt = integer(o, where + ".default");
                    long min = Long.MIN_VALUE, max = Long.MAX_VALUE;
                    if (o.contains("range")) {
                        TomlArray r = o.isArray("range") ? o.getArray("range") : null;
                        if (r == null || r.size() != 2 || !(r.get(0) instanceof Long lo) || !(r.get(1) instanceof Long hi) || lo > hi) {
                            throw error(o, "range", where + ".range must be [min, max] with min <= max");
                        }
                        min = lo;
                        max = hi;
                    }
                    if (dflt < min || dflt > max) {
                        throw error(o, "default", where + ".default " + dflt + " is outside its range [" + min + ", " + max + "]");
                    }
                    return new OptionSpec.IntOption(key, dflt, min, max, help);
                }
                case "string" -> {
                    if (o.contains("range")) throw error(o, "range", where + ": only int options have a range");
                    return new OptionSpec.StringOption(key, string(o, where + ".default", true), help);
                }
                default -> throw error(o, "type", where + ".type '" + type + "' must be bool, int or string");
            }
        }
    }
}
