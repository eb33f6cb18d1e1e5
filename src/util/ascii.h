/*
 * ascii.h - locale-free character classes for the parsers of text that comes
 * from outside (SID and GUID strings, JSON escapes, the accounts file, LDIF):
 * <ctype.h> answers by the process locale, these by ASCII alone. Any int is
 * accepted, so a plain char with its high bit set is simply not a digit.
 */
#ifndef CERTA_UTIL_ASCII_H
#define CERTA_UTIL_ASCII_H

#include <stdbool.h>

static inline bool ascii_is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static inline bool ascii_is_alpha(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* ascii_hex_value is 0-15 for a hex digit of either case, -1 otherwise. */
static inline int ascii_hex_value(int ch)
{
	if (ch >= '0' && ch <= '9') {
		return ch - '0';
	}
	if (ch >= 'a' && ch <= 'f') {
		return ch - 'a' + 10;
	}
	if (ch >= 'A' && ch <= 'F') {
		return ch - 'A' + 10;
	}
	return -1;
}

#endif
