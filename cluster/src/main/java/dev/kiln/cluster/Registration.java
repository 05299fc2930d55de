package dev.kiln.cluster;

import dev.kiln.daemon.Json;
import io.etcd.jetcd.support.CloseableClient;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.grpc.stub.StreamObserver;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * A host's presence in the cluster: its record under a lease that it keeps alive. When the process
 * dies the lease expires, the record goes, and the scheduler places the host's instances
 * elsewhere. A lease lost while the process lives (etcd unreachable for longer than the TTL) is
 * replaced by a new one: the host registers again and reconciles against what it is now assigned.
 *
 * <p>A host cut off from etcd cannot see its lease expire, but the rest of the cluster does and
 * runs the host's instances elsewhere. So the host counts from the last time etcd confirmed the
 * lease: once that is nearly the TTL ago ({@link #leaseHeld()} false), the lease may be gone, and
 * the {@link Reconciler} stops the host's instances (fencing) rather than let them run twice.
 */
final class Registration implements AutoCloseable {
    private final EtcdStore store;
    private final KeySpace keys;
    private final HostRecord host;
    private final long ttlSeconds;
    private volatile long lease;
    private volatile CloseableClient keepAlive;
    private volatile boolean closed;
    private final Object renewing = new Object();
    private final Runnable onNewLease;
    /** System.nanoTime() when etcd last confirmed the lease (granted or kept alive). */
    private volatile long confirmedNanos;

    Registration(EtcdStore store, KeySpace keys, HostRecord host, long ttlSeconds, Runnable onNewLease) {
        this.store = store;
        this.keys = keys;
        this.host = host;
        this.ttlSeconds = ttlSeconds;
        this.onNewLease = onNewLease;
    }

    /** The lease the host's keys live under now. */
    long lease() {
        return lease;
    }

    HostRecord host() {
        return host;
    }

    void start() throws IOException {
        register();
    }

    /**
     * Whether the lease is certainly still alive: etcd confirmed it less than the TTL ago, less a
     * margin (a quarter of the TTL, at most 250 ms) for the confirmation's trip and the fencing's
     * own reaction, so the host stops its instances before the scheduler can place them elsewhere.
     */
    boolean leaseHeld() {
        long ttl = TimeUnit.SECONDS.toNanos(ttlSeconds);
        long margin = Math.min(ttl / 4, TimeUnit.MILLISECONDS.toNanos(250));
        return System.nanoTime() - confirmedNanos < ttl - margin;
    }

    /** Milliseconds since etcd last confirmed the lease. */
    long unconfirmedMillis() {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - confirmedNanos);
    }

    private void register() throws IOException {
        synchronized (renewing) {
            long asked = System.nanoTime(); // the lease's TTL runs from no earlier than this
            long id = EtcdStore.await(store.client.getLeaseClient().grant(ttlSeconds)).getID();
            store.counted(16, 16);
            store.put(keys.host(host.name()), Json.bytes(host.json()), id);
            lease = id;
            confirmedNanos = asked;
            CloseableClient old = keepAlive;
            if (old != null) old.close();
            keepAlive = store.client.getLeaseClient().keepAlive(id, new StreamObserver<>() {
                @Override public void onNext(LeaseKeepAliveResponse r) {
                    if (r.getTTL() <= 0) lost(id); // etcd answers TTL 0 for a lease that expired
                    else if (id == lease) confirmedNanos = System.nanoTime();
                }
                @Override public void onError(Throwable t) {
                    lost(id);
                }
                @Override public void onCompleted() {
                    lost(id);
                }
            });
        }
        onNewLease.run();
    }

    /** The lease {@code id} is gone: register again (retrying until etcd answers), unless closing. */
    private void lost(long id) {
        if (closed || id != lease) return;
        Thread.ofVirtual().name("kiln-cluster-reregister").start(() -> {
            while (!closed && id == lease) {
                try {
                    register();
                } catch (IOException | RuntimeException e) {
                    try {
                        TimeUnit.MILLISECONDS.sleep(500);
                    } catch (InterruptedException ie) {
                        return;
                    }
                }
            }
        });
    }

    /**
     * Leaves the cluster at once: the lease is revoked, so the host's record and statuses go now
     * and its instances are placed elsewhere without waiting for the TTL.
     */
    @Override
    public void close() {
        closed = true;
        CloseableClient k = keepAlive;
        if (k != null) k.close();
        try {
            EtcdStore.await(store.client.getLeaseClient().revoke(lease));
        } catch (IOException | RuntimeException e) {
            // etcd is unreachable: the lease expires by itself
        }
    }
}
