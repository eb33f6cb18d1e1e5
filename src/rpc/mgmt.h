/*
 * mgmt.h - the DCE remote management interface, afa8bd80-7d8a-11c9-bef4-
 * 08002b102989 v1.0 (C706 Appendix Q, mgmt.idl; the rpc_mgmt_* calls of
 * C706 ch. 3), which every DCE/Windows RPC server answers on each endpoint.
 * inq_if_ids lists the interfaces served where the call arrived; tools such as
 * impacket's rpcmap use it, and our integration tests call it at each
 * authentication level to prove a call returns correct data.
 */
#ifndef CERTA_RPC_MGMT_H
#define CERTA_RPC_MGMT_H

#include <stdint.h>

#include "rpc/epm.h"
#include "rpc/iface.h"

/* Opnums (C706 Appendix Q); 5 and up are outside the table (nca_s_op_rng_error). */
enum mgmt_opnum {
	MGMT_OP_INQ_IF_IDS = 0,
	MGMT_OP_INQ_STATS = 1,
	MGMT_OP_IS_SERVER_LISTENING = 2,
	MGMT_OP_STOP_SERVER_LISTENING = 3,
	MGMT_OP_INQ_PRINC_NAME = 4,
	MGMT_N_OPS = 5,
};

/* inq_stats array indexes (rpc_c_stats_*, C706 Appendix Q) */
enum mgmt_stat {
	MGMT_STATS_CALLS_IN = 0,
	MGMT_STATS_CALLS_OUT = 1,
	MGMT_STATS_PKTS_IN = 2,
	MGMT_STATS_PKTS_OUT = 3,
	MGMT_STATS_COUNT = 4,
};

/* Longest principal name inq_princ_name returns (characters, with the NUL). */
#define MGMT_MAX_PRINC_NAME 1024u

typedef struct mgmt_config {
	rpc_endpoints_t endpoints; /* what inq_if_ids lists */
	const char *princ_name;    /* inq_princ_name's answer (e.g. "host/ca1.example.com"); NULL = "" */
	/* Optional counters for inq_stats; NULL reports zeros. */
	void (*stats)(void *ctx, uint32_t out[MGMT_STATS_COUNT]);
	void *stats_ctx;
} mgmt_config_t;

/* mgmt_iface_init fills *out with the management interface answering from cfg
 * (borrowed: must outlive the server). Register it on both listeners.
 *
 * inq_if_ids answers exactly: the interfaces served on the listener the call
 * arrived on (the endpoints whose port equals conn->local_port; all endpoints
 * if none matches), in registration order, each {uuid, major, minor} once,
 * without the mgmt interface itself (as Windows, which rpcmap works around). */
void mgmt_iface_init(rpc_iface_t *out, mgmt_config_t *cfg);

#endif
