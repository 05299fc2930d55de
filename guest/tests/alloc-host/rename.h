/*
 * Force-included (gcc -include) into the allocator when it is built for
 * the host tests: gives the standard allocation symbols kalloc_ names so
 * they cannot collide with (or be interposed by) glibc's.
 */
#ifndef KILN_ALLOC_HOST_RENAME_H
#define KILN_ALLOC_HOST_RENAME_H
#define malloc         kalloc_malloc
#define free           kalloc_free
#define calloc         kalloc_calloc
#define realloc        kalloc_realloc
#define aligned_alloc  kalloc_aligned_alloc
#define posix_memalign kalloc_posix_memalign
#endif
