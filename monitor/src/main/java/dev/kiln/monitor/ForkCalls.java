package dev.kiln.monitor;

import dev.kiln.monitor.extension.KilnAbi;
import dev.kiln.monitor.hvt.GuestFault;
import dev.kiln.monitor.hvt.GuestMemory;
import dev.kiln.monitor.kvm.KvmException;
import dev.kiln.monitor.kvm.LibC;
import dev.kiln.monitor.vstate.VcpuState;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.locks.LockSupport;

/**
 * Kiln's FORK and WAIT hypercalls for one instance (docs/kiln-abi.md 1.1, 1.2): making a child
 * instance from the guest's memory and vCPU, and reaping the children it waits for. Runs on the
 * parent's vCPU thread.
 */
final class ForkCalls {
    private final Monitor monitor;
    private final Instance parent;
    private final GuestMemory memory;
    /** Children this guest forked and has not waited for; made on its first FORK. */
    private volatile Children children;

    ForkCalls(Monitor monitor, Instance parent, GuestMemory memory) {
        this.monitor = monitor;
        this.parent = parent;
        this.memory = memory;
    }

    /** FORK (docs/kiln-abi.md 1.1): {@code struct kiln_hc_fork { int64_t ret; }}. */
    void fork(long gpa, VcpuLoop loop, boolean hasDevices) throws GuestFault {
        MemorySegment arg = memory.range(gpa, KilnAbi.FORK_SIZE, "FORK argument");
        GuestMemory.putLong(arg, KilnAbi.FORK_RET, forkChild(gpa, loop, hasDevices));
    }

    /** Whether the parent is being stopped or paused (WAIT then returns early, as POLL does). */
    interface StopCheck {
        boolean stopping();
    }

    private long forkChild(long gpa, VcpuLoop loop, boolean hasDevices) {
        if (hasDevices) return KilnAbi.EOPNOTSUPP;
        Children kids = children;
        if (kids == null) children = kids = new Children();
        if (kids.count() >= KilnAbi.MAX_CHILDREN || monitor.forkedLive() >= KilnAbi.MAX_FORKED) return KilnAbi.EAGAIN;
        loop.completePendingIo(); // the child's vCPU state is the one after the OUT
        VcpuState state = VcpuState.capture(parent.vcpu());
        Instance child;
        try {
            child = monitor.fork(parent, childId -> {
                int fd = memory.shareForFork();
                try {
                    return InstanceBuilder.forked(monitor, childId, parent, fd, state, gpa);
                } finally {
                    LibC.close(fd);
                }
            });
        } catch (AdmissionException e) {
            return KilnAbi.ENOMEM;
        } catch (KvmException e) {
            Log.LOG.log(System.Logger.Level.WARNING, "instance " + parent.id() + ": FORK failed: " + e.getMessage());
            return KilnAbi.ENOMEM;
        }
        try {
            child.start();
        } catch (OutOfMemoryError | RuntimeException e) { // no thread for it (a fork bomb, say): the parent goes on
            child.close();
            return KilnAbi.EAGAIN;
        }
        kids.add(child);
        child.outcome().whenComplete((o, t) -> {
            if (o instanceof Outcome.Faulted f) {
                Log.LOG.log(System.Logger.Level.WARNING, "instance " + child.id() + " (forked by " + parent.id() + "): "
                        + f.describe());
            }
            loop.unpark(); // a WAIT in progress looks again
        });
        return child.id();
    }

    /** WAIT (docs/kiln-abi.md 1.2): reaps an ended child, blocking up to the guest's timeout. */
    void waitForChild(long gpa, StopCheck stopping) throws GuestFault {
        MemorySegment arg = memory.range(gpa, KilnAbi.WAIT_SIZE, "WAIT argument");
        long which = GuestMemory.getLong(arg, KilnAbi.WAIT_ID);
        long timeout = GuestMemory.getLong(arg, KilnAbi.WAIT_TIMEOUT);
        long limit = timeout < 0 || timeout > Long.MAX_VALUE / 4 ? Long.MAX_VALUE / 4 : timeout; // unsigned in
        long start = System.nanoTime();
        while (true) {
            Children kids = children;
            Children.Lookup found = kids == null ? new Children.Lookup(false, null) : kids.find(which);
            if (!found.exists()) {
                GuestMemory.putLong(arg, KilnAbi.WAIT_RET, KilnAbi.ECHILD);
                return;
            }
            Instance ended = found.ended();
            if (ended != null) {
                Outcome o = ended.outcome().join();
                kids.remove(ended);
                ended.close();
                GuestMemory.putLong(arg, KilnAbi.WAIT_RET, ended.id());
                GuestMemory.putInt(arg, KilnAbi.WAIT_STATUS, o instanceof Outcome.Halted h ? h.status() : 255);
                GuestMemory.putInt(arg, KilnAbi.WAIT_HOW, switch (o) {
                    case Outcome.Halted h -> KilnAbi.HOW_HALTED;
                    case Outcome.Faulted f -> KilnAbi.HOW_FAULTED;
                    case Outcome.Stopped s -> KilnAbi.HOW_STOPPED;
                });
                return;
            }
            long left = limit - (System.nanoTime() - start);
            if (left <= 0 || stopping.stopping()) {
                GuestMemory.putLong(arg, KilnAbi.WAIT_RET, 0);
                return;
            }
            LockSupport.parkNanos(Math.min(left, 50_000_000L));
        }
    }

    /** The parent ended: its children still running are stopped (docs/kiln-abi.md 1.1). */
    void stopChildren() {
        Children kids = children;
        if (kids != null) {
            for (Instance c : kids.all()) c.stop(StopCause.PARENT_EXITED);
        }
    }

    /** The parent is closed: so are its children not waited for. */
    void closeChildren() {
        Children kids = children;
        if (kids != null) {
            for (Instance c : kids.all()) c.close();
        }
    }

    /**
     * The logger, in a holder class: java.util.logging's set-up (service lookup, jar reading) costs
     * ~15 ms, which a plain {@code kiln run} that never logs should not pay at start-up.
     */
    private static final class Log {
        static final System.Logger LOG = System.getLogger("dev.kiln.monitor");
    }
}
