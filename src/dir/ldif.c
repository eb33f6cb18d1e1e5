/*
 * ldif.c - see ldif.h. Two passes over a cur_t: physical lines are split off
 * and unfolded into logical lines (RFC 2849 note 2: a line starting with one
 * space continues the previous line), then each logical line is parsed as
 * "attrdesc: value", "attrdesc:: base64" or "attrdesc:< url".
 */
#include "dir/ldif.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/ascii.h"
#include "util/cursor.h"

typedef struct parser {
	const char *name;
	char *err;
	size_t err_len;
	ldif_t *out;
	ldif_entry_t *cur; /* entry being filled, NULL between records */
	bool seen_record;  /* a record (or version line) has started */
	bool first_line;   /* next logical line is the first of the file */
	size_t cur_lines;  /* logical lines in the current record */
} parser_t;

static cerr_t fail(parser_t *p, cerr_t rc, size_t line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static cerr_t fail(parser_t *p, cerr_t rc, size_t line, const char *fmt, ...)
{
	if (p->err && p->err_len) {
		int n = snprintf(p->err, p->err_len, "%s:%zu: ", p->name, line);
		if (n >= 0 && (size_t)n < p->err_len) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(p->err + n, p->err_len - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return rc;
}

/* ---- base64 (RFC 4648 section 4) ---- */

static int b64val(uint8_t c)
{
	if (c >= 'A' && c <= 'Z') {
		return c - 'A';
	}
	if (c >= 'a' && c <= 'z') {
		return c - 'a' + 26;
	}
	if (c >= '0' && c <= '9') {
		return c - '0' + 52;
	}
	if (c == '+') {
		return 62;
	}
	if (c == '/') {
		return 63;
	}
	return -1;
}

uint8_t *ldif_base64_decode(const char *src, size_t len, size_t *out_len)
{
	if (len % 4 != 0) {
		return NULL;
	}
	uint8_t *out = malloc(len / 4 * 3 + 1);
	if (!out) {
		return NULL;
	}
	cur_t c;
	cur_init(&c, (const uint8_t *)src, len);
	size_t n = 0;
	while (!cur_empty(&c)) {
		uint8_t q[4];
		if (!cur_copy(&c, q, 4)) {
			goto bad;
		}
		int v[4];
		int pad = 0;
		for (int i = 0; i < 4; i++) {
			if (q[i] == '=' && i >= 2) {
				pad++;
				v[i] = 0;
				continue;
			}
			if (pad || (v[i] = b64val(q[i])) < 0) {
				goto bad; /* data after '=' or a bad character */
			}
		}
		if (pad && !cur_empty(&c)) {
			goto bad; /* padding only at the very end */
		}
		uint32_t w = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) | ((uint32_t)v[2] << 6) | (uint32_t)v[3];
		out[n++] = (uint8_t)(w >> 16);
		if (pad < 2) {
			out[n++] = (uint8_t)(w >> 8);
		}
		if (pad < 1) {
			out[n++] = (uint8_t)w;
		}
	}
	out[n] = 0;
	*out_len = n;
	return out;
bad:
	free(out);
	return NULL;
}

/* ---- entry building ---- */

static void entry_cleanup(ldif_entry_t *e)
{
	free(e->dn);
	for (size_t i = 0; i < e->num_attrs; i++) {
		for (size_t j = 0; j < e->attrs[i].num_values; j++) {
			free(e->attrs[i].values[j].data);
		}
		free(e->attrs[i].values);
		free(e->attrs[i].name);
	}
	free(e->attrs);
}

void ldif_free(ldif_t *l)
{
	if (!l) {
		return;
	}
	for (size_t i = 0; i < l->num_entries; i++) {
		entry_cleanup(&l->entries[i]);
	}
	free(l->entries);
	free(l);
}

const ldif_attr_t *ldif_entry_attr(const ldif_entry_t *e, const char *name)
{
	for (size_t i = 0; i < e->num_attrs; i++) {
		if (strcasecmp(e->attrs[i].name, name) == 0) {
			return &e->attrs[i];
		}
	}
	return NULL;
}

const char *ldif_entry_str(const ldif_entry_t *e, const char *name)
{
	const ldif_attr_t *a = ldif_entry_attr(e, name);
	if (!a || a->num_values == 0 || memchr(a->values[0].data, 0, a->values[0].len)) {
		return NULL;
	}
	return (const char *)a->values[0].data;
}

/* add_value takes ownership of data (NUL-terminated, len bytes before it). */
static cerr_t add_value(parser_t *p, size_t line, const char *name, uint8_t *data, size_t len)
{
	ldif_entry_t *e = p->cur;
	ldif_attr_t *a = (ldif_attr_t *)ldif_entry_attr(e, name);
	if (!a) {
		if (e->num_attrs >= LDIF_MAX_ATTRS) {
			free(data);
			return fail(p, CERR_LIMIT, line, "more than %u attributes in one entry", LDIF_MAX_ATTRS);
		}
		ldif_attr_t *na = realloc(e->attrs, (e->num_attrs + 1) * sizeof(*na));
		if (!na) {
			free(data);
			return CERR_NOMEM;
		}
		e->attrs = na;
		a = &e->attrs[e->num_attrs];
		memset(a, 0, sizeof(*a));
		a->name = strdup(name);
		if (!a->name) {
			free(data);
			return CERR_NOMEM;
		}
		e->num_attrs++;
	}
	if (a->num_values >= LDIF_MAX_VALUES) {
		free(data);
		return fail(p, CERR_LIMIT, line, "more than %u values of %s", LDIF_MAX_VALUES, name);
	}
	ldif_value_t *nv = realloc(a->values, (a->num_values + 1) * sizeof(*nv));
	if (!nv) {
		free(data);
		return CERR_NOMEM;
	}
	a->values = nv;
	a->values[a->num_values].data = data;
	a->values[a->num_values].len = len;
	a->num_values++;
	return CERR_OK;
}

static cerr_t start_entry(parser_t *p, size_t line, uint8_t *dn)
{
	ldif_t *l = p->out;
	if (l->num_entries >= LDIF_MAX_ENTRIES) {
		free(dn);
		return fail(p, CERR_LIMIT, line, "more than %u entries", LDIF_MAX_ENTRIES);
	}
	ldif_entry_t *ne = realloc(l->entries, (l->num_entries + 1) * sizeof(*ne));
	if (!ne) {
		free(dn);
		return CERR_NOMEM;
	}
	l->entries = ne;
	p->cur = &l->entries[l->num_entries++];
	memset(p->cur, 0, sizeof(*p->cur));
	p->cur->dn = (char *)dn;
	p->cur->line = line;
	return CERR_OK;
}

/* ---- logical lines ---- */

/* valid_attrdesc checks RFC 2849 AttributeDescription on our NUL-terminated
 * copy: (numericoid | ALPHA *(ALPHA / DIGIT / "-")) *(";" 1*opt-char). */
static bool valid_attrdesc(const char *s, size_t n)
{
	size_t i = 0;
	if (n == 0) {
		return false;
	}
	if (ascii_is_digit((uint8_t)s[0])) {
		bool prev_dot = true; /* no leading dot */
		for (; i < n && s[i] != ';'; i++) {
			if (s[i] == '.') {
				if (prev_dot) {
					return false;
				}
				prev_dot = true;
			} else if (ascii_is_digit((uint8_t)s[i])) {
				prev_dot = false;
			} else {
				return false;
			}
		}
		if (prev_dot) {
			return false;
		}
	} else if (ascii_is_alpha((uint8_t)s[0])) {
		for (; i < n && s[i] != ';'; i++) {
			if (!ascii_is_alpha((uint8_t)s[i]) && !ascii_is_digit((uint8_t)s[i]) && s[i] != '-') {
				return false;
			}
		}
	} else {
		return false;
	}
	while (i < n) { /* s[i] == ';' starts an option */
		size_t start = ++i;
		for (; i < n && s[i] != ';'; i++) {
			if (!ascii_is_alpha((uint8_t)s[i]) && !ascii_is_digit((uint8_t)s[i]) && s[i] != '-') {
				return false;
			}
		}
		if (i == start) {
			return false;
		}
	}
	return true;
}

/* parse_value splits "desc:[: | < | ]value" into a NUL-terminated name and
 * a malloc'd decoded value. */
static cerr_t parse_value(parser_t *p, size_t line, const char *text, size_t len, char *name, size_t name_cap,
			  uint8_t **out, size_t *out_len)
{
	cur_t c;
	cur_init(&c, (const uint8_t *)text, len);
	size_t nlen = 0;
	uint8_t ch;
	while (cur_get_u8(&c, &ch) && ch != ':') {
		if (nlen + 1 >= name_cap) {
			return fail(p, CERR_LIMIT, line, "attribute name too long");
		}
		name[nlen++] = (char)ch;
	}
	name[nlen] = 0;
	if (ch != ':' || !valid_attrdesc(name, nlen)) {
		return fail(p, CERR_MALFORMED, line, "expected \"attribute: value\"");
	}
	enum { PLAIN, B64, URL } kind = PLAIN;
	cur_t t = c;
	if (cur_get_u8(&t, &ch) && (ch == ':' || ch == '<')) {
		kind = ch == ':' ? B64 : URL;
		c = t;
	}
	/* FILL: skip spaces before the value */
	for (t = c; cur_get_u8(&t, &ch) && ch == ' '; t = c) {
		cur_skip(&c, 1);
	}
	const char *v = (const char *)cur_data(&c);
	size_t vlen = cur_len(&c);
	if (kind == URL) {
		return fail(p, CERR_UNSUPPORTED, line, "URL values (\"%s:<\") are not supported", name);
	}
	if (kind == B64) {
		/* trailing spaces are tolerated after base64 */
		while (vlen && v[vlen - 1] == ' ') {
			vlen--;
		}
		*out = ldif_base64_decode(v, vlen, out_len);
		if (!*out) {
			return fail(p, CERR_MALFORMED, line, "bad base64 value for %s", name);
		}
		return CERR_OK;
	}
	if (memchr(v, 0, vlen)) {
		return fail(p, CERR_MALFORMED, line, "NUL byte in value of %s (use base64)", name);
	}
	*out = malloc(vlen + 1);
	if (!*out) {
		return CERR_NOMEM;
	}
	memcpy(*out, v, vlen);
	(*out)[vlen] = 0;
	*out_len = vlen;
	return CERR_OK;
}

static cerr_t logical_line(parser_t *p, size_t line, const char *text, size_t len)
{
	char name[256];
	uint8_t *val = NULL;
	size_t vlen = 0;
	cerr_t rc = parse_value(p, line, text, len, name, sizeof(name), &val, &vlen);
	if (rc != CERR_OK) {
		return rc;
	}
	bool first_of_file = p->first_line;
	p->first_line = false;
	if (!p->cur) {
		if (first_of_file && strcasecmp(name, "version") == 0) {
			bool ok = vlen == 1 && val[0] == '1';
			free(val);
			return ok ? CERR_OK : fail(p, CERR_UNSUPPORTED, line, "unsupported LDIF version");
		}
		if (strcasecmp(name, "dn") != 0) {
			free(val);
			return fail(p, CERR_MALFORMED, line, "record must start with \"dn:\"");
		}
		if (memchr(val, 0, vlen)) {
			free(val);
			return fail(p, CERR_MALFORMED, line, "NUL byte in dn");
		}
		p->cur_lines = 1;
		return start_entry(p, line, val);
	}
	p->cur_lines++;
	if (strcasecmp(name, "dn") == 0) {
		free(val);
		return fail(p, CERR_MALFORMED, line, "second dn in one record (missing blank line?)");
	}
	if (strcasecmp(name, "control") == 0) {
		free(val);
		return fail(p, CERR_UNSUPPORTED, line, "LDIF controls are not supported");
	}
	if (strcasecmp(name, "changetype") == 0 && p->cur_lines == 2) {
		bool add = strcasecmp((char *)val, "add") == 0;
		free(val);
		return add ? CERR_OK
			   : fail(p, CERR_UNSUPPORTED, line, "only content records and \"changetype: add\" are supported");
	}
	return add_value(p, line, name, val, vlen);
}

static cerr_t end_record(parser_t *p)
{
	p->cur = NULL;
	return CERR_OK;
}

cerr_t ldif_parse(const uint8_t *data, size_t len, const char *name, ldif_t **out, char *err, size_t err_len)
{
	*out = NULL;
	if (err && err_len) {
		err[0] = 0;
	}
	parser_t p = {.name = name ? name : "<input>", .err = err, .err_len = err_len, .first_line = true};
	if (len > LDIF_MAX_INPUT) {
		return fail(&p, CERR_LIMIT, 0, "input larger than %u bytes", LDIF_MAX_INPUT);
	}
	p.out = calloc(1, sizeof(ldif_t));
	if (!p.out) {
		return CERR_NOMEM;
	}
	cur_t c;
	cur_init(&c, data, len);
	buf_t logical; /* the logical line being unfolded */
	buf_init(&logical, LDIF_MAX_LINE);
	size_t lineno = 0, logical_start = 0;
	bool have_logical = false, in_comment = false;
	cerr_t rc = CERR_OK;

	for (;;) {
		/* split one physical line off c */
		bool at_eof = cur_empty(&c);
		cur_t ln;
		if (!at_eof) {
			cur_t t = c;
			size_t n = 0;
			uint8_t ch;
			while (cur_get_u8(&t, &ch) && ch != '\n') {
				n++;
			}
			cur_get_bytes(&c, &ln, n);
			cur_skip(&c, 1); /* the '\n', if any */
			cur_t last;
			cur_t probe = ln;
			if (cur_len(&probe) && cur_get_last(&probe, &last, 1) && cur_data(&last)[0] == '\r') {
				ln = probe; /* CRLF */
			}
			lineno++;
		}
		uint8_t first = 0;
		bool blank = at_eof || cur_len(&ln) == 0;
		if (!blank) {
			cur_t t = ln;
			cur_get_u8(&t, &first);
		}
		if (!blank && first == ' ') {
			/* continuation of the previous logical line */
			if (!have_logical && !in_comment) {
				rc = fail(&p, CERR_MALFORMED, lineno, "continuation line with nothing to continue");
				goto out;
			}
			if (have_logical) {
				cur_skip(&ln, 1);
				buf_put_bytes(&logical, cur_data(&ln), cur_len(&ln));
				if (!buf_ok(&logical)) {
					rc = fail(&p, CERR_LIMIT, lineno, "logical line longer than %u bytes", LDIF_MAX_LINE);
					goto out;
				}
			}
			continue;
		}
		/* any other line ends the pending logical line */
		if (have_logical) {
			rc = logical_line(&p, logical_start, (const char *)logical.data, logical.len);
			if (rc != CERR_OK) {
				goto out;
			}
			buf_reset(&logical);
			have_logical = false;
		}
		in_comment = false;
		if (blank) {
			if (p.cur) {
				end_record(&p);
			}
			if (at_eof) {
				break;
			}
			continue;
		}
		if (first == '#') {
			in_comment = true;
			continue;
		}
		have_logical = true;
		logical_start = lineno;
		buf_put_bytes(&logical, cur_data(&ln), cur_len(&ln));
		if (!buf_ok(&logical)) {
			rc = fail(&p, CERR_LIMIT, lineno, "logical line longer than %u bytes", LDIF_MAX_LINE);
			goto out;
		}
	}
out:
	buf_free(&logical);
	if (rc != CERR_OK) {
		ldif_free(p.out);
		return rc;
	}
	*out = p.out;
	return CERR_OK;
}

cerr_t ldif_read_file(const char *path, ldif_t **out, char *err, size_t err_len)
{
	*out = NULL;
	FILE *f = fopen(path, "rbe");
	if (!f) {
		if (err && err_len) {
			snprintf(err, err_len, "%s: %s", path, strerror(errno));
		}
		return CERR_IO;
	}
	buf_t b;
	buf_init(&b, LDIF_MAX_INPUT);
	uint8_t chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		buf_put_bytes(&b, chunk, n);
	}
	bool rerr = ferror(f);
	fclose(f);
	if (rerr || !buf_ok(&b)) {
		buf_free(&b);
		if (err && err_len) {
			snprintf(err, err_len, "%s: %s", path, rerr ? "read error" : "file too large");
		}
		return rerr ? CERR_IO : CERR_LIMIT;
	}
	cerr_t rc = ldif_parse(b.data ? b.data : (const uint8_t *)"", b.len, path, out, err, err_len);
	buf_free(&b);
	return rc;
}
