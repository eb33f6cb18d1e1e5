/* test_epm.c - the endpoint mapper and the mgmt interface, called directly
 * through their rpc_iface_t tables with calls built here (no sockets), over a
 * stub endpoint enumeration. Request fixtures come from impacket 0.10's own
 * classes (epm.py hept_map/hept_lookup, mgmt.py); the expected responses were
 * checked by parsing them with impacket's ept_mapResponse, ept_lookupResponse
 * and inq_if_idsResponse (port, address, UUIDs, annotations, status). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rpc/epm.h"
#include "rpc/mgmt.h"
#include "testutil.h"

/* ---- fixtures ---- */

/* impacket epm.hept_map('127.0.0.1', ICPR 91ae6020-... v0.0, protocol='ncacn_ip_tcp'):
 * obj (referent 1, nil UUID), map_tower (referent 2, 75 octets, 5 floors, port 0,
 * 0.0.0.0), one 0xab pad byte, NULL entry handle, max_towers 1. */
static const char IMPACKET_MAP_REQ[] =
	"01000000" "00000000000000000000000000000000"
	"02000000" "4b000000" "4b000000"
	"0500" "1300" "0d" "2060ae913c9ecf118d7c00aa00c091be" "0000" "0200" "0000"
	"1300" "0d" "045d888aeb1cc9119fe808002b104860" "0200" "0200" "0000"
	"0100" "0b" "0200" "0000"
	"0100" "07" "0200" "0000"
	"0100" "09" "0400" "00000000"
	"ab"
	"0000000000000000000000000000000000000000"
	"01000000";

/* impacket epm.hept_lookup(): RPC_C_EP_ALL_ELTS, NULL object and Ifid, RPC_C_VERS_ALL, max_ents 500 */
static const char IMPACKET_LOOKUP_ALL[] =
	"00000000" "00000000" "00000000" "01000000"
	"0000000000000000000000000000000000000000" "f4010000";

/* impacket hept_lookup(inquiry_type=RPC_C_EP_MATCH_BY_IF, ifId=ICPR v0.0): Ifid referent is random */
static const char IMPACKET_LOOKUP_BY_IF[] =
	"01000000" "00000000" "43fa0000" "2060ae913c9ecf118d7c00aa00c091be" "0000" "0000"
	"01000000" "0000000000000000000000000000000000000000" "f4010000";

/* The ncacn_ip_tcp tower for ICPR v0.0 on 127.0.0.1 port 49701 (0xc225, big-endian). */
#define ICPR_TOWER                                                                \
	"0500" "1300" "0d" "2060ae913c9ecf118d7c00aa00c091be" "0000" "0200" "0000" \
	"1300" "0d" "045d888aeb1cc9119fe808002b104860" "0200" "0200" "0000"       \
	"0100" "0b" "0200" "0000"                                                  \
	"0100" "07" "0200" "c225"                                                  \
	"0100" "09" "0400" "7f000001"
#define OTHER_TOWER                                                               \
	"0500" "1300" "0d" "11111111222233334444555555555555" "0100" "0200" "0200" \
	"1300" "0d" "045d888aeb1cc9119fe808002b104860" "0200" "0200" "0000"       \
	"0100" "0b" "0200" "0000"                                                  \
	"0100" "07" "0200" "c225"                                                  \
	"0100" "09" "0400" "7f000001"
#define NULL_HANDLE "0000000000000000000000000000000000000000"

/* ---- a server's registrations, without a server ---- */

static rpc_iface_t g_epm, g_mgmt, g_icpr, g_other, g_hidden;
static rpc_endpoints_t g_eps;
static mgmt_config_t g_mgmt_cfg;

static struct {
	const rpc_iface_t *iface;
	enum rpc_listen_role role;
	uint16_t port;
} g_table[8];
static size_t g_n;

static void stub_foreach(void *ctx, rpc_endpoint_fn fn, void *arg)
{
	(void)ctx;
	for (size_t i = 0; i < g_n; i++) {
		fn(arg, g_table[i].iface, g_table[i].role, g_table[i].port);
	}
}

static void add_ep(const rpc_iface_t *iface, enum rpc_listen_role role, uint16_t port)
{
	g_table[g_n].iface = iface;
	g_table[g_n].role = role;
	g_table[g_n].port = port;
	g_n++;
}

static void stats_fn(void *ctx, uint32_t out[MGMT_STATS_COUNT])
{
	(void)ctx;
	for (unsigned i = 0; i < MGMT_STATS_COUNT; i++) {
		out[i] = 10 + i;
	}
}

/* The layout certad uses: EPM and mgmt on 135; ICPR, a second advertised
 * interface and one that is not advertised, plus mgmt, on the dynamic port. */
static int setup(void **state)
{
	(void)state;
	g_eps.foreach = stub_foreach;
	g_eps.ctx = NULL;
	epm_iface_init(&g_epm, &g_eps);
	g_mgmt_cfg = (mgmt_config_t){{stub_foreach, NULL}, "host/ca1.example.com", NULL, NULL};
	mgmt_iface_init(&g_mgmt, &g_mgmt_cfg);
	g_icpr = (rpc_iface_t){.name = "ICertPassage",
			       .uuid = guid_from_literal("91ae6020-9e3c-11cf-8d7c-00aa00c091be"),
			       .epm_register = true};
	g_other = (rpc_iface_t){.name = "Other",
				.uuid = guid_from_literal("11111111-2222-3333-4444-555555555555"),
				.vers_major = 1, .vers_minor = 2, .epm_register = true};
	g_hidden = (rpc_iface_t){.name = "Hidden",
				 .uuid = guid_from_literal("99999999-2222-3333-4444-555555555555"),
				 .vers_major = 1};
	g_n = 0;
	add_ep(&g_epm, RPC_LISTEN_EPM, 135);
	add_ep(&g_mgmt, RPC_LISTEN_EPM, 135);
	add_ep(&g_icpr, RPC_LISTEN_DYNAMIC, 49701);
	add_ep(&g_other, RPC_LISTEN_DYNAMIC, 49701);
	add_ep(&g_hidden, RPC_LISTEN_DYNAMIC, 49701);
	add_ep(&g_mgmt, RPC_LISTEN_DYNAMIC, 49701);
	return 0;
}

/* call_op runs one operation as the runtime would: a per-call arena, the
 * request stub as a cursor based at its start, the response into out. */
static cerr_t call_op_at(const rpc_iface_t *iface, uint16_t opnum, const uint8_t *req, size_t req_len,
			 const char *local_addr, uint16_t local_port, buf_t *out)
{
	rpc_conn_info_t conn = {.peer_addr = "127.0.0.1", .local_addr = local_addr,
				.local_port = local_port};
	arena_t *a = arena_new();
	assert_non_null(a);
	assert_true(opnum < iface->n_ops);
	buf_reset(out);
	cerr_t e = tu_invoke(iface, &conn, opnum, NULL, req, req_len, a, out);
	arena_free(a);
	return e;
}

static cerr_t call_hex(const rpc_iface_t *iface, uint16_t opnum, const char *req_hex, uint16_t port,
		       buf_t *out)
{
	uint8_t req[1024];
	size_t n = tu_unhex(req_hex, req, sizeof(req));
	return call_op_at(iface, opnum, req, n, "127.0.0.1", port, out);
}

static void assert_out(const buf_t *b, const char *hex)
{
	static uint8_t want[4096];
	size_t n = tu_unhex(hex, want, sizeof(want));
	assert_true(buf_ok(b));
	if (b->len != n || memcmp(b->data, want, n) != 0) {
		fprintf(stderr, "got:  ");
		for (size_t i = 0; i < b->len; i++) {
			fprintf(stderr, "%02x", b->data[i]);
		}
		fprintf(stderr, "\nwant: %s\n", hex);
		fail();
	}
}

/* build_map_req writes an ept_map request for an arbitrary tower. */
static size_t build_map_req(uint8_t *out, size_t cap, const uint8_t *tower, uint32_t tower_len,
			    const ndr_ctx_handle_t *h, uint32_t max_towers)
{
	buf_t b;
	buf_init(&b, 4096);
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	ndr_put_unique_ptr(&b, &ids, false);
	if (ndr_put_unique_ptr(&b, &ids, tower != NULL)) {
		ndr_put_conformance(&b, tower_len);
		ndr_put_u32(&b, tower_len);
		buf_put_bytes(&b, tower, tower_len);
	}
	ndr_ctx_handle_t null_h = {0};
	ndr_put_ctx_handle(&b, h ? h : &null_h);
	ndr_put_u32(&b, max_towers);
	assert_true(buf_ok(&b) && b.len <= cap);
	memcpy(out, b.data, b.len);
	size_t n = b.len;
	buf_free(&b);
	return n;
}

/* build_tower writes a 5-floor tower with the given identifiers. */
static size_t build_tower(uint8_t *out, const guid_t *if_uuid, uint16_t major, uint16_t minor,
			  const guid_t *syntax, uint16_t syntax_major, uint8_t protocol, uint8_t transport)
{
	buf_t b;
	buf_init(&b, 256);
	const guid_t *u[2] = {if_uuid, syntax};
	const uint16_t ma[2] = {major, syntax_major}, mi[2] = {minor, 0};
	buf_put_u16(&b, 5);
	for (int i = 0; i < 2; i++) {
		buf_put_u16(&b, 19);
		buf_put_u8(&b, EPM_FLOOR_UUID);
		buf_put_guid(&b, u[i]);
		buf_put_u16(&b, ma[i]);
		buf_put_u16(&b, 2);
		buf_put_u16(&b, mi[i]);
	}
	const uint8_t ids[3] = {protocol, transport, EPM_FLOOR_IP};
	const uint16_t rhs_len[3] = {2, 2, 4};
	for (int i = 0; i < 3; i++) {
		buf_put_u16(&b, 1);
		buf_put_u8(&b, ids[i]);
		buf_put_u16(&b, rhs_len[i]);
		buf_put_zeros(&b, rhs_len[i]);
	}
	assert_true(buf_ok(&b));
	memcpy(out, b.data, b.len);
	size_t n = b.len;
	buf_free(&b);
	return n;
}

static const guid_t *ndr20(void)
{
	static guid_t g;
	g = guid_from_literal("8a885d04-1ceb-11c9-9fe8-08002b104860");
	return &g;
}

/* ---- towers ---- */

static void test_tower_parse_and_build(void **state)
{
	(void)state;
	uint8_t d[256];
	size_t n = tu_unhex(IMPACKET_MAP_REQ, d, sizeof(d));
	cur_t in;
	cur_init(&in, d, n);
	epm_map_req_t req;
	assert_int_equal(epm_decode_map(&in, &req), CERR_OK);
	assert_true(req.has_object && guid_is_nil(&req.object));
	assert_true(req.has_tower);
	assert_int_equal(cur_len(&req.tower), 75);
	assert_true(ndr_ctx_handle_is_null(&req.handle));
	assert_int_equal(req.max_towers, 1);
	assert_true(cur_empty(&in));

	epm_tower_t t;
	assert_int_equal(epm_tower_parse(&req.tower, &t), CERR_OK);
	assert_int_equal(t.n_floors, 5);
	assert_true(guid_equal(&t.if_uuid, &g_icpr.uuid));
	assert_int_equal(t.if_major, 0);
	assert_int_equal(t.if_minor, 0);
	assert_true(guid_equal(&t.syntax_uuid, ndr20()));
	assert_int_equal(t.syntax_major, 2);
	assert_int_equal(t.protocol, EPM_FLOOR_RPC_CO);
	assert_int_equal(t.transport, EPM_FLOOR_TCP);
	assert_int_equal(t.port, 0);
	assert_int_equal(t.host, EPM_FLOOR_IP);

	/* what we build is what Windows sends: 75 octets, port big-endian */
	buf_t b;
	buf_init(&b, 256);
	const uint8_t ip[4] = {127, 0, 0, 1};
	epm_tower_put_tcp(&b, &g_icpr.uuid, 0, 0, 49701, ip);
	assert_int_equal(b.len, EPM_TCP_TOWER_LEN);
	assert_out(&b, ICPR_TOWER);
	cur_t oc;
	cur_init(&oc, b.data, b.len);
	assert_int_equal(epm_tower_parse(&oc, &t), CERR_OK);
	assert_int_equal(t.port, 49701);
	assert_memory_equal(t.ipv4, ip, 4);
	buf_free(&b);
}

static void test_tower_malformed(void **state)
{
	(void)state;
	static const char *bad[] = {
		"",
		"05",
		"0200" ICPR_TOWER,                                        /* fewer than 3 floors */
		"0900" "1300",                                            /* more floors than we accept */
		"0500" "1200" "0d" "2060ae913c9ecf118d7c00aa00c091be" "00", /* lhs of 18 */
		"0500" "1300" "0e" "2060ae913c9ecf118d7c00aa00c091be" "0000" "0200" "0000", /* not a UUID floor */
		"0500" "1300" "0d" "2060ae913c9ecf118d7c00aa00c091be" "0000" "0300" "000000", /* rhs of 3 */
		"0500" "1300" "0d" "2060ae913c9ecf118d7c00aa00c091be" "0000" "0200" "0000"
		"1300" "0d" "045d888aeb1cc9119fe808002b104860" "0200" "0200" "0000"
		"0000" "0200" "0000",                                     /* empty lhs */
		"0500" "1300" "0d" "2060ae913c9ecf118d7c00aa00c091be" "0000" "0200" "0000"
		"1300" "0d" "045d888aeb1cc9119fe808002b104860" "0200" "0200" "0000"
		"0100" "0b" "0200" "0000" "0100" "07" "0300" "c22500",     /* 3-byte port */
		"0500" "1300" "0d" "2060ae913c9ecf118d7c00aa00c091be" "0000" "0200" "0000"
		"1300" "0d" "045d888aeb1cc9119fe808002b104860" "0200" "0200" "0000"
		"0100" "0b" "0200" "0000" "0100" "07" "0200" "c225" "0100" "09" "0300" "7f0000", /* 3-byte IP */
		"0500" "1300" "0d" "2060ae913c9ecf118d7c00aa00c091be" "0000" "0200" "0000"
		"1300" "0d" "045d888aeb1cc9119fe808002b104860" "0200" "0200" "0000"
		"0100" "0b" "0200" "0000" "0100" "07" "0200" "c225" "0100" "09" "ffff",  /* rhs past the end */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t d[256];
		size_t n = tu_unhex(bad[i], d, sizeof(d));
		cur_t c;
		cur_init(&c, d, n);
		epm_tower_t t;
		assert_int_not_equal(epm_tower_parse(&c, &t), CERR_OK);
	}
	/* every truncation of a good tower fails */
	uint8_t d[128];
	size_t n = tu_unhex(ICPR_TOWER, d, sizeof(d));
	for (size_t len = 0; len < n; len++) {
		cur_t c;
		cur_init(&c, d, len);
		epm_tower_t t;
		assert_int_not_equal(epm_tower_parse(&c, &t), CERR_OK);
	}
}

/* ---- ept_map ---- */

static void test_map_impacket(void **state)
{
	(void)state;
	buf_t out;
	buf_init(&out, 65536);
	assert_int_equal(call_hex(&g_epm, EPM_OP_MAP, IMPACKET_MAP_REQ, 135, &out), CERR_OK);
	/* handle NULL (done), num_towers 1, [max 1, offset 0, actual 1], referent,
	 * twr_t {max_count 75, length 75, octets}, pad, status 0 */
	assert_out(&out, NULL_HANDLE "01000000" "01000000" "00000000" "01000000" "00000200"
			 "4b000000" "4b000000" ICPR_TOWER "00" "00000000");
	buf_free(&out);
}

static void test_map_not_found(void **state)
{
	(void)state;
	buf_t out;
	buf_init(&out, 65536);
	uint8_t req[256];
	size_t n = tu_unhex(IMPACKET_MAP_REQ, req, sizeof(req));
	req[40] ^= 0xff; /* a byte of the interface UUID in floor 1 */
	assert_int_equal(call_op_at(&g_epm, EPM_OP_MAP, req, n, "127.0.0.1", 135, &out), CERR_OK);
	/* no towers, status ept_s_not_registered 0x16c9a0d6 as Windows returns it */
	assert_out(&out, NULL_HANDLE "00000000" "01000000" "00000000" "00000000" "d6a0c916");
	buf_free(&out);
}

static void expect_map(const guid_t *uuid, uint16_t major, uint16_t minor, const guid_t *syntax,
		       uint16_t syntax_major, uint8_t transport, bool found)
{
	uint8_t tower[128], req[256];
	size_t tl = build_tower(tower, uuid, major, minor, syntax, syntax_major, EPM_FLOOR_RPC_CO, transport);
	size_t n = build_map_req(req, sizeof(req), tower, (uint32_t)tl, NULL, 4);
	buf_t out;
	buf_init(&out, 65536);
	assert_int_equal(call_op_at(&g_epm, EPM_OP_MAP, req, n, "127.0.0.1", 135, &out), CERR_OK);
	cur_t c, last;
	cur_init(&c, out.data, out.len);
	ndr_ctx_handle_t h;
	uint32_t num = 0, status = 0;
	assert_true(ndr_get_ctx_handle(&c, &h) && ndr_get_u32(&c, &num));
	assert_true(cur_get_last(&c, &last, 4) && cur_get_u32(&last, &status));
	assert_int_equal(num, found ? 1 : 0);
	assert_int_equal(status, found ? 0 : 0x16c9a0d6);
	buf_free(&out);
}

/* C706 ept_map: same UUID and major version, registered minor >= asked; only
 * NDR 2.0 over ncacn_ip_tcp; interfaces not advertised are not found. */
static void test_map_matching_rules(void **state)
{
	(void)state;
	const guid_t ndr64 = guid_from_literal("71710533-beba-4937-8319-b5dbef9ccc36");
	expect_map(&g_icpr.uuid, 0, 0, ndr20(), 2, EPM_FLOOR_TCP, true);
	expect_map(&g_icpr.uuid, 1, 0, ndr20(), 2, EPM_FLOOR_TCP, false);
	expect_map(&g_other.uuid, 1, 0, ndr20(), 2, EPM_FLOOR_TCP, true);
	expect_map(&g_other.uuid, 1, 2, ndr20(), 2, EPM_FLOOR_TCP, true);
	expect_map(&g_other.uuid, 1, 3, ndr20(), 2, EPM_FLOOR_TCP, false);
	expect_map(&g_hidden.uuid, 1, 0, ndr20(), 2, EPM_FLOOR_TCP, false);
	expect_map(&g_epm.uuid, 3, 0, ndr20(), 2, EPM_FLOOR_TCP, false);
	expect_map(&g_icpr.uuid, 0, 0, &ndr64, 1, EPM_FLOOR_TCP, false);
	expect_map(&g_icpr.uuid, 0, 0, ndr20(), 1, EPM_FLOOR_TCP, false);
	expect_map(&g_icpr.uuid, 0, 0, ndr20(), 2, EPM_FLOOR_NAMED_PIPE, false);
	expect_map(&g_icpr.uuid, 0, 0, ndr20(), 2, EPM_FLOOR_HTTP, false);

	/* a NULL tower, or one that does not parse, finds nothing (no fault) */
	uint8_t req[256];
	buf_t out;
	buf_init(&out, 4096);
	size_t n = build_map_req(req, sizeof(req), NULL, 0, NULL, 1);
	assert_int_equal(call_op_at(&g_epm, EPM_OP_MAP, req, n, "127.0.0.1", 135, &out), CERR_OK);
	assert_out(&out, NULL_HANDLE "00000000" "01000000" "00000000" "00000000" "d6a0c916");
	n = build_map_req(req, sizeof(req), (const uint8_t *)"\x01\x00\x00", 3, NULL, 1);
	assert_int_equal(call_op_at(&g_epm, EPM_OP_MAP, req, n, "127.0.0.1", 135, &out), CERR_OK);
	assert_out(&out, NULL_HANDLE "00000000" "01000000" "00000000" "00000000" "d6a0c916");
	/* max_towers 0: nothing fits */
	uint8_t tower[128];
	size_t tl = build_tower(tower, &g_icpr.uuid, 0, 0, ndr20(), 2, EPM_FLOOR_RPC_CO, EPM_FLOOR_TCP);
	n = build_map_req(req, sizeof(req), tower, (uint32_t)tl, NULL, 0);
	assert_int_equal(call_op_at(&g_epm, EPM_OP_MAP, req, n, "127.0.0.1", 135, &out), CERR_OK);
	assert_out(&out, NULL_HANDLE "00000000" "00000000" "00000000" "00000000" "d6a0c916");
	buf_free(&out);
}

/* The tower carries the address the client dialled; 0.0.0.0 when unknown or IPv6. */
static void test_map_address(void **state)
{
	(void)state;
	uint8_t req[256];
	size_t n = tu_unhex(IMPACKET_MAP_REQ, req, sizeof(req));
	static const struct {
		const char *addr;
		const char *ip_hex;
	} cases[] = {{"10.1.2.3", "0a010203"}, {"::ffff:192.168.0.9", "c0a80009"},
		     {"::1", "00000000"}, {NULL, "00000000"}, {"bogus", "00000000"}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_t out;
		buf_init(&out, 4096);
		assert_int_equal(call_op_at(&g_epm, EPM_OP_MAP, req, n, cases[i].addr, 135, &out), CERR_OK);
		uint8_t ip[4];
		tu_unhex(cases[i].ip_hex, ip, 4);
		/* the IPv4 rhs is the last 4 octets of the tower: out ends tower, pad, status */
		assert_memory_equal(out.data + out.len - 9, ip, 4);
		buf_free(&out);
	}
}

/* More matches than max_towers: the rest come with the returned handle. */
static void test_map_continuation(void **state)
{
	(void)state;
	add_ep(&g_icpr, RPC_LISTEN_EPM, 135); /* also served (and advertised) on 135 */
	uint8_t tower[128], req[256];
	size_t tl = build_tower(tower, &g_icpr.uuid, 0, 0, ndr20(), 2, EPM_FLOOR_RPC_CO, EPM_FLOOR_TCP);
	size_t n = build_map_req(req, sizeof(req), tower, (uint32_t)tl, NULL, 1);
	buf_t out;
	buf_init(&out, 4096);
	assert_int_equal(call_op_at(&g_epm, EPM_OP_MAP, req, n, "127.0.0.1", 135, &out), CERR_OK);
	cur_t c;
	cur_init(&c, out.data, out.len);
	ndr_ctx_handle_t h;
	assert_true(ndr_get_ctx_handle(&c, &h));
	assert_false(ndr_ctx_handle_is_null(&h));
	assert_memory_equal(out.data + out.len - 16, "\xc2\x25", 2); /* dynamic port first */

	n = build_map_req(req, sizeof(req), tower, (uint32_t)tl, &h, 1);
	assert_int_equal(call_op_at(&g_epm, EPM_OP_MAP, req, n, "127.0.0.1", 135, &out), CERR_OK);
	cur_init(&c, out.data, out.len);
	assert_true(ndr_get_ctx_handle(&c, &h));
	assert_true(ndr_ctx_handle_is_null(&h));
	assert_memory_equal(out.data + out.len - 16, "\x00\x87", 2); /* then 135 */

	/* both in one call */
	n = build_map_req(req, sizeof(req), tower, (uint32_t)tl, NULL, 2);
	assert_int_equal(call_op_at(&g_epm, EPM_OP_MAP, req, n, "127.0.0.1", 135, &out), CERR_OK);
	uint32_t num = 0;
	cur_init(&c, out.data, out.len);
	assert_true(ndr_get_ctx_handle(&c, &h) && ndr_get_u32(&c, &num));
	assert_true(ndr_ctx_handle_is_null(&h));
	assert_int_equal(num, 2);

	/* a handle we never issued ends the search */
	ndr_ctx_handle_t forged = {0, guid_from_literal("01020304-0506-0708-090a-0b0c0d0e0f10")};
	n = build_map_req(req, sizeof(req), tower, (uint32_t)tl, &forged, 4);
	assert_int_equal(call_op_at(&g_epm, EPM_OP_MAP, req, n, "127.0.0.1", 135, &out), CERR_OK);
	assert_out(&out, NULL_HANDLE "00000000" "04000000" "00000000" "00000000" "d6a0c916");
	buf_free(&out);
}

static void test_map_malformed(void **state)
{
	(void)state;
	uint8_t req[256];
	size_t n = tu_unhex(IMPACKET_MAP_REQ, req, sizeof(req));
	buf_t out;
	buf_init(&out, 4096);
	for (size_t len = 0; len < n; len++) {
		assert_int_equal(call_op_at(&g_epm, EPM_OP_MAP, req, len, "127.0.0.1", 135, &out),
				 CERR_MALFORMED);
	}
	/* max_towers beyond MS-RPCE's range(0,500) */
	uint8_t bad[256];
	memcpy(bad, req, n);
	bad[n - 4] = 0xf5;
	bad[n - 3] = 0x01;
	assert_int_equal(call_op_at(&g_epm, EPM_OP_MAP, bad, n, "127.0.0.1", 135, &out), CERR_MALFORMED);
	/* twr_t max_count disagreeing with tower_length */
	memcpy(bad, req, n);
	bad[24] = 0x4c;
	assert_int_equal(call_op_at(&g_epm, EPM_OP_MAP, bad, n, "127.0.0.1", 135, &out), CERR_MALFORMED);
	/* a huge tower length */
	memcpy(bad, req, n);
	memcpy(bad + 24, "\xff\xff\xff\x7f\xff\xff\xff\x7f", 8);
	assert_int_equal(call_op_at(&g_epm, EPM_OP_MAP, bad, n, "127.0.0.1", 135, &out), CERR_MALFORMED);
	buf_free(&out);
}

/* ---- ept_lookup ---- */

static void test_lookup_impacket(void **state)
{
	(void)state;
	buf_t out;
	buf_init(&out, 65536);
	assert_int_equal(call_hex(&g_epm, EPM_OP_LOOKUP, IMPACKET_LOOKUP_ALL, 135, &out), CERR_OK);
	/* the advertised interfaces only (not EPM, mgmt or Hidden); each entry:
	 * nil object, tower referent, annotation (offset, actual, chars); the
	 * towers follow the array */
	assert_out(&out, NULL_HANDLE "02000000" "f4010000" "00000000" "02000000"
			 "00000000000000000000000000000000" "00000200"
			 "00000000" "0d000000" "4943657274506173736167650000" "0000"
			 "00000000000000000000000000000000" "04000200"
			 "00000000" "06000000" "4f7468657200" "0000"
			 "4b000000" "4b000000" ICPR_TOWER "00"
			 "4b000000" "4b000000" OTHER_TOWER "00"
			 "00000000");
	assert_int_equal(call_hex(&g_epm, EPM_OP_LOOKUP, IMPACKET_LOOKUP_BY_IF, 135, &out), CERR_OK);
	assert_out(&out, NULL_HANDLE "01000000" "f4010000" "00000000" "01000000"
			 "00000000000000000000000000000000" "00000200"
			 "00000000" "0d000000" "4943657274506173736167650000" "0000"
			 "4b000000" "4b000000" ICPR_TOWER "00"
			 "00000000");
	buf_free(&out);
}

static size_t build_lookup_req(uint8_t *out, uint32_t inquiry, const guid_t *obj, const guid_t *ifid,
			       uint16_t major, uint16_t minor, uint32_t vers, const ndr_ctx_handle_t *h,
			       uint32_t max_ents)
{
	buf_t b;
	buf_init(&b, 256);
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	ndr_put_u32(&b, inquiry);
	if (ndr_put_unique_ptr(&b, &ids, obj != NULL)) {
		ndr_put_guid(&b, obj);
	}
	if (ndr_put_unique_ptr(&b, &ids, ifid != NULL)) {
		ndr_put_guid(&b, ifid);
		ndr_put_u16(&b, major);
		ndr_put_u16(&b, minor);
	}
	ndr_put_u32(&b, vers);
	ndr_ctx_handle_t null_h = {0};
	ndr_put_ctx_handle(&b, h ? h : &null_h);
	ndr_put_u32(&b, max_ents);
	assert_true(buf_ok(&b));
	memcpy(out, b.data, b.len);
	size_t n = b.len;
	buf_free(&b);
	return n;
}

static uint32_t lookup_count(const uint8_t *req, size_t n, uint32_t *status, ndr_ctx_handle_t *h)
{
	buf_t out;
	buf_init(&out, 65536);
	assert_int_equal(call_op_at(&g_epm, EPM_OP_LOOKUP, req, n, "127.0.0.1", 135, &out), CERR_OK);
	cur_t c, last;
	cur_init(&c, out.data, out.len);
	uint32_t num = 0;
	ndr_ctx_handle_t hh;
	assert_true(ndr_get_ctx_handle(&c, &hh) && ndr_get_u32(&c, &num));
	assert_true(cur_get_last(&c, &last, 4) && cur_get_u32(&last, status));
	if (h) {
		*h = hh;
	}
	buf_free(&out);
	return num;
}

static void test_lookup_rules_and_paging(void **state)
{
	(void)state;
	uint8_t req[256];
	uint32_t status;
	ndr_ctx_handle_t h;
	const guid_t nil = {0};
	const guid_t some = guid_from_literal("01020304-0506-0708-090a-0b0c0d0e0f10");
	size_t n;
	/* vers_option against Other v1.2 */
	static const struct {
		uint32_t vers;
		uint16_t major, minor;
		uint32_t want;
	} v[] = {{EPM_VERS_ALL, 7, 7, 1},        {EPM_VERS_COMPATIBLE, 1, 1, 1},
		 {EPM_VERS_COMPATIBLE, 1, 3, 0}, {EPM_VERS_EXACT, 1, 2, 1},
		 {EPM_VERS_EXACT, 1, 1, 0},      {EPM_VERS_MAJOR_ONLY, 1, 9, 1},
		 {EPM_VERS_MAJOR_ONLY, 2, 0, 0}, {EPM_VERS_UPTO, 1, 2, 1},
		 {EPM_VERS_UPTO, 2, 0, 1},       {EPM_VERS_UPTO, 1, 1, 0}};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		n = build_lookup_req(req, EPM_INQ_BY_IF, NULL, &g_other.uuid, v[i].major, v[i].minor,
				     v[i].vers, NULL, 500);
		assert_int_equal(lookup_count(req, n, &status, NULL), v[i].want);
		assert_int_equal(status, v[i].want ? 0 : 0x16c9a0d6);
	}
	/* by object: our entries carry the nil object */
	n = build_lookup_req(req, EPM_INQ_BY_OBJ, &nil, NULL, 0, 0, 0, NULL, 500);
	assert_int_equal(lookup_count(req, n, &status, NULL), 2);
	n = build_lookup_req(req, EPM_INQ_BY_OBJ, &some, NULL, 0, 0, 0, NULL, 500);
	assert_int_equal(lookup_count(req, n, &status, NULL), 0);
	n = build_lookup_req(req, EPM_INQ_BY_BOTH, NULL, &g_icpr.uuid, 0, 0, EPM_VERS_EXACT, NULL, 500);
	assert_int_equal(lookup_count(req, n, &status, NULL), 1);
	/* requests that cannot be performed */
	n = build_lookup_req(req, 9, NULL, NULL, 0, 0, EPM_VERS_ALL, NULL, 500);
	assert_int_equal(lookup_count(req, n, &status, NULL), 0);
	assert_int_equal(status, 0x6d8);
	n = build_lookup_req(req, EPM_INQ_BY_IF, NULL, NULL, 0, 0, EPM_VERS_ALL, NULL, 500);
	assert_int_equal(lookup_count(req, n, &status, NULL), 0);
	assert_int_equal(status, 0x6d8);
	n = build_lookup_req(req, EPM_INQ_BY_IF, NULL, &g_icpr.uuid, 0, 0, 6, NULL, 500);
	assert_int_equal(lookup_count(req, n, &status, NULL), 0);
	assert_int_equal(status, 0x6d8);
	/* paging with max_ents 1: the handle carries the rest, and ends NULL */
	n = build_lookup_req(req, EPM_INQ_ALL, NULL, NULL, 0, 0, EPM_VERS_ALL, NULL, 1);
	assert_int_equal(lookup_count(req, n, &status, &h), 1);
	assert_int_equal(status, 0);
	assert_false(ndr_ctx_handle_is_null(&h));
	n = build_lookup_req(req, EPM_INQ_ALL, NULL, NULL, 0, 0, EPM_VERS_ALL, &h, 1);
	assert_int_equal(lookup_count(req, n, &status, &h), 1);
	assert_int_equal(status, 0);
	assert_true(ndr_ctx_handle_is_null(&h));
	/* max_ents over MS-RPCE's range(0,500) is bad stub data */
	n = build_lookup_req(req, EPM_INQ_ALL, NULL, NULL, 0, 0, EPM_VERS_ALL, NULL, 501);
	buf_t out;
	buf_init(&out, 4096);
	assert_int_equal(call_op_at(&g_epm, EPM_OP_LOOKUP, req, n, "127.0.0.1", 135, &out), CERR_MALFORMED);
	/* truncations of impacket's request */
	n = tu_unhex(IMPACKET_LOOKUP_BY_IF, req, sizeof(req));
	for (size_t len = 0; len < n; len++) {
		assert_int_equal(call_op_at(&g_epm, EPM_OP_LOOKUP, req, len, "127.0.0.1", 135, &out),
				 CERR_MALFORMED);
	}
	buf_free(&out);
}

/* ---- the other opnums ---- */

static void test_other_opnums(void **state)
{
	(void)state;
	buf_t out;
	buf_init(&out, 4096);
	assert_int_equal(g_epm.n_ops, 7); /* opnum 7+ : the runtime's nca_s_op_rng_error */
	assert_int_equal(call_hex(&g_epm, EPM_OP_INSERT, "", 135, &out), CERR_OK);
	assert_out(&out, "d8060000"); /* EPT_S_CANT_PERFORM_OP */
	assert_int_equal(call_hex(&g_epm, EPM_OP_DELETE, "", 135, &out), CERR_OK);
	assert_out(&out, "d8060000");
	assert_int_equal(call_hex(&g_epm, EPM_OP_MGMT_DELETE, "", 135, &out), CERR_OK);
	assert_out(&out, "d8060000");
	assert_int_equal(call_hex(&g_epm, EPM_OP_INQ_OBJECT, "", 135, &out), CERR_OK);
	assert_out(&out, "00000000000000000000000000000000" "d8060000");
	assert_int_equal(call_hex(&g_epm, EPM_OP_LOOKUP_HANDLE_FREE,
				  "00000000" "4345504d0100000001000000000000" "00", 135, &out), CERR_OK);
	assert_out(&out, NULL_HANDLE "00000000");
	assert_int_equal(call_hex(&g_epm, EPM_OP_LOOKUP_HANDLE_FREE, "0000", 135, &out), CERR_MALFORMED);
	buf_free(&out);
}

/* ---- mgmt ---- */

static void test_mgmt_inq_if_ids(void **state)
{
	(void)state;
	buf_t out;
	buf_init(&out, 4096);
	/* on the dynamic port: what is served there, without mgmt itself */
	assert_int_equal(call_hex(&g_mgmt, MGMT_OP_INQ_IF_IDS, "", 49701, &out), CERR_OK);
	assert_out(&out, "00000200" "03000000" "03000000" "04000200" "08000200" "0c000200"
			 "2060ae913c9ecf118d7c00aa00c091be" "0000" "0000"
			 "11111111222233334444555555555555" "0100" "0200"
			 "99999999222233334444555555555555" "0100" "0000"
			 "00000000");
	/* on 135: the endpoint mapper */
	assert_int_equal(call_hex(&g_mgmt, MGMT_OP_INQ_IF_IDS, "", 135, &out), CERR_OK);
	assert_out(&out, "00000200" "01000000" "01000000" "04000200"
			 "0883afe11f5dc91191a408002b14a0fa" "0300" "0000" "00000000");
	/* port unknown: everything, each interface once */
	add_ep(&g_icpr, RPC_LISTEN_EPM, 135);
	assert_int_equal(call_hex(&g_mgmt, MGMT_OP_INQ_IF_IDS, "", 0, &out), CERR_OK);
	assert_out(&out, "00000200" "04000000" "04000000" "04000200" "08000200" "0c000200" "10000200"
			 "0883afe11f5dc91191a408002b14a0fa" "0300" "0000"
			 "2060ae913c9ecf118d7c00aa00c091be" "0000" "0000"
			 "11111111222233334444555555555555" "0100" "0200"
			 "99999999222233334444555555555555" "0100" "0000"
			 "00000000");
	/* nothing registered: an empty vector */
	g_n = 0;
	assert_int_equal(call_hex(&g_mgmt, MGMT_OP_INQ_IF_IDS, "", 135, &out), CERR_OK);
	assert_out(&out, "00000200" "00000000" "00000000" "00000000");
	buf_free(&out);
}

static void test_mgmt_others(void **state)
{
	(void)state;
	buf_t out;
	buf_init(&out, 4096);
	assert_int_equal(g_mgmt.n_ops, 5);
	/* inq_stats: [in] count (impacket); a trailing u32 (Samba's IDL) is ignored */
	assert_int_equal(call_hex(&g_mgmt, MGMT_OP_INQ_STATS, "04000000", 135, &out), CERR_OK);
	assert_out(&out, "04000000" "04000000" "00000000000000000000000000000000" "00000000");
	g_mgmt_cfg.stats = stats_fn;
	assert_int_equal(call_hex(&g_mgmt, MGMT_OP_INQ_STATS, "09000000" "00000000", 135, &out), CERR_OK);
	assert_out(&out, "04000000" "04000000" "0a0000000b0000000c0000000d000000" "00000000");
	assert_int_equal(call_hex(&g_mgmt, MGMT_OP_INQ_STATS, "02000000", 135, &out), CERR_OK);
	assert_out(&out, "02000000" "02000000" "0a0000000b000000" "00000000");
	assert_int_equal(call_hex(&g_mgmt, MGMT_OP_INQ_STATS, "02", 135, &out), CERR_MALFORMED);
	g_mgmt_cfg.stats = NULL;
	/* is_server_listening: status 0, TRUE */
	assert_int_equal(call_hex(&g_mgmt, MGMT_OP_IS_SERVER_LISTENING, "", 135, &out), CERR_OK);
	assert_out(&out, "00000000" "01000000");
	/* stop_server_listening: rpc_s_access_denied */
	assert_int_equal(call_hex(&g_mgmt, MGMT_OP_STOP_SERVER_LISTENING, "", 135, &out), CERR_OK);
	assert_out(&out, "05000000");
	/* inq_princ_name: [string, size_is(32)] char[] */
	assert_int_equal(call_hex(&g_mgmt, MGMT_OP_INQ_PRINC_NAME, "00000000" "20000000", 135, &out), CERR_OK);
	assert_out(&out, "20000000" "00000000" "15000000" "686f73742f6361312e6578616d706c652e636f6d00"
			 "000000" "00000000");
	/* impacket's hinq_princ_name default size 1: too small */
	assert_int_equal(call_hex(&g_mgmt, MGMT_OP_INQ_PRINC_NAME, "00000000" "01000000", 135, &out), CERR_OK);
	assert_out(&out, "01000000" "00000000" "01000000" "00" "000000" "7a000000");
	assert_int_equal(call_hex(&g_mgmt, MGMT_OP_INQ_PRINC_NAME, "00000000" "00000000", 135, &out), CERR_OK);
	assert_out(&out, "00000000" "00000000" "00000000" "7a000000");
	g_mgmt_cfg.princ_name = NULL;
	assert_int_equal(call_hex(&g_mgmt, MGMT_OP_INQ_PRINC_NAME, "0a000000" "01000000", 135, &out), CERR_OK);
	assert_out(&out, "01000000" "00000000" "01000000" "00" "000000" "00000000");
	assert_int_equal(call_hex(&g_mgmt, MGMT_OP_INQ_PRINC_NAME, "00000000", 135, &out), CERR_MALFORMED);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_tower_parse_and_build, setup),
		cmocka_unit_test_setup(test_tower_malformed, setup),
		cmocka_unit_test_setup(test_map_impacket, setup),
		cmocka_unit_test_setup(test_map_not_found, setup),
		cmocka_unit_test_setup(test_map_matching_rules, setup),
		cmocka_unit_test_setup(test_map_address, setup),
		cmocka_unit_test_setup(test_map_continuation, setup),
		cmocka_unit_test_setup(test_map_malformed, setup),
		cmocka_unit_test_setup(test_lookup_impacket, setup),
		cmocka_unit_test_setup(test_lookup_rules_and_paging, setup),
		cmocka_unit_test_setup(test_other_opnums, setup),
		cmocka_unit_test_setup(test_mgmt_inq_if_ids, setup),
		cmocka_unit_test_setup(test_mgmt_others, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
