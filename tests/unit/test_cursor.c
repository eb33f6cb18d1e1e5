/* test_cursor.c - the read cursor and builder: bounds, order, alignment, caps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "util/cursor.h"

static void test_getters_and_failure_leaves_cursor(void **state)
{
	(void)state;
	const uint8_t d[] = {1, 2, 3, 4, 5, 6, 7};
	cur_t c;
	cur_init(&c, d, sizeof(d));
	uint8_t b;
	uint16_t w;
	uint32_t l;
	assert_true(cur_get_u8(&c, &b) && b == 1);
	assert_true(cur_get_u16(&c, &w) && w == 0x0302);
	assert_true(cur_get_u32(&c, &l) && l == 0x07060504);
	assert_false(cur_get_u8(&c, &b));
	cur_init(&c, d, 3);
	assert_false(cur_get_u32(&c, &l));
	assert_int_equal(cur_len(&c), 3);
	c.be = true;
	assert_true(cur_get_u16(&c, &w) && w == 0x0102);
}

static void test_children_and_align(void **state)
{
	(void)state;
	const uint8_t d[] = {0xAA, 0, 0, 0, 1, 0, 0, 0, 9, 9};
	cur_t c, ch, tail;
	cur_init(&c, d, sizeof(d));
	assert_true(cur_get_last(&c, &tail, 2));
	assert_int_equal(cur_len(&c), 8);
	assert_true(cur_skip(&c, 1));
	assert_true(cur_align_zero(&c, 4));
	assert_int_equal(cur_offset(&c), 4);
	assert_true(cur_get_bytes(&c, &ch, 4));
	uint32_t v;
	assert_true(cur_get_u32(&ch, &v) && v == 1);
	assert_true(cur_empty(&c));
	assert_false(cur_sub(&tail, 1, 2, &ch));
	assert_true(cur_sub(&tail, 1, 1, &ch));
	/* non-zero padding is refused where the caller asks for zeros */
	const uint8_t p[] = {1, 7, 7, 7, 0};
	cur_init(&c, p, sizeof(p));
	assert_true(cur_skip(&c, 1));
	assert_false(cur_align_zero(&c, 4));
	assert_int_equal(cur_offset(&c), 1);
}

static void test_builder_cap_and_patch(void **state)
{
	(void)state;
	buf_t b;
	buf_init(&b, 8);
	size_t off = buf_reserve(&b, 2);
	buf_put_u8(&b, 1);
	buf_align(&b, 4);
	buf_put_u32(&b, 0xdeadbeef);
	buf_patch_u16(&b, off, 0x1234);
	assert_true(buf_ok(&b));
	assert_int_equal(b.len, 8);
	assert_int_equal(b.data[0], 0x34);
	assert_int_equal(b.data[4], 0xef);
	buf_put_u8(&b, 0);
	assert_false(buf_ok(&b));
	size_t n;
	assert_null(buf_take(&b, &n));
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_getters_and_failure_leaves_cursor),
		cmocka_unit_test(test_children_and_align),
		cmocka_unit_test(test_builder_cap_and_patch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
