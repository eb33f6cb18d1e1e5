/*
 * arena.h - chunked bump allocator for per-association and per-call
 * lifetimes: everything decoded for a call is allocated here and freed in
 * one place (arena_free) when the call completes or faults.
 */
#ifndef CERTA_UTIL_ARENA_H
#define CERTA_UTIL_ARENA_H

#include <stddef.h>

typedef struct arena arena_t;

/* arena_new returns an empty arena, or NULL on allocation failure. */
arena_t *arena_new(void);
/* arena_free releases every allocation made from a (NULL-safe). */
void arena_free(arena_t *a);
/* arena_alloc returns n zeroed bytes aligned for any type, or NULL. */
void *arena_alloc(arena_t *a, size_t n);
/* arena_array is arena_alloc(count * size) with the multiply checked. */
void *arena_array(arena_t *a, size_t count, size_t size);
void *arena_memdup(arena_t *a, const void *p, size_t n);
char *arena_strdup(arena_t *a, const char *s);
/* arena_used is the number of bytes held (for limits and memory figures). */
size_t arena_used(const arena_t *a);

#endif
