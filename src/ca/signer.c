/*
 * signer.c - see signer.h. OpenSSL 3 EVP keys; the private key object is
 * never returned to callers.
 */
#include "ca/signer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "util/log.h"

struct signer {
	EVP_PKEY *key;
	EVP_PKEY *pub;
	const EVP_MD *md;
};

static void log_openssl(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];
	ERR_error_string_n(e, buf, sizeof(buf));
	log_error("%s: %s", what, e ? buf : "unknown OpenSSL error");
	ERR_clear_error();
}

void signer_free(signer_t *s)
{
	if (!s) {
		return;
	}
	EVP_PKEY_free(s->key);
	EVP_PKEY_free(s->pub);
	free(s);
}

/* finish derives the public-only copy and the digest for key. */
static cerr_t finish(EVP_PKEY *key, signer_t **out)
{
	signer_t *s = calloc(1, sizeof(*s));
	if (!s) {
		EVP_PKEY_free(key);
		return CERR_NOMEM;
	}
	s->key = key;
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(key, &der);
	if (n > 0) {
		const unsigned char *p = der;
		s->pub = d2i_PUBKEY(NULL, &p, n);
	}
	OPENSSL_free(der);
	if (!s->pub) {
		log_openssl("signer: deriving public key");
		signer_free(s);
		return CERR_CRYPTO;
	}
	int id = EVP_PKEY_get_base_id(key);
	if (id != EVP_PKEY_RSA && id != EVP_PKEY_EC) {
		log_error("signer: unsupported CA key type %d", id);
		signer_free(s);
		return CERR_UNSUPPORTED;
	}
	s->md = (id == EVP_PKEY_EC && EVP_PKEY_get_bits(key) > 256) ? EVP_sha384() : EVP_sha256();
	*out = s;
	return CERR_OK;
}

cerr_t signer_generate(const char *key_path, ca_key_alg_t alg, signer_t **out)
{
	*out = NULL;
	EVP_PKEY *key = NULL;
	switch (alg) {
	case CA_KEY_RSA_2048: key = EVP_RSA_gen(2048); break;
	case CA_KEY_RSA_3072: key = EVP_RSA_gen(3072); break;
	case CA_KEY_RSA_4096: key = EVP_RSA_gen(4096); break;
	case CA_KEY_EC_P256: key = EVP_EC_gen("P-256"); break;
	case CA_KEY_EC_P384: key = EVP_EC_gen("P-384"); break;
	default: return CERR_INVALID_ARG;
	}
	if (!key) {
		log_openssl("signer: key generation");
		return CERR_CRYPTO;
	}
	int fd = open(key_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		log_error("signer: cannot create %s: %s", key_path, strerror(e));
		EVP_PKEY_free(key);
		return e == EEXIST ? CERR_EXISTS : CERR_IO;
	}
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		EVP_PKEY_free(key);
		return CERR_IO;
	}
	int ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
	if (fclose(f) != 0 || !ok) {
		log_error("signer: writing %s failed", key_path);
		unlink(key_path);
		EVP_PKEY_free(key);
		return CERR_IO;
	}
	return finish(key, out);
}

cerr_t signer_load(const char *key_path, signer_t **out)
{
	*out = NULL;
	FILE *f = fopen(key_path, "re");
	if (!f) {
		log_error("signer: cannot open %s: %s", key_path, strerror(errno));
		return CERR_IO;
	}
	EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!key) {
		log_openssl("signer: reading CA key");
		return CERR_CRYPTO;
	}
	return finish(key, out);
}

EVP_PKEY *signer_get0_public(const signer_t *s) { return s->pub; }

cerr_t signer_sign_x509(signer_t *s, X509 *x)
{
	if (X509_sign(x, s->key, s->md) <= 0) {
		log_openssl("signer: signing certificate");
		return CERR_CRYPTO;
	}
	return CERR_OK;
}

cerr_t signer_sign_crl(signer_t *s, X509_CRL *crl)
{
	if (X509_CRL_sign(crl, s->key, s->md) <= 0) {
		log_openssl("signer: signing CRL");
		return CERR_CRYPTO;
	}
	return CERR_OK;
}

int signer_matches_cert(const signer_t *s, X509 *cert)
{
	EVP_PKEY *p = X509_get0_pubkey(cert);
	return p && EVP_PKEY_eq(p, s->pub) == 1;
}
