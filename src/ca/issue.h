/*
 * issue.h - building and signing certificates the way AD CS shapes them:
 * random 19-byte serials, validity from the template capped by the CA
 * certificate, the template extension (1.3.6.1.4.1.311.20.2 name for schema
 * version 1, 1.3.6.1.4.1.311.21.7 info for 2+), EKU plus the mirroring
 * Application Policies extension (1.3.6.1.4.1.311.21.10), key usage,
 * basic constraints for CA templates, SKI/AKI, AIA/CDP URLs, the KB5014754
 * SID extension, and the degenerate PKCS#7 chain returned to clients
 * ([MS-WCCE] 3.2.1.4.2.1.4.8). Also the self-signed CA certificate.
 * Decisions (which subject, which SAN, whether to issue) are the caller's.
 */
#ifndef CERTA_CA_ISSUE_H
#define CERTA_CA_ISSUE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/signer.h"
#include "ca/template.h"
#include "util/err.h"

#define ISSUE_SERIAL_LEN 19u          /* bytes; AD CS-sized, >= 64 random bits (CA/B BR 7.1) */
#define ISSUE_SERIAL_HEX_LEN (2u * ISSUE_SERIAL_LEN + 1u)
#define ISSUE_CLOCK_SKEW_SECONDS 600  /* notBefore backdating, as AD CS (10 minutes) */

typedef struct issue_params {
	const ca_template_t *tmpl;
	X509 *ca_cert;
	signer_t *signer;
	EVP_PKEY *subject_key;  /* from the request */
	/* The request's SubjectPublicKeyInfo, copied into the certificate as
	 * sent; NULL = encode subject_key (much slower with OpenSSL 3's
	 * encoder framework, which X509_set_pubkey goes through). */
	const X509_PUBKEY *subject_spki;
	X509_NAME *subject;     /* the decided subject (may be empty when a SAN is present) */
	GENERAL_NAMES *san;     /* decided SAN entries, or NULL */
	const char *sid;        /* requester SID for 1.3.6.1.4.1.311.25.2, or NULL */
	const char *aia_url;    /* caIssuers URL, or NULL */
	const char *cdp_url;    /* CRL distribution point URL, or NULL */
	time_t now;
} issue_params_t;

/* issue_certificate builds, signs and returns the certificate; serial_hex
 * receives its serial as lowercase hex. CERR_CRYPTO / CERR_NOMEM on failure. */
cerr_t issue_certificate(const issue_params_t *p, X509 **out, char serial_hex[ISSUE_SERIAL_HEX_LEN]);

/* issue_chain_pkcs7 encodes a CMS ContentInfo signedData with no signers
 * and no eContent whose certificates are leaf (if non-NULL) then ca. The
 * DER is malloc'd. */
cerr_t issue_chain_pkcs7(X509 *leaf, X509 *ca, uint8_t **der, size_t *der_len);
/* issue_chain_pkcs7_der is the same from the certificates' DER (leaf may
 * be NULL), for the enrollment path where both are already encoded. */
cerr_t issue_chain_pkcs7_der(const uint8_t *leaf, size_t leaf_len, const uint8_t *ca, size_t ca_len, uint8_t **der,
			     size_t *der_len);

/* issue_ca_certificate makes the self-signed CA certificate: subject
 * CN=<cn> followed by extra_dn (RFC 4514 order, e.g. "DC=example,DC=com";
 * NULL for none), valid for years, basicConstraints CA:TRUE and keyUsage
 * keyCertSign|cRLSign|digitalSignature (both critical), SKI, and the CA
 * Version extension 1.3.6.1.4.1.311.21.1 = 0 as AD CS adds it.
 * CERR_CONFIG if extra_dn cannot be parsed. */
cerr_t issue_ca_certificate(signer_t *s, const char *cn, const char *extra_dn, unsigned years, time_t now,
			    X509 **out);

/* issue_der returns x's DER encoding (malloc'd). */
cerr_t issue_der(X509 *x, uint8_t **der, size_t *der_len);

#endif
