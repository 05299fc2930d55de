/* The Redis serialization protocol (RESP2): arrays of bulk strings from clients, or inline
 * commands (a line of words, as telnet sends). Input is untrusted: every length is checked against
 * limits and the buffer before it is used. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "resp.h"

/* Finds "\r\n" from p within [p, end); returns the index of '\r' or -1. */
static long line_end(const char *p, const char *end)
{
    for (const char *q = p; q + 1 < end; q++)
        if (q[0] == '\r' && q[1] == '\n')
            return q - p;
    return -1;
}

/* Parses a decimal number in [p, p+n); -2 on anything else. */
static long long number(const char *p, long n)
{
    if (n <= 0 || n > 18)
        return -2;
    long long v = 0;
    int neg = p[0] == '-';
    for (long i = neg; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -2;
        v = v * 10 + (p[i] - '0');
    }
    if (neg && n == 1)
        return -2;
    return neg ? -v : v;
}

static long inline_command(const char *buf, size_t len, struct command *c, const char **err)
{
    const char *end = buf + len;
    long eol = line_end(buf, end);
    if (eol < 0) {
        if (len > 64 * 1024) {
            *err = "inline command too long";
            return -1;
        }
        return 0;
    }
    c->argc = 0;
    for (const char *p = buf; p < buf + eol;) {
        while (p < buf + eol && (*p == ' ' || *p == '\t'))
            p++;
        const char *w = p;
        while (p < buf + eol && *p != ' ' && *p != '\t')
            p++;
        if (p > w) {
            if (c->argc == RESP_MAX_ARGS) {
                *err = "too many arguments";
                return -1;
            }
            c->argv[c->argc] = w;
            c->argl[c->argc++] = (size_t)(p - w);
        }
    }
    return eol + 2;
}

long resp_parse(const char *buf, size_t len, struct command *c, const char **err)
{
    if (len == 0)
        return 0;
    if (buf[0] != '*')
        return inline_command(buf, len, c, err);
    const char *p = buf, *end = buf + len;
    long eol = line_end(p, end);
    if (eol < 0)
        return len > 32 ? (*err = "bad array header", -1) : 0;
    long long n = number(p + 1, eol - 1);
    if (n < 0 || n > RESP_MAX_ARGS) {
        *err = n == -2 ? "bad array length" : "too many arguments";
        return -1;
    }
    p += eol + 2;
    c->argc = 0;
    for (long long i = 0; i < n; i++) {
        if (p >= end)
            return 0;
        if (*p != '$') {
            *err = "expected '$'";
            return -1;
        }
        eol = line_end(p, end);
        if (eol < 0)
            return end - p > 32 ? (*err = "bad bulk header", -1) : 0;
        long long bl = number(p + 1, eol - 1);
        if (bl < 0 || bl > RESP_MAX_BULK) {
            *err = bl == -2 ? "bad bulk length" : "bulk string too long";
            return -1;
        }
        p += eol + 2;
        if ((size_t)(end - p) < (size_t)bl + 2)
            return 0;
        if (p[bl] != '\r' || p[bl + 1] != '\n') {
            *err = "bulk string not followed by CRLF";
            return -1;
        }
        c->argv[c->argc] = p;
        c->argl[c->argc++] = (size_t)bl;
        p += bl + 2;
    }
    if (c->argc == 0)
        return p - buf;      /* an empty array: nothing to run */
    return p - buf;
}

void reply_raw(struct reply *r, const char *s, size_t n)
{
    if (r->failed)
        return;
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap : 256;
        while (cap < r->len + n)
            cap *= 2;
        char *q = realloc(r->p, cap);
        if (!q) {
            r->failed = 1;
            return;
        }
        r->p = q;
        r->cap = cap;
    }
    memcpy(r->p + r->len, s, n);
    r->len += n;
}

static void line(struct reply *r, char type, const char *s, size_t n)
{
    reply_raw(r, &type, 1);
    reply_raw(r, s, n);
    reply_raw(r, "\r\n", 2);
}

void reply_simple(struct reply *r, const char *s)
{
    line(r, '+', s, strlen(s));
}

void reply_error(struct reply *r, const char *s)
{
    line(r, '-', s, strlen(s));
}

void reply_int(struct reply *r, long long v)
{
    char b[32];
    line(r, ':', b, (size_t)snprintf(b, sizeof b, "%lld", v));
}

void reply_bulk(struct reply *r, const char *s, size_t n)
{
    char b[32];
    line(r, '$', b, (size_t)snprintf(b, sizeof b, "%zu", n));
    reply_raw(r, s, n);
    reply_raw(r, "\r\n", 2);
}

void reply_null(struct reply *r)
{
    reply_raw(r, "$-1\r\n", 5);
}

void reply_array(struct reply *r, long n)
{
    char b[32];
    line(r, '*', b, (size_t)snprintf(b, sizeof b, "%ld", n));
}
