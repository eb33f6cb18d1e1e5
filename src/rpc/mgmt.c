/*
 * mgmt.c - the DCE remote management interface (see mgmt.h). Stub layouts
 * follow C706 Appendix Q as Windows and impacket's mgmt.py marshal them.
 */
#include "rpc/mgmt.h"

#include <string.h>

#include "rpc/ndr.h"

static const guid_t mgmt_uuid = {0xafa8bd80, 0x7d8a, 0x11c9, {0xbe, 0xf4, 0x08, 0x00, 0x2b, 0x10, 0x29, 0x89}};

static cerr_t finish(rpc_call_t *call)
{
	return buf_ok(call->out) ? CERR_OK : CERR_NOMEM;
}

static bool same_if(const rpc_iface_t *a, const rpc_iface_t *b)
{
	return guid_equal(&a->uuid, &b->uuid) && a->vers_major == b->vers_major &&
	       a->vers_minor == b->vers_minor;
}

/* Opnum 0 rpc__mgmt_inq_if_ids: [out] rpc_if_id_vector_p_t *if_id_vector,
 * [out] error_status_t *status. The vector pointer is a unique pointer; the
 * vector {u32 count; [size_is(count)] rpc_if_id_p_t if_id[]} is a conformant
 * struct (max_count first, C706 14.3.7.1) whose elements are pointers, so the
 * rpc_if_id_t {UUID; u16 major; u16 minor} referents follow the array. */
static cerr_t mgmt_op_inq_if_ids(rpc_call_t *call)
{
	mgmt_config_t *cfg = call->iface_data;
	rpc_endpoint_entry_t *eps;
	size_t n_eps;
	if (!rpc_endpoints_read(&cfg->endpoints, call->arena, &eps, &n_eps)) {
		return CERR_NOMEM;
	}
	/* The listener the call arrived on: endpoints whose port is ours. */
	uint16_t port = call->conn ? call->conn->local_port : 0;
	bool port_known = false;
	for (size_t i = 0; port && i < n_eps; i++) {
		port_known = port_known || eps[i].port == port;
	}
	const rpc_iface_t **ids = arena_array(call->arena, n_eps ? n_eps : 1, sizeof(*ids));
	if (!ids) {
		return CERR_NOMEM;
	}
	uint32_t n = 0;
	for (size_t i = 0; i < n_eps; i++) {
		const rpc_iface_t *it = eps[i].iface;
		if ((port_known && eps[i].port != port) || guid_equal(&it->uuid, &mgmt_uuid)) {
			continue;
		}
		bool dup = false;
		for (uint32_t j = 0; j < n && !dup; j++) {
			dup = same_if(ids[j], it);
		}
		if (!dup) {
			ids[n++] = it;
		}
	}
	ndr_refids_t refs;
	ndr_refids_init(&refs);
	ndr_put_unique_ptr(call->out, &refs, true);
	ndr_put_conformance(call->out, n);
	ndr_put_u32(call->out, n);
	for (uint32_t i = 0; i < n; i++) {
		ndr_put_unique_ptr(call->out, &refs, true);
	}
	for (uint32_t i = 0; i < n; i++) {
		ndr_put_guid(call->out, &ids[i]->uuid);
		ndr_put_u16(call->out, ids[i]->vers_major);
		ndr_put_u16(call->out, ids[i]->vers_minor);
	}
	ndr_put_u32(call->out, 0);
	return finish(call);
}

/* Opnum 1 rpc__mgmt_inq_stats: [in, out] u32 *count, [out, size_is(*count)]
 * u32 statistics[], [out] status. Samba's IDL has a second [in] u32; anything
 * after count is ignored. Out: count, max_count, values, status. */
static cerr_t mgmt_op_inq_stats(rpc_call_t *call)
{
	mgmt_config_t *cfg = call->iface_data;
	uint32_t count;
	if (!ndr_get_u32(&call->in, &count)) {
		return CERR_MALFORMED;
	}
	uint32_t stats[MGMT_STATS_COUNT] = {0};
	if (cfg->stats) {
		cfg->stats(cfg->stats_ctx, stats);
	}
	if (count > MGMT_STATS_COUNT) {
		count = MGMT_STATS_COUNT;
	}
	ndr_put_u32(call->out, count);
	ndr_put_conformance(call->out, count);
	for (uint32_t i = 0; i < count; i++) {
		ndr_put_u32(call->out, stats[i]);
	}
	ndr_put_u32(call->out, 0);
	return finish(call);
}

/* Opnum 2 rpc__mgmt_is_server_listening: [out] status, then the boolean32 result. */
static cerr_t mgmt_op_is_server_listening(rpc_call_t *call)
{
	ndr_put_u32(call->out, 0);
	ndr_put_u32(call->out, 1);
	return finish(call);
}

/* Opnum 3 rpc__mgmt_stop_server_listening: refused. Windows denies remote stop
 * requests unless the server installs an authorization function
 * (RpcMgmtSetAuthorizationFn), answering rpc_s_access_denied (5), which is
 * what impacket's tests expect. */
static cerr_t mgmt_op_stop_server_listening(rpc_call_t *call)
{
	ndr_put_u32(call->out, cerr_value(CERR_WIN32_ACCESS_DENIED));
	return finish(call);
}

/* Opnum 4 rpc__mgmt_inq_princ_name: [in] u32 authn_proto, [in] u32
 * princ_name_size, [out, string, size_is(princ_name_size)] char princ_name[],
 * [out] status. The name is a conformant varying char string: max_count =
 * princ_name_size, offset 0, actual_count with the NUL. One name serves every
 * authn_proto. A name that does not fit gives "" and RPC_S_BUFFER_TOO_SMALL
 * (= ERROR_INSUFFICIENT_BUFFER). */
static cerr_t mgmt_op_inq_princ_name(rpc_call_t *call)
{
	mgmt_config_t *cfg = call->iface_data;
	uint32_t authn_proto, size;
	if (!ndr_get_u32(&call->in, &authn_proto) || !ndr_get_u32(&call->in, &size)) {
		return CERR_MALFORMED;
	}
	const char *name = cfg->princ_name ? cfg->princ_name : "";
	size_t len = strlen(name);
	uint32_t status = 0;
	if (len + 1 > size || len + 1 > MGMT_MAX_PRINC_NAME) {
		name = "";
		len = 0;
		status = cerr_value(CERR_WIN32_INSUFFICIENT_BUFFER);
	}
	uint32_t actual = size ? (uint32_t)len + 1 : 0;
	ndr_put_conformance(call->out, size);
	ndr_put_variance(call->out, 0, actual);
	if (actual) {
		buf_put_bytes(call->out, name, len);
		buf_put_u8(call->out, 0);
	}
	ndr_put_u32(call->out, status);
	return finish(call);
}

static const rpc_op_fn mgmt_ops[MGMT_N_OPS] = {
	[MGMT_OP_INQ_IF_IDS] = mgmt_op_inq_if_ids,
	[MGMT_OP_INQ_STATS] = mgmt_op_inq_stats,
	[MGMT_OP_IS_SERVER_LISTENING] = mgmt_op_is_server_listening,
	[MGMT_OP_STOP_SERVER_LISTENING] = mgmt_op_stop_server_listening,
	[MGMT_OP_INQ_PRINC_NAME] = mgmt_op_inq_princ_name,
};

void mgmt_iface_init(rpc_iface_t *out, mgmt_config_t *cfg)
{
	memset(out, 0, sizeof(*out));
	out->name = "DCE Remote Management";
	out->uuid = mgmt_uuid;
	out->vers_major = 1;
	out->vers_minor = 0;
	out->ops = mgmt_ops;
	out->n_ops = MGMT_N_OPS;
	out->data = cfg;
	out->epm_register = false;
	out->min_auth_level = 0;
}
