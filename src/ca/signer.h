/*
 * signer.h - the only code that touches the CA private key. Everything else
 * hands it a certificate (or CRL) to sign, so the key can later move to a
 * separate process or an HSM behind the same calls (OpenSSH privsep idea:
 * the key holder never parses network data). The key lives in a PEM file
 * created 0600. Signing is thread-safe (the key is only read).
 */
#ifndef CERTA_CA_SIGNER_H
#define CERTA_CA_SIGNER_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "util/err.h"

typedef enum ca_key_alg {
	CA_KEY_RSA_2048 = 0, /* default, as AD CS */
	CA_KEY_RSA_3072,
	CA_KEY_RSA_4096,
	CA_KEY_EC_P256,
	CA_KEY_EC_P384,
} ca_key_alg_t;

typedef struct signer signer_t;

/* signer_generate creates a new key of alg and writes it to key_path (mode
 * 0600, O_EXCL: CERR_EXISTS if the file exists). */
cerr_t signer_generate(const char *key_path, ca_key_alg_t alg, signer_t **out);
/* signer_load reads a PEM private key. CERR_IO / CERR_CRYPTO on failure. */
cerr_t signer_load(const char *key_path, signer_t **out);
void signer_free(signer_t *s);

/* signer_get0_public is the public half (a key object without the private
 * part), borrowed: valid until signer_free. */
EVP_PKEY *signer_get0_public(const signer_t *s);
/* signer_sign_x509 sets the signature algorithm and signs x: SHA-256 for RSA
 * and P-256 (sha256WithRSAEncryption / ecdsa-with-SHA256), SHA-384 for P-384. */
cerr_t signer_sign_x509(signer_t *s, X509 *x);
cerr_t signer_sign_crl(signer_t *s, X509_CRL *crl);
/* signer_matches_cert is true if cert carries this key's public half. */
int signer_matches_cert(const signer_t *s, X509 *cert);

#endif
