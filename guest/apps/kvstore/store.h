#ifndef KVSTORE_STORE_H
#define KVSTORE_STORE_H

#include <stddef.h>
#include <stdint.h>

/* A hash table of binary-safe keys and values with optional expiry times (monotonic ns, 0 = never). */
struct entry {
    char *key;
    size_t klen;
    char *val;
    size_t vlen;
    uint64_t expires;
};

int store_init(size_t capacity_pow2);
struct entry *store_get(const char *key, size_t klen, uint64_t now);
/* Sets key to a copy of val; expires 0 = no expiry. 0, or -1 when out of memory. */
int store_set(const char *key, size_t klen, const char *val, size_t vlen, uint64_t expires);
int store_del(const char *key, size_t klen, uint64_t now);
size_t store_count(uint64_t now);
void store_clear(void);
/* Calls fn for every live entry. */
void store_each(uint64_t now, void (*fn)(const struct entry *e, void *arg), void *arg);
/* Gives a live entry a new expiry time (0 = never). */
void store_expire(struct entry *e, uint64_t expires);

/* Every change the store makes, told to a journal (the append-only log, persist.c) as it happens:
 * the new state of a key, its removal, or the whole store emptied. NULL: no journal. */
enum store_change { STORE_PUT = 1, STORE_DEL = 2, STORE_CLEAR = 3 };
typedef void (*store_journal_fn)(enum store_change what, const char *key, size_t klen, const char *val,
                                 size_t vlen, uint64_t expires);
void store_set_journal(store_journal_fn fn);

#endif
