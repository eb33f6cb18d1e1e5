/*
 * server.h - the RPC server: listeners, the event loop, the worker pool and
 * the interface registry. Connections and associations live in assoc.c;
 * the loop only moves bytes and hands whole calls to workers.
 */
#ifndef CERTA_RPC_SERVER_H
#define CERTA_RPC_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "rpc/auth.h"
#include "rpc/iface.h"
#include "util/err.h"

typedef struct rpc_server rpc_server_t;

/* A zeroed config gives the defaults noted per field. */
typedef struct rpc_server_config {
	unsigned workers;          /* threads running calls (0 = four per CPU, at most 256) */
	unsigned max_connections;  /* beyond this, new connections are closed at once (0 = 4096) */
	uint16_t max_recv_frag;    /* largest fragment accepted; negotiated down (default 5840) */
	size_t max_stub;           /* largest reassembled request stub (default 4 MiB) */
	unsigned idle_timeout_s;   /* close connections idle this long (0 = never) */
} rpc_server_config_t;

/* Which interfaces a listener serves: the endpoint-mapper port serves the
 * interfaces registered with RPC_LISTEN_EPM; the dynamic port the others. */
enum rpc_listen_role { RPC_LISTEN_EPM = 1, RPC_LISTEN_DYNAMIC = 2 };

/* Hooks let higher layers act on authentication without rpc/ knowing them.
 * on_auth is called when a security context completes (status CERR_OK) or fails;
 * a non-OK return from it refuses the caller as Windows does when token creation
 * fails (bind_nak reason invalid_checksum on a bind, fault access denied later).
 * On a failure conn->identity is what the provider could tell of the claimed
 * caller (rpc_identity_t.failed set), or NULL. On success the hook may set
 * *out_principal (an access token, say): the connection keeps it as
 * conn->principal for its calls and hands it to principal_free when it closes
 * (or when on_auth refused the caller after setting it). A connection may
 * build several security contexts (alter_context with a new auth_context_id):
 * on_auth runs for each, and each call's conn (identity, level, principal)
 * is that of the context the request named. out_principal is NULL
 * on failures. on_auth runs on the I/O thread, before any call of the
 * connection; principal_free may run on any thread. */
typedef struct rpc_server_hooks {
	void *arg;
	cerr_t (*on_auth)(void *arg, const rpc_conn_info_t *conn, cerr_t status, void **out_principal);
	void (*principal_free)(void *arg, void *principal);
} rpc_server_hooks_t;

/* rpc_server_new copies cfg (NULL = defaults). Register hooks, interfaces,
 * providers and listeners before rpc_server_run: the registry is read without
 * locks while serving. rpc_server_free must not run concurrently with
 * rpc_server_run (stop and join first); NULL-safe. */
rpc_server_t *rpc_server_new(const rpc_server_config_t *cfg);
void rpc_server_free(rpc_server_t *s);
void rpc_server_set_hooks(rpc_server_t *s, const rpc_server_hooks_t *hooks);
/* rpc_server_add_iface registers iface (borrowed; must outlive s) on listeners of role. */
cerr_t rpc_server_add_iface(rpc_server_t *s, const rpc_iface_t *iface, int roles);
/* rpc_server_add_auth registers an acceptor for provider->auth_type (borrowed). */
cerr_t rpc_server_add_auth(rpc_server_t *s, const rpc_auth_provider_t *provider);
/* rpc_server_listen binds addr:port (port 0 = any) and reports the port bound.
 * addr is a numeric IPv4/IPv6 address; NULL, "" or "*" listens on 0.0.0.0 and,
 * when the host has IPv6, on :: with the same port. On failure errno holds the
 * socket error (EADDRINUSE, EACCES, ...), or 0 when addr does not parse. */
cerr_t rpc_server_listen(rpc_server_t *s, const char *addr, uint16_t port, enum rpc_listen_role role,
			 uint16_t *out_port);
/* rpc_server_foreach_endpoint lists (iface, role, port) for every registered
 * interface and every listener serving it; used by the endpoint mapper. */
typedef void (*rpc_endpoint_fn)(void *arg, const rpc_iface_t *iface, enum rpc_listen_role role,
				uint16_t port);
void rpc_server_foreach_endpoint(rpc_server_t *s, rpc_endpoint_fn fn, void *arg);
/* rpc_server_run starts the workers and serves on the calling thread until
 * rpc_server_stop; returns CERR_OK after a clean stop (calls in progress finish,
 * all connections are closed). */
cerr_t rpc_server_run(rpc_server_t *s);
/* rpc_server_stop may be called from a signal handler. */
void rpc_server_stop(rpc_server_t *s);

#endif
