/*
 * cursor.c - bounds-checked reader and capped builder (see cursor.h). All
 * pointer arithmetic on wire data in the project lives in this file.
 */
#include "util/cursor.h"

#include <stdlib.h>
#include <string.h>

void cur_init(cur_t *c, const uint8_t *data, size_t len)
{
	c->p = data;
	c->len = data ? len : 0;
	c->base = data;
	c->be = false;
}

void cur_rebase(cur_t *c) { c->base = c->p; }

size_t cur_offset(const cur_t *c) { return (size_t)(c->p - c->base); }

bool cur_skip(cur_t *c, size_t n)
{
	if (n > c->len) {
		return false;
	}
	c->p += n;
	c->len -= n;
	return true;
}

static bool get_uint(cur_t *c, size_t n, bool be, uint64_t *out)
{
	if (n > c->len) {
		return false;
	}
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		size_t idx = be ? i : n - 1 - i;
		v = (v << 8) | c->p[idx];
	}
	c->p += n;
	c->len -= n;
	*out = v;
	return true;
}

bool cur_get_u8(cur_t *c, uint8_t *out)
{
	uint64_t v;
	if (!get_uint(c, 1, false, &v)) {
		return false;
	}
	*out = (uint8_t)v;
	return true;
}

#define GETTER(name, type, n, order)              \
	bool name(cur_t *c, type *out)            \
	{                                         \
		uint64_t v;                       \
		if (!get_uint(c, n, order, &v)) { \
			return false;             \
		}                                 \
		*out = (type)v;                   \
		return true;                      \
	}
GETTER(cur_get_u16, uint16_t, 2, c->be)
GETTER(cur_get_u32, uint32_t, 4, c->be)
GETTER(cur_get_u64, uint64_t, 8, c->be)
GETTER(cur_get_u16le, uint16_t, 2, false)
GETTER(cur_get_u32le, uint32_t, 4, false)
GETTER(cur_get_u64le, uint64_t, 8, false)
GETTER(cur_get_u16be, uint16_t, 2, true)
GETTER(cur_get_u32be, uint32_t, 4, true)
#undef GETTER

bool cur_get_guid(cur_t *c, guid_t *out)
{
	cur_t save = *c;
	guid_t g;
	if (!cur_get_u32(c, &g.d1) || !cur_get_u16(c, &g.d2) || !cur_get_u16(c, &g.d3) ||
	    !cur_copy(c, g.d4, 8)) {
		*c = save;
		return false;
	}
	*out = g;
	return true;
}

bool cur_copy(cur_t *c, void *out, size_t n)
{
	if (n > c->len) {
		return false;
	}
	if (n) {
		memcpy(out, c->p, n);
	}
	c->p += n;
	c->len -= n;
	return true;
}

bool cur_get_bytes(cur_t *c, cur_t *out, size_t n)
{
	if (n > c->len) {
		return false;
	}
	out->p = c->p;
	out->len = n;
	out->base = c->base;
	out->be = c->be;
	c->p += n;
	c->len -= n;
	return true;
}

bool cur_get_last(cur_t *c, cur_t *out, size_t n)
{
	if (n > c->len) {
		return false;
	}
	out->p = c->p + (c->len - n);
	out->len = n;
	out->base = c->base;
	out->be = c->be;
	c->len -= n;
	return true;
}

bool cur_sub(const cur_t *c, size_t off, size_t n, cur_t *out)
{
	if (off > c->len || n > c->len - off) {
		return false;
	}
	out->p = c->p + off;
	out->len = n;
	out->base = c->base;
	out->be = c->be;
	return true;
}

static size_t pad_for(size_t off, size_t a)
{
	return (a - (off & (a - 1))) & (a - 1);
}

bool cur_align(cur_t *c, size_t a)
{
	return cur_skip(c, pad_for(cur_offset(c), a));
}

bool cur_align_zero(cur_t *c, size_t a)
{
	size_t n = pad_for(cur_offset(c), a);
	if (n > c->len) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (c->p[i] != 0) {
			return false;
		}
	}
	return cur_skip(c, n);
}

bool cur_equal(const cur_t *c, const void *mem, size_t n)
{
	if (c->len != n) {
		return false;
	}
	const uint8_t *m = mem;
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++) {
		acc |= (uint8_t)(c->p[i] ^ m[i]);
	}
	return acc == 0;
}

/* ---- builder ---- */

void buf_init(buf_t *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max ? max : BUF_DEFAULT_MAX;
}

void buf_free(buf_t *b)
{
	if (!b) {
		return;
	}
	free(b->data);
	size_t max = b->max;
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void buf_reset(buf_t *b)
{
	b->len = 0;
	b->base = 0;
	b->err = false;
}

void buf_set_base(buf_t *b) { b->base = b->len; }

/* grow makes room for n more bytes and returns where they go, or NULL (err set). */
static uint8_t *grow(buf_t *b, size_t n)
{
	if (b->err) {
		return NULL;
	}
	if (n == 0) {
		/* nothing to place; b->data may still be NULL, and NULL + 0 is undefined */
		static uint8_t none;
		return &none;
	}
	if (n > b->max || b->len > b->max - n) {
		b->err = true;
		return NULL;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n) {
			cap = cap > SIZE_MAX / 2 ? b->len + n : cap * 2;
		}
		if (cap > b->max) {
			cap = b->max;
		}
		uint8_t *d = realloc(b->data, cap);
		if (!d) {
			b->err = true;
			return NULL;
		}
		b->data = d;
		b->cap = cap;
	}
	uint8_t *at = b->data + b->len;
	b->len += n;
	return at;
}

static void put_uint(buf_t *b, uint64_t v, size_t n, bool be)
{
	uint8_t *at = grow(b, n);
	if (!at) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		size_t idx = be ? n - 1 - i : i;
		at[idx] = (uint8_t)(v >> (8 * i));
	}
}

void buf_put_u8(buf_t *b, uint8_t v) { put_uint(b, v, 1, false); }
void buf_put_u16(buf_t *b, uint16_t v) { put_uint(b, v, 2, b->be); }
void buf_put_u32(buf_t *b, uint32_t v) { put_uint(b, v, 4, b->be); }
void buf_put_u64(buf_t *b, uint64_t v) { put_uint(b, v, 8, b->be); }
void buf_put_u16be(buf_t *b, uint16_t v) { put_uint(b, v, 2, true); }
void buf_put_u32be(buf_t *b, uint32_t v) { put_uint(b, v, 4, true); }

void buf_put_bytes(buf_t *b, const void *p, size_t n)
{
	uint8_t *at = grow(b, n);
	if (at && n) {
		memcpy(at, p, n);
	}
}

void buf_put_zeros(buf_t *b, size_t n)
{
	uint8_t *at = grow(b, n);
	if (at && n) {
		memset(at, 0, n);
	}
}

void buf_put_guid(buf_t *b, const guid_t *g)
{
	buf_put_u32(b, g->d1);
	buf_put_u16(b, g->d2);
	buf_put_u16(b, g->d3);
	buf_put_bytes(b, g->d4, 8);
}

void buf_put_der_tlv(buf_t *b, uint8_t tag, const void *content, size_t n)
{
	buf_put_u8(b, tag);
	if (n < 0x80) {
		buf_put_u8(b, (uint8_t)n);
	} else if (n <= 0xff) {
		buf_put_u8(b, 0x81);
		buf_put_u8(b, (uint8_t)n);
	} else if (n <= 0xffff) {
		buf_put_u8(b, 0x82);
		buf_put_u16be(b, (uint16_t)n);
	} else {
		buf_put_u8(b, 0x84);
		buf_put_u32be(b, (uint32_t)n);
	}
	buf_put_bytes(b, content, n);
}

void buf_align(buf_t *b, size_t a)
{
	buf_put_zeros(b, pad_for(b->len - b->base, a));
}

size_t buf_reserve(buf_t *b, size_t n)
{
	size_t off = b->len;
	uint8_t *at = grow(b, n);
	if (!at) {
		return (size_t)-1;
	}
	memset(at, 0, n);
	return off;
}

static void patch_uint(buf_t *b, size_t off, uint64_t v, size_t n)
{
	if (b->err || off > b->len || n > b->len - off) {
		b->err = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		size_t idx = b->be ? n - 1 - i : i;
		b->data[off + idx] = (uint8_t)(v >> (8 * i));
	}
}

void buf_patch_u16(buf_t *b, size_t off, uint16_t v) { patch_uint(b, off, v, 2); }
void buf_patch_u32(buf_t *b, size_t off, uint32_t v) { patch_uint(b, off, v, 4); }

uint8_t *buf_take(buf_t *b, size_t *out_len)
{
	if (b->err) {
		buf_free(b);
		*out_len = 0;
		return NULL;
	}
	uint8_t *d = b->data;
	*out_len = b->len;
	if (!d) {
		d = malloc(1); /* an empty result is still a result */
	}
	size_t max = b->max;
	memset(b, 0, sizeof(*b));
	b->max = max;
	return d;
}
