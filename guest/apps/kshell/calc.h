#ifndef KSHELL_CALC_H
#define KSHELL_CALC_H

/* Evaluates an integer expression (+ - * / % unary minus, parentheses, decimal or 0x numbers).
 * Returns 0 and sets *out, or -1 with *err naming the problem. 64-bit, overflow is an error. */
int calc_eval(const char *expr, long long *out, const char **err);

#endif
