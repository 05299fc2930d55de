package dev.kiln.cli;

import dev.kiln.cli.CommandLines.UsageException;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A guest memory size from the command line, in whole MiB. A plain number is MiB, as solo5-hvt's
 * {@code --mem} reads it (so {@code --mem=512} means the same to both); {@code M}/{@code MiB} and
 * {@code G}/{@code GiB} suffixes (any case) are accepted too, so {@code 64M} and {@code 1G} work.
 * Only whole MiB: the monitor maps guest RAM in MiB and a fraction would be silently dropped.
 */
record MemorySize(long mebibytes) {
    private static final Pattern SIZE = Pattern.compile("(\\d{1,9})\\s*(|m|mib|g|gib)", Pattern.CASE_INSENSITIVE);

    long bytes() {
        return mebibytes << 20;
    }

    /**
     * Reads {@code text}, given as {@code typed} (the option and its value as typed, for the error),
     * and checks it lies in {@code min..max} MiB.
     */
    static MemorySize parse(String typed, String text, long min, long max) throws UsageException {
        Matcher m = SIZE.matcher(text.strip());
        if (!m.matches()) {
            throw new UsageException(typed + ": not a memory size: give MiB as a whole number (64),"
                    + " or with a suffix M or G (64M, 1G)");
        }
        long n = Long.parseLong(m.group(1));
        long mib = m.group(2).toLowerCase(Locale.ROOT).startsWith("g") ? n * 1024 : n;
        if (mib < min || mib > max) {
            throw new UsageException(typed + ": must be in " + min + ".." + max + " MiB (" + min + "M.."
                    + (max % 1024 == 0 ? max / 1024 + "G" : max + "M") + ")");
        }
        return new MemorySize(mib);
    }
}
