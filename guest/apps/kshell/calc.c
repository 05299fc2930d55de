/* A recursive-descent evaluator for integer expressions: the grammar is
 *   expr   = term { (+|-) term }
 *   term   = unary { (*|/|%) unary }
 *   unary  = - unary | primary
 *   primary = number | ( expr )
 * Every operation checks for overflow and division by zero: input is untrusted. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include "calc.h"

struct parser {
    const char *p;
    const char *err;
    int depth;
};

static long long expr(struct parser *s);

static void skip(struct parser *s)
{
    while (isspace((unsigned char)*s->p))
        s->p++;
}

static long long fail(struct parser *s, const char *why)
{
    if (!s->err)
        s->err = why;
    return 0;
}

static long long primary(struct parser *s)
{
    skip(s);
    if (*s->p == '(') {
        if (++s->depth > 64)
            return fail(s, "nesting too deep");
        s->p++;
        long long v = expr(s);
        skip(s);
        if (*s->p != ')')
            return fail(s, "missing ')'");
        s->p++;
        s->depth--;
        return v;
    }
    if (!isdigit((unsigned char)*s->p))
        return fail(s, "expected a number or '('");
    char *end;
    errno = 0;
    long long v = strtoll(s->p, &end, 0);
    if (errno == ERANGE)
        return fail(s, "number too large");
    s->p = end;
    return v;
}

static long long unary(struct parser *s)
{
    skip(s);
    if (*s->p == '-') {
        s->p++;
        long long v = unary(s);
        if (v == (-9223372036854775807LL - 1))
            return fail(s, "overflow");
        return -v;
    }
    return primary(s);
}

static long long term(struct parser *s)
{
    long long v = unary(s);
    for (;;) {
        skip(s);
        char op = *s->p;
        if (op != '*' && op != '/' && op != '%')
            return v;
        s->p++;
        long long r = unary(s);
        if (s->err)
            return 0;
        if (op == '*') {
            if (__builtin_mul_overflow(v, r, &v))
                return fail(s, "overflow");
        } else {
            if (r == 0)
                return fail(s, "division by zero");
            if (v == (-9223372036854775807LL - 1) && r == -1)
                return fail(s, "overflow");
            v = op == '/' ? v / r : v % r;
        }
    }
}

static long long expr(struct parser *s)
{
    long long v = term(s);
    for (;;) {
        skip(s);
        char op = *s->p;
        if (op != '+' && op != '-')
            return v;
        s->p++;
        long long r = term(s);
        if (s->err)
            return 0;
        if (op == '+' ? __builtin_add_overflow(v, r, &v) : __builtin_sub_overflow(v, r, &v))
            return fail(s, "overflow");
    }
}

int calc_eval(const char *text, long long *out, const char **err)
{
    struct parser s = { text, 0, 0 };
    long long v = expr(&s);
    skip(&s);
    if (!s.err && *s.p != '\0')
        s.err = "unexpected text after the expression";
    if (s.err) {
        *err = s.err;
        return -1;
    }
    *out = v;
    return 0;
}
