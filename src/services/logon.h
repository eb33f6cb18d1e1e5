/*
 * logon.h - what Windows' LSA does when an RPC security context completes:
 * turn the caller into an access token (security/token.h) from whatever the
 * provider reports (a local account, a Kerberos PAC, a SID list from a domain
 * controller, or nobody), check "Access this computer from the network"
 * (SeNetworkLogonRight, overridden by SeDenyNetworkLogonRight; rights.h),
 * audit the outcome as Security events 4624 / 4625, and, when asked, write a
 * step-by-step trace an administrator can follow. It is the RPC runtime's
 * on_auth hook (rpc/server.h): a refusal makes the runtime answer bind_nak
 * reason 9 or fault access denied, as Windows does.
 *
 * The rights policy is reference-counted and swapped whole by
 * logon_reload_policy (SIGHUP): checks in flight keep the policy they began
 * with, connections stay up.
 */
#ifndef CERTA_SERVICES_LOGON_H
#define CERTA_SERVICES_LOGON_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events/events.h"
#include "rpc/iface.h"
#include "rpc/server.h"
#include "security/accounts.h"
#include "security/rights.h"
#include "security/token.h"
#include "util/err.h"

/* Security log event IDs (Windows Server 2008 and later, "Audit Logon"). */
#define EVENT_LOGON_SUCCESS 4624u /* An account was successfully logged on. */
#define EVENT_LOGON_FAILURE 4625u /* An account failed to log on. */
/* Trace records ([log] auth_trace) carry this id: no Windows event has it. */
#define EVENT_AUTH_TRACE 0u
#define EVENTS_LOG_AUTH_TRACE "certa-auth-trace"

/* Windows' logon type for a network logon (4624/4625 LogonType). */
#define LOGON_TYPE_NETWORK 3

/* Which logons are audited ([log] logon_events). */
typedef enum logon_audit {
	LOGON_AUDIT_NONE,
	LOGON_AUDIT_FAILURES, /* 4625 only */
	LOGON_AUDIT_ALL,      /* 4624 and 4625 (Windows Server's default for "Audit Logon") */
} logon_audit_t;

/* Resolves a name the accounts store does not know (a domain account, through
 * winbind); may be NULL. Same contract as rights_resolve_fn. */
typedef bool (*logon_resolve_fn)(void *ctx, const char *name, sid_t *out);

/* Names a SID the accounts store does not know ("SAMDOM\CA Requesters",
 * through winbind) into out; may be NULL. Used for the Groups lists of
 * 4624/4625 only. */
typedef bool (*logon_sid_name_fn)(void *ctx, const sid_t *sid, char *out, size_t out_len);

typedef struct logon_config {
	events_t *events;            /* 4624/4625 (borrowed; NULL = none) */
	events_t *trace;             /* trace records (borrowed; NULL = no trace) */
	logon_audit_t audit;
	accounts_t *accounts;        /* the local accounts store (borrowed; may be NULL) */
	pthread_mutex_t *accounts_lock; /* serialises every use of accounts (borrowed; may be NULL) */
	const char *local_domain;    /* authority name of local accounts ("CERTA") */
	const char *computer_name;   /* this machine's NetBIOS name (4624 WorkstationName is the client's) */
	bool everyone_includes_anonymous; /* the Windows policy of that name (default off) */
	logon_resolve_fn resolve;    /* extra name resolver for the policy file (may be NULL) */
	void *resolve_ctx;
	logon_sid_name_fn sid_name;  /* extra SID namer for event fields (may be NULL) */
	void *sid_name_ctx;
} logon_config_t;

typedef struct logon logon_t;

/* logon_new starts with Windows' default rights (rights_policy_default) until
 * logon_reload_policy loads a file. Strings in cfg are copied. */
cerr_t logon_new(const logon_config_t *cfg, logon_t **out);
void logon_free(logon_t *l);

/* logon_reload_policy reads the secedit INF at path (NULL or a missing file:
 * Windows' defaults), refreshes the accounts store first so new names resolve,
 * and swaps the new policy in. On an error the old policy stays and err holds
 * "file:line: what; fix" (CERR_CONFIG, CERR_IO...). */
cerr_t logon_reload_policy(logon_t *l, const char *path, char *err, size_t err_len);
/* logon_policy returns the current policy with a reference (rights_policy_unref it). */
rights_policy_t *logon_policy(logon_t *l);

/* logon_hooks fills hooks with logon_on_auth / logon_principal_free for l. */
void logon_hooks(logon_t *l, rpc_server_hooks_t *hooks);

/* logon_on_auth is the rpc_server_hooks_t.on_auth hook (arg = logon_t). On
 * success it builds the token, checks the network-logon right, audits, and
 * hands the token to the connection as its principal; a refused token returns
 * CERR_STATUS_LOGON_TYPE_NOT_GRANTED (event 4625, Status 0xc000015b). A failed
 * context (status not CERR_OK) is audited as 4625 with Windows' Status and
 * SubStatus. Returns CERR_NOMEM / CERR_INTERNAL when no token could be built:
 * the caller is refused then too, as Windows refuses a logon it cannot finish. */
cerr_t logon_on_auth(void *arg, const rpc_conn_info_t *conn, cerr_t status, void **out_principal);
/* logon_principal_free drops the connection's token reference. */
void logon_principal_free(void *arg, void *principal);

/* logon_token is the caller's token for a call: the connection's principal,
 * or for an unauthenticated connection the shared ANONYMOUS LOGON token
 * (S-1-5-7 alone). Borrowed: valid during the call; token_ref it to keep it. */
const token_t *logon_token(const rpc_conn_info_t *conn);

/* logon_build_token builds the token for a completed identity without
 * checking rights or auditing (tests, `certa diagnose`): local account,
 * PAC, SID list or anonymous, then local group and BUILTIN alias expansion. */
cerr_t logon_build_token(logon_t *l, const rpc_identity_t *id, token_t **out);

/* logon_sid_label writes "S-1-5-21-...-1003 (CERTA\CertUsers)", naming the SID
 * from the well-known table and the local accounts store when it can. */
const char *logon_sid_label(logon_t *l, const sid_t *sid, char *out, size_t out_len);

/* logon_failure_status gives the 4625 Status, SubStatus and FailureReason
 * text Windows logs for a failed context (status) with the provider's
 * sub-status (CERR_OK if none). */
void logon_failure_status(cerr_t status, cerr_t sub_status, uint32_t *out_status, uint32_t *out_sub,
			  const char **out_reason);

#endif
