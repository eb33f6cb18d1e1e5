/*
 * test_accounts.c - the local accounts store: create/save/reload (mode 0600,
 * atomic), users and groups with case-insensitive names and RIDs never
 * reused, corrupt files reported with file and line, reload on change, and
 * the NTLM lookup callback behind a real acceptor/initiator exchange.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "rpc/ntlm.h"
#include "rpc/ntlm_crypto.h"
#include "security/accounts.h"
#include "util/log.h"
#include "testutil.h"

static char g_dir[64];
static char g_path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(g_dir, sizeof(g_dir), "/tmp/certa_acctXXXXXX");
	if (!mkdtemp(g_dir)) {
		return -1;
	}
	snprintf(g_path, sizeof(g_path), "%s/accounts", g_dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return tu_rmrf(g_dir) ? 0 : -1;
}

/* write_file replaces the accounts file, mode 0600: accounts_open refuses a
 * file others can read. */
static void write_file(const char *text)
{
	tu_write_file(g_path, text);
	chmod(g_path, 0600);
}

static void test_create_and_users(void **state)
{
	(void)state;
	accounts_t *a;
	assert_int_equal(accounts_open(g_path, 0, &a), CERR_NOT_FOUND);
	assert_int_equal(accounts_open(g_path, ACCOUNTS_CREATE | ACCOUNTS_LOCK, &a), CERR_OK);
	struct stat st;
	assert_int_equal(stat(g_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	const char *sid = accounts_domain_sid(a);
	assert_true(accounts_valid_sid(sid));
	assert_int_equal(strncmp(sid, "S-1-5-21-", 9), 0);
	char sid_copy[ACCT_SID_MAX];
	snprintf(sid_copy, sizeof(sid_copy), "%s", sid);

	uint32_t rid = 0;
	assert_int_equal(accounts_user_add(a, "alice", "Password1", &rid), CERR_OK);
	assert_int_equal(rid, 1000);
	assert_int_equal(accounts_user_add(a, "Bob Smith", "pw", &rid), CERR_OK);
	assert_int_equal(rid, 1001);
	assert_int_equal(accounts_user_add(a, "ALICE", "x", &rid), CERR_EXISTS);
	assert_int_equal(accounts_user_add(a, "bad:name", "x", &rid), CERR_INVALID_ARG);
	assert_int_equal(accounts_user_add(a, " lead", "x", &rid), CERR_INVALID_ARG);
	assert_int_equal(accounts_user_add(a, "...", "x", &rid), CERR_INVALID_ARG);
	assert_int_equal(accounts_user_add(a, "tab\there", "x", &rid), CERR_INVALID_ARG);
	assert_int_equal(accounts_user_add(a, "", "x", &rid), CERR_INVALID_ARG);
	/* non-ASCII names compare case-insensitively too */
	assert_int_equal(accounts_user_add(a, "J\xc3\xa9r\xc3\xb4me", "pw", &rid), CERR_OK);
	assert_non_null(accounts_user_find(a, "J\xc3\x89R\xc3\x94ME"));

	const acct_user_t *u = accounts_user_find(a, "Alice");
	assert_non_null(u);
	assert_string_equal(u->name, "alice");
	uint8_t h[16];
	assert_int_equal(ntlm_nt_hash("Password1", h), CERR_OK);
	assert_memory_equal(u->nt_hash, h, 16);
	assert_int_equal(accounts_user_passwd(a, "ALICE", "Password2"), CERR_OK);
	assert_int_equal(ntlm_nt_hash("Password2", h), CERR_OK);
	assert_memory_equal(accounts_user_find(a, "alice")->nt_hash, h, 16);
	assert_int_equal(accounts_user_passwd(a, "nobody", "x"), CERR_NOT_FOUND);
	assert_int_equal(accounts_user_set_disabled(a, "bob smith", true), CERR_OK);
	assert_int_equal(accounts_save(a), CERR_OK);
	accounts_free(a);

	/* reload: same SID, users, flags; the file never holds the password */
	assert_int_equal(accounts_open(g_path, 0, &a), CERR_OK);
	assert_string_equal(accounts_domain_sid(a), sid_copy);
	assert_int_equal(accounts_user_count(a), 3);
	assert_true(accounts_user_find(a, "BOB SMITH")->flags & ACCT_USER_DISABLED);
	assert_memory_equal(accounts_user_find(a, "alice")->nt_hash, h, 16);
	assert_int_equal(accounts_user_by_rid(a, 1001), accounts_user_find(a, "bob smith"));
	FILE *f = fopen(g_path, "r");
	char text[4096] = {0};
	assert_true(fread(text, 1, sizeof(text) - 1, f) > 0);
	fclose(f);
	assert_null(strstr(text, "Password"));

	/* RIDs are not reused after a delete, also across a reload */
	assert_int_equal(accounts_user_del(a, "Bob Smith"), CERR_OK);
	assert_int_equal(accounts_user_del(a, "Bob Smith"), CERR_NOT_FOUND);
	assert_int_equal(accounts_save(a), CERR_OK);
	accounts_free(a);
	assert_int_equal(accounts_open(g_path, 0, &a), CERR_OK);
	assert_int_equal(accounts_user_add(a, "carol", "pw", &rid), CERR_OK);
	assert_int_equal(rid, 1003);
	accounts_free(a);
	/* no temp files left behind */
	char tmpglob[256];
	snprintf(tmpglob, sizeof(tmpglob), "ls %s | grep -c tmp > /dev/null", g_dir);
	assert_int_not_equal(system(tmpglob), 0);
}

static void test_groups(void **state)
{
	(void)state;
	accounts_t *a;
	assert_int_equal(accounts_open(g_path, ACCOUNTS_CREATE, &a), CERR_OK);
	uint32_t rid, grid;
	assert_int_equal(accounts_user_add(a, "alice", "pw", &rid), CERR_OK);
	assert_int_equal(accounts_user_add(a, "bob", "pw", NULL), CERR_OK);
	assert_int_equal(accounts_group_add(a, "CA Requesters", &grid), CERR_OK);
	assert_true(grid > rid);
	/* users and groups share the namespace */
	assert_int_equal(accounts_group_add(a, "ALICE", NULL), CERR_EXISTS);
	assert_int_equal(accounts_user_add(a, "ca requesters", "pw", NULL), CERR_EXISTS);
	assert_int_equal(accounts_group_addmember(a, "ca requesters", "Alice"), CERR_OK);
	assert_int_equal(accounts_group_addmember(a, "CA Requesters", "alice"), CERR_EXISTS);
	assert_int_equal(accounts_group_addmember(a, "CA Requesters", "bob"), CERR_OK);
	assert_int_equal(accounts_group_addmember(a, "CA Requesters", "S-1-5-21-1-2-3-513"), CERR_OK);
	assert_int_equal(accounts_group_addmember(a, "CA Requesters", "nobody"), CERR_NOT_FOUND);
	assert_int_equal(accounts_group_addmember(a, "No Such Group", "bob"), CERR_NOT_FOUND);
	const acct_group_t *g = accounts_group_find(a, "ca REQUESTERS");
	assert_non_null(g);
	assert_int_equal(g->n_members, 3);
	char asid[ACCT_SID_MAX];
	accounts_rid_sid(a, rid, asid);
	assert_true(accounts_group_has_member(g, asid));
	assert_int_equal(accounts_save(a), CERR_OK);
	accounts_free(a);

	assert_int_equal(accounts_open(g_path, 0, &a), CERR_OK);
	g = accounts_group_find(a, "CA Requesters");
	assert_non_null(g);
	assert_int_equal(g->n_members, 3);
	assert_true(accounts_group_has_member(g, "S-1-5-21-1-2-3-513"));
	/* deleting a user removes it from groups */
	assert_int_equal(accounts_user_del(a, "alice"), CERR_OK);
	g = accounts_group_find(a, "CA Requesters");
	assert_int_equal(g->n_members, 2);
	assert_false(accounts_group_has_member(g, asid));
	assert_int_equal(accounts_group_delmember(a, "CA Requesters", "bob"), CERR_OK);
	assert_int_equal(accounts_group_delmember(a, "CA Requesters", "bob"), CERR_NOT_FOUND);
	assert_int_equal(accounts_group_count(a), 1);
	assert_int_equal(accounts_group_del(a, "ca requesters"), CERR_OK);
	assert_int_equal(accounts_group_count(a), 0);
	/* an empty group saves as "-" and reloads */
	assert_int_equal(accounts_group_add(a, "Empty", NULL), CERR_OK);
	assert_int_equal(accounts_save(a), CERR_OK);
	accounts_free(a);
	assert_int_equal(accounts_open(g_path, 0, &a), CERR_OK);
	assert_int_equal(accounts_group_find(a, "empty")->n_members, 0);
	accounts_free(a);
}

static void expect_corrupt(const char *text, const char *where)
{
	write_file(text);
	accounts_t *a = NULL;
	assert_int_equal(accounts_open(g_path, 0, &a), CERR_MALFORMED);
	assert_null(a);
	char want[200];
	snprintf(want, sizeof(want), "%s%s", g_path, where);
	if (strstr(accounts_last_error(), want) == NULL) {
		fail_msg("error '%s' does not name '%s'", accounts_last_error(), want);
	}
}

#define HDR "certa-accounts\t1\ndomain-sid\tS-1-5-21-1-2-3\n"
#define HASH "0123456789abcdef0123456789abcdef"

static void test_corrupt(void **state)
{
	(void)state;
	log_level_t lvl = log_get_level();
	log_set_level(LOG_ERROR + 0);
	expect_corrupt("hello\n", ":1:");
	expect_corrupt("certa-accounts\t9\n", ":1:");
	expect_corrupt("# comment\n\n" HDR "user\talice\t1000\t" HASH "\n", ":5:");
	expect_corrupt(HDR "user\talice\t999\t" HASH "\t-\n", ":3:");
	expect_corrupt(HDR "user\talice\t1000\t0123\t-\n", ":3:");
	expect_corrupt(HDR "user\talice\t1000\t" HASH "\tweird\n", ":3:");
	expect_corrupt(HDR "user\talice\t1000\t" HASH "\t-\nuser\tALICE\t1001\t" HASH "\t-\n", ":4:");
	expect_corrupt(HDR "user\talice\t1000\t" HASH "\t-\ngroup\tg\t1000\t-\n", ":4:");
	expect_corrupt(HDR "group\tg\t1001\tS-1-5-21-1-2-3-1000,notasid\n", ":3:");
	expect_corrupt(HDR "frobnicate\tx\n", ":3:");
	expect_corrupt(HDR "next-rid\t01000\n", ":3:");
	expect_corrupt("certa-accounts\t1\ndomain-sid\tS-1-5-32-544\n", ":2:");
	expect_corrupt(HDR "user\talice\t1000\t" HASH "\t-", ":3:"); /* unterminated */
	expect_corrupt("certa-accounts\t1\n", ": no domain-sid");
	log_set_level(lvl);
	/* a good file with next-rid too low is repaired, not refused */
	write_file(HDR "next-rid\t1000\nuser\talice\t1005\t" HASH "\t-\n");
	accounts_t *a;
	assert_int_equal(accounts_open(g_path, 0, &a), CERR_OK);
	uint32_t rid;
	assert_int_equal(accounts_user_add(a, "bob", "x", &rid), CERR_OK);
	assert_int_equal(rid, 1006);
	accounts_free(a);
}

static void test_sids_and_names(void **state)
{
	(void)state;
	assert_true(accounts_valid_sid("S-1-5-21-1-2-3"));
	assert_true(accounts_valid_sid("S-1-5-32-544"));
	assert_false(accounts_valid_sid("S-1-5"));
	assert_false(accounts_valid_sid("S-1-5-"));
	assert_false(accounts_valid_sid("S-1-5-x"));
	assert_false(accounts_valid_sid("S-1-5-4294967296"));
	assert_false(accounts_valid_sid("S-2-5-1"));
	assert_true(accounts_name_equal("Alice", "aLICE"));
	assert_false(accounts_name_equal("Alice", "Alic"));
	assert_true(accounts_valid_name("first.last"));
	assert_true(accounts_valid_name("svc@example"));
	assert_false(accounts_valid_name("a,b"));
	assert_false(accounts_valid_name("bad\xff"));
}

static void test_ntlm_lookup(void **state)
{
	(void)state;
	accounts_t *a, *b;
	assert_int_equal(accounts_open(g_path, ACCOUNTS_CREATE, &a), CERR_OK);
	assert_int_equal(accounts_user_add(a, "Alice", "Password1", NULL), CERR_OK);
	assert_int_equal(accounts_save(a), CERR_OK);
	ntlm_account_t acct;
	assert_int_equal(accounts_ntlm_lookup(a, "ANYDOMAIN", "alice", &acct), CERR_OK);
	assert_string_equal(acct.user, "Alice");
	assert_false(acct.disabled);
	assert_int_equal(accounts_ntlm_lookup(a, "", "bob", &acct), CERR_STATUS_NO_SUCH_USER);

	/* another process (here: handle) adds bob; the lookup sees it */
	assert_int_equal(accounts_open(g_path, 0, &b), CERR_OK);
	assert_int_equal(accounts_user_add(b, "bob", "pw", NULL), CERR_OK);
	assert_int_equal(accounts_user_set_disabled(b, "alice", true), CERR_OK);
	assert_int_equal(accounts_save(b), CERR_OK);
	accounts_free(b);
	assert_int_equal(accounts_ntlm_lookup(a, "", "BOB", &acct), CERR_OK);
	assert_int_equal(accounts_ntlm_lookup(a, "", "alice", &acct), CERR_OK);
	assert_true(acct.disabled);
	/* a corrupt file on disk keeps the accounts already read */
	log_level_t lvl = log_get_level();
	log_set_level(LOG_ERROR + 0);
	write_file("garbage\n");
	assert_int_equal(accounts_ntlm_lookup(a, "", "bob", &acct), CERR_OK);
	log_set_level(lvl);
	assert_int_equal(accounts_save(a), CERR_OK); /* repair */

	/* end to end: the acceptor's lookup is the store */
	rpc_auth_provider_t p;
	ntlm_acceptor_config_t cfg;
	ntlm_acceptor_config_init(&cfg);
	cfg.nb_domain = "WORKGROUP";
	cfg.nb_computer = "CA1";
	cfg.lookup = accounts_ntlm_lookup;
	cfg.lookup_arg = a;
	assert_int_equal(ntlm_acceptor_provider(&p, &cfg), CERR_OK);
	const char *users[2] = {"BOB", "alice"};
	const cerr_t want[2] = {CERR_OK, CERR_STATUS_ACCOUNT_DISABLED};
	for (int i = 0; i < 2; i++) {
		ntlm_client_t *cli = ntlm_client_new(users[i], "CA1", i == 0 ? "pw" : "Password1", "WS");
		rpc_auth_ctx_t *ctx;
		buf_t t1, t2, t3;
		buf_init(&t1, 0);
		buf_init(&t2, 0);
		buf_init(&t3, 0);
		cur_t c;
		assert_int_equal(p.ctx_new(p.data, &ctx), CERR_OK);
		assert_int_equal(ntlm_client_negotiate(cli, &t1), CERR_OK);
		cur_init(&c, t1.data, t1.len);
		assert_int_equal(p.step(ctx, &c, &t2), CERR_STATUS_MORE_PROCESSING_REQUIRED);
		cur_init(&c, t2.data, t2.len);
		assert_int_equal(ntlm_client_authenticate(cli, &c, &t3), CERR_OK);
		cur_init(&c, t3.data, t3.len);
		assert_int_equal(p.step(ctx, &c, &t1), want[i]);
		if (want[i] == CERR_OK) {
			assert_string_equal(p.identity(ctx)->user, "bob");
			assert_string_equal(p.identity(ctx)->domain, "CA1");
		}
		p.ctx_free(ctx);
		ntlm_client_free(cli);
		buf_free(&t1);
		buf_free(&t2);
		buf_free(&t3);
	}
	ntlm_provider_cleanup(&p);
	accounts_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_and_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_groups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
		cmocka_unit_test(test_sids_and_names),
		cmocka_unit_test_setup_teardown(test_ntlm_lookup, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
