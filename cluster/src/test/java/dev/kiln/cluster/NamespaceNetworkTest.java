package dev.kiln.cluster;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The cluster tests' network itself: an etcd member in one namespace answers a client in another
 * over the LAN, not over the client's loopback; a cut client reaches nothing and a mended one
 * reaches it again; closing leaves no namespace or link behind.
 */
class NamespaceNetworkTest {
    @Test
    void nodesTalkOverTheLanOnlyAndACutNodeIsAlone(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(NamespaceNetwork.available(), "needs root and iproute2");
        Assumptions.assumeTrue(EtcdMembers.available(), "etcd-server is not installed (scripts/prereqs)");
        List<String> ours;
        try (NamespaceNetwork net = new NamespaceNetwork();
             EtcdMembers etcd = new EtcdMembers(1, Files.createDirectories(dir.resolve("etcd")), net)) {
            String member = net.address("m0");
            String client = net.add("client");
            assertNotEquals(member, client);
            ours = List.of(net.namespace("m0"), net.namespace("client"));
            String listed = run(List.of(NamespaceNetwork.IP, "netns", "list")).out();
            for (String ns : ours) assertTrue(listed.contains(ns), ns + " not in " + listed);

            List<String> put = List.of("etcdctl", "--endpoints", member + ":2379", "--dial-timeout", "1s",
                    "--command-timeout", "2s", "put", "k", "over-the-lan");
            Result r = run(net.inside("client", put));
            assertEquals(0, r.status(), r.out());
            // The member is not on the client's own loopback: only the LAN reaches it.
            Result loop = run(net.inside("client", List.of("etcdctl", "--endpoints", "127.0.0.1:2379",
                    "--dial-timeout", "1s", "--command-timeout", "2s", "get", "k")));
            assertNotEquals(0, loop.status(), loop.out());

            net.cut("client");
            Result cut = run(net.inside("client", List.of("etcdctl", "--endpoints", member + ":2379",
                    "--dial-timeout", "1s", "--command-timeout", "2s", "get", "k")));
            assertNotEquals(0, cut.status(), "a cut node reaches nothing: " + cut.out());

            net.mend("client");
            Result back = run(net.inside("client", List.of("etcdctl", "--endpoints", member + ":2379",
                    "--dial-timeout", "2s", "--command-timeout", "3s", "get", "k", "--print-value-only")));
            assertEquals(0, back.status(), back.out());
            assertEquals("over-the-lan", back.out().strip());
        }
        String after = run(List.of(NamespaceNetwork.IP, "netns", "list")).out();
        for (String ns : ours) assertFalse(after.contains(ns), ns + " is left behind: " + after);
    }

    record Result(int status, String out) {}

    static Result run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), String.join(" ", command));
        return new Result(p.exitValue(), out);
    }
}
