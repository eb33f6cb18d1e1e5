/*
 * request.c - see request.h. The outer shape (PKCS#10 vs CMS ContentInfo)
 * and the CMC PKIData body are walked with cur_t DER helpers; the
 * well-known structures themselves (CertificationRequest, CMS SignedData)
 * are decoded by OpenSSL, each on a TLV that cur_t has already bounded.
 */
#include "ca/request.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/asn1t.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/provider.h>
#include <openssl/x509v3.h>

#include "util/cursor.h"
#include "util/log.h"

/* ---- DER walking on cur_t (X.690 8.1: single-byte tags, definite lengths) ---- */

typedef enum { DER_OK, DER_BADTAG, DER_EOD } der_rc_t;

/* der_get reads one TLV: its tag, its contents as a child cursor and, if
 * tlv is non-NULL, the whole TLV as a cursor (to hand to a d2i). */
static der_rc_t der_get(cur_t *c, uint8_t *tag, cur_t *content, cur_t *tlv)
{
	cur_t start = *c, t = *c;
	uint8_t lb;
	if (!cur_get_u8(&t, tag)) {
		return DER_EOD;
	}
	if ((*tag & 0x1f) == 0x1f) {
		return DER_BADTAG; /* high tag numbers do not occur in these structures */
	}
	if (!cur_get_u8(&t, &lb)) {
		return DER_EOD;
	}
	size_t len = lb;
	if (lb & 0x80) {
		size_t n = lb & 0x7f;
		if (n == 0 || n > 4) {
			return DER_BADTAG; /* indefinite (BER) or absurd lengths */
		}
		len = 0;
		for (size_t i = 0; i < n; i++) {
			uint8_t b;
			if (!cur_get_u8(&t, &b)) {
				return DER_EOD;
			}
			len = (len << 8) | b;
		}
	}
	if (!cur_get_bytes(&t, content, len)) {
		return DER_EOD;
	}
	if (tlv) {
		cur_get_bytes(&start, tlv, cur_len(c) - cur_len(&t));
	}
	*c = t;
	return DER_OK;
}

static cerr_t der_err(der_rc_t r)
{
	return r == DER_EOD ? CERR_CRYPT_E_ASN1_EOD : CERR_CRYPT_E_ASN1_BADTAG;
}

/* ---- the public key, without OpenSSL 3's decoder framework ----
 * d2i_X509_REQ turns the SubjectPublicKeyInfo into an EVP_PKEY through
 * OSSL_DECODER, which assembles a decoder chain from every provider's
 * decoders on each call: 1.5M instructions, about half of an enrollment's
 * CPU with an ECDSA CA (bench/RESULTS.md). So the request is decoded in a
 * library context holding only the "null" provider, where that attempt
 * finds no decoder at once and leaves the key undecoded (OpenSSL keeps
 * parsing: the key is then opaque), and the key is imported from its
 * parameters - RSA modulus and exponent, EC named curve and point - with
 * EVP_PKEY_fromdata. Types other than RSA and EC are refused either way. */

static OSSL_LIB_CTX *no_decoders_ctx; /* process lifetime; NULL = use plain d2i */
static pthread_once_t no_decoders_once = PTHREAD_ONCE_INIT;

static void no_decoders_init(void)
{
	OSSL_LIB_CTX *ctx = OSSL_LIB_CTX_new();
	if (ctx && !OSSL_PROVIDER_load(ctx, "null")) {
		OSSL_LIB_CTX_free(ctx);
		ctx = NULL;
	}
	no_decoders_ctx = ctx;
	ERR_clear_error();
}

/* der_positive_int reads an INTEGER that must be > 0 (RFC 8017 A.1.1). */
static BIGNUM *der_positive_int(cur_t *c)
{
	uint8_t tag, b0;
	cur_t v;
	if (der_get(c, &tag, &v, NULL) != DER_OK || tag != 0x02 || cur_empty(&v)) {
		return NULL;
	}
	cur_t peek = v;
	if (!cur_get_u8(&peek, &b0) || (b0 & 0x80)) {
		return NULL;
	}
	return BN_bin2bn(cur_data(&v), (int)cur_len(&v), NULL);
}

/* spki_to_pkey imports an RSA or named-curve EC public key (RFC 3279
 * 2.3.1 / RFC 5480 2.1.1); NULL for other types or malformed keys. */
static EVP_PKEY *spki_to_pkey(const X509_PUBKEY *spki)
{
	ASN1_OBJECT *alg = NULL;
	const unsigned char *pk = NULL;
	int pk_len = 0;
	X509_ALGOR *algor = NULL;
	if (!X509_PUBKEY_get0_param(&alg, &pk, &pk_len, &algor, spki) || !algor || pk_len <= 0) {
		return NULL;
	}
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *n = NULL, *e = NULL;
	const char *type = NULL;
	bool ok = bld != NULL;
	int nid = OBJ_obj2nid(alg);
	if (ok && nid == NID_rsaEncryption) {
		type = "RSA";
		cur_t c, seq;
		uint8_t tag;
		cur_init(&c, pk, (size_t)pk_len);
		ok = der_get(&c, &tag, &seq, NULL) == DER_OK && tag == 0x30 && cur_empty(&c) &&
		     (n = der_positive_int(&seq)) != NULL && (e = der_positive_int(&seq)) != NULL && cur_empty(&seq) &&
		     OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
		     OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
	} else if (ok && nid == NID_X9_62_id_ecPublicKey) {
		type = "EC";
		int ptype = V_ASN1_UNDEF;
		const void *pval = NULL;
		X509_ALGOR_get0(NULL, &ptype, &pval, algor);
		const char *group = ptype == V_ASN1_OBJECT ? OBJ_nid2sn(OBJ_obj2nid(pval)) : NULL;
		ok = group && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
		     OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pk, (size_t)pk_len);
	} else {
		ok = false;
	}
	OSSL_PARAM *params = ok ? OSSL_PARAM_BLD_to_param(bld) : NULL;
	EVP_PKEY_CTX *ctx = params ? EVP_PKEY_CTX_new_from_name(NULL, type, NULL) : NULL;
	EVP_PKEY *pkey = NULL;
	if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	ERR_clear_error();
	return pkey;
}

/* d2i_req decodes a CertificationRequest from a TLV der_get has bounded
 * (so d2i cannot read past it, and one SEQUENCE fills it exactly). */
static X509_REQ *d2i_req(const cur_t *tlv)
{
	pthread_once(&no_decoders_once, no_decoders_init);
	const unsigned char *p = cur_data(tlv);
	X509_REQ *r = no_decoders_ctx ? (X509_REQ *)ASN1_item_d2i_ex(NULL, &p, (long)cur_len(tlv),
								      ASN1_ITEM_rptr(X509_REQ), no_decoders_ctx, NULL)
				      : d2i_X509_REQ(NULL, &p, (long)cur_len(tlv));
	ERR_clear_error();
	return r;
}

/* ---- extensions ---- */

static bool ext_is(X509_EXTENSION *ext, const char *oid)
{
	char buf[128];
	int n = OBJ_obj2txt(buf, sizeof(buf), X509_EXTENSION_get_object(ext), 1);
	return n > 0 && (size_t)n < sizeof(buf) && strcmp(buf, oid) == 0;
}

static bool get_small_uint(cur_t *c, uint32_t *out)
{
	uint8_t tag;
	cur_t v;
	if (der_get(c, &tag, &v, NULL) != DER_OK || tag != 0x02 || cur_len(&v) == 0 || cur_len(&v) > 5) {
		return false;
	}
	uint64_t x = 0;
	uint8_t b;
	bool first = true;
	while (cur_get_u8(&v, &b)) {
		if (first && (b & 0x80)) {
			return false; /* negative */
		}
		first = false;
		x = (x << 8) | b;
	}
	if (x > UINT32_MAX) {
		return false;
	}
	*out = (uint32_t)x;
	return true;
}

/* parse_template_exts reads the template hints a Windows client puts in the
 * extensionRequest: 1.3.6.1.4.1.311.20.2 (name) and .21.7 (OID, versions),
 * [MS-WCCE] 2.2.2.7.7.1 / 2.2.2.7.7.2. Malformed hints are ignored. */
static void parse_template_exts(ca_csr_t *csr)
{
	for (int i = 0; csr->exts && i < sk_X509_EXTENSION_num(csr->exts); i++) {
		X509_EXTENSION *ext = sk_X509_EXTENSION_value(csr->exts, i);
		ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(ext);
		if (ext_is(ext, OID_ENROLL_CERTTYPE) && !csr->template_name) {
			const unsigned char *p = ASN1_STRING_get0_data(os);
			ASN1_TYPE *at = d2i_ASN1_TYPE(NULL, &p, ASN1_STRING_length(os));
			if (at && (at->type == V_ASN1_BMPSTRING || at->type == V_ASN1_UTF8STRING ||
				   at->type == V_ASN1_PRINTABLESTRING || at->type == V_ASN1_IA5STRING)) {
				unsigned char *utf8 = NULL;
				int n = ASN1_STRING_to_UTF8(&utf8, at->value.asn1_string);
				if (n > 0 && n < 256 && !memchr(utf8, 0, (size_t)n)) {
					csr->template_name = strndup((const char *)utf8, (size_t)n);
				}
				OPENSSL_free(utf8);
			}
			ASN1_TYPE_free(at);
		} else if (ext_is(ext, OID_CERTIFICATE_TEMPLATE) && !csr->template_oid) {
			cur_t c, seq, oid_tlv, oid_v;
			uint8_t tag;
			cur_init(&c, ASN1_STRING_get0_data(os), (size_t)ASN1_STRING_length(os));
			if (der_get(&c, &tag, &seq, NULL) != DER_OK || tag != 0x30 ||
			    der_get(&seq, &tag, &oid_v, &oid_tlv) != DER_OK || tag != 0x06) {
				continue;
			}
			const unsigned char *p = cur_data(&oid_tlv);
			ASN1_OBJECT *obj = d2i_ASN1_OBJECT(NULL, &p, (long)cur_len(&oid_tlv));
			char buf[128];
			int n = obj ? OBJ_obj2txt(buf, sizeof(buf), obj, 1) : 0;
			ASN1_OBJECT_free(obj);
			if (n <= 0 || (size_t)n >= sizeof(buf)) {
				continue;
			}
			csr->template_oid = strdup(buf);
			if (!cur_empty(&seq)) {
				get_small_uint(&seq, &csr->template_major);
			}
			if (!cur_empty(&seq)) {
				get_small_uint(&seq, &csr->template_minor);
			}
		} else if (X509_EXTENSION_get_object(ext) && OBJ_obj2nid(X509_EXTENSION_get_object(ext)) ==
								     NID_subject_alt_name) {
			csr->has_san = true;
		}
	}
	ERR_clear_error();
}

/* ---- wrappers ---- */

/* decode_cmc finds the single TaggedCertificationRequest in a PKIData
 * (RFC 5272 3.2.1; the module uses IMPLICIT tags, so tcr [0] holds
 * bodyPartID INTEGER then the CertificationRequest). */
static cerr_t decode_cmc(const cur_t *pkidata, X509_REQ **out)
{
	cur_t c = *pkidata, body, ctrl, reqs, item;
	uint8_t tag;
	der_rc_t r;
	if ((r = der_get(&c, &tag, &body, NULL)) != DER_OK || tag != 0x30) {
		return r != DER_OK ? der_err(r) : CERR_CRYPT_E_ASN1_BADTAG;
	}
	if ((r = der_get(&body, &tag, &ctrl, NULL)) != DER_OK || tag != 0x30 ||
	    (r = der_get(&body, &tag, &reqs, NULL)) != DER_OK || tag != 0x30) {
		return r != DER_OK ? der_err(r) : CERR_CRYPT_E_ASN1_BADTAG;
	}
	if ((r = der_get(&reqs, &tag, &item, NULL)) != DER_OK) {
		return cur_empty(&reqs) ? CERR_CRYPT_E_INVALID_MSG_TYPE : der_err(r);
	}
	if (tag != 0xA0 || !cur_empty(&reqs)) {
		log_info("CMC request: only one TaggedCertificationRequest is supported (tag 0x%02x)", tag);
		return CERR_CRYPT_E_INVALID_MSG_TYPE;
	}
	cur_t id, csr_v, csr_tlv;
	if ((r = der_get(&item, &tag, &id, NULL)) != DER_OK || tag != 0x02 ||
	    (r = der_get(&item, &tag, &csr_v, &csr_tlv)) != DER_OK || tag != 0x30 || !cur_empty(&item)) {
		return r != DER_OK ? der_err(r) : CERR_CRYPT_E_ASN1_BADTAG;
	}
	*out = d2i_req(&csr_tlv);
	return *out ? CERR_OK : CERR_CRYPT_E_ASN1_BADTAG;
}

static cerr_t decode_cms(const cur_t *tlv, ca_csr_t *csr)
{
	const unsigned char *p = cur_data(tlv);
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)cur_len(tlv));
	cerr_t rc = CERR_CRYPT_E_INVALID_MSG_TYPE;
	if (!cms) {
		rc = CERR_CRYPT_E_ASN1_BADTAG;
		goto out;
	}
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		goto out;
	}
	ASN1_OCTET_STRING **content = CMS_get0_content(cms);
	if (!content || !*content) {
		goto out;
	}
	cur_t inner;
	cur_init(&inner, ASN1_STRING_get0_data(*content), (size_t)ASN1_STRING_length(*content));
	char ctype[64];
	int n = OBJ_obj2txt(ctype, sizeof(ctype), CMS_get0_eContentType(cms), 1);
	if (n > 0 && strcmp(ctype, OID_CMC_PKIDATA) == 0) {
		/* CMC: the outer signature is made with the requested key (or an
		 * enrollment agent's); we rely on the inner PKCS#10 signature. */
		csr->format = CR_IN_CMC;
		rc = decode_cmc(&inner, &csr->req);
		goto out;
	}
	if (OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data) {
		goto out;
	}
	/* PKCS#7 renewal: content is a PKCS#10, signed with the old certificate */
	csr->format = CR_IN_PKCS7;
	uint8_t tag;
	cur_t v, csr_tlv;
	der_rc_t r = der_get(&inner, &tag, &v, &csr_tlv);
	if (r != DER_OK || tag != 0x30 || !cur_empty(&inner)) {
		rc = r != DER_OK ? der_err(r) : CERR_CRYPT_E_ASN1_BADTAG;
		goto out;
	}
	if (!(csr->req = d2i_req(&csr_tlv))) {
		rc = CERR_CRYPT_E_ASN1_BADTAG;
		goto out;
	}
	/* integrity of the CMS signature with the certificate it carries; the
	 * chain to this CA is not checked here (see request.h) */
	if (CMS_verify(cms, NULL, NULL, NULL, NULL, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) != 1) {
		rc = CERR_NTE_BAD_SIGNATURE;
		goto out;
	}
	STACK_OF(X509) *signers = CMS_get0_signers(cms);
	if (signers && sk_X509_num(signers) > 0) {
		csr->renewal_cert = sk_X509_value(signers, 0);
		X509_up_ref(csr->renewal_cert);
	}
	sk_X509_free(signers);
	rc = CERR_OK;
out:
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	return rc;
}

void request_free(ca_csr_t *csr)
{
	if (!csr) {
		return;
	}
	X509_REQ_free(csr->req);
	EVP_PKEY_free(csr->pkey);
	X509_free(csr->renewal_cert);
	sk_X509_EXTENSION_pop_free(csr->exts, X509_EXTENSION_free);
	free(csr->template_name);
	free(csr->template_oid);
	free(csr);
}

cerr_t request_decode(uint32_t flags, const uint8_t *der, size_t len, ca_csr_t **out)
{
	*out = NULL;
	uint32_t type = flags & CR_IN_FORMATMASK;
	if (len == 0 || !der) {
		return CERR_E_INVALIDARG;
	}
	if (len > REQUEST_MAX_DER) {
		return CERR_CRYPT_E_ASN1_EOD; /* treated as undecodable, like an oversize blob */
	}
	if (type != CR_IN_FORMATANY && type != CR_IN_PKCS10 && type != CR_IN_PKCS7 && type != CR_IN_CMC) {
		log_info("request type 0x%x is not supported", type);
		return CERR_E_INVALIDARG;
	}
	ca_csr_t *csr = calloc(1, sizeof(*csr));
	if (!csr) {
		return CERR_NOMEM;
	}
	cur_t c, body, tlv;
	uint8_t tag;
	cerr_t rc;
	cur_init(&c, der, len);
	/* both shapes start with a SEQUENCE: anything else is a bad tag
	 * before it is a bad length (what CryptDecodeObject reports) */
	cur_t peek_c = c;
	if (!cur_get_u8(&peek_c, &tag) || tag != 0x30) {
		rc = CERR_CRYPT_E_ASN1_BADTAG;
		goto fail;
	}
	der_rc_t r = der_get(&c, &tag, &body, &tlv);
	if (r != DER_OK || tag != 0x30 || !cur_empty(&c)) {
		rc = r != DER_OK ? der_err(r) : CERR_CRYPT_E_ASN1_BADTAG;
		goto fail;
	}
	/* detect: a ContentInfo starts with its contentType OID, a
	 * CertificationRequest with the CertificationRequestInfo SEQUENCE */
	cur_t first_v;
	uint8_t first_tag;
	if ((r = der_get(&body, &first_tag, &first_v, NULL)) != DER_OK) {
		rc = der_err(r);
		goto fail;
	}
	if (first_tag == 0x06) {
		rc = decode_cms(&tlv, csr);
	} else if (first_tag == 0x30) {
		csr->format = CR_IN_PKCS10;
		csr->req = d2i_req(&tlv);
		rc = csr->req ? CERR_OK : CERR_CRYPT_E_ASN1_BADTAG;
	} else {
		rc = CERR_CRYPT_E_ASN1_BADTAG;
	}
	if (rc != CERR_OK) {
		goto fail;
	}
	EVP_PKEY *pk = csr->pkey = spki_to_pkey(X509_REQ_get_X509_PUBKEY(csr->req));
	if (!pk) {
		rc = CERR_NTE_BAD_ALGID;
		goto fail;
	}
	csr->key_type = EVP_PKEY_get_base_id(pk);
	csr->key_bits = EVP_PKEY_get_bits(pk);
	if (csr->key_type != EVP_PKEY_RSA && csr->key_type != EVP_PKEY_EC) {
		rc = CERR_NTE_BAD_ALGID;
		goto fail;
	}
	/* the default library context, not the request's (which has no algorithms) */
	if (X509_REQ_verify_ex(csr->req, pk, NULL, NULL) != 1) {
		rc = CERR_NTE_BAD_SIGNATURE;
		goto fail;
	}
	csr->has_subject = X509_NAME_entry_count(X509_REQ_get_subject_name(csr->req)) > 0;
	csr->exts = X509_REQ_get_extensions(csr->req);
	parse_template_exts(csr);
	ERR_clear_error();
	*out = csr;
	return CERR_OK;
fail:
	ERR_clear_error();
	request_free(csr);
	return rc;
}

cerr_t request_check_key(const ca_csr_t *csr, const ca_template_t *t)
{
	if (csr->key_type != EVP_PKEY_RSA && csr->key_type != EVP_PKEY_EC) {
		return CERR_NTE_BAD_ALGID;
	}
	if (t->min_key_size && (uint32_t)csr->key_bits < t->min_key_size) {
		return CERR_CERTSRV_E_KEY_LENGTH;
	}
	return CERR_OK;
}
