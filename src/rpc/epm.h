/*
 * epm.h - the endpoint mapper, interface e1af8308-5d1f-11c9-91a4-08002b14a0fa
 * v3.0 (C706 Appendix O ept.idl, MS-RPCE 2.2.1.2), served on TCP 135. It
 * answers ept_map (opnum 3: "on which port is interface X?") and ept_lookup
 * (opnum 2: list the map) from what the server has registered, read through
 * an rpc_endpoints_t so it can be tested without sockets. Towers (C706
 * Appendix L) are built and parsed here too.
 */
#ifndef CERTA_RPC_EPM_H
#define CERTA_RPC_EPM_H

#include <stdbool.h>
#include <stdint.h>

#include "rpc/iface.h"
#include "rpc/ndr.h"
#include "rpc/server.h"
#include "util/arena.h"
#include "util/cursor.h"
#include "util/err.h"
#include "util/guid.h"

/* Where the endpoint mapper and mgmt learn what is registered: a foreach over
 * (iface, role, port) with the same contract as rpc_server_foreach_endpoint.
 * Called from the worker running the call, once per call. */
typedef void (*rpc_foreach_endpoint_fn)(void *ctx, rpc_endpoint_fn fn, void *arg);
typedef struct rpc_endpoints {
	rpc_foreach_endpoint_fn foreach;
	void *ctx;
} rpc_endpoints_t;

/* rpc_endpoints_from_server fills *out to enumerate srv's endpoints. Inline so
 * that only callers that have a server link against server.c. */
static inline void rpc_endpoints_server_foreach_(void *ctx, rpc_endpoint_fn fn, void *arg)
{
	rpc_server_foreach_endpoint((rpc_server_t *)ctx, fn, arg);
}
static inline void rpc_endpoints_from_server(rpc_endpoints_t *out, rpc_server_t *srv)
{
	out->foreach = rpc_endpoints_server_foreach_;
	out->ctx = srv;
}

/* One (iface, role, port) as enumerated. */
typedef struct rpc_endpoint_entry {
	const rpc_iface_t *iface;
	enum rpc_listen_role role;
	uint16_t port;
} rpc_endpoint_entry_t;

/* rpc_endpoints_read lists what eps enumerates (at most EPM_MAX_ENTRIES, in
 * order) into an array allocated from a. False on allocation failure. */
bool rpc_endpoints_read(rpc_endpoints_t *eps, arena_t *a, rpc_endpoint_entry_t **out, size_t *out_n);

/* epm_iface_init fills *out with the endpoint mapper interface serving the map
 * read from eps (borrowed: must outlive the server). Register it with
 * RPC_LISTEN_EPM. Entries come from interfaces with epm_register set. */
void epm_iface_init(rpc_iface_t *out, rpc_endpoints_t *eps);

/* Opnums (C706 Appendix O). 0, 1, 5, 6 answer EPT_S_CANT_PERFORM_OP (Windows
 * removed them remotely, MS-RPCE 2.2.1.2.6-10); 7 and up are outside the
 * table, so the runtime faults them with nca_s_op_rng_error. */
enum epm_opnum {
	EPM_OP_INSERT = 0,
	EPM_OP_DELETE = 1,
	EPM_OP_LOOKUP = 2,
	EPM_OP_MAP = 3,
	EPM_OP_LOOKUP_HANDLE_FREE = 4,
	EPM_OP_INQ_OBJECT = 5,
	EPM_OP_MGMT_DELETE = 6,
	EPM_N_OPS = 7,
};

/* ept_lookup inquiry_type and vers_option (C706 Appendix O, rpc_c_ep_* / rpc_c_vers_*) */
enum epm_inquiry {
	EPM_INQ_ALL = 0,
	EPM_INQ_BY_IF = 1,
	EPM_INQ_BY_OBJ = 2,
	EPM_INQ_BY_BOTH = 3,
};
enum epm_vers_option {
	EPM_VERS_ALL = 1,
	EPM_VERS_COMPATIBLE = 2,
	EPM_VERS_EXACT = 3,
	EPM_VERS_MAJOR_ONLY = 4,
	EPM_VERS_UPTO = 5,
};

/* Tower floor protocol identifiers (C706 Appendix I; MS-RPCE 2.2.1.1.x) */
#define EPM_FLOOR_UUID 0x0d
#define EPM_FLOOR_RPC_CO 0x0b   /* ncacn: connection-oriented RPC */
#define EPM_FLOOR_TCP 0x07      /* rhs: port, big-endian */
#define EPM_FLOOR_UDP 0x08
#define EPM_FLOOR_IP 0x09       /* rhs: IPv4 address */
#define EPM_FLOOR_NAMED_PIPE 0x0f
#define EPM_FLOOR_NETBIOS 0x11
#define EPM_FLOOR_HTTP 0x1f

/* Limits on what a client's tower may hold: ncacn_ip_tcp needs 5 floors and
 * 75 octets; Windows towers stay well inside these. */
#define EPM_MAX_FLOORS 8u
#define EPM_MAX_TOWER_LEN 1024u
/* Entries the map is read into per call (registrations, not client input). */
#define EPM_MAX_ENTRIES 4096u
/* Octets of an ncacn_ip_tcp tower: count + 2 UUID floors + 3 one-byte-id floors. */
#define EPM_TCP_TOWER_LEN 75u

/* A parsed tower. Floors 1-2 are always the interface and the transfer syntax;
 * the rest are summarised by their protocol ids (0 when absent). */
typedef struct epm_tower {
	uint16_t n_floors;
	guid_t if_uuid;
	uint16_t if_major;
	uint16_t if_minor;
	guid_t syntax_uuid;
	uint16_t syntax_major;
	uint16_t syntax_minor;
	uint8_t protocol;  /* floor 3 id: EPM_FLOOR_RPC_CO for ncacn */
	uint8_t transport; /* floor 4 id: EPM_FLOOR_TCP, NAMED_PIPE, HTTP, ... */
	uint16_t port;     /* floor 4 rhs when TCP/UDP/HTTP */
	uint8_t host;      /* floor 5 id: EPM_FLOOR_IP, NETBIOS, ... */
	uint8_t ipv4[4];   /* floor 5 rhs when IP */
} epm_tower_t;

/* epm_tower_parse reads tower octets (a twr_t's tower_octet_string). Floor
 * lengths are little-endian whatever the drep (C706 Appendix L). */
cerr_t epm_tower_parse(const cur_t *octets, epm_tower_t *out);
/* epm_tower_put_tcp writes the 75 octets of an ncacn_ip_tcp tower for the
 * interface, NDR 2.0, port and IPv4 address (raw octets, no NDR framing). */
void epm_tower_put_tcp(buf_t *b, const guid_t *if_uuid, uint16_t if_major, uint16_t if_minor,
		       uint16_t port, const uint8_t ipv4[4]);

/* The [in] parameters of ept_map and ept_lookup, decoded (exposed for tests and fuzzing). */
typedef struct epm_map_req {
	bool has_object;
	guid_t object;
	bool has_tower;
	cur_t tower;             /* tower octets, pointing into the stub */
	ndr_ctx_handle_t handle;
	uint32_t max_towers;
} epm_map_req_t;

typedef struct epm_lookup_req {
	uint32_t inquiry_type;
	bool has_object;
	guid_t object;
	bool has_if;
	guid_t if_uuid;
	uint16_t if_major;
	uint16_t if_minor;
	uint32_t vers_option;
	ndr_ctx_handle_t handle;
	uint32_t max_ents;
} epm_lookup_req_t;

/* The decoders return CERR_MALFORMED on bad NDR (the runtime answers nca_s_fault_ndr). */
cerr_t epm_decode_map(cur_t *in, epm_map_req_t *out);
cerr_t epm_decode_lookup(cur_t *in, epm_lookup_req_t *out);

#endif
