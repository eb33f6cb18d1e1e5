/*
 * exporter.c - the object exporter's tables (OXID, OIDs, IPIDs, ping sets),
 * garbage collection, bindings, marshaling of object references, ORPC
 * dispatch by IPID, and registration with the RPC server (see exporter.h).
 * The interfaces themselves are in oxid.c, activator.c and remunk.c.
 */
#include "dcom/exporter_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "rpc/pdu.h"
#include "util/log.h"

#define DEFAULT_PING_PERIOD_MS 120000u
#define DEFAULT_PING_PERIODS 3u
/* SETIDs are 16-bit (see dx_set_new_locked), so sets are capped below that. */
#define MAX_SETS_CAP 60000u

static uint64_t mono_ms(void *arg)
{
	(void)arg;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t rand_u64(void)
{
	uint8_t r[8];
	if (RAND_bytes(r, sizeof(r)) != 1) {
		abort(); /* no randomness: identifiers would be guessable */
	}
	uint64_t v = 0;
	for (int i = 0; i < 8; i++) {
		v = v << 8 | r[i];
	}
	return v;
}

static size_t guid_bucket(const guid_t *g)
{
	uint32_t h = g->d1 ^ ((uint32_t)g->d2 << 16 | g->d3);
	for (int i = 0; i < 8; i++) {
		h = h * 31u + g->d4[i];
	}
	return h % DX_BUCKETS;
}

static size_t u64_bucket(uint64_t v)
{
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdull;
	v ^= v >> 33;
	return (size_t)(v % DX_BUCKETS);
}

static uint32_t sat_add(uint32_t a, uint32_t b) { return a > UINT32_MAX - b ? UINT32_MAX : a + b; }

void dcom_put_hresult(buf_t *out, uint32_t hr) { ndr_put_u32(out, hr); }

uint64_t dx_now(dcom_exporter_t *x) { return x->cfg.clock_ms(x->cfg.clock_arg); }

bool dx_iface_implements(const dcom_iface_t *iface, const guid_t *iid)
{
	if (guid_equal(&iface->iid, iid)) {
		return true;
	}
	for (size_t i = 0; i < iface->n_bases; i++) {
		if (guid_equal(&iface->bases[i], iid)) {
			return true;
		}
	}
	return false;
}

/* ---- security ---- */

cerr_t dcom_default_check(const dcom_check_t *req, uint8_t min_level)
{
	if (req->kind != DCOM_CHECK_ACTIVATE) {
		return CERR_OK;
	}
	const rpc_conn_info_t *c = req->conn;
	if (!c || c->auth_type == RPC_AUTH_NONE || c->auth_level < RPC_AUTH_LEVEL_CONNECT || !c->identity ||
	    c->identity->anonymous) {
		return CERR_NCA_S_FAULT_ACCESS_DENIED;
	}
	if (c->auth_level < min_level) {
		return CERR_E_ACCESSDENIED;
	}
	return CERR_OK;
}

cerr_t dx_check(dcom_exporter_t *x, const dcom_check_t *req)
{
	if (x->hooks.check) {
		return x->hooks.check(x->hooks.arg, req);
	}
	return dcom_default_check(req, x->cfg.min_activation_level);
}

const char *dx_identity_key(const rpc_conn_info_t *conn, char *buf, size_t len)
{
	const rpc_identity_t *id = conn ? conn->identity : NULL;
	if (!id || id->anonymous) {
		return "";
	}
	snprintf(buf, len, "%s\\%s", id->domain ? id->domain : "", id->user ? id->user : "");
	return buf;
}

/* ---- tables ---- */

dx_ipid_t *dx_ipid_find_locked(dcom_exporter_t *x, const guid_t *ipid)
{
	for (dx_ipid_t *ip = x->ipid_tab[guid_bucket(ipid)]; ip; ip = ip->hnext) {
		if (guid_equal(&ip->ipid, ipid)) {
			return ip;
		}
	}
	return NULL;
}

dx_object_t *dx_oid_find_locked(dcom_exporter_t *x, uint64_t oid)
{
	for (dx_object_t *o = x->oid_tab[u64_bucket(oid)]; o; o = o->hnext) {
		if (o->oid == oid) {
			return o;
		}
	}
	return NULL;
}

dx_set_t *dx_set_find_locked(dcom_exporter_t *x, uint64_t setid)
{
	for (dx_set_t *s = x->set_tab[u64_bucket(setid)]; s; s = s->hnext) {
		if (s->setid == setid) {
			return s;
		}
	}
	return NULL;
}

static void oid_insert(dcom_exporter_t *x, dx_object_t *o)
{
	size_t b = u64_bucket(o->oid);
	o->hnext = x->oid_tab[b];
	x->oid_tab[b] = o;
}

static void oid_unlink(dcom_exporter_t *x, dx_object_t *o)
{
	for (dx_object_t **pp = &x->oid_tab[u64_bucket(o->oid)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == o) {
			*pp = o->hnext;
			return;
		}
	}
}

static void ipid_unlink(dcom_exporter_t *x, dx_ipid_t *ip)
{
	for (dx_ipid_t **pp = &x->ipid_tab[guid_bucket(&ip->ipid)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == ip) {
			*pp = ip->hnext;
			return;
		}
	}
}

static uint64_t new_oid_locked(dcom_exporter_t *x)
{
	uint64_t oid;
	do {
		oid = rand_u64();
	} while (oid == 0 || dx_oid_find_locked(x, oid) || (x->remunk && x->remunk->oid == oid));
	return oid;
}

static dx_ipid_t *ipid_new_locked(dcom_exporter_t *x, dx_object_t *o, const guid_t *iid,
				  const dcom_iface_t *impl, uint32_t refs)
{
	dx_ipid_t *ip = calloc(1, sizeof(*ip));
	if (!ip) {
		return NULL;
	}
	do {
		guid_random(&ip->ipid);
	} while (dx_ipid_find_locked(x, &ip->ipid));
	ip->iid = *iid;
	ip->iface = impl;
	ip->obj = o;
	ip->public_refs = refs;
	size_t b = guid_bucket(&ip->ipid);
	ip->hnext = x->ipid_tab[b];
	x->ipid_tab[b] = ip;
	ip->onext = o->ipids;
	o->ipids = ip;
	x->n_ipids++;
	return ip;
}

dx_object_t *dx_object_add_locked(dcom_exporter_t *x, const guid_t *clsid, const dcom_object_t *obj,
				  uint64_t now)
{
	if (x->n_objects >= x->cfg.max_objects) {
		log_warn("dcom: object limit (%u) reached; activation refused", x->cfg.max_objects);
		return NULL;
	}
	dx_object_t *o = calloc(1, sizeof(*o));
	if (!o) {
		return NULL;
	}
	o->oid = new_oid_locked(x);
	o->clsid = *clsid;
	o->obj = *obj;
	o->last_use = now;
	oid_insert(x, o);
	o->next = x->objects;
	if (x->objects) {
		x->objects->prev = o;
	}
	x->objects = o;
	x->n_objects++;
	return o;
}

/* find_impl picks the interface of o that implements iid: the one whose IID
 * it is, else one deriving from it; IUnknown is implemented by every object. */
static const dcom_iface_t *find_impl(const dx_object_t *o, const guid_t *iid)
{
	if (guid_equal(iid, &DCOM_IID_IUNKNOWN)) {
		return &dx_iunknown_iface;
	}
	for (size_t i = 0; i < o->obj.n_ifaces; i++) {
		if (guid_equal(&o->obj.ifaces[i]->iid, iid)) {
			return o->obj.ifaces[i];
		}
	}
	for (size_t i = 0; i < o->obj.n_ifaces; i++) {
		if (dx_iface_implements(o->obj.ifaces[i], iid)) {
			return o->obj.ifaces[i];
		}
	}
	return NULL;
}

dx_ipid_t *dx_ipid_for_locked(dcom_exporter_t *x, dx_object_t *o, const guid_t *iid, uint32_t refs,
			      bool *nomem)
{
	*nomem = false;
	if (o->permanent) {
		/* the exporter's IRemUnknown: one IPID answers for IUnknown,
		 * IRemUnknown and IRemUnknown2, and is never released */
		dx_ipid_t *ip = o->ipids;
		return guid_equal(iid, &DCOM_IID_IUNKNOWN) || dx_iface_implements(ip->iface, iid) ? ip : NULL;
	}
	for (dx_ipid_t *ip = o->ipids; ip; ip = ip->onext) {
		if (guid_equal(&ip->iid, iid)) {
			ip->public_refs = sat_add(ip->public_refs, refs);
			return ip;
		}
	}
	const dcom_iface_t *impl = find_impl(o, iid);
	if (!impl) {
		return NULL;
	}
	dx_ipid_t *ip = ipid_new_locked(x, o, iid, impl, refs);
	*nomem = ip == NULL;
	return ip;
}

static void graveyard_push(dcom_exporter_t *x, dx_object_t *o)
{
	o->prev = NULL;
	o->next = x->grave;
	x->grave = o;
}

void dx_object_kill_locked(dcom_exporter_t *x, dx_object_t *o)
{
	if (o->dead || o->permanent) {
		return;
	}
	while (o->ipids) {
		dx_ipid_t *ip = o->ipids;
		o->ipids = ip->onext;
		ipid_unlink(x, ip);
		free(ip);
		x->n_ipids--;
	}
	oid_unlink(x, o);
	if (o->prev) {
		o->prev->next = o->next;
	} else {
		x->objects = o->next;
	}
	if (o->next) {
		o->next->prev = o->prev;
	}
	x->n_objects--;
	o->dead = true;
	if (o->busy == 0) {
		graveyard_push(x, o);
	}
}

void dx_ipid_remove_locked(dcom_exporter_t *x, dx_ipid_t *ip)
{
	dx_object_t *o = ip->obj;
	if (o->permanent) {
		return;
	}
	for (dx_ipid_t **pp = &o->ipids; *pp; pp = &(*pp)->onext) {
		if (*pp == ip) {
			*pp = ip->onext;
			break;
		}
	}
	ipid_unlink(x, ip);
	free(ip);
	x->n_ipids--;
	if (!o->ipids) {
		/* MS-DCOM 3.1.1.5.6.1.3: the last IPID gone, the OID goes too */
		dx_object_kill_locked(x, o);
	}
}

void dx_object_unbusy_locked(dcom_exporter_t *x, dx_object_t *o)
{
	o->busy--;
	if (o->dead && o->busy == 0) {
		graveyard_push(x, o);
	}
}

/* dx_set_new_locked allocates a ping set. SETIDs are drawn from 1..0xffff:
 * impacket (dcomrt.py ComplexPing) copies the SETID into the u16
 * SequenceNum field and fails on larger values; a set answers only to the
 * identity that created it, so a small id space gives a guesser nothing. */
dx_set_t *dx_set_new_locked(dcom_exporter_t *x, const char *owner, uint64_t now)
{
	if (x->n_sets >= x->cfg.max_sets) {
		log_warn("dcom: ping set limit (%u) reached", x->cfg.max_sets);
		return NULL;
	}
	dx_set_t *s = calloc(1, sizeof(*s));
	if (!s || !(s->owner = strdup(owner))) {
		free(s);
		return NULL;
	}
	uint64_t id;
	do {
		id = 1 + rand_u64() % 0xffffu;
	} while (dx_set_find_locked(x, id));
	s->setid = id;
	s->last_ping = now;
	size_t b = u64_bucket(id);
	s->hnext = x->set_tab[b];
	x->set_tab[b] = s;
	x->n_sets++;
	return s;
}

static void set_free(dx_set_t *s)
{
	if (s) {
		free(s->oids);
		free(s->owner);
		free(s);
	}
}

/* ---- garbage collection (MS-DCOM 3.1.2.6, 3.1.1.6.2) ---- */

static void collect_locked(dcom_exporter_t *x, uint64_t now)
{
	uint64_t timeout = (uint64_t)x->cfg.ping_period_ms * x->cfg.ping_periods;
	/* ping sets whose timer ran out: the client is dead or unreachable */
	for (size_t b = 0; b < DX_BUCKETS; b++) {
		for (dx_set_t **pp = &x->set_tab[b]; *pp;) {
			dx_set_t *s = *pp;
			if (now < s->last_ping || now - s->last_ping < timeout) {
				pp = &s->hnext;
				continue;
			}
			for (uint32_t i = 0; i < s->n; i++) {
				dx_object_t *o = dx_oid_find_locked(x, s->oids[i]);
				if (o && o->ping_refs) {
					o->ping_refs--;
				}
			}
			*pp = s->hnext;
			log_debug("dcom: ping set %llu expired", (unsigned long long)s->setid);
			set_free(s);
			x->n_sets--;
		}
	}
	/* objects no live set holds, idle as long: reclaimed. An object whose
	 * client never pings (impacket without oxidResolver) goes after one
	 * timeout from its last use, as Windows reclaims unpinged objects. */
	for (dx_object_t *o = x->objects; o;) {
		dx_object_t *next = o->next;
		if (o->ping_refs == 0 && now >= o->last_use && now - o->last_use >= timeout) {
			log_debug("dcom: reclaiming unpinged object oid=%016llx", (unsigned long long)o->oid);
			dx_object_kill_locked(x, o);
		}
		o = next;
	}
}

void dx_enter(dcom_exporter_t *x, uint64_t *now)
{
	pthread_mutex_lock(&x->mu);
	uint64_t t = dx_now(x);
	if (t >= x->next_collect) {
		collect_locked(x, t);
		uint64_t step = x->cfg.ping_period_ms < 1000u ? x->cfg.ping_period_ms : 1000u;
		x->next_collect = t + (step ? step : 1);
	}
	if (now) {
		*now = t;
	}
}

static void release_list(dx_object_t *o)
{
	while (o) {
		dx_object_t *next = o->next;
		if (o->obj.release) {
			o->obj.release(o->obj.state);
		}
		free(o);
		o = next;
	}
}

void dx_leave(dcom_exporter_t *x)
{
	dx_object_t *grave = x->grave;
	x->grave = NULL;
	pthread_mutex_unlock(&x->mu);
	release_list(grave);
}

void dcom_exporter_collect(dcom_exporter_t *x)
{
	pthread_mutex_lock(&x->mu);
	collect_locked(x, dx_now(x));
	dx_leave(x);
}

/* ---- bindings and marshaling ---- */

static void port_cb(void *arg, const rpc_iface_t *iface, enum rpc_listen_role role, uint16_t port)
{
	dcom_exporter_t *x = arg;
	if (role == RPC_LISTEN_DYNAMIC && x->n_served && iface == &x->served[0].rpc && !x->port_cache) {
		x->port_cache = port;
	}
}

static uint16_t exporter_port(dcom_exporter_t *x)
{
	if (x->cfg.port) {
		return x->cfg.port;
	}
	if (!x->port_cache && x->srv) {
		rpc_server_foreach_endpoint(x->srv, port_cb, x);
	}
	return x->port_cache;
}

bool dx_bindings(dcom_exporter_t *x, const rpc_conn_info_t *conn, arena_t *a, bool with_port,
		 dcom_dualstringarray_t *out)
{
	const char *local = conn && conn->local_addr ? conn->local_addr : "";
	if (strncmp(local, "::ffff:", 7) == 0) {
		local += 7; /* IPv4-mapped: clients dialled the IPv4 address */
	}
	size_t n_hosts = (*local ? 1 : 0) + x->cfg.n_names;
	memset(out, 0, sizeof(*out));
	out->str = arena_array(a, n_hosts ? n_hosts : 1, sizeof(*out->str));
	out->sec = arena_array(a, x->cfg.n_authn_svcs ? x->cfg.n_authn_svcs : 1, sizeof(*out->sec));
	if (!out->str || !out->sec) {
		return false;
	}
	uint16_t port = with_port ? exporter_port(x) : 0;
	for (size_t i = 0; i < n_hosts; i++) {
		const char *host = (*local && i == 0) ? local : x->names[i - (*local ? 1 : 0)];
		if (i > 0 && strcmp(host, local) == 0) {
			continue;
		}
		char buf[300];
		if (port) {
			snprintf(buf, sizeof(buf), "%s[%u]", host, port);
		} else {
			snprintf(buf, sizeof(buf), "%s", host);
		}
		char *s = arena_strdup(a, buf);
		if (!s) {
			return false;
		}
		out->str[out->n_str].tower_id = DCOM_TOWER_NCACN_IP_TCP;
		out->str[out->n_str].addr = s;
		out->n_str++;
	}
	for (size_t i = 0; i < x->cfg.n_authn_svcs; i++) {
		out->sec[i].authn_svc = x->authn_svcs[i];
		out->sec[i].reserved = 0xffff;
		out->sec[i].princ_name = x->princ_name;
	}
	out->n_sec = x->cfg.n_authn_svcs;
	return true;
}

bool dx_marshal_locked(dcom_exporter_t *x, const rpc_conn_info_t *conn, arena_t *a, const dx_ipid_t *ip,
		       uint32_t refs, ndr_blob_t *out)
{
	dcom_objref_t o;
	memset(&o, 0, sizeof(o));
	o.flags = OBJREF_STANDARD;
	o.iid = ip->iid;
	/* flags 0: the client is asked to ping (MS-DCOM 2.2.18.2); saResAddr is the
	 * resolver's bindings, without endpoints (MS-DCOM 3.2.4.3, 2.2.19.3) */
	o.std.flags = 0;
	o.std.public_refs = refs;
	o.std.oxid = x->oxid;
	o.std.oid = ip->obj->oid;
	o.std.ipid = ip->ipid;
	if (guid_equal(&o.iid, &DCOM_IID_IUNKNOWN) && ip->obj->permanent) {
		o.iid = DCOM_IID_IREMUNKNOWN2;
	}
	if (!dx_bindings(x, conn, a, false, &o.resaddr)) {
		return false;
	}
	buf_t b;
	buf_init(&b, 0);
	bool ok = dcom_objref_encode(&b, &o) == CERR_OK && b.len <= UINT32_MAX;
	if (ok) {
		out->data = arena_memdup(a, b.data, b.len);
		out->len = (uint32_t)b.len;
		ok = out->data != NULL;
	}
	buf_free(&b);
	return ok;
}

/* ---- ORPC dispatch by IPID (MS-DCOM 3.1.1.5.4) ---- */

static cerr_t dx_orpc_dispatch(rpc_call_t *call)
{
	dx_served_t *sv = call->iface_data;
	dcom_exporter_t *x = sv->x;
	const guid_t *iid = &sv->rpc.uuid;
	if (!call->has_object) {
		return CERR_FAULT_RPC_E_DISCONNECTED;
	}
	uint64_t now;
	dx_enter(x, &now);
	dx_ipid_t *ip = dx_ipid_find_locked(x, &call->object);
	if (!ip) {
		/* no such interface pointer: never existed, released or reclaimed */
		dx_leave(x);
		log_debug("dcom: call on unknown IPID");
		return CERR_FAULT_RPC_E_DISCONNECTED;
	}
	if (!guid_equal(&ip->iid, iid) && !dx_iface_implements(ip->iface, iid)) {
		dx_leave(x);
		return CERR_FAULT_E_NOINTERFACE;
	}
	const dcom_iface_t *impl = ip->iface;
	dcom_op_fn op = call->opnum < impl->n_ops && impl->ops ? impl->ops[call->opnum] : NULL;
	if (!op) {
		dx_leave(x);
		return CERR_NCA_S_OP_RNG_ERROR;
	}
	dx_object_t *o = ip->obj;
	o->busy++;
	o->last_use = now;
	guid_t ipid = ip->ipid, clsid = o->clsid;
	void *state = o->obj.state;
	dx_leave(x);

	cerr_t e;
	dcom_check_t chk = {.kind = DCOM_CHECK_CALL, .conn = call->conn, .clsid = &clsid, .iid = iid,
			    .opnum = call->opnum};
	orpcthis_t orpcthis;
	e = dx_check(x, &chk);
	if (e != CERR_OK) {
		e = cerr_space(e) == CERR_SPACE_NCA ? e : CERR_NCA_S_FAULT_ACCESS_DENIED;
	} else if (!dcom_get_orpcthis(&call->in, &orpcthis)) {
		e = CERR_MALFORMED;
	} else if (!dcom_version_ok(&orpcthis.version)) {
		e = CERR_FAULT_RPC_E_VERSION_MISMATCH;
	} else {
		dcom_put_orpcthat(call->out, 0);
		dcom_call_t dc = {.rpc = call, .orpcthis = &orpcthis, .exporter = x, .object = state,
				  .iface_data = impl->data, .iid = iid, .ipid = &ipid, .clsid = &clsid};
		e = op(&dc);
	}
	pthread_mutex_lock(&x->mu);
	dx_object_unbusy_locked(x, o);
	dx_leave(x);
	return e;
}

/* ---- construction and registration ---- */

dcom_exporter_t *dcom_exporter_new(const dcom_exporter_config_t *cfg)
{
	dcom_exporter_t *x = calloc(1, sizeof(*x));
	if (!x) {
		return NULL;
	}
	if (cfg) {
		x->cfg = *cfg;
	}
	dcom_exporter_config_t *c = &x->cfg;
	c->ping_period_ms = c->ping_period_ms ? c->ping_period_ms : DEFAULT_PING_PERIOD_MS;
	c->ping_periods = c->ping_periods ? c->ping_periods : DEFAULT_PING_PERIODS;
	c->authn_hint = c->authn_hint ? c->authn_hint : RPC_AUTH_LEVEL_PKT_PRIVACY;
	c->min_call_level = c->min_call_level ? c->min_call_level : RPC_AUTH_LEVEL_CONNECT;
	c->min_activation_level = c->min_activation_level ? c->min_activation_level : RPC_AUTH_LEVEL_PKT_INTEGRITY;
	c->max_objects = c->max_objects ? c->max_objects : DCOM_DEFAULT_MAX_OBJECTS;
	c->max_sets = c->max_sets ? c->max_sets : DCOM_DEFAULT_MAX_SETS;
	if (c->max_sets > MAX_SETS_CAP) {
		c->max_sets = MAX_SETS_CAP;
	}
	if (!c->clock_ms) {
		c->clock_ms = mono_ms;
		c->clock_arg = NULL;
	}
	static const uint16_t default_svcs[] = {RPC_AUTH_WINNT, RPC_AUTH_GSS_NEGOTIATE};
	const uint16_t *svcs = c->authn_svcs ? c->authn_svcs : default_svcs;
	size_t n_svcs = c->authn_svcs ? c->n_authn_svcs : 2;
	x->authn_svcs = calloc(n_svcs ? n_svcs : 1, sizeof(*x->authn_svcs));
	x->names = calloc(c->n_names ? c->n_names : 1, sizeof(*x->names));
	x->princ_name = strdup(c->princ_name ? c->princ_name : "");
	bool ok = x->authn_svcs && x->names && x->princ_name && pthread_mutex_init(&x->mu, NULL) == 0;
	if (ok) {
		memcpy(x->authn_svcs, svcs, n_svcs * sizeof(*svcs));
		c->n_authn_svcs = n_svcs;
		for (size_t i = 0; i < c->n_names && ok; i++) {
			ok = (x->names[i] = strdup(c->names[i])) != NULL;
		}
	}
	c->names = NULL;
	c->authn_svcs = NULL;
	c->princ_name = NULL;
	if (!ok) {
		for (size_t i = 0; x->names && i < c->n_names; i++) {
			free(x->names[i]);
		}
		free(x->names);
		free(x->authn_svcs);
		free(x->princ_name);
		free(x);
		return NULL;
	}
	do {
		x->oxid = rand_u64();
	} while (x->oxid == 0);
	/* the exporter's Remote Unknown object and its one IPID (MS-DCOM 3.1.1.3) */
	dx_object_t *r = calloc(1, sizeof(*r));
	static const dcom_iface_t *const remunk_ifaces[] = {&dx_remunknown2_iface};
	if (!r) {
		dcom_exporter_free(x);
		return NULL;
	}
	r->permanent = true;
	r->oid = rand_u64();
	r->obj.state = x;
	r->obj.ifaces = remunk_ifaces;
	r->obj.n_ifaces = 1;
	x->remunk = r;
	dx_ipid_t *ip = ipid_new_locked(x, r, &DCOM_IID_IREMUNKNOWN2, &dx_remunknown2_iface, 0);
	if (!ip) {
		dcom_exporter_free(x);
		return NULL;
	}
	x->ipid_remunknown = ip->ipid;
	x->n_ipids = 0; /* count activated objects' IPIDs only */
	return x;
}

void dcom_exporter_free(dcom_exporter_t *x)
{
	if (!x) {
		return;
	}
	pthread_mutex_lock(&x->mu);
	while (x->objects) {
		dx_object_kill_locked(x, x->objects);
	}
	for (size_t b = 0; b < DX_BUCKETS; b++) {
		while (x->set_tab[b]) {
			dx_set_t *s = x->set_tab[b];
			x->set_tab[b] = s->hnext;
			set_free(s);
		}
	}
	dx_leave(x);
	if (x->remunk) {
		free(x->remunk->ipids);
		free(x->remunk);
	}
	for (size_t i = 0; i < x->n_served; i++) {
		free(x->served[i].ops);
	}
	free(x->served);
	free(x->classes);
	free(x->ifaces);
	for (size_t i = 0; i < x->cfg.n_names; i++) {
		free(x->names[i]);
	}
	free(x->names);
	free(x->authn_svcs);
	free(x->princ_name);
	pthread_mutex_destroy(&x->mu);
	free(x);
}

void dcom_exporter_set_security_hooks(dcom_exporter_t *x, const dcom_security_hooks_t *hooks)
{
	pthread_mutex_lock(&x->mu);
	if (hooks) {
		x->hooks = *hooks;
	} else {
		memset(&x->hooks, 0, sizeof(x->hooks));
	}
	pthread_mutex_unlock(&x->mu);
}

cerr_t dcom_register_class(dcom_exporter_t *x, const guid_t *clsid, dcom_create_fn create_fn, void *arg)
{
	if (!create_fn) {
		return CERR_INVALID_ARG;
	}
	cerr_t e = CERR_OK;
	pthread_mutex_lock(&x->mu);
	for (size_t i = 0; i < x->n_classes; i++) {
		if (guid_equal(&x->classes[i].clsid, clsid)) {
			e = CERR_EXISTS;
		}
	}
	if (e == CERR_OK) {
		dx_class_t *n = realloc(x->classes, (x->n_classes + 1) * sizeof(*n));
		if (!n) {
			e = CERR_NOMEM;
		} else {
			x->classes = n;
			x->classes[x->n_classes++] = (dx_class_t){*clsid, create_fn, arg};
		}
	}
	pthread_mutex_unlock(&x->mu);
	return e;
}

cerr_t dcom_exporter_add_iface(dcom_exporter_t *x, const dcom_iface_t *iface)
{
	if (!iface || guid_is_nil(&iface->iid) || x->built) {
		return CERR_INVALID_ARG;
	}
	pthread_mutex_lock(&x->mu);
	const dcom_iface_t **n = realloc(x->ifaces, (x->n_ifaces + 1) * sizeof(*n));
	if (n) {
		x->ifaces = n;
		x->ifaces[x->n_ifaces++] = iface;
	}
	pthread_mutex_unlock(&x->mu);
	return n ? CERR_OK : CERR_NOMEM;
}

/* served_add makes sure iid has an rpc_iface_t; an interface's own IID gets
 * at least its opnums (raise), a base IID only when nothing declares it (its
 * opnums are then the derived interface's, an upper bound). */
static bool served_add(dcom_exporter_t *x, const guid_t *iid, const char *name, uint16_t n_ops, bool raise)
{
	for (size_t i = 0; i < x->n_served; i++) {
		if (guid_equal(&x->served[i].rpc.uuid, iid)) {
			if (raise && n_ops > x->served[i].rpc.n_ops) {
				x->served[i].rpc.n_ops = n_ops;
			}
			return true;
		}
	}
	dx_served_t *n = realloc(x->served, (x->n_served + 1) * sizeof(*n));
	if (!n) {
		return false;
	}
	x->served = n;
	dx_served_t *s = &x->served[x->n_served++];
	memset(s, 0, sizeof(*s));
	s->x = x;
	s->rpc.name = name;
	s->rpc.uuid = *iid;
	/* MS-DCOM 2.1: every ORPC interface is version 0.0 */
	s->rpc.vers_major = 0;
	s->rpc.vers_minor = 0;
	s->rpc.n_ops = n_ops;
	s->rpc.epm_register = false;
	s->rpc.min_auth_level = x->cfg.min_call_level;
	return true;
}

cerr_t dcom_exporter_build_ifaces(dcom_exporter_t *x)
{
	pthread_mutex_lock(&x->mu);
	if (x->built) {
		pthread_mutex_unlock(&x->mu);
		return CERR_OK;
	}
	/* IRemUnknown first: exporter_port looks for it. Own IIDs, then bases. */
	const dcom_iface_t *builtin[] = {&dx_remunknown_iface, &dx_remunknown2_iface, &dx_classfactory_iface};
	size_t n_all = 3 + x->n_ifaces;
	bool ok = true;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; ok && i < n_all; i++) {
			const dcom_iface_t *f = i < 3 ? builtin[i] : x->ifaces[i - 3];
			if (pass == 0) {
				ok = served_add(x, &f->iid, f->name, f->n_ops, true);
			}
			for (size_t k = 0; ok && pass == 1 && k < f->n_bases; k++) {
				ok = served_add(x, &f->bases[k], f->name, f->n_ops, false);
			}
		}
	}
	for (size_t i = 0; ok && i < x->n_served; i++) {
		dx_served_t *s = &x->served[i];
		s->ops = calloc(s->rpc.n_ops ? s->rpc.n_ops : 1, sizeof(*s->ops));
		ok = s->ops != NULL;
		for (uint16_t k = 3; ok && k < s->rpc.n_ops; k++) {
			s->ops[k] = dx_orpc_dispatch;
		}
	}
	if (!ok) {
		pthread_mutex_unlock(&x->mu);
		return CERR_NOMEM;
	}
	for (size_t i = 0; i < x->n_served; i++) {
		x->served[i].rpc.ops = x->served[i].ops;
		x->served[i].rpc.data = &x->served[i];
	}
	dx_oxid_iface_init(x, &x->oxid_iface);
	dx_scm_iface_init(x, &x->scm_iface);
	dx_activation_iface_init(x, &x->act_iface);
	x->built = true;
	pthread_mutex_unlock(&x->mu);
	return CERR_OK;
}

cerr_t dcom_exporter_attach(dcom_exporter_t *x, rpc_server_t *srv)
{
	cerr_t e = dcom_exporter_build_ifaces(x);
	if (e != CERR_OK) {
		return e;
	}
	x->srv = srv;
	const rpc_iface_t *native[] = {&x->oxid_iface, &x->scm_iface, &x->act_iface};
	for (size_t i = 0; i < 3 && e == CERR_OK; i++) {
		e = rpc_server_add_iface(srv, native[i], RPC_LISTEN_EPM);
	}
	for (size_t i = 0; i < x->n_served && e == CERR_OK; i++) {
		e = rpc_server_add_iface(srv, &x->served[i].rpc, RPC_LISTEN_DYNAMIC);
	}
	return e;
}

const rpc_iface_t *dcom_exporter_rpc_iface(dcom_exporter_t *x, const guid_t *uuid)
{
	if (!x->built) {
		return NULL;
	}
	const rpc_iface_t *native[] = {&x->oxid_iface, &x->scm_iface, &x->act_iface};
	for (size_t i = 0; i < 3; i++) {
		if (guid_equal(&native[i]->uuid, uuid)) {
			return native[i];
		}
	}
	for (size_t i = 0; i < x->n_served; i++) {
		if (guid_equal(&x->served[i].rpc.uuid, uuid)) {
			return &x->served[i].rpc;
		}
	}
	return NULL;
}

void dcom_exporter_stats(dcom_exporter_t *x, dcom_exporter_stats_t *out)
{
	pthread_mutex_lock(&x->mu);
	out->oxid = x->oxid;
	out->ipid_remunknown = x->ipid_remunknown;
	out->objects = x->n_objects;
	out->ipids = x->n_ipids;
	out->sets = x->n_sets;
	pthread_mutex_unlock(&x->mu);
}
