package dev.kiln.cluster;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;

/**
 * Chooses a host for each instance from what every host offers and what is placed on it already:
 * memory (the guest memory each instance reserves) and vCPUs (one per instance, handed out
 * {@link #VCPUS_PER_CORE} per core: unikernels idle most of the time). Pure bookkeeping, no etcd:
 * the scheduler feeds it and writes its choices.
 */
final class Placement {
    /** Idle unikernels cost next to no CPU: a core is shared by this many vCPUs before a host is full. */
    static final int VCPUS_PER_CORE = 64;

    /** Spread: the host with the most free memory (even load, failures lose least); pack: the fullest that fits. */
    enum Policy { SPREAD, PACK }

    /** What a host offers and what is placed on it. */
    static final class Load {
        final HostRecord host;
        long usedBytes;
        int vcpus;

        Load(HostRecord host) {
            this.host = host;
        }

        long freeBytes() {
            return host.memoryBudgetBytes() - usedBytes;
        }

        int freeVcpus() {
            return host.cores() * VCPUS_PER_CORE - vcpus;
        }

        boolean fits(InstanceRecord r) {
            return freeBytes() >= ((long) r.memoryMiB() << 20) && freeVcpus() >= 1
                    && host.labels().entrySet().containsAll(r.constraints().entrySet());
        }
    }

    private final Policy policy;
    private final Map<String, Load> loads = new HashMap<>();

    Placement(Policy policy, Collection<HostRecord> hosts) {
        this.policy = policy;
        for (HostRecord h : hosts) loads.put(h.name(), new Load(h));
    }

    /** Counts an instance already placed on {@code host} (a host not alive is ignored). */
    void account(String host, InstanceRecord r) {
        Load l = loads.get(host);
        if (l == null) return;
        l.usedBytes += (long) r.memoryMiB() << 20;
        l.vcpus++;
    }

    boolean alive(String host) {
        return loads.containsKey(host);
    }

    Collection<Load> loads() {
        return loads.values();
    }

    /** The host for {@code r} (and counts it there), or null when none fits. */
    String place(InstanceRecord r) {
        Load best = null;
        for (Load l : loads.values()) {
            if (!l.fits(r)) continue;
            if (best == null || better(l, best)) best = l;
        }
        if (best == null) return null;
        account(best.host.name(), r);
        return best.host.name();
    }

    private boolean better(Load a, Load b) {
        int byMemory = Long.compare(a.freeBytes(), b.freeBytes());
        if (byMemory == 0) byMemory = Integer.compare(a.freeVcpus(), b.freeVcpus());
        if (byMemory == 0) return a.host.name().compareTo(b.host.name()) < 0; // stable: the same choice every pass
        return policy == Policy.SPREAD ? byMemory > 0 : byMemory < 0;
    }
}
