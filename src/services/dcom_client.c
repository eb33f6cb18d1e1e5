/*
 * dcom_client.c - DCOM activation, ORPC calls and RemRelease for `certa req
 * --dcom` (see dcom_client.h). The NDR of RemoteCreateInstance and
 * RemRelease in the client direction is here; ORPCTHIS/ORPCTHAT, OBJREF,
 * MInterfacePointer and the activation property blobs come from dcom/.
 */
#include "services/dcom_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dcom/actprops.h"
#include "dcom/limits.h"
#include "rpc/pdu.h"

/* CLSCTX_REMOTE_SERVER: what a remote activation asks for (MS-DCOM 2.2.22.2.1). */
#define CLSCTX_REMOTE_SERVER 0x10u
/* RPC_C_IMP_LEVEL_IDENTIFY, the default a client offers (MS-DCOM 2.2.22.2.4.1). */
#define IMP_LEVEL_IDENTIFY 2u

static void put_orpcthis_with(buf_t *b, const guid_t *cid)
{
	/* MS-DCOM 3.2.4.2: flags 0 (ORPCF_NULL) on a remote call, no extensions */
	orpcthis_t t = {.version = {DCOM_VERSION_MAJOR, DCOM_VERSION_MINOR}, .flags = ORPCF_NULL, .cid = *cid};
	dcom_put_orpcthis(b, &t);
}

void dcom_client_begin(buf_t *b)
{
	guid_t cid;
	guid_random(&cid);
	put_orpcthis_with(b, &cid);
}

cerr_t dcom_client_encode_create_instance(buf_t *b, const guid_t *cid, const guid_t *clsid, const guid_t *iids,
					  size_t n_iids)
{
	if (n_iids == 0 || n_iids > DCOM_MAX_REQUESTED_IIDS) {
		return CERR_INVALID_ARG;
	}
	guid_t want[DCOM_MAX_REQUESTED_IIDS];
	memcpy(want, iids, n_iids * sizeof(*iids));
	uint16_t protseq = DCOM_TOWER_NCACN_IP_TCP;
	dcom_actprops_in_t in;
	memset(&in, 0, sizeof(in));
	/* the properties impacket's DCOMConnection sends, in its order */
	in.dest_ctx = 2;
	in.present = DCOM_PROP_INSTANTIATION | DCOM_PROP_CONTEXT | DCOM_PROP_LOCATION | DCOM_PROP_SCM_REQUEST;
	in.inst.clsid = *clsid;
	in.inst.class_ctx = CLSCTX_REMOTE_SERVER;
	in.inst.n_iids = (uint32_t)n_iids;
	in.inst.iids = want;
	in.inst.client_version = (dcom_version_t){DCOM_VERSION_MAJOR, DCOM_VERSION_MINOR};
	in.scm_request.has_remote_request = true;
	in.scm_request.client_imp_level = IMP_LEVEL_IDENTIFY;
	in.scm_request.n_protseqs = 1;
	in.scm_request.protseqs = &protseq;

	buf_t blob, objref;
	buf_init(&blob, DCOM_MAX_MIP_LEN);
	buf_init(&objref, DCOM_MAX_MIP_LEN);
	cerr_t e = dcom_actprops_in_encode(&blob, &in);
	if (e == CERR_OK) {
		/* pActProperties: an OBJREF_CUSTOM for CLSID_ActivationPropertiesIn
		 * around the blob (MS-DCOM 2.2.20.1, 3.1.2.5.2.3.3) */
		dcom_objref_t o;
		memset(&o, 0, sizeof(o));
		o.flags = OBJREF_CUSTOM;
		o.iid = DCOM_IID_IACTPROPSIN;
		o.clsid = DCOM_CLSID_ACTPROPSIN;
		o.object_data = blob.data;
		o.object_data_len = blob.len;
		e = dcom_objref_encode(&objref, &o);
	}
	if (e == CERR_OK) {
		ndr_refids_t ids;
		ndr_refids_init(&ids);
		put_orpcthis_with(b, cid);
		ndr_put_unique_ptr(b, &ids, false); /* pUnkOuter: no aggregation */
		ndr_blob_t mip = {.len = (uint32_t)objref.len, .data = objref.data};
		dcom_put_unique_mip(b, &ids, &mip);
		e = buf_ok(b) ? CERR_OK : CERR_NOMEM;
	}
	buf_free(&blob);
	buf_free(&objref);
	return e;
}

cerr_t dcom_client_decode_create_instance(cur_t *in, arena_t *a, const guid_t *iids, size_t n_iids,
					  dcom_client_activation_t *out)
{
	memset(out, 0, sizeof(*out));
	orpcthat_t that;
	ndr_blob_t mip;
	uint32_t hr;
	if (!dcom_get_orpcthat(in, &that) || !dcom_get_unique_mip(in, a, DCOM_MAX_MIP_LEN, &mip) ||
	    !ndr_get_u32(in, &hr) || !cur_empty(in)) {
		return CERR_MALFORMED;
	}
	out->hresult = hr;
	if (hr != 0) {
		return CERR_OK;
	}
	if (!mip.data) {
		return CERR_MALFORMED;
	}
	/* ppActProperties: OBJREF_CUSTOM for CLSID_ActivationPropertiesOut */
	cur_t c;
	cur_init(&c, mip.data, mip.len);
	dcom_objref_t o;
	if (dcom_objref_decode(&c, a, &o) != CERR_OK || o.flags != OBJREF_CUSTOM ||
	    !guid_equal(&o.clsid, &DCOM_CLSID_ACTPROPSOUT)) {
		return CERR_MALFORMED;
	}
	dcom_actprops_out_t props;
	if (dcom_actprops_out_decode(o.object_data, o.object_data_len, a, &props) != CERR_OK ||
	    props.n_ifs != n_iids) {
		return CERR_MALFORMED;
	}
	out->oxid = props.oxid;
	out->bindings = props.oxid_bindings;
	out->ipid_remunknown = props.ipid_remunknown;
	out->authn_hint = props.authn_hint;
	out->server_version = props.server_version;
	out->n_ifaces = props.n_ifs;
	out->ifaces = arena_array(a, props.n_ifs, sizeof(*out->ifaces));
	if (!out->ifaces) {
		return CERR_NOMEM;
	}
	for (uint32_t i = 0; i < props.n_ifs; i++) {
		dcom_client_iface_t *f = &out->ifaces[i];
		memset(f, 0, sizeof(*f));
		f->iid = iids[i];
		f->hresult = props.hresults[i];
		if (!guid_equal(&props.iids[i], &iids[i])) {
			return CERR_MALFORMED; /* PropsOutInfo answers the IIDs in the order asked */
		}
		if (f->hresult != 0) {
			continue;
		}
		/* each interface pointer is an OBJREF_STANDARD (MS-DCOM 2.2.18.4) */
		dcom_objref_t io;
		cur_init(&c, props.ifaces[i].data, props.ifaces[i].len);
		if (!props.ifaces[i].data || dcom_objref_decode(&c, a, &io) != CERR_OK ||
		    io.flags != OBJREF_STANDARD) {
			return CERR_MALFORMED;
		}
		f->ipid = io.std.ipid;
		f->oid = io.std.oid;
		f->public_refs = io.std.public_refs;
	}
	return CERR_OK;
}

static void set_err(rpc_client_error_t *err, cerr_t e, const char *fmt, const char *what)
{
	if (!err) {
		return;
	}
	memset(err, 0, sizeof(*err));
	err->status = e;
	snprintf(err->detail, sizeof(err->detail), fmt, what);
}

cerr_t dcom_client_open(const char *host, uint16_t port, const guid_t *iid, const rpc_client_auth_t *auth,
			const rpc_client_config_t *cfg, rpc_client_t **out, rpc_client_error_t *err)
{
	*out = NULL;
	rpc_client_t *c = NULL;
	cerr_t e = rpc_client_connect(&c, host, port, cfg);
	if (e != CERR_OK) {
		char where[200];
		snprintf(where, sizeof(where), "%.180s:%u", host, (unsigned)port);
		set_err(err, e, "cannot connect to %s", where);
		return e;
	}
	e = rpc_client_bind(c, iid, 0, 0, auth);
	if (e != CERR_OK) {
		if (err) {
			rpc_client_last_error(c, err);
		}
		rpc_client_free(c);
		return e;
	}
	*out = c;
	return CERR_OK;
}

cerr_t dcom_client_call(rpc_client_t *c, const guid_t *ipid, uint16_t opnum, const buf_t *stub, uint8_t **resp,
			size_t *resp_len, cur_t *body)
{
	*resp = NULL;
	*resp_len = 0;
	if (!buf_ok(stub)) {
		return CERR_NOMEM;
	}
	cerr_t e = rpc_client_call(c, opnum, ipid, stub->data, stub->len, resp, resp_len);
	if (e != CERR_OK) {
		return e;
	}
	cur_init(body, *resp, *resp_len);
	orpcthat_t that;
	if (!dcom_get_orpcthat(body, &that)) {
		free(*resp);
		*resp = NULL;
		*resp_len = 0;
		return CERR_MALFORMED;
	}
	return CERR_OK;
}

cerr_t dcom_client_activate(const char *host, uint16_t port, const rpc_client_auth_t *auth,
			    const rpc_client_config_t *cfg, const guid_t *clsid, const guid_t *iids, size_t n_iids,
			    arena_t *a, dcom_client_activation_t *out, rpc_client_error_t *err)
{
	memset(out, 0, sizeof(*out));
	if (err) {
		memset(err, 0, sizeof(*err));
	}
	rpc_client_t *c = NULL;
	cerr_t e = dcom_client_open(host, port, &DCOM_IID_IREMOTESCMACTIVATOR, auth, cfg, &c, err);
	if (e != CERR_OK) {
		return e;
	}
	buf_t stub;
	buf_init(&stub, 0);
	guid_t cid;
	guid_random(&cid);
	uint8_t *resp = NULL;
	size_t resp_len = 0;
	e = dcom_client_encode_create_instance(&stub, &cid, clsid, iids, n_iids);
	if (e == CERR_OK) {
		/* the activator is not an object: no object UUID (MS-DCOM 3.1.2.5.2.3) */
		e = rpc_client_call(c, DCOM_OPNUM_REMOTE_CREATE_INSTANCE, NULL, stub.data, stub.len, &resp, &resp_len);
		if (e != CERR_OK && err) {
			rpc_client_last_error(c, err);
		}
	}
	if (e == CERR_OK) {
		cur_t in;
		cur_init(&in, resp, resp_len);
		e = dcom_client_decode_create_instance(&in, a, iids, n_iids, out);
		if (e != CERR_OK) {
			set_err(err, e, "%s", "the activator's reply could not be decoded");
		}
	}
	free(resp);
	buf_free(&stub);
	rpc_client_free(c);
	return e;
}

/* split_binding splits "host[port]" (MS-DCOM 2.2.19.3; the endpoint may be
 * absent) into the arena; *port 0 when there is none. */
static bool split_binding(const char *addr, arena_t *a, const char **host, uint16_t *port)
{
	const char *br = strchr(addr, '[');
	*port = 0;
	if (!br) {
		*host = arena_strdup(a, addr);
		return *host != NULL;
	}
	size_t hl = (size_t)(br - addr);
	char *h = arena_alloc(a, hl + 1);
	if (!h) {
		return false;
	}
	memcpy(h, addr, hl);
	h[hl] = 0;
	*host = h;
	unsigned long v = 0;
	const char *p = br + 1;
	while (*p >= '0' && *p <= '9' && v <= 65535) {
		v = v * 10 + (unsigned long)(*p - '0');
		p++;
	}
	if (*p != ']' || p == br + 1 || v == 0 || v > 65535) {
		return false;
	}
	*port = (uint16_t)v;
	return true;
}

bool dcom_client_object_port(const dcom_client_activation_t *act, const char *dialled, arena_t *a, uint16_t *port,
			     const char **binding_host)
{
	bool found = false;
	*port = 0;
	*binding_host = NULL;
	for (size_t i = 0; i < act->bindings.n_str; i++) {
		const dcom_string_binding_t *s = &act->bindings.str[i];
		const char *h;
		uint16_t p;
		if (s->tower_id != DCOM_TOWER_NCACN_IP_TCP || !s->addr || !split_binding(s->addr, a, &h, &p) || !p) {
			continue;
		}
		if (!found || strcasecmp(h, dialled) == 0) {
			*port = p;
			*binding_host = h;
			found = true;
		}
		if (strcasecmp(h, dialled) == 0) {
			break;
		}
	}
	return found;
}

cerr_t dcom_client_encode_rem_release(buf_t *b, const guid_t *ipid, uint32_t public_refs, uint32_t private_refs)
{
	/* RemRelease(cInterfaceRefs, [size_is(cInterfaceRefs)] REMINTERFACEREF[])
	 * (MS-DCOM 3.1.1.5.6.1.3); REMINTERFACEREF {IPID, cPublicRefs, cPrivateRefs} */
	ndr_put_u16(b, 1);
	ndr_put_conformance(b, 1);
	ndr_put_guid(b, ipid);
	ndr_put_u32(b, public_refs);
	ndr_put_u32(b, private_refs);
	return buf_ok(b) ? CERR_OK : CERR_NOMEM;
}

cerr_t dcom_client_rem_release(const char *host, uint16_t port, const rpc_client_auth_t *auth,
			       const rpc_client_config_t *cfg, const dcom_client_activation_t *act,
			       const dcom_client_iface_t *iface, uint32_t *hresult, rpc_client_error_t *err)
{
	*hresult = 0;
	rpc_client_t *c = NULL;
	cerr_t e = dcom_client_open(host, port, &DCOM_IID_IREMUNKNOWN, auth, cfg, &c, err);
	if (e != CERR_OK) {
		return e;
	}
	buf_t stub;
	buf_init(&stub, 0);
	dcom_client_begin(&stub);
	e = dcom_client_encode_rem_release(&stub, &iface->ipid, iface->public_refs ? iface->public_refs : 1, 0);
	uint8_t *resp = NULL;
	size_t resp_len = 0;
	cur_t body;
	if (e == CERR_OK) {
		/* IRemUnknown is addressed by the IPID the activation reply names */
		e = dcom_client_call(c, &act->ipid_remunknown, DCOM_OPNUM_REM_RELEASE, &stub, &resp, &resp_len, &body);
		if (e != CERR_OK && e != CERR_MALFORMED && err) {
			rpc_client_last_error(c, err);
		}
	}
	if (e == CERR_OK && (!ndr_get_u32(&body, hresult) || !cur_empty(&body))) {
		e = CERR_MALFORMED;
	}
	free(resp);
	buf_free(&stub);
	rpc_client_free(c);
	return e;
}
