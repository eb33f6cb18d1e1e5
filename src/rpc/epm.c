/*
 * epm.c - the endpoint mapper (see epm.h). Stateless: the map is read from
 * the server's registrations on every call, and a lookup that does not fit in
 * one response continues from an index carried in the entry handle, so no
 * per-client state exists to leak or exhaust.
 */
#include "rpc/epm.h"

#include <arpa/inet.h>
#include <string.h>

#include "util/arena.h"

/* Windows caps max_ents and max_towers at 500 (MS-RPCE 2.2.1.2.4, 2.2.1.2.5:
 * [range(0,500)]); a value beyond a range is bad stub data. */
#define EPM_MAX_RESULTS 500u

/* Longest annotation: ept_entry_t.annotation is [string] char[64] (C706 Appendix O). */
#define EPM_ANNOTATION_MAX 64u

/* The continuation handle: attributes 0, uuid {EPM_HANDLE_MAGIC, kind, 0, index (LE) + 0}.
 * Its content means nothing to the client (MS-RPCE 2.2.1.1.4: opaque). */
#define EPM_HANDLE_MAGIC 0x4d504543u /* "CEPM" */
#define EPM_HANDLE_LOOKUP 1u
#define EPM_HANDLE_MAP 2u

static const guid_t epm_uuid = {0xe1af8308, 0x5d1f, 0x11c9, {0x91, 0xa4, 0x08, 0x00, 0x2b, 0x14, 0xa0, 0xfa}};

/* ---- towers (C706 Appendix L) ---- */

/* get_floor splits one floor into its left- and right-hand sides. */
static bool get_floor(cur_t *c, cur_t *lhs, cur_t *rhs)
{
	uint16_t lhs_len, rhs_len;
	return cur_get_u16le(c, &lhs_len) && lhs_len >= 1 && cur_get_bytes(c, lhs, lhs_len) &&
	       cur_get_u16le(c, &rhs_len) && cur_get_bytes(c, rhs, rhs_len);
}

/* get_uuid_floor reads floors 1 and 2: lhs 0x0d, UUID, u16 major; rhs u16 minor. */
static bool get_uuid_floor(cur_t *c, guid_t *uuid, uint16_t *major, uint16_t *minor)
{
	cur_t lhs, rhs;
	uint8_t id;
	return get_floor(c, &lhs, &rhs) && cur_len(&lhs) == 19 && cur_get_u8(&lhs, &id) &&
	       id == EPM_FLOOR_UUID && cur_get_guid(&lhs, uuid) && cur_get_u16le(&lhs, major) &&
	       cur_len(&rhs) == 2 && cur_get_u16le(&rhs, minor);
}

cerr_t epm_tower_parse(const cur_t *octets, epm_tower_t *out)
{
	cur_t c = *octets;
	epm_tower_t t;
	memset(&t, 0, sizeof(t));
	c.be = false; /* tower octets are little-endian whatever the drep (C706 Appendix L) */
	if (!cur_get_u16le(&c, &t.n_floors)) {
		return CERR_TRUNCATED;
	}
	if (t.n_floors < 3 || t.n_floors > EPM_MAX_FLOORS) {
		return CERR_MALFORMED;
	}
	if (!get_uuid_floor(&c, &t.if_uuid, &t.if_major, &t.if_minor) ||
	    !get_uuid_floor(&c, &t.syntax_uuid, &t.syntax_major, &t.syntax_minor)) {
		return CERR_MALFORMED;
	}
	for (uint16_t i = 2; i < t.n_floors; i++) {
		cur_t lhs, rhs;
		uint8_t id;
		if (!get_floor(&c, &lhs, &rhs) || cur_len(&lhs) != 1 || !cur_get_u8(&lhs, &id)) {
			return CERR_MALFORMED;
		}
		if (i == 2) {
			t.protocol = id;
		} else if (i == 3) {
			t.transport = id;
			if (id == EPM_FLOOR_TCP || id == EPM_FLOOR_UDP || id == EPM_FLOOR_HTTP) {
				/* C706 Appendix I: ports are big-endian */
				if (cur_len(&rhs) != 2 || !cur_get_u16be(&rhs, &t.port)) {
					return CERR_MALFORMED;
				}
			}
		} else if (i == 4) {
			t.host = id;
			if (id == EPM_FLOOR_IP && (cur_len(&rhs) != 4 || !cur_copy(&rhs, t.ipv4, 4))) {
				return CERR_MALFORMED;
			}
		}
	}
	*out = t;
	return CERR_OK;
}

static void put_uuid_floor(buf_t *b, const guid_t *uuid, uint16_t major, uint16_t minor)
{
	bool be = b->be;
	b->be = false;
	buf_put_u16(b, 19);
	buf_put_u8(b, EPM_FLOOR_UUID);
	buf_put_guid(b, uuid);
	buf_put_u16(b, major);
	buf_put_u16(b, 2);
	buf_put_u16(b, minor);
	b->be = be;
}

void epm_tower_put_tcp(buf_t *b, const guid_t *if_uuid, uint16_t if_major, uint16_t if_minor,
		       uint16_t port, const uint8_t ipv4[4])
{
	bool be = b->be;
	b->be = false;
	buf_put_u16(b, 5);
	put_uuid_floor(b, if_uuid, if_major, if_minor);
	put_uuid_floor(b, &RPC_NDR20_UUID, 2, 0);
	/* floor 3: connection-oriented RPC, rhs = protocol minor version 0 */
	buf_put_u16(b, 1);
	buf_put_u8(b, EPM_FLOOR_RPC_CO);
	buf_put_u16(b, 2);
	buf_put_u16(b, 0);
	/* floor 4: TCP port, big-endian */
	buf_put_u16(b, 1);
	buf_put_u8(b, EPM_FLOOR_TCP);
	buf_put_u16(b, 2);
	buf_put_u16be(b, port);
	/* floor 5: IPv4 address, network order */
	buf_put_u16(b, 1);
	buf_put_u8(b, EPM_FLOOR_IP);
	buf_put_u16(b, 4);
	buf_put_bytes(b, ipv4, 4);
	b->be = be;
}

/* put_twr writes a deferred twr_t {u32 tower_length; [size_is] byte octets[]}:
 * a conformant struct, so max_count comes first (C706 14.3.7.1). */
static void put_tcp_twr(buf_t *b, const guid_t *if_uuid, uint16_t major, uint16_t minor,
			uint16_t port, const uint8_t ipv4[4])
{
	ndr_put_conformance(b, EPM_TCP_TOWER_LEN);
	ndr_put_u32(b, EPM_TCP_TOWER_LEN);
	epm_tower_put_tcp(b, if_uuid, major, minor, port, ipv4);
}

/* ---- request decoders ---- */

/* get_twr reads a twr_t and gives its octets as a child cursor. */
static bool get_twr(cur_t *in, cur_t *octets)
{
	uint32_t max_count, len;
	return ndr_get_conformance(in, &max_count) && ndr_get_u32(in, &len) && max_count == len &&
	       len <= EPM_MAX_TOWER_LEN && cur_get_bytes(in, octets, len);
}

/* get_object reads the [in, ptr] UUID *obj both ept_map and ept_lookup start
 * their object selection with; *present false for a NULL pointer. */
static bool get_object(cur_t *in, bool *present, guid_t *object)
{
	uint32_t ref;
	if (!ndr_get_unique_ptr(in, &ref)) {
		return false;
	}
	*present = ref != 0;
	return !*present || ndr_get_guid(in, object);
}

cerr_t epm_decode_map(cur_t *in, epm_map_req_t *out)
{
	epm_map_req_t r;
	uint32_t ref;
	memset(&r, 0, sizeof(r));
	if (!get_object(in, &r.has_object, &r.object)) {
		return CERR_MALFORMED;
	}
	/* [in, ptr] twr_p_t map_tower */
	if (!ndr_get_unique_ptr(in, &ref)) {
		return CERR_MALFORMED;
	}
	r.has_tower = ref != 0;
	if (r.has_tower && !get_twr(in, &r.tower)) {
		return CERR_MALFORMED;
	}
	if (!ndr_get_ctx_handle(in, &r.handle) || !ndr_get_u32(in, &r.max_towers) ||
	    r.max_towers > EPM_MAX_RESULTS) {
		return CERR_MALFORMED;
	}
	*out = r;
	return CERR_OK;
}

cerr_t epm_decode_lookup(cur_t *in, epm_lookup_req_t *out)
{
	epm_lookup_req_t r;
	uint32_t ref;
	memset(&r, 0, sizeof(r));
	if (!ndr_get_u32(in, &r.inquiry_type) || !get_object(in, &r.has_object, &r.object)) {
		return CERR_MALFORMED;
	}
	/* [in, ptr] RPC_IF_ID *Ifid: {UUID; u16 major; u16 minor} */
	if (!ndr_get_unique_ptr(in, &ref)) {
		return CERR_MALFORMED;
	}
	r.has_if = ref != 0;
	if (r.has_if && (!ndr_get_guid(in, &r.if_uuid) || !ndr_get_u16(in, &r.if_major) ||
			 !ndr_get_u16(in, &r.if_minor))) {
		return CERR_MALFORMED;
	}
	if (!ndr_get_u32(in, &r.vers_option) || !ndr_get_ctx_handle(in, &r.handle) ||
	    !ndr_get_u32(in, &r.max_ents) || r.max_ents > EPM_MAX_RESULTS) {
		return CERR_MALFORMED;
	}
	*out = r;
	return CERR_OK;
}

/* ---- reading the map ---- */

typedef struct epm_list {
	arena_t *arena;
	rpc_endpoint_entry_t *v;
	size_t n, cap;
	bool failed;
} epm_list_t;

static void collect_endpoint(void *arg, const rpc_iface_t *iface, enum rpc_listen_role role,
			     uint16_t port)
{
	epm_list_t *l = arg;
	if (l->failed) {
		return;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		if (cap > EPM_MAX_ENTRIES) {
			cap = EPM_MAX_ENTRIES;
		}
		if (cap == l->n) {
			return; /* full: further registrations are not listed */
		}
		rpc_endpoint_entry_t *v = arena_array(l->arena, cap, sizeof(*v));
		if (!v) {
			l->failed = true;
			return;
		}
		if (l->n) {
			memcpy(v, l->v, l->n * sizeof(*v));
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (rpc_endpoint_entry_t){iface, role, port};
}

bool rpc_endpoints_read(rpc_endpoints_t *eps, arena_t *a, rpc_endpoint_entry_t **out, size_t *out_n)
{
	epm_list_t l;
	memset(&l, 0, sizeof(l));
	l.arena = a;
	if (eps && eps->foreach) {
		eps->foreach(eps->ctx, collect_endpoint, &l);
	}
	if (l.failed) {
		return false;
	}
	*out = l.v;
	*out_n = l.n;
	return true;
}

/* ---- continuation handles ---- */

static void handle_make(ndr_ctx_handle_t *h, uint16_t kind, uint32_t index)
{
	memset(h, 0, sizeof(*h));
	if (index == 0) {
		return; /* done: the NULL handle */
	}
	h->uuid.d1 = EPM_HANDLE_MAGIC;
	h->uuid.d2 = kind;
	h->uuid.d4[0] = (uint8_t)index;
	h->uuid.d4[1] = (uint8_t)(index >> 8);
	h->uuid.d4[2] = (uint8_t)(index >> 16);
	h->uuid.d4[3] = (uint8_t)(index >> 24);
}

/* handle_index gives where a search resumes: 0 for the NULL handle, the
 * carried index for one of ours, false for anything else. */
static bool handle_index(const ndr_ctx_handle_t *h, uint16_t kind, uint32_t *index)
{
	if (ndr_ctx_handle_is_null(h)) {
		*index = 0;
		return true;
	}
	if (h->attributes != 0 || h->uuid.d1 != EPM_HANDLE_MAGIC || h->uuid.d2 != kind ||
	    h->uuid.d3 != 0) {
		return false;
	}
	*index = (uint32_t)h->uuid.d4[0] | (uint32_t)h->uuid.d4[1] << 8 |
		 (uint32_t)h->uuid.d4[2] << 16 | (uint32_t)h->uuid.d4[3] << 24;
	return true;
}

/* local_ipv4 is the address the client dialled, for towers: 0.0.0.0 when
 * unknown or not IPv4 (clients then use the address they already know). */
static void local_ipv4(const rpc_call_t *call, uint8_t out[4])
{
	memset(out, 0, 4);
	const char *addr = call->conn ? call->conn->local_addr : NULL;
	if (!addr) {
		return;
	}
	if (strncmp(addr, "::ffff:", 7) == 0) {
		addr += 7; /* IPv4-mapped IPv6 listener */
	}
	struct in_addr in;
	if (inet_pton(AF_INET, addr, &in) == 1) {
		memcpy(out, &in.s_addr, 4); /* s_addr is already in network order */
	}
}

/* ---- operations ---- */

static cerr_t finish(rpc_call_t *call)
{
	return buf_ok(call->out) ? CERR_OK : CERR_NOMEM;
}

/* Opnums 0, 1, 6 (insert, delete, mgmt_delete): Windows removed remote use
 * (MS-RPCE 2.2.1.2.6, 2.2.1.2.7, 2.2.1.2.10) and the status is the general
 * EPT_S_CANT_PERFORM_OP (MS-RPCE 2.2.1.2.1), as Samba's endpoint mapper also
 * answers. Their only [out] parameter is the status. */
static cerr_t epm_op_refuse(rpc_call_t *call)
{
	ndr_put_u32(call->out, cerr_value(CERR_EPT_S_CANT_PERFORM_OP));
	return finish(call);
}

/* Opnum 5 ept_inq_object: [out] UUID *ept_object, [out] status. Not supported either. */
static cerr_t epm_op_inq_object(rpc_call_t *call)
{
	const guid_t nil = {0};
	ndr_put_guid(call->out, &nil);
	ndr_put_u32(call->out, cerr_value(CERR_EPT_S_CANT_PERFORM_OP));
	return finish(call);
}

/* Opnum 4 ept_lookup_handle_free: our handles hold no state, so freeing one is
 * returning the NULL handle. */
static cerr_t epm_op_lookup_handle_free(rpc_call_t *call)
{
	ndr_ctx_handle_t h;
	if (!ndr_get_ctx_handle(&call->in, &h)) {
		return CERR_MALFORMED;
	}
	memset(&h, 0, sizeof(h));
	ndr_put_ctx_handle(call->out, &h);
	ndr_put_u32(call->out, 0);
	return finish(call);
}

/* map_match: ept_map finds the interface by UUID and major version with a
 * minor version at least the one asked for (C706 Appendix O, ept_map; the
 * "compatible" rule of rpc_c_vers_compatible). */
static bool map_match(const rpc_endpoint_entry_t *e, const epm_tower_t *t)
{
	return guid_equal(&e->iface->uuid, &t->if_uuid) && e->iface->vers_major == t->if_major &&
	       e->iface->vers_minor >= t->if_minor;
}

/* tower_is_ncacn_ip_tcp: NDR 2.0 over connection-oriented RPC over TCP; the
 * only protocol sequence we serve. */
static bool tower_is_ncacn_ip_tcp(const epm_tower_t *t)
{
	return guid_equal(&t->syntax_uuid, &RPC_NDR20_UUID) && t->syntax_major == 2 &&
	       t->protocol == EPM_FLOOR_RPC_CO && t->transport == EPM_FLOOR_TCP;
}

/* Opnum 3 ept_map (MS-RPCE 2.2.1.2.5). Out: entry_handle, num_towers, towers
 * [size_is(max_towers), length_is(num_towers)] of twr_p_t, status. */
static cerr_t epm_op_map(rpc_call_t *call)
{
	epm_map_req_t req;
	epm_tower_t tower;
	rpc_endpoint_entry_t *map;
	size_t n_map;
	cerr_t e = epm_decode_map(&call->in, &req);
	if (e != CERR_OK) {
		return e;
	}
	if (!rpc_endpoints_read(call->iface_data, call->arena, &map, &n_map)) {
		return CERR_NOMEM;
	}
	/* Matches: endpoints on the dynamic listener first, so a client is sent to
	 * the port meant for it even if the interface is also served on 135. */
	size_t n_match = 0;
	const rpc_endpoint_entry_t **match = arena_array(call->arena, n_map ? n_map : 1, sizeof(*match));
	if (!match) {
		return CERR_NOMEM;
	}
	/* A missing or unparsable tower, or another protocol sequence, finds
	 * nothing (as in Samba's ept_map); it is not an NDR error. */
	bool usable = req.has_tower && epm_tower_parse(&req.tower, &tower) == CERR_OK &&
		      tower_is_ncacn_ip_tcp(&tower);
	for (int pass = 0; usable && pass < 2; pass++) {
		enum rpc_listen_role want = pass == 0 ? RPC_LISTEN_DYNAMIC : RPC_LISTEN_EPM;
		for (size_t i = 0; i < n_map; i++) {
			if (map[i].iface->epm_register && map[i].role == want &&
			    map_match(&map[i], &tower)) {
				match[n_match++] = &map[i];
			}
		}
	}
	uint32_t start;
	if (!handle_index(&req.handle, EPM_HANDLE_MAP, &start) || start > n_match) {
		start = (uint32_t)n_match; /* a handle we did not issue, or stale: nothing more */
	}
	uint32_t num = (uint32_t)(n_match - start);
	if (num > req.max_towers) {
		num = req.max_towers;
	}
	uint32_t next = start + num < n_match ? start + num : 0;
	uint8_t ipv4[4];
	local_ipv4(call, ipv4);

	ndr_ctx_handle_t h;
	handle_make(&h, EPM_HANDLE_MAP, next);
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	ndr_put_ctx_handle(call->out, &h);
	ndr_put_u32(call->out, num);
	ndr_put_conformance(call->out, req.max_towers);
	ndr_put_variance(call->out, 0, num);
	for (uint32_t i = 0; i < num; i++) {
		ndr_put_unique_ptr(call->out, &ids, true);
	}
	for (uint32_t i = 0; i < num; i++) {
		const rpc_endpoint_entry_t *m = match[start + i];
		put_tcp_twr(call->out, &m->iface->uuid, m->iface->vers_major, m->iface->vers_minor,
			    m->port, ipv4);
	}
	/* C706 Appendix O: ept_s_not_registered when nothing matched; Windows
	 * returns this DCE value (0x16c9a0d6), which clients test for. */
	ndr_put_u32(call->out, num ? 0 : cerr_value(CERR_EPT_S_NOT_REGISTERED_DCE));
	return finish(call);
}

/* lookup_vers_match applies ept_lookup's vers_option (C706 Appendix O). */
static bool lookup_vers_match(const rpc_iface_t *i, const epm_lookup_req_t *r)
{
	switch (r->vers_option) {
	case EPM_VERS_ALL:
		return true;
	case EPM_VERS_COMPATIBLE:
		return i->vers_major == r->if_major && i->vers_minor >= r->if_minor;
	case EPM_VERS_EXACT:
		return i->vers_major == r->if_major && i->vers_minor == r->if_minor;
	case EPM_VERS_MAJOR_ONLY:
		return i->vers_major == r->if_major;
	case EPM_VERS_UPTO:
		return i->vers_major < r->if_major ||
		       (i->vers_major == r->if_major && i->vers_minor <= r->if_minor);
	default:
		return false;
	}
}

/* lookup_match: entries carry the nil object UUID (we register no objects). */
static bool lookup_match(const rpc_endpoint_entry_t *e, const epm_lookup_req_t *r)
{
	const guid_t nil = {0};
	bool if_ok = r->has_if && guid_equal(&e->iface->uuid, &r->if_uuid) && lookup_vers_match(e->iface, r);
	bool obj_ok = guid_equal(&nil, r->has_object ? &r->object : &nil);
	switch (r->inquiry_type) {
	case EPM_INQ_ALL:
		return true;
	case EPM_INQ_BY_IF:
		return if_ok;
	case EPM_INQ_BY_OBJ:
		return obj_ok;
	case EPM_INQ_BY_BOTH:
		return if_ok && obj_ok;
	default:
		return false;
	}
}

/* put_annotation writes ept_entry_t.annotation, a varying [string] char[64]:
 * offset 0, actual_count with the NUL, the characters. */
static void put_annotation(buf_t *b, const char *name)
{
	size_t len = name ? strlen(name) : 0;
	if (len > EPM_ANNOTATION_MAX - 1) {
		len = EPM_ANNOTATION_MAX - 1;
	}
	ndr_put_variance(b, 0, (uint32_t)len + 1);
	buf_put_bytes(b, name, len);
	buf_put_u8(b, 0);
}

/* Opnum 2 ept_lookup (MS-RPCE 2.2.1.2.4). Out: entry_handle, num_ents, entries
 * [size_is(max_ents), length_is(num_ents)] of ept_entry_t {UUID object; twr_p_t
 * tower; char annotation[64]}, status. The towers are embedded pointers, so
 * they follow the whole array (C706 14.3.12.3). */
static cerr_t epm_op_lookup(rpc_call_t *call)
{
	epm_lookup_req_t req;
	rpc_endpoint_entry_t *map;
	size_t n_map;
	cerr_t e = epm_decode_lookup(&call->in, &req);
	if (e != CERR_OK) {
		return e;
	}
	if (!rpc_endpoints_read(call->iface_data, call->arena, &map, &n_map)) {
		return CERR_NOMEM;
	}
	bool valid = req.inquiry_type <= EPM_INQ_BY_BOTH &&
		     (req.inquiry_type == EPM_INQ_ALL || req.inquiry_type == EPM_INQ_BY_OBJ ||
		      (req.has_if && req.vers_option >= EPM_VERS_ALL && req.vers_option <= EPM_VERS_UPTO));
	size_t n_match = 0;
	const rpc_endpoint_entry_t **match = arena_array(call->arena, n_map ? n_map : 1, sizeof(*match));
	if (!match) {
		return CERR_NOMEM;
	}
	for (size_t i = 0; valid && i < n_map; i++) {
		if (map[i].iface->epm_register && lookup_match(&map[i], &req)) {
			match[n_match++] = &map[i];
		}
	}
	uint32_t start;
	if (!handle_index(&req.handle, EPM_HANDLE_LOOKUP, &start) || start > n_match) {
		start = (uint32_t)n_match;
	}
	uint32_t num = (uint32_t)(n_match - start);
	if (num > req.max_ents) {
		num = req.max_ents;
	}
	uint32_t next = start + num < n_match ? start + num : 0;
	uint8_t ipv4[4];
	local_ipv4(call, ipv4);

	ndr_ctx_handle_t h;
	handle_make(&h, EPM_HANDLE_LOOKUP, next);
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	const guid_t nil = {0};
	ndr_put_ctx_handle(call->out, &h);
	ndr_put_u32(call->out, num);
	ndr_put_conformance(call->out, req.max_ents);
	ndr_put_variance(call->out, 0, num);
	for (uint32_t i = 0; i < num; i++) {
		ndr_put_guid(call->out, &nil);
		ndr_put_unique_ptr(call->out, &ids, true);
		put_annotation(call->out, match[start + i]->iface->name);
	}
	for (uint32_t i = 0; i < num; i++) {
		const rpc_endpoint_entry_t *m = match[start + i];
		put_tcp_twr(call->out, &m->iface->uuid, m->iface->vers_major, m->iface->vers_minor,
			    m->port, ipv4);
	}
	uint32_t status = 0;
	if (!valid) {
		status = cerr_value(CERR_EPT_S_CANT_PERFORM_OP);
	} else if (num == 0) {
		status = cerr_value(CERR_EPT_S_NOT_REGISTERED_DCE);
	}
	ndr_put_u32(call->out, status);
	return finish(call);
}

static const rpc_op_fn epm_ops[EPM_N_OPS] = {
	[EPM_OP_INSERT] = epm_op_refuse,
	[EPM_OP_DELETE] = epm_op_refuse,
	[EPM_OP_LOOKUP] = epm_op_lookup,
	[EPM_OP_MAP] = epm_op_map,
	[EPM_OP_LOOKUP_HANDLE_FREE] = epm_op_lookup_handle_free,
	[EPM_OP_INQ_OBJECT] = epm_op_inq_object,
	[EPM_OP_MGMT_DELETE] = epm_op_refuse,
};

void epm_iface_init(rpc_iface_t *out, rpc_endpoints_t *eps)
{
	memset(out, 0, sizeof(*out));
	out->name = "Endpoint Mapper";
	out->uuid = epm_uuid;
	out->vers_major = 3;
	out->vers_minor = 0;
	out->ops = epm_ops;
	out->n_ops = EPM_N_OPS;
	out->data = eps;
	out->epm_register = false; /* it is the map; clients find it on 135 by convention */
	out->min_auth_level = 0;   /* unauthenticated, as on Windows */
}
