/*
 * guid.h - GUIDs (MS-DTYP 2.3.4) as plain structs, with the textual form
 * "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" used in configuration and logs.
 */
#ifndef CERTA_UTIL_GUID_H
#define CERTA_UTIL_GUID_H

#include <stdbool.h>
#include <stdint.h>

typedef struct guid {
	uint32_t d1;
	uint16_t d2;
	uint16_t d3;
	uint8_t d4[8];
} guid_t;

#define GUID_STR_LEN 36

/* guid_parse reads the 36-character form (braces allowed); false on any deviation. */
bool guid_parse(guid_t *out, const char *s);
/* guid_format writes the lower-case 36-character form plus NUL into out. */
void guid_format(const guid_t *g, char out[GUID_STR_LEN + 1]);
bool guid_equal(const guid_t *a, const guid_t *b);
bool guid_is_nil(const guid_t *g);
/* guid_random fills g with a random (version 4) GUID. */
void guid_random(guid_t *g);
/* GUID_LITERAL builds a guid_t constant from a string known to be valid;
 * aborts at start-up on a typo rather than misbehaving on the wire. */
guid_t guid_from_literal(const char *s);

#endif
