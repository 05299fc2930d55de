package dev.kiln.daemon;

import dev.kiln.monitor.Instance;
import dev.kiln.monitor.InstanceStats;

import java.util.List;

/**
 * One instance as the daemon hosts it: its record (what to boot) and its runtime (the monitor's
 * {@link Instance} of the current run, if any). A record outlives runs: every start is a fresh
 * boot with a new monitor instance. Fields past the record are guarded by this object's lock.
 */
final class Hosted {
    final String id;
    final String name;
    final String imageSha256;
    final int memoryMiB;
    final List<String> args;
    final long createdMillis;
    final ConsoleLog log;
    /** Its place on the bridge, or null for an instance without a network. */
    final GuestNet net;
    /** Idle time after which it is snapshotted and stopped until the next connection (0: never). */
    final long scaleToZeroMillis;

    HostedState state;
    /** What the user last asked for: "running" or "stopped"; a restarted daemon boots "running" ones. */
    String desired;
    Integer exitStatus;
    String outcome;
    /** The current or last run's monitor instance (closed once the run ended), or null. */
    Instance current;
    /** Stats of the last run, taken before its instance was closed. */
    InstanceStats lastStats;
    boolean stopRequested;
    /** The run is being stopped to sleep (scale to zero): its end is SLEEPING, not STOPPED. */
    boolean sleepRequested;
    /** The snapshot a sleeping instance wakes from, or null. */
    java.nio.file.Path sleepFile;
    /** Its tap was kept through a sleep, so a wake does not pay for making one again. */
    boolean tapKept;
    /**
     * A sleeping instance's wake made ahead: its sleep snapshot restored into a VM that has not
     * run (the tap attached, no thread), so a connection only starts it; null when none was made.
     */
    Instance standby;
    /** The pages its guest had touched when it went to sleep: what its standby maps in ahead. */
    dev.kiln.monitor.vstate.WorkingSet sleepWorkingSet;
    long boots;
    long startedMillis;
    long endedMillis;

    Hosted(String id, String name, String imageSha256, int memoryMiB, List<String> args, long createdMillis,
           ConsoleLog log, HostedState state, String desired, Integer exitStatus, GuestNet net, long scaleToZeroMillis) {
        this.id = id;
        this.name = name;
        this.imageSha256 = imageSha256;
        this.memoryMiB = memoryMiB;
        this.args = List.copyOf(args);
        this.createdMillis = createdMillis;
        this.log = log;
        this.state = state;
        this.desired = desired;
        this.exitStatus = exitStatus;
        this.net = net;
        this.scaleToZeroMillis = scaleToZeroMillis;
    }

    /** Stats of the run in progress, else of the last one, else null. */
    synchronized InstanceStats stats() {
        if (current != null && state.live()) return current.stats();
        return lastStats;
    }
}
