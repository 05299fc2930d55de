package dev.kiln.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.daemon.Json;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real etcd cluster for tests: Debian's etcd binary, one process per member, data in a temporary
 * folder. On loopback (free ports) or, given a {@link NamespaceNetwork}, each member in a network
 * namespace of its own at its own address (etcd's usual ports). Elections are tuned fast (50 ms
 * heartbeats) so a lost leader is replaced within a second.
 */
final class EtcdMembers implements AutoCloseable {
    static final String ETCD = "/usr/bin/etcd";

    private final Path dir;
    private final NamespaceNetwork net;    // null: every member on 127.0.0.1
    private final String[] hosts;
    private final int[] clientPorts;
    private final int[] peerPorts;
    private final Process[] processes;

    EtcdMembers(int size, Path dir) throws IOException, InterruptedException {
        this(size, dir, null);
    }

    /** Members m0..m(size-1), each added to {@code net} as a node of that name (null: on loopback). */
    EtcdMembers(int size, Path dir, NamespaceNetwork net) throws IOException, InterruptedException {
        this.dir = dir;
        this.net = net;
        hosts = new String[size];
        clientPorts = new int[size];
        peerPorts = new int[size];
        processes = new Process[size];
        for (int i = 0; i < size; i++) {
            hosts[i] = net == null ? "127.0.0.1" : net.add("m" + i);
            clientPorts[i] = net == null ? freePort() : 2379;
            peerPorts[i] = net == null ? freePort() : 2380;
        }
        for (int i = 0; i < size; i++) processes[i] = start(i);
        awaitHealthy();
    }

    static boolean available() {
        return Files.isExecutable(Path.of(ETCD));
    }

    private Process start(int i) throws IOException {
        List<String> peers = new ArrayList<>();
        for (int j = 0; j < clientPorts.length; j++) peers.add("m" + j + "=" + peerUrl(j));
        Path log = dir.resolve("etcd-m" + i + ".log");
        List<String> command = List.of(ETCD, "--name", "m" + i, "--data-dir", dir.resolve("m" + i).toString(),
                "--listen-client-urls", clientUrl(i), "--advertise-client-urls", clientUrl(i),
                "--listen-peer-urls", peerUrl(i), "--initial-advertise-peer-urls", peerUrl(i),
                "--initial-cluster", String.join(",", peers), "--initial-cluster-state", "new",
                "--initial-cluster-token", "kiln-test-" + dir.getFileName(),
                "--heartbeat-interval", "50", "--election-timeout", "500", "--logger", "zap", "--log-outputs", "stderr");
        return new ProcessBuilder(net == null ? command : net.inside("m" + i, command))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    private String clientUrl(int i) {
        return "http://" + hosts[i] + ":" + clientPorts[i];
    }

    private String peerUrl(int i) {
        return "http://" + hosts[i] + ":" + peerPorts[i];
    }

    List<String> endpoints() {
        List<String> e = new ArrayList<>();
        for (int i = 0; i < clientPorts.length; i++) if (processes[i] != null && processes[i].isAlive()) e.add(clientUrl(i));
        return e;
    }

    /** Every member's endpoint, the dead ones too (a client is given them all). */
    String allEndpoints() {
        List<String> e = new ArrayList<>();
        for (int i = 0; i < clientPorts.length; i++) e.add(clientUrl(i));
        return String.join(",", e);
    }

    private void awaitHealthy() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            if (leader() >= 0) return;
            Thread.sleep(100);
        }
        throw new IOException("etcd did not elect a leader within 20 s; logs in " + dir);
    }

    /** The index of the member that leads now, or -1. */
    int leader() throws IOException, InterruptedException {
        for (int i = 0; i < clientPorts.length; i++) {
            if (processes[i] == null || !processes[i].isAlive()) continue;
            String out = etcdctl(i, "endpoint", "status", "-w", "json");
            if (out == null) continue;
            JsonNode s = Json.MAPPER.readTree(out).path(0).path("Status");
            long member = s.path("header").path("member_id").asLong();
            long leader = s.path("leader").asLong();
            if (leader != 0 && member == leader) return i;
        }
        return -1;
    }

    /** Whether {@code key} exists now, asked of the first member that answers. */
    boolean hasKey(String key) throws IOException, InterruptedException {
        for (int i = 0; i < clientPorts.length; i++) {
            if (processes[i] == null || !processes[i].isAlive()) continue;
            String out = etcdctl(i, "get", key, "--keys-only");
            if (out != null) return out.lines().anyMatch(key::equals);
        }
        throw new IOException("no etcd member answers");
    }

    /** etcdctl against member {@code i} alone: its standard output, or null when it fails or hangs. */
    private String etcdctl(int i, String... command) throws IOException, InterruptedException {
        List<String> c = new ArrayList<>(List.of("etcdctl", "--endpoints", hosts[i] + ":" + clientPorts[i],
                "--dial-timeout", "1s", "--command-timeout", "2s"));
        c.addAll(List.of(command));
        Process p = new ProcessBuilder(c).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        if (!p.waitFor(5, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return null;
        }
        return p.exitValue() == 0 ? out : null;
    }

    /** SIGKILL for member {@code i}. */
    void kill(int i) throws InterruptedException {
        processes[i].destroyForcibly();
        processes[i].waitFor(10, TimeUnit.SECONDS);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Override
    public void close() throws InterruptedException {
        for (Process p : processes) {
            if (p != null) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
