/*
 * template.c - see template.h. Each attribute is checked as it is mapped so
 * a broken export fails at start-up with the file and line of its entry,
 * not at the first enrollment.
 */
#include "ca/template.h"

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/cursor.h"

static cerr_t terr(char *err, size_t err_len, const char *file, size_t line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static cerr_t terr(char *err, size_t err_len, const char *file, size_t line, const char *fmt, ...)
{
	if (err && err_len) {
		int n = snprintf(err, err_len, "%s:%zu: ", file ? file : "<template>", line);
		if (n >= 0 && (size_t)n < err_len) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(err + n, err_len - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return CERR_MALFORMED;
}

void template_free(ca_template_t *t)
{
	if (!t) {
		return;
	}
	free(t->cn);
	free(t->display_name);
	free(t->oid);
	for (size_t i = 0; i < t->num_ekus; i++) {
		free(t->ekus[i]);
	}
	for (size_t i = 0; i < t->num_app_policies; i++) {
		free(t->app_policies[i]);
	}
	for (size_t i = 0; i < t->num_critical_exts; i++) {
		free(t->critical_exts[i]);
	}
	free(t->ekus);
	free(t->app_policies);
	free(t->critical_exts);
	free(t);
}

bool template_is_critical(const ca_template_t *t, const char *oid)
{
	for (size_t i = 0; i < t->num_critical_exts; i++) {
		if (strcmp(t->critical_exts[i], oid) == 0) {
			return true;
		}
	}
	return false;
}

/* valid_oid: dotted decimal, at least two arcs, no empty arcs. */
static bool valid_oid(const char *s)
{
	size_t arcs = 0, digits = 0;
	for (; *s; s++) {
		if (*s == '.') {
			if (digits == 0) {
				return false;
			}
			arcs++;
			digits = 0;
		} else if (*s >= '0' && *s <= '9') {
			if (++digits > 20) {
				return false;
			}
		} else {
			return false;
		}
	}
	return digits > 0 && arcs >= 1;
}

/* get_int reads a decimal attribute; values outside int32/uint32 fail. */
static bool get_int(const ldif_entry_t *e, const char *name, int64_t dflt, int64_t *out, bool *bad)
{
	const char *s = ldif_entry_str(e, name);
	*out = dflt;
	if (!s) {
		return ldif_entry_attr(e, name) ? (*bad = true, false) : true;
	}
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < INT32_MIN || v > (long long)UINT32_MAX) {
		*bad = true;
		return false;
	}
	*out = v;
	return true;
}

/* get_period converts an 8-byte little-endian negative FILETIME interval
 * (100 ns units) to seconds. */
static bool get_period(const ldif_entry_t *e, const char *name, bool required, uint64_t *out)
{
	const ldif_attr_t *a = ldif_entry_attr(e, name);
	*out = 0;
	if (!a) {
		return !required;
	}
	cur_t c;
	cur_init(&c, a->values[0].data, a->values[0].len);
	uint64_t raw;
	if (a->values[0].len != 8 || !cur_get_u64le(&c, &raw)) {
		return false;
	}
	int64_t v = (int64_t)raw;
	if (v >= 0) {
		return false;
	}
	*out = (uint64_t)(-(v / 10000000));
	return *out > 0;
}

static bool get_oids(const ldif_entry_t *e, const char *name, char ***out, size_t *num, bool *nomem)
{
	const ldif_attr_t *a = ldif_entry_attr(e, name);
	if (!a) {
		return true;
	}
	if (a->num_values > TEMPLATE_MAX_OIDS) {
		return false;
	}
	*out = calloc(a->num_values ? a->num_values : 1, sizeof(char *));
	if (!*out) {
		*nomem = true;
		return false;
	}
	for (size_t i = 0; i < a->num_values; i++) {
		const char *v = (const char *)a->values[i].data;
		if (memchr(v, 0, a->values[i].len) || !valid_oid(v)) {
			return false;
		}
		(*out)[i] = strdup(v);
		if (!(*out)[i]) {
			*nomem = true;
			return false;
		}
		(*num)++;
	}
	return true;
}

cerr_t template_from_entry(const ldif_entry_t *e, const char *file, ca_template_t **out, char *err,
			   size_t err_len)
{
	*out = NULL;
	ca_template_t *t = calloc(1, sizeof(*t));
	if (!t) {
		return CERR_NOMEM;
	}
	const char *cn = ldif_entry_str(e, "cn");
	const char *what = NULL;
	bool nomem = false, bad = false;
	if (!cn || !*cn || strlen(cn) > 256) {
		what = "missing or bad cn";
		goto fail;
	}
	const char *dn = ldif_entry_str(e, "displayName");
	const char *oid = ldif_entry_str(e, "msPKI-Cert-Template-OID");
	t->cn = strdup(cn);
	t->display_name = strdup(dn ? dn : cn);
	if (oid) {
		if (!valid_oid(oid)) {
			what = "bad msPKI-Cert-Template-OID";
			goto fail;
		}
		t->oid = strdup(oid);
	}
	if (!t->cn || !t->display_name || (oid && !t->oid)) {
		nomem = true;
		goto fail;
	}
	if (!get_oids(e, "pKIExtendedKeyUsage", &t->ekus, &t->num_ekus, &nomem)) {
		what = "bad pKIExtendedKeyUsage";
		goto fail;
	}
	if (!get_oids(e, "msPKI-Certificate-Application-Policy", &t->app_policies, &t->num_app_policies, &nomem)) {
		what = "bad msPKI-Certificate-Application-Policy";
		goto fail;
	}
	if (!get_oids(e, "pKICriticalExtensions", &t->critical_exts, &t->num_critical_exts, &nomem)) {
		what = "bad pKICriticalExtensions";
		goto fail;
	}
	static const struct {
		const char *name;
		size_t off;
		int64_t dflt;
	} ints[] = {
		{"flags", offsetof(ca_template_t, flags), 0},
		{"msPKI-Certificate-Name-Flag", offsetof(ca_template_t, name_flags), 0},
		{"msPKI-Enrollment-Flag", offsetof(ca_template_t, enrollment_flags), 0},
		{"msPKI-Private-Key-Flag", offsetof(ca_template_t, private_key_flags), 0},
		{"msPKI-Minimal-Key-Size", offsetof(ca_template_t, min_key_size), 0},
		{"msPKI-Template-Schema-Version", offsetof(ca_template_t, schema_version), 1},
		{"msPKI-Template-Minor-Revision", offsetof(ca_template_t, minor_revision), 0},
		{"revision", offsetof(ca_template_t, revision), 0},
		{"msPKI-RA-Signature", offsetof(ca_template_t, ra_signature), 0},
		{"pKIDefaultKeySpec", offsetof(ca_template_t, default_key_spec), 1},
	};
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		int64_t v;
		if (!get_int(e, ints[i].name, ints[i].dflt, &v, &bad)) {
			template_free(t);
			return terr(err, err_len, file, e->line, "bad %s in template %s", ints[i].name, cn);
		}
		uint32_t u = (uint32_t)v; /* AD stores these as signed 32-bit; keep the bits */
		memcpy((char *)t + ints[i].off, &u, sizeof(u));
	}
	int64_t depth;
	if (!get_int(e, "pKIMaxIssuingDepth", 0, &depth, &bad) || depth < -1 || depth > INT32_MAX) {
		what = "bad pKIMaxIssuingDepth";
		goto fail;
	}
	t->max_issuing_depth = (int32_t)depth;
	if (t->schema_version < 1 || t->schema_version > 4) {
		what = "msPKI-Template-Schema-Version must be 1-4";
		goto fail;
	}
	if (!get_period(e, "pKIExpirationPeriod", true, &t->validity_seconds)) {
		what = "missing or bad pKIExpirationPeriod (8-byte negative FILETIME interval, base64)";
		goto fail;
	}
	if (!get_period(e, "pKIOverlapPeriod", false, &t->overlap_seconds)) {
		what = "bad pKIOverlapPeriod";
		goto fail;
	}
	const ldif_attr_t *ku = ldif_entry_attr(e, "pKIKeyUsage");
	if (ku) {
		if (ku->values[0].len < 1 || ku->values[0].len > 2) {
			what = "bad pKIKeyUsage (1 or 2 bytes)";
			goto fail;
		}
		memcpy(t->key_usage, ku->values[0].data, ku->values[0].len);
		t->key_usage_len = ku->values[0].len;
	}
	*out = t;
	return CERR_OK;
fail:
	template_free(t);
	if (nomem) {
		return CERR_NOMEM;
	}
	return terr(err, err_len, file, e->line, "%s in template %s", what ? what : "bad value", cn ? cn : "?");
}

/* ---- sets ---- */

void template_set_free(ca_template_set_t *s)
{
	if (!s) {
		return;
	}
	for (size_t i = 0; i < s->num; i++) {
		template_free(s->items[i]);
	}
	free(s->items);
	free(s);
}

const ca_template_t *template_set_find(const ca_template_set_t *s, const char *name_or_oid)
{
	if (!s || !name_or_oid) {
		return NULL;
	}
	for (size_t i = 0; i < s->num; i++) {
		if (strcasecmp(s->items[i]->cn, name_or_oid) == 0) {
			return s->items[i];
		}
	}
	for (size_t i = 0; i < s->num; i++) {
		if (s->items[i]->oid && strcmp(s->items[i]->oid, name_or_oid) == 0) {
			return s->items[i];
		}
	}
	return NULL;
}

cerr_t template_set_add(ca_template_set_t *s, ca_template_t *t)
{
	for (size_t i = 0; i < s->num; i++) {
		if (strcasecmp(s->items[i]->cn, t->cn) == 0) {
			return CERR_EXISTS;
		}
	}
	ca_template_t **n = realloc(s->items, (s->num + 1) * sizeof(*n));
	if (!n) {
		return CERR_NOMEM;
	}
	s->items = n;
	s->items[s->num++] = t;
	return CERR_OK;
}

static bool is_template_entry(const ldif_entry_t *e)
{
	const ldif_attr_t *oc = ldif_entry_attr(e, "objectClass");
	if (!oc) {
		return true;
	}
	for (size_t i = 0; i < oc->num_values; i++) {
		if (strcasecmp((const char *)oc->values[i].data, "pKICertificateTemplate") == 0) {
			return true;
		}
	}
	return false;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

cerr_t template_set_load_dir(const char *dir, ca_template_set_t **out, char *err, size_t err_len)
{
	*out = NULL;
	DIR *d = opendir(dir);
	if (!d) {
		if (err && err_len) {
			snprintf(err, err_len, "%s: %s", dir, strerror(errno));
		}
		return CERR_IO;
	}
	char **names = NULL;
	size_t num = 0;
	cerr_t rc = CERR_OK;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		if (n < 6 || strcasecmp(de->d_name + n - 5, ".ldif") != 0 || de->d_name[0] == '.') {
			continue;
		}
		char **nn = realloc(names, (num + 1) * sizeof(*nn));
		if (!nn || !(nn[num] = strdup(de->d_name))) {
			names = nn ? nn : names;
			rc = CERR_NOMEM;
			break;
		}
		names = nn;
		num++;
	}
	closedir(d);
	ca_template_set_t *s = calloc(1, sizeof(*s));
	if (!s) {
		rc = CERR_NOMEM;
	}
	if (rc == CERR_OK) {
		qsort(names, num, sizeof(*names), cmp_str);
	}
	for (size_t i = 0; rc == CERR_OK && i < num; i++) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		ldif_t *l;
		rc = ldif_read_file(path, &l, err, err_len);
		for (size_t j = 0; rc == CERR_OK && j < l->num_entries; j++) {
			if (!is_template_entry(&l->entries[j])) {
				continue;
			}
			ca_template_t *t;
			rc = template_from_entry(&l->entries[j], path, &t, err, err_len);
			if (rc == CERR_OK && (rc = template_set_add(s, t)) != CERR_OK) {
				if (rc == CERR_EXISTS && err && err_len) {
					snprintf(err, err_len, "%s:%zu: duplicate template %s", path,
						 l->entries[j].line, t->cn);
				}
				template_free(t);
			}
		}
		ldif_free(l);
	}
	for (size_t i = 0; i < num; i++) {
		free(names[i]);
	}
	free(names);
	if (rc != CERR_OK) {
		template_set_free(s);
		return rc;
	}
	*out = s;
	return CERR_OK;
}
