/*
 * attrib.h - the request attribute string that comes with a certificate
 * request (ICPR pctbAttribs, WCCE pwszAttributes): "Name:Value" pairs
 * separated by "\n" (or "\r\n"), names case-insensitive ([MS-WCCE]
 * 3.2.1.4.2.1.1 and 3.2.2.6.2.1.1, e.g. "CertificateTemplate:User").
 * "SAN:dns=a&upn=b&email=c" is split into typed entries; the CA honours it
 * only with EDITF_ATTRIBUTESUBJECTALTNAME2 (ESC6 when enabled, so it is off
 * by default). Parsed fully into a struct before anything acts on it.
 */
#ifndef CERTA_CA_ATTRIB_H
#define CERTA_CA_ATTRIB_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

/* Limits: WCCE caps pwszAttributes at 1536 characters; ICPR has no cap, so
 * these keep a hostile caller's string bounded. */
#define ATTRIB_MAX_INPUT (64u * 1024u)
#define ATTRIB_MAX_PAIRS 64u
#define ATTRIB_MAX_NAME 256u
#define ATTRIB_MAX_VALUE 8192u
#define ATTRIB_MAX_SAN 64u

typedef enum ca_san_type {
	CA_SAN_DNS,   /* dns=     dNSName */
	CA_SAN_UPN,   /* upn=     otherName 1.3.6.1.4.1.311.20.2.3 */
	CA_SAN_EMAIL, /* email=   rfc822Name */
	CA_SAN_URL,   /* url=     uniformResourceIdentifier */
	CA_SAN_IP,    /* ipaddress= iPAddress (v4 or v6 text) */
	CA_SAN_OTHER, /* anything else (guid=, dn=, ...): kept, not issued */
} ca_san_type_t;

typedef struct ca_san_entry {
	ca_san_type_t type;
	char *type_name; /* as written, e.g. "dns" */
	char *value;
} ca_san_entry_t;

typedef struct ca_attr_pair {
	char *name;
	char *value;
} ca_attr_pair_t;

typedef struct ca_attribs {
	ca_attr_pair_t *pairs; /* every pair in order, trimmed */
	size_t num_pairs;
	const char *template_name; /* first CertificateTemplate value, or NULL */
	bool has_san;              /* a SAN attribute was present */
	ca_san_entry_t *san;       /* its entries */
	size_t num_san;
} ca_attribs_t;

/* attrib_parse parses s[0..len) (stops at a NUL). Lines without ':' and
 * empty lines are skipped; whitespace around names and values is trimmed.
 * CERR_LIMIT past the ATTRIB_MAX_* limits; CERR_MALFORMED for a SAN entry
 * without "=" or with an empty value. Free *out with attrib_free. */
cerr_t attrib_parse(const char *s, size_t len, ca_attribs_t **out);
void attrib_free(ca_attribs_t *a);
/* attrib_get is the value of the first pair named name (case-insensitive), or NULL. */
const char *attrib_get(const ca_attribs_t *a, const char *name);

#endif
