package dev.kiln.builder.build;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a GNU ld link map ({@code -Map}) into bytes by library and kind: only input sections that
 * made it into the image count (the "Discarded input sections" block is skipped, so
 * {@code --gc-sections} shows).
 */
public final class LinkMap {
    private LinkMap() {}

    /** Bytes of one library in each kind of output section. */
    public record Sizes(long text, long rodata, long data, long bss) {
        public long total() {
            return text + rodata + data + bss;
        }

        Sizes plus(String kind, long n) {
            return switch (kind) {
                case "text" -> new Sizes(text + n, rodata, data, bss);
                case "rodata" -> new Sizes(text, rodata + n, data, bss);
                case "data" -> new Sizes(text, rodata, data + n, bss);
                case "bss" -> new Sizes(text, rodata, data, bss + n);
                default -> this;
            };
        }
    }

    private static final Pattern OUTPUT = Pattern.compile("^(\\.[\\w.]+)\\s*(0x[0-9a-f]+\\s+0x[0-9a-f]+)?.*");
    private static final Pattern ONE_LINE = Pattern.compile("^ (\\S+)\\s+0x([0-9a-f]+)\\s+0x([0-9a-f]+)\\s+(\\S+)$");
    private static final Pattern NAME_ONLY = Pattern.compile("^ (\\S+)$");
    private static final Pattern REST = Pattern.compile("^\\s+0x([0-9a-f]+)\\s+0x([0-9a-f]+)\\s+(\\S+)$");

    /** The size table's row for code the compiler optimized across libraries at link time. */
    public static final String LTO_OWNER = "(lto, mixed)";
    private static final Pattern LTO_OBJECT = Pattern.compile(".*\\.(lto|ltrans\\d*(\\.ltrans)?)\\.o$");

    /** An object gcc's link-time optimizer made ({@code ccXXXX.lto.o}, {@code ccXXXX.ltrans0.ltrans.o}). */
    public static boolean isLtoObject(String file) {
        return LTO_OBJECT.matcher(file).matches();
    }

    /** {@code /path/libc.a(printf.o)}: a member of an archive, as GNU ld's map names it. */
    private static final Pattern MEMBER = Pattern.compile("^(.+\\.a)\\([^()]+\\)$");

    /**
     * @param owner maps an object file path (as the map prints it) to its library, or null to skip;
     *              an archive member the owner does not know is asked for by its archive's path
     */
    public static Map<String, Sizes> sizesByLibrary(List<String> lines, Function<String, String> owner) {
        Map<String, Sizes> out = new LinkedHashMap<>();
        boolean inMap = false;
        String kind = null;
        String pendingName = null;
        for (String line : lines) {
            if (!inMap) {
                inMap = line.startsWith("Linker script and memory map");
                continue;
            }
            Matcher m;
            if (!line.startsWith(" ") && (m = OUTPUT.matcher(line)).matches()) {
                kind = kindOf(m.group(1));
                pendingName = null;
                continue;
            }
            long size;
            String file;
            if ((m = ONE_LINE.matcher(line)).matches()) {
                size = Long.parseLong(m.group(3), 16);
                file = m.group(4);
            } else if (pendingName != null && (m = REST.matcher(line)).matches()) {
                size = Long.parseLong(m.group(2), 16);
                file = m.group(3);
            } else {
                pendingName = NAME_ONLY.matcher(line).matches() && line.startsWith(" .") ? line.strip() : null;
                continue;
            }
            pendingName = null;
            String lib = owner.apply(file);
            if (lib == null && (m = MEMBER.matcher(file)).matches()) lib = owner.apply(m.group(1));
            if (lib == null || kind == null || size == 0) continue;
            String k = kind;
            out.merge(lib, new Sizes(0, 0, 0, 0).plus(k, size), (a, b) -> a.plus(k, b.total()));
        }
        return out;
    }

    private static String kindOf(String outputSection) {
        if (outputSection.startsWith(".text")) return "text";
        if (outputSection.startsWith(".rodata") || outputSection.startsWith(".note") || outputSection.equals(".interp")) return "rodata";
        if (outputSection.startsWith(".data")) return "data";
        if (outputSection.startsWith(".bss")) return "bss";
        return null;
    }
}
