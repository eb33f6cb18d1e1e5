/*
 * dcom_security.h - Windows' DCOM security model in front of the object
 * exporter (dcom/exporter.h's dcom_security_hooks_t): the machine-wide
 * launch and access restrictions (MachineLaunchRestriction /
 * MachineAccessRestriction, as security descriptors written in SDDL), each
 * class's own launch and access permissions, and the activation
 * authentication-level hardening of KB5004442 (CVE-2021-26414,
 * RequireIntegrityActivationAuthenticationLevel). Every refusal is faithful
 * on the wire and in the System log as DistributedCOM events 10027, 10016,
 * 10017 and 10036.
 *
 * The caller is the connection's access token (services/logon.h) with the
 * BUILTIN alias "Certificate Service DCOM Access" (S-1-5-32-574) expanded, as
 * a CA's SAM does it: its members are those of the local group of that name
 * in the accounts store, or Authenticated Users (S-1-5-11) when there is no
 * such group (what CA setup makes; KB 903220).
 */
#ifndef CERTA_SERVICES_DCOM_SECURITY_H
#define CERTA_SERVICES_DCOM_SECURITY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcom/exporter.h"
#include "events/events.h"
#include "security/accounts.h"
#include "security/sd.h"
#include "security/token.h"
#include "services/logon.h"
#include "util/err.h"
#include "util/guid.h"

/* System log events (source Microsoft-Windows-DistributedCOM). */
#define EVENT_DCOM_MACHINE_LIMIT 10027u /* "The machine wide limit settings do not grant ..." */
#define EVENT_DCOM_APP_LAUNCH 10016u    /* "The application-specific permission settings do not grant ... Activation" */
#define EVENT_DCOM_APP_ACCESS 10017u    /* "The application-specific permission settings do not grant ... access" */
#define EVENT_DCOM_AUTHN_LEVEL 10036u   /* "The server-side authentication level policy does not allow ..." */

/* The name of the local group whose members make up BUILTIN\Certificate
 * Service DCOM Access (`certa group add` it to replace the default members). */
#define DCOM_SECURITY_CD_GROUP "Certificate Service DCOM Access"

/* One descriptor as configured: SDDL text and where it came from (for
 * messages and events). NULL sddl = the built-in default. */
typedef struct dcom_security_sddl {
	const char *sddl;
	const char *source; /* e.g. "certad.conf:12"; NULL = "built-in default" */
} dcom_security_sddl_t;

typedef struct dcom_security_config {
	events_t *events;               /* 10027/10016/10017/10036 (borrowed; NULL = none) */
	accounts_t *accounts;           /* for the CD group's members (borrowed; may be NULL) */
	pthread_mutex_t *accounts_lock; /* serialises every use of accounts (borrowed; may be NULL) */
	logon_t *logon;                 /* names SIDs in events (borrowed; may be NULL) */
	/* MachineLaunchRestriction; NULL = sd_default_machine_launch_restriction_ca_sddl */
	dcom_security_sddl_t machine_launch;
	/* MachineAccessRestriction; NULL = sd_default_machine_access_restriction_ca_sddl */
	dcom_security_sddl_t machine_access;
	/* KB5004442: activation below PKT_INTEGRITY refused (on since the
	 * March 2023 update, which took away the registry switch) */
	bool require_integrity_activation;
} dcom_security_config_t;

typedef struct dcom_security dcom_security_t;

/* dcom_security_new parses the descriptors (strings are copied). A bad SDDL
 * is CERR_CONFIG with "SOURCE: NAME: sd's error" in err, e.g.
 * "certad.conf:12: machine_launch_restriction: at offset 9: unknown ACE type 'X'". */
cerr_t dcom_security_new(const dcom_security_config_t *cfg, dcom_security_t **out, char *err, size_t err_len);
void dcom_security_free(dcom_security_t *s);

/* dcom_security_add_class gives a class its own launch (activation) and
 * access permissions, as a COM server's AppID LaunchPermission and
 * AccessPermission: NULL sddl skips that check. name and appid are what
 * events name ("CertSrv Request"). CERR_CONFIG with err as above; CERR_EXISTS
 * if clsid is there already. Before serving. */
cerr_t dcom_security_add_class(dcom_security_t *s, const guid_t *clsid, const guid_t *appid, const char *name,
			       const dcom_security_sddl_t *launch, const dcom_security_sddl_t *access, char *err,
			       size_t err_len);

/* dcom_security_hooks fills hooks for dcom_exporter_set_security_hooks. */
void dcom_security_hooks(dcom_security_t *s, dcom_security_hooks_t *hooks);

/* What a check decided, for tests and logs. */
typedef enum dcom_security_verdict {
	DCOM_ALLOW = 0,
	DCOM_DENY_AUTHN_LEVEL,    /* 10036: activation below PKT_INTEGRITY -> E_ACCESSDENIED */
	DCOM_DENY_MACHINE_LAUNCH, /* 10027: MachineLaunchRestriction -> fault nca_s_fault_access_denied */
	DCOM_DENY_APP_LAUNCH,     /* 10016: the class's launch permission -> E_ACCESSDENIED */
	DCOM_DENY_MACHINE_ACCESS, /* 10027 "Remote Access": MachineAccessRestriction -> fault access denied */
	DCOM_DENY_APP_ACCESS,     /* 10017: the class's access permission -> fault access denied */
	DCOM_DENY_ERROR,          /* no token could be had: fault access denied */
} dcom_security_verdict_t;

/* dcom_security_decide makes the decision for req with token t (the caller,
 * aliases not yet expanded) without logging: the verdict, and in *why (may
 * be NULL; thread-local until the thread's next check) the sentence naming
 * the deciding descriptor entry. */
dcom_security_verdict_t dcom_security_decide(dcom_security_t *s, const dcom_check_t *req, const token_t *t,
					     const char **why);

/* dcom_security_check is the hook (arg = dcom_security_t): decide on the
 * caller's token (logon_token(req->conn)), log the event of a refusal, and
 * return what the exporter sends: CERR_OK, CERR_NCA_S_FAULT_ACCESS_DENIED (a
 * fault, as Windows answers a machine-wide denial) or CERR_E_ACCESSDENIED
 * (the activation's HRESULT). */
cerr_t dcom_security_check(void *arg, const dcom_check_t *req);

/* dcom_security_verdict_name: "allow", "authn-level", "machine-launch", ... */
const char *dcom_security_verdict_name(dcom_security_verdict_t v);

#endif
