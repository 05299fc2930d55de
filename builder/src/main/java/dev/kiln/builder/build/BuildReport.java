package dev.kiln.builder.build;

import dev.kiln.builder.upstream.PatchStats;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * What a build produced and what it cost.
 *
 * @param image     the stripped hvt image
 * @param debug     the same image with symbols and debug info, for gdb
 * @param compiled  objects compiled in this build
 * @param cached    objects taken from the content-hash cache
 * @param sizes     bytes by library, from the link map
 * @param imageSize bytes of the stripped image file
 * @param entryToMain instructions from the entry point to main (null if main was not found)
 * @param floatingPoint built without -mgeneral-regs-only (some manifest has float = true or an upstream)
 * @param patches   for each library (or the app, by its name) with an [upstream] table, the size of its patches
 * @param upstreamUnpacked upstream trees unpacked (and patched) in this build
 * @param upstreamBuilt    upstream build systems run in this build
 */
public record BuildReport(Path image, Path debug, int compiled, int cached, Map<String, LinkMap.Sizes> sizes,
                          long imageSize, EntryPath.Count entryToMain, long millis, boolean floatingPoint,
                          Map<String, PatchStats> patches, int upstreamUnpacked, int upstreamBuilt) {
    public BuildReport {
        patches = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(patches));
    }

    public String table() {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%-14s %8s %8s %8s %8s %8s%n", "library", "text", "rodata", "data", "bss", "total"));
        long[] sum = new long[5];
        for (Map.Entry<String, LinkMap.Sizes> e : sizes.entrySet()) {
            LinkMap.Sizes s = e.getValue();
            b.append(String.format(Locale.ROOT, "%-14s %8d %8d %8d %8d %8d%n", e.getKey(), s.text(), s.rodata(), s.data(), s.bss(), s.total()));
            sum[0] += s.text();
            sum[1] += s.rodata();
            sum[2] += s.data();
            sum[3] += s.bss();
            sum[4] += s.total();
        }
        b.append(String.format(Locale.ROOT, "%-14s %8d %8d %8d %8d %8d%n", "(all)", sum[0], sum[1], sum[2], sum[3], sum[4]));
        return b.toString();
    }
}
