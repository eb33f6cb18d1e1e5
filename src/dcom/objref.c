/*
 * objref.c - OBJREF and DUALSTRINGARRAY codecs (see objref.h). Layouts from
 * MS-DCOM 2.2.18 (OBJREF and its four forms) and 2.2.19 (DUALSTRINGARRAY,
 * STRINGBINDING, SECURITYBINDING).
 */
#include "dcom/objref.h"

#include <stdlib.h>
#include <string.h>

#include "dcom/limits.h"
#include "util/utf16.h"

/* OBJREF_EXTENDED signatures (MS-DCOM 2.2.18.7) */
#define OBJREF_EXT_SIGNATURE 0x4e535956u

/* ---- DUALSTRINGARRAY ---- */

/* get_wstr reads UTF-16LE units up to and including a NUL (which must come
 * within the cursor) and returns the UTF-8 text copied into the arena. */
static bool get_wstr(cur_t *c, arena_t *a, char **out)
{
	cur_t scan = *c;
	size_t n = 0;
	for (;;) {
		uint16_t u;
		if (!cur_get_u16le(&scan, &u)) {
			return false;
		}
		n++;
		if (u == 0) {
			break;
		}
		if (n > DCOM_MAX_BINDING_CHARS) {
			return false;
		}
	}
	cur_t body;
	if (!cur_get_bytes(c, &body, n * 2)) {
		return false;
	}
	char *s = utf16le_to_utf8(&body, n);
	if (!s) {
		return false;
	}
	*out = arena_strdup(a, s);
	free(s);
	return *out != NULL;
}

/* only_zero_units is true when the rest of the section is at most one more
 * zero unit: after the terminating 0, MS-DCOM 2.2.19.1's smallest form puts
 * an "empty STRINGBINDING" (a single 0) before nullterm1. */
static bool only_zero_units(cur_t *c)
{
	uint16_t u;
	if (cur_len(c) == 0) {
		return true;
	}
	return cur_len(c) == 2 && cur_get_u16le(c, &u) && u == 0;
}

/* parse_strings reads the STRINGBINDING section: entries {wTowerId != 0,
 * NUL-terminated aNetworkAddr} then nullterm1 (MS-DCOM 2.2.19.1, 2.2.19.3). */
static bool parse_strings(cur_t *c, arena_t *a, dcom_dualstringarray_t *out)
{
	dcom_string_binding_t tmp[DCOM_MAX_BINDINGS];
	size_t n = 0;
	for (;;) {
		uint16_t tower;
		if (!cur_get_u16le(c, &tower)) {
			return false; /* no terminator inside the section */
		}
		if (tower == 0) {
			break;
		}
		if (n == DCOM_MAX_BINDINGS || !get_wstr(c, a, &tmp[n].addr)) {
			return false;
		}
		tmp[n++].tower_id = tower;
	}
	if (!only_zero_units(c)) {
		return false;
	}
	out->n_str = n;
	out->str = n ? arena_memdup(a, tmp, n * sizeof(tmp[0])) : NULL;
	return n == 0 || out->str != NULL;
}

/* parse_security reads the SECURITYBINDING section: entries {wAuthnSvc != 0,
 * Reserved, NUL-terminated aPrincName} then nullterm2 (MS-DCOM 2.2.19.4: an
 * entry with RPC_C_AUTHN_NONE has no further fields, so a 0 ends the list). */
static bool parse_security(cur_t *c, arena_t *a, dcom_dualstringarray_t *out)
{
	dcom_security_binding_t tmp[DCOM_MAX_BINDINGS];
	size_t n = 0;
	for (;;) {
		uint16_t svc;
		if (!cur_get_u16le(c, &svc)) {
			return false;
		}
		if (svc == 0) {
			break;
		}
		if (n == DCOM_MAX_BINDINGS || !cur_get_u16le(c, &tmp[n].reserved) ||
		    !get_wstr(c, a, &tmp[n].princ_name)) {
			return false;
		}
		tmp[n++].authn_svc = svc;
	}
	if (!only_zero_units(c)) {
		return false;
	}
	out->n_sec = n;
	out->sec = n ? arena_memdup(a, tmp, n * sizeof(tmp[0])) : NULL;
	return n == 0 || out->sec != NULL;
}

/* parse_units splits the unit array at wSecurityOffset (which must lie within
 * it) and parses each section to its exact end. */
static bool parse_units(cur_t *units, uint16_t n_entries, uint16_t sec_off, arena_t *a,
			dcom_dualstringarray_t *out)
{
	cur_t strs, secs;
	if (sec_off > n_entries || !cur_get_bytes(units, &strs, (size_t)sec_off * 2) ||
	    !cur_get_bytes(units, &secs, (size_t)(n_entries - sec_off) * 2)) {
		return false;
	}
	strs.be = false;
	secs.be = false;
	dcom_dualstringarray_t d = {0};
	if (!parse_strings(&strs, a, &d) || !parse_security(&secs, a, &d)) {
		return false;
	}
	*out = d;
	return true;
}

bool dcom_dsa_decode_raw(cur_t *c, arena_t *a, dcom_dualstringarray_t *out)
{
	cur_t save = *c;
	uint16_t n, off;
	cur_t units;
	if (!cur_get_u16le(c, &n) || !cur_get_u16le(c, &off) || !cur_get_bytes(c, &units, (size_t)n * 2) ||
	    !parse_units(&units, n, off, a, out)) {
		*c = save;
		return false;
	}
	return true;
}

/* put_wstr writes s as UTF-16LE plus a NUL unit; false on invalid UTF-8 or
 * a string longer than DCOM_MAX_BINDING_CHARS. */
static bool put_wstr(buf_t *b, const char *s)
{
	size_t units = utf8_utf16_units(s ? s : "");
	size_t written;
	if (units == (size_t)-1 || units > DCOM_MAX_BINDING_CHARS) {
		return false;
	}
	return utf8_to_utf16le(b, s ? s : "", true, &written);
}

/* put_units writes the unit array and reports wSecurityOffset. */
static bool put_units(buf_t *b, const dcom_dualstringarray_t *d, size_t *out_sec_off)
{
	size_t start = b->len;
	if (d->n_str > DCOM_MAX_BINDINGS || d->n_sec > DCOM_MAX_BINDINGS) {
		return false;
	}
	for (size_t i = 0; i < d->n_str; i++) {
		if (d->str[i].tower_id == 0) {
			return false;
		}
		buf_put_u16(b, d->str[i].tower_id);
		if (!put_wstr(b, d->str[i].addr)) {
			return false;
		}
	}
	buf_put_u16(b, 0);
	if (d->n_str == 0) {
		buf_put_u16(b, 0); /* the smallest form: empty binding + nullterm1 */
	}
	*out_sec_off = (b->len - start) / 2;
	for (size_t i = 0; i < d->n_sec; i++) {
		if (d->sec[i].authn_svc == 0) {
			return false;
		}
		buf_put_u16(b, d->sec[i].authn_svc);
		buf_put_u16(b, 0xffff); /* MS-DCOM 2.2.19.4: Reserved MUST be 0xffff when sent */
		if (!put_wstr(b, d->sec[i].princ_name)) {
			return false;
		}
	}
	buf_put_u16(b, 0);
	if (d->n_sec == 0) {
		buf_put_u16(b, 0);
	}
	return buf_ok(b);
}

/* units_of encodes d into a scratch builder (the counts come first on the
 * wire and are only known afterwards). */
static bool units_of(const dcom_dualstringarray_t *d, buf_t *tmp, size_t *n_units, size_t *sec_off)
{
	buf_init(tmp, 0);
	tmp->be = false;
	if (!put_units(tmp, d, sec_off) || tmp->len / 2 > UINT16_MAX) {
		buf_free(tmp);
		return false;
	}
	*n_units = tmp->len / 2;
	return true;
}

size_t dcom_dsa_units(const dcom_dualstringarray_t *d)
{
	buf_t tmp;
	size_t n, off;
	if (!units_of(d, &tmp, &n, &off)) {
		return (size_t)-1;
	}
	buf_free(&tmp);
	return n;
}

bool dcom_dsa_encode_raw(buf_t *b, const dcom_dualstringarray_t *d)
{
	buf_t tmp;
	size_t n, off;
	if (!units_of(d, &tmp, &n, &off)) {
		return false;
	}
	buf_put_u16(b, (uint16_t)n);
	buf_put_u16(b, (uint16_t)off);
	buf_put_bytes(b, tmp.data, tmp.len);
	buf_free(&tmp);
	return buf_ok(b);
}

bool dcom_get_dsa_body(cur_t *c, arena_t *a, dcom_dualstringarray_t *out)
{
	cur_t save = *c;
	uint32_t max_count;
	uint16_t n, off;
	cur_t units;
	if (!ndr_get_conformance(c, &max_count) || !ndr_get_u16(c, &n) || !ndr_get_u16(c, &off) ||
	    max_count != n || !cur_get_bytes(c, &units, (size_t)n * 2)) {
		*c = save;
		return false;
	}
	/* the u16 units follow the cursor's byte order in NDR; parse them as
	 * little-endian only when that is the order (big-endian NDR is rare
	 * enough that we refuse it rather than convert) */
	if (c->be || !parse_units(&units, n, off, a, out)) {
		*c = save;
		return false;
	}
	return true;
}

void dcom_put_dsa_body(buf_t *b, const dcom_dualstringarray_t *d)
{
	buf_t tmp;
	size_t n, off;
	if (!units_of(d, &tmp, &n, &off)) {
		b->err = true;
		return;
	}
	ndr_put_conformance(b, (uint32_t)n);
	ndr_put_u16(b, (uint16_t)n);
	ndr_put_u16(b, (uint16_t)off);
	buf_put_bytes(b, tmp.data, tmp.len);
	buf_free(&tmp);
}

bool dcom_get_unique_dsa(cur_t *c, arena_t *a, dcom_dualstringarray_t *out, bool *present)
{
	cur_t save = *c;
	uint32_t ref;
	if (!ndr_get_unique_ptr(c, &ref)) {
		return false;
	}
	*present = ref != 0;
	if (ref == 0) {
		memset(out, 0, sizeof(*out));
		return true;
	}
	if (!dcom_get_dsa_body(c, a, out)) {
		*c = save;
		return false;
	}
	return true;
}

/* ---- OBJREF ---- */

static bool get_std(cur_t *c, dcom_stdobjref_t *s)
{
	return cur_get_u32le(c, &s->flags) && cur_get_u32le(c, &s->public_refs) && cur_get_u64le(c, &s->oxid) &&
	       cur_get_u64le(c, &s->oid) && cur_get_guid(c, &s->ipid);
}

static void put_std(buf_t *b, const dcom_stdobjref_t *s)
{
	buf_put_u32(b, s->flags);
	buf_put_u32(b, s->public_refs);
	buf_put_u64(b, s->oxid);
	buf_put_u64(b, s->oid);
	buf_put_guid(b, &s->ipid);
}

/* skip_elements reads OBJREF_EXTENDED's ElmArray: nElms DATAELEMENTs
 * {dataID != GUID_NULL, cbSize != 0, cbRounded == round8(cbSize), Data}
 * (MS-DCOM 2.2.18.8). nElms MUST be 1 (MS-DCOM 2.2.18.7). */
static bool skip_elements(cur_t *c, uint32_t n)
{
	if (n != 1) {
		return false;
	}
	guid_t id;
	uint32_t size, rounded;
	if (!cur_get_guid(c, &id) || !cur_get_u32le(c, &size) || !cur_get_u32le(c, &rounded)) {
		return false;
	}
	if (guid_is_nil(&id) || size == 0 || size > DCOM_MAX_MIP_LEN || rounded != ((size + 7) & ~7u)) {
		return false;
	}
	return cur_skip(c, rounded);
}

cerr_t dcom_objref_decode(const cur_t *in, arena_t *a, dcom_objref_t *out)
{
	cur_t c = *in;
	c.be = false; /* OBJREF is little-endian whatever the NDR around it */
	dcom_objref_t o;
	memset(&o, 0, sizeof(o));
	uint32_t sig;
	if (!cur_get_u32le(&c, &sig) || !cur_get_u32le(&c, &o.flags) || !cur_get_guid(&c, &o.iid)) {
		return CERR_TRUNCATED;
	}
	/* MS-DCOM 2.2.18.1: signature "MEOW"; iid MUST NOT be GUID_NULL */
	if (sig != OBJREF_SIGNATURE || guid_is_nil(&o.iid)) {
		return CERR_MALFORMED;
	}
	switch (o.flags) {
	case OBJREF_STANDARD:
		if (!get_std(&c, &o.std)) {
			return CERR_TRUNCATED;
		}
		if (!dcom_dsa_decode_raw(&c, a, &o.resaddr)) {
			return CERR_MALFORMED;
		}
		break;
	case OBJREF_HANDLER:
		if (!get_std(&c, &o.std) || !cur_get_guid(&c, &o.clsid)) {
			return CERR_TRUNCATED;
		}
		if (!dcom_dsa_decode_raw(&c, a, &o.resaddr)) {
			return CERR_MALFORMED;
		}
		break;
	case OBJREF_CUSTOM:
		if (!cur_get_guid(&c, &o.clsid) || !cur_get_u32le(&c, &o.cb_extension) ||
		    !cur_get_u32le(&c, &o.reserved)) {
			return CERR_TRUNCATED;
		}
		o.object_data_len = cur_len(&c);
		if (o.object_data_len > DCOM_MAX_MIP_LEN) {
			return CERR_LIMIT;
		}
		if (o.object_data_len) {
			o.object_data = arena_memdup(a, cur_data(&c), o.object_data_len);
			if (!o.object_data) {
				return CERR_NOMEM;
			}
		}
		cur_skip(&c, o.object_data_len);
		break;
	case OBJREF_EXTENDED: {
		uint32_t sig1, sig2;
		if (!get_std(&c, &o.std) || !cur_get_u32le(&c, &sig1)) {
			return CERR_TRUNCATED;
		}
		if (sig1 != OBJREF_EXT_SIGNATURE || !dcom_dsa_decode_raw(&c, a, &o.resaddr)) {
			return CERR_MALFORMED;
		}
		if (!cur_get_u32le(&c, &o.n_elements) || !cur_get_u32le(&c, &sig2)) {
			return CERR_TRUNCATED;
		}
		if (sig2 != OBJREF_EXT_SIGNATURE || !skip_elements(&c, o.n_elements)) {
			return CERR_MALFORMED;
		}
		break;
	}
	default:
		return CERR_MALFORMED; /* MS-DCOM 2.2.18.1: flags MUST be exactly one form */
	}
	if (!cur_empty(&c)) {
		return CERR_MALFORMED;
	}
	*out = o;
	return CERR_OK;
}

cerr_t dcom_objref_encode(buf_t *b, const dcom_objref_t *o)
{
	if (guid_is_nil(&o->iid)) {
		return CERR_INVALID_ARG;
	}
	buf_put_u32(b, OBJREF_SIGNATURE);
	buf_put_u32(b, o->flags);
	buf_put_guid(b, &o->iid);
	switch (o->flags) {
	case OBJREF_STANDARD:
		put_std(b, &o->std);
		if (!dcom_dsa_encode_raw(b, &o->resaddr)) {
			return buf_ok(b) ? CERR_INVALID_ARG : CERR_NOMEM;
		}
		break;
	case OBJREF_CUSTOM:
		buf_put_guid(b, &o->clsid);
		buf_put_u32(b, o->cb_extension);
		buf_put_u32(b, o->reserved);
		buf_put_bytes(b, o->object_data, o->object_data_len);
		break;
	default:
		return CERR_INVALID_ARG;
	}
	return buf_ok(b) ? CERR_OK : CERR_NOMEM;
}
