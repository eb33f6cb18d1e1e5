/*
 * client.h - a blocking connection-oriented DCE/RPC client over TCP
 * (C706 ch. 12, MS-RPCE 3.2.4): connect, optional endpoint-mapper lookup,
 * bind (with NTLM at CONNECT, PKT_INTEGRITY or PKT_PRIVACY), and calls with
 * request fragmentation and response reassembly. Used by `certa req` and
 * `certa bench`. No globals: each rpc_client_t is one TCP connection with one
 * presentation context; its calls are serialised by a mutex, so one object
 * may be shared by threads, and many objects run in parallel.
 */
#ifndef CERTA_RPC_CLIENT_H
#define CERTA_RPC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/cursor.h"
#include "util/err.h"
#include "util/guid.h"

typedef struct rpc_client rpc_client_t;

typedef struct rpc_client_config {
	unsigned timeout_ms;    /* per connect / send / receive (0 = 30 s) */
	uint16_t max_xmit_frag; /* largest fragment we offer to send (0 = 5840) */
	uint16_t max_recv_frag; /* largest fragment we accept (0 = 5840) */
	size_t max_stub;        /* cap on a reassembled response stub (0 = 16 MiB) */
} rpc_client_config_t;

/* A client-side security context (the initiator half of a provider), so the
 * client knows NTLM only through this table; Kerberos/SPNEGO plug in later. */
typedef struct rpc_client_sec {
	uint8_t auth_type; /* enum rpc_auth_type */
	void *ctx;
	/* step: in is NULL for the first token, then the server's token from
	 * bind_ack / alter_context_resp. Writes the next token into out. Returns
	 * CERR_OK when the context is complete (out may hold a last token, sent
	 * in auth3), CERR_STATUS_MORE_PROCESSING_REQUIRED when a reply is awaited,
	 * or a failure. */
	cerr_t (*step)(void *ctx, const cur_t *in, buf_t *out);
	size_t (*sig_len)(void *ctx);
	/* protect / unprotect: as in rpc_auth_provider_t (rpc/auth.h). */
	cerr_t (*protect)(void *ctx, uint8_t *pdu, size_t pdu_len, size_t stub_offset, size_t stub_len,
			  size_t verifier_offset, bool seal, bool header_sign);
	cerr_t (*unprotect)(void *ctx, uint8_t *pdu, size_t pdu_len, size_t stub_offset, size_t stub_len,
			    size_t verifier_offset, bool seal, bool header_sign);
	void (*free)(void *ctx);
} rpc_client_sec_t;

/* Credentials for rpc_client_bind. auth_type RPC_AUTH_NONE binds anonymously;
 * RPC_AUTH_WINNT uses the NTLM initiator with user/domain/password. */
typedef struct rpc_client_auth {
	uint8_t auth_type;  /* RPC_AUTH_NONE or RPC_AUTH_WINNT */
	uint8_t auth_level; /* RPC_AUTH_LEVEL_CONNECT, _PKT_INTEGRITY or _PKT_PRIVACY */
	const char *user;
	const char *domain;
	const char *password;
	const char *workstation; /* may be NULL */
} rpc_client_auth_t;

/* What the last failed operation on a client said, beyond its cerr_t. */
typedef struct rpc_client_error {
	cerr_t status;          /* the code returned */
	uint32_t fault_status;  /* raw fault status when a fault PDU arrived, else 0 */
	bool nak;               /* a bind_nak arrived */
	uint16_t nak_reason;    /* enum rpc_nak_reason */
	bool ctx_rejected;      /* bind_ack rejected the presentation context */
	uint16_t ctx_result;    /* enum rpc_ctx_result */
	uint16_t ctx_reason;    /* enum rpc_ctx_reason */
	char detail[256];       /* one line for humans */
} rpc_client_error_t;

/* rpc_client_connect opens a TCP connection to host:port (name or address)
 * within cfg->timeout_ms. cfg may be NULL for defaults. On success *out owns
 * the socket; free it with rpc_client_free. */
cerr_t rpc_client_connect(rpc_client_t **out, const char *host, uint16_t port, const rpc_client_config_t *cfg);

/* rpc_client_free closes the connection and wipes key material (NULL-safe). */
void rpc_client_free(rpc_client_t *c);

/* rpc_client_bind binds presentation context 0 to the interface with the NDR
 * transfer syntax, running the authentication legs (bind -> bind_ack -> auth3
 * for NTLM). auth may be NULL (no authentication). A bind_nak gives
 * CERR_RPC_BIND_NAK and a rejected context CERR_RPC_CTX_REJECTED, with the
 * reasons in rpc_client_last_error. Only one bind per connection. */
cerr_t rpc_client_bind(rpc_client_t *c, const guid_t *iface, uint16_t vers_major, uint16_t vers_minor,
		       const rpc_client_auth_t *auth);

/* rpc_client_bind_sec is rpc_client_bind with a caller-built security context
 * (ownership of sec->ctx passes to the client, also on failure). */
cerr_t rpc_client_bind_sec(rpc_client_t *c, const guid_t *iface, uint16_t vers_major, uint16_t vers_minor,
			   const rpc_client_sec_t *sec, uint8_t auth_level);

/* rpc_client_call sends stub[0..stub_len) as operation opnum (object may be
 * NULL; DCOM passes the IPID) and returns the reassembled response stub in
 * *out (malloc'd; free()). A fault gives the nca_s_* code
 * (cerr_lookup(CERR_SPACE_NCA, status), or a Win32 code of that value, or
 * CERR_RPC_FAULT when unknown) with the raw status in rpc_client_last_error. */
cerr_t rpc_client_call(rpc_client_t *c, uint16_t opnum, const guid_t *object, const uint8_t *stub,
		       size_t stub_len, uint8_t **out, size_t *out_len);

/* rpc_client_last_error describes the last failure on c (status CERR_OK if none).
 * The copy is taken under the object's lock. */
void rpc_client_last_error(rpc_client_t *c, rpc_client_error_t *out);

/* rpc_client_max_xmit_frag is the fragment size negotiated by the bind. */
uint16_t rpc_client_max_xmit_frag(rpc_client_t *c);

/* rpc_client_ept_map asks the endpoint mapper at host:epm_port (135 normally)
 * over an unauthenticated bind for the ncacn_ip_tcp port of an interface
 * (ept_map, opnum 3; C706 App. L/O, MS-RPCE 2.2.1.2). *out_port is set on
 * success; CERR_EPT_S_NOT_REGISTERED when the mapper knows no endpoint.
 * err, if not NULL, receives the failure detail. */
cerr_t rpc_client_ept_map(const char *host, uint16_t epm_port, const guid_t *iface, uint16_t vers_major,
			  uint16_t vers_minor, const rpc_client_config_t *cfg, uint16_t *out_port,
			  rpc_client_error_t *err);

/* Stub codecs for ept_map, exposed for unit tests and fuzzing. */
cerr_t rpc_client_epm_encode_map(buf_t *b, const guid_t *iface, uint16_t vers_major, uint16_t vers_minor);
cerr_t rpc_client_epm_decode_map(const uint8_t *stub, size_t len, uint16_t *out_port, uint32_t *out_status);

#endif
