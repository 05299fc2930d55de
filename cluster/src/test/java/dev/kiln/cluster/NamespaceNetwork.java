package dev.kiln.cluster;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A cluster test's network: every node (an etcd member, a daemon) in a network namespace of its
 * own, joined to the others by a veth pair on one bridge in the test's namespace, as separate
 * machines on one LAN would be. A daemon's bridge, taps and nftables rules stay inside its
 * namespace, nodes reach each other only by their addresses on the LAN, and a node can be cut off
 * from it (its link set down) while its process lives: a network partition, not a crash.
 *
 * <p>Names: namespaces {@code TAG-NODE}, links {@code TAG<i>h} (the bridge's side) and {@code eth0}
 * inside, the bridge {@code TAGbr}; TAG is random so concurrent runs do not collide. Needs root
 * and iproute2's {@code ip}.
 */
final class NamespaceNetwork implements AutoCloseable {
    static final String IP = "/usr/sbin/ip";

    private final String tag;
    private final String bridge;
    private final String prefix;           // "10.213.K." : the LAN's /24
    private final Map<String, Node> nodes = new LinkedHashMap<>();

    /** One node: its namespace, the bridge-side end of its link and its address on the LAN. */
    record Node(String namespace, String hostLink, String address) {}

    NamespaceNetwork() throws IOException, InterruptedException {
        tag = "kc" + Integer.toHexString(0x1000 + ThreadLocalRandom.current().nextInt(0xefff));
        bridge = tag + "br";
        prefix = freeSubnet();
        try {
            ip("link", "add", bridge, "type", "bridge");
            ip("addr", "add", prefix + "1/24", "dev", bridge);
            ip("link", "set", bridge, "up");
        } catch (IOException e) {
            close();
            throw e;
        }
    }

    /** Whether this process can build one: root, with iproute2 installed. */
    static boolean available() {
        return Files.isExecutable(Path.of(IP)) && "root".equals(System.getProperty("user.name"));
    }

    /** Adds a node in a new namespace on the LAN; returns its address. */
    String add(String name) throws IOException, InterruptedException {
        if (nodes.containsKey(name)) throw new IllegalArgumentException("node " + name + " exists");
        int i = nodes.size();
        if (i > 200) throw new IllegalStateException("a test LAN holds 200 nodes");
        Node n = new Node(tag + "-" + name, tag + i + "h", prefix + (10 + i));
        nodes.put(name, n);
        String inside = tag + i + "n";
        ip("netns", "add", n.namespace());
        ip("link", "add", n.hostLink(), "type", "veth", "peer", "name", inside);
        ip("link", "set", inside, "netns", n.namespace());
        ip("link", "set", n.hostLink(), "master", bridge);
        ip("link", "set", n.hostLink(), "up");
        ip("-n", n.namespace(), "link", "set", inside, "name", "eth0");
        ip("-n", n.namespace(), "addr", "add", n.address() + "/24", "dev", "eth0");
        ip("-n", n.namespace(), "link", "set", "eth0", "up");
        ip("-n", n.namespace(), "link", "set", "lo", "up");
        return n.address();
    }

    String namespace(String name) {
        return node(name).namespace();
    }

    String address(String name) {
        return node(name).address();
    }

    /** {@code command} run inside the node's namespace ({@code ip netns exec} execs it: no process in between). */
    List<String> inside(String name, List<String> command) {
        List<String> c = new ArrayList<>(List.of(IP, "netns", "exec", node(name).namespace()));
        c.addAll(command);
        return c;
    }

    /** Cuts the node off the LAN: its processes live on, and nothing reaches them or leaves them. */
    void cut(String name) throws IOException, InterruptedException {
        ip("link", "set", node(name).hostLink(), "down");
    }

    /** Joins a cut node to the LAN again. */
    void mend(String name) throws IOException, InterruptedException {
        ip("link", "set", node(name).hostLink(), "up");
    }

    private Node node(String name) {
        Node n = nodes.get(name);
        if (n == null) throw new IllegalArgumentException("no node " + name);
        return n;
    }

    /** A 10.213.K.0/24 that no link of this machine has an address in. */
    private static String freeSubnet() throws IOException, InterruptedException {
        String used = run(List.of(IP, "-4", "-o", "addr", "show"));
        for (int tries = 0; tries < 256; tries++) {
            String p = "10.213." + ThreadLocalRandom.current().nextInt(256) + ".";
            if (!used.contains(" " + p)) return p;
        }
        throw new IOException("no free 10.213.K.0/24 subnet on this machine");
    }

    private static void ip(String... args) throws IOException, InterruptedException {
        List<String> c = new ArrayList<>(List.of(IP));
        c.addAll(List.of(args));
        run(c);
    }

    private static String run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + ": no answer within 20 s");
        }
        if (p.exitValue() != 0) throw new IOException(String.join(" ", command) + ": exit " + p.exitValue() + ": " + out.strip());
        return out;
    }

    /** Removes the namespaces (their links go with them) and the bridge; what fails to go is reported, not thrown. */
    @Override
    public void close() {
        for (Node n : nodes.values()) {
            try {
                ip("netns", "del", n.namespace());
            } catch (IOException | InterruptedException e) {
                System.err.println("NamespaceNetwork: " + e.getMessage());
            }
        }
        try {
            ip("link", "del", bridge);
        } catch (IOException | InterruptedException e) {
            System.err.println("NamespaceNetwork: " + e.getMessage());
        }
    }
}
