/*
 * enroll.c - the processing MS-ICPR CertServerRequest and MS-WCCE
 * Request/Request2 share (see enroll.h): caller name, CA-name check, the
 * refusal audit record, UTF-16 blobs, the response stub's codec, and the
 * ca_submit call whose outcome is copied into the call arena so the front
 * ends only unmarshal the request.
 */
#include "services/enroll.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/utf16.h"

/* Strings we put in blobs are short (messages, names, template lists); the
 * cap only bounds a runaway. */
#define ENROLL_MAX_UTF16_BYTES (1024u * 1024u)

/* The client caps response blobs generously: a chain of a few certificates
 * is a few KiB; 4 MiB bounds what a hostile server can make us hold. */
#define ENROLL_MAX_RESPONSE_BLOB (4u * 1024u * 1024u)

const char *enroll_requester_name(const rpc_call_t *call)
{
	const rpc_identity_t *id = call->conn ? call->conn->identity : NULL;
	if (!id || id->anonymous || !id->user || !*id->user) {
		return ENROLL_ANONYMOUS_LOGON;
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

bool enroll_authority_ok(const ca_t *ca, const char *authority, bool empty_allowed)
{
	if (!authority || !*authority) {
		return empty_allowed;
	}
	return ca_authority_matches(ca, authority);
}

void enroll_audit_refusal(ca_t *ca, events_t *ev, const rpc_call_t *call, const char *protocol,
			  const char *requester, cerr_t hr, const char *reason)
{
	const rpc_conn_info_t *conn = call->conn;
	log_warn("%s request from %s (%s) refused: %s (auth level %u)", protocol, requester,
		 conn && conn->peer_addr ? conn->peer_addr : "?", reason, conn ? conn->auth_level : 0);
	events_field_t f[] = {
		EVF_INT("RequestId", 0),
		EVF_STR("Requester", requester),
		EVF_STR("ClientAddress", conn ? conn->peer_addr : NULL),
		EVF_STR("Protocol", protocol),
		EVF_INT("AuthenticationLevel", conn ? conn->auth_level : 0),
		EVF_HEX32("Hresult", cerr_value(hr)),
		EVF_STR("HresultName", cerr_name(hr)),
		EVF_STR("Reason", reason),
	};
	events_emit(ev ? ev : ca_events(ca), EVENT_CS_REQUEST_DENIED, EVENTS_LOG_SECURITY,
		    EVENTS_SOURCE_SECURITY_AUDITING, EVENTS_INFO, f, sizeof(f) / sizeof(f[0]));
}

cerr_t enroll_utf16_blob(const char *utf8, arena_t *a, ndr_blob_t *out)
{
	buf_t b;
	buf_init(&b, ENROLL_MAX_UTF16_BYTES);
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

char *enroll_blob_to_utf8(const ndr_blob_t *blob, arena_t *a)
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

cerr_t enroll_encode_response(buf_t *b, const enroll_response_t *resp)
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

cerr_t enroll_decode_response(cur_t *in, arena_t *a, enroll_response_t *out)
{
	memset(out, 0, sizeof(*out));
	if (!ndr_get_u32(in, &out->request_id) || !ndr_get_u32(in, &out->disposition) ||
	    !ndr_get_blob(in, a, ENROLL_MAX_RESPONSE_BLOB, &out->cert_chain) ||
	    !ndr_get_blob(in, a, ENROLL_MAX_RESPONSE_BLOB, &out->encoded_cert) ||
	    !ndr_get_blob(in, a, ENROLL_MAX_RESPONSE_BLOB, &out->disposition_message) ||
	    !ndr_get_u32(in, &out->status) || !cur_empty(in)) {
		return CERR_MALFORMED;
	}
	return CERR_OK;
}

cerr_t enroll_answer(rpc_call_t *call, uint32_t disposition, uint32_t status, const char *message)
{
	enroll_response_t resp = {.disposition = disposition, .status = status};
	if (message && enroll_utf16_blob(message, call->arena, &resp.disposition_message) != CERR_OK) {
		memset(&resp.disposition_message, 0, sizeof(resp.disposition_message));
	}
	return enroll_encode_response(call->out, &resp);
}

/* arena_blob copies n bytes into the arena as a blob ({0, NULL} for none). */
static bool arena_blob(arena_t *a, const uint8_t *p, size_t n, ndr_blob_t *out)
{
	memset(out, 0, sizeof(*out));
	if (!p || n == 0) {
		return true;
	}
	if (n > UINT32_MAX) {
		return false;
	}
	out->data = arena_memdup(a, p, n);
	out->len = (uint32_t)n;
	return out->data != NULL;
}

cerr_t enroll_submit(ca_t *ca, rpc_call_t *call, const enroll_request_t *req, enroll_response_t *out)
{
	memset(out, 0, sizeof(*out));
	ca_request_in_t in = {
		.flags = req->flags,
		.authority = NULL, /* the front end checked it, with its empty-name policy */
		.request_id = req->request_id,
		.attributes = req->attributes,
		.request = req->request.data,
		.request_len = req->request.len,
		.requester = req->requester,
		.client_addr = call->conn ? call->conn->peer_addr : NULL,
		.protocol = req->protocol,
	};
	ca_request_out_t res;
	cerr_t e = ca_submit(ca, &in, &res);
	if (e != CERR_OK) {
		/* the CA could not process or record it; res still says what to send */
		log_error("%s request from %s: the CA failed: %s", req->protocol, req->requester, cerr_msg(e));
	}
	out->request_id = res.request_id;
	out->disposition = res.wire_disposition;
	cerr_t rc = CERR_OK;
	if (!arena_blob(call->arena, res.chain, res.chain_len, &out->cert_chain) ||
	    !arena_blob(call->arena, res.cert, res.cert_len, &out->encoded_cert)) {
		rc = CERR_NOMEM;
	} else if (res.message) {
		rc = enroll_utf16_blob(res.message, call->arena, &out->disposition_message);
		if (rc == CERR_INVALID_ARG) {
			/* a message that is not UTF-8 is dropped, not fatal */
			memset(&out->disposition_message, 0, sizeof(out->disposition_message));
			rc = CERR_OK;
		}
	}
	ca_request_out_free(&res);
	return rc;
}
