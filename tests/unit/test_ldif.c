/* test_ldif.c - the RFC 2849 LDIF reader: folding, base64, comments, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <string.h>

#include "dir/ldif.h"

static ldif_t *parse_ok(const char *text)
{
	ldif_t *l = NULL;
	char err[256];
	cerr_t rc = ldif_parse((const uint8_t *)text, strlen(text), "t.ldif", &l, err, sizeof(err));
	if (rc != CERR_OK) {
		print_error("unexpected failure: %s\n", err);
	}
	assert_int_equal(rc, CERR_OK);
	return l;
}

static void expect_fail(const char *text, cerr_t want, const char *err_prefix)
{
	ldif_t *l = (ldif_t *)1;
	char err[256];
	assert_int_equal(ldif_parse((const uint8_t *)text, strlen(text), "t.ldif", &l, err, sizeof(err)), want);
	assert_null(l);
	if (strncmp(err, err_prefix, strlen(err_prefix)) != 0) {
		print_error("error was: %s\n", err);
	}
	assert_true(strncmp(err, err_prefix, strlen(err_prefix)) == 0);
}

static void test_basic_records(void **state)
{
	(void)state;
	const char *text = "version: 1\n"
			   "# a comment\n"
			   "#  folded comment\n"
			   " continues here\n"
			   "dn: CN=User,CN=Certificate Templates,DC=x\n"
			   "objectClass: top\n"
			   "objectClass: pKICertificateTemplate\n"
			   "cn: User\n"
			   "pKIExpirationPeriod:: AEA5hy7h/v8=\n"
			   "pKIKeyUsage:: oAA=\n"
			   "\n"
			   "\n"
			   "dn: CN=Machine,DC=x\r\n"
			   "changetype: add\r\n"
			   "displayName: Comp\r\n"
			   " uter\r\n"
			   "description;lang-en:   leading spaces skipped\r\n"
			   "empty:\r\n";
	ldif_t *l = parse_ok(text);
	assert_int_equal(l->num_entries, 2);
	ldif_entry_t *e = &l->entries[0];
	assert_string_equal(e->dn, "CN=User,CN=Certificate Templates,DC=x");
	assert_int_equal(e->line, 5);
	const ldif_attr_t *oc = ldif_entry_attr(e, "OBJECTCLASS");
	assert_non_null(oc);
	assert_int_equal(oc->num_values, 2);
	assert_string_equal((char *)oc->values[1].data, "pKICertificateTemplate");
	const ldif_attr_t *exp = ldif_entry_attr(e, "pkiexpirationperiod");
	assert_non_null(exp);
	assert_int_equal(exp->values[0].len, 8);
	const uint8_t want[8] = {0x00, 0x40, 0x39, 0x87, 0x2E, 0xE1, 0xFE, 0xFF};
	assert_memory_equal(exp->values[0].data, want, 8);
	assert_int_equal(ldif_entry_attr(e, "pKIKeyUsage")->values[0].len, 2);
	assert_int_equal(ldif_entry_attr(e, "pKIKeyUsage")->values[0].data[0], 0xa0);
	/* the value holds a NUL byte: no C-string view */
	assert_null(ldif_entry_str(e, "pKIKeyUsage"));

	e = &l->entries[1];
	assert_string_equal(e->dn, "CN=Machine,DC=x");
	assert_string_equal(ldif_entry_str(e, "displayName"), "Computer");
	assert_string_equal(ldif_entry_str(e, "description;lang-en"), "leading spaces skipped");
	assert_string_equal(ldif_entry_str(e, "empty"), "");
	assert_null(ldif_entry_attr(e, "changetype"));
	ldif_free(l);
}

static void test_folding_inside_base64_and_dn(void **state)
{
	(void)state;
	const char *text = "dn:: Q049w6lsw6huZSxEQz1l\n"
			   " eGFtcGxl\n"
			   "v:: AEA5\n"
			   " hy7h/v8=\n"
			   "1.2.840.113556.1.4.1: numeric oid name\n";
	ldif_t *l = parse_ok(text);
	assert_int_equal(l->num_entries, 1);
	assert_string_equal(l->entries[0].dn, "CN=\xc3\xa9l\xc3\xa8ne,DC=example");
	assert_int_equal(ldif_entry_attr(&l->entries[0], "v")->values[0].len, 8);
	assert_string_equal(ldif_entry_str(&l->entries[0], "1.2.840.113556.1.4.1"), "numeric oid name");
	ldif_free(l);
}

static void test_empty_and_comment_only(void **state)
{
	(void)state;
	ldif_t *l = parse_ok("");
	assert_int_equal(l->num_entries, 0);
	ldif_free(l);
	l = parse_ok("# nothing\n\n\n# here\n");
	assert_int_equal(l->num_entries, 0);
	ldif_free(l);
	l = parse_ok("dn: x"); /* no newline at all */
	assert_int_equal(l->num_entries, 1);
	assert_int_equal(l->entries[0].num_attrs, 0);
	ldif_free(l);
}

static void test_errors_name_file_and_line(void **state)
{
	(void)state;
	expect_fail("cn: no dn first\n", CERR_MALFORMED, "t.ldif:1: record must start");
	expect_fail("dn: a\ncn: x\n\n bad continuation\n", CERR_MALFORMED, "t.ldif:4: continuation");
	expect_fail("dn: a\ncn:: !!!!\n", CERR_MALFORMED, "t.ldif:2: bad base64");
	expect_fail("dn: a\ncn:: QUJD=\n", CERR_MALFORMED, "t.ldif:2: bad base64");
	expect_fail("dn: a\ncn:: QQ==QQ==\n", CERR_MALFORMED, "t.ldif:2: bad base64");
	expect_fail("dn: a\nno colon here\n", CERR_MALFORMED, "t.ldif:2: expected");
	expect_fail("dn: a\n-bad: x\n", CERR_MALFORMED, "t.ldif:2: expected");
	expect_fail("dn: a\ncn;: x\n", CERR_MALFORMED, "t.ldif:2: expected");
	expect_fail("dn: a\n1..2: x\n", CERR_MALFORMED, "t.ldif:2: expected");
	expect_fail("dn: a\njpegPhoto:< file:///etc/passwd\n", CERR_UNSUPPORTED, "t.ldif:2: URL values");
	expect_fail("dn: a\nchangetype: modify\n", CERR_UNSUPPORTED, "t.ldif:2: only content");
	expect_fail("dn: a\ncn: b\ndn: c\n", CERR_MALFORMED, "t.ldif:3: second dn");
	expect_fail("version: 2\n", CERR_UNSUPPORTED, "t.ldif:1: unsupported LDIF version");
	expect_fail("dn: a\ncontrol: 1.2.3\n", CERR_UNSUPPORTED, "t.ldif:2: LDIF controls");
	expect_fail("dn:: AAA=\n", CERR_MALFORMED, "t.ldif:1: NUL byte in dn");
}

static void test_read_file(void **state)
{
	(void)state;
	ldif_t *l;
	char err[256];
	assert_int_equal(ldif_read_file("/nonexistent/x.ldif", &l, err, sizeof(err)), CERR_IO);
	assert_non_null(strstr(err, "/nonexistent/x.ldif"));
}

static void test_base64(void **state)
{
	(void)state;
	size_t n;
	uint8_t *p = ldif_base64_decode("", 0, &n);
	assert_non_null(p);
	assert_int_equal(n, 0);
	free(p);
	p = ldif_base64_decode("TWFu", 4, &n);
	assert_int_equal(n, 3);
	assert_memory_equal(p, "Man", 3);
	free(p);
	p = ldif_base64_decode("TWE=", 4, &n);
	assert_int_equal(n, 2);
	free(p);
	p = ldif_base64_decode("TQ==", 4, &n);
	assert_int_equal(n, 1);
	free(p);
	assert_null(ldif_base64_decode("TQ=", 3, &n));
	assert_null(ldif_base64_decode("T===", 4, &n));
	assert_null(ldif_base64_decode("TQ=a", 4, &n));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_records),
		cmocka_unit_test(test_folding_inside_base64_and_dn),
		cmocka_unit_test(test_empty_and_comment_only),
		cmocka_unit_test(test_errors_name_file_and_line),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_base64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
