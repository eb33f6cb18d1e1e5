/*
 * icpr.h - MS-ICPR, the ICertPassage interface (91ae6020-9e3c-11cf-8d7c-
 * 00aa00c091be v0.0): one method, CertServerRequest (opnum 0), through which
 * Windows (certreq -rpc, older autoenrollment), Certipy and adsys submit a
 * certificate request and retrieve its result over plain DCE/RPC. The stub
 * codecs (both directions, so `certa req` shares them) and the server's
 * operation handler, which hands requests to the CA core (ca_submit).
 */
#ifndef CERTA_SERVICES_ICPR_H
#define CERTA_SERVICES_ICPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ca/ca.h"
#include "events/events.h"
#include "rpc/iface.h"
#include "rpc/ndr.h"
#include "services/enroll.h"
#include "util/arena.h"
#include "util/cursor.h"
#include "util/err.h"
#include "util/guid.h"

extern const guid_t ICPR_UUID; /* 91ae6020-9e3c-11cf-8d7c-00aa00c091be */
#define ICPR_VERS_MAJOR 0
#define ICPR_VERS_MINOR 0
#define ICPR_OPNUM_CERT_SERVER_REQUEST 0

/* Config.CA.Interface.Flags bits (services/enroll.h; MS-WCCE 3.2.1.1.4). */
#define ICPR_IF_NOREMOTEICERTREQUEST ENROLL_IF_NOREMOTEICERTREQUEST /* WCCE only; ignored by ICPR (MS-ICPR 3.2.4.1.1) */
#define ICPR_IF_NORPCICERTREQUEST ENROLL_IF_NORPCICERTREQUEST       /* ICPR refused altogether */
#define ICPR_IF_ENFORCEENCRYPTICERTREQUEST ENROLL_IF_ENFORCEENCRYPTICERTREQUEST /* below PKT_PRIVACY refused */

/* Dispositions (certcli.h; MS-WCCE 3.2.1.4.2.1) */
#define ICPR_DISP_INCOMPLETE 0u
#define ICPR_DISP_ERROR 1u
#define ICPR_DISP_DENIED 2u
#define ICPR_DISP_ISSUED 3u
#define ICPR_DISP_ISSUED_OUT_OF_BAND 4u
#define ICPR_DISP_UNDER_SUBMISSION 5u
#define ICPR_DISP_REVOKED 6u

/* Limits on what a caller may send. ICPR has no range() on the authority;
 * WCCE caps it at 1536 characters, which we apply to both. The attribute
 * string is bounded by the attribute parser's own cap (ATTRIB_MAX_INPUT
 * characters, as UTF-16 bytes); a request blob of 1 MiB holds any CSR or CMC
 * request with an archived key. */
#define ICPR_MAX_AUTHORITY_CHARS 1536u
#define ICPR_MAX_ATTRIBS_BYTES (128u * 1024u)
#define ICPR_MAX_REQUEST_BYTES (1024u * 1024u)

typedef struct icpr_config {
	uint32_t interface_flags; /* ICPR_IF_*; default ICPR_IF_ENFORCEENCRYPTICERTREQUEST */
	/* Accept a NULL or empty pwszAuthority as "this CA". Windows refuses it
	 * (MS-WCCE 3.2.1.4.2.1 step 1 verifies the name with EmptyNameAllowed
	 * false); certa accepts it by default so `certa req` works without
	 * knowing the CA's name. Windows clients always send the name. */
	bool allow_empty_authority;
	events_t *events; /* audit log for refusals before the CA core runs; may be NULL */
} icpr_config_t;

/* icpr_config_default: IF_ENFORCEENCRYPTICERTREQUEST on, empty authority allowed, no events. */
void icpr_config_default(icpr_config_t *cfg);

/* icpr_iface_init fills *out with the ICertPassage interface served by ca
 * (borrowed; must outlive the server). out->data is an icpr_service_t holding
 * ca and a copy of cfg (NULL = defaults); release it with icpr_iface_cleanup
 * after the server has stopped. Registers for the dynamic port through the
 * endpoint mapper (Windows clients find ICPR with ept_map). */
cerr_t icpr_iface_init(rpc_iface_t *out, ca_t *ca, const icpr_config_t *cfg);
void icpr_iface_cleanup(rpc_iface_t *iface);

/* The [in] parameters of CertServerRequest, decoded (MS-ICPR 3.2.4.1.1). */
typedef struct icpr_request {
	uint32_t flags;        /* dwFlags (MS-WCCE 3.2.1.4.3.1.1) */
	const char *authority; /* pwszAuthority as UTF-8, NULL for a NULL pointer */
	uint32_t request_id;   /* *pdwRequestId: 0 new, N retrieve */
	ndr_blob_t attribs;    /* pctbAttribs: UTF-16LE string with NUL, as sent */
	ndr_blob_t request;    /* pctbRequest: DER PKCS#10 / CMS / CMC; empty = retrieval */
} icpr_request_t;

/* The [out] parameters and the DWORD return value (status): the same as
 * ICertRequestD::Request's, so enroll.h's type. disposition is ICPR_DISP_* or
 * an HRESULT; cert_chain is pctbCert. */
typedef enroll_response_t icpr_response_t;

/* icpr_decode_request parses a request stub (cursor base = stub start).
 * Blobs and strings are copied into a. CERR_MALFORMED on bad NDR or a value
 * beyond the ICPR_MAX_* limits (the runtime answers nca_s_fault_ndr). */
cerr_t icpr_decode_request(cur_t *in, arena_t *a, icpr_request_t *out);
/* icpr_encode_request writes a request stub (client side). */
cerr_t icpr_encode_request(buf_t *b, const icpr_request_t *req);
/* icpr_encode_response writes a response stub (server side):
 * enroll_encode_response. */
cerr_t icpr_encode_response(buf_t *b, const icpr_response_t *resp);
/* icpr_decode_response parses a response stub (client side); blobs copied
 * into a: enroll_decode_response. */
cerr_t icpr_decode_response(cur_t *in, arena_t *a, icpr_response_t *out);

/* icpr_attribs_to_utf8 checks pctbAttribs as MS-ICPR 3.2.4.1.1 requires (cb
 * equal to the string's bytes including its NUL; valid UTF-16) and converts
 * it into the arena. An empty blob gives "". CERR_E_INVALIDARG otherwise. */
cerr_t icpr_attribs_to_utf8(const ndr_blob_t *blob, arena_t *a, char **out);
/* icpr_utf16_blob encodes utf8 as UTF-16LE with NUL into the arena (for
 * pctbAttribs and pctbDispositionMessage). CERR_INVALID_ARG on invalid UTF-8. */
cerr_t icpr_utf16_blob(const char *utf8, arena_t *a, ndr_blob_t *out);
/* icpr_blob_to_utf8 decodes a UTF-16LE blob (NUL optional) into the arena
 * (for reading pctbDispositionMessage). NULL on invalid input. */
char *icpr_blob_to_utf8(const ndr_blob_t *blob, arena_t *a);

/* icpr_cert_server_request is the opnum 0 handler (exposed for tests). */
cerr_t icpr_cert_server_request(rpc_call_t *call);

#endif
