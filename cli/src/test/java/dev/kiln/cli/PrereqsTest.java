package dev.kiln.cli;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * scripts/prereqs installs every Debian package a test or benchmark script would otherwise
 * install in the middle of a run ({@code need+=(PKG)} or {@code apt-get install ... PKG}), and
 * every tool the Java tests start.
 */
class PrereqsTest {
    private static final Path ROOT = Path.of("..");
    private static final Pattern NEED = Pattern.compile("need\\+=\\(([a-z0-9.+ -]+)\\)");
    private static final Pattern APT = Pattern.compile("apt-get install (?:-[a-z]+ )*([a-z0-9.+ -]+?)(?: >|;|$)", Pattern.MULTILINE);

    @Test
    void prereqsInstallsWhatTheTestsInstallMidRun() throws IOException {
        String prereqs = Files.readString(ROOT.resolve("scripts/prereqs"));
        List<Path> scripts = new ArrayList<>();
        for (String dir : List.of("guest/tests", "bench", "scripts")) {
            try (Stream<Path> s = Files.walk(ROOT.resolve(dir))) {
                s.filter(p -> p.toString().endsWith(".sh") || p.getParent().endsWith("scripts"))
                        // kvm-in-qemu is a developer's tool for machines without /dev/kvm, which no
                        // test runs: it installs QEMU on its first use, not for the tests
                        .filter(p -> !p.endsWith("prereqs") && !p.endsWith("kvm-in-qemu") && Files.isRegularFile(p))
                        .forEach(scripts::add);
            }
        }
        TreeSet<String> wanted = new TreeSet<>();
        for (Path script : scripts) {
            String text = Files.readString(script);
            for (Pattern p : List.of(NEED, APT)) {
                Matcher m = p.matcher(text);
                while (m.find()) {
                    for (String pkg : m.group(1).strip().split("\\s+")) {
                        if (!pkg.startsWith("\"") && !pkg.startsWith("$")) wanted.add(pkg);
                    }
                }
            }
        }
        assertTrue(wanted.contains("netcat-openbsd"), "the scan found too little, has its pattern gone stale? " + wanted);
        // The tools the Java tests start, by the package that has them.
        wanted.addAll(List.of("gdb", "tmux", "iproute2", "python3", "curl", "iputils-ping", "wrk", "redis-tools", "ethtool",
                "patch", "make", "etcd-server", "etcd-client"));
        List<String> missing = wanted.stream().filter(pkg -> !prereqs.contains("need+=(" + pkg + ")")).toList();
        assertTrue(missing.isEmpty(), "scripts/prereqs does not install " + missing + " (wanted: " + wanted + ")");
    }
}
