/* testutil.c - the helpers in testutil.h. Kept free of any one test's
 * state: what a helper needs comes in through its arguments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/request.h"
#include "testutil.h"

/* ---- hex fixtures ---- */

size_t tu_unhex(const char *h, uint8_t *out, size_t cap)
{
	size_t n = 0;
	while (h[0] && h[1] && n < cap) {
		unsigned v;
		sscanf(h, "%2x", &v);
		out[n++] = (uint8_t)v;
		h += 2;
	}
	return n;
}

const char tu_rgco_stub_hex[] =
	"050007000100000000000000443322116655887799aabbccddeeff000000000072810000a0010000a00100004d454f57"
	"04000000a201000000000000c0000000000000463803000000000000c000000000000046000000007801000068010000"
	"0000000001100800cccccccc88000000cccccccc68010000980000000000000002000000040000000000000000000000"
	"00000000000000008c11000015d400000000000004000000ab01000000000000c000000000000046a501000000000000"
	"c000000000000046a401000000000000c000000000000046aa01000000000000c0000000000000460400000058000000"
	"28000000200000003000000001100800cccccccc44000000cccccccc746e9ed988fcd011b49800a0c90312f300000000"
	"00000000000000000100000000000000133200000000000005000700010000000100000000000000c000000000000046"
	"fafafafa01100800cccccccc18000000cccccccc00000000000000000000000000000000000000000000000001100800"
	"cccccccc10000000cccccccc0000000000000000000000000000000001100800cccccccc1a000000cccccccc00000000"
	"a93b0000000000000100aaaab3f00000010000000700fafafafafafa";

/* ---- scratch files ---- */

void tu_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

bool tu_rmrf(const char *path)
{
	char cmd[512];
	int n = snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	return n > 0 && (size_t)n < sizeof(cmd) && system(cmd) == 0;
}

bool tu_file_has_line(const char *path, const char *needle, const char *also)
{
	FILE *f = fopen(path, "r");
	char line[8192];
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f)) {
		found = strstr(line, needle) && (!also || strstr(line, also));
	}
	if (f) {
		fclose(f);
	}
	return found;
}

/* ---- certificates ---- */

uint8_t *tu_make_csr(EVP_PKEY *key, const char *cn, const char *ext_template, const char *san_dns, size_t *len)
{
	X509_REQ *r = X509_REQ_new();
	X509_REQ_set_version(r, 0);
	X509_NAME *n = X509_REQ_get_subject_name(r);
	if (cn) {
		X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	}
	X509_REQ_set_pubkey(r, key);
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	if (ext_template) {
		ASN1_STRING *bmp = NULL;
		ASN1_mbstring_copy(&bmp, (const unsigned char *)ext_template, -1, MBSTRING_UTF8, B_ASN1_BMPSTRING);
		unsigned char *der = NULL;
		int dl = i2d_ASN1_BMPSTRING(bmp, &der);
		ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
		ASN1_OCTET_STRING_set(os, der, dl);
		ASN1_OBJECT *obj = OBJ_txt2obj(OID_ENROLL_CERTTYPE, 1);
		sk_X509_EXTENSION_push(exts, X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os));
		ASN1_OBJECT_free(obj);
		ASN1_OCTET_STRING_free(os);
		OPENSSL_free(der);
		ASN1_STRING_free(bmp);
	}
	if (san_dns) {
		char v[256];
		snprintf(v, sizeof(v), "DNS:%s", san_dns);
		sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, v));
	}
	if (sk_X509_EXTENSION_num(exts) > 0) {
		X509_REQ_add_extensions(r, exts);
	}
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	assert_true(X509_REQ_sign(r, key, EVP_sha256()) > 0);
	unsigned char *der = NULL;
	int dl = i2d_X509_REQ(r, &der);
	assert_true(dl > 0);
	uint8_t *out = malloc((size_t)dl);
	assert_non_null(out);
	memcpy(out, der, (size_t)dl);
	*len = (size_t)dl;
	OPENSSL_free(der);
	X509_REQ_free(r);
	return out;
}
