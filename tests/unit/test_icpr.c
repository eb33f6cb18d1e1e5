/* test_icpr.c - MS-ICPR CertServerRequest: the stub codecs against
 * impacket-made requests, the pctbAttribs length rule, truncation sweeps,
 * and the handler against a real CA (issued, refused below PKT_PRIVACY,
 * wrong or empty CA name, denied template, retrieval, malformed NDR). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ca/ca.h"
#include "rpc/pdu.h"
#include "services/icpr.h"
#include "testutil.h"

/* Fixtures: impacket NDR classes for CertServerRequest
 * (tests/integration/icpr_ndr.py, run as a script) - note impacket's non-zero
 * padding (0xbf, 0xab) and random referent ids. */
/* submit: authority "certa-CA", id 0, "CertificateTemplate:User", request 30 03 02 01 05 */
static const uint8_t fx_submit[] = {
	0x00, 0x00, 0x00, 0x00, 0x28, 0x1f, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x63, 0x00, 0x65, 0x00,
	0x72, 0x00, 0x74, 0x00, 0x61, 0x00, 0x2d, 0x00, 0x43, 0x00, 0x41, 0x00,
	0x00, 0x00, 0xbf, 0xbf, 0x00, 0x00, 0x00, 0x00, 0x32, 0x00, 0x00, 0x00,
	0xba, 0x19, 0x00, 0x00, 0x32, 0x00, 0x00, 0x00, 0x43, 0x00, 0x65, 0x00,
	0x72, 0x00, 0x74, 0x00, 0x69, 0x00, 0x66, 0x00, 0x69, 0x00, 0x63, 0x00,
	0x61, 0x00, 0x74, 0x00, 0x65, 0x00, 0x54, 0x00, 0x65, 0x00, 0x6d, 0x00,
	0x70, 0x00, 0x6c, 0x00, 0x61, 0x00, 0x74, 0x00, 0x65, 0x00, 0x3a, 0x00,
	0x55, 0x00, 0x73, 0x00, 0x65, 0x00, 0x72, 0x00, 0x00, 0x00, 0xab, 0xab,
	0x05, 0x00, 0x00, 0x00, 0xf1, 0xdd, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00,
	0x30, 0x03, 0x02, 0x01, 0x05,
};
/* retrieve: authority "certa-CA", id 7, both blobs empty (0/NULL) */
static const uint8_t fx_retrieve[] = {
	0x00, 0x00, 0x00, 0x00, 0xca, 0x26, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x63, 0x00, 0x65, 0x00,
	0x72, 0x00, 0x74, 0x00, 0x61, 0x00, 0x2d, 0x00, 0x43, 0x00, 0x41, 0x00,
	0x00, 0x00, 0xbf, 0xbf, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* null_authority: NULL pwszAuthority, "CertificateTemplate:User", request 30 00 */
static const uint8_t fx_null_authority[] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x32, 0x00, 0x00, 0x00, 0x63, 0x2b, 0x00, 0x00, 0x32, 0x00, 0x00, 0x00,
	0x43, 0x00, 0x65, 0x00, 0x72, 0x00, 0x74, 0x00, 0x69, 0x00, 0x66, 0x00,
	0x69, 0x00, 0x63, 0x00, 0x61, 0x00, 0x74, 0x00, 0x65, 0x00, 0x54, 0x00,
	0x65, 0x00, 0x6d, 0x00, 0x70, 0x00, 0x6c, 0x00, 0x61, 0x00, 0x74, 0x00,
	0x65, 0x00, 0x3a, 0x00, 0x55, 0x00, 0x73, 0x00, 0x65, 0x00, 0x72, 0x00,
	0x00, 0x00, 0xab, 0xab, 0x02, 0x00, 0x00, 0x00, 0xc9, 0x08, 0x00, 0x00,
	0x02, 0x00, 0x00, 0x00, 0x30, 0x00,
};

static cerr_t decode(const uint8_t *p, size_t n, arena_t *a, icpr_request_t *out)
{
	cur_t c;
	cur_init(&c, p, n);
	return icpr_decode_request(&c, a, out);
}

static void test_decode_impacket(void **state)
{
	(void)state;
	arena_t *a = arena_new();
	icpr_request_t r;
	char *attrs;
	assert_int_equal(decode(fx_submit, sizeof(fx_submit), a, &r), CERR_OK);
	assert_int_equal(r.flags, 0);
	assert_string_equal(r.authority, "certa-CA");
	assert_int_equal(r.request_id, 0);
	assert_int_equal(r.attribs.len, 50);
	assert_int_equal(icpr_attribs_to_utf8(&r.attribs, a, &attrs), CERR_OK);
	assert_string_equal(attrs, "CertificateTemplate:User");
	assert_int_equal(r.request.len, 5);
	assert_memory_equal(r.request.data, "\x30\x03\x02\x01\x05", 5);

	assert_int_equal(decode(fx_retrieve, sizeof(fx_retrieve), a, &r), CERR_OK);
	assert_int_equal(r.request_id, 7);
	assert_int_equal(r.attribs.len, 0);
	assert_null(r.attribs.data);
	assert_int_equal(r.request.len, 0);
	assert_int_equal(icpr_attribs_to_utf8(&r.attribs, a, &attrs), CERR_OK);
	assert_string_equal(attrs, "");

	assert_int_equal(decode(fx_null_authority, sizeof(fx_null_authority), a, &r), CERR_OK);
	assert_null(r.authority);
	assert_int_equal(r.request.len, 2);
	arena_free(a);
}

static void test_truncation_and_flips(void **state)
{
	(void)state;
	const struct {
		const uint8_t *p;
		size_t n;
	} fx[] = {{fx_submit, sizeof(fx_submit)}, {fx_retrieve, sizeof(fx_retrieve)},
		  {fx_null_authority, sizeof(fx_null_authority)}};
	for (size_t k = 0; k < 3; k++) {
		for (size_t n = 0; n < fx[k].n; n++) {
			arena_t *a = arena_new();
			icpr_request_t r;
			assert_int_equal(decode(fx[k].p, n, a, &r), CERR_MALFORMED);
			arena_free(a);
		}
		/* every single-bit flip either decodes or fails cleanly */
		uint8_t *copy = malloc(fx[k].n);
		for (size_t i = 0; i < fx[k].n * 8; i++) {
			memcpy(copy, fx[k].p, fx[k].n);
			copy[i / 8] ^= (uint8_t)(1u << (i % 8));
			arena_t *a = arena_new();
			icpr_request_t r;
			cerr_t e = decode(copy, fx[k].n, a, &r);
			assert_true(e == CERR_OK || e == CERR_MALFORMED);
			if (e == CERR_OK) {
				char *s;
				e = icpr_attribs_to_utf8(&r.attribs, a, &s);
				assert_true(e == CERR_OK || e == CERR_E_INVALIDARG);
			}
			arena_free(a);
		}
		free(copy);
	}
}

static void test_roundtrip(void **state)
{
	(void)state;
	arena_t *a = arena_new();
	icpr_request_t in = {.flags = 0x100, .authority = "Test Issuing CA", .request_id = 0,
			     .request = {.len = 3, .data = (const uint8_t *)"abc"}};
	assert_int_equal(icpr_utf16_blob("CertificateTemplate:Machine\nrmd:host.example.com", a, &in.attribs),
			 CERR_OK);
	buf_t b;
	buf_init(&b, 0);
	assert_int_equal(icpr_encode_request(&b, &in), CERR_OK);
	icpr_request_t out;
	assert_int_equal(decode(b.data, b.len, a, &out), CERR_OK);
	assert_int_equal(out.flags, 0x100);
	assert_string_equal(out.authority, "Test Issuing CA");
	char *s;
	assert_int_equal(icpr_attribs_to_utf8(&out.attribs, a, &s), CERR_OK);
	assert_string_equal(s, "CertificateTemplate:Machine\nrmd:host.example.com");
	assert_int_equal(out.request.len, 3);

	/* response both ways; with NULL blobs in the middle */
	buf_reset(&b);
	icpr_response_t resp = {.request_id = 42, .disposition = 0x80094800u,
				.encoded_cert = {.len = 4, .data = (const uint8_t *)"\x30\x02\x05\x00"},
				.status = 0};
	assert_int_equal(icpr_utf16_blob("Denied by Policy Module", a, &resp.disposition_message), CERR_OK);
	assert_int_equal(icpr_encode_response(&b, &resp), CERR_OK);
	cur_t c;
	cur_init(&c, b.data, b.len);
	icpr_response_t back;
	assert_int_equal(icpr_decode_response(&c, a, &back), CERR_OK);
	assert_int_equal(back.request_id, 42);
	assert_int_equal(back.disposition, 0x80094800u);
	assert_int_equal(back.cert_chain.len, 0);
	assert_int_equal(back.encoded_cert.len, 4);
	assert_string_equal(icpr_blob_to_utf8(&back.disposition_message, a), "Denied by Policy Module");
	/* trailing bytes after the return value are refused */
	buf_put_u32(&b, 0);
	cur_init(&c, b.data, b.len);
	assert_int_equal(icpr_decode_response(&c, a, &back), CERR_MALFORMED);
	buf_free(&b);
	arena_free(a);
}

static void test_attribs_length_rule(void **state)
{
	(void)state;
	arena_t *a = arena_new();
	char *s;
	/* MS-ICPR 3.2.4.1.1: cb must be the string's bytes including the NUL */
	const uint8_t ok[] = {'A', 0, ':', 0, 'b', 0, 0, 0};
	ndr_blob_t bl = {.len = sizeof(ok), .data = ok};
	assert_int_equal(icpr_attribs_to_utf8(&bl, a, &s), CERR_OK);
	assert_string_equal(s, "A:b");
	bl.len = 6; /* NUL not counted */
	assert_int_equal(icpr_attribs_to_utf8(&bl, a, &s), CERR_E_INVALIDARG);
	bl.len = 7; /* odd */
	assert_int_equal(icpr_attribs_to_utf8(&bl, a, &s), CERR_E_INVALIDARG);
	const uint8_t extra[] = {'A', 0, 0, 0, 'b', 0, 0, 0}; /* NUL before the end */
	bl = (ndr_blob_t){.len = sizeof(extra), .data = extra};
	assert_int_equal(icpr_attribs_to_utf8(&bl, a, &s), CERR_E_INVALIDARG);
	const uint8_t lone[] = {0x00, 0xd8, 0, 0}; /* lone high surrogate */
	bl = (ndr_blob_t){.len = sizeof(lone), .data = lone};
	assert_int_equal(icpr_attribs_to_utf8(&bl, a, &s), CERR_E_INVALIDARG);
	const uint8_t just_nul[] = {0, 0};
	bl = (ndr_blob_t){.len = 2, .data = just_nul};
	assert_int_equal(icpr_attribs_to_utf8(&bl, a, &s), CERR_OK);
	assert_string_equal(s, "");
	arena_free(a);
}

/* ---- the handler against a real CA ---- */

static char dir[64];
static char evfile[128];
static events_t *ev;
static ca_t *ca;
static EVP_PKEY *key2048, *key1024;

static int group_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/certa-icpr-XXXXXX");
	if (!mkdtemp(dir)) {
		return -1;
	}
	snprintf(evfile, sizeof(evfile), "%s.events.jsonl", dir);
	if (events_open(evfile, 0, &ev) != CERR_OK) {
		return -1;
	}
	ca_config_t cfg = {
		.state_dir = dir,
		.ca_name = "Test Issuing CA",
		.key_alg = CA_KEY_EC_P256,
		.templates_dir = CERTA_SRC_TEMPLATES_DIR,
		.dns_domain = "example.com",
		.events = ev,
	};
	key2048 = EVP_RSA_gen(2048);
	key1024 = EVP_RSA_gen(1024);
	return ca_open(&cfg, &ca) == CERR_OK && key2048 && key1024 ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	ca_close(ca);
	events_close(ev);
	EVP_PKEY_free(key2048);
	EVP_PKEY_free(key1024);
	bool ok = tu_rmrf(dir);
	return tu_rmrf(evfile) && ok ? 0 : -1;
}

/* make_csr: a PKCS#10 for CN=alice, no extensions. */
static uint8_t *make_csr(EVP_PKEY *key, size_t *len) { return tu_make_csr(key, "alice", NULL, NULL, len); }

typedef struct outcome {
	cerr_t rc;           /* the handler's return */
	icpr_response_t resp;
	char *message;
	arena_t *a;
} outcome_t;

/* run_call runs the handler once as the runtime would. */
static void run_call(rpc_iface_t *iface, uint8_t level, const char *user, const uint8_t *stub, size_t n,
		     outcome_t *o)
{
	rpc_identity_t id = {.user = user, .domain = "CA1", .package = "NTLM"};
	rpc_conn_info_t conn = {
		.peer_addr = "192.0.2.7",
		.auth_type = user ? RPC_AUTH_WINNT : RPC_AUTH_NONE,
		.auth_level = level,
		.identity = user ? &id : NULL,
	};
	memset(o, 0, sizeof(*o));
	o->a = arena_new();
	buf_t out;
	buf_init(&out, 0);
	o->rc = tu_invoke(iface, &conn, 0, NULL, stub, n, o->a, &out);
	if (o->rc == CERR_OK) {
		/* copy the response into the arena, as the decode borrows nothing */
		cur_t c;
		cur_init(&c, out.data, out.len);
		assert_int_equal(icpr_decode_response(&c, o->a, &o->resp), CERR_OK);
		o->message = icpr_blob_to_utf8(&o->resp.disposition_message, o->a);
	}
	buf_free(&out);
}

static void call_request(rpc_iface_t *iface, uint8_t level, const char *authority, uint32_t id,
			 const char *attrs, const uint8_t *csr, size_t csr_len, outcome_t *o)
{
	arena_t *a = arena_new();
	icpr_request_t req = {.authority = authority, .request_id = id,
			      .request = {.len = (uint32_t)csr_len, .data = csr}};
	if (attrs) {
		assert_int_equal(icpr_utf16_blob(attrs, a, &req.attribs), CERR_OK);
	}
	buf_t b;
	buf_init(&b, 0);
	assert_int_equal(icpr_encode_request(&b, &req), CERR_OK);
	run_call(iface, level, "alice", b.data, b.len, o);
	buf_free(&b);
	arena_free(a);
}

static bool events_have(const char *needle) { return tu_file_has_line(evfile, needle, NULL); }

static void test_handler_issue_and_retrieve(void **state)
{
	(void)state;
	rpc_iface_t iface;
	assert_int_equal(icpr_iface_init(&iface, ca, NULL), CERR_OK);
	assert_true(guid_equal(&iface.uuid, &ICPR_UUID));
	assert_true(iface.epm_register);
	assert_int_equal(iface.n_ops, 1);
	size_t n;
	uint8_t *csr = make_csr(key2048, &n);
	outcome_t o;
	call_request(&iface, RPC_AUTH_LEVEL_PKT_PRIVACY, "Test Issuing CA", 0, "CertificateTemplate:User", csr, n, &o);
	assert_int_equal(o.rc, CERR_OK);
	assert_int_equal(o.resp.status, 0);
	assert_int_equal(o.resp.disposition, ICPR_DISP_ISSUED);
	assert_true(o.resp.request_id > 0);
	assert_true(o.resp.encoded_cert.len > 100);
	assert_true(o.resp.cert_chain.len > o.resp.encoded_cert.len);
	assert_string_equal(o.message, "Issued");
	uint32_t id = o.resp.request_id;
	uint8_t *cert = malloc(o.resp.encoded_cert.len);
	size_t cert_len = o.resp.encoded_cert.len;
	memcpy(cert, o.resp.encoded_cert.data, cert_len);
	arena_free(o.a);

	/* retrieval: empty request, the ID, no attributes; sanitized name, any case */
	call_request(&iface, RPC_AUTH_LEVEL_PKT_PRIVACY, "test issuing ca", id, NULL, NULL, 0, &o);
	assert_int_equal(o.resp.status, 0);
	assert_int_equal(o.resp.disposition, ICPR_DISP_ISSUED);
	assert_int_equal(o.resp.request_id, id);
	assert_int_equal(o.resp.encoded_cert.len, cert_len);
	assert_memory_equal(o.resp.encoded_cert.data, cert, cert_len);
	arena_free(o.a);

	/* an unknown ID */
	call_request(&iface, RPC_AUTH_LEVEL_PKT_PRIVACY, NULL, 999999, NULL, NULL, 0, &o);
	assert_int_equal(o.resp.status, 0);
	assert_true(o.resp.disposition >= 0x80000000u);
	assert_int_equal(o.resp.encoded_cert.len, 0);
	arena_free(o.a);
	free(cert);
	free(csr);
	icpr_iface_cleanup(&iface);
}

static void test_handler_refusals(void **state)
{
	(void)state;
	rpc_iface_t iface;
	assert_int_equal(icpr_iface_init(&iface, ca, NULL), CERR_OK);
	size_t n;
	uint8_t *csr = make_csr(key2048, &n);
	outcome_t o;

	/* below PKT_PRIVACY: E_ACCESSDENIED as the return value, nothing stored */
	const uint8_t low[] = {RPC_AUTH_LEVEL_PKT_INTEGRITY, RPC_AUTH_LEVEL_CONNECT, RPC_AUTH_LEVEL_NONE};
	for (size_t k = 0; k < sizeof(low); k++) {
		call_request(&iface, low[k], "Test Issuing CA", 0, "CertificateTemplate:User", csr, n, &o);
		assert_int_equal(o.rc, CERR_OK);
		assert_int_equal(o.resp.status, 0x80070005u);
		assert_int_equal(o.resp.disposition, 0x80070005u);
		assert_int_equal(o.resp.request_id, 0);
		assert_int_equal(o.resp.encoded_cert.len, 0);
		assert_non_null(strstr(o.message, "IF_ENFORCEENCRYPTICERTREQUEST"));
		arena_free(o.a);
	}
	assert_true(events_have("\"id\":4888"));
	assert_true(events_have("the request was not encrypted (IF_ENFORCEENCRYPTICERTREQUEST)"));

	/* a wrong CA name: E_INVALIDARG */
	call_request(&iface, RPC_AUTH_LEVEL_PKT_PRIVACY, "Other CA", 0, "CertificateTemplate:User", csr, n, &o);
	assert_int_equal(o.resp.status, 0x80070057u);
	assert_int_equal(o.resp.request_id, 0);
	arena_free(o.a);

	/* a template the CA does not offer: denied in pdwDisposition, ID assigned */
	call_request(&iface, RPC_AUTH_LEVEL_PKT_PRIVACY, "Test Issuing CA", 0, "CertificateTemplate:NoSuch", csr, n,
		     &o);
	assert_int_equal(o.resp.status, 0);
	assert_int_equal(o.resp.disposition, 0x80094800u);
	assert_true(o.resp.request_id > 0);
	arena_free(o.a);

	/* a key below the template's minimum */
	size_t n1;
	uint8_t *small = make_csr(key1024, &n1);
	call_request(&iface, RPC_AUTH_LEVEL_PKT_PRIVACY, "Test Issuing CA", 0, "CertificateTemplate:User", small, n1,
		     &o);
	assert_int_equal(o.resp.status, 0);
	assert_int_equal(o.resp.disposition, 0x80094811u);
	arena_free(o.a);
	free(small);

	/* a malformed CSR */
	call_request(&iface, RPC_AUTH_LEVEL_PKT_PRIVACY, "Test Issuing CA", 0, "CertificateTemplate:User",
		     (const uint8_t *)"\x30\x03\x02\x01\x05", 5, &o);
	assert_int_equal(o.resp.status, 0);
	assert_true(o.resp.disposition >= 0x80000000u);
	assert_int_equal(o.resp.encoded_cert.len, 0);
	arena_free(o.a);

	/* pctbAttribs whose cb does not count the NUL */
	arena_t *a = arena_new();
	icpr_request_t req = {.authority = NULL, .request = {.len = (uint32_t)n, .data = csr}};
	assert_int_equal(icpr_utf16_blob("CertificateTemplate:User", a, &req.attribs), CERR_OK);
	req.attribs.len -= 2;
	buf_t b;
	buf_init(&b, 0);
	assert_int_equal(icpr_encode_request(&b, &req), CERR_OK);
	run_call(&iface, RPC_AUTH_LEVEL_PKT_PRIVACY, "alice", b.data, b.len, &o);
	assert_int_equal(o.resp.status, 0x80070057u);
	arena_free(o.a);
	buf_free(&b);
	arena_free(a);

	/* malformed NDR: the runtime's fault */
	run_call(&iface, RPC_AUTH_LEVEL_PKT_PRIVACY, "alice", fx_submit, sizeof(fx_submit) - 1, &o);
	assert_int_equal(o.rc, CERR_MALFORMED);
	arena_free(o.a);
	free(csr);
	icpr_iface_cleanup(&iface);
}

static void test_handler_config(void **state)
{
	(void)state;
	size_t n;
	uint8_t *csr = make_csr(key2048, &n);
	outcome_t o;
	rpc_iface_t iface;

	/* the empty-name extension on (default): NULL and "" name this CA */
	assert_int_equal(icpr_iface_init(&iface, ca, NULL), CERR_OK);
	call_request(&iface, RPC_AUTH_LEVEL_PKT_PRIVACY, NULL, 0, "CertificateTemplate:User", csr, n, &o);
	assert_int_equal(o.resp.status, 0);
	assert_int_equal(o.resp.disposition, ICPR_DISP_ISSUED);
	arena_free(o.a);
	call_request(&iface, RPC_AUTH_LEVEL_PKT_PRIVACY, "", 0, "CertificateTemplate:User", csr, n, &o);
	assert_int_equal(o.resp.disposition, ICPR_DISP_ISSUED);
	arena_free(o.a);
	icpr_iface_cleanup(&iface);

	/* Windows' behaviour: refused */
	icpr_config_t cfg;
	icpr_config_default(&cfg);
	cfg.allow_empty_authority = false;
	assert_int_equal(icpr_iface_init(&iface, ca, &cfg), CERR_OK);
	call_request(&iface, RPC_AUTH_LEVEL_PKT_PRIVACY, NULL, 0, "CertificateTemplate:User", csr, n, &o);
	assert_int_equal(o.resp.status, 0x80070057u);
	arena_free(o.a);
	icpr_iface_cleanup(&iface);

	/* enforcement off: PKT_INTEGRITY is served */
	icpr_config_default(&cfg);
	cfg.interface_flags = 0;
	assert_int_equal(icpr_iface_init(&iface, ca, &cfg), CERR_OK);
	call_request(&iface, RPC_AUTH_LEVEL_PKT_INTEGRITY, NULL, 0, "CertificateTemplate:User", csr, n, &o);
	assert_int_equal(o.resp.status, 0);
	assert_int_equal(o.resp.disposition, ICPR_DISP_ISSUED);
	arena_free(o.a);
	icpr_iface_cleanup(&iface);

	/* IF_NORPCICERTREQUEST: refused even at PKT_PRIVACY */
	cfg.interface_flags = ICPR_IF_NORPCICERTREQUEST;
	assert_int_equal(icpr_iface_init(&iface, ca, &cfg), CERR_OK);
	call_request(&iface, RPC_AUTH_LEVEL_PKT_PRIVACY, NULL, 0, "CertificateTemplate:User", csr, n, &o);
	assert_int_equal(o.resp.status, 0x80070005u);
	arena_free(o.a);
	icpr_iface_cleanup(&iface);
	icpr_iface_cleanup(NULL);
	assert_int_equal(icpr_iface_init(&iface, NULL, NULL), CERR_INVALID_ARG);
	free(csr);
}

/* A template with CT_FLAG_PEND_ALL_REQUESTS (msPKI-Enrollment-Flag 0x2): the
 * request is taken under submission (disposition 5, ID assigned, no
 * certificate), and retrieving it says the same. */
static void test_handler_pending(void **state)
{
	(void)state;
	char pdir[64], tdir[80], cmd[512];
	snprintf(pdir, sizeof(pdir), "/tmp/certa-icpr-pend-XXXXXX");
	assert_non_null(mkdtemp(pdir));
	snprintf(tdir, sizeof(tdir), "%s/templates", pdir);
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p '%s' && sed -e 's/^cn: User$/cn: PendUser/' -e 's/CN=User,/CN=PendUser,/' "
		 "-e 's/^msPKI-Enrollment-Flag: 41$/msPKI-Enrollment-Flag: 43/' -e 's/^displayName: User$/displayName: PendUser/' "
		 "'%s/User.ldif' > '%s/PendUser.ldif'",
		 tdir, CERTA_SRC_TEMPLATES_DIR, tdir);
	assert_int_equal(system(cmd), 0);
	const char *const offered[] = {"PendUser"};
	char sdir[96];
	snprintf(sdir, sizeof(sdir), "%s/state", pdir);
	ca_config_t cfg = {
		.state_dir = sdir,
		.ca_name = "Pending CA",
		.key_alg = CA_KEY_EC_P256,
		.templates = offered,
		.num_templates = 1,
		.templates_dir = tdir,
		.dns_domain = "example.com",
		.events = ev,
	};
	ca_t *pca = NULL;
	assert_int_equal(ca_open(&cfg, &pca), CERR_OK);
	rpc_iface_t iface;
	assert_int_equal(icpr_iface_init(&iface, pca, NULL), CERR_OK);
	size_t n;
	uint8_t *csr = make_csr(key2048, &n);
	outcome_t o;
	call_request(&iface, RPC_AUTH_LEVEL_PKT_PRIVACY, "Pending CA", 0, "CertificateTemplate:PendUser", csr, n, &o);
	assert_int_equal(o.resp.status, 0);
	assert_int_equal(o.resp.disposition, ICPR_DISP_UNDER_SUBMISSION);
	assert_true(o.resp.request_id > 0);
	assert_int_equal(o.resp.encoded_cert.len, 0);
	uint32_t id = o.resp.request_id;
	arena_free(o.a);
	call_request(&iface, RPC_AUTH_LEVEL_PKT_PRIVACY, NULL, id, NULL, NULL, 0, &o);
	assert_int_equal(o.resp.status, 0);
	assert_int_equal(o.resp.disposition, ICPR_DISP_UNDER_SUBMISSION);
	assert_int_equal(o.resp.request_id, id);
	arena_free(o.a);
	icpr_iface_cleanup(&iface);
	ca_close(pca);
	free(csr);
	assert_true(tu_rmrf(pdir));
}

int main(void)
{
	const struct CMUnitTest codec[] = {
		cmocka_unit_test(test_decode_impacket),
		cmocka_unit_test(test_truncation_and_flips),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_attribs_length_rule),
	};
	const struct CMUnitTest handler[] = {
		cmocka_unit_test(test_handler_issue_and_retrieve),
		cmocka_unit_test(test_handler_refusals),
		cmocka_unit_test(test_handler_config),
		cmocka_unit_test(test_handler_pending),
	};
	int rc = cmocka_run_group_tests_name("codec", codec, NULL, NULL);
	rc |= cmocka_run_group_tests_name("handler", handler, group_setup, group_teardown);
	return rc;
}
