/* test_pdu.c - the DCE/RPC PDU codec: captured-style bytes, round trips of
 * every encoder, trailers and padding, big-endian drep, limits, and sweeps of
 * truncated and bit-flipped PDUs that must fail cleanly or parse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rpc/iface.h"
#include "rpc/limits.h"
#include "rpc/pdu.h"

/* ICertPassage (MS-ICPR 1.9) 91ae6020-9e3c-11cf-8d7c-00aa00c091be */
static const guid_t ICPR_UUID = {0x91ae6020, 0x9e3c, 0x11cf, {0x8d, 0x7c, 0x00, 0xaa, 0x00, 0xc0, 0x91, 0xbe}};

/* A bind for ICertPassage with an NTLM NEGOTIATE token, byte for byte as
 * impacket 0.10's rpcrt.DCERPC_v5.bind() sent it (PKT_PRIVACY, captured on
 * loopback): auth_ctx_id 79231, no NTLM Version field. */
static const uint8_t impacket_bind[] = {
	/* common header (C706 12.6.3.1) */
	0x05, 0x00,             /* rpc_vers 5, rpc_vers_minor 0 */
	0x0b,                   /* PTYPE bind */
	0x03,                   /* PFC_FIRST_FRAG | PFC_LAST_FRAG */
	0x10, 0x00, 0x00, 0x00, /* drep: little-endian, ASCII, IEEE */
	0x70, 0x00,             /* frag_length 112 */
	0x20, 0x00,             /* auth_length 32 */
	0x01, 0x00, 0x00, 0x00, /* call_id 1 */
	/* bind body */
	0xb8, 0x10,             /* max_xmit_frag 4280 */
	0xb8, 0x10,             /* max_recv_frag 4280 */
	0x00, 0x00, 0x00, 0x00, /* assoc_group_id 0: new group */
	0x01, 0x00, 0x00, 0x00, /* n_context_elem 1, reserved, reserved2 */
	/* p_cont_elem_t[0] */
	0x00, 0x00,             /* p_cont_id 0 */
	0x01, 0x00,             /* n_transfer_syn 1, reserved */
	/* abstract syntax: 91ae6020-9e3c-11cf-8d7c-00aa00c091be v0.0 */
	0x20, 0x60, 0xae, 0x91, 0x3c, 0x9e, 0xcf, 0x11, 0x8d, 0x7c, 0x00, 0xaa, 0x00, 0xc0, 0x91, 0xbe,
	0x00, 0x00, 0x00, 0x00,
	/* transfer syntax: NDR 8a885d04-1ceb-11c9-9fe8-08002b104860 v2 */
	0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60,
	0x02, 0x00, 0x00, 0x00,
	/* sec_trailer at offset 72 = frag_length - auth_length - 8 (MS-RPCE 2.2.2.11) */
	0x0a,                   /* auth_type RPC_C_AUTHN_WINNT (NTLM) */
	0x06,                   /* auth_level PKT_PRIVACY */
	0x00,                   /* auth_pad_length 0: the context list ends 4-aligned */
	0x00,                   /* auth_reserved */
	0x7f, 0x35, 0x01, 0x00, /* auth_context_id 79231 */
	/* auth_value: NTLMSSP NEGOTIATE (MS-NLMP 2.2.1.1), 32 bytes */
	'N', 'T', 'L', 'M', 'S', 'S', 'P', 0x00,
	0x01, 0x00, 0x00, 0x00,                         /* MessageType 1 */
	0x35, 0x82, 0x88, 0xe0,                         /* NegotiateFlags: 56, KEY_EXCH, 128, ESS, ... */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* DomainNameFields: empty */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* WorkstationFields: empty */
};

/* A request in big-endian drep, as a non-Windows client may send it. */
static const uint8_t be_request[] = {
	0x05, 0x00, 0x00, 0x03,
	0x00, 0x00, 0x00, 0x00, /* drep[0] high nibble 0: big-endian integers */
	0x00, 0x20,             /* frag_length 32 */
	0x00, 0x00,             /* auth_length 0 */
	0x00, 0x00, 0x00, 0x07, /* call_id 7 */
	0x00, 0x00, 0x00, 0x08, /* alloc_hint 8 */
	0x00, 0x01,             /* p_cont_id 1 */
	0x00, 0x02,             /* opnum 2 */
	0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x00, /* stub: u32 42 (BE), u32 0 */
};

/* A fault as Windows sends it for an access check failure: 32 bytes. */
static const uint8_t windows_fault[] = {
	0x05, 0x00, 0x03, 0x23,     /* fault, FIRST | LAST | DID_NOT_EXECUTE */
	0x10, 0x00, 0x00, 0x00,
	0x20, 0x00, 0x00, 0x00,     /* frag_length 32, auth_length 0 */
	0x02, 0x00, 0x00, 0x00,     /* call_id 2 */
	0x20, 0x00, 0x00, 0x00,     /* alloc_hint 32 */
	0x00, 0x00, 0x00, 0x00,     /* p_cont_id 0, cancel_count 0, flags 0 */
	0x05, 0x00, 0x00, 0x00,     /* status nca_s_fault_access_denied */
	0x00, 0x00, 0x00, 0x00,     /* reserved */
};

static void decode_ok(arena_t *a, const buf_t *b, rpc_pdu_t *p)
{
	assert_true(buf_ok(b));
	assert_int_equal(rpc_pdu_decode(a, b->data, b->len, p), CERR_OK);
	assert_int_equal(p->hdr.frag_length, b->len);
}

static void test_impacket_bind(void **state)
{
	(void)state;
	arena_t *a = arena_new();
	rpc_pdu_t p;
	uint16_t fl = 0;
	assert_int_equal(rpc_pdu_peek_length(impacket_bind, 16, &fl), CERR_OK);
	assert_int_equal(fl, sizeof(impacket_bind));
	assert_int_equal(rpc_pdu_decode(a, impacket_bind, sizeof(impacket_bind), &p), CERR_OK);
	assert_int_equal(p.hdr.ptype, RPC_PTYPE_BIND);
	assert_int_equal(p.hdr.call_id, 1);
	assert_int_equal(p.u.bind.max_xmit_frag, 4280);
	assert_int_equal(p.u.bind.max_recv_frag, 4280);
	assert_int_equal(p.u.bind.assoc_group_id, 0);
	assert_int_equal(p.u.bind.n_ctx, 1);
	assert_int_equal(p.u.bind.ctx[0].ctx_id, 0);
	assert_true(guid_equal(&p.u.bind.ctx[0].abstract.uuid, &ICPR_UUID));
	assert_int_equal(p.u.bind.ctx[0].abstract.version, 0);
	assert_int_equal(p.u.bind.ctx[0].n_transfer, 1);
	assert_true(guid_equal(&p.u.bind.ctx[0].transfer[0].uuid, &RPC_NDR20_UUID));
	assert_int_equal(p.u.bind.ctx[0].transfer[0].version, RPC_NDR20_VERSION);
	assert_true(p.has_auth);
	assert_int_equal(p.auth.auth_type, RPC_AUTH_WINNT);
	assert_int_equal(p.auth.auth_level, RPC_AUTH_LEVEL_PKT_PRIVACY);
	assert_int_equal(p.auth.auth_pad_length, 0);
	assert_int_equal(p.auth.auth_context_id, 79231);
	assert_int_equal(p.trailer_offset, 72);
	assert_int_equal(cur_len(&p.auth.auth_value), 32);
	assert_memory_equal(cur_data(&p.auth.auth_value), "NTLMSSP\0\x01", 9);

	/* re-encoding the parsed bind gives the same bytes */
	buf_t b;
	buf_init(&b, 0);
	rpc_out_auth_t au = {p.auth.auth_type, p.auth.auth_level, p.auth.auth_context_id,
			     cur_data(&p.auth.auth_value), cur_len(&p.auth.auth_value)};
	assert_int_equal(rpc_pdu_encode_bind(&b, &p.hdr, 4280, 4280, 0, p.u.bind.ctx, 1, &au), CERR_OK);
	assert_int_equal(b.len, sizeof(impacket_bind));
	assert_memory_equal(b.data, impacket_bind, sizeof(impacket_bind));
	buf_free(&b);
	arena_free(a);
}

static void test_roundtrip_bind_alter(void **state)
{
	(void)state;
	arena_t *a = arena_new();
	rpc_syntax_t ts[2] = {{RPC_NDR20_UUID, 2}, {RPC_NDR64_UUID, 1}};
	rpc_ctx_elem_t ctx[2] = {
		{.ctx_id = 0, .abstract = {ICPR_UUID, 0}, .n_transfer = 2, .transfer = ts},
		{.ctx_id = 1, .abstract = {ICPR_UUID, 0x00010000}, .n_transfer = 1, .transfer = ts + 1},
	};
	const uint8_t tok[] = {1, 2, 3, 4, 5};
	rpc_out_auth_t au = {RPC_AUTH_GSS_NEGOTIATE, RPC_AUTH_LEVEL_PKT_INTEGRITY, 7, tok, sizeof(tok)};
	uint8_t ptypes[] = {RPC_PTYPE_BIND, RPC_PTYPE_ALTER_CONTEXT};
	for (unsigned k = 0; k < 2; k++) {
		rpc_hdr_t h;
		rpc_pdu_init_hdr(&h, ptypes[k], RPC_PFC_FIRST_FRAG | RPC_PFC_LAST_FRAG | RPC_PFC_SUPPORT_HEADER_SIGN, 9);
		buf_t b;
		buf_init(&b, 0);
		assert_int_equal(rpc_pdu_encode_bind(&b, &h, 5840, 5840, 0x1234, ctx, 2, &au), CERR_OK);
		rpc_pdu_t p;
		decode_ok(a, &b, &p);
		assert_int_equal(p.hdr.ptype, ptypes[k]);
		assert_int_equal(p.hdr.pfc_flags, 0x07);
		assert_int_equal(p.hdr.auth_length, sizeof(tok));
		assert_int_equal(p.u.bind.assoc_group_id, 0x1234);
		assert_int_equal(p.u.bind.n_ctx, 2);
		assert_int_equal(p.u.bind.ctx[1].ctx_id, 1);
		assert_int_equal(p.u.bind.ctx[1].abstract.version, 0x00010000);
		assert_int_equal(p.u.bind.ctx[0].n_transfer, 2);
		assert_true(guid_equal(&p.u.bind.ctx[0].transfer[1].uuid, &RPC_NDR64_UUID));
		assert_true(p.has_auth);
		assert_int_equal(p.auth.auth_type, RPC_AUTH_GSS_NEGOTIATE);
		assert_int_equal(p.auth.auth_context_id, 7);
		assert_true(cur_equal(&p.auth.auth_value, tok, sizeof(tok)));
		buf_free(&b);
	}
	/* without auth and without contexts (Windows answers such a bind with a nak) */
	rpc_hdr_t h;
	rpc_pdu_init_hdr(&h, RPC_PTYPE_BIND, 3, 1);
	buf_t b;
	buf_init(&b, 0);
	assert_int_equal(rpc_pdu_encode_bind(&b, &h, 5840, 5840, 0, NULL, 0, NULL), CERR_OK);
	rpc_pdu_t p;
	decode_ok(a, &b, &p);
	assert_false(p.has_auth);
	assert_int_equal(p.u.bind.n_ctx, 0);
	assert_int_equal(p.hdr.frag_length, 28);
	buf_free(&b);
	arena_free(a);
}

static void test_roundtrip_bind_ack(void **state)
{
	(void)state;
	arena_t *a = arena_new();
	rpc_ctx_result_elem_t res[3] = {
		{RPC_CTX_ACCEPT, 0, {RPC_NDR20_UUID, 2}},
		{RPC_CTX_PROVIDER_REJECT, RPC_REASON_TRANSFER_SYNTAX_NOT_SUPPORTED, {{0}, 0}},
		{RPC_CTX_NEGOTIATE_ACK, 0x0003, {{0}, 0}},
	};
	const uint8_t tok[] = {0xaa, 0xbb, 0xcc};
	rpc_out_auth_t au = {RPC_AUTH_WINNT, RPC_AUTH_LEVEL_PKT_PRIVACY, 79231, tok, sizeof(tok)};
	/* "49667": length 6 with the NUL, so the result list needs 2 pad bytes */
	const char *addrs[] = {"49667", "135", ""};
	for (unsigned k = 0; k < 3; k++) {
		rpc_hdr_t h;
		uint8_t pt = k == 2 ? RPC_PTYPE_ALTER_CONTEXT_RESP : RPC_PTYPE_BIND_ACK;
		rpc_pdu_init_hdr(&h, pt, 3, 4);
		buf_t b;
		buf_init(&b, 0);
		assert_int_equal(rpc_pdu_encode_bind_ack(&b, &h, 4280, 4280, 0x5000, addrs[k], res, 3,
							 k == 1 ? NULL : &au),
				 CERR_OK);
		rpc_pdu_t p;
		decode_ok(a, &b, &p);
		assert_int_equal(p.hdr.ptype, pt);
		assert_string_equal(p.u.bind_ack.sec_addr, addrs[k]);
		assert_int_equal(p.u.bind_ack.assoc_group_id, 0x5000);
		assert_int_equal(p.u.bind_ack.n_results, 3);
		assert_int_equal(p.u.bind_ack.results[1].result, RPC_CTX_PROVIDER_REJECT);
		assert_int_equal(p.u.bind_ack.results[1].reason, RPC_REASON_TRANSFER_SYNTAX_NOT_SUPPORTED);
		assert_int_equal(p.u.bind_ack.results[2].reason, 3);
		assert_true(guid_equal(&p.u.bind_ack.results[0].transfer.uuid, &RPC_NDR20_UUID));
		assert_int_equal(p.has_auth, k != 1);
		if (k == 2) {
			/* empty secondary address: length 0, then 2 pad bytes to offset 28 */
			assert_int_equal(b.data[24], 0);
			assert_int_equal(b.data[25], 0);
			assert_int_equal(b.data[28], 3);
		}
		buf_free(&b);
	}
	arena_free(a);
}

static void test_bind_nak(void **state)
{
	(void)state;
	rpc_hdr_t h;
	rpc_pdu_init_hdr(&h, RPC_PTYPE_BIND_NAK, 3, 5);
	buf_t b;
	buf_init(&b, 0);
	assert_int_equal(rpc_pdu_encode_bind_nak(&b, &h, RPC_NAK_INVALID_CHECKSUM), CERR_OK);
	/* reason, one version 5.0, three zero bytes: 24 bytes as Windows sends */
	const uint8_t want[] = {5, 0, 13, 3, 0x10, 0, 0, 0, 24, 0, 0, 0, 5, 0, 0, 0,
				9, 0, 1, 5, 0, 0, 0, 0};
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	rpc_pdu_t p;
	decode_ok(NULL, &b, &p);
	assert_int_equal(p.u.bind_nak.reason, RPC_NAK_INVALID_CHECKSUM);
	assert_int_equal(p.u.bind_nak.n_versions, 1);
	assert_int_equal(p.u.bind_nak.versions[0][0], 5);
	assert_int_equal(p.u.bind_nak.versions[0][1], 0);
	assert_false(p.u.bind_nak.has_signature);
	buf_free(&b);

	/* with the MS-RPCE 2.2.2.9 signature and an EEInfo blob after it, both at
	 * the 4-aligned position and directly after the versions */
	for (unsigned aligned = 0; aligned < 2; aligned++) {
		buf_init(&b, 0);
		buf_put_bytes(&b, want, 16);
		buf_put_u16(&b, RPC_NAK_AUTHENTICATION_TYPE_NOT_RECOGNIZED);
		buf_put_u8(&b, 1);
		buf_put_u8(&b, 5);
		buf_put_u8(&b, 0);
		if (aligned) {
			buf_put_zeros(&b, 3);
		}
		buf_put_guid(&b, &RPC_BIND_NAK_EEINFO_SIGNATURE);
		buf_put_bytes(&b, "\x01\x10\x08\x00" "eeinfo", 10);
		buf_patch_u16(&b, 8, (uint16_t)b.len);
		decode_ok(NULL, &b, &p);
		assert_int_equal(p.u.bind_nak.reason, RPC_NAK_AUTHENTICATION_TYPE_NOT_RECOGNIZED);
		assert_true(p.u.bind_nak.has_signature);
		assert_true(cur_equal(&p.u.bind_nak.extended_error, "\x01\x10\x08\x00" "eeinfo", 10));
		buf_free(&b);
	}
	/* reason only (C706 allows the versions to be absent) */
	buf_init(&b, 0);
	buf_put_bytes(&b, want, 16);
	buf_put_u16(&b, 2);
	buf_patch_u16(&b, 8, (uint16_t)b.len);
	decode_ok(NULL, &b, &p);
	assert_int_equal(p.u.bind_nak.reason, 2);
	assert_int_equal(p.u.bind_nak.n_versions, 0);
	/* more versions than rpc_pdu_t holds */
	buf_reset(&b);
	buf_put_bytes(&b, want, 16);
	buf_put_u16(&b, 4);
	buf_put_u8(&b, RPC_MAX_NAK_VERSIONS + 1);
	buf_put_zeros(&b, 2 * (RPC_MAX_NAK_VERSIONS + 1));
	buf_patch_u16(&b, 8, (uint16_t)b.len);
	assert_int_equal(rpc_pdu_decode(NULL, b.data, b.len, &p), CERR_LIMIT);
	buf_free(&b);
}

static void test_auth3_fault_shutdown(void **state)
{
	(void)state;
	rpc_hdr_t h;
	rpc_pdu_t p;
	buf_t b;
	const uint8_t tok[] = "NTLMSSP\0\x03";
	rpc_out_auth_t au = {RPC_AUTH_WINNT, RPC_AUTH_LEVEL_PKT_INTEGRITY, 1, tok, sizeof(tok)};

	rpc_pdu_init_hdr(&h, RPC_PTYPE_AUTH3, 3, 1);
	buf_init(&b, 0);
	assert_int_equal(rpc_pdu_encode_auth3(&b, &h, &au), CERR_OK);
	decode_ok(NULL, &b, &p);
	assert_int_equal(p.hdr.ptype, RPC_PTYPE_AUTH3);
	assert_int_equal(p.trailer_offset, 20); /* header + 4 pad bytes */
	assert_int_equal(p.auth.auth_level, RPC_AUTH_LEVEL_PKT_INTEGRITY);
	assert_true(cur_equal(&p.auth.auth_value, tok, sizeof(tok)));
	buf_free(&b);
	assert_int_equal(rpc_pdu_encode_auth3(&b, &h, NULL), CERR_INVALID_ARG);
	/* an auth3 without its trailer is refused */
	const uint8_t bare[] = {5, 0, 16, 3, 0x10, 0, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
	assert_int_equal(rpc_pdu_decode(NULL, bare, sizeof(bare), &p), CERR_MALFORMED);

	rpc_pdu_init_hdr(&h, RPC_PTYPE_FAULT, RPC_PFC_FIRST_FRAG | RPC_PFC_LAST_FRAG | RPC_PFC_DID_NOT_EXECUTE, 2);
	buf_init(&b, 0);
	assert_int_equal(rpc_pdu_encode_fault(&b, &h, 0, cerr_value(CERR_NCA_S_FAULT_ACCESS_DENIED)), CERR_OK);
	assert_int_equal(b.len, RPC_FAULT_LEN);
	assert_memory_equal(b.data, windows_fault, sizeof(windows_fault));
	decode_ok(NULL, &b, &p);
	assert_int_equal(p.u.fault.alloc_hint, 32);
	assert_int_equal(p.u.fault.status, 5);
	assert_int_equal(p.u.fault.flags, 0);
	assert_int_equal(cur_len(&p.u.fault.stub), 0);
	buf_free(&b);
	/* a fault with extended error info: the flag and the blob after the fixed part */
	buf_init(&b, 0);
	buf_put_bytes(&b, windows_fault, sizeof(windows_fault));
	buf_put_bytes(&b, "EEINFO!!", 8);
	b.data[23] = RPC_FAULT_FLAG_EXTENDED_ERROR;
	buf_patch_u32(&b, 16, 40);
	buf_patch_u16(&b, 8, 40);
	decode_ok(NULL, &b, &p);
	assert_int_equal(p.u.fault.flags, RPC_FAULT_FLAG_EXTENDED_ERROR);
	assert_true(cur_equal(&p.u.fault.stub, "EEINFO!!", 8));
	assert_int_equal(p.stub_offset, 32);
	buf_free(&b);

	rpc_pdu_init_hdr(&h, RPC_PTYPE_SHUTDOWN, 3, 0);
	buf_init(&b, 0);
	assert_int_equal(rpc_pdu_encode_shutdown(&b, &h), CERR_OK);
	assert_int_equal(b.len, 16);
	decode_ok(NULL, &b, &p);
	assert_int_equal(p.hdr.ptype, RPC_PTYPE_SHUTDOWN);
	buf_free(&b);

	/* co_cancel and orphaned: header only, or with an auth verifier */
	const uint8_t cancel[] = {5, 0, 18, 3, 0x10, 0, 0, 0, 16, 0, 0, 0, 9, 0, 0, 0};
	assert_int_equal(rpc_pdu_decode(NULL, cancel, sizeof(cancel), &p), CERR_OK);
	assert_int_equal(p.hdr.ptype, RPC_PTYPE_CO_CANCEL);
	const uint8_t orphaned[] = {5, 0, 19, 3, 0x10, 0, 0, 0, 28, 0, 4, 0, 9, 0, 0, 0,
				    10, 5, 0, 0, 1, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef};
	assert_int_equal(rpc_pdu_decode(NULL, orphaned, sizeof(orphaned), &p), CERR_OK);
	assert_int_equal(p.hdr.ptype, RPC_PTYPE_ORPHANED);
	assert_true(p.has_auth);
	assert_int_equal(p.trailer_offset, 16);
	/* stray body bytes are refused */
	const uint8_t stray[] = {5, 0, 17, 3, 0x10, 0, 0, 0, 20, 0, 0, 0, 9, 0, 0, 0, 1, 2, 3, 4};
	assert_int_equal(rpc_pdu_decode(NULL, stray, sizeof(stray), &p), CERR_MALFORMED);
}

static void test_request_response_layout(void **state)
{
	(void)state;
	uint8_t stub[37];
	for (unsigned i = 0; i < sizeof(stub); i++) {
		stub[i] = (uint8_t)(i + 1);
	}
	rpc_out_auth_t au = {RPC_AUTH_WINNT, RPC_AUTH_LEVEL_PKT_PRIVACY, 79231, NULL, 0};
	const guid_t ipid = {0x11223344, 0x5566, 0x7788, {1, 2, 3, 4, 5, 6, 7, 8}};
	for (unsigned with_obj = 0; with_obj < 2; with_obj++) {
		rpc_hdr_t h;
		rpc_pdu_init_hdr(&h, RPC_PTYPE_REQUEST, 3, 11);
		buf_t b;
		buf_init(&b, 0);
		buf_put_bytes(&b, "prefix", 6); /* the PDU need not start at 0 */
		rpc_frag_layout_t lay;
		assert_int_equal(rpc_pdu_encode_request_frag(&b, &h, 37, 1, 3, with_obj ? &ipid : NULL, stub,
							     sizeof(stub), &au, 16, &lay),
				 CERR_OK);
		size_t stub_at = with_obj ? 40u : 24u;
		assert_int_equal(lay.pdu_offset, 6);
		assert_int_equal(lay.stub_offset, stub_at);
		assert_int_equal(lay.stub_length, 48); /* 37 + 11 padding */
		assert_int_equal(lay.verifier_offset, stub_at + 48 + 8);
		assert_int_equal(lay.pdu_length, stub_at + 48 + 8 + 16);
		assert_int_equal(b.len - 6, lay.pdu_length);

		rpc_pdu_t p;
		assert_int_equal(rpc_pdu_decode(NULL, b.data + 6, b.len - 6, &p), CERR_OK);
		assert_int_equal(p.hdr.pfc_flags & RPC_PFC_OBJECT_UUID, with_obj ? RPC_PFC_OBJECT_UUID : 0);
		assert_int_equal(p.u.request.has_object, with_obj);
		if (with_obj) {
			assert_true(guid_equal(&p.u.request.object, &ipid));
		}
		assert_int_equal(p.u.request.opnum, 3);
		assert_int_equal(p.u.request.ctx_id, 1);
		assert_int_equal(p.u.request.alloc_hint, 37);
		assert_int_equal(p.stub_offset, stub_at);
		assert_int_equal(p.stub_length, 37);
		assert_int_equal(p.trailer_offset, stub_at + 48);
		assert_true(cur_equal(&p.u.request.stub, stub, sizeof(stub)));
		assert_int_equal(cur_offset(&p.u.request.stub), 0); /* NDR base = stub start */
		assert_int_equal(p.auth.auth_pad_length, 11);
		assert_int_equal(p.auth.auth_context_id, 79231);
		assert_int_equal(cur_len(&p.auth.auth_value), 16);
		assert_int_equal(p.trailer_offset + 8, lay.verifier_offset);
		buf_free(&b);
	}

	/* response without auth; stub already a multiple of 16 needs no padding */
	rpc_hdr_t h;
	rpc_pdu_init_hdr(&h, RPC_PTYPE_RESPONSE, 3, 11);
	buf_t b;
	buf_init(&b, 0);
	rpc_frag_layout_t lay;
	assert_int_equal(rpc_pdu_encode_response_frag(&b, &h, 37, 1, stub, 32, NULL, 0, &lay), CERR_OK);
	assert_int_equal(lay.stub_offset, 24);
	assert_int_equal(lay.stub_length, 32);
	assert_int_equal(lay.pdu_length, 56);
	rpc_pdu_t p;
	decode_ok(NULL, &b, &p);
	assert_false(p.has_auth);
	assert_int_equal(p.trailer_offset, 56);
	assert_true(cur_equal(&p.u.response.stub, stub, 32));
	buf_reset(&b);
	assert_int_equal(rpc_pdu_encode_response_frag(&b, &h, 32, 1, stub, 32, &au, 16, &lay), CERR_OK);
	assert_int_equal(lay.stub_length, 32);
	decode_ok(NULL, &b, &p);
	assert_int_equal(p.auth.auth_pad_length, 0);
	assert_int_equal(p.stub_length, 32);
	/* a verifier needs a length; an oversized stub is refused */
	buf_reset(&b);
	assert_int_equal(rpc_pdu_encode_response_frag(&b, &h, 1, 1, stub, 1, &au, 0, &lay), CERR_INVALID_ARG);
	buf_free(&b);
	static uint8_t big[RPC_FRAG_MAX];
	buf_init(&b, 0);
	assert_int_equal(rpc_pdu_encode_response_frag(&b, &h, 1, 1, big, sizeof(big) - 24, NULL, 0, &lay), CERR_OK);
	buf_reset(&b);
	assert_int_equal(rpc_pdu_encode_response_frag(&b, &h, 1, 1, big, sizeof(big) - 23, NULL, 0, &lay),
			 CERR_LIMIT);
	buf_free(&b);
}

static void test_auth_pad_beyond_stub(void **state)
{
	(void)state;
	rpc_hdr_t h;
	rpc_pdu_init_hdr(&h, RPC_PTYPE_REQUEST, 3, 1);
	buf_t b;
	buf_init(&b, 0);
	rpc_out_auth_t au = {RPC_AUTH_WINNT, RPC_AUTH_LEVEL_PKT_INTEGRITY, 0, NULL, 0};
	const uint8_t stub[4] = {1, 2, 3, 4};
	rpc_frag_layout_t lay;
	assert_int_equal(rpc_pdu_encode_request_frag(&b, &h, 4, 0, 0, NULL, stub, 4, &au, 16, &lay), CERR_OK);
	rpc_pdu_t p;
	decode_ok(NULL, &b, &p);
	assert_int_equal(p.auth.auth_pad_length, 12);
	/* stub + pad is 16 bytes: a pad length of 16 still fits (empty stub) */
	size_t pad_at = p.trailer_offset + 2;
	b.data[pad_at] = 16;
	decode_ok(NULL, &b, &p);
	assert_int_equal(p.stub_length, 0);
	b.data[pad_at] = 17;
	assert_int_equal(rpc_pdu_decode(NULL, b.data, b.len, &p), CERR_MALFORMED);
	b.data[pad_at] = 255;
	assert_int_equal(rpc_pdu_decode(NULL, b.data, b.len, &p), CERR_MALFORMED);
	/* auth_length larger than the body */
	b.data[pad_at] = 12;
	buf_patch_u16(&b, 10, (uint16_t)(b.len - 16 - 8 + 1));
	assert_int_equal(rpc_pdu_decode(NULL, b.data, b.len, &p), CERR_MALFORMED);
	/* auth_length reaching into the fixed request fields */
	buf_patch_u16(&b, 10, (uint16_t)(b.len - 16 - 8 - 4));
	assert_int_equal(rpc_pdu_decode(NULL, b.data, b.len, &p), CERR_MALFORMED);
	buf_free(&b);
}

static void test_big_endian(void **state)
{
	(void)state;
	rpc_pdu_t p;
	uint16_t fl;
	assert_int_equal(rpc_pdu_peek_length(be_request, sizeof(be_request), &fl), CERR_OK);
	assert_int_equal(fl, 32);
	assert_int_equal(rpc_pdu_decode(NULL, be_request, sizeof(be_request), &p), CERR_OK);
	assert_int_equal(p.hdr.call_id, 7);
	assert_int_equal(p.u.request.alloc_hint, 8);
	assert_int_equal(p.u.request.ctx_id, 1);
	assert_int_equal(p.u.request.opnum, 2);
	assert_true(p.u.request.stub.be);
	uint32_t v;
	assert_true(cur_get_u32(&p.u.request.stub, &v));
	assert_int_equal(v, 42);

	/* encoders follow h->drep: a big-endian bind round-trips, GUIDs included */
	arena_t *a = arena_new();
	rpc_hdr_t h;
	rpc_pdu_init_hdr(&h, RPC_PTYPE_BIND, 3, 0x01020304);
	h.drep[0] = 0x00;
	rpc_syntax_t ts = {RPC_NDR20_UUID, 2};
	rpc_ctx_elem_t ctx = {.ctx_id = 0x0102, .abstract = {ICPR_UUID, 0x00030004}, .n_transfer = 1, .transfer = &ts};
	buf_t b;
	buf_init(&b, 0);
	assert_int_equal(rpc_pdu_encode_bind(&b, &h, 0x1000, 0x2000, 0x0a0b0c0d, &ctx, 1, NULL), CERR_OK);
	assert_false(b.be); /* the builder's own order is restored */
	assert_int_equal(b.data[8], 0);  /* frag_length high byte first */
	assert_int_equal(b.data[9], 72);
	assert_int_equal(b.data[15], 4); /* call_id low byte last */
	decode_ok(a, &b, &p);
	assert_int_equal(p.hdr.call_id, 0x01020304);
	assert_int_equal(p.u.bind.max_xmit_frag, 0x1000);
	assert_int_equal(p.u.bind.assoc_group_id, 0x0a0b0c0d);
	assert_int_equal(p.u.bind.ctx[0].ctx_id, 0x0102);
	assert_int_equal(p.u.bind.ctx[0].abstract.version, 0x00030004);
	assert_true(guid_equal(&p.u.bind.ctx[0].abstract.uuid, &ICPR_UUID));
	assert_true(guid_equal(&p.u.bind.ctx[0].transfer[0].uuid, &RPC_NDR20_UUID));
	buf_free(&b);
	arena_free(a);

	/* an integer representation other than 0 or 1 is invalid */
	uint8_t bad[sizeof(be_request)];
	memcpy(bad, be_request, sizeof(bad));
	bad[4] = 0x20;
	assert_int_equal(rpc_pdu_decode(NULL, bad, sizeof(bad), &p), CERR_MALFORMED);
	assert_int_equal(rpc_pdu_peek_length(bad, sizeof(bad), &fl), CERR_MALFORMED);
}

static void test_header_checks(void **state)
{
	(void)state;
	rpc_pdu_t p;
	uint16_t fl;
	uint8_t d[sizeof(windows_fault) + 4];
	memcpy(d, windows_fault, sizeof(windows_fault));
	assert_int_equal(rpc_pdu_peek_length(d, 15, &fl), CERR_TRUNCATED);
	assert_int_equal(rpc_pdu_decode(NULL, d, 15, &p), CERR_TRUNCATED);
	/* frag_length must equal the buffer length */
	assert_int_equal(rpc_pdu_decode(NULL, d, sizeof(windows_fault) - 1, &p), CERR_TRUNCATED);
	assert_int_equal(rpc_pdu_decode(NULL, d, sizeof(d), &p), CERR_MALFORMED);
	/* version 5.1 is accepted, 5.2 and 4.0 are not (the header is still reported) */
	d[1] = 1;
	assert_int_equal(rpc_pdu_decode(NULL, d, sizeof(windows_fault), &p), CERR_OK);
	d[1] = 2;
	assert_int_equal(rpc_pdu_decode(NULL, d, sizeof(windows_fault), &p), CERR_UNSUPPORTED);
	assert_int_equal(p.hdr.call_id, 2);
	assert_int_equal(rpc_pdu_peek_length(d, sizeof(windows_fault), &fl), CERR_MALFORMED);
	d[0] = 4;
	d[1] = 0;
	assert_int_equal(rpc_pdu_decode(NULL, d, sizeof(windows_fault), &p), CERR_UNSUPPORTED);
	d[0] = 5;
	/* connectionless and unknown PTYPEs */
	d[2] = RPC_PTYPE_PING;
	assert_int_equal(rpc_pdu_decode(NULL, d, sizeof(windows_fault), &p), CERR_UNSUPPORTED);
	d[2] = 20;
	assert_int_equal(rpc_pdu_decode(NULL, d, sizeof(windows_fault), &p), CERR_UNSUPPORTED);
	d[2] = RPC_PTYPE_FAULT;
	/* frag_length below 16 */
	d[8] = 15;
	assert_int_equal(rpc_pdu_peek_length(d, sizeof(d), &fl), CERR_MALFORMED);
	assert_int_equal(rpc_pdu_decode(NULL, d, 15, &p), CERR_TRUNCATED);
	d[8] = 16;
	assert_int_equal(rpc_pdu_decode(NULL, d, 16, &p), CERR_MALFORMED); /* fault body missing */

	/* encoders refuse a bad header */
	rpc_hdr_t h;
	rpc_pdu_init_hdr(&h, RPC_PTYPE_SHUTDOWN, 3, 0);
	h.rpc_vers = 4;
	buf_t b;
	buf_init(&b, 0);
	assert_int_equal(rpc_pdu_encode_shutdown(&b, &h), CERR_INVALID_ARG);
	assert_int_equal(rpc_pdu_encode_shutdown(&b, NULL), CERR_INVALID_ARG);
	/* a builder cap too small for the PDU */
	buf_free(&b);
	buf_init(&b, 20);
	rpc_pdu_init_hdr(&h, RPC_PTYPE_FAULT, 3, 0);
	assert_int_equal(rpc_pdu_encode_fault(&b, &h, 0, 5), CERR_LIMIT);
	buf_free(&b);
	assert_string_equal(rpc_ptype_name(RPC_PTYPE_ALTER_CONTEXT_RESP), "alter_context_resp");
	assert_string_equal(rpc_ptype_name(RPC_PTYPE_AUTH3), "auth3");
	assert_string_equal(rpc_ptype_name(200), "unknown");
}

static void test_limits_before_alloc(void **state)
{
	(void)state;
	arena_t *a = arena_new();
	rpc_pdu_t p;
	uint8_t d[sizeof(impacket_bind)];
	/* without the trailer: a bind of 72 bytes */
	memcpy(d, impacket_bind, 72);
	d[8] = 72;
	d[10] = 0;
	assert_int_equal(rpc_pdu_decode(a, d, 72, &p), CERR_OK);
	/* two contexts claimed but one present: refused before allocating */
	d[24] = 2;
	arena_t *fresh = arena_new();
	assert_int_equal(rpc_pdu_decode(fresh, d, 72, &p), CERR_MALFORMED);
	assert_int_equal(arena_used(fresh), 0);
	d[24] = 255;
	assert_int_equal(rpc_pdu_decode(fresh, d, 72, &p), CERR_LIMIT);
	assert_int_equal(arena_used(fresh), 0);
	arena_free(fresh);
	d[24] = RPC_MAX_CTX_PER_BIND + 1;
	assert_int_equal(rpc_pdu_decode(a, d, 72, &p), CERR_LIMIT);
	d[24] = 1;
	/* three transfer syntaxes claimed, one present */
	d[30] = 3;
	assert_int_equal(rpc_pdu_decode(a, d, 72, &p), CERR_MALFORMED);
	d[30] = RPC_MAX_TRANSFER_PER_CTX + 1;
	assert_int_equal(rpc_pdu_decode(a, d, 72, &p), CERR_LIMIT);
	d[30] = 1;
	/* a bind needs an arena for its contexts */
	assert_int_equal(rpc_pdu_decode(NULL, d, 72, &p), CERR_INVALID_ARG);
	arena_free(a);

	/* bind_ack: an over-long secondary address, and a result count that does not fit */
	rpc_hdr_t h;
	rpc_pdu_init_hdr(&h, RPC_PTYPE_BIND_ACK, 3, 1);
	buf_t b;
	buf_init(&b, 0);
	char addr[RPC_MAX_SEC_ADDR_LEN + 1];
	memset(addr, 'a', sizeof(addr) - 1);
	addr[sizeof(addr) - 1] = '\0';
	assert_int_equal(rpc_pdu_encode_bind_ack(&b, &h, 1, 1, 1, addr, NULL, 0, NULL), CERR_INVALID_ARG);
	buf_reset(&b);
	a = arena_new();
	assert_int_equal(rpc_pdu_encode_bind_ack(&b, &h, 1, 1, 1, "135", NULL, 0, NULL), CERR_OK);
	decode_ok(a, &b, &p);
	/* length 4 at 24, "135\0" at 26..29, 2 pad bytes, n_results at 32 */
	assert_int_equal(b.len, 36);
	b.data[32] = 1; /* n_results 1 with no result */
	assert_int_equal(rpc_pdu_decode(a, b.data, b.len, &p), CERR_MALFORMED);
	b.data[32] = 0;
	b.data[26] = 'x'; /* no NUL at the end of the address */
	b.data[27] = 'y';
	b.data[28] = 'z';
	b.data[29] = 'w';
	assert_int_equal(rpc_pdu_decode(a, b.data, b.len, &p), CERR_MALFORMED);
	b.data[29] = 0;
	b.data[26] = 0x01; /* control character */
	assert_int_equal(rpc_pdu_decode(a, b.data, b.len, &p), CERR_MALFORMED);
	b.data[26] = '1';
	assert_int_equal(rpc_pdu_decode(a, b.data, b.len, &p), CERR_OK);
	assert_string_equal(p.u.bind_ack.sec_addr, "1yz");
	buf_free(&b);
	arena_free(a);
}

/* Every truncation and every single-bit flip of a valid bind must either fail
 * with a decode error or parse into something self-consistent; the sanitizers
 * catch any out-of-bounds read. */
static void sweep_one(const uint8_t *d, size_t len)
{
	arena_t *a = arena_new();
	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, d, len);
	rpc_pdu_t p;
	cerr_t e = rpc_pdu_decode(a, copy, len, &p);
	if (e == CERR_OK) {
		assert_int_equal(p.hdr.frag_length, len);
		assert_true(p.trailer_offset <= len);
		if (p.has_auth) {
			assert_int_equal(p.trailer_offset + 8 + cur_len(&p.auth.auth_value), len);
		}
	} else {
		assert_true(e == CERR_TRUNCATED || e == CERR_MALFORMED || e == CERR_LIMIT || e == CERR_UNSUPPORTED);
	}
	free(copy);
	arena_free(a);
}

static void test_truncation_and_bitflips(void **state)
{
	(void)state;
	for (size_t n = 0; n <= sizeof(impacket_bind); n++) {
		sweep_one(impacket_bind, n);
	}
	uint8_t d[sizeof(impacket_bind)];
	for (size_t bit = 0; bit < 8 * sizeof(d); bit++) {
		memcpy(d, impacket_bind, sizeof(d));
		d[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		sweep_one(d, sizeof(d));
		/* a flipped frag_length with a matching buffer length, too */
		if (bit / 8 == 8 || bit / 8 == 9) {
			uint16_t fl = (uint16_t)(d[8] | d[9] << 8);
			if (fl <= sizeof(d)) {
				sweep_one(d, fl);
			}
		}
	}
	for (size_t n = 0; n <= sizeof(be_request); n++) {
		sweep_one(be_request, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_impacket_bind),
		cmocka_unit_test(test_roundtrip_bind_alter),
		cmocka_unit_test(test_roundtrip_bind_ack),
		cmocka_unit_test(test_bind_nak),
		cmocka_unit_test(test_auth3_fault_shutdown),
		cmocka_unit_test(test_request_response_layout),
		cmocka_unit_test(test_auth_pad_beyond_stub),
		cmocka_unit_test(test_big_endian),
		cmocka_unit_test(test_header_checks),
		cmocka_unit_test(test_limits_before_alloc),
		cmocka_unit_test(test_truncation_and_bitflips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
