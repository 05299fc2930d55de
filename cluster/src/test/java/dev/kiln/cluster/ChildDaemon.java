package dev.kiln.cluster;

import dev.kiln.daemon.DaemonClient;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A clustered kiln daemon in a child JVM of its own (so a test can kill -9 it), with its own state
 * and socket; given a {@link NamespaceNetwork}, in a network namespace of its own on the test's LAN
 * (the test still talks to it over its Unix socket, which is a file).
 */
final class ChildDaemon implements AutoCloseable {
    final String name;
    final Path socket;
    private final List<String> command;
    private final Path log;
    private Process process;

    ChildDaemon(String name, Path dir, String endpoints, String... extra) {
        this(null, name, dir, endpoints, extra);
    }

    /** A new node {@code name} on {@code net}, and a daemon in it. */
    static ChildDaemon onNewNode(NamespaceNetwork net, String name, Path dir, String endpoints, String... extra)
            throws IOException, InterruptedException {
        net.add(name);
        return new ChildDaemon(net, name, dir, endpoints, extra);
    }

    /** On {@code net} (null: in this process's namespace), in the node {@code name} already added to it. */
    ChildDaemon(NamespaceNetwork net, String name, Path dir, String endpoints, String... extra) {
        this.name = name;
        this.socket = dir.resolve(name + ".sock");
        this.log = dir.resolve(name + ".log");
        command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-Xmx256m", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), ClusterMain.class.getName(),
                "--cluster", endpoints, "--host-name", name, "--state", dir.resolve(name).toString(),
                "--socket", socket.toString(), "--spare-threads", "16", "--memory-budget", "512", "--lease-ttl", "2"));
        command.addAll(List.of(extra));
        if (net != null) {
            List<String> inside = net.inside(name, command);
            command.clear();
            command.addAll(inside);
        }
    }

    void start() throws IOException, InterruptedException {
        long from = Files.exists(log) ? Files.size(log) : 0;
        process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) throw new IOException(name + " ended at start: " + Files.readString(log));
            // Printed once the daemon started, after it registered in the cluster (the socket answers a little earlier).
            if (log().substring((int) from).contains("kiln daemon: listening on " + socket)) return;
            Thread.sleep(100);
        }
        throw new IOException(name + " did not serve within 30 s: " + Files.readString(log));
    }

    DaemonClient client() throws IOException {
        return DaemonClient.connect(socket);
    }

    /** kill -9: no shutdown hook, no lease revoked; the host's lease has to expire. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    String log() throws IOException {
        return Files.exists(log) ? Files.readString(log) : "";
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) kill();
        }
    }
}
