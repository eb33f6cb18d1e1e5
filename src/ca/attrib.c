/*
 * attrib.c - see attrib.h. Lines are split off a cur_t, each at its first
 * ':' into name and value; the SAN value is then split at '&' and '='.
 */
#include "ca/attrib.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/cursor.h"

/* take_until splits off the bytes before the next sep (or all), consuming sep. */
static void take_until(cur_t *c, uint8_t sep, cur_t *out)
{
	cur_t t = *c;
	size_t n = 0;
	uint8_t ch;
	while (cur_get_u8(&t, &ch) && ch != sep) {
		n++;
	}
	cur_get_bytes(c, out, n);
	cur_skip(c, 1);
}

static bool is_space(uint8_t ch) { return ch == ' ' || ch == '\t' || ch == '\r'; }

/* trim drops leading and trailing blanks (and a CR left by "\r\n"). */
static void trim(cur_t *c)
{
	cur_t t = *c;
	uint8_t ch;
	while (cur_get_u8(&t, &ch) && is_space(ch)) {
		cur_skip(c, 1);
		t = *c;
	}
	cur_t last;
	for (;;) {
		cur_t probe = *c;
		if (!cur_get_last(&probe, &last, 1) || !is_space(cur_data(&last)[0])) {
			break;
		}
		*c = probe;
	}
}

static char *dup_cur(const cur_t *c)
{
	char *s = malloc(cur_len(c) + 1);
	if (s) {
		cur_t t = *c;
		cur_copy(&t, s, cur_len(c));
		s[cur_len(c)] = 0;
	}
	return s;
}

void attrib_free(ca_attribs_t *a)
{
	if (!a) {
		return;
	}
	for (size_t i = 0; i < a->num_pairs; i++) {
		free(a->pairs[i].name);
		free(a->pairs[i].value);
	}
	for (size_t i = 0; i < a->num_san; i++) {
		free(a->san[i].type_name);
		free(a->san[i].value);
	}
	free(a->pairs);
	free(a->san);
	free(a);
}

const char *attrib_get(const ca_attribs_t *a, const char *name)
{
	for (size_t i = 0; i < a->num_pairs; i++) {
		if (strcasecmp(a->pairs[i].name, name) == 0) {
			return a->pairs[i].value;
		}
	}
	return NULL;
}

static ca_san_type_t san_type(const char *t)
{
	static const struct {
		const char *name;
		ca_san_type_t type;
	} map[] = {
		{"dns", CA_SAN_DNS}, {"upn", CA_SAN_UPN},      {"email", CA_SAN_EMAIL},
		{"url", CA_SAN_URL}, {"ipaddress", CA_SAN_IP},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcasecmp(map[i].name, t) == 0) {
			return map[i].type;
		}
	}
	return CA_SAN_OTHER;
}

/* parse_san splits "type=value&type=value" ([MS-WCCE] 3.2.2.6.2.1.4.5.9 SAN attribute). */
static cerr_t parse_san(ca_attribs_t *a, const char *v)
{
	cur_t c;
	cur_init(&c, (const uint8_t *)v, strlen(v));
	a->has_san = true;
	while (!cur_empty(&c)) {
		cur_t item, type, value;
		take_until(&c, '&', &item);
		trim(&item);
		if (cur_len(&item) == 0) {
			continue;
		}
		cur_t t = item;
		uint8_t ch;
		bool has_eq = false;
		while (cur_get_u8(&t, &ch)) {
			has_eq |= ch == '=';
		}
		if (!has_eq) {
			return CERR_MALFORMED;
		}
		take_until(&item, '=', &type);
		value = item;
		trim(&type);
		trim(&value);
		if (cur_len(&type) == 0 || cur_len(&value) == 0) {
			return CERR_MALFORMED;
		}
		if (a->num_san >= ATTRIB_MAX_SAN) {
			return CERR_LIMIT;
		}
		ca_san_entry_t *ns = realloc(a->san, (a->num_san + 1) * sizeof(*ns));
		if (!ns) {
			return CERR_NOMEM;
		}
		a->san = ns;
		ca_san_entry_t *e = &a->san[a->num_san];
		e->type_name = dup_cur(&type);
		e->value = dup_cur(&value);
		if (!e->type_name || !e->value) {
			free(e->type_name);
			free(e->value);
			return CERR_NOMEM;
		}
		e->type = san_type(e->type_name);
		a->num_san++;
	}
	return CERR_OK;
}

cerr_t attrib_parse(const char *s, size_t len, ca_attribs_t **out)
{
	*out = NULL;
	if (len > ATTRIB_MAX_INPUT) {
		return CERR_LIMIT;
	}
	ca_attribs_t *a = calloc(1, sizeof(*a));
	if (!a) {
		return CERR_NOMEM;
	}
	cur_t all, c;
	cur_init(&all, (const uint8_t *)s, len);
	take_until(&all, 0, &c); /* a NUL ends the string */
	cerr_t rc = CERR_OK;
	while (!cur_empty(&c)) {
		cur_t line, name;
		take_until(&c, '\n', &line);
		cur_t t = line;
		uint8_t ch;
		bool has_colon = false;
		while (cur_get_u8(&t, &ch)) {
			has_colon |= ch == ':';
		}
		if (!has_colon) {
			continue; /* blank or junk line: skipped, as documented */
		}
		take_until(&line, ':', &name);
		trim(&name);
		trim(&line);
		if (cur_len(&name) == 0) {
			continue;
		}
		if (cur_len(&name) > ATTRIB_MAX_NAME || cur_len(&line) > ATTRIB_MAX_VALUE ||
		    a->num_pairs >= ATTRIB_MAX_PAIRS) {
			rc = CERR_LIMIT;
			goto fail;
		}
		ca_attr_pair_t *np = realloc(a->pairs, (a->num_pairs + 1) * sizeof(*np));
		if (!np) {
			rc = CERR_NOMEM;
			goto fail;
		}
		a->pairs = np;
		ca_attr_pair_t *p = &a->pairs[a->num_pairs];
		p->name = dup_cur(&name);
		p->value = dup_cur(&line);
		if (!p->name || !p->value) {
			free(p->name);
			free(p->value);
			rc = CERR_NOMEM;
			goto fail;
		}
		a->num_pairs++;
	}
	for (size_t i = 0; i < a->num_pairs; i++) {
		if (!a->template_name && strcasecmp(a->pairs[i].name, "CertificateTemplate") == 0) {
			a->template_name = a->pairs[i].value;
		}
		if (!a->has_san && strcasecmp(a->pairs[i].name, "SAN") == 0) {
			rc = parse_san(a, a->pairs[i].value);
			if (rc != CERR_OK) {
				goto fail;
			}
		}
	}
	*out = a;
	return CERR_OK;
fail:
	attrib_free(a);
	return rc;
}
