/*
 * request.h - decoding the request blob of CertServerRequest / Request2
 * ([MS-WCCE] 2.2.2.6): a PKCS#10 CertificationRequest (RFC 2986), a CMS
 * SignedData carrying one (PKCS#7 renewal), or a CMC PKIData (RFC 5272)
 * carrying one as a TaggedCertificationRequest. Whatever the wrapper, the
 * result is the inner PKCS#10 plus what the policy needs from it (template
 * extensions, requested SAN, key facts). Failures are HRESULT-space cerr_t
 * codes, the values Windows returns for the same input, so the caller can
 * put cerr_value(rc) on the wire.
 *
 * Not supported (documented limits): CR_IN_KEYGEN (0x200), challenge
 * responses (0x500), CMC with several requests or CRMF (CertReqMsg) bodies,
 * CMC/renewal outer signatures beyond an integrity check, base64 request
 * text (callers pass DER).
 */
#ifndef CERTA_CA_REQUEST_H
#define CERTA_CA_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "ca/template.h"
#include "util/err.h"

/* dwFlags request type (certcli.h; [MS-WCCE] 3.2.1.4.3.1.1) */
#define CR_IN_FORMATANY 0x00000000u
#define CR_IN_PKCS10 0x00000100u
#define CR_IN_KEYGEN 0x00000200u
#define CR_IN_PKCS7 0x00000300u
#define CR_IN_CMC 0x00000400u
#define CR_IN_FORMATMASK 0x0000ff00u

#define REQUEST_MAX_DER (64u * 1024u) /* a CSR or CMC wrapper is a few KiB */

/* OIDs carried in requests and certificates */
#define OID_ENROLL_CERTTYPE "1.3.6.1.4.1.311.20.2"     /* V1 template name, BMPString */
#define OID_CERTIFICATE_TEMPLATE "1.3.6.1.4.1.311.21.7" /* V2+ template info */
#define OID_APPLICATION_POLICIES "1.3.6.1.4.1.311.21.10"
#define OID_NTDS_CA_SECURITY_EXT "1.3.6.1.4.1.311.25.2"
#define OID_NTDS_OBJECTSID "1.3.6.1.4.1.311.25.2.1"
#define OID_NT_PRINCIPAL_NAME "1.3.6.1.4.1.311.20.2.3" /* UPN otherName */
#define OID_CERTSRV_CA_VERSION "1.3.6.1.4.1.311.21.1"
#define OID_CMC_PKIDATA "1.3.6.1.5.5.7.12.2"

typedef struct ca_csr {
	X509_REQ *req;         /* the PKCS#10, signature verified by request_decode */
	EVP_PKEY *pkey;        /* its public key (X509_REQ_get0_pubkey(req) is NULL: see request.c) */
	uint32_t format;       /* CR_IN_PKCS10, CR_IN_PKCS7 or CR_IN_CMC as detected */
	X509 *renewal_cert;    /* PKCS#7 renewal: the signer's certificate, else NULL */
	STACK_OF(X509_EXTENSION) *exts; /* extensionRequest contents (may be NULL) */
	char *template_name;   /* from OID_ENROLL_CERTTYPE, or NULL */
	char *template_oid;    /* from OID_CERTIFICATE_TEMPLATE, or NULL */
	uint32_t template_major, template_minor;
	int key_type;          /* EVP_PKEY_RSA, EVP_PKEY_EC, ... */
	int key_bits;          /* RSA modulus bits or EC field size */
	bool has_subject;      /* the request's subject DN is not empty */
	bool has_san;          /* the request asks for a subjectAltName */
} ca_csr_t;

/* request_decode parses der[0..len) as flags' request type says (FORMATANY:
 * detect), then verifies the PKCS#10 signature. Errors:
 *  CRYPT_E_ASN1_BADTAG / CRYPT_E_ASN1_EOD - not DER of the expected shape
 *  CRYPT_E_INVALID_MSG_TYPE - CMS that is not SignedData with usable content
 *  NTE_BAD_SIGNATURE - the PKCS#10 (or renewal CMS) signature does not verify
 *  NTE_BAD_ALGID - a public key type the CA does not issue for
 *  E_INVALIDARG - empty input or an unsupported request type (KEYGEN etc.)
 *  CERR_NOMEM. */
cerr_t request_decode(uint32_t flags, const uint8_t *der, size_t len, ca_csr_t **out);
void request_free(ca_csr_t *csr);

/* request_check_key applies the template's key rules: RSA modulus or EC
 * curve size at least msPKI-Minimal-Key-Size (CERTSRV_E_KEY_LENGTH). */
cerr_t request_check_key(const ca_csr_t *csr, const ca_template_t *t);

#endif
