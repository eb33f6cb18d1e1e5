/*
 * issue.c - see issue.h. Standard extensions go through OpenSSL's typed
 * structures; the Microsoft ones (template name/info, application
 * policies, CA version) are DER-encoded here through buf_t, since OpenSSL
 * has no types for them.
 */
#include "ca/issue.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>

#include "ca/request.h"
#include "util/cursor.h"
#include "util/log.h"

/* ---- DER building on buf_t (buf_put_der_tlv) ---- */

/* der_put_oid appends the DER OBJECT IDENTIFIER for dotted text. */
static bool der_put_oid(buf_t *b, const char *oid)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	unsigned char *der = NULL;
	int n = obj ? i2d_ASN1_OBJECT(obj, &der) : -1;
	ASN1_OBJECT_free(obj);
	if (n <= 0) {
		return false;
	}
	buf_put_bytes(b, der, (size_t)n);
	OPENSSL_free(der);
	return true;
}

static void der_put_uint(buf_t *b, uint32_t v)
{
	uint8_t bytes[5];
	size_t n = 0;
	bytes[n++] = 0; /* sign byte, dropped below when not needed */
	bool started = false;
	for (int shift = 24; shift >= 0; shift -= 8) {
		uint8_t x = (uint8_t)(v >> shift);
		if (x || started || shift == 0) {
			bytes[n++] = x;
			started = true;
		}
	}
	/* keep the leading 0 only if the first value byte has its top bit set */
	if (bytes[1] & 0x80) {
		buf_put_der_tlv(b, 0x02, bytes, n);
	} else {
		buf_put_der_tlv(b, 0x02, bytes + 1, n - 1);
	}
}

/* add_raw_ext adds an extension whose DER value is in b. */
static bool add_raw_ext(X509 *x, const char *oid, int crit, buf_t *b)
{
	bool ok = false;
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;
	if (buf_ok(b) && obj && os && ASN1_OCTET_STRING_set(os, b->data, (int)b->len) &&
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, crit, os)) != NULL && X509_add_ext(x, ext, -1)) {
		ok = true;
	}
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
	buf_free(b);
	return ok;
}

/* ---- Microsoft extensions ---- */

/* template_ext: V1 templates get szOID_ENROLL_CERTTYPE_EXTENSION, a
 * BMPString of the template name; V2+ get szOID_CERTIFICATE_TEMPLATE,
 * SEQUENCE { templateID, majorVersion = revision, minorVersion }
 * ([MS-WCCE] 2.2.2.7.7.1 and 2.2.2.7.7.2). */
static bool add_template_ext(X509 *x, const ca_template_t *t)
{
	buf_t b;
	buf_init(&b, 4096);
	if (t->schema_version >= 2 && t->oid) {
		buf_t in;
		buf_init(&in, 4096);
		bool ok = der_put_oid(&in, t->oid);
		der_put_uint(&in, t->revision);
		der_put_uint(&in, t->minor_revision);
		if (ok && buf_ok(&in)) {
			buf_put_der_tlv(&b, 0x30, in.data, in.len);
		} else {
			b.err = true;
		}
		buf_free(&in);
		return add_raw_ext(x, OID_CERTIFICATE_TEMPLATE, 0, &b);
	}
	ASN1_STRING *bmp = NULL;
	if (ASN1_mbstring_copy(&bmp, (const unsigned char *)t->cn, -1, MBSTRING_UTF8, B_ASN1_BMPSTRING) < 0) {
		buf_free(&b);
		return false;
	}
	buf_put_der_tlv(&b, 0x1E, ASN1_STRING_get0_data(bmp), (size_t)ASN1_STRING_length(bmp));
	ASN1_STRING_free(bmp);
	return add_raw_ext(x, OID_ENROLL_CERTTYPE, 0, &b);
}

/* Application Policies: SEQUENCE OF PolicyInformation-like SEQUENCE { OID }. */
static bool add_app_policies_ext(X509 *x, char *const *oids, size_t n)
{
	buf_t in, b;
	buf_init(&in, 65536);
	buf_init(&b, 65536);
	bool ok = true;
	for (size_t i = 0; i < n && ok; i++) {
		buf_t one;
		buf_init(&one, 1024);
		ok = der_put_oid(&one, oids[i]) && buf_ok(&one);
		if (ok) {
			buf_put_der_tlv(&in, 0x30, one.data, one.len);
		}
		buf_free(&one);
	}
	if (ok && buf_ok(&in)) {
		buf_put_der_tlv(&b, 0x30, in.data, in.len);
	} else {
		b.err = true;
	}
	buf_free(&in);
	return add_raw_ext(x, OID_APPLICATION_POLICIES, 0, &b);
}

static bool add_ca_version_ext(X509 *x)
{
	buf_t b;
	buf_init(&b, 16);
	der_put_uint(&b, 0); /* CA version 0.0: first key, first certificate */
	return add_raw_ext(x, OID_CERTSRV_CA_VERSION, 0, &b);
}

/* ---- standard extensions ---- */

static bool add_i2d(X509 *x, int nid, void *value, int crit)
{
	return X509_add1_ext_i2d(x, nid, value, crit, X509V3_ADD_DEFAULT) == 1;
}

static bool add_key_ids(X509 *x, X509 *issuer, bool aki)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	X509_EXTENSION *ski = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier, "hash");
	bool ok = ski && X509_add_ext(x, ski, -1);
	X509_EXTENSION_free(ski);
	if (ok && aki) {
		X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
		ok = e && X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	return ok;
}

static GENERAL_NAME *uri_name(const char *url)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();
	if (!gn || !s || !ASN1_STRING_set(s, url, -1)) {
		GENERAL_NAME_free(gn);
		ASN1_IA5STRING_free(s);
		return NULL;
	}
	GENERAL_NAME_set0_value(gn, GEN_URI, s);
	return gn;
}

static bool add_aia(X509 *x, const char *url)
{
	AUTHORITY_INFO_ACCESS *aia = AUTHORITY_INFO_ACCESS_new();
	ACCESS_DESCRIPTION *ad = ACCESS_DESCRIPTION_new();
	bool ok = false;
	if (aia && ad) {
		ASN1_OBJECT_free(ad->method);
		ad->method = OBJ_nid2obj(NID_ad_ca_issuers);
		GENERAL_NAME_free(ad->location);
		ad->location = uri_name(url);
		if (ad->location && sk_ACCESS_DESCRIPTION_push(aia, ad)) {
			ad = NULL;
			ok = add_i2d(x, NID_info_access, aia, 0);
		}
	}
	ACCESS_DESCRIPTION_free(ad);
	AUTHORITY_INFO_ACCESS_free(aia);
	return ok;
}

static bool add_cdp(X509 *x, const char *url)
{
	CRL_DIST_POINTS *cdp = sk_DIST_POINT_new_null();
	DIST_POINT *dp = DIST_POINT_new();
	bool ok = false;
	if (cdp && dp && (dp->distpoint = DIST_POINT_NAME_new()) != NULL) {
		dp->distpoint->type = 0; /* fullName */
		dp->distpoint->name.fullname = GENERAL_NAMES_new();
		GENERAL_NAME *gn = uri_name(url);
		if (dp->distpoint->name.fullname && gn && sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn)) {
			gn = NULL;
			if (sk_DIST_POINT_push(cdp, dp)) {
				dp = NULL;
				ok = add_i2d(x, NID_crl_distribution_points, cdp, 0);
			}
		}
		GENERAL_NAME_free(gn);
	}
	DIST_POINT_free(dp);
	sk_DIST_POINT_pop_free(cdp, DIST_POINT_free);
	return ok;
}

/* add_sid_ext: szOID_NTDS_CA_SECURITY_EXT (KB5014754), GeneralNames with one
 * otherName 1.3.6.1.4.1.311.25.2.1 whose value is the SID string as an
 * OCTET STRING. */
static bool add_sid_ext(X509 *x, const char *sid)
{
	GENERAL_NAMES *gns = GENERAL_NAMES_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_TYPE *val = ASN1_TYPE_new();
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	ASN1_OBJECT *oid = OBJ_txt2obj(OID_NTDS_OBJECTSID, 1);
	bool ok = false;
	if (gns && gn && val && os && oid && ASN1_OCTET_STRING_set(os, (const unsigned char *)sid, (int)strlen(sid))) {
		ASN1_TYPE_set(val, V_ASN1_OCTET_STRING, os);
		os = NULL;
		if (GENERAL_NAME_set0_othername(gn, oid, val)) {
			oid = NULL;
			val = NULL;
			if (sk_GENERAL_NAME_push(gns, gn)) {
				gn = NULL;
				unsigned char *der = NULL;
				int n = i2d_GENERAL_NAMES(gns, &der);
				if (n > 0) {
					buf_t b;
					buf_init(&b, (size_t)n + 1);
					buf_put_bytes(&b, der, (size_t)n);
					ok = add_raw_ext(x, OID_NTDS_CA_SECURITY_EXT, 0, &b);
				}
				OPENSSL_free(der);
			}
		}
	}
	ASN1_OBJECT_free(oid);
	ASN1_OCTET_STRING_free(os);
	ASN1_TYPE_free(val);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(gns);
	return ok;
}

static bool add_key_usage(X509 *x, const uint8_t ku[2], size_t ku_len, int key_type, int crit)
{
	uint8_t b0 = ku_len > 0 ? ku[0] : 0, b1 = ku_len > 1 ? ku[1] : 0;
	if (key_type == EVP_PKEY_EC) {
		/* RSA-only usages make no sense for an EC key; AD CS templates are
		 * RSA-shaped, so keep signing and offer key agreement instead */
		if (b0 & (TPL_KU_KEY_ENCIPHERMENT | TPL_KU_DATA_ENCIPHERMENT)) {
			b0 = (uint8_t)((b0 & ~(TPL_KU_KEY_ENCIPHERMENT | TPL_KU_DATA_ENCIPHERMENT)) | TPL_KU_KEY_AGREEMENT);
		}
	}
	if (!b0 && !b1) {
		return true;
	}
	ASN1_BIT_STRING *bs = ASN1_BIT_STRING_new();
	bool ok = bs != NULL;
	for (int i = 0; ok && i < 8; i++) {
		if (b0 & (0x80u >> i)) {
			ok = ASN1_BIT_STRING_set_bit(bs, i, 1);
		}
	}
	if (ok && (b1 & 0x80)) {
		ok = ASN1_BIT_STRING_set_bit(bs, 8, 1); /* decipherOnly */
	}
	ok = ok && add_i2d(x, NID_key_usage, bs, crit);
	ASN1_BIT_STRING_free(bs);
	return ok;
}

static bool add_eku(X509 *x, char *const *oids, size_t n, int crit)
{
	EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
	bool ok = eku != NULL;
	for (size_t i = 0; ok && i < n; i++) {
		ASN1_OBJECT *o = OBJ_txt2obj(oids[i], 1);
		ok = o && sk_ASN1_OBJECT_push(eku, o);
		if (!ok) {
			ASN1_OBJECT_free(o);
		}
	}
	ok = ok && add_i2d(x, NID_ext_key_usage, eku, crit);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	return ok;
}

static bool add_basic_constraints(X509 *x, bool ca, int32_t depth, int crit)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	bool ok = bc != NULL;
	if (ok) {
		bc->ca = ca ? 0xff : 0;
		if (ca && depth >= 0) {
			bc->pathlen = ASN1_INTEGER_new();
			ok = bc->pathlen && ASN1_INTEGER_set(bc->pathlen, depth);
		}
	}
	ok = ok && add_i2d(x, NID_basic_constraints, bc, crit);
	BASIC_CONSTRAINTS_free(bc);
	return ok;
}

/* ---- serials and validity ---- */

static bool set_random_serial(X509 *x, size_t len, char *hex_out)
{
	uint8_t s[ISSUE_SERIAL_LEN];
	if (len > sizeof(s) || RAND_bytes(s, (int)len) != 1) {
		return false;
	}
	/* positive (RFC 5280 4.1.2.2) and exactly len bytes long in DER */
	s[0] &= 0x7f;
	if (s[0] == 0) {
		s[0] = 0x01;
	}
	BIGNUM *bn = BN_bin2bn(s, (int)len, NULL);
	ASN1_INTEGER *ai = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
	bool ok = ai && X509_set_serialNumber(x, ai);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	if (ok && hex_out) {
		static const char hx[] = "0123456789abcdef";
		for (size_t i = 0; i < len; i++) {
			hex_out[2 * i] = hx[s[i] >> 4];
			hex_out[2 * i + 1] = hx[s[i] & 15];
		}
		hex_out[2 * len] = 0;
	}
	return ok;
}

static bool asn1_time_to_time_t(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;
	if (ASN1_TIME_to_tm(t, &tm) != 1) {
		return false;
	}
	*out = timegm(&tm);
	return true;
}

/* copy_spki puts the request's SubjectPublicKeyInfo into x field by field.
 * X509_set_pubkey would re-encode the EVP_PKEY through OpenSSL 3's encoder
 * and then decode the result again, which cost more than half of an
 * enrollment's CPU with an ECDSA CA (bench/RESULTS.md); the bytes are the
 * same. x's key then has no cached EVP_PKEY (X509_get0_pubkey(x) is NULL),
 * which nothing here needs: the SKI hashes the bit string. */
static bool copy_spki(X509 *x, const X509_PUBKEY *from)
{
	ASN1_OBJECT *alg_oid = NULL;
	const unsigned char *pk = NULL;
	int pk_len = 0;
	X509_ALGOR *alg = NULL;
	if (!X509_PUBKEY_get0_param(&alg_oid, &pk, &pk_len, &alg, from) || !alg || pk_len < 0) {
		return false;
	}
	const ASN1_OBJECT *aobj = NULL;
	int ptype = V_ASN1_UNDEF;
	const void *pval = NULL;
	X509_ALGOR_get0(&aobj, &ptype, &pval, alg);
	ASN1_OBJECT *oid = OBJ_dup(aobj);
	void *param = NULL;
	if (ptype == V_ASN1_OBJECT) {
		param = OBJ_dup(pval); /* EC named curve */
	} else if (ptype != V_ASN1_UNDEF && ptype != V_ASN1_NULL) {
		param = ASN1_STRING_dup(pval); /* explicit parameters (a SEQUENCE) */
	}
	unsigned char *bits = pk_len ? OPENSSL_memdup(pk, (size_t)pk_len) : NULL;
	bool have_param = ptype == V_ASN1_UNDEF || ptype == V_ASN1_NULL || param != NULL;
	if (!oid || !have_param || (pk_len && !bits)) {
		ASN1_OBJECT_free(oid);
		if (ptype == V_ASN1_OBJECT) {
			ASN1_OBJECT_free(param);
		} else {
			ASN1_STRING_free(param);
		}
		OPENSSL_free(bits);
		return false;
	}
	/* takes ownership; fails only when out of memory, part-way, so nothing
	 * is freed here then (a leak beats a double free) */
	return X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), oid, ptype, param, bits, pk_len) == 1;
}

/* ---- public ---- */

cerr_t issue_certificate(const issue_params_t *p, X509 **out, char serial_hex[ISSUE_SERIAL_HEX_LEN])
{
	*out = NULL;
	const ca_template_t *t = p->tmpl;
	X509 *x = X509_new();
	cerr_t rc = CERR_CRYPTO;
	if (!x) {
		return CERR_NOMEM;
	}
	time_t not_after = p->now + (time_t)t->validity_seconds;
	time_t ca_not_after;
	if (asn1_time_to_time_t(X509_get0_notAfter(p->ca_cert), &ca_not_after) && not_after > ca_not_after) {
		not_after = ca_not_after; /* never outlive the issuer (AD CS does the same) */
	}
	int key_type = EVP_PKEY_get_base_id(p->subject_key);
	time_t now = p->now;
	bool is_ca = (t->flags & CT_FLAG_IS_CA) != 0;
	bool ok = X509_set_version(x, X509_VERSION_3) && set_random_serial(x, ISSUE_SERIAL_LEN, serial_hex) &&
		  X509_set_issuer_name(x, X509_get_subject_name(p->ca_cert)) &&
		  X509_set_subject_name(x, p->subject) &&
		  X509_time_adj_ex(X509_getm_notBefore(x), 0, -ISSUE_CLOCK_SKEW_SECONDS, &now) &&
		  ASN1_TIME_set(X509_getm_notAfter(x), not_after) &&
		  (p->subject_spki ? copy_spki(x, p->subject_spki) : X509_set_pubkey(x, p->subject_key));
	ok = ok && add_key_ids(x, p->ca_cert, true);
	ok = ok && add_template_ext(x, t);
	if (ok && is_ca) {
		ok = add_basic_constraints(x, true, t->max_issuing_depth, template_is_critical(t, "2.5.29.19"));
	}
	if (ok && t->key_usage_len) {
		ok = add_key_usage(x, t->key_usage, t->key_usage_len, key_type, template_is_critical(t, "2.5.29.15"));
	}
	if (ok && t->num_ekus) {
		ok = add_eku(x, t->ekus, t->num_ekus, template_is_critical(t, "2.5.29.37"));
	}
	/* Application Policies mirror the EKUs (V2+ templates may list their own) */
	if (ok && (t->num_app_policies || t->num_ekus)) {
		ok = t->num_app_policies ? add_app_policies_ext(x, t->app_policies, t->num_app_policies)
					 : add_app_policies_ext(x, t->ekus, t->num_ekus);
	}
	if (ok && p->san && sk_GENERAL_NAME_num(p->san) > 0) {
		/* RFC 5280 4.2.1.6: critical when the subject is empty */
		bool crit = X509_NAME_entry_count(p->subject) == 0 || template_is_critical(t, "2.5.29.17");
		ok = add_i2d(x, NID_subject_alt_name, p->san, crit);
	}
	if (ok && p->cdp_url && *p->cdp_url) {
		ok = add_cdp(x, p->cdp_url);
	}
	if (ok && p->aia_url && *p->aia_url) {
		ok = add_aia(x, p->aia_url);
	}
	if (ok && p->sid && *p->sid && !(t->enrollment_flags & CT_FLAG_NO_SECURITY_EXTENSION)) {
		ok = add_sid_ext(x, p->sid);
	}
	if (!ok) {
		log_error("building certificate for template %s failed", t->cn);
		goto out;
	}
	if ((rc = signer_sign_x509(p->signer, x)) != CERR_OK) {
		goto out;
	}
	*out = x;
	x = NULL;
	rc = CERR_OK;
out:
	X509_free(x);
	ERR_clear_error();
	return rc;
}

cerr_t issue_der(X509 *x, uint8_t **der, size_t *der_len)
{
	unsigned char *d = NULL;
	int n = i2d_X509(x, &d);
	if (n <= 0) {
		return CERR_CRYPTO;
	}
	*der = malloc((size_t)n);
	if (!*der) {
		OPENSSL_free(d);
		return CERR_NOMEM;
	}
	memcpy(*der, d, (size_t)n);
	*der_len = (size_t)n;
	OPENSSL_free(d);
	return CERR_OK;
}

cerr_t issue_chain_pkcs7_der(const uint8_t *leaf, size_t leaf_len, const uint8_t *ca, size_t ca_len, uint8_t **der,
			     size_t *der_len)
{
	/* Written with buf_t from the certificates' DER, as i2d_PKCS7 would
	 * lay it out but without decoding and re-encoding both certificates on
	 * every enrollment (~150k instructions). RFC 2315 9.1 / RFC 5652 5.1:
	 * ContentInfo { signedData, [0] SignedData { version 1,
	 * digestAlgorithms {}, contentInfo { data } (no eContent, [MS-WCCE]
	 * 3.2.1.4.2.1.4.8), certificates [0] IMPLICIT (leaf, CA, in that
	 * order), signerInfos {} } } */
	static const uint8_t oid_signed[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02};
	static const uint8_t version_digests_content[] = {0x02, 0x01, 0x01, 0x31, 0x00, 0x30, 0x0b, 0x06, 0x09, 0x2a,
							  0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01};
	static const uint8_t no_signers[] = {0x31, 0x00};
	*der = NULL;
	*der_len = 0;
	size_t certs_len = (leaf ? leaf_len : 0) + ca_len;
	buf_t certs, sd, out;
	buf_init(&certs, 0);
	buf_init(&sd, 0);
	buf_init(&out, 0);
	if (leaf) {
		buf_put_bytes(&certs, leaf, leaf_len);
	}
	buf_put_bytes(&certs, ca, ca_len);
	buf_put_bytes(&sd, version_digests_content, sizeof(version_digests_content));
	buf_put_der_tlv(&sd, 0xa0, certs.data, certs_len);
	buf_put_bytes(&sd, no_signers, sizeof(no_signers));
	buf_t sd_tlv, body;
	buf_init(&sd_tlv, 0);
	buf_init(&body, 0);
	buf_put_der_tlv(&sd_tlv, 0x30, sd.data, sd.len);
	buf_put_bytes(&body, oid_signed, sizeof(oid_signed));
	buf_put_der_tlv(&body, 0xa0, sd_tlv.data, sd_tlv.len);
	buf_put_der_tlv(&out, 0x30, body.data, body.len);
	cerr_t rc = buf_ok(&certs) && buf_ok(&sd) && buf_ok(&sd_tlv) && buf_ok(&body) && buf_ok(&out) ? CERR_OK
													: CERR_NOMEM;
	if (rc == CERR_OK) {
		*der = buf_take(&out, der_len);
		rc = *der ? CERR_OK : CERR_NOMEM;
	}
	buf_free(&certs);
	buf_free(&sd);
	buf_free(&sd_tlv);
	buf_free(&body);
	buf_free(&out);
	return rc;
}

cerr_t issue_chain_pkcs7(X509 *leaf, X509 *ca, uint8_t **der, size_t *der_len)
{
	uint8_t *leaf_der = NULL, *ca_der = NULL;
	size_t leaf_len = 0, ca_len = 0;
	*der = NULL;
	*der_len = 0;
	cerr_t rc = leaf ? issue_der(leaf, &leaf_der, &leaf_len) : CERR_OK;
	if (rc == CERR_OK) {
		rc = issue_der(ca, &ca_der, &ca_len);
	}
	if (rc == CERR_OK) {
		rc = issue_chain_pkcs7_der(leaf_der, leaf_len, ca_der, ca_len, der, der_len);
	}
	free(leaf_der);
	free(ca_der);
	return rc;
}

/* add_dn_rdns appends the RDNs of an RFC 4514 string ("DC=example,DC=com")
 * most-significant first, i.e. in reverse of the written order. Escapes
 * are not supported: values may not contain ',' '+' or '='. */
static bool add_dn_rdns(X509_NAME *name, const char *dn)
{
	char *copy = strdup(dn);
	if (!copy) {
		return false;
	}
	char *parts[32];
	size_t n = 0;
	char *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == sizeof(parts) / sizeof(parts[0])) {
			free(copy);
			return false;
		}
		parts[n++] = tok;
	}
	bool ok = n > 0;
	for (size_t i = n; ok && i-- > 0;) {
		char *kv = parts[i];
		while (*kv == ' ') {
			kv++;
		}
		char *eq = strchr(kv, '=');
		if (!eq || eq == kv || !eq[1] || strchr(eq + 1, '=') || strchr(kv, '+')) {
			ok = false;
			break;
		}
		*eq = 0;
		ok = X509_NAME_add_entry_by_txt(name, kv, MBSTRING_UTF8, (const unsigned char *)eq + 1, -1, -1, 0) == 1;
	}
	free(copy);
	return ok;
}

cerr_t issue_ca_certificate(signer_t *s, const char *cn, const char *extra_dn, unsigned years, time_t now,
			    X509 **out)
{
	*out = NULL;
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	cerr_t rc = CERR_CRYPTO;
	if (!x || !name) {
		rc = CERR_NOMEM;
		goto out;
	}
	if (extra_dn && *extra_dn && !add_dn_rdns(name, extra_dn)) {
		log_error("cannot parse the CA's extra DN \"%s\" (expected \"DC=example,DC=com\")", extra_dn);
		rc = CERR_CONFIG;
		goto out;
	}
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0)) {
		rc = CERR_CONFIG;
		goto out;
	}
	long days = (long)years * 365 + (long)years / 4;
	bool ok = X509_set_version(x, X509_VERSION_3) && set_random_serial(x, 16, NULL) &&
		  X509_set_issuer_name(x, name) && X509_set_subject_name(x, name) &&
		  X509_time_adj_ex(X509_getm_notBefore(x), 0, -ISSUE_CLOCK_SKEW_SECONDS, &now) &&
		  X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, &now) &&
		  X509_set_pubkey(x, signer_get0_public(s));
	const uint8_t ku[2] = {TPL_KU_DIGITAL_SIGNATURE | TPL_KU_KEY_CERT_SIGN | TPL_KU_CRL_SIGN, 0};
	ok = ok && add_key_usage(x, ku, 2, EVP_PKEY_RSA, 1);
	ok = ok && add_basic_constraints(x, true, -1, 1);
	ok = ok && add_key_ids(x, x, false);
	ok = ok && add_ca_version_ext(x);
	if (!ok) {
		goto out;
	}
	if ((rc = signer_sign_x509(s, x)) != CERR_OK) {
		goto out;
	}
	*out = x;
	x = NULL;
	rc = CERR_OK;
out:
	X509_NAME_free(name);
	X509_free(x);
	ERR_clear_error();
	return rc;
}
