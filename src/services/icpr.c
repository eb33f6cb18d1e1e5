/*
 * icpr.c - MS-ICPR ICertPassage (see icpr.h): the CertServerRequest stub in
 * both directions and the server handler. The handler checks what MS-ICPR
 * 3.2.4.1.1 checks before processing (interface flags, the CA name, the
 * attribute blob's length), then runs the MS-WCCE Request processing through
 * ca_submit and maps its result onto the out-parameters the way Windows does:
 * a refusal before processing is the method's return value; a denial or
 * error during processing is an HRESULT in pdwDisposition with return 0.
 */
#include "services/icpr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/pdu.h"
#include "util/log.h"
#include "util/utf16.h"

const guid_t ICPR_UUID = {0x91ae6020, 0x9e3c, 0x11cf, {0x8d, 0x7c, 0x00, 0xaa, 0x00, 0xc0, 0x91, 0xbe}};

/* ---- stub codecs ---- */

cerr_t icpr_decode_request(cur_t *in, arena_t *a, icpr_request_t *out)
{
	char *authority = NULL;
	memset(out, 0, sizeof(*out));
	/* C706 ch. 14 in wire order; each top-level [ref] CERTTRANSBLOB is inline
	 * with its deferred bytes right after it. */
	if (!ndr_get_u32(in, &out->flags) ||
	    !ndr_get_unique_wstring(in, a, ICPR_MAX_AUTHORITY_CHARS, &authority) ||
	    !ndr_get_u32(in, &out->request_id) || !ndr_get_blob(in, a, ICPR_MAX_ATTRIBS_BYTES, &out->attribs) ||
	    !ndr_get_blob(in, a, ICPR_MAX_REQUEST_BYTES, &out->request)) {
		return CERR_MALFORMED;
	}
	out->authority = authority;
	return CERR_OK;
}

cerr_t icpr_encode_request(buf_t *b, const icpr_request_t *req)
{
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	ndr_put_u32(b, req->flags);
	ndr_put_unique_wstring(b, &ids, req->authority);
	ndr_put_u32(b, req->request_id);
	ndr_put_blob(b, &ids, &req->attribs);
	ndr_put_blob(b, &ids, &req->request);
	return buf_ok(b) ? CERR_OK : CERR_NOMEM;
}

cerr_t icpr_encode_response(buf_t *b, const icpr_response_t *resp)
{
	return enroll_encode_response(b, resp);
}

cerr_t icpr_decode_response(cur_t *in, arena_t *a, icpr_response_t *out)
{
	return enroll_decode_response(in, a, out);
}

cerr_t icpr_attribs_to_utf8(const ndr_blob_t *blob, arena_t *a, char **out)
{
	*out = NULL;
	if (blob->len == 0) {
		/* 0/NULL is MS-WCCE 2.2.2.2's empty blob: no attributes (Certipy
		 * retrieves with it). */
		*out = arena_strdup(a, "");
		return *out ? CERR_OK : CERR_NOMEM;
	}
	cur_t c;
	cur_init(&c, blob->data, blob->len);
	/* MS-ICPR 3.2.4.1.1: cb MUST be the string's length in bytes including
	 * the terminating NUL, else E_INVALIDARG. So: even, and the first NUL
	 * unit is the last unit. */
	if (blob->len % 2 != 0) {
		return CERR_E_INVALIDARG;
	}
	size_t units = blob->len / 2;
	cur_t scan = c;
	for (size_t i = 0; i < units; i++) {
		uint16_t u;
		if (!cur_get_u16le(&scan, &u)) {
			return CERR_E_INVALIDARG;
		}
		if (u == 0 && i + 1 != units) {
			return CERR_E_INVALIDARG;
		}
		if (u != 0 && i + 1 == units) {
			return CERR_E_INVALIDARG;
		}
	}
	char *tmp = utf16le_to_utf8(&c, units);
	if (!tmp) {
		return CERR_E_INVALIDARG; /* lone surrogates */
	}
	*out = arena_strdup(a, tmp);
	free(tmp);
	return *out ? CERR_OK : CERR_NOMEM;
}

cerr_t icpr_utf16_blob(const char *utf8, arena_t *a, ndr_blob_t *out)
{
	return enroll_utf16_blob(utf8, a, out);
}

char *icpr_blob_to_utf8(const ndr_blob_t *blob, arena_t *a)
{
	return enroll_blob_to_utf8(blob, a);
}

/* ---- the service ---- */

/* What the interface's data points to: the CA and this interface's settings. */
typedef struct icpr_service {
	ca_t *ca;
	icpr_config_t cfg;
} icpr_service_t;

#define REASON_NOT_ENCRYPTED "the request was not encrypted (IF_ENFORCEENCRYPTICERTREQUEST)"
#define REASON_ICPR_DISABLED "requests over MS-ICPR are disabled (IF_NORPCICERTREQUEST)"

void icpr_config_default(icpr_config_t *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->interface_flags = ICPR_IF_ENFORCEENCRYPTICERTREQUEST;
	cfg->allow_empty_authority = true;
}

/* refuse answers a call turned away before processing: the HRESULT is the
 * method's return value (and, for clients that only read it, also
 * pdwDisposition); no request ID is assigned, nothing is stored. */
static cerr_t refuse(rpc_call_t *call, cerr_t hr, const char *message)
{
	return enroll_answer(call, cerr_value(hr), cerr_value(hr), message);
}

/* audit_refusal records a refusal before processing (event 4888, enroll.h). */
static void audit_refusal(const icpr_service_t *svc, const rpc_call_t *call, const char *requester, cerr_t hr,
			  const char *reason)
{
	enroll_audit_refusal(svc->ca, svc->cfg.events, call, "ICPR", requester, hr, reason);
}

cerr_t icpr_cert_server_request(rpc_call_t *call)
{
	const icpr_service_t *svc = call->iface_data;
	icpr_request_t req;
	cerr_t e = icpr_decode_request(&call->in, call->arena, &req);
	if (e != CERR_OK) {
		return e; /* the runtime answers nca_s_fault_ndr */
	}
	const char *requester = enroll_requester_name(call);
	if (!requester) {
		return CERR_NOMEM;
	}
	uint8_t level = call->conn ? call->conn->auth_level : RPC_AUTH_LEVEL_NONE;

	/* MS-ICPR 3.2.4.1.1: IF_NORPCICERTREQUEST - the server SHOULD return an error. */
	if (svc->cfg.interface_flags & ICPR_IF_NORPCICERTREQUEST) {
		audit_refusal(svc, call, requester, CERR_E_ACCESSDENIED, REASON_ICPR_DISABLED);
		return refuse(call, CERR_E_ACCESSDENIED, "Denied: " REASON_ICPR_DISABLED ".");
	}
	/* MS-ICPR 3.2.4.1.1: with IF_ENFORCEENCRYPTICERTREQUEST, a connection below
	 * PKT_PRIVACY is refused with E_ACCESSDENIED (the NTLM-relay defence
	 * against ESC11). The spec prints 0x80000009; Windows sends 0x80070005. */
	if ((svc->cfg.interface_flags & ICPR_IF_ENFORCEENCRYPTICERTREQUEST) && level < RPC_AUTH_LEVEL_PKT_PRIVACY) {
		audit_refusal(svc, call, requester, CERR_E_ACCESSDENIED, REASON_NOT_ENCRYPTED);
		return refuse(call, CERR_E_ACCESSDENIED, "Denied: " REASON_NOT_ENCRYPTED ".");
	}
	/* MS-WCCE 3.2.1.4.2.1 step 1 (3.2.1.4.2.1.1): the name must be this CA's. */
	if (!enroll_authority_ok(svc->ca, req.authority, svc->cfg.allow_empty_authority)) {
		log_info("ICPR request from %s: authority \"%s\" is not this CA (\"%s\")", requester,
			 req.authority ? req.authority : "(null)", ca_name(svc->ca));
		return refuse(call, CERR_E_INVALIDARG, "The certification authority name is not this CA's.");
	}
	/* MS-ICPR 3.2.4.1.1: cb must match the string, else E_INVALIDARG. */
	char *attributes;
	e = icpr_attribs_to_utf8(&req.attribs, call->arena, &attributes);
	if (e == CERR_NOMEM) {
		return e;
	}
	if (e != CERR_OK) {
		log_info("ICPR request from %s: malformed pctbAttribs (cb %u)", requester, req.attribs.len);
		return refuse(call, CERR_E_INVALIDARG, "The request attributes are not a NUL-terminated string.");
	}

	enroll_request_t er = {
		.protocol = "ICPR",
		.requester = requester,
		.flags = req.flags,
		.request_id = req.request_id,
		.attributes = attributes,
		.request = req.request,
	};
	icpr_response_t resp;
	e = enroll_submit(svc->ca, call, &er, &resp);
	if (e != CERR_OK) {
		return e;
	}
	return icpr_encode_response(call->out, &resp);
}

static const rpc_op_fn icpr_ops[] = {
	[ICPR_OPNUM_CERT_SERVER_REQUEST] = icpr_cert_server_request,
};

cerr_t icpr_iface_init(rpc_iface_t *out, ca_t *ca, const icpr_config_t *cfg)
{
	memset(out, 0, sizeof(*out));
	if (!ca) {
		return CERR_INVALID_ARG;
	}
	icpr_service_t *svc = calloc(1, sizeof(*svc));
	if (!svc) {
		return CERR_NOMEM;
	}
	svc->ca = ca;
	if (cfg) {
		svc->cfg = *cfg;
	} else {
		icpr_config_default(&svc->cfg);
	}
	out->name = "ICertPassage";
	out->uuid = ICPR_UUID;
	out->vers_major = ICPR_VERS_MAJOR;
	out->vers_minor = ICPR_VERS_MINOR;
	out->ops = icpr_ops;
	out->n_ops = sizeof(icpr_ops) / sizeof(icpr_ops[0]);
	out->data = svc;
	out->epm_register = true;
	/* The level check is ours (a method return value, as Windows does), not
	 * the runtime's fault: leave min_auth_level at 0. */
	out->min_auth_level = 0;
	return CERR_OK;
}

void icpr_iface_cleanup(rpc_iface_t *iface)
{
	if (!iface) {
		return;
	}
	free(iface->data);
	memset(iface, 0, sizeof(*iface));
}
