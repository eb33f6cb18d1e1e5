/*
 * enroll.h - what the two enrollment front ends share: MS-ICPR
 * CertServerRequest (icpr.c) and MS-WCCE ICertRequestD::Request /
 * ICertRequestD2::Request2 (wcce.c) run the same MS-WCCE 3.2.1.4.2.1
 * processing. Here: the CA's interface flags, the caller's name as Windows
 * writes it, the CA-name check, the audit record of a refusal, the UTF-16
 * blobs, the response stub both methods return (codec included), and one
 * call into ca_submit whose outcome lands in the call arena.
 */
#ifndef CERTA_SERVICES_ENROLL_H
#define CERTA_SERVICES_ENROLL_H

#include <stdbool.h>
#include <stdint.h>

#include "ca/ca.h"
#include "events/events.h"
#include "rpc/iface.h"
#include "rpc/ndr.h"
#include "util/arena.h"
#include "util/cursor.h"
#include "util/err.h"

/* Config.CA.Interface.Flags bits (MS-WCCE 3.2.1.1.4; values from certsrv.h
 * as published, e.g. windows-rs metadata: IF_ENFORCEENCRYPTICERTREQUEST = 512). */
#define ENROLL_IF_NOREMOTEICERTREQUEST 0x00000002u       /* WCCE refused (CERTSRV_E_ENROLL_DENIED) */
#define ENROLL_IF_NORPCICERTREQUEST 0x00000008u          /* ICPR refused */
#define ENROLL_IF_ENFORCEENCRYPTICERTREQUEST 0x00000200u /* below PKT_PRIVACY refused (both) */

/* The name Windows gives an unauthenticated caller. */
#define ENROLL_ANONYMOUS_LOGON "NT AUTHORITY\\ANONYMOUS LOGON"

/* enroll_requester_name is "DOMAIN\user" as Windows names the caller
 * (MS-WCCE 3.2.1.4.1.2), in the call arena, or ANONYMOUS LOGON when nobody
 * authenticated. NULL only when the arena is exhausted. */
const char *enroll_requester_name(const rpc_call_t *call);

/* enroll_authority_ok applies MS-WCCE 3.2.1.4.2.1.1: the name is this CA's
 * common name or sanitized name (any case); a NULL or empty name passes only
 * when empty_allowed. */
bool enroll_authority_ok(const ca_t *ca, const char *authority, bool empty_allowed);

/* enroll_audit_refusal records a request turned away before the CA saw it
 * as event 4888 (denied) with RequestId 0, so it appears where an
 * administrator looks for denials, and logs it. ev NULL = the CA's log.
 * protocol is "ICPR" or "WCCE". */
void enroll_audit_refusal(ca_t *ca, events_t *ev, const rpc_call_t *call, const char *protocol,
			  const char *requester, cerr_t hr, const char *reason);

/* enroll_utf16_blob encodes utf8 as UTF-16LE with its NUL into the arena
 * (pctbAttribs, pctbDispositionMessage, string properties); cb counts the
 * NUL. CERR_INVALID_ARG on invalid UTF-8, CERR_NOMEM. */
cerr_t enroll_utf16_blob(const char *utf8, arena_t *a, ndr_blob_t *out);
/* enroll_blob_to_utf8 decodes a UTF-16LE blob (NUL optional) into the arena;
 * "" for an empty blob, NULL on invalid UTF-16 or no memory. */
char *enroll_blob_to_utf8(const ndr_blob_t *blob, arena_t *a);

/* One request as both front ends have it once unmarshalled and checked. */
typedef struct enroll_request {
	const char *protocol;   /* "ICPR" / "WCCE" for the log and events */
	const char *requester;  /* enroll_requester_name */
	uint32_t flags;         /* dwFlags */
	uint32_t request_id;    /* 0 new, N retrieve */
	const char *attributes; /* UTF-8; NULL = none */
	ndr_blob_t request;     /* empty = retrieval */
} enroll_request_t;

/* The [out] parameters and return value of CertServerRequest (MS-ICPR
 * 3.2.4.1.1) and of Request/Request2 (MS-WCCE 3.2.1.4.2.1, 3.2.1.4.3.1):
 * the same fields in the same order on the wire, so one type
 * (icpr_response_t and wcce_response_t name it) and one codec. */
typedef struct enroll_response {
	uint32_t request_id;            /* *pdwRequestId */
	uint32_t disposition;           /* *pdwDisposition: CR_DISP_* or an HRESULT */
	ndr_blob_t cert_chain;          /* pctbCert / pctbCertChain / pctbFullResponse: CMS with the chain, or empty */
	ndr_blob_t encoded_cert;        /* pctbEncodedCert: DER certificate, or empty */
	ndr_blob_t disposition_message; /* pctbDispositionMessage: UTF-16LE with NUL, or empty */
	uint32_t status;                /* the method's return value */
} enroll_response_t;

/* enroll_encode_response writes the response stub (server side). */
cerr_t enroll_encode_response(buf_t *b, const enroll_response_t *resp);
/* enroll_decode_response parses a response stub (client side); blobs are
 * copied into a, each at most 4 MiB. CERR_MALFORMED on bad NDR, a larger
 * blob or bytes left over. */
cerr_t enroll_decode_response(cur_t *in, arena_t *a, enroll_response_t *out);

/* enroll_answer writes the response to a request answered without the CA:
 * disposition and return value as given, no request ID or certificate, and
 * message (UTF-8, NULL for none) as the disposition message - left empty if
 * it cannot be encoded. */
cerr_t enroll_answer(rpc_call_t *call, uint32_t disposition, uint32_t status, const char *message);

/* enroll_submit runs the request through ca_submit and copies what goes on
 * the wire into call->arena; out->status is 0. CERR_OK whenever *out holds
 * an answer (a CA that could not process the request still gives one:
 * CR_DISP_ERROR with an HRESULT, logged); CERR_NOMEM when the arena is
 * exhausted. */
cerr_t enroll_submit(ca_t *ca, rpc_call_t *call, const enroll_request_t *req, enroll_response_t *out);

#endif
