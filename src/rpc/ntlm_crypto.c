/*
 * ntlm_crypto.c - NTLM's hashes, MACs and ciphers on OpenSSL 3 (MS-NLMP 3.3,
 * 3.4.5, 6). MD4, RC4 and DES are only in the legacy provider; it is loaded
 * once, next to the default provider (loading any provider explicitly stops
 * OpenSSL from loading "default" on its own).
 */
#include "rpc/ntlm_crypto.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include "util/cursor.h"
#include "util/log.h"
#include "util/utf16.h"

struct ntlm_rc4 {
	EVP_CIPHER_CTX *ctx;
};

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static cerr_t g_init_result = CERR_CRYPTO;
static EVP_MD *g_md4;
static EVP_MD *g_md5;
static EVP_CIPHER *g_rc4;
static EVP_CIPHER *g_des;

static void log_ossl(const char *what)
{
	unsigned long e = ERR_get_error();
	char msg[256] = "no detail";
	if (e) {
		ERR_error_string_n(e, msg, sizeof(msg));
	}
	log_error("%s: %s", what, msg);
	ERR_clear_error();
}

static void crypto_init_once(void)
{
	/* The provider handles are kept for the life of the process on purpose. */
	if (!OSSL_PROVIDER_load(NULL, "legacy")) {
		log_ossl("NTLM needs OpenSSL's legacy provider (MD4, RC4, DES) and it could not "
			 "be loaded; check OPENSSL_MODULES / the ossl-modules directory");
		return;
	}
	if (!OSSL_PROVIDER_load(NULL, "default")) {
		log_ossl("cannot load OpenSSL's default provider");
		return;
	}
	g_md4 = EVP_MD_fetch(NULL, "MD4", NULL);
	g_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
	g_rc4 = EVP_CIPHER_fetch(NULL, "RC4", NULL);
	g_des = EVP_CIPHER_fetch(NULL, "DES-ECB", NULL);
	if (!g_md4 || !g_md5 || !g_rc4 || !g_des) {
		log_ossl("cannot fetch MD4/MD5/RC4/DES-ECB from OpenSSL");
		return;
	}
	g_init_result = CERR_OK;
}

cerr_t ntlm_crypto_init(void)
{
	if (pthread_once(&g_once, crypto_init_once) != 0) {
		return CERR_INTERNAL;
	}
	return g_init_result;
}

void ntlm_wipe(void *p, size_t len)
{
	if (p && len) {
		OPENSSL_cleanse(p, len);
	}
}

bool ntlm_mem_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

static cerr_t digestv(EVP_MD *md, const ntlm_iov_t *iov, size_t n, uint8_t out[16])
{
	cerr_t e = ntlm_crypto_init();
	if (e != CERR_OK) {
		return e;
	}
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx) {
		return CERR_NOMEM;
	}
	e = CERR_CRYPTO;
	if (!EVP_DigestInit_ex2(ctx, md, NULL)) {
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (iov[i].len && !EVP_DigestUpdate(ctx, iov[i].p, iov[i].len)) {
			goto out;
		}
	}
	unsigned int olen = 0;
	if (!EVP_DigestFinal_ex(ctx, out, &olen) || olen != 16) {
		goto out;
	}
	e = CERR_OK;
out:
	if (e != CERR_OK) {
		log_ossl("digest failed");
	}
	EVP_MD_CTX_free(ctx);
	return e;
}

cerr_t ntlm_md4(const void *p, size_t len, uint8_t out[16])
{
	cerr_t e = ntlm_crypto_init();
	if (e != CERR_OK) {
		return e;
	}
	ntlm_iov_t v = {p, len};
	return digestv(g_md4, &v, 1, out);
}

cerr_t ntlm_md5v(const ntlm_iov_t *iov, size_t n, uint8_t out[16])
{
	cerr_t e = ntlm_crypto_init();
	if (e != CERR_OK) {
		return e;
	}
	return digestv(g_md5, iov, n, out);
}

/* HMAC-MD5 per RFC 2104 over the MD5 fetched once at init: EVP_MAC_init
 * looked "MD5" up by name on every call, the larger part of an NTLM
 * logon's crypto cost (callgrind, bench/RESULTS.md). */
cerr_t ntlm_hmac_md5v(const uint8_t *key, size_t key_len, const ntlm_iov_t *iov, size_t n,
		      uint8_t out[16])
{
	enum { BLOCK = 64 }; /* MD5's block size */
	cerr_t e = ntlm_crypto_init();
	if (e != CERR_OK) {
		return e;
	}
	uint8_t k[BLOCK] = {0}, pad[BLOCK], inner[16];
	if (key_len > BLOCK) {
		ntlm_iov_t kv = {.p = key, .len = key_len};
		if ((e = digestv(g_md5, &kv, 1, k)) != CERR_OK) {
			return e;
		}
	} else if (key_len) {
		memcpy(k, key, key_len);
	}
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx) {
		ntlm_wipe(k, sizeof(k));
		return CERR_NOMEM;
	}
	e = CERR_CRYPTO;
	for (size_t i = 0; i < BLOCK; i++) {
		pad[i] = k[i] ^ 0x36;
	}
	if (!EVP_DigestInit_ex2(ctx, g_md5, NULL) || !EVP_DigestUpdate(ctx, pad, BLOCK)) {
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (iov[i].len && !EVP_DigestUpdate(ctx, iov[i].p, iov[i].len)) {
			goto out;
		}
	}
	unsigned int olen = 0;
	if (!EVP_DigestFinal_ex(ctx, inner, &olen) || olen != 16) {
		goto out;
	}
	for (size_t i = 0; i < BLOCK; i++) {
		pad[i] = k[i] ^ 0x5c;
	}
	if (!EVP_DigestInit_ex2(ctx, g_md5, NULL) || !EVP_DigestUpdate(ctx, pad, BLOCK) ||
	    !EVP_DigestUpdate(ctx, inner, sizeof(inner)) || !EVP_DigestFinal_ex(ctx, out, &olen) || olen != 16) {
		goto out;
	}
	e = CERR_OK;
out:
	if (e != CERR_OK) {
		log_ossl("HMAC-MD5 failed");
	}
	ntlm_wipe(k, sizeof(k));
	ntlm_wipe(pad, sizeof(pad));
	ntlm_wipe(inner, sizeof(inner));
	EVP_MD_CTX_free(ctx);
	return e;
}

cerr_t ntlm_hmac_md5(const uint8_t *key, size_t key_len, const void *p, size_t len,
		     uint8_t out[16])
{
	ntlm_iov_t v = {p, len};
	return ntlm_hmac_md5v(key, key_len, &v, 1, out);
}

cerr_t ntlm_nt_hash(const char *password, uint8_t out[16])
{
	buf_t b;
	buf_init(&b, 64 * 1024);
	size_t units;
	cerr_t e = CERR_INVALID_ARG;
	if (!password || !utf8_to_utf16le(&b, password, false, &units)) {
		goto out;
	}
	e = CERR_NOMEM;
	if (!buf_ok(&b)) {
		goto out;
	}
	e = ntlm_md4(b.data, b.len, out);
out:
	ntlm_wipe(b.data, b.len);
	buf_free(&b);
	return e;
}

uint16_t ntlm_upcase_unit(uint16_t u)
{
	if (u >= 'a' && u <= 'z') {
		return (uint16_t)(u - 0x20);
	}
	if (u < 0x80) {
		return u;
	}
	/* Latin-1 Supplement: U+00E0..U+00FE except U+00F7 (division sign); U+00FF -> U+0178 */
	if (u >= 0xE0 && u <= 0xFE && u != 0xF7) {
		return (uint16_t)(u - 0x20);
	}
	if (u == 0xFF) {
		return 0x178;
	}
	/* Latin Extended-A: pairs (upper even, lower odd) except the odd-based runs */
	if ((u >= 0x100 && u <= 0x137) || (u >= 0x14A && u <= 0x177)) {
		return (u & 1) ? (uint16_t)(u - 1) : u;
	}
	if ((u >= 0x139 && u <= 0x148) || (u >= 0x179 && u <= 0x17E)) {
		return (u & 1) ? u : (uint16_t)(u - 1);
	}
	/* Greek: U+03B1..U+03C9 except final sigma U+03C2 */
	if (u >= 0x3B1 && u <= 0x3C9 && u != 0x3C2) {
		return (uint16_t)(u - 0x20);
	}
	/* Cyrillic: U+0430..U+044F -> U+0410..; U+0450..U+045F -> U+0400.. */
	if (u >= 0x430 && u <= 0x44F) {
		return (uint16_t)(u - 0x20);
	}
	if (u >= 0x450 && u <= 0x45F) {
		return (uint16_t)(u - 0x50);
	}
	return u;
}

cerr_t ntlm_ntowfv2(const uint8_t nt_hash[16], const char *user, const char *domain,
		    uint8_t out[16])
{
	buf_t b;
	buf_init(&b, 64 * 1024);
	size_t units;
	cerr_t e = CERR_INVALID_ARG;
	if (!user || !domain || !utf8_to_utf16le(&b, user, false, &units)) {
		goto out;
	}
	/* Uppercase the user part unit by unit; surrogates are left alone. */
	for (size_t i = 0; i + 1 < b.len && buf_ok(&b); i += 2) {
		uint16_t u = (uint16_t)(b.data[i] | (b.data[i + 1] << 8));
		u = ntlm_upcase_unit(u);
		b.data[i] = (uint8_t)(u & 0xff);
		b.data[i + 1] = (uint8_t)(u >> 8);
	}
	if (!utf8_to_utf16le(&b, domain, false, &units)) {
		goto out;
	}
	e = CERR_NOMEM;
	if (!buf_ok(&b)) {
		goto out;
	}
	e = ntlm_hmac_md5(nt_hash, 16, b.data, b.len, out);
out:
	buf_free(&b);
	return e;
}

/* DES key from 7 bytes: spread 56 bits over 8 bytes, low bit (parity) ignored. */
static void des_key_from_7(const uint8_t in[7], uint8_t out[8])
{
	out[0] = (uint8_t)(in[0] >> 1);
	out[1] = (uint8_t)(((in[0] & 0x01) << 6) | (in[1] >> 2));
	out[2] = (uint8_t)(((in[1] & 0x03) << 5) | (in[2] >> 3));
	out[3] = (uint8_t)(((in[2] & 0x07) << 4) | (in[3] >> 4));
	out[4] = (uint8_t)(((in[3] & 0x0F) << 3) | (in[4] >> 5));
	out[5] = (uint8_t)(((in[4] & 0x1F) << 2) | (in[5] >> 6));
	out[6] = (uint8_t)(((in[5] & 0x3F) << 1) | (in[6] >> 7));
	out[7] = (uint8_t)(in[6] & 0x7F);
	for (int i = 0; i < 8; i++) {
		out[i] = (uint8_t)(out[i] << 1);
	}
}

static cerr_t des_ecb(const uint8_t key7[7], const uint8_t in[8], uint8_t out[8])
{
	uint8_t key[8];
	des_key_from_7(key7, key);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (!ctx) {
		return CERR_NOMEM;
	}
	cerr_t e = CERR_CRYPTO;
	int l1 = 0, l2 = 0;
	if (EVP_EncryptInit_ex2(ctx, g_des, key, NULL, NULL) && EVP_CIPHER_CTX_set_padding(ctx, 0) &&
	    EVP_EncryptUpdate(ctx, out, &l1, in, 8) && EVP_EncryptFinal_ex(ctx, out + l1, &l2) &&
	    l1 + l2 == 8) {
		e = CERR_OK;
	} else {
		log_ossl("DES-ECB failed");
	}
	EVP_CIPHER_CTX_free(ctx);
	ntlm_wipe(key, sizeof(key));
	return e;
}

cerr_t ntlm_desl(const uint8_t key[16], const uint8_t data[8], uint8_t out[24])
{
	cerr_t e = ntlm_crypto_init();
	if (e != CERR_OK) {
		return e;
	}
	uint8_t k3[7] = {key[14], key[15], 0, 0, 0, 0, 0};
	if ((e = des_ecb(key, data, out)) != CERR_OK || (e = des_ecb(key + 7, data, out + 8)) != CERR_OK ||
	    (e = des_ecb(k3, data, out + 16)) != CERR_OK) {
		ntlm_wipe(out, 24);
	}
	ntlm_wipe(k3, sizeof(k3));
	return e;
}

ntlm_rc4_t *ntlm_rc4_new(const uint8_t key[16])
{
	if (ntlm_crypto_init() != CERR_OK) {
		return NULL;
	}
	ntlm_rc4_t *h = calloc(1, sizeof(*h));
	if (!h) {
		return NULL;
	}
	h->ctx = EVP_CIPHER_CTX_new();
	if (!h->ctx || !EVP_EncryptInit_ex2(h->ctx, g_rc4, key, NULL, NULL)) {
		log_ossl("RC4 init failed");
		ntlm_rc4_free(h);
		return NULL;
	}
	return h;
}

cerr_t ntlm_rc4_apply(ntlm_rc4_t *h, const uint8_t *in, size_t len, uint8_t *out)
{
	if (!h || len > INT_MAX) {
		return CERR_INVALID_ARG;
	}
	if (len == 0) {
		return CERR_OK;
	}
	int olen = 0;
	if (!EVP_EncryptUpdate(h->ctx, out, &olen, in, (int)len) || (size_t)olen != len) {
		log_ossl("RC4 failed");
		return CERR_CRYPTO;
	}
	return CERR_OK;
}

void ntlm_rc4_free(ntlm_rc4_t *h)
{
	if (!h) {
		return;
	}
	EVP_CIPHER_CTX_free(h->ctx); /* clears the key schedule */
	free(h);
}

cerr_t ntlm_rc4k(const uint8_t key[16], const uint8_t *in, size_t len, uint8_t *out)
{
	ntlm_rc4_t *h = ntlm_rc4_new(key);
	if (!h) {
		return CERR_CRYPTO;
	}
	cerr_t e = ntlm_rc4_apply(h, in, len, out);
	ntlm_rc4_free(h);
	return e;
}

/* MS-NLMP 3.4.5.2 / 3.4.5.3: the magic constants include their terminating NUL. */
static const char C2S_SIGN[] = "session key to client-to-server signing key magic constant";
static const char S2C_SIGN[] = "session key to server-to-client signing key magic constant";
static const char C2S_SEAL[] = "session key to client-to-server sealing key magic constant";
static const char S2C_SEAL[] = "session key to server-to-client sealing key magic constant";

cerr_t ntlm_signkey(const uint8_t exported[16], bool client_to_server, uint8_t out[16])
{
	const char *magic = client_to_server ? C2S_SIGN : S2C_SIGN;
	ntlm_iov_t v[2] = {{exported, 16}, {magic, strlen(magic) + 1}};
	return ntlm_md5v(v, 2, out);
}

cerr_t ntlm_sealkey(uint32_t flags, const uint8_t exported[16], bool client_to_server,
		    uint8_t out[16])
{
	/* NTLMSSP_NEGOTIATE_128 = 0x20000000, NTLMSSP_NEGOTIATE_56 = 0x80000000 (MS-NLMP 2.2.2.5) */
	size_t klen = (flags & 0x20000000u) ? 16 : (flags & 0x80000000u) ? 7 : 5;
	const char *magic = client_to_server ? C2S_SEAL : S2C_SEAL;
	ntlm_iov_t v[2] = {{exported, klen}, {magic, strlen(magic) + 1}};
	return ntlm_md5v(v, 2, out);
}
