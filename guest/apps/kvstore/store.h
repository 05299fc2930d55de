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

#endif
