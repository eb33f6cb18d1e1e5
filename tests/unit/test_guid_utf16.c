/* test_guid_utf16.c - GUID text form and wire order; UTF-16LE round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/cursor.h"
#include "util/guid.h"
#include "util/utf16.h"

static void test_guid(void **state)
{
	(void)state;
	guid_t g, h;
	char s[GUID_STR_LEN + 1];
	assert_true(guid_parse(&g, "91ae6020-9e3c-11cf-8d7c-00aa00c091be"));
	guid_format(&g, s);
	assert_string_equal(s, "91ae6020-9e3c-11cf-8d7c-00aa00c091be");
	assert_true(guid_parse(&h, "{91AE6020-9E3C-11CF-8D7C-00AA00C091BE}"));
	assert_true(guid_equal(&g, &h));
	assert_false(guid_parse(&h, "91ae6020-9e3c-11cf-8d7c-00aa00c091b"));
	assert_false(guid_parse(&h, "91ae6020x9e3c-11cf-8d7c-00aa00c091be"));
	buf_t b;
	buf_init(&b, 64);
	buf_put_guid(&b, &g);
	const uint8_t wire[16] = {0x20, 0x60, 0xae, 0x91, 0x3c, 0x9e, 0xcf, 0x11,
				  0x8d, 0x7c, 0x00, 0xaa, 0x00, 0xc0, 0x91, 0xbe};
	assert_memory_equal(b.data, wire, 16);
	cur_t c;
	cur_init(&c, b.data, b.len);
	assert_true(cur_get_guid(&c, &h) && guid_equal(&g, &h));
	buf_free(&b);
}

static void test_utf16(void **state)
{
	(void)state;
	const char *s = "Caf\xc3\xa9 \xf0\x9f\x94\x91";
	buf_t b;
	buf_init(&b, 256);
	size_t units;
	assert_true(utf8_to_utf16le(&b, s, true, &units));
	assert_int_equal(units, 8);
	cur_t c;
	cur_init(&c, b.data, b.len);
	char *back = utf16le_to_utf8(&c, units);
	assert_non_null(back);
	assert_string_equal(back, s);
	free(back);
	/* a lone surrogate is refused and the cursor is unchanged */
	const uint8_t lone[] = {0x00, 0xd8, 0x41, 0x00};
	cur_init(&c, lone, sizeof(lone));
	assert_null(utf16le_to_utf8(&c, 2));
	assert_int_equal(cur_len(&c), 4);
	buf_reset(&b);
	assert_false(utf8_to_utf16le(&b, "\xc0\xaf", false, NULL));
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guid),
		cmocka_unit_test(test_utf16),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
