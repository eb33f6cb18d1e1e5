/*
 * ldif.h - an RFC 2849 LDIF reader for content records ("dn:" followed by
 * attribute lines, records separated by blank lines). It handles the
 * optional "version: 1" line, comments, line folding (a line starting with
 * one space continues the previous one), base64 values ("attr:: ..."),
 * CRLF line ends and attribute options ("cn;lang-en"). "changetype: add" is
 * accepted (the entry is read as content); other change records, URL values
 * ("attr:< file://...") are refused. Errors name the file and line.
 * Used to read certificate templates exported from AD (ldifde / ldapsearch)
 * or shipped in the templates folder (one .ldif per template).
 */
#ifndef CERTA_DIR_LDIF_H
#define CERTA_DIR_LDIF_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Limits against hostile or broken files (SQLite sqliteLimit.h in spirit). */
#define LDIF_MAX_INPUT (16u * 1024u * 1024u) /* whole file */
#define LDIF_MAX_LINE (1024u * 1024u)        /* one unfolded logical line */
#define LDIF_MAX_ENTRIES 10000u
#define LDIF_MAX_ATTRS 1024u  /* distinct attributes per entry */
#define LDIF_MAX_VALUES 4096u /* values per attribute */

typedef struct ldif_value {
	uint8_t *data; /* value bytes, with an extra NUL after them (not counted in len) */
	size_t len;
} ldif_value_t;

typedef struct ldif_attr {
	char *name; /* attribute description as written (type plus options) */
	ldif_value_t *values;
	size_t num_values;
} ldif_attr_t;

typedef struct ldif_entry {
	char *dn;
	size_t line; /* line of the dn: */
	ldif_attr_t *attrs;
	size_t num_attrs;
} ldif_entry_t;

typedef struct ldif {
	ldif_entry_t *entries;
	size_t num_entries;
} ldif_t;

/* ldif_parse reads data[0..len). name is used in error messages (a file
 * name, or "<input>"). On failure, err (if non-NULL) gets "name:line: what"
 * and the result is CERR_MALFORMED, CERR_LIMIT, CERR_UNSUPPORTED or CERR_NOMEM;
 * *out is NULL. On success the caller frees *out with ldif_free. */
cerr_t ldif_parse(const uint8_t *data, size_t len, const char *name, ldif_t **out, char *err, size_t err_len);
/* ldif_read_file reads and parses path; CERR_IO (with err) if unreadable. */
cerr_t ldif_read_file(const char *path, ldif_t **out, char *err, size_t err_len);
void ldif_free(ldif_t *l);

/* ldif_entry_attr finds an attribute by description, ASCII case-insensitively
 * (RFC 4512 2.5: descriptors are case-insensitive); NULL if absent. */
const ldif_attr_t *ldif_entry_attr(const ldif_entry_t *e, const char *name);
/* ldif_entry_str is the first value of name as a C string, or NULL if absent
 * or if the value contains a NUL byte. */
const char *ldif_entry_str(const ldif_entry_t *e, const char *name);

/* base64_decode (RFC 4648 section 4, padding required, whitespace refused)
 * decodes src[0..len) into a malloc'd buffer with a NUL after the bytes.
 * NULL on malformed input or allocation failure. Shared with callers that
 * need the same strict decoder. */
uint8_t *ldif_base64_decode(const char *src, size_t len, size_t *out_len);

#endif
