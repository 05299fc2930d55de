#ifndef KILN_TESTKIT_H
#define KILN_TESTKIT_H

/* Prints a NUL-terminated string on the console. */
void tk_say(const char *s);

/* If *p starts with the word w (followed by a space or the end), skips it and the spaces
 * after it and returns 1; otherwise returns 0 and leaves *p alone. */
int tk_word(const char **p, const char *w);

/* Checks a result: when got != want, prints "unexpected: WHAT ret=GOT" and sets *bad. */
void tk_expect(const char *what, int got, int want, int *bad);

#endif
