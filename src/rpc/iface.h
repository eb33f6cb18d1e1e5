/*
 * iface.h - what the RPC runtime knows of an interface: its UUID and version,
 * and a table of operation handlers indexed by opnum. The runtime knows
 * nothing of what the operations mean; services/ and rpc/epm.c fill tables.
 */
#ifndef CERTA_RPC_IFACE_H
#define CERTA_RPC_IFACE_H

#include <stdbool.h>
#include <stdint.h>

#include "rpc/auth.h"
#include "util/arena.h"
#include "util/cursor.h"
#include "util/err.h"
#include "util/guid.h"

/* What a handler may know of the connection a call arrived on. */
typedef struct rpc_conn_info {
	const char *peer_addr;   /* client IP as text */
	uint16_t peer_port;
	const char *local_addr;  /* the address the client dialled (for string bindings) */
	uint16_t local_port;
	uint8_t auth_type;       /* enum rpc_auth_type; RPC_AUTH_NONE when unauthenticated */
	uint8_t auth_level;      /* enum rpc_auth_level; RPC_AUTH_LEVEL_NONE when unauthenticated */
	const rpc_identity_t *identity; /* NULL when unauthenticated */
	uint32_t assoc_group_id;
	void *principal;         /* what the on_auth hook made of the caller (server.h); NULL when none */
} rpc_conn_info_t;

typedef struct rpc_call {
	arena_t *arena;               /* per-call: freed when the response is sent */
	const rpc_conn_info_t *conn;
	uint16_t opnum;
	bool has_object;
	guid_t object;                /* request object UUID (DCOM: IPID) */
	cur_t in;                     /* the reassembled, unsealed request stub (NDR, base = stub start) */
	buf_t *out;                   /* response stub to write (base = stub start) */
	void *iface_data;             /* rpc_iface_t.data */
} rpc_call_t;

/* An operation handler. Return CERR_OK and fill call->out for a response; return
 * an nca_s_* code (space NCA) to send a fault with that status; CERR_MALFORMED or
 * CERR_TRUNCATED (NDR decoding failed) become nca_s_fault_ndr; anything else
 * becomes nca_s_fault_cant_perform. Application errors (HRESULT, Win32) belong
 * in the stub's return value, not here. */
typedef cerr_t (*rpc_op_fn)(rpc_call_t *call);

typedef struct rpc_iface {
	const char *name;         /* for logs: "ICertPassage" */
	guid_t uuid;
	uint16_t vers_major;
	uint16_t vers_minor;
	const rpc_op_fn *ops;
	uint16_t n_ops;
	void *data;               /* passed to handlers as call->iface_data */
	bool epm_register;        /* advertise on the dynamic port through the endpoint mapper */
	uint8_t min_auth_level;   /* calls below this level get nca_s_fault_access_denied (0 = none) */
} rpc_iface_t;

/* rpc_syntax_ndr20 and rpc_syntax_ndr64: the transfer syntaxes (C706 14, MS-RPCE 2.2.5). */
extern const guid_t RPC_NDR20_UUID;   /* 8a885d04-1ceb-11c9-9fe8-08002b104860 v2 */
extern const guid_t RPC_NDR64_UUID;   /* 71710533-beba-4937-8319-b5dbef9ccc36 v1 */

#endif
