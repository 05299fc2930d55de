package dev.kiln.monitor;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** How arguments become the hvt command line (InstanceSpec's argumentJoin). */
class InstanceSpecCommandLineTest {
    @Test
    void onlyWhatNeedsItIsShellQuoted() {
        assertEquals(":memory:", InstanceSpec.shellQuoted(":memory:"));
        assertEquals("ip=10.0.0.2/24", InstanceSpec.shellQuoted("ip=10.0.0.2/24"), "what existing guests read stays as it is");
        assertEquals("'.read /q.sql'", InstanceSpec.shellQuoted(".read /q.sql"));
        assertEquals("'it'\\''s'", InstanceSpec.shellQuoted("it's"), "a quote is quoted, or the guest's splitter would eat it");
        assertEquals("'a\\b'", InstanceSpec.shellQuoted("a\\b"));
        assertEquals("'say \"hi\"'", InstanceSpec.shellQuoted("say \"hi\""));
        assertEquals("''", InstanceSpec.shellQuoted(""), "an empty argument survives");
        assertEquals("'a\tb'", InstanceSpec.shellQuoted("a\tb"));
    }
}
