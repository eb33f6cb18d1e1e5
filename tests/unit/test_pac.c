/* test_pac.c - the MS-PAC decoder against two PACs captured from Windows KDCs
 * and against PACs built here (groups, extra SIDs, resource groups, UPN info),
 * plus malformed variants: truncations, bit flips, bad offsets, bad NDR. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "security/pac.h"
#include "security/token.h"
#include "util/arena.h"
#include "util/cursor.h"
#include "util/log.h"
#include "testutil.h"

/* The Windows Server 2003 KDC's PAC (MIT krb5's t_pac.c "saved_pac") is
 * tu_saved_pac (testutil.c), shared with test_logon.c. */

/* A PAC from a Windows Server 2008 KDC (S4U2Self for w2k8u@ACME.COM), as
 * published in MIT krb5's src/lib/krb5/krb/t_pac.c ("s4u_pac_regular"):
 * logon info, client info, UPN_DNS_INFO, AES256 server signature, HMAC-MD5
 * KDC signature. */
static const uint8_t s4u_pac_regular[] = {
	0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0xa0, 0x01, 0x00, 0x00, 0x58, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x0a, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0xf8, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x38, 0x00, 0x00, 0x00,
	0x10, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00,
	0x10, 0x00, 0x00, 0x00, 0x48, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x07, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x58, 0x02, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x01, 0x10, 0x08, 0x00, 0xcc, 0xcc, 0xcc, 0xcc,
	0x90, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
	0xc9, 0x36, 0xfd, 0x57, 0x5b, 0x59, 0xd4, 0x01, 0xc9, 0x36, 0xfd, 0x57,
	0x5b, 0x59, 0xd4, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
	0x0a, 0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x0a, 0x00, 0x0a, 0x00,
	0x08, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x02, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x14, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x18, 0x00, 0x02, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x76, 0x04, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x1c, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x08, 0x00, 0x20, 0x00, 0x02, 0x00,
	0x08, 0x00, 0x0a, 0x00, 0x24, 0x00, 0x02, 0x00, 0x28, 0x00, 0x02, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x02, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00,
	0x77, 0x00, 0x32, 0x00, 0x6b, 0x00, 0x38, 0x00, 0x75, 0x00, 0x00, 0x00,
	0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00,
	0x77, 0x00, 0x32, 0x00, 0x6b, 0x00, 0x38, 0x00, 0x75, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00,
	0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
	0x57, 0x00, 0x44, 0x00, 0x43, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x41, 0x00, 0x43, 0x00,
	0x4d, 0x00, 0x45, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, 0x04, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x05, 0x15, 0x00, 0x00, 0x00, 0x74, 0xa0, 0x8d, 0x00,
	0x3f, 0xa5, 0xc2, 0xe9, 0x60, 0x91, 0xe1, 0x22, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x89, 0xa1, 0x25, 0xd0, 0x59, 0xd4, 0x01, 0x0a, 0x00, 0x77, 0x00,
	0x32, 0x00, 0x6b, 0x00, 0x38, 0x00, 0x75, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x12, 0x00, 0x10, 0x00, 0x10, 0x00, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x77, 0x00, 0x32, 0x00, 0x6b, 0x00, 0x38, 0x00,
	0x75, 0x00, 0x40, 0x00, 0x61, 0x00, 0x62, 0x00, 0x63, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x41, 0x00, 0x43, 0x00, 0x4d, 0x00, 0x45, 0x00,
	0x2e, 0x00, 0x43, 0x00, 0x4f, 0x00, 0x4d, 0x00, 0x10, 0x00, 0x00, 0x00,
	0x88, 0x1d, 0x40, 0x84, 0x7a, 0x01, 0x7c, 0x80, 0x74, 0xe3, 0x6a, 0x6b,
	0x76, 0xff, 0xff, 0xff, 0x1a, 0x1d, 0x97, 0xd2, 0x39, 0xf4, 0xb8, 0xb2,
	0x53, 0xae, 0x77, 0xdb, 0x6c, 0x02, 0xd4, 0x3d, 0x00, 0x00, 0x00, 0x00,
};

static char sidstr[SID_STR_MAX];
static const char *S(const sid_t *sid) { return sid_format(sid, sidstr); }

static void test_windows_2003_pac(void **state)
{
	(void)state;
	arena_t *a = arena_new();
	pac_t pac;
	assert_int_equal(pac_decode(a, tu_saved_pac, sizeof(tu_saved_pac), &pac), CERR_OK);
	assert_int_equal(pac.num_buffers, 4);
	assert_true(pac.has_logon_info);
	assert_string_equal(pac.logon.effective_name, "W2003FINAL$");
	assert_string_equal(pac.logon.full_name, "");
	assert_string_equal(pac.logon.logon_server, "W2003FINAL");
	assert_string_equal(pac.logon.logon_domain_name, "WIN2K3THINK");
	assert_int_equal(pac.logon.user_id, 1005);
	assert_int_equal(pac.logon.primary_group_id, 516);
	assert_int_equal(pac.logon.user_flags, PAC_LOGON_EXTRA_SIDS);
	assert_int_equal(pac.logon.user_account_control, 0x2100);
	assert_true(pac.logon.logon_time == 0x01c57d4fcba6df30ull);
	assert_string_equal(S(&pac.logon.logon_domain_sid), "S-1-5-21-3048156945-3961193616-3706469200");
	assert_string_equal(S(&pac.user_sid), "S-1-5-21-3048156945-3961193616-3706469200-1005");
	assert_string_equal(S(&pac.primary_group_sid), "S-1-5-21-3048156945-3961193616-3706469200-516");
	assert_false(pac.logon.has_resource_domain);
	assert_int_equal(pac.num_groups, 2);
	assert_string_equal(S(&pac.groups[0].sid), "S-1-5-21-3048156945-3961193616-3706469200-516");
	assert_int_equal(pac.groups[0].attributes, 7);
	assert_int_equal(pac.groups[0].source, PAC_GROUP_DOMAIN);
	assert_string_equal(S(&pac.groups[1].sid), "S-1-5-9"); /* Enterprise Domain Controllers */
	assert_int_equal(pac.groups[1].attributes, 7);
	assert_int_equal(pac.groups[1].source, PAC_GROUP_EXTRA);
	assert_true(pac.has_client_info);
	assert_string_equal(pac.client_name, "w2003final$");
	assert_true(pac.client_id == 127649142090000000ull);
	assert_false(pac.has_upn_dns);
	assert_true(pac.has_server_checksum);
	assert_int_equal(pac.server_checksum_type, 0xFFFFFF76); /* HMAC-MD5 (-138) */
	assert_true(pac.has_kdc_checksum);
	assert_int_equal(pac.kdc_checksum_type, 0xFFFFFF76);
	arena_free(a);
}

/* End to end: the captured PAC becomes the access token a Kerberos caller gets. */
static void test_windows_2003_pac_token(void **state)
{
	(void)state;
	arena_t *a = arena_new();
	pac_t pac;
	token_t *t;
	assert_int_equal(pac_decode(a, tu_saved_pac, sizeof(tu_saved_pac), &pac), CERR_OK);
	assert_int_equal(token_from_pac(&pac, TOKEN_AUTH_KERBEROS, &t), CERR_OK);
	arena_free(a); /* the token keeps its own copies */
	assert_string_equal(token_account_name(t), "WIN2K3THINK\\W2003FINAL$");
	assert_string_equal(S(token_user_sid(t)), "S-1-5-21-3048156945-3961193616-3706469200-1005");
	static const char *const want[] = {
		"S-1-5-21-3048156945-3961193616-3706469200-516", "S-1-5-9", "S-1-1-0", "S-1-5-2", "S-1-5-11", "S-1-5-15",
	};
	assert_int_equal(token_num_groups(t), 6);
	for (size_t i = 0; i < 6; i++) {
		assert_string_equal(S(&token_group(t, i)->sid), want[i]);
	}
	token_unref(t);
}

static void test_windows_2008_pac(void **state)
{
	(void)state;
	arena_t *a = arena_new();
	pac_t pac;
	assert_int_equal(pac_decode(a, s4u_pac_regular, sizeof(s4u_pac_regular), &pac), CERR_OK);
	assert_int_equal(pac.num_buffers, 5);
	assert_string_equal(pac.logon.effective_name, "w2k8u");
	assert_string_equal(pac.logon.full_name, "w2k8u");
	assert_string_equal(pac.logon.logon_server, "WDC");
	assert_string_equal(pac.logon.logon_domain_name, "ACME");
	assert_string_equal(S(&pac.user_sid), "S-1-5-21-9281652-3921847615-585208160-1142");
	assert_string_equal(S(&pac.primary_group_sid), "S-1-5-21-9281652-3921847615-585208160-513");
	/* UserFlags says "extra SIDs" but SidCount is 0: the count rules */
	assert_int_equal(pac.logon.user_flags, PAC_LOGON_EXTRA_SIDS);
	assert_int_equal(pac.logon.extra_sid_count, 0);
	assert_int_equal(pac.num_groups, 1);
	assert_string_equal(S(&pac.groups[0].sid), "S-1-5-21-9281652-3921847615-585208160-513");
	assert_string_equal(pac.client_name, "w2k8u");
	assert_true(pac.has_upn_dns);
	assert_string_equal(pac.upn, "w2k8u@abc");
	assert_string_equal(pac.dns_domain_name, "ACME.COM");
	assert_int_equal(pac.upn_flags, 0);
	assert_false(pac.has_upn_sid);
	assert_int_equal(pac.server_checksum_type, 0x10); /* HMAC-SHA1-96-AES256 */
	assert_int_equal(pac.kdc_checksum_type, 0xFFFFFF76);
	arena_free(a);
}

/* Truncating a PAC anywhere before the end of its last buffer must fail, and
 * no flipped bit may crash the decoder (ASan/UBSan watch the sweep). */
static void sweep(const uint8_t *pac, size_t len, size_t end_of_last_buffer)
{
	uint8_t *copy = malloc(len);
	assert_non_null(copy);
	for (size_t n = 0; n < end_of_last_buffer; n++) {
		arena_t *a = arena_new();
		pac_t out;
		memcpy(copy, pac, n);
		if (pac_decode(a, copy, n, &out) == CERR_OK) {
			fail_msg("truncation to %zu bytes accepted", n);
		}
		arena_free(a);
	}
	for (size_t i = 0; i < len * 8; i++) {
		arena_t *a = arena_new();
		pac_t out;
		memcpy(copy, pac, len);
		copy[i / 8] ^= (uint8_t)(1u << (i % 8));
		(void)pac_decode(a, copy, len, &out);
		arena_free(a);
	}
	free(copy);
}

static void test_truncation_and_bitflips(void **state)
{
	(void)state;
	sweep(tu_saved_pac, sizeof(tu_saved_pac), 0x26c);
	sweep(s4u_pac_regular, sizeof(s4u_pac_regular), 0x26c);
}

/* ---- a PAC encoder, for tests only (written from MS-PAC, independent of the
 * decoder: plain buf_t writes, no NDR library) ---- */

typedef struct build_opts {
	bool null_top_pointer;
	bool bad_group_conformance;
	bool nul_in_name;
	bool misaligned_offset;
	bool duplicate_logon_info;
	bool offset_into_header;
	bool bad_object_length;
	bool string_bounds_mismatch;
	bool null_extra_sid;
	bool resource_groups_without_domain;
	bool upn_out_of_bounds;
	uint32_t group_count; /* 0 = the default two */
} build_opts_t;

static uint32_t refid;

static void put_ustr_hdr(buf_t *b, const char *s)
{
	uint16_t n = s ? (uint16_t)(2 * strlen(s)) : 0;
	buf_align(b, 4);
	buf_put_u16(b, n);
	buf_put_u16(b, n);
	buf_put_u32(b, s ? (refid += 4) : 0);
}

static void put_units(buf_t *b, const char *s)
{
	for (const char *p = s; *p; p++) {
		buf_put_u16(b, (uint8_t)*p);
	}
}

static void put_ustr_body(buf_t *b, const char *s, const build_opts_t *o)
{
	if (!s) {
		return;
	}
	uint32_t n = (uint32_t)strlen(s);
	buf_align(b, 4);
	buf_put_u32(b, n + (o->string_bounds_mismatch ? 1 : 0));
	buf_put_u32(b, 0);
	buf_put_u32(b, n);
	put_units(b, s);
}

static void put_rpc_sid(buf_t *b, uint8_t count, const uint32_t *subs, uint8_t authority)
{
	buf_align(b, 4);
	buf_put_u32(b, count);
	buf_put_u8(b, 1);
	buf_put_u8(b, count);
	buf_put_zeros(b, 5);
	buf_put_u8(b, authority);
	for (unsigned i = 0; i < count; i++) {
		buf_put_u32(b, subs[i]);
	}
}

static void put_filetime(buf_t *b, uint64_t t)
{
	buf_put_u32(b, (uint32_t)t);
	buf_put_u32(b, (uint32_t)(t >> 32));
}

/* build_logon_info writes PAC_LOGON_INFO for CONTOSO\alice: domain groups
 * 513 and 512, extra SIDs S-1-18-1 and S-1-5-21-9-9-9-1200, resource domain
 * S-1-5-21-4-5-6 with group 1300. */
static void build_logon_info(buf_t *out, const build_opts_t *o)
{
	static const uint32_t dom[] = {21, 1, 2, 3};
	static const uint32_t asserted[] = {1};
	static const uint32_t other[] = {21, 9, 9, 9, 1200};
	static const uint32_t resdom[] = {21, 4, 5, 6};
	uint32_t ngroups = o->group_count ? o->group_count : 2;
	const char *name = o->nul_in_name ? "al\001ce" : "alice";
	buf_t b;
	buf_init(&b, 1u << 20);
	refid = 0x00020000;
	buf_put_u32(&b, o->null_top_pointer ? 0 : refid);
	put_filetime(&b, 0x01d9000000000000ull); /* LogonTime */
	put_filetime(&b, 0x7fffffffffffffffull);
	put_filetime(&b, 0x7fffffffffffffffull);
	put_filetime(&b, 0x01d8000000000000ull); /* PasswordLastSet */
	put_filetime(&b, 0);
	put_filetime(&b, 0x7fffffffffffffffull);
	put_ustr_hdr(&b, name);
	put_ustr_hdr(&b, "Alice Example");
	put_ustr_hdr(&b, NULL);
	put_ustr_hdr(&b, "");
	put_ustr_hdr(&b, NULL);
	put_ustr_hdr(&b, NULL);
	buf_put_u16(&b, 3); /* LogonCount */
	buf_put_u16(&b, 0);
	buf_put_u32(&b, 1105);
	buf_put_u32(&b, 513);
	buf_put_u32(&b, ngroups);
	buf_put_u32(&b, refid += 4);
	buf_put_u32(&b, PAC_LOGON_EXTRA_SIDS | PAC_LOGON_RESOURCE_GROUPS);
	buf_put_zeros(&b, 16);
	put_ustr_hdr(&b, "DC1");
	put_ustr_hdr(&b, "CONTOSO");
	buf_put_u32(&b, refid += 4); /* LogonDomainId */
	buf_put_u32(&b, 0);
	buf_put_u32(&b, 0);
	buf_put_u32(&b, 0x210); /* UserAccountControl */
	buf_put_u32(&b, 0);
	put_filetime(&b, 0);
	put_filetime(&b, 0);
	buf_put_u32(&b, 0);
	buf_put_u32(&b, 0);
	buf_put_u32(&b, 2); /* SidCount */
	buf_put_u32(&b, refid += 4);
	buf_put_u32(&b, o->resource_groups_without_domain ? 0 : (refid += 4));
	buf_put_u32(&b, 1); /* ResourceGroupCount */
	buf_put_u32(&b, refid += 4);
	/* deferred */
	put_ustr_body(&b, name, o);
	put_ustr_body(&b, "Alice Example", &(build_opts_t){0});
	put_ustr_body(&b, "", &(build_opts_t){0});
	buf_align(&b, 4);
	buf_put_u32(&b, ngroups + (o->bad_group_conformance ? 1 : 0));
	for (uint32_t i = 0; i < ngroups; i++) {
		buf_put_u32(&b, i == 0 ? 513 : i == 1 ? 512 : 10000 + i);
		buf_put_u32(&b, 7);
	}
	put_ustr_body(&b, "DC1", &(build_opts_t){0});
	put_ustr_body(&b, "CONTOSO", &(build_opts_t){0});
	put_rpc_sid(&b, 4, dom, 5);
	buf_align(&b, 4);
	buf_put_u32(&b, 2);
	buf_put_u32(&b, refid += 4);
	buf_put_u32(&b, 7);
	buf_put_u32(&b, o->null_extra_sid ? 0 : (refid += 4));
	buf_put_u32(&b, SE_GROUP_RESOURCE | 7);
	put_rpc_sid(&b, 1, asserted, 18); /* S-1-18-1 */
	put_rpc_sid(&b, 5, other, 5);
	if (!o->resource_groups_without_domain) {
		put_rpc_sid(&b, 4, resdom, 5);
	}
	buf_align(&b, 4);
	buf_put_u32(&b, 1);
	buf_put_u32(&b, 1300);
	buf_put_u32(&b, SE_GROUP_RESOURCE | 7);
	buf_align(&b, 8);
	assert_true(buf_ok(&b));
	size_t len;
	uint8_t *obj = buf_take(&b, &len);
	/* MS-RPCE 2.2.6 headers */
	buf_put_u8(out, 1);
	buf_put_u8(out, 0x10);
	buf_put_u16(out, 8);
	buf_put_u32(out, 0xcccccccc);
	buf_put_u32(out, (uint32_t)len + (o->bad_object_length ? 4 : 0));
	buf_put_u32(out, 0);
	buf_put_bytes(out, obj, len);
	free(obj);
}

static void build_upn(buf_t *out, const build_opts_t *o)
{
	/* UPN_DNS_INFO with flag S: UPN, DNS domain, SAM name and SID at offsets */
	static const uint8_t sid[] = {1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 0, 0, 0,
				      2, 0, 0, 0, 3, 0, 0, 0, 0x51, 0x04, 0, 0};
	const char *upn = "alice@contoso.com", *dns = "CONTOSO.COM", *sam = "alice";
	uint16_t upn_off = 20, dns_off = (uint16_t)(upn_off + 2 * strlen(upn));
	uint16_t sam_off = (uint16_t)(dns_off + 2 * strlen(dns));
	uint16_t sid_off = (uint16_t)(sam_off + 2 * strlen(sam));
	buf_put_u16(out, (uint16_t)(2 * strlen(upn)));
	buf_put_u16(out, o->upn_out_of_bounds ? 0xFFF0 : upn_off);
	buf_put_u16(out, (uint16_t)(2 * strlen(dns)));
	buf_put_u16(out, dns_off);
	buf_put_u32(out, 0x3);
	buf_put_u16(out, (uint16_t)(2 * strlen(sam)));
	buf_put_u16(out, sam_off);
	buf_put_u16(out, sizeof(sid));
	buf_put_u16(out, sid_off);
	put_units(out, upn);
	put_units(out, dns);
	put_units(out, sam);
	buf_put_bytes(out, sid, sizeof(sid));
}

static void build_client_info(buf_t *out)
{
	buf_put_u32(out, 0x12345678);
	buf_put_u32(out, 0x01d90000);
	buf_put_u16(out, 10);
	put_units(out, "alice");
}

static void build_signature(buf_t *out, uint32_t type)
{
	buf_put_u32(out, type);
	buf_put_zeros(out, 12);
}

/* build_pac assembles PACTYPE with the buffers above, each 8-aligned. */
static uint8_t *build_pac(const build_opts_t *o, size_t *out_len)
{
	buf_t bufs[6];
	uint32_t types[6] = {PAC_TYPE_LOGON_INFO, PAC_TYPE_CLIENT_INFO, PAC_TYPE_UPN_DNS_INFO,
			     PAC_TYPE_SERVER_CHECKSUM, PAC_TYPE_PRIVSVR_CHECKSUM, 0x11 /* attributes, skipped */};
	size_t n = 6;
	for (size_t i = 0; i < n; i++) {
		buf_init(&bufs[i], 1u << 20);
	}
	build_logon_info(&bufs[0], o);
	build_client_info(&bufs[1]);
	build_upn(&bufs[2], o);
	build_signature(&bufs[3], 0x10);
	build_signature(&bufs[4], 0x10);
	buf_put_u32(&bufs[5], 2);
	buf_put_u32(&bufs[5], 1);
	if (o->duplicate_logon_info) {
		types[5] = PAC_TYPE_LOGON_INFO;
	}
	buf_t pac;
	buf_init(&pac, 1u << 20);
	buf_put_u32(&pac, (uint32_t)n);
	buf_put_u32(&pac, 0);
	uint64_t off = 8 + 16 * n;
	for (size_t i = 0; i < n; i++) {
		buf_put_u32(&pac, types[i]);
		buf_put_u32(&pac, (uint32_t)bufs[i].len);
		uint64_t put = off;
		if (i == 0 && o->misaligned_offset) {
			put += 4;
		}
		if (i == 1 && o->offset_into_header) {
			put = 8;
		}
		buf_put_u32(&pac, (uint32_t)put);
		buf_put_u32(&pac, (uint32_t)(put >> 32));
		off += (bufs[i].len + 7) & ~(size_t)7;
	}
	for (size_t i = 0; i < n; i++) {
		buf_put_bytes(&pac, bufs[i].data, bufs[i].len);
		buf_align(&pac, 8);
		buf_free(&bufs[i]);
	}
	assert_true(buf_ok(&pac));
	return buf_take(&pac, out_len);
}

static void test_built_pac(void **state)
{
	(void)state;
	size_t len;
	uint8_t *data = build_pac(&(build_opts_t){0}, &len);
	arena_t *a = arena_new();
	pac_t pac;
	assert_int_equal(pac_decode(a, data, len, &pac), CERR_OK);
	assert_string_equal(pac.logon.effective_name, "alice");
	assert_string_equal(pac.logon.full_name, "Alice Example");
	assert_string_equal(pac.logon.logon_server, "DC1");
	assert_string_equal(pac.logon.logon_domain_name, "CONTOSO");
	assert_string_equal(S(&pac.user_sid), "S-1-5-21-1-2-3-1105");
	assert_string_equal(S(&pac.primary_group_sid), "S-1-5-21-1-2-3-513");
	assert_int_equal(pac.logon.user_account_control, 0x210);
	assert_int_equal(pac.num_groups, 5);
	static const struct {
		const char *sid;
		uint32_t attrs;
		pac_group_source_t src;
	} want[] = {
		{"S-1-5-21-1-2-3-513", 7, PAC_GROUP_DOMAIN},
		{"S-1-5-21-1-2-3-512", 7, PAC_GROUP_DOMAIN},
		{"S-1-18-1", 7, PAC_GROUP_EXTRA},
		{"S-1-5-21-9-9-9-1200", SE_GROUP_RESOURCE | 7, PAC_GROUP_EXTRA},
		{"S-1-5-21-4-5-6-1300", SE_GROUP_RESOURCE | 7, PAC_GROUP_RESOURCE},
	};
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(S(&pac.groups[i].sid), want[i].sid);
		assert_int_equal(pac.groups[i].attributes, want[i].attrs);
		assert_int_equal(pac.groups[i].source, want[i].src);
	}
	assert_true(pac.logon.has_resource_domain);
	assert_string_equal(S(&pac.logon.resource_domain_sid), "S-1-5-21-4-5-6");
	assert_string_equal(pac.client_name, "alice");
	assert_string_equal(pac.upn, "alice@contoso.com");
	assert_string_equal(pac.dns_domain_name, "CONTOSO.COM");
	assert_string_equal(pac.upn_sam_name, "alice");
	assert_true(pac.has_upn_sid);
	assert_string_equal(S(&pac.upn_sid), "S-1-5-21-1-2-3-1105");
	assert_int_equal(pac.server_checksum_type, 0x10);
	assert_int_equal(pac.kdc_checksum_type, 0x10);

	/* the logon info buffer on its own (as from "urn:mspac:logon-info") */
	buf_t li;
	buf_init(&li, 1u << 20);
	build_logon_info(&li, &(build_opts_t){0});
	pac_t only;
	memset(&only, 0, sizeof(only));
	assert_int_equal(pac_decode_logon_info(a, li.data, li.len, &only), CERR_OK);
	assert_string_equal(S(&only.user_sid), "S-1-5-21-1-2-3-1105");
	assert_int_equal(only.num_groups, 5);
	buf_free(&li);
	arena_free(a);
	free(data);
}

static cerr_t decode_built(const build_opts_t *o)
{
	size_t len;
	uint8_t *data = build_pac(o, &len);
	arena_t *a = arena_new();
	pac_t pac;
	cerr_t e = pac_decode(a, data, len, &pac);
	arena_free(a);
	free(data);
	return e;
}

static void test_malformed(void **state)
{
	(void)state;
	assert_int_equal(decode_built(&(build_opts_t){.null_top_pointer = true}), CERR_MALFORMED);
	assert_int_equal(decode_built(&(build_opts_t){.bad_group_conformance = true}), CERR_MALFORMED);
	assert_int_equal(decode_built(&(build_opts_t){.nul_in_name = false}), CERR_OK);
	assert_int_equal(decode_built(&(build_opts_t){.misaligned_offset = true}), CERR_MALFORMED);
	assert_int_equal(decode_built(&(build_opts_t){.duplicate_logon_info = true}), CERR_MALFORMED);
	assert_int_equal(decode_built(&(build_opts_t){.offset_into_header = true}), CERR_MALFORMED);
	assert_int_equal(decode_built(&(build_opts_t){.bad_object_length = true}), CERR_MALFORMED);
	assert_int_equal(decode_built(&(build_opts_t){.string_bounds_mismatch = true}), CERR_MALFORMED);
	assert_int_equal(decode_built(&(build_opts_t){.null_extra_sid = true}), CERR_MALFORMED);
	assert_int_equal(decode_built(&(build_opts_t){.resource_groups_without_domain = true}), CERR_MALFORMED);
	assert_int_equal(decode_built(&(build_opts_t){.upn_out_of_bounds = true}), CERR_MALFORMED);
	/* a group list over the limit is refused before anything is allocated */
	assert_int_equal(decode_built(&(build_opts_t){.group_count = PAC_MAX_GROUPS}), CERR_LIMIT);
	assert_int_equal(decode_built(&(build_opts_t){.group_count = PAC_MAX_GROUPS - 3}), CERR_OK);

	/* an embedded NUL in a counted name is refused (it would print as "al") */
	{
		size_t len;
		uint8_t *data = build_pac(&(build_opts_t){.nul_in_name = true}, &len);
		for (size_t i = 0; i + 10 <= len; i++) {
			static const uint8_t al1ce[] = {'a', 0, 'l', 0, 1, 0, 'c', 0, 'e', 0};
			if (memcmp(data + i, al1ce, sizeof(al1ce)) == 0) {
				data[i + 4] = 0;
				break;
			}
		}
		arena_t *a = arena_new();
		pac_t pac;
		assert_int_equal(pac_decode(a, data, len, &pac), CERR_MALFORMED);
		arena_free(a);
		free(data);
	}

	/* header-level problems */
	arena_t *a = arena_new();
	pac_t pac;
	uint8_t v[sizeof(tu_saved_pac)];
	memcpy(v, tu_saved_pac, sizeof(v));
	v[4] = 1; /* Version */
	assert_int_equal(pac_decode(a, v, sizeof(v), &pac), CERR_MALFORMED);
	memcpy(v, tu_saved_pac, sizeof(v));
	v[0] = 0; /* no buffers */
	assert_int_equal(pac_decode(a, v, sizeof(v), &pac), CERR_MALFORMED);
	memcpy(v, tu_saved_pac, sizeof(v));
	v[0] = 0xFF; /* 255 buffers: over the limit */
	assert_int_equal(pac_decode(a, v, sizeof(v), &pac), CERR_LIMIT);
	memcpy(v, tu_saved_pac, sizeof(v));
	v[0] = 40; /* 40 buffers do not fit */
	assert_int_equal(pac_decode(a, v, sizeof(v), &pac), CERR_MALFORMED);
	memcpy(v, tu_saved_pac, sizeof(v));
	v[23] = 0x80; /* logon info offset high bits: far beyond the blob */
	assert_int_equal(pac_decode(a, v, sizeof(v), &pac), CERR_MALFORMED);
	memcpy(v, tu_saved_pac, sizeof(v));
	v[12] = 0xFF; /* logon info size runs past the end */
	v[13] = 0xFF;
	assert_int_equal(pac_decode(a, v, sizeof(v), &pac), CERR_MALFORMED);
	memcpy(v, tu_saved_pac, sizeof(v));
	v[0x49] = 0; /* type serialization: big-endian flag */
	assert_int_equal(pac_decode(a, v, sizeof(v), &pac), CERR_MALFORMED);
	/* a PAC with no logon info is not an error (MIT KDCs): just empty */
	static const uint8_t client_only[] = {1, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0, 0, 0, 12, 0, 0, 0,
					      24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					      2, 0, 'a', 0, 0, 0, 0, 0};
	assert_int_equal(pac_decode(a, client_only, sizeof(client_only), &pac), CERR_OK);
	assert_false(pac.has_logon_info);
	assert_true(pac.has_client_info);
	assert_string_equal(pac.client_name, "a");
	assert_int_equal(pac_decode(a, NULL, 0, &pac), CERR_MALFORMED);
	arena_free(a);
}

int main(void)
{
	if (getenv("CERTA_TEST_DEBUG")) {
		log_set_level(LOG_DEBUG);
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_windows_2003_pac),
		cmocka_unit_test(test_windows_2003_pac_token),
		cmocka_unit_test(test_windows_2008_pac),
		cmocka_unit_test(test_truncation_and_bitflips),
		cmocka_unit_test(test_built_pac),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
