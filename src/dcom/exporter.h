/*
 * exporter.h - the DCOM object exporter, object resolver and activator of
 * one process (MS-DCOM 3.1.1 and 3.1.2): one OXID, objects (OIDs) with
 * interface pointers (IPIDs) and reference counts, ping sets and garbage
 * collection of unpinged objects, and the RPC interfaces that reach them:
 *   on the endpoint-mapper port (135): IObjectExporter (OXID resolver:
 *     ResolveOxid(2), SimplePing, ComplexPing, ServerAlive(2)),
 *     IRemoteSCMActivator (RemoteGetClassObject, RemoteCreateInstance) and
 *     the legacy IActivation (RemoteActivation);
 *   on the dynamic port: IRemUnknown / IRemUnknown2, IClassFactory and every
 *     interface the registered classes serve, dispatched by IPID.
 *
 * The services layer plugs in classes: dcom_register_class(x, clsid,
 * create_fn, arg); create_fn returns an object with a set of interfaces
 * (dcom_iface_t: IID -> op table). An op receives a dcom_call_t whose
 * ORPCTHIS has been parsed and whose response already holds ORPCTHAT; it
 * appends its [out] parameters and the HRESULT (dcom_put_hresult).
 *
 * Security decisions (machine-wide launch/access limits, the activation
 * authentication-level hardening of KB5004442, their events) belong to a
 * higher layer: dcom_security_hooks_t.check is asked before every activation
 * and every ORPC call. Without a hook the built-in default applies
 * (dcom_default_check).
 *
 * Threading: handlers run on the RPC server's workers; the exporter's tables
 * are behind one mutex. Register classes and interfaces, then attach, before
 * rpc_server_run. Object release callbacks run outside the mutex, never
 * while a call on the object is in progress.
 */
#ifndef CERTA_DCOM_EXPORTER_H
#define CERTA_DCOM_EXPORTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcom/actprops.h"
#include "dcom/orpc.h"
#include "rpc/iface.h"
#include "rpc/server.h"
#include "util/err.h"
#include "util/guid.h"

typedef struct dcom_exporter dcom_exporter_t;
typedef struct dcom_call dcom_call_t;

/* An ORPC method. Append the [out] parameters and then the HRESULT to
 * call->rpc->out. Return CERR_OK when a response was written; like
 * rpc_op_fn, CERR_MALFORMED (or CERR_TRUNCATED) faults with nca_s_fault_ndr,
 * an NCA-space code faults with that status, anything else with
 * nca_s_fault_cant_perform. */
typedef cerr_t (*dcom_op_fn)(dcom_call_t *call);

/* An interface objects may expose. Opnums 0-2 are IUnknown's, which are
 * local and never travel (MS-DCOM numbers every ORPC method from 3, e.g.
 * 3.1.1.5.6 IRemUnknown): leave them NULL. bases lists the IIDs it
 * derives from (beyond IUnknown); its IPIDs accept calls made on those IIDs
 * too, with the same op table (a derived interface's opnums extend its base's). */
typedef struct dcom_iface {
	const char *name;
	guid_t iid;
	const dcom_op_fn *ops;
	uint16_t n_ops;
	const guid_t *bases;
	size_t n_bases;
	void *data;            /* call->iface_data */
} dcom_iface_t;

/* What a class's create_fn returns. ifaces must stay valid while the object
 * lives (static tables, in practice), and every one must have been added
 * with dcom_exporter_add_iface before attaching. */
typedef struct dcom_object {
	void *state;                       /* call->object */
	void (*release)(void *state);      /* when the object is reclaimed; may be NULL */
	const dcom_iface_t *const *ifaces;
	size_t n_ifaces;
} dcom_object_t;

/* What an activation asks for, given to create_fn and the security hook. */
typedef struct dcom_activation {
	const guid_t *clsid;
	const rpc_conn_info_t *conn;
	const guid_t *iids;               /* requested interfaces */
	uint32_t n_iids;
	const dcom_actprops_in_t *props;  /* NULL for IActivation::RemoteActivation and IClassFactory */
} dcom_activation_t;

/* create_fn: CERR_OK with *out filled, or an HRESULT-space code returned to
 * the client as the activation's result (CERR_NOMEM -> E_OUTOFMEMORY,
 * anything else -> CO_E_SERVER_EXEC_FAILURE). */
typedef cerr_t (*dcom_create_fn)(void *arg, const dcom_activation_t *act, dcom_object_t *out);

struct dcom_call {
	rpc_call_t *rpc;            /* rpc->in just after ORPCTHIS; rpc->out holds ORPCTHAT */
	const orpcthis_t *orpcthis;
	dcom_exporter_t *exporter;
	void *object;               /* dcom_object_t.state */
	void *iface_data;           /* dcom_iface_t.data of the implementing interface */
	const guid_t *iid;          /* the interface the client bound (presentation context) */
	const guid_t *ipid;
	const guid_t *clsid;        /* the object's class */
};

/* dcom_put_hresult appends an HRESULT (4-aligned u32), the last [out] value. */
void dcom_put_hresult(buf_t *out, uint32_t hr);

/* ---- security hooks ---- */

enum dcom_check_kind {
	DCOM_CHECK_ACTIVATE = 1,  /* RemoteCreateInstance, RemoteGetClassObject, RemoteActivation, IClassFactory */
	DCOM_CHECK_CALL = 2,      /* an ORPC call on an object (including IRemUnknown) */
};

typedef struct dcom_check {
	enum dcom_check_kind kind;
	const rpc_conn_info_t *conn;   /* caller identity, auth level, addresses */
	const guid_t *clsid;           /* class activated / class of the object called (nil for
	                                * the exporter's own IRemUnknown) */
	const guid_t *iid;             /* CALL: the interface called */
	uint16_t opnum;                /* CALL */
	bool class_object;             /* ACTIVATE: a class factory was asked for */
} dcom_check_t;

/* check returns CERR_OK to allow. To refuse: an NCA-space code faults the call
 * with that status (CERR_NCA_S_FAULT_ACCESS_DENIED, what Windows sends when
 * the machine-wide limits deny a launch; DistributedCOM event 10027); an
 * HRESULT-space code (CERR_E_ACCESSDENIED) is returned as the activation's
 * HRESULT (ACTIVATE only; for CALL it becomes an access-denied fault). */
typedef struct dcom_security_hooks {
	void *arg;
	cerr_t (*check)(void *arg, const dcom_check_t *req);
} dcom_security_hooks_t;

/* dcom_default_check is what applies without a hook, and what a hook may
 * call for the parts it does not replace: ACTIVATE from an unauthenticated
 * or anonymous caller -> fault nca_s_fault_access_denied (the default
 * machine-wide launch limits grant ANONYMOUS LOGON nothing remotely);
 * ACTIVATE below min_level (KB5004442 RequireIntegrityActivationAuthenticationLevel,
 * always on since 2023-03) -> E_ACCESSDENIED; CALL -> allowed (the interface's
 * own level check, dcom_exporter_config_t.min_call_level, has run). */
cerr_t dcom_default_check(const dcom_check_t *req, uint8_t min_level);

/* ---- the exporter ---- */

/* A zeroed config gives the defaults noted per field. */
typedef struct dcom_exporter_config {
	unsigned ping_period_ms;     /* 0 = 120000: MS-DCOM 3.1.2.2 "SHOULD be exactly 2 minutes" */
	unsigned ping_periods;       /* 0 = 3: a ping set dies after 3 periods without a ping (3.1.2.2) */
	uint8_t authn_hint;          /* level advertised (ScmReplyInfo, ResolveOxid); 0 = PKT_PRIVACY, which
	                              * impacket-based clients adopt for the object connection */
	uint8_t min_call_level;      /* ORPC calls below it fault access denied (MS-DCOM 3.1.1.5.4);
	                              * 0 = CONNECT: authenticated, methods check more themselves */
	uint8_t min_activation_level;/* for dcom_default_check; 0 = PKT_INTEGRITY (KB5004442) */
	const char *const *names;    /* host names for string bindings after the dialled address
	                              * (NetBIOS name, FQDN); may be NULL */
	size_t n_names;
	const uint16_t *authn_svcs;  /* security bindings; NULL = {RPC_AUTH_WINNT, RPC_AUTH_GSS_NEGOTIATE} */
	size_t n_authn_svcs;
	const char *princ_name;      /* principal name in the security bindings; NULL = "" (none) */
	uint16_t port;               /* port in "host[port]"; 0 = the dynamic listener's (after attach) */
	unsigned max_objects;        /* 0 = DCOM_DEFAULT_MAX_OBJECTS */
	unsigned max_sets;           /* 0 = DCOM_DEFAULT_MAX_SETS */
	uint64_t (*clock_ms)(void *arg); /* monotonic milliseconds; NULL = CLOCK_MONOTONIC (tests inject) */
	void *clock_arg;
} dcom_exporter_config_t;

/* dcom_exporter_new copies cfg (NULL = defaults; the names and authn_svcs
 * arrays are copied too) and picks a random OXID and IRemUnknown IPID.
 * NULL on allocation failure. dcom_exporter_free releases every object still
 * alive (NULL-safe); the server must be stopped first. */
dcom_exporter_t *dcom_exporter_new(const dcom_exporter_config_t *cfg);
void dcom_exporter_free(dcom_exporter_t *x);
void dcom_exporter_set_security_hooks(dcom_exporter_t *x, const dcom_security_hooks_t *hooks);

/* dcom_register_class makes clsid activatable: create_fn(arg, ...) is called
 * for RemoteCreateInstance, RemoteActivation and IClassFactory::CreateInstance
 * (RemoteGetClassObject returns a class factory without calling it).
 * CERR_EXISTS if already registered. Before attach. */
cerr_t dcom_register_class(dcom_exporter_t *x, const guid_t *clsid, dcom_create_fn create_fn, void *arg);
/* dcom_exporter_add_iface declares an interface objects may expose (borrowed;
 * must outlive x), so its IID (and its bases) are served. Before attach. */
cerr_t dcom_exporter_add_iface(dcom_exporter_t *x, const dcom_iface_t *iface);

/* dcom_exporter_attach registers the interfaces with srv: IObjectExporter,
 * IRemoteSCMActivator and IActivation with RPC_LISTEN_EPM; IRemUnknown,
 * IRemUnknown2, IClassFactory and every added IID with RPC_LISTEN_DYNAMIC
 * (none advertised through the endpoint mapper: clients learn the port from
 * the OXID bindings). Call once, before rpc_server_run. */
cerr_t dcom_exporter_attach(dcom_exporter_t *x, rpc_server_t *srv);

/* dcom_exporter_rpc_iface returns the rpc_iface_t serving uuid (after attach,
 * or after dcom_exporter_build_ifaces for tests without a server); NULL if none. */
const rpc_iface_t *dcom_exporter_rpc_iface(dcom_exporter_t *x, const guid_t *uuid);
/* dcom_exporter_build_ifaces builds the rpc_iface_t tables without a server
 * (attach does it itself). Idempotent. */
cerr_t dcom_exporter_build_ifaces(dcom_exporter_t *x);

/* dcom_exporter_collect runs garbage collection now: ping sets not pinged for
 * ping_periods x ping_period_ms are dropped, and objects that no live set
 * holds and that saw no call or activation for as long are reclaimed
 * (MS-DCOM 3.1.2.6, 3.1.1.6.2). Calls into the exporter also run it, at most
 * once a second. */
void dcom_exporter_collect(dcom_exporter_t *x);

typedef struct dcom_exporter_stats {
	uint64_t oxid;
	guid_t ipid_remunknown;
	size_t objects;     /* activated objects alive (the exporter's own IRemUnknown excluded) */
	size_t ipids;       /* their interface pointers */
	size_t sets;        /* ping sets */
} dcom_exporter_stats_t;
void dcom_exporter_stats(dcom_exporter_t *x, dcom_exporter_stats_t *out);

/* Opnums (MS-DCOM 3.1.2.5.1, 3.1.2.5.2, 3.1.1.5.6, 3.1.1.5.7) */
enum dcom_oxid_opnum {
	DCOM_OP_RESOLVE_OXID = 0,
	DCOM_OP_SIMPLE_PING = 1,
	DCOM_OP_COMPLEX_PING = 2,
	DCOM_OP_SERVER_ALIVE = 3,
	DCOM_OP_RESOLVE_OXID2 = 4,
	DCOM_OP_SERVER_ALIVE2 = 5,
	DCOM_OXID_N_OPS = 6,
};
enum dcom_scm_opnum {
	DCOM_OP_REMOTE_ACTIVATION = 0,       /* IActivation */
	DCOM_OP_REMOTE_GET_CLASS_OBJECT = 3, /* IRemoteSCMActivator */
	DCOM_OP_REMOTE_CREATE_INSTANCE = 4,
};
enum dcom_remunk_opnum {
	DCOM_OP_REM_QUERY_INTERFACE = 3,
	DCOM_OP_REM_ADD_REF = 4,
	DCOM_OP_REM_RELEASE = 5,
	DCOM_OP_REM_QUERY_INTERFACE2 = 6,    /* IRemUnknown2 */
};
enum dcom_classfactory_opnum {
	DCOM_OP_CF_CREATE_INSTANCE = 3,      /* IClassFactory::RemoteCreateInstance */
	DCOM_OP_CF_LOCK = 4,                 /* IClassFactory::RemoteLock */
};

#endif
