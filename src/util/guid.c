/*
 * guid.c - GUID text form and comparison (MS-DTYP 2.3.4.3).
 */
#include "util/guid.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ascii.h"

static bool hexn(const char *s, int n, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < n; i++) {
		int h = ascii_hex_value(s[i]);
		if (h < 0) {
			return false;
		}
		v = (v << 4) | (uint32_t)h;
	}
	*out = v;
	return true;
}

bool guid_parse(guid_t *out, const char *s)
{
	if (!s) {
		return false;
	}
	size_t n = strlen(s);
	if (n == GUID_STR_LEN + 2 && s[0] == '{' && s[n - 1] == '}') {
		s++;
		n -= 2;
	}
	if (n != GUID_STR_LEN || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-') {
		return false;
	}
	guid_t g;
	uint32_t v;
	if (!hexn(s, 8, &g.d1)) {
		return false;
	}
	if (!hexn(s + 9, 4, &v)) {
		return false;
	}
	g.d2 = (uint16_t)v;
	if (!hexn(s + 14, 4, &v)) {
		return false;
	}
	g.d3 = (uint16_t)v;
	static const int pos[8] = {19, 21, 24, 26, 28, 30, 32, 34};
	for (int i = 0; i < 8; i++) {
		if (!hexn(s + pos[i], 2, &v)) {
			return false;
		}
		g.d4[i] = (uint8_t)v;
	}
	*out = g;
	return true;
}

void guid_format(const guid_t *g, char out[GUID_STR_LEN + 1])
{
	snprintf(out, GUID_STR_LEN + 1, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", g->d1, g->d2,
		 g->d3, g->d4[0], g->d4[1], g->d4[2], g->d4[3], g->d4[4], g->d4[5], g->d4[6], g->d4[7]);
}

bool guid_equal(const guid_t *a, const guid_t *b)
{
	return a->d1 == b->d1 && a->d2 == b->d2 && a->d3 == b->d3 && memcmp(a->d4, b->d4, 8) == 0;
}

bool guid_is_nil(const guid_t *g)
{
	static const guid_t nil;
	return guid_equal(g, &nil);
}

void guid_random(guid_t *g)
{
	uint8_t r[16];
	if (RAND_bytes(r, sizeof(r)) != 1) {
		abort(); /* no randomness: nothing safe to do */
	}
	g->d1 = (uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 | (uint32_t)r[2] << 8 | r[3];
	g->d2 = (uint16_t)(r[4] << 8 | r[5]);
	g->d3 = (uint16_t)(((r[6] << 8 | r[7]) & 0x0fff) | 0x4000);
	memcpy(g->d4, r + 8, 8);
	g->d4[0] = (uint8_t)((g->d4[0] & 0x3f) | 0x80);
}

guid_t guid_from_literal(const char *s)
{
	guid_t g;
	if (!guid_parse(&g, s)) {
		fprintf(stderr, "certa: bad GUID literal %s\n", s);
		abort();
	}
	return g;
}
