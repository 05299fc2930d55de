package dev.kiln.builder.build;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Counts the instructions a guest executes from its entry point to the call of {@code main}, from
 * the disassembly of the debug image: the straight path through {@code _start} and any function
 * it calls first (each counted once, to the first return). On an emulating KVM every guest
 * instruction costs about a microsecond, so this number is boot time; a loop on that path is
 * reported as such, since its cost cannot be read statically.
 */
public final class EntryPath {
    private EntryPath() {}

    /** @param straight instructions on the path; @param loops true when a backward jump was seen */
    public record Count(int straight, boolean loops) {}

    private static final Pattern FUNCTION = Pattern.compile("^([0-9a-f]+) <([^>]+)>:$");
    private static final Pattern INSN = Pattern.compile("^\\s+([0-9a-f]+):\\s+(\\S+)\\s*(.*)$");
    private static final Pattern TARGET = Pattern.compile("^([0-9a-f]+) <([^>+]+)(\\+0x[0-9a-f]+)?>");

    record Insn(long address, String mnemonic, String operands) {}

    /** @param disassembly {@code objdump -d --no-show-raw-insn} of the debug image */
    public static Count count(List<String> disassembly, String entry) {
        Map<String, List<Insn>> functions = new HashMap<>();
        List<Insn> current = null;
        for (String line : disassembly) {
            Matcher f = FUNCTION.matcher(line);
            if (f.matches()) {
                current = new ArrayList<>();
                functions.put(f.group(2), current);
                continue;
            }
            Matcher i = INSN.matcher(line);
            if (current != null && i.matches()) {
                current.add(new Insn(Long.parseLong(i.group(1), 16), i.group(2), i.group(3)));
            }
        }
        boolean[] loops = {false};
        boolean[] found = {false};
        int n = walk(functions, entry, 0, loops, found);
        return n < 0 || !found[0] ? null : new Count(n, loops[0]);
    }

    /** main may be called from _start or from a function on its path (the platform's plat_run_main). */
    private static int walk(Map<String, List<Insn>> functions, String name, int depth, boolean[] loops, boolean[] found) {
        List<Insn> body = functions.get(name);
        if (body == null || depth > 8) return -1;
        int n = 0;
        for (Insn i : body) {
            n++;
            Matcher t = TARGET.matcher(i.operands());
            if (i.mnemonic().startsWith("call") && t.find()) {
                if (t.group(2).equals("main")) {
                    found[0] = true;
                    return n;
                }
                int inner = walk(functions, t.group(2), depth + 1, loops, found);
                if (inner > 0) n += inner;
                if (found[0]) return n;
            } else if (i.mnemonic().startsWith("j") && t.find() && Long.parseLong(t.group(1), 16) <= i.address()) {
                loops[0] = true;
            } else if (i.mnemonic().startsWith("ret") && depth > 0) {
                return n;
            }
        }
        return depth == 0 ? -1 : n;
    }
}
