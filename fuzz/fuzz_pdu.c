/*
 * fuzz_pdu.c - libFuzzer target for the DCE/RPC PDU decoder (src/rpc/pdu.c).
 * Any input must decode or fail cleanly. A PDU that decodes and has an encoder
 * is re-encoded; the result must decode, agree with the first parse on every
 * field the encoder carries, and re-encode to the very same bytes (the
 * round trip is stable). Mismatches abort, so libFuzzer keeps a reproducer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "rpc/pdu.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_cur(const cur_t *a, const cur_t *b)
{
	return cur_len(a) == cur_len(b) && (cur_len(a) == 0 || memcmp(cur_data(a), cur_data(b), cur_len(a)) == 0);
}

static bool same_syntax(const rpc_syntax_t *a, const rpc_syntax_t *b)
{
	return guid_equal(&a->uuid, &b->uuid) && a->version == b->version;
}

/* out_auth gives the encoders' view of a decoded trailer (NULL without one). */
static const rpc_out_auth_t *out_auth(const rpc_pdu_t *p, rpc_out_auth_t *au)
{
	if (!p->has_auth) {
		return NULL;
	}
	au->auth_type = p->auth.auth_type;
	au->auth_level = p->auth.auth_level;
	au->auth_context_id = p->auth.auth_context_id;
	au->token = cur_data(&p->auth.auth_value);
	au->token_len = cur_len(&p->auth.auth_value);
	return au;
}

/* encode writes p back out. Returns CERR_UNSUPPORTED for PTYPEs without an
 * encoder (co_cancel, orphaned). */
static cerr_t encode(const rpc_pdu_t *p, buf_t *b)
{
	rpc_out_auth_t au;
	const rpc_out_auth_t *pa = out_auth(p, &au);
	const rpc_hdr_t *h = &p->hdr;
	switch (h->ptype) {
	case RPC_PTYPE_BIND:
	case RPC_PTYPE_ALTER_CONTEXT:
		return rpc_pdu_encode_bind(b, h, p->u.bind.max_xmit_frag, p->u.bind.max_recv_frag,
					   p->u.bind.assoc_group_id, p->u.bind.ctx, p->u.bind.n_ctx, pa);
	case RPC_PTYPE_BIND_ACK:
	case RPC_PTYPE_ALTER_CONTEXT_RESP:
		return rpc_pdu_encode_bind_ack(b, h, p->u.bind_ack.max_xmit_frag, p->u.bind_ack.max_recv_frag,
					       p->u.bind_ack.assoc_group_id, p->u.bind_ack.sec_addr,
					       p->u.bind_ack.results, p->u.bind_ack.n_results, pa);
	case RPC_PTYPE_BIND_NAK:
		return rpc_pdu_encode_bind_nak(b, h, p->u.bind_nak.reason);
	case RPC_PTYPE_AUTH3:
		return rpc_pdu_encode_auth3(b, h, pa);
	case RPC_PTYPE_FAULT:
		return rpc_pdu_encode_fault(b, h, p->u.fault.ctx_id, p->u.fault.status);
	case RPC_PTYPE_SHUTDOWN:
		return rpc_pdu_encode_shutdown(b, h);
	case RPC_PTYPE_REQUEST:
		return rpc_pdu_encode_request_frag(b, h, p->u.request.alloc_hint, p->u.request.ctx_id,
						   p->u.request.opnum,
						   p->u.request.has_object ? &p->u.request.object : NULL,
						   cur_data(&p->u.request.stub), cur_len(&p->u.request.stub), pa,
						   pa ? pa->token_len : 0, NULL);
	case RPC_PTYPE_RESPONSE:
		return rpc_pdu_encode_response_frag(b, h, p->u.response.alloc_hint, p->u.response.ctx_id,
						    cur_data(&p->u.response.stub), cur_len(&p->u.response.stub),
						    pa, pa ? pa->token_len : 0, NULL);
	default:
		return CERR_UNSUPPORTED;
	}
}

/* agree checks that q (decoded from the re-encoding of p) says what p said,
 * for every field the encoder writes from its arguments. */
static void agree(const rpc_pdu_t *p, const rpc_pdu_t *q)
{
	CHECK(p->hdr.ptype == q->hdr.ptype && p->hdr.call_id == q->hdr.call_id &&
	      p->hdr.rpc_vers_minor == q->hdr.rpc_vers_minor && p->hdr.pfc_flags == q->hdr.pfc_flags &&
	      memcmp(p->hdr.drep, q->hdr.drep, 4) == 0);
	bool trailer_kept = p->hdr.ptype != RPC_PTYPE_BIND_NAK && p->hdr.ptype != RPC_PTYPE_FAULT &&
			    p->hdr.ptype != RPC_PTYPE_SHUTDOWN;
	if (trailer_kept) {
		CHECK(p->has_auth == q->has_auth);
		if (p->has_auth) {
			CHECK(p->auth.auth_type == q->auth.auth_type && p->auth.auth_level == q->auth.auth_level &&
			      p->auth.auth_context_id == q->auth.auth_context_id);
			/* request/response verifiers are written as zeros of the same length */
			CHECK(cur_len(&p->auth.auth_value) == cur_len(&q->auth.auth_value));
		}
	}
	switch (p->hdr.ptype) {
	case RPC_PTYPE_BIND:
	case RPC_PTYPE_ALTER_CONTEXT:
		CHECK(same_cur(&p->auth.auth_value, &q->auth.auth_value));
		CHECK(p->u.bind.max_xmit_frag == q->u.bind.max_xmit_frag &&
		      p->u.bind.max_recv_frag == q->u.bind.max_recv_frag &&
		      p->u.bind.assoc_group_id == q->u.bind.assoc_group_id && p->u.bind.n_ctx == q->u.bind.n_ctx);
		for (unsigned i = 0; i < p->u.bind.n_ctx; i++) {
			const rpc_ctx_elem_t *x = &p->u.bind.ctx[i], *y = &q->u.bind.ctx[i];
			CHECK(x->ctx_id == y->ctx_id && x->n_transfer == y->n_transfer &&
			      same_syntax(&x->abstract, &y->abstract));
			for (unsigned j = 0; j < x->n_transfer; j++) {
				CHECK(same_syntax(&x->transfer[j], &y->transfer[j]));
			}
		}
		break;
	case RPC_PTYPE_BIND_ACK:
	case RPC_PTYPE_ALTER_CONTEXT_RESP:
		CHECK(same_cur(&p->auth.auth_value, &q->auth.auth_value));
		CHECK(p->u.bind_ack.max_xmit_frag == q->u.bind_ack.max_xmit_frag &&
		      p->u.bind_ack.max_recv_frag == q->u.bind_ack.max_recv_frag &&
		      p->u.bind_ack.assoc_group_id == q->u.bind_ack.assoc_group_id &&
		      strcmp(p->u.bind_ack.sec_addr, q->u.bind_ack.sec_addr) == 0 &&
		      p->u.bind_ack.n_results == q->u.bind_ack.n_results);
		for (unsigned i = 0; i < p->u.bind_ack.n_results; i++) {
			const rpc_ctx_result_elem_t *x = &p->u.bind_ack.results[i], *y = &q->u.bind_ack.results[i];
			CHECK(x->result == y->result && x->reason == y->reason && same_syntax(&x->transfer, &y->transfer));
		}
		break;
	case RPC_PTYPE_BIND_NAK:
		CHECK(p->u.bind_nak.reason == q->u.bind_nak.reason && q->u.bind_nak.n_versions == 1);
		break;
	case RPC_PTYPE_AUTH3:
		CHECK(same_cur(&p->auth.auth_value, &q->auth.auth_value));
		break;
	case RPC_PTYPE_FAULT:
		CHECK(p->u.fault.ctx_id == q->u.fault.ctx_id && p->u.fault.status == q->u.fault.status);
		break;
	case RPC_PTYPE_REQUEST:
		CHECK(p->u.request.alloc_hint == q->u.request.alloc_hint && p->u.request.ctx_id == q->u.request.ctx_id &&
		      p->u.request.opnum == q->u.request.opnum && p->u.request.has_object == q->u.request.has_object &&
		      (!p->u.request.has_object || guid_equal(&p->u.request.object, &q->u.request.object)) &&
		      same_cur(&p->u.request.stub, &q->u.request.stub) && p->stub_offset == q->stub_offset);
		break;
	case RPC_PTYPE_RESPONSE:
		CHECK(p->u.response.alloc_hint == q->u.response.alloc_hint &&
		      p->u.response.ctx_id == q->u.response.ctx_id &&
		      same_cur(&p->u.response.stub, &q->u.response.stub));
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	if (!quiet) {
		log_set_level(LOG_ERROR); /* decode failures log at debug */
		quiet = true;
	}
	uint16_t fl;
	if (rpc_pdu_peek_length(data, size, &fl) == CERR_OK) {
		CHECK(fl >= RPC_HDR_LEN);
	}
	arena_t *a = arena_new();
	CHECK(a != NULL);
	rpc_pdu_t p, q, r;
	if (rpc_pdu_decode(a, data, size, &p) == CERR_OK) {
		CHECK(p.trailer_offset <= size && p.stub_offset + p.stub_length <= p.trailer_offset);
		buf_t b1, b2;
		buf_init(&b1, 0);
		buf_init(&b2, 0);
		cerr_t e = encode(&p, &b1);
		/* padding a stub to 16 can push a near-64 KiB request over the limit */
		CHECK(e == CERR_OK || e == CERR_UNSUPPORTED ||
		      (e == CERR_LIMIT && (p.hdr.ptype == RPC_PTYPE_REQUEST || p.hdr.ptype == RPC_PTYPE_RESPONSE)));
		if (e == CERR_OK) {
			CHECK(rpc_pdu_decode(a, b1.data, b1.len, &q) == CERR_OK);
			agree(&p, &q);
			CHECK(encode(&q, &b2) == CERR_OK);
			CHECK(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0);
			CHECK(rpc_pdu_decode(a, b2.data, b2.len, &r) == CERR_OK);
		}
		buf_free(&b1);
		buf_free(&b2);
	}
	arena_free(a);
	return 0;
}
