/*
 * fuzz_icpr.c - libFuzzer target for the MS-ICPR CertServerRequest stub
 * codecs (src/services/icpr.c). Every input is decoded both as a request
 * stub (what certad parses from a client) and as a response stub (what
 * `certa req` parses from a server); either must decode or fail cleanly. A
 * request that decodes has its attribute blob checked, is re-encoded, and
 * must decode again to the same fields and re-encode to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "services/icpr.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void request_round_trip(const uint8_t *data, size_t size)
{
	arena_t *a = arena_new();
	if (!a) {
		return;
	}
	cur_t c;
	cur_init(&c, data, size);
	icpr_request_t r;
	if (icpr_decode_request(&c, a, &r) == CERR_OK) {
		char *attrs;
		cerr_t e = icpr_attribs_to_utf8(&r.attribs, a, &attrs);
		CHECK(e == CERR_OK || e == CERR_E_INVALIDARG || e == CERR_NOMEM);
		buf_t b1, b2;
		buf_init(&b1, 0);
		buf_init(&b2, 0);
		CHECK(icpr_encode_request(&b1, &r) == CERR_OK);
		cur_t c2;
		cur_init(&c2, b1.data, b1.len);
		icpr_request_t r2;
		CHECK(icpr_decode_request(&c2, a, &r2) == CERR_OK);
		CHECK(cur_empty(&c2));
		CHECK(r2.flags == r.flags && r2.request_id == r.request_id);
		CHECK(same_str(r2.authority, r.authority));
		CHECK(same_blob(&r2.attribs, &r.attribs) && same_blob(&r2.request, &r.request));
		CHECK(icpr_encode_request(&b2, &r2) == CERR_OK);
		CHECK(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0);
		buf_free(&b1);
		buf_free(&b2);
	}
	arena_free(a);
}

static void response_decode(const uint8_t *data, size_t size)
{
	arena_t *a = arena_new();
	if (!a) {
		return;
	}
	cur_t c;
	cur_init(&c, data, size);
	icpr_response_t r;
	if (icpr_decode_response(&c, a, &r) == CERR_OK) {
		(void)icpr_blob_to_utf8(&r.disposition_message, a);
		buf_t b;
		buf_init(&b, 0);
		CHECK(icpr_encode_response(&b, &r) == CERR_OK);
		cur_t c2;
		cur_init(&c2, b.data, b.len);
		icpr_response_t r2;
		CHECK(icpr_decode_response(&c2, a, &r2) == CERR_OK);
		CHECK(r2.request_id == r.request_id && r2.disposition == r.disposition && r2.status == r.status);
		CHECK(same_blob(&r2.cert_chain, &r.cert_chain) && same_blob(&r2.encoded_cert, &r.encoded_cert) &&
		      same_blob(&r2.disposition_message, &r.disposition_message));
		buf_free(&b);
	}
	arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	if (!quiet) {
		log_set_level(LOG_ERROR);
		quiet = true;
	}
	request_round_trip(data, size);
	response_decode(data, size);
	return 0;
}
