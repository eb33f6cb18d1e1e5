/*
 * remunk.c - the exporter's Remote Unknown: IRemUnknown (RemQueryInterface,
 * RemAddRef, RemRelease; MS-DCOM 3.1.1.5.6) and IRemUnknown2
 * (RemQueryInterface2; 3.1.1.5.7), reached through the IPID returned as
 * ipidRemUnknown. They act on other objects' IPIDs named in their arguments.
 * Stub layouts follow the IDL in MS-DCOM 3.1.1.5.6.1.x as impacket's
 * dcomrt.py marshals them.
 */
#include "dcom/exporter_int.h"

#include <string.h>

#include "dcom/limits.h"

/* REMINTERFACEREF {IPID ipid; unsigned long cPublicRefs; unsigned long cPrivateRefs} (2.2.23) */
typedef struct remref {
	guid_t ipid;
	uint32_t public_refs;
	uint32_t private_refs;
} remref_t;

static cerr_t finish(dcom_call_t *dc, uint32_t hr)
{
	dcom_put_hresult(dc->rpc->out, hr);
	return buf_ok(dc->rpc->out) ? CERR_OK : CERR_NOMEM;
}

static bool get_remrefs(cur_t *c, arena_t *a, uint16_t *n, remref_t **out)
{
	uint32_t mc;
	if (!ndr_get_u16(c, n) || !ndr_get_conformance(c, &mc) || mc != *n || !ndr_check_count(c, mc, 24)) {
		return false;
	}
	remref_t *r = arena_array(a, *n ? *n : 1, sizeof(*r));
	if (!r) {
		return false;
	}
	for (uint16_t i = 0; i < *n; i++) {
		if (!ndr_get_guid(c, &r[i].ipid) || !ndr_get_u32(c, &r[i].public_refs) ||
		    !ndr_get_u32(c, &r[i].private_refs)) {
			return false;
		}
	}
	*out = r;
	return true;
}

/* get_interface_refs reads the [in] cInterfaceRefs and InterfaceRefs[] of
 * RemAddRef and RemRelease: bad NDR is CERR_MALFORMED, more than
 * DCOM_MAX_INTERFACE_REFS the remote-no-memory fault, as for too many IIDs. */
static cerr_t get_interface_refs(rpc_call_t *call, uint16_t *n, remref_t **refs)
{
	if (!get_remrefs(&call->in, call->arena, n, refs)) {
		return CERR_MALFORMED;
	}
	return *n > DCOM_MAX_INTERFACE_REFS ? CERR_NCA_S_FAULT_REMOTE_NO_MEMORY : CERR_OK;
}

/* Opnum 3 RemQueryInterface([in] REFIPID ripid, [in] unsigned long cRefs,
 * [in] unsigned short cIids, [in, size_is(cIids)] IID *iids,
 * [out, size_is(,cIids)] PREMQIRESULT *ppQIResults): the result is a unique
 * pointer to an array of REMQIRESULT {HRESULT; STDOBJREF}, 8-aligned. */
static cerr_t rem_query_interface(dcom_call_t *dc)
{
	rpc_call_t *call = dc->rpc;
	dcom_exporter_t *x = dc->exporter;
	guid_t ripid, *iids;
	uint32_t crefs;
	uint16_t n;
	if (!ndr_get_guid(&call->in, &ripid) || !ndr_get_u32(&call->in, &crefs) || !ndr_get_u16(&call->in, &n) ||
	    !dcom_get_guid_array(&call->in, call->arena, n, &iids)) {
		return CERR_MALFORMED;
	}
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	if (n == 0 || n > DCOM_MAX_REQUESTED_IIDS) {
		ndr_put_unique_ptr(call->out, &ids, false);
		return finish(dc, cerr_value(CERR_E_INVALIDARG));
	}
	uint32_t *hrs = arena_array(call->arena, n, sizeof(*hrs));
	dcom_stdobjref_t *std = arena_array(call->arena, n, sizeof(*std));
	if (!hrs || !std) {
		return CERR_NOMEM;
	}
	uint64_t now;
	dx_enter(x, &now);
	dx_ipid_t *ip = dx_ipid_find_locked(x, &ripid);
	if (!ip) {
		dx_leave(x);
		/* MS-DCOM 3.1.1.5.6.1.1: an unknown ripid gives RPC_E_INVALID_OBJECT */
		ndr_put_unique_ptr(call->out, &ids, false);
		return finish(dc, cerr_value(CERR_RPC_E_INVALID_OBJECT));
	}
	dx_object_t *o = ip->obj;
	o->last_use = now;
	bool any = false;
	for (uint16_t i = 0; i < n; i++) {
		bool nomem;
		dx_ipid_t *q = dx_ipid_for_locked(x, o, &iids[i], crefs, &nomem);
		if (!q) {
			hrs[i] = cerr_value(nomem ? CERR_E_OUTOFMEMORY : CERR_E_NOINTERFACE);
			continue;
		}
		hrs[i] = 0;
		std[i] = (dcom_stdobjref_t){0, crefs, x->oxid, o->oid, q->ipid};
		any = true;
	}
	dx_leave(x);
	ndr_put_unique_ptr(call->out, &ids, true);
	ndr_put_conformance(call->out, n);
	for (uint16_t i = 0; i < n; i++) {
		buf_align(call->out, 8); /* REMQIRESULT holds hypers */
		ndr_put_u32(call->out, hrs[i]);
		ndr_put_u32(call->out, std[i].flags);
		ndr_put_u32(call->out, std[i].public_refs);
		ndr_put_u64(call->out, std[i].oxid);
		ndr_put_u64(call->out, std[i].oid);
		ndr_put_guid(call->out, &std[i].ipid);
	}
	return finish(dc, any ? 0 : cerr_value(CERR_E_NOINTERFACE));
}

/* Opnum 4 RemAddRef([in] unsigned short cInterfaceRefs, [in, size_is(cInterfaceRefs)]
 * REMINTERFACEREF InterfaceRefs[], [out, size_is(cInterfaceRefs)] HRESULT *pResults).
 * Unknown IPIDs get CO_E_OBJNOTREG (MS-DCOM 3.1.1.5.6.1.2). Private references
 * are counted with the public ones' IPID, not per client identity. */
static cerr_t rem_add_ref(dcom_call_t *dc)
{
	rpc_call_t *call = dc->rpc;
	dcom_exporter_t *x = dc->exporter;
	uint16_t n;
	remref_t *refs;
	cerr_t e = get_interface_refs(call, &n, &refs);
	if (e != CERR_OK) {
		return e;
	}
	uint32_t *hrs = arena_array(call->arena, n ? n : 1, sizeof(*hrs));
	if (!hrs) {
		return CERR_NOMEM;
	}
	uint32_t overall = 0;
	uint64_t now;
	dx_enter(x, &now);
	for (uint16_t i = 0; i < n; i++) {
		dx_ipid_t *ip = dx_ipid_find_locked(x, &refs[i].ipid);
		if (!ip) {
			hrs[i] = overall = cerr_value(CERR_CO_E_OBJNOTREG);
			continue;
		}
		if (!ip->obj->permanent) {
			uint32_t pub = ip->public_refs, priv = ip->private_refs;
			ip->public_refs = pub > UINT32_MAX - refs[i].public_refs ? UINT32_MAX : pub + refs[i].public_refs;
			ip->private_refs =
				priv > UINT32_MAX - refs[i].private_refs ? UINT32_MAX : priv + refs[i].private_refs;
			ip->obj->last_use = now;
		}
		hrs[i] = 0;
	}
	dx_leave(x);
	ndr_put_conformance(call->out, n);
	for (uint16_t i = 0; i < n; i++) {
		ndr_put_u32(call->out, hrs[i]);
	}
	return finish(dc, overall);
}

/* Opnum 5 RemRelease([in] unsigned short cInterfaceRefs, [in, size_is(cInterfaceRefs)]
 * REMINTERFACEREF InterfaceRefs[]): counts floor at zero; an IPID with no
 * references left goes, and its object with its last IPID (3.1.1.5.6.1.3). */
static cerr_t rem_release(dcom_call_t *dc)
{
	rpc_call_t *call = dc->rpc;
	dcom_exporter_t *x = dc->exporter;
	uint16_t n;
	remref_t *refs;
	cerr_t e = get_interface_refs(call, &n, &refs);
	if (e != CERR_OK) {
		return e;
	}
	dx_enter(x, NULL);
	for (uint16_t i = 0; i < n; i++) {
		dx_ipid_t *ip = dx_ipid_find_locked(x, &refs[i].ipid);
		if (!ip || ip->obj->permanent) {
			continue;
		}
		ip->public_refs = refs[i].public_refs >= ip->public_refs ? 0 : ip->public_refs - refs[i].public_refs;
		ip->private_refs =
			refs[i].private_refs >= ip->private_refs ? 0 : ip->private_refs - refs[i].private_refs;
		if (ip->public_refs == 0 && ip->private_refs == 0) {
			dx_ipid_remove_locked(x, ip);
		}
	}
	dx_leave(x);
	return finish(dc, 0);
}

/* Opnum 6 (IRemUnknown2) RemQueryInterface2([in] REFIPID ripid, [in] unsigned short
 * cIids, [in, size_is(cIids)] IID *iids, [out, size_is(cIids)] HRESULT *phr,
 * [out, size_is(cIids)] PMInterfacePointerInternal *ppMIF): as RemQueryInterface
 * but each result is a whole OBJREF (MS-DCOM 3.1.1.5.7.1.1). */
static cerr_t rem_query_interface2(dcom_call_t *dc)
{
	rpc_call_t *call = dc->rpc;
	dcom_exporter_t *x = dc->exporter;
	guid_t ripid, *iids;
	uint16_t n;
	if (!ndr_get_guid(&call->in, &ripid) || !ndr_get_u16(&call->in, &n) ||
	    !dcom_get_guid_array(&call->in, call->arena, n, &iids)) {
		return CERR_MALFORMED;
	}
	if (n > DCOM_MAX_REQUESTED_IIDS) {
		return CERR_NCA_S_FAULT_REMOTE_NO_MEMORY;
	}
	uint32_t *hrs = arena_array(call->arena, n ? n : 1, sizeof(*hrs));
	ndr_blob_t *mifs = arena_array(call->arena, n ? n : 1, sizeof(*mifs));
	if (!hrs || !mifs) {
		return CERR_NOMEM;
	}
	uint32_t overall = 0;
	uint64_t now;
	dx_enter(x, &now);
	dx_ipid_t *ip = dx_ipid_find_locked(x, &ripid);
	if (!ip) {
		overall = cerr_value(CERR_RPC_E_INVALID_OBJECT);
		for (uint16_t i = 0; i < n; i++) {
			hrs[i] = overall;
		}
	} else {
		dx_object_t *o = ip->obj;
		o->last_use = now;
		bool any = false;
		for (uint16_t i = 0; i < n; i++) {
			bool nomem;
			dx_ipid_t *q = dx_ipid_for_locked(x, o, &iids[i], DX_MARSHAL_REFS, &nomem);
			if (q && !dx_marshal_locked(x, call->conn, call->arena, q, DX_MARSHAL_REFS, &mifs[i])) {
				nomem = true;
				q = NULL;
			}
			hrs[i] = q ? 0 : cerr_value(nomem ? CERR_E_OUTOFMEMORY : CERR_E_NOINTERFACE);
			any = any || q;
		}
		overall = any || n == 0 ? 0 : cerr_value(CERR_E_NOINTERFACE);
	}
	dx_leave(x);
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	ndr_put_conformance(call->out, n);
	for (uint16_t i = 0; i < n; i++) {
		ndr_put_u32(call->out, hrs[i]);
	}
	ndr_put_conformance(call->out, n);
	for (uint16_t i = 0; i < n; i++) {
		ndr_put_unique_ptr(call->out, &ids, mifs[i].data != NULL);
	}
	for (uint16_t i = 0; i < n; i++) {
		if (mifs[i].data) {
			dcom_put_mip_body(call->out, &mifs[i]);
		}
	}
	return finish(dc, overall);
}

static const dcom_op_fn remunk_ops[] = {NULL, NULL, NULL, rem_query_interface, rem_add_ref, rem_release};
static const dcom_op_fn remunk2_ops[] = {NULL,        NULL,        NULL,
					 rem_query_interface, rem_add_ref, rem_release,
					 rem_query_interface2};
static const guid_t remunk2_bases[] = {DCOM_OLE_GUID(0x00000131)};

const dcom_iface_t dx_iunknown_iface = {"IUnknown", DCOM_OLE_GUID(0x00000000), NULL, 0, NULL, 0, NULL};
const dcom_iface_t dx_remunknown_iface = {"IRemUnknown", DCOM_OLE_GUID(0x00000131), remunk_ops, 6,
					  NULL, 0, NULL};
const dcom_iface_t dx_remunknown2_iface = {"IRemUnknown2", DCOM_OLE_GUID(0x00000143), remunk2_ops, 7,
					   remunk2_bases, 1, NULL};
