/*
 * exporter_int.h - what exporter.c shares with the interface files of the
 * DCOM layer (oxid.c, activator.c, remunk.c): the exporter's tables and the
 * helpers that create, find and reclaim objects and IPIDs. Not for use
 * outside src/dcom/. Every dx_* function named _locked expects x->mu held.
 */
#ifndef CERTA_DCOM_EXPORTER_INT_H
#define CERTA_DCOM_EXPORTER_INT_H

#include <pthread.h>

#include "dcom/exporter.h"
#include "dcom/objref.h"

/* Public references given with each object reference we marshal
 * (activation, RemQueryInterface2, IClassFactory). MS-DCOM 3.1.1.5.1 leaves
 * the number to the implementation; several let a client hand references on
 * without calling back. RemQueryInterface gives what the client asks for. */
#define DX_MARSHAL_REFS 5u

#define DX_BUCKETS 1024u

typedef struct dx_object dx_object_t;
typedef struct dx_ipid dx_ipid_t;

struct dx_ipid {
	guid_t ipid;
	guid_t iid;                /* the interface this IPID stands for */
	const dcom_iface_t *iface; /* its implementation (iid itself or a derived one) */
	dx_object_t *obj;
	uint32_t public_refs;
	uint32_t private_refs;
	dx_ipid_t *hnext;          /* IPID hash chain */
	dx_ipid_t *onext;          /* the object's IPID list */
};

struct dx_object {
	uint64_t oid;
	guid_t clsid;
	dcom_object_t obj;
	dx_ipid_t *ipids;
	uint32_t ping_refs;        /* ping sets holding this OID */
	uint64_t last_use;         /* creation, call, QI/AddRef, being added to a set */
	uint32_t busy;             /* calls in progress */
	bool dead;                 /* out of the tables; released when busy drops to 0 */
	bool permanent;            /* the exporter's own IRemUnknown */
	dx_object_t *hnext;        /* OID hash chain */
	dx_object_t *prev, *next;  /* all objects (GC scan), or the graveyard list */
};

typedef struct dx_set {
	uint64_t setid;
	uint16_t seq;
	uint64_t last_ping;
	char *owner;               /* who created it: only they may ping or change it */
	uint64_t *oids;
	uint32_t n, cap;
	struct dx_set *hnext;
} dx_set_t;

typedef struct dx_class {
	guid_t clsid;
	dcom_create_fn create;
	void *arg;
} dx_class_t;

/* One IID served on the dynamic listener: its rpc_iface_t, whose every
 * opnum >= 3 enters dx_orpc_dispatch. */
typedef struct dx_served {
	rpc_iface_t rpc;
	rpc_op_fn *ops;
	dcom_exporter_t *x;
} dx_served_t;

struct dcom_exporter {
	pthread_mutex_t mu;
	dcom_exporter_config_t cfg;     /* defaults applied; arrays below are owned copies */
	char **names;
	uint16_t *authn_svcs;
	char *princ_name;
	uint64_t oxid;
	guid_t ipid_remunknown;
	dx_object_t *remunk;            /* the permanent IRemUnknown object */
	dx_ipid_t *ipid_tab[DX_BUCKETS];
	dx_object_t *oid_tab[DX_BUCKETS];
	dx_set_t *set_tab[DX_BUCKETS];
	dx_object_t *objects;           /* every live object but remunk */
	dx_object_t *grave;             /* dead and idle: released at dx_leave */
	uint16_t port_cache;            /* the dynamic listener's port, once found */
	size_t n_objects, n_ipids, n_sets;
	uint64_t next_collect;
	dx_class_t *classes;
	size_t n_classes;
	const dcom_iface_t **ifaces;    /* declared with dcom_exporter_add_iface */
	size_t n_ifaces;
	dx_served_t *served;            /* built once (build_ifaces) */
	size_t n_served;
	rpc_iface_t oxid_iface, scm_iface, act_iface;
	bool built;
	rpc_server_t *srv;
	dcom_security_hooks_t hooks;
};

/* built-in interfaces (remunk.c, activator.c) */
extern const dcom_iface_t dx_iunknown_iface;
extern const dcom_iface_t dx_remunknown_iface;
extern const dcom_iface_t dx_remunknown2_iface;
extern const dcom_iface_t dx_classfactory_iface;

uint64_t dx_now(dcom_exporter_t *x);
/* dx_enter locks x and runs garbage collection when due; dx_leave unlocks
 * and releases what was reclaimed meanwhile. */
void dx_enter(dcom_exporter_t *x, uint64_t *now);
void dx_leave(dcom_exporter_t *x);

dx_ipid_t *dx_ipid_find_locked(dcom_exporter_t *x, const guid_t *ipid);
dx_object_t *dx_oid_find_locked(dcom_exporter_t *x, uint64_t oid);
/* dx_object_add_locked enters a new object (taking obj); NULL when the
 * object limit is reached or memory runs out (the caller releases obj). */
dx_object_t *dx_object_add_locked(dcom_exporter_t *x, const guid_t *clsid, const dcom_object_t *obj,
				  uint64_t now);
/* dx_ipid_for_locked finds the object's IPID for iid and adds refs to it, or
 * creates one when the object implements iid (itself, as a base, or
 * IUnknown). NULL when the object does not support iid (or no memory:
 * *nomem says which). */
dx_ipid_t *dx_ipid_for_locked(dcom_exporter_t *x, dx_object_t *o, const guid_t *iid, uint32_t refs,
			      bool *nomem);
/* dx_ipid_remove_locked drops one IPID; the object goes too when it has none left. */
void dx_ipid_remove_locked(dcom_exporter_t *x, dx_ipid_t *ip);
/* dx_object_kill_locked takes o out of every table (its IPIDs too); it is
 * released at dx_leave, or when its last call ends. */
void dx_object_kill_locked(dcom_exporter_t *x, dx_object_t *o);
/* dx_object_unbusy_locked ends a call on o. */
void dx_object_unbusy_locked(dcom_exporter_t *x, dx_object_t *o);

dx_set_t *dx_set_find_locked(dcom_exporter_t *x, uint64_t setid);
dx_set_t *dx_set_new_locked(dcom_exporter_t *x, const char *owner, uint64_t now);

/* dx_bindings fills the string and security bindings as seen by the caller:
 * the address it dialled, then the configured names; "host[port]" for the
 * object exporter (with_port), bare hosts for the resolver. Allocated from a. */
bool dx_bindings(dcom_exporter_t *x, const rpc_conn_info_t *conn, arena_t *a, bool with_port,
		 dcom_dualstringarray_t *out);
/* dx_marshal_locked writes OBJREF_STANDARD for ip (with refs public references
 * and the resolver bindings) into the arena as an MInterfacePointer body. */
bool dx_marshal_locked(dcom_exporter_t *x, const rpc_conn_info_t *conn, arena_t *a, const dx_ipid_t *ip,
		       uint32_t refs, ndr_blob_t *out);

/* dx_check runs the security hook (or dcom_default_check). */
cerr_t dx_check(dcom_exporter_t *x, const dcom_check_t *req);
/* dx_identity_key names the caller for ping-set ownership ("" when anonymous). */
const char *dx_identity_key(const rpc_conn_info_t *conn, char *buf, size_t len);

/* Activation shared by the activators and IClassFactory (activator.c). */
typedef struct dx_activation_result {
	uint32_t hr;                /* overall HRESULT */
	cerr_t fault;               /* CERR_OK, or an NCA-space fault to send instead */
	uint32_t n;
	uint32_t *hrs;              /* per requested IID */
	ndr_blob_t *objrefs;        /* OBJREF_STANDARD bodies (data NULL where hrs[i] fails) */
} dx_activation_result_t;

void dx_activate(dcom_exporter_t *x, rpc_call_t *call, const guid_t *clsid, const guid_t *iids, uint32_t n,
		 bool class_object, const dcom_actprops_in_t *props, dx_activation_result_t *res);

/* rpc_iface_t initialisers for the native (non-ORPC) interfaces */
void dx_oxid_iface_init(dcom_exporter_t *x, rpc_iface_t *out);
void dx_scm_iface_init(dcom_exporter_t *x, rpc_iface_t *out);
void dx_activation_iface_init(dcom_exporter_t *x, rpc_iface_t *out);

/* iface_implements: ip's implementation accepts calls made on iid. */
bool dx_iface_implements(const dcom_iface_t *iface, const guid_t *iid);

#endif
