/* test_ndr.c - NDR 2.0 primitives: each both ways, alignment from the stub
 * base, pointers, arrays, strings, blobs, deferral, limits and malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rpc/ndr.h"
#include "testutil.h"

static void assert_buf_hex(const buf_t *b, const char *hex)
{
	uint8_t want[512];
	size_t n = tu_unhex(hex, want, sizeof(want));
	assert_true(buf_ok(b));
	assert_int_equal(b->len, n);
	assert_memory_equal(b->data, want, n);
}

static void test_refids_and_handles(void **state)
{
	(void)state;
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	assert_int_equal(ndr_refid_next(&ids), 0x00020000);
	assert_int_equal(ndr_refid_next(&ids), 0x00020004);
	ndr_ctx_handle_t h = {0};
	assert_true(ndr_ctx_handle_is_null(&h));
	h.uuid.d4[7] = 1;
	assert_false(ndr_ctx_handle_is_null(&h));
}

/* Every primitive, written then read back, with the padding NDR requires. */
static void test_primitives_roundtrip(void **state)
{
	(void)state;
	buf_t b;
	buf_init(&b, 1024);
	guid_t g = guid_from_literal("91ae6020-9e3c-11cf-8d7c-00aa00c091be");
	ndr_ctx_handle_t h = {7, g};
	ndr_put_u8(&b, 0xAA);                       /* 0 */
	ndr_put_u16(&b, 0x1234);                    /* pad 1, 2..3 */
	ndr_put_u8(&b, 0xBB);                       /* 4 */
	ndr_put_u32(&b, 0xDEADBEEF);                /* pad 3, 8..11 */
	ndr_put_u64(&b, 0x0102030405060708ull);     /* pad 4, 16..23 */
	ndr_put_u8(&b, 0xCC);                       /* 24 */
	ndr_put_enum(&b, 3);                        /* pad 1, 26..27 */
	ndr_put_guid(&b, &g);                       /* 28..43 */
	ndr_put_u8(&b, 0xDD);                       /* 44 */
	ndr_put_ctx_handle(&b, &h);                 /* pad 3, 48..67 */
	assert_buf_hex(&b, "aa003412bb000000efbeadde00000000"
			   "0807060504030201cc0003002060ae91"
			   "3c9ecf118d7c00aa00c091bedd000000"
			   "070000002060ae913c9ecf118d7c00aa"
			   "00c091be");

	cur_t c;
	cur_init(&c, b.data, b.len);
	uint8_t u8;
	uint16_t u16, en;
	uint32_t u32;
	uint64_t u64;
	guid_t g2;
	ndr_ctx_handle_t h2;
	assert_true(ndr_get_u8(&c, &u8) && u8 == 0xAA);
	assert_true(ndr_get_u16(&c, &u16) && u16 == 0x1234);
	assert_true(ndr_get_u8(&c, &u8) && u8 == 0xBB);
	assert_true(ndr_get_u32(&c, &u32) && u32 == 0xDEADBEEF);
	assert_true(ndr_get_u64(&c, &u64) && u64 == 0x0102030405060708ull);
	assert_true(ndr_get_u8(&c, &u8) && u8 == 0xCC);
	assert_true(ndr_get_enum(&c, &en) && en == 3);
	assert_true(ndr_get_guid(&c, &g2) && guid_equal(&g, &g2));
	assert_true(ndr_get_u8(&c, &u8) && u8 == 0xDD);
	assert_true(ndr_get_ctx_handle(&c, &h2) && h2.attributes == 7 && guid_equal(&h2.uuid, &g));
	assert_true(cur_empty(&c));
	buf_free(&b);
}

/* Alignment counts from the stub start (cursor base / builder base), not from
 * the buffer: a stub that begins at an odd offset still aligns relative to itself. */
static void test_alignment_is_relative_to_base(void **state)
{
	(void)state;
	buf_t b;
	buf_init(&b, 64);
	buf_put_bytes(&b, "\x01\x02\x03", 3); /* e.g. a header before the stub */
	buf_set_base(&b);
	ndr_put_u32(&b, 5);                    /* no padding: offset 0 of the stub */
	ndr_put_u8(&b, 9);
	ndr_put_u64(&b, 1);                    /* pads to stub offset 8 */
	assert_buf_hex(&b, "010203" "05000000" "09000000" "0100000000000000");

	cur_t c;
	cur_init(&c, b.data, b.len);
	assert_true(cur_skip(&c, 3));
	cur_rebase(&c);
	uint32_t v;
	uint8_t u8;
	uint64_t u64;
	assert_true(ndr_get_u32(&c, &v) && v == 5);
	assert_true(ndr_get_u8(&c, &u8) && u8 == 9);
	assert_true(ndr_get_u64(&c, &u64) && u64 == 1);
	assert_true(cur_empty(&c));
	buf_free(&b);
}

/* A failed getter leaves the cursor where it was, padding included. */
static void test_failure_leaves_cursor(void **state)
{
	(void)state;
	const uint8_t d[] = {1, 0, 0, 0, 2, 0, 0, 0, 9, 9, 9};
	cur_t c;
	cur_init(&c, d, sizeof(d));
	uint8_t u8;
	uint32_t v;
	uint64_t u64;
	guid_t g;
	ndr_ctx_handle_t h;
	assert_true(ndr_get_u8(&c, &u8));
	assert_false(ndr_get_u64(&c, &u64)); /* aligned to 8, only 3 bytes there */
	assert_int_equal(cur_offset(&c), 1);
	assert_true(ndr_get_u32(&c, &v) && v == 2);
	assert_false(ndr_get_u32(&c, &v)); /* 3 bytes left */
	assert_false(ndr_get_guid(&c, &g));
	assert_false(ndr_get_ctx_handle(&c, &h));
	assert_int_equal(cur_offset(&c), 8);
	/* big-endian drep: integers follow the cursor's order */
	const uint8_t be[] = {0, 0, 0, 1};
	cur_init(&c, be, sizeof(be));
	c.be = true;
	assert_true(ndr_get_u32(&c, &v) && v == 1);
}

static void test_pointers(void **state)
{
	(void)state;
	buf_t b;
	buf_init(&b, 64);
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	assert_int_equal(ndr_put_unique_ptr(&b, &ids, true), 0x00020000);
	assert_int_equal(ndr_put_unique_ptr(&b, &ids, false), 0);
	assert_int_equal(ndr_put_unique_ptr(&b, &ids, true), 0x00020004);
	assert_buf_hex(&b, "00000200" "00000000" "04000200");
	cur_t c;
	cur_init(&c, b.data, b.len);
	uint32_t r;
	assert_true(ndr_get_unique_ptr(&c, &r) && r == 0x00020000);
	assert_false(ndr_get_ref_ptr(&c, &r)); /* an embedded [ref] may not be NULL */
	assert_int_equal(cur_offset(&c), 4);
	assert_true(ndr_get_unique_ptr(&c, &r) && r == 0);
	assert_true(ndr_get_ref_ptr(&c, &r) && r == 0x00020004);
	buf_free(&b);
}

static void test_arrays_and_counts(void **state)
{
	(void)state;
	arena_t *a = arena_new();
	buf_t b;
	buf_init(&b, 64);
	ndr_put_u8(&b, 1);
	ndr_put_conformant_bytes(&b, "abc", 3);
	ndr_put_variance(&b, 0, 2);
	assert_buf_hex(&b, "01000000" "03000000616263" "00" "00000000" "02000000");
	cur_t c;
	cur_init(&c, b.data, b.len);
	uint8_t u8;
	const uint8_t *p;
	uint32_t off, n;
	assert_true(ndr_get_u8(&c, &u8));
	assert_false(ndr_get_conformant_bytes(&c, a, 4, &p)); /* max_count != size_is value */
	assert_int_equal(cur_offset(&c), 1);
	assert_true(ndr_get_conformant_bytes(&c, a, 3, &p) && memcmp(p, "abc", 3) == 0);
	assert_true(ndr_get_variance(&c, &off, &n) && off == 0 && n == 2);

	/* huge counts fail before any allocation is attempted */
	const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4};
	cur_init(&c, huge, sizeof(huge));
	size_t used = arena_used(a);
	assert_false(ndr_get_conformant_bytes(&c, a, 0xffffffffu, &p));
	assert_int_equal(cur_offset(&c), 0);
	assert_int_equal(arena_used(a), used);
	assert_true(ndr_check_count(&c, 8, 1));
	assert_false(ndr_check_count(&c, 9, 1));
	assert_true(ndr_check_count(&c, 2, 4));
	assert_false(ndr_check_count(&c, 3, 4));
	assert_false(ndr_check_count(&c, 0xffffffffu, 16));
	assert_true(ndr_check_count(&c, 0xffffffffu, 0));
	/* truncated body */
	const uint8_t trunc[] = {4, 0, 0, 0, 1, 2, 3};
	cur_init(&c, trunc, sizeof(trunc));
	assert_false(ndr_get_conformant_bytes(&c, a, 4, &p));
	assert_int_equal(cur_offset(&c), 0);
	/* empty array: NULL data, nothing allocated */
	const uint8_t empty[] = {0, 0, 0, 0};
	cur_init(&c, empty, sizeof(empty));
	assert_true(ndr_get_conformant_bytes(&c, a, 0, &p) && p == NULL);
	/* ndr_get_bytes */
	cur_init(&c, huge, sizeof(huge));
	assert_false(ndr_get_bytes(&c, a, 9, &p));
	assert_true(ndr_get_bytes(&c, a, 8, &p) && p[7] == 4);
	buf_free(&b);
	arena_free(a);
}

/* The wchar_t [string] form: max_count, offset 0, actual_count with the NUL. */
static void test_wstring_roundtrip(void **state)
{
	(void)state;
	arena_t *a = arena_new();
	buf_t b;
	buf_init(&b, 256);
	ndr_put_u8(&b, 0x55);
	ndr_put_wstring(&b, "ca-1");
	assert_buf_hex(&b, "55000000" "05000000" "00000000" "05000000"
			   "630061002d0031000000");
	/* non-ASCII, including a character outside the BMP (a surrogate pair) */
	const char *uni = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9d\x84\x9e";
	ndr_put_wstring(&b, uni);
	assert_true(buf_ok(&b));
	cur_t c;
	cur_init(&c, b.data, b.len);
	uint8_t u8;
	char *s;
	assert_true(ndr_get_u8(&c, &u8));
	assert_true(ndr_get_wstring(&c, a, 64, &s) && strcmp(s, "ca-1") == 0);
	assert_true(ndr_get_wstring(&c, a, 64, &s) && strcmp(s, uni) == 0);
	assert_true(cur_empty(&c));
	/* the cap counts characters before the NUL */
	cur_init(&c, b.data, b.len);
	assert_true(ndr_get_u8(&c, &u8));
	assert_false(ndr_get_wstring(&c, a, 3, &s));
	assert_int_equal(cur_offset(&c), 1);
	assert_true(ndr_get_wstring(&c, a, 4, &s));
	/* empty string: one NUL unit */
	buf_reset(&b);
	ndr_put_wstring(&b, "");
	assert_buf_hex(&b, "01000000" "00000000" "01000000" "0000");
	cur_init(&c, b.data, b.len);
	assert_true(ndr_get_wstring(&c, a, 0, &s) && s[0] == '\0');
	buf_free(&b);
	arena_free(a);
}

static void test_wstring_malformed(void **state)
{
	(void)state;
	arena_t *a = arena_new();
	static const char *bad[] = {
		"05000000" "01000000" "04000000" "61006200630000000000", /* offset != 0 */
		"03000000" "00000000" "04000000" "6100620063000000",     /* actual > max */
		"04000000" "00000000" "00000000",                         /* actual 0: no NUL at all */
		"04000000" "00000000" "04000000" "6100620063006400",     /* missing NUL terminator */
		"04000000" "00000000" "04000000" "6100000063000000",     /* embedded NUL */
		"04000000" "00000000" "04000000" "61006200",             /* truncated */
		"ffffffff" "00000000" "ffffffff" "61000000",             /* huge actual_count */
		"03000000" "00000000" "03000000" "00d861000000",         /* lone high surrogate */
		/* parenthesised so clang sees one intended string, not a missing comma */
		("03000000" "00000000"),                                  /* variance truncated */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t d[64];
		size_t n = tu_unhex(bad[i], d, sizeof(d));
		cur_t c;
		cur_init(&c, d, n);
		char *s = (char *)"untouched";
		size_t used = arena_used(a);
		assert_false(ndr_get_wstring(&c, a, 1000, &s));
		assert_false(ndr_get_wstring(&c, a, SIZE_MAX, &s));
		assert_int_equal(cur_offset(&c), 0);
		assert_string_equal(s, "untouched");
		assert_int_equal(arena_used(a), used);
	}
	/* a big-endian drep is refused for strings rather than mis-decoded */
	uint8_t d[32];
	size_t n = tu_unhex("01000000" "00000000" "01000000" "0000", d, sizeof(d));
	cur_t c;
	cur_init(&c, d, n);
	char *s;
	c.be = true;
	assert_false(ndr_get_wstring(&c, a, 10, &s));
	arena_free(a);
}

static void test_unique_wstring(void **state)
{
	(void)state;
	arena_t *a = arena_new();
	buf_t b;
	buf_init(&b, 128);
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	ndr_put_unique_wstring(&b, &ids, NULL);
	ndr_put_unique_wstring(&b, &ids, "x");
	assert_buf_hex(&b, "00000000" "00000200" "02000000" "00000000" "02000000" "78000000");
	cur_t c;
	cur_init(&c, b.data, b.len);
	char *s = (char *)"set";
	assert_true(ndr_get_unique_wstring(&c, a, 10, &s) && s == NULL);
	assert_true(ndr_get_unique_wstring(&c, a, 10, &s) && strcmp(s, "x") == 0);
	/* a non-NULL pointer whose string is bad restores the cursor to the pointer */
	cur_init(&c, b.data, b.len - 2);
	assert_true(ndr_get_unique_wstring(&c, a, 10, &s));
	assert_false(ndr_get_unique_wstring(&c, a, 10, &s));
	assert_int_equal(cur_offset(&c), 4);
	buf_free(&b);
	arena_free(a);
}

static void test_blob(void **state)
{
	(void)state;
	arena_t *a = arena_new();
	buf_t b;
	buf_init(&b, 128);
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	const ndr_blob_t empty = {0, NULL};
	const ndr_blob_t three = {3, (const uint8_t *)"\x30\x01\x00"};
	const ndr_blob_t present_empty = {0, (const uint8_t *)""};
	ndr_put_blob(&b, &ids, &empty);
	ndr_put_blob(&b, &ids, &three);
	ndr_put_blob(&b, &ids, &present_empty);
	assert_buf_hex(&b, "00000000" "00000000"
			   "03000000" "00000200" "03000000" "300100" "00"
			   "00000000" "04000200" "00000000");
	cur_t c;
	cur_init(&c, b.data, b.len);
	ndr_blob_t x;
	assert_true(ndr_get_blob(&c, a, 100, &x) && x.len == 0 && x.data == NULL);
	assert_false(ndr_get_blob(&c, a, 2, &x)); /* over the caller's cap */
	assert_int_equal(cur_offset(&c), 8);
	assert_true(ndr_get_blob(&c, a, 3, &x) && x.len == 3 && memcmp(x.data, "\x30\x01\x00", 3) == 0);
	assert_true(ndr_get_blob(&c, a, 3, &x) && x.len == 0 && x.data != NULL);
	assert_true(cur_empty(&c));

	/* cb disagreeing with max_count, and a NULL pointer with cb != 0 */
	uint8_t d[64];
	size_t n = tu_unhex("05000000" "00000200" "04000000" "01020304", d, sizeof(d));
	cur_init(&c, d, n);
	assert_false(ndr_get_blob(&c, a, 100, &x));
	assert_int_equal(cur_offset(&c), 0);
	n = tu_unhex("05000000" "00000000", d, sizeof(d));
	cur_init(&c, d, n);
	assert_true(ndr_get_blob(&c, a, 100, &x) && x.len == 0 && x.data == NULL);
	/* huge cb with a pointer: refused by the cap, then by the bytes left */
	n = tu_unhex("ffffffff" "00000200" "ffffffff" "00", d, sizeof(d));
	cur_init(&c, d, n);
	assert_false(ndr_get_blob(&c, a, 100, &x));
	assert_false(ndr_get_blob(&c, a, SIZE_MAX, &x));
	assert_int_equal(cur_offset(&c), 0);

	/* a blob with data NULL but a length is a caller bug: the builder errs */
	buf_reset(&b);
	const ndr_blob_t bogus = {4, NULL};
	ndr_put_blob(&b, &ids, &bogus);
	assert_false(buf_ok(&b));
	buf_free(&b);
	arena_free(a);
}

/* Embedded pointers: an array of {DWORD id; CERTTRANSBLOB b} puts each struct's
 * cb and referent id inline and the bytes after the whole array (C706 14.3.12.3). */
static void test_deferral(void **state)
{
	(void)state;
	arena_t *a = arena_new();
	buf_t b;
	buf_init(&b, 128);
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	const ndr_blob_t in[3] = {{2, (const uint8_t *)"hi"}, {0, NULL}, {1, (const uint8_t *)"z"}};
	ndr_put_conformance(&b, 3);
	for (uint32_t i = 0; i < 3; i++) {
		ndr_put_u32(&b, 10 + i);
		ndr_put_blob_hdr(&b, &ids, &in[i]);
	}
	for (uint32_t i = 0; i < 3; i++) {
		ndr_put_blob_data(&b, &in[i]);
	}
	assert_buf_hex(&b, "03000000"
			   "0a000000" "02000000" "00000200"
			   "0b000000" "00000000" "00000000"
			   "0c000000" "01000000" "04000200"
			   "02000000" "6869" "0000" "01000000" "7a");

	cur_t c;
	cur_init(&c, b.data, b.len);
	uint32_t n, id[3], len[3], ref[3];
	ndr_blob_t out[3];
	assert_true(ndr_get_conformance(&c, &n) && n == 3 && ndr_check_count(&c, n, 12));
	for (uint32_t i = 0; i < n; i++) {
		assert_true(ndr_get_u32(&c, &id[i]) && ndr_get_blob_hdr(&c, &len[i], &ref[i]));
	}
	for (uint32_t i = 0; i < n; i++) {
		assert_true(ndr_get_blob_data(&c, a, len[i], ref[i], 16, &out[i]));
	}
	assert_true(cur_empty(&c));
	assert_int_equal(id[2], 12);
	assert_true(out[0].len == 2 && memcmp(out[0].data, "hi", 2) == 0);
	assert_true(out[1].len == 0 && out[1].data == NULL);
	assert_true(out[2].len == 1 && out[2].data[0] == 'z');
	buf_free(&b);
	arena_free(a);
}

/* A CertServerRequest stub as impacket's NDR classes marshal it (generated with
 * impacket 0.10: CERTTRANSBLOB as NDRSTRUCT{ULONG cb; PBYTE pb}, dwFlags 0x100,
 * pwszAuthority "ca-1", pdwRequestId 7, attributes "CertificateTemplate:User",
 * request 30 01 00). impacket fills alignment gaps with 0xbf/0xab, which NDR
 * leaves unspecified, so they must be skipped, not checked. */
static void test_impacket_icpr_request(void **state)
{
	(void)state;
	static const char hex[] =
		"000100004d850000050000000000000005000000630061002d0031000000bfbf"
		"070000003200000001fc00003200000043006500720074006900660069006300"
		"610074006500540065006d0070006c006100740065003a005500730065007200"
		"0000abab03000000fb1e000003000000300100";
	uint8_t d[256];
	size_t n = tu_unhex(hex, d, sizeof(d));
	arena_t *a = arena_new();
	cur_t c;
	cur_init(&c, d, n);
	uint32_t flags = 0, request_id = 0;
	char *authority;
	ndr_blob_t attribs, request;
	assert_true(ndr_get_u32(&c, &flags) && ndr_get_unique_wstring(&c, a, 1536, &authority) &&
		    ndr_get_u32(&c, &request_id) && ndr_get_blob(&c, a, 65536, &attribs) &&
		    ndr_get_blob(&c, a, 65536, &request));
	assert_true(cur_empty(&c));
	assert_int_equal(flags, 0x100);
	assert_string_equal(authority, "ca-1");
	assert_int_equal(request_id, 7);
	assert_int_equal(attribs.len, 50);
	assert_memory_equal(attribs.data, "C\0e\0r\0t\0", 8);
	assert_int_equal(request.len, 3);
	assert_memory_equal(request.data, "\x30\x01\x00", 3);
	/* every truncation fails somewhere, never reads past the end */
	for (size_t len = 0; len < n; len++) {
		cur_init(&c, d, len);
		bool ok = ndr_get_u32(&c, &flags) && ndr_get_unique_wstring(&c, a, 1536, &authority) &&
			  ndr_get_u32(&c, &request_id) && ndr_get_blob(&c, a, 65536, &attribs) &&
			  ndr_get_blob(&c, a, 65536, &request);
		assert_false(ok);
	}
	arena_free(a);
}

static void test_put_errors(void **state)
{
	(void)state;
	buf_t b;
	buf_init(&b, 64);
	ndr_put_wstring(&b, "\xff\xfe"); /* not UTF-8 */
	assert_false(buf_ok(&b));
	buf_free(&b);
	buf_init(&b, 64);
	ndr_put_conformant_bytes(&b, NULL, 2);
	assert_false(buf_ok(&b));
	buf_free(&b);
	/* the builder's cap applies */
	buf_init(&b, 8);
	ndr_put_wstring(&b, "longer than eight bytes");
	assert_false(buf_ok(&b));
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refids_and_handles),
		cmocka_unit_test(test_primitives_roundtrip),
		cmocka_unit_test(test_alignment_is_relative_to_base),
		cmocka_unit_test(test_failure_leaves_cursor),
		cmocka_unit_test(test_pointers),
		cmocka_unit_test(test_arrays_and_counts),
		cmocka_unit_test(test_wstring_roundtrip),
		cmocka_unit_test(test_wstring_malformed),
		cmocka_unit_test(test_unique_wstring),
		cmocka_unit_test(test_blob),
		cmocka_unit_test(test_deferral),
		cmocka_unit_test(test_impacket_icpr_request),
		cmocka_unit_test(test_put_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
