package dev.kiln.daemon;

/**
 * What the host offers instances: its physical memory, and the guest-memory budget the daemon's
 * monitor admits instances against (by default all of it: idle guests touch few of their pages).
 */
record HostCapacity(long physicalBytes, long budgetBytes) {
    static long physicalMemory() {
        var os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) return sun.getTotalMemorySize();
        return Runtime.getRuntime().maxMemory();
    }
}
