#ifndef KVSTORE_RESP_H
#define KVSTORE_RESP_H

#include <stddef.h>

#define RESP_MAX_ARGS 1024
#define RESP_MAX_BULK (1u << 20)

/* One parsed command: arguments point into the input buffer. */
struct command {
    int argc;
    const char *argv[RESP_MAX_ARGS];
    size_t argl[RESP_MAX_ARGS];
};

/* Parses one command from buf[0..len): returns the bytes it used, 0 when more input is needed,
 * or -1 with *err set for input that is not the Redis protocol (the connection is then closed). */
long resp_parse(const char *buf, size_t len, struct command *c, const char **err);

/* A growing reply buffer; on allocation failure 'failed' is set and writes stop. */
struct reply {
    char *p;
    size_t len, cap;
    int failed;
};

void reply_raw(struct reply *r, const char *s, size_t n);
void reply_simple(struct reply *r, const char *s);      /* +s */
void reply_error(struct reply *r, const char *s);       /* -s */
void reply_int(struct reply *r, long long v);            /* :v */
void reply_bulk(struct reply *r, const char *s, size_t n);
void reply_null(struct reply *r);                        /* $-1 */
void reply_array(struct reply *r, long n);               /* *n */

#endif
