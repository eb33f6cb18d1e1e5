/* test_wcce.c - MS-WCCE ICertRequestD/ICertRequestD2: the stub codecs
 * against impacket-made requests (tests/integration/wcce_ndr.py), range()
 * limits, truncation and bit-flip sweeps, and every method against a real
 * CA: Request/Request2 (issue, retrieval by ID and by serial, refusals and
 * their 4888 events), GetCACert tags, GetCAProperty values and argument
 * checks, GetCAPropertyInfo's CATRANSPROP array, Ping/Ping2, dispatch;
 * and the DCOM client's RemoteCreateInstance / RemRelease codecs against the
 * dcom/ layer's server-side decoders and encoders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ca/ca.h"
#include "rpc/pdu.h"
#include "dcom/actprops.h"
#include "dcom/exporter.h"
#include "services/dcom_client.h"
#include "services/wcce.h"
#include "testutil.h"

/* Fixtures: impacket NDR classes (tests/integration/wcce_ndr.py run as a
 * script); ORPCTHIS (COM 5.7, no extensions) first, then the method's [in]
 * parameters, with impacket's non-zero padding and random referent ids. */
/* Request: certa-CA, id 0, CertificateTemplate:User, 30 03 02 01 05, flags 0x100 */
static const uint8_t fx_request[] = {
	0x05, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x67, 0x45, 0x23, 0x01, 0xab, 0x89, 0xef, 0xcd, 0x01, 0x23, 0x45, 0x67,
	0x89, 0xab, 0xcd, 0xef, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
	0x17, 0xe2, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x09, 0x00, 0x00, 0x00, 0x63, 0x00, 0x65, 0x00, 0x72, 0x00, 0x74, 0x00,
	0x61, 0x00, 0x2d, 0x00, 0x43, 0x00, 0x41, 0x00, 0x00, 0x00, 0xbf, 0xbf,
	0x00, 0x00, 0x00, 0x00, 0xb4, 0x78, 0x00, 0x00, 0x19, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x19, 0x00, 0x00, 0x00, 0x43, 0x00, 0x65, 0x00,
	0x72, 0x00, 0x74, 0x00, 0x69, 0x00, 0x66, 0x00, 0x69, 0x00, 0x63, 0x00,
	0x61, 0x00, 0x74, 0x00, 0x65, 0x00, 0x54, 0x00, 0x65, 0x00, 0x6d, 0x00,
	0x70, 0x00, 0x6c, 0x00, 0x61, 0x00, 0x74, 0x00, 0x65, 0x00, 0x3a, 0x00,
	0x55, 0x00, 0x73, 0x00, 0x65, 0x00, 0x72, 0x00, 0x00, 0x00, 0xab, 0xab,
	0x05, 0x00, 0x00, 0x00, 0x33, 0x5a, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00,
	0x30, 0x03, 0x02, 0x01, 0x05,
};
/* Request: certa-CA, id 7, NULL attributes, empty request */
static const uint8_t fx_request_retrieve[] = {
	0x05, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x67, 0x45, 0x23, 0x01, 0xab, 0x89, 0xef, 0xcd, 0x01, 0x23, 0x45, 0x67,
	0x89, 0xab, 0xcd, 0xef, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0xcd, 0x06, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x09, 0x00, 0x00, 0x00, 0x63, 0x00, 0x65, 0x00, 0x72, 0x00, 0x74, 0x00,
	0x61, 0x00, 0x2d, 0x00, 0x43, 0x00, 0x41, 0x00, 0x00, 0x00, 0xbf, 0xbf,
	0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,
};
/* Request2: certa-CA, serial 0a1b, id 0, NULL attributes, empty request */
static const uint8_t fx_request2_serial[] = {
	0x05, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x67, 0x45, 0x23, 0x01, 0xab, 0x89, 0xef, 0xcd, 0x01, 0x23, 0x45, 0x67,
	0x89, 0xab, 0xcd, 0xef, 0x00, 0x00, 0x00, 0x00, 0xb2, 0xbe, 0x00, 0x00,
	0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00,
	0x63, 0x00, 0x65, 0x00, 0x72, 0x00, 0x74, 0x00, 0x61, 0x00, 0x2d, 0x00,
	0x43, 0x00, 0x41, 0x00, 0x00, 0x00, 0xbf, 0xbf, 0x00, 0x00, 0x00, 0x00,
	0x90, 0x5d, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x05, 0x00, 0x00, 0x00, 0x30, 0x00, 0x61, 0x00, 0x31, 0x00, 0x62, 0x00,
	0x00, 0x00, 0xbf, 0xbf, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* GetCACert: fchain 'name' (0x6e616d65), NULL authority */
static const uint8_t fx_get_ca_cert[] = {
	0x05, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x67, 0x45, 0x23, 0x01, 0xab, 0x89, 0xef, 0xcd, 0x01, 0x23, 0x45, 0x67,
	0x89, 0xab, 0xcd, 0xef, 0x00, 0x00, 0x00, 0x00, 0x65, 0x6d, 0x61, 0x6e,
	0x00, 0x00, 0x00, 0x00,
};
/* GetCAProperty: certa-CA, CR_PROP_TEMPLATES 0x1d, index 0, type 4 */
static const uint8_t fx_get_ca_property[] = {
	0x05, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x67, 0x45, 0x23, 0x01, 0xab, 0x89, 0xef, 0xcd, 0x01, 0x23, 0x45, 0x67,
	0x89, 0xab, 0xcd, 0xef, 0x00, 0x00, 0x00, 0x00, 0x92, 0x77, 0x00, 0x00,
	0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00,
	0x63, 0x00, 0x65, 0x00, 0x72, 0x00, 0x74, 0x00, 0x61, 0x00, 0x2d, 0x00,
	0x43, 0x00, 0x41, 0x00, 0x00, 0x00, 0xbf, 0xbf, 0x1d, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
};
/* GetCAPropertyInfo: certa-CA */
static const uint8_t fx_get_ca_property_info[] = {
	0x05, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x67, 0x45, 0x23, 0x01, 0xab, 0x89, 0xef, 0xcd, 0x01, 0x23, 0x45, 0x67,
	0x89, 0xab, 0xcd, 0xef, 0x00, 0x00, 0x00, 0x00, 0xda, 0xef, 0x00, 0x00,
	0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00,
	0x63, 0x00, 0x65, 0x00, 0x72, 0x00, 0x74, 0x00, 0x61, 0x00, 0x2d, 0x00,
	0x43, 0x00, 0x41, 0x00, 0x00, 0x00,
};
/* Ping2: empty authority */
static const uint8_t fx_ping2[] = {
	0x05, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x67, 0x45, 0x23, 0x01, 0xab, 0x89, 0xef, 0xcd, 0x01, 0x23, 0x45, 0x67,
	0x89, 0xab, 0xcd, 0xef, 0x00, 0x00, 0x00, 0x00, 0xcc, 0x97, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00,
};

/* skip_orpcthis steps over ORPCTHIS (MS-DCOM 2.2.13.3) without extensions,
 * 32 bytes, leaving the cursor's base at the stub start as the DCOM layer
 * does. */
static void skip_orpcthis(cur_t *c)
{
	uint16_t major, minor;
	uint32_t flags, reserved, ext = 0;
	guid_t cid;
	assert_true(cur_get_u16(c, &major) && cur_get_u16(c, &minor) && cur_get_u32(c, &flags) &&
		    cur_get_u32(c, &reserved) && cur_get_guid(c, &cid) && cur_get_u32(c, &ext));
	assert_int_equal(major, 5);
	assert_int_equal(ext, 0);
}

/* put_orpcthis / put_orpcthat write the same, for requests built here and
 * for the response prefix the DCOM layer writes before the method runs. */
static void put_orpcthis(buf_t *b)
{
	buf_put_u16(b, 5);
	buf_put_u16(b, 7);
	buf_put_u32(b, 0);
	buf_put_u32(b, 0);
	buf_put_zeros(b, 16);
	buf_put_u32(b, 0);
}

static void put_orpcthat(buf_t *b)
{
	buf_put_u32(b, 0);
	buf_put_u32(b, 0);
}

static cerr_t decode_request(const uint8_t *p, size_t n, arena_t *a, bool v2, wcce_request_t *out)
{
	cur_t c;
	cur_init(&c, p, n);
	if (n < 32) {
		return CERR_MALFORMED;
	}
	skip_orpcthis(&c);
	return wcce_decode_request(&c, a, v2, out);
}

static void test_decode_impacket(void **state)
{
	(void)state;
	arena_t *a = arena_new();
	wcce_request_t r;
	assert_int_equal(decode_request(fx_request, sizeof(fx_request), a, false, &r), CERR_OK);
	assert_int_equal(r.flags, 0x100);
	assert_string_equal(r.authority, "certa-CA");
	assert_null(r.serial);
	assert_int_equal(r.request_id, 0);
	assert_string_equal(r.attributes, "CertificateTemplate:User");
	assert_int_equal(r.request.len, 5);
	assert_memory_equal(r.request.data, "\x30\x03\x02\x01\x05", 5);

	assert_int_equal(decode_request(fx_request_retrieve, sizeof(fx_request_retrieve), a, false, &r), CERR_OK);
	assert_int_equal(r.request_id, 7);
	assert_null(r.attributes);
	assert_int_equal(r.request.len, 0);
	assert_null(r.request.data);

	assert_int_equal(decode_request(fx_request2_serial, sizeof(fx_request2_serial), a, true, &r), CERR_OK);
	assert_string_equal(r.authority, "certa-CA");
	assert_string_equal(r.serial, "0a1b");
	assert_int_equal(r.request_id, 0);
	assert_null(r.attributes);
	assert_int_equal(r.request.len, 0);

	cur_t c;
	uint32_t fchain;
	char *auth;
	cur_init(&c, fx_get_ca_cert, sizeof(fx_get_ca_cert));
	skip_orpcthis(&c);
	assert_int_equal(wcce_decode_get_ca_cert(&c, a, &fchain, &auth), CERR_OK);
	assert_int_equal(fchain, WCCE_GETCERT_CANAME);
	assert_null(auth);

	wcce_prop_request_t pr;
	cur_init(&c, fx_get_ca_property, sizeof(fx_get_ca_property));
	skip_orpcthis(&c);
	assert_int_equal(wcce_decode_prop_request(&c, a, &pr), CERR_OK);
	assert_string_equal(pr.authority, "certa-CA");
	assert_int_equal(pr.prop_id, CR_PROP_TEMPLATES);
	assert_int_equal(pr.prop_index, 0);
	assert_int_equal(pr.prop_type, WCCE_PROPTYPE_STRING);

	cur_init(&c, fx_get_ca_property_info, sizeof(fx_get_ca_property_info));
	skip_orpcthis(&c);
	assert_int_equal(wcce_decode_authority(&c, a, &auth), CERR_OK);
	assert_string_equal(auth, "certa-CA");
	cur_init(&c, fx_ping2, sizeof(fx_ping2));
	skip_orpcthis(&c);
	assert_int_equal(wcce_decode_authority(&c, a, &auth), CERR_OK);
	assert_string_equal(auth, "");
	arena_free(a);
}

static void test_truncation_and_flips(void **state)
{
	(void)state;
	const struct {
		const uint8_t *p;
		size_t n;
		bool v2;
	} fx[] = {{fx_request, sizeof(fx_request), false},
		  {fx_request_retrieve, sizeof(fx_request_retrieve), false},
		  {fx_request2_serial, sizeof(fx_request2_serial), true}};
	for (size_t k = 0; k < sizeof(fx) / sizeof(fx[0]); k++) {
		for (size_t n = 0; n < fx[k].n; n++) {
			arena_t *a = arena_new();
			wcce_request_t r;
			assert_int_equal(decode_request(fx[k].p, n, a, fx[k].v2, &r), CERR_MALFORMED);
			arena_free(a);
		}
		/* every single-bit flip after ORPCTHIS decodes or fails cleanly */
		uint8_t *copy = malloc(fx[k].n);
		for (size_t i = 32 * 8; i < fx[k].n * 8; i++) {
			memcpy(copy, fx[k].p, fx[k].n);
			copy[i / 8] ^= (uint8_t)(1u << (i % 8));
			arena_t *a = arena_new();
			wcce_request_t r;
			cerr_t e = decode_request(copy, fx[k].n, a, fx[k].v2, &r);
			assert_true(e == CERR_OK || e == CERR_MALFORMED);
			arena_free(a);
		}
		free(copy);
	}
}

/* a string of n 'x' characters */
static char *xs(size_t n)
{
	char *s = malloc(n + 1);
	memset(s, 'x', n);
	s[n] = 0;
	return s;
}

static void test_range_limits(void **state)
{
	(void)state;
	/* range(1, 1536) counts the NUL: 1535 characters pass, 1536 do not */
	char *ok = xs(WCCE_MAX_STRING_CHARS), *big = xs(WCCE_MAX_STRING_CHARS + 1);
	char *serial_ok = xs(WCCE_MAX_SERIAL_CHARS), *serial_big = xs(WCCE_MAX_SERIAL_CHARS + 1);
	const struct {
		const char *authority, *attributes, *serial;
		cerr_t want;
	} cases[] = {
		{ok, ok, serial_ok, CERR_OK},
		{big, NULL, NULL, CERR_MALFORMED},
		{NULL, big, NULL, CERR_MALFORMED},
		{NULL, NULL, serial_big, CERR_MALFORMED},
		{"", "", "", CERR_OK}, /* range's minimum is the NUL alone */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		arena_t *a = arena_new();
		buf_t b;
		buf_init(&b, 0);
		wcce_request_t in = {.authority = cases[i].authority,
				     .attributes = cases[i].attributes,
				     .serial = cases[i].serial};
		assert_int_equal(wcce_encode_request(&b, true, &in), CERR_OK);
		cur_t c;
		cur_init(&c, b.data, b.len);
		wcce_request_t out;
		assert_int_equal(wcce_decode_request(&c, a, true, &out), cases[i].want);
		if (cases[i].want == CERR_OK) {
			assert_string_equal(out.authority, cases[i].authority);
			assert_string_equal(out.serial, cases[i].serial);
		}
		/* the same strings through GetCAProperty's and Ping's decoders */
		buf_reset(&b);
		wcce_prop_request_t pr = {.authority = cases[i].authority};
		assert_int_equal(wcce_encode_prop_request(&b, &pr), CERR_OK);
		cur_init(&c, b.data, b.len);
		wcce_prop_request_t pout;
		cerr_t want = cases[i].authority == big ? CERR_MALFORMED : CERR_OK;
		assert_int_equal(wcce_decode_prop_request(&c, a, &pout), want);
		buf_free(&b);
		arena_free(a);
	}
	free(ok);
	free(big);
	free(serial_ok);
	free(serial_big);
}

static void test_roundtrip(void **state)
{
	(void)state;
	arena_t *a = arena_new();
	buf_t b;
	buf_init(&b, 0);
	/* Request (client side) */
	wcce_request_t in = {.flags = 0x100, .authority = "Test Issuing CA", .attributes = "CertificateTemplate:User",
			     .request = {.len = 3, .data = (const uint8_t *)"abc"}};
	assert_int_equal(wcce_encode_request(&b, false, &in), CERR_OK);
	cur_t c;
	cur_init(&c, b.data, b.len);
	wcce_request_t out;
	assert_int_equal(wcce_decode_request(&c, a, false, &out), CERR_OK);
	assert_int_equal(out.flags, 0x100);
	assert_string_equal(out.authority, "Test Issuing CA");
	assert_string_equal(out.attributes, "CertificateTemplate:User");
	assert_int_equal(out.request.len, 3);

	/* responses, with a NULL blob between non-empty ones */
	buf_reset(&b);
	wcce_response_t resp = {.request_id = 9, .disposition = 3,
				.encoded_cert = {.len = 4, .data = (const uint8_t *)"\x30\x02\x05\x00"},
				.status = 0};
	assert_int_equal(enroll_utf16_blob("Issued", a, &resp.disposition_message), CERR_OK);
	assert_int_equal(wcce_encode_response(&b, &resp), CERR_OK);
	cur_init(&c, b.data, b.len);
	wcce_response_t back;
	assert_int_equal(wcce_decode_response(&c, a, &back), CERR_OK);
	assert_int_equal(back.request_id, 9);
	assert_int_equal(back.disposition, 3);
	assert_int_equal(back.cert_chain.len, 0);
	assert_int_equal(back.encoded_cert.len, 4);
	assert_string_equal(enroll_blob_to_utf8(&back.disposition_message, a), "Issued");
	buf_put_u32(&b, 0); /* trailing bytes are refused on the client side */
	cur_init(&c, b.data, b.len);
	assert_int_equal(wcce_decode_response(&c, a, &back), CERR_MALFORMED);

	/* the small ones */
	buf_reset(&b);
	ndr_blob_t blob = {.len = 2, .data = (const uint8_t *)"hi"}, got;
	uint32_t hr;
	assert_int_equal(wcce_encode_blob_response(&b, &blob, 0x80070057u), CERR_OK);
	cur_init(&c, b.data, b.len);
	assert_int_equal(wcce_decode_blob_response(&c, a, &got, &hr), CERR_OK);
	assert_int_equal(hr, 0x80070057u);
	assert_int_equal(got.len, 2);
	buf_reset(&b);
	int32_t count;
	assert_int_equal(wcce_encode_prop_info_response(&b, 7, &blob, 0), CERR_OK);
	cur_init(&c, b.data, b.len);
	assert_int_equal(wcce_decode_prop_info_response(&c, a, &count, &got, &hr), CERR_OK);
	assert_int_equal(count, 7);
	buf_reset(&b);
	assert_int_equal(wcce_encode_hresult(&b, 0x80094011u), CERR_OK);
	cur_init(&c, b.data, b.len);
	assert_int_equal(wcce_decode_hresult(&c, &hr), CERR_OK);
	assert_int_equal(hr, 0x80094011u);
	buf_reset(&b);
	assert_int_equal(wcce_encode_get_ca_cert(&b, 0x63740000u, "CA"), CERR_OK);
	cur_init(&c, b.data, b.len);
	uint32_t fchain;
	char *auth;
	assert_int_equal(wcce_decode_get_ca_cert(&c, a, &fchain, &auth), CERR_OK);
	assert_int_equal(fchain, 0x63740000u);
	assert_string_equal(auth, "CA");
	buf_free(&b);
	arena_free(a);
}

/* ---- the methods against a real CA ---- */

static char dir[64];
static char evfile[128];
static events_t *ev;
static ca_t *ca;
static EVP_PKEY *key2048;

#define CA_NAME "Test Issuing CA"

static int group_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/certa-wcce-XXXXXX");
	if (!mkdtemp(dir)) {
		return -1;
	}
	snprintf(evfile, sizeof(evfile), "%s.events.jsonl", dir);
	if (events_open(evfile, 0, &ev) != CERR_OK) {
		return -1;
	}
	ca_config_t cfg = {
		.state_dir = dir,
		.ca_name = CA_NAME,
		.key_alg = CA_KEY_EC_P256,
		.templates_dir = CERTA_SRC_TEMPLATES_DIR,
		.dns_domain = "example.com",
		.cdp_url = "http://pki.example.com/ca.crl",
		.events = ev,
	};
	key2048 = EVP_RSA_gen(2048);
	return ca_open(&cfg, &ca) == CERR_OK && key2048 ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	ca_close(ca);
	events_close(ev);
	EVP_PKEY_free(key2048);
	bool ok = tu_rmrf(dir);
	return tu_rmrf(evfile) && ok ? 0 : -1;
}

/* make_csr: a PKCS#10 for CN=alice, no extensions. */
static uint8_t *make_csr(EVP_PKEY *key, size_t *len) { return tu_make_csr(key, "alice", NULL, NULL, len); }

static bool events_have(const char *needle) { return tu_file_has_line(evfile, needle, NULL); }

static bool events_line_has(const char *a, const char *b) { return tu_file_has_line(evfile, a, b); }

/* One ORPC call as the object exporter makes it: ORPCTHIS is skipped, the
 * response starts with ORPCTHAT; *body is the response after ORPCTHAT. */
typedef struct call {
	buf_t stub; /* the request: ORPCTHIS + [in] */
	buf_t out;  /* the response: ORPCTHAT + [out] */
	cur_t body;
	arena_t *a;
	cerr_t rc;
} call_t;

static void call_begin(call_t *c)
{
	memset(c, 0, sizeof(*c));
	buf_init(&c->stub, 0);
	buf_init(&c->out, 0);
	c->a = arena_new();
	put_orpcthis(&c->stub);
}

static void call_end(call_t *c)
{
	buf_free(&c->stub);
	buf_free(&c->out);
	arena_free(c->a);
}

static void call_run(call_t *c, wcce_service_t *s, const guid_t *iid, uint16_t opnum, uint8_t level)
{
	rpc_identity_t id = {.user = "alice", .domain = "CA1", .package = "NTLM"};
	rpc_conn_info_t conn = {
		.peer_addr = "192.0.2.7",
		.auth_type = RPC_AUTH_WINNT,
		.auth_level = level,
		.identity = &id,
	};
	rpc_call_t call = {.arena = c->a, .conn = &conn, .opnum = opnum, .out = &c->out, .has_object = true};
	cur_init(&call.in, c->stub.data, c->stub.len);
	skip_orpcthis(&call.in);
	put_orpcthat(&c->out);
	c->rc = wcce_invoke(s, iid, &call);
	cur_init(&c->body, c->out.data, c->out.len);
	assert_true(cur_skip(&c->body, 8));
}

static void do_request(wcce_service_t *s, bool v2, uint8_t level, const wcce_request_t *req, wcce_response_t *resp,
		       call_t *c)
{
	call_begin(c);
	assert_int_equal(wcce_encode_request(&c->stub, v2, req), CERR_OK);
	call_run(c, s, &WCCE_IID_ICERTREQUESTD2, v2 ? WCCE_OPNUM_REQUEST2 : WCCE_OPNUM_REQUEST, level);
	assert_int_equal(c->rc, CERR_OK);
	assert_int_equal(wcce_decode_response(&c->body, c->a, resp), CERR_OK);
}

static uint32_t get_prop(wcce_service_t *s, uint8_t level, const char *authority, int32_t id, int32_t idx,
			 int32_t type, call_t *c, ndr_blob_t *value)
{
	call_begin(c);
	wcce_prop_request_t pr = {.authority = authority, .prop_id = id, .prop_index = idx, .prop_type = type};
	assert_int_equal(wcce_encode_prop_request(&c->stub, &pr), CERR_OK);
	call_run(c, s, &WCCE_IID_ICERTREQUESTD2, WCCE_OPNUM_GET_CA_PROPERTY, level);
	assert_int_equal(c->rc, CERR_OK);
	uint32_t hr;
	assert_int_equal(wcce_decode_blob_response(&c->body, c->a, value, &hr), CERR_OK);
	if (hr != 0) {
		assert_int_equal(value->len, 0);
	}
	return hr;
}

static uint32_t get_ca_cert(wcce_service_t *s, uint32_t fchain, const char *authority, call_t *c, ndr_blob_t *value)
{
	call_begin(c);
	assert_int_equal(wcce_encode_get_ca_cert(&c->stub, fchain, authority), CERR_OK);
	call_run(c, s, &WCCE_IID_ICERTREQUESTD, WCCE_OPNUM_GET_CA_CERT, RPC_AUTH_LEVEL_PKT_PRIVACY);
	assert_int_equal(c->rc, CERR_OK);
	uint32_t hr;
	assert_int_equal(wcce_decode_blob_response(&c->body, c->a, value, &hr), CERR_OK);
	return hr;
}

static uint32_t ping(wcce_service_t *s, uint16_t opnum, uint8_t level, const char *authority)
{
	call_t c;
	call_begin(&c);
	assert_int_equal(wcce_encode_authority(&c.stub, authority), CERR_OK);
	call_run(&c, s, &WCCE_IID_ICERTREQUESTD2, opnum, level);
	assert_int_equal(c.rc, CERR_OK);
	uint32_t hr;
	assert_int_equal(wcce_decode_hresult(&c.body, &hr), CERR_OK);
	call_end(&c);
	return hr;
}

static char *blob_str(const ndr_blob_t *b, arena_t *a)
{
	/* a string property: UTF-16LE with its NUL counted */
	assert_true(b->len >= 2 && b->len % 2 == 0);
	assert_int_equal(b->data[b->len - 1], 0);
	assert_int_equal(b->data[b->len - 2], 0);
	return enroll_blob_to_utf8(b, a);
}

static uint32_t blob_u32(const ndr_blob_t *b)
{
	assert_int_equal(b->len, 4);
	return (uint32_t)b->data[0] | (uint32_t)b->data[1] << 8 | (uint32_t)b->data[2] << 16 |
	       (uint32_t)b->data[3] << 24;
}

static wcce_service_t *service(uint32_t flags, bool allow_empty)
{
	wcce_config_t cfg;
	wcce_config_default(&cfg);
	cfg.interface_flags = flags;
	cfg.allow_empty_authority = allow_empty;
	cfg.dns_name = "ca.example.com";
	wcce_service_t *s = NULL;
	assert_int_equal(wcce_service_new(ca, &cfg, &s), CERR_OK);
	return s;
}

static void test_request_issue_and_retrieve(void **state)
{
	(void)state;
	wcce_service_t *s = service(ENROLL_IF_ENFORCEENCRYPTICERTREQUEST, false);
	size_t n;
	uint8_t *csr = make_csr(key2048, &n);
	call_t c;
	wcce_response_t r;

	/* Request (opnum 3) */
	wcce_request_t req = {.flags = 0x100, .authority = CA_NAME, .attributes = "CertificateTemplate:User",
			      .request = {.len = (uint32_t)n, .data = csr}};
	do_request(s, false, RPC_AUTH_LEVEL_PKT_PRIVACY, &req, &r, &c);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.disposition, CR_DISP_ISSUED);
	assert_true(r.request_id > 0);
	assert_true(r.encoded_cert.len > 100);
	assert_true(r.cert_chain.len > r.encoded_cert.len);
	assert_string_equal(enroll_blob_to_utf8(&r.disposition_message, c.a), "Issued");
	uint32_t id = r.request_id;
	size_t cert_len = r.encoded_cert.len;
	uint8_t *cert = malloc(cert_len);
	memcpy(cert, r.encoded_cert.data, cert_len);
	call_end(&c);
	assert_true(events_line_has("\"id\":4887", "\"Protocol\":\"WCCE\""));

	/* retrieval by ID: empty request, NULL attributes, sanitized name in any case */
	wcce_request_t get = {.authority = "test issuing ca", .request_id = id};
	do_request(s, false, RPC_AUTH_LEVEL_PKT_PRIVACY, &get, &r, &c);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.disposition, CR_DISP_ISSUED);
	assert_int_equal(r.request_id, id);
	assert_int_equal(r.encoded_cert.len, cert_len);
	assert_memory_equal(r.encoded_cert.data, cert, cert_len);
	call_end(&c);

	/* Request2 (opnum 6) by serial, upper-case hex (MS-WCCE 3.2.1.4.3.1.2) */
	const unsigned char *p = cert;
	X509 *x = d2i_X509(NULL, &p, (long)cert_len);
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = BN_bn2hex(bn);
	wcce_request_t by_serial = {.authority = CA_NAME, .serial = hex};
	do_request(s, true, RPC_AUTH_LEVEL_PKT_PRIVACY, &by_serial, &r, &c);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.disposition, CR_DISP_ISSUED);
	assert_int_equal(r.request_id, id);
	assert_memory_equal(r.encoded_cert.data, cert, cert_len);
	call_end(&c);

	/* ID and serial together, no such serial, not hex: errors in the disposition */
	by_serial.request_id = id;
	do_request(s, true, RPC_AUTH_LEVEL_PKT_PRIVACY, &by_serial, &r, &c);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.disposition, 0x80070057u);
	assert_int_equal(r.encoded_cert.len, 0);
	call_end(&c);
	const struct {
		const char *serial;
		uint32_t disp;
	} bad[] = {{"00ff", 0x80094004u}, {"abc", 0x80070057u}, {"zz", 0x80070057u}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wcce_request_t q = {.authority = CA_NAME, .serial = bad[i].serial};
		do_request(s, true, RPC_AUTH_LEVEL_PKT_PRIVACY, &q, &r, &c);
		assert_int_equal(r.status, 0);
		assert_int_equal(r.disposition, bad[i].disp);
		assert_int_equal(r.request_id, 0);
		call_end(&c);
	}
	/* neither ID nor serial with an empty request */
	wcce_request_t none = {.authority = CA_NAME};
	do_request(s, true, RPC_AUTH_LEVEL_PKT_PRIVACY, &none, &r, &c);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.disposition, 0x80070057u);
	call_end(&c);

	/* Request2, a new request with CR_IN_FULLRESPONSE: the PKCS#7 chain */
	wcce_request_t req2 = {.flags = 0x100 | WCCE_CR_IN_FULLRESPONSE, .authority = CA_NAME,
			       .attributes = "CertificateTemplate:User\nccm:client.example.com",
			       .request = {.len = (uint32_t)n, .data = csr}};
	do_request(s, true, RPC_AUTH_LEVEL_PKT_PRIVACY, &req2, &r, &c);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.disposition, CR_DISP_ISSUED);
	assert_true(r.request_id > id);
	p = r.cert_chain.data;
	PKCS7 *p7 = d2i_PKCS7(NULL, &p, r.cert_chain.len);
	assert_non_null(p7);
	assert_true(PKCS7_type_is_signed(p7));
	PKCS7_free(p7);
	call_end(&c);

	/* a template the CA does not offer: denied in the disposition, ID assigned */
	req.attributes = "CertificateTemplate:NoSuch";
	do_request(s, false, RPC_AUTH_LEVEL_PKT_PRIVACY, &req, &r, &c);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.disposition, 0x80094800u);
	assert_true(r.request_id > 0);
	call_end(&c);

	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(x);
	free(cert);
	free(csr);
	wcce_service_free(s);
}

static void test_refusals(void **state)
{
	(void)state;
	wcce_service_t *s = service(ENROLL_IF_ENFORCEENCRYPTICERTREQUEST, false);
	size_t n;
	uint8_t *csr = make_csr(key2048, &n);
	call_t c;
	wcce_response_t r;
	ndr_blob_t v;
	wcce_request_t req = {.flags = 0x100, .authority = CA_NAME, .attributes = "CertificateTemplate:User",
			      .request = {.len = (uint32_t)n, .data = csr}};

	/* below PKT_PRIVACY: E_ACCESSDENIED as the return value, 4888 with WCCE */
	const uint8_t low[] = {RPC_AUTH_LEVEL_PKT_INTEGRITY, RPC_AUTH_LEVEL_CONNECT, RPC_AUTH_LEVEL_NONE};
	for (size_t k = 0; k < sizeof(low); k++) {
		do_request(s, k % 2 == 1, low[k], &req, &r, &c);
		assert_int_equal(r.status, 0x80070005u);
		assert_int_equal(r.disposition, 0x80070005u);
		assert_int_equal(r.request_id, 0);
		assert_int_equal(r.encoded_cert.len, 0);
		assert_non_null(strstr(enroll_blob_to_utf8(&r.disposition_message, c.a), "IF_ENFORCEENCRYPTICERTREQUEST"));
		call_end(&c);
		assert_int_equal(get_prop(s, low[k], CA_NAME, CR_PROP_CANAME, 0, WCCE_PROPTYPE_STRING, &c, &v),
				 0x80070005u);
		call_end(&c);
		assert_int_equal(ping(s, WCCE_OPNUM_PING, low[k], CA_NAME), 0x80070005u);
		assert_int_equal(ping(s, WCCE_OPNUM_PING2, low[k], CA_NAME), 0x80070005u);
	}
	assert_true(events_line_has("\"id\":4888", "\"Protocol\":\"WCCE\""));

	/* not this CA, or no name: E_INVALIDARG (EmptyNameAllowed false) */
	const char *names[] = {"Other CA", NULL, ""};
	for (size_t k = 0; k < 3; k++) {
		req.authority = names[k];
		do_request(s, k == 1, RPC_AUTH_LEVEL_PKT_PRIVACY, &req, &r, &c);
		assert_int_equal(r.status, 0x80070057u);
		assert_int_equal(r.request_id, 0);
		call_end(&c);
		assert_int_equal(get_prop(s, RPC_AUTH_LEVEL_PKT_PRIVACY, names[k], CR_PROP_CANAME, 0,
					  WCCE_PROPTYPE_STRING, &c, &v),
				 0x80070057u);
		call_end(&c);
	}
	wcce_service_free(s);

	/* IF_NOREMOTEICERTREQUEST: CERTSRV_E_ENROLL_DENIED from every method */
	s = service(ENROLL_IF_NOREMOTEICERTREQUEST | ENROLL_IF_ENFORCEENCRYPTICERTREQUEST, false);
	req.authority = CA_NAME;
	do_request(s, false, RPC_AUTH_LEVEL_PKT_PRIVACY, &req, &r, &c);
	assert_int_equal(r.status, 0x80094011u);
	call_end(&c);
	assert_true(events_have("IF_NOREMOTEICERTREQUEST"));
	assert_int_equal(get_prop(s, RPC_AUTH_LEVEL_PKT_PRIVACY, CA_NAME, CR_PROP_CANAME, 0, WCCE_PROPTYPE_STRING, &c,
				  &v),
			 0x80094011u);
	call_end(&c);
	assert_int_equal(get_ca_cert(s, WCCE_GETCERT_CANAME, NULL, &c, &v), 0x80094011u);
	call_end(&c);
	assert_int_equal(ping(s, WCCE_OPNUM_PING2, RPC_AUTH_LEVEL_PKT_PRIVACY, CA_NAME), 0x80094011u);
	wcce_service_free(s);

	/* enforcement off: PKT_INTEGRITY is served; the empty-name extension */
	s = service(0, true);
	req.authority = NULL;
	do_request(s, false, RPC_AUTH_LEVEL_PKT_INTEGRITY, &req, &r, &c);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.disposition, CR_DISP_ISSUED);
	call_end(&c);
	wcce_service_free(s);
	free(csr);
}

static void test_get_ca_cert(void **state)
{
	(void)state;
	wcce_service_t *s = service(ENROLL_IF_ENFORCEENCRYPTICERTREQUEST, false);
	call_t c;
	ndr_blob_t v;
	size_t der_len;
	const uint8_t *der = ca_cert_der(ca, &der_len);

	/* 'name' and 'sani' need no CA name (MS-WCCE 3.2.1.4.2.2 step 2) */
	assert_int_equal(get_ca_cert(s, WCCE_GETCERT_CANAME, NULL, &c, &v), 0);
	assert_string_equal(blob_str(&v, c.a), CA_NAME);
	call_end(&c);
	assert_int_equal(get_ca_cert(s, WCCE_GETCERT_SANITIZEDCANAME, "wrong", &c, &v), 0);
	assert_string_equal(blob_str(&v, c.a), ca_sanitized_name(ca));
	call_end(&c);
	/* the rest do */
	assert_int_equal(get_ca_cert(s, WCCE_GETCERT_FILEVERSION, NULL, &c, &v), 0x80070057u);
	call_end(&c);
	assert_int_equal(get_ca_cert(s, WCCE_GETCERT_FILEVERSION, CA_NAME, &c, &v), 0);
	assert_non_null(strstr(blob_str(&v, c.a), "certa"));
	call_end(&c);
	assert_int_equal(get_ca_cert(s, WCCE_GETCERT_CASIGCERT, CA_NAME, &c, &v), 0);
	assert_int_equal(v.len, der_len);
	assert_memory_equal(v.data, der, der_len);
	call_end(&c);
	const uint32_t by_index[] = {0x63740000u, 0x6374FFFFu};
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(get_ca_cert(s, by_index[i], CA_NAME, &c, &v), 0);
		assert_int_equal(v.len, der_len);
		call_end(&c);
	}
	assert_int_equal(get_ca_cert(s, 0x63740001u, CA_NAME, &c, &v), 0x80070057u);
	call_end(&c);
	assert_int_equal(get_ca_cert(s, WCCE_GETCERT_CAINFO, CA_NAME, &c, &v), 0);
	assert_int_equal(v.len, WCCE_CAINFO_LEN);
	assert_int_equal(v.data[0], 40);
	assert_int_equal(v.data[4], WCCE_CATYPE_STANDALONE_ROOT);
	assert_int_equal(v.data[8], 1);
	call_end(&c);
	assert_int_equal(get_ca_cert(s, WCCE_GETCERT_CATYPE, CA_NAME, &c, &v), 0);
	assert_int_equal(blob_u32(&v), WCCE_CATYPE_STANDALONE_ROOT);
	call_end(&c);
	assert_int_equal(get_ca_cert(s, 0x73740000u, CA_NAME, &c, &v), 0); /* 'st' 0 */
	assert_int_equal(v.len, 1);
	assert_int_equal(v.data[0], WCCE_CA_DISP_VALID);
	call_end(&c);
	assert_int_equal(get_ca_cert(s, WCCE_GETCERT_CAXCHGCERT, CA_NAME, &c, &v), 0x8009400Au);
	call_end(&c);
	assert_int_equal(get_ca_cert(s, WCCE_GETCERT_CURRENTCRL, CA_NAME, &c, &v), 0x80094004u);
	call_end(&c);
	const uint32_t invalid[] = {0x65780000u /* 'ex' 0: no exits */, 0x7a7a7a7au, 2, 0x12340000u};
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		assert_int_equal(get_ca_cert(s, invalid[i], CA_NAME, &c, &v), 0x80070057u);
		assert_int_equal(v.len, 0);
		call_end(&c);
	}
	wcce_service_free(s);
}

static void test_get_ca_property(void **state)
{
	(void)state;
	wcce_service_t *s = service(ENROLL_IF_ENFORCEENCRYPTICERTREQUEST, false);
	call_t c;
	ndr_blob_t v;
	const uint8_t L = RPC_AUTH_LEVEL_PKT_PRIVACY;
#define GP(id, idx, type) get_prop(s, L, CA_NAME, id, idx, type, &c, &v)
	assert_int_equal(GP(CR_PROP_CANAME, 0, WCCE_PROPTYPE_STRING), 0);
	assert_string_equal(blob_str(&v, c.a), CA_NAME);
	call_end(&c);
	assert_int_equal(GP(CR_PROP_SANITIZEDCANAME, 0, WCCE_PROPTYPE_STRING), 0);
	assert_string_equal(blob_str(&v, c.a), ca_sanitized_name(ca));
	call_end(&c);
	assert_int_equal(GP(CR_PROP_SANITIZEDCASHORTNAME, 0, WCCE_PROPTYPE_STRING), 0);
	assert_string_equal(blob_str(&v, c.a), ca_sanitized_name(ca));
	call_end(&c);
	assert_int_equal(GP(CR_PROP_DNSNAME, 0, WCCE_PROPTYPE_STRING), 0);
	assert_string_equal(blob_str(&v, c.a), "ca.example.com");
	call_end(&c);
	assert_int_equal(GP(CR_PROP_CATYPE, 0, WCCE_PROPTYPE_LONG), 0);
	assert_int_equal(v.len, WCCE_CAINFO_LEN);
	assert_int_equal(v.data[4], WCCE_CATYPE_STANDALONE_ROOT);
	assert_int_equal(v.data[20], WCCE_PROPID_MAX);
	call_end(&c);
	const struct {
		int32_t id;
		uint32_t want;
	} longs[] = {{CR_PROP_CASIGCERTCOUNT, 1}, {CR_PROP_CAXCHGCERTCOUNT, 1}, {CR_PROP_CAPROPIDMAX, 0x32},
		     {CR_PROP_EXITCOUNT, 0},	   {CR_PROP_KRACERTCOUNT, 0},	  {CR_PROP_ADVANCEDSERVER, 0},
		     {CR_PROP_ROLESEPARATIONENABLED, 0}};
	for (size_t i = 0; i < sizeof(longs) / sizeof(longs[0]); i++) {
		assert_int_equal(GP(longs[i].id, 0, WCCE_PROPTYPE_LONG), 0);
		assert_int_equal(blob_u32(&v), longs[i].want);
		call_end(&c);
	}
	assert_int_equal(GP(CR_PROP_CACERTSTATUSCODE, -1, WCCE_PROPTYPE_LONG), 0);
	assert_int_equal(blob_u32(&v), 0);
	call_end(&c);
	assert_int_equal(GP(CR_PROP_CACERTSTATE, 0, WCCE_PROPTYPE_LONG), 0);
	assert_int_equal(v.len, 1);
	assert_int_equal(v.data[0], WCCE_CA_DISP_VALID);
	call_end(&c);
	/* the signing certificate and its chain, by index 0 and -1 (latest) */
	size_t der_len, p7_len;
	const uint8_t *der = ca_cert_der(ca, &der_len);
	const uint8_t *p7 = ca_cert_chain_pkcs7(ca, &p7_len);
	for (int32_t idx = -1; idx <= 0; idx++) {
		assert_int_equal(GP(CR_PROP_CASIGCERT, idx, WCCE_PROPTYPE_BINARY), 0);
		assert_int_equal(v.len, der_len);
		assert_memory_equal(v.data, der, der_len);
		call_end(&c);
		assert_int_equal(GP(CR_PROP_CASIGCERTCHAIN, idx, WCCE_PROPTYPE_BINARY), 0);
		assert_int_equal(v.len, p7_len);
		assert_memory_equal(v.data, p7, p7_len);
		call_end(&c);
	}
	/* templates: "name\nOID\n" pairs in configuration order */
	assert_int_equal(GP(CR_PROP_TEMPLATES, 0, WCCE_PROPTYPE_STRING), 0);
	char *t = blob_str(&v, c.a);
	char want[4096] = "";
	for (size_t i = 0; i < ca_num_templates(ca); i++) {
		const ca_template_t *tp = ca_template_at(ca, i);
		size_t o = strlen(want);
		snprintf(want + o, sizeof(want) - o, "%s\n%s\n", tp->cn, tp->oid ? tp->oid : "");
	}
	assert_true(ca_num_templates(ca) >= 2);
	assert_string_equal(t, want);
	assert_true(strncmp(t, "User\n1.3.6.1.4.1.311.21.8.", 26) == 0);
	call_end(&c);
	assert_int_equal(GP(CR_PROP_CERTCDPURLS, -1, WCCE_PROPTYPE_STRING), 0);
	assert_string_equal(blob_str(&v, c.a), "http://pki.example.com/ca.crl\n");
	call_end(&c);
	assert_int_equal(GP(CR_PROP_CERTAIAURLS, 0, WCCE_PROPTYPE_STRING), 0);
	assert_string_equal(blob_str(&v, c.a), "");
	call_end(&c);
	assert_int_equal(GP(CR_PROP_LOCALENAME, 0, WCCE_PROPTYPE_STRING), 0);
	assert_string_equal(blob_str(&v, c.a), "en-US");
	call_end(&c);
	/* no exchange certificate: key archival is not configured */
	assert_int_equal(GP(CR_PROP_CAXCHGCERT, 0, WCCE_PROPTYPE_BINARY), 0x8009400Au);
	call_end(&c);
	assert_int_equal(GP(CR_PROP_CAXCHGCERT, -1, WCCE_PROPTYPE_BINARY), 0x8009400Au);
	call_end(&c);
	/* values we do not have */
	assert_int_equal(GP(CR_PROP_BASECRL, 0, WCCE_PROPTYPE_BINARY), 0x80094004u);
	call_end(&c);
	assert_int_equal(GP(CR_PROP_SHAREDFOLDER, 0, WCCE_PROPTYPE_STRING), 0x80094004u);
	call_end(&c);

	/* MS-WCCE 3.2.1.4.3.2: unknown ID, wrong type, wrong index: E_INVALIDARG */
	const struct {
		int32_t id, idx, type;
	} bad[] = {
		{0, 0, WCCE_PROPTYPE_LONG},
		{0x33, 0, WCCE_PROPTYPE_LONG},
		{-1, 0, WCCE_PROPTYPE_LONG},
		{CR_PROP_CANAME, 0, WCCE_PROPTYPE_LONG},
		{CR_PROP_CANAME, 1, WCCE_PROPTYPE_STRING},
		{CR_PROP_CANAME, -1, WCCE_PROPTYPE_STRING},
		{CR_PROP_CASIGCERT, 1, WCCE_PROPTYPE_BINARY},
		{CR_PROP_CASIGCERT, -2, WCCE_PROPTYPE_BINARY},
		{CR_PROP_CASIGCERT, 0, WCCE_PROPTYPE_STRING},
		{CR_PROP_CACERTSTATE, -1, WCCE_PROPTYPE_LONG},
		{CR_PROP_CAXCHGCERT, 1, WCCE_PROPTYPE_BINARY},
		{CR_PROP_EXITDESCRIPTION, 0, WCCE_PROPTYPE_STRING},
		{CR_PROP_KRACERT, 0, WCCE_PROPTYPE_BINARY},
		{CR_PROP_CAFORWARDCROSSCERT, 0, WCCE_PROPTYPE_BINARY},
		{CR_PROP_CABACKWARDCROSSCERT, 1, WCCE_PROPTYPE_BINARY},
		{CR_PROP_PARTITIONED_BASECRL, -1, WCCE_PROPTYPE_LONG},
		{CR_PROP_PARTITIONED_BASECRL, 0x10000, WCCE_PROPTYPE_LONG},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(GP(bad[i].id, bad[i].idx, bad[i].type), 0x80070057u);
		call_end(&c);
	}
	/* every listed property answers with a value or a documented error */
	for (int32_t id = 1; id <= WCCE_PROPID_MAX; id++) {
		for (int32_t type = 1; type <= 4; type++) {
			uint32_t hr = GP(id, 0, type);
			assert_true(hr == 0 || hr == 0x80070057u || hr == 0x80094004u || hr == 0x8009400Au);
			call_end(&c);
		}
	}
#undef GP
	wcce_service_free(s);
}

static void test_get_ca_property_info(void **state)
{
	(void)state;
	wcce_service_t *s = service(ENROLL_IF_ENFORCEENCRYPTICERTREQUEST, false);
	call_t c;
	call_begin(&c);
	assert_int_equal(wcce_encode_authority(&c.stub, CA_NAME), CERR_OK);
	call_run(&c, s, &WCCE_IID_ICERTREQUESTD2, WCCE_OPNUM_GET_CA_PROPERTY_INFO, RPC_AUTH_LEVEL_PKT_PRIVACY);
	assert_int_equal(c.rc, CERR_OK);
	int32_t count;
	ndr_blob_t v;
	uint32_t hr;
	assert_int_equal(wcce_decode_prop_info_response(&c.body, c.a, &count, &v, &hr), CERR_OK);
	assert_int_equal(hr, 0);
	assert_int_equal(count, WCCE_PROPID_MAX);
	/* MS-WCCE 2.2.2.3.1: count x 12-byte CATRANSPROP, then the names */
	cur_t blob;
	cur_init(&blob, v.data, v.len);
	for (int32_t i = 0; i < count; i++) {
		uint32_t id = 0, off = 0;
		uint8_t type = 0, reserved = 0;
		uint16_t flags;
		assert_true(cur_get_u32le(&blob, &id) && cur_get_u8(&blob, &type) && cur_get_u8(&blob, &reserved) &&
			    cur_get_u16le(&blob, &flags) && cur_get_u32le(&blob, &off));
		assert_int_equal(id, (uint32_t)i + 1);
		assert_true(type == 1 || type == 3 || type == 4);
		assert_int_equal(reserved, 0);
		assert_int_equal(off % 4, 0);
		assert_true(off >= (uint32_t)count * 12u && off < v.len);
		cur_t name;
		assert_true(cur_sub(&blob, off - cur_offset(&blob), v.len - off, &name));
		ndr_blob_t nb = {.len = (uint32_t)cur_len(&name), .data = cur_data(&name)};
		char *s8 = enroll_blob_to_utf8(&nb, c.a);
		assert_non_null(s8);
		assert_true(strlen(s8) > 3);
		if (id == CR_PROP_CASIGCERT) {
			assert_int_equal(flags, WCCE_PROPFLAGS_INDEXED);
			assert_int_equal(type, WCCE_PROPTYPE_BINARY);
			assert_true(strncmp(s8, "CA Signature Certificate", 24) == 0);
		}
		if (id == CR_PROP_CANAME) {
			assert_int_equal(flags, 0);
			assert_string_equal(s8, "CA Name");
		}
	}
	call_end(&c);

	/* the name check */
	call_begin(&c);
	assert_int_equal(wcce_encode_authority(&c.stub, "nope"), CERR_OK);
	call_run(&c, s, &WCCE_IID_ICERTREQUESTD2, WCCE_OPNUM_GET_CA_PROPERTY_INFO, RPC_AUTH_LEVEL_PKT_PRIVACY);
	assert_int_equal(wcce_decode_prop_info_response(&c.body, c.a, &count, &v, &hr), CERR_OK);
	assert_int_equal(hr, 0x80070057u);
	assert_int_equal(count, 0);
	assert_int_equal(v.len, 0);
	call_end(&c);
	wcce_service_free(s);
}

static void test_ping_and_dispatch(void **state)
{
	(void)state;
	wcce_service_t *s = service(ENROLL_IF_ENFORCEENCRYPTICERTREQUEST, false);
	const uint8_t P = RPC_AUTH_LEVEL_PKT_PRIVACY;
	/* MS-WCCE 3.2.1.4.2.3: EmptyNameAllowed true */
	assert_int_equal(ping(s, WCCE_OPNUM_PING, P, NULL), 0);
	assert_int_equal(ping(s, WCCE_OPNUM_PING, P, ""), 0);
	assert_int_equal(ping(s, WCCE_OPNUM_PING2, P, CA_NAME), 0);
	assert_int_equal(ping(s, WCCE_OPNUM_PING2, P, ca_sanitized_name(ca)), 0);
	assert_int_equal(ping(s, WCCE_OPNUM_PING2, P, "Other CA"), 0x80070057u);

	/* ICertRequestD has opnums 3-5; 0-2 are IUnknown's and never called */
	call_t c;
	const uint16_t not_d[] = {0, 1, 2, 6, 7, 8, 9, 10, 500};
	for (size_t i = 0; i < sizeof(not_d) / sizeof(not_d[0]); i++) {
		call_begin(&c);
		assert_int_equal(wcce_encode_authority(&c.stub, CA_NAME), CERR_OK);
		call_run(&c, s, &WCCE_IID_ICERTREQUESTD, not_d[i], P);
		assert_int_equal(c.rc, CERR_NCA_S_OP_RNG_ERROR);
		call_end(&c);
	}
	call_begin(&c);
	assert_int_equal(wcce_encode_authority(&c.stub, CA_NAME), CERR_OK);
	call_run(&c, s, &WCCE_IID_ICERTREQUESTD2, 10, P);
	assert_int_equal(c.rc, CERR_NCA_S_OP_RNG_ERROR);
	call_end(&c);
	call_begin(&c);
	call_run(&c, s, &WCCE_CLSID_CERTSRV_REQUEST, WCCE_OPNUM_PING, P);
	assert_int_equal(c.rc, CERR_E_NOINTERFACE);
	call_end(&c);
	/* malformed NDR: the runtime's fault, for every method */
	for (uint16_t op = 3; op <= 9; op++) {
		call_begin(&c);
		buf_put_u32(&c.stub, 0x00020000u); /* a referent id with nothing after it */
		call_run(&c, s, &WCCE_IID_ICERTREQUESTD2, op, P);
		assert_int_equal(c.rc, CERR_MALFORMED);
		call_end(&c);
	}
	/* the impacket-made stubs through the dispatcher */
	const struct {
		const uint8_t *p;
		size_t n;
		uint16_t op;
	} fx[] = {{fx_get_ca_cert, sizeof(fx_get_ca_cert), WCCE_OPNUM_GET_CA_CERT},
		  {fx_get_ca_property_info, sizeof(fx_get_ca_property_info), WCCE_OPNUM_GET_CA_PROPERTY_INFO},
		  {fx_ping2, sizeof(fx_ping2), WCCE_OPNUM_PING2}};
	for (size_t i = 0; i < sizeof(fx) / sizeof(fx[0]); i++) {
		call_begin(&c);
		buf_reset(&c.stub);
		buf_put_bytes(&c.stub, fx[i].p, fx[i].n);
		call_run(&c, s, &WCCE_IID_ICERTREQUESTD2, fx[i].op, P);
		assert_int_equal(c.rc, CERR_OK);
		call_end(&c);
	}
	wcce_service_free(s);
	assert_int_equal(wcce_service_new(NULL, NULL, &s), CERR_INVALID_ARG);
	wcce_service_free(NULL);
}

/* MS-WCCE 3.1.1.4.1.1 / .1.1: the sanitized short name of a long CA name */
static void test_short_name(void **state)
{
	(void)state;
	const struct {
		const char *name;
		const char *want;
	} cases[] = {
		{"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-33215"},
		/* an escape that would be cut at 51 goes whole into the hash */
		{"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA#BBBBBBBBBB",
		 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-41938"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char d[64];
		snprintf(d, sizeof(d), "/tmp/certa-wcce-sn-XXXXXX");
		assert_non_null(mkdtemp(d));
		ca_config_t cfg = {.state_dir = d, .ca_name = cases[i].name, .key_alg = CA_KEY_EC_P256,
				   .templates_dir = CERTA_SRC_TEMPLATES_DIR, .events = ev};
		ca_t *lc = NULL;
		assert_int_equal(ca_open(&cfg, &lc), CERR_OK);
		wcce_service_t *s = NULL;
		assert_int_equal(wcce_service_new(lc, NULL, &s), CERR_OK);
		call_t c;
		ndr_blob_t v;
		assert_int_equal(get_prop(s, RPC_AUTH_LEVEL_PKT_PRIVACY, cases[i].name, CR_PROP_SANITIZEDCASHORTNAME, 0,
					  WCCE_PROPTYPE_STRING, &c, &v),
				 0);
		assert_string_equal(blob_str(&v, c.a), cases[i].want);
		call_end(&c);
		wcce_service_free(s);
		ca_close(lc);
		assert_true(tu_rmrf(d));
	}
}

/* ---- the DCOM client's codecs (services/dcom_client.c) ---- */

static void test_client_create_instance(void **state)
{
	(void)state;
	arena_t *a = arena_new();
	const guid_t iids[2] = {WCCE_IID_ICERTREQUESTD2, WCCE_IID_ICERTREQUESTD};
	guid_t cid;
	guid_random(&cid);
	buf_t b;
	buf_init(&b, 0);
	assert_int_equal(dcom_client_encode_create_instance(&b, &cid, &WCCE_CLSID_CERTSRV_REQUEST, iids, 2), CERR_OK);

	/* the server's view: ORPCTHIS, pUnkOuter NULL, pActProperties */
	cur_t c;
	cur_init(&c, b.data, b.len);
	orpcthis_t t;
	ndr_blob_t outer, mip;
	assert_true(dcom_get_orpcthis(&c, &t));
	assert_int_equal(t.version.major, 5);
	assert_int_equal(t.version.minor, 7);
	assert_int_equal(t.flags, 0);
	assert_true(guid_equal(&t.cid, &cid));
	assert_false(t.has_extensions);
	assert_true(dcom_get_unique_mip(&c, a, 65536, &outer));
	assert_null(outer.data);
	assert_true(dcom_get_unique_mip(&c, a, 65536, &mip));
	assert_true(cur_empty(&c));
	dcom_actprops_in_t in;
	assert_int_equal(dcom_actprops_in_from_mip(&mip, a, &in), CERR_OK);
	assert_true(guid_equal(&in.inst.clsid, &WCCE_CLSID_CERTSRV_REQUEST));
	assert_int_equal(in.inst.n_iids, 2);
	assert_true(guid_equal(&in.inst.iids[0], &WCCE_IID_ICERTREQUESTD2));
	assert_true(guid_equal(&in.inst.iids[1], &WCCE_IID_ICERTREQUESTD));
	uint32_t need = DCOM_PROP_INSTANTIATION | DCOM_PROP_SCM_REQUEST | DCOM_PROP_LOCATION;
	assert_int_equal(in.present & need, need);
	assert_int_equal(in.scm_request.n_protseqs, 1);
	assert_int_equal(in.scm_request.protseqs[0], 7);
	assert_null(in.location.machine_name);

	/* a reply as the activator builds it: D2 refused, D granted */
	uint8_t objref_d[256];
	buf_t ob;
	buf_init(&ob, 0);
	dcom_string_binding_t sb[2] = {{.tower_id = 7, .addr = "ca.example.com[49700]"},
				       {.tower_id = 7, .addr = "192.0.2.10[49701]"}};
	dcom_security_binding_t secb = {.authn_svc = 10, .reserved = 0xffff, .princ_name = ""};
	dcom_objref_t o = {.flags = OBJREF_STANDARD, .iid = WCCE_IID_ICERTREQUESTD,
			   .std = {.flags = 0, .public_refs = 5, .oxid = 0x1122334455667788ull, .oid = 42},
			   .resaddr = {.str = sb, .n_str = 2, .sec = &secb, .n_sec = 1}};
	guid_random(&o.std.ipid);
	assert_int_equal(dcom_objref_encode(&ob, &o), CERR_OK);
	assert_true(ob.len <= sizeof(objref_d));
	memcpy(objref_d, ob.data, ob.len);
	guid_t rids[2] = {WCCE_IID_ICERTREQUESTD2, WCCE_IID_ICERTREQUESTD};
	uint32_t hrs[2] = {0x80004002u, 0};
	ndr_blob_t ifaces[2] = {{0, NULL}, {(uint32_t)ob.len, objref_d}};
	dcom_actprops_out_t out = {.dest_ctx = 2, .oxid = 0x1122334455667788ull,
				   .oxid_bindings = {.str = sb, .n_str = 2, .sec = &secb, .n_sec = 1},
				   .authn_hint = RPC_AUTH_LEVEL_PKT_INTEGRITY, .server_version = {5, 7},
				   .n_ifs = 2, .iids = rids, .hresults = hrs, .ifaces = ifaces};
	guid_random(&out.ipid_remunknown);
	buf_t omip, reply;
	buf_init(&omip, 0);
	buf_init(&reply, 0);
	assert_int_equal(dcom_actprops_out_to_mip(&omip, &out), CERR_OK);
	dcom_put_orpcthat(&reply, 0);
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	ndr_blob_t m = {.len = (uint32_t)omip.len, .data = omip.data};
	dcom_put_unique_mip(&reply, &ids, &m);
	ndr_put_u32(&reply, 0);
	dcom_client_activation_t act;
	cur_init(&c, reply.data, reply.len);
	assert_int_equal(dcom_client_decode_create_instance(&c, a, iids, 2, &act), CERR_OK);
	assert_int_equal(act.hresult, 0);
	assert_true(act.oxid == 0x1122334455667788ull);
	assert_true(guid_equal(&act.ipid_remunknown, &out.ipid_remunknown));
	assert_int_equal(act.authn_hint, RPC_AUTH_LEVEL_PKT_INTEGRITY);
	assert_int_equal(act.n_ifaces, 2);
	assert_int_equal(act.ifaces[0].hresult, 0x80004002u);
	assert_int_equal(act.ifaces[1].hresult, 0);
	assert_true(guid_equal(&act.ifaces[1].ipid, &o.std.ipid));
	assert_int_equal(act.ifaces[1].public_refs, 5);
	/* the port: the binding whose host was dialled, else the first */
	uint16_t port;
	const char *bh;
	assert_true(dcom_client_object_port(&act, "192.0.2.10", a, &port, &bh));
	assert_int_equal(port, 49701);
	assert_string_equal(bh, "192.0.2.10");
	assert_true(dcom_client_object_port(&act, "10.9.9.9", a, &port, &bh));
	assert_int_equal(port, 49700);
	assert_string_equal(bh, "ca.example.com");
	/* IIDs answered in another order are refused */
	const guid_t swapped[2] = {WCCE_IID_ICERTREQUESTD, WCCE_IID_ICERTREQUESTD2};
	cur_init(&c, reply.data, reply.len);
	assert_int_equal(dcom_client_decode_create_instance(&c, a, swapped, 2, &act), CERR_MALFORMED);
	/* truncations fail cleanly */
	for (size_t n = 0; n < reply.len; n++) {
		cur_init(&c, reply.data, n);
		assert_int_not_equal(dcom_client_decode_create_instance(&c, a, iids, 2, &act), CERR_OK);
	}
	/* a refused activation: only the HRESULT (E_ACCESSDENIED, CVE-2021-26414 hardening) */
	buf_reset(&reply);
	dcom_put_orpcthat(&reply, 0);
	ndr_put_u32(&reply, 0);
	ndr_put_u32(&reply, 0x80070005u);
	cur_init(&c, reply.data, reply.len);
	assert_int_equal(dcom_client_decode_create_instance(&c, a, iids, 2, &act), CERR_OK);
	assert_int_equal(act.hresult, 0x80070005u);
	assert_int_equal(act.n_ifaces, 0);

	/* RemRelease's [in]: one REMINTERFACEREF */
	buf_reset(&b);
	guid_t ipid = guid_from_literal("00000000-0001-0002-0304-050607080900");
	assert_int_equal(dcom_client_encode_rem_release(&b, &ipid, 5, 0), CERR_OK);
	const uint8_t want[] = {0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
				0x01, 0x00, 0x02, 0x00, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x00,
				0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	buf_free(&b);
	buf_free(&ob);
	buf_free(&omip);
	buf_free(&reply);
	arena_free(a);
}

/* ---- the class on the DCOM object exporter, in process ---- */

static cerr_t exporter_call(const rpc_iface_t *iface, uint16_t opnum, const guid_t *object, const buf_t *stub,
			    arena_t *a, buf_t *out)
{
	rpc_identity_t id = {.user = "alice", .domain = "CA1", .package = "NTLM"};
	rpc_conn_info_t conn = {
		.peer_addr = "127.0.0.1",
		.local_addr = "127.0.0.1",
		.local_port = 135,
		.auth_type = RPC_AUTH_WINNT,
		.auth_level = RPC_AUTH_LEVEL_PKT_PRIVACY,
		.identity = &id,
	};
	return tu_invoke(iface, &conn, opnum, object, stub->data, stub->len, a, out);
}

static void test_exporter_round_trip(void **state)
{
	(void)state;
	dcom_exporter_config_t xcfg = {.port = 49999};
	dcom_exporter_t *x = dcom_exporter_new(&xcfg);
	assert_non_null(x);
	wcce_service_t *s = service(ENROLL_IF_ENFORCEENCRYPTICERTREQUEST, false);
	assert_int_equal(wcce_dcom_register(x, s), CERR_OK);
	assert_int_not_equal(wcce_dcom_register(x, s), CERR_OK);
	assert_int_equal(dcom_exporter_build_ifaces(x), CERR_OK);
	const rpc_iface_t *scm = dcom_exporter_rpc_iface(x, &DCOM_IID_IREMOTESCMACTIVATOR);
	const rpc_iface_t *d2 = dcom_exporter_rpc_iface(x, &WCCE_IID_ICERTREQUESTD2);
	const rpc_iface_t *d = dcom_exporter_rpc_iface(x, &WCCE_IID_ICERTREQUESTD);
	const rpc_iface_t *remunk = dcom_exporter_rpc_iface(x, &DCOM_IID_IREMUNKNOWN);
	assert_non_null(scm);
	assert_non_null(d2);
	assert_non_null(d);
	assert_non_null(remunk);
	arena_t *a = arena_new();
	buf_t stub, out;
	buf_init(&stub, 0);
	buf_init(&out, 0);

	/* RemoteCreateInstance for both interfaces */
	const guid_t iids[2] = {WCCE_IID_ICERTREQUESTD2, WCCE_IID_ICERTREQUESTD};
	guid_t cid;
	guid_random(&cid);
	assert_int_equal(dcom_client_encode_create_instance(&stub, &cid, &WCCE_CLSID_CERTSRV_REQUEST, iids, 2),
			 CERR_OK);
	assert_int_equal(exporter_call(scm, DCOM_OP_REMOTE_CREATE_INSTANCE, NULL, &stub, a, &out), CERR_OK);
	dcom_client_activation_t act;
	cur_t c;
	cur_init(&c, out.data, out.len);
	assert_int_equal(dcom_client_decode_create_instance(&c, a, iids, 2, &act), CERR_OK);
	assert_int_equal(act.hresult, 0);
	assert_int_equal(act.ifaces[0].hresult, 0);
	assert_int_equal(act.ifaces[1].hresult, 0);
	uint16_t port;
	const char *bh;
	assert_true(dcom_client_object_port(&act, "127.0.0.1", a, &port, &bh));
	assert_int_equal(port, 49999);
	dcom_exporter_stats_t st;
	dcom_exporter_stats(x, &st);
	assert_int_equal(st.objects, 1);

	/* GetCACert('name') then Request2 on the ICertRequestD2 IPID */
	size_t n;
	uint8_t *csr = make_csr(key2048, &n);
	buf_reset(&stub);
	buf_reset(&out);
	dcom_client_begin(&stub);
	assert_int_equal(wcce_encode_get_ca_cert(&stub, WCCE_GETCERT_CANAME, NULL), CERR_OK);
	assert_int_equal(exporter_call(d2, WCCE_OPNUM_GET_CA_CERT, &act.ifaces[0].ipid, &stub, a, &out), CERR_OK);
	cur_init(&c, out.data, out.len);
	orpcthat_t that;
	ndr_blob_t v;
	uint32_t hr;
	assert_true(dcom_get_orpcthat(&c, &that));
	assert_int_equal(wcce_decode_blob_response(&c, a, &v, &hr), CERR_OK);
	assert_int_equal(hr, 0);
	assert_string_equal(enroll_blob_to_utf8(&v, a), CA_NAME);

	buf_reset(&stub);
	buf_reset(&out);
	dcom_client_begin(&stub);
	wcce_request_t req = {.flags = 0x100, .authority = CA_NAME, .attributes = "CertificateTemplate:User",
			      .request = {.len = (uint32_t)n, .data = csr}};
	assert_int_equal(wcce_encode_request(&stub, true, &req), CERR_OK);
	assert_int_equal(exporter_call(d2, WCCE_OPNUM_REQUEST2, &act.ifaces[0].ipid, &stub, a, &out), CERR_OK);
	cur_init(&c, out.data, out.len);
	wcce_response_t r;
	assert_true(dcom_get_orpcthat(&c, &that));
	assert_int_equal(wcce_decode_response(&c, a, &r), CERR_OK);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.disposition, CR_DISP_ISSUED);

	/* Request (opnum 3) on the ICertRequestD IPID */
	buf_reset(&stub);
	buf_reset(&out);
	dcom_client_begin(&stub);
	assert_int_equal(wcce_encode_request(&stub, false, &req), CERR_OK);
	assert_int_equal(exporter_call(d, WCCE_OPNUM_REQUEST, &act.ifaces[1].ipid, &stub, a, &out), CERR_OK);
	cur_init(&c, out.data, out.len);
	assert_true(dcom_get_orpcthat(&c, &that));
	assert_int_equal(wcce_decode_response(&c, a, &r), CERR_OK);
	assert_int_equal(r.disposition, CR_DISP_ISSUED);

	/* ICertRequestD2's IPID through an ICertRequestD binding: only opnums 3-5 */
	for (size_t i = 0; i < 2; i++) {
		buf_reset(&stub);
		buf_reset(&out);
		dcom_client_begin(&stub);
		assert_int_equal(wcce_encode_authority(&stub, CA_NAME), CERR_OK);
		assert_int_equal(exporter_call(d, WCCE_OPNUM_PING2, &act.ifaces[i].ipid, &stub, a, &out),
				 CERR_NCA_S_OP_RNG_ERROR);
	}

	/* RemRelease both interface pointers: the object goes */
	for (size_t i = 0; i < 2; i++) {
		buf_reset(&stub);
		buf_reset(&out);
		dcom_client_begin(&stub);
		assert_int_equal(dcom_client_encode_rem_release(&stub, &act.ifaces[i].ipid, act.ifaces[i].public_refs, 0),
				 CERR_OK);
		assert_int_equal(exporter_call(remunk, DCOM_OP_REM_RELEASE, &act.ipid_remunknown, &stub, a, &out),
				 CERR_OK);
		cur_init(&c, out.data, out.len);
		assert_true(dcom_get_orpcthat(&c, &that));
		assert_true(ndr_get_u32(&c, &hr));
		assert_int_equal(hr, 0);
	}
	dcom_exporter_stats(x, &st);
	assert_int_equal(st.objects, 0);

	free(csr);
	buf_free(&stub);
	buf_free(&out);
	arena_free(a);
	dcom_exporter_free(x);
	wcce_service_free(s);
}

int main(void)
{
	const struct CMUnitTest codec[] = {
		cmocka_unit_test(test_decode_impacket),
		cmocka_unit_test(test_truncation_and_flips),
		cmocka_unit_test(test_range_limits),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_client_create_instance),
	};
	const struct CMUnitTest methods[] = {
		cmocka_unit_test(test_request_issue_and_retrieve),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_get_ca_cert),
		cmocka_unit_test(test_get_ca_property),
		cmocka_unit_test(test_get_ca_property_info),
		cmocka_unit_test(test_ping_and_dispatch),
		cmocka_unit_test(test_short_name),
		cmocka_unit_test(test_exporter_round_trip),
	};
	int rc = cmocka_run_group_tests_name("codec", codec, NULL, NULL);
	rc |= cmocka_run_group_tests_name("methods", methods, group_setup, group_teardown);
	return rc;
}
