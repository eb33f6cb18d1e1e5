/*
 * orpc.c - COMVERSION, ORPCTHIS/ORPCTHAT, MInterfacePointer, type
 * serialization headers and the well-known DCOM GUIDs (see orpc.h).
 */
#include "dcom/orpc.h"

#include "dcom/limits.h"

#define OLE_GUID DCOM_OLE_GUID

const guid_t DCOM_IID_IUNKNOWN = OLE_GUID(0x00000000);
const guid_t DCOM_IID_ICLASSFACTORY = OLE_GUID(0x00000001);
const guid_t DCOM_IID_IREMUNKNOWN = OLE_GUID(0x00000131);
const guid_t DCOM_IID_IREMUNKNOWN2 = OLE_GUID(0x00000143);
const guid_t DCOM_IID_IREMOTESCMACTIVATOR = OLE_GUID(0x000001a0);
const guid_t DCOM_IID_IACTIVATION = {0x4d9f4ab8, 0x7d1c, 0x11cf, {0x86, 0x1e, 0x00, 0x20, 0xaf, 0x6e, 0x7c, 0x57}};
const guid_t DCOM_IID_IOBJECTEXPORTER = {0x99fcfec4, 0x5260, 0x101b, {0xbb, 0xcb, 0x00, 0xaa, 0x00, 0x21, 0x34, 0x7a}};
const guid_t DCOM_IID_IACTPROPSIN = OLE_GUID(0x000001a2);
const guid_t DCOM_IID_IACTPROPSOUT = OLE_GUID(0x000001a3);
const guid_t DCOM_CLSID_ACTPROPSIN = OLE_GUID(0x00000338);
const guid_t DCOM_CLSID_ACTPROPSOUT = OLE_GUID(0x00000339);
const guid_t DCOM_CLSID_INSTANTIATIONINFO = OLE_GUID(0x000001ab);
const guid_t DCOM_CLSID_ACTIVATIONCONTEXTINFO = OLE_GUID(0x000001a5);
const guid_t DCOM_CLSID_SERVERLOCATIONINFO = OLE_GUID(0x000001a4);
const guid_t DCOM_CLSID_SECURITYINFO = OLE_GUID(0x000001a6);
const guid_t DCOM_CLSID_SCMREQUESTINFO = OLE_GUID(0x000001aa);
const guid_t DCOM_CLSID_SCMREPLYINFO = OLE_GUID(0x000001b6);
const guid_t DCOM_CLSID_PROPSOUTINFO = OLE_GUID(0x00000339);
const guid_t DCOM_CLSID_INSTANCEINFO = OLE_GUID(0x000001ad);
const guid_t DCOM_CLSID_SPECIALSYSTEMPROPS = OLE_GUID(0x000001b9);

bool dcom_version_ok(const dcom_version_t *client)
{
	return client->major == DCOM_VERSION_MAJOR && client->minor <= DCOM_VERSION_MINOR;
}

/* skip_extent_array reads the deferred ORPC_EXTENT_ARRAY of an ORPCTHIS or
 * ORPCTHAT (MS-DCOM 2.2.13.2): {size, reserved, [size_is((size+1)&~1),
 * unique] ORPC_EXTENT **extent}; then the pointer array; then each non-NULL
 * ORPC_EXTENT, a conformant struct {max_count; GUID id; size;
 * [size_is((size+7)&~7)] byte data[]} (MS-DCOM 2.2.13.1). */
static bool skip_extent_array(cur_t *c, uint32_t *out_n)
{
	uint32_t size, reserved, ref;
	if (!ndr_get_u32(c, &size) || !ndr_get_u32(c, &reserved) || !ndr_get_unique_ptr(c, &ref)) {
		return false;
	}
	if (size > DCOM_MAX_ORPC_EXTENTS) {
		return false;
	}
	uint32_t n_present = 0;
	if (ref == 0) {
		*out_n = 0;
		return size == 0;
	}
	uint32_t max_count;
	if (!ndr_get_conformance(c, &max_count) || max_count != ((size + 1) & ~1u) ||
	    !ndr_check_count(c, max_count, 4)) {
		return false;
	}
	uint32_t refs[DCOM_MAX_ORPC_EXTENTS + 1];
	for (uint32_t i = 0; i < max_count; i++) {
		if (!ndr_get_unique_ptr(c, &refs[i])) {
			return false;
		}
	}
	for (uint32_t i = 0; i < max_count; i++) {
		if (refs[i] == 0) {
			continue;
		}
		uint32_t mc, esize;
		guid_t id;
		if (!ndr_get_conformance(c, &mc) || !ndr_get_guid(c, &id) || !ndr_get_u32(c, &esize)) {
			return false;
		}
		if (esize > DCOM_MAX_ORPC_EXTENT_SIZE || mc != ((esize + 7) & ~7u) || !cur_skip(c, mc)) {
			return false;
		}
		n_present++;
	}
	*out_n = n_present;
	return true;
}

/* get_extensions reads the [unique] ORPC_EXTENT_ARRAY* that ends ORPCTHIS
 * and ORPCTHAT, stepping over the array when there is one. */
static bool get_extensions(cur_t *c, bool *present, uint32_t *n_extents)
{
	uint32_t ext;
	if (!ndr_get_unique_ptr(c, &ext)) {
		return false;
	}
	*present = ext != 0;
	return !ext || skip_extent_array(c, n_extents);
}

bool dcom_get_orpcthis(cur_t *c, orpcthis_t *out)
{
	cur_t save = *c;
	orpcthis_t t = {0};
	if (!ndr_get_u16(c, &t.version.major) || !ndr_get_u16(c, &t.version.minor) ||
	    !ndr_get_u32(c, &t.flags) || !ndr_get_u32(c, &t.reserved1) || !ndr_get_guid(c, &t.cid) ||
	    !get_extensions(c, &t.has_extensions, &t.n_extents)) {
		*c = save;
		return false;
	}
	*out = t;
	return true;
}

void dcom_put_orpcthis(buf_t *b, const orpcthis_t *t)
{
	ndr_put_u16(b, t->version.major);
	ndr_put_u16(b, t->version.minor);
	ndr_put_u32(b, t->flags);
	ndr_put_u32(b, t->reserved1);
	ndr_put_guid(b, &t->cid);
	ndr_put_u32(b, 0);
}

bool dcom_get_orpcthat(cur_t *c, orpcthat_t *out)
{
	cur_t save = *c;
	orpcthat_t t = {0};
	if (!ndr_get_u32(c, &t.flags) || !get_extensions(c, &t.has_extensions, &t.n_extents)) {
		*c = save;
		return false;
	}
	*out = t;
	return true;
}

bool dcom_get_guid_array(cur_t *c, arena_t *a, uint32_t n, guid_t **out)
{
	uint32_t mc;
	if (!ndr_get_conformance(c, &mc) || mc != n || !ndr_check_count(c, n, 16)) {
		return false;
	}
	guid_t *g = arena_array(a, n ? n : 1, sizeof(*g));
	if (!g) {
		return false;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (!ndr_get_guid(c, &g[i])) {
			return false;
		}
	}
	*out = g;
	return true;
}

void dcom_put_orpcthat(buf_t *b, uint32_t flags)
{
	ndr_put_u32(b, flags);
	ndr_put_u32(b, 0);
}

bool dcom_get_mip_body(cur_t *c, arena_t *a, size_t max_len, ndr_blob_t *out)
{
	cur_t save = *c;
	uint32_t max_count, cnt;
	const uint8_t *data;
	if (!ndr_get_conformance(c, &max_count) || !ndr_get_u32(c, &cnt) || cnt != max_count ||
	    cnt > max_len || cnt == 0 || !ndr_get_bytes(c, a, cnt, &data)) {
		*c = save;
		return false;
	}
	out->len = cnt;
	out->data = data;
	return true;
}

bool dcom_get_unique_mip(cur_t *c, arena_t *a, size_t max_len, ndr_blob_t *out)
{
	cur_t save = *c;
	uint32_t ref;
	if (!ndr_get_unique_ptr(c, &ref)) {
		return false;
	}
	if (ref == 0) {
		out->len = 0;
		out->data = NULL;
		return true;
	}
	if (!dcom_get_mip_body(c, a, max_len, out)) {
		*c = save;
		return false;
	}
	return true;
}

void dcom_put_mip_body(buf_t *b, const ndr_blob_t *mip)
{
	ndr_put_conformance(b, mip->len);
	ndr_put_u32(b, mip->len);
	buf_put_bytes(b, mip->data, mip->len);
}

void dcom_put_unique_mip(buf_t *b, ndr_refids_t *ids, const ndr_blob_t *mip)
{
	if (ndr_put_unique_ptr(b, ids, mip->data != NULL)) {
		dcom_put_mip_body(b, mip);
	}
}

bool dcom_typeser_open(cur_t *c, cur_t *body)
{
	cur_t save = *c;
	cur_t h = *c;
	cur_rebase(&h);
	uint8_t version, endian;
	uint16_t hdr_len;
	uint32_t filler, obj_len, filler2;
	if (!cur_get_u8(&h, &version) || !cur_get_u8(&h, &endian) || !cur_get_u16le(&h, &hdr_len) ||
	    !cur_get_u32le(&h, &filler)) {
		return false;
	}
	/* MS-RPCE 2.2.6.1: version 1, header length 8, endianness 0x10 or 0x00 */
	if (version != 1 || hdr_len != 8 || (endian != 0x10 && endian != 0x00)) {
		return false;
	}
	h.be = endian == 0x00;
	if (!cur_get_u32(&h, &obj_len) || !cur_get_u32(&h, &filler2) || !cur_get_bytes(&h, body, obj_len)) {
		return false;
	}
	/* advance c by the same amount: the headers and the object buffer */
	if (!cur_skip(c, TYPESER_HDR_LEN + (size_t)obj_len)) {
		*c = save;
		return false;
	}
	return true;
}

size_t dcom_typeser_begin(buf_t *b, size_t *saved_base)
{
	*saved_base = b->base;
	size_t start = b->len;
	b->base = start;
	buf_put_u8(b, 1);
	buf_put_u8(b, 0x10);
	buf_put_u16(b, 8);
	buf_put_u32(b, 0xccccccccu);
	buf_put_u32(b, 0); /* ObjectBufferLength, patched by dcom_typeser_end */
	buf_put_u32(b, 0xccccccccu);
	return start;
}

void dcom_typeser_end(buf_t *b, size_t start, size_t saved_base)
{
	buf_align(b, 8);
	if (buf_ok(b) && b->len >= start + TYPESER_HDR_LEN) {
		size_t n = b->len - start - TYPESER_HDR_LEN;
		buf_patch_u32(b, start + 8, n > UINT32_MAX ? UINT32_MAX : (uint32_t)n);
	}
	b->base = saved_base;
}
