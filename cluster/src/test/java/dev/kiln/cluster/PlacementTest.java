package dev.kiln.cluster;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class PlacementTest {
    private static HostRecord host(String name, long mib, Map<String, String> labels) {
        return new HostRecord(name, "x", mib << 20, 4, labels);
    }

    private static InstanceRecord instance(String id, int mib, Map<String, String> constraints) {
        return new InstanceRecord(id, null, "/i.hvt", mib, List.of(), "running", constraints, 0);
    }

    @Test
    void spreadEvensOutFreeMemory() {
        Placement p = new Placement(Placement.Policy.SPREAD, List.of(host("a", 1024, Map.of()), host("b", 1024, Map.of()), host("c", 1024, Map.of())));
        Map<String, Integer> count = new HashMap<>();
        for (int i = 0; i < 30; i++) count.merge(p.place(instance("i" + i, 16, Map.of())), 1, Integer::sum);
        assertEquals(Map.of("a", 10, "b", 10, "c", 10), count);
    }

    @Test
    void packFillsOneHostFirst() {
        Placement p = new Placement(Placement.Policy.PACK, List.of(host("a", 64, Map.of()), host("b", 1024, Map.of())));
        // a, the fuller host (least free memory) that fits, takes instances until it is full
        for (int i = 0; i < 4; i++) assertEquals("a", p.place(instance("i" + i, 16, Map.of())));
        assertEquals("b", p.place(instance("x", 16, Map.of())));
    }

    @Test
    void labelsConstrainAndFullHostsRefuse() {
        Placement p = new Placement(Placement.Policy.SPREAD, List.of(host("a", 1024, Map.of("zone", "z1")), host("b", 32, Map.of("zone", "z2"))));
        assertEquals("b", p.place(instance("i", 16, Map.of("zone", "z2"))));
        assertEquals("b", p.place(instance("j", 16, Map.of("zone", "z2"))));
        assertNull(p.place(instance("k", 16, Map.of("zone", "z2"))), "b is full and a lacks the label");
        assertNull(p.place(instance("l", 16, Map.of("gpu", "yes"))));
    }

    @Test
    void placedInstancesCountAndDeadHostsDoNot() {
        Placement p = new Placement(Placement.Policy.SPREAD, List.of(host("a", 1024, Map.of()), host("b", 1024, Map.of())));
        for (int i = 0; i < 10; i++) p.account("a", instance("i" + i, 16, Map.of()));
        p.account("gone", instance("g", 16, Map.of()));
        assertEquals("b", p.place(instance("n", 16, Map.of())));
    }

    @Test
    void burstSharesFollowFreeMemory() {
        Map<String, Long> free = new java.util.LinkedHashMap<>();
        free.put("a", 3L << 30);
        free.put("b", 1L << 30);
        assertEquals(Map.of("a", 75, "b", 25), ClusterBurst.split(100, free));
        free.put("c", 0L);
        assertEquals(101, ClusterBurst.split(101, free).values().stream().mapToInt(Integer::intValue).sum());
    }

    @Test
    void clusterOptionsLeaveTheDaemonItsOwn() throws Exception {
        var s = ClusterOptions.parse(new String[] {"--cluster", "127.0.0.1:2379,http://h:2379", "--host-name", "n1",
                "--labels", "zone=a,disk=ssd", "--state", "/tmp/s", "--placement=pack"});
        assertEquals(List.of("http://127.0.0.1:2379", "http://h:2379"), s.options().endpoints());
        assertEquals("n1", s.options().hostName());
        assertEquals(Map.of("zone", "a", "disk", "ssd"), s.options().labels());
        assertEquals(Placement.Policy.PACK, s.options().policy());
        assertEquals(List.of("--state", "/tmp/s"), List.of(s.daemonArgs()));
    }
}
