/* test_sd.c - security descriptors: Windows' registry bytes for the DCOM
 * defaults, SDDL round trips against Windows' canonical output, malformed SDDL
 * with exact error offsets, binary codec edge cases, and the access check
 * (anonymous / user / Certificate Service DCOM Access / Administrators against
 * the default launch and access restrictions, deny order, deny-only groups,
 * NULL and empty DACLs, owner rights, object ACEs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "security/sd.h"

/* ---- fixtures ---- */

/* HKLM\SOFTWARE\Microsoft\Ole values from a Windows 7-era machine, as
 * published in a registry export (gerryw1389/gerryw1389.github.io,
 * _posts/2016-05-26-dcom-settings-for-missing-windows-updates-section.md). */
static const uint8_t reg_machine_access_restriction[] = {
	0x01, 0x00, 0x04, 0x80, 0x74, 0x00, 0x00, 0x00, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x14, 0x00, 0x00, 0x00, 0x02, 0x00, 0x60, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00,
	0x07, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x14, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
	0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x18, 0x00, 0x07, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x05, 0x20, 0x00, 0x00, 0x00, 0x32, 0x02, 0x00, 0x00, 0x00, 0x00, 0x18, 0x00,
	0x07, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x20, 0x00, 0x00, 0x00,
	0x2f, 0x02, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x20, 0x00, 0x00, 0x00,
	0x20, 0x02, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x20, 0x00, 0x00, 0x00,
	0x20, 0x02, 0x00, 0x00,
};
static const uint8_t reg_machine_launch_restriction[] = {
	0x01, 0x00, 0x04, 0x80, 0x78, 0x00, 0x00, 0x00, 0x88, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x14, 0x00, 0x00, 0x00, 0x02, 0x00, 0x64, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x18, 0x00,
	0x1f, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x20, 0x00, 0x00, 0x00,
	0x20, 0x02, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x18, 0x00, 0x1f, 0x00, 0x00, 0x00,
	0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x20, 0x00, 0x00, 0x00, 0x32, 0x02, 0x00, 0x00,
	0x00, 0x00, 0x18, 0x00, 0x1f, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
	0x20, 0x00, 0x00, 0x00, 0x2f, 0x02, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
	0x20, 0x00, 0x00, 0x00, 0x20, 0x02, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
	0x20, 0x00, 0x00, 0x00, 0x20, 0x02, 0x00, 0x00,
};
static const uint8_t reg_default_launch_permission[] = {
	0x01, 0x00, 0x04, 0x80, 0x5c, 0x00, 0x00, 0x00, 0x6c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x14, 0x00, 0x00, 0x00, 0x02, 0x00, 0x48, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x18, 0x00,
	0x1f, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x20, 0x00, 0x00, 0x00,
	0x20, 0x02, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x1f, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x05, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x1f, 0x00, 0x00, 0x00,
	0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x12, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x05, 0x20, 0x00, 0x00, 0x00, 0x20, 0x02, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x05, 0x20, 0x00, 0x00, 0x00, 0x20, 0x02, 0x00, 0x00,
};

/* An object ACE laid out by hand from MS-DTYP 2.4.4.3 (the ACL bytes agree
 * with impacket's ldaptypes.ACL encoder):
 * O:BAG:SYD:(OA;;CR;0e10c968-78fb-11d2-90d4-00c04f79dc55;;S-1-5-21-1-2-3-513)(A;;LCRPLORC;;;AU) */
static const uint8_t object_ace_sd[] = {
	/* header: rev 1, sbz1 0, control SR|DP, owner 0x68, group 0x78, sacl 0, dacl 0x14 */
	0x01, 0x00, 0x04, 0x80, 0x68, 0x00, 0x00, 0x00, 0x78, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x14, 0x00, 0x00, 0x00,
	/* ACL: revision 4 (object ACEs), size 0x54, 2 ACEs */
	0x04, 0x00, 0x54, 0x00, 0x02, 0x00, 0x00, 0x00,
	/* ACCESS_ALLOWED_OBJECT_ACE, size 0x38, mask CR, flags ObjectType present */
	0x05, 0x00, 0x38, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x68, 0xc9, 0x10, 0x0e, 0xfb, 0x78, 0xd2, 0x11, 0x90, 0xd4, 0x00, 0xc0, 0x4f, 0x79, 0xdc, 0x55,
	0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x15, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00,
	/* ACCESS_ALLOWED_ACE, size 0x14, mask 0x20094, S-1-5-11 */
	0x00, 0x00, 0x14, 0x00, 0x94, 0x00, 0x02, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
	0x0b, 0x00, 0x00, 0x00,
	/* owner S-1-5-32-544, group S-1-5-18 */
	0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x20, 0x00, 0x00, 0x00, 0x20, 0x02, 0x00, 0x00,
	0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x12, 0x00, 0x00, 0x00,
};

/* A callback ACE (ACCESS_ALLOWED_CALLBACK, 0x09) for Everyone with 8 bytes of
 * application data ("artx" and a padding-like tail), then an ACCESS_DENIED_CALLBACK
 * (0x0A) for ANONYMOUS LOGON with 4 bytes. No owner or group. */
static const uint8_t callback_sd[] = {
	0x01, 0x00, 0x04, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x14, 0x00, 0x00, 0x00,
	0x02, 0x00, 0x3c, 0x00, 0x02, 0x00, 0x00, 0x00,
	0x09, 0x00, 0x1c, 0x00, 0x10, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x00, 0x61, 0x72, 0x74, 0x78, 0x00, 0x00, 0x00, 0x00,
	0x0a, 0x00, 0x18, 0x00, 0x10, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
	0x07, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04,
};

/* ---- helpers ---- */

static sd_t *parse(const char *sddl, const sid_t *dom)
{
	sd_t *sd = NULL;
	char err[256];
	cerr_t e = sd_from_sddl(sddl, dom, &sd, err, sizeof(err));
	if (e != CERR_OK) {
		fprintf(stderr, "sd_from_sddl(%s): %s\n", sddl, err);
	}
	assert_int_equal(e, CERR_OK);
	assert_non_null(sd);
	return sd;
}

static uint8_t *encode(const sd_t *sd, size_t *len)
{
	buf_t b;
	buf_init(&b, BUF_DEFAULT_MAX);
	sd_encode(&b, sd);
	assert_true(buf_ok(&b));
	assert_int_equal(b.len, sd_wire_len(sd));
	return buf_take(&b, len);
}

static sd_t *decode(const uint8_t *data, size_t len)
{
	cur_t c;
	sd_t *sd = NULL;
	cur_init(&c, data, len);
	assert_int_equal(sd_decode(&c, &sd), CERR_OK);
	assert_true(cur_empty(&c));
	return sd;
}

/* check_canon: sddl parses and formats as canon, and canon survives encode/decode. */
static void check_canon(const char *sddl, const char *canon, const sid_t *dom)
{
	sd_t *sd = parse(sddl, dom);
	char *out = sd_to_sddl(sd, dom);
	assert_non_null(out);
	assert_string_equal(out, canon);
	size_t len;
	uint8_t *bin = encode(sd, &len);
	sd_t *back = decode(bin, len);
	char *out2 = sd_to_sddl(back, dom);
	assert_non_null(out2);
	assert_string_equal(out2, canon);
	size_t len2;
	uint8_t *bin2 = encode(back, &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(bin, bin2, len);
	free(bin);
	free(bin2);
	free(out);
	free(out2);
	sd_free(back);
	sd_free(sd);
}

static void check_bad(const char *sddl, const sid_t *dom, cerr_t code, const char *msg)
{
	sd_t *sd = (sd_t *)0x1;
	char err[256];
	assert_int_equal(sd_from_sddl(sddl, dom, &sd, err, sizeof(err)), code);
	assert_ptr_equal(sd, (sd_t *)0x1); /* *out untouched */
	assert_string_equal(err, msg);
}

/* ---- fixtures: registry bytes <-> the default strings ---- */

static void check_fixture(const uint8_t *bytes, size_t len, const char *sddl)
{
	sd_t *sd = decode(bytes, len);
	char *s = sd_to_sddl(sd, NULL);
	assert_non_null(s);
	assert_string_equal(s, sddl);
	size_t n;
	uint8_t *again = encode(sd, &n);
	assert_int_equal(n, len);
	assert_memory_equal(again, bytes, len);
	free(again);
	free(s);
	sd_free(sd);

	sd = parse(sddl, NULL);
	uint8_t *fresh = encode(sd, &n);
	assert_int_equal(n, len);
	assert_memory_equal(fresh, bytes, len);
	free(fresh);
	sd_free(sd);
}

static void test_registry_fixtures(void **state)
{
	(void)state;
	check_fixture(reg_machine_access_restriction, sizeof(reg_machine_access_restriction),
		      sd_default_machine_access_restriction_sddl);
	check_fixture(reg_machine_launch_restriction, sizeof(reg_machine_launch_restriction),
		      sd_default_machine_launch_restriction_sddl);
	check_fixture(reg_default_launch_permission, sizeof(reg_default_launch_permission),
		      sd_default_launch_permission_sddl);
	assert_string_equal(sd_default_machine_launch_restriction_sddl,
			    "O:BAG:BAD:(A;;CCDCLCSWRP;;;BA)(A;;CCDCSW;;;WD)(A;;CCDCLCSWRP;;;S-1-5-32-562)"
			    "(A;;CCDCLCSWRP;;;LU)");
	assert_string_equal(sd_default_machine_access_restriction_sddl,
			    "O:BAG:BAD:(A;;CCDCLC;;;WD)(A;;CCDC;;;AN)(A;;CCDCLC;;;S-1-5-32-562)(A;;CCDCLC;;;LU)");
}

static void test_defaults_canonical(void **state)
{
	(void)state;
	const char *all[] = {
		sd_default_machine_launch_restriction_sddl,    sd_default_machine_access_restriction_sddl,
		sd_default_machine_launch_restriction_ca_sddl, sd_default_machine_access_restriction_ca_sddl,
		sd_default_launch_permission_sddl,             sd_default_certsrv_request_launch_sddl,
		sd_default_certsrv_request_access_sddl,
	};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		check_canon(all[i], all[i], NULL);
	}
	/* Every COM entry carries COM_RIGHTS_EXECUTE (an ACL without it is invalid to COM). */
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		sd_t *sd = parse(all[i], NULL);
		for (size_t j = 0; j < sd->dacl->num_aces; j++) {
			assert_true(sd->dacl->aces[j].mask & SD_COM_RIGHTS_EXECUTE);
		}
		sd_free(sd);
	}
}

static void test_object_ace_bytes(void **state)
{
	(void)state;
	const char *s = "O:BAG:SYD:(OA;;CR;" SD_GUID_S_CERTIFICATE_ENROLLMENT ";;S-1-5-21-1-2-3-513)(A;;LCRPLORC;;;AU)";
	check_fixture(object_ace_sd, sizeof(object_ace_sd), s);
	sd_t *sd = decode(object_ace_sd, sizeof(object_ace_sd));
	assert_int_equal(sd->dacl->revision, 4);
	const sd_ace_t *a = &sd->dacl->aces[0];
	guid_t enroll = guid_from_literal(SD_GUID_S_CERTIFICATE_ENROLLMENT);
	assert_int_equal(a->type, SD_ACE_ACCESS_ALLOWED_OBJECT);
	assert_int_equal(a->mask, SD_DS_CONTROL_ACCESS);
	assert_int_equal(a->object_flags, SD_ACE_OBJECT_TYPE_PRESENT);
	assert_true(guid_equal(&a->object_type, &enroll));
	/* With the domain, S-1-5-21-1-2-3-513 prints as DU. */
	sid_t dom = sid_from_literal("S-1-5-21-1-2-3");
	char *t = sd_to_sddl(sd, &dom);
	assert_string_equal(t, "O:BAG:SYD:(OA;;CR;0e10c968-78fb-11d2-90d4-00c04f79dc55;;DU)(A;;LCRPLORC;;;AU)");
	free(t);
	sd_free(sd);
	sd = parse("O:BAG:SYD:(OA;;CR;0e10c968-78fb-11d2-90d4-00c04f79dc55;;DU)(A;;LCRPLORC;;;AU)", &dom);
	size_t n;
	uint8_t *bin = encode(sd, &n);
	assert_int_equal(n, sizeof(object_ace_sd));
	assert_memory_equal(bin, object_ace_sd, n);
	free(bin);
	sd_free(sd);
}

/* ---- SDDL round trips: (input, Windows' output) pairs that Samba's
 * python/samba/tests/sddl.py records from Windows (windows-sddl-tests.c),
 * with Samba's test domain S-1-2-3-4, plus Windows' own output quoted in
 * Microsoft's "The Security Descriptor Definition Language of Love (Part 2)". ---- */

static void test_sddl_canonical(void **state)
{
	(void)state;
	sid_t dom = sid_from_literal("S-1-2-3-4");
	static const char *const pairs[][2] = {
		{"D:(A;;CC;;;BA)(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;SY)(A;;RPLCLORC;;;AU)",
		 "D:(A;;CC;;;BA)(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;SY)(A;;LCRPLORC;;;AU)"},
		{"D:(A;;RPWPCRCCDCLCLORCWOWDSW;;;BO)(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;SY)(A;;RPLCLORC;;;AU)",
		 "D:(A;;CCDCLCSWRPWPLOCRRCWDWO;;;BO)(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;SY)(A;;LCRPLORC;;;AU)"},
		{"D:(A;;123456789;;;LG)", "D:(A;;0x75bcd15;;;LG)"},
		{"D:(A;;01234567;;;LG)", "D:(A;;0x53977;;;LG)"},
		{"D:(A;;16;;;LG)", "D:(A;;RP;;;LG)"},
		{"D:(A;;17;;;LG)", "D:(A;;CCRP;;;LG)"},
		{"D:(A;;0xff;;;LG)", "D:(A;;CCDCLCSWRPWPDTLO;;;LG)"},
		{"D:(A;;0xf01ff;;;LG)", "D:(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;LG)"},
		{"D:(A;;0xe00f0000;;;LG)", "D:(A;;SDRCWDWOGXGWGR;;;LG)"},
		{"D:ARPAI(A;;GA;;;SY)", "D:PARAI(A;;GA;;;SY)"},
		{"D:AIPAR(A;;GA;;;SY)", "D:PARAI(A;;GA;;;SY)"},
		{"D:PARP(A;;GA;;;SY)", "D:PAR(A;;GA;;;SY)"},
		{"D:PPPPPPPPPPPP(A;;GA;;;SY)", "D:P(A;;GA;;;SY)"},
		{"S:D:P", "D:PS:"},
		{"S:D:", "D:S:"},
		{"D:(A;;GA;;;S-1-3-4294967295-3-4)", "D:(A;;GA;;;S-1-3-4294967295-3-4)"},
		{"D:(A;;GA;;;S-1-5-21-2447931902-1787058256-3961074038-1201)",
		 "D:(A;;GA;;;S-1-5-21-2447931902-1787058256-3961074038-1201)"},
		{"O:S-1-5-21-1225132014-296224811-2507946102-512G:S-1-5-21-1225132014-296224811-2507946102-512D:P",
		 "O:S-1-5-21-1225132014-296224811-2507946102-512G:S-1-5-21-1225132014-296224811-2507946102-512D:P"},
		{"O:S-1-2-512D:", "O:S-1-2-512D:"},
		{"D:(A;;0x401200a0;;;LG)", "D:(A;;0x401200a0;;;LG)"},
		{"D:P(A;;GA;;;LG)(A;;GX;;;AA)", "D:P(A;;GA;;;LG)(A;;GX;;;AA)"},
		{"S:(AU;SA;CR;;;WD)(AU;SA;CR;;;WD)", "S:(AU;SA;CR;;;WD)(AU;SA;CR;;;WD)"},
		{"D:(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;BO)(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;SY)(A;;RPLCLORC;;;AU)"
		 "S:(AU;SA;CRWP;;;WD)",
		 "D:(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BO)(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;SY)(A;;LCRPLORC;;;AU)"
		 "S:(AU;SA;WPCR;;;WD)"},
		{"S:(OU;CISA;WP;f30e3bbe-9ff0-11d1-b603-0000f80367c1;bf967aa5-0de6-11d0-a285-00aa003049e2;WD)"
		 "(OU;CISA;WP;f30e3bbf-9ff0-11d1-b603-0000f80367c1;bf967aa5-0de6-11d0-a285-00aa003049e2;WD)",
		 "S:(OU;CISA;WP;f30e3bbe-9ff0-11d1-b603-0000f80367c1;bf967aa5-0de6-11d0-a285-00aa003049e2;WD)"
		 "(OU;CISA;WP;f30e3bbf-9ff0-11d1-b603-0000f80367c1;bf967aa5-0de6-11d0-a285-00aa003049e2;WD)"},
		{"D:(OA;CIIO;RP;037088f8-0ae1-11d2-b422-00a0c968f939;4828CC14-1437-45bc-9B07-AD6F015E5F28;RU)"
		 "(OA;;RPWP;77B5B886-944A-11d1-AEBD-0000F80367C1;;PS)(OA;;CR;ab721a53-1e2f-11d0-9819-00aa0040529b;;WD)",
		 "D:(OA;CIIO;RP;037088f8-0ae1-11d2-b422-00a0c968f939;4828cc14-1437-45bc-9b07-ad6f015e5f28;RU)"
		 "(OA;;RPWP;77b5b886-944a-11d1-aebd-0000f80367c1;;PS)(OA;;CR;ab721a53-1e2f-11d0-9819-00aa0040529b;;WD)"},
		{"D:(OA;CIIO;RPLCLORC;;bf967a9c-0de6-11d0-a285-00aa003049e2;RU)",
		 "D:(OA;CIIO;LCRPLORC;;bf967a9c-0de6-11d0-a285-00aa003049e2;RU)"},
		/* Windows' cacls /S output (Microsoft blog above): FA, hex 0x1200a9, ID/IO flags. */
		{"D:AI(D;OICI;FA;;;BG)(A;;FA;;;BA)(A;OICIID;FA;;;BA)(A;OICIID;FA;;;SY)(A;OICIIOID;GA;;;CO)"
		 "(A;OICIID;0x1200a9;;;BU)(A;CIID;LC;;;BU)(A;CIID;DC;;;BU)",
		 "D:AI(D;OICI;FA;;;BG)(A;;FA;;;BA)(A;OICIID;FA;;;BA)(A;OICIID;FA;;;SY)(A;OICIIOID;GA;;;CO)"
		 "(A;OICIID;0x1200a9;;;BU)(A;CIID;LC;;;BU)(A;CIID;DC;;;BU)"},
		/* ours: composites, flag order, NULL and empty ACLs, labels, audit flags */
		{"D:(A;;0x1f01ff;;;BA)(A;;0x120089;;;BU)(A;;KA;;;SY)(A;;KX;;;BU)",
		 "D:(A;;FA;;;BA)(A;;FR;;;BU)(A;;KA;;;SY)(A;;KR;;;BU)"},
		{"D:(A;IDIOCIOINP;GA;;;CO)", "D:(A;OICINPIOID;GA;;;CO)"},
		{"D:NO_ACCESS_CONTROL", "D:NO_ACCESS_CONTROL"},
		{"D:PNO_ACCESS_CONTROLS:NO_ACCESS_CONTROL", "D:PNO_ACCESS_CONTROLS:NO_ACCESS_CONTROL"},
		{"D:", "D:"},
		{"", ""},
		{"G:SYO:BA", "O:BAG:SY"},
		{"S:(ML;;NW;;;LW)", "S:(ML;;NW;;;LW)"},
		{"S:(ML;OICI;NWNRNX;;;HI)", "S:(ML;OICI;NWNRNX;;;HI)"},
		{"S:(ML;;0x1;;;ME)", "S:(ML;;NW;;;ME)"},
		{"S:(ML;;0x9;;;ME)", "S:(ML;;0x9;;;ME)"},
		{"S:PAI(AU;FA;FA;;;WD)(AL;SAFA;RC;;;WD)(OL;;CR;;;AN)", "S:PAI(AU;FA;FA;;;WD)(AL;SAFA;RC;;;WD)(OL;;CR;;;AN)"},
		{"D:(A;;0;;;WD)(A;;;;;AN)", "D:(A;;;;;WD)(A;;;;;AN)"},
		{"D:(A;;0XFFFFFFFF;;;WD)", "D:(A;;0xffffffff;;;WD)"},
		{"D:(A;;4294967295;;;WD)", "D:(A;;0xffffffff;;;WD)"},
		{"O:s-1-5-32-544", "O:BA"},
		{"O:S-1-0x000000000005-32-544", "O:BA"},
		{"D:(D;;CCDCLCSWRP;;;AN)(A;;CCDCLCSWRP;;;CD)", "D:(D;;CCDCLCSWRP;;;AN)(A;;CCDCLCSWRP;;;CD)"},
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		check_canon(pairs[i][0], pairs[i][1], &dom);
	}
	/* Domain-relative aliases print as SIDs without the domain. */
	sd_t *sd = parse("O:DAD:(A;;GA;;;DU)", &dom);
	char *s = sd_to_sddl(sd, NULL);
	assert_string_equal(s, "O:S-1-2-3-4-512D:(A;;GA;;;S-1-2-3-4-513)");
	free(s);
	sd_free(sd);
}

/* ---- malformed SDDL ---- */

static void test_sddl_malformed(void **state)
{
	(void)state;
	sid_t dom = sid_from_literal("S-1-2-3-4");
	/* Samba's should-fail list (Windows refuses these too). */
	check_bad("Z:(A;;GA;;;SY)", &dom, CERR_MALFORMED, "at offset 0: expected O:, G:, D: or S: at 'Z:(A;;GA'");
	check_bad("D:(Antlers;;GA;;;SY)", &dom, CERR_MALFORMED, "at offset 3: unknown ACE type 'Antlers'");
	check_bad("d:(A;;GA;;;LG)", &dom, CERR_MALFORMED, "at offset 0: expected O:, G:, D: or S: at 'd:(A;;GA'");
	check_bad("D:((A;;GA;;;LG))", &dom, CERR_MALFORMED, "at offset 3: unknown ACE type '(A'");
	check_bad("D:(A;;GA;;)", &dom, CERR_MALFORMED,
		  "at offset 10: ACE has 5 fields, expected 6 (type;flags;rights;object;inherited-object;sid)");
	check_bad("D :S:", &dom, CERR_MALFORMED, "at offset 0: expected O:, G:, D: or S: at 'D :S:'");
	check_bad("S:(AU;SA;CROOO;;;WD)(AU;SA;CR;;;WD)", &dom, CERR_MALFORMED, "at offset 11: unknown right 'OO'");
	check_bad("D:(A;;GA;;;S-1-0x1313131313131-513)", &dom, CERR_MALFORMED,
		  "at offset 11: malformed SID 'S-1-0x1313131313131-513'");
	check_bad("D:(A;;GA;a;;S-1-5-21-2447931902-1787058256-0xec193176-1201)", &dom, CERR_MALFORMED,
		  "at offset 9: object GUID in a 'A' ACE (only OA, OD, OU, OL take one)");
	check_bad("S:(OU;CISA;WP;f30e3bbe-9ff0-11d1-b603-00potato7c1;bf967aa5-0de6-11d0-a285-00aa003049e2;WD)", &dom,
		  CERR_MALFORMED, "at offset 14: malformed GUID 'f30e3bbe-9ff0-11d1-b603-00potato7c1'");
	check_bad("D:P:S:", &dom, CERR_MALFORMED, "at offset 2: expected O:, G:, D: or S: at 'P:S:'");
	check_bad("D:(A;;123456789 ;;;LG)", &dom, CERR_MALFORMED,
		  "at offset 6: malformed rights number '123456789 ' (hex, decimal or octal below 2^32)");
	check_bad("D:(A;;GA ;;;LG)", &dom, CERR_MALFORMED, "at offset 8: unknown right ' '");
	check_bad("D:(A;;GA;;;S-1-3-4 )", &dom, CERR_MALFORMED, "at offset 11: malformed SID 'S-1-3-4 '");
	check_bad("D:(A;;GA;;;LG", &dom, CERR_MALFORMED, "at offset 2: ACE has no closing ')'");
	check_bad("D:(A;;GA;;; LG)", &dom, CERR_MALFORMED, "at offset 11: malformed SID ' LG'");
	check_bad("D:(a;;GA;;;LG)", &dom, CERR_MALFORMED, "at offset 3: unknown ACE type 'a'");
	check_bad("D:(A;;ga;;;LG)", &dom, CERR_MALFORMED, "at offset 6: unknown right 'ga'");
	check_bad("D:(A;;GA;;;lg)", &dom, CERR_MALFORMED, "at offset 11: unknown SID alias 'lg'");
	/* Windows refuses audit entries in a DACL; the converse is ours. */
	check_bad("D:(A;;RP;;;WD)(AU;SA;CR;;;BA)", &dom, CERR_MALFORMED, "at offset 15: ACE type 'AU' belongs in a SACL (S:)");
	check_bad("S:(A;;RP;;;WD)", &dom, CERR_MALFORMED, "at offset 3: ACE type 'A' belongs in a DACL (D:)");
	/* the brief's example shape */
	check_bad("O:BAG:BAD:(A;;CCXY;;;WD)", &dom, CERR_MALFORMED, "at offset 16: unknown right 'XY'");
	check_bad("O:BAG:BAD:(A;;CCD;;;WD)", &dom, CERR_MALFORMED, "at offset 16: unknown right 'D'");
	check_bad("D:(A;XY;GA;;;WD)", &dom, CERR_MALFORMED, "at offset 5: unknown ACE flag 'XY'");
	check_bad("D:(A;OIC;GA;;;WD)", &dom, CERR_MALFORMED, "at offset 7: unknown ACE flag 'C'");
	check_bad("D:(A;;GA;;;DU)", NULL, CERR_MALFORMED,
		  "at offset 11: SID alias 'DU' is relative to a domain and no domain SID was given");
	check_bad("O:DU", NULL, CERR_MALFORMED,
		  "at offset 2: SID alias 'DU' is relative to a domain and no domain SID was given");
	check_bad("D:(A;;GA;;;ZZ)", &dom, CERR_MALFORMED, "at offset 11: unknown SID alias 'ZZ'");
	check_bad("D:(A;;GA;;;)", &dom, CERR_MALFORMED, "at offset 11: missing SID");
	check_bad("O:", &dom, CERR_MALFORMED, "at offset 2: missing SID");
	check_bad("O:G:BA", &dom, CERR_MALFORMED, "at offset 2: missing SID");
	check_bad("O:BAX", &dom, CERR_MALFORMED, "at offset 4: expected O:, G:, D: or S: at 'X'");
	check_bad("O:BAO:SY", &dom, CERR_MALFORMED, "at offset 4: second O: component");
	check_bad("D:D:", &dom, CERR_MALFORMED, "at offset 2: second D: component");
	check_bad("D:XX(A;;GA;;;WD)", &dom, CERR_MALFORMED, "at offset 2: unknown ACL flag 'XX' (P, AI, AR, NO_ACCESS_CONTROL)");
	check_bad("D:NO_ACCESS_CONTROL(A;;GA;;;WD)", &dom, CERR_MALFORMED, "at offset 19: entries after NO_ACCESS_CONTROL");
	check_bad("D:(XA;;FX;;;WD;(@User.Title == \"PM\"))", &dom, CERR_MALFORMED,
		  "at offset 3: ACE type 'XA' (callback, conditional or resource attribute) is not supported");
	check_bad("D:(A;;FX;;;WD;x)", &dom, CERR_MALFORMED,
		  "at offset 13: ACE has more than 6 fields (conditional and resource-attribute data are not supported)");
	check_bad("D:(A;;0x100000000;;;WD)", &dom, CERR_MALFORMED,
		  "at offset 6: malformed rights number '0x100000000' (hex, decimal or octal below 2^32)");
	check_bad("D:(A;;0x;;;WD)", &dom, CERR_MALFORMED,
		  "at offset 6: malformed rights number '0x' (hex, decimal or octal below 2^32)");
	check_bad("D:(A;;08;;;WD)", &dom, CERR_MALFORMED,
		  "at offset 6: malformed rights number '08' (hex, decimal or octal below 2^32)");
	check_bad("D:(OA;;CR;{0e10c968-78fb-11d2-90d4-00c04f79dc55};;WD)", &dom, CERR_MALFORMED,
		  "at offset 10: malformed GUID '{0e10c968-78fb-11d2-90d4-00c04f79dc55}'");
	check_bad("D:(A;;GA;;;S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16)", &dom, CERR_MALFORMED,
		  "at offset 11: SID 'S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-1...' has more than 15 sub-authorities");
	/* Control bytes are not echoed raw. */
	check_bad("D:(A;;G\x01;;;WD)", &dom, CERR_MALFORMED, "at offset 6: unknown right 'G?'");
	/* Arguments. */
	sd_t *sd;
	assert_int_equal(sd_from_sddl(NULL, NULL, &sd, NULL, 0), CERR_INVALID_ARG);
	assert_int_equal(sd_from_sddl("D:", NULL, NULL, NULL, 0), CERR_INVALID_ARG);
	assert_int_equal(sd_from_sddl("D:(", NULL, &sd, NULL, 0), CERR_MALFORMED); /* no err buffer: fine */
	char tiny[8];
	assert_int_equal(sd_from_sddl("D:(", NULL, &sd, tiny, sizeof(tiny)), CERR_MALFORMED);
	assert_string_equal(tiny, "at offs");
}

/* An ACL is at most 65535 bytes (AclSize is 16 bits). */
static void test_sddl_acl_limit(void **state)
{
	(void)state;
	const char *ace = "(A;;GA;;;S-1-5-21-1-2-3-4)"; /* header 4 + mask 4 + SID 28 = 36 bytes */
	size_t n = 1821;                                 /* 8 + 1820 * 36 = 65528 fits; the 1821st does not */
	size_t alen = strlen(ace);
	char *s = malloc(2 + n * alen + 1);
	assert_non_null(s);
	memcpy(s, "D:", 2);
	for (size_t i = 0; i < n; i++) {
		memcpy(s + 2 + i * alen, ace, alen);
	}
	s[2 + n * alen] = '\0';
	sd_t *sd;
	char err[256], want[256];
	assert_int_equal(sd_from_sddl(s, NULL, &sd, err, sizeof(err)), CERR_LIMIT);
	snprintf(want, sizeof(want), "at offset %zu: the DACL would exceed 65535 bytes, the most an ACL can hold",
		 2 + (n - 1) * alen);
	assert_string_equal(err, want);
	s[2 + (n - 1) * alen] = '\0';
	assert_int_equal(sd_from_sddl(s, NULL, &sd, err, sizeof(err)), CERR_OK);
	assert_int_equal(sd->dacl->num_aces, n - 1);
	size_t len;
	uint8_t *bin = encode(sd, &len);
	assert_int_equal(len, 20 + 8 + (n - 1) * 36);
	sd_t *back = decode(bin, len);
	assert_int_equal(back->dacl->num_aces, n - 1);
	free(bin);
	sd_free(back);
	sd_free(sd);
	free(s);
}

/* ---- binary codec ---- */

static cerr_t try_decode(const uint8_t *data, size_t len)
{
	cur_t c;
	sd_t *sd = (sd_t *)0x1;
	cur_init(&c, data, len);
	cerr_t e = sd_decode(&c, &sd);
	if (e == CERR_OK) {
		sd_free(sd);
	} else {
		assert_ptr_equal(sd, (sd_t *)0x1);
		assert_int_equal(cur_len(&c), len); /* unchanged on failure */
	}
	return e;
}

static void test_decode_errors(void **state)
{
	(void)state;
	uint8_t b[sizeof(reg_machine_access_restriction)];
	const size_t n = sizeof(b);
	/* every proper prefix fails cleanly */
	for (size_t i = 0; i < n; i++) {
		cerr_t e = try_decode(reg_machine_access_restriction, i);
		assert_true(e == CERR_TRUNCATED || e == CERR_MALFORMED);
	}
	assert_int_equal(try_decode(reg_machine_access_restriction, 0), CERR_TRUNCATED);
	assert_int_equal(try_decode(reg_machine_access_restriction, 19), CERR_TRUNCATED);

#define MUTATE(off, val, expect)                               \
	do {                                                   \
		memcpy(b, reg_machine_access_restriction, n);  \
		b[off] = (val);                                \
		assert_int_equal(try_decode(b, n), (expect));  \
	} while (0)
	MUTATE(0, 2, CERR_MALFORMED);     /* SD revision */
	MUTATE(3, 0x00, CERR_MALFORMED);  /* not self-relative */
	MUTATE(2, 0x00, CERR_MALFORMED);  /* DACL offset without SE_DACL_PRESENT */
	MUTATE(16, 0xf0, CERR_TRUNCATED); /* DACL beyond the buffer */
	MUTATE(16, 0x08, CERR_MALFORMED); /* DACL inside the header */
	MUTATE(4, 0x10, CERR_MALFORMED);  /* owner inside the header */
	MUTATE(4, 0x98, CERR_TRUNCATED);  /* owner past the end */
	MUTATE(20, 3, CERR_MALFORMED);    /* ACL revision */
	MUTATE(21, 1, CERR_MALFORMED);    /* ACL Sbz1 */
	MUTATE(26, 1, CERR_MALFORMED);    /* ACL Sbz2 */
	MUTATE(22, 0x04, CERR_MALFORMED); /* AclSize below its header */
	MUTATE(22, 0x90, CERR_TRUNCATED); /* AclSize past the end */
	MUTATE(24, 0x17, CERR_MALFORMED); /* AceCount larger than AclSize allows */
	MUTATE(24, 0x05, CERR_MALFORMED); /* one ACE more than present: runs into nothing */
	MUTATE(30, 0x13, CERR_MALFORMED); /* AceSize not a multiple of 4 */
	MUTATE(30, 0x10, CERR_MALFORMED); /* AceSize too small for its SID */
	MUTATE(30, 0x68, CERR_MALFORMED); /* AceSize past AclSize */
	MUTATE(37, 0x10, CERR_MALFORMED); /* SID with 16 sub-authorities */
#undef MUTATE

	/* A mask-and-SID ACE with slack after the SID keeps it; an AceCount below
	 * the entries present leaves the rest as ACL slack (dropped on encode). */
	memcpy(b, reg_machine_access_restriction, n);
	b[24] = 3;
	cur_t c;
	sd_t *sd;
	cur_init(&c, b, n);
	assert_int_equal(sd_decode(&c, &sd), CERR_OK);
	assert_int_equal(sd->dacl->num_aces, 3);
	char *s = sd_to_sddl(sd, NULL);
	assert_string_equal(s, "O:BAG:BAD:(A;;CCDCLC;;;WD)(A;;CCDC;;;AN)(A;;CCDCLC;;;S-1-5-32-562)");
	free(s);
	sd_free(sd);

	/* A big-endian cursor (NDR drep) does not change the descriptor's byte order. */
	cur_init(&c, reg_machine_access_restriction, n);
	c.be = true;
	assert_int_equal(sd_decode(&c, &sd), CERR_OK);
	s = sd_to_sddl(sd, NULL);
	assert_string_equal(s, sd_default_machine_access_restriction_sddl);
	free(s);
	sd_free(sd);

	/* Trailing slack after the last part is allowed and consumed. */
	uint8_t big[sizeof(reg_machine_access_restriction) + 8];
	memcpy(big, reg_machine_access_restriction, n);
	memset(big + n, 0xee, 8);
	cur_init(&c, big, sizeof(big));
	assert_int_equal(sd_decode(&c, &sd), CERR_OK);
	assert_true(cur_empty(&c));
	sd_free(sd);
}

/* Single-bit flips of every fixture byte: decode fails cleanly, or what it
 * decodes encodes and decodes to the same thing. */
static void test_decode_bitflips(void **state)
{
	(void)state;
	const struct {
		const uint8_t *p;
		size_t n;
	} fx[] = {
		{reg_machine_launch_restriction, sizeof(reg_machine_launch_restriction)},
		{object_ace_sd, sizeof(object_ace_sd)},
		{callback_sd, sizeof(callback_sd)},
	};
	for (size_t f = 0; f < sizeof(fx) / sizeof(fx[0]); f++) {
		uint8_t *b = malloc(fx[f].n);
		assert_non_null(b);
		for (size_t i = 0; i < fx[f].n * 8; i++) {
			memcpy(b, fx[f].p, fx[f].n);
			b[i / 8] ^= (uint8_t)(1u << (i % 8));
			cur_t c;
			sd_t *sd;
			cur_init(&c, b, fx[f].n);
			if (sd_decode(&c, &sd) != CERR_OK) {
				continue;
			}
			size_t l1, l2;
			uint8_t *e1 = encode(sd, &l1);
			sd_t *back = decode(e1, l1);
			uint8_t *e2 = encode(back, &l2);
			assert_int_equal(l1, l2);
			assert_memory_equal(e1, e2, l1);
			char *s1 = sd_to_sddl(sd, NULL);
			char *s2 = sd_to_sddl(back, NULL);
			assert_true((s1 == NULL) == (s2 == NULL));
			if (s1) {
				assert_string_equal(s1, s2);
			}
			free(s1);
			free(s2);
			free(e1);
			free(e2);
			sd_free(back);
			sd_free(sd);
		}
		free(b);
	}
}

static void test_callback_aces(void **state)
{
	(void)state;
	sd_t *sd = decode(callback_sd, sizeof(callback_sd));
	assert_int_equal(sd->dacl->num_aces, 2);
	const sd_ace_t *a = &sd->dacl->aces[0];
	assert_int_equal(a->type, SD_ACE_ACCESS_ALLOWED_CALLBACK);
	assert_false(a->raw);
	assert_int_equal(a->mask, 0x10);
	assert_int_equal(a->data_len, 8);
	assert_memory_equal(a->data, "artx\0\0\0\0", 8);
	/* kept byte for byte */
	size_t n;
	uint8_t *bin = encode(sd, &n);
	assert_int_equal(n, sizeof(callback_sd));
	assert_memory_equal(bin, callback_sd, n);
	free(bin);
	/* SDDL here cannot express callback entries */
	assert_null(sd_to_sddl(sd, NULL));
	sd_free(sd);

	/* An unknown type (0x14) and a compound ACE (0x04) are kept raw. */
	uint8_t raw[] = {
		0x01, 0x00, 0x04, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x14, 0x00, 0x00, 0x00, 0x02, 0x00, 0x14, 0x00, 0x02, 0x00, 0x00, 0x00,
		0x14, 0x03, 0x08, 0x00, 0xaa, 0xbb, 0xcc, 0xdd, 0x04, 0x00, 0x04, 0x00,
	};
	sd = decode(raw, sizeof(raw));
	assert_true(sd->dacl->aces[0].raw);
	assert_int_equal(sd->dacl->aces[0].flags, 3);
	assert_int_equal(sd->dacl->aces[0].data_len, 4);
	assert_true(sd->dacl->aces[1].raw);
	assert_int_equal(sd->dacl->aces[1].data_len, 0);
	bin = encode(sd, &n);
	assert_int_equal(n, sizeof(raw));
	assert_memory_equal(bin, raw, n);
	free(bin);
	assert_null(sd_to_sddl(sd, NULL));
	sd_free(sd);
}

static void test_sacl_and_control(void **state)
{
	(void)state;
	/* Windows' layout: SACL before DACL, then owner, group. */
	sd_t *sd = parse("O:SYG:SYD:PAI(A;;GA;;;BA)S:AR(ML;;NW;;;HI)", NULL);
	assert_int_equal(sd->control, SD_CTRL_SELF_RELATIVE | SD_CTRL_DACL_PRESENT | SD_CTRL_SACL_PRESENT |
					      SD_CTRL_DACL_PROTECTED | SD_CTRL_DACL_AUTO_INHERITED |
					      SD_CTRL_SACL_AUTO_INHERIT_REQ);
	size_t n;
	uint8_t *bin = encode(sd, &n);
	assert_int_equal(bin[16 - 4], 20); /* OffsetSacl */
	assert_int_equal(bin[16], 20 + 28); /* OffsetDacl after the 28-byte SACL */
	free(bin);
	sd_free(sd);

	/* Control bits SDDL cannot show are dropped from the text, kept in binary. */
	uint8_t b[sizeof(reg_machine_access_restriction)];
	memcpy(b, reg_machine_access_restriction, sizeof(b));
	b[2] |= SD_CTRL_DACL_DEFAULTED | SD_CTRL_OWNER_DEFAULTED;
	b[1] = 0x5a; /* Sbz1: resource-manager bits */
	sd = decode(b, sizeof(b));
	char *s = sd_to_sddl(sd, NULL);
	assert_string_equal(s, sd_default_machine_access_restriction_sddl);
	free(s);
	bin = encode(sd, &n);
	assert_memory_equal(bin, b, n);
	free(bin);
	sd_free(sd);

	/* An audit entry in a DACL: decoded and kept, but not printable (sd_from_sddl
	 * would refuse it there, as Windows does), and no part of the check. */
	memcpy(b, reg_machine_access_restriction, sizeof(b));
	b[28] = SD_ACE_SYSTEM_AUDIT;
	sd = decode(b, sizeof(b));
	assert_null(sd_to_sddl(sd, NULL));
	sd_free(sd);

	/* The CRITICAL ACE flag has no SDDL form here. */
	memcpy(b, reg_machine_access_restriction, sizeof(b));
	b[29] = SD_ACE_FLAG_CRITICAL;
	sd = decode(b, sizeof(b));
	assert_null(sd_to_sddl(sd, NULL));
	sd_free(sd);

	/* references */
	sd = parse("D:", NULL);
	assert_ptr_equal(sd_ref(sd), sd);
	sd_free(sd);
	assert_non_null(sd->dacl); /* still alive */
	sd_free(sd);
	sd_free(NULL);
	assert_null(sd_ref(NULL));
	assert_null(sd_to_sddl(NULL, NULL));
}

/* ---- access check ---- */

#define USER_SID "S-1-5-21-1-2-3-1000"

static token_t *user_token(const char *const *groups, size_t n)
{
	token_t *t;
	assert_int_equal(token_from_sid_strings("alice", "CA1", USER_SID, groups, n, TOKEN_AUTH_NTLM, &t), CERR_OK);
	return t;
}

static token_t *anon_token(bool everyone)
{
	token_t *t;
	assert_int_equal(token_new_anonymous(everyone, &t), CERR_OK);
	return t;
}

/* A Kerberos user whose PAC marks BUILTIN\Administrators deny-only (as a
 * filtered admin token would). */
static token_t *deny_only_admin_token(void)
{
	pac_t pac;
	pac_group_t groups[2];
	memset(&pac, 0, sizeof(pac));
	memset(groups, 0, sizeof(groups));
	pac.has_logon_info = true;
	pac.logon.effective_name = "bob";
	pac.logon.logon_domain_name = "CONTOSO";
	pac.logon.logon_domain_sid = sid_from_literal("S-1-5-21-1-2-3");
	pac.logon.user_id = 1001;
	pac.logon.primary_group_id = 513;
	pac.logon.group_count = 1;
	pac.logon.extra_sid_count = 1;
	pac.user_sid = sid_from_literal("S-1-5-21-1-2-3-1001");
	pac.primary_group_sid = sid_from_literal("S-1-5-21-1-2-3-513");
	groups[0].sid = sid_from_literal("S-1-5-21-1-2-3-513");
	groups[0].attributes = SE_GROUP_DEFAULT_ATTRS;
	groups[0].source = PAC_GROUP_DOMAIN;
	groups[1].sid = sid_from_literal(SID_S_BUILTIN_ADMINISTRATORS);
	groups[1].attributes = SE_GROUP_USE_FOR_DENY_ONLY;
	groups[1].source = PAC_GROUP_EXTRA;
	pac.groups = groups;
	pac.num_groups = 2;
	token_t *t;
	assert_int_equal(token_from_pac(&pac, TOKEN_AUTH_KERBEROS, &t), CERR_OK);
	return t;
}

static cerr_t check(const char *sddl, const token_t *t, uint32_t desired, uint32_t *granted, const char **why)
{
	sd_t *sd = parse(sddl, NULL);
	cerr_t e = sd_access_check(sd, t, desired, NULL, granted, why);
	sd_free(sd);
	return e;
}

#define REMOTE_ACTIVATION (SD_COM_RIGHTS_EXECUTE | SD_COM_RIGHTS_ACTIVATE_REMOTE)
#define LOCAL_ACTIVATION (SD_COM_RIGHTS_EXECUTE | SD_COM_RIGHTS_ACTIVATE_LOCAL)
#define REMOTE_ACCESS (SD_COM_RIGHTS_EXECUTE | SD_COM_RIGHTS_EXECUTE_REMOTE)
#define LOCAL_ACCESS (SD_COM_RIGHTS_EXECUTE | SD_COM_RIGHTS_EXECUTE_LOCAL)

static void test_check_dcom_defaults(void **state)
{
	(void)state;
	const char *admin_groups[] = {SID_S_BUILTIN_ADMINISTRATORS};
	const char *cd_groups[] = {SID_S_CERTSVC_DCOM_ACCESS};
	const char *dcu_groups[] = {"S-1-5-32-562"};
	token_t *anon = anon_token(false);
	token_t *anon_everyone = anon_token(true);
	token_t *user = user_token(NULL, 0);
	token_t *cd = user_token(cd_groups, 1);
	token_t *dcu = user_token(dcu_groups, 1);
	token_t *admin = user_token(admin_groups, 1);
	const char *launch = sd_default_machine_launch_restriction_sddl;
	const char *launch_ca = sd_default_machine_launch_restriction_ca_sddl;
	const char *access = sd_default_machine_access_restriction_sddl;
	const char *access_ca = sd_default_machine_access_restriction_ca_sddl;
	uint32_t g;
	const char *why;

	/* The motivating case: anonymous remote activation is refused. */
	assert_int_equal(check(launch, anon, REMOTE_ACTIVATION, &g, &why), CERR_STATUS_ACCESS_DENIED);
	assert_int_equal(g, 0);
	assert_string_equal(why, "no DACL entry grants NT AUTHORITY\\ANONYMOUS LOGON anything of CCRP (0x11)");
	assert_int_equal(check(launch_ca, anon, REMOTE_ACTIVATION, NULL, NULL), CERR_STATUS_ACCESS_DENIED);
	/* ... even when Everyone includes anonymous: Everyone has local rights only. */
	assert_int_equal(check(launch, anon_everyone, REMOTE_ACTIVATION, &g, &why), CERR_STATUS_ACCESS_DENIED);
	assert_string_equal(why, "no DACL entry grants NT AUTHORITY\\ANONYMOUS LOGON RP (0x10) "
				 "(DACL entry 2 (A;;CCDCSW;;;WD) granted the rest)");
	assert_int_equal(check(launch_ca, anon_everyone, REMOTE_ACTIVATION, NULL, NULL), CERR_STATUS_ACCESS_DENIED);
	assert_int_equal(check(launch, anon_everyone, LOCAL_ACTIVATION, NULL, NULL), CERR_OK);

	/* An authenticated user: local activation yes, remote only through a group. */
	assert_int_equal(check(launch, user, LOCAL_ACTIVATION, &g, &why), CERR_OK);
	assert_int_equal(g, LOCAL_ACTIVATION);
	assert_string_equal(why, "DACL entry 2 (A;;CCDCSW;;;WD) grants CCSW (0x9) to CA1\\alice");
	assert_int_equal(check(launch, user, REMOTE_ACTIVATION, NULL, NULL), CERR_STATUS_ACCESS_DENIED);
	assert_int_equal(check(launch_ca, user, REMOTE_ACTIVATION, NULL, NULL), CERR_STATUS_ACCESS_DENIED);
	assert_int_equal(check(launch, dcu, REMOTE_ACTIVATION, NULL, NULL), CERR_OK);

	/* A member of Certificate Service DCOM Access: remote activation on a CA only. */
	assert_int_equal(check(launch, cd, REMOTE_ACTIVATION, NULL, NULL), CERR_STATUS_ACCESS_DENIED);
	assert_int_equal(check(launch_ca, cd, REMOTE_ACTIVATION, &g, &why), CERR_OK);
	assert_string_equal(why, "DACL entry 5 (A;;CCSWRP;;;CD) grants the rest of CCRP (0x11) to CA1\\alice");
	assert_int_equal(check(launch_ca, cd, SD_COM_RIGHTS_EXECUTE | SD_COM_RIGHTS_EXECUTE_REMOTE, NULL, NULL),
			 CERR_STATUS_ACCESS_DENIED); /* remote launch is not granted */

	/* Administrators: everything, on both. */
	assert_int_equal(check(launch, admin, REMOTE_ACTIVATION, &g, &why), CERR_OK);
	assert_string_equal(why, "DACL entry 1 (A;;CCDCLCSWRP;;;BA) grants CCRP (0x11) to CA1\\alice");
	assert_int_equal(check(launch_ca, admin, 0x1f, NULL, NULL), CERR_OK);

	/* Machine access restriction: remote access for Everyone, local for anonymous. */
	assert_int_equal(check(access, user, REMOTE_ACCESS, NULL, NULL), CERR_OK);
	assert_int_equal(check(access, anon, LOCAL_ACCESS, NULL, NULL), CERR_OK);
	assert_int_equal(check(access, anon, REMOTE_ACCESS, &g, &why), CERR_STATUS_ACCESS_DENIED);
	assert_string_equal(why, "no DACL entry grants NT AUTHORITY\\ANONYMOUS LOGON LC (0x4) "
				 "(DACL entry 2 (A;;CCDC;;;AN) granted the rest)");
	assert_int_equal(check(access_ca, cd, REMOTE_ACCESS, NULL, NULL), CERR_OK);
	assert_int_equal(check(access_ca, anon, REMOTE_ACCESS, NULL, NULL), CERR_STATUS_ACCESS_DENIED);

	/* MAXIMUM_ALLOWED: what each may do. */
	/* (Administrators own the descriptor: READ_CONTROL | WRITE_DAC come with it.) */
	assert_int_equal(check(launch, admin, SD_MAXIMUM_ALLOWED, &g, &why), CERR_OK);
	assert_int_equal(g, 0x1f | SD_READ_CONTROL | SD_WRITE_DAC);
	assert_string_equal(why, "CA1\\alice may have CCDCLCSWRPRCWD (0x6001f) (MAXIMUM_ALLOWED)");
	assert_int_equal(check(launch, user, SD_MAXIMUM_ALLOWED, &g, NULL), CERR_OK);
	assert_int_equal(g, 0xb);
	assert_int_equal(check(launch_ca, cd, SD_MAXIMUM_ALLOWED, &g, NULL), CERR_OK);
	assert_int_equal(g, 0x1b);
	assert_int_equal(check(launch, anon, SD_MAXIMUM_ALLOWED, &g, &why), CERR_STATUS_ACCESS_DENIED);
	assert_int_equal(g, 0);
	assert_int_equal(check(launch, user, SD_MAXIMUM_ALLOWED | REMOTE_ACTIVATION, &g, &why),
			 CERR_STATUS_ACCESS_DENIED);
	assert_string_equal(why, "the DACL grants CA1\\alice only CCDCSW (0xb), not RP (0x10)");

	token_unref(anon);
	token_unref(anon_everyone);
	token_unref(user);
	token_unref(cd);
	token_unref(dcu);
	token_unref(admin);
}

static void test_check_deny_order(void **state)
{
	(void)state;
	token_t *user = user_token(NULL, 0);
	const char *why;
	/* deny first wins */
	assert_int_equal(check("D:(D;;RP;;;WD)(A;;CCRP;;;WD)", user, 0x11, NULL, &why), CERR_STATUS_ACCESS_DENIED);
	assert_string_equal(why, "DACL entry 1 (D;;RP;;;WD) denies RP (0x10) to CA1\\alice");
	/* allow first wins (Windows does not reorder) */
	assert_int_equal(check("D:(A;;CCRP;;;WD)(D;;RP;;;WD)", user, 0x11, NULL, NULL), CERR_OK);
	/* a deny for bits not asked for does not matter */
	assert_int_equal(check("D:(D;;RP;;;WD)(A;;CCRP;;;WD)", user, 0x1, NULL, NULL), CERR_OK);
	/* bits already granted are not taken back by a later deny */
	assert_int_equal(check("D:(A;;CC;;;WD)(D;;CCRP;;;AU)(A;;RP;;;WD)", user, 0x11, NULL, &why),
			 CERR_STATUS_ACCESS_DENIED);
	assert_string_equal(why, "DACL entry 2 (D;;CCRP;;;AU) denies RP (0x10) to CA1\\alice");
	/* deny for a SID the caller lacks */
	assert_int_equal(check("D:(D;;GA;;;AN)(A;;RP;;;WD)", user, 0x10, NULL, NULL), CERR_OK);
	/* inherit-only entries are skipped */
	assert_int_equal(check("D:(D;IO;RP;;;WD)(A;;RP;;;WD)", user, 0x10, NULL, NULL), CERR_OK);
	assert_int_equal(check("D:(A;IO;RP;;;WD)", user, 0x10, NULL, NULL), CERR_STATUS_ACCESS_DENIED);
	/* inherited (ID) entries apply */
	assert_int_equal(check("D:(A;ID;RP;;;WD)", user, 0x10, NULL, NULL), CERR_OK);
	/* several allow entries add up */
	assert_int_equal(check("D:(A;;CC;;;WD)(A;;DC;;;NU)(A;;LC;;;AU)", user, 0x7, NULL, &why), CERR_OK);
	assert_string_equal(why, "DACL entry 3 (A;;LC;;;AU) grants the rest of CCDCLC (0x7) to CA1\\alice");
	/* MAXIMUM_ALLOWED remembers denies */
	uint32_t g;
	assert_int_equal(check("D:(D;;RP;;;WD)(A;;CCDCLCSWRP;;;WD)", user, SD_MAXIMUM_ALLOWED, &g, NULL), CERR_OK);
	assert_int_equal(g, 0xf);
	token_unref(user);
}

static void test_check_deny_only(void **state)
{
	(void)state;
	token_t *t = deny_only_admin_token();
	const char *why;
	/* An allow for a deny-only group does not grant... */
	assert_int_equal(check("D:(A;;GA;;;BA)", t, SD_GENERIC_ALL, NULL, &why), CERR_STATUS_ACCESS_DENIED);
	assert_string_equal(why, "no DACL entry grants CONTOSO\\bob anything of GA (0x10000000)");
	/* ...but a deny for it denies. */
	assert_int_equal(check("D:(D;;RP;;;BA)(A;;RP;;;WD)", t, 0x10, NULL, &why), CERR_STATUS_ACCESS_DENIED);
	assert_string_equal(why, "DACL entry 1 (D;;RP;;;BA) denies RP (0x10) to CONTOSO\\bob");
	assert_int_equal(check("D:(A;;RP;;;WD)", t, 0x10, NULL, NULL), CERR_OK);
	assert_int_equal(check("D:(A;;RP;;;S-1-5-21-1-2-3-513)", t, 0x10, NULL, NULL), CERR_OK);
	token_unref(t);
}

static void test_check_null_empty_owner(void **state)
{
	(void)state;
	token_t *user = user_token(NULL, 0);
	token_t *anon = anon_token(false);
	uint32_t g;
	const char *why;
	/* NULL DACL and no DACL grant everything, to anyone */
	assert_int_equal(check("D:NO_ACCESS_CONTROL", anon, 0x10, &g, &why), CERR_OK);
	assert_int_equal(g, 0x10);
	assert_string_equal(why, "NT AUTHORITY\\ANONYMOUS LOGON: the descriptor has a NULL DACL, which grants everything");
	assert_int_equal(check("O:BAG:BA", anon, 0x10, &g, &why), CERR_OK);
	assert_string_equal(why, "NT AUTHORITY\\ANONYMOUS LOGON: the descriptor has no DACL, which grants everything");
	assert_int_equal(check("D:NO_ACCESS_CONTROL", anon, SD_MAXIMUM_ALLOWED, &g, NULL), CERR_OK);
	assert_int_equal(g, 0x001FFFFF);
	/* empty DACL: nothing */
	assert_int_equal(check("D:", user, 0x1, &g, &why), CERR_STATUS_ACCESS_DENIED);
	assert_string_equal(why, "the DACL is empty, so nobody but the owner gets anything; CA1\\alice is refused CC (0x1)");
	/* owner: READ_CONTROL | WRITE_DAC implicitly, even with an empty DACL */
	const char *owned = "O:" USER_SID "D:";
	assert_int_equal(check(owned, user, SD_READ_CONTROL | SD_WRITE_DAC, &g, &why), CERR_OK);
	assert_int_equal(g, SD_READ_CONTROL | SD_WRITE_DAC);
	assert_string_equal(why, "CA1\\alice owns the object, which grants RCWD (0x60000)");
	assert_int_equal(check(owned, user, SD_DELETE, NULL, NULL), CERR_STATUS_ACCESS_DENIED);
	assert_int_equal(check(owned, anon, SD_READ_CONTROL, NULL, NULL), CERR_STATUS_ACCESS_DENIED);
	/* owner rights combine with entries; a deny cannot take them back */
	assert_int_equal(check("O:" USER_SID "D:(D;;RC;;;WD)(A;;SD;;;WD)", user, SD_READ_CONTROL | SD_DELETE, NULL, NULL),
			 CERR_OK);
	/* an OWNER RIGHTS entry replaces the implicit rights */
	assert_int_equal(check("O:" USER_SID "D:(A;;RC;;;OW)", user, SD_WRITE_DAC, NULL, NULL), CERR_STATUS_ACCESS_DENIED);
	assert_int_equal(check("O:" USER_SID "D:(A;;RC;;;OW)", user, SD_READ_CONTROL, &g, &why), CERR_OK);
	assert_string_equal(why, "DACL entry 1 (A;;RC;;;OW) grants RC (0x20000) to CA1\\alice");
	assert_int_equal(check("O:" USER_SID "D:(A;;RC;;;OW)", anon, SD_READ_CONTROL, NULL, NULL),
			 CERR_STATUS_ACCESS_DENIED);
	assert_int_equal(check("O:" USER_SID "D:(D;;RC;;;OW)(A;;RC;;;WD)", user, SD_READ_CONTROL, NULL, NULL),
			 CERR_STATUS_ACCESS_DENIED);
	/* an inherit-only OWNER RIGHTS entry does not */
	assert_int_equal(check("O:" USER_SID "D:(A;IO;RC;;;OW)", user, SD_WRITE_DAC, NULL, NULL), CERR_OK);
	/* ACCESS_SYSTEM_SECURITY needs a privilege */
	assert_int_equal(check("D:NO_ACCESS_CONTROL", user, SD_ACCESS_SYSTEM_SECURITY, NULL, &why),
			 CERR_STATUS_ACCESS_DENIED);
	assert_string_equal(why, "ACCESS_SYSTEM_SECURITY needs SeSecurityPrivilege, which certa does not grant");
	token_unref(user);
	token_unref(anon);
}

static void test_check_generic_and_object(void **state)
{
	(void)state;
	token_t *user = user_token(NULL, 0);
	sd_t *sd = parse("D:(A;;GR;;;AU)", NULL);
	uint32_t g;
	/* mapped on both sides */
	assert_int_equal(sd_access_check(sd, user, SD_DS_READ_PROPERTY, &sd_generic_mapping_ds, &g, NULL), CERR_OK);
	assert_int_equal(g, SD_DS_READ_PROPERTY);
	assert_int_equal(sd_access_check(sd, user, SD_GENERIC_READ, &sd_generic_mapping_ds, &g, NULL), CERR_OK);
	assert_int_equal(g, 0x20094);
	assert_int_equal(sd_access_check(sd, user, SD_DS_WRITE_PROPERTY, &sd_generic_mapping_ds, NULL, NULL),
			 CERR_STATUS_ACCESS_DENIED);
	/* without a mapping GR matches only GR */
	assert_int_equal(sd_access_check(sd, user, SD_DS_READ_PROPERTY, NULL, NULL, NULL), CERR_STATUS_ACCESS_DENIED);
	assert_int_equal(sd_access_check(sd, user, SD_GENERIC_READ, NULL, NULL, NULL), CERR_OK);
	sd_free(sd);

	/* Certificate-Enrollment: an object ACE counts only for its GUID. */
	guid_t enroll = guid_from_literal(SD_GUID_S_CERTIFICATE_ENROLLMENT);
	guid_t autoenroll = guid_from_literal("a05b8cc2-17bc-4802-a710-e7c15ab866a2");
	sd = parse("D:(OA;;CR;" SD_GUID_S_CERTIFICATE_ENROLLMENT ";;AU)(A;;LCRPLORC;;;AU)", NULL);
	const char *why;
	assert_int_equal(sd_access_check_object(sd, user, SD_DS_CONTROL_ACCESS, &enroll, NULL, &g, &why), CERR_OK);
	assert_string_equal(why, "DACL entry 1 (OA;;CR;0e10c968-78fb-11d2-90d4-00c04f79dc55;;AU) grants CR (0x100) "
				 "to CA1\\alice");
	assert_int_equal(sd_access_check_object(sd, user, SD_DS_CONTROL_ACCESS, &autoenroll, NULL, NULL, NULL),
			 CERR_STATUS_ACCESS_DENIED);
	assert_int_equal(sd_access_check(sd, user, SD_DS_CONTROL_ACCESS, NULL, NULL, NULL), CERR_STATUS_ACCESS_DENIED);
	sd_free(sd);
	/* an object ACE without ObjectType applies to everything; a plain allow too */
	sd = parse("D:(OA;;CR;;;AU)", NULL);
	assert_int_equal(sd_access_check_object(sd, user, SD_DS_CONTROL_ACCESS, &autoenroll, NULL, NULL, NULL), CERR_OK);
	assert_int_equal(sd_access_check(sd, user, SD_DS_CONTROL_ACCESS, NULL, NULL, NULL), CERR_OK);
	sd_free(sd);
	/* an object deny for the GUID denies it */
	sd = parse("D:(OD;;CR;" SD_GUID_S_CERTIFICATE_ENROLLMENT ";;WD)(A;;CR;;;AU)", NULL);
	assert_int_equal(sd_access_check_object(sd, user, SD_DS_CONTROL_ACCESS, &enroll, NULL, NULL, NULL),
			 CERR_STATUS_ACCESS_DENIED);
	assert_int_equal(sd_access_check_object(sd, user, SD_DS_CONTROL_ACCESS, &autoenroll, NULL, NULL, NULL), CERR_OK);
	sd_free(sd);

	/* callback entries: allow never grants, deny denies */
	token_t *anon = anon_token(true);
	sd = decode(callback_sd, sizeof(callback_sd));
	assert_int_equal(sd_access_check(sd, user, 0x10, NULL, NULL, &why), CERR_STATUS_ACCESS_DENIED);
	assert_string_equal(why, "no DACL entry grants CA1\\alice anything of RP (0x10)");
	assert_int_equal(sd_access_check(sd, anon, 0x10, NULL, NULL, &why), CERR_STATUS_ACCESS_DENIED);
	assert_string_equal(why, "DACL entry 2 (type 0x0a) denies RP (0x10) to NT AUTHORITY\\ANONYMOUS LOGON");
	sd_free(sd);

	/* arguments */
	sd = parse("D:", NULL);
	assert_int_equal(sd_access_check(NULL, user, 1, NULL, &g, &why), CERR_INVALID_ARG);
	assert_int_equal(sd_access_check(sd, NULL, 1, NULL, &g, &why), CERR_INVALID_ARG);
	assert_int_equal(sd_access_check(sd, user, 0, NULL, &g, &why), CERR_INVALID_ARG);
	const sd_generic_mapping_t zero = {0, 0, 0, 0};
	assert_int_equal(sd_access_check(sd, user, SD_GENERIC_READ, &zero, &g, &why), CERR_INVALID_ARG);
	sd_free(sd);
	token_unref(anon);
	token_unref(user);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry_fixtures),
		cmocka_unit_test(test_defaults_canonical),
		cmocka_unit_test(test_object_ace_bytes),
		cmocka_unit_test(test_sddl_canonical),
		cmocka_unit_test(test_sddl_malformed),
		cmocka_unit_test(test_sddl_acl_limit),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_decode_bitflips),
		cmocka_unit_test(test_callback_aces),
		cmocka_unit_test(test_sacl_and_control),
		cmocka_unit_test(test_check_dcom_defaults),
		cmocka_unit_test(test_check_deny_order),
		cmocka_unit_test(test_check_deny_only),
		cmocka_unit_test(test_check_null_empty_owner),
		cmocka_unit_test(test_check_generic_and_object),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
