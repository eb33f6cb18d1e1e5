/* test_err.c - the error table: names, values, lookups across spaces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/err.h"

static void test_lookup(void **state)
{
	(void)state;
	assert_string_equal(cerr_name(CERR_STATUS_LOGON_TYPE_NOT_GRANTED), "STATUS_LOGON_TYPE_NOT_GRANTED");
	assert_int_equal(cerr_value(CERR_STATUS_LOGON_TYPE_NOT_GRANTED), 0xC000015B);
	assert_int_equal(cerr_lookup(CERR_SPACE_NCA, 0x1C010002), CERR_NCA_S_OP_RNG_ERROR);
	assert_int_equal(cerr_lookup_any(0x800706BA), CERR_HRESULT_RPC_S_SERVER_UNAVAILABLE);
	assert_int_equal(cerr_lookup_any(0x80070057), CERR_E_INVALIDARG);
	assert_int_equal(cerr_lookup_any(0x12345678), CERR__COUNT);
	char s[256];
	assert_non_null(strstr(cerr_describe(0x80094800, s, sizeof(s)), "UNSUPPORTED_CERT_TYPE"));
}

static void test_every_row_named(void **state)
{
	(void)state;
	for (int i = 0; i < CERR__COUNT; i++) {
		assert_true(strlen(cerr_name((cerr_t)i)) > 1);
		assert_true(strlen(cerr_msg((cerr_t)i)) > 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_every_row_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
