package dev.kiln.daemon;

import dev.kiln.monitor.AdmissionException;
import dev.kiln.monitor.DeviceAttachment;
import dev.kiln.monitor.Instance;
import dev.kiln.monitor.InstanceSpec;
import dev.kiln.monitor.Monitor;
import dev.kiln.monitor.Outcome;
import dev.kiln.monitor.StopCause;
import dev.kiln.monitor.image.HvtImage;
import dev.kiln.monitor.image.ImageException;
import dev.kiln.monitor.vstate.Snapshot;
import dev.kiln.monitor.vstate.SnapshotException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/**
 * The instances one daemon hosts: their records (in {@link StateDb}), their runs (monitor
 * instances), and every lifecycle transition, each recorded and published as an event. Each
 * {@link Hosted}'s transitions happen under its own lock, so requests on different instances never
 * wait for each other.
 */
final class Fleet implements AutoCloseable {
    static final Pattern NAME = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}");
    /** How long a stop waits for the guest to end before answering (it ends within microseconds). */
    private static final long STOP_WAIT_SECONDS = 10;

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

    private final Monitor monitor;
    private final StateDb db;
    private final ImageStore images;
    private final Path logDir;
    private final Path snapshotDir;
    private final long logCapBytes;
    private final EventStream events;
    /** The bridge and its NAT table, or null when this daemon has no network (not root, --no-net). */
    private final HostNetwork network;
    /** Holds the ports of scale-to-zero instances; set once, after construction (it calls back). */
    private ScaleToZero scaleToZero;
    private final Map<String, Hosted> byId = new ConcurrentHashMap<>();
    private final Map<String, Hosted> byName = new ConcurrentHashMap<>();
    private final SecureRandom random = new SecureRandom();
    private volatile boolean closing;

    final AtomicLong boots = new AtomicLong();
    final Map<String, AtomicLong> exitsByKind = new ConcurrentHashMap<>();
    /** Console bytes of runs that ended (live runs are read from their instances). */
    final AtomicLong consoleBytesEnded = new AtomicLong();

    Fleet(Monitor monitor, StateDb db, ImageStore images, Path stateDir, long logCapBytes, EventStream events,
          HostNetwork network) throws IOException {
        this.network = network;
        this.monitor = monitor;
        this.db = db;
        this.images = images;
        this.logDir = Files.createDirectories(stateDir.resolve("logs"));
        this.snapshotDir = Files.createDirectories(stateDir.resolve("snapshots"));
        this.logCapBytes = logCapBytes;
        this.events = events;
        for (String kind : List.of("halted", "faulted", "stopped")) exitsByKind.put(kind, new AtomicLong());
    }

    void scaleToZero(ScaleToZero s) {
        this.scaleToZero = s;
    }

    /**
     * Loads every record and boots again (fresh) each one whose desired state is running: what a
     * daemon killed in any way had running runs again, and nothing recorded is lost.
     */
    List<String> recover() throws IOException {
        return recover(true);
    }

    /**
     * Loads every record; with {@code boot}, boots the ones meant to run. A clustered daemon loads
     * without booting: what runs is what etcd assigns it, which its reconciler starts.
     */
    List<String> recover(boolean boot) throws IOException {
        List<String> problems = new ArrayList<>();
        for (StateDb.InstanceRow r : db.instances()) {
            HostedState was = HostedState.parse(r.state());
            // A run cut short by the daemon's end is not an exit of the guest's own.
            HostedState now = was.live() ? HostedState.STOPPED : was;
            GuestNet net = r.netAddress() == null ? null : new GuestNet(Subnet.address(r.netAddress()),
                    r.ports().stream().map(p -> PortMapping.parse(p, "ports")).toList());
            Hosted h = new Hosted(r.id(), r.name(), r.imageSha256(), r.memoryMiB(), r.args(), r.createdMillis(),
                    new ConsoleLog(logDir, r.id(), logCapBytes), now, r.desired(), r.exitStatus(), net, r.scaleToZeroMillis());
            byId.put(h.id, h);
            if (h.name != null) byName.put(h.name, h);
        }
        for (Hosted h : byId.values()) {
            if (h.scaleToZeroMillis > 0) {
                try {
                    scaleToZero.watch(h);
                } catch (IOException e) {
                    problems.add("instance " + h.id + ": cannot hold its ports: " + e.getMessage());
                }
            }
            if (boot && "running".equals(h.desired)) {
                try {
                    start(h);
                } catch (ApiException e) {
                    problems.add("instance " + h.id + " could not be started again: " + e.getMessage());
                }
            }
        }
        return problems;
    }

    Hosted create(CreateRequest req) throws IOException {
        return createAs(null, req);
    }

    /** As {@link #create}, under a given id (a cluster names its instances itself), or a new one when null. */
    Hosted createAs(String givenId, CreateRequest req) throws IOException {
        if (givenId != null && byId.containsKey(givenId)) throw ApiException.conflict("instance " + givenId + " exists");
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
        checkNetwork(req, parsed);
        String id = givenId != null ? givenId : newId();
        // Addresses and host ports are chosen and recorded under one lock: two creates never get the same.
        Hosted h;
        synchronized (addressLock) {
            GuestNet net = req.net() ? new GuestNet(network.subnet().allocate(takenAddresses()), req.ports()) : null;
            h = new Hosted(id, req.name(), image.sha256(), req.memoryMiB(), req.args(), System.currentTimeMillis(),
                    new ConsoleLog(logDir, id, logCapBytes), HostedState.CREATED, req.start() ? "running" : "stopped", null,
                    net, req.scaleToZeroMillis());
            if (h.name != null && byName.putIfAbsent(h.name, h) != null) {
                throw new ApiException(409, "name_in_use", "an instance is already named '" + h.name + "'", "name");
            }
            try {
                db.putInstance(new StateDb.InstanceRow(id, h.name, h.imageSha256, h.memoryMiB, h.args, h.desired,
                        h.state.label(), null, h.createdMillis, net == null ? null : Subnet.format(net.address()),
                        net == null ? List.of() : net.portTexts(), h.scaleToZeroMillis));
            } catch (RuntimeException e) {
                if (h.name != null) byName.remove(h.name, h);
                throw e;
            }
            byId.put(id, h);
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
                start(h);
            } catch (ApiException e) {
                // create+start is one request: a start refused (no capacity) leaves no record behind
                delete(h);
                throw e;
            }
        }
        return h;
    }

    private final Object addressLock = new Object();

    /** The network, ports and scale-to-zero asked for are possible, and the image has a net device iff asked. */
    private void checkNetwork(CreateRequest req, HvtImage image) {
        List<String> netDevices = netDevices(image);
        if (!req.ports().isEmpty() && !req.net()) throw ApiException.invalid("ports", "published ports need \"net\": true");
        if (req.net() && network == null) {
            throw ApiException.unprocessable("net", "no_network", "this daemon manages no network (it runs as root without --no-net to have one)");
        }
        if (req.net() && netDevices.size() != 1) {
            throw ApiException.unprocessable("net", "no_net_device", "image " + image.name() + " declares "
                    + (netDevices.isEmpty() ? "no net device" : netDevices.size() + " net devices " + netDevices)
                    + "; \"net\": true needs exactly one");
        }
        if (!req.net() && !netDevices.isEmpty()) {
            throw ApiException.unprocessable("net", "net_required", "image " + image.name() + " declares the net device '"
                    + netDevices.getFirst() + "': create the instance with \"net\": true");
        }
        if (req.scaleToZeroMillis() > 0 && req.ports().isEmpty()) {
            throw ApiException.invalid("scale_to_zero_ms", "scale-to-zero wakes an instance on a connection to a published port: it needs \"ports\"");
        }
        java.util.Set<Integer> mine = new java.util.HashSet<>();
        for (PortMapping p : req.ports()) {
            if (!mine.add(p.hostPort())) throw ApiException.invalid("ports", "host port " + p.hostPort() + " is published twice");
        }
        for (Hosted other : byId.values()) {
            if (other.net == null) continue;
            for (PortMapping p : other.net.ports()) {
                if (mine.contains(p.hostPort())) {
                    throw new ApiException(409, "port_in_use", "host port " + p.hostPort() + " is published by instance " + other.id, "ports");
                }
            }
        }
    }

    private static List<String> netDevices(HvtImage image) {
        return image.manifest().devices().stream().filter(d -> d.type().label().equals("net")).map(d -> d.name()).toList();
    }

    private java.util.Set<Integer> takenAddresses() {
        java.util.Set<Integer> taken = new java.util.HashSet<>();
        for (Hosted h : byId.values()) if (h.net != null) taken.add(h.net.address());
        return taken;
    }

    private String newId() {
        byte[] b = new byte[6];
        String id;
        do {
            random.nextBytes(b);
            id = HexFormat.of().formatHex(b);
        } while (byId.containsKey(id));
        return id;
    }

    /** The instance with this id or name. */
    Hosted get(String idOrName) {
        Hosted h = byId.get(idOrName);
        if (h == null) h = byName.get(idOrName);
        if (h == null) throw ApiException.notFound("instance", idOrName);
        return h;
    }

    boolean contains(Hosted h) {
        return byId.get(h.id) == h;
    }

    Collection<Hosted> all() {
        return byId.values().stream().sorted(java.util.Comparator.comparingLong((Hosted x) -> x.createdMillis).thenComparing(x -> x.id)).toList();
    }

    /** Boots a fresh run of {@code h}; a live one is a conflict. */
    void start(Hosted h) {
        startWith(h, null);
    }

    /** Boots {@code h} fresh, or restored from {@code snapshot} (a clone). */
    void startWith(Hosted h, Snapshot snapshot) {
        synchronized (h) {
            if (h.state.live()) throw ApiException.conflict("instance " + h.id + " is already " + h.state.label());
            if (!byId.containsKey(h.id) && snapshot == null) throw ApiException.notFound("instance", h.id);
            HvtImage image = images.image(h.imageSha256);
            InstanceSpec spec = new InstanceSpec(image, (long) h.memoryMiB << 20, h.args, h.log, null);
            if (h.net != null) spec = attachNetwork(h, spec, image);
            Instance instance;
            try {
                instance = snapshot == null ? monitor.create(spec) : monitor.restore(snapshot, spec);
                if (h.sleepFile != null) {
                    Files.deleteIfExists(h.sleepFile); // restored from it, or booted fresh instead: done with
                    h.sleepFile = null;
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (ImageException | SnapshotException | RuntimeException e) {
                if (h.net != null) network.removeTap(h.id);
                throw failedBoot(h, e);
            }
            try {
                instance.start();
                if (h.net != null && h.scaleToZeroMillis == 0) for (PortMapping p : h.net.ports()) network.publish(h.net.address(), p);
            } catch (IOException e) {
                instance.stop(StopCause.REQUESTED);
                instance.close();
                detachNetwork(h);
                throw new ApiException(500, "network_failed", "instance " + h.id + ": cannot publish its ports: " + e.getMessage(), "ports");
            } catch (RuntimeException | OutOfMemoryError e) { // no thread to be had: nothing half-started is kept
                instance.close();
                if (h.net != null) network.removeTap(h.id);
                throw new ApiException(500, "boot_failed", "instance " + h.id + " could not be started: " + e, null);
            }
            h.current = instance;
            h.stopRequested = false;
            h.sleepRequested = false;
            h.exitStatus = null;
            h.outcome = null;
            h.state = HostedState.RUNNING;
            h.desired = "running";
            h.boots++;
            h.startedMillis = System.currentTimeMillis();
            h.endedMillis = 0;
            boots.incrementAndGet();
            db.setStates(h.id, h.desired, h.state.label(), null);
            // Under the instance's lock, as every transition's event: subscribers see them in order.
            events.publish("started", h.id, h.name, HostedState.RUNNING.label(), null);
            instance.outcome().whenComplete((o, err) ->
                    Thread.ofVirtual().name("kiln-end-" + h.id).start(() -> ended(h, instance, o, err)));
        }
    }

    private static ApiException failedBoot(Hosted h, Exception e) {
        return switch (e) {
            case AdmissionException a -> new ApiException(409, "no_capacity", a.getMessage(), null);
            case ImageException i -> ApiException.unprocessable("image", "cannot_boot", i.getMessage());
            case SnapshotException s -> ApiException.unprocessable("image", "cannot_boot", s.getMessage());
            default -> new ApiException(500, "boot_failed", "instance " + h.id + " could not be created: " + e.getMessage(), null);
        };
    }

    /** The instance's tap, made now, as its image's net device, and its address in its arguments. */
    private InstanceSpec attachNetwork(Hosted h, InstanceSpec spec, HvtImage image) {
        String tap;
        try {
            // a tap kept through a sleep is reused: a wake does not wait for ip(8)
            tap = h.tapKept ? HostNetwork.tapName(h.id) : network.addTap(h.id);
            h.tapKept = false;
        } catch (IOException e) {
            throw new ApiException(500, "network_failed", "instance " + h.id + ": cannot make its tap: " + e.getMessage(), "net");
        }
        List<String> args = new ArrayList<>(h.args);
        args.addAll(h.net.guestArgs(network.subnet()));
        return new InstanceSpec(image, spec.memoryBytes(), args, spec.console(), null)
                .withDevices(List.of(new DeviceAttachment.Net(netDevices(image).getFirst(), tap, GuestNet.mac(h.id))));
    }

    /** Unpublishes the ports and removes the tap of a run that ended. */
    private void detachNetwork(Hosted h) {
        if (h.net == null) return;
        if (h.scaleToZeroMillis == 0) for (PortMapping p : h.net.ports()) network.unpublish(p);
        if (h.sleepRequested && !closing) h.tapKept = true;
        else network.removeTap(h.id);
    }

    /** A run ended (by itself or stopped): record it, release the VM, tell followers and subscribers. */
    private void ended(Hosted h, Instance instance, Outcome o, Throwable err) {
        String type;
        HostedState state;
        Integer status;
        synchronized (h) {
            if (h.current != instance) return;
            try {
                h.lastStats = instance.stats();
                consoleBytesEnded.addAndGet(h.lastStats.consoleBytes());
            } finally {
                instance.close(); // whatever stats did: the VM and its memory go back
                detachNetwork(h);
            }
            status = o == null ? 255 : o.exitStatus();
            String kind = o instanceof Outcome.Halted ? "halted" : o instanceof Outcome.Stopped ? "stopped" : "faulted";
            exitsByKind.computeIfAbsent(kind, k -> new AtomicLong()).incrementAndGet();
            h.exitStatus = status;
            h.outcome = o == null ? "monitor error: " + err : o.describe();
            if (h.sleepRequested && !closing) {
                h.exitStatus = status = null; // asleep, not ended: the stop's status says nothing of the guest
                h.outcome = "asleep (scale to zero)";
            }
            h.endedMillis = System.currentTimeMillis();
            boolean stopped = h.stopRequested || closing;
            boolean slept = h.sleepRequested && !closing;
            h.state = state = slept ? HostedState.SLEEPING : stopped ? HostedState.STOPPED : HostedState.EXITED;
            type = slept ? "slept" : stopped ? "stopped" : "exited";
            // A guest that ended by itself reached its end: it is not booted again by a restart.
            if (!stopped && !slept) h.desired = "stopped";
            h.log.endRun();
            if (!closing && byId.containsKey(h.id)) db.setStates(h.id, h.desired, h.state.label(), status);
            events.publish(type, h.id, h.name, state.label(), status);
            h.notifyAll();
        }
    }

    /**
     * Scale to zero: snapshots an idle running instance and stops it; it is SLEEPING, still meant
     * to run, with its tap kept. False when it was not running (stopped meanwhile: nothing to do).
     */
    boolean sleep(Hosted h) {
        Instance i;
        synchronized (h) {
            if (h.state != HostedState.RUNNING || !byId.containsKey(h.id)) return false;
            Path file = snapshotDir.resolve(h.id + "-sleep.snap");
            try {
                h.current.pause();
                h.current.snapshot(file);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                h.current.resume();
                return false;
            } catch (SnapshotException | RuntimeException e) {
                h.current.resume(); // could not sleep: it stays awake
                System.err.println("kiln daemon: instance " + h.id + " cannot sleep: " + e.getMessage());
                return false;
            }
            h.sleepFile = file;
            h.sleepRequested = true;
            i = h.current;
            i.stop(StopCause.REQUESTED);
        }
        awaitEnd(h, i);
        return true;
    }

    /**
     * Makes a scale-to-zero instance run for a connection: restored from its sleep snapshot (or
     * booted fresh when it has none), waiting out a sleep in progress. True when it was woken.
     */
    boolean wake(Hosted h) {
        synchronized (h) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(STOP_WAIT_SECONDS);
            try {
                while (h.sleepRequested && h.state.live() && System.nanoTime() < deadline) h.wait(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
            if (h.state.live() || !byId.containsKey(h.id)) return false;
            if (h.state != HostedState.SLEEPING || h.sleepFile == null) {
                start(h);
                return true;
            }
            try (Snapshot snapshot = Snapshot.open(h.sleepFile)) {
                startWith(h, snapshot);
            } catch (SnapshotException e) {
                throw new ApiException(500, "wake_failed", "instance " + h.id + " cannot wake: " + e.getMessage(), null);
            }
            return true;
        }
    }

    /** Stops a live run and waits for it to end. */
    void stop(Hosted h) {
        Instance i;
        synchronized (h) {
            if (!h.state.live()) throw ApiException.conflict("instance " + h.id + " is " + h.state.label() + ", not running");
            h.stopRequested = true;
            h.desired = "stopped";
            i = h.current;
            i.stop(StopCause.REQUESTED);
        }
        awaitEnd(h, i);
    }

    private void awaitEnd(Hosted h, Instance i) {
        try {
            i.outcome().get(STOP_WAIT_SECONDS, TimeUnit.SECONDS);
            synchronized (h) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(STOP_WAIT_SECONDS);
                while (h.current == i && h.state.live() && System.nanoTime() < deadline) h.wait(100);
            }
        } catch (TimeoutException e) {
            throw new ApiException(500, "stop_timeout", "instance " + h.id + " did not stop within " + STOP_WAIT_SECONDS + " s", null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException e) {
            // the run ended with a monitor error: ended() recorded it
        }
    }

    void pause(Hosted h) {
        synchronized (h) {
            if (h.state != HostedState.RUNNING) throw ApiException.conflict("instance " + h.id + " is " + h.state.label() + ", not running");
            try {
                h.current.pause();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ApiException(500, "interrupted", "interrupted while pausing " + h.id, null);
            } catch (IllegalStateException e) {
                throw ApiException.conflict(e.getMessage());
            }
            h.state = HostedState.PAUSED;
            events.publish("paused", h.id, h.name, HostedState.PAUSED.label(), null);
        }
    }

    void resume(Hosted h) {
        synchronized (h) {
            if (h.state != HostedState.PAUSED) throw ApiException.conflict("instance " + h.id + " is " + h.state.label() + ", not paused");
            h.current.resume();
            h.state = HostedState.RUNNING;
            events.publish("resumed", h.id, h.name, HostedState.RUNNING.label(), null);
        }
    }

    /** Stops a live run first, then forgets the instance: record, logs and all. */
    void delete(Hosted h) {
        Instance live = null;
        synchronized (h) {
            if (!byId.remove(h.id, h)) throw ApiException.notFound("instance", h.id);
            if (h.name != null) byName.remove(h.name, h);
            db.deleteInstance(h.id);
            if (h.state.live()) {
                h.stopRequested = true;
                live = h.current;
                live.stop(StopCause.REQUESTED);
            }
        }
        if (live != null) awaitEnd(h, live);
        if (scaleToZero != null) scaleToZero.forget(h);
        synchronized (h) {
            if (h.tapKept) network.removeTap(h.id);
            h.tapKept = false;
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

    /** Writes a snapshot of a live run (paused for the time it takes) and returns its file. */
    Path snapshot(Hosted h) {
        Path file = snapshotDir.resolve(h.id + "-" + System.currentTimeMillis() + ".snap");
        snapshotTo(h, file);
        return file;
    }

    void snapshotTo(Hosted h, Path file) {
        synchronized (h) {
            if (!h.state.live()) throw ApiException.conflict("instance " + h.id + " is " + h.state.label() + "; only a live instance has a state to snapshot");
            boolean wasRunning = h.state == HostedState.RUNNING;
            try {
                if (wasRunning) h.current.pause();
                h.current.snapshot(file);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ApiException(500, "interrupted", "interrupted while pausing " + h.id, null);
            } catch (IllegalStateException e) {
                throw ApiException.conflict(e.getMessage());
            } catch (SnapshotException e) {
                throw new ApiException(500, "snapshot_failed", e.getMessage(), null);
            } finally {
                if (wasRunning) h.current.resume();
            }
        }
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
        snapshotTo(source, file);
        List<Hosted> clones = new ArrayList<>();
        try (Snapshot snapshot = Snapshot.open(file)) {
            for (int n = 0; n < count; n++) {
                Hosted c = create(new CreateRequest(source.imageSha256, null, source.memoryMiB, source.args, false));
                startWith(c, snapshot);
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

    /** Memory reserved by live runs. */
    long memoryReserved() {
        return monitor.memoryReserved();
    }

    /**
     * Ends every run for the daemon's shutdown, leaving records as they are: what was meant to run
     * runs again at the next start.
     */
    @Override
    public void close() {
        closing = true;
        Map<Hosted, Instance> live = new java.util.HashMap<>();
        for (Hosted h : byId.values()) {
            synchronized (h) {
                if (h.state.live()) {
                    live.put(h, h.current);
                    h.current.stop(StopCause.TERMINATE);
                }
            }
        }
        // Each run's end closes its own instance (ended()); waiting for that keeps the monitor's
        // close, next, from closing the same instance at the same time.
        live.forEach((h, i) -> {
            try {
                awaitEnd(h, i);
            } catch (ApiException e) {
                // shutting down: the monitor's close stops what is left
            }
        });
    }
}
