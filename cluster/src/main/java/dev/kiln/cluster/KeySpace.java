package dev.kiln.cluster;

import io.etcd.jetcd.ByteSequence;

import java.nio.charset.StandardCharsets;

/**
 * Where a cluster keeps its state in etcd. Every key is under one root, so a test or a benchmark
 * can run beside another cluster in the same etcd.
 *
 * <pre>
 * ROOT/hosts/HOST              host record (capacity, API address, labels), under the host's lease
 * ROOT/instances/ID            instance record: spec + desired state (written by any host's API)
 * ROOT/placements/ID           the host ID is placed on: the one key a placement's transaction guards
 * ROOT/assignments/HOST/ID     the instance record again, for HOST's reconciler to watch
 * ROOT/status/ID               where ID runs and its state, under the running host's lease
 * ROOT/scheduler               the election: one scheduler at a time
 * ROOT/bursts/HOST/BID         a host's share of a burst; ROOT/burst-results/BID/HOST its outcome
 * </pre>
 */
record KeySpace(String root) {
    static final KeySpace DEFAULT = new KeySpace("/kiln");

    String hosts() { return root + "/hosts/"; }
    String host(String name) { return hosts() + name; }
    String instances() { return root + "/instances/"; }
    String instance(String id) { return instances() + id; }
    String placements() { return root + "/placements/"; }
    String placement(String id) { return placements() + id; }
    String assignments(String host) { return root + "/assignments/" + host + "/"; }
    String assignment(String host, String id) { return assignments(host) + id; }
    String statuses() { return root + "/status/"; }
    String status(String id) { return statuses() + id; }
    String election() { return root + "/scheduler"; }
    String bursts(String host) { return root + "/bursts/" + host + "/"; }
    String burstResults(String burst) { return root + "/burst-results/" + burst + "/"; }

    /** The last path segment of a key: an id or a host name. */
    static String last(ByteSequence key) {
        String k = key.toString(StandardCharsets.UTF_8);
        return k.substring(k.lastIndexOf('/') + 1);
    }

    static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }
}
