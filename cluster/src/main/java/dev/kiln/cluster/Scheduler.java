package dev.kiln.cluster;

import io.etcd.jetcd.election.LeaderKey;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.Watch;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * The cluster's one scheduler at a time: every host campaigns in etcd's election; the leader
 * places instances that want to run and have no live host, on hosts chosen by {@link Placement}.
 * Each placement is written in a transaction that compares the instance's placement key with the
 * revision the pass read (and that this host still leads), so an instance is never assigned twice:
 * a second scheduler, or a pass working from stale reads, has its write refused.
 */
final class Scheduler implements AutoCloseable {
    /** Instances per transaction: three operations each, within etcd's default 128 per transaction. */
    static final int BATCH = 40;
    /** Transactions in flight at once: etcd batches concurrent proposals into one raft round and fsync. */
    static final int IN_FLIGHT = 16;

    /** What one pass did. */
    record Pass(int placed, int replaced, int removed, int unplaceable, int refusedBatches) {}

    private final EtcdStore store;
    private final KeySpace keys;
    private final Placement.Policy policy;
    private final String hostName;
    private final LongSupplier lease;
    private final Semaphore wake = new Semaphore(0);
    private volatile boolean closed;
    private volatile boolean leading;
    private Thread thread;
    private final List<Watch.Watcher> watchers = new ArrayList<>();

    Scheduler(EtcdStore store, KeySpace keys, Placement.Policy policy, String hostName, LongSupplier lease) {
        this.store = store;
        this.keys = keys;
        this.policy = policy;
        this.hostName = hostName;
        this.lease = lease;
    }

    boolean leading() {
        return leading;
    }

    void start() {
        // Hosts and instances coming and going wake the leader at once (a host's lease expiring
        // deletes its record): re-placement waits for no poll.
        for (String prefix : List.of(keys.hosts(), keys.instances())) {
            watchers.add(store.client.getWatchClient().watch(EtcdStore.bytes(prefix), WatchOption.builder().isPrefix(true).build(),
                    Watch.listener(r -> wake.release(), err -> wake.release())));
        }
        thread = Thread.ofPlatform().daemon().name("kiln-cluster-scheduler").start(this::run);
    }

    private void run() {
        while (!closed) {
            try {
                long l = lease.getAsLong();
                LeaderKey leader = EtcdStore.await(store.client.getElectionClient()
                        .campaign(EtcdStore.bytes(keys.election()), l, EtcdStore.bytes(hostName))
                        .orTimeout(1, TimeUnit.DAYS)).getLeader();
                Cmp guard = new Cmp(leader.getKey(), Cmp.Op.EQUAL, CmpTarget.createRevision(leader.getRevision()));
                leading = true;
                String leaderKey = leader.getKey().toString(StandardCharsets.UTF_8);
                while (!closed) {
                    // A refused batch (a race with a pass from stale reads) is retried at once, from fresh reads.
                    if (pass(List.of(guard)).refusedBatches() > 0) wake.release();
                    wake.tryAcquire(1, TimeUnit.SECONDS);
                    wake.drainPermits();
                    // Our leadership went with our lease (we were cut off from etcd): campaign again.
                    if (lease.getAsLong() != l || store.get(leaderKey) == null) break;
                }
            } catch (InterruptedException e) {
                return;
            } catch (IOException | RuntimeException e) {
                if (closed) return;
                try {
                    Thread.sleep(200); // etcd unreachable for now: try again
                } catch (InterruptedException ie) {
                    return;
                }
            } finally {
                leading = false;
            }
        }
    }

    /** One scheduling pass over the whole desired state; {@code guard}: comparisons every write also needs. */
    Pass pass(List<Cmp> guard) throws IOException {
        Map<String, HostRecord> hosts = new HashMap<>();
        for (EtcdStore.Entry e : store.prefix(keys.hosts()).entries()) {
            HostRecord h = HostRecord.parse(e.json());
            hosts.put(h.name(), h);
        }
        Map<String, EtcdStore.Entry> instanceEntries = new HashMap<>();
        Map<String, InstanceRecord> instances = new HashMap<>();
        for (EtcdStore.Entry e : store.prefix(keys.instances()).entries()) {
            String id = e.key().substring(keys.instances().length());
            instanceEntries.put(id, e);
            instances.put(id, InstanceRecord.parse(e.json()));
        }
        Map<String, EtcdStore.Entry> placements = new HashMap<>();
        for (EtcdStore.Entry e : store.prefix(keys.placements()).entries()) {
            placements.put(e.key().substring(keys.placements().length()), e);
        }
        Placement placement = new Placement(policy, hosts.values());
        List<Write> writes = new ArrayList<>();
        int removed = 0;
        for (var p : placements.entrySet()) {
            String host = new String(p.getValue().value(), StandardCharsets.UTF_8);
            InstanceRecord r = instances.get(p.getKey());
            if (r == null || !r.wantsRunning()) {
                writes.add(new Write(p.getKey(), p.getValue().modRevision(), host, null, null));
                removed++;
            } else if (placement.alive(host)) {
                placement.account(host, r);
            }
        }
        int placed = 0, replaced = 0, unplaceable = 0;
        // Oldest first: an instance waiting longest is placed first when capacity is short.
        List<InstanceRecord> waiting = new ArrayList<>();
        for (InstanceRecord r : instances.values()) {
            if (!r.wantsRunning()) continue;
            EtcdStore.Entry p = placements.get(r.id());
            if (p != null && placement.alive(new String(p.value(), StandardCharsets.UTF_8))) continue;
            waiting.add(r);
        }
        waiting.sort(java.util.Comparator.comparingLong(InstanceRecord::createdMillis).thenComparing(InstanceRecord::id));
        for (InstanceRecord r : waiting) {
            EtcdStore.Entry p = placements.get(r.id());
            String host = placement.place(r);
            if (host == null) {
                unplaceable++;
                continue;
            }
            String old = p == null ? null : new String(p.value(), StandardCharsets.UTF_8);
            writes.add(new Write(r.id(), p == null ? 0 : p.modRevision(), old, host, instanceEntries.get(r.id()).value()));
            if (old == null) placed++;
            else replaced++;
        }
        int refused = write(writes, guard);
        return new Pass(placed, replaced, removed, unplaceable, refused);
    }

    /**
     * One instance's change: from host {@code from} (null: none) to host {@code to} (null: unplaced),
     * if its placement key is still at {@code seenRevision} (0: absent).
     */
    private record Write(String id, long seenRevision, String from, String to, byte[] record) {}

    /** Writes in batched transactions, several in flight; returns how many batches were refused. */
    private int write(List<Write> writes, List<Cmp> guard) throws IOException {
        Semaphore inFlight = new Semaphore(IN_FLIGHT);
        AtomicInteger refused = new AtomicInteger();
        List<CompletableFuture<?>> pending = new ArrayList<>();
        for (int from = 0; from < writes.size(); from += BATCH) {
            List<Write> batch = writes.subList(from, Math.min(writes.size(), from + BATCH));
            List<Cmp> ifs = new ArrayList<>(guard);
            List<Op> ops = new ArrayList<>();
            int bytes = 0;
            for (Write w : batch) {
                String pk = keys.placement(w.id());
                ifs.add(new Cmp(EtcdStore.bytes(pk), Cmp.Op.EQUAL, CmpTarget.modRevision(w.seenRevision())));
                if (w.from() != null) ops.add(Op.delete(EtcdStore.bytes(keys.assignment(w.from(), w.id())), DeleteOption.DEFAULT));
                if (w.to() == null) {
                    ops.add(Op.delete(EtcdStore.bytes(pk), DeleteOption.DEFAULT));
                } else {
                    ops.add(Op.put(EtcdStore.bytes(pk), EtcdStore.bytes(w.to()), PutOption.DEFAULT));
                    ops.add(Op.put(EtcdStore.bytes(keys.assignment(w.to(), w.id())), EtcdStore.bytes(w.record()), PutOption.DEFAULT));
                    bytes += w.record().length;
                }
                bytes += 2 * pk.length() + 40;
            }
            try {
                inFlight.acquire();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
            int sent = bytes;
            pending.add(store.client.getKVClient().txn().If(ifs.toArray(Cmp[]::new)).Then(ops.toArray(Op[]::new)).commit()
                    .whenComplete((r, err) -> {
                        inFlight.release();
                        store.counted(sent, 0);
                        if (err != null || !r.isSucceeded()) refused.incrementAndGet();
                    }));
        }
        for (CompletableFuture<?> f : pending) {
            try {
                EtcdStore.await(f);
            } catch (IOException e) {
                // counted as refused above; the next pass reads again and retries
            }
        }
        return refused.get();
    }

    @Override
    public void close() {
        closed = true;
        watchers.forEach(Watch.Watcher::close);
        if (thread != null) thread.interrupt();
    }
}
