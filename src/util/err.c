/*
 * err.c - names and messages for every cerr_t, from errtab.h.
 */
#include "util/err.h"

#include <stdio.h>

struct cerr_row {
	cerr_space_t space;
	uint32_t value;
	const char *name;
	const char *msg;
};

static const struct cerr_row rows[CERR__COUNT] = {
#define CERR_X(id, sp, val, nm, ms) [id] = {CERR_SPACE_##sp, (uint32_t)(val), nm, ms},
#include "util/errtab.h"
#undef CERR_X
};

const char *cerr_name(cerr_t e) { return (unsigned)e < CERR__COUNT ? rows[e].name : "CERTA_E_UNKNOWN"; }
const char *cerr_msg(cerr_t e) { return (unsigned)e < CERR__COUNT ? rows[e].msg : "unknown error"; }
uint32_t cerr_value(cerr_t e) { return (unsigned)e < CERR__COUNT ? rows[e].value : 0xffffffffu; }
cerr_space_t cerr_space(cerr_t e) { return (unsigned)e < CERR__COUNT ? rows[e].space : CERR_SPACE_INTERNAL; }

cerr_t cerr_lookup(cerr_space_t space, uint32_t value)
{
	for (unsigned i = 0; i < CERR__COUNT; i++) {
		if (rows[i].space == space && rows[i].value == value) {
			return (cerr_t)i;
		}
	}
	return CERR__COUNT;
}

cerr_t cerr_lookup_any(uint32_t value)
{
	static const cerr_space_t order[] = {CERR_SPACE_HRESULT, CERR_SPACE_NTSTATUS, CERR_SPACE_NCA,
					     CERR_SPACE_WIN32};
	for (unsigned i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		cerr_t e = cerr_lookup(order[i], value);
		if (e != CERR__COUNT) {
			return e;
		}
	}
	/* HRESULT_FROM_WIN32 (MS-ERREF 2.1.2): 0x8007xxxx carries a Win32 code. */
	if ((value & 0xffff0000u) == 0x80070000u) {
		return cerr_lookup(CERR_SPACE_WIN32, value & 0xffffu);
	}
	return CERR__COUNT;
}

const char *cerr_describe(uint32_t value, char *out, unsigned out_len)
{
	cerr_t e = cerr_lookup_any(value);
	if (e == CERR__COUNT) {
		snprintf(out, out_len, "0x%08x (unknown code)", value);
	} else {
		snprintf(out, out_len, "0x%08x %s: %s", value, cerr_name(e), cerr_msg(e));
	}
	return out;
}
