package dev.kiln.cluster;

import dev.kiln.daemon.Json;
import io.etcd.jetcd.op.Cmp;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Against a real etcd: two schedulers racing (as two hosts would if both believed they led) never
 * assign an instance twice, since every placement's transaction compares the revision its pass read.
 */
class SchedulerTest {
    @Test
    void racingSchedulersNeverAssignAnInstanceTwice(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(EtcdMembers.available(), "etcd-server is not installed (scripts/prereqs)");
        try (EtcdMembers etcd = new EtcdMembers(1, dir); EtcdStore store = new EtcdStore(etcd.endpoints())) {
            KeySpace keys = new KeySpace("/race");
            for (int h = 0; h < 4; h++) {
                store.put(keys.host("h" + h), Json.bytes(new HostRecord("h" + h, "x", 64L << 30, 16, Map.of()).json()), 0);
            }
            int n = 600;
            for (int i = 0; i < n; i++) {
                String id = String.format("%04d", i);
                store.put(keys.instance(id), Json.bytes(new InstanceRecord(id, null, "/i.hvt", 16, List.of(), "running", Map.of(), i).json()), 0);
            }
            // Spread and pack disagree on every choice: a lost race shows up as a second assignment.
            Scheduler spread = new Scheduler(store, keys, Placement.Policy.SPREAD, "a", () -> 0);
            Scheduler pack = new Scheduler(store, keys, Placement.Policy.PACK, "b", () -> 0);
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                for (int round = 0; round < 3; round++) {
                    List<Future<Scheduler.Pass>> f = pool.invokeAll(List.<Callable<Scheduler.Pass>>of(
                            () -> spread.pass(List.<Cmp>of()), () -> pack.pass(List.<Cmp>of())));
                    for (var x : f) x.get();
                }
            } finally {
                pool.shutdown();
            }
            Map<String, Integer> assignments = new HashMap<>();
            for (EtcdStore.Entry e : store.prefix(keys.root() + "/assignments/").entries()) {
                assignments.merge(e.key().substring(e.key().lastIndexOf('/') + 1), 1, Integer::sum);
            }
            assertEquals(n, assignments.size(), "every instance assigned");
            assignments.forEach((id, count) -> assertEquals(1, count, "instance " + id + " assigned " + count + " times"));
            // and each assignment is where its placement says
            for (EtcdStore.Entry e : store.prefix(keys.placements()).entries()) {
                String id = e.key().substring(keys.placements().length());
                String host = new String(e.value(), java.nio.charset.StandardCharsets.UTF_8);
                assertEquals(true, store.get(keys.assignment(host, id)) != null, id + " on " + host);
            }
        }
    }
}
