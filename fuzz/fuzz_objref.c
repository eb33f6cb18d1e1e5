/*
 * fuzz_objref.c - libFuzzer target for OBJREF and DUALSTRINGARRAY decoding
 * (src/dcom/objref.c): the whole input as an OBJREF, as a raw
 * DUALSTRINGARRAY and as the NDR form. STANDARD and CUSTOM OBJREFs that
 * decode are re-encoded and must decode to the same reference; a decoded
 * DUALSTRINGARRAY re-encodes to its canonical form, which must be stable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "dcom/objref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_dsa(const dcom_dualstringarray_t *x, const dcom_dualstringarray_t *y)
{
	if (x->n_str != y->n_str || x->n_sec != y->n_sec) {
		return false;
	}
	for (size_t i = 0; i < x->n_str; i++) {
		if (x->str[i].tower_id != y->str[i].tower_id || strcmp(x->str[i].addr, y->str[i].addr) != 0) {
			return false;
		}
	}
	for (size_t i = 0; i < x->n_sec; i++) {
		if (x->sec[i].authn_svc != y->sec[i].authn_svc ||
		    strcmp(x->sec[i].princ_name, y->sec[i].princ_name) != 0) {
			return false;
		}
	}
	return true;
}

static void objref(const uint8_t *data, size_t size, arena_t *a)
{
	cur_t c;
	cur_init(&c, data, size);
	dcom_objref_t o, o2;
	if (dcom_objref_decode(&c, a, &o) != CERR_OK) {
		return;
	}
	if (o.flags != OBJREF_STANDARD && o.flags != OBJREF_CUSTOM) {
		return;
	}
	buf_t b;
	buf_init(&b, 0);
	CHECK(dcom_objref_encode(&b, &o) == CERR_OK);
	cur_init(&c, b.data, b.len);
	CHECK(dcom_objref_decode(&c, a, &o2) == CERR_OK);
	CHECK(o2.flags == o.flags && guid_equal(&o2.iid, &o.iid));
	if (o.flags == OBJREF_STANDARD) {
		CHECK(o.std.flags == o2.std.flags && o.std.public_refs == o2.std.public_refs &&
		      o.std.oxid == o2.std.oxid && o.std.oid == o2.std.oid && guid_equal(&o.std.ipid, &o2.std.ipid));
		CHECK(same_dsa(&o.resaddr, &o2.resaddr));
	} else {
		CHECK(o.object_data_len == o2.object_data_len &&
		      (o.object_data_len == 0 || memcmp(o.object_data, o2.object_data, o.object_data_len) == 0));
		CHECK(b.len == size && memcmp(b.data, data, size) == 0);
	}
	buf_free(&b);
}

static void dsa(const uint8_t *data, size_t size, arena_t *a)
{
	cur_t c;
	cur_init(&c, data, size);
	dcom_dualstringarray_t d, d2;
	if (dcom_dsa_decode_raw(&c, a, &d)) {
		buf_t b1, b2;
		buf_init(&b1, 0);
		buf_init(&b2, 0);
		CHECK(dcom_dsa_encode_raw(&b1, &d));
		cur_t c2;
		cur_init(&c2, b1.data, b1.len);
		CHECK(dcom_dsa_decode_raw(&c2, a, &d2) && cur_empty(&c2));
		CHECK(same_dsa(&d, &d2));
		CHECK(dcom_dsa_encode_raw(&b2, &d2));
		CHECK(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0);
		buf_free(&b1);
		buf_free(&b2);
	}
	cur_init(&c, data, size);
	bool present;
	if (dcom_get_unique_dsa(&c, a, &d, &present) && present) {
		buf_t b;
		buf_init(&b, 0);
		dcom_put_dsa_body(&b, &d);
		CHECK(buf_ok(&b));
		cur_t c2;
		cur_init(&c2, b.data, b.len);
		CHECK(dcom_get_dsa_body(&c2, a, &d2) && same_dsa(&d, &d2));
		buf_free(&b);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	arena_t *a = arena_new();
	if (!a) {
		return 0;
	}
	objref(data, size, a);
	dsa(data, size, a);
	arena_free(a);
	return 0;
}
