/* test_ca.c - the CA core end to end: creation, issuance per template, denials
 * with AD CS codes, retrieval, restart, SAN policy, wrappers, events, threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "ca/request.h"
#include "testutil.h"

static char dir[64];
static char evfile[128];
static EVP_PKEY *key2048, *key1024;
static events_t *ev;

/* ---- helpers ---- */

static ca_config_t base_config(void)
{
	ca_config_t cfg = {
		.state_dir = dir,
		.ca_name = "Test Issuing CA",
		.ca_extra_dn = "DC=example,DC=com",
		.templates_dir = CERTA_SRC_TEMPLATES_DIR,
		.aia_url = "http://pki.example.com/ca.crt",
		.cdp_url = "http://pki.example.com/ca.crl",
		.dns_domain = "example.com",
		.events = ev,
	};
	return cfg;
}

static ca_t *open_ca(const ca_config_t *cfg)
{
	ca_t *ca = NULL;
	assert_int_equal(ca_open(cfg, &ca), CERR_OK);
	return ca;
}

static cerr_t submit(ca_t *ca, const char *attrs, const uint8_t *req, size_t len, const char *requester,
		     ca_request_out_t *out)
{
	ca_request_in_t in = {
		.flags = 0,
		.authority = ca_name(ca),
		.attributes = attrs,
		.request = req,
		.request_len = len,
		.requester = requester,
		.client_addr = "192.0.2.10",
		.protocol = "ICPR",
	};
	return ca_submit(ca, &in, out);
}

static X509 *parse_cert(const ca_request_out_t *out)
{
	const unsigned char *p = out->cert;
	X509 *x = d2i_X509(NULL, &p, (long)out->cert_len);
	assert_non_null(x);
	return x;
}

static ASN1_OCTET_STRING *ext_data(X509 *x, const char *oid)
{
	ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
	int i = X509_get_ext_by_OBJ(x, o, -1);
	ASN1_OBJECT_free(o);
	return i < 0 ? NULL : X509_EXTENSION_get_data(X509_get_ext(x, i));
}

static bool has_eku(X509 *x, int nid)
{
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	bool found = false;
	for (int i = 0; eku && i < sk_ASN1_OBJECT_num(eku); i++) {
		found |= OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) == nid;
	}
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	return found;
}

static bool has_eku_oid(X509 *x, const char *oid)
{
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	bool found = false;
	for (int i = 0; eku && i < sk_ASN1_OBJECT_num(eku); i++) {
		char buf[64];
		OBJ_obj2txt(buf, sizeof(buf), sk_ASN1_OBJECT_value(eku, i), 1);
		found |= strcmp(buf, oid) == 0;
	}
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	return found;
}

/* san_upn returns the first UPN otherName in x's SAN (static buffer) or NULL. */
static const char *san_upn(X509 *x)
{
	static char buf[256];
	GENERAL_NAMES *g = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	const char *res = NULL;
	for (int i = 0; g && i < sk_GENERAL_NAME_num(g); i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(g, i);
		ASN1_OBJECT *oid;
		ASN1_TYPE *v;
		if (GENERAL_NAME_get0_otherName(gn, &oid, &v)) {
			char o[64];
			OBJ_obj2txt(o, sizeof(o), oid, 1);
			if (strcmp(o, OID_NT_PRINCIPAL_NAME) == 0 && v->type == V_ASN1_UTF8STRING) {
				snprintf(buf, sizeof(buf), "%.*s", v->value.utf8string->length,
					 (const char *)v->value.utf8string->data);
				res = buf;
				break;
			}
		}
	}
	GENERAL_NAMES_free(g);
	return res;
}

static const char *san_dns(X509 *x)
{
	static char buf[256];
	GENERAL_NAMES *g = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	const char *res = NULL;
	for (int i = 0; g && i < sk_GENERAL_NAME_num(g); i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(g, i);
		if (gn->type == GEN_DNS) {
			snprintf(buf, sizeof(buf), "%.*s", gn->d.dNSName->length, (const char *)gn->d.dNSName->data);
			res = buf;
			break;
		}
	}
	GENERAL_NAMES_free(g);
	return res;
}

static const char *subject_cn(X509 *x)
{
	static char buf[256];
	buf[0] = 0;
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, sizeof(buf));
	return buf;
}

/* ---- fixtures ---- */

static int group_setup(void **state)
{
	(void)state;
	key2048 = EVP_RSA_gen(2048);
	key1024 = EVP_RSA_gen(1024);
	return key2048 && key1024 ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(key2048);
	EVP_PKEY_free(key1024);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/certa-ca-XXXXXX");
	if (!mkdtemp(dir)) {
		return -1;
	}
	snprintf(evfile, sizeof(evfile), "%s.events.jsonl", dir);
	return events_open(evfile, 0, &ev) == CERR_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	events_close(ev);
	ev = NULL;
	unlink(evfile);
	assert_true(tu_rmrf(dir));
	return 0;
}

/* ---- tests ---- */

static void test_ca_creation(void **state)
{
	(void)state;
	ca_config_t cfg = base_config();
	ca_t *ca = open_ca(&cfg);
	assert_string_equal(ca_name(ca), "Test Issuing CA");
	assert_string_equal(ca_sanitized_name(ca), "Test Issuing CA");
	assert_true(ca_authority_matches(ca, "test issuing ca"));
	assert_false(ca_authority_matches(ca, "Other CA"));
	assert_int_equal(ca_num_templates(ca), 4);
	assert_string_equal(ca_template_at(ca, 0)->cn, "User");
	assert_null(ca_template_at(ca, 4));

	size_t len;
	const uint8_t *der = ca_cert_der(ca, &len);
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	assert_non_null(x);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(x)), 1);
	char dn[256];
	X509_NAME_oneline(X509_get_subject_name(x), dn, sizeof(dn));
	assert_string_equal(dn, "/DC=com/DC=example/CN=Test Issuing CA");
	int crit = -1;
	BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_true(bc->ca);
	assert_int_equal(crit, 1);
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING *ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
	assert_int_equal(crit, 1);
	assert_true(ASN1_BIT_STRING_get_bit(ku, 0)); /* digitalSignature */
	assert_true(ASN1_BIT_STRING_get_bit(ku, 5)); /* keyCertSign */
	assert_true(ASN1_BIT_STRING_get_bit(ku, 6)); /* cRLSign */
	assert_false(ASN1_BIT_STRING_get_bit(ku, 2));
	ASN1_BIT_STRING_free(ku);
	assert_non_null(X509_get0_subject_key_id(x));
	ASN1_OCTET_STRING *ver = ext_data(x, OID_CERTSRV_CA_VERSION);
	assert_non_null(ver);
	const uint8_t int0[] = {0x02, 0x01, 0x00};
	assert_int_equal(ASN1_STRING_length(ver), 3);
	assert_memory_equal(ASN1_STRING_get0_data(ver), int0, 3);
	/* about 5 years */
	int days, secs;
	assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
	assert_in_range(days, 5 * 365, 5 * 366);
	X509_free(x);

	char kp[128];
	snprintf(kp, sizeof(kp), "%s/ca.key", dir);
	struct stat st;
	assert_int_equal(stat(kp, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	ca_close(ca);

	/* ca_init refuses to overwrite; no_create refuses to create */
	assert_int_equal(ca_init(&cfg), CERR_EXISTS);
	ca_config_t other = cfg;
	char d2[80];
	snprintf(d2, sizeof(d2), "%s/nested", dir);
	other.state_dir = d2;
	other.no_create = true;
	assert_int_equal(ca_open(&other, &ca), CERR_NOT_FOUND);
	/* unknown configured template */
	const char *bad[] = {"User", "NoSuchTemplate"};
	other = cfg;
	other.templates = bad;
	other.num_templates = 2;
	assert_int_equal(ca_open(&other, &ca), CERR_CONFIG);
	/* EC CA */
	snprintf(d2, sizeof(d2), "%s/ec", dir);
	other = cfg;
	other.state_dir = d2;
	other.key_alg = CA_KEY_EC_P256;
	assert_int_equal(ca_init(&other), CERR_OK);
	ca = open_ca(&other);
	ca_close(ca);
}

static void test_issue_user(void **state)
{
	(void)state;
	ca_config_t cfg = base_config();
	ca_t *ca = open_ca(&cfg);
	size_t len;
	uint8_t *csr = tu_make_csr(key2048, "whatever", NULL, NULL, &len);
	ca_request_out_t out;
	assert_int_equal(submit(ca, "CertificateTemplate:User\r\n", csr, len, "EXAMPLE\\alice", &out), CERR_OK);
	assert_int_equal(out.disposition, CR_DISP_ISSUED);
	assert_int_equal(out.hresult, 0);
	assert_int_equal(out.wire_disposition, 3);
	assert_string_equal(out.message, "Issued");
	assert_true(out.request_id >= 1);
	assert_non_null(out.chain);

	X509 *x = parse_cert(&out);
	size_t calen;
	const uint8_t *cader = ca_cert_der(ca, &calen);
	const unsigned char *p = cader;
	X509 *cax = d2i_X509(NULL, &p, (long)calen);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(cax)), 1);
	assert_int_equal(X509_check_issued(cax, x), X509_V_OK);

	/* V1 template: name extension, BMPString "User" */
	ASN1_OCTET_STRING *tn = ext_data(x, OID_ENROLL_CERTTYPE);
	assert_non_null(tn);
	const uint8_t bmp_user[] = {0x1e, 0x08, 0, 'U', 0, 's', 0, 'e', 0, 'r'};
	assert_int_equal(ASN1_STRING_length(tn), sizeof(bmp_user));
	assert_memory_equal(ASN1_STRING_get0_data(tn), bmp_user, sizeof(bmp_user));
	assert_null(ext_data(x, OID_CERTIFICATE_TEMPLATE));
	/* EKUs of the User template, mirrored in Application Policies */
	assert_true(has_eku(x, NID_client_auth));
	assert_true(has_eku(x, NID_email_protect));
	assert_true(has_eku_oid(x, "1.3.6.1.4.1.311.10.3.4"));
	assert_non_null(ext_data(x, OID_APPLICATION_POLICIES));
	/* key usage digitalSignature + keyEncipherment, critical */
	int crit = -1;
	ASN1_BIT_STRING *ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
	assert_int_equal(crit, 1);
	assert_true(ASN1_BIT_STRING_get_bit(ku, 0));
	assert_true(ASN1_BIT_STRING_get_bit(ku, 2));
	assert_false(ASN1_BIT_STRING_get_bit(ku, 5));
	ASN1_BIT_STRING_free(ku);
	assert_null(X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL));
	/* validity: 1 year (plus the 10-minute backdating) */
	int days, secs;
	assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
	assert_int_equal(days, 365);
	assert_int_equal(secs, 600);
	/* serial: 19 bytes, positive */
	const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
	assert_int_equal(ASN1_STRING_length(sn), 19);
	assert_int_equal(ASN1_STRING_type(sn), V_ASN1_INTEGER);
	/* subject from the requester, UPN from the configured domain */
	assert_string_equal(subject_cn(x), "alice");
	assert_string_equal(san_upn(x), "alice@example.com");
	/* SKI, AKI, AIA, CDP */
	assert_non_null(X509_get0_subject_key_id(x));
	assert_non_null(X509_get0_authority_key_id(x));
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x), X509_get0_subject_key_id(cax)), 0);
	assert_true(X509_get_ext_by_NID(x, NID_info_access, -1) >= 0);
	assert_true(X509_get_ext_by_NID(x, NID_crl_distribution_points, -1) >= 0);
	assert_int_equal(X509_get_signature_nid(x), NID_sha256WithRSAEncryption);

	/* the chain: PKCS#7 signedData, no signers, leaf + CA */
	p = out.chain;
	PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)out.chain_len);
	assert_non_null(p7);
	assert_int_equal(OBJ_obj2nid(p7->type), NID_pkcs7_signed);
	assert_int_equal(sk_X509_num(p7->d.sign->cert), 2);
	assert_int_equal(sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info), 0);
	assert_null(p7->d.sign->contents->d.data);
	assert_int_equal(X509_cmp(sk_X509_value(p7->d.sign->cert, 0), x), 0);
	assert_int_equal(X509_cmp(sk_X509_value(p7->d.sign->cert, 1), cax), 0);
	PKCS7_free(p7);

	/* serial entropy: different every time */
	ca_request_out_t out2;
	assert_int_equal(submit(ca, "CertificateTemplate:User", csr, len, "EXAMPLE\\alice", &out2), CERR_OK);
	X509 *x2 = parse_cert(&out2);
	assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(x), X509_get0_serialNumber(x2)), 0);
	assert_int_equal(out2.request_id, out.request_id + 1);
	X509_free(x2);
	ca_request_out_free(&out2);

	X509_free(x);
	X509_free(cax);
	ca_request_out_free(&out);
	free(csr);
	ca_close(ca);
}

static void test_denials(void **state)
{
	(void)state;
	ca_config_t cfg = base_config();
	ca_t *ca = open_ca(&cfg);
	size_t len;
	uint8_t *csr = tu_make_csr(key2048, "x", NULL, NULL, &len);
	ca_request_out_t out;

	/* unknown template: 0x80094800 in pdwDisposition, a request ID anyway */
	assert_int_equal(submit(ca, "CertificateTemplate:NoSuchTemplate", csr, len, "EXAMPLE\\bob", &out), CERR_OK);
	assert_int_equal(out.disposition, CR_DISP_DENIED);
	assert_int_equal(out.hresult, 0x80094800u);
	assert_int_equal(out.wire_disposition, 0x80094800u);
	assert_true(out.request_id >= 1);
	assert_null(out.cert);
	assert_null(out.chain);
	assert_string_equal(out.message,
			    "Denied by Policy Module  0x80094800, The request was for a certificate template that is not "
			    "supported by the Active Directory Certificate Services policy: NoSuchTemplate.");
	uint32_t denied_id = out.request_id;
	ca_request_out_free(&out);

	/* a template that exists but is not offered is just as unsupported */
	ca_config_t only_user = cfg;
	const char *names[] = {"User"};
	only_user.templates = names;
	only_user.num_templates = 1;
	ca_t *ca1 = open_ca(&only_user);
	assert_int_equal(submit(ca1, "CertificateTemplate:WebServer", csr, len, "EXAMPLE\\bob", &out), CERR_OK);
	assert_int_equal(out.hresult, 0x80094800u);
	ca_request_out_free(&out);
	ca_close(ca1);

	/* no template at all */
	assert_int_equal(submit(ca, NULL, csr, len, "EXAMPLE\\bob", &out), CERR_OK);
	assert_int_equal(out.hresult, 0x80094801u);
	ca_request_out_free(&out);

	/* short key */
	size_t slen;
	uint8_t *shortcsr = tu_make_csr(key1024, "x", NULL, NULL, &slen);
	assert_int_equal(submit(ca, "CertificateTemplate:User", shortcsr, slen, "EXAMPLE\\bob", &out), CERR_OK);
	assert_int_equal(out.disposition, CR_DISP_DENIED);
	assert_int_equal(out.hresult, 0x80094811u);
	assert_non_null(strstr(out.message, "Denied by Policy Module  0x80094811"));
	ca_request_out_free(&out);
	/* ... but SubCA allows 1024 */
	assert_int_equal(submit(ca, "CertificateTemplate:SubCA", shortcsr, slen, "EXAMPLE\\bob", &out), CERR_OK);
	assert_int_equal(out.disposition, CR_DISP_ISSUED);
	X509 *sub = parse_cert(&out);
	BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(sub, NID_basic_constraints, NULL, NULL);
	assert_non_null(bc);
	assert_true(bc->ca);
	assert_null(bc->pathlen);
	BASIC_CONSTRAINTS_free(bc);
	assert_string_equal(subject_cn(sub), "x"); /* ENROLLEE_SUPPLIES_SUBJECT */
	X509_free(sub);
	ca_request_out_free(&out);
	free(shortcsr);

	/* garbage: not DER at all, truncated DER, bad signature */
	const uint8_t junk[] = "this is not a certificate request";
	assert_int_equal(submit(ca, "CertificateTemplate:User", junk, sizeof(junk), "EXAMPLE\\bob", &out), CERR_OK);
	assert_int_equal(out.disposition, CR_DISP_ERROR);
	assert_int_equal(out.hresult, 0x8009310Bu);
	assert_true(out.request_id > denied_id);
	assert_non_null(strstr(out.message, "Error Parsing Request"));
	ca_request_out_free(&out);
	assert_int_equal(submit(ca, "CertificateTemplate:User", csr, len / 2, "EXAMPLE\\bob", &out), CERR_OK);
	assert_int_equal(out.hresult, 0x80093102u);
	ca_request_out_free(&out);
	uint8_t *tampered = malloc(len);
	memcpy(tampered, csr, len);
	tampered[len - 5] ^= 0x01; /* inside the signature */
	assert_int_equal(submit(ca, "CertificateTemplate:User", tampered, len, "EXAMPLE\\bob", &out), CERR_OK);
	assert_int_equal(out.hresult, 0x80090006u);
	ca_request_out_free(&out);
	free(tampered);

	/* wrong CA name: E_INVALIDARG, nothing recorded */
	ca_request_in_t in = {.authority = "Other CA", .request = csr, .request_len = len, .requester = "EXAMPLE\\bob"};
	assert_int_equal(ca_submit(ca, &in, &out), CERR_OK);
	assert_int_equal(out.wire_disposition, 0x80070057u);
	assert_int_equal(out.request_id, 0);
	ca_request_out_free(&out);

	/* empty request, no ID */
	in = (ca_request_in_t){.requester = "EXAMPLE\\bob"};
	assert_int_equal(ca_submit(ca, &in, &out), CERR_OK);
	assert_int_equal(out.wire_disposition, 0x80070057u);
	ca_request_out_free(&out);

	/* retrieval of the denied request gives the original outcome */
	in = (ca_request_in_t){.request_id = denied_id, .requester = "EXAMPLE\\bob"};
	assert_int_equal(ca_submit(ca, &in, &out), CERR_OK);
	assert_int_equal(out.request_id, denied_id);
	assert_int_equal(out.wire_disposition, 0x80094800u);
	assert_non_null(strstr(out.message, "NoSuchTemplate"));
	ca_request_out_free(&out);
	/* unknown request ID */
	in.request_id = 999999;
	assert_int_equal(ca_submit(ca, &in, &out), CERR_OK);
	assert_int_equal(out.wire_disposition, 0x80094004u);
	ca_request_out_free(&out);

	free(csr);
	ca_close(ca);
}

static void test_retrieval_and_restart(void **state)
{
	(void)state;
	ca_config_t cfg = base_config();
	ca_t *ca = open_ca(&cfg);
	size_t len;
	uint8_t *csr = tu_make_csr(key2048, NULL, NULL, NULL, &len);
	ca_request_out_t out;
	assert_int_equal(submit(ca, "CertificateTemplate:User", csr, len, "EXAMPLE\\carol", &out), CERR_OK);
	assert_int_equal(out.disposition, CR_DISP_ISSUED);
	uint32_t id = out.request_id;
	size_t calen;
	const uint8_t *ca_der = ca_cert_der(ca, &calen);
	uint8_t *ca_before = malloc(calen);
	memcpy(ca_before, ca_der, calen);

	ca_request_in_t in = {.request_id = id, .requester = "EXAMPLE\\carol"};
	ca_request_out_t got;
	assert_int_equal(ca_submit(ca, &in, &got), CERR_OK);
	assert_int_equal(got.disposition, CR_DISP_ISSUED);
	assert_int_equal(got.request_id, id);
	assert_int_equal(got.cert_len, out.cert_len);
	assert_memory_equal(got.cert, out.cert, out.cert_len);
	assert_non_null(got.chain);
	ca_request_out_free(&got);

	/* the same request found by its certificate's serial, in either case */
	const unsigned char *p = out.cert;
	X509 *issued = d2i_X509(NULL, &p, (long)out.cert_len);
	assert_non_null(issued);
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(issued), NULL);
	char *hex = BN_bn2hex(bn); /* upper case, even length for our serials */
	uint32_t by_serial = 0;
	assert_int_equal(ca_request_id_by_serial(ca, hex, &by_serial), CERR_OK);
	assert_int_equal(by_serial, id);
	hex[0] = hex[0] == '1' ? '2' : '1';
	assert_int_equal(ca_request_id_by_serial(ca, hex, &by_serial), CERR_NOT_FOUND);
	assert_int_equal(ca_request_id_by_serial(ca, "abc", &by_serial), CERR_INVALID_ARG);
	assert_int_equal(ca_request_id_by_serial(ca, "zz", &by_serial), CERR_INVALID_ARG);
	assert_int_equal(ca_request_id_by_serial(ca, "", &by_serial), CERR_INVALID_ARG);
	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(issued);

	/* someone else may not collect it */
	in.requester = "EXAMPLE\\mallory";
	assert_int_equal(ca_submit(ca, &in, &got), CERR_OK);
	assert_int_equal(got.wire_disposition, 0x80070005u);
	assert_null(got.cert);
	ca_request_out_free(&got);
	ca_close(ca);

	/* restart: same CA, same certificate on retrieval */
	ca = open_ca(&cfg);
	size_t calen2;
	const uint8_t *ca_after = ca_cert_der(ca, &calen2);
	assert_int_equal(calen, calen2);
	assert_memory_equal(ca_before, ca_after, calen);
	in.requester = "EXAMPLE\\carol";
	assert_int_equal(ca_submit(ca, &in, &got), CERR_OK);
	assert_int_equal(got.disposition, CR_DISP_ISSUED);
	assert_memory_equal(got.cert, out.cert, out.cert_len);
	ca_request_out_free(&got);
	/* IDs continue after the restart */
	ca_request_out_t next;
	assert_int_equal(submit(ca, "CertificateTemplate:User", csr, len, "EXAMPLE\\carol", &next), CERR_OK);
	assert_int_equal(next.request_id, id + 1);
	ca_request_out_free(&next);
	ca_close(ca);
	free(ca_before);
	free(csr);
	ca_request_out_free(&out);
}

static void test_san_attribute_policy(void **state)
{
	(void)state;
	ca_config_t cfg = base_config();
	ca_t *ca = open_ca(&cfg);
	size_t len;
	uint8_t *csr = tu_make_csr(key2048, NULL, NULL, NULL, &len);
	const char *attrs = "CertificateTemplate:User\nSAN:upn=administrator@example.com&dns=evil.example.com";
	ca_request_out_t out;
	/* default: the SAN attribute is ignored */
	assert_int_equal(submit(ca, attrs, csr, len, "EXAMPLE\\dave", &out), CERR_OK);
	assert_int_equal(out.disposition, CR_DISP_ISSUED);
	X509 *x = parse_cert(&out);
	assert_string_equal(san_upn(x), "dave@example.com");
	assert_null(san_dns(x));
	X509_free(x);
	ca_request_out_free(&out);
	ca_close(ca);

	/* EDITF_ATTRIBUTESUBJECTALTNAME2: honoured */
	cfg.edit_flags = EDITF_ATTRIBUTESUBJECTALTNAME2;
	ca = open_ca(&cfg);
	assert_int_equal(submit(ca, attrs, csr, len, "EXAMPLE\\dave", &out), CERR_OK);
	assert_int_equal(out.disposition, CR_DISP_ISSUED);
	x = parse_cert(&out);
	assert_string_equal(san_upn(x), "administrator@example.com");
	assert_string_equal(san_dns(x), "evil.example.com");
	X509_free(x);
	ca_request_out_free(&out);
	ca_close(ca);
	free(csr);
}

static void test_enrollee_subject_and_machine(void **state)
{
	(void)state;
	ca_config_t cfg = base_config();
	ca_t *ca = open_ca(&cfg);
	size_t len;
	/* WebServer: subject and SAN from the request */
	uint8_t *csr = tu_make_csr(key2048, "www.example.com", NULL, "www.example.com", &len);
	ca_request_out_t out;
	assert_int_equal(submit(ca, "CertificateTemplate:WebServer", csr, len, "EXAMPLE\\web", &out), CERR_OK);
	assert_int_equal(out.disposition, CR_DISP_ISSUED);
	X509 *x = parse_cert(&out);
	assert_string_equal(subject_cn(x), "www.example.com");
	assert_string_equal(san_dns(x), "www.example.com");
	assert_true(has_eku(x, NID_server_auth));
	int days, secs;
	ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x));
	assert_int_equal(days, 730);
	X509_free(x);
	ca_request_out_free(&out);
	/* User ignores the request's subject and SAN */
	assert_int_equal(submit(ca, "CertificateTemplate:User", csr, len, "EXAMPLE\\web", &out), CERR_OK);
	x = parse_cert(&out);
	assert_string_equal(subject_cn(x), "web");
	assert_null(san_dns(x));
	X509_free(x);
	ca_request_out_free(&out);
	/* Machine: DNS name as CN and SAN, from HOST$ and the domain */
	assert_int_equal(submit(ca, "CertificateTemplate:Machine", csr, len, "EXAMPLE\\WS01$", &out), CERR_OK);
	x = parse_cert(&out);
	assert_string_equal(subject_cn(x), "ws01.example.com");
	assert_string_equal(san_dns(x), "ws01.example.com");
	assert_true(has_eku(x, NID_client_auth) && has_eku(x, NID_server_auth));
	X509_free(x);
	ca_request_out_free(&out);
	free(csr);
	/* template from the request's V1 extension, no attribute */
	csr = tu_make_csr(key2048, NULL, "Machine", NULL, &len);
	ca_request_in_t in = {.request = csr, .request_len = len, .requester = "EXAMPLE\\WS02$",
			      .requester_sid = "S-1-5-21-1-2-3-1105"};
	assert_int_equal(ca_submit(ca, &in, &out), CERR_OK);
	assert_int_equal(out.disposition, CR_DISP_ISSUED);
	x = parse_cert(&out);
	assert_string_equal(subject_cn(x), "ws02.example.com");
	assert_non_null(ext_data(x, OID_NTDS_CA_SECURITY_EXT));
	X509_free(x);
	ca_request_out_free(&out);
	/* conflicting template hints */
	assert_int_equal(submit(ca, "CertificateTemplate:User", csr, len, "EXAMPLE\\WS02$", &out), CERR_OK);
	assert_int_equal(out.hresult, 0x80094802u);
	ca_request_out_free(&out);
	free(csr);
	ca_close(ca);
}

static void test_v2_template_and_pending(void **state)
{
	(void)state;
	char tdir[96], p[160];
	snprintf(tdir, sizeof(tdir), "%s/tpl", dir);
	assert_int_equal(mkdir(tdir, 0700), 0);
	snprintf(p, sizeof(p), "%s/custom.ldif", tdir);
	tu_write_file(p, "dn: CN=CustomV2\n"
		      "cn: CustomV2\n"
		      "msPKI-Template-Schema-Version: 2\n"
		      "revision: 100\n"
		      "msPKI-Template-Minor-Revision: 4\n"
		      "msPKI-Cert-Template-OID: 1.3.6.1.4.1.311.21.8.1.2.3.4\n"
		      "msPKI-Certificate-Name-Flag: 1\n"
		      "msPKI-Minimal-Key-Size: 2048\n"
		      "pKIExtendedKeyUsage: 1.3.6.1.5.5.7.3.2\n"
		      "msPKI-Certificate-Application-Policy: 1.3.6.1.5.5.7.3.2\n"
		      "pKIKeyUsage:: gAA=\n"
		      "pKIExpirationPeriod:: AIByDl3C/f8=\n"
		      "\n"
		      "dn: CN=Pending\n"
		      "cn: Pending\n"
		      "msPKI-Certificate-Name-Flag: 1\n"
		      "msPKI-Enrollment-Flag: 2\n"
		      "pKIExpirationPeriod:: AEA5hy7h/v8=\n");
	ca_config_t cfg = base_config();
	cfg.templates_dir = tdir;
	const char *names[] = {"CustomV2", "Pending"};
	cfg.templates = names;
	cfg.num_templates = 2;
	ca_t *ca = open_ca(&cfg);
	size_t len;
	uint8_t *csr = tu_make_csr(key2048, "v2 subject", NULL, NULL, &len);
	ca_request_out_t out;
	/* by OID works as well as by name */
	assert_int_equal(submit(ca, "CertificateTemplate:1.3.6.1.4.1.311.21.8.1.2.3.4", csr, len, "EXAMPLE\\erin", &out),
			 CERR_OK);
	assert_int_equal(out.disposition, CR_DISP_ISSUED);
	X509 *x = parse_cert(&out);
	assert_null(ext_data(x, OID_ENROLL_CERTTYPE));
	ASN1_OCTET_STRING *ti = ext_data(x, OID_CERTIFICATE_TEMPLATE);
	assert_non_null(ti);
	/* SEQUENCE { OID 1.3.6.1.4.1.311.21.8.1.2.3.4, INTEGER 100, INTEGER 4 } */
	const uint8_t want[] = {0x30, 0x15, 0x06, 0x0d, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x15, 0x08,
				0x01, 0x02, 0x03, 0x04, 0x02, 0x01, 0x64, 0x02, 0x01, 0x04};
	assert_int_equal(ASN1_STRING_length(ti), sizeof(want));
	assert_memory_equal(ASN1_STRING_get0_data(ti), want, sizeof(want));
	X509_free(x);
	ca_request_out_free(&out);

	/* pending: 5, "Taken Under Submission", no certificate; retrieval says the same */
	assert_int_equal(submit(ca, "CertificateTemplate:Pending", csr, len, "EXAMPLE\\erin", &out), CERR_OK);
	assert_int_equal(out.disposition, CR_DISP_UNDER_SUBMISSION);
	assert_int_equal(out.wire_disposition, 5);
	assert_string_equal(out.message, "Taken Under Submission");
	assert_null(out.cert);
	ca_request_in_t in = {.request_id = out.request_id, .requester = "EXAMPLE\\erin"};
	ca_request_out_free(&out);
	assert_int_equal(ca_submit(ca, &in, &out), CERR_OK);
	assert_int_equal(out.wire_disposition, 5);
	assert_string_equal(out.message, "Taken Under Submission");
	ca_request_out_free(&out);
	free(csr);
	ca_close(ca);
}

static uint8_t *cms_wrap(const uint8_t *content, size_t len, const char *econtent_oid, size_t *out_len)
{
	/* a throwaway signing certificate, as a renewal's old certificate */
	X509 *sc = X509_new();
	X509_set_version(sc, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(sc), 7);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(sc), "CN", MBSTRING_ASC, (const unsigned char *)"old", -1, -1, 0);
	X509_set_issuer_name(sc, X509_get_subject_name(sc));
	X509_gmtime_adj(X509_getm_notBefore(sc), 0);
	X509_gmtime_adj(X509_getm_notAfter(sc), 3600);
	X509_set_pubkey(sc, key2048);
	X509_sign(sc, key2048, EVP_sha256());
	BIO *in = BIO_new_mem_buf(content, (int)len);
	unsigned flags = CMS_BINARY | (econtent_oid ? CMS_PARTIAL : 0);
	CMS_ContentInfo *cms = CMS_sign(sc, key2048, NULL, in, flags);
	assert_non_null(cms);
	if (econtent_oid) {
		ASN1_OBJECT *o = OBJ_txt2obj(econtent_oid, 1);
		assert_int_equal(CMS_set1_eContentType(cms, o), 1);
		ASN1_OBJECT_free(o);
		BIO_free(in);
		in = BIO_new_mem_buf(content, (int)len);
		assert_int_equal(CMS_final(cms, in, NULL, CMS_BINARY), 1);
	}
	unsigned char *der = NULL;
	int n = i2d_CMS_ContentInfo(cms, &der);
	assert_true(n > 0);
	uint8_t *out = malloc((size_t)n);
	memcpy(out, der, (size_t)n);
	*out_len = (size_t)n;
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	X509_free(sc);
	return out;
}

static void test_pkcs7_and_cmc(void **state)
{
	(void)state;
	ca_config_t cfg = base_config();
	ca_t *ca = open_ca(&cfg);
	size_t len;
	uint8_t *csr = tu_make_csr(key2048, NULL, NULL, NULL, &len);
	ca_request_out_t out;

	size_t p7len;
	uint8_t *p7 = cms_wrap(csr, len, NULL, &p7len);
	ca_request_in_t in = {.flags = CR_IN_PKCS7, .attributes = "CertificateTemplate:User", .request = p7,
			      .request_len = p7len, .requester = "EXAMPLE\\frank"};
	assert_int_equal(ca_submit(ca, &in, &out), CERR_OK);
	assert_int_equal(out.disposition, CR_DISP_ISSUED);
	ca_request_out_free(&out);
	/* a tampered renewal signature is refused */
	p7[p7len - 3] ^= 0x40;
	assert_int_equal(ca_submit(ca, &in, &out), CERR_OK);
	assert_int_equal(out.hresult, 0x80090006u);
	ca_request_out_free(&out);
	free(p7);

	/* CMC: PKIData { {}, { [0] { INTEGER 1, CSR } }, {}, {} } */
	size_t n = 0;
	uint8_t *pk = malloc(len + 64);
	size_t tcr_len = 3 + len;
	pk[n++] = 0x30;
	size_t body = 2 + (4 + 4 + tcr_len) + 2 + 2;
	pk[n++] = 0x82;
	pk[n++] = (uint8_t)(body >> 8);
	pk[n++] = (uint8_t)body;
	pk[n++] = 0x30;
	pk[n++] = 0x00;
	pk[n++] = 0x30;
	pk[n++] = 0x82;
	pk[n++] = (uint8_t)((4 + tcr_len) >> 8);
	pk[n++] = (uint8_t)(4 + tcr_len);
	pk[n++] = 0xA0;
	pk[n++] = 0x82;
	pk[n++] = (uint8_t)(tcr_len >> 8);
	pk[n++] = (uint8_t)tcr_len;
	pk[n++] = 0x02;
	pk[n++] = 0x01;
	pk[n++] = 0x01;
	memcpy(pk + n, csr, len);
	n += len;
	pk[n++] = 0x30;
	pk[n++] = 0x00;
	pk[n++] = 0x30;
	pk[n++] = 0x00;
	size_t cmclen;
	uint8_t *cmc = cms_wrap(pk, n, OID_CMC_PKIDATA, &cmclen);
	in = (ca_request_in_t){.flags = CR_IN_FORMATANY, .attributes = "CertificateTemplate:User", .request = cmc,
			       .request_len = cmclen, .requester = "EXAMPLE\\frank"};
	assert_int_equal(ca_submit(ca, &in, &out), CERR_OK);
	assert_int_equal(out.disposition, CR_DISP_ISSUED);
	ca_request_out_free(&out);
	free(cmc);
	free(pk);

	/* unsupported request types */
	in = (ca_request_in_t){.flags = CR_IN_KEYGEN, .attributes = "CertificateTemplate:User", .request = csr,
			       .request_len = len, .requester = "EXAMPLE\\frank"};
	assert_int_equal(ca_submit(ca, &in, &out), CERR_OK);
	assert_int_equal(out.hresult, 0x80070057u);
	ca_request_out_free(&out);
	free(csr);
	ca_close(ca);
}

struct evcount {
	int received, issued, denied, pending;
	bool denied_named;
};

static bool count_events(const events_record_t *r, void *ud)
{
	struct evcount *c = ud;
	switch (r->id) {
	case EVENT_CS_REQUEST_RECEIVED: c->received++; break;
	case EVENT_CS_REQUEST_ISSUED: c->issued++; break;
	case EVENT_CS_REQUEST_DENIED: {
		c->denied++;
		const char *name = events_record_get(r, "HresultName");
		const char *hr = events_record_get(r, "Hresult");
		c->denied_named |= name && strcmp(name, "CERTSRV_E_UNSUPPORTED_CERT_TYPE") == 0 && hr &&
				   strcmp(hr, "0x80094800") == 0 && events_record_get(r, "Reason") &&
				   strcmp(events_record_get(r, "ClientAddress"), "192.0.2.10") == 0;
		break;
	}
	case EVENT_CS_REQUEST_PENDING: c->pending++; break;
	default: break;
	}
	assert_string_equal(r->log, "Security");
	assert_string_equal(r->source, "Microsoft Windows security auditing.");
	assert_non_null(events_record_get(r, "RequestId"));
	return true;
}

static ca_t *shared_ca;
static uint8_t *shared_csr;
static size_t shared_len;

static void *worker(void *arg)
{
	char who[32];
	snprintf(who, sizeof(who), "EXAMPLE\\user%d", (int)(intptr_t)arg);
	for (int i = 0; i < 5; i++) {
		ca_request_out_t out;
		if (submit(shared_ca, "CertificateTemplate:User", shared_csr, shared_len, who, &out) != CERR_OK ||
		    out.disposition != CR_DISP_ISSUED) {
			return (void *)1;
		}
		ca_request_out_free(&out);
	}
	return NULL;
}

static void test_events_and_threads(void **state)
{
	(void)state;
	ca_config_t cfg = base_config();
	shared_ca = open_ca(&cfg);
	shared_csr = tu_make_csr(key2048, NULL, NULL, NULL, &shared_len);
	pthread_t th[4];
	for (intptr_t i = 0; i < 4; i++) {
		pthread_create(&th[i], NULL, worker, (void *)i);
	}
	for (int i = 0; i < 4; i++) {
		void *ret;
		pthread_join(th[i], &ret);
		assert_null(ret);
	}
	ca_request_out_t out;
	assert_int_equal(submit(shared_ca, "CertificateTemplate:Nope", shared_csr, shared_len, "EXAMPLE\\x", &out),
			 CERR_OK);
	assert_int_equal(out.request_id, 21); /* 20 issued first, IDs from 1 */
	ca_request_out_free(&out);
	ca_close(shared_ca);
	free(shared_csr);

	struct evcount c = {0};
	size_t bad;
	assert_int_equal(events_read(evfile, count_events, &c, &bad), CERR_OK);
	assert_int_equal(bad, 0);
	assert_int_equal(c.received, 21);
	assert_int_equal(c.issued, 20);
	assert_int_equal(c.denied, 1);
	assert_true(c.denied_named);
}

static void test_sanitize(void **state)
{
	(void)state;
	char *s = ca_sanitize_name("Contoso CA #1, Inc.");
	assert_string_equal(s, "Contoso CA !00231!002c Inc.");
	free(s);
	s = ca_sanitize_name("caf\xc3\xa9");
	assert_string_equal(s, "caf!00e9");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ca_creation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_issue_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_denials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retrieval_and_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_san_attribute_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enrollee_subject_and_machine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v2_template_and_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pkcs7_and_cmc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_and_threads, setup, teardown),
		cmocka_unit_test(test_sanitize),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
