/*
 * fuzz_check.h - what the fuzz targets share: CHECK, which aborts (so
 * libFuzzer keeps the input) when an invariant of the code under test fails,
 * and the comparisons the codec round trips make. Header only: the targets
 * are single files (fuzz/meson.build builds each from its .c).
 */
#ifndef CERTA_FUZZ_CHECK_H
#define CERTA_FUZZ_CHECK_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/ndr.h"
#include "util/cursor.h"

#define CHECK(x)                 \
	do {                     \
		if (!(x)) {      \
			abort(); \
		}                \
	} while (0)

static inline bool same_blob(const ndr_blob_t *a, const ndr_blob_t *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* same_str: both NULL, or equal strings */
static inline bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static inline bool same_bytes(const buf_t *a, const buf_t *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

#endif
