package dev.kiln.daemon;

import dev.kiln.monitor.Instance;
import dev.kiln.monitor.InstanceSpec;
import dev.kiln.monitor.Monitor;
import dev.kiln.monitor.fleet.Burst;
import dev.kiln.monitor.vstate.Snapshot;
import dev.kiln.monitor.vstate.SnapshotException;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The part of a daemon's {@link Fleet} and {@link Runs} a cluster drives from outside this
 * package: a host's reconciler runs what etcd assigns it under the cluster's ids, and removes what
 * it no longer does.
 */
public final class LocalFleet {
    /** One local instance as the cluster sees it. */
    public record Local(String id, String state, String desired, int memoryMiB, boolean live) {}

    private final Fleet fleet;
    private final Roster roster;
    private final Runs runs;
    private final ImageStore images;
    private final HostCapacity capacity;
    private final Monitor monitor;

    LocalFleet(Fleet fleet, Roster roster, Runs runs, ImageStore images, HostCapacity capacity, Monitor monitor) {
        this.monitor = monitor;
        this.fleet = fleet;
        this.roster = roster;
        this.runs = runs;
        this.images = images;
        this.capacity = capacity;
    }

    public List<Local> list() {
        return roster.all().stream().map(h -> {
            synchronized (h) {
                return new Local(h.id, h.state.label(), h.desired, h.memoryMiB, h.state.live());
            }
        }).toList();
    }

    public long memoryBudgetBytes() {
        return capacity.budgetBytes();
    }

    public long memoryReservedBytes() {
        return runs.memoryReserved();
    }

    /**
     * Runs instance {@code id}: boots its record again when it has one that is not live, else makes
     * one; restored from {@code snapshot} when not null (a file every host can read), else fresh.
     */
    public void run(String id, String imagePath, int memoryMiB, List<String> args, Path snapshot) throws IOException {
        Hosted h;
        try {
            h = roster.get(id);
        } catch (ApiException e) {
            h = fleet.createAs(id, new Fleet.CreateRequest(imagePath, null, memoryMiB, args, false));
        }
        synchronized (h) {
            if (h.state.live()) return;
        }
        if (snapshot == null) {
            runs.start(h);
            return;
        }
        try (Snapshot s = Snapshot.open(snapshot)) {
            runs.startWith(h, s);
        } catch (SnapshotException e) {
            runs.start(h); // an unreadable snapshot is no reason not to run: boot fresh
        }
    }

    /** Forgets instance {@code id} (stopping its run first); nothing happens when there is none. */
    public void remove(String id) {
        Hosted h;
        try {
            h = roster.get(id);
        } catch (ApiException e) {
            return;
        }
        fleet.delete(h);
    }

    /**
     * A host's share of a burst, from its {@link Burst}: when it began (epoch ms) and how long after
     * the first and the last instance were up.
     */
    public record BurstShare(int requested, int up, int refused, long startEpochMillis, long firstUpNanos, long lastUpNanos,
                             String firstFailure) {}

    /**
     * Starts {@code count} instances of the image through the monitor's paced burst. Burst
     * instances are runs without records: each is closed when its guest ends by itself.
     */
    public BurstShare burst(String imagePath, int memoryMiB, List<String> args, int count, long timeoutMillis) throws InterruptedException {
        StateDb.ImageRow row = images.resolve(imagePath, "image");
        InstanceSpec spec = new InstanceSpec(images.image(row.sha256()), (long) memoryMiB << 20, args,
                java.io.OutputStream.nullOutputStream(), null);
        long epoch = System.currentTimeMillis();
        Burst b = Burst.start(monitor, spec, count, i -> java.io.OutputStream.nullOutputStream(), timeoutMillis,
                java.util.concurrent.TimeUnit.MILLISECONDS);
        for (Instance i : b.instances()) i.outcome().whenComplete((o, e) -> i.close());
        return new BurstShare(count, b.up(), b.refused() + b.late(), epoch, b.firstUpNanos(), b.lastUpNanos(), b.firstFailure());
    }

    /** Writes a snapshot of live instance {@code id} to {@code file}. */
    public void snapshot(String id, Path file) {
        runs.snapshotTo(roster.get(id), file);
    }
}
