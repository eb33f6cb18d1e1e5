/*
 * assoc.h - one connection-oriented DCE/RPC association as a pure state
 * machine (C706 12, MS-RPCE 3.3.1): bind / alter_context negotiation, the
 * authentication legs, request reassembly and dispatch, response
 * fragmentation and faults. No sockets here: the event loop (server.c) frames
 * the byte stream into whole PDUs and feeds them in one at a time, and a
 * worker runs each complete call. That keeps every protocol decision
 * unit-testable (tests/unit/test_assoc.c).
 *
 * Threading: an association is used by one thread at a time (the I/O thread,
 * or the worker running its call). The registry is read-only once serving
 * starts, except for association groups, which it locks.
 */
#ifndef CERTA_RPC_ASSOC_H
#define CERTA_RPC_ASSOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc/auth.h"
#include "rpc/iface.h"
#include "rpc/server.h"
#include "util/cursor.h"
#include "util/err.h"

/* Server-wide state an association consults: configuration (defaults filled
 * in), registered interfaces with their listener roles, security providers,
 * hooks and the association-group table. */
typedef struct assoc_registry assoc_registry_t;
typedef struct assoc assoc_t;
/* A complete request, reassembled and unprotected, ready to run on a worker.
 * Owns the per-call arena. */
typedef struct assoc_call assoc_call_t;

/* assoc_registry_new copies cfg (NULL = all defaults) and fills in defaults:
 * workers = CPUs, max_connections 4096, max_recv_frag 5840, max_stub 4 MiB. */
assoc_registry_t *assoc_registry_new(const rpc_server_config_t *cfg);
void assoc_registry_free(assoc_registry_t *r);
const rpc_server_config_t *assoc_registry_config(const assoc_registry_t *r);
void assoc_registry_set_hooks(assoc_registry_t *r, const rpc_server_hooks_t *hooks);
/* Registration happens before serving; iface and provider are borrowed.
 * Adding the same interface UUID and major version twice is CERR_EXISTS. */
cerr_t assoc_registry_add_iface(assoc_registry_t *r, const rpc_iface_t *iface, int roles);
cerr_t assoc_registry_add_auth(assoc_registry_t *r, const rpc_auth_provider_t *provider);
typedef void (*assoc_iface_fn)(void *arg, const rpc_iface_t *iface, int roles);
void assoc_registry_foreach_iface(const assoc_registry_t *r, assoc_iface_fn fn, void *arg);
/* assoc_registry_group_count is the number of live association groups (tests, stats). */
size_t assoc_registry_group_count(assoc_registry_t *r);

/* assoc_new starts an association for a connection accepted on a listener of
 * role (enum rpc_listen_role); the address strings in info are copied. The
 * bind_ack secondary address is info->local_port in decimal, as Windows sends. */
assoc_t *assoc_new(assoc_registry_t *r, int role, const rpc_conn_info_t *info);
/* assoc_free drops a request still being reassembled, the security context
 * and the association's hold on its group (NULL-safe). */
void assoc_free(assoc_t *a);
const rpc_conn_info_t *assoc_conn_info(const assoc_t *a);
/* Negotiated fragment sizes (what we send / what we accept), for tests and logs. */
uint16_t assoc_max_xmit_frag(const assoc_t *a);
uint16_t assoc_max_recv_frag(const assoc_t *a);

/* assoc_input consumes exactly one whole PDU (len == its frag_length). The
 * bytes may be modified in place (unsealing). Replies (bind_ack, bind_nak,
 * alter_context_resp, faults) are appended to out. When a request is complete
 * and may run, *out_call is set: the caller runs assoc_execute_call, and must
 * not feed more input until it has. Returns CERR_OK to go on reading, or an
 * error meaning "send what is in out, then close the connection". */
cerr_t assoc_input(assoc_t *a, uint8_t *pdu, size_t len, buf_t *out, assoc_call_t **out_call);

/* assoc_execute_call runs the handler and appends the response fragments
 * (or a fault) to out, signed or sealed as negotiated, and frees call
 * whatever happens. Returns CERR_OK, or an error meaning "send out, then close". */
cerr_t assoc_execute_call(assoc_t *a, assoc_call_t *call, buf_t *out);

/* assoc_call_free releases a call that will not be executed (shutdown). NULL-safe. */
void assoc_call_free(assoc_call_t *call);

#endif
