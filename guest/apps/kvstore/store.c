/* Open addressing with linear probing and tombstones; grows at 70% load. Keys and values are
 * heap copies, so any bytes (including NUL) are fine. Expired entries vanish when touched. */
#include <stdlib.h>
#include <string.h>
#include "store.h"

#define TOMBSTONE ((char *)1)

static struct entry *slots;
static size_t cap, used, live;

static uint64_t hash(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ull;        /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)k[i];
        h *= 1099511628211ull;
    }
    return h;
}

int store_init(size_t capacity)
{
    slots = calloc(capacity, sizeof *slots);
    if (!slots)
        return -1;
    cap = capacity;
    used = live = 0;
    return 0;
}

static int is_live(const struct entry *e, uint64_t now)
{
    return e->key && e->key != TOMBSTONE && (e->expires == 0 || e->expires > now);
}

static void drop(struct entry *e)
{
    free(e->key);
    free(e->val);
    e->key = TOMBSTONE;
    e->val = NULL;
    live--;
}

static struct entry *find(const char *key, size_t klen)
{
    for (size_t i = hash(key, klen) & (cap - 1), n = 0; n < cap; i = (i + 1) & (cap - 1), n++) {
        struct entry *e = &slots[i];
        if (!e->key)
            return NULL;
        if (e->key != TOMBSTONE && e->klen == klen && memcmp(e->key, key, klen) == 0)
            return e;
    }
    return NULL;
}

struct entry *store_get(const char *key, size_t klen, uint64_t now)
{
    struct entry *e = find(key, klen);
    if (e && !is_live(e, now)) {
        drop(e);
        return NULL;
    }
    return e;
}

static int grow(void)
{
    struct entry *old = slots;
    size_t oldcap = cap;
    struct entry *fresh = calloc(oldcap * 2, sizeof *fresh);
    if (!fresh)
        return -1;
    slots = fresh;
    cap = oldcap * 2;
    used = 0;
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i].key || old[i].key == TOMBSTONE)
            continue;
        size_t j = hash(old[i].key, old[i].klen) & (cap - 1);
        while (slots[j].key)
            j = (j + 1) & (cap - 1);
        slots[j] = old[i];
        used++;
    }
    free(old);
    return 0;
}

static store_journal_fn journal;

void store_set_journal(store_journal_fn fn)
{
    journal = fn;
}

static int set_entry(const char *key, size_t klen, const char *val, size_t vlen, uint64_t expires);

int store_set(const char *key, size_t klen, const char *val, size_t vlen, uint64_t expires)
{
    int rc = set_entry(key, klen, val, vlen, expires);
    if (rc == 0 && journal)
        journal(STORE_PUT, key, klen, val, vlen, expires);
    return rc;
}

void store_expire(struct entry *e, uint64_t expires)
{
    e->expires = expires;
    if (journal)
        journal(STORE_PUT, e->key, e->klen, e->val, e->vlen, expires);
}

static int set_entry(const char *key, size_t klen, const char *val, size_t vlen, uint64_t expires)
{
    char *v = malloc(vlen ? vlen : 1);
    if (!v)
        return -1;
    memcpy(v, val, vlen);
    struct entry *e = find(key, klen);
    if (e) {
        free(e->val);
        e->val = v;
        e->vlen = vlen;
        e->expires = expires;
        return 0;
    }
    if ((used + 1) * 10 > cap * 7 && grow() != 0) {
        free(v);
        return -1;
    }
    char *k = malloc(klen ? klen : 1);
    if (!k) {
        free(v);
        return -1;
    }
    memcpy(k, key, klen);
    size_t i = hash(key, klen) & (cap - 1);
    while (slots[i].key && slots[i].key != TOMBSTONE)
        i = (i + 1) & (cap - 1);
    if (!slots[i].key)
        used++;
    slots[i] = (struct entry){ k, klen, v, vlen, expires };
    live++;
    return 0;
}

int store_del(const char *key, size_t klen, uint64_t now)
{
    struct entry *e = store_get(key, klen, now);
    if (!e)
        return 0;
    drop(e);
    if (journal)
        journal(STORE_DEL, key, klen, NULL, 0, 0);
    return 1;
}

size_t store_count(uint64_t now)
{
    size_t n = 0;
    for (size_t i = 0; i < cap; i++)
        if (is_live(&slots[i], now))
            n++;
    return n;
}

void store_clear(void)
{
    for (size_t i = 0; i < cap; i++) {
        if (slots[i].key && slots[i].key != TOMBSTONE) {
            free(slots[i].key);
            free(slots[i].val);
        }
        slots[i] = (struct entry){ 0 };
    }
    used = live = 0;
    if (journal)
        journal(STORE_CLEAR, NULL, 0, NULL, 0, 0);
}

void store_each(uint64_t now, void (*fn)(const struct entry *e, void *arg), void *arg)
{
    for (size_t i = 0; i < cap; i++)
        if (is_live(&slots[i], now))
            fn(&slots[i], arg);
}
