package dev.kiln.daemon;

import dev.kiln.monitor.AdmissionException;
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
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The runs of the instances one daemon hosts (monitor instances) and every lifecycle transition:
 * start (a fresh boot or a restore), stop, pause, resume, snapshot, sleep and wake (scale to zero),
 * and a run's end, each recorded and published as an event. Each {@link Hosted}'s transitions
 * happen under its own lock, so requests on different instances never wait for each other.
 */
final class Runs implements AutoCloseable {
    /** How long a stop waits for the guest to end before answering (it ends within microseconds). */
    private static final long STOP_WAIT_SECONDS = 10;

    private final Monitor monitor;
    private final StateDb db;
    private final ImageStore images;
    private final EventStream events;
    private final Roster roster;
    private final NetworkWiring wiring;
    /** Where sleep snapshots and the API's snapshots are written. */
    private final Path snapshotDir;
    private volatile boolean closing;

    final AtomicLong boots = new AtomicLong();
    final Map<String, AtomicLong> exitsByKind = new ConcurrentHashMap<>();
    /** Console bytes of runs that ended (live runs are read from their instances). */
    final AtomicLong consoleBytesEnded = new AtomicLong();

    Runs(Monitor monitor, StateDb db, ImageStore images, EventStream events, Roster roster, NetworkWiring wiring,
         Path snapshotDir) {
        this.monitor = monitor;
        this.db = db;
        this.images = images;
        this.events = events;
        this.roster = roster;
        this.wiring = wiring;
        this.snapshotDir = snapshotDir;
        for (String kind : List.of("halted", "faulted", "stopped")) exitsByKind.put(kind, new AtomicLong());
    }

    /** Boots a fresh run of {@code h}; a live one is a conflict. */
    void start(Hosted h) {
        startWith(h, null);
    }

    /** Boots {@code h} fresh, or restored from {@code snapshot} (a clone). */
    void startWith(Hosted h, Snapshot snapshot) {
        synchronized (h) {
            if (h.state.live()) throw ApiException.conflict("instance " + h.id + " is already " + h.state.label());
            if (!roster.holds(h.id) && snapshot == null) throw ApiException.notFound("instance", h.id);
            dropStandby(h, true);
            launch(h, make(h, snapshot, null));
        }
    }

    /**
     * A new monitor instance for {@code h}, not started: booted fresh, or restored from
     * {@code snapshot} (with the pages of {@code prefetch} mapped in ahead, if not null).
     */
    private Instance make(Hosted h, Snapshot snapshot, dev.kiln.monitor.vstate.WorkingSet prefetch) {
        HvtImage image = images.image(h.imageSha256);
        InstanceSpec spec = new InstanceSpec(image, (long) h.memoryMiB << 20, h.args, h.log, null);
        if (h.net != null) spec = wiring.attach(h, spec, image);
        try {
            return snapshot == null ? monitor.create(spec) : monitor.restore(snapshot, spec, prefetch);
        } catch (ImageException | SnapshotException | RuntimeException e) {
            wiring.removeTap(h);
            throw failedBoot(h, e);
        }
    }

    /** Starts {@code instance}, made for {@code h}, as its current run; under {@code h}'s lock. */
    private void launch(Hosted h, Instance instance) {
        if (h.sleepFile != null) {
            try {
                Files.deleteIfExists(h.sleepFile); // woken from it, or booted fresh instead: done with
            } catch (IOException e) {
                instance.close();
                wiring.removeTap(h);
                throw new UncheckedIOException(e);
            }
            h.sleepFile = null;
        }
        h.sleepWorkingSet = null;
        try {
            instance.start();
            wiring.publish(h);
        } catch (IOException e) {
            instance.stop(StopCause.REQUESTED);
            instance.close();
            wiring.detach(h, closing);
            throw new ApiException(500, "network_failed", "instance " + h.id + ": cannot publish its ports: " + e.getMessage(), "ports");
        } catch (RuntimeException | OutOfMemoryError e) { // no thread to be had: nothing half-started is kept
            instance.close();
            wiring.removeTap(h);
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

    private static ApiException failedBoot(Hosted h, Exception e) {
        return switch (e) {
            case AdmissionException a -> new ApiException(409, "no_capacity", a.getMessage(), null);
            case ImageException i -> ApiException.unprocessable("image", "cannot_boot", i.getMessage());
            case SnapshotException s -> ApiException.unprocessable("image", "cannot_boot", s.getMessage());
            default -> new ApiException(500, "boot_failed", "instance " + h.id + " could not be created: " + e.getMessage(), null);
        };
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
                wiring.detach(h, closing);
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
            if (slept) prepareWake(h); // before it is seen asleep: a wake from then on only starts it
            if (!closing && roster.holds(h.id)) db.setStates(h.id, h.desired, h.state.label(), status);
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
            if (h.state != HostedState.RUNNING || !roster.holds(h.id)) return false;
            Path file = snapshotDir.resolve(h.id + "-sleep.snap");
            try {
                h.current.pause();
                h.current.snapshot(file);
                h.sleepWorkingSet = h.current.workingSet();
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
     * Restores a sleeping instance's snapshot now, into a VM that does not run yet, so that its
     * wake only starts it: the restore (a new VM, the memory mapped, the vCPU loaded; ~4 ms here)
     * leaves the path of the connection that wakes it. The pages the guest had touched before it
     * slept are mapped in ahead as the standby's own (of a guest booted fresh, only those the
     * snapshot stores: see {@link dev.kiln.monitor.vstate.WorkingSet#exact}), so the woken
     * guest faults on them about once per 8 instead of once each (REAP's record-and-prefetch, see
     * {@link Snapshot#prefetch}); the rest of its memory is the snapshot file's pages, shared and
     * clean. The standby keeps the instance's memory reservation, so its wake is never refused for
     * want of memory. When it cannot be made the wake restores as before.
     */
    private void prepareWake(Hosted h) {
        synchronized (h) {
            if (closing || h.state != HostedState.SLEEPING || h.sleepFile == null || h.standby != null || !roster.holds(h.id)) return;
            try (Snapshot snapshot = Snapshot.open(h.sleepFile)) {
                h.standby = make(h, snapshot, h.sleepWorkingSet);
            } catch (SnapshotException | ApiException e) {
                System.err.println("kiln daemon: instance " + h.id + ": its wake is not made ahead: " + e.getMessage());
            }
        }
    }

    /**
     * Closes the standby of a sleeping instance, if it has one. {@code keepTap}: its tap is kept
     * for the run that follows (else it is removed, for an instance deleted or a daemon closing).
     * Under {@code h}'s lock.
     */
    void dropStandby(Hosted h, boolean keepTap) {
        if (h.standby == null) return;
        h.standby.close();
        h.standby = null;
        if (h.net == null) return;
        if (keepTap) h.tapKept = true;
        else wiring.removeTap(h);
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
            if (h.state.live() || !roster.holds(h.id)) return false;
            if (h.standby != null) {
                Instance standby = h.standby;
                h.standby = null;
                launch(h, standby);
                return true;
            }
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

    /** Waits for the run {@code i} of {@code h}, stopped already, to end and be recorded. */
    void awaitEnd(Hosted h, Instance i) {
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
        for (Hosted h : roster.unordered()) {
            synchronized (h) {
                dropStandby(h, false);
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
