/*
 * oxid.c - IObjectExporter 99fcfec4-5260-101b-bbcb-00aa0021347a v0.0, the
 * OXID resolver on the endpoint-mapper port (MS-DCOM 3.1.2.5.1): OXID
 * resolution, ping sets (SimplePing, ComplexPing) and the liveness probes
 * clients send first (ServerAlive, ServerAlive2). A native RPC interface:
 * no ORPCTHIS; results are error_status_t (Win32 values).
 */
#include "dcom/exporter_int.h"

#include <stdlib.h>
#include <string.h>

#include "dcom/limits.h"

static cerr_t finish(rpc_call_t *call, uint32_t status)
{
	ndr_put_u32(call->out, status);
	return buf_ok(call->out) ? CERR_OK : CERR_NOMEM;
}

/* get_protseqs reads cRequestedProtseqs and the [ref, size_is] array (which
 * we do not need: we listen on ncacn_ip_tcp only and always answer with it). */
static bool get_protseqs(cur_t *c)
{
	uint16_t n;
	uint32_t mc;
	if (!ndr_get_u16(c, &n) || !ndr_get_conformance(c, &mc) || mc != n || !ndr_check_count(c, n, 2)) {
		return false;
	}
	for (uint16_t i = 0; i < n; i++) {
		uint16_t p;
		if (!ndr_get_u16(c, &p)) {
			return false;
		}
	}
	return true;
}

/* resolve: opnums 0 and 4 (MS-DCOM 3.1.2.5.1.1, 3.1.2.5.1.5). Out:
 * ppdsaOxidBindings ([out, ref] DUALSTRINGARRAY**: a unique pointer),
 * pipidRemUnknown, pAuthnHint, [pComVersion], status. Only our own OXID is
 * known; any other is OR_INVALID_OXID. */
static cerr_t resolve(rpc_call_t *call, bool v2)
{
	dcom_exporter_t *x = call->iface_data;
	uint64_t oxid;
	if (!ndr_get_u64(&call->in, &oxid) || !get_protseqs(&call->in)) {
		return CERR_MALFORMED;
	}
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	dcom_dualstringarray_t dsa;
	bool known = oxid == x->oxid;
	if (known) {
		dx_enter(x, NULL);
		bool ok = dx_bindings(x, call->conn, call->arena, true, &dsa);
		dx_leave(x);
		if (!ok) {
			return CERR_NOMEM;
		}
	}
	guid_t nil = {0};
	if (ndr_put_unique_ptr(call->out, &ids, known)) {
		dcom_put_dsa_body(call->out, &dsa);
	}
	ndr_put_guid(call->out, known ? &x->ipid_remunknown : &nil);
	ndr_put_u32(call->out, known ? x->cfg.authn_hint : 0);
	if (v2) {
		ndr_put_u16(call->out, DCOM_VERSION_MAJOR);
		ndr_put_u16(call->out, DCOM_VERSION_MINOR);
	}
	return finish(call, known ? 0 : cerr_value(CERR_OR_INVALID_OXID));
}

static cerr_t op_resolve_oxid(rpc_call_t *call) { return resolve(call, false); }
static cerr_t op_resolve_oxid2(rpc_call_t *call) { return resolve(call, true); }

/* owns: a set answers only to the identity that made it (see dx_set_new_locked). */
static bool owns(const dx_set_t *s, const rpc_call_t *call)
{
	char buf[512];
	return strcmp(s->owner, dx_identity_key(call->conn, buf, sizeof(buf))) == 0;
}

/* Opnum 1 SimplePing([in] SETID *pSetId): reset the set's timer, or
 * OR_INVALID_SET (MS-DCOM 3.1.2.5.1.2). */
static cerr_t op_simple_ping(rpc_call_t *call)
{
	dcom_exporter_t *x = call->iface_data;
	uint64_t setid, now;
	if (!ndr_get_u64(&call->in, &setid)) {
		return CERR_MALFORMED;
	}
	dx_enter(x, &now);
	dx_set_t *s = dx_set_find_locked(x, setid);
	bool ok = s && owns(s, call);
	if (ok) {
		s->last_ping = now;
	}
	dx_leave(x);
	return finish(call, ok ? 0 : cerr_value(CERR_OR_INVALID_SET));
}

/* get_oids reads a top-level [in, unique, size_is(n)] OID array. */
static bool get_oids(cur_t *c, arena_t *a, uint16_t n, uint64_t **out)
{
	uint32_t ref, mc;
	*out = NULL;
	if (!ndr_get_unique_ptr(c, &ref)) {
		return false;
	}
	if (ref == 0) {
		return n == 0;
	}
	if (!ndr_get_conformance(c, &mc) || mc != n || !ndr_check_count(c, n, 8)) {
		return false;
	}
	uint64_t *v = arena_array(a, n ? n : 1, sizeof(*v));
	if (!v) {
		return false;
	}
	for (uint16_t i = 0; i < n; i++) {
		if (!ndr_get_u64(c, &v[i])) {
			return false;
		}
	}
	*out = v;
	return true;
}

static bool set_has(const dx_set_t *s, uint64_t oid)
{
	for (uint32_t i = 0; i < s->n; i++) {
		if (s->oids[i] == oid) {
			return true;
		}
	}
	return false;
}

static bool set_push(dx_set_t *s, uint64_t oid)
{
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 8;
		uint64_t *n = realloc(s->oids, cap * sizeof(*n));
		if (!n) {
			return false;
		}
		s->oids = n;
		s->cap = cap;
	}
	s->oids[s->n++] = oid;
	return true;
}

/* add_oids adds the known OIDs to s (each counted once per set). */
static void add_oids(dcom_exporter_t *x, dx_set_t *s, const uint64_t *oids, uint16_t n, uint64_t now)
{
	for (uint16_t i = 0; i < n; i++) {
		dx_object_t *o = dx_oid_find_locked(x, oids[i]);
		if (!o || set_has(s, oids[i]) || !set_push(s, oids[i])) {
			continue;
		}
		o->ping_refs++;
		o->last_use = now;
	}
}

/* Opnum 2 ComplexPing([in, out] SETID *pSetId, [in] SequenceNum, [in] cAddToSet,
 * [in] cDelFromSet, [in, unique, size_is(cAddToSet)] OID AddToSet[],
 * [in, unique, size_is(cDelFromSet)] OID DelFromSet[], [out] pPingBackoffFactor)
 * (MS-DCOM 3.1.2.5.1.3). */
static cerr_t op_complex_ping(rpc_call_t *call)
{
	dcom_exporter_t *x = call->iface_data;
	uint64_t setid, now;
	uint16_t seq, n_add, n_del;
	uint64_t *add, *del;
	if (!ndr_get_u64(&call->in, &setid) || !ndr_get_u16(&call->in, &seq) || !ndr_get_u16(&call->in, &n_add) ||
	    !ndr_get_u16(&call->in, &n_del) || !get_oids(&call->in, call->arena, n_add, &add) ||
	    !get_oids(&call->in, call->arena, n_del, &del)) {
		return CERR_MALFORMED;
	}
	uint32_t status = 0;
	dx_enter(x, &now);
	if (setid == 0) {
		/* a new set with the OIDs we know; unknown ones are left out */
		char buf[512];
		dx_set_t *s = n_add <= DCOM_MAX_SET_OIDS
				      ? dx_set_new_locked(x, dx_identity_key(call->conn, buf, sizeof(buf)), now)
				      : NULL;
		if (!s) {
			dx_leave(x);
			return CERR_NCA_S_SERVER_TOO_BUSY;
		}
		s->seq = seq;
		add_oids(x, s, add, n_add, now);
		setid = s->setid;
	} else {
		dx_set_t *s = dx_set_find_locked(x, setid);
		if (!s || !owns(s, call)) {
			status = cerr_value(CERR_OR_INVALID_SET);
		} else if (s->seq > seq) {
			/* an older request overtaken by a newer one: nothing to do */
		} else {
			bool unknown = false;
			for (uint16_t i = 0; i < n_add; i++) {
				unknown = unknown || (!set_has(s, add[i]) && !dx_oid_find_locked(x, add[i]));
			}
			if (unknown) {
				status = cerr_value(CERR_OR_INVALID_OID);
			} else if (s->n + n_add > DCOM_MAX_SET_OIDS) {
				dx_leave(x);
				return CERR_NCA_S_SERVER_TOO_BUSY;
			} else {
				add_oids(x, s, add, n_add, now);
				for (uint16_t i = 0; i < n_del; i++) {
					for (uint32_t k = 0; k < s->n; k++) {
						if (s->oids[k] != del[i]) {
							continue;
						}
						dx_object_t *o = dx_oid_find_locked(x, del[i]);
						if (o && o->ping_refs) {
							o->ping_refs--;
						}
						s->oids[k] = s->oids[--s->n];
						break;
					}
				}
				s->last_ping = now;
				s->seq = seq;
			}
		}
	}
	dx_leave(x);
	ndr_put_u64(call->out, setid);
	ndr_put_u16(call->out, 0); /* pPingBackoffFactor: no backoff asked */
	return finish(call, status);
}

/* Opnum 3 ServerAlive: [out] nothing but the status. */
static cerr_t op_server_alive(rpc_call_t *call) { return finish(call, 0); }

/* Opnum 5 ServerAlive2([out, ref] COMVERSION *pComVersion, [out, ref]
 * DUALSTRINGARRAY **ppdsaOrBindings, [out, ref] DWORD *pReserved): the
 * resolver's bindings without endpoints, and no permission check
 * (MS-DCOM 3.1.2.5.1.6). */
static cerr_t op_server_alive2(rpc_call_t *call)
{
	dcom_exporter_t *x = call->iface_data;
	dcom_dualstringarray_t dsa;
	dx_enter(x, NULL);
	bool ok = dx_bindings(x, call->conn, call->arena, false, &dsa);
	dx_leave(x);
	if (!ok) {
		return CERR_NOMEM;
	}
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	ndr_put_u16(call->out, DCOM_VERSION_MAJOR);
	ndr_put_u16(call->out, DCOM_VERSION_MINOR);
	ndr_put_unique_ptr(call->out, &ids, true);
	dcom_put_dsa_body(call->out, &dsa);
	ndr_put_u32(call->out, 0); /* pReserved */
	return finish(call, 0);
}

static const rpc_op_fn oxid_ops[DCOM_OXID_N_OPS] = {
	[DCOM_OP_RESOLVE_OXID] = op_resolve_oxid,
	[DCOM_OP_SIMPLE_PING] = op_simple_ping,
	[DCOM_OP_COMPLEX_PING] = op_complex_ping,
	[DCOM_OP_SERVER_ALIVE] = op_server_alive,
	[DCOM_OP_RESOLVE_OXID2] = op_resolve_oxid2,
	[DCOM_OP_SERVER_ALIVE2] = op_server_alive2,
};

void dx_oxid_iface_init(dcom_exporter_t *x, rpc_iface_t *out)
{
	memset(out, 0, sizeof(*out));
	out->name = "IObjectExporter";
	out->uuid = DCOM_IID_IOBJECTEXPORTER;
	out->ops = oxid_ops;
	out->n_ops = DCOM_OXID_N_OPS;
	out->data = x;
	out->epm_register = false; /* reached on the well-known port 135 (MS-DCOM 1.9) */
}
