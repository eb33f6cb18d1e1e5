/*
 * limits.h - every limit the RPC layer applies to what a peer sends, in one
 * place, each with the reason for its value (in the manner of SQLite's
 * sqliteLimit.h). Each may be overridden at compile time (-DRPC_MAX_...=n)
 * up to its hard maximum, which is what the wire format itself allows.
 * Counts read from the wire are compared with the bytes remaining before
 * anything is allocated from them; these limits bound the work done after.
 */
#ifndef CERTA_RPC_LIMITS_H
#define CERTA_RPC_LIMITS_H

/* Largest PDU: frag_length is a u16 (C706 12.6.3.1), so 65535 is the format's
 * own ceiling. What a connection accepts is negotiated lower (max_recv_frag). */
#define RPC_FRAG_MAX 65535u

/* Smallest max_xmit_frag/max_recv_frag a peer may negotiate: C706 12.6.3.1
 * (MustRecvFragSize) requires every implementation to accept 1432 bytes, so a
 * bind offering less is refused rather than negotiated down into tiny frags. */
#define RPC_FRAG_MIN_NEGOTIATED 1432u

/* Default max_recv_frag we advertise: what Windows advertises on TCP (5840),
 * so clients fragment as they do against a Windows CA (rpc_server_config_t). */
#ifndef RPC_DEFAULT_MAX_RECV_FRAG
#define RPC_DEFAULT_MAX_RECV_FRAG 5840u
#endif

/* Presentation contexts in one bind/alter_context. n_context_elem is a u8
 * (hard maximum 255). Windows clients offer one to three per interface (NDR,
 * NDR64, bind-time feature negotiation); DCOM binds a few interfaces at most.
 * 32 leaves room and bounds the per-bind work and the bind_ack size. */
#ifndef RPC_MAX_CTX_PER_BIND
#define RPC_MAX_CTX_PER_BIND 32u
#endif
#if RPC_MAX_CTX_PER_BIND > 255
#error "RPC_MAX_CTX_PER_BIND cannot exceed 255 (u8 on the wire)"
#endif

/* Transfer syntaxes offered in one context element (u8 on the wire). Windows
 * offers one per element; other clients list NDR and NDR64 together. */
#ifndef RPC_MAX_TRANSFER_PER_CTX
#define RPC_MAX_TRANSFER_PER_CTX 16u
#endif
#if RPC_MAX_TRANSFER_PER_CTX > 255
#error "RPC_MAX_TRANSFER_PER_CTX cannot exceed 255 (u8 on the wire)"
#endif

/* Security contexts on one connection, keyed by the sec_trailer's
 * auth_context_id (MS-RPCE 3.2.3.1.4 "Table of Security Contexts"). A client
 * builds at most 2,000 and a server MAY enforce a lower limit, answering a
 * context past it with a fault RPC_S_PROTOCOL_ERROR (MS-RPCE 3.3.1.5.4).
 * Windows clients use one or two; impacket's DCOM client opens a new one each
 * time it switches interface on an object connection (rpcrt alter_ctx), and
 * never releases the old. Each holds a provider context (NTLM keys and
 * sequence numbers, or a GSS context), so 16 bounds what a peer can pin. */
#ifndef RPC_MAX_SEC_CTX_PER_CONN
#define RPC_MAX_SEC_CTX_PER_CONN 16u
#endif
#if RPC_MAX_SEC_CTX_PER_CONN < 1 || RPC_MAX_SEC_CTX_PER_CONN > 2000
#error "RPC_MAX_SEC_CTX_PER_CONN must be 1..2000 (MS-RPCE 3.3.1.5.4)"
#endif

/* Results in one bind_ack (u8 on the wire); a server answers one per context. */
#define RPC_MAX_RESULTS_PER_ACK RPC_MAX_CTX_PER_BIND

/* Protocol versions listed in a bind_nak: rpc_pdu_t keeps them in a fixed
 * array of this size; real servers list one (5.0). Not overridable. */
#define RPC_MAX_NAK_VERSIONS 8u

/* The bind_ack secondary address (port_any_t), including its NUL: a TCP port
 * ("49667") or a pipe name ("\\PIPE\\cert"); 256 is ample for either. */
#ifndef RPC_MAX_SEC_ADDR_LEN
#define RPC_MAX_SEC_ADDR_LEN 256u
#endif
#if RPC_MAX_SEC_ADDR_LEN > 65535
#error "RPC_MAX_SEC_ADDR_LEN cannot exceed 65535 (u16 on the wire)"
#endif

/* Largest reassembled request stub (rpc_server_config_t.max_stub default).
 * A CSR with a long chain of attributes is tens of KiB; 4 MiB is generous and
 * still bounds what one call can make the server hold. */
#ifndef RPC_DEFAULT_MAX_STUB
#define RPC_DEFAULT_MAX_STUB (4u * 1024u * 1024u)
#endif

#endif
