package dev.kiln.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** This process's CPU time and memory, and host memory, as /proc tells them: for the benchmarks' per-instance costs. */
final class ProcessUsage {
    private ProcessUsage() {
    }

    /** This process's user + system CPU time so far (/proc/self/stat fields 14 and 15, in clock ticks of 10 ms). */
    static long cpuNanos() throws IOException {
        String stat = Files.readAllLines(Path.of("/proc/self/stat")).getFirst();
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10_000_000L;
    }

    static long rssBytes() throws IOException {
        return procKiB("/proc/self/status", "VmRSS:");
    }

    /** A "Name:   N kB" line of a /proc file (status, meminfo), in bytes. */
    static long procKiB(String file, String name) throws IOException {
        for (String line : Files.readAllLines(Path.of(file))) {
            if (line.startsWith(name)) return Long.parseLong(line.replaceAll("[^0-9]", "")) << 10;
        }
        throw new IOException(file + " has no " + name + " line");
    }
}
