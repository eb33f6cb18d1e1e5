/*
 * actprops.c - activation properties blob codecs (see actprops.h). Each
 * property is one MS-RPCE 2.2.6 type serialization stream; inside it the
 * struct is NDR with its embedded pointers deferred after it, in field
 * order, each pointee followed by its own pointees (C706 14.3.12.3).
 * Layouts: MS-DCOM 2.2.22.1 (CustomHeader), 2.2.22.2.x (properties).
 */
#include "dcom/actprops.h"

#include <string.h>

typedef struct custom_header {
	uint32_t total_size;
	uint32_t header_size;
	uint32_t dest_ctx;
	uint32_t n;
	guid_t clsid[DCOM_MAX_ACTPROPS];
	uint32_t size[DCOM_MAX_ACTPROPS];
} custom_header_t;

/* ---- decoding helpers ---- */

/* body_done: after the struct, at most the padding that rounds the object
 * buffer to 8 (MS-RPCE 2.2.6.2) may remain. impacket does not pad the
 * buffer; Windows does: both pass. */
static bool body_done(const cur_t *body) { return cur_len(body) < 8; }

/* open_prop opens the property's serialization stream; the property's own
 * size (pSizes[i]) may exceed the stream by the 8-byte padding impacket and
 * Windows add between properties. */
static bool open_prop(cur_t *prop, cur_t *body)
{
	return dcom_typeser_open(prop, body) && cur_len(prop) < 8;
}

static bool get_u32s(cur_t *c, uint32_t *const *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!ndr_get_u32(c, out[i])) {
			return false;
		}
	}
	return true;
}

static bool get_u32_array(cur_t *c, arena_t *a, uint32_t n, uint32_t **out)
{
	uint32_t mc;
	if (!ndr_get_conformance(c, &mc) || mc != n || !ndr_check_count(c, n, 4)) {
		return false;
	}
	uint32_t *v = arena_array(a, n ? n : 1, sizeof(*v));
	if (!v) {
		return false;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (!ndr_get_u32(c, &v[i])) {
			return false;
		}
	}
	*out = v;
	return true;
}

/* get_deferred_u32 reads the pointee of a DWORD* (the pdwReserved fields,
 * which MUST be NULL but are harmless when not). */
static bool get_deferred_u32(cur_t *c, uint32_t ref)
{
	uint32_t v;
	return ref == 0 || ndr_get_u32(c, &v);
}

static bool get_custom_header(cur_t *c, custom_header_t *h, size_t *consumed)
{
	size_t before = cur_len(c);
	cur_t body;
	if (!dcom_typeser_open(c, &body)) {
		return false;
	}
	uint32_t reserved, cifs, r_clsid, r_sizes, r_res;
	guid_t class_info;
	uint32_t *hdr[] = {&h->total_size, &h->header_size, &reserved, &h->dest_ctx, &cifs};
	if (!get_u32s(&body, hdr, 5) || !ndr_get_guid(&body, &class_info) ||
	    !ndr_get_unique_ptr(&body, &r_clsid) || !ndr_get_unique_ptr(&body, &r_sizes) ||
	    !ndr_get_unique_ptr(&body, &r_res)) {
		return false;
	}
	/* cIfs is [range(MIN_ACTPROP_LIMIT, MAX_ACTPROP_LIMIT)] (MS-DCOM 2.2.22.1) */
	if (cifs < DCOM_MIN_ACTPROPS || cifs > DCOM_MAX_ACTPROPS || r_clsid == 0 || r_sizes == 0) {
		return false;
	}
	uint32_t mc;
	if (!ndr_get_conformance(&body, &mc) || mc != cifs) {
		return false;
	}
	for (uint32_t i = 0; i < cifs; i++) {
		if (!ndr_get_guid(&body, &h->clsid[i])) {
			return false;
		}
	}
	if (!ndr_get_conformance(&body, &mc) || mc != cifs) {
		return false;
	}
	for (uint32_t i = 0; i < cifs; i++) {
		if (!ndr_get_u32(&body, &h->size[i])) {
			return false;
		}
	}
	if (!get_deferred_u32(&body, r_res) || !body_done(&body)) {
		return false;
	}
	h->n = cifs;
	*consumed = before - cur_len(c);
	return true;
}

/* frame_blob checks the blob's framing (MS-DCOM 2.2.22, 2.2.22.1): dwSize
 * == totalSize, headerSize == the serialized header's length, headerSize +
 * sum(pSizes) == totalSize, and the blob holds dwSize bytes after the first
 * 8 (at most 7 bytes of padding may follow). On success props is a cursor
 * over the property array. */
static cerr_t frame_blob(const uint8_t *blob, size_t len, custom_header_t *h, cur_t *props)
{
	cur_t c;
	cur_init(&c, blob, len);
	uint32_t dw_size, dw_reserved;
	if (!cur_get_u32le(&c, &dw_size) || !cur_get_u32le(&c, &dw_reserved)) {
		return CERR_TRUNCATED;
	}
	cur_t rest;
	if (!cur_get_bytes(&c, &rest, dw_size)) {
		return CERR_TRUNCATED;
	}
	if (cur_len(&c) >= 8) {
		return CERR_MALFORMED;
	}
	size_t hdr_len;
	if (!get_custom_header(&rest, h, &hdr_len)) {
		return CERR_MALFORMED;
	}
	uint64_t sum = h->header_size;
	for (uint32_t i = 0; i < h->n; i++) {
		sum += h->size[i];
	}
	if (h->total_size != dw_size || h->header_size != hdr_len || sum != dw_size) {
		return CERR_MALFORMED;
	}
	*props = rest;
	return CERR_OK;
}

/* ---- ActivationPropertiesIn properties ---- */

static bool get_instantiation(cur_t *prop, arena_t *a, dcom_actprops_in_t *o)
{
	cur_t body;
	uint32_t n_iids, ref_iids, surrogate;
	if (!open_prop(prop, &body)) {
		return false;
	}
	uint32_t *f1[] = {&o->inst.class_ctx, &o->inst.actvflags, &surrogate, &n_iids, &o->inst.inst_flag};
	if (!ndr_get_guid(&body, &o->inst.clsid) || !get_u32s(&body, f1, 5) ||
	    !ndr_get_unique_ptr(&body, &ref_iids) || !ndr_get_u32(&body, &o->inst.this_size) ||
	    !ndr_get_u16(&body, &o->inst.client_version.major) ||
	    !ndr_get_u16(&body, &o->inst.client_version.minor)) {
		return false;
	}
	o->inst.is_surrogate = (int32_t)surrogate;
	/* cIID is [range(1, MAX_REQUESTED_INTERFACES)]; we cap lower (limits.h) */
	if (n_iids < 1 || n_iids > DCOM_MAX_REQUESTED_IIDS || ref_iids == 0) {
		return false;
	}
	o->inst.n_iids = n_iids;
	return dcom_get_guid_array(&body, a, n_iids, &o->inst.iids) && body_done(&body);
}

static bool get_scm_request(cur_t *prop, arena_t *a, dcom_actprops_in_t *o)
{
	cur_t body;
	uint32_t r_res, r_req;
	if (!open_prop(prop, &body) || !ndr_get_unique_ptr(&body, &r_res) ||
	    !ndr_get_unique_ptr(&body, &r_req) || !get_deferred_u32(&body, r_res)) {
		return false;
	}
	o->scm_request.has_remote_request = r_req != 0;
	if (r_req) {
		uint32_t r_ps;
		uint16_t n;
		if (!ndr_get_u32(&body, &o->scm_request.client_imp_level) || !ndr_get_u16(&body, &n) ||
		    !ndr_get_unique_ptr(&body, &r_ps)) {
			return false;
		}
		if (n > DCOM_MAX_PROTSEQS || (n > 0 && r_ps == 0)) {
			return false;
		}
		o->scm_request.n_protseqs = n;
		if (r_ps) {
			uint32_t mc;
			if (!ndr_get_conformance(&body, &mc) || mc != n || !ndr_check_count(&body, n, 2)) {
				return false;
			}
			uint16_t *ps = arena_array(a, n ? n : 1, sizeof(*ps));
			if (!ps) {
				return false;
			}
			for (uint16_t i = 0; i < n; i++) {
				if (!ndr_get_u16(&body, &ps[i])) {
					return false;
				}
			}
			o->scm_request.protseqs = ps;
		}
	}
	return body_done(&body);
}

static bool get_location(cur_t *prop, arena_t *a, dcom_actprops_in_t *o)
{
	cur_t body;
	uint32_t r_name;
	if (!open_prop(prop, &body) || !ndr_get_unique_ptr(&body, &r_name) ||
	    !ndr_get_u32(&body, &o->location.process_id) || !ndr_get_u32(&body, &o->location.apartment_id) ||
	    !ndr_get_u32(&body, &o->location.context_id)) {
		return false;
	}
	if (r_name && !ndr_get_wstring(&body, a, DCOM_MAX_PROP_STRING, &o->location.machine_name)) {
		return false;
	}
	return body_done(&body);
}

static bool get_security(cur_t *prop, arena_t *a, dcom_actprops_in_t *o)
{
	cur_t body;
	uint32_t r_info, r_res;
	if (!open_prop(prop, &body) || !ndr_get_u32(&body, &o->security.authn_flags) ||
	    !ndr_get_unique_ptr(&body, &r_info) || !ndr_get_unique_ptr(&body, &r_res)) {
		return false;
	}
	o->security.has_server_info = r_info != 0;
	if (r_info) {
		/* COSERVERINFO {dwReserved1; [string] pwszName; DWORD *pdwReserved; dwReserved2} */
		uint32_t res1, r_name, r_res2, res2;
		if (!ndr_get_u32(&body, &res1) || !ndr_get_unique_ptr(&body, &r_name) ||
		    !ndr_get_unique_ptr(&body, &r_res2) || !ndr_get_u32(&body, &res2)) {
			return false;
		}
		if (r_name && !ndr_get_wstring(&body, a, DCOM_MAX_PROP_STRING, &o->security.server_name)) {
			return false;
		}
		if (!get_deferred_u32(&body, r_res2)) {
			return false;
		}
	}
	return get_deferred_u32(&body, r_res) && body_done(&body);
}

static bool get_context(cur_t *prop, arena_t *a, dcom_actprops_in_t *o)
{
	cur_t body;
	uint32_t ok, res1, res2, res3, r_client, r_proto;
	if (!open_prop(prop, &body)) {
		return false;
	}
	uint32_t *f[] = {&ok, &res1, &res2, &res3};
	if (!get_u32s(&body, f, 4) || !ndr_get_unique_ptr(&body, &r_client) ||
	    !ndr_get_unique_ptr(&body, &r_proto)) {
		return false;
	}
	o->context.client_ok = (int32_t)ok;
	if (r_client && !dcom_get_mip_body(&body, a, DCOM_MAX_MIP_LEN, &o->context.client_ctx)) {
		return false;
	}
	if (r_proto && !dcom_get_mip_body(&body, a, DCOM_MAX_MIP_LEN, &o->context.prototype_ctx)) {
		return false;
	}
	return body_done(&body);
}

static bool get_instance(cur_t *prop, arena_t *a, dcom_actprops_in_t *o)
{
	cur_t body;
	uint32_t r_name, r_rot, r_stg;
	if (!open_prop(prop, &body) || !ndr_get_unique_ptr(&body, &r_name) ||
	    !ndr_get_u32(&body, &o->instance.mode) || !ndr_get_unique_ptr(&body, &r_rot) ||
	    !ndr_get_unique_ptr(&body, &r_stg)) {
		return false;
	}
	if (r_name && !ndr_get_wstring(&body, a, DCOM_MAX_PROP_STRING, &o->instance.file_name)) {
		return false;
	}
	if (r_rot && !dcom_get_mip_body(&body, a, DCOM_MAX_MIP_LEN, &o->instance.ifd_rot)) {
		return false;
	}
	if (r_stg && !dcom_get_mip_body(&body, a, DCOM_MAX_MIP_LEN, &o->instance.ifd_stg)) {
		return false;
	}
	return body_done(&body);
}

/* SpecialPropertiesData has two accepted layouts differing only after dwFlags
 * (MS-DCOM 2.2.22.2.2: a server MUST accept both); those trailing fields are
 * reserved, so they are skipped whatever their length. */
static bool get_special(cur_t *prop, dcom_actprops_in_t *o)
{
	cur_t body;
	uint32_t remote, imp, part;
	if (!open_prop(prop, &body)) {
		return false;
	}
	uint32_t *f1[] = {&o->special.session_id, &remote, &imp, &part, &o->special.default_authn_level};
	uint32_t *f2[] = {&o->special.prt_flags, &o->special.orig_clsctx, &o->special.flags};
	if (!get_u32s(&body, f1, 5) || !ndr_get_guid(&body, &o->special.partition) || !get_u32s(&body, f2, 3)) {
		return false;
	}
	o->special.remote_this_session = (int32_t)remote;
	o->special.client_impersonating = (int32_t)imp;
	o->special.partition_id_present = (int32_t)part;
	return true;
}

typedef struct prop_kind {
	const guid_t *clsid;
	uint32_t bit;
} prop_kind_t;

static const prop_kind_t in_props[] = {
	{&DCOM_CLSID_INSTANTIATIONINFO, DCOM_PROP_INSTANTIATION},
	{&DCOM_CLSID_SCMREQUESTINFO, DCOM_PROP_SCM_REQUEST},
	{&DCOM_CLSID_SERVERLOCATIONINFO, DCOM_PROP_LOCATION},
	{&DCOM_CLSID_SECURITYINFO, DCOM_PROP_SECURITY},
	{&DCOM_CLSID_ACTIVATIONCONTEXTINFO, DCOM_PROP_CONTEXT},
	{&DCOM_CLSID_INSTANCEINFO, DCOM_PROP_INSTANCE},
	{&DCOM_CLSID_SPECIALSYSTEMPROPS, DCOM_PROP_SPECIAL},
};

static uint32_t in_prop_bit(const guid_t *clsid)
{
	for (size_t i = 0; i < sizeof(in_props) / sizeof(in_props[0]); i++) {
		if (guid_equal(clsid, in_props[i].clsid)) {
			return in_props[i].bit;
		}
	}
	return 0;
}

cerr_t dcom_actprops_in_decode(const uint8_t *blob, size_t len, arena_t *a, dcom_actprops_in_t *out)
{
	custom_header_t h;
	cur_t props;
	cerr_t e = frame_blob(blob, len, &h, &props);
	if (e != CERR_OK) {
		return e;
	}
	dcom_actprops_in_t o;
	memset(&o, 0, sizeof(o));
	o.dest_ctx = h.dest_ctx;
	o.n_props = h.n;
	for (uint32_t i = 0; i < h.n; i++) {
		o.prop_clsid[i] = h.clsid[i];
		o.prop_size[i] = h.size[i];
		cur_t prop;
		if (!cur_get_bytes(&props, &prop, h.size[i])) {
			return CERR_MALFORMED;
		}
		uint32_t bit = in_prop_bit(&h.clsid[i]);
		if (bit & o.present) {
			return CERR_MALFORMED; /* the same property twice */
		}
		bool ok = true;
		switch (bit) {
		case DCOM_PROP_INSTANTIATION: ok = get_instantiation(&prop, a, &o); break;
		case DCOM_PROP_SCM_REQUEST: ok = get_scm_request(&prop, a, &o); break;
		case DCOM_PROP_LOCATION: ok = get_location(&prop, a, &o); break;
		case DCOM_PROP_SECURITY: ok = get_security(&prop, a, &o); break;
		case DCOM_PROP_CONTEXT: ok = get_context(&prop, a, &o); break;
		case DCOM_PROP_INSTANCE: ok = get_instance(&prop, a, &o); break;
		case DCOM_PROP_SPECIAL: ok = get_special(&prop, &o); break;
		default: o.n_unknown++; break; /* skipped by its size */
		}
		if (!ok) {
			return CERR_MALFORMED;
		}
		o.present |= bit;
	}
	*out = o;
	return CERR_OK;
}

cerr_t dcom_actprops_in_from_mip(const ndr_blob_t *mip, arena_t *a, dcom_actprops_in_t *out)
{
	if (!mip->data) {
		return CERR_MALFORMED;
	}
	cur_t c;
	cur_init(&c, mip->data, mip->len);
	dcom_objref_t o;
	cerr_t e = dcom_objref_decode(&c, a, &o);
	if (e != CERR_OK) {
		return e;
	}
	if (o.flags != OBJREF_CUSTOM || !guid_equal(&o.clsid, &DCOM_CLSID_ACTPROPSIN) ||
	    !guid_equal(&o.iid, &DCOM_IID_IACTPROPSIN)) {
		return CERR_MALFORMED;
	}
	return dcom_actprops_in_decode(o.object_data, o.object_data_len, a, out);
}

/* ---- encoding helpers ---- */

static void put_guid_array(buf_t *b, const guid_t *g, uint32_t n)
{
	ndr_put_conformance(b, n);
	for (uint32_t i = 0; i < n; i++) {
		ndr_put_guid(b, &g[i]);
	}
}

/* put_header writes the CustomHeader stream; the two sizes are patched by
 * the caller once the properties are known (their offsets are returned). */
static void put_custom_header(buf_t *b, uint32_t dest_ctx, const guid_t *clsids, const uint32_t *sizes,
			      uint32_t n, size_t *off_total, size_t *off_header)
{
	size_t base;
	size_t start = dcom_typeser_begin(b, &base);
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	*off_total = b->len;
	ndr_put_u32(b, 0); /* totalSize */
	*off_header = b->len;
	ndr_put_u32(b, 0); /* headerSize */
	ndr_put_u32(b, 0); /* dwReserved */
	ndr_put_u32(b, dest_ctx);
	ndr_put_u32(b, n);
	guid_t null_guid = {0};
	ndr_put_guid(b, &null_guid); /* classInfoClsid MUST be GUID_NULL */
	ndr_put_unique_ptr(b, &ids, true);
	ndr_put_unique_ptr(b, &ids, true);
	ndr_put_unique_ptr(b, &ids, false); /* pdwReserved MUST be NULL */
	put_guid_array(b, clsids, n);
	ndr_put_conformance(b, n);
	for (uint32_t i = 0; i < n; i++) {
		ndr_put_u32(b, sizes[i]);
	}
	dcom_typeser_end(b, start, base);
}

/* assemble writes {dwSize, dwReserved, CustomHeader, properties} from the
 * properties already encoded one after the other in props. */
static cerr_t assemble(buf_t *b, uint32_t dest_ctx, const guid_t *clsids, const uint32_t *sizes, uint32_t n,
		       const buf_t *props)
{
	if (!buf_ok(props)) {
		return CERR_NOMEM;
	}
	size_t start = b->len;
	size_t saved_base = b->base;
	buf_put_u32(b, 0); /* dwSize */
	buf_put_u32(b, 0); /* dwReserved */
	b->base = b->len;  /* the header stream starts 8-aligned */
	size_t off_total, off_header;
	size_t hdr_start = b->len;
	put_custom_header(b, dest_ctx, clsids, sizes, n, &off_total, &off_header);
	size_t hdr_len = b->len - hdr_start;
	buf_put_bytes(b, props->data, props->len);
	b->base = saved_base;
	if (!buf_ok(b)) {
		return CERR_NOMEM;
	}
	size_t total = hdr_len + props->len;
	if (total > UINT32_MAX) {
		return CERR_LIMIT;
	}
	buf_patch_u32(b, start, (uint32_t)total);
	buf_patch_u32(b, off_total, (uint32_t)total);
	buf_patch_u32(b, off_header, (uint32_t)hdr_len);
	return CERR_OK;
}

/* begin_prop/end_prop bracket one property's stream and record its size. */
static size_t begin_prop(buf_t *b, size_t *base, ndr_refids_t *ids)
{
	ndr_refids_init(ids);
	return dcom_typeser_begin(b, base);
}

static uint32_t end_prop(buf_t *b, size_t start, size_t base)
{
	dcom_typeser_end(b, start, base);
	return (uint32_t)(b->len - start);
}

static uint32_t put_instantiation(buf_t *b, const dcom_actprops_in_t *in)
{
	size_t base;
	ndr_refids_t ids;
	size_t start = begin_prop(b, &base, &ids);
	ndr_put_guid(b, &in->inst.clsid);
	ndr_put_u32(b, in->inst.class_ctx);
	ndr_put_u32(b, in->inst.actvflags);
	ndr_put_u32(b, (uint32_t)in->inst.is_surrogate);
	ndr_put_u32(b, in->inst.n_iids);
	ndr_put_u32(b, in->inst.inst_flag);
	ndr_put_unique_ptr(b, &ids, true);
	size_t off_this = b->len;
	ndr_put_u32(b, 0); /* thisSize, patched below */
	ndr_put_u16(b, in->inst.client_version.major);
	ndr_put_u16(b, in->inst.client_version.minor);
	put_guid_array(b, in->inst.iids, in->inst.n_iids);
	uint32_t size = end_prop(b, start, base);
	if (buf_ok(b)) {
		/* thisSize: "the size of this structure, as marshaled by the NDR
		 * Type Serialization 1 engine" (MS-DCOM 2.2.22.2.1) */
		buf_patch_u32(b, off_this, size);
	}
	return size;
}

static uint32_t put_scm_request(buf_t *b, const dcom_actprops_in_t *in)
{
	size_t base;
	ndr_refids_t ids;
	size_t start = begin_prop(b, &base, &ids);
	ndr_put_unique_ptr(b, &ids, false);
	if (ndr_put_unique_ptr(b, &ids, in->scm_request.has_remote_request)) {
		ndr_put_u32(b, in->scm_request.client_imp_level);
		ndr_put_u16(b, in->scm_request.n_protseqs);
		if (ndr_put_unique_ptr(b, &ids, in->scm_request.protseqs != NULL)) {
			ndr_put_conformance(b, in->scm_request.n_protseqs);
			for (uint16_t i = 0; i < in->scm_request.n_protseqs; i++) {
				ndr_put_u16(b, in->scm_request.protseqs[i]);
			}
		}
	}
	return end_prop(b, start, base);
}

static uint32_t put_location(buf_t *b, const dcom_actprops_in_t *in)
{
	size_t base;
	ndr_refids_t ids;
	size_t start = begin_prop(b, &base, &ids);
	bool name = ndr_put_unique_ptr(b, &ids, in->location.machine_name != NULL);
	ndr_put_u32(b, in->location.process_id);
	ndr_put_u32(b, in->location.apartment_id);
	ndr_put_u32(b, in->location.context_id);
	if (name) {
		ndr_put_wstring(b, in->location.machine_name);
	}
	return end_prop(b, start, base);
}

static uint32_t put_security(buf_t *b, const dcom_actprops_in_t *in)
{
	size_t base;
	ndr_refids_t ids;
	size_t start = begin_prop(b, &base, &ids);
	ndr_put_u32(b, in->security.authn_flags);
	bool info = ndr_put_unique_ptr(b, &ids, in->security.has_server_info);
	ndr_put_unique_ptr(b, &ids, false);
	if (info) {
		ndr_put_u32(b, 0);
		bool name = ndr_put_unique_ptr(b, &ids, in->security.server_name != NULL);
		ndr_put_unique_ptr(b, &ids, false);
		ndr_put_u32(b, 0);
		if (name) {
			ndr_put_wstring(b, in->security.server_name);
		}
	}
	return end_prop(b, start, base);
}

static uint32_t put_context(buf_t *b, const dcom_actprops_in_t *in)
{
	size_t base;
	ndr_refids_t ids;
	size_t start = begin_prop(b, &base, &ids);
	ndr_put_u32(b, (uint32_t)in->context.client_ok);
	ndr_put_u32(b, 0);
	ndr_put_u32(b, 0);
	ndr_put_u32(b, 0);
	bool cl = ndr_put_unique_ptr(b, &ids, in->context.client_ctx.data != NULL);
	bool pr = ndr_put_unique_ptr(b, &ids, in->context.prototype_ctx.data != NULL);
	if (cl) {
		dcom_put_mip_body(b, &in->context.client_ctx);
	}
	if (pr) {
		dcom_put_mip_body(b, &in->context.prototype_ctx);
	}
	return end_prop(b, start, base);
}

static uint32_t put_instance(buf_t *b, const dcom_actprops_in_t *in)
{
	size_t base;
	ndr_refids_t ids;
	size_t start = begin_prop(b, &base, &ids);
	bool name = ndr_put_unique_ptr(b, &ids, in->instance.file_name != NULL);
	ndr_put_u32(b, in->instance.mode);
	bool rot = ndr_put_unique_ptr(b, &ids, in->instance.ifd_rot.data != NULL);
	bool stg = ndr_put_unique_ptr(b, &ids, in->instance.ifd_stg.data != NULL);
	if (name) {
		ndr_put_wstring(b, in->instance.file_name);
	}
	if (rot) {
		dcom_put_mip_body(b, &in->instance.ifd_rot);
	}
	if (stg) {
		dcom_put_mip_body(b, &in->instance.ifd_stg);
	}
	return end_prop(b, start, base);
}

/* The first SpecialPropertiesData form (the one clients SHOULD send). */
static uint32_t put_special(buf_t *b, const dcom_actprops_in_t *in)
{
	size_t base;
	ndr_refids_t ids;
	size_t start = begin_prop(b, &base, &ids);
	ndr_put_u32(b, in->special.session_id);
	ndr_put_u32(b, (uint32_t)in->special.remote_this_session);
	ndr_put_u32(b, (uint32_t)in->special.client_impersonating);
	ndr_put_u32(b, (uint32_t)in->special.partition_id_present);
	ndr_put_u32(b, in->special.default_authn_level);
	ndr_put_guid(b, &in->special.partition);
	ndr_put_u32(b, in->special.prt_flags);
	ndr_put_u32(b, in->special.orig_clsctx);
	ndr_put_u32(b, in->special.flags);
	ndr_put_u32(b, 0);      /* Reserved1 */
	ndr_put_u64(b, 0);      /* Reserved2 */
	for (int i = 0; i < 5; i++) {
		ndr_put_u32(b, 0); /* Reserved3[5] */
	}
	return end_prop(b, start, base);
}

cerr_t dcom_actprops_in_encode(buf_t *b, const dcom_actprops_in_t *in)
{
	/* the recorded order, or impacket's when none was recorded */
	static const uint32_t default_order[] = {DCOM_PROP_INSTANTIATION, DCOM_PROP_CONTEXT, DCOM_PROP_LOCATION,
						 DCOM_PROP_SCM_REQUEST, DCOM_PROP_SECURITY, DCOM_PROP_INSTANCE,
						 DCOM_PROP_SPECIAL};
	uint32_t order[DCOM_MAX_ACTPROPS];
	uint32_t n = 0;
	if (in->n_props > 0) {
		for (uint32_t i = 0; i < in->n_props && i < DCOM_MAX_ACTPROPS; i++) {
			uint32_t bit = in_prop_bit(&in->prop_clsid[i]);
			if (bit && (in->present & bit)) {
				order[n++] = bit;
			}
		}
	} else {
		for (size_t i = 0; i < sizeof(default_order) / sizeof(default_order[0]); i++) {
			if (in->present & default_order[i]) {
				order[n++] = default_order[i];
			}
		}
	}
	if (n == 0) {
		return CERR_INVALID_ARG;
	}
	if ((in->present & DCOM_PROP_INSTANTIATION) &&
	    (in->inst.n_iids < 1 || in->inst.n_iids > DCOM_MAX_REQUESTED_IIDS || !in->inst.iids)) {
		return CERR_INVALID_ARG;
	}
	guid_t clsids[DCOM_MAX_ACTPROPS];
	uint32_t sizes[DCOM_MAX_ACTPROPS];
	buf_t props;
	buf_init(&props, b->max);
	for (uint32_t i = 0; i < n; i++) {
		for (size_t k = 0; k < sizeof(in_props) / sizeof(in_props[0]); k++) {
			if (in_props[k].bit == order[i]) {
				clsids[i] = *in_props[k].clsid;
			}
		}
		switch (order[i]) {
		case DCOM_PROP_INSTANTIATION: sizes[i] = put_instantiation(&props, in); break;
		case DCOM_PROP_SCM_REQUEST: sizes[i] = put_scm_request(&props, in); break;
		case DCOM_PROP_LOCATION: sizes[i] = put_location(&props, in); break;
		case DCOM_PROP_SECURITY: sizes[i] = put_security(&props, in); break;
		case DCOM_PROP_CONTEXT: sizes[i] = put_context(&props, in); break;
		case DCOM_PROP_INSTANCE: sizes[i] = put_instance(&props, in); break;
		default: sizes[i] = put_special(&props, in); break;
		}
	}
	cerr_t e = assemble(b, in->dest_ctx, clsids, sizes, n, &props);
	buf_free(&props);
	return e;
}

/* ---- ActivationPropertiesOut ---- */

static uint32_t put_props_out(buf_t *b, const dcom_actprops_out_t *o)
{
	size_t base;
	ndr_refids_t ids;
	size_t start = begin_prop(b, &base, &ids);
	ndr_put_u32(b, o->n_ifs);
	ndr_put_unique_ptr(b, &ids, true);
	ndr_put_unique_ptr(b, &ids, true);
	ndr_put_unique_ptr(b, &ids, true);
	put_guid_array(b, o->iids, o->n_ifs);
	ndr_put_conformance(b, o->n_ifs);
	for (uint32_t i = 0; i < o->n_ifs; i++) {
		ndr_put_u32(b, o->hresults[i]);
	}
	/* [size_is(cIfs)] MInterfacePointer **ppIntfData: an array of unique
	 * pointers, then the non-NULL pointees in order */
	ndr_put_conformance(b, o->n_ifs);
	for (uint32_t i = 0; i < o->n_ifs; i++) {
		ndr_put_unique_ptr(b, &ids, o->ifaces[i].data != NULL);
	}
	for (uint32_t i = 0; i < o->n_ifs; i++) {
		if (o->ifaces[i].data) {
			dcom_put_mip_body(b, &o->ifaces[i]);
		}
	}
	return end_prop(b, start, base);
}

static uint32_t put_scm_reply(buf_t *b, const dcom_actprops_out_t *o)
{
	size_t base;
	ndr_refids_t ids;
	size_t start = begin_prop(b, &base, &ids);
	ndr_put_unique_ptr(b, &ids, false); /* pdwReserved */
	ndr_put_unique_ptr(b, &ids, true);  /* remoteReply */
	ndr_put_u64(b, o->oxid);
	ndr_put_unique_ptr(b, &ids, true);  /* pdsaOxidBindings MUST NOT be NULL */
	ndr_put_guid(b, &o->ipid_remunknown);
	ndr_put_u32(b, o->authn_hint);
	ndr_put_u16(b, o->server_version.major);
	ndr_put_u16(b, o->server_version.minor);
	dcom_put_dsa_body(b, &o->oxid_bindings);
	return end_prop(b, start, base);
}

cerr_t dcom_actprops_out_encode(buf_t *b, const dcom_actprops_out_t *o)
{
	if (o->n_ifs < 1 || o->n_ifs > DCOM_MAX_REQUESTED_IIDS || !o->iids || !o->hresults || !o->ifaces) {
		return CERR_INVALID_ARG;
	}
	guid_t clsids[2] = {DCOM_CLSID_PROPSOUTINFO, DCOM_CLSID_SCMREPLYINFO};
	uint32_t sizes[2];
	buf_t props;
	buf_init(&props, b->max);
	sizes[0] = put_props_out(&props, o);
	sizes[1] = put_scm_reply(&props, o);
	cerr_t e = assemble(b, o->dest_ctx, clsids, sizes, 2, &props);
	buf_free(&props);
	return e;
}

cerr_t dcom_actprops_out_to_mip(buf_t *b, const dcom_actprops_out_t *o)
{
	buf_t blob;
	buf_init(&blob, b->max);
	cerr_t e = dcom_actprops_out_encode(&blob, o);
	if (e == CERR_OK) {
		dcom_objref_t ref;
		memset(&ref, 0, sizeof(ref));
		ref.flags = OBJREF_CUSTOM;
		ref.iid = DCOM_IID_IACTPROPSOUT;
		ref.clsid = DCOM_CLSID_ACTPROPSOUT;
		ref.object_data = blob.data;
		ref.object_data_len = blob.len;
		/* reserved: "any arbitrary value" (MS-DCOM 2.2.18.6); the size of
		 * the rest of the OBJREF, as impacket writes it */
		ref.reserved = (uint32_t)(blob.len + 8);
		e = dcom_objref_encode(b, &ref);
	}
	buf_free(&blob);
	return e;
}

static bool get_props_out(cur_t *prop, arena_t *a, dcom_actprops_out_t *o)
{
	cur_t body;
	uint32_t n, r_iid, r_hr, r_if;
	if (!open_prop(prop, &body) || !ndr_get_u32(&body, &n) || !ndr_get_unique_ptr(&body, &r_iid) ||
	    !ndr_get_unique_ptr(&body, &r_hr) || !ndr_get_unique_ptr(&body, &r_if)) {
		return false;
	}
	if (n < 1 || n > DCOM_MAX_REQUESTED_IIDS || !r_iid || !r_hr || !r_if) {
		return false;
	}
	o->n_ifs = n;
	uint32_t mc;
	if (!dcom_get_guid_array(&body, a, n, &o->iids) || !get_u32_array(&body, a, n, &o->hresults) ||
	    !ndr_get_conformance(&body, &mc) || mc != n || !ndr_check_count(&body, n, 4)) {
		return false;
	}
	uint32_t *refs = arena_array(a, n, sizeof(*refs));
	o->ifaces = arena_array(a, n, sizeof(*o->ifaces));
	if (!refs || !o->ifaces) {
		return false;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (!ndr_get_unique_ptr(&body, &refs[i])) {
			return false;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		if (refs[i] && !dcom_get_mip_body(&body, a, DCOM_MAX_MIP_LEN, &o->ifaces[i])) {
			return false;
		}
	}
	return body_done(&body);
}

static bool get_scm_reply(cur_t *prop, arena_t *a, dcom_actprops_out_t *o)
{
	cur_t body;
	uint32_t r_res, r_reply, r_dsa;
	if (!open_prop(prop, &body) || !ndr_get_unique_ptr(&body, &r_res) ||
	    !ndr_get_unique_ptr(&body, &r_reply) || !get_deferred_u32(&body, r_res) || r_reply == 0) {
		return false;
	}
	if (!ndr_get_u64(&body, &o->oxid) || !ndr_get_unique_ptr(&body, &r_dsa) ||
	    !ndr_get_guid(&body, &o->ipid_remunknown) || !ndr_get_u32(&body, &o->authn_hint) ||
	    !ndr_get_u16(&body, &o->server_version.major) || !ndr_get_u16(&body, &o->server_version.minor)) {
		return false;
	}
	/* pdsaOxidBindings MUST NOT be NULL (MS-DCOM 2.2.22.2.8.1) */
	return r_dsa != 0 && dcom_get_dsa_body(&body, a, &o->oxid_bindings) && body_done(&body);
}

cerr_t dcom_actprops_out_decode(const uint8_t *blob, size_t len, arena_t *a, dcom_actprops_out_t *out)
{
	custom_header_t h;
	cur_t props;
	cerr_t e = frame_blob(blob, len, &h, &props);
	if (e != CERR_OK) {
		return e;
	}
	dcom_actprops_out_t o;
	memset(&o, 0, sizeof(o));
	o.dest_ctx = h.dest_ctx;
	bool have_props = false, have_reply = false;
	for (uint32_t i = 0; i < h.n; i++) {
		cur_t prop;
		if (!cur_get_bytes(&props, &prop, h.size[i])) {
			return CERR_MALFORMED;
		}
		if (guid_equal(&h.clsid[i], &DCOM_CLSID_PROPSOUTINFO)) {
			if (have_props || !get_props_out(&prop, a, &o)) {
				return CERR_MALFORMED;
			}
			have_props = true;
		} else if (guid_equal(&h.clsid[i], &DCOM_CLSID_SCMREPLYINFO)) {
			if (have_reply || !get_scm_reply(&prop, a, &o)) {
				return CERR_MALFORMED;
			}
			have_reply = true;
		}
	}
	if (!have_props || !have_reply) {
		return CERR_MALFORMED;
	}
	*out = o;
	return CERR_OK;
}
