/*
 * Kiln heap allocator: a TLSF (two-level segregated fit) allocator.
 *
 *   - malloc/free are O(1): two bitmap scans find a free list, free merges
 *     with both neighbours through boundary tags (no search).
 *   - Every pointer handed out is 16-byte aligned; the per-block overhead
 *     is 8 bytes, the smallest block 32 bytes.
 *   - A request is served from a size class whose every block fits
 *     ("good fit"), so no list is ever scanned on the fast path; the
 *     remainder of a larger block is split off and returned to the heap.
 *     Only when that finds nothing does malloc scan the one list of the
 *     request's own class, so it fails only if no free block is big enough.
 *
 * Initialisation is lazy and O(1): the first malloc (or calloc, realloc,
 * aligned_alloc, posix_memalign) sets the heap up from the boot info, as
 * [align_up(kernel_end, 16), mem_size - CONFIG_ALLOC_STACK_RESERVE), unless
 * alloc_init() was called first.  Nothing touches the heap memory until it
 * is allocated, so an app that never allocates pays nothing.
 *
 * Not thread-safe by itself; Kiln threads are cooperative and never
 * preempted inside the allocator.
 */
#ifndef KILN_ALLOC_H
#define KILN_ALLOC_H

#include <stddef.h>

/* Use [base, base + size) as the heap.  Any previous heap and every block
 * allocated from it is forgotten.  Regions too small for one block give an
 * empty heap (every allocation fails).  At most 2^40 bytes are used. */
void alloc_init(void *base, size_t size);

struct alloc_stats {
    size_t heap_bytes;       /* bytes managed (all blocks incl. headers) */
    size_t in_use_bytes;     /* bytes in allocated blocks, incl. their headers */
    size_t free_bytes;       /* heap_bytes - in_use_bytes */
    size_t largest_free;     /* largest request malloc can satisfy right now */
    size_t alloc_count;      /* live allocations */
    size_t free_blocks;      /* free blocks (fragments) */
    /* The following are 0 unless built with CONFIG_ALLOC_STATS. */
    size_t peak_in_use_bytes;
    unsigned long long total_allocs;
    unsigned long long total_frees;
    unsigned long long failed_allocs;
};

/* Snapshot of the allocator's counters.  O(1) except for largest_free and
 * free_blocks, which walk the free lists (not for hot paths). */
void alloc_stats(struct alloc_stats *out);

/* Bytes usable at p (>= the size requested); 0 for NULL. */
size_t alloc_usable_size(const void *p);

/* Walk the whole heap and every free list and check all invariants
 * (boundary tags, flags, coalescing, list membership, bitmaps, counters).
 * Returns 0 if the heap is consistent, a negative code otherwise.
 * O(heap blocks): for tests and debugging. */
int alloc_check(void);

/* The standard allocation functions.  malloc(0) returns a unique minimal
 * block; realloc(p, 0) frees p and returns NULL; realloc(NULL, n) is
 * malloc(n); calloc returns NULL if nmemb * size overflows; aligned_alloc
 * returns NULL unless alignment is a power of two; posix_memalign returns
 * EINVAL (22) unless alignment is a power of two multiple of
 * sizeof(void *), ENOMEM (12) when out of memory.  None of them sets errno
 * (there is no libc dependency here). */
void *malloc(size_t size);
void free(void *ptr);
void *calloc(size_t nmemb, size_t size);
void *realloc(void *ptr, size_t size);
void *aligned_alloc(size_t alignment, size_t size);
int posix_memalign(void **memptr, size_t alignment, size_t size);

#endif /* KILN_ALLOC_H */
