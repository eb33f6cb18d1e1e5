/* test_rights.c - the user-rights INF reader (UTF-16LE and UTF-8, names and
 * *SIDs, errors with file:line), Windows' defaults, and the network-logon
 * check (deny overrides allow; the sentence for logs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "security/rights.h"
#include "util/cursor.h"
#include "util/utf16.h"

/* A resolver standing in for the accounts store: the CA's machine SID is
 * S-1-5-21-7-8-9; CONTOSO is S-1-5-21-1-2-3. */
static bool resolve(void *ctx, const char *name, sid_t *out)
{
	(void)ctx;
	static const struct {
		const char *name;
		const char *sid;
	} known[] = {
		{"Guest", "S-1-5-21-7-8-9-501"},
		{"CA1\\Guest", "S-1-5-21-7-8-9-501"},
		{"CONTOSO\\CA Requesters", "S-1-5-21-1-2-3-1500"},
		{"alice", "S-1-5-21-1-2-3-1105"},
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strcmp(name, known[i].name) == 0) {
			*out = sid_from_literal(known[i].sid);
			return true;
		}
	}
	return false;
}

/* What `secedit /export /areas USER_RIGHTS` writes on a member server
 * (layout and defaults), with one CONTOSO group added by name. */
static const char secedit_export[] =
	"[Unicode]\r\n"
	"Unicode=yes\r\n"
	"[Version]\r\n"
	"signature=\"$CHICAGO$\"\r\n"
	"Revision=1\r\n"
	"[Privilege Rights]\r\n"
	"SeNetworkLogonRight = *S-1-1-0,*S-1-5-32-544,*S-1-5-32-545,*S-1-5-32-551\r\n"
	"SeBackupPrivilege = *S-1-5-32-544,*S-1-5-32-551\r\n"
	"SeChangeNotifyPrivilege = *S-1-1-0,*S-1-5-19,*S-1-5-20,*S-1-5-32-544,*S-1-5-32-545,*S-1-5-32-551\r\n"
	"SeDenyNetworkLogonRight = Guest\r\n"
	"SeInteractiveLogonRight = Guest,*S-1-5-32-544,*S-1-5-32-545,*S-1-5-32-551\r\n";

static uint8_t *utf16_with_bom(const char *text, size_t *out_len)
{
	buf_t b;
	size_t units;
	buf_init(&b, 1u << 20);
	buf_put_u8(&b, 0xFF);
	buf_put_u8(&b, 0xFE);
	assert_true(utf8_to_utf16le(&b, text, false, &units));
	return buf_take(&b, out_len);
}

static rights_policy_t *parse_ok(const char *text)
{
	rights_policy_t *p = NULL;
	char err[512];
	cerr_t e = rights_policy_parse((const uint8_t *)text, strlen(text), "test.inf", resolve, NULL, &p, err,
				       sizeof(err));
	if (e != CERR_OK) {
		fail_msg("parse failed: %s", err);
	}
	return p;
}

/* parse_err parses text expecting failure and returns the message. */
static const char *parse_err(const char *text, cerr_t want)
{
	static char err[512];
	rights_policy_t *p = NULL;
	cerr_t e = rights_policy_parse((const uint8_t *)text, strlen(text), "test.inf", resolve, NULL, &p, err,
				       sizeof(err));
	assert_int_equal(e, want);
	assert_null(p);
	return err;
}

static token_t *token(const char *user, const char *const *groups, size_t n)
{
	token_t *t;
	assert_int_equal(token_from_sid_strings("user", "CONTOSO", user, groups, n, TOKEN_AUTH_NTLM, &t), CERR_OK);
	return t;
}

static void test_secedit_utf16(void **state)
{
	(void)state;
	size_t len;
	uint8_t *data = utf16_with_bom(secedit_export, &len);
	rights_policy_t *p = NULL;
	char err[512];
	assert_int_equal(rights_policy_parse(data, len, "rights.inf", resolve, NULL, &p, err, sizeof(err)), CERR_OK);
	free(data);
	char s[SID_STR_MAX];
	assert_string_equal(rights_policy_source(p), "rights.inf");
	assert_int_equal(rights_policy_num_sids(p, RIGHTS_NETWORK_LOGON), 4);
	assert_string_equal(sid_format(rights_policy_sid(p, RIGHTS_NETWORK_LOGON, 0), s), "S-1-1-0");
	assert_string_equal(sid_format(rights_policy_sid(p, RIGHTS_NETWORK_LOGON, 3), s), "S-1-5-32-551");
	assert_null(rights_policy_sid(p, RIGHTS_NETWORK_LOGON, 4));
	assert_int_equal(rights_policy_num_sids(p, RIGHTS_DENY_NETWORK_LOGON), 1);
	assert_string_equal(sid_format(rights_policy_sid(p, RIGHTS_DENY_NETWORK_LOGON, 0), s), "S-1-5-21-7-8-9-501");
	assert_int_equal(rights_policy_num_sids(p, "sechangenotifyprivilege"), 6); /* names are case-insensitive */
	assert_true(rights_policy_has_right(p, "SeInteractiveLogonRight"));
	assert_false(rights_policy_has_right(p, "SeTcbPrivilege"));
	assert_int_equal(rights_policy_num_sids(p, "SeTcbPrivilege"), 0);

	/* a domain user: Everyone grants; the local Guest is refused by the deny list */
	const char *user_groups[] = {"S-1-5-21-1-2-3-513"};
	token_t *t = token("S-1-5-21-1-2-3-1105", user_groups, 1);
	const char *why = NULL;
	assert_int_equal(rights_check_network_logon(p, t, &why), CERR_OK);
	assert_non_null(strstr(why, "CONTOSO\\user may log on over the network: S-1-1-0 (Everyone) holds SeNetworkLogonRight"));
	assert_non_null(strstr(why, "line 7 of rights.inf"));
	assert_true(rights_token_has_right(p, t, "SeChangeNotifyPrivilege"));
	assert_false(rights_token_has_right(p, t, "SeBackupPrivilege"));
	token_unref(t);

	t = token("S-1-5-21-7-8-9-501", NULL, 0);
	assert_int_equal(rights_check_network_logon(p, t, &why), CERR_STATUS_LOGON_TYPE_NOT_GRANTED);
	assert_non_null(strstr(why, "is refused network logon: its SID S-1-5-21-7-8-9-501 is in SeDenyNetworkLogonRight as \"Guest\" (line 10 of rights.inf), which overrides SeNetworkLogonRight"));
	token_unref(t);
	rights_policy_unref(p);
}

static void test_names_whitespace_utf8(void **state)
{
	(void)state;
	/* UTF-8 with a BOM, comments, blank lines, spaces and tabs, names,
	 * quoted names, a trailing comma, duplicates, mixed-case keys */
	rights_policy_t *p = parse_ok("\xEF\xBB\xBF; CA policy\n"
				      "[version]\n"
				      "  Signature = \"$Windows NT$\"  \n"
				      "\n"
				      "[Privilege Rights]\n"
				      "senetworklogonright=Administrators ,\t\"CONTOSO\\CA Requesters\", *S-1-5-32-574,BUILTIN\\Users,alice,\n"
				      "SeDenyNetworkLogonRight = *S-1-5-32-546 , BUILTIN\\Guests\n"
				      "[System Access]\n"
				      "MinimumPasswordAge = 0\n"
				      "this line is not key=value but sits in a section we ignore\n");
	char s[SID_STR_MAX];
	assert_int_equal(rights_policy_num_sids(p, RIGHTS_NETWORK_LOGON), 5);
	assert_string_equal(sid_format(rights_policy_sid(p, RIGHTS_NETWORK_LOGON, 0), s), "S-1-5-32-544");
	assert_string_equal(sid_format(rights_policy_sid(p, RIGHTS_NETWORK_LOGON, 1), s), "S-1-5-21-1-2-3-1500");
	assert_string_equal(sid_format(rights_policy_sid(p, RIGHTS_NETWORK_LOGON, 2), s), "S-1-5-32-574");
	assert_string_equal(sid_format(rights_policy_sid(p, RIGHTS_NETWORK_LOGON, 3), s), "S-1-5-32-545");
	assert_string_equal(sid_format(rights_policy_sid(p, RIGHTS_NETWORK_LOGON, 4), s), "S-1-5-21-1-2-3-1105");
	assert_int_equal(rights_policy_num_sids(p, RIGHTS_DENY_NETWORK_LOGON), 1); /* the same SID twice */

	/* Everyone is not granted here: a user in no listed group is refused,
	 * and the sentence lists what is granted */
	const char *g[] = {"S-1-5-21-1-2-3-513"};
	token_t *t = token("S-1-5-21-1-2-3-1200", g, 1);
	const char *why;
	assert_int_equal(rights_check_network_logon(p, t, &why), CERR_STATUS_LOGON_TYPE_NOT_GRANTED);
	assert_non_null(strstr(why, "CONTOSO\\user is not granted network logon: none of its SIDs holds SeNetworkLogonRight (line 6 of test.inf); granted are: S-1-5-32-544 (BUILTIN\\Administrators), S-1-5-21-1-2-3-1500, S-1-5-32-574 (BUILTIN\\Certificate Service DCOM Access)"));
	token_unref(t);
	/* a member of the requesters group gets in */
	const char *g2[] = {"S-1-5-21-1-2-3-513", "S-1-5-21-1-2-3-1500"};
	t = token("S-1-5-21-1-2-3-1201", g2, 2);
	assert_int_equal(rights_check_network_logon(p, t, NULL), CERR_OK);
	token_unref(t);
	/* alice is listed by name */
	t = token("S-1-5-21-1-2-3-1105", NULL, 0);
	assert_int_equal(rights_check_network_logon(p, t, &why), CERR_OK);
	assert_non_null(strstr(why, "S-1-5-21-1-2-3-1105 holds"));
	token_unref(t);
	rights_policy_unref(p);
}

static void test_deny_overrides_and_deny_only(void **state)
{
	(void)state;
	rights_policy_t *p = parse_ok("[Version]\nsignature=\"$CHICAGO$\"\n[Privilege Rights]\n"
				      "SeNetworkLogonRight = *S-1-1-0, *S-1-5-21-1-2-3-1300\n"
				      "SeDenyNetworkLogonRight = *S-1-5-21-1-2-3-1300\n");
	/* a deny-only group in the token still matches the deny list, and a
	 * deny-only group never grants */
	pac_group_t groups[] = {{sid_from_literal("S-1-5-21-1-2-3-1300"), SE_GROUP_USE_FOR_DENY_ONLY, PAC_GROUP_EXTRA}};
	pac_t pac = {
		.has_logon_info = true,
		.user_sid = sid_from_literal("S-1-5-21-1-2-3-1105"),
		.primary_group_sid = sid_from_literal("S-1-5-21-1-2-3-513"),
		.groups = groups,
		.num_groups = 1,
	};
	pac.logon.effective_name = "alice";
	pac.logon.logon_domain_name = "CONTOSO";
	token_t *t;
	const char *why;
	assert_int_equal(token_from_pac(&pac, TOKEN_AUTH_KERBEROS, &t), CERR_OK);
	assert_int_equal(rights_check_network_logon(p, t, &why), CERR_STATUS_LOGON_TYPE_NOT_GRANTED);
	assert_non_null(strstr(why, "S-1-5-21-1-2-3-1300 is in SeDenyNetworkLogonRight"));
	token_unref(t);
	rights_policy_unref(p);

	p = parse_ok("[Version]\nsignature=\"$CHICAGO$\"\n[Privilege Rights]\n"
		     "SeNetworkLogonRight = *S-1-5-21-1-2-3-1300\nSeDenyNetworkLogonRight =\n");
	assert_int_equal(token_from_pac(&pac, TOKEN_AUTH_KERBEROS, &t), CERR_OK);
	assert_int_equal(rights_check_network_logon(p, t, &why), CERR_STATUS_LOGON_TYPE_NOT_GRANTED);
	assert_non_null(strstr(why, "is not granted"));
	token_unref(t);
	/* anonymous callers have no Everyone, so they are refused unless listed */
	assert_int_equal(token_new_anonymous(false, &t), CERR_OK);
	assert_int_equal(rights_check_network_logon(p, t, &why), CERR_STATUS_LOGON_TYPE_NOT_GRANTED);
	assert_non_null(strstr(why, "NT AUTHORITY\\ANONYMOUS LOGON is not granted"));
	token_unref(t);
	rights_policy_unref(p);

	/* an empty grant list: nobody */
	p = parse_ok("[Version]\nsignature=\"$CHICAGO$\"\n[Privilege Rights]\nSeNetworkLogonRight =\n");
	t = token("S-1-5-21-1-2-3-1105", NULL, 0);
	assert_int_equal(rights_check_network_logon(p, t, &why), CERR_STATUS_LOGON_TYPE_NOT_GRANTED);
	assert_non_null(strstr(why, "granted are: nobody"));
	token_unref(t);
	rights_policy_unref(p);
}

static void test_defaults(void **state)
{
	(void)state;
	rights_policy_t *p;
	char s[SID_STR_MAX];
	assert_int_equal(rights_policy_default(resolve, NULL, &p), CERR_OK);
	assert_string_equal(rights_policy_source(p), "built-in defaults");
	assert_int_equal(rights_policy_num_sids(p, RIGHTS_NETWORK_LOGON), 4);
	static const char *const want[] = {"S-1-1-0", "S-1-5-32-544", "S-1-5-32-545", "S-1-5-32-551"};
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(sid_format(rights_policy_sid(p, RIGHTS_NETWORK_LOGON, i), s), want[i]);
	}
	assert_int_equal(rights_policy_num_sids(p, RIGHTS_DENY_NETWORK_LOGON), 1);
	assert_string_equal(sid_format(rights_policy_sid(p, RIGHTS_DENY_NETWORK_LOGON, 0), s), "S-1-5-21-7-8-9-501");
	token_t *t = token("S-1-5-21-7-8-9-501", NULL, 0);
	const char *why;
	assert_int_equal(rights_check_network_logon(p, t, &why), CERR_STATUS_LOGON_TYPE_NOT_GRANTED);
	assert_non_null(strstr(why, "(the built-in default)"));
	token_unref(t);
	/* policies are shared by reference */
	rights_policy_t *q = rights_policy_ref(p);
	rights_policy_unref(p);
	assert_int_equal(rights_policy_num_sids(q, RIGHTS_NETWORK_LOGON), 4);
	rights_policy_unref(q);
	rights_policy_unref(NULL);

	/* without a resolver the Guest account cannot be named: empty deny list */
	assert_int_equal(rights_policy_default(NULL, NULL, &p), CERR_OK);
	assert_int_equal(rights_policy_num_sids(p, RIGHTS_DENY_NETWORK_LOGON), 0);
	rights_policy_unref(p);

	/* a file that does not mention the network rights keeps the defaults */
	p = parse_ok("[Version]\nsignature=\"$CHICAGO$\"\n[Privilege Rights]\nSeBackupPrivilege = *S-1-5-32-551\n");
	assert_int_equal(rights_policy_num_sids(p, RIGHTS_NETWORK_LOGON), 4);
	assert_int_equal(rights_policy_num_sids(p, RIGHTS_DENY_NETWORK_LOGON), 1);
	rights_policy_unref(p);
}

static void test_errors(void **state)
{
	(void)state;
	const char *hdr = "[Version]\nsignature=\"$CHICAGO$\"\n[Privilege Rights]\n";
	char text[512];
	const char *e;

	snprintf(text, sizeof(text), "%sSeNetworkLogonRight = *S-1-1-0\nNetworkLogon = *S-1-1-0\n", hdr);
	e = parse_err(text, CERR_CONFIG);
	assert_non_null(strstr(e, "test.inf:5: \"NetworkLogon\" is not a user right or privilege"));
	assert_non_null(strstr(e, "start with \"Se\""));

	snprintf(text, sizeof(text), "%sSeNetworkLogonRight = *S-1-5-x\n", hdr);
	e = parse_err(text, CERR_CONFIG);
	assert_non_null(strstr(e, "test.inf:4: \"*S-1-5-x\" is not a valid SID"));

	snprintf(text, sizeof(text), "%sSeNetworkLogonRight = Everyone, Nobody Here\n", hdr);
	e = parse_err(text, CERR_CONFIG);
	assert_non_null(strstr(e, "test.inf:4: no account or group named \"Nobody Here\""));

	snprintf(text, sizeof(text), "%sSeNetworkLogonRight = *S-1-1-0\n\nsenetworklogonright = *S-1-5-11\n", hdr);
	e = parse_err(text, CERR_CONFIG);
	assert_non_null(strstr(e, "test.inf:6: SeNetworkLogonRight is assigned twice (first on line 4)"));

	snprintf(text, sizeof(text), "%sSeNetworkLogonRight *S-1-1-0\n", hdr);
	e = parse_err(text, CERR_CONFIG);
	assert_non_null(strstr(e, "test.inf:4: \"SeNetworkLogonRight *S-1-1-0\" has no '='"));

	snprintf(text, sizeof(text), "%sSe Network = *S-1-1-0\n", hdr);
	e = parse_err(text, CERR_CONFIG);
	assert_non_null(strstr(e, "test.inf:4:"));

	e = parse_err("[Privilege Rights]\nSeNetworkLogonRight = *S-1-1-0\n", CERR_CONFIG);
	assert_non_null(strstr(e, "test.inf: no [Version] section"));
	assert_non_null(strstr(e, "signature=\"$CHICAGO$\""));

	e = parse_err("[Version]\nsignature=\"$MSDOS$\"\n", CERR_CONFIG);
	assert_non_null(strstr(e, "test.inf:2: signature \"$MSDOS$\" is not an INF signature"));

	e = parse_err("SeNetworkLogonRight = *S-1-1-0\n", CERR_CONFIG);
	assert_non_null(strstr(e, "test.inf:1: \"SeNetworkLogonRight = *S-1-1-0\" appears before any section"));

	e = parse_err("[Version\n", CERR_CONFIG);
	assert_non_null(strstr(e, "test.inf:1: section header \"[Version\" is not closed"));

	snprintf(text, sizeof(text), "%s= *S-1-1-0\n", hdr);
	e = parse_err(text, CERR_CONFIG);
	assert_non_null(strstr(e, "test.inf:4: a line starts with '='"));

	/* encodings */
	static const uint8_t be[] = {0xFE, 0xFF, 0, '['};
	rights_policy_t *p = NULL;
	char err[512];
	assert_int_equal(rights_policy_parse(be, sizeof(be), "be.inf", resolve, NULL, &p, err, sizeof(err)), CERR_CONFIG);
	assert_non_null(strstr(err, "be.inf: is UTF-16 big-endian"));
	static const uint8_t nobom[] = {'[', 0, 'V', 0};
	assert_int_equal(rights_policy_parse(nobom, sizeof(nobom), "x.inf", resolve, NULL, &p, err, sizeof(err)), CERR_CONFIG);
	assert_non_null(strstr(err, "UTF-16 without its byte-order mark?"));
	static const uint8_t odd[] = {0xFF, 0xFE, '[', 0, 'V'};
	assert_int_equal(rights_policy_parse(odd, sizeof(odd), "x.inf", resolve, NULL, &p, err, sizeof(err)), CERR_CONFIG);
	assert_non_null(strstr(err, "odd number of bytes"));
	static const uint8_t lone[] = {0xFF, 0xFE, 0x00, 0xD8, 'a', 0};
	assert_int_equal(rights_policy_parse(lone, sizeof(lone), "x.inf", resolve, NULL, &p, err, sizeof(err)), CERR_CONFIG);
	static const uint8_t nul16[] = {0xFF, 0xFE, 'a', 0, 0, 0};
	assert_int_equal(rights_policy_parse(nul16, sizeof(nul16), "x.inf", resolve, NULL, &p, err, sizeof(err)), CERR_CONFIG);
	static const char bad8[] = "[Version]\nsignature=\"$CHICAGO$\"\n; caf\xC3\n";
	assert_int_equal(rights_policy_parse((const uint8_t *)bad8, strlen(bad8), "x.inf", resolve, NULL, &p, err, sizeof(err)), CERR_CONFIG);
	assert_non_null(strstr(err, "valid UTF-8"));
	assert_null(p);
	/* empty input: no [Version] */
	assert_int_equal(rights_policy_parse(NULL, 0, "x.inf", resolve, NULL, &p, NULL, 0), CERR_CONFIG);

	/* an unknown Se* name is kept (with a warning), not an error */
	snprintf(text, sizeof(text), "%sSeMadeUpPrivilege = *S-1-5-32-544\n", hdr);
	p = parse_ok(text);
	assert_true(rights_policy_has_right(p, "SeMadeUpPrivilege"));
	assert_false(rights_is_known("SeMadeUpPrivilege"));
	assert_true(rights_is_known("setcbprivilege"));
	rights_policy_unref(p);
}

static void test_load_file(void **state)
{
	(void)state;
	char path[] = "/tmp/certa_test_rights_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	size_t len;
	uint8_t *data = utf16_with_bom(secedit_export, &len);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	free(data);
	rights_policy_t *p = NULL;
	char err[512];
	assert_int_equal(rights_policy_load(path, resolve, NULL, &p, err, sizeof(err)), CERR_OK);
	assert_string_equal(rights_policy_source(p), path);
	assert_int_equal(rights_policy_num_sids(p, RIGHTS_NETWORK_LOGON), 4);
	rights_policy_unref(p);
	unlink(path);
	assert_int_equal(rights_policy_load(path, resolve, NULL, &p, err, sizeof(err)), CERR_NOT_FOUND);
	assert_non_null(strstr(err, "cannot open"));
	assert_int_equal(rights_policy_load("/", resolve, NULL, &p, err, sizeof(err)), CERR_IO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secedit_utf16),
		cmocka_unit_test(test_names_whitespace_utf8),
		cmocka_unit_test(test_deny_overrides_and_deny_only),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_load_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
