/* test_dcom_security.c - services/dcom_security.c: the hook's decisions on
 * access tokens with Windows' CA defaults (a network user activates through
 * Certificate Service DCOM Access, ANONYMOUS LOGON is refused remote
 * activation and remote access), the KB5004442 level check and its switch,
 * the CD group's members from the accounts store replacing Authenticated
 * Users, configured descriptors with deny entries, per-class launch and
 * access permissions, bad SDDL with its source, and the events (10027,
 * 10036, 10016, 10017) with the answer the exporter sends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "events/events.h"
#include "rpc/pdu.h"
#include "security/accounts.h"
#include "security/sid.h"
#include "security/token.h"
#include "services/dcom_security.h"
#include "util/log.h"

static const guid_t CLSID_CERTSRV = {0xd99e6e74, 0xfc88, 0x11d0, {0xb4, 0x98, 0x00, 0xa0, 0xc9, 0x03, 0x12, 0xf3}};
static const guid_t CLSID_OTHER = {0x11111111, 0x2222, 0x3333, {0x44, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55}};
static const guid_t IID_REQ = {0xd99e6e70, 0xfc88, 0x11d0, {0xb4, 0x98, 0x00, 0xa0, 0xc9, 0x03, 0x12, 0xf3}};
static const guid_t NIL = {0};

typedef struct world {
	char dir[64];
	char events_path[128];
	char accounts_path[128];
	events_t *events;
	accounts_t *acc;
	pthread_mutex_t lock;
	char alice_sid[ACCT_SID_MAX];
	char bob_sid[ACCT_SID_MAX];
	token_t *alice, *bob, *anon;
} world_t;

static world_t *world_new(void)
{
	world_t *w = calloc(1, sizeof(*w));
	snprintf(w->dir, sizeof(w->dir), "/tmp/certa-dsec-XXXXXX");
	assert_non_null(mkdtemp(w->dir));
	snprintf(w->events_path, sizeof(w->events_path), "%s/events.jsonl", w->dir);
	snprintf(w->accounts_path, sizeof(w->accounts_path), "%s/accounts", w->dir);
	assert_int_equal(events_open(w->events_path, 0, &w->events), CERR_OK);
	assert_int_equal(accounts_open(w->accounts_path, ACCOUNTS_CREATE, &w->acc), CERR_OK);
	uint32_t rid;
	assert_int_equal(accounts_user_add(w->acc, "alice", "pw-Alice1", &rid), CERR_OK);
	accounts_rid_sid(w->acc, rid, w->alice_sid);
	assert_int_equal(accounts_user_add(w->acc, "bob", "pw-Bob1", &rid), CERR_OK);
	accounts_rid_sid(w->acc, rid, w->bob_sid);
	assert_int_equal(accounts_save(w->acc), CERR_OK);
	pthread_mutex_init(&w->lock, NULL);
	assert_int_equal(token_from_sid_strings("alice", "CERTA", w->alice_sid, NULL, 0, TOKEN_AUTH_NTLM, &w->alice),
			 CERR_OK);
	assert_int_equal(token_from_sid_strings("bob", "CERTA", w->bob_sid, NULL, 0, TOKEN_AUTH_NTLM, &w->bob),
			 CERR_OK);
	assert_int_equal(token_new_anonymous(false, &w->anon), CERR_OK);
	return w;
}

static void world_free(world_t *w)
{
	events_close(w->events);
	accounts_free(w->acc);
	pthread_mutex_destroy(&w->lock);
	token_unref(w->alice);
	token_unref(w->bob);
	token_unref(w->anon);
	unlink(w->events_path);
	unlink(w->accounts_path);
	char lockp[160];
	snprintf(lockp, sizeof(lockp), "%s.lock", w->accounts_path);
	unlink(lockp);
	rmdir(w->dir);
	free(w);
}

static dcom_security_t *sec_new(world_t *w, const char *launch, const char *access, bool integrity)
{
	dcom_security_config_t cfg = {
		.events = w->events,
		.accounts = w->acc,
		.accounts_lock = &w->lock,
		.machine_launch = {.sddl = launch, .source = "test.conf:3"},
		.machine_access = {.sddl = access, .source = "test.conf:4"},
		.require_integrity_activation = integrity,
	};
	dcom_security_t *s = NULL;
	char err[256];
	assert_int_equal(dcom_security_new(&cfg, &s, err, sizeof(err)), CERR_OK);
	/* the CertSrv Request application's own permissions (sd.h defaults) */
	dcom_security_sddl_t l = {.sddl = sd_default_certsrv_request_launch_sddl};
	dcom_security_sddl_t a = {.sddl = sd_default_certsrv_request_access_sddl};
	assert_int_equal(dcom_security_add_class(s, &CLSID_CERTSRV, &CLSID_CERTSRV, "CertSrv Request", &l, &a, err,
						 sizeof(err)),
			 CERR_OK);
	assert_int_equal(dcom_security_add_class(s, &CLSID_CERTSRV, NULL, "again", NULL, NULL, err, sizeof(err)),
			 CERR_EXISTS);
	return s;
}

static rpc_identity_t ident_ntlm = {.user = "x", .domain = "CERTA", .package = "NTLM"};

/* conn_for: the connection a caller with token t has at level (NONE: unauthenticated). */
static rpc_conn_info_t conn_for(token_t *t, uint8_t level)
{
	rpc_conn_info_t c = {.peer_addr = "192.0.2.9", .peer_port = 50000, .local_addr = "192.0.2.1",
			     .local_port = 135};
	if (level > RPC_AUTH_LEVEL_NONE) {
		c.auth_type = RPC_AUTH_WINNT;
		c.auth_level = level;
		c.identity = &ident_ntlm;
		c.principal = t;
	} else {
		c.auth_type = RPC_AUTH_NONE;
		c.auth_level = RPC_AUTH_LEVEL_NONE;
	}
	return c;
}

static dcom_check_t activation(const rpc_conn_info_t *c, const guid_t *clsid)
{
	return (dcom_check_t){.kind = DCOM_CHECK_ACTIVATE, .conn = c, .clsid = clsid};
}

static dcom_check_t call(const rpc_conn_info_t *c, const guid_t *clsid)
{
	return (dcom_check_t){.kind = DCOM_CHECK_CALL, .conn = c, .clsid = clsid, .iid = &IID_REQ, .opnum = 3};
}

/* the events logged so far */
typedef struct seen {
	size_t n;
	uint32_t id[16];
	char msg[16][1024];
	char user_sid[16][64];
	char addr[16][64];
	char status[16][16];
	char permission[16][32];
	char groups[16][2048];
	char source[16][64];
} seen_t;

static bool on_event(const events_record_t *r, void *ud)
{
	seen_t *s = ud;
	if (s->n >= 16) {
		return false;
	}
	s->id[s->n] = r->id;
	const char *v;
	snprintf(s->msg[s->n], sizeof(s->msg[0]), "%s", (v = events_record_get(r, "Message")) ? v : "");
	snprintf(s->user_sid[s->n], sizeof(s->user_sid[0]), "%s", (v = events_record_get(r, "TargetUserSid")) ? v : "");
	snprintf(s->addr[s->n], sizeof(s->addr[0]), "%s", (v = events_record_get(r, "IpAddress")) ? v : "");
	snprintf(s->status[s->n], sizeof(s->status[0]), "%s", (v = events_record_get(r, "Status")) ? v : "");
	snprintf(s->permission[s->n], sizeof(s->permission[0]), "%s",
		 (v = events_record_get(r, "Permission")) ? v : "");
	snprintf(s->groups[s->n], sizeof(s->groups[0]), "%s", (v = events_record_get(r, "Groups")) ? v : "");
	snprintf(s->source[s->n], sizeof(s->source[0]), "%s", r->source ? r->source : "");
	s->n++;
	return true;
}

static seen_t *events_of(world_t *w)
{
	static seen_t s;
	memset(&s, 0, sizeof(s));
	size_t bad = 0;
	assert_int_equal(events_read(w->events_path, on_event, &s, &bad), CERR_OK);
	assert_int_equal(bad, 0);
	return &s;
}

/* ------------------------------------------------------------------ */

static void test_defaults(void **state)
{
	world_t *w = world_new();
	dcom_security_t *s = sec_new(w, NULL, NULL, true);
	const char *why = NULL;

	/* a network user: Authenticated Users -> Certificate Service DCOM
	 * Access, which the CA's MachineLaunchRestriction grants remote activation */
	rpc_conn_info_t c = conn_for(w->alice, RPC_AUTH_LEVEL_PKT_INTEGRITY);
	dcom_check_t req = activation(&c, &CLSID_CERTSRV);
	assert_int_equal(dcom_security_decide(s, &req, w->alice, &why), DCOM_ALLOW);
	assert_int_equal(dcom_security_check(s, &req), CERR_OK);
	c = conn_for(w->alice, RPC_AUTH_LEVEL_PKT_PRIVACY);
	req = activation(&c, &CLSID_CERTSRV);
	assert_int_equal(dcom_security_check(s, &req), CERR_OK);
	/* and calls: Everyone has remote access */
	req = call(&c, &CLSID_CERTSRV);
	assert_int_equal(dcom_security_check(s, &req), CERR_OK);
	req = call(&c, &NIL); /* the exporter's own IRemUnknown */
	assert_int_equal(dcom_security_check(s, &req), CERR_OK);
	/* a class without its own permissions: the machine-wide limits only */
	req = activation(&c, &CLSID_OTHER);
	assert_int_equal(dcom_security_check(s, &req), CERR_OK);
	assert_int_equal(events_of(w)->n, 0);

	/* ANONYMOUS LOGON (unauthenticated): no remote activation anywhere */
	c = conn_for(NULL, RPC_AUTH_LEVEL_NONE);
	req = activation(&c, &CLSID_CERTSRV);
	assert_int_equal(dcom_security_decide(s, &req, w->anon, &why), DCOM_DENY_MACHINE_LAUNCH);
	assert_non_null(strstr(why, "MachineLaunchRestriction (built-in default)"));
	assert_int_equal(dcom_security_check(s, &req), CERR_NCA_S_FAULT_ACCESS_DENIED);
	seen_t *e = events_of(w);
	assert_int_equal(e->n, 1);
	assert_int_equal(e->id[0], EVENT_DCOM_MACHINE_LIMIT);
	assert_string_equal(e->source[0], EVENTS_SOURCE_DCOM);
	assert_string_equal(e->msg[0],
			    "The machine wide limit settings do not grant Remote Activation permission for COM Server "
			    "applications to the user NT AUTHORITY\\ANONYMOUS LOGON SID (S-1-5-7) from address 192.0.2.9 "
			    "running in the application container Unavailable SID (Unavailable). This security permission "
			    "can be modified in [dcom] machine_launch_restriction in certad.conf, or the members of the "
			    "local group 'Certificate Service DCOM Access' (certa group).");
	assert_string_equal(e->user_sid[0], "S-1-5-7");
	assert_string_equal(e->addr[0], "192.0.2.9");
	assert_string_equal(e->status[0], "0x00000005");
	/* its token is S-1-5-7 alone: no Everyone, no Certificate Service DCOM Access */
	assert_string_equal(e->groups[0], "");

	/* the same through an NTLM null session */
	rpc_identity_t anon_id = {.user = "ANONYMOUS LOGON", .domain = "NT AUTHORITY", .package = "NTLM",
				  .anonymous = true};
	c = conn_for(w->anon, RPC_AUTH_LEVEL_PKT_INTEGRITY);
	c.identity = &anon_id;
	req = activation(&c, &CLSID_CERTSRV);
	assert_int_equal(dcom_security_check(s, &req), CERR_NCA_S_FAULT_ACCESS_DENIED);
	/* and ANONYMOUS LOGON has local access only: a call is refused too */
	req = call(&c, &CLSID_CERTSRV);
	assert_int_equal(dcom_security_check(s, &req), CERR_NCA_S_FAULT_ACCESS_DENIED);
	e = events_of(w);
	assert_int_equal(e->n, 3);
	assert_int_equal(e->id[2], EVENT_DCOM_MACHINE_LIMIT);
	assert_string_equal(e->permission[2], "Remote Access");
	assert_non_null(strstr(e->msg[2], "do not grant Remote Access permission"));

	dcom_security_free(s);
	world_free(w);
}

static void test_integrity(void **state)
{
	world_t *w = world_new();
	dcom_security_t *s = sec_new(w, NULL, NULL, true);
	/* KB5004442: CONNECT (and CALL, PKT) activations are refused with
	 * E_ACCESSDENIED and 10036; calls on objects are not this check's */
	for (uint8_t level = RPC_AUTH_LEVEL_CONNECT; level < RPC_AUTH_LEVEL_PKT_INTEGRITY; level++) {
		rpc_conn_info_t c = conn_for(w->alice, level);
		dcom_check_t req = activation(&c, &CLSID_CERTSRV);
		const char *why;
		assert_int_equal(dcom_security_decide(s, &req, w->alice, &why), DCOM_DENY_AUTHN_LEVEL);
		assert_non_null(strstr(why, "KB5004442"));
		assert_int_equal(dcom_security_check(s, &req), CERR_E_ACCESSDENIED);
		req = call(&c, &CLSID_CERTSRV);
		assert_int_equal(dcom_security_check(s, &req), CERR_OK);
	}
	seen_t *e = events_of(w);
	assert_int_equal(e->n, 3);
	char want[512];
	snprintf(want, sizeof(want),
		 "The server-side authentication level policy does not allow the user CERTA\\alice SID (%s) from "
		 "address 192.0.2.9 to activate DCOM server. Please raise the activation authentication level at "
		 "least to RPC_C_AUTHN_LEVEL_PKT_INTEGRITY in client application.",
		 w->alice_sid);
	assert_int_equal(e->id[0], EVENT_DCOM_AUTHN_LEVEL);
	assert_string_equal(e->msg[0], want);
	assert_string_equal(e->status[0], "0x80070005");
	assert_non_null(strstr(e->groups[0], "S-1-5-32-574"));
	dcom_security_free(s);

	/* require_integrity_activation = off: CONNECT activates */
	s = sec_new(w, NULL, NULL, false);
	rpc_conn_info_t c = conn_for(w->alice, RPC_AUTH_LEVEL_CONNECT);
	dcom_check_t req = activation(&c, &CLSID_CERTSRV);
	assert_int_equal(dcom_security_check(s, &req), CERR_OK);
	/* an unauthenticated caller still meets the launch limits first */
	c = conn_for(NULL, RPC_AUTH_LEVEL_NONE);
	req = activation(&c, &CLSID_CERTSRV);
	assert_int_equal(dcom_security_check(s, &req), CERR_NCA_S_FAULT_ACCESS_DENIED);
	dcom_security_free(s);
	world_free(w);
}

static void test_cd_group(void **state)
{
	world_t *w = world_new();
	dcom_security_t *s = sec_new(w, NULL, NULL, true);
	rpc_conn_info_t ca = conn_for(w->alice, RPC_AUTH_LEVEL_PKT_PRIVACY);
	rpc_conn_info_t cb = conn_for(w->bob, RPC_AUTH_LEVEL_PKT_PRIVACY);
	dcom_check_t ra = activation(&ca, &CLSID_CERTSRV), rb = activation(&cb, &CLSID_CERTSRV);
	assert_int_equal(dcom_security_check(s, &rb), CERR_OK);

	/* the local group "Certificate Service DCOM Access" with alice alone
	 * replaces Authenticated Users: bob is no longer a member (another
	 * process saves the store, as `certa group` does) */
	accounts_t *other = NULL;
	assert_int_equal(accounts_open(w->accounts_path, 0, &other), CERR_OK);
	uint32_t rid;
	assert_int_equal(accounts_group_add(other, DCOM_SECURITY_CD_GROUP, &rid), CERR_OK);
	assert_int_equal(accounts_group_addmember(other, DCOM_SECURITY_CD_GROUP, "alice"), CERR_OK);
	sleep(1); /* a new mtime for accounts_refresh */
	assert_int_equal(accounts_save(other), CERR_OK);
	accounts_free(other);

	assert_int_equal(dcom_security_check(s, &ra), CERR_OK);
	const char *why;
	assert_int_equal(dcom_security_decide(s, &rb, w->bob, &why), DCOM_DENY_MACHINE_LAUNCH);
	assert_int_equal(dcom_security_check(s, &rb), CERR_NCA_S_FAULT_ACCESS_DENIED);
	seen_t *e = events_of(w);
	assert_int_equal(e->n, 1);
	assert_int_equal(e->id[0], EVENT_DCOM_MACHINE_LIMIT);
	assert_non_null(strstr(e->msg[0], "to the user CERTA\\bob SID (S-1-5-21-"));
	assert_null(strstr(e->groups[0], "S-1-5-32-574"));
	/* bob may still call objects: access is Everyone's */
	dcom_check_t cbk = call(&cb, &CLSID_CERTSRV);
	assert_int_equal(dcom_security_check(s, &cbk), CERR_OK);

	/* granted by name in a configured MachineLaunchRestriction instead */
	char sddl[512];
	snprintf(sddl, sizeof(sddl), "%s(A;;CCSWRP;;;%s)", sd_default_machine_launch_restriction_ca_sddl, w->bob_sid);
	dcom_security_t *s2 = sec_new(w, sddl, NULL, true);
	assert_int_equal(dcom_security_check(s2, &rb), CERR_OK);
	dcom_security_free(s2);

	/* a deny entry beats the group */
	snprintf(sddl, sizeof(sddl), "O:BAG:BAD:(D;;RP;;;%s)(A;;CCDCLCSWRP;;;WD)", w->alice_sid);
	s2 = sec_new(w, sddl, NULL, true);
	assert_int_equal(dcom_security_decide(s2, &ra, w->alice, &why), DCOM_DENY_MACHINE_LAUNCH);
	assert_non_null(strstr(why, "test.conf:3"));
	dcom_security_free(s2);
	dcom_security_free(s);
	world_free(w);
}

static void test_class_permissions(void **state)
{
	world_t *w = world_new();
	char err[256];
	dcom_security_config_t cfg = {.events = w->events, .require_integrity_activation = true};
	dcom_security_t *s = NULL;
	assert_int_equal(dcom_security_new(&cfg, &s, err, sizeof(err)), CERR_OK);
	/* a class that only Administrators may activate and call */
	dcom_security_sddl_t l = {.sddl = "O:BAG:BAD:(A;;CCDCLCSWRP;;;BA)", .source = "test.conf:7"};
	dcom_security_sddl_t a = {.sddl = "O:BAG:BAD:(A;;CCDCLC;;;BA)", .source = "test.conf:8"};
	guid_t appid = CLSID_OTHER;
	appid.d1 = 0xabcdef01;
	assert_int_equal(dcom_security_add_class(s, &CLSID_OTHER, &appid, "Other", &l, &a, err, sizeof(err)), CERR_OK);
	rpc_conn_info_t c = conn_for(w->alice, RPC_AUTH_LEVEL_PKT_PRIVACY);
	dcom_check_t req = activation(&c, &CLSID_OTHER);
	const char *why;
	assert_int_equal(dcom_security_decide(s, &req, w->alice, &why), DCOM_DENY_APP_LAUNCH);
	assert_non_null(strstr(why, "LaunchPermission (test.conf:7)"));
	assert_int_equal(dcom_security_check(s, &req), CERR_E_ACCESSDENIED);
	req = call(&c, &CLSID_OTHER);
	assert_int_equal(dcom_security_check(s, &req), CERR_NCA_S_FAULT_ACCESS_DENIED);
	seen_t *e = events_of(w);
	assert_int_equal(e->n, 2);
	assert_int_equal(e->id[0], EVENT_DCOM_APP_LAUNCH);
	assert_non_null(strstr(e->msg[0], "The application-specific permission settings do not grant Remote Activation "
					  "permission for the COM Server application with CLSID "
					  "{11111111-2222-3333-4444-555555555555} and APPID "
					  "{ABCDEF01-2222-3333-4444-555555555555} to the user CERTA\\alice"));
	assert_string_equal(e->status[0], "0x80070005");
	assert_int_equal(e->id[1], EVENT_DCOM_APP_ACCESS);
	assert_non_null(strstr(e->msg[1], "do not grant Remote access permission to the COM Server application Other"));
	assert_string_equal(e->status[1], "0x00000005");
	dcom_security_free(s);
	world_free(w);
}

static void test_bad_sddl(void **state)
{
	world_t *w = world_new();
	char err[256];
	dcom_security_t *s = NULL;
	dcom_security_config_t cfg = {.machine_launch = {.sddl = "O:BAG:BAD:(X;;CC;;;WD)", .source = "certad.conf:12"}};
	assert_int_equal(dcom_security_new(&cfg, &s, err, sizeof(err)), CERR_CONFIG);
	assert_null(s);
	assert_non_null(strstr(err, "certad.conf:12: machine_launch_restriction: at offset "));
	cfg = (dcom_security_config_t){.machine_access = {.sddl = "D:(A;;CC;;;WD", .source = "certad.conf:13"}};
	assert_int_equal(dcom_security_new(&cfg, &s, err, sizeof(err)), CERR_CONFIG);
	assert_non_null(strstr(err, "certad.conf:13: machine_access_restriction: at offset"));
	cfg = (dcom_security_config_t){0};
	assert_int_equal(dcom_security_new(&cfg, &s, err, sizeof(err)), CERR_OK);
	dcom_security_sddl_t bad = {.sddl = "D:(A;;ZZ;;;WD)", .source = "certad.conf:14"};
	assert_int_equal(dcom_security_add_class(s, &CLSID_CERTSRV, NULL, "CertSrv Request", &bad, NULL, err, sizeof(err)),
			 CERR_CONFIG);
	assert_non_null(strstr(err, "certad.conf:14: launch permission of CertSrv Request: at offset"));
	dcom_security_free(s);
	world_free(w);
}

static void test_hooks(void **state)
{
	world_t *w = world_new();
	dcom_security_t *s = sec_new(w, NULL, NULL, true);
	dcom_security_hooks_t h;
	dcom_security_hooks(s, &h);
	assert_ptr_equal(h.arg, s);
	assert_ptr_equal(h.check, dcom_security_check);
	assert_string_equal(dcom_security_verdict_name(DCOM_DENY_MACHINE_LAUNCH), "machine-launch");
	/* no token at all (no hook set a principal): ANONYMOUS LOGON */
	rpc_conn_info_t c = conn_for(NULL, RPC_AUTH_LEVEL_PKT_PRIVACY);
	c.principal = NULL;
	dcom_check_t req = activation(&c, &CLSID_CERTSRV);
	assert_int_equal(h.check(h.arg, &req), CERR_NCA_S_FAULT_ACCESS_DENIED);
	dcom_security_free(s);
	dcom_security_free(NULL);
	world_free(w);
}

int main(void)
{
	log_set_level(getenv("TEST_DEBUG") ? LOG_DEBUG : LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_integrity),
		cmocka_unit_test(test_cd_group),
		cmocka_unit_test(test_class_permissions),
		cmocka_unit_test(test_bad_sddl),
		cmocka_unit_test(test_hooks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
