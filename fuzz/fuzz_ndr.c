/*
 * fuzz_ndr.c - libFuzzer target for the NDR primitives (src/rpc/ndr.c) and the
 * endpoint-mapper and mgmt request decoders and handlers (epm.c, mgmt.c).
 * The first input byte picks what runs; the rest is a request stub, based at
 * its own start as the runtime bases it. Decoders must succeed or fail
 * cleanly; what decodes is re-encoded and must decode to the same value, and
 * handlers must answer CERR_OK or CERR_MALFORMED with a well-formed builder.
 * Anything else aborts, so libFuzzer keeps a reproducer.
 *
 *   0 wstring  1 blob  2 unique wstring  3 conformant bytes  4 primitive program
 *   5 ept_map  6 ept_lookup  7 other EPM opnum (next byte)  8 mgmt opnum (next byte)
 *   9 tower
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "rpc/epm.h"
#include "rpc/mgmt.h"
#include "rpc/ndr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fixed set of registrations for the handlers to read. */
static rpc_iface_t f_epm, f_mgmt, f_icpr, f_other;
static rpc_endpoints_t f_eps;
static mgmt_config_t f_mgmt_cfg;

static void fuzz_foreach(void *ctx, rpc_endpoint_fn fn, void *arg)
{
	(void)ctx;
	fn(arg, &f_epm, RPC_LISTEN_EPM, 135);
	fn(arg, &f_mgmt, RPC_LISTEN_EPM, 135);
	fn(arg, &f_icpr, RPC_LISTEN_DYNAMIC, 49701);
	fn(arg, &f_other, RPC_LISTEN_DYNAMIC, 49701);
	fn(arg, &f_icpr, RPC_LISTEN_EPM, 135);
}

static void init_once(void)
{
	static bool done;
	if (done) {
		return;
	}
	done = true;
	f_eps.foreach = fuzz_foreach;
	epm_iface_init(&f_epm, &f_eps);
	f_mgmt_cfg.endpoints.foreach = fuzz_foreach;
	f_mgmt_cfg.princ_name = "host/ca1.example.com";
	mgmt_iface_init(&f_mgmt, &f_mgmt_cfg);
	f_icpr = (rpc_iface_t){.name = "ICertPassage",
			       .uuid = {0x91ae6020, 0x9e3c, 0x11cf, {0x8d, 0x7c, 0x00, 0xaa, 0x00, 0xc0, 0x91, 0xbe}},
			       .epm_register = true};
	f_other = (rpc_iface_t){.name = "Other", .uuid = {0x11111111, 0x2222, 0x3333, {0x44, 0x44, 0x55}},
				.vers_major = 1, .vers_minor = 2, .epm_register = true};
}

static void fuzz_wstring(cur_t *c, arena_t *a, bool unique)
{
	char *s;
	bool ok = unique ? ndr_get_unique_wstring(c, a, 4096, &s) : ndr_get_wstring(c, a, 4096, &s);
	if (!ok || !s) {
		return;
	}
	buf_t b;
	buf_init(&b, 1u << 20);
	ndr_put_wstring(&b, s);
	CHECK(buf_ok(&b));
	cur_t r;
	char *s2;
	cur_init(&r, b.data, b.len);
	CHECK(ndr_get_wstring(&r, a, 4096, &s2) && strcmp(s, s2) == 0 && cur_empty(&r));
	buf_free(&b);
}

static void fuzz_blob(cur_t *c, arena_t *a)
{
	ndr_blob_t x, y;
	if (!ndr_get_blob(c, a, 1u << 16, &x)) {
		return;
	}
	buf_t b;
	buf_init(&b, 1u << 20);
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	ndr_put_blob(&b, &ids, &x);
	CHECK(buf_ok(&b));
	cur_t r;
	cur_init(&r, b.data, b.len);
	CHECK(ndr_get_blob(&r, a, 1u << 16, &y) && cur_empty(&r));
	CHECK(x.len == y.len && (x.data == NULL) == (y.data == NULL));
	CHECK(x.len == 0 || memcmp(x.data, y.data, x.len) == 0);
	buf_free(&b);
}

static void fuzz_conformant(cur_t *c, arena_t *a)
{
	uint32_t expected;
	const uint8_t *p;
	size_t before = cur_len(c);
	if (!ndr_get_u32(c, &expected)) {
		return;
	}
	size_t used = arena_used(a);
	if (!ndr_get_conformant_bytes(c, a, expected, &p)) {
		/* a refused count allocates nothing */
		CHECK(arena_used(a) == used);
		return;
	}
	CHECK(before - cur_len(c) >= (size_t)expected + 8);
}

/* fuzz_program runs primitives chosen by a program of op bytes over the stub:
 * input is [n][n op bytes][stub]. Each getter either advances or leaves the
 * cursor where it was. */
static void fuzz_program(cur_t *in, arena_t *a)
{
	uint8_t n;
	cur_t prog;
	if (!cur_get_u8(in, &n) || !cur_get_bytes(in, &prog, n)) {
		return;
	}
	cur_rebase(in);
	uint8_t op;
	while (cur_get_u8(&prog, &op)) {
		cur_t save = *in;
		bool ok;
		uint8_t u8;
		uint16_t u16;
		uint32_t u32, u32b;
		uint64_t u64;
		guid_t g;
		ndr_ctx_handle_t h;
		char *s;
		ndr_blob_t bl;
		switch (op % 12) {
		case 0: ok = ndr_get_u8(in, &u8); break;
		case 1: ok = ndr_get_u16(in, &u16); break;
		case 2: ok = ndr_get_u32(in, &u32); break;
		case 3: ok = ndr_get_u64(in, &u64); break;
		case 4: ok = ndr_get_enum(in, &u16); break;
		case 5: ok = ndr_get_guid(in, &g); break;
		case 6: ok = ndr_get_ctx_handle(in, &h); break;
		case 7: ok = ndr_get_unique_ptr(in, &u32); break;
		case 8: ok = ndr_get_variance(in, &u32, &u32b); break;
		case 9: ok = ndr_get_unique_wstring(in, a, 1536, &s); break;
		case 10: ok = ndr_get_blob(in, a, 1u << 16, &bl); break;
		default: ok = ndr_get_ref_ptr(in, &u32); break;
		}
		if (!ok) {
			CHECK(cur_data(in) == cur_data(&save) && cur_len(in) == cur_len(&save));
			return;
		}
	}
}

static void fuzz_handler(const rpc_iface_t *iface, uint16_t opnum, cur_t *in, arena_t *a)
{
	rpc_conn_info_t conn = {.local_addr = "127.0.0.1", .local_port = 135};
	buf_t out;
	buf_init(&out, 1u << 20);
	rpc_call_t call = {.arena = a, .conn = &conn, .opnum = opnum, .in = *in, .out = &out,
			   .iface_data = iface->data};
	cur_rebase(&call.in);
	CHECK(opnum < iface->n_ops);
	cerr_t e = iface->ops[opnum](&call);
	CHECK(e == CERR_OK || e == CERR_MALFORMED);
	CHECK(e != CERR_OK || (buf_ok(&out) && out.len >= 4));
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_once();
	cur_t c;
	uint8_t sel, opnum;
	cur_init(&c, data, size);
	if (!cur_get_u8(&c, &sel)) {
		return 0;
	}
	cur_rebase(&c); /* the stub starts after the selector */
	arena_t *a = arena_new();
	if (!a) {
		return 0;
	}
	switch (sel % 10) {
	case 0: fuzz_wstring(&c, a, false); break;
	case 1: fuzz_blob(&c, a); break;
	case 2: fuzz_wstring(&c, a, true); break;
	case 3: fuzz_conformant(&c, a); break;
	case 4: fuzz_program(&c, a); break;
	case 5: fuzz_handler(&f_epm, EPM_OP_MAP, &c, a); break;
	case 6: fuzz_handler(&f_epm, EPM_OP_LOOKUP, &c, a); break;
	case 7:
		if (cur_get_u8(&c, &opnum)) {
			fuzz_handler(&f_epm, opnum % EPM_N_OPS, &c, a);
		}
		break;
	case 8:
		if (cur_get_u8(&c, &opnum)) {
			fuzz_handler(&f_mgmt, opnum % MGMT_N_OPS, &c, a);
		}
		break;
	default: {
		epm_tower_t t;
		if (epm_tower_parse(&c, &t) == CERR_OK) {
			CHECK(t.n_floors >= 3 && t.n_floors <= EPM_MAX_FLOORS);
		}
		break;
	}
	}
	arena_free(a);
	return 0;
}
