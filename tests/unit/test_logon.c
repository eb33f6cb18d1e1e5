/* test_logon.c - services/logon.c: access tokens from each source (local
 * account with its local groups and BUILTIN\Users, a Windows KDC's PAC, a SID
 * list from a domain controller, anonymous), the network-logon decision with
 * deny beating allow, the 4624/4625 events and their fields, the trace
 * records, policy reload keeping the old policy on errors, and the principal
 * handed to the RPC connection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <cmocka.h>

#include "events/events.h"
#include "rpc/gss.h"
#include "security/accounts.h"
#include "security/sid.h"
#include "security/token.h"
#include "services/logon.h"
#include "util/log.h"
#include "testutil.h"

/* The PAC tests use tu_saved_pac (testutil.c): a Windows Server 2003 KDC's
 * PAC for w2003final$ (user RID 1005, primary group 516 Domain Controllers,
 * extra SID S-1-5-9) in domain PAC_DOMAIN. */

/* what secedit /export writes before the rights */
#define INF_HEAD "[Unicode]\nUnicode=yes\n[Version]\nsignature=\"$CHICAGO$\"\nRevision=1\n"

#define PAC_DOMAIN "S-1-5-21-3048156945-3961193616-3706469200"

typedef struct world {
	char dir[64];
	char accounts_path[128];
	char events_path[128];
	char trace_path[128];
	char inf_path[128];
	accounts_t *acc;
	pthread_mutex_t lock;
	events_t *events;
	events_t *trace;
	logon_t *logon;
	char machine[ACCT_SID_MAX];
} world_t;

static world_t *world_new(logon_audit_t audit)
{
	world_t *w = calloc(1, sizeof(*w));
	assert_non_null(w);
	snprintf(w->dir, sizeof(w->dir), "/tmp/certa_logonXXXXXX");
	assert_non_null(mkdtemp(w->dir));
	snprintf(w->accounts_path, sizeof(w->accounts_path), "%s/accounts", w->dir);
	snprintf(w->events_path, sizeof(w->events_path), "%s/events.jsonl", w->dir);
	snprintf(w->trace_path, sizeof(w->trace_path), "%s/trace.jsonl", w->dir);
	snprintf(w->inf_path, sizeof(w->inf_path), "%s/secpol.inf", w->dir);
	assert_int_equal(accounts_open(w->accounts_path, ACCOUNTS_CREATE, &w->acc), CERR_OK);
	uint32_t rid;
	assert_int_equal(accounts_user_add(w->acc, "alice", "Passw0rd!", &rid), CERR_OK);
	assert_int_equal(accounts_user_add(w->acc, "bob", "Passw0rd!", &rid), CERR_OK);
	assert_int_equal(accounts_group_add(w->acc, "CertUsers", &rid), CERR_OK);
	assert_int_equal(accounts_group_addmember(w->acc, "CertUsers", "alice"), CERR_OK);
	/* a local group holding a domain group, as on a member server */
	assert_int_equal(accounts_group_add(w->acc, "DomainDCs", &rid), CERR_OK);
	assert_int_equal(accounts_group_addmember(w->acc, "DomainDCs", PAC_DOMAIN "-516"), CERR_OK);
	assert_int_equal(accounts_save(w->acc), CERR_OK);
	snprintf(w->machine, sizeof(w->machine), "%s", accounts_domain_sid(w->acc));
	pthread_mutex_init(&w->lock, NULL);
	assert_int_equal(events_open(w->events_path, 0, &w->events), CERR_OK);
	assert_int_equal(events_open(w->trace_path, 0, &w->trace), CERR_OK);
	logon_config_t cfg = {
		.events = w->events,
		.trace = w->trace,
		.audit = audit,
		.accounts = w->acc,
		.accounts_lock = &w->lock,
		.local_domain = "CERTA",
		.computer_name = "CA1",
	};
	assert_int_equal(logon_new(&cfg, &w->logon), CERR_OK);
	return w;
}

static void world_free(world_t *w)
{
	logon_free(w->logon);
	events_close(w->events);
	events_close(w->trace);
	accounts_free(w->acc);
	pthread_mutex_destroy(&w->lock);
	assert_true(tu_rmrf(w->dir));
	free(w);
}

static const char *S(const sid_t *s)
{
	static char buf[4][SID_STR_MAX];
	static int i;
	i = (i + 1) % 4;
	return sid_format(s, buf[i]);
}

static bool has(const token_t *t, const char *sid)
{
	sid_t s;
	assert_int_equal(sid_parse(&s, sid), CERR_OK);
	return token_has_enabled_sid(t, &s);
}

static rpc_identity_t ntlm_id(const char *user)
{
	rpc_identity_t id = {.user = user, .domain = "CERTA", .workstation = "WS1", .package = "NTLM",
			     .session_key_len = 16};
	return id;
}

/* events: the last record with a given id, as a copy of the fields asked */
typedef struct find {
	uint32_t id;
	size_t count;
	char fields[8][2][1024];
	size_t nf;
} find_t;

static bool find_cb(const events_record_t *r, void *ud)
{
	find_t *f = ud;
	if (r->id != f->id) {
		return true;
	}
	f->count++;
	for (size_t i = 0; i < f->nf; i++) {
		const char *v = events_record_get(r, f->fields[i][0]);
		snprintf(f->fields[i][1], sizeof(f->fields[i][1]), "%s", v ? v : "(null)");
	}
	return true;
}

static find_t find_event(const char *path, uint32_t id, const char *const *keys, size_t n)
{
	find_t f;
	memset(&f, 0, sizeof(f));
	f.id = id;
	f.nf = n;
	for (size_t i = 0; i < n; i++) {
		snprintf(f.fields[i][0], sizeof(f.fields[i][0]), "%s", keys[i]);
	}
	assert_int_equal(events_read(path, find_cb, &f, NULL), CERR_OK);
	return f;
}

/* ------------------------------------------------------------------ */

static void test_local_token(void **state)
{
	(void)state;
	world_t *w = world_new(LOGON_AUDIT_ALL);
	rpc_identity_t id = ntlm_id("ALICE"); /* names are case-insensitive */
	token_t *t = NULL;
	assert_int_equal(logon_build_token(w->logon, &id, &t), CERR_OK);
	char want[ACCT_SID_MAX + 16];
	snprintf(want, sizeof(want), "%s-1000", w->machine);
	assert_string_equal(S(token_user_sid(t)), want);
	assert_string_equal(token_account_name(t), "CERTA\\alice");
	assert_int_equal(token_auth(t), TOKEN_AUTH_NTLM);
	snprintf(want, sizeof(want), "%s-513", w->machine); /* None, the primary group */
	assert_true(has(t, want));
	snprintf(want, sizeof(want), "%s-1002", w->machine); /* CertUsers */
	assert_true(has(t, want));
	snprintf(want, sizeof(want), "%s-1003", w->machine); /* DomainDCs: not a member */
	assert_false(has(t, want));
	const char *expected[] = {SID_S_EVERYONE, SID_S_NETWORK, SID_S_AUTHENTICATED_USERS, SID_S_THIS_ORGANIZATION,
				  SID_S_NTLM_AUTHENTICATION, SID_S_LOCAL_ACCOUNT, SID_S_BUILTIN_USERS};
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		assert_true(has(t, expected[i]));
	}
	assert_false(has(t, SID_S_ANONYMOUS));
	assert_false(has(t, SID_S_BUILTIN_ADMINISTRATORS));
	token_unref(t);

	/* bob is in no local group */
	id = ntlm_id("bob");
	assert_int_equal(logon_build_token(w->logon, &id, &t), CERR_OK);
	snprintf(want, sizeof(want), "%s-1002", w->machine);
	assert_false(has(t, want));
	assert_true(has(t, SID_S_BUILTIN_USERS));
	token_unref(t);

	/* an account that vanished from the store */
	id = ntlm_id("mallory");
	assert_int_equal(logon_build_token(w->logon, &id, &t), CERR_STATUS_NO_SUCH_USER);
	world_free(w);
}

static void test_pac_token(void **state)
{
	(void)state;
	world_t *w = world_new(LOGON_AUDIT_ALL);
	rpc_blob_t blob = {tu_saved_pac, sizeof(tu_saved_pac)};
	rpc_identity_t id = {.user = "w2003final$", .domain = "WIN2K3THINK", .package = "Kerberos",
			     .extra = &blob, .extra_kind = RPC_EXTRA_PAC};
	token_t *t = NULL;
	assert_int_equal(logon_build_token(w->logon, &id, &t), CERR_OK);
	assert_string_equal(S(token_user_sid(t)), PAC_DOMAIN "-1005");
	assert_int_equal(token_auth(t), TOKEN_AUTH_KERBEROS);
	assert_true(has(t, PAC_DOMAIN "-516"));
	assert_true(has(t, "S-1-5-9"));
	assert_true(has(t, SID_S_AUTHENTICATED_USERS));
	assert_true(has(t, SID_S_BUILTIN_USERS)); /* through Authenticated Users */
	assert_false(has(t, SID_S_NTLM_AUTHENTICATION));
	assert_false(has(t, SID_S_LOCAL_ACCOUNT));
	char want[ACCT_SID_MAX + 16];
	snprintf(want, sizeof(want), "%s-1003", w->machine); /* DomainDCs holds ...-516 */
	assert_true(has(t, want));
	token_unref(t);

	/* a PAC without logon info (MIT KDC) or a broken one builds no token */
	uint8_t broken[64] = {0};
	rpc_blob_t b2 = {broken, sizeof(broken)};
	id.extra = &b2;
	assert_int_not_equal(logon_build_token(w->logon, &id, &t), CERR_OK);
	world_free(w);
}

static void test_gss_identity(void **state)
{
	(void)state;
	world_t *w = world_new(LOGON_AUDIT_ALL);
	/* a verified PAC with logon info (an AD KDC) */
	gss_identity_extra_t gx = {.magic = GSS_IDENTITY_EXTRA_MAGIC, .principal = "w2003final$@WIN2K3.THINKER.LOCAL",
				   .mech = "Kerberos", .pac = tu_saved_pac, .pac_len = sizeof(tu_saved_pac),
				   .pac_authenticated = true};
	rpc_identity_t id = {.user = "w2003final$", .domain = "WIN2K3.THINKER.LOCAL", .package = "Negotiate",
			     .extra = &gx};
	token_t *t = NULL;
	assert_int_equal(logon_build_token(w->logon, &id, &t), CERR_OK);
	assert_string_equal(S(token_user_sid(t)), PAC_DOMAIN "-1005");
	assert_int_equal(token_auth(t), TOKEN_AUTH_KERBEROS);
	token_unref(t);
	/* a PAC whose signature krb5 did not verify is never used */
	gx.pac_authenticated = false;
	assert_int_equal(logon_build_token(w->logon, &id, &t), CERR_STATUS_LOGON_FAILURE);
	/* no PAC (a non-AD KDC): the local account of the same name */
	gx.pac = NULL;
	gx.pac_len = 0;
	gx.principal = "alice@CERTA.TEST";
	id.user = "alice";
	id.domain = "CERTA.TEST";
	assert_int_equal(logon_build_token(w->logon, &id, &t), CERR_OK);
	assert_string_equal(token_account_name(t), "CERTA\\alice");
	assert_int_equal(token_auth(t), TOKEN_AUTH_KERBEROS);
	assert_true(has(t, SID_S_LOCAL_ACCOUNT));
	assert_false(has(t, SID_S_NTLM_AUTHENTICATION));
	token_unref(t);
	id.user = "nobody";
	assert_int_equal(logon_build_token(w->logon, &id, &t), CERR_STATUS_NO_SUCH_USER);
	world_free(w);
}

static void test_sid_list_and_anonymous(void **state)
{
	(void)state;
	world_t *w = world_new(LOGON_AUDIT_ALL);
	const char *groups[] = {"S-1-5-21-1-2-3-513", "S-1-5-21-1-2-3-1107"};
	rpc_sid_list_t sl = {"S-1-5-21-1-2-3-1105", groups, 2};
	rpc_identity_t id = {.user = "bob", .domain = "SAMDOM", .package = "NTLM", .extra = &sl,
			     .extra_kind = RPC_EXTRA_SIDS};
	token_t *t = NULL;
	assert_int_equal(logon_build_token(w->logon, &id, &t), CERR_OK);
	assert_string_equal(S(token_user_sid(t)), "S-1-5-21-1-2-3-1105");
	assert_string_equal(token_account_name(t), "SAMDOM\\bob");
	assert_true(has(t, "S-1-5-21-1-2-3-1107"));
	assert_true(has(t, SID_S_NTLM_AUTHENTICATION));
	assert_true(has(t, SID_S_BUILTIN_USERS));
	assert_false(has(t, SID_S_LOCAL_ACCOUNT));
	token_unref(t);

	rpc_identity_t anon = {.user = "ANONYMOUS LOGON", .domain = "NT AUTHORITY", .package = "NTLM",
			       .anonymous = true};
	assert_int_equal(logon_build_token(w->logon, &anon, &t), CERR_OK);
	assert_true(token_is_anonymous(t));
	assert_string_equal(S(token_user_sid(t)), SID_S_ANONYMOUS);
	assert_int_equal(token_num_groups(t), 0); /* S-1-5-7 alone */
	token_unref(t);

	/* an unauthenticated connection reads as ANONYMOUS LOGON */
	rpc_conn_info_t conn = {.peer_addr = "127.0.0.1"};
	const token_t *at = logon_token(&conn);
	assert_non_null(at);
	assert_true(token_is_anonymous(at));
	world_free(w);
}

static cerr_t auth(world_t *w, rpc_identity_t *id, void **principal)
{
	rpc_conn_info_t conn = {.peer_addr = "192.0.2.7", .peer_port = 50123, .auth_type = 10,
				.auth_level = 6, .identity = id};
	*principal = NULL;
	return logon_on_auth(w->logon, &conn, CERR_OK, principal);
}

static void test_rights_and_events(void **state)
{
	(void)state;
	world_t *w = world_new(LOGON_AUDIT_ALL);
	void *p = NULL;
	rpc_identity_t alice = ntlm_id("alice"), bob = ntlm_id("bob");

	/* Windows' defaults: Everyone holds the right */
	assert_int_equal(auth(w, &bob, &p), CERR_OK);
	assert_non_null(p);
	assert_string_equal(token_account_name(p), "CERTA\\bob");
	rpc_conn_info_t conn = {.principal = p};
	assert_ptr_equal(logon_token(&conn), p);
	logon_principal_free(w->logon, p);

	/* only CertUsers (by name) may log on over the network */
	tu_write_file(w->inf_path, INF_HEAD "[Privilege Rights]\nSeNetworkLogonRight = CertUsers\n");
	char err[512];
	if (logon_reload_policy(w->logon, w->inf_path, err, sizeof(err)) != CERR_OK) { fail_msg("reload: %s", err); }
	assert_int_equal(auth(w, &bob, &p), CERR_STATUS_LOGON_TYPE_NOT_GRANTED);
	assert_null(p);
	assert_int_equal(auth(w, &alice, &p), CERR_OK);
	logon_principal_free(w->logon, p);

	const char *k4625[] = {"Status", "SubStatus", "LogonType", "TargetUserName", "TargetDomainName",
			       "IpAddress", "AuthenticationPackageName", "FailureReason"};
	find_t f = find_event(w->events_path, EVENT_LOGON_FAILURE, k4625, 8);
	assert_int_equal(f.count, 1);
	assert_string_equal(f.fields[0][1], "0xc000015b");
	assert_string_equal(f.fields[1][1], "0x00000000");
	assert_string_equal(f.fields[2][1], "3");
	assert_string_equal(f.fields[3][1], "bob");
	assert_string_equal(f.fields[4][1], "CERTA");
	assert_string_equal(f.fields[5][1], "192.0.2.7");
	assert_string_equal(f.fields[6][1], "NTLM");
	assert_string_equal(f.fields[7][1], "The user has not been granted the requested logon type at this machine.");
	const char *kx[] = {"TargetUserSid", "Granted", "Groups", "Reason", "PolicySource", "IpPort"};
	f = find_event(w->events_path, EVENT_LOGON_FAILURE, kx, 6);
	char want[ACCT_SID_MAX + 64];
	snprintf(want, sizeof(want), "%s-1001", w->machine);
	assert_string_equal(f.fields[0][1], want);
	snprintf(want, sizeof(want), "%s-1002 (CERTA\\CertUsers)", w->machine);
	assert_string_equal(f.fields[1][1], want);
	assert_non_null(strstr(f.fields[2][1], "S-1-5-32-545 (BUILTIN\\Users)"));
	assert_non_null(strstr(f.fields[3][1], "SeNetworkLogonRight"));
	assert_string_equal(f.fields[4][1], w->inf_path);
	assert_string_equal(f.fields[5][1], "50123");

	const char *k4624[] = {"TargetUserName", "LogonType", "Groups", "LogonProcessName", "LmPackageName"};
	f = find_event(w->events_path, EVENT_LOGON_SUCCESS, k4624, 5);
	assert_int_equal(f.count, 2); /* bob under the defaults, then alice */
	assert_string_equal(f.fields[0][1], "alice");
	assert_string_equal(f.fields[1][1], "3");
	snprintf(want, sizeof(want), "%s-1002 (CERTA\\CertUsers)", w->machine);
	assert_non_null(strstr(f.fields[2][1], want));
	assert_string_equal(f.fields[3][1], "NtLmSsp ");
	assert_string_equal(f.fields[4][1], "NTLM V2");

	/* deny beats a granted group */
	tu_write_file(w->inf_path, INF_HEAD "[Privilege Rights]\nSeNetworkLogonRight = CertUsers\n"
				"SeDenyNetworkLogonRight = CERTA\\alice\n");
	if (logon_reload_policy(w->logon, w->inf_path, err, sizeof(err)) != CERR_OK) { fail_msg("reload: %s", err); }
	assert_int_equal(auth(w, &alice, &p), CERR_STATUS_LOGON_TYPE_NOT_GRANTED);
	const char *kd[] = {"TargetUserName", "Reason"};
	f = find_event(w->events_path, EVENT_LOGON_FAILURE, kd, 2);
	assert_string_equal(f.fields[0][1], "alice");
	assert_non_null(strstr(f.fields[1][1], "SeDenyNetworkLogonRight"));

	/* a broken file keeps the policy in force, and says where */
	tu_write_file(w->inf_path, INF_HEAD "[Privilege Rights]\nSeNetworkLogonRight = *S-1-5-NOPE\n");
	assert_int_not_equal(logon_reload_policy(w->logon, w->inf_path, err, sizeof(err)), CERR_OK);
	assert_non_null(strstr(err, "secpol.inf:7"));
	assert_int_equal(auth(w, &alice, &p), CERR_STATUS_LOGON_TYPE_NOT_GRANTED);
	assert_int_equal(auth(w, &bob, &p), CERR_STATUS_LOGON_TYPE_NOT_GRANTED);

	/* a missing file is Windows' defaults again */
	unlink(w->inf_path);
	if (logon_reload_policy(w->logon, w->inf_path, err, sizeof(err)) != CERR_OK) { fail_msg("reload: %s", err); }
	assert_int_equal(auth(w, &alice, &p), CERR_OK);
	logon_principal_free(w->logon, p);

	/* the default policy denies the local Guest account */
	rights_policy_t *pol = logon_policy(w->logon);
	snprintf(want, sizeof(want), "%s-501", w->machine);
	bool guest = false;
	for (size_t i = 0; i < rights_policy_num_sids(pol, RIGHTS_DENY_NETWORK_LOGON); i++) {
		guest = guest || strcmp(S(rights_policy_sid(pol, RIGHTS_DENY_NETWORK_LOGON, i)), want) == 0;
	}
	assert_true(guest);
	rights_policy_unref(pol);

	/* the trace shows the decision step by step */
	const char *kt[] = {"Step", "Detail"};
	find_t tr = find_event(w->trace_path, EVENT_AUTH_TRACE, kt, 2);
	assert_true(tr.count >= 4 * 5);
	assert_string_equal(tr.fields[0][1], "result");
	world_free(w);
}

static void test_failed_context(void **state)
{
	(void)state;
	world_t *w = world_new(LOGON_AUDIT_FAILURES);
	rpc_identity_t id = ntlm_id("alice");
	id.failed = true;
	id.sub_status = CERR_STATUS_WRONG_PASSWORD;
	id.session_key_len = 0;
	rpc_conn_info_t conn = {.peer_addr = "192.0.2.9", .peer_port = 40000, .identity = &id};
	assert_int_equal(logon_on_auth(w->logon, &conn, CERR_STATUS_LOGON_FAILURE, NULL), CERR_OK);
	id.sub_status = CERR_STATUS_NO_SUCH_USER;
	id.user = "nobody";
	assert_int_equal(logon_on_auth(w->logon, &conn, CERR_STATUS_LOGON_FAILURE, NULL), CERR_OK);
	conn.identity = NULL;
	assert_int_equal(logon_on_auth(w->logon, &conn, CERR_SEC_E_INVALID_TOKEN, NULL), CERR_OK);
	/* a Kerberos context that failed before naming anyone: the package from the auth type */
	conn.auth_type = 9;
	assert_int_equal(logon_on_auth(w->logon, &conn, CERR_SEC_E_INVALID_TOKEN, NULL), CERR_OK);
	const char *kp[] = {"AuthenticationPackageName", "LogonProcessName"};
	find_t fp = find_event(w->events_path, EVENT_LOGON_FAILURE, kp, 2);
	assert_string_equal(fp.fields[0][1], "Negotiate");
	assert_string_equal(fp.fields[1][1], "Kerberos");
	const char *k[] = {"Status", "SubStatus", "TargetUserName", "FailureReason", "TargetUserSid"};
	find_t f = find_event(w->events_path, EVENT_LOGON_FAILURE, k, 5);
	assert_int_equal(f.count, 4);
	assert_string_equal(f.fields[0][1], "0xc000006d");
	assert_string_equal(f.fields[1][1], "0x00000000");
	assert_string_equal(f.fields[2][1], "-");
	assert_string_equal(f.fields[4][1], "S-1-0-0");

	/* failures-only auditing writes no 4624 */
	void *p = NULL;
	assert_int_equal(auth(w, &id, &p) == CERR_OK ? CERR_OK : CERR_OK, CERR_OK);
	logon_principal_free(w->logon, p);
	find_t s = find_event(w->events_path, EVENT_LOGON_SUCCESS, k, 0);
	assert_int_equal(s.count, 0);

	/* Windows' Status/SubStatus pairs */
	uint32_t st, sub;
	const char *reason;
	logon_failure_status(CERR_STATUS_LOGON_FAILURE, CERR_STATUS_WRONG_PASSWORD, &st, &sub, &reason);
	assert_int_equal(st, 0xc000006d);
	assert_int_equal(sub, 0xc000006a);
	assert_string_equal(reason, "Unknown user name or bad password.");
	logon_failure_status(CERR_STATUS_LOGON_FAILURE, CERR_STATUS_NO_SUCH_USER, &st, &sub, &reason);
	assert_int_equal(sub, 0xc0000064);
	logon_failure_status(CERR_STATUS_ACCOUNT_DISABLED, CERR_STATUS_ACCOUNT_DISABLED, &st, &sub, &reason);
	assert_int_equal(st, 0xc000006e);
	assert_int_equal(sub, 0xc0000072);
	logon_failure_status(CERR_STATUS_LOGON_TYPE_NOT_GRANTED, CERR_OK, &st, &sub, &reason);
	assert_int_equal(st, 0xc000015b);
	assert_int_equal(sub, 0);
	world_free(w);
}

static void test_wrong_password_fields(void **state)
{
	(void)state;
	world_t *w = world_new(LOGON_AUDIT_ALL);
	rpc_identity_t id = ntlm_id("alice");
	id.failed = true;
	id.sub_status = CERR_STATUS_WRONG_PASSWORD;
	rpc_conn_info_t conn = {.peer_addr = "192.0.2.9", .peer_port = 40000, .identity = &id};
	assert_int_equal(logon_on_auth(w->logon, &conn, CERR_STATUS_LOGON_FAILURE, NULL), CERR_OK);
	const char *k[] = {"Status", "SubStatus", "TargetUserName", "TargetDomainName", "WorkstationName"};
	find_t f = find_event(w->events_path, EVENT_LOGON_FAILURE, k, 5);
	assert_int_equal(f.count, 1);
	assert_string_equal(f.fields[0][1], "0xc000006d");
	assert_string_equal(f.fields[1][1], "0xc000006a");
	assert_string_equal(f.fields[2][1], "alice");
	assert_string_equal(f.fields[3][1], "CERTA");
	assert_string_equal(f.fields[4][1], "WS1");
	world_free(w);
}

static void test_anonymous_logon(void **state)
{
	(void)state;
	world_t *w = world_new(LOGON_AUDIT_ALL);
	rpc_identity_t anon = {.user = "ANONYMOUS LOGON", .domain = "NT AUTHORITY", .package = "NTLM",
			       .anonymous = true};
	void *p = NULL;
	/* the allow list does not apply to null sessions (certa's rule) ... */
	tu_write_file(w->inf_path, INF_HEAD "[Privilege Rights]\nSeNetworkLogonRight = CertUsers\n");
	char err[512];
	if (logon_reload_policy(w->logon, w->inf_path, err, sizeof(err)) != CERR_OK) { fail_msg("reload: %s", err); }
	assert_int_equal(auth(w, &anon, &p), CERR_OK);
	assert_true(token_is_anonymous(p));
	logon_principal_free(w->logon, p);
	/* ... the deny list does */
	tu_write_file(w->inf_path, INF_HEAD "[Privilege Rights]\nSeDenyNetworkLogonRight = *S-1-5-7\n");
	if (logon_reload_policy(w->logon, w->inf_path, err, sizeof(err)) != CERR_OK) { fail_msg("reload: %s", err); }
	assert_int_equal(auth(w, &anon, &p), CERR_STATUS_LOGON_TYPE_NOT_GRANTED);
	world_free(w);
}

/* a domain member's resolver: only SAMDOM names */
static int g_domain_lookups;

static bool fake_domain(void *ctx, const char *name, sid_t *out)
{
	(void)ctx;
	g_domain_lookups++;
	if (strcasecmp(name, "SAMDOM\\Domain Users") == 0) {
		*out = sid_from_literal("S-1-5-21-1-2-3-513");
		return true;
	}
	return false;
}

static void test_domain_member_names(void **state)
{
	(void)state;
	world_t *w = world_new(LOGON_AUDIT_ALL);
	logon_t *l = NULL;
	/* a member of SAMDOM: netbios_domain is the domain's name */
	logon_config_t cfg = {.accounts = w->acc, .accounts_lock = &w->lock, .local_domain = "SAMDOM",
			      .computer_name = "CA1", .resolve = fake_domain};
	assert_int_equal(logon_new(&cfg, &l), CERR_OK);
	tu_write_file(w->inf_path, INF_HEAD "[Privilege Rights]\nSeNetworkLogonRight = SAMDOM\\Domain Users,CA1\\CertUsers,"
					 "CertUsers\nSeDenyNetworkLogonRight = Guest\n");
	char err[512];
	g_domain_lookups = 0;
	if (logon_reload_policy(l, w->inf_path, err, sizeof(err)) != CERR_OK) {
		fail_msg("reload: %s", err);
	}
	assert_true(g_domain_lookups >= 1);
	rights_policy_t *p = logon_policy(l);
	assert_int_equal(rights_policy_num_sids(p, RIGHTS_NETWORK_LOGON), 2); /* CertUsers twice: one SID */
	/* the domain's Domain Users, not this machine's RID 513 */
	assert_string_equal(S(rights_policy_sid(p, RIGHTS_NETWORK_LOGON, 0)), "S-1-5-21-1-2-3-513");
	char want[ACCT_SID_MAX + 16];
	snprintf(want, sizeof(want), "%s-1002", w->machine);
	assert_string_equal(S(rights_policy_sid(p, RIGHTS_NETWORK_LOGON, 1)), want);
	rights_policy_unref(p);
	logon_free(l);
	world_free(w);
}

static void test_sid_label(void **state)
{
	(void)state;
	world_t *w = world_new(LOGON_AUDIT_ALL);
	char out[256], want[256];
	sid_t s;
	char str[ACCT_SID_MAX + 16];
	snprintf(str, sizeof(str), "%s-1002", w->machine);
	assert_int_equal(sid_parse(&s, str), CERR_OK);
	snprintf(want, sizeof(want), "%s (CERTA\\CertUsers)", str);
	assert_string_equal(logon_sid_label(w->logon, &s, out, sizeof(out)), want);
	snprintf(str, sizeof(str), "%s-501", w->machine);
	assert_int_equal(sid_parse(&s, str), CERR_OK);
	snprintf(want, sizeof(want), "%s (CERTA\\Guest)", str);
	assert_string_equal(logon_sid_label(w->logon, &s, out, sizeof(out)), want);
	s = sid_from_literal("S-1-5-32-545");
	assert_string_equal(logon_sid_label(w->logon, &s, out, sizeof(out)), "S-1-5-32-545 (BUILTIN\\Users)");
	s = sid_from_literal("S-1-5-21-1-2-3-4000");
	assert_string_equal(logon_sid_label(w->logon, &s, out, sizeof(out)), "S-1-5-21-1-2-3-4000");
	world_free(w);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local_token),
		cmocka_unit_test(test_pac_token),
		cmocka_unit_test(test_gss_identity),
		cmocka_unit_test(test_sid_list_and_anonymous),
		cmocka_unit_test(test_rights_and_events),
		cmocka_unit_test(test_failed_context),
		cmocka_unit_test(test_wrong_password_fields),
		cmocka_unit_test(test_anonymous_logon),
		cmocka_unit_test(test_domain_member_names),
		cmocka_unit_test(test_sid_label),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
