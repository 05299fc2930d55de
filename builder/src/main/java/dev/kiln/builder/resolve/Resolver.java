package dev.kiln.builder.resolve;

import dev.kiln.builder.manifest.AppManifest;
import dev.kiln.builder.manifest.LibraryManifest;
import dev.kiln.builder.manifest.OptionSpec;
import dev.kiln.builder.manifest.OptionValue;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Computes what an app's image contains: the closure of the libraries it names and what they
 * depend on, a provider for every capability, and every option's value. Each refusal says what is
 * wrong and through which manifests the build got there, e.g. {@code app hello
 * (apps/hello/kiln.toml) -> sched (guest/lib/sched/kiln.toml) -> needs 'malloc'}.
 */
public final class Resolver {
    /** Every image needs a platform; the app need not name it. */
    public static final String PLATFORM = "platform";

    private final AppManifest app;
    private final LibraryCatalog catalog;
    private final Map<String, LibraryManifest> chosen = new LinkedHashMap<>();
    private final Map<String, List<String>> edges = new LinkedHashMap<>();
    private final Map<String, List<String>> reasons = new HashMap<>();

    private Resolver(AppManifest app, LibraryCatalog catalog) {
        this.app = app;
        this.catalog = catalog;
    }

    public static ResolvedBuild resolve(AppManifest app, LibraryCatalog catalog) throws ResolveException {
        return new Resolver(app, catalog).run();
    }

    private String appStep() {
        return "app " + app.name() + " (" + app.file() + ")";
    }

    private static String step(LibraryManifest l) {
        return l.name() + " (" + l.file() + ")";
    }

    private ResolvedBuild run() throws ResolveException {
        List<String> path = List.of(appStep());
        List<String> needs = new ArrayList<>(app.libraries());
        if (!needs.contains(PLATFORM)) needs.add(PLATFORM);
        List<String> top = new ArrayList<>();
        // Libraries named outright first: an app naming musl has it answer 'libc' for every library
        // that needs one, wherever in the list it stands.
        for (String need : needs) {
            var named = catalog.byName(need);
            if (named.isPresent()) visit(named.get(), path);
        }
        for (String need : needs) {
            LibraryManifest lib = pick(need, path);
            top.add(lib.name());
            visit(lib, path);
        }
        checkCycles();
        checkConflicts();
        List<LibraryManifest> platforms = chosen.values().stream().filter(l -> l.linkerScript() != null).toList();
        if (platforms.size() != 1) {
            throw new ResolveException("the build has " + platforms.size() + " platform libraries ("
                    + platforms.stream().map(LibraryManifest::name).collect(Collectors.joining(", "))
                    + "); exactly one must provide '" + PLATFORM + "' with a linker_script");
        }
        return new ResolvedBuild(app, linkOrder(top), platforms.getFirst(), options(), reasons);
    }

    private void visit(LibraryManifest lib, List<String> path) throws ResolveException {
        if (chosen.containsKey(lib.name())) return;
        List<String> here = new ArrayList<>(path);
        here.add(step(lib));
        chosen.put(lib.name(), lib);
        reasons.put(lib.name(), List.copyOf(here));
        List<String> out = new ArrayList<>();
        edges.put(lib.name(), out);
        for (String need : lib.depends()) {
            LibraryManifest dep = pick(need, here);
            out.add(dep.name());
            visit(dep, here);
        }
    }

    /** The library that answers {@code need}: by name, by the app's choice, or the sole provider. */
    private LibraryManifest pick(String need, List<String> path) throws ResolveException {
        String via = String.join(" -> ", path) + " -> needs '" + need + "'";
        var named = catalog.byName(need);
        if (named.isPresent()) return named.get();
        String choice = app.providers().get(need);
        List<LibraryManifest> providers = catalog.providers(need);
        if (choice != null) {
            var c = catalog.byName(choice);
            if (c.isEmpty()) {
                throw new ResolveException(app.file() + ": [providers] " + need + " = \"" + choice
                        + "\": there is no library '" + choice + "'");
            }
            if (!c.get().provides().contains(need)) {
                throw new ResolveException(app.file() + ": [providers] " + need + " = \"" + choice + "\": library '"
                        + choice + "' (" + c.get().file() + ") does not provide '" + need + "'");
            }
            return c.get();
        }
        if (providers.isEmpty()) {
            throw new ResolveException("missing library: no library is named or provides '" + need + "'\n  " + via
                    + suggestion(need));
        }
        if (providers.size() == 1) return providers.getFirst();
        List<LibraryManifest> already = providers.stream().filter(p -> chosen.containsKey(p.name())).toList();
        if (already.size() == 1) return already.getFirst();
        List<LibraryManifest> defaults = providers.stream().filter(p -> p.defaultFor().contains(need)).toList();
        if (defaults.size() == 1) return defaults.getFirst();
        throw new ResolveException("two providers: '" + need + "' is provided by "
                + providers.stream().map(Resolver::step).collect(Collectors.joining(" and ")) + "\n  " + via
                + "\n  choose one in " + app.file() + ": [providers] " + need + " = \"" + providers.getFirst().name() + "\"");
    }

    private String suggestion(String need) {
        String best = null;
        int bestDistance = 3;
        for (LibraryManifest l : catalog.all()) {
            List<String> names = new ArrayList<>(l.provides());
            names.add(l.name());
            for (String n : names) {
                int d = distance(need, n);
                if (d < bestDistance) {
                    bestDistance = d;
                    best = n;
                }
            }
        }
        return best == null ? "" : "\n  did you mean '" + best + "'?";
    }

    static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    private void checkCycles() throws ResolveException {
        Map<String, Integer> state = new HashMap<>(); // 1 = on the stack, 2 = done
        for (String lib : chosen.keySet()) {
            List<String> stack = new ArrayList<>();
            cycleFrom(lib, state, stack);
        }
    }

    private void cycleFrom(String lib, Map<String, Integer> state, List<String> stack) throws ResolveException {
        Integer s = state.get(lib);
        if (s != null && s == 2) return;
        if (s != null && s == 1) {
            List<String> cycle = new ArrayList<>(stack.subList(stack.indexOf(lib), stack.size()));
            cycle.add(lib);
            throw new ResolveException("dependency cycle: " + cycle.stream()
                    .map(n -> step(chosen.get(n))).collect(Collectors.joining(" -> ")));
        }
        state.put(lib, 1);
        stack.add(lib);
        for (String dep : edges.getOrDefault(lib, List.of())) cycleFrom(dep, state, stack);
        stack.removeLast();
        state.put(lib, 2);
    }

    private void checkConflicts() throws ResolveException {
        for (LibraryManifest l : chosen.values()) {
            for (String c : l.conflicts()) {
                if (chosen.containsKey(c)) {
                    throw new ResolveException("conflict: " + step(l) + " cannot be linked with " + step(chosen.get(c))
                            + "\n  " + l.name() + " is in the build through: " + String.join(" -> ", reasons.get(l.name()))
                            + "\n  " + c + " is in the build through: " + String.join(" -> ", reasons.get(c)));
                }
            }
        }
    }

    /** Reverse post-order from the app's direct needs: dependents before dependencies, deterministic. */
    private List<LibraryManifest> linkOrder(List<String> top) {
        List<String> post = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (String t : top) postOrder(t, seen, post);
        List<LibraryManifest> order = new ArrayList<>();
        for (int i = post.size() - 1; i >= 0; i--) order.add(chosen.get(post.get(i)));
        return order;
    }

    private void postOrder(String lib, Set<String> seen, List<String> out) {
        if (!seen.add(lib)) return;
        for (String d : edges.getOrDefault(lib, List.of())) postOrder(d, seen, out);
        out.add(lib);
    }

    private Map<String, ResolvedBuild.Option> options() throws ResolveException {
        Map<String, ResolvedBuild.Option> out = new LinkedHashMap<>();
        List<LibraryManifest> libs = new ArrayList<>(chosen.values());
        libs.sort(Comparator.comparing(LibraryManifest::name));
        for (LibraryManifest l : libs) {
            for (OptionSpec o : l.options()) {
                ResolvedBuild.Option prev = out.get(o.name());
                if (prev != null) {
                    throw new ResolveException("option " + o.name() + " is declared by both " + step(prev.owner())
                            + " and " + step(l));
                }
                out.put(o.name(), new ResolvedBuild.Option(o, l, o.defaultValue(), "default"));
            }
        }
        for (Map.Entry<String, OptionValue> e : app.options().entrySet()) {
            ResolvedBuild.Option o = out.get(e.getKey());
            if (o == null) {
                String owner = catalog.all().stream().filter(l -> l.options().stream().anyMatch(s -> s.name().equals(e.getKey())))
                        .map(l -> "; it belongs to library '" + l.name() + "', which this app does not use").findFirst()
                        .orElse(closestOption(e.getKey(), out.keySet()));
                throw new ResolveException(app.file() + ": [options] " + e.getKey() + ": no library in this build has that option" + owner);
            }
            String bad = o.spec().check(e.getValue());
            if (bad != null) {
                throw new ResolveException(app.file() + ": [options] " + e.getKey() + ": " + bad + " (declared by "
                        + step(o.owner()) + ")");
            }
            out.put(e.getKey(), new ResolvedBuild.Option(o.spec(), o.owner(), e.getValue(), "set by the app"));
        }
        for (LibraryManifest l : libs) {
            for (String sel : l.selects()) {
                ResolvedBuild.Option o = out.get(sel);
                if (o == null) {
                    throw new ResolveException(step(l) + " selects " + sel + ", but no library in the build declares it");
                }
                if (!(o.spec() instanceof OptionSpec.BoolOption)) {
                    throw new ResolveException(step(l) + " selects " + sel + ", which is not a bool option");
                }
                if (o.source().equals("set by the app") && o.value().equals(new OptionValue.Bool(false))) {
                    throw new ResolveException("conflict: " + app.file() + " sets " + sel + " = false, but " + step(l)
                            + " selects it (it needs it on)\n  " + l.name() + " is in the build through: "
                            + String.join(" -> ", reasons.get(l.name())));
                }
                out.put(sel, new ResolvedBuild.Option(o.spec(), o.owner(), new OptionValue.Bool(true), "selected by " + l.name()));
            }
        }
        return out;
    }

    private static String closestOption(String name, Set<String> known) {
        return known.stream().filter(k -> distance(name, k) <= 3).min(Comparator.comparingInt(k -> distance(name, k)))
                .map(k -> "; did you mean " + k + "?").orElse("");
    }
}
