/*
 * gss.h - Kerberos (auth type 16, RPC_C_AUTHN_GSS_KERBEROS) and SPNEGO
 * (auth type 9, RPC_C_AUTHN_GSS_NEGOTIATE, Kerberos inside) as DCE/RPC
 * security providers on MIT krb5's GSS-API: acceptor credentials from a
 * keytab, DCE-style three-leg context establishment (MS-RPCE 3.3.1.5.2.1,
 * MS-KILE 3.4.5.x), and request/response protection as MS-RPCE 2.2.2.12 says:
 * PKT_PRIVACY with GSS_WrapEx (gss_wrap_iov, DCE-style IOVs, RFC 4121 with
 * RRC), lower levels with GSS_GetMICEx (gss_get_mic). The PAC the KDC put in
 * the ticket is handed up raw (gss_identity_extra_t) for security/pac.h.
 */
#ifndef CERTA_RPC_GSS_H
#define CERTA_RPC_GSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc/auth.h"
#include "util/err.h"

/* Marks rpc_identity_t.extra as a gss_identity_extra_t (identity.package is
 * "Kerberos" or "Negotiate" as well; the magic lets a consumer check). */
#define GSS_IDENTITY_EXTRA_MAGIC 0x47535358u /* "GSSX" */

/* What a completed Kerberos context knows beyond rpc_identity_t. Owned by the
 * context (valid as long as the identity). */
typedef struct gss_identity_extra {
	uint32_t magic;           /* GSS_IDENTITY_EXTRA_MAGIC */
	const char *principal;    /* client principal as the ticket names it, "user@REALM" */
	const char *mech;         /* the mechanism that authenticated: "Kerberos" */
	const uint8_t *pac;       /* the whole PAC (MS-PAC 2.3), or NULL when the ticket has none */
	size_t pac_len;
	bool pac_authenticated;   /* krb5 verified the PAC's server signature with the service key */
	uint32_t gss_flags;       /* GSS ret_flags of the accepted context (GSS_C_*) */
	unsigned enctype;         /* Kerberos enctype of the session key (17/18 AES, 23 RC4) */
} gss_identity_extra_t;

typedef struct gss_acceptor_config {
	/* keytab with the service keys ("FILE:/path" or a path); NULL = the
	 * library's default (KRB5_KTNAME, then krb5.conf default_keytab_name).
	 * Any principal in it is accepted (GSS_C_NO_NAME acceptor), so one keytab
	 * serves host/ and RPCSS/ SPNs and the CA1$ account name alike. */
	const char *keytab;
} gss_acceptor_config_t;

/* gss_krb5_provider fills out as the acceptor for auth type 16 (raw Kerberos,
 * DCE style). gss_spnego_provider fills out as the acceptor for auth type 9
 * (SPNEGO, RFC 4178, restricted to Kerberos so that no other mechanism
 * registered with the GSS library - e.g. gss-ntlmssp - can log anyone on).
 * Both acquire the acceptor credential now, so a missing or unreadable
 * keytab fails here (CERR_CONFIG, detail logged) and not at the first bind.
 * Release with gss_provider_cleanup. */
cerr_t gss_krb5_provider(rpc_auth_provider_t *out, const gss_acceptor_config_t *cfg);
cerr_t gss_spnego_provider(rpc_auth_provider_t *out, const gss_acceptor_config_t *cfg);

/* gss_provider_cleanup releases what gss_*_provider stored in p (NULL-safe;
 * p is zeroed). Contexts made from it must be freed first. */
void gss_provider_cleanup(rpc_auth_provider_t *p);

/* gss_identity_extra returns identity->extra as a gss_identity_extra_t, or
 * NULL when the identity did not come from this provider. */
const gss_identity_extra_t *gss_identity_extra(const rpc_identity_t *identity);

#endif
