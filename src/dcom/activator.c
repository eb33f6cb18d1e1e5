/*
 * activator.c - object activation (MS-DCOM 3.1.2.5.2): IRemoteSCMActivator
 * 000001a0-0000-0000-c000-000000000046 (RemoteGetClassObject opnum 3,
 * RemoteCreateInstance opnum 4, both carrying activation properties blobs),
 * the legacy IActivation 4d9f4ab8-7d1c-11cf-861e-0020af6e7c57
 * (RemoteActivation opnum 0, which MS-DCOM 3.1.2.5.2.1 says all object
 * resolvers MUST support), and IClassFactory on the class objects
 * RemoteGetClassObject hands out. All run the same steps (3.1.2.5.2.3):
 * permission check, version negotiation, class lookup, object creation,
 * one IPID per requested interface.
 */
#include "dcom/exporter_int.h"

#include <string.h>

#include "dcom/limits.h"

static const dx_class_t *find_class(dcom_exporter_t *x, const guid_t *clsid)
{
	for (size_t i = 0; i < x->n_classes; i++) {
		if (guid_equal(&x->classes[i].clsid, clsid)) {
			return &x->classes[i];
		}
	}
	return NULL;
}

static uint32_t create_failure(cerr_t e)
{
	if (cerr_space(e) == CERR_SPACE_HRESULT && cerr_value(e) != 0) {
		return cerr_value(e);
	}
	return cerr_value(e == CERR_NOMEM ? CERR_E_OUTOFMEMORY : CERR_CO_E_SERVER_EXEC_FAILURE);
}

static const dcom_iface_t *const classfactory_ifaces[] = {&dx_classfactory_iface};

void dx_activate(dcom_exporter_t *x, rpc_call_t *call, const guid_t *clsid, const guid_t *iids, uint32_t n,
		 bool class_object, const dcom_actprops_in_t *props, dx_activation_result_t *res)
{
	memset(res, 0, sizeof(*res));
	res->n = n;
	res->hrs = arena_array(call->arena, n ? n : 1, sizeof(*res->hrs));
	res->objrefs = arena_array(call->arena, n ? n : 1, sizeof(*res->objrefs));
	if (!res->hrs || !res->objrefs) {
		res->fault = CERR_NCA_S_FAULT_REMOTE_NO_MEMORY;
		return;
	}
	/* the launch/activation permission check comes first (3.1.2.5.2.3) */
	dcom_check_t chk = {.kind = DCOM_CHECK_ACTIVATE, .conn = call->conn, .clsid = clsid,
			    .class_object = class_object};
	cerr_t e = dx_check(x, &chk);
	if (e != CERR_OK) {
		if (cerr_space(e) == CERR_SPACE_NCA) {
			res->fault = e;
		} else {
			res->hr = cerr_space(e) == CERR_SPACE_HRESULT ? cerr_value(e) : cerr_value(CERR_E_ACCESSDENIED);
		}
		return;
	}
	const dx_class_t *cls = find_class(x, clsid);
	if (!cls) {
		res->hr = cerr_value(CERR_REGDB_E_CLASSNOTREG);
		return;
	}
	dcom_object_t obj = {0};
	if (class_object) {
		obj.state = (void *)cls;
		obj.ifaces = classfactory_ifaces;
		obj.n_ifaces = 1;
	} else {
		dcom_activation_t act = {clsid, call->conn, iids, n, props};
		e = cls->create(cls->arg, &act, &obj);
		if (e != CERR_OK) {
			res->hr = create_failure(e);
			return;
		}
	}
	uint64_t now;
	dx_enter(x, &now);
	dx_object_t *o = dx_object_add_locked(x, clsid, &obj, now);
	if (!o) {
		dx_leave(x);
		if (obj.release) {
			obj.release(obj.state);
		}
		res->hr = cerr_value(CERR_E_OUTOFMEMORY);
		return;
	}
	bool any = false;
	for (uint32_t i = 0; i < n; i++) {
		bool nomem;
		dx_ipid_t *ip = dx_ipid_for_locked(x, o, &iids[i], DX_MARSHAL_REFS, &nomem);
		if (ip && !dx_marshal_locked(x, call->conn, call->arena, ip, DX_MARSHAL_REFS, &res->objrefs[i])) {
			ip = NULL;
			nomem = true;
		}
		res->hrs[i] = ip ? 0 : cerr_value(nomem ? CERR_E_OUTOFMEMORY : CERR_E_NOINTERFACE);
		any = any || ip;
	}
	if (!any) {
		/* nothing the client asked for: the object is of no use to anyone */
		dx_object_kill_locked(x, o);
		res->hr = res->hrs[0];
	}
	dx_leave(x);
}

/* put_act_result writes the pointer to the ActivationPropertiesOut blob:
 * ppActProperties is [out] MInterfacePointer**, a unique pointer (NULL when
 * the activation failed) to the MInterfacePointer. */
static cerr_t put_act_result(dcom_exporter_t *x, rpc_call_t *call, const dcom_actprops_in_t *in,
			     const guid_t *iids, const dx_activation_result_t *res)
{
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	if (res->hr != 0) {
		ndr_put_unique_ptr(call->out, &ids, false);
		return CERR_OK;
	}
	dcom_actprops_out_t out = {
		.dest_ctx = in->dest_ctx,
		.oxid = x->oxid,
		.ipid_remunknown = x->ipid_remunknown,
		.authn_hint = x->cfg.authn_hint,
		.server_version = {DCOM_VERSION_MAJOR, DCOM_VERSION_MINOR},
		.n_ifs = res->n,
		.iids = (guid_t *)iids,
		.hresults = res->hrs,
		.ifaces = res->objrefs,
	};
	dx_enter(x, NULL);
	bool ok = dx_bindings(x, call->conn, call->arena, true, &out.oxid_bindings);
	dx_leave(x);
	if (!ok) {
		return CERR_NOMEM;
	}
	buf_t mip;
	buf_init(&mip, 0);
	cerr_t e = dcom_actprops_out_to_mip(&mip, &out);
	if (e == CERR_OK && mip.len <= UINT32_MAX) {
		ndr_put_unique_ptr(call->out, &ids, true);
		dcom_put_mip_body(call->out, &(ndr_blob_t){(uint32_t)mip.len, mip.data});
	}
	buf_free(&mip);
	return e;
}

/* scm_activate: RemoteCreateInstance (ORPCTHIS, [unique] pUnkOuter,
 * [unique] pActProperties) and RemoteGetClassObject (ORPCTHIS, pActProperties);
 * out: ORPCTHAT, ppActProperties, HRESULT (MS-DCOM 3.1.2.5.2.3.2-3). */
static cerr_t scm_activate(rpc_call_t *call, bool create)
{
	dcom_exporter_t *x = call->iface_data;
	orpcthis_t t;
	ndr_blob_t outer = {0}, props;
	if (!dcom_get_orpcthis(&call->in, &t) ||
	    (create && !dcom_get_unique_mip(&call->in, call->arena, DCOM_MAX_MIP_LEN, &outer)) ||
	    !dcom_get_unique_mip(&call->in, call->arena, DCOM_MAX_MIP_LEN, &props)) {
		return CERR_MALFORMED;
	}
	/* pUnkOuter "MUST be NULL and MUST be ignored by the recipient" */
	dcom_actprops_in_t in;
	memset(&in, 0, sizeof(in));
	dx_activation_result_t res;
	memset(&res, 0, sizeof(res));
	if (!dcom_version_ok(&t.version)) {
		res.hr = cerr_value(CERR_RPC_E_VERSION_MISMATCH);
	} else if (!props.data) {
		res.hr = cerr_value(CERR_E_INVALIDARG);
	} else {
		cerr_t e = dcom_actprops_in_from_mip(&props, call->arena, &in);
		if (e != CERR_OK) {
			return e == CERR_NOMEM ? e : CERR_MALFORMED;
		}
		if (!(in.present & DCOM_PROP_INSTANTIATION)) {
			/* the one property activation cannot do without (3.1.2.5.2.3.3) */
			res.hr = cerr_value(CERR_E_INVALIDARG);
		} else {
			dx_activate(x, call, &in.inst.clsid, in.inst.iids, in.inst.n_iids, !create, &in, &res);
			if (res.fault != CERR_OK) {
				return res.fault;
			}
		}
	}
	dcom_put_orpcthat(call->out, 0);
	cerr_t e = put_act_result(x, call, &in, in.inst.iids, &res);
	if (e != CERR_OK) {
		return e;
	}
	dcom_put_hresult(call->out, res.hr);
	return buf_ok(call->out) ? CERR_OK : CERR_NOMEM;
}

static cerr_t op_get_class_object(rpc_call_t *call) { return scm_activate(call, false); }
static cerr_t op_create_instance(rpc_call_t *call) { return scm_activate(call, true); }

/* Opnum 0 RemoteActivation (MS-DCOM 3.1.2.5.2.3.1): ORPCTHIS, Clsid,
 * [string, unique] pwszObjectName, [unique] pObjectStorage, ClientImpLevel,
 * Mode (0xFFFFFFFF = the class factory), Interfaces [range(1, 0x8000)],
 * [unique, size_is(Interfaces)] pIIDs, cRequestedProtseqs,
 * [size_is(cRequestedProtseqs)] aRequestedProtseqs. Out: ORPCTHAT, pOxid,
 * ppdsaOxidBindings, pipidRemUnknown, pAuthnHint, pServerVersion, phr,
 * ppInterfaceData[Interfaces], pResults[Interfaces], error_status_t. Object
 * names and storages (monikers) are not supported: E_NOTIMPL. */
static cerr_t op_remote_activation(rpc_call_t *call)
{
	dcom_exporter_t *x = call->iface_data;
	orpcthis_t t;
	guid_t clsid;
	char *name;
	ndr_blob_t storage;
	uint32_t imp, mode, n, ref_iids, mc;
	uint16_t n_ps;
	cur_t *in = &call->in;
	if (!dcom_get_orpcthis(in, &t) || !ndr_get_guid(in, &clsid) ||
	    !ndr_get_unique_wstring(in, call->arena, DCOM_MAX_PROP_STRING, &name) ||
	    !dcom_get_unique_mip(in, call->arena, DCOM_MAX_MIP_LEN, &storage) || !ndr_get_u32(in, &imp) ||
	    !ndr_get_u32(in, &mode) || !ndr_get_u32(in, &n) || !ndr_get_unique_ptr(in, &ref_iids)) {
		return CERR_MALFORMED;
	}
	if (n < 1 || n > DCOM_MAX_REQUESTED_IIDS) {
		return CERR_MALFORMED; /* outside [range]: the stub refuses it */
	}
	guid_t *iids = arena_array(call->arena, n, sizeof(*iids));
	if (!iids) {
		return CERR_NOMEM;
	}
	if (ref_iids) {
		if (!ndr_get_conformance(in, &mc) || mc != n || !ndr_check_count(in, n, 16)) {
			return CERR_MALFORMED;
		}
		for (uint32_t i = 0; i < n; i++) {
			if (!ndr_get_guid(in, &iids[i])) {
				return CERR_MALFORMED;
			}
		}
	}
	if (!ndr_get_u16(in, &n_ps) || !ndr_get_conformance(in, &mc) || mc != n_ps || n_ps > DCOM_MAX_PROTSEQS ||
	    !ndr_check_count(in, n_ps, 2)) {
		return CERR_MALFORMED;
	}
	for (uint16_t i = 0; i < n_ps; i++) {
		uint16_t ps;
		if (!ndr_get_u16(in, &ps)) {
			return CERR_MALFORMED;
		}
	}
	dx_activation_result_t res;
	memset(&res, 0, sizeof(res));
	if (!dcom_version_ok(&t.version)) {
		res.hr = cerr_value(CERR_RPC_E_VERSION_MISMATCH);
	} else if (!ref_iids) {
		res.hr = cerr_value(CERR_E_INVALIDARG);
	} else if (name || storage.data) {
		res.hr = cerr_value(CERR_E_NOTIMPL);
	} else {
		dx_activate(x, call, &clsid, iids, n, mode == 0xffffffffu, NULL, &res);
		if (res.fault != CERR_OK) {
			return res.fault;
		}
	}
	bool ok = res.hr == 0;
	dcom_dualstringarray_t dsa = {0};
	if (ok) {
		dx_enter(x, NULL);
		bool b = dx_bindings(x, call->conn, call->arena, true, &dsa);
		dx_leave(x);
		if (!b) {
			return CERR_NOMEM;
		}
	}
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	guid_t nil = {0};
	buf_t *out = call->out;
	dcom_put_orpcthat(out, 0);
	ndr_put_u64(out, ok ? x->oxid : 0);
	if (ndr_put_unique_ptr(out, &ids, ok)) {
		dcom_put_dsa_body(out, &dsa);
	}
	ndr_put_guid(out, ok ? &x->ipid_remunknown : &nil);
	ndr_put_u32(out, ok ? x->cfg.authn_hint : 0);
	ndr_put_u16(out, DCOM_VERSION_MAJOR);
	ndr_put_u16(out, DCOM_VERSION_MINOR);
	dcom_put_hresult(out, res.hr);
	ndr_put_conformance(out, n);
	for (uint32_t i = 0; i < n; i++) {
		ndr_put_unique_ptr(out, &ids, ok && res.objrefs[i].data);
	}
	for (uint32_t i = 0; ok && i < n; i++) {
		if (res.objrefs[i].data) {
			dcom_put_mip_body(out, &res.objrefs[i]);
		}
	}
	/* pResults: "If phr contains a failure value, this MUST contain an
	 * array of 0x00000000 values" (3.1.2.5.2.3.1) */
	ndr_put_conformance(out, n);
	for (uint32_t i = 0; i < n; i++) {
		ndr_put_u32(out, ok ? res.hrs[i] : 0);
	}
	ndr_put_u32(out, 0);
	return buf_ok(out) ? CERR_OK : CERR_NOMEM;
}

/* ---- IClassFactory on class objects (unknwn.idl: RemoteCreateInstance is
 * CreateInstance's call_as form, [in] REFIID riid, [out, iid_is(riid)]
 * IUnknown **ppvObject; RemoteLock([in] BOOL fLock)) ---- */

static cerr_t cf_create_instance(dcom_call_t *dc)
{
	rpc_call_t *call = dc->rpc;
	const dx_class_t *cls = dc->object;
	guid_t riid;
	if (!ndr_get_guid(&call->in, &riid)) {
		return CERR_MALFORMED;
	}
	dx_activation_result_t res;
	dx_activate(dc->exporter, call, &cls->clsid, &riid, 1, false, NULL, &res);
	if (res.fault != CERR_OK) {
		return res.fault;
	}
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	dcom_put_unique_mip(call->out, &ids, res.hr == 0 ? &res.objrefs[0] : &(ndr_blob_t){0, NULL});
	dcom_put_hresult(call->out, res.hr);
	return buf_ok(call->out) ? CERR_OK : CERR_NOMEM;
}

static cerr_t cf_lock(dcom_call_t *dc)
{
	uint32_t lock;
	if (!ndr_get_u32(&dc->rpc->in, &lock)) {
		return CERR_MALFORMED;
	}
	/* nothing to keep loaded: the classes live as long as the server */
	dcom_put_hresult(dc->rpc->out, 0);
	return buf_ok(dc->rpc->out) ? CERR_OK : CERR_NOMEM;
}

static const dcom_op_fn cf_ops[] = {NULL, NULL, NULL, cf_create_instance, cf_lock};
const dcom_iface_t dx_classfactory_iface = {"IClassFactory", DCOM_OLE_GUID(0x00000001), cf_ops, 5, NULL, 0,
					    NULL};

static const rpc_op_fn scm_ops[] = {
	[DCOM_OP_REMOTE_GET_CLASS_OBJECT] = op_get_class_object,
	[DCOM_OP_REMOTE_CREATE_INSTANCE] = op_create_instance,
};

static const rpc_op_fn act_ops[] = {
	[DCOM_OP_REMOTE_ACTIVATION] = op_remote_activation,
};

void dx_scm_iface_init(dcom_exporter_t *x, rpc_iface_t *out)
{
	memset(out, 0, sizeof(*out));
	out->name = "IRemoteSCMActivator";
	out->uuid = DCOM_IID_IREMOTESCMACTIVATOR;
	out->ops = scm_ops;
	out->n_ops = sizeof(scm_ops) / sizeof(scm_ops[0]);
	out->data = x;
}

void dx_activation_iface_init(dcom_exporter_t *x, rpc_iface_t *out)
{
	memset(out, 0, sizeof(*out));
	out->name = "IActivation";
	out->uuid = DCOM_IID_IACTIVATION;
	out->ops = act_ops;
	out->n_ops = sizeof(act_ops) / sizeof(act_ops[0]);
	out->data = x;
}
