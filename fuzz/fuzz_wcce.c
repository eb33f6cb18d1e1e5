/*
 * fuzz_wcce.c - libFuzzer target for the MS-WCCE ICertRequestD/D2 stub
 * codecs (src/services/wcce.c). Every input is decoded as each method's
 * [in] parameters after ORPCTHIS (what certad parses from a client) and as
 * each [out] shape after ORPCTHAT (what `certa req --dcom` parses from a
 * server). Whatever decodes is re-encoded and must decode again to the
 * same fields and re-encode to the same bytes. Seeds (fuzz/corpus/wcce/)
 * are impacket-made stubs with their 32-byte ORPCTHIS cut off.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "services/wcce.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void request_round_trip(const uint8_t *data, size_t size, arena_t *a, bool v2)
{
	cur_t c;
	cur_init(&c, data, size);
	wcce_request_t r;
	if (wcce_decode_request(&c, a, v2, &r) != CERR_OK) {
		return;
	}
	buf_t b1, b2;
	buf_init(&b1, 0);
	buf_init(&b2, 0);
	CHECK(wcce_encode_request(&b1, v2, &r) == CERR_OK);
	cur_t c2;
	cur_init(&c2, b1.data, b1.len);
	wcce_request_t r2;
	CHECK(wcce_decode_request(&c2, a, v2, &r2) == CERR_OK);
	CHECK(cur_empty(&c2));
	CHECK(r2.flags == r.flags && r2.request_id == r.request_id);
	CHECK(same_str(r2.authority, r.authority) && same_str(r2.serial, r.serial) &&
	      same_str(r2.attributes, r.attributes));
	CHECK(same_blob(&r2.request, &r.request));
	CHECK(wcce_encode_request(&b2, v2, &r2) == CERR_OK);
	CHECK(same_bytes(&b1, &b2));
	buf_free(&b1);
	buf_free(&b2);
}

static void small_requests(const uint8_t *data, size_t size, arena_t *a)
{
	cur_t c;
	buf_t b;
	buf_init(&b, 0);
	uint32_t fchain, fchain2;
	char *auth, *auth2;
	cur_init(&c, data, size);
	if (wcce_decode_get_ca_cert(&c, a, &fchain, &auth) == CERR_OK) {
		CHECK(wcce_encode_get_ca_cert(&b, fchain, auth) == CERR_OK);
		cur_init(&c, b.data, b.len);
		CHECK(wcce_decode_get_ca_cert(&c, a, &fchain2, &auth2) == CERR_OK);
		CHECK(cur_empty(&c) && fchain2 == fchain && same_str(auth, auth2));
	}
	buf_reset(&b);
	cur_init(&c, data, size);
	if (wcce_decode_authority(&c, a, &auth) == CERR_OK) {
		CHECK(wcce_encode_authority(&b, auth) == CERR_OK);
		cur_init(&c, b.data, b.len);
		CHECK(wcce_decode_authority(&c, a, &auth2) == CERR_OK);
		CHECK(cur_empty(&c) && same_str(auth, auth2));
	}
	buf_reset(&b);
	cur_init(&c, data, size);
	wcce_prop_request_t p, p2;
	if (wcce_decode_prop_request(&c, a, &p) == CERR_OK) {
		CHECK(wcce_encode_prop_request(&b, &p) == CERR_OK);
		cur_init(&c, b.data, b.len);
		CHECK(wcce_decode_prop_request(&c, a, &p2) == CERR_OK);
		CHECK(cur_empty(&c) && same_str(p.authority, p2.authority) && p.prop_id == p2.prop_id &&
		      p.prop_index == p2.prop_index && p.prop_type == p2.prop_type);
	}
	buf_free(&b);
}

static void responses(const uint8_t *data, size_t size, arena_t *a)
{
	cur_t c;
	buf_t b;
	buf_init(&b, 0);
	cur_init(&c, data, size);
	wcce_response_t r, r2;
	if (wcce_decode_response(&c, a, &r) == CERR_OK) {
		(void)enroll_blob_to_utf8(&r.disposition_message, a);
		CHECK(wcce_encode_response(&b, &r) == CERR_OK);
		cur_init(&c, b.data, b.len);
		CHECK(wcce_decode_response(&c, a, &r2) == CERR_OK);
		CHECK(r2.request_id == r.request_id && r2.disposition == r.disposition && r2.status == r.status);
		CHECK(same_blob(&r2.cert_chain, &r.cert_chain) && same_blob(&r2.encoded_cert, &r.encoded_cert) &&
		      same_blob(&r2.disposition_message, &r.disposition_message));
	}
	buf_reset(&b);
	ndr_blob_t v, v2;
	uint32_t hr, hr2;
	cur_init(&c, data, size);
	if (wcce_decode_blob_response(&c, a, &v, &hr) == CERR_OK) {
		CHECK(wcce_encode_blob_response(&b, &v, hr) == CERR_OK);
		cur_init(&c, b.data, b.len);
		CHECK(wcce_decode_blob_response(&c, a, &v2, &hr2) == CERR_OK);
		CHECK(hr == hr2 && same_blob(&v, &v2));
	}
	buf_reset(&b);
	int32_t n, n2;
	cur_init(&c, data, size);
	if (wcce_decode_prop_info_response(&c, a, &n, &v, &hr) == CERR_OK) {
		CHECK(wcce_encode_prop_info_response(&b, n, &v, hr) == CERR_OK);
		cur_init(&c, b.data, b.len);
		CHECK(wcce_decode_prop_info_response(&c, a, &n2, &v2, &hr2) == CERR_OK);
		CHECK(n == n2 && hr == hr2 && same_blob(&v, &v2));
	}
	cur_init(&c, data, size);
	(void)wcce_decode_hresult(&c, &hr);
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	if (!quiet) {
		log_set_level(LOG_ERROR);
		quiet = true;
	}
	arena_t *a = arena_new();
	if (!a) {
		return 0;
	}
	request_round_trip(data, size, a, false);
	request_round_trip(data, size, a, true);
	small_requests(data, size, a);
	responses(data, size, a);
	arena_free(a);
	return 0;
}
