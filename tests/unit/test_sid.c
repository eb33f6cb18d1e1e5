/* test_sid.c - SID string/packet/NDR forms, composition and the well-known table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "security/sid.h"

static void roundtrip(const char *s)
{
	sid_t sid;
	char out[SID_STR_MAX];
	assert_int_equal(sid_parse(&sid, s), CERR_OK);
	assert_string_equal(sid_format(&sid, out), s);
}

static void test_parse_format(void **state)
{
	(void)state;
	roundtrip("S-1-1-0");
	roundtrip("S-1-5-32-544");
	roundtrip("S-1-5-21-3048156945-3961193616-3706469200-500");
	roundtrip("S-1-5-21-0-0-0-4294967295");
	roundtrip("S-1-0x010203040506-7");      /* authority >= 2^32 prints in hex */
	roundtrip("S-1-4294967295-1");          /* largest decimal authority */
	roundtrip("S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15"); /* 15 sub-authorities */
	roundtrip("S-1-5");                     /* no sub-authority: the NT authority itself */

	sid_t sid;
	assert_int_equal(sid_parse(&sid, "s-1-5-18"), CERR_OK); /* Windows accepts lower case */
	assert_int_equal(sid.authority, 5);
	assert_int_equal(sid.num_auths, 1);
	assert_int_equal(sid.sub[0], 18);
	/* a small authority in hex form is read, and printed back in decimal */
	char out[SID_STR_MAX];
	assert_int_equal(sid_parse(&sid, "S-1-0x000000000005-32"), CERR_OK);
	assert_string_equal(sid_format(&sid, out), "S-1-5-32");
	assert_int_equal(sid_parse_n(&sid, "S-1-1-0garbage", 7), CERR_OK);
	assert_string_equal(sid_format(&sid, out), "S-1-1-0");
}

static void test_parse_rejects(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "S", "S-", "S-1", "S-1-", "S-2-5-32", "S-1--5", "S-1-5-", "S-1-5--1", "S-1-5-32-544x",
		" S-1-1-0", "S-1-1-0 ", "S-1-+5", "S-1-5-+1", "S-1-5--0", "S-1-05", "S-1-5-0032",
		"S-1-4294967296-1",           /* decimal authority must be < 2^32 */
		"S-1-5-4294967296",           /* sub-authority overflows 32 bits */
		"S-1-5-99999999999",          /* eleven digits */
		"S-1-5-18446744073709551617", /* wraps a 64-bit accumulator */
		"S-1-0x0102030405-1",         /* hex needs 12 digits */
		"S-1-0x01020304050607-1",     /* and no more */
		"S-1-0xG10203040506-1", "X-1-5-32", "S-1-5-32\n", "S-1-5-32-544-",
	};
	sid_t sid = sid_from_literal("S-1-1-0");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cerr_t e = sid_parse(&sid, bad[i]);
		if (e == CERR_OK) {
			fail_msg("accepted \"%s\"", bad[i]);
		}
		assert_int_equal(e, CERR_MALFORMED);
	}
	assert_int_equal(sid_parse(&sid, NULL), CERR_MALFORMED);
	/* untouched on failure */
	char out[SID_STR_MAX];
	assert_string_equal(sid_format(&sid, out), "S-1-1-0");
	/* sixteen sub-authorities: over MS-DTYP's 15 */
	assert_int_equal(sid_parse(&sid, "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16"), CERR_LIMIT);
}

static void test_packet_and_ndr(void **state)
{
	(void)state;
	/* LogonDomainId as a Windows 2003 KDC wrote it (MIT krb5 t_pac.c saved_pac) */
	static const uint8_t ndr[] = {0x04, 0x00, 0x00, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
				      0x05, 0x15, 0x00, 0x00, 0x00, 0x11, 0x2f, 0xaf, 0xb5, 0x90, 0x04,
				      0x1b, 0xec, 0x50, 0x3b, 0xec, 0xdc};
	cur_t c;
	sid_t sid;
	char out[SID_STR_MAX];
	cur_init(&c, ndr, sizeof(ndr));
	assert_int_equal(sid_decode_ndr(&c, &sid), CERR_OK);
	assert_true(cur_empty(&c));
	assert_string_equal(sid_format(&sid, out), "S-1-5-21-3048156945-3961193616-3706469200");
	assert_int_equal(sid_wire_len(&sid), 24);

	buf_t b;
	buf_init(&b, 256);
	sid_encode_ndr(&b, &sid);
	assert_true(buf_ok(&b));
	assert_int_equal(b.len, sizeof(ndr));
	assert_memory_equal(b.data, ndr, sizeof(ndr));
	buf_reset(&b);
	sid_encode(&b, &sid);
	assert_int_equal(b.len, sizeof(ndr) - 4);
	assert_memory_equal(b.data, ndr + 4, b.len);

	/* packet form alone */
	cur_init(&c, ndr + 4, sizeof(ndr) - 4);
	sid_t again;
	assert_int_equal(sid_decode(&c, &again), CERR_OK);
	assert_true(sid_equal(&sid, &again));

	/* every truncation fails and leaves the cursor where it was */
	for (size_t n = 0; n < sizeof(ndr); n++) {
		cur_init(&c, ndr, n);
		assert_int_not_equal(sid_decode_ndr(&c, &sid), CERR_OK);
		assert_int_equal(cur_len(&c), n);
	}
	/* conformance disagreeing with SubAuthorityCount */
	uint8_t bad[sizeof(ndr)];
	memcpy(bad, ndr, sizeof(bad));
	bad[0] = 3;
	cur_init(&c, bad, sizeof(bad));
	assert_int_equal(sid_decode_ndr(&c, &sid), CERR_MALFORMED);
	assert_int_equal(cur_len(&c), sizeof(bad));
	/* revision 2, count 16 */
	static const uint8_t rev2[] = {0x02, 0x01, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0};
	cur_init(&c, rev2, sizeof(rev2));
	assert_int_equal(sid_decode(&c, &sid), CERR_MALFORMED);
	uint8_t many[8 + 16 * 4] = {0x01, 16, 0, 0, 0, 0, 0, 5};
	cur_init(&c, many, sizeof(many));
	assert_int_equal(sid_decode(&c, &sid), CERR_MALFORMED);
	/* NDR alignment is from the cursor base */
	static const uint8_t misaligned[] = {0xAA, 0, 0, 0, 1, 0, 0, 0, 0x01, 0x01, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0};
	cur_init(&c, misaligned, sizeof(misaligned));
	assert_true(cur_skip(&c, 1));
	assert_int_equal(sid_decode_ndr(&c, &sid), CERR_OK);
	assert_string_equal(sid_format(&sid, out), "S-1-1-0");
	buf_free(&b);
}

static void test_compare_compose(void **state)
{
	(void)state;
	sid_t dom = sid_from_literal("S-1-5-21-1-2-3");
	sid_t user, d;
	uint32_t rid;
	char out[SID_STR_MAX];
	assert_int_equal(sid_compose(&user, &dom, 1105), CERR_OK);
	assert_string_equal(sid_format(&user, out), "S-1-5-21-1-2-3-1105");
	assert_true(sid_in_domain(&user, &dom));
	assert_false(sid_in_domain(&dom, &dom));
	assert_true(sid_split(&user, &d, &rid));
	assert_true(sid_equal(&d, &dom));
	assert_int_equal(rid, 1105);
	/* out may alias the domain */
	sid_t x = dom;
	assert_int_equal(sid_compose(&x, &x, 7), CERR_OK);
	assert_string_equal(sid_format(&x, out), "S-1-5-21-1-2-3-7");
	sid_t full = sid_from_literal("S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15");
	assert_int_equal(sid_compose(&x, &full, 1), CERR_LIMIT);
	sid_t none = sid_from_literal("S-1-5");
	assert_false(sid_split(&none, NULL, &rid));

	sid_t a = sid_from_literal("S-1-5-32-544"), b = sid_from_literal("S-1-5-32-545");
	assert_true(sid_compare(&a, &b) < 0);
	assert_true(sid_compare(&b, &a) > 0);
	assert_int_equal(sid_compare(&a, &a), 0);
	assert_false(sid_equal(&a, &b));
	sid_t shorter = sid_from_literal("S-1-5-32");
	assert_true(sid_compare(&shorter, &a) < 0);
}

static void check_name(const char *sid, const char *name, const char *sddl)
{
	sid_t s = sid_from_literal(sid), r;
	const char *got = sid_wellknown_name(&s);
	assert_non_null(got);
	assert_string_equal(got, name);
	assert_int_equal(sid_wellknown_lookup(name, &r), CERR_OK);
	assert_true(sid_equal(&s, &r));
	if (sddl) {
		assert_string_equal(sid_to_sddl_alias(&s, NULL), sddl);
		assert_int_equal(sid_from_sddl_alias(sddl, NULL, &r), CERR_OK);
		assert_true(sid_equal(&s, &r));
	} else {
		assert_null(sid_to_sddl_alias(&s, NULL));
	}
}

static void test_wellknown(void **state)
{
	(void)state;
	check_name("S-1-5-7", "NT AUTHORITY\\ANONYMOUS LOGON", "AN");
	check_name("S-1-1-0", "Everyone", "WD");
	check_name("S-1-5-11", "NT AUTHORITY\\Authenticated Users", "AU");
	check_name("S-1-5-2", "NT AUTHORITY\\NETWORK", "NU");
	check_name("S-1-5-15", "NT AUTHORITY\\This Organization", NULL);
	check_name("S-1-5-32-544", "BUILTIN\\Administrators", "BA");
	check_name("S-1-5-32-545", "BUILTIN\\Users", "BU");
	check_name("S-1-5-32-546", "BUILTIN\\Guests", "BG");
	check_name("S-1-5-32-551", "BUILTIN\\Backup Operators", "BO");
	check_name("S-1-5-32-574", "BUILTIN\\Certificate Service DCOM Access", "CD");
	check_name("S-1-5-18", "NT AUTHORITY\\SYSTEM", "SY");
	check_name("S-1-5-113", "NT AUTHORITY\\Local account", NULL);
	check_name("S-1-5-64-10", "NT AUTHORITY\\NTLM Authentication", NULL);
	check_name("S-1-18-1", "Authentication authority asserted identity", "AS");
	check_name("S-1-5-9", "NT AUTHORITY\\ENTERPRISE DOMAIN CONTROLLERS", "ED");

	sid_t s;
	/* the short form LookupAccountName also accepts, any case */
	assert_int_equal(sid_wellknown_lookup("administrators", &s), CERR_OK);
	assert_true(sid_equal(&s, &(sid_t){0}) == false);
	char out[SID_STR_MAX];
	assert_string_equal(sid_format(&s, out), "S-1-5-32-544");
	assert_int_equal(sid_wellknown_lookup("ANONYMOUS LOGON", &s), CERR_OK);
	assert_string_equal(sid_format(&s, out), "S-1-5-7");
	assert_int_equal(sid_wellknown_lookup("Guest", &s), CERR_NOT_FOUND); /* domain-relative */
	assert_int_equal(sid_wellknown_lookup("Administrator", &s), CERR_NOT_FOUND);
	assert_int_equal(sid_wellknown_lookup(NULL, &s), CERR_NOT_FOUND);
	s = sid_from_literal("S-1-5-21-1-2-3-513");
	assert_null(sid_wellknown_name(&s));

	/* domain-relative RIDs */
	uint32_t rid;
	assert_string_equal(sid_domain_rid_name(513), "Domain Users");
	assert_string_equal(sid_domain_rid_name(512), "Domain Admins");
	assert_string_equal(sid_domain_rid_name(501), "Guest");
	assert_null(sid_domain_rid_name(1105));
	assert_true(sid_domain_rid_lookup("domain users", &rid));
	assert_int_equal(rid, 513);
	assert_false(sid_domain_rid_lookup("Domain Usurpers", &rid));

	/* SDDL aliases that need the domain */
	sid_t dom = sid_from_literal("S-1-5-21-1-2-3");
	assert_int_equal(sid_from_sddl_alias("DU", NULL, &s), CERR_INVALID_ARG);
	assert_int_equal(sid_from_sddl_alias("DU", &dom, &s), CERR_OK);
	assert_string_equal(sid_format(&s, out), "S-1-5-21-1-2-3-513");
	assert_string_equal(sid_to_sddl_alias(&s, &dom), "DU");
	assert_null(sid_to_sddl_alias(&s, NULL));
	assert_int_equal(sid_from_sddl_alias("DA", &dom, &s), CERR_OK);
	assert_string_equal(sid_format(&s, out), "S-1-5-21-1-2-3-512");
	assert_int_equal(sid_from_sddl_alias("LG", &dom, &s), CERR_OK);
	assert_string_equal(sid_format(&s, out), "S-1-5-21-1-2-3-501");
	assert_int_equal(sid_from_sddl_alias("ZZ", &dom, &s), CERR_NOT_FOUND);
	assert_int_equal(sid_from_sddl_alias("wd", NULL, &s), CERR_NOT_FOUND); /* SDDL is case-sensitive */
	assert_int_equal(sid_from_sddl_alias("WDX", NULL, &s), CERR_NOT_FOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_format),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_packet_and_ndr),
		cmocka_unit_test(test_compare_compose),
		cmocka_unit_test(test_wellknown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
