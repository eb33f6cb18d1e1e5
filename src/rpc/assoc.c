/*
 * assoc.c - the association state machine (see assoc.h). Behaviour follows
 * C706 ch. 12 and MS-RPCE 3.3.1; where Windows differs from the letter of
 * the spec we do what Windows does, as Samba's server documents it
 * (librpc/rpc/dcesrv_core.c, dcesrv_auth.c), and say so at the spot.
 *
 * Memory: the association's own arena holds its presentation contexts; each
 * PDU is decoded into a scratch arena freed before assoc_input returns; each
 * request owns a call arena plus its stub buffer, freed by assoc_call_free
 * only (after the response or fault is built, or when the call is dropped).
 */
#include "rpc/assoc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "rpc/limits.h"
#include "rpc/pdu.h"
#include "util/arena.h"
#include "util/log.h"

/* Presentation contexts kept per association (alter_context may add more
 * than one bind's worth). Each costs a few dozen bytes of the connection arena. */
#ifndef RPC_MAX_CTX_PER_ASSOC
#define RPC_MAX_CTX_PER_ASSOC 64u
#endif

#define ASSOC_INLINE_CTX 3u /* NDR + NDR64 + BTFN offers bind one interface at most once */

#define RESP_HDR_LEN 24u /* header + alloc_hint, p_cont_id, cancel_count, reserved */

/* Bind-time feature negotiation (MS-RPCE 2.2.2.14): bits granted. We grant
 * keep-connection-on-orphan (0x2) like Windows. We do not grant security
 * context multiplexing (0x1), yet accept a new security context that an
 * alter_context names by a new auth_context_id (up to
 * RPC_MAX_SEC_CTX_PER_CONN), as Windows does for impacket's DCOM client,
 * which never asks for the bit; requests then carry their trailer
 * (MS-RPCE 3.3.1.5.4). */
#define BTFN_SEC_CTX_MULTIPLEXING 0x0001u
#define BTFN_KEEP_CONN_ON_ORPHAN 0x0002u
#define BTFN_GRANTED BTFN_KEEP_CONN_ON_ORPHAN

/* Verification trailer (MS-RPCE 2.2.2.13) */
static const uint8_t SEC_VT_MAGIC[8] = {0x8a, 0xe3, 0x13, 0x71, 0x02, 0xf4, 0x36, 0x71};
#define SEC_VT_CMD_MASK 0x3fffu
#define SEC_VT_CMD_BITMASK_1 0x0001u
#define SEC_VT_CMD_PCONTEXT 0x0002u
#define SEC_VT_CMD_HEADER2 0x0003u
#define SEC_VT_CMD_END 0x4000u
#define SEC_VT_MUST_PROCESS 0x8000u
#define SEC_VT_CLIENT_SUPPORTS_HEADER_SIGNING 0x1u

/* ------------------------------------------------------------------ */
/* registry */

struct assoc_group {
	uint32_t id;
	unsigned refs;
	struct assoc_group *next;
};

struct reg_iface {
	const rpc_iface_t *iface;
	int roles;
};

struct assoc_registry {
	rpc_server_config_t cfg;
	struct reg_iface *ifaces;
	size_t n_ifaces;
	const rpc_auth_provider_t **auth;
	size_t n_auth;
	rpc_server_hooks_t hooks;
	pthread_mutex_t lock; /* guards groups */
	struct assoc_group *groups;
	size_t n_groups;
};

assoc_registry_t *assoc_registry_new(const rpc_server_config_t *cfg)
{
	assoc_registry_t *r = calloc(1, sizeof(*r));
	if (!r) {
		return NULL;
	}
	if (cfg) {
		r->cfg = *cfg;
	}
	if (r->cfg.workers == 0) {
		/* Four per CPU: a certificate request holds its worker while the
		 * database commit is fsync'd, so one per CPU left the CPUs idle
		 * during every sync (bench/RESULTS.md: +20-25% enrollments/s). */
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		r->cfg.workers = n > 0 ? (unsigned)(n > 64 ? 256 : 4 * n) : 4;
	}
	if (r->cfg.max_connections == 0) {
		r->cfg.max_connections = 4096;
	}
	if (r->cfg.max_recv_frag == 0) {
		r->cfg.max_recv_frag = RPC_DEFAULT_MAX_RECV_FRAG;
	}
	if (r->cfg.max_recv_frag < RPC_FRAG_MIN_NEGOTIATED) {
		r->cfg.max_recv_frag = RPC_FRAG_MIN_NEGOTIATED;
	}
	/* fragment sizes are multiples of 8, as Windows negotiates them */
	r->cfg.max_recv_frag &= 0xFFF8;
	if (r->cfg.max_stub == 0) {
		r->cfg.max_stub = RPC_DEFAULT_MAX_STUB;
	}
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

void assoc_registry_free(assoc_registry_t *r)
{
	if (!r) {
		return;
	}
	struct assoc_group *g = r->groups;
	while (g) {
		struct assoc_group *n = g->next;
		free(g);
		g = n;
	}
	pthread_mutex_destroy(&r->lock);
	free(r->ifaces);
	free(r->auth);
	free(r);
}

const rpc_server_config_t *assoc_registry_config(const assoc_registry_t *r) { return &r->cfg; }

void assoc_registry_set_hooks(assoc_registry_t *r, const rpc_server_hooks_t *hooks)
{
	if (hooks) {
		r->hooks = *hooks;
	} else {
		memset(&r->hooks, 0, sizeof(r->hooks));
	}
}

cerr_t assoc_registry_add_iface(assoc_registry_t *r, const rpc_iface_t *iface, int roles)
{
	if (!iface || (iface->n_ops > 0 && !iface->ops) || roles == 0) {
		return CERR_INVALID_ARG;
	}
	for (size_t i = 0; i < r->n_ifaces; i++) {
		const rpc_iface_t *o = r->ifaces[i].iface;
		if (guid_equal(&o->uuid, &iface->uuid) && o->vers_major == iface->vers_major) {
			return CERR_EXISTS;
		}
	}
	struct reg_iface *n = realloc(r->ifaces, (r->n_ifaces + 1) * sizeof(*n));
	if (!n) {
		return CERR_NOMEM;
	}
	r->ifaces = n;
	r->ifaces[r->n_ifaces].iface = iface;
	r->ifaces[r->n_ifaces].roles = roles;
	r->n_ifaces++;
	return CERR_OK;
}

cerr_t assoc_registry_add_auth(assoc_registry_t *r, const rpc_auth_provider_t *p)
{
	if (!p || !p->ctx_new || !p->step || !p->ctx_free || !p->sig_len || !p->protect ||
	    !p->unprotect || !p->identity) {
		return CERR_INVALID_ARG;
	}
	for (size_t i = 0; i < r->n_auth; i++) {
		if (r->auth[i]->auth_type == p->auth_type) {
			return CERR_EXISTS;
		}
	}
	const rpc_auth_provider_t **n = realloc(r->auth, (r->n_auth + 1) * sizeof(*n));
	if (!n) {
		return CERR_NOMEM;
	}
	r->auth = n;
	r->auth[r->n_auth++] = p;
	return CERR_OK;
}

void assoc_registry_foreach_iface(const assoc_registry_t *r, assoc_iface_fn fn, void *arg)
{
	for (size_t i = 0; i < r->n_ifaces; i++) {
		fn(arg, r->ifaces[i].iface, r->ifaces[i].roles);
	}
}

size_t assoc_registry_group_count(assoc_registry_t *r)
{
	pthread_mutex_lock(&r->lock);
	size_t n = r->n_groups;
	pthread_mutex_unlock(&r->lock);
	return n;
}

static const rpc_auth_provider_t *find_provider(const assoc_registry_t *r, uint8_t type)
{
	for (size_t i = 0; i < r->n_auth; i++) {
		if (r->auth[i]->auth_type == type) {
			return r->auth[i];
		}
	}
	return NULL;
}

/* Association groups (MS-RPCE 3.3.1.5.3 / C706 12.4): id 0 asks for a new
 * group with a random non-zero id; a known id joins; the group lives while
 * any association holds it. */
static struct assoc_group *group_join(assoc_registry_t *r, uint32_t want)
{
	struct assoc_group *g = NULL;
	pthread_mutex_lock(&r->lock);
	if (want != 0) {
		for (g = r->groups; g; g = g->next) {
			if (g->id == want) {
				g->refs++;
				break;
			}
		}
		pthread_mutex_unlock(&r->lock);
		return g;
	}
	g = calloc(1, sizeof(*g));
	if (g) {
		for (;;) {
			uint32_t id = 0;
			if (getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id)) {
				id = (uint32_t)random();
			}
			id &= 0x7fffffffu; /* Windows ids are positive when read as signed */
			bool used = id == 0;
			for (struct assoc_group *o = r->groups; o && !used; o = o->next) {
				used = o->id == id;
			}
			if (!used) {
				g->id = id;
				break;
			}
		}
		g->refs = 1;
		g->next = r->groups;
		r->groups = g;
		r->n_groups++;
	}
	pthread_mutex_unlock(&r->lock);
	return g;
}

static void group_leave(assoc_registry_t *r, struct assoc_group *g)
{
	if (!g) {
		return;
	}
	pthread_mutex_lock(&r->lock);
	if (--g->refs == 0) {
		for (struct assoc_group **pp = &r->groups; *pp; pp = &(*pp)->next) {
			if (*pp == g) {
				*pp = g->next;
				r->n_groups--;
				free(g);
				break;
			}
		}
	}
	pthread_mutex_unlock(&r->lock);
}

static bool group_exists(assoc_registry_t *r, uint32_t id)
{
	bool found = false;
	pthread_mutex_lock(&r->lock);
	for (struct assoc_group *g = r->groups; g && !found; g = g->next) {
		found = g->id == id;
	}
	pthread_mutex_unlock(&r->lock);
	return found;
}

/* ------------------------------------------------------------------ */
/* association */

struct pctx {
	uint16_t id;
	const rpc_iface_t *iface;
	rpc_syntax_t abstract; /* as the client offered it (for the verification trailer) */
	struct pctx *next;
};

enum assoc_state { ST_INIT, ST_BOUND, ST_DEAD };
enum auth_state { AUTH_NONE, AUTH_PENDING, AUTH_DONE, AUTH_FAILED };

/* One security context of the connection (MS-RPCE 3.2.3.1.4): PDUs select it
 * by the auth_context_id of their sec_trailer. The bind's, if any, is the
 * first (the connection's primary: rpc_conn_info_t reflects it); more come
 * from alter_context PDUs that name a new auth_context_id. */
struct secctx {
	enum auth_state state;
	const rpc_auth_provider_t *prov;
	rpc_auth_ctx_t *ctx;
	uint8_t type;
	uint8_t level;
	uint32_t context_id;
	const rpc_identity_t *identity; /* once DONE: who the caller is */
	void *principal;                /* once DONE (or early): what on_auth made of the caller */
	bool early;                     /* on_auth ran at the first leg (auth_early) */
	struct secctx *next;
};

struct assoc_call {
	arena_t *arena;
	uint32_t call_id;
	uint16_t ctx_id;
	uint16_t opnum;
	uint8_t drep[4];
	bool has_object;
	guid_t object;
	const struct pctx *ctx;
	struct secctx *sec;  /* the security context the first fragment named; NULL = none */
	buf_t stub;
};

struct assoc {
	assoc_registry_t *reg;
	int role;
	arena_t *arena;
	enum assoc_state state;
	char peer_addr[64];
	char local_addr[64];
	char sec_addr[8];
	rpc_conn_info_t info;      /* the connection; identity etc. of the bind's context */
	rpc_conn_info_t call_info; /* what the running call sees: its own context's caller (one call at a time) */
	uint16_t max_xmit; /* fragments we send */
	uint16_t max_recv; /* fragments we accept (advertised) */
	struct assoc_group *group;
	struct pctx *ctxs;
	unsigned n_ctxs;
	struct pctx ctx_inline[ASSOC_INLINE_CTX];
	bool client_hdr_sign; /* the client set PFC_SUPPORT_HEADER_SIGN in its bind */
	bool header_sign;     /* and we echoed it */
	bool busy;            /* a call is out with a worker */
	struct secctx *secs;    /* security contexts, the bind's first; NULL = unauthenticated */
	unsigned n_secs;
	struct secctx sec_inline; /* the first lives inline; later ones in the arena */
	struct secctx *pending; /* the context whose legs are in progress (one at a time) */
	assoc_call_t *frag; /* request being reassembled (we never grant CONC_MPX, so one at most) */
};

assoc_t *assoc_new(assoc_registry_t *r, int role, const rpc_conn_info_t *info)
{
	assoc_t *a = calloc(1, sizeof(*a));
	if (!a) {
		return NULL;
	}
	a->arena = arena_new();
	if (!a->arena) {
		free(a);
		return NULL;
	}
	a->reg = r;
	a->role = role;
	if (info) {
		a->info = *info;
		snprintf(a->peer_addr, sizeof(a->peer_addr), "%s", info->peer_addr ? info->peer_addr : "");
		snprintf(a->local_addr, sizeof(a->local_addr), "%s", info->local_addr ? info->local_addr : "");
	}
	a->info.peer_addr = a->peer_addr;
	a->info.local_addr = a->local_addr;
	a->info.auth_type = RPC_AUTH_NONE;
	a->info.auth_level = RPC_AUTH_LEVEL_NONE;
	a->info.identity = NULL;
	a->info.assoc_group_id = 0;
	a->info.principal = NULL;
	snprintf(a->sec_addr, sizeof(a->sec_addr), "%u", (unsigned)a->info.local_port);
	a->max_xmit = RPC_FRAG_MIN_NEGOTIATED;
	a->max_recv = r->cfg.max_recv_frag;
	return a;
}

void assoc_call_free(assoc_call_t *call)
{
	if (!call) {
		return;
	}
	buf_free(&call->stub);
	arena_t *ar = call->arena;
	arena_free(ar); /* call itself lives in its arena */
}

/* drop_principal releases what on_auth attached to a context. */
static void drop_principal(assoc_t *a, void *principal)
{
	if (principal && a->reg->hooks.principal_free) {
		a->reg->hooks.principal_free(a->reg->hooks.arg, principal);
	}
}

void assoc_free(assoc_t *a)
{
	if (!a) {
		return;
	}
	assoc_call_free(a->frag);
	for (struct secctx *s = a->secs; s; s = s->next) {
		drop_principal(a, s->principal);
		s->principal = NULL;
		if (s->prov && s->ctx) {
			s->prov->ctx_free(s->ctx);
		}
	}
	a->info.principal = NULL;
	group_leave(a->reg, a->group);
	arena_free(a->arena);
	free(a);
}

const rpc_conn_info_t *assoc_conn_info(const assoc_t *a) { return &a->info; }
uint16_t assoc_max_xmit_frag(const assoc_t *a) { return a->max_xmit; }
uint16_t assoc_max_recv_frag(const assoc_t *a) { return a->max_recv; }

/* ------------------------------------------------------------------ */
/* output helpers */

/* log_pdu_out logs the PDU just appended at off (debug level). */
static void log_pdu_out(const buf_t *out, size_t off)
{
	if (log_get_level() < LOG_DEBUG || !buf_ok(out) || out->len < off + RPC_HDR_LEN) {
		return;
	}
	cur_t c;
	cur_init(&c, out->data, out->len);
	rpc_hdr_t h;
	uint16_t frag = 0, alen = 0;
	uint32_t call_id = 0;
	if (cur_skip(&c, off + 2) && cur_get_u8(&c, &h.ptype) && cur_get_u8(&c, &h.pfc_flags) &&
	    cur_skip(&c, 4) && cur_get_u16le(&c, &frag) && cur_get_u16le(&c, &alen) &&
	    cur_get_u32le(&c, &call_id)) {
		log_debug("rpc out: %s call_id=%u flags=0x%02x frag_len=%u auth_len=%u",
			  rpc_ptype_name(h.ptype), call_id, h.pfc_flags, frag, alen);
	}
}

static cerr_t emit_fault(buf_t *out, uint32_t call_id, uint16_t ctx_id, cerr_t status, bool did_not_execute)
{
	rpc_hdr_t h;
	uint8_t flags = RPC_PFC_FIRST_FRAG | RPC_PFC_LAST_FRAG;
	if (did_not_execute) {
		flags |= RPC_PFC_DID_NOT_EXECUTE;
	}
	rpc_pdu_init_hdr(&h, RPC_PTYPE_FAULT, flags, call_id);
	size_t off = out->len;
	cerr_t e = rpc_pdu_encode_fault(out, &h, ctx_id, cerr_value(status));
	log_debug("fault call_id=%u ctx_id=%u status=0x%08x %s%s", call_id, ctx_id, cerr_value(status),
		  cerr_name(status), did_not_execute ? " (did not execute)" : "");
	log_pdu_out(out, off);
	return e;
}

/* fault_close sends a fault and asks the loop to close, as Samba's
 * dcesrv_fault_disconnect does for protocol and security violations. */
static cerr_t fault_close(assoc_t *a, buf_t *out, uint32_t call_id, uint16_t ctx_id, cerr_t status,
			  bool did_not_execute, cerr_t why)
{
	emit_fault(out, call_id, ctx_id, status, did_not_execute);
	a->state = ST_DEAD;
	return why;
}

static cerr_t emit_bind_nak(assoc_t *a, buf_t *out, uint32_t call_id, uint16_t reason)
{
	rpc_hdr_t h;
	rpc_pdu_init_hdr(&h, RPC_PTYPE_BIND_NAK, RPC_PFC_FIRST_FRAG | RPC_PFC_LAST_FRAG, call_id);
	size_t off = out->len;
	rpc_pdu_encode_bind_nak(out, &h, reason);
	log_info("rpc: bind_nak reason %u to %s:%u", reason, a->peer_addr, a->info.peer_port);
	log_pdu_out(out, off);
	/* Samba (dcesrv_bind_nak) and Windows close after a bind_nak */
	a->state = ST_DEAD;
	return CERR_PROTOCOL;
}

/* ------------------------------------------------------------------ */
/* presentation contexts */

static bool syntax_is_ndr20(const rpc_syntax_t *s)
{
	return guid_equal(&s->uuid, &RPC_NDR20_UUID) && s->version == RPC_NDR20_VERSION;
}

/* is_btfn recognises 6cb71c2c-9812-4540-XXXX-000000000000 v1 and extracts
 * the requested bits from bytes 8-9 (MS-RPCE 2.2.2.14, 3.3.1.5.3). */
static bool is_btfn(const rpc_syntax_t *s, uint16_t *bits)
{
	const guid_t *g = &s->uuid;
	if (g->d1 != 0x6cb71c2cu || g->d2 != 0x9812 || g->d3 != 0x4540 || s->version != 1) {
		return false;
	}
	for (int i = 2; i < 8; i++) {
		if (g->d4[i] != 0) {
			return false;
		}
	}
	*bits = (uint16_t)(g->d4[0] | (g->d4[1] << 8));
	return true;
}

static const rpc_iface_t *find_iface(const assoc_t *a, const rpc_syntax_t *abstract)
{
	uint16_t major = (uint16_t)(abstract->version & 0xffff);
	uint16_t minor = (uint16_t)(abstract->version >> 16);
	for (size_t i = 0; i < a->reg->n_ifaces; i++) {
		const struct reg_iface *ri = &a->reg->ifaces[i];
		if (!(ri->roles & a->role)) {
			continue;
		}
		/* C706 12.6.4.7 / MS-RPCE 3.3.1.5.2: major must match, the client's
		 * minor may be lower than ours (compatible by IDL rules) */
		if (guid_equal(&ri->iface->uuid, &abstract->uuid) && ri->iface->vers_major == major &&
		    minor <= ri->iface->vers_minor) {
			return ri->iface;
		}
	}
	return NULL;
}

static struct pctx *find_ctx(const assoc_t *a, uint16_t id)
{
	for (struct pctx *c = a->ctxs; c; c = c->next) {
		if (c->id == id) {
			return c;
		}
	}
	return NULL;
}

/* negotiate_contexts fills one result per offered context element. Returns
 * CERR_PROTOCOL when the offer is invalid as a whole (a second BTFN element,
 * an element without transfer syntaxes, or a context id re-bound to another
 * interface), which Samba answers with bind_nak / fault proto_error. */
static cerr_t negotiate_contexts(assoc_t *a, const rpc_pdu_t *p, bool allow_btfn, rpc_ctx_result_elem_t *res)
{
	bool seen_btfn = false;
	for (unsigned i = 0; i < p->u.bind.n_ctx; i++) {
		const rpc_ctx_elem_t *ce = &p->u.bind.ctx[i];
		rpc_ctx_result_elem_t *r = &res[i];
		memset(r, 0, sizeof(*r));
		r->result = RPC_CTX_PROVIDER_REJECT;
		r->reason = RPC_REASON_ABSTRACT_SYNTAX_NOT_SUPPORTED;
		if (ce->n_transfer == 0) {
			return CERR_PROTOCOL;
		}
		uint16_t bits;
		/* only the first transfer syntax marks a BTFN element (as Samba reads it) */
		if (allow_btfn && is_btfn(&ce->transfer[0], &bits)) {
			if (seen_btfn) {
				return CERR_PROTOCOL;
			}
			seen_btfn = true;
			r->result = RPC_CTX_NEGOTIATE_ACK;
			r->reason = (uint16_t)(bits & BTFN_GRANTED);
			log_debug("rpc: bind-time features requested 0x%x granted 0x%x", bits, r->reason);
			continue;
		}
		const rpc_iface_t *iface = find_iface(a, &ce->abstract);
		if (!iface) {
			char u[GUID_STR_LEN + 1];
			guid_format(&ce->abstract.uuid, u);
			log_info("rpc: %s:%u asked for unknown interface %s v%u.%u", a->peer_addr,
				 a->info.peer_port, u, ce->abstract.version & 0xffff, ce->abstract.version >> 16);
			continue;
		}
		bool ndr = false;
		for (unsigned t = 0; t < ce->n_transfer && !ndr; t++) {
			ndr = syntax_is_ndr20(&ce->transfer[t]);
		}
		if (!ndr) {
			/* NDR64 alone (or anything else): we speak NDR 2.0 only */
			r->reason = RPC_REASON_TRANSFER_SYNTAX_NOT_SUPPORTED;
			continue;
		}
		struct pctx *existing = find_ctx(a, ce->ctx_id);
		if (existing) {
			if (existing->iface != iface) {
				return CERR_PROTOCOL;
			}
		} else if (a->n_ctxs >= RPC_MAX_CTX_PER_ASSOC) {
			r->reason = RPC_REASON_LOCAL_LIMIT_EXCEEDED;
			continue;
		} else {
			/* the first few live inline, so a bound idle connection holds no
			 * arena chunk; more (alter_context, DCOM) come from the arena */
			struct pctx *n = a->n_ctxs < ASSOC_INLINE_CTX ? &a->ctx_inline[a->n_ctxs]
								      : arena_alloc(a->arena, sizeof(*n));
			if (!n) {
				r->reason = RPC_REASON_LOCAL_LIMIT_EXCEEDED;
				continue;
			}
			n->id = ce->ctx_id;
			n->iface = iface;
			n->abstract = ce->abstract;
			n->next = a->ctxs;
			a->ctxs = n;
			a->n_ctxs++;
		}
		r->result = RPC_CTX_ACCEPT;
		r->reason = RPC_REASON_NOT_SPECIFIED;
		r->transfer.uuid = RPC_NDR20_UUID;
		r->transfer.version = RPC_NDR20_VERSION;
		log_debug("rpc: ctx %u -> %s", ce->ctx_id, iface->name ? iface->name : "?");
	}
	return CERR_OK;
}

/* ------------------------------------------------------------------ */
/* authentication */

/* sec_info describes the connection as the caller of context sc sees it:
 * the connection's addresses with sc's package, level, identity and
 * principal (NULL sc: an unauthenticated caller). */
static void sec_info(const assoc_t *a, const struct secctx *sc, rpc_conn_info_t *out)
{
	*out = a->info;
	out->auth_type = sc ? sc->type : RPC_AUTH_NONE;
	out->auth_level = sc ? sc->level : RPC_AUTH_LEVEL_NONE;
	out->identity = sc && sc->state == AUTH_DONE ? sc->identity : NULL;
	out->principal = sc && sc->state == AUTH_DONE ? sc->principal : NULL;
}

static struct secctx *sec_find(const assoc_t *a, uint32_t context_id)
{
	for (struct secctx *sc = a->secs; sc; sc = sc->next) {
		if (sc->context_id == context_id) {
			return sc;
		}
	}
	return NULL;
}

/* sec_start adds a context for trailer t with a new provider context; NULL
 * when the provider cannot start one. The first is the bind's. */
static struct secctx *sec_start(assoc_t *a, const rpc_auth_provider_t *prov, const rpc_auth_trailer_t *t)
{
	rpc_auth_ctx_t *ctx = NULL;
	if (prov->ctx_new(prov->data, &ctx) != CERR_OK || !ctx) {
		return NULL;
	}
	struct secctx *sc = a->n_secs == 0 ? &a->sec_inline : arena_alloc(a->arena, sizeof(*sc));
	if (!sc) {
		prov->ctx_free(ctx);
		return NULL;
	}
	memset(sc, 0, sizeof(*sc));
	if (prov->set_level) {
		prov->set_level(ctx, t->auth_level);
	}
	sc->prov = prov;
	sc->ctx = ctx;
	sc->type = t->auth_type;
	sc->level = t->auth_level;
	sc->context_id = t->auth_context_id;
	sc->state = AUTH_PENDING;
	/* append, so the bind's stays first */
	struct secctx **pp = &a->secs;
	while (*pp) {
		pp = &(*pp)->next;
	}
	*pp = sc;
	a->n_secs++;
	a->pending = sc;
	return sc;
}

/* auth_complete runs when the provider reports a complete context: fill in
 * who the caller is and let the hook refuse (MS-RPCE 3.3.1.5.2: token
 * creation failing is reported like a bad checksum). on_auth runs for every
 * context, each with its own caller. */
static cerr_t auth_complete(assoc_t *a, struct secctx *sc)
{
	a->pending = NULL;
	rpc_conn_info_t ci;
	sec_info(a, sc, &ci);
	ci.identity = sc->prov->identity(sc->ctx);
	ci.principal = NULL;
	cerr_t e = CERR_OK;
	void *principal = NULL;
	if (sc->early) {
		principal = sc->principal; /* the token made at the first leg; not asked twice */
	} else if (a->reg->hooks.on_auth) {
		e = a->reg->hooks.on_auth(a->reg->hooks.arg, &ci, CERR_OK, &principal);
		if (e != CERR_OK) {
			drop_principal(a, principal);
			principal = NULL;
		}
	}
	if (e != CERR_OK) {
		log_info("rpc: %s:%u authenticated but refused: %s", a->peer_addr, a->info.peer_port,
			 cerr_name(e));
		sc->state = AUTH_FAILED;
		return e;
	}
	sc->state = AUTH_DONE;
	sc->identity = ci.identity;
	sc->principal = principal;
	if (sc == a->secs) {
		/* the bind's context is the connection's */
		a->info.auth_type = sc->type;
		a->info.auth_level = sc->level;
		a->info.identity = sc->identity;
		a->info.principal = sc->principal;
	}
	const rpc_identity_t *id = sc->identity;
	char added[80] = "";
	if (sc != a->secs) {
		snprintf(added, sizeof(added), " in an added security context (auth_context_id %u)", sc->context_id);
	}
	log_info("rpc: %s:%u authenticated %s\\%s (%s, level %u)%s", a->peer_addr, a->info.peer_port,
		 id && id->domain ? id->domain : "", id && id->user ? id->user : "",
		 sc->prov->name ? sc->prov->name : "?", sc->level, added);
	return CERR_OK;
}

/* auth_early runs on_auth for a context still in progress whose provider
 * already knows the caller (identity_early): DCE-style Kerberos accepts the
 * AP-REQ in the first leg, and Windows creates the token there (MS-KILE
 * 3.4.5.1, 3.4.5.2), so a refused caller fails the bind itself with
 * bind_nak invalid_checksum (MS-RPCE 3.3.1.5.2) though the client's AP-REP
 * is still to come. The principal is kept for auth_complete. */
static cerr_t auth_early(assoc_t *a, struct secctx *sc)
{
	if (sc->early) {
		return CERR_OK; /* asked at an earlier leg */
	}
	const rpc_identity_t *id = sc->prov->identity_early ? sc->prov->identity_early(sc->ctx) : NULL;
	if (!id || !a->reg->hooks.on_auth) {
		return CERR_OK;
	}
	rpc_conn_info_t ci;
	sec_info(a, sc, &ci);
	ci.identity = id;
	ci.principal = NULL;
	void *principal = NULL;
	cerr_t e = a->reg->hooks.on_auth(a->reg->hooks.arg, &ci, CERR_OK, &principal);
	if (e != CERR_OK) {
		drop_principal(a, principal);
		log_info("rpc: %s:%u authenticated %s\\%s at the first leg but refused: %s", a->peer_addr,
			 a->info.peer_port, id->domain ? id->domain : "", id->user ? id->user : "", cerr_name(e));
		sc->state = AUTH_FAILED;
		if (a->pending == sc) {
			a->pending = NULL;
		}
		return e;
	}
	sc->principal = principal;
	sc->early = true;
	return CERR_OK;
}

/* auth_failed reports a failed leg to the hook (its answer changes nothing). */
static void auth_failed(assoc_t *a, struct secctx *sc, cerr_t status)
{
	sc->state = AUTH_FAILED;
	if (a->pending == sc) {
		a->pending = NULL;
	}
	if (sc->early) {
		/* the first leg's token goes with the context that did not complete */
		drop_principal(a, sc->principal);
		sc->principal = NULL;
		sc->early = false;
	}
	log_info("rpc: %s:%u authentication failed: %s", a->peer_addr, a->info.peer_port, cerr_name(status));
	if (a->reg->hooks.on_auth) {
		/* which package failed and whom the caller claimed to be, for the
		 * audit log (server.h) */
		rpc_conn_info_t ci;
		sec_info(a, sc, &ci);
		ci.identity = sc->prov && sc->ctx ? sc->prov->identity(sc->ctx) : NULL;
		(void)a->reg->hooks.on_auth(a->reg->hooks.arg, &ci, status, NULL);
	}
}

static bool auth_fields_match(const struct secctx *sc, const rpc_auth_trailer_t *t)
{
	return t->auth_type == sc->type && t->auth_level == sc->level && t->auth_context_id == sc->context_id;
}

/* primary_failed: the bind's own context failed; the connection is then of
 * no use to anyone (every later PDU is refused, as before contexts were many). */
static bool primary_failed(const assoc_t *a)
{
	return a->secs && a->secs->state == AUTH_FAILED;
}

/* ------------------------------------------------------------------ */
/* bind */

/* bind_reply_flags: the pfc_flags of a bind_ack / alter_context_resp. A client
 * offering header signing gets it echoed (MS-RPCE 3.3.1.5.2.2), which agrees on
 * it; the provider decides what that means for its verifiers. */
static uint8_t bind_reply_flags(assoc_t *a, const rpc_pdu_t *p)
{
	uint8_t flags = RPC_PFC_FIRST_FRAG | RPC_PFC_LAST_FRAG;
	if (p->hdr.pfc_flags & RPC_PFC_SUPPORT_HEADER_SIGN) {
		a->client_hdr_sign = true;
		a->header_sign = true;
		flags |= RPC_PFC_SUPPORT_HEADER_SIGN;
	}
	return flags;
}

static cerr_t handle_bind(assoc_t *a, const rpc_pdu_t *p, arena_t *tmp, buf_t *out)
{
	uint32_t call_id = p->hdr.call_id;
	if (a->state != ST_INIT) {
		/* one bind per connection (C706 12.4; Samba allow_bind) */
		return emit_bind_nak(a, out, call_id, RPC_NAK_NOT_SPECIFIED);
	}
	if (p->u.bind.n_ctx == 0) {
		return emit_bind_nak(a, out, call_id, RPC_NAK_PROTOCOL_VERSION_NOT_SUPPORTED);
	}
	uint32_t want_group = p->u.bind.assoc_group_id;
	if (want_group != 0 && !group_exists(a->reg, want_group)) {
		log_info("rpc: %s:%u asked to join unknown association group 0x%08x", a->peer_addr,
			 a->info.peer_port, want_group);
		return emit_bind_nak(a, out, call_id, RPC_NAK_NOT_SPECIFIED);
	}

	/* Fragment sizes (C706 12.6.4.7): never more than the client can take or
	 * we accept, never less than the 1432 everyone must accept; truncated to a
	 * multiple of 8 as Windows does (Samba dcesrv_bind). */
	uint32_t x = p->u.bind.max_recv_frag;
	if (x > a->reg->cfg.max_recv_frag) {
		x = a->reg->cfg.max_recv_frag;
	}
	uint32_t rcv = p->u.bind.max_xmit_frag;
	if (rcv > a->reg->cfg.max_recv_frag) {
		rcv = a->reg->cfg.max_recv_frag;
	}
	if (x < RPC_FRAG_MIN_NEGOTIATED) {
		x = RPC_FRAG_MIN_NEGOTIATED;
	}
	if (rcv < RPC_FRAG_MIN_NEGOTIATED) {
		rcv = RPC_FRAG_MIN_NEGOTIATED;
	}
	a->max_xmit = (uint16_t)(x & 0xFFF8);
	a->max_recv = (uint16_t)(rcv & 0xFFF8);

	rpc_ctx_result_elem_t *res = arena_array(tmp, p->u.bind.n_ctx, sizeof(*res));
	if (!res) {
		return emit_bind_nak(a, out, call_id, RPC_NAK_LOCAL_LIMIT_EXCEEDED);
	}
	if (negotiate_contexts(a, p, true, res) != CERR_OK) {
		return emit_bind_nak(a, out, call_id, RPC_NAK_NOT_SPECIFIED);
	}

	uint8_t flags = bind_reply_flags(a, p);

	buf_t token;
	buf_init(&token, RPC_FRAG_MAX);
	rpc_out_auth_t oa;
	bool with_auth = false;
	if (p->has_auth) {
		const rpc_auth_trailer_t *t = &p->auth;
		if (t->auth_level < RPC_AUTH_LEVEL_CONNECT || t->auth_level > RPC_AUTH_LEVEL_PKT_PRIVACY) {
			buf_free(&token);
			return emit_bind_nak(a, out, call_id, RPC_NAK_NOT_SPECIFIED);
		}
		const rpc_auth_provider_t *prov = find_provider(a->reg, t->auth_type);
		if (!prov) {
			buf_free(&token);
			log_info("rpc: %s:%u offered unknown auth type %u", a->peer_addr, a->info.peer_port,
				 t->auth_type);
			return emit_bind_nak(a, out, call_id, RPC_NAK_AUTHENTICATION_TYPE_NOT_RECOGNIZED);
		}
		struct secctx *sc = sec_start(a, prov, t);
		if (!sc) {
			buf_free(&token);
			return emit_bind_nak(a, out, call_id, RPC_NAK_TEMPORARY_CONGESTION);
		}
		cerr_t e = prov->step(sc->ctx, &t->auth_value, &token);
		if (e == CERR_OK || e == CERR_STATUS_MORE_PROCESSING_REQUIRED) {
			/* a refused caller: when the context completes here, or already
			 * known from this leg (Kerberos' AP-REQ, auth_early) */
			if ((e == CERR_OK ? auth_complete(a, sc) : auth_early(a, sc)) != CERR_OK) {
				buf_free(&token);
				return emit_bind_nak(a, out, call_id, RPC_NAK_INVALID_CHECKSUM);
			}
		} else {
			/* Windows naks a bind whose token it cannot accept with
			 * invalid_checksum (seen with unusable Kerberos tickets) */
			auth_failed(a, sc, e);
			buf_free(&token);
			return emit_bind_nak(a, out, call_id, RPC_NAK_INVALID_CHECKSUM);
		}
		if (!buf_ok(&token)) {
			buf_free(&token);
			return emit_bind_nak(a, out, call_id, RPC_NAK_LOCAL_LIMIT_EXCEEDED);
		}
		oa.auth_type = sc->type;
		oa.auth_level = sc->level;
		oa.auth_context_id = sc->context_id;
		oa.token = token.data;
		oa.token_len = token.len;
		with_auth = true;
	}

	a->group = group_join(a->reg, want_group);
	if (!a->group) {
		/* the group vanished between the check and the join */
		buf_free(&token);
		return emit_bind_nak(a, out, call_id, RPC_NAK_NOT_SPECIFIED);
	}
	a->info.assoc_group_id = a->group->id;

	rpc_hdr_t h;
	rpc_pdu_init_hdr(&h, RPC_PTYPE_BIND_ACK, flags, call_id);
	size_t off = out->len;
	cerr_t e = rpc_pdu_encode_bind_ack(out, &h, a->max_xmit, a->max_recv, a->group->id, a->sec_addr, res,
					   p->u.bind.n_ctx, with_auth ? &oa : NULL);
	buf_free(&token);
	if (e != CERR_OK) {
		a->state = ST_DEAD;
		return e;
	}
	log_pdu_out(out, off);
	a->state = ST_BOUND;
	return CERR_OK;
}

/* ------------------------------------------------------------------ */
/* alter_context */

static cerr_t handle_alter(assoc_t *a, const rpc_pdu_t *p, arena_t *tmp, buf_t *out)
{
	uint32_t call_id = p->hdr.call_id;
	if (a->state != ST_BOUND || p->u.bind.n_ctx == 0) {
		return fault_close(a, out, call_id, 0, CERR_NCA_S_PROTO_ERROR, true, CERR_PROTOCOL);
	}
	rpc_ctx_result_elem_t *res = arena_array(tmp, p->u.bind.n_ctx, sizeof(*res));
	if (!res) {
		return fault_close(a, out, call_id, 0, CERR_NCA_S_FAULT_REMOTE_NO_MEMORY, true, CERR_NOMEM);
	}

	/* Authentication first decides whether this PDU is acceptable at all
	 * (Samba dcesrv_auth_alter). The trailer's auth_context_id selects the
	 * security context (MS-RPCE 3.2.3.1.4): a context in progress takes its
	 * next leg; an established one may not start over; a new id starts a new
	 * context next to the others, as Windows accepts from impacket's DCOM
	 * client (rpcrt alter_ctx) and Samba does (dcesrv_process_ncacn_packet
	 * keeps a list of auth states). Not after an unauthenticated bind: no
	 * client needs it, and the connection would then mix callers. */
	struct secctx *sc = NULL;
	const rpc_auth_provider_t *new_prov = NULL;
	if (p->has_auth) {
		const rpc_auth_trailer_t *t = &p->auth;
		sc = sec_find(a, t->auth_context_id);
		if (!a->secs) {
			return fault_close(a, out, call_id, 0, CERR_NCA_S_FAULT_ACCESS_DENIED, true,
					   CERR_AUTH_FAILED);
		}
		if (sc) {
			if (sc->state != AUTH_PENDING) {
				return fault_close(a, out, call_id, 0, CERR_NCA_S_FAULT_ACCESS_DENIED, true,
						   CERR_AUTH_FAILED);
			}
			if (t->auth_type != sc->type) {
				return fault_close(a, out, call_id, 0, CERR_NCA_S_FAULT_SEC_PKG_ERROR, true,
						   CERR_AUTH_FAILED);
			}
			if (t->auth_level != sc->level) {
				return fault_close(a, out, call_id, 0, CERR_NCA_S_FAULT_ACCESS_DENIED, true,
						   CERR_AUTH_FAILED);
			}
		} else {
			if (a->pending) {
				/* one context's legs at a time */
				return fault_close(a, out, call_id, 0,
						   t->auth_type != a->pending->type ? CERR_NCA_S_FAULT_SEC_PKG_ERROR
										   : CERR_NCA_S_FAULT_ACCESS_DENIED,
						   true, CERR_AUTH_FAILED);
			}
			if (primary_failed(a) || t->auth_level < RPC_AUTH_LEVEL_CONNECT ||
			    t->auth_level > RPC_AUTH_LEVEL_PKT_PRIVACY) {
				return fault_close(a, out, call_id, 0, CERR_NCA_S_FAULT_ACCESS_DENIED, true,
						   CERR_AUTH_FAILED);
			}
			if (a->n_secs >= RPC_MAX_SEC_CTX_PER_CONN) {
				/* MS-RPCE 3.3.1.5.4: past the server's limit, "an rpc_fault
				 * packet with the RPC_S_PROTOCOL_ERROR error code" */
				log_info("rpc: %s:%u asked for security context %u; the limit is %u per connection",
					 a->peer_addr, a->info.peer_port, a->n_secs + 1, RPC_MAX_SEC_CTX_PER_CONN);
				return fault_close(a, out, call_id, 0, CERR_NCA_S_PROTO_ERROR, true, CERR_LIMIT);
			}
			new_prov = find_provider(a->reg, t->auth_type);
			if (!new_prov) {
				return fault_close(a, out, call_id, 0, CERR_NCA_S_FAULT_ACCESS_DENIED, true,
						   CERR_AUTH_FAILED);
			}
		}
	} else if (a->pending || primary_failed(a)) {
		return fault_close(a, out, call_id, 0, CERR_NCA_S_FAULT_ACCESS_DENIED, true, CERR_AUTH_FAILED);
	}

	if (negotiate_contexts(a, p, false, res) != CERR_OK) {
		return fault_close(a, out, call_id, 0, CERR_NCA_S_PROTO_ERROR, true, CERR_PROTOCOL);
	}

	uint8_t flags = bind_reply_flags(a, p);

	buf_t token;
	buf_init(&token, RPC_FRAG_MAX);
	rpc_out_auth_t oa;
	bool with_auth = false;
	if (p->has_auth) {
		/* SPNEGO/Kerberos legs (MS-RPCE 3.3.1.5.2.1); impacket re-uses the
		 * bind's call_id here, which C706 does not forbid: accepted. */
		if (!sc) {
			sc = sec_start(a, new_prov, &p->auth);
			if (!sc) {
				buf_free(&token);
				return fault_close(a, out, call_id, 0, CERR_NCA_S_FAULT_REMOTE_NO_MEMORY, true,
						   CERR_NOMEM);
			}
			log_debug("rpc: %s:%u starts security context %u (auth_context_id %u, %s, level %u)",
				  a->peer_addr, a->info.peer_port, a->n_secs, sc->context_id,
				  new_prov->name ? new_prov->name : "?", sc->level);
		}
		cerr_t e = sc->prov->step(sc->ctx, &p->auth.auth_value, &token);
		if (e == CERR_OK || e == CERR_STATUS_MORE_PROCESSING_REQUIRED) {
			if ((e == CERR_OK ? auth_complete(a, sc) : auth_early(a, sc)) != CERR_OK) {
				buf_free(&token);
				return fault_close(a, out, call_id, 0, CERR_NCA_S_FAULT_ACCESS_DENIED, true,
						   CERR_AUTH_FAILED);
			}
		} else {
			auth_failed(a, sc, e);
			buf_free(&token);
			/* Samba dcesrv_alter_done: a rejected token is a sec_pkg_error fault */
			return fault_close(a, out, call_id, 0, CERR_NCA_S_FAULT_SEC_PKG_ERROR, true,
					   CERR_AUTH_FAILED);
		}
		if (!buf_ok(&token)) {
			buf_free(&token);
			return fault_close(a, out, call_id, 0, CERR_NCA_S_FAULT_REMOTE_NO_MEMORY, true,
					   CERR_NOMEM);
		}
		oa.auth_type = sc->type;
		oa.auth_level = sc->level;
		oa.auth_context_id = sc->context_id;
		oa.token = token.data;
		oa.token_len = token.len;
		with_auth = true;
	}

	rpc_hdr_t h;
	rpc_pdu_init_hdr(&h, RPC_PTYPE_ALTER_CONTEXT_RESP, flags, call_id);
	size_t off = out->len;
	/* alter_context_resp has the bind_ack layout with an empty secondary address */
	cerr_t e = rpc_pdu_encode_bind_ack(out, &h, a->max_xmit, a->max_recv, a->group ? a->group->id : 0, "",
					   res, p->u.bind.n_ctx, with_auth ? &oa : NULL);
	buf_free(&token);
	if (e != CERR_OK) {
		a->state = ST_DEAD;
		return e;
	}
	log_pdu_out(out, off);
	return CERR_OK;
}

/* ------------------------------------------------------------------ */
/* auth3 */

static cerr_t handle_auth3(assoc_t *a, const rpc_pdu_t *p, buf_t *out)
{
	uint32_t call_id = p->hdr.call_id;
	struct secctx *sc = a->pending;
	if (a->state == ST_BOUND && !sc && primary_failed(a)) {
		return CERR_OK;
	}
	if (a->state != ST_BOUND || !sc) {
		/* Samba dcesrv_auth3: no auth in progress is a protocol error */
		return fault_close(a, out, call_id, 0, CERR_NCA_S_PROTO_ERROR, true, CERR_PROTOCOL);
	}
	/* AUTH3 never gets a reply (MS-RPCE 3.3.1.5.2.2): failures mark the
	 * context, and the first request naming it is faulted with access denied.
	 * It finishes the context in progress, whose fields it must repeat. */
	if (!p->has_auth || !auth_fields_match(sc, &p->auth)) {
		auth_failed(a, sc, CERR_AUTH_FAILED);
		return CERR_OK;
	}
	buf_t token;
	buf_init(&token, RPC_FRAG_MAX);
	cerr_t e = sc->prov->step(sc->ctx, &p->auth.auth_value, &token);
	if (e == CERR_OK && token.len != 0) {
		/* a mechanism that still wants to talk cannot finish in auth3 (Samba dcesrv_auth_complete) */
		e = CERR_RPC_S_SEC_PKG_ERROR;
	} else if (e == CERR_STATUS_MORE_PROCESSING_REQUIRED) {
		e = CERR_RPC_S_SEC_PKG_ERROR;
	}
	buf_free(&token);
	if (e != CERR_OK) {
		auth_failed(a, sc, e);
		return CERR_OK;
	}
	(void)auth_complete(a, sc); /* a refusal leaves AUTH_FAILED; the first request faults */
	return CERR_OK;
}

/* ------------------------------------------------------------------ */
/* requests */

/* request_sec picks the security context a request names (MS-RPCE
 * 3.2.3.1.4: the sec_trailer's auth_context_id selects it); *out NULL is an
 * unauthenticated call. Returns CERR_OK or the fault status to send before
 * closing: a context never built is access denied (as a trailer whose fields
 * do not match), one still being built a protocol error. */
static cerr_t request_sec(const assoc_t *a, const rpc_pdu_t *p, struct secctx **out)
{
	*out = NULL;
	if (!a->secs) {
		return p->has_auth ? CERR_NCA_S_FAULT_ACCESS_DENIED : CERR_OK;
	}
	struct secctx *sc;
	if (p->has_auth) {
		sc = sec_find(a, p->auth.auth_context_id);
		if (!sc) {
			log_info("rpc: %s:%u request call_id=%u names security context %u, which this connection "
				 "does not have", a->peer_addr, a->info.peer_port, p->hdr.call_id,
				 p->auth.auth_context_id);
			return CERR_NCA_S_FAULT_ACCESS_DENIED;
		}
	} else if (a->n_secs == 1) {
		/* MS-RPCE 3.3.1.5.4: with one context at CONNECT the client may
		 * leave the trailer out (check_request_auth refuses it otherwise) */
		sc = a->secs;
	} else {
		/* MS-RPCE 3.3.1.5.4: "A client MUST send authentication information
		 * for all request PDUs if ... there is more than one security context" */
		return CERR_NCA_S_FAULT_ACCESS_DENIED;
	}
	if (sc->state == AUTH_PENDING) {
		return CERR_NCA_S_PROTO_ERROR;
	}
	if (sc->state != AUTH_DONE) {
		return CERR_NCA_S_FAULT_ACCESS_DENIED;
	}
	*out = sc;
	return CERR_OK;
}

/* check_request_auth verifies (and unseals in place) one request fragment
 * with context sc (NULL: an unauthenticated call). Returns CERR_OK or the
 * fault status to send before closing. Samba's dcesrv_auth_pkt_pull faults
 * every failure here with access denied and without DID_NOT_EXECUTE, then
 * disconnects; so do we. */
static cerr_t check_request_auth(assoc_t *a, struct secctx *sc, rpc_pdu_t *p, uint8_t *pdu, size_t len)
{
	if (!sc) {
		return p->has_auth ? CERR_NCA_S_FAULT_ACCESS_DENIED : CERR_OK;
	}
	if (sc->level == RPC_AUTH_LEVEL_CONNECT) {
		/* CONNECT: no verifier is required; one that is present is not
		 * checked (MS-RPCE 3.3.1.5.2.2, as Samba), but its fields must match */
		if (p->has_auth && !auth_fields_match(sc, &p->auth)) {
			return CERR_NCA_S_FAULT_ACCESS_DENIED;
		}
		return CERR_OK;
	}
	if (!p->has_auth || !auth_fields_match(sc, &p->auth)) {
		return CERR_NCA_S_FAULT_ACCESS_DENIED;
	}
	size_t sig = sc->prov->sig_len(sc->ctx);
	if (cur_len(&p->auth.auth_value) == 0 || cur_len(&p->auth.auth_value) > sig ||
	    p->trailer_offset < p->stub_offset ||
	    p->trailer_offset + RPC_SEC_TRAILER_LEN + cur_len(&p->auth.auth_value) != len) {
		return CERR_NCA_S_FAULT_ACCESS_DENIED;
	}
	bool seal = sc->level == RPC_AUTH_LEVEL_PKT_PRIVACY;
	cerr_t e = sc->prov->unprotect(sc->ctx, pdu, len, p->stub_offset, p->trailer_offset - p->stub_offset,
				       p->trailer_offset + RPC_SEC_TRAILER_LEN, seal, a->header_sign);
	if (e != CERR_OK) {
		log_info("rpc: %s:%u request call_id=%u failed verification: %s", a->peer_addr,
			 a->info.peer_port, p->hdr.call_id, cerr_name(e));
		return CERR_NCA_S_FAULT_ACCESS_DENIED;
	}
	return CERR_OK;
}

/* strip_verification_trailer finds an MS-RPCE 2.2.2.13 verification trailer
 * at the end of the stub (4-aligned from the stub start, searched from the
 * end like Samba's ndr_pop_dcerpc_sec_verification_trailer), checks its
 * commands against the call, and shortens *stub_len to where it begins.
 * Returns CERR_OK (also when there is none) or access denied on a mismatch. */
static cerr_t strip_verification_trailer(const assoc_t *a, const assoc_call_t *call, size_t *stub_len)
{
	cur_t all;
	cur_init(&all, call->stub.data, call->stub.len);
	all.be = !(call->drep[0] & 0x10);
	if (call->stub.len < sizeof(SEC_VT_MAGIC) + 4) {
		return CERR_OK;
	}
	size_t ofs = (call->stub.len - sizeof(SEC_VT_MAGIC) - 4) & ~(size_t)3;
	for (;;) {
		cur_t m;
		if (cur_sub(&all, ofs, sizeof(SEC_VT_MAGIC), &m) && cur_equal(&m, SEC_VT_MAGIC, sizeof(SEC_VT_MAGIC))) {
			break;
		}
		if (ofs == 0) {
			return CERR_OK;
		}
		ofs -= 4;
	}
	cur_t c;
	if (!cur_sub(&all, ofs + sizeof(SEC_VT_MAGIC), call->stub.len - ofs - sizeof(SEC_VT_MAGIC), &c)) {
		return CERR_OK;
	}
	bool end = false;
	while (!end) {
		uint16_t cmd, clen;
		cur_t body;
		if (!cur_get_u16(&c, &cmd) || !cur_get_u16(&c, &clen) || !cur_get_bytes(&c, &body, clen)) {
			return CERR_NCA_S_FAULT_ACCESS_DENIED;
		}
		end = (cmd & SEC_VT_CMD_END) != 0;
		switch (cmd & SEC_VT_CMD_MASK) {
		case SEC_VT_CMD_BITMASK_1: {
			uint32_t bits;
			if (!cur_get_u32(&body, &bits)) {
				return CERR_NCA_S_FAULT_ACCESS_DENIED;
			}
			/* a client that says it supports header signing must have said so in the bind */
			if ((bits & SEC_VT_CLIENT_SUPPORTS_HEADER_SIGNING) && !a->client_hdr_sign) {
				return CERR_NCA_S_FAULT_ACCESS_DENIED;
			}
			break;
		}
		case SEC_VT_CMD_PCONTEXT: {
			rpc_syntax_t abs, xfer;
			if (!cur_get_guid(&body, &abs.uuid) || !cur_get_u32(&body, &abs.version) ||
			    !cur_get_guid(&body, &xfer.uuid) || !cur_get_u32(&body, &xfer.version)) {
				return CERR_NCA_S_FAULT_ACCESS_DENIED;
			}
			if (!guid_equal(&abs.uuid, &call->ctx->abstract.uuid) ||
			    abs.version != call->ctx->abstract.version || !syntax_is_ndr20(&xfer)) {
				return CERR_NCA_S_FAULT_ACCESS_DENIED;
			}
			break;
		}
		case SEC_VT_CMD_HEADER2: {
			uint8_t ptype, r1, drep[4];
			uint16_t r2, ctx_id, opnum;
			uint32_t call_id;
			if (!cur_get_u8(&body, &ptype) || !cur_get_u8(&body, &r1) || !cur_get_u16(&body, &r2) ||
			    !cur_copy(&body, drep, 4) || !cur_get_u32(&body, &call_id) ||
			    !cur_get_u16(&body, &ctx_id) || !cur_get_u16(&body, &opnum)) {
				return CERR_NCA_S_FAULT_ACCESS_DENIED;
			}
			if (ptype != RPC_PTYPE_REQUEST || memcmp(drep, call->drep, 4) != 0 ||
			    call_id != call->call_id || ctx_id != call->ctx_id || opnum != call->opnum) {
				return CERR_NCA_S_FAULT_ACCESS_DENIED;
			}
			break;
		}
		default:
			if (cmd & SEC_VT_MUST_PROCESS) {
				return CERR_NCA_S_FAULT_ACCESS_DENIED;
			}
			break;
		}
		if (!end && cur_empty(&c)) {
			return CERR_NCA_S_FAULT_ACCESS_DENIED;
		}
	}
	if (!cur_empty(&c)) {
		return CERR_NCA_S_FAULT_ACCESS_DENIED;
	}
	*stub_len = ofs;
	return CERR_OK;
}

static cerr_t handle_request(assoc_t *a, rpc_pdu_t *p, uint8_t *pdu, size_t len, buf_t *out,
			     assoc_call_t **out_call)
{
	const rpc_hdr_t *hd = &p->hdr;
	uint32_t call_id = hd->call_id;
	uint16_t ctx_id = p->u.request.ctx_id;
	bool first = (hd->pfc_flags & RPC_PFC_FIRST_FRAG) != 0;

	if (a->state != ST_BOUND) {
		return fault_close(a, out, call_id, ctx_id, CERR_NCA_S_PROTO_ERROR, true, CERR_PROTOCOL);
	}
	/* The transport limit, not the negotiated one, bounds a fragment: Samba
	 * (dcesrv_process_ncacn_packet) found Windows to behave so. */
	if (len > a->reg->cfg.max_recv_frag) {
		return fault_close(a, out, call_id, ctx_id, CERR_NCA_S_PROTO_ERROR, false, CERR_PROTOCOL);
	}

	if (first) {
		if (a->frag) {
			/* a new call while one is being reassembled, without CONC_MPX:
			 * fault the existing call (Samba) */
			uint32_t fid = a->frag->call_id;
			uint16_t fctx = a->frag->ctx_id;
			assoc_call_free(a->frag);
			a->frag = NULL;
			return fault_close(a, out, fid, fctx, CERR_NCA_S_PROTO_ERROR, false, CERR_PROTOCOL);
		}
		struct pctx *ctx = find_ctx(a, ctx_id);
		if (!ctx) {
			/* Samba and Windows answer nca_s_unk_if for a p_cont_id that was
			 * never negotiated; the connection stays usable */
			if (!(hd->pfc_flags & RPC_PFC_LAST_FRAG)) {
				return fault_close(a, out, call_id, ctx_id, CERR_NCA_S_UNK_IF, true, CERR_PROTOCOL);
			}
			struct secctx *sc = NULL;
			cerr_t ae = request_sec(a, p, &sc);
			if (ae == CERR_OK) {
				ae = check_request_auth(a, sc, p, pdu, len);
			}
			if (ae != CERR_OK) {
				return fault_close(a, out, call_id, ctx_id, ae, false, CERR_AUTH_FAILED);
			}
			emit_fault(out, call_id, ctx_id, CERR_NCA_S_UNK_IF, true);
			return CERR_OK;
		}
		struct secctx *sc = NULL;
		cerr_t ae = request_sec(a, p, &sc);
		if (ae == CERR_OK) {
			ae = check_request_auth(a, sc, p, pdu, len);
		}
		if (ae != CERR_OK) {
			return fault_close(a, out, call_id, ctx_id, ae, false, CERR_AUTH_FAILED);
		}
		if (p->u.request.alloc_hint > a->reg->cfg.max_stub) {
			return fault_close(a, out, call_id, ctx_id, CERR_NCA_S_FAULT_REMOTE_NO_MEMORY, true,
					   CERR_LIMIT);
		}
		arena_t *ar = arena_new();
		assoc_call_t *call = ar ? arena_alloc(ar, sizeof(*call)) : NULL;
		if (!call) {
			arena_free(ar);
			return fault_close(a, out, call_id, ctx_id, CERR_NCA_S_FAULT_REMOTE_NO_MEMORY, true,
					   CERR_NOMEM);
		}
		call->arena = ar;
		call->call_id = call_id;
		call->ctx_id = ctx_id;
		call->opnum = p->u.request.opnum;
		memcpy(call->drep, hd->drep, 4);
		call->has_object = p->u.request.has_object;
		call->object = p->u.request.object;
		call->ctx = ctx;
		call->sec = sc;
		buf_init(&call->stub, a->reg->cfg.max_stub);
		a->frag = call;
	} else {
		assoc_call_t *call = a->frag;
		if (!call || call->call_id != call_id) {
			/* a continuation of nothing (Samba: proto_error, disconnect) */
			if (call) {
				call_id = call->call_id;
				ctx_id = call->ctx_id;
			}
			return fault_close(a, out, call_id, ctx_id, CERR_NCA_S_PROTO_ERROR, false, CERR_PROTOCOL);
		}
		if (ctx_id != call->ctx_id || p->u.request.opnum != call->opnum ||
		    memcmp(hd->drep, call->drep, 4) != 0) {
			return fault_close(a, out, call_id, call->ctx_id, CERR_NCA_S_PROTO_ERROR, false,
					   CERR_PROTOCOL);
		}
		/* later fragments are checked with the first one's context (as
		 * Samba's dcesrv_auth_pkt_pull) */
		cerr_t ae = check_request_auth(a, call->sec, p, pdu, len);
		if (ae != CERR_OK) {
			return fault_close(a, out, call_id, ctx_id, ae, false, CERR_AUTH_FAILED);
		}
	}

	assoc_call_t *call = a->frag;
	const cur_t *stub = &p->u.request.stub;
	if (cur_len(stub)) { /* an empty fragment adds nothing (and the buffer may not exist yet) */
		buf_put_bytes(&call->stub, cur_data(stub), cur_len(stub));
	}
	if (!buf_ok(&call->stub)) {
		log_info("rpc: %s:%u request call_id=%u exceeds the %zu-byte stub limit", a->peer_addr,
			 a->info.peer_port, call_id, a->reg->cfg.max_stub);
		return fault_close(a, out, call_id, call->ctx_id, CERR_NCA_S_FAULT_REMOTE_NO_MEMORY, true, CERR_LIMIT);
	}
	if (!(hd->pfc_flags & RPC_PFC_LAST_FRAG)) {
		return CERR_OK;
	}

	/* complete: checks that need the whole call */
	a->frag = NULL;
	const rpc_iface_t *iface = call->ctx->iface;
	if (call->opnum >= iface->n_ops || !iface->ops[call->opnum]) {
		log_info("rpc: %s:%u %s opnum %u out of range", a->peer_addr, a->info.peer_port,
			 iface->name ? iface->name : "?", call->opnum);
		emit_fault(out, call->call_id, call->ctx_id, CERR_NCA_S_OP_RNG_ERROR, true);
		assoc_call_free(call);
		return CERR_OK;
	}
	uint8_t level = call->sec ? call->sec->level : RPC_AUTH_LEVEL_NONE;
	if (level < iface->min_auth_level) {
		log_info("rpc: %s:%u %s needs auth level %u, the call has %u", a->peer_addr,
			 a->info.peer_port, iface->name ? iface->name : "?", iface->min_auth_level, level);
		emit_fault(out, call->call_id, call->ctx_id, CERR_NCA_S_FAULT_ACCESS_DENIED, true);
		assoc_call_free(call);
		return CERR_OK;
	}
	*out_call = call;
	a->busy = true;
	return CERR_OK;
}

/* ------------------------------------------------------------------ */
/* input */

/* peek_hdr reads the fixed header without judging the rest, so a PDU the
 * decoder refuses can still be answered on its call_id. */
static bool peek_hdr(const uint8_t *pdu, size_t len, rpc_hdr_t *h)
{
	cur_t c;
	cur_init(&c, pdu, len);
	if (!cur_get_u8(&c, &h->rpc_vers) || !cur_get_u8(&c, &h->rpc_vers_minor) || !cur_get_u8(&c, &h->ptype) ||
	    !cur_get_u8(&c, &h->pfc_flags) || !cur_copy(&c, h->drep, 4)) {
		return false;
	}
	c.be = !(h->drep[0] & 0x10);
	return cur_get_u16(&c, &h->frag_length) && cur_get_u16(&c, &h->auth_length) && cur_get_u32(&c, &h->call_id);
}

cerr_t assoc_input(assoc_t *a, uint8_t *pdu, size_t len, buf_t *out, assoc_call_t **out_call)
{
	*out_call = NULL;
	if (a->state == ST_DEAD) {
		return CERR_CLOSED;
	}
	if (a->busy) {
		return CERR_INTERNAL;
	}
	rpc_hdr_t hh;
	if (!peek_hdr(pdu, len, &hh) || hh.rpc_vers != 5) {
		log_info("rpc: %s:%u sent a PDU without a valid header; closing", a->peer_addr, a->info.peer_port);
		a->state = ST_DEAD;
		return CERR_MALFORMED;
	}
	log_debug("rpc in: %s call_id=%u flags=0x%02x frag_len=%zu auth_len=%u", rpc_ptype_name(hh.ptype),
		  hh.call_id, hh.pfc_flags, len, hh.auth_length);
	if (hh.rpc_vers_minor > 1) {
		/* C706 12.6.4.5: refuse with the versions we support */
		if (hh.ptype == RPC_PTYPE_BIND) {
			return emit_bind_nak(a, out, hh.call_id, RPC_NAK_PROTOCOL_VERSION_NOT_SUPPORTED);
		}
		a->state = ST_DEAD;
		return CERR_PROTOCOL;
	}

	arena_t *tmp = arena_new();
	if (!tmp) {
		a->state = ST_DEAD;
		return CERR_NOMEM;
	}
	rpc_pdu_t p;
	memset(&p, 0, sizeof(p));
	cerr_t e = rpc_pdu_decode(tmp, pdu, len, &p);
	if (e != CERR_OK) {
		log_info("rpc: %s:%u sent a malformed %s (call_id %u): %s; closing", a->peer_addr,
			 a->info.peer_port, rpc_ptype_name(hh.ptype), hh.call_id, cerr_name(e));
		if (hh.ptype == RPC_PTYPE_BIND && a->state == ST_INIT) {
			e = emit_bind_nak(a, out, hh.call_id,
					  e == CERR_LIMIT ? RPC_NAK_LOCAL_LIMIT_EXCEEDED : RPC_NAK_NOT_SPECIFIED);
		} else if (hh.ptype == RPC_PTYPE_REQUEST || hh.ptype == RPC_PTYPE_ALTER_CONTEXT ||
			   hh.ptype == RPC_PTYPE_AUTH3) {
			uint16_t fctx = a->frag ? a->frag->ctx_id : 0;
			e = fault_close(a, out, hh.call_id, fctx, CERR_NCA_S_PROTO_ERROR, false, CERR_PROTOCOL);
		} else {
			a->state = ST_DEAD;
			e = CERR_PROTOCOL;
		}
		arena_free(tmp);
		return e;
	}

	switch (p.hdr.ptype) {
	case RPC_PTYPE_BIND:
		e = handle_bind(a, &p, tmp, out);
		break;
	case RPC_PTYPE_ALTER_CONTEXT:
		e = handle_alter(a, &p, tmp, out);
		break;
	case RPC_PTYPE_AUTH3:
		e = handle_auth3(a, &p, out);
		break;
	case RPC_PTYPE_REQUEST:
		e = handle_request(a, &p, pdu, len, out, out_call);
		break;
	case RPC_PTYPE_CO_CANCEL:
		/* Windows ignores a cancel (Samba notes the same); calls run to completion */
		e = CERR_OK;
		break;
	case RPC_PTYPE_ORPHANED:
		/* the client abandons the call: drop what we reassembled of it */
		if (a->frag && a->frag->call_id == p.hdr.call_id) {
			assoc_call_free(a->frag);
			a->frag = NULL;
		}
		e = CERR_OK;
		break;
	case RPC_PTYPE_SHUTDOWN:
		/* sent by servers only (C706 12.6.4.13); a client's is ignored */
		e = CERR_OK;
		break;
	default:
		/* responses, faults, acks and naks have no business reaching a server */
		if (a->state == ST_INIT) {
			a->state = ST_DEAD;
			e = CERR_PROTOCOL;
		} else {
			e = fault_close(a, out, p.hdr.call_id, 0, CERR_NCA_S_PROTO_ERROR, true, CERR_PROTOCOL);
		}
		break;
	}
	arena_free(tmp);
	if (e == CERR_OK && !buf_ok(out)) {
		a->state = ST_DEAD;
		e = CERR_NOMEM;
	}
	return e;
}

/* ------------------------------------------------------------------ */
/* execution */

/* map_handler_error turns a handler's result into a fault status (iface.h). */
static cerr_t map_handler_error(cerr_t e)
{
	if (cerr_space(e) == CERR_SPACE_NCA) {
		return e;
	}
	if (e == CERR_MALFORMED || e == CERR_TRUNCATED) {
		return CERR_NCA_S_FAULT_NDR;
	}
	return CERR_NCA_S_FAULT_CANT_PERFORM;
}

/* emit_response fragments stub into response PDUs no larger than the
 * negotiated max_xmit_frag (C706 12.6.4.10), alloc_hint = bytes remaining,
 * and signs or seals each one when the level asks for it. */
static cerr_t emit_response(assoc_t *a, const assoc_call_t *call, const uint8_t *stub, size_t stub_len,
			    buf_t *out)
{
	/* the response goes out under the context the request came in with */
	const struct secctx *sc = call->sec;
	bool protect = sc && sc->state == AUTH_DONE && sc->level >= RPC_AUTH_LEVEL_CALL;
	size_t sig = protect ? sc->prov->sig_len(sc->ctx) : 0;
	size_t overhead = RESP_HDR_LEN + (protect ? RPC_SEC_TRAILER_LEN + sig : 0);
	if (a->max_xmit <= overhead + 16) {
		return CERR_INTERNAL;
	}
	/* chunks are multiples of 16 so only the last fragment needs auth padding */
	size_t chunk_max = (a->max_xmit - overhead) & ~(size_t)15;
	rpc_out_auth_t oa = {
		.auth_type = protect ? sc->type : RPC_AUTH_NONE,
		.auth_level = protect ? sc->level : RPC_AUTH_LEVEL_NONE,
		.auth_context_id = protect ? sc->context_id : 0,
	};
	bool seal = protect && sc->level == RPC_AUTH_LEVEL_PKT_PRIVACY;
	size_t off = 0;
	do {
		size_t n = stub_len - off;
		if (n > chunk_max) {
			n = chunk_max;
		}
		uint8_t flags = 0;
		if (off == 0) {
			flags |= RPC_PFC_FIRST_FRAG;
		}
		if (off + n == stub_len) {
			flags |= RPC_PFC_LAST_FRAG;
		}
		rpc_hdr_t h;
		rpc_pdu_init_hdr(&h, RPC_PTYPE_RESPONSE, flags, call->call_id);
		rpc_frag_layout_t lay;
		size_t remaining = stub_len - off;
		cerr_t e = rpc_pdu_encode_response_frag(out, &h, remaining > UINT32_MAX ? UINT32_MAX : (uint32_t)remaining,
							call->ctx_id, stub_len ? stub + off : NULL, n,
							protect ? &oa : NULL, sig, &lay);
		if (e != CERR_OK || !buf_ok(out)) {
			return e != CERR_OK ? e : CERR_NOMEM;
		}
		if (protect) {
			e = sc->prov->protect(sc->ctx, out->data + lay.pdu_offset, lay.pdu_length,
						  lay.stub_offset, lay.stub_length, lay.verifier_offset, seal,
						  a->header_sign);
			if (e != CERR_OK) {
				log_warn("rpc: protecting response call_id=%u failed: %s", call->call_id, cerr_name(e));
				return e;
			}
		}
		log_pdu_out(out, lay.pdu_offset);
		off += n;
	} while (off < stub_len);
	return CERR_OK;
}

cerr_t assoc_execute_call(assoc_t *a, assoc_call_t *call, buf_t *out)
{
	a->busy = false;
	size_t stub_len = call->stub.len;
	cerr_t e = strip_verification_trailer(a, call, &stub_len);
	if (e != CERR_OK) {
		/* Samba dcesrv_check_verification_trailer: a mismatch is access denied */
		log_info("rpc: %s:%u call_id=%u verification trailer does not match the call", a->peer_addr,
			 a->info.peer_port, call->call_id);
		emit_fault(out, call->call_id, call->ctx_id, e, true);
		assoc_call_free(call);
		return CERR_OK;
	}
	const rpc_iface_t *iface = call->ctx->iface;
	buf_t resp;
	buf_init(&resp, BUF_DEFAULT_MAX);
	rpc_call_t rc;
	memset(&rc, 0, sizeof(rc));
	rc.arena = call->arena;
	sec_info(a, call->sec, &a->call_info);
	rc.conn = &a->call_info;
	rc.opnum = call->opnum;
	rc.has_object = call->has_object;
	rc.object = call->object;
	cur_init(&rc.in, call->stub.data, stub_len);
	rc.in.be = !(call->drep[0] & 0x10);
	rc.out = &resp;
	rc.iface_data = iface->data;

	e = iface->ops[call->opnum](&rc);
	if (e == CERR_OK && !buf_ok(&resp)) {
		e = CERR_NCA_S_OUT_ARGS_TOO_BIG;
	}
	cerr_t ret = CERR_OK;
	if (e != CERR_OK) {
		cerr_t f = map_handler_error(e);
		log_debug("rpc: %s opnum %u failed: %s -> %s", iface->name ? iface->name : "?", call->opnum,
			  cerr_name(e), cerr_name(f));
		emit_fault(out, call->call_id, call->ctx_id, f, false);
	} else {
		ret = emit_response(a, call, resp.data, resp.len, out);
		if (ret != CERR_OK) {
			a->state = ST_DEAD;
		}
	}
	buf_free(&resp);
	assoc_call_free(call);
	if (ret == CERR_OK && !buf_ok(out)) {
		a->state = ST_DEAD;
		ret = CERR_NOMEM;
	}
	return ret;
}
