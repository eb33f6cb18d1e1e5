/* test_attrib.c - the request attribute string parser ("Name:Value\n..."). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ca/attrib.h"

static ca_attribs_t *parse(const char *s)
{
	ca_attribs_t *a = NULL;
	assert_int_equal(attrib_parse(s, strlen(s), &a), CERR_OK);
	return a;
}

static void test_template_and_pairs(void **state)
{
	(void)state;
	ca_attribs_t *a = parse("CertificateTemplate:User\nccm:host.example.com\r\nrmd: ws1.example.com \n\njunk\n");
	assert_string_equal(a->template_name, "User");
	assert_int_equal(a->num_pairs, 3);
	assert_string_equal(attrib_get(a, "CCM"), "host.example.com");
	assert_string_equal(attrib_get(a, "rmd"), "ws1.example.com");
	assert_null(attrib_get(a, "junk"));
	assert_false(a->has_san);
	attrib_free(a);

	a = parse("certificatetemplate : WebServer\r\nCertificateTemplate:User");
	assert_string_equal(a->template_name, "WebServer"); /* first wins, names case-insensitive */
	attrib_free(a);

	a = parse("");
	assert_null(a->template_name);
	assert_int_equal(a->num_pairs, 0);
	attrib_free(a);

	/* value keeps everything after the first colon */
	a = parse("x:a:b:c");
	assert_string_equal(attrib_get(a, "x"), "a:b:c");
	attrib_free(a);

	/* an embedded NUL ends the string */
	a = NULL;
	assert_int_equal(attrib_parse("CertificateTemplate:User\0SAN:dns=x", 34, &a), CERR_OK);
	assert_false(a->has_san);
	attrib_free(a);
}

static void test_san(void **state)
{
	(void)state;
	ca_attribs_t *a = parse("CertificateTemplate:User\nSAN:dns=a.example.com&upn=admin@example.com&email=x@y.z"
				"&url=https://u&ipaddress=10.0.0.1&guid=abc");
	assert_true(a->has_san);
	assert_int_equal(a->num_san, 6);
	assert_int_equal(a->san[0].type, CA_SAN_DNS);
	assert_string_equal(a->san[0].value, "a.example.com");
	assert_int_equal(a->san[1].type, CA_SAN_UPN);
	assert_string_equal(a->san[1].value, "admin@example.com");
	assert_int_equal(a->san[2].type, CA_SAN_EMAIL);
	assert_int_equal(a->san[3].type, CA_SAN_URL);
	assert_int_equal(a->san[4].type, CA_SAN_IP);
	assert_int_equal(a->san[5].type, CA_SAN_OTHER);
	assert_string_equal(a->san[5].type_name, "guid");
	attrib_free(a);

	a = parse("san:DNS=x&&");
	assert_int_equal(a->num_san, 1);
	assert_int_equal(a->san[0].type, CA_SAN_DNS);
	attrib_free(a);

	ca_attribs_t *b = NULL;
	assert_int_equal(attrib_parse("SAN:dns", 7, &b), CERR_MALFORMED);
	assert_null(b);
	assert_int_equal(attrib_parse("SAN:dns=", 8, &b), CERR_MALFORMED);
	assert_int_equal(attrib_parse("SAN:=x", 6, &b), CERR_MALFORMED);
}

static void test_limits(void **state)
{
	(void)state;
	ca_attribs_t *a = NULL;
	size_t n = ATTRIB_MAX_INPUT + 1;
	char *big = malloc(n);
	memset(big, 'a', n);
	assert_int_equal(attrib_parse(big, n, &a), CERR_LIMIT);
	/* too many pairs */
	size_t off = 0;
	for (unsigned i = 0; i <= ATTRIB_MAX_PAIRS; i++) {
		off += (size_t)snprintf(big + off, n - off, "a%u:b\n", i);
	}
	assert_int_equal(attrib_parse(big, off, &a), CERR_LIMIT);
	/* value too long */
	memset(big, 'v', ATTRIB_MAX_VALUE + 10);
	memcpy(big, "x:", 2);
	assert_int_equal(attrib_parse(big, ATTRIB_MAX_VALUE + 10, &a), CERR_LIMIT);
	/* too many SAN entries */
	off = (size_t)snprintf(big, n, "SAN:");
	for (unsigned i = 0; i <= ATTRIB_MAX_SAN; i++) {
		off += (size_t)snprintf(big + off, n - off, "dns=h%u&", i);
	}
	assert_int_equal(attrib_parse(big, off, &a), CERR_LIMIT);
	assert_null(a);
	free(big);
	attrib_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_template_and_pairs),
		cmocka_unit_test(test_san),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
