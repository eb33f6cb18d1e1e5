/*
 * err.h - one error type (cerr_t) for the whole project. Each code has a
 * space (certa-internal, NTSTATUS, Win32, HRESULT, DCE nca_s_*), a wire value,
 * a name and a message, all from errtab.h. Action functions return cerr_t
 * (CERR_OK = 0); codes received from a peer are looked up by space + value.
 */
#ifndef CERTA_UTIL_ERR_H
#define CERTA_UTIL_ERR_H

#include <stdint.h>

typedef enum cerr_space {
	CERR_SPACE_INTERNAL,
	CERR_SPACE_NTSTATUS,
	CERR_SPACE_WIN32,
	CERR_SPACE_HRESULT,
	CERR_SPACE_NCA,
} cerr_space_t;

typedef enum cerr {
#define CERR_X(id, space, value, name, msg) id,
#include "util/errtab.h"
#undef CERR_X
	CERR__COUNT
} cerr_t;

/* cerr_name is the code's symbolic name ("STATUS_LOGON_TYPE_NOT_GRANTED"). */
const char *cerr_name(cerr_t e);
/* cerr_msg is a sentence saying what the code means. */
const char *cerr_msg(cerr_t e);
/* cerr_value is the code's value on the wire (0 for CERR_OK). */
uint32_t cerr_value(cerr_t e);
cerr_space_t cerr_space(cerr_t e);
/* cerr_lookup finds the code for a value received in a space; CERR__COUNT if unknown. */
cerr_t cerr_lookup(cerr_space_t space, uint32_t value);
/* cerr_lookup_any tries HRESULT, NTSTATUS, NCA, Win32 in that order (for a bare
 * number from the user or a peer). Also recognises HRESULT_FROM_WIN32 values. */
cerr_t cerr_lookup_any(uint32_t value);
/* cerr_describe formats "0xVALUE NAME: message" for any value (unknown ones too). */
const char *cerr_describe(uint32_t value, char *out, unsigned out_len);

#endif
