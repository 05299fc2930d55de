package dev.kiln.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** kiln run single-quotes arguments with blanks so the POSIX layer's shell-quoting split gives them back whole. */
class RunArgumentQuotingTest {
    @Test
    void onlyArgumentsWithBlanksAreQuoted() {
        assertEquals(":memory:", RunCommand.quoteBlanks(":memory:"));
        assertEquals("it's", RunCommand.quoteBlanks("it's"), "no blank: unchanged, as solo5-hvt joins");
        assertEquals("'.read /q.sql'", RunCommand.quoteBlanks(".read /q.sql"));
        assertEquals("'it'\\''s here'", RunCommand.quoteBlanks("it's here"));
        assertEquals("'a\tb'", RunCommand.quoteBlanks("a\tb"));
    }
}
