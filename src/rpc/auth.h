/*
 * auth.h - the security-provider interface of the RPC runtime. A provider
 * (NTLM now; Kerberos and SPNEGO later) turns the tokens carried in bind,
 * alter_context and auth3 PDUs into an established context, and then signs,
 * seals, verifies and unseals request/response PDUs (MS-RPCE 3.3.1.5.2).
 * The association owns one context per auth_context_id; the provider owns
 * everything inside it.
 */
#ifndef CERTA_RPC_AUTH_H
#define CERTA_RPC_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/cursor.h"
#include "util/err.h"

typedef struct rpc_auth_ctx rpc_auth_ctx_t;

/* What rpc_identity_t.extra points to, by rpc_identity_t.extra_kind, so the
 * layer that builds access tokens (services/logon.c) can read it without
 * knowing the provider. */
enum rpc_identity_extra {
	RPC_EXTRA_NONE = 0, /* extra is NULL: a local account (NTLM over the accounts store) */
	RPC_EXTRA_PAC = 1,  /* rpc_blob_t: the ticket's whole PAC (MS-PAC 2.3), verified by the
			     * Kerberos library (gss_get_name_attribute "urn:mspac:", authenticated) */
	RPC_EXTRA_SIDS = 2, /* rpc_sid_list_t: SIDs a domain controller reported (winbind,
			     * gss-ntlmssp's "urn:gssntlmssp:sids") */
};

typedef struct rpc_blob {
	const uint8_t *data;
	size_t len;
} rpc_blob_t;

typedef struct rpc_sid_list {
	const char *user_sid;          /* "S-1-5-21-...-1105" */
	const char *const *group_sids; /* primary group first, then the others */
	size_t num_group_sids;
} rpc_sid_list_t;

/* What a completed context tells about the caller. Strings are UTF-8 and owned
 * by the context. SIDs come with access tokens (security layer, a later issue);
 * the provider reports what it knows. */
typedef struct rpc_identity {
	const char *user;        /* account name as authenticated */
	const char *domain;      /* domain/realm as authenticated */
	const char *workstation; /* NTLM: client workstation name; may be "" */
	const char *package;     /* "NTLM", "Kerberos", "Negotiate" */
	bool anonymous;          /* NTLM anonymous / null session */
	uint8_t session_key[16];
	size_t session_key_len;
	void *extra;             /* provider-specific (e.g. PAC, SID list); may be NULL */
	int extra_kind;          /* enum rpc_identity_extra: what extra points to */
	/* After a failed step a provider may still report whom the caller claimed
	 * to be (for the 4625 audit event): failed is then true, user/domain/
	 * workstation/package are as sent, and sub_status says why in Windows'
	 * terms (STATUS_NO_SUCH_USER, STATUS_WRONG_PASSWORD...; CERR_OK if unknown). */
	bool failed;
	cerr_t sub_status;
	/* Set on an identity from identity_early: the mechanism authenticated
	 * the caller but the context is not complete (no session key yet). */
	bool provisional;
} rpc_identity_t;

typedef struct rpc_auth_provider {
	uint8_t auth_type; /* enum rpc_auth_type */
	const char *name;
	/* ctx_new starts an acceptor context. data is what was registered with the server. */
	cerr_t (*ctx_new)(void *data, rpc_auth_ctx_t **out);
	/* step feeds the peer's token (bind / alter_context / auth3 auth_value) and
	 * writes the reply token, if any, into out. Returns CERR_OK when the context
	 * is complete (out may still hold a final token), CERR_STATUS_MORE_PROCESSING_REQUIRED
	 * when another leg is expected, or the failure (e.g. CERR_STATUS_LOGON_FAILURE,
	 * CERR_SEC_E_INVALID_TOKEN). */
	cerr_t (*step)(rpc_auth_ctx_t *ctx, const cur_t *in, buf_t *out);
	/* identity is valid once step returned CERR_OK; after a failure it may
	 * return the claimed identity with failed set, or NULL. */
	const rpc_identity_t *(*identity)(rpc_auth_ctx_t *ctx);
	/* sig_len is the verifier size for request/response PDUs (16 for NTLM). */
	size_t (*sig_len)(rpc_auth_ctx_t *ctx);
	/* protect signs (and with seal, encrypts) an outgoing PDU in place. pdu[0..pdu_len)
	 * is the whole PDU including the zeroed verifier at verifier_offset (sig_len bytes);
	 * [stub_offset, stub_offset + stub_len) is the stub plus auth padding, the part
	 * sealed. header_sign says the whole PDU is signed rather than the stub alone. */
	cerr_t (*protect)(rpc_auth_ctx_t *ctx, uint8_t *pdu, size_t pdu_len, size_t stub_offset,
			  size_t stub_len, size_t verifier_offset, bool seal, bool header_sign);
	/* unprotect verifies (and with seal, decrypts in place) an incoming PDU laid out
	 * as for protect. Returns CERR_SEC_E_MESSAGE_ALTERED on a bad verifier. */
	cerr_t (*unprotect)(rpc_auth_ctx_t *ctx, uint8_t *pdu, size_t pdu_len, size_t stub_offset,
			    size_t stub_len, size_t verifier_offset, bool seal, bool header_sign);
	/* ctx_free releases the context (NULL-safe), wiping key material. */
	void (*ctx_free)(rpc_auth_ctx_t *ctx);
	/* set_level (optional, may be NULL) tells a new context the auth_level of
	 * the bind, before its first step. Kerberos needs it: below PKT_PRIVACY the
	 * verifier is a GSS_GetMICEx token, at PKT_PRIVACY a GSS_WrapEx header of
	 * another size (MS-RPCE 2.2.2.12), and sig_len must be right for the first
	 * request. */
	void (*set_level)(rpc_auth_ctx_t *ctx, uint8_t auth_level);
	/* identity_early (optional, may be NULL): after step returned
	 * CERR_STATUS_MORE_PROCESSING_REQUIRED, the caller the token just
	 * accepted proves, when the mechanism knows it before the last leg, else
	 * NULL. DCE-style Kerberos does: the AP-REQ authenticates the client in
	 * the first leg, and Windows builds the access token there (MS-KILE
	 * 3.4.5.1), so that a refused caller fails the bind itself (MS-RPCE
	 * 3.3.1.5.2). The identity has provisional set and no session key; the
	 * one identity() reports at completion names the same caller. */
	const rpc_identity_t *(*identity_early)(rpc_auth_ctx_t *ctx);
	void *data; /* provider configuration, passed to ctx_new */
} rpc_auth_provider_t;

#endif
