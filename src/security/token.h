/*
 * token.h - access tokens: who a caller is (user SID, group SIDs with their
 * attributes, names for logs), built once when a security context completes
 * and then shared, immutable and reference-counted, between the connection
 * and its calls. Rights (rights.h) and later ACL checks read only this.
 *
 * Builders add what Windows adds for a NETWORK logon (Microsoft, "Special
 * identity groups", learn.microsoft.com/windows-server/identity/ad-ds/manage/
 * understand-special-identities-groups; [MS-DTYP] 2.4.2.4 for the values):
 *   Everyone S-1-1-0; NT AUTHORITY\NETWORK S-1-5-2 (network logons only);
 *   NT AUTHORITY\Authenticated Users S-1-5-11 (never for Guest); NT AUTHORITY\
 *   This Organization S-1-5-15 (absent when the caller carries Other
 *   Organization S-1-5-1000, the selective-authentication case); NT AUTHORITY\
 *   NTLM Authentication S-1-5-64-10 when the NTLM package authenticated; for
 *   local accounts NT AUTHORITY\Local account S-1-5-113 and, for members of
 *   BUILTIN\Administrators, S-1-5-114 (Windows 8.1 / Server 2012 R2 and later).
 * The KDC, not the token, contributes "Authentication authority asserted
 * identity" S-1-18-1: it arrives in the PAC's ExtraSids.
 * An ANONYMOUS LOGON token holds S-1-5-7 and, only when the policy
 * EveryoneIncludesAnonymous is on, Everyone: Windows XP / Server 2003 and later
 * leave it off ("Network access: Let Everyone permissions apply to anonymous
 * users", default Disabled; "anonymous tokens do not include the Everyone
 * group SID", Windows documentation for the NetMgmt functions).
 */
#ifndef CERTA_SECURITY_TOKEN_H
#define CERTA_SECURITY_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "security/pac.h"
#include "security/sid.h"
#include "util/err.h"

/* Most SIDs a token may hold (user excluded). Windows refuses logons past
 * 1,015 (KB 328889); the same order of magnitude bounds our work per check. */
#ifndef TOKEN_MAX_GROUPS
#define TOKEN_MAX_GROUPS 1024u
#endif

typedef struct token token_t;

/* The package that authenticated the caller; decides S-1-5-64-10 and is logged. */
typedef enum token_auth {
	TOKEN_AUTH_ANONYMOUS,
	TOKEN_AUTH_NTLM,
	TOKEN_AUTH_KERBEROS,
} token_auth_t;

typedef struct token_group {
	sid_t sid;
	uint32_t attributes; /* SE_GROUP_* */
} token_group_t;

/* What a caller knows about a local account (the accounts store fills it;
 * this header does not depend on that store's API). */
typedef struct token_local_account {
	const char *name;      /* account name, e.g. "alice" */
	const char *domain;    /* machine name, e.g. "CA1" */
	sid_t user_sid;        /* machine SID + RID */
	const sid_t *groups;   /* the account's groups and aliases (may include BUILTIN\...) */
	size_t num_groups;
} token_local_account_t;

/* A local alias (BUILTIN\Users...) and the SIDs that make a caller a member:
 * Windows expands these from the server's own SAM at logon, e.g. BUILTIN\Users
 * holds Authenticated Users and, on domain members, DOMAIN\Domain Users. */
typedef struct token_alias {
	sid_t alias;
	const sid_t *members;
	size_t num_members;
} token_alias_t;

/* ---- builders: each returns a new token with one reference, or an error
 * (CERR_LIMIT past TOKEN_MAX_GROUPS, CERR_MALFORMED for a bad SID string,
 * CERR_INVALID_ARG for missing inputs, CERR_NOMEM) ---- */

/* token_new_anonymous builds an ANONYMOUS LOGON token (see above). */
cerr_t token_new_anonymous(bool everyone_includes_anonymous, token_t **out);

/* token_from_pac builds a network-logon token from a decoded, verified PAC
 * (pac.h): user = LogonDomainId + UserId; groups = primary group, GroupIds,
 * ExtraSids, ResourceGroupIds with their attributes; names from the logon info.
 * CERR_INVALID_ARG when the PAC has no logon info. */
cerr_t token_from_pac(const pac_t *pac, token_auth_t auth, token_t **out);

/* token_from_sid_strings builds a network-logon token from SID strings, as
 * gss-ntlmssp (name attribute "urn:gssntlmssp:sids") and winbind
 * (wbcAuthenticateUserEx) report them: the user's SID, then its groups.
 * Groups get SE_GROUP_DEFAULT_ATTRS. */
cerr_t token_from_sid_strings(const char *user_name, const char *domain_name, const char *user_sid,
			      const char *const *group_sids, size_t num_group_sids, token_auth_t auth,
			      token_t **out);

/* token_from_local_account builds a network-logon token for a local account
 * (adds Local account S-1-5-113, and S-1-5-114 when a group is BUILTIN\Administrators). */
cerr_t token_from_local_account(const token_local_account_t *acct, token_auth_t auth, token_t **out);

/* token_with_aliases returns a new token: t plus every alias one of whose
 * members is among t's enabled SIDs (one pass: aliases do not nest). */
cerr_t token_with_aliases(const token_t *t, const token_alias_t *aliases, size_t num_aliases,
			  token_t **out);

/* ---- sharing ---- */

/* token_ref adds a reference (thread-safe) and returns t; NULL-safe. */
token_t *token_ref(token_t *t);
/* token_unref drops a reference and frees the token with the last; NULL-safe. */
void token_unref(token_t *t);

/* ---- reading ---- */

const sid_t *token_user_sid(const token_t *t);
size_t token_num_groups(const token_t *t);
/* token_group is the i-th group (i < token_num_groups). */
const token_group_t *token_group(const token_t *t, size_t i);
bool token_is_anonymous(const token_t *t);
token_auth_t token_auth(const token_t *t);
/* token_auth_name is "NTLM", "Kerberos" or "Anonymous". */
const char *token_auth_name(token_auth_t auth);
/* token_user_name / token_domain_name as authenticated ("alice", "CONTOSO"). */
const char *token_user_name(const token_t *t);
const char *token_domain_name(const token_t *t);
/* token_account_name is "DOMAIN\user" for logs ("NT AUTHORITY\ANONYMOUS LOGON"). */
const char *token_account_name(const token_t *t);

/* token_has_sid is true when sid is the user or any group, deny-only groups
 * included (what a deny entry is matched against). */
bool token_has_sid(const token_t *t, const sid_t *sid);
/* token_has_enabled_sid is true when sid is the user or an enabled group that
 * is not deny-only (what an allow entry is matched against). */
bool token_has_enabled_sid(const token_t *t, const sid_t *sid);

/* token_describe writes "DOMAIN\user (S-1-...) via NTLM; groups: S-1-1-0
 * (Everyone), ..." into out (truncated to out_len) and returns out. */
const char *token_describe(const token_t *t, char *out, size_t out_len);

#endif
