/*
 * utf16.h - UTF-16LE (wire wchar_t, MS-DTYP 2.2.60) <-> UTF-8 (everything
 * inside certa). Invalid input (lone surrogates, overlong UTF-8) is refused,
 * not replaced, so names compare the same everywhere.
 */
#ifndef CERTA_UTIL_UTF16_H
#define CERTA_UTIL_UTF16_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/cursor.h"

/* utf16le_to_utf8 decodes nchars UTF-16 code units from c (advancing it) into a
 * malloc'd NUL-terminated UTF-8 string. A trailing NUL unit, if within nchars,
 * ends the string. Returns NULL on invalid input, truncation or allocation failure. */
char *utf16le_to_utf8(cur_t *c, size_t nchars);
/* utf8_to_utf16le appends s as UTF-16LE to b (with a NUL unit if nul) and
 * stores the number of code units written (including NUL) in *out_units.
 * Returns false on invalid UTF-8 (b unchanged except on builder error). */
bool utf8_to_utf16le(buf_t *b, const char *s, bool nul, size_t *out_units);
/* utf8_utf16_units counts the UTF-16 code units s needs (no NUL); (size_t)-1 if invalid. */
size_t utf8_utf16_units(const char *s);

#endif
