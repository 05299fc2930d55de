/*
 * kvstore: a Redis-protocol server. One cooperative thread per client blocks in recv() while
 * others run; the store is shared without locks because threads only switch when they block.
 * Every change is appended to a log on the block device 'storage' before its reply goes out
 * (appendfsync=always|everysec|no on the command line, Redis's names; always by default), and SAVE
 * writes a crash-safe snapshot: see persist.c. At boot the snapshot is loaded and the log replayed.
 * appendonly=no (Redis's setting of that name) keeps no log: what the last SAVE wrote is all a
 * restart finds, as with a Redis that has only its RDB file.
 *
 * Idle clients must not lock others out: timeout=N (Redis's setting, seconds, 0 = never) closes a
 * client that sent nothing for N seconds (its recv() waits with SO_RCVTIMEO), and when maxclients
 * are connected a new client still gets in: the client idle longest is closed to make room (Redis
 * refuses the new one instead, which lets idle connections hold the server).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>
#include <kiln/block.h>
#include <kiln/net.h>
#include <kiln/platform.h>
#include <kiln/sched.h>
#include "persist.h"
#include "resp.h"
#include "store.h"

#define PORT 6379
#define MAX_CLIENTS 256
#define INPUT_MAX (RESP_MAX_BULK + 64 * 1024)

static struct blk disk;
static int have_disk;
/* appendonly=yes (the default): every change is logged; no: only SAVE writes the disk */
static int appendonly = 1;
static int clients;
static int maxclients = MAX_CLIENTS;
static unsigned long idle_timeout_s;           /* Redis's timeout: 0 = none */

/* The connected clients, for choosing whom to close when full: a client is idle while its thread
 * waits in recv() for a new command, since the moment it started waiting. */
static struct {
    int fd;                     /* -1: free */
    int idle;
    int closing;                /* chosen to make room: its thread has yet to leave */
    uint64_t since;
} conn_table[MAX_CLIENTS];
static unsigned long long commands_run;

static uint64_t now(void)
{
    return plat_monotonic_ns();
}

static int is(const struct command *c, int i, const char *word)
{
    size_t n = strlen(word);
    return c->argl[i] == n && strncasecmp(c->argv[i], word, n) == 0;
}

/* A whole signed 64-bit number in an argument, or -1 (with *ok = 0). */
/*
 * The absolute expiry, in the store's nanoseconds, of n > 0 units of unit_ns from now: 0 when it
 * fits in 64 bits, -1 when it does not (Redis refuses such a time with "invalid expire time"
 * instead of letting it wrap into the past and the key vanish at once).
 */
static int expiry_at(uint64_t now, long long n, uint64_t unit_ns, uint64_t *at)
{
    if (n <= 0 || (uint64_t)n > (UINT64_MAX - now) / unit_ns)
        return -1;
    *at = now + (uint64_t)n * unit_ns;
    return 0;
}

static long long arg_int(const struct command *c, int i, int *ok)
{
    char buf[24];
    if (c->argl[i] == 0 || c->argl[i] >= sizeof buf) {
        *ok = 0;
        return 0;
    }
    memcpy(buf, c->argv[i], c->argl[i]);
    buf[c->argl[i]] = 0;
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    *ok = *end == 0 && errno == 0;
    return v;
}

/* ---- commands --------------------------------------------------------- */

static void mget(const struct command *c, struct reply *r)
{
    reply_array(r, c->argc - 1);
    for (int i = 1; i < c->argc; i++) {
        struct entry *e = store_get(c->argv[i], c->argl[i], now());
        if (e)
            reply_bulk(r, e->val, e->vlen);
        else
            reply_null(r);
    }
}

static void incr(const struct command *c, struct reply *r, long long by)
{
    struct entry *e = store_get(c->argv[1], c->argl[1], now());
    long long v = 0;
    if (e) {
        char buf[24];
        char *end;
        if (e->vlen == 0 || e->vlen >= sizeof buf) {
            reply_error(r, "ERR value is not an integer or out of range");
            return;
        }
        memcpy(buf, e->val, e->vlen);
        buf[e->vlen] = 0;
        errno = 0;
        v = strtoll(buf, &end, 10);
        if (*end || errno) {
            reply_error(r, "ERR value is not an integer or out of range");
            return;
        }
    }
    if (__builtin_add_overflow(v, by, &v)) {
        reply_error(r, "ERR increment or decrement would overflow");
        return;
    }
    char out[24];
    int n = snprintf(out, sizeof out, "%lld", v);
    if (store_set(c->argv[1], c->argl[1], out, (size_t)n, e ? e->expires : 0) != 0) {
        reply_error(r, "OOM out of memory");
        return;
    }
    reply_int(r, v);
}

/* Runs one command; returns 0 when the client asked to quit. */
static int run(const struct command *c, struct reply *r)
{
    int ok = 1, argc = c->argc;
    uint64_t t = now();
    commands_run++;
#define ARITY(min, max) if (argc < (min) || argc > (max)) { reply_error(r, "ERR wrong number of arguments"); return 1; }
    if (is(c, 0, "PING")) {
        ARITY(1, 2);
        if (argc == 2)
            reply_bulk(r, c->argv[1], c->argl[1]);
        else
            reply_simple(r, "PONG");
    } else if (is(c, 0, "ECHO")) {
        ARITY(2, 2);
        reply_bulk(r, c->argv[1], c->argl[1]);
    } else if (is(c, 0, "GET")) {
        ARITY(2, 2);
        struct entry *e = store_get(c->argv[1], c->argl[1], t);
        if (e)
            reply_bulk(r, e->val, e->vlen);
        else
            reply_null(r);
    } else if (is(c, 0, "SET")) {
        ARITY(3, 6);
        uint64_t expires = 0;
        int nx = 0, xx = 0;
        for (int i = 3; i < argc; i++) {
            if ((is(c, i, "EX") || is(c, i, "PX")) && i + 1 < argc) {
                long long n = arg_int(c, i + 1, &ok);
                if (!ok || n <= 0 || expiry_at(t, n, is(c, i, "EX") ? 1000000000ull : 1000000ull, &expires) != 0) {
                    reply_error(r, "ERR invalid expire time in 'set' command");
                    return 1;
                }
                i++;
            } else if (is(c, i, "NX")) {
                nx = 1;
            } else if (is(c, i, "XX")) {
                xx = 1;
            } else {
                reply_error(r, "ERR syntax error");
                return 1;
            }
        }
        int exists = store_get(c->argv[1], c->argl[1], t) != NULL;
        if ((nx && exists) || (xx && !exists)) {
            reply_null(r);
        } else if (store_set(c->argv[1], c->argl[1], c->argv[2], c->argl[2], expires) != 0) {
            reply_error(r, "OOM out of memory");
        } else {
            reply_simple(r, "OK");
        }
    } else if (is(c, 0, "DEL") || is(c, 0, "UNLINK")) {
        ARITY(2, RESP_MAX_ARGS);
        long long n = 0;
        for (int i = 1; i < argc; i++)
            n += store_del(c->argv[i], c->argl[i], t);
        reply_int(r, n);
    } else if (is(c, 0, "EXISTS")) {
        ARITY(2, RESP_MAX_ARGS);
        long long n = 0;
        for (int i = 1; i < argc; i++)
            n += store_get(c->argv[i], c->argl[i], t) != NULL;
        reply_int(r, n);
    } else if (is(c, 0, "INCR") || is(c, 0, "DECR")) {
        ARITY(2, 2);
        incr(c, r, is(c, 0, "INCR") ? 1 : -1);
    } else if (is(c, 0, "INCRBY") || is(c, 0, "DECRBY")) {
        ARITY(3, 3);
        long long by = arg_int(c, 2, &ok);
        if (!ok || (is(c, 0, "DECRBY") && by == (-9223372036854775807LL - 1)))
            reply_error(r, "ERR value is not an integer or out of range");
        else
            incr(c, r, is(c, 0, "INCRBY") ? by : -by);
    } else if (is(c, 0, "EXPIRE") || is(c, 0, "PEXPIRE")) {
        ARITY(3, 3);
        long long n = arg_int(c, 2, &ok);
        struct entry *e = store_get(c->argv[1], c->argl[1], t);
        uint64_t at = 0;
        if (!ok) {
            reply_error(r, "ERR value is not an integer or out of range");
        } else if (n > 0 && expiry_at(t, n, is(c, 0, "EXPIRE") ? 1000000000ull : 1000000ull, &at) != 0) {
            /* refused before the key is looked at: it stays as it was */
            reply_error(r, is(c, 0, "EXPIRE") ? "ERR invalid expire time in 'expire' command"
                                              : "ERR invalid expire time in 'pexpire' command");
        } else if (!e) {
            reply_int(r, 0);
        } else if (n <= 0) {
            store_del(c->argv[1], c->argl[1], t);
            reply_int(r, 1);
        } else {
            store_expire(e, at);
            reply_int(r, 1);
        }
    } else if (is(c, 0, "TTL") || is(c, 0, "PTTL")) {
        ARITY(2, 2);
        struct entry *e = store_get(c->argv[1], c->argl[1], t);
        if (!e)
            reply_int(r, -2);
        else if (!e->expires)
            reply_int(r, -1);
        else
            reply_int(r, (long long)((e->expires - t + (is(c, 0, "TTL") ? 999999999ull : 999999ull))
                                     / (is(c, 0, "TTL") ? 1000000000ull : 1000000ull)));
    } else if (is(c, 0, "MGET")) {
        ARITY(2, RESP_MAX_ARGS);
        mget(c, r);
    } else if (is(c, 0, "MSET")) {
        if (argc < 3 || argc % 2 == 0) {
            reply_error(r, "ERR wrong number of arguments for 'mset' command");
            return 1;
        }
        for (int i = 1; i < argc; i += 2) {
            if (store_set(c->argv[i], c->argl[i], c->argv[i + 1], c->argl[i + 1], 0) != 0) {
                reply_error(r, "OOM out of memory");
                return 1;
            }
        }
        reply_simple(r, "OK");
    } else if (is(c, 0, "DBSIZE")) {
        reply_int(r, (long long)store_count(t));
    } else if (is(c, 0, "FLUSHALL") || is(c, 0, "FLUSHDB")) {
        store_clear();
        reply_simple(r, "OK");
    } else if (is(c, 0, "SAVE")) {
        const char *err = have_disk ? persist_save() : "no block device";
        if (err) {
            char msg[128];
            snprintf(msg, sizeof msg, "ERR %s", err);
            reply_error(r, msg);
        } else {
            reply_simple(r, "OK");
        }
    } else if (is(c, 0, "QUIT")) {
        reply_simple(r, "OK");
        return 0;
    } else if (is(c, 0, "SELECT")) {
        ARITY(2, 2);
        if (c->argl[1] == 1 && c->argv[1][0] == '0')
            reply_simple(r, "OK");
        else
            reply_error(r, "ERR DB index is out of range");
    } else if (is(c, 0, "COMMAND") || is(c, 0, "CONFIG")) {
        reply_array(r, 0);          /* redis-cli and redis-benchmark ask; an empty answer is enough */
    } else if (is(c, 0, "CLIENT")) {
        reply_simple(r, "OK");
    } else if (is(c, 0, "INFO")) {
        char info[512];
        int n = snprintf(info, sizeof info, "# Server\r\nredis_version:7.0.0-kiln\r\nkiln_kvstore:1\r\n"
                         "# Persistence\r\naof_enabled:%d\r\nappendfsync:%s\r\naof_log_bytes:%llu\r\naof_flushes:%llu\r\n"
                         "# Keyspace\r\nkeys:%zu\r\nconnected_clients:%d\r\ncommands:%llu\r\n",
                         have_disk && appendonly, have_disk && appendonly ? persist_policy_name() : "-", have_disk ? persist_log_bytes() : 0,
                         have_disk ? persist_flushes() : 0, store_count(t), clients, commands_run);
        reply_bulk(r, info, (size_t)n);
    } else {
        char msg[96];
        int n = (int)(c->argl[0] < 40 ? c->argl[0] : 40);
        snprintf(msg, sizeof msg, "ERR unknown command '%.*s'", n, c->argv[0]);
        reply_error(r, msg);
    }
    return 1;
}

/* ---- connections ------------------------------------------------------ */

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = send(fd, p, n, 0);
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static struct command cmd;     /* threads switch only when they block: one parse buffer suffices */

static void client(void *arg)
{
    int fd = (int)(long)arg;
    size_t cap = 16 * 1024, used = 0;
    char *in = malloc(cap);
    struct reply r = { 0 };
    int me = -1;
    for (int i = 0; i < MAX_CLIENTS && me < 0; i++)
        if (conn_table[i].fd < 0)
            me = i;
    if (me < 0)                 /* cannot happen: main starts at most MAX_CLIENTS threads */
        goto out;
    conn_table[me].fd = fd;
    conn_table[me].closing = 0;
    if (idle_timeout_s) {
        struct timeval tv = { .tv_sec = (long)idle_timeout_s };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    while (in) {
        if (used == cap) {
            if (cap >= INPUT_MAX)
                break;
            char *bigger = realloc(in, cap * 2);
            if (!bigger)
                break;
            in = bigger;
            cap *= 2;
        }
        /* idle only between commands: a half-received command is being worked on, and its
         * client is not the one to close first (the timeout still ends it) */
        conn_table[me].idle = used == 0;
        conn_table[me].since = now();
        ssize_t n = recv(fd, in + used, cap - used, 0);
        conn_table[me].idle = 0;
        if (n <= 0) {           /* end, error, timeout (EAGAIN) or closed to make room */
            if ((n < 0 && errno == EAGAIN) || conn_table[me].closing) {
                /* reset: a FIN would leave the stack's slot in FIN_WAIT_2 for as long as an
                 * idle peer keeps its end open, and the slot is what the next client needs */
                struct linger lg = { .l_onoff = 1, .l_linger = 0 };
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            }
            break;
        }
        used += (size_t)n;
        size_t at = 0;
        int open = 1;
        for (;;) {
            const char *err = NULL;
            long k = resp_parse(in + at, used - at, &cmd, &err);
            if (k < 0) {
                char msg[96];
                snprintf(msg, sizeof msg, "ERR Protocol error: %s", err);
                reply_error(&r, msg);
                open = 0;
                break;
            }
            if (k == 0)
                break;
            at += (size_t)k;
            if (cmd.argc > 0 && !run(&cmd, &r)) {
                open = 0;
                break;
            }
        }
        memmove(in, in + at, used - at);
        used -= at;
        /* the batch's changes are as durable as appendfsync asks before any reply says OK; when the
         * device fails, nothing is acknowledged: the connection closes */
        if (persist_commit() != 0) {
            printf("kvstore: the block device failed; closing a client unacknowledged\n");
            break;
        }
        if (r.failed || send_all(fd, r.p, r.len) != 0)
            break;
        r.len = 0;
        if (!open)
            break;
    }
    conn_table[me].fd = -1;
out:
    free(r.p);
    free(in);
    close(fd);
    clients--;
}

/* Room for one more client: the one idle longest goes (its thread wakes from recv() at end of
 * stream and closes); if none is idle, the one waiting longest on a partial command. */
static void make_room(void)
{
    int victim = -1;
    for (int pass = 0; pass < 2 && victim < 0; pass++)
        for (int i = 0; i < MAX_CLIENTS; i++)
            if (conn_table[i].fd >= 0 && !conn_table[i].closing && conn_table[i].idle == !pass
                && (victim < 0 || conn_table[i].since < conn_table[victim].since))
                victim = i;
    if (victim >= 0) {
        shutdown(conn_table[victim].fd, SHUT_RD);
        conn_table[victim].closing = 1;         /* not chosen twice; its thread ends soon */
    }
}

/* The command-line word NAME=N in *out (left alone if absent); -1, after saying why, if malformed
 * or outside [min, max]. */
static int word_uint(const char *cmdline, const char *name, unsigned long min, unsigned long max, unsigned long *out)
{
    size_t nl = strlen(name);
    for (const char *p = cmdline; *p; p++) {
        if ((p != cmdline && p[-1] != ' ') || strncmp(p, name, nl) != 0 || p[nl] != '=')
            continue;
        char *end;
        const char *v = p + nl + 1;
        unsigned long n = *v >= '0' && *v <= '9' ? strtoul(v, &end, 10) : 0;
        if (*v < '0' || *v > '9' || (*end && *end != ' ') || n < min || n > max) {
            printf("kvstore: %s must be a whole number from %lu to %lu\n", name, min, max);
            return -1;
        }
        *out = n;
        return 0;
    }
    return 0;
}

/* appendfsync=everysec and no: what was logged is written within about a second (and, for
 * everysec, flushed), also when no further command comes to commit it. */
static void ticker(void *arg)
{
    (void)arg;
    for (;;) {
        thread_sleep_ns(1000000000ull);
        persist_tick();
    }
}

int main(const char *cmdline)
{
    uint32_t ip = 0, mask = 0, gw = 0;
    if (net_config_from_cmdline(cmdline, &ip, &mask, &gw) != 0) {
        printf("kvstore: give the address on the command line: ip=10.0.0.2/24 [gw=10.0.0.1]\n");
        return 1;
    }
    if (net_init("service0", ip, mask, gw) != 0) {
        printf("kvstore: no network: attach it with --net:service0=TAP\n");
        return 1;
    }
    if (store_init(1024) != 0)
        return 1;
    enum fsync_policy policy = FSYNC_ALWAYS;
    const char *opt = strstr(cmdline, "appendfsync=");
    if (opt) {
        opt += strlen("appendfsync=");
        if (strncmp(opt, "always", 6) == 0)
            policy = FSYNC_ALWAYS;
        else if (strncmp(opt, "everysec", 8) == 0)
            policy = FSYNC_EVERYSEC;
        else if (strncmp(opt, "no", 2) == 0)
            policy = FSYNC_NO;
        else {
            printf("kvstore: appendfsync must be always, everysec or no\n");
            return 1;
        }
    }
    const char *ao = strstr(cmdline, "appendonly=");
    if (ao) {
        ao += strlen("appendonly=");
        size_t n = strcspn(ao, " ");
        if (n == 3 && strncmp(ao, "yes", 3) == 0)
            appendonly = 1;
        else if (n == 2 && strncmp(ao, "no", 2) == 0)
            appendonly = 0;
        else {
            printf("kvstore: appendonly must be yes or no\n");
            return 1;
        }
    }
    unsigned long mc = MAX_CLIENTS;
    if (word_uint(cmdline, "timeout", 0, 86400 * 365, &idle_timeout_s) != 0
        || word_uint(cmdline, "maxclients", 1, MAX_CLIENTS, &mc) != 0)
        return 1;
    maxclients = (int)mc;
    for (int i = 0; i < MAX_CLIENTS; i++)
        conn_table[i].fd = -1;
    have_disk = blk_open("storage", &disk) == 0;
    if (have_disk && persist_open(&disk, policy) != 0) {
        printf("kvstore: the block device 'storage' is too small for a log and two snapshots\n");
        return 1;
    }
    if (have_disk && !appendonly)
        store_set_journal(NULL); /* after the replay: what the disk held is loaded, nothing new is logged */
    if (have_disk && appendonly && policy != FSYNC_ALWAYS) {
        struct thread *f = thread_create("appendfsync", ticker, NULL, 16 * 1024);
        if (f)
            thread_detach(f);
    }
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(PORT) };
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 128) != 0) {
        printf("kvstore: cannot listen on port %d (errno %d)\n", PORT, errno);
        return 1;
    }
    printf("kvstore: listening on %u.%u.%u.%u:%d\n", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255, PORT);
    fflush(stdout);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        if (clients >= maxclients)
            make_room();
        /* the closed client's thread has yet to run and leave: wait for it rather than refuse */
        for (int spins = 0; clients >= MAX_CLIENTS && spins < 1000; spins++)
            thread_yield();
        struct thread *t = clients < MAX_CLIENTS ? thread_create("client", client, (void *)(long)fd, 32 * 1024) : NULL;
        if (!t) {
            close(fd);
            continue;
        }
        clients++;              /* here, not in the thread: the next accept must see it */
        thread_detach(t);
    }
}
