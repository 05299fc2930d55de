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
 * A real etcd cluster for tests: Debian's etcd binary, one process per member on free ports, data
 * in a temporary folder. Elections are tuned fast (50 ms heartbeats) so a lost leader is replaced
 * within a second.
 */
final class EtcdMembers implements AutoCloseable {
    static final String ETCD = "/usr/bin/etcd";

    private final Path dir;
    private final int[] clientPorts;
    private final int[] peerPorts;
    private final Process[] processes;

    EtcdMembers(int size, Path dir) throws IOException, InterruptedException {
        this.dir = dir;
        clientPorts = new int[size];
        peerPorts = new int[size];
        processes = new Process[size];
        for (int i = 0; i < size; i++) {
            clientPorts[i] = freePort();
            peerPorts[i] = freePort();
        }
        for (int i = 0; i < size; i++) processes[i] = start(i);
        awaitHealthy();
    }

    static boolean available() {
        return Files.isExecutable(Path.of(ETCD));
    }

    private Process start(int i) throws IOException {
        List<String> peers = new ArrayList<>();
        for (int j = 0; j < clientPorts.length; j++) peers.add("m" + j + "=http://127.0.0.1:" + peerPorts[j]);
        Path log = dir.resolve("etcd-m" + i + ".log");
        return new ProcessBuilder(ETCD, "--name", "m" + i, "--data-dir", dir.resolve("m" + i).toString(),
                "--listen-client-urls", "http://127.0.0.1:" + clientPorts[i],
                "--advertise-client-urls", "http://127.0.0.1:" + clientPorts[i],
                "--listen-peer-urls", "http://127.0.0.1:" + peerPorts[i],
                "--initial-advertise-peer-urls", "http://127.0.0.1:" + peerPorts[i],
                "--initial-cluster", String.join(",", peers), "--initial-cluster-state", "new",
                "--initial-cluster-token", "kiln-test-" + dir.getFileName(),
                "--heartbeat-interval", "50", "--election-timeout", "500", "--logger", "zap", "--log-outputs", "stderr")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    List<String> endpoints() {
        List<String> e = new ArrayList<>();
        for (int i = 0; i < clientPorts.length; i++) if (processes[i] != null && processes[i].isAlive()) e.add("http://127.0.0.1:" + clientPorts[i]);
        return e;
    }

    /** Every member's endpoint, the dead ones too (a client is given them all). */
    String allEndpoints() {
        List<String> e = new ArrayList<>();
        for (int p : clientPorts) e.add("http://127.0.0.1:" + p);
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
            Process p = new ProcessBuilder("etcdctl", "--endpoints", "127.0.0.1:" + clientPorts[i], "--dial-timeout", "1s",
                    "--command-timeout", "1s", "endpoint", "status", "-w", "json").redirectErrorStream(false).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(5, TimeUnit.SECONDS) || p.exitValue() != 0) continue;
            JsonNode s = Json.MAPPER.readTree(out).path(0).path("Status");
            long member = s.path("header").path("member_id").asLong();
            long leader = s.path("leader").asLong();
            if (leader != 0 && member == leader) return i;
        }
        return -1;
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
