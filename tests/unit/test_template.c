/* test_template.c - mapping pKICertificateTemplate LDIF entries; the shipped defaults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ca/template.h"

static void test_shipped_defaults(void **state)
{
	(void)state;
	ca_template_set_t *s = NULL;
	char err[512] = "";
	cerr_t rc = template_set_load_dir(CERTA_SRC_TEMPLATES_DIR, &s, err, sizeof(err));
	if (rc != CERR_OK) {
		print_error("%s\n", err);
	}
	assert_int_equal(rc, CERR_OK);
	assert_int_equal(s->num, 4);

	const ca_template_t *u = template_set_find(s, "user");
	assert_non_null(u);
	assert_string_equal(u->cn, "User");
	assert_int_equal(u->schema_version, 1);
	assert_int_equal(u->revision, 3);
	assert_int_equal(u->minor_revision, 1);
	assert_int_equal(u->flags, 66106);
	assert_int_equal(u->name_flags, 0xA6000000u);
	assert_int_equal(u->enrollment_flags, 41);
	assert_int_equal(u->private_key_flags, 16);
	assert_int_equal(u->min_key_size, 2048);
	assert_int_equal(u->validity_seconds, 365ull * 86400);
	assert_int_equal(u->overlap_seconds, 42ull * 86400);
	assert_int_equal(u->num_ekus, 3);
	assert_string_equal(u->ekus[0], "1.3.6.1.4.1.311.10.3.4");
	assert_string_equal(u->ekus[2], "1.3.6.1.5.5.7.3.2");
	assert_int_equal(u->key_usage_len, 2);
	assert_int_equal(u->key_usage[0], TPL_KU_DIGITAL_SIGNATURE | TPL_KU_KEY_ENCIPHERMENT);
	assert_true(template_is_critical(u, "2.5.29.15"));
	assert_false(template_is_critical(u, "2.5.29.19"));
	/* lookup by OID too */
	assert_ptr_equal(template_set_find(s, "1.3.6.1.4.1.311.21.8.11034890.834619.12601478.16236816.7255827.176.1.1"), u);

	const ca_template_t *m = template_set_find(s, "Machine");
	assert_non_null(m);
	assert_string_equal(m->display_name, "Computer");
	assert_int_equal(m->name_flags, CT_FLAG_SUBJECT_REQUIRE_DNS_AS_CN | CT_FLAG_SUBJECT_ALT_REQUIRE_DNS);
	assert_true(m->flags & CT_FLAG_MACHINE_TYPE);

	const ca_template_t *w = template_set_find(s, "WebServer");
	assert_int_equal(w->validity_seconds, 730ull * 86400);
	assert_int_equal(w->name_flags, CT_FLAG_ENROLLEE_SUPPLIES_SUBJECT);

	const ca_template_t *sub = template_set_find(s, "SubCA");
	assert_int_equal(sub->max_issuing_depth, -1);
	assert_int_equal(sub->num_ekus, 0);
	assert_int_equal(sub->key_usage[0], TPL_KU_DIGITAL_SIGNATURE | TPL_KU_KEY_CERT_SIGN | TPL_KU_CRL_SIGN);
	assert_true(sub->flags & CT_FLAG_IS_CA);
	assert_int_equal(sub->validity_seconds, 1825ull * 86400);
	assert_int_equal(sub->default_key_spec, 2);

	assert_null(template_set_find(s, "Nope"));
	assert_null(template_set_find(s, NULL));
	template_set_free(s);
}

static cerr_t map(const char *text, ca_template_t **t, char *err, size_t err_len)
{
	ldif_t *l;
	assert_int_equal(ldif_parse((const uint8_t *)text, strlen(text), "x.ldif", &l, err, err_len), CERR_OK);
	cerr_t rc = template_from_entry(&l->entries[0], "x.ldif", t, err, err_len);
	ldif_free(l);
	return rc;
}

static void test_v2_and_errors(void **state)
{
	(void)state;
	ca_template_t *t = NULL;
	char err[256];
	const char *v2 = "dn: CN=Custom\n"
			 "cn: Custom\n"
			 "msPKI-Template-Schema-Version: 2\n"
			 "msPKI-Template-Minor-Revision: 7\n"
			 "revision: 100\n"
			 "msPKI-Cert-Template-OID: 1.3.6.1.4.1.311.21.8.1.2.3\n"
			 "msPKI-Certificate-Application-Policy: 1.3.6.1.5.5.7.3.2\n"
			 "msPKI-Enrollment-Flag: 2\n"
			 "pKIExpirationPeriod:: AEA5hy7h/v8=\n";
	assert_int_equal(map(v2, &t, err, sizeof(err)), CERR_OK);
	assert_int_equal(t->schema_version, 2);
	assert_int_equal(t->minor_revision, 7);
	assert_int_equal(t->revision, 100);
	assert_string_equal(t->display_name, "Custom");
	assert_int_equal(t->num_app_policies, 1);
	assert_int_equal(t->enrollment_flags, CT_FLAG_PEND_ALL_REQUESTS);
	assert_int_equal(t->key_usage_len, 0);
	template_free(t);

	const struct {
		const char *text;
		const char *msg;
	} bad[] = {
		{"dn: x\npKIExpirationPeriod:: AEA5hy7h/v8=\n", "missing or bad cn"},
		{"dn: x\ncn: a\n", "pKIExpirationPeriod"},
		{"dn: x\ncn: a\npKIExpirationPeriod:: AEA5hy7h/v8A\n", "pKIExpirationPeriod"},
		{"dn: x\ncn: a\npKIExpirationPeriod:: AAAAAAAAAAA=\n", "pKIExpirationPeriod"},
		{"dn: x\ncn: a\npKIExpirationPeriod:: AEA5hy7h/v8=\nflags: 12x\n", "bad flags"},
		{"dn: x\ncn: a\npKIExpirationPeriod:: AEA5hy7h/v8=\nflags: 99999999999\n", "bad flags"},
		{"dn: x\ncn: a\npKIExpirationPeriod:: AEA5hy7h/v8=\npKIExtendedKeyUsage: 1.3..6\n", "pKIExtendedKeyUsage"},
		{"dn: x\ncn: a\npKIExpirationPeriod:: AEA5hy7h/v8=\nmsPKI-Template-Schema-Version: 9\n", "Schema-Version"},
		{"dn: x\ncn: a\npKIExpirationPeriod:: AEA5hy7h/v8=\npKIKeyUsage:: AAAA\n", "pKIKeyUsage"},
		{"dn: x\ncn: a\npKIExpirationPeriod:: AEA5hy7h/v8=\npKIMaxIssuingDepth: -2\n", "pKIMaxIssuingDepth"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = (ca_template_t *)1;
		assert_int_equal(map(bad[i].text, &t, err, sizeof(err)), CERR_MALFORMED);
		assert_null(t);
		if (!strstr(err, bad[i].msg) || strncmp(err, "x.ldif:1: ", 10) != 0) {
			print_error("case %zu: %s\n", i, err);
			fail();
		}
	}
}

static void test_dir_errors(void **state)
{
	(void)state;
	ca_template_set_t *s;
	char err[256];
	assert_int_equal(template_set_load_dir("/nonexistent-templates", &s, err, sizeof(err)), CERR_IO);
	char dir[] = "/tmp/certa-tpl-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char p1[128], p2[128];
	snprintf(p1, sizeof(p1), "%s/a.ldif", dir);
	snprintf(p2, sizeof(p2), "%s/b.ldif", dir);
	FILE *f = fopen(p1, "w");
	fputs("dn: CN=A\nobjectClass: pKICertificateTemplate\ncn: A\npKIExpirationPeriod:: AEA5hy7h/v8=\n\n"
	      "dn: CN=Other\nobjectClass: container\ncn: Other\n", f);
	fclose(f);
	f = fopen(p2, "w");
	fputs("# dup\ndn: CN=A2\ncn: a\npKIExpirationPeriod:: AEA5hy7h/v8=\n", f);
	fclose(f);
	assert_int_equal(template_set_load_dir(dir, &s, err, sizeof(err)), CERR_EXISTS);
	assert_non_null(strstr(err, "b.ldif:2: duplicate template a"));
	unlink(p2);
	assert_int_equal(template_set_load_dir(dir, &s, err, sizeof(err)), CERR_OK);
	assert_int_equal(s->num, 1); /* the container entry is not a template */
	template_set_free(s);
	unlink(p1);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_defaults),
		cmocka_unit_test(test_v2_and_errors),
		cmocka_unit_test(test_dir_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
