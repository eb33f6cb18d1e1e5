/*
 * pdu.h - connection-oriented DCE/RPC PDUs (C706 ch. 12, MS-RPCE 2.2.2):
 * decoding into plain structs through the cursor, and encoding through the
 * builder. Decoding never acts; the association (assoc.c) acts on the structs.
 */
#ifndef CERTA_RPC_PDU_H
#define CERTA_RPC_PDU_H

#include <stdbool.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/cursor.h"
#include "util/err.h"
#include "util/guid.h"

enum rpc_ptype {
	RPC_PTYPE_REQUEST = 0,
	RPC_PTYPE_PING = 1,
	RPC_PTYPE_RESPONSE = 2,
	RPC_PTYPE_FAULT = 3,
	RPC_PTYPE_BIND = 11,
	RPC_PTYPE_BIND_ACK = 12,
	RPC_PTYPE_BIND_NAK = 13,
	RPC_PTYPE_ALTER_CONTEXT = 14,
	RPC_PTYPE_ALTER_CONTEXT_RESP = 15,
	RPC_PTYPE_AUTH3 = 16,
	RPC_PTYPE_SHUTDOWN = 17,
	RPC_PTYPE_CO_CANCEL = 18,
	RPC_PTYPE_ORPHANED = 19,
};

/* pfc_flags (C706 12.6.3.1; MS-RPCE 2.2.2.3) */
#define RPC_PFC_FIRST_FRAG 0x01
#define RPC_PFC_LAST_FRAG 0x02
#define RPC_PFC_PENDING_CANCEL 0x04 /* request/response */
#define RPC_PFC_SUPPORT_HEADER_SIGN 0x04 /* bind, bind_ack, alter(_resp), auth3 */
#define RPC_PFC_CONC_MPX 0x10
#define RPC_PFC_DID_NOT_EXECUTE 0x20
#define RPC_PFC_MAYBE 0x40
#define RPC_PFC_OBJECT_UUID 0x80

#define RPC_HDR_LEN 16
#define RPC_SEC_TRAILER_LEN 8
#define RPC_REQUEST_HDR_LEN 24  /* common header + alloc_hint, p_cont_id, opnum */
#define RPC_RESPONSE_HDR_LEN 24 /* common header + alloc_hint, p_cont_id, cancel_count, reserved */
#define RPC_FAULT_LEN 32        /* a whole fault PDU without extended error info (MS-RPCE 2.2.2.8) */
#define RPC_AUTH_PAD_ALIGN 16   /* stub + auth padding is a multiple of this (MS-RPCE 2.2.2.11) */

/* drep[0] high nibble: integer representation (C706 14.2.5); 1 = little-endian */
#define RPC_DREP_LE 0x10

/* fault flags (the C706 reserved byte; MS-RPCE 2.2.2.8) */
#define RPC_FAULT_FLAG_EXTENDED_ERROR 0x01

/* transfer syntax versions (the UUIDs are in iface.h) */
#define RPC_NDR20_VERSION 2u
#define RPC_NDR64_VERSION 1u

/* MS-RPCE 2.2.1.1.2: a bind_nak carrying this signature has extended error
 * information (MS-EERR) after it. 90740320-fad0-11d3-82d7-009027b130ab */
extern const guid_t RPC_BIND_NAK_EEINFO_SIGNATURE;

/* auth types and levels (MS-RPCE 2.2.1.1.7, 2.2.1.1.8) */
enum rpc_auth_type {
	RPC_AUTH_NONE = 0,
	RPC_AUTH_GSS_NEGOTIATE = 9,
	RPC_AUTH_WINNT = 10,
	RPC_AUTH_GSS_SCHANNEL = 14,
	RPC_AUTH_GSS_KERBEROS = 16,
	RPC_AUTH_NETLOGON = 68,
};
enum rpc_auth_level {
	RPC_AUTH_LEVEL_DEFAULT = 0,
	RPC_AUTH_LEVEL_NONE = 1,
	RPC_AUTH_LEVEL_CONNECT = 2,
	RPC_AUTH_LEVEL_CALL = 3,
	RPC_AUTH_LEVEL_PKT = 4,
	RPC_AUTH_LEVEL_PKT_INTEGRITY = 5,
	RPC_AUTH_LEVEL_PKT_PRIVACY = 6,
};

/* p_cont_def_result (C706 12.6.3.1) and provider reasons; MS-RPCE 2.2.2.4 adds negotiate_ack */
enum rpc_ctx_result {
	RPC_CTX_ACCEPT = 0,
	RPC_CTX_USER_REJECT = 1,
	RPC_CTX_PROVIDER_REJECT = 2,
	RPC_CTX_NEGOTIATE_ACK = 3,
};
enum rpc_ctx_reason {
	RPC_REASON_NOT_SPECIFIED = 0,
	RPC_REASON_ABSTRACT_SYNTAX_NOT_SUPPORTED = 1,
	RPC_REASON_TRANSFER_SYNTAX_NOT_SUPPORTED = 2,
	RPC_REASON_LOCAL_LIMIT_EXCEEDED = 3,
};

/* bind_nak reject reasons (C706 12.6.3.1, MS-RPCE 2.2.2.5) */
enum rpc_nak_reason {
	RPC_NAK_NOT_SPECIFIED = 0,
	RPC_NAK_TEMPORARY_CONGESTION = 1,
	RPC_NAK_LOCAL_LIMIT_EXCEEDED = 2,
	RPC_NAK_CALLED_PADDR_UNKNOWN = 3,
	RPC_NAK_PROTOCOL_VERSION_NOT_SUPPORTED = 4,
	RPC_NAK_DEFAULT_CONTEXT_NOT_SUPPORTED = 5,
	RPC_NAK_USER_DATA_NOT_READABLE = 6,
	RPC_NAK_NO_PSAP_AVAILABLE = 7,
	RPC_NAK_AUTHENTICATION_TYPE_NOT_RECOGNIZED = 8,
	RPC_NAK_INVALID_CHECKSUM = 9,
};

typedef struct rpc_hdr {
	uint8_t rpc_vers;       /* 5 */
	uint8_t rpc_vers_minor; /* 0 or 1 */
	uint8_t ptype;
	uint8_t pfc_flags;
	uint8_t drep[4]; /* drep[0] & 0x10: little-endian integers */
	uint16_t frag_length;
	uint16_t auth_length;
	uint32_t call_id;
} rpc_hdr_t;

/* An abstract or transfer syntax: UUID plus version (major in the low 16 bits,
 * minor in the high 16 bits, as the u32 appears on the wire). */
typedef struct rpc_syntax {
	guid_t uuid;
	uint32_t version;
} rpc_syntax_t;

typedef struct rpc_ctx_elem {
	uint16_t ctx_id;
	rpc_syntax_t abstract;
	uint8_t n_transfer;
	rpc_syntax_t *transfer; /* arena */
} rpc_ctx_elem_t;

typedef struct rpc_ctx_result_elem {
	uint16_t result; /* enum rpc_ctx_result */
	uint16_t reason; /* enum rpc_ctx_reason, or BTFN granted bits with NEGOTIATE_ACK */
	rpc_syntax_t transfer;
} rpc_ctx_result_elem_t;

/* sec_trailer (MS-RPCE 2.2.2.11) plus the auth_value that follows it */
typedef struct rpc_auth_trailer {
	uint8_t auth_type;
	uint8_t auth_level;
	uint8_t auth_pad_length;
	uint8_t auth_reserved;
	uint32_t auth_context_id;
	cur_t auth_value; /* auth_length bytes: token (bind legs) or verifier (request/response) */
} rpc_auth_trailer_t;

typedef struct rpc_pdu {
	rpc_hdr_t hdr;
	bool has_auth;
	rpc_auth_trailer_t auth;
	/* For request/response: byte offsets within the PDU of the stub (before any
	 * auth padding) and of the sec_trailer, for signing and unsealing in place. */
	size_t stub_offset;
	size_t stub_length;    /* excludes auth_pad_length */
	size_t trailer_offset; /* offset of the sec_trailer, or frag_length when none */
	union {
		struct { /* bind, alter_context */
			uint16_t max_xmit_frag;
			uint16_t max_recv_frag;
			uint32_t assoc_group_id;
			uint8_t n_ctx;
			rpc_ctx_elem_t *ctx; /* arena */
		} bind;
		struct { /* bind_ack, alter_context_resp */
			uint16_t max_xmit_frag;
			uint16_t max_recv_frag;
			uint32_t assoc_group_id;
			const char *sec_addr; /* arena, NUL-terminated ASCII port spec ("" for alter_resp) */
			uint8_t n_results;
			rpc_ctx_result_elem_t *results; /* arena */
		} bind_ack;
		struct {
			uint16_t reason;
			uint8_t n_versions;
			uint8_t versions[8][2]; /* major, minor */
			bool has_signature;      /* MS-RPCE 2.2.2.9: EEInfo follows */
			cur_t extended_error;
		} bind_nak;
		struct {
			uint32_t alloc_hint;
			uint16_t ctx_id;
			uint16_t opnum;
			bool has_object;
			guid_t object;
			cur_t stub; /* body after the fixed fields, without auth padding */
		} request;
		struct {
			uint32_t alloc_hint;
			uint16_t ctx_id;
			uint8_t cancel_count;
			cur_t stub;
		} response;
		struct {
			uint32_t alloc_hint;
			uint16_t ctx_id;
			uint8_t cancel_count;
			uint8_t flags; /* MS-RPCE 2.2.2.8: 0x01 extended error info present */
			uint32_t status;
			cur_t stub;
		} fault;
		/* auth3, shutdown, co_cancel, orphaned carry no fields beyond the header and trailer */
	} u;
} rpc_pdu_t;

/* rpc_pdu_peek_length reads frag_length from the first 16 bytes of a PDU
 * (the buffered stream) without decoding the rest, honouring drep. Returns
 * CERR_TRUNCATED when len < 16 (read more), CERR_MALFORMED on a header that
 * cannot begin a valid PDU (wrong version, bad drep, frag_length < 16). */
cerr_t rpc_pdu_peek_length(const uint8_t *data, size_t len, uint16_t *out_frag_length);

/* rpc_pdu_decode parses exactly one whole PDU (frag_length bytes) into out;
 * arrays are allocated from a; cursors in out point into data, which must
 * outlive out. Returns CERR_TRUNCATED / CERR_MALFORMED / CERR_LIMIT on bad input
 * (TRUNCATED only when len < 16 or len < frag_length; a frag_length shorter
 * than len is MALFORMED), CERR_UNSUPPORTED for an rpc_vers other than 5.0/5.1
 * or a PTYPE that is not connection-oriented, CERR_INVALID_ARG when a PDU
 * needing arrays is decoded with a == NULL, CERR_NOMEM.
 * On any failure after the 16-byte header was read, out->hdr holds it (so the
 * caller can answer call_id, e.g. bind_nak protocol_version_not_supported);
 * the rest of out is unspecified.
 * Stub cursors (request/response/fault) have their base at the stub start,
 * for NDR alignment, and the byte order from drep. Padding between the body
 * and the sec_trailer must be exactly auth_pad_length bytes for PDUs other
 * than request/response/fault/auth3 (no trailing bytes without a trailer). */
cerr_t rpc_pdu_decode(arena_t *a, const uint8_t *data, size_t len, rpc_pdu_t *out);

/* ---- encoding. Each writes one complete PDU (header with frag_length and
 * auth_length filled in) into b, appending at b->len. Where an auth trailer is
 * given, the caller's auth_value bytes are appended after it as they are
 * (tokens on bind legs). Integers are written in the byte order h->drep says.
 * Returns CERR_INVALID_ARG for a bad header (rpc_vers not 5.0/5.1, drep) or
 * argument, CERR_LIMIT when the PDU would exceed 65535 bytes or b's cap. On
 * failure the bytes appended to b are unspecified: discard b. ---- */

typedef struct rpc_out_auth {
	uint8_t auth_type;
	uint8_t auth_level;
	uint32_t auth_context_id;
	const uint8_t *token;
	size_t token_len;
} rpc_out_auth_t;

/* rpc_pdu_init_hdr fills h for version 5.0, little-endian drep (10 00 00 00). */
void rpc_pdu_init_hdr(rpc_hdr_t *h, uint8_t ptype, uint8_t flags, uint32_t call_id);
/* rpc_pdu_encode_bind writes an alter_context when h->ptype is
 * RPC_PTYPE_ALTER_CONTEXT, else a bind. */
cerr_t rpc_pdu_encode_bind(buf_t *b, const rpc_hdr_t *h, uint16_t max_xmit, uint16_t max_recv,
			   uint32_t assoc_group, const rpc_ctx_elem_t *ctx, uint8_t n_ctx,
			   const rpc_out_auth_t *auth);
/* rpc_pdu_encode_bind_ack writes an alter_context_resp when h->ptype is
 * RPC_PTYPE_ALTER_CONTEXT_RESP, else a bind_ack. sec_addr NULL or "" is sent
 * as length 0 (as Windows does in alter_context_resp); otherwise as
 * strlen + 1 bytes including the NUL, then padding to 4 from the PDU start. */
cerr_t rpc_pdu_encode_bind_ack(buf_t *b, const rpc_hdr_t *h, uint16_t max_xmit, uint16_t max_recv,
			       uint32_t assoc_group, const char *sec_addr,
			       const rpc_ctx_result_elem_t *res, uint8_t n_res, const rpc_out_auth_t *auth);
/* rpc_pdu_encode_bind_nak writes reason, one supported version (5.0) and three
 * zero bytes: 24 bytes in all, as Windows answers (pinned by Samba's
 * python/samba/tests/dcerpc/raw_protocol.py, run against Windows). */
cerr_t rpc_pdu_encode_bind_nak(buf_t *b, const rpc_hdr_t *h, uint16_t reason);
/* rpc_pdu_encode_auth3 writes 4 pad bytes, then the sec_trailer and token
 * (MS-RPCE 2.2.2.10). auth is required. */
cerr_t rpc_pdu_encode_auth3(buf_t *b, const rpc_hdr_t *h, const rpc_out_auth_t *auth);
/* rpc_pdu_encode_fault writes the 32-byte fault PDU: alloc_hint 32, ctx_id,
 * cancel_count 0, flags 0, status, reserved 0 (MS-RPCE 2.2.2.8). pfc_flags
 * come from h: add RPC_PFC_DID_NOT_EXECUTE when the call never ran. */
cerr_t rpc_pdu_encode_fault(buf_t *b, const rpc_hdr_t *h, uint16_t ctx_id, uint32_t status);
cerr_t rpc_pdu_encode_shutdown(buf_t *b, const rpc_hdr_t *h);

/* Request/response fragments that may carry a verifier are built in two steps:
 * rpc_pdu_encode_*_frag writes header, fixed fields, the stub chunk, auth
 * padding to a 16-byte multiple of the stub (Windows does this; MS-RPCE
 * 2.2.2.11), the sec_trailer and sig_len zero bytes for the verifier, and
 * reports where the stub and verifier lie so the auth provider can sign or
 * seal in place. With auth NULL no trailer is written. auth->token is not
 * used here (the verifier is sig_len zero bytes, auth_length = sig_len, which
 * must be 1..65535 with auth). The request's PFC_OBJECT_UUID flag is set
 * exactly when object is non-NULL. out may be NULL. */
typedef struct rpc_frag_layout {
	size_t pdu_offset;    /* where this PDU starts in b */
	size_t stub_offset;   /* relative to pdu_offset */
	size_t stub_length;   /* including auth padding */
	size_t verifier_offset; /* relative to pdu_offset */
	size_t pdu_length;
} rpc_frag_layout_t;

cerr_t rpc_pdu_encode_request_frag(buf_t *b, const rpc_hdr_t *h, uint32_t alloc_hint, uint16_t ctx_id,
				   uint16_t opnum, const guid_t *object, const uint8_t *stub,
				   size_t stub_len, const rpc_out_auth_t *auth, size_t sig_len,
				   rpc_frag_layout_t *out);
cerr_t rpc_pdu_encode_response_frag(buf_t *b, const rpc_hdr_t *h, uint32_t alloc_hint, uint16_t ctx_id,
				    const uint8_t *stub, size_t stub_len, const rpc_out_auth_t *auth,
				    size_t sig_len, rpc_frag_layout_t *out);

/* rpc_ptype_name is the C706 name of a PTYPE ("bind", "alter_context_resp"),
 * or "unknown"; for logs. */
const char *rpc_ptype_name(uint8_t ptype);

#endif
