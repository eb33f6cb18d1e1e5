/*
 * arena.c - see arena.h. Small requests share 4 KiB chunks; large ones get a
 * chunk of their own, so a 1 MiB stub does not waste a chunk's tail.
 */
#include "util/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK 4096u

struct chunk {
	struct chunk *next;
	size_t used;
	size_t size;
	alignas(max_align_t) unsigned char mem[];
};

struct arena {
	struct chunk *head;
	size_t total;
};

arena_t *arena_new(void) { return calloc(1, sizeof(arena_t)); }

void arena_free(arena_t *a)
{
	if (!a) {
		return;
	}
	struct chunk *c = a->head;
	while (c) {
		struct chunk *n = c->next;
		free(c);
		c = n;
	}
	free(a);
}

void *arena_alloc(arena_t *a, size_t n)
{
	const size_t al = alignof(max_align_t);
	if (n > SIZE_MAX - al - sizeof(struct chunk)) {
		return NULL;
	}
	size_t need = (n + al - 1) & ~(al - 1);
	if (need == 0) {
		need = al;
	}
	struct chunk *c = a->head;
	if (!c || c->size - c->used < need) {
		size_t size = need > ARENA_CHUNK / 2 ? need : ARENA_CHUNK;
		struct chunk *nc = malloc(sizeof(struct chunk) + size);
		if (!nc) {
			return NULL;
		}
		nc->used = 0;
		nc->size = size;
		a->total += size;
		if (c && size == need) {
			/* a large block goes behind the current chunk, which keeps its free tail */
			nc->next = c->next;
			c->next = nc;
			nc->used = need;
			memset(nc->mem, 0, n);
			return nc->mem;
		}
		nc->next = c;
		a->head = nc;
		c = nc;
	}
	void *p = c->mem + c->used;
	c->used += need;
	memset(p, 0, n);
	return p;
}

void *arena_array(arena_t *a, size_t count, size_t size)
{
	if (size && count > SIZE_MAX / size) {
		return NULL;
	}
	return arena_alloc(a, count * size);
}

void *arena_memdup(arena_t *a, const void *p, size_t n)
{
	void *d = arena_alloc(a, n);
	if (d && n) {
		memcpy(d, p, n);
	}
	return d;
}

char *arena_strdup(arena_t *a, const char *s)
{
	return arena_memdup(a, s, strlen(s) + 1);
}

size_t arena_used(const arena_t *a) { return a->total; }
