/*
 * ndr.c - NDR 2.0 primitives over cur_t / buf_t (see ndr.h). Everything here
 * aligns first, then checks that the bytes are there, then reads; compound
 * getters restore the cursor when any part fails.
 */
#include "rpc/ndr.h"

#include <stdlib.h>

#include "util/utf16.h"

/* A non-NULL pointer for present-but-empty arrays, so "present" survives decoding. */
static const uint8_t ndr_empty[1];

void ndr_refids_init(ndr_refids_t *ids) { ids->next = NDR_REFID_FIRST; }

uint32_t ndr_refid_next(ndr_refids_t *ids)
{
	uint32_t id = ids->next;
	ids->next += 4;
	if (ids->next == 0) { /* wrapped after 2^30 pointers: never hand out 0 */
		ids->next = NDR_REFID_FIRST;
	}
	return id;
}

bool ndr_ctx_handle_is_null(const ndr_ctx_handle_t *h)
{
	return h->attributes == 0 && guid_is_nil(&h->uuid);
}

/* ---- decoding ---- */

/* Aligned reads: on failure the cursor is restored so the padding is not lost. */
#define NDR_ALIGNED_GET(name, type, align, getter) \
	bool name(cur_t *c, type *out)             \
	{                                          \
		cur_t save = *c;                   \
		if (!cur_align(c, align) || !getter(c, out)) { \
			*c = save;                 \
			return false;              \
		}                                  \
		return true;                       \
	}
NDR_ALIGNED_GET(ndr_get_u16, uint16_t, 2, cur_get_u16)
NDR_ALIGNED_GET(ndr_get_u32, uint32_t, 4, cur_get_u32)
NDR_ALIGNED_GET(ndr_get_u64, uint64_t, 8, cur_get_u64)
NDR_ALIGNED_GET(ndr_get_enum, uint16_t, 2, cur_get_u16)
NDR_ALIGNED_GET(ndr_get_guid, guid_t, 4, cur_get_guid)
#undef NDR_ALIGNED_GET

bool ndr_get_u8(cur_t *c, uint8_t *out) { return cur_get_u8(c, out); }

bool ndr_get_ctx_handle(cur_t *c, ndr_ctx_handle_t *out)
{
	cur_t save = *c;
	ndr_ctx_handle_t h;
	if (!ndr_get_u32(c, &h.attributes) || !cur_get_guid(c, &h.uuid)) {
		*c = save;
		return false;
	}
	*out = h;
	return true;
}

bool ndr_get_unique_ptr(cur_t *c, uint32_t *referent) { return ndr_get_u32(c, referent); }

bool ndr_get_ref_ptr(cur_t *c, uint32_t *referent)
{
	cur_t save = *c;
	uint32_t id;
	if (!ndr_get_u32(c, &id) || id == 0) {
		*c = save;
		return false;
	}
	*referent = id;
	return true;
}

bool ndr_get_conformance(cur_t *c, uint32_t *max_count) { return ndr_get_u32(c, max_count); }

bool ndr_get_variance(cur_t *c, uint32_t *offset, uint32_t *actual_count)
{
	cur_t save = *c;
	uint32_t off, n;
	if (!ndr_get_u32(c, &off) || !ndr_get_u32(c, &n)) {
		*c = save;
		return false;
	}
	*offset = off;
	*actual_count = n;
	return true;
}

bool ndr_check_count(const cur_t *c, uint32_t count, size_t elem_size)
{
	if (elem_size == 0) {
		return true;
	}
	return count <= cur_len(c) / elem_size;
}

bool ndr_get_bytes(cur_t *c, arena_t *a, uint32_t n, const uint8_t **out)
{
	cur_t save = *c;
	cur_t body;
	if (!cur_get_bytes(c, &body, n)) {
		return false;
	}
	if (n == 0) {
		*out = NULL;
		return true;
	}
	uint8_t *copy = arena_alloc(a, n);
	if (!copy || !cur_copy(&body, copy, n)) {
		*c = save;
		return false;
	}
	*out = copy;
	return true;
}

bool ndr_get_conformant_bytes(cur_t *c, arena_t *a, uint32_t expected_len, const uint8_t **out)
{
	cur_t save = *c;
	uint32_t max_count;
	const uint8_t *data;
	/* C706 14.3.3.2: max_count is the size_is value; a mismatch is bad stub data. */
	if (!ndr_get_conformance(c, &max_count) || max_count != expected_len ||
	    !ndr_get_bytes(c, a, max_count, &data)) {
		*c = save;
		return false;
	}
	*out = data;
	return true;
}

/* check_wstring_units is true when units[0..n) contain exactly one NUL, at the end. */
static bool check_wstring_units(cur_t units, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint16_t u;
		if (!cur_get_u16le(&units, &u)) {
			return false;
		}
		if ((u == 0) != (i + 1 == n)) {
			return false;
		}
	}
	return true;
}

bool ndr_get_wstring(cur_t *c, arena_t *a, size_t max_chars, char **out_utf8)
{
	cur_t save = *c;
	uint32_t max_count, offset, actual;
	cur_t units;
	char *tmp = NULL;
	char *s = NULL;
	/* Strings are decoded as UTF-16LE; a big-endian drep is not supported here. */
	if (c->be) {
		return false;
	}
	if (!ndr_get_conformance(c, &max_count) || !ndr_get_variance(c, &offset, &actual)) {
		goto bad;
	}
	/* C706 14.3.4: [string] arrays are conformant varying with offset 0 and an
	 * actual_count that includes the terminator; MIDL stubs reject the rest. */
	if (offset != 0 || actual == 0 || actual > max_count || actual - 1 > max_chars) {
		goto bad;
	}
	if (!ndr_check_count(c, actual, 2) || !cur_get_bytes(c, &units, (size_t)actual * 2)) {
		goto bad;
	}
	if (!check_wstring_units(units, actual)) {
		goto bad;
	}
	tmp = utf16le_to_utf8(&units, actual);
	if (!tmp) {
		goto bad;
	}
	s = arena_strdup(a, tmp);
	free(tmp);
	if (!s) {
		goto bad;
	}
	*out_utf8 = s;
	return true;
bad:
	*c = save;
	return false;
}

bool ndr_get_unique_wstring(cur_t *c, arena_t *a, size_t max_chars, char **out_utf8)
{
	cur_t save = *c;
	uint32_t ref;
	if (!ndr_get_unique_ptr(c, &ref)) {
		return false;
	}
	if (ref == 0) {
		*out_utf8 = NULL;
		return true;
	}
	if (!ndr_get_wstring(c, a, max_chars, out_utf8)) {
		*c = save;
		return false;
	}
	return true;
}

bool ndr_get_blob_hdr(cur_t *c, uint32_t *len, uint32_t *referent)
{
	cur_t save = *c;
	uint32_t n, ref;
	if (!ndr_get_u32(c, &n) || !ndr_get_unique_ptr(c, &ref)) {
		*c = save;
		return false;
	}
	*len = n;
	*referent = ref;
	return true;
}

bool ndr_get_blob_data(cur_t *c, arena_t *a, uint32_t len, uint32_t referent, size_t max_len,
		       ndr_blob_t *out)
{
	if (referent == 0) {
		/* NULL pb: nothing on the wire, whatever cb claimed (MS-WCCE 2.2.2.2: empty = 0/NULL). */
		out->len = 0;
		out->data = NULL;
		return true;
	}
	const uint8_t *data;
	if (len > max_len || !ndr_get_conformant_bytes(c, a, len, &data)) {
		return false;
	}
	out->len = len;
	out->data = data ? data : ndr_empty;
	return true;
}

bool ndr_get_blob(cur_t *c, arena_t *a, size_t max_len, ndr_blob_t *out)
{
	cur_t save = *c;
	uint32_t len, ref;
	if (!ndr_get_blob_hdr(c, &len, &ref) || !ndr_get_blob_data(c, a, len, ref, max_len, out)) {
		*c = save;
		return false;
	}
	return true;
}

/* ---- encoding ---- */

void ndr_put_u8(buf_t *b, uint8_t v) { buf_put_u8(b, v); }

void ndr_put_u16(buf_t *b, uint16_t v)
{
	buf_align(b, 2);
	buf_put_u16(b, v);
}

void ndr_put_u32(buf_t *b, uint32_t v)
{
	buf_align(b, 4);
	buf_put_u32(b, v);
}

void ndr_put_u64(buf_t *b, uint64_t v)
{
	buf_align(b, 8);
	buf_put_u64(b, v);
}

void ndr_put_enum(buf_t *b, uint16_t v) { ndr_put_u16(b, v); }

void ndr_put_guid(buf_t *b, const guid_t *g)
{
	buf_align(b, 4);
	buf_put_guid(b, g);
}

void ndr_put_ctx_handle(buf_t *b, const ndr_ctx_handle_t *h)
{
	ndr_put_u32(b, h->attributes);
	buf_put_guid(b, &h->uuid);
}

uint32_t ndr_put_unique_ptr(buf_t *b, ndr_refids_t *ids, bool present)
{
	uint32_t id = present ? ndr_refid_next(ids) : 0;
	ndr_put_u32(b, id);
	return id;
}

void ndr_put_conformance(buf_t *b, uint32_t max_count) { ndr_put_u32(b, max_count); }

void ndr_put_variance(buf_t *b, uint32_t offset, uint32_t actual_count)
{
	ndr_put_u32(b, offset);
	ndr_put_u32(b, actual_count);
}

void ndr_put_conformant_bytes(buf_t *b, const void *data, uint32_t len)
{
	if (len && !data) {
		b->err = true;
		return;
	}
	ndr_put_conformance(b, len);
	buf_put_bytes(b, data, len);
}

void ndr_put_wstring(buf_t *b, const char *utf8)
{
	size_t units = utf8 ? utf8_utf16_units(utf8) : (size_t)-1;
	if (units == (size_t)-1 || units >= UINT32_MAX) {
		b->err = true;
		return;
	}
	uint32_t n = (uint32_t)units + 1; /* with the terminator */
	size_t written = 0;
	ndr_put_conformance(b, n);
	ndr_put_variance(b, 0, n);
	if (!utf8_to_utf16le(b, utf8, true, &written) || written != n) {
		b->err = true;
	}
}

void ndr_put_unique_wstring(buf_t *b, ndr_refids_t *ids, const char *utf8)
{
	if (ndr_put_unique_ptr(b, ids, utf8 != NULL)) {
		ndr_put_wstring(b, utf8);
	}
}

void ndr_put_blob_hdr(buf_t *b, ndr_refids_t *ids, const ndr_blob_t *blob)
{
	if (!blob->data && blob->len) {
		b->err = true;
		return;
	}
	ndr_put_u32(b, blob->len);
	ndr_put_unique_ptr(b, ids, blob->data != NULL);
}

void ndr_put_blob_data(buf_t *b, const ndr_blob_t *blob)
{
	if (blob->data) {
		ndr_put_conformant_bytes(b, blob->data, blob->len);
	}
}

void ndr_put_blob(buf_t *b, ndr_refids_t *ids, const ndr_blob_t *blob)
{
	ndr_put_blob_hdr(b, ids, blob);
	ndr_put_blob_data(b, blob);
}
