/* test_token.c - access tokens: the SIDs each builder adds, deny-only groups,
 * alias expansion, limits and sharing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "security/token.h"

static bool has(const token_t *t, const char *sid)
{
	sid_t s = sid_from_literal(sid);
	return token_has_sid(t, &s);
}

/* group_index is the position of sid among t's groups, or -1. */
static int group_index(const token_t *t, const char *sid)
{
	sid_t s = sid_from_literal(sid);
	for (size_t i = 0; i < token_num_groups(t); i++) {
		if (sid_equal(&token_group(t, i)->sid, &s)) {
			return (int)i;
		}
	}
	return -1;
}

static void test_anonymous(void **state)
{
	(void)state;
	token_t *t;
	char s[SID_STR_MAX];
	assert_int_equal(token_new_anonymous(false, &t), CERR_OK);
	assert_true(token_is_anonymous(t));
	assert_int_equal(token_auth(t), TOKEN_AUTH_ANONYMOUS);
	assert_string_equal(sid_format(token_user_sid(t), s), "S-1-5-7");
	assert_string_equal(token_account_name(t), "NT AUTHORITY\\ANONYMOUS LOGON");
	assert_true(has(t, SID_S_ANONYMOUS));
	assert_false(has(t, SID_S_EVERYONE));
	assert_false(has(t, SID_S_AUTHENTICATED_USERS));
	assert_int_equal(token_num_groups(t), 0);
	token_unref(t);

	assert_int_equal(token_new_anonymous(true, &t), CERR_OK);
	assert_true(has(t, SID_S_EVERYONE));
	assert_false(has(t, SID_S_AUTHENTICATED_USERS));
	token_unref(t);
}

/* A PAC as pac_decode leaves it: CONTOSO\alice, primary group 513, groups
 * 513 and 512, extra S-1-18-1 and a deny-only SID. */
static void make_pac(pac_t *pac, pac_group_t groups[4])
{
	memset(pac, 0, sizeof(*pac));
	pac->has_logon_info = true;
	pac->logon.effective_name = "alice";
	pac->logon.logon_domain_name = "CONTOSO";
	pac->logon.logon_domain_sid = sid_from_literal("S-1-5-21-1-2-3");
	pac->logon.user_id = 1105;
	pac->logon.primary_group_id = 513;
	pac->user_sid = sid_from_literal("S-1-5-21-1-2-3-1105");
	pac->primary_group_sid = sid_from_literal("S-1-5-21-1-2-3-513");
	groups[0] = (pac_group_t){sid_from_literal("S-1-5-21-1-2-3-513"), 7, PAC_GROUP_DOMAIN};
	groups[1] = (pac_group_t){sid_from_literal("S-1-5-21-1-2-3-512"), 7, PAC_GROUP_DOMAIN};
	groups[2] = (pac_group_t){sid_from_literal("S-1-18-1"), 7, PAC_GROUP_EXTRA};
	groups[3] = (pac_group_t){sid_from_literal("S-1-5-21-1-2-3-1300"), SE_GROUP_USE_FOR_DENY_ONLY,
				  PAC_GROUP_EXTRA};
	pac->groups = groups;
	pac->num_groups = 4;
}

static void test_from_pac(void **state)
{
	(void)state;
	pac_t pac;
	pac_group_t groups[4];
	make_pac(&pac, groups);
	token_t *t;
	char s[SID_STR_MAX];
	assert_int_equal(token_from_pac(&pac, TOKEN_AUTH_KERBEROS, &t), CERR_OK);
	assert_false(token_is_anonymous(t));
	assert_string_equal(sid_format(token_user_sid(t), s), "S-1-5-21-1-2-3-1105");
	assert_string_equal(token_account_name(t), "CONTOSO\\alice");
	assert_string_equal(token_user_name(t), "alice");
	assert_string_equal(token_domain_name(t), "CONTOSO");
	/* primary group first, each SID once */
	assert_int_equal(group_index(t, "S-1-5-21-1-2-3-513"), 0);
	assert_int_equal(group_index(t, "S-1-5-21-1-2-3-512"), 1);
	assert_true(has(t, "S-1-18-1"));
	/* what a network logon adds */
	assert_true(has(t, SID_S_EVERYONE));
	assert_true(has(t, SID_S_NETWORK));
	assert_true(has(t, SID_S_AUTHENTICATED_USERS));
	assert_true(has(t, SID_S_THIS_ORGANIZATION));
	assert_false(has(t, SID_S_NTLM_AUTHENTICATION)); /* Kerberos */
	assert_false(has(t, SID_S_LOCAL_ACCOUNT));
	assert_int_equal(token_num_groups(t), 8);
	assert_int_equal(group_index(t, SID_S_THIS_ORGANIZATION), 7);
	assert_null(token_group(t, 8));
	/* deny-only: matched for deny, never for allow */
	sid_t deny_only = sid_from_literal("S-1-5-21-1-2-3-1300");
	assert_true(token_has_sid(t, &deny_only));
	assert_false(token_has_enabled_sid(t, &deny_only));
	sid_t admins = sid_from_literal("S-1-5-21-1-2-3-512");
	assert_true(token_has_enabled_sid(t, &admins));
	assert_true(token_has_enabled_sid(t, token_user_sid(t)));
	sid_t nobody = sid_from_literal("S-1-5-21-1-2-3-9999");
	assert_false(token_has_sid(t, &nobody));

	char d[2048];
	token_describe(t, d, sizeof(d));
	assert_non_null(strstr(d, "CONTOSO\\alice (S-1-5-21-1-2-3-1105) via Kerberos"));
	assert_non_null(strstr(d, "S-1-1-0 (Everyone)"));
	assert_non_null(strstr(d, "S-1-5-21-1-2-3-1300 [deny-only]"));
	/* truncation is safe */
	char tiny[16];
	token_describe(t, tiny, sizeof(tiny));
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);

	/* shared: the last unref frees (ASan checks) */
	token_t *again = token_ref(t);
	assert_ptr_equal(again, t);
	token_unref(t);
	assert_string_equal(token_account_name(again), "CONTOSO\\alice");
	token_unref(again);
	token_unref(NULL);
	assert_null(token_ref(NULL));

	/* guests never get Authenticated Users */
	pac.logon.user_flags = PAC_LOGON_GUEST;
	assert_int_equal(token_from_pac(&pac, TOKEN_AUTH_KERBEROS, &t), CERR_OK);
	assert_false(has(t, SID_S_AUTHENTICATED_USERS));
	assert_true(has(t, SID_S_EVERYONE));
	token_unref(t);

	/* selective authentication: Other Organization replaces This Organization */
	pac.logon.user_flags = 0;
	groups[2].sid = sid_from_literal("S-1-5-1000");
	assert_int_equal(token_from_pac(&pac, TOKEN_AUTH_KERBEROS, &t), CERR_OK);
	assert_true(has(t, "S-1-5-1000"));
	assert_false(has(t, SID_S_THIS_ORGANIZATION));
	token_unref(t);

	pac.has_logon_info = false;
	assert_int_equal(token_from_pac(&pac, TOKEN_AUTH_KERBEROS, &t), CERR_INVALID_ARG);
	assert_int_equal(token_from_pac(NULL, TOKEN_AUTH_KERBEROS, &t), CERR_INVALID_ARG);
}

static void test_from_sid_strings(void **state)
{
	(void)state;
	/* as winbind reports them: user, primary group, other groups, some well-known */
	const char *groups[] = {"S-1-5-21-1-2-3-513", "S-1-5-32-545", "S-1-1-0", "S-1-5-21-1-2-3-513"};
	token_t *t;
	assert_int_equal(token_from_sid_strings("bob", "CONTOSO", "S-1-5-21-1-2-3-1106", groups, 4,
						TOKEN_AUTH_NTLM, &t),
			 CERR_OK);
	assert_string_equal(token_account_name(t), "CONTOSO\\bob");
	assert_true(has(t, "S-1-5-32-545"));
	assert_true(has(t, SID_S_NTLM_AUTHENTICATION));
	assert_true(has(t, SID_S_NETWORK));
	/* duplicates collapse: 513, 545, S-1-1-0, NETWORK, AU, This Org, NTLM */
	assert_int_equal(token_num_groups(t), 7);
	assert_int_equal(token_group(t, 0)->attributes, SE_GROUP_DEFAULT_ATTRS);
	assert_string_equal(token_auth_name(token_auth(t)), "NTLM");
	token_unref(t);

	const char *bad[] = {"S-1-5-21-1-2-3-513", "S-1-5-oops"};
	assert_int_equal(token_from_sid_strings("bob", "CONTOSO", "S-1-5-21-1-2-3-1106", bad, 2,
						TOKEN_AUTH_NTLM, &t),
			 CERR_MALFORMED);
	assert_int_equal(token_from_sid_strings("bob", "CONTOSO", "nope", NULL, 0, TOKEN_AUTH_NTLM, &t),
			 CERR_MALFORMED);
	assert_int_equal(token_from_sid_strings("bob", "CONTOSO", NULL, NULL, 0, TOKEN_AUTH_NTLM, &t),
			 CERR_INVALID_ARG);
	/* the domain's Guest account (RID 501) gets no Authenticated Users */
	assert_int_equal(token_from_sid_strings("Guest", "CA1", "S-1-5-21-7-8-9-501", NULL, 0, TOKEN_AUTH_NTLM,
						&t),
			 CERR_OK);
	assert_false(has(t, SID_S_AUTHENTICATED_USERS));
	assert_true(has(t, SID_S_EVERYONE));
	token_unref(t);
	/* no domain: the account name is the user name */
	assert_int_equal(token_from_sid_strings("carol", NULL, "S-1-5-21-7-8-9-1000", NULL, 0, TOKEN_AUTH_NTLM, &t),
			 CERR_OK);
	assert_string_equal(token_account_name(t), "carol");
	token_unref(t);
}

static void test_local_account(void **state)
{
	(void)state;
	sid_t groups[] = {sid_from_literal("S-1-5-21-7-8-9-513"), sid_from_literal(SID_S_BUILTIN_ADMINISTRATORS),
			  sid_from_literal(SID_S_BUILTIN_USERS)};
	token_local_account_t acct = {
		.name = "admin",
		.domain = "CA1",
		.user_sid = sid_from_literal("S-1-5-21-7-8-9-1001"),
		.groups = groups,
		.num_groups = 3,
	};
	token_t *t;
	assert_int_equal(token_from_local_account(&acct, TOKEN_AUTH_NTLM, &t), CERR_OK);
	assert_string_equal(token_account_name(t), "CA1\\admin");
	assert_true(has(t, SID_S_LOCAL_ACCOUNT));
	assert_true(has(t, SID_S_LOCAL_ACCOUNT_AND_ADMIN));
	assert_true(has(t, SID_S_BUILTIN_ADMINISTRATORS));
	assert_true(has(t, SID_S_NTLM_AUTHENTICATION));
	assert_true(has(t, SID_S_AUTHENTICATED_USERS));
	token_unref(t);

	acct.num_groups = 1; /* not an administrator */
	assert_int_equal(token_from_local_account(&acct, TOKEN_AUTH_NTLM, &t), CERR_OK);
	assert_true(has(t, SID_S_LOCAL_ACCOUNT));
	assert_false(has(t, SID_S_LOCAL_ACCOUNT_AND_ADMIN));
	token_unref(t);

	acct.groups = NULL;
	assert_int_equal(token_from_local_account(&acct, TOKEN_AUTH_NTLM, &t), CERR_INVALID_ARG);
	assert_int_equal(token_from_local_account(NULL, TOKEN_AUTH_NTLM, &t), CERR_INVALID_ARG);
}

static void test_aliases(void **state)
{
	(void)state;
	/* the CA's own SAM: BUILTIN\Users holds Authenticated Users and Domain Users;
	 * Certificate Service DCOM Access holds a group alice is not in */
	sid_t users_members[] = {sid_from_literal(SID_S_AUTHENTICATED_USERS), sid_from_literal("S-1-5-21-1-2-3-513")};
	sid_t cd_members[] = {sid_from_literal("S-1-5-21-1-2-3-7777")};
	sid_t deny_members[] = {sid_from_literal("S-1-5-21-1-2-3-1300")}; /* deny-only in alice's token */
	token_alias_t aliases[] = {
		{sid_from_literal(SID_S_BUILTIN_USERS), users_members, 2},
		{sid_from_literal(SID_S_CERTSVC_DCOM_ACCESS), cd_members, 1},
		{sid_from_literal("S-1-5-32-555"), deny_members, 1},
	};
	pac_t pac;
	pac_group_t groups[4];
	make_pac(&pac, groups);
	token_t *t, *x;
	assert_int_equal(token_from_pac(&pac, TOKEN_AUTH_KERBEROS, &t), CERR_OK);
	assert_int_equal(token_with_aliases(t, aliases, 3, &x), CERR_OK);
	assert_false(has(t, SID_S_BUILTIN_USERS)); /* the original is unchanged */
	assert_true(has(x, SID_S_BUILTIN_USERS));
	assert_false(has(x, SID_S_CERTSVC_DCOM_ACCESS));
	assert_false(has(x, "S-1-5-32-555")); /* a deny-only member confers nothing */
	assert_int_equal(token_num_groups(x), token_num_groups(t) + 1);
	assert_string_equal(token_account_name(x), "CONTOSO\\alice");
	assert_int_equal(token_auth(x), TOKEN_AUTH_KERBEROS);
	token_unref(x);
	assert_int_equal(token_with_aliases(t, NULL, 1, &x), CERR_INVALID_ARG);
	token_unref(t);
}

static void test_limit(void **state)
{
	(void)state;
	size_t n = TOKEN_MAX_GROUPS + 1;
	char **strs = calloc(n, sizeof(*strs));
	assert_non_null(strs);
	for (size_t i = 0; i < n; i++) {
		strs[i] = malloc(48);
		assert_non_null(strs[i]);
		snprintf(strs[i], 48, "S-1-5-21-1-2-3-%zu", 10000 + i);
	}
	token_t *t;
	assert_int_equal(token_from_sid_strings("u", "D", "S-1-5-21-1-2-3-1000", (const char *const *)strs, n,
						TOKEN_AUTH_NTLM, &t),
			 CERR_LIMIT);
	/* the well-known SIDs count towards the limit: NTLM adds five */
	assert_int_equal(token_from_sid_strings("u", "D", "S-1-5-21-1-2-3-1000", (const char *const *)strs,
						TOKEN_MAX_GROUPS - 5, TOKEN_AUTH_NTLM, &t),
			 CERR_OK);
	assert_int_equal(token_num_groups(t), TOKEN_MAX_GROUPS);
	token_unref(t);
	for (size_t i = 0; i < n; i++) {
		free(strs[i]);
	}
	free(strs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anonymous),
		cmocka_unit_test(test_from_pac),
		cmocka_unit_test(test_from_sid_strings),
		cmocka_unit_test(test_local_account),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
