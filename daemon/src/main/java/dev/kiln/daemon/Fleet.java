package dev.kiln.daemon;

import dev.kiln.monitor.Instance;
import dev.kiln.monitor.InstanceSpec;
import dev.kiln.monitor.StopCause;
import dev.kiln.monitor.image.HvtImage;
import dev.kiln.monitor.vstate.Snapshot;
import dev.kiln.monitor.vstate.SnapshotException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The instances one daemon hosts, as records (in {@link StateDb}): each made (checked, given an
 * id, a name and an address, recorded), loaded again when the daemon starts, cloned from a live
 * one, or forgotten. Their runs are {@link Runs}'s; finding one by id or name is the
 * {@link Roster}'s.
 */
final class Fleet {
    static final Pattern NAME = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}");

    /**
     * {@code net}: a tap on the daemon's bridge and an address; {@code ports} need it;
     * {@code scaleToZeroMillis}: idle time before the instance sleeps (0: never; needs ports).
     */
    record CreateRequest(String image, String name, int memoryMiB, List<String> args, boolean start,
                         boolean net, List<PortMapping> ports, long scaleToZeroMillis) {
        CreateRequest(String image, String name, int memoryMiB, List<String> args, boolean start) {
            this(image, name, memoryMiB, args, start, false, List.of(), 0);
        }
    }

    private final StateDb db;
    private final ImageStore images;
    private final Roster roster;
    private final Runs runs;
    private final NetworkWiring wiring;
    /** Holds the ports of scale-to-zero instances. */
    private final ScaleToZero scaleToZero;
    private final Path logDir;
    private final Path snapshotDir;
    private final long logCapBytes;
    private final EventStream events;
    private final Object addressLock = new Object();

    Fleet(StateDb db, ImageStore images, Roster roster, Runs runs, NetworkWiring wiring, ScaleToZero scaleToZero,
          Path logDir, Path snapshotDir, long logCapBytes, EventStream events) {
        this.db = db;
        this.images = images;
        this.roster = roster;
        this.runs = runs;
        this.wiring = wiring;
        this.scaleToZero = scaleToZero;
        this.logDir = logDir;
        this.snapshotDir = snapshotDir;
        this.logCapBytes = logCapBytes;
        this.events = events;
    }

    /**
     * Loads every record and boots again (fresh) each one whose desired state is running: what a
     * daemon killed in any way had running runs again, and nothing recorded is lost.
     */
    Recovery recover() throws IOException {
        return recover(true);
    }

    /**
     * What a start found: the instances booted again, how long that took, and what could not be
     * done (each named).
     */
    record Recovery(int booted, long nanos, List<String> problems) {}

    /**
     * Loads every record; with {@code boot}, boots the ones meant to run. A clustered daemon loads
     * without booting: what runs is what etcd assigns it, which its reconciler starts.
     */
    Recovery recover(boolean boot) throws IOException {
        List<String> problems = new ArrayList<>();
        for (StateDb.InstanceRow r : db.instances()) {
            HostedState was = HostedState.parse(r.state());
            // A run cut short by the daemon's end is not an exit of the guest's own.
            HostedState now = was.live() ? HostedState.STOPPED : was;
            GuestNet net = r.netAddress() == null ? null : new GuestNet(Subnet.address(r.netAddress()),
                    r.ports().stream().map(p -> PortMapping.parse(p, "ports")).toList());
            Hosted h = new Hosted(r.id(), r.name(), r.imageSha256(), r.memoryMiB(), r.args(), r.createdMillis(),
                    new ConsoleLog(logDir, r.id(), logCapBytes), now, r.desired(), r.exitStatus(), net, r.scaleToZeroMillis());
            roster.load(h);
        }
        long t0 = System.nanoTime();
        List<Hosted> toBoot = new ArrayList<>();
        for (Hosted h : roster.unordered()) {
            if (h.scaleToZeroMillis > 0) {
                try {
                    scaleToZero.watch(h);
                } catch (IOException e) {
                    problems.add("instance " + h.id + ": cannot hold its ports: " + e.getMessage());
                }
            }
            if (boot && "running".equals(h.desired)) toBoot.add(h);
        }
        int[] booted = new int[1];
        db.batch(() -> booted[0] = bootAll(toBoot, problems));
        return new Recovery(booted[0], System.nanoTime() - t0, problems);
    }

    /**
     * Boots {@code hosts} again, one thread per core taking the next one: after a kill -9 the
     * daemon's start waits for all of them (1,000 took 1.36 s on one thread here), and each boot
     * is mostly the kernel making a VM, which other cores can do at the same time. Returns how many
     * booted; each that could not is named in {@code problems}.
     */
    private int bootAll(List<Hosted> hosts, List<String> problems) {
        java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger booted = new java.util.concurrent.atomic.AtomicInteger();
        List<String> failed = java.util.Collections.synchronizedList(new ArrayList<>());
        Runnable worker = () -> {
            for (int i; (i = next.getAndIncrement()) < hosts.size(); ) {
                Hosted h = hosts.get(i);
                try {
                    runs.start(h);
                    booted.incrementAndGet();
                } catch (ApiException e) {
                    failed.add("instance " + h.id + " could not be started again: " + e.getMessage());
                }
            }
        };
        int threads = Math.min(hosts.size(), Runtime.getRuntime().availableProcessors());
        List<Thread> started = new ArrayList<>();
        for (int t = 1; t < threads; t++) started.add(Thread.ofPlatform().name("kiln-recover-" + t).start(worker));
        worker.run();
        for (Thread t : started) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        problems.addAll(failed);
        return booted.get();
    }

    Hosted create(CreateRequest req) throws IOException {
        return createAs(null, req);
    }

    /** As {@link #create}, under a given id (a cluster names its instances itself), or a new one when null. */
    Hosted createAs(String givenId, CreateRequest req) throws IOException {
        if (givenId != null && roster.holds(givenId)) throw ApiException.conflict("instance " + givenId + " exists");
        StateDb.ImageRow image = images.resolve(req.image(), "image");
        if (req.name() != null && !NAME.matcher(req.name()).matches()) {
            throw ApiException.invalid("name", "name must be 1 to 63 letters, digits, '_', '.' or '-', starting with a letter or digit");
        }
        HvtImage parsed = images.image(image.sha256());
        try {
            // Checked now, not at the first start: a spec the monitor would refuse is never recorded.
            new InstanceSpec(parsed, (long) req.memoryMiB() << 20, req.args(), java.io.OutputStream.nullOutputStream(), null);
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid("args", e.getMessage());
        }
        wiring.check(req, parsed);
        String id = givenId != null ? givenId : roster.newId();
        // Addresses and host ports are chosen and recorded under one lock: two creates never get the same.
        Hosted h;
        synchronized (addressLock) {
            GuestNet net = req.net() ? wiring.place(req.ports()) : null;
            h = new Hosted(id, req.name(), image.sha256(), req.memoryMiB(), req.args(), System.currentTimeMillis(),
                    new ConsoleLog(logDir, id, logCapBytes), HostedState.CREATED, req.start() ? "running" : "stopped", null,
                    net, req.scaleToZeroMillis());
            if (!roster.claimName(h)) {
                throw new ApiException(409, "name_in_use", "an instance is already named '" + h.name + "'", "name");
            }
            try {
                db.putInstance(new StateDb.InstanceRow(id, h.name, h.imageSha256, h.memoryMiB, h.args, h.desired,
                        h.state.label(), null, h.createdMillis, net == null ? null : Subnet.format(net.address()),
                        net == null ? List.of() : net.portTexts(), h.scaleToZeroMillis));
            } catch (RuntimeException e) {
                roster.releaseName(h);
                throw e;
            }
            roster.add(h);
        }
        events.publish("created", id, h.name, h.state.label(), null);
        if (h.scaleToZeroMillis > 0) {
            try {
                scaleToZero.watch(h);
            } catch (IOException e) {
                delete(h);
                throw new ApiException(409, "port_in_use", "cannot listen on a published port: " + e.getMessage(), "ports");
            }
        }
        if (req.start()) {
            try {
                runs.start(h);
            } catch (ApiException e) {
                // create+start is one request: a start refused (no capacity) leaves no record behind
                delete(h);
                throw e;
            }
        }
        return h;
    }

    /** Stops a live run first, then forgets the instance: record, logs and all. */
    void delete(Hosted h) {
        Instance live = null;
        synchronized (h) {
            if (!roster.remove(h)) throw ApiException.notFound("instance", h.id);
            db.deleteInstance(h.id);
            if (h.state.live()) {
                h.stopRequested = true;
                live = h.current;
                live.stop(StopCause.REQUESTED);
            }
        }
        if (live != null) runs.awaitEnd(h, live);
        if (scaleToZero != null) scaleToZero.forget(h);
        synchronized (h) {
            runs.dropStandby(h, false);
            wiring.dropKeptTap(h);
            if (h.sleepFile != null) {
                try {
                    Files.deleteIfExists(h.sleepFile);
                } catch (IOException e) {
                    // a stale snapshot file in the state dir harms nothing
                }
            }
        }
        h.log.delete();
        events.publish("deleted", h.id, h.name, null, null);
    }

    /**
     * {@code count} clones of a live instance: a snapshot of it, each clone restored from it (its
     * pages shared copy-on-write) and running at once. Each clone is a record of its own, with the
     * source's spec: after a daemon restart it boots fresh, as every instance does.
     */
    List<Hosted> cloneOf(Hosted source, int count) throws IOException {
        if (source.net != null) {
            // each clone would wake up holding the source's address and connections
            throw ApiException.conflict("instance " + source.id + " has a network: its clones would share its address");
        }
        Path file = snapshotDir.resolve(source.id + "-clone-" + System.nanoTime() + ".snap");
        runs.snapshotTo(source, file);
        List<Hosted> clones = new ArrayList<>();
        try (Snapshot snapshot = Snapshot.open(file)) {
            for (int n = 0; n < count; n++) {
                Hosted c = create(new CreateRequest(source.imageSha256, null, source.memoryMiB, source.args, false));
                runs.startWith(c, snapshot);
                clones.add(c);
            }
        } catch (SnapshotException e) {
            throw new ApiException(500, "snapshot_failed", e.getMessage(), null);
        } finally {
            // Each clone maps the file privately; the mappings keep what they need after it is gone.
            Files.deleteIfExists(file);
        }
        return clones;
    }
}
