/*
 * ntlm.h - NTLMSSP (MS-NLMP) as a DCE/RPC security provider, auth type 10
 * (RPC_AUTH_WINNT): the acceptor behind rpc_auth_provider_t (auth.h), the
 * initiator for certa's own client, and the sign/seal state both share
 * (MS-NLMP 3.4 with extended session security). The acceptor learns account
 * secrets only through a lookup callback (ntlm_lookup_fn), so this layer knows
 * nothing of where accounts live; security/accounts.c provides one.
 *
 * Policy, decided here and documented in README.md: NTLMv2 only by default
 * (NTLMv1/NTLM2-session responses need allow_ntlmv1; LM-only is refused);
 * sign/seal only with extended session security; anonymous only when
 * allow_anonymous; the MIC is checked whenever MsvAvFlags announces it.
 */
#ifndef CERTA_RPC_NTLM_H
#define CERTA_RPC_NTLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc/auth.h"
#include "util/cursor.h"
#include "util/err.h"

#define NTLM_SIG_LEN 16
#define NTLM_NAME_MAX 256 /* bytes of UTF-8, with the NUL, for names in ntlm_account_t */

/* What the lookup callback returns for an account. */
typedef struct ntlm_account {
	uint8_t nt_hash[16];        /* MD4(UTF-16LE(password)) */
	bool disabled;              /* refused with STATUS_ACCOUNT_DISABLED after a correct proof */
	char user[NTLM_NAME_MAX];   /* canonical name; "" = the name as the client sent it */
	char domain[NTLM_NAME_MAX]; /* authority; "" = the acceptor's NetBIOS computer name
				     * (or domain name when domain_joined) */
} ntlm_account_t;

/* ntlm_lookup_fn finds the account for (domain, user) as the client sent them
 * (UTF-8; domain may be ""). It fills out and returns CERR_OK, returns
 * CERR_STATUS_NO_SUCH_USER when unknown, or another code on internal failure.
 * Name matching (case-insensitive, which domains count as local) is its
 * business. It must not keep pointers to its arguments. */
typedef cerr_t (*ntlm_lookup_fn)(void *arg, const char *domain, const char *user, ntlm_account_t *out);

/* Pass-through authentication (MS-APDS 3.1.5.1: a server hands the client's
 * NTLM response to a domain controller over NetLogon, here through winbind):
 * the callback gets what the client sent and returns the SessionBaseKey and
 * the SIDs the DC put in the validation info. */
typedef struct ntlm_passthrough_req {
	const char *user, *domain, *workstation; /* UTF-8, as the client sent them */
	uint8_t challenge[8];                    /* our ServerChallenge */
	const uint8_t *nt_response;
	size_t nt_len;
	const uint8_t *lm_response;
	size_t lm_len;
} ntlm_passthrough_req_t;

typedef struct ntlm_passthrough_res {
	uint8_t session_base_key[16]; /* UserSessionKey of the validation info (NTLMv2 SessionBaseKey) */
	char user[NTLM_NAME_MAX];     /* canonical account and domain names */
	char domain[NTLM_NAME_MAX];
	char **sids;                  /* malloc'd SID strings, the user's first, then its primary
				       * group and the others; the acceptor frees them */
	size_t num_sids;
	cerr_t sub_status;            /* on failure: STATUS_WRONG_PASSWORD, STATUS_NO_SUCH_USER... */
} ntlm_passthrough_res_t;

/* ntlm_passthrough_fn returns CERR_OK with out filled, or the logon failure
 * (CERR_STATUS_LOGON_FAILURE, CERR_STATUS_ACCOUNT_DISABLED...) with
 * out->sub_status, or another code when the DC cannot be reached. */
typedef cerr_t (*ntlm_passthrough_fn)(void *arg, const ntlm_passthrough_req_t *req, ntlm_passthrough_res_t *out);

typedef struct ntlm_acceptor_config {
	const char *nb_domain;    /* MsvAvNbDomainName: NetBIOS domain or workgroup ("WORKGROUP") */
	const char *nb_computer;  /* MsvAvNbComputerName ("CA1") */
	const char *dns_domain;   /* MsvAvDnsDomainName; NULL or "" to omit */
	const char *dns_computer; /* MsvAvDnsComputerName; NULL or "" to omit */
	const char *dns_tree;     /* MsvAvDnsTreeName; NULL or "" to omit */
	bool domain_joined;       /* TARGET_TYPE_DOMAIN (TargetName = nb_domain), else SERVER */
	bool allow_ntlmv1;        /* accept 24-byte NT responses (default false) */
	bool allow_anonymous;     /* accept the anonymous AUTHENTICATE (default false) */
	uint32_t max_clock_skew;  /* seconds; 0 = do not check the NTLMv2 blob's timestamp */
	ntlm_lookup_fn lookup;
	void *lookup_arg;
	/* when set, NTLMv2 responses are checked by the domain (pass-through)
	 * instead of lookup; the identity then carries the DC's SIDs
	 * (rpc_identity_t.extra_kind RPC_EXTRA_SIDS). NTLMv1 is refused. */
	ntlm_passthrough_fn passthrough;
	void *passthrough_arg;
} ntlm_acceptor_config_t;

/* ntlm_acceptor_config_init sets the defaults (all policy off, no skew check). */
void ntlm_acceptor_config_init(ntlm_acceptor_config_t *cfg);

/* ntlm_acceptor_provider fills out as the acceptor provider for RPC_AUTH_WINNT.
 * cfg's strings are copied (cfg may be freed); lookup_arg is borrowed and must
 * outlive the provider. Also loads OpenSSL's legacy provider: returns
 * CERR_CRYPTO if that fails. Release with ntlm_provider_cleanup. */
cerr_t ntlm_acceptor_provider(rpc_auth_provider_t *out, const ntlm_acceptor_config_t *cfg);

/* ---- initiator ---- */

typedef struct ntlm_client ntlm_client_t;

/* ntlm_client_new makes an NTLMv2 initiator. user, domain, password are UTF-8;
 * user NULL or "" (with password NULL or "") makes an anonymous client.
 * workstation may be NULL. Returns NULL on allocation/crypto failure or invalid UTF-8. */
ntlm_client_t *ntlm_client_new(const char *user, const char *domain, const char *password,
			       const char *workstation);
/* ntlm_client_new_hash is ntlm_client_new with the NT hash instead of the password. */
ntlm_client_t *ntlm_client_new_hash(const char *user, const char *domain, const uint8_t nt_hash[16],
				    const char *workstation);
/* ntlm_client_set_mic: always send a MIC (MsvAvFlags 0x2), even when the
 * CHALLENGE has no MsvAvTimestamp (with one, the MIC is always sent). */
void ntlm_client_set_mic(ntlm_client_t *c, bool always);
/* ntlm_client_negotiate appends the NEGOTIATE_MESSAGE (UNICODE, NTLM, ESS,
 * KEY_EXCH, SIGN, SEAL, ALWAYS_SIGN, 128, 56, VERSION, REQUEST_TARGET). */
cerr_t ntlm_client_negotiate(ntlm_client_t *c, buf_t *out);
/* ntlm_client_authenticate parses the CHALLENGE and appends the AUTHENTICATE;
 * afterwards the client can protect/unprotect. CERR_UNSUPPORTED when the
 * server did not agree to extended session security or Unicode. */
cerr_t ntlm_client_authenticate(ntlm_client_t *c, const cur_t *challenge, buf_t *out);
/* Same contract as rpc_auth_provider_t.protect / .unprotect, with the
 * client-to-server keys for protect and server-to-client for unprotect. */
cerr_t ntlm_client_protect(ntlm_client_t *c, uint8_t *pdu, size_t pdu_len, size_t stub_offset,
			   size_t stub_len, size_t verifier_offset, bool seal, bool header_sign);
cerr_t ntlm_client_unprotect(ntlm_client_t *c, uint8_t *pdu, size_t pdu_len, size_t stub_offset,
			     size_t stub_len, size_t verifier_offset, bool seal, bool header_sign);
/* ntlm_client_flags is the negotiated flag set (after authenticate). */
uint32_t ntlm_client_flags(const ntlm_client_t *c);
/* ntlm_client_identity gives the exported session key (session_key) after authenticate. */
const rpc_identity_t *ntlm_client_identity(ntlm_client_t *c);
void ntlm_client_free(ntlm_client_t *c);

/* The client seen through the provider vtable, so the RPC client drives it
 * like any provider: step with an empty token gives the NEGOTIATE
 * (CERR_STATUS_MORE_PROCESSING_REQUIRED), step with the CHALLENGE gives the
 * AUTHENTICATE (CERR_OK). The vtable's ctx_free is ntlm_client_free. */
rpc_auth_ctx_t *ntlm_client_ctx(ntlm_client_t *c);
const rpc_auth_provider_t *ntlm_client_vtable(void);

typedef struct ntlm_initiator_config {
	const char *user; /* NULL/"" = anonymous */
	const char *domain;
	const char *password;     /* or: */
	const uint8_t *nt_hash;   /* 16 bytes; used when password is NULL */
	const char *workstation;
	bool always_mic;
} ntlm_initiator_config_t;

/* ntlm_initiator_provider fills out so that ctx_new makes a client from cfg
 * (strings copied; the hash of the password is kept, not the password). */
cerr_t ntlm_initiator_provider(rpc_auth_provider_t *out, const ntlm_initiator_config_t *cfg);

/* ntlm_provider_cleanup releases what ntlm_acceptor_provider or
 * ntlm_initiator_provider stored in p (NULL-safe; p is zeroed). */
void ntlm_provider_cleanup(rpc_auth_provider_t *p);

/* ---- sign/seal state (MS-NLMP 3.4), shared by both sides ---- */

struct ntlm_rc4;
typedef struct ntlm_sess {
	uint32_t flags;
	uint8_t send_sign[16];
	uint8_t recv_sign[16];
	struct ntlm_rc4 *send_seal;
	struct ntlm_rc4 *recv_seal;
	uint32_t send_seq;
	uint32_t recv_seq;
	bool ready;
} ntlm_sess_t;

/* ntlm_sess_init derives SIGNKEY/SEALKEY for both directions from the exported
 * session key (MS-NLMP 3.4.5.2-3) and opens the RC4 handles. initiator picks
 * which direction is "send". Without extended session security the session
 * is left not ready (sign/seal then fail with CERR_STATUS_NOT_SUPPORTED). */
cerr_t ntlm_sess_init(ntlm_sess_t *s, uint32_t flags, const uint8_t exported[16], bool initiator);
void ntlm_sess_cleanup(ntlm_sess_t *s);
/* ntlm_sess_wrap computes the signature (MS-NLMP 3.4.4.2) over sign[0..sign_len)
 * with the next send sequence number, and with seal encrypts seal[0..seal_len)
 * in place. The checksum is taken over the plaintext, and the data is RC4'd
 * before the checksum (same handle), which is the order DCE/RPC peers expect.
 * seal may lie inside sign (DCE/RPC: stub inside the PDU). */
cerr_t ntlm_sess_wrap(ntlm_sess_t *s, const uint8_t *sign, size_t sign_len, uint8_t *seal,
		      size_t seal_len, bool do_seal, uint8_t sig[NTLM_SIG_LEN]);
/* ntlm_sess_unwrap decrypts (with do_seal) and checks sig against the next
 * receive sequence number: CERR_SEC_E_MESSAGE_ALTERED on mismatch. */
cerr_t ntlm_sess_unwrap(ntlm_sess_t *s, const uint8_t *sign, size_t sign_len, uint8_t *seal,
			size_t seal_len, bool do_seal, const uint8_t sig[NTLM_SIG_LEN]);

#endif
