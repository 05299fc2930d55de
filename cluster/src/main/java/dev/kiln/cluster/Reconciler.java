package dev.kiln.cluster;

import dev.kiln.daemon.Json;
import dev.kiln.daemon.LocalFleet;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.options.WatchOption;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * One host's side of the cluster: makes the local fleet match what etcd assigns the host. It
 * starts what is assigned and not running, removes what runs and is no longer assigned (a host that
 * comes back after its instances were placed elsewhere leaves no duplicate), and reports each
 * instance's state under the host's lease. Woken by a watch on its assignments, and once a second
 * whatever happens, so a missed watch event (etcd's leader changing) costs at most a second.
 * A fence watches the lease: when etcd has not confirmed it for nearly its TTL (the host is cut off,
 * and the cluster may be placing its instances elsewhere), every local instance is stopped, and
 * nothing starts again until a lease is confirmed: an instance never runs on two hosts at once.
 */
final class Reconciler implements AutoCloseable {
    private final EtcdStore store;
    private final KeySpace keys;
    private final String host;
    private final LocalFleet fleet;
    private final Registration registration;
    private final Path snapshotStore;
    private final long snapshotEveryMillis;
    private final BurstRunner bursts;
    private final Semaphore wake = new Semaphore(0);
    /** The status last written for each instance, with the lease it was written under. */
    private final Map<String, String> reported = new HashMap<>();
    private volatile boolean closed;
    private Thread thread;
    private final java.util.List<Watch.Watcher> watchers = new java.util.ArrayList<>();
    private long lastSnapshots = System.currentTimeMillis();

    Reconciler(EtcdStore store, KeySpace keys, LocalFleet fleet, Registration registration, Path snapshotStore,
               long snapshotEveryMillis) {
        this.store = store;
        this.keys = keys;
        this.host = registration.host().name();
        this.fleet = fleet;
        this.registration = registration;
        this.snapshotStore = snapshotStore;
        this.snapshotEveryMillis = snapshotEveryMillis;
        this.bursts = new BurstRunner(store, keys, host, fleet);
    }

    void start() {
        // Only this host's own prefixes: a host hears nothing of the rest of the cluster.
        for (String prefix : java.util.List.of(keys.assignments(host), keys.bursts(host))) {
            watchers.add(store.client.getWatchClient().watch(EtcdStore.bytes(prefix), WatchOption.builder().isPrefix(true).build(),
                    Watch.listener(r -> wake.release(), err -> wake.release())));
        }
        thread = Thread.ofPlatform().daemon().name("kiln-cluster-reconciler").start(this::run);
        Thread.ofPlatform().daemon().name("kiln-cluster-fence").start(this::fence);
    }

    /** Every 50 ms: the lease possibly lost, the local instances stop (see the class comment). */
    private void fence() {
        while (!closed) {
            try {
                TimeUnit.MILLISECONDS.sleep(50);
            } catch (InterruptedException e) {
                return;
            }
            if (closed || registration.leaseHeld()) continue;
            int stopped = 0;
            for (LocalFleet.Local l : fleet.list()) {
                if (!l.live()) continue;
                try {
                    fleet.remove(l.id());
                    stopped++;
                } catch (RuntimeException e) {
                    System.err.println("kiln cluster: fencing could not stop " + l.id() + ": " + e.getMessage());
                }
            }
            if (stopped > 0) {
                System.err.printf("kiln cluster: %s: etcd has not confirmed the lease for %d ms: stopped %d instance(s)"
                        + " so that none runs on two hosts; they start again when the lease is back and still theirs%n",
                        host, registration.unconfirmedMillis(), stopped);
            }
        }
    }

    /** Something changed (a new lease): reconcile now. */
    void wake() {
        wake.release();
    }

    private void run() {
        while (!closed) {
            try {
                pass();
                bursts.pass();
                snapshotIfDue();
            } catch (IOException | RuntimeException e) {
                if (closed) return;
                // etcd unreachable, or a start refused: the next pass tries again
            }
            try {
                wake.tryAcquire(1, TimeUnit.SECONDS);
                wake.drainPermits();
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** One reconciliation: local runs made to match the assignments. */
    void pass() throws IOException {
        Map<String, InstanceRecord> assigned = new HashMap<>();
        for (EtcdStore.Entry e : store.prefix(keys.assignments(host)).entries()) {
            InstanceRecord r = InstanceRecord.parse(e.json());
            assigned.put(r.id(), r);
        }
        Map<String, LocalFleet.Local> local = new HashMap<>();
        for (LocalFleet.Local l : fleet.list()) local.put(l.id(), l);
        for (String id : local.keySet()) {
            if (!assigned.containsKey(id)) {
                fleet.remove(id);
                reported.remove(id);
            }
        }
        if (!registration.leaseHeld()) return; // fenced: nothing starts or reports until etcd confirms a lease
        Set<String> failed = new HashSet<>();
        Set<String> restored = new HashSet<>();
        for (InstanceRecord r : assigned.values()) {
            LocalFleet.Local l = local.get(r.id());
            // A guest that ended by itself (desired now "stopped") reached its end: it is not booted again.
            if (l != null && (l.live() || !"running".equals(l.desired()))) continue;
            if (!registration.leaseHeld()) break; // the fence may be stopping what this would start
            try {
                Path snapshot = snapshotOf(r.id());
                fleet.run(r.id(), r.image(), r.memoryMiB(), r.args(), snapshot);
                if (snapshot != null) restored.add(r.id());
            } catch (IOException | RuntimeException e) {
                failed.add(r.id());
            }
        }
        long lease = registration.lease();
        for (LocalFleet.Local l : fleet.list()) {
            if (!assigned.containsKey(l.id())) continue;
            String state = failed.contains(l.id()) ? "failed" : l.state();
            String mark = lease + "/" + state;
            if (mark.equals(reported.get(l.id())) && !restored.contains(l.id())) continue;
            store.put(keys.status(l.id()), Json.bytes(Json.object("id", l.id(), "host", host, "state", state,
                    "from_snapshot", restored.contains(l.id()), "updated_ms", System.currentTimeMillis())), lease);
            reported.put(l.id(), mark);
        }
    }

    /** The latest snapshot of {@code id} in the store every host reads, or null. */
    private Path snapshotOf(String id) {
        if (snapshotStore == null) return null;
        Path p = snapshotStore.resolve(id + ".snap");
        return Files.isRegularFile(p) ? p : null;
    }

    /** Every so often, each live instance's state goes to the shared store: a host that dies loses less. */
    private void snapshotIfDue() {
        if (snapshotStore == null || snapshotEveryMillis <= 0) return;
        if (System.currentTimeMillis() - lastSnapshots < snapshotEveryMillis) return;
        lastSnapshots = System.currentTimeMillis();
        for (LocalFleet.Local l : fleet.list()) {
            if (!l.live()) continue;
            Path target = snapshotStore.resolve(l.id() + ".snap");
            Path tmp = snapshotStore.resolve(l.id() + ".snap." + host + ".tmp");
            try {
                fleet.snapshot(l.id(), tmp);
                // Renamed into place: a reader never restores half a snapshot.
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException | RuntimeException e) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // nothing more to do
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        watchers.forEach(Watch.Watcher::close);
        if (thread != null) {
            thread.interrupt();
            try {
                thread.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
