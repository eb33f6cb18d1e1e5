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
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	ndr_put_u32(b, resp->request_id);
	ndr_put_u32(b, resp->disposition);
	ndr_put_blob(b, &ids, &resp->cert_chain);
	ndr_put_blob(b, &ids, &resp->encoded_cert);
	ndr_put_blob(b, &ids, &resp->disposition_message);
	ndr_put_u32(b, resp->status);
	return buf_ok(b) ? CERR_OK : CERR_NOMEM;
}

/* The client caps response blobs generously: a chain of a few certificates
 * is a few KiB; 4 MiB bounds what a hostile server can make us hold. */
#define ICPR_MAX_RESPONSE_BLOB (4u * 1024u * 1024u)

cerr_t icpr_decode_response(cur_t *in, arena_t *a, icpr_response_t *out)
{
	memset(out, 0, sizeof(*out));
	if (!ndr_get_u32(in, &out->request_id) || !ndr_get_u32(in, &out->disposition) ||
	    !ndr_get_blob(in, a, ICPR_MAX_RESPONSE_BLOB, &out->cert_chain) ||
	    !ndr_get_blob(in, a, ICPR_MAX_RESPONSE_BLOB, &out->encoded_cert) ||
	    !ndr_get_blob(in, a, ICPR_MAX_RESPONSE_BLOB, &out->disposition_message) ||
	    !ndr_get_u32(in, &out->status) || !cur_empty(in)) {
		return CERR_MALFORMED;
	}
	return CERR_OK;
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
	buf_t b;
	buf_init(&b, ICPR_MAX_ATTRIBS_BYTES * 8);
	size_t units;
	memset(out, 0, sizeof(*out));
	if (!utf8_to_utf16le(&b, utf8, true, &units)) {
		buf_free(&b);
		return CERR_INVALID_ARG;
	}
	if (!buf_ok(&b) || b.len > UINT32_MAX) {
		buf_free(&b);
		return CERR_NOMEM;
	}
	uint8_t *p = arena_memdup(a, b.data, b.len);
	size_t len = b.len;
	buf_free(&b);
	if (!p) {
		return CERR_NOMEM;
	}
	out->data = p;
	out->len = (uint32_t)len;
	return CERR_OK;
}

char *icpr_blob_to_utf8(const ndr_blob_t *blob, arena_t *a)
{
	if (!blob->data || blob->len < 2) {
		return arena_strdup(a, "");
	}
	cur_t c;
	cur_init(&c, blob->data, blob->len & ~(uint32_t)1);
	char *tmp = utf16le_to_utf8(&c, cur_len(&c) / 2);
	if (!tmp) {
		return NULL;
	}
	char *s = arena_strdup(a, tmp);
	free(tmp);
	return s;
}

/* ---- the service ---- */

/* What the interface's data points to: the CA and this interface's settings. */
typedef struct icpr_service {
	ca_t *ca;
	icpr_config_t cfg;
} icpr_service_t;

#define ANONYMOUS_LOGON "NT AUTHORITY\\ANONYMOUS LOGON"
#define REASON_NOT_ENCRYPTED "the request was not encrypted (IF_ENFORCEENCRYPTICERTREQUEST)"
#define REASON_ICPR_DISABLED "requests over MS-ICPR are disabled (IF_NORPCICERTREQUEST)"

void icpr_config_default(icpr_config_t *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->interface_flags = ICPR_IF_ENFORCEENCRYPTICERTREQUEST;
	cfg->allow_empty_authority = true;
}

/* requester_name is "DOMAIN\user" as Windows names the caller (MS-WCCE
 * 3.2.1.4.1.2), or ANONYMOUS LOGON when nobody authenticated. */
static const char *requester_name(const rpc_call_t *call)
{
	const rpc_identity_t *id = call->conn ? call->conn->identity : NULL;
	if (!id || id->anonymous || !id->user || !*id->user) {
		return ANONYMOUS_LOGON;
	}
	if (!id->domain || !*id->domain) {
		return arena_strdup(call->arena, id->user);
	}
	size_t n = strlen(id->domain) + 1 + strlen(id->user) + 1;
	char *s = arena_alloc(call->arena, n);
	if (!s) {
		return NULL;
	}
	snprintf(s, n, "%s\\%s", id->domain, id->user);
	return s;
}

/* refuse answers a call turned away before processing: the HRESULT is the
 * method's return value (and, for clients that only read it, also
 * pdwDisposition); no request ID is assigned, nothing is stored. */
static cerr_t refuse(rpc_call_t *call, cerr_t hr, const char *message)
{
	icpr_response_t resp = {.disposition = cerr_value(hr), .status = cerr_value(hr)};
	if (message && icpr_utf16_blob(message, call->arena, &resp.disposition_message) != CERR_OK) {
		memset(&resp.disposition_message, 0, sizeof(resp.disposition_message));
	}
	return icpr_encode_response(call->out, &resp);
}

/* audit_refusal records a request turned away before the CA saw it, as
 * event 4888 (denied) with RequestId 0, so it appears where an administrator
 * looks for denials; and in the diagnostic log. */
static void audit_refusal(const icpr_service_t *svc, const rpc_call_t *call, const char *requester, cerr_t hr,
			  const char *reason)
{
	const rpc_conn_info_t *conn = call->conn;
	log_warn("ICPR request from %s (%s) refused: %s (auth level %u)", requester,
		 conn && conn->peer_addr ? conn->peer_addr : "?", reason, conn ? conn->auth_level : 0);
	events_t *ev = svc->cfg.events ? svc->cfg.events : ca_events(svc->ca);
	events_field_t f[] = {
		EVF_INT("RequestId", 0),
		EVF_STR("Requester", requester),
		EVF_STR("ClientAddress", conn ? conn->peer_addr : NULL),
		EVF_STR("Protocol", "ICPR"),
		EVF_INT("AuthenticationLevel", conn ? conn->auth_level : 0),
		EVF_HEX32("Hresult", cerr_value(hr)),
		EVF_STR("HresultName", cerr_name(hr)),
		EVF_STR("Reason", reason),
	};
	events_emit(ev, EVENT_CS_REQUEST_DENIED, EVENTS_LOG_SECURITY, EVENTS_SOURCE_SECURITY_AUDITING, EVENTS_INFO,
		    f, sizeof(f) / sizeof(f[0]));
}

cerr_t icpr_cert_server_request(rpc_call_t *call)
{
	const icpr_service_t *svc = call->iface_data;
	icpr_request_t req;
	cerr_t e = icpr_decode_request(&call->in, call->arena, &req);
	if (e != CERR_OK) {
		return e; /* the runtime answers nca_s_fault_ndr */
	}
	const char *requester = requester_name(call);
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
	bool empty_name = !req.authority || !*req.authority;
	if (empty_name ? !svc->cfg.allow_empty_authority : !ca_authority_matches(svc->ca, req.authority)) {
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

	ca_request_in_t in = {
		.flags = req.flags,
		.authority = NULL, /* checked above, with the empty-name policy */
		.request_id = req.request_id,
		.attributes = attributes,
		.request = req.request.data,
		.request_len = req.request.len,
		.requester = requester,
		.client_addr = call->conn ? call->conn->peer_addr : NULL,
		.protocol = "ICPR",
	};
	ca_request_out_t out;
	e = ca_submit(svc->ca, &in, &out);
	if (e != CERR_OK) {
		/* the CA could not process or record it; out still says what to send */
		log_error("ICPR request from %s: the CA failed: %s", requester, cerr_msg(e));
	}
	icpr_response_t resp = {
		.request_id = out.request_id,
		.disposition = out.wire_disposition,
		.cert_chain = {.len = (uint32_t)out.chain_len, .data = out.chain},
		.encoded_cert = {.len = (uint32_t)out.cert_len, .data = out.cert},
		.status = 0,
	};
	cerr_t me = out.message ? icpr_utf16_blob(out.message, call->arena, &resp.disposition_message) : CERR_OK;
	if (me == CERR_NOMEM) {
		ca_request_out_free(&out);
		return me;
	}
	e = icpr_encode_response(call->out, &resp);
	ca_request_out_free(&out);
	return e;
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
