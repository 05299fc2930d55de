package dev.kiln.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.daemon.DaemonClient;
import dev.kiln.daemon.Json;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A host's instance, snapshotted to a store both hosts read, restored from it on the other when the host dies. */
class ClusterSnapshotTest {
    @Test
    void aDeadHostsInstanceIsRestoredFromTheSharedStore(@TempDir Path dir) throws Exception {
        Path image = Path.of(System.getProperty("kiln.guest.dir", "guest/out"), "kshell.hvt").toAbsolutePath();
        Assumptions.assumeTrue(EtcdMembers.available(), "etcd-server is not installed (scripts/prereqs)");
        Assumptions.assumeTrue(Files.isRegularFile(image), "no kshell image: kiln build --out guest/out guest/apps/kshell");
        Assumptions.assumeTrue(Files.isWritable(Path.of("/dev/kvm")), "no /dev/kvm");
        Assumptions.assumeTrue(NamespaceNetwork.available(), "network namespaces need root and iproute2");
        Path store = dir.resolve("snapshots");
        // Each host and the etcd member in a network namespace of its own; the store is a folder both read.
        try (NamespaceNetwork net = new NamespaceNetwork();
             EtcdMembers etcd = new EtcdMembers(1, Files.createDirectories(dir.resolve("etcd")), net);
             ChildDaemon a = ChildDaemon.onNewNode(net, "a", dir, etcd.allEndpoints(),
                     "--snapshot-store", store.toString(), "--snapshot-every", "1");
             ChildDaemon b = ChildDaemon.onNewNode(net, "b", dir, etcd.allEndpoints(),
                     "--snapshot-store", store.toString(), "--snapshot-every", "1")) {
            a.start();
            b.start();
            String id;
            try (DaemonClient c = a.client()) {
                var r = c.post("/v1/instances", Json.object("image", image.toString(), "memory_mib", 4, "args", List.of("sleep", "3600000")));
                assertEquals(201, r.status(), r.text());
                id = r.json().path("id").asText();
            }
            Map<String, String> where = ClusterFailoverTest.awaitAll(a, List.of(id), v -> "running".equals(v.path("state").asText()), 20);
            String first = where.get(id);
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (!Files.exists(store.resolve(id + ".snap")) && System.nanoTime() < deadline) Thread.sleep(100);
            assertTrue(Files.exists(store.resolve(id + ".snap")), "a snapshot in the shared store");
            ChildDaemon victim = first.equals("a") ? a : b;
            ChildDaemon survivor = victim == a ? b : a;
            victim.kill();
            where = ClusterFailoverTest.awaitAll(survivor, List.of(id), v -> "running".equals(v.path("state").asText())
                    && v.path("from_snapshot").asBoolean(), 20);
            assertNotEquals(first, where.get(id));
            try (DaemonClient c = survivor.client()) {
                JsonNode local = c.get("/v1/instances/" + id).json();
                assertEquals("running", local.path("state").asText(), local.toString());
            }
        }
    }
}
