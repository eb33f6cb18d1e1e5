/*
 * utf16.c - UTF-16LE <-> UTF-8 conversion (RFC 2781, RFC 3629).
 */
#include "util/utf16.h"

#include <stdlib.h>
#include <string.h>

char *utf16le_to_utf8(cur_t *c, size_t nchars)
{
	cur_t save = *c;
	if (nchars > c->len / 2) {
		return NULL;
	}
	/* worst case 3 bytes per unit (a pair of units gives 4 bytes) */
	char *out = malloc(nchars * 3 + 1);
	if (!out) {
		return NULL;
	}
	size_t o = 0;
	bool ended = false;
	for (size_t i = 0; i < nchars; i++) {
		uint16_t u;
		if (!cur_get_u16le(c, &u)) {
			goto bad;
		}
		if (ended) {
			continue; /* units after the NUL are consumed, not decoded */
		}
		uint32_t cp = u;
		if (u == 0) {
			ended = true;
			continue;
		}
		if (u >= 0xD800 && u <= 0xDBFF) {
			uint16_t lo;
			if (i + 1 >= nchars || !cur_get_u16le(c, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
				goto bad;
			}
			i++;
			cp = 0x10000 + (((uint32_t)u - 0xD800) << 10) + (lo - 0xDC00);
		} else if (u >= 0xDC00 && u <= 0xDFFF) {
			goto bad;
		}
		if (cp < 0x80) {
			out[o++] = (char)cp;
		} else if (cp < 0x800) {
			out[o++] = (char)(0xC0 | (cp >> 6));
			out[o++] = (char)(0x80 | (cp & 0x3F));
		} else if (cp < 0x10000) {
			out[o++] = (char)(0xE0 | (cp >> 12));
			out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
			out[o++] = (char)(0x80 | (cp & 0x3F));
		} else {
			out[o++] = (char)(0xF0 | (cp >> 18));
			out[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
			out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
			out[o++] = (char)(0x80 | (cp & 0x3F));
		}
	}
	out[o] = '\0';
	return out;
bad:
	free(out);
	*c = save;
	return NULL;
}

/* next_cp decodes one UTF-8 code point at *s; returns false on invalid input. */
static bool next_cp(const unsigned char **s, uint32_t *cp)
{
	const unsigned char *p = *s;
	uint32_t v;
	int n;
	if (p[0] < 0x80) {
		v = p[0];
		n = 0;
	} else if ((p[0] & 0xE0) == 0xC0) {
		v = p[0] & 0x1F;
		n = 1;
	} else if ((p[0] & 0xF0) == 0xE0) {
		v = p[0] & 0x0F;
		n = 2;
	} else if ((p[0] & 0xF8) == 0xF0) {
		v = p[0] & 0x07;
		n = 3;
	} else {
		return false;
	}
	for (int i = 1; i <= n; i++) {
		if ((p[i] & 0xC0) != 0x80) {
			return false;
		}
		v = (v << 6) | (p[i] & 0x3F);
	}
	static const uint32_t min[4] = {0, 0x80, 0x800, 0x10000};
	if (v < min[n] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
		return false;
	}
	*s = p + n + 1;
	*cp = v;
	return true;
}

size_t utf8_utf16_units(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;
	while (*p) {
		uint32_t cp;
		if (!next_cp(&p, &cp)) {
			return (size_t)-1;
		}
		n += cp >= 0x10000 ? 2 : 1;
	}
	return n;
}

bool utf8_to_utf16le(buf_t *b, const char *s, bool nul, size_t *out_units)
{
	size_t units = utf8_utf16_units(s);
	if (units == (size_t)-1) {
		return false;
	}
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		uint32_t cp;
		(void)next_cp(&p, &cp); /* validated above */
		if (cp >= 0x10000) {
			cp -= 0x10000;
			buf_put_u16(b, (uint16_t)(0xD800 + (cp >> 10)));
			buf_put_u16(b, (uint16_t)(0xDC00 + (cp & 0x3FF)));
		} else {
			buf_put_u16(b, (uint16_t)cp);
		}
	}
	if (nul) {
		buf_put_u16(b, 0);
		units++;
	}
	if (out_units) {
		*out_units = units;
	}
	return buf_ok(b);
}
