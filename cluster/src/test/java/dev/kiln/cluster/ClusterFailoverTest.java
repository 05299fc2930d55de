package dev.kiln.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.daemon.DaemonClient;
import dev.kiln.daemon.Json;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three real etcd members and three real daemons (child JVMs), each in a network namespace of its
 * own on one test LAN: instances created through one host's API run across the cluster; a host
 * killed with SIGKILL has its instances run elsewhere; the etcd leader killed is survived; the host
 * restarted runs nothing twice; a host cut off from the LAN (alive) stops its instances before they
 * run elsewhere, so none runs twice even then, and it takes part again once the link is back.
 */
class ClusterFailoverTest {
    static final int INSTANCES = 6;

    @Test
    void instancesSurviveAHostAndTheEtcdLeaderAndRunExactlyOnce(@TempDir Path dir) throws Exception {
        Path image = Path.of(System.getProperty("kiln.guest.dir", "guest/out"), "kshell.hvt").toAbsolutePath();
        Assumptions.assumeTrue(EtcdMembers.available(), "etcd-server is not installed (scripts/prereqs)");
        Assumptions.assumeTrue(Files.isRegularFile(image), "no kshell image: kiln build --out guest/out guest/apps/kshell");
        Assumptions.assumeTrue(Files.isWritable(Path.of("/dev/kvm")), "no /dev/kvm");
        Assumptions.assumeTrue(NamespaceNetwork.available(), "network namespaces need root and iproute2");
        try (NamespaceNetwork net = new NamespaceNetwork();
             EtcdMembers etcd = new EtcdMembers(3, Files.createDirectories(dir.resolve("etcd")), net)) {
            String endpoints = etcd.allEndpoints();
            List<ChildDaemon> hosts = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) hosts.add(ChildDaemon.onNewNode(net, "h" + i, dir, endpoints));
                for (ChildDaemon h : hosts) h.start();
                List<String> ids = new ArrayList<>();
                try (DaemonClient c = hosts.get(0).client()) {
                    for (int i = 0; i < INSTANCES; i++) {
                        var r = c.post("/v1/instances", Json.object("image", image.toString(), "memory_mib", 4,
                                "args", List.of("sleep", "3600000")));
                        assertEquals(201, r.status(), r.text());
                        ids.add(r.json().path("id").asText());
                    }
                }
                // 1. Placed across the hosts (spread), each running where the cluster says.
                Map<String, String> where = awaitAll(hosts.get(1), ids, view -> "running".equals(view.path("state").asText()), 30);
                assertEquals(3, new java.util.HashSet<>(where.values()).size(), "spread over the three hosts: " + where);

                // 2. kill -9 a host: its instances run elsewhere once its lease (2 s) expired.
                ChildDaemon victim = hosts.get(2);
                victim.kill();
                long killed = System.nanoTime();
                where = awaitAll(hosts.get(0), ids, v -> "running".equals(v.path("state").asText())
                        && !victim.name.equals(v.path("host").asText()), 20);
                System.out.printf("re-placed within %.1f s of SIGKILL (lease TTL 2 s)%n", (System.nanoTime() - killed) / 1e9);
                assertTrue(!where.containsValue(victim.name));

                // 3. The etcd leader killed: the cluster answers and runs on.
                int leader = etcd.leader();
                assertTrue(leader >= 0);
                etcd.kill(leader);
                awaitAll(hosts.get(1), ids, v -> "running".equals(v.path("state").asText()), 20);

                // 4. The host comes back with its old records: it stops what is no longer its own.
                ChildDaemon back = new ChildDaemon(net, victim.name, dir, endpoints);
                hosts.set(2, back);
                back.start();
                Thread.sleep(3_000); // a few reconcile passes
                assertEachRunsOnce(hosts, ids);

                // 5. A partition: a host that runs instances is cut off the LAN, alive. The cluster sees its
                // lease expire and runs them elsewhere; the host, unable to renew, stops them first (fencing).
                where = awaitAll(hosts.get(1), ids, v -> "running".equals(v.path("state").asText()), 20);
                String busy = where.values().iterator().next();
                ChildDaemon cutOff = hosts.stream().filter(h -> h.name.equals(busy)).findFirst().orElseThrow();
                ChildDaemon other = hosts.stream().filter(h -> h != cutOff).findFirst().orElseThrow();
                net.cut(cutOff.name);
                where = awaitAll(other, ids, v -> "running".equals(v.path("state").asText())
                        && !cutOff.name.equals(v.path("host").asText()), 20);
                assertEachRunsOnce(hosts, ids); // the cut host answers on its socket: it runs none of them
                assertTrue(cutOff.log().contains("has not confirmed the lease"), "the cut host fenced:\n" + tail(cutOff.log()));
                net.mend(cutOff.name);
                long mended = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
                while (!etcd.hasKey("/kiln/hosts/" + cutOff.name) && System.nanoTime() < mended) Thread.sleep(200);
                assertTrue(etcd.hasKey("/kiln/hosts/" + cutOff.name), cutOff.name + " registered again once mended");
                Thread.sleep(2_000); // a few reconcile passes on the mended host
                assertEachRunsOnce(hosts, ids);

                // 6. A burst split across the three hosts, each running its share through the monitor's paced burst.
                try (DaemonClient c = hosts.get(1).client()) {
                    var r = c.post("/v1/bursts", Json.object("image", image.toString(), "count", 30, "memory_mib", 4,
                            "args", List.of("sleep", "1000")));
                    assertEquals(201, r.status(), r.text());
                    JsonNode b = r.json();
                    System.out.println("cluster burst: " + b);
                    assertEquals(30, b.path("up").asInt(), b.toString());
                    assertEquals(3, b.path("hosts_answered").asInt(), b.toString());
                    assertTrue(b.path("last_up_ms").asDouble() >= b.path("first_up_ms").asDouble());
                }

                // 7. A delete through any host: the instance leaves etcd, and the host that ran it removes it.
                String gone = ids.getFirst();
                try (DaemonClient c = hosts.get(0).client()) {
                    assertEquals(200, c.delete("/v1/instances/" + gone).status());
                }
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                int left;
                do {
                    Thread.sleep(200);
                    left = 0;
                    for (ChildDaemon h : hosts) {
                        try (DaemonClient c = h.client()) {
                            if (c.get("/v1/instances/" + gone).status() == 200) left++;
                        }
                    }
                } while (left > 0 && System.nanoTime() < until);
                assertEquals(0, left, "the deleted instance is gone from every host");
            } catch (AssertionError | Exception e) {
                for (ChildDaemon h : hosts) System.err.println("---- " + h.name + "\n" + tail(h.log()));
                throw e;
            } finally {
                for (ChildDaemon h : hosts) h.close();
            }
        }
    }

    /** Every id runs on exactly one host, by each host's own (local) account. */
    private static void assertEachRunsOnce(List<ChildDaemon> hosts, List<String> ids) throws IOException {
        for (String id : ids) {
            List<String> on = new ArrayList<>();
            for (ChildDaemon h : hosts) {
                try (DaemonClient c = h.client()) {
                    var r = c.get("/v1/instances/" + id);
                    if (r.status() == 200 && "running".equals(r.json().path("state").asText())) on.add(h.name);
                }
            }
            assertEquals(1, on.size(), "instance " + id + " runs on exactly one host, not on " + on);
        }
    }

    private static String tail(String s) {
        return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
    }

    /** Waits until every id's cluster-wide view passes {@code ok}; returns where each is placed. */
    static Map<String, String> awaitAll(ChildDaemon via, List<String> ids, Predicate<JsonNode> ok, int seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        JsonNode last = null;
        while (System.nanoTime() < deadline) {
            try (DaemonClient c = via.client()) {
                var r = c.get("/v1/instances");
                if (r.status() == 200) {
                    last = r.json();
                    Map<String, String> where = new HashMap<>();
                    for (JsonNode v : last) if (ids.contains(v.path("id").asText()) && ok.test(v)) where.put(v.path("id").asText(), v.path("host").asText());
                    if (where.size() == ids.size()) return where;
                }
            } catch (IOException e) {
                // etcd between leaders: ask again
            }
            Thread.sleep(200);
        }
        throw new AssertionError("not every instance got there within " + seconds + " s: " + last);
    }
}
