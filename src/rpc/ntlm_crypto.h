/*
 * ntlm_crypto.h - the cryptographic primitives of NTLM (MS-NLMP 3.3, 3.4.4,
 * 3.4.5, 6): NT hash (MD4), NTOWFv2 and the NTLMv2 proof (HMAC-MD5), DESL for
 * NTLMv1, RC4 handles that keep their state across messages, and the
 * sign/seal key derivations. MD4, RC4 and DES live in OpenSSL 3's legacy
 * provider, which ntlm_crypto_init loads once for the process.
 * Pure functions with no protocol state, so the MS-NLMP 4.2 test vectors can
 * check each step on its own.
 */
#ifndef CERTA_RPC_NTLM_CRYPTO_H
#define CERTA_RPC_NTLM_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* ntlm_crypto_init loads OpenSSL's "legacy" and "default" providers into the
 * default library context (once; later calls return the first result) and
 * fetches MD4, MD5, RC4, DES-ECB and HMAC. Returns CERR_CRYPTO, with a log
 * line naming the missing piece, when the legacy provider cannot be loaded. */
cerr_t ntlm_crypto_init(void);

/* One piece of a message fed to a hash or MAC (gathered, not copied). */
typedef struct ntlm_iov {
	const void *p;
	size_t len;
} ntlm_iov_t;

cerr_t ntlm_md4(const void *p, size_t len, uint8_t out[16]);
cerr_t ntlm_md5v(const ntlm_iov_t *iov, size_t n, uint8_t out[16]);
cerr_t ntlm_hmac_md5v(const uint8_t *key, size_t key_len, const ntlm_iov_t *iov, size_t n,
		      uint8_t out[16]);
cerr_t ntlm_hmac_md5(const uint8_t *key, size_t key_len, const void *p, size_t len,
		     uint8_t out[16]);

/* ntlm_nt_hash is NTOWFv1 (MS-NLMP 3.3.1): MD4 of the UTF-16LE password.
 * password is UTF-8; CERR_INVALID_ARG if it is not valid UTF-8. */
cerr_t ntlm_nt_hash(const char *password, uint8_t out[16]);

/* ntlm_ntowfv2 is NTOWFv2 (MS-NLMP 3.3.2) from the NT hash:
 * HMAC_MD5(nt_hash, UTF16LE(Uppercase(user)) || UTF16LE(domain)). The domain is
 * used exactly as given. user and domain are UTF-8. */
cerr_t ntlm_ntowfv2(const uint8_t nt_hash[16], const char *user, const char *domain,
		    uint8_t out[16]);

/* ntlm_upcase_unit uppercases one UTF-16 code unit the way Windows compares
 * account names, for the ranges certa knows (ASCII, Latin-1, Latin Extended-A,
 * Greek, Cyrillic); other units are returned unchanged. */
uint16_t ntlm_upcase_unit(uint16_t u);

/* ntlm_desl is DESL(K, D) (MS-NLMP 6): three DES-ECB encryptions of the 8-byte
 * D under 7-byte slices of the 16-byte K padded with five zero bytes. */
cerr_t ntlm_desl(const uint8_t key[16], const uint8_t data[8], uint8_t out[24]);

/* ntlm_rc4k is RC4K(K, D) with a fresh 16-byte key (encrypted session key). */
cerr_t ntlm_rc4k(const uint8_t key[16], const uint8_t *in, size_t len, uint8_t *out);

/* An RC4 handle whose keystream carries over between calls (MS-NLMP 3.4.3:
 * the sealing handle is initialised once per direction). */
typedef struct ntlm_rc4 ntlm_rc4_t;
ntlm_rc4_t *ntlm_rc4_new(const uint8_t key[16]);
/* ntlm_rc4_apply encrypts/decrypts len bytes (in may equal out). */
cerr_t ntlm_rc4_apply(ntlm_rc4_t *h, const uint8_t *in, size_t len, uint8_t *out);
void ntlm_rc4_free(ntlm_rc4_t *h);

/* ntlm_signkey is SIGNKEY (MS-NLMP 3.4.5.2) with extended session security:
 * MD5(ExportedSessionKey || magic), client-to-server or server-to-client. */
cerr_t ntlm_signkey(const uint8_t exported[16], bool client_to_server, uint8_t out[16]);
/* ntlm_sealkey is SEALKEY (MS-NLMP 3.4.5.3) with extended session security: the
 * exported key cut to 16, 7 or 5 bytes by NTLMSSP_NEGOTIATE_128 / _56 in flags,
 * then MD5 with the direction's magic constant. */
cerr_t ntlm_sealkey(uint32_t flags, const uint8_t exported[16], bool client_to_server,
		    uint8_t out[16]);

/* ntlm_wipe is OPENSSL_cleanse, for callers that do not include OpenSSL. */
void ntlm_wipe(void *p, size_t len);
/* ntlm_mem_equal compares in constant time (CRYPTO_memcmp). */
bool ntlm_mem_equal(const void *a, const void *b, size_t len);

#endif
