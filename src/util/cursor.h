/*
 * cursor.h - the one way untrusted bytes are read (cur_t) and wire bytes are
 * written (buf_t). In the spirit of BoringSSL's CBS/CBB: every getter either
 * succeeds and advances, or fails and leaves the cursor unchanged. Callers
 * chain getters with && and never do pointer arithmetic on wire data.
 *
 * Integers read with cur_get_u16/u32/u64 follow the cursor's byte order
 * (set from the DCE drep, C706 14.2.5); the _le/_be variants are fixed.
 * Alignment (cur_align) is measured from the cursor's base, which children
 * inherit, so NDR alignment stays relative to the start of the stub.
 */
#ifndef CERTA_UTIL_CURSOR_H
#define CERTA_UTIL_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/guid.h"

typedef struct cur {
	const uint8_t *p;    /* next unread byte */
	size_t len;          /* bytes left */
	const uint8_t *base; /* alignment origin (start of stub / message) */
	bool be;             /* integers big-endian (drep) */
} cur_t;

/* cur_init starts a cursor over data[0..len) with itself as base, little-endian. */
void cur_init(cur_t *c, const uint8_t *data, size_t len);
/* cur_rebase makes the current position the alignment origin. */
void cur_rebase(cur_t *c);
static inline size_t cur_len(const cur_t *c) { return c->len; }
static inline const uint8_t *cur_data(const cur_t *c) { return c->p; }
/* cur_offset is the number of bytes between base and the current position. */
size_t cur_offset(const cur_t *c);

bool cur_skip(cur_t *c, size_t n);
bool cur_get_u8(cur_t *c, uint8_t *out);
bool cur_get_u16(cur_t *c, uint16_t *out);
bool cur_get_u32(cur_t *c, uint32_t *out);
bool cur_get_u64(cur_t *c, uint64_t *out);
bool cur_get_u16le(cur_t *c, uint16_t *out);
bool cur_get_u32le(cur_t *c, uint32_t *out);
bool cur_get_u64le(cur_t *c, uint64_t *out);
bool cur_get_u16be(cur_t *c, uint16_t *out);
bool cur_get_u32be(cur_t *c, uint32_t *out);
/* cur_get_guid reads a GUID in its DCE wire form (first three fields in the cursor's order). */
bool cur_get_guid(cur_t *c, guid_t *out);
/* cur_copy copies n bytes out and advances. */
bool cur_copy(cur_t *c, void *out, size_t n);
/* cur_get_bytes splits the next n bytes off as a child cursor (same base and order). */
bool cur_get_bytes(cur_t *c, cur_t *out, size_t n);
/* cur_get_last splits the last n bytes off as a child cursor and shortens c. */
bool cur_get_last(cur_t *c, cur_t *out, size_t n);
/* cur_sub gives the child cursor of n bytes at offset off from the current
 * position without advancing (for offset/length "security buffers"). */
bool cur_sub(const cur_t *c, size_t off, size_t n, cur_t *out);
/* cur_align skips to the next multiple of a (a power of two) from base. */
bool cur_align(cur_t *c, size_t a);
/* cur_align_zero is cur_align that also fails unless the skipped bytes are zero. */
bool cur_align_zero(cur_t *c, size_t a);
/* cur_empty is true when every byte has been consumed ("parse fully or fail"). */
static inline bool cur_empty(const cur_t *c) { return c->len == 0; }
/* cur_equal compares the remaining bytes with mem in constant time. */
bool cur_equal(const cur_t *c, const void *mem, size_t n);

/* ---- builder ---- */

typedef struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max;   /* hard cap; exceeding it sets err */
	size_t base;  /* alignment origin within data (buf_align) */
	bool be;      /* write integers big-endian (never, in practice) */
	bool err;     /* sticky: set on overflow or allocation failure */
} buf_t;

#define BUF_DEFAULT_MAX (16u * 1024u * 1024u)

/* buf_init starts an empty growable builder that may grow to max bytes. */
void buf_init(buf_t *b, size_t max);
/* buf_free releases the storage and returns b to the zero state (NULL-safe). */
void buf_free(buf_t *b);
/* buf_reset empties b, keeping its storage. */
void buf_reset(buf_t *b);
static inline bool buf_ok(const buf_t *b) { return !b->err; }
/* buf_set_base makes the current length the alignment origin. */
void buf_set_base(buf_t *b);

void buf_put_u8(buf_t *b, uint8_t v);
void buf_put_u16(buf_t *b, uint16_t v);
void buf_put_u32(buf_t *b, uint32_t v);
void buf_put_u64(buf_t *b, uint64_t v);
void buf_put_u16be(buf_t *b, uint16_t v);
void buf_put_u32be(buf_t *b, uint32_t v);
void buf_put_bytes(buf_t *b, const void *p, size_t n);
void buf_put_zeros(buf_t *b, size_t n);
void buf_put_guid(buf_t *b, const guid_t *g);
/* buf_put_der_tlv appends a DER tag, definite length (X.690 8.1.3) and content. */
void buf_put_der_tlv(buf_t *b, uint8_t tag, const void *content, size_t n);
/* buf_align pads with zeros to the next multiple of a from base. */
void buf_align(buf_t *b, size_t a);
/* buf_reserve appends n zero bytes and returns their offset, for fields
 * patched later (lengths, counts). Returns (size_t)-1 with err set on failure. */
size_t buf_reserve(buf_t *b, size_t n);
void buf_patch_u16(buf_t *b, size_t off, uint16_t v);
void buf_patch_u32(buf_t *b, size_t off, uint32_t v);
/* buf_take transfers the bytes to the caller (free with free()); b is reset to zero. NULL on err. */
uint8_t *buf_take(buf_t *b, size_t *out_len);

#endif
