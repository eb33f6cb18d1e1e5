/* test_dcom_exporter.c - the object exporter, OXID resolver, activators and
 * Remote Unknown (src/dcom/exporter.c, oxid.c, activator.c, remunk.c),
 * called through their rpc_iface_t tables with calls built here (no
 * sockets), a fake clock and a test class. Activation requests are the
 * impacket 0.10 stubs of test_dcom_codec.c (same provenance); the replies
 * are checked with our decoders, whose agreement with impacket's parsers is
 * shown by test_dcom_live.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dcom/actprops.h"
#include "dcom/exporter.h"
#include "dcom/objref.h"
#include "rpc/pdu.h"
#include "testutil.h"

/* impacket IRemoteSCMActivator.RemoteCreateInstance(CertSrv Request, ICertRequestD) */
static const char RCI_STUB[] =
	"050007000100000000000000443322116655887799aabbccddeeff0000000000000000005c570000a0010000a0010000"
	"4d454f5704000000a201000000000000c0000000000000463803000000000000c0000000000000460000000078010000"
	"680100000000000001100800cccccccc88000000cccccccc680100009800000000000000020000000400000000000000"
	"000000000000000000000000bb3f0000fc4500000000000004000000ab01000000000000c000000000000046a5010000"
	"00000000c000000000000046a401000000000000c000000000000046aa01000000000000c00000000000004604000000"
	"5800000028000000200000003000000001100800cccccccc44000000cccccccc746e9ed988fcd011b49800a0c90312f3"
	"000000000000000000000000010000000000000034420000000000000500070001000000706e9ed988fcd011b49800a0"
	"c90312f3fafafafa01100800cccccccc18000000cccccccc000000000000000000000000000000000000000000000000"
	"01100800cccccccc10000000cccccccc0000000000000000000000000000000001100800cccccccc1a000000cccccccc"
	"00000000d7870000000000000100aaaab0fa0000010000000700fafafafafafa";

/* impacket IRemoteSCMActivator.RemoteGetClassObject(CertSrv Request,
 * IID_IClassFactory) is tu_rgco_stub_hex (testutil.c). */

/* impacket IActivation.RemoteActivation(CertSrv Request, ICertRequestD) */
static const char RA_STUB[] =
	"0500070000000000000000000000000000000000000000000000000075400000000000000000000091ae000000000000"
	"746e9ed988fcd011b49800a0c90312f30000000000000000020000000000000001000000166d000001000000706e9ed9"
	"88fcd011b49800a0c90312f30100cece010000000700";

/* impacket IObjectExporter.ComplexPing(0, 0, [0xaaaa, 0xbbbb], []) */
static const char CP_NEW_STUB[] =
	"0000000000000000000002000000aaaaabe0000002000000aaaa000000000000bbbb00000000000000000000";

/* ---- a fake clock and a test class ---- */

static uint64_t g_now = 1000000;
static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return g_now;
}

static int g_created, g_released;
typedef struct obj_state {
	int magic;
} obj_state_t;

static void release_state(void *state)
{
	g_released++;
	free(state);
}

/* ICertRequestD-like op 3: echo(u32 v) -> u32 v+1, HRESULT 0 */
static cerr_t op_echo(dcom_call_t *dc)
{
	uint32_t v;
	if (!ndr_get_u32(&dc->rpc->in, &v)) {
		return CERR_MALFORMED;
	}
	obj_state_t *st = dc->object;
	assert_int_equal(st->magic, 0x5a5a);
	ndr_put_u32(dc->rpc->out, v + 1);
	dcom_put_hresult(dc->rpc->out, 0);
	return CERR_OK;
}

/* op 4: no [out] values, an HRESULT failure */
static cerr_t op_deny(dcom_call_t *dc)
{
	dcom_put_hresult(dc->rpc->out, 0x80094011u);
	return CERR_OK;
}

/* op 6 (ICertRequestD2 only): reports the IID the call was made on */
static cerr_t op_which(dcom_call_t *dc)
{
	ndr_put_guid(dc->rpc->out, dc->iid);
	dcom_put_hresult(dc->rpc->out, 0);
	return CERR_OK;
}

static guid_t CLSID_T, IID_T1, IID_T2;
static const dcom_op_fn t1_ops[] = {NULL, NULL, NULL, op_echo, op_deny};
static const dcom_op_fn t2_ops[] = {NULL, NULL, NULL, op_echo, op_deny, NULL, op_which};
static guid_t t2_bases[1];
static dcom_iface_t g_t1, g_t2;
static const dcom_iface_t *g_ifaces[2];

static cerr_t create_obj(void *arg, const dcom_activation_t *act, dcom_object_t *out)
{
	(void)arg;
	assert_true(guid_equal(act->clsid, &CLSID_T));
	assert_non_null(act->conn);
	obj_state_t *st = malloc(sizeof(*st));
	st->magic = 0x5a5a;
	g_created++;
	out->state = st;
	out->release = release_state;
	out->ifaces = g_ifaces;
	out->n_ifaces = 2;
	return CERR_OK;
}

static rpc_identity_t g_alice = {.user = "alice", .domain = "WORKGROUP", .package = "NTLM"};
static rpc_identity_t g_bob = {.user = "bob", .domain = "WORKGROUP", .package = "NTLM"};
static rpc_conn_info_t g_conn = {.peer_addr = "127.0.0.1", .local_addr = "127.0.0.1", .local_port = 135,
				 .auth_type = RPC_AUTH_WINNT, .auth_level = RPC_AUTH_LEVEL_PKT_PRIVACY,
				 .identity = &g_alice};

static dcom_exporter_t *g_x;
static const char *const g_names[] = {"CA1", "ca1.example.com"};

static int setup(void **state)
{
	(void)state;
	CLSID_T = guid_from_literal("d99e6e74-fc88-11d0-b498-00a0c90312f3");
	IID_T1 = guid_from_literal("d99e6e70-fc88-11d0-b498-00a0c90312f3");
	IID_T2 = guid_from_literal("5422fd3a-d4b8-4cef-a12e-e87d4ca22e90");
	t2_bases[0] = IID_T1;
	g_t1 = (dcom_iface_t){"ICertRequestD", IID_T1, t1_ops, 5, NULL, 0, NULL};
	g_t2 = (dcom_iface_t){"ICertRequestD2", IID_T2, t2_ops, 7, t2_bases, 1, NULL};
	g_ifaces[0] = &g_t1;
	g_ifaces[1] = &g_t2;
	g_created = g_released = 0;
	g_conn.identity = &g_alice;
	g_conn.auth_type = RPC_AUTH_WINNT;
	g_conn.auth_level = RPC_AUTH_LEVEL_PKT_PRIVACY;
	dcom_exporter_config_t cfg = {.clock_ms = fake_clock, .port = 49701, .names = g_names, .n_names = 2};
	g_x = dcom_exporter_new(&cfg);
	assert_non_null(g_x);
	assert_int_equal(dcom_register_class(g_x, &CLSID_T, create_obj, NULL), CERR_OK);
	assert_int_equal(dcom_register_class(g_x, &CLSID_T, create_obj, NULL), CERR_EXISTS);
	assert_int_equal(dcom_exporter_add_iface(g_x, &g_t1), CERR_OK);
	assert_int_equal(dcom_exporter_add_iface(g_x, &g_t2), CERR_OK);
	assert_int_equal(dcom_exporter_build_ifaces(g_x), CERR_OK);
	assert_int_equal(dcom_exporter_add_iface(g_x, &g_t2), CERR_INVALID_ARG); /* too late */
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dcom_exporter_free(g_x);
	g_x = NULL;
	assert_int_equal(g_created, g_released); /* every object released once */
	return 0;
}

/* ---- calling ---- */

typedef struct reply {
	cerr_t e;
	buf_t out;
	arena_t *arena;
} reply_t;

static void reply_free(reply_t *r)
{
	buf_free(&r->out);
	arena_free(r->arena);
}

static reply_t call_iface(const guid_t *uuid, uint16_t opnum, const guid_t *object, const uint8_t *stub,
			  size_t len)
{
	const rpc_iface_t *iface = dcom_exporter_rpc_iface(g_x, uuid);
	assert_non_null(iface);
	reply_t r;
	buf_init(&r.out, 0);
	r.arena = arena_new();
	r.e = tu_invoke(iface, &g_conn, opnum, object, stub, len, r.arena, &r.out);
	return r;
}

static reply_t call_hex(const guid_t *uuid, uint16_t opnum, const char *hex)
{
	static uint8_t stub[4096];
	size_t n = tu_unhex(hex, stub, sizeof(stub));
	return call_iface(uuid, opnum, NULL, stub, n);
}

/* orpc_stub starts an ORPC request: ORPCTHIS 5.7 with NULL extensions. */
static void orpc_stub(buf_t *b, uint16_t minor)
{
	buf_init(b, 0);
	orpcthis_t t = {.version = {5, minor}};
	dcom_put_orpcthis(b, &t);
}

/* Activation reply: ORPCTHAT, ppActProperties, HRESULT. */
typedef struct act_reply {
	uint32_t hr;
	bool has_props;
	dcom_actprops_out_t props;
} act_reply_t;

static act_reply_t parse_act_reply(reply_t *r)
{
	act_reply_t a = {0};
	assert_int_equal(r->e, CERR_OK);
	cur_t c;
	cur_init(&c, r->out.data, r->out.len);
	orpcthat_t th;
	ndr_blob_t mip;
	assert_true(dcom_get_orpcthat(&c, &th));
	assert_false(th.has_extensions);
	assert_true(dcom_get_unique_mip(&c, r->arena, DCOM_MAX_MIP_LEN, &mip));
	assert_true(ndr_get_u32(&c, &a.hr));
	assert_true(cur_empty(&c));
	a.has_props = mip.data != NULL;
	if (mip.data) {
		cur_t m;
		cur_init(&m, mip.data, mip.len);
		dcom_objref_t ref;
		assert_int_equal(dcom_objref_decode(&m, r->arena, &ref), CERR_OK);
		assert_int_equal(ref.flags, OBJREF_CUSTOM);
		assert_true(guid_equal(&ref.clsid, &DCOM_CLSID_ACTPROPSOUT));
		assert_true(guid_equal(&ref.iid, &DCOM_IID_IACTPROPSOUT));
		assert_int_equal(dcom_actprops_out_decode(ref.object_data, ref.object_data_len, r->arena, &a.props),
				 CERR_OK);
	}
	return a;
}

static dcom_stdobjref_t std_of(const ndr_blob_t *mip, arena_t *a, const guid_t *iid)
{
	cur_t m;
	cur_init(&m, mip->data, mip->len);
	dcom_objref_t ref;
	assert_int_equal(dcom_objref_decode(&m, a, &ref), CERR_OK);
	assert_int_equal(ref.flags, OBJREF_STANDARD);
	assert_true(guid_equal(&ref.iid, iid));
	/* the resolver's bindings, without endpoints */
	assert_int_equal(ref.resaddr.n_str, 3);
	assert_string_equal(ref.resaddr.str[0].addr, "127.0.0.1");
	assert_string_equal(ref.resaddr.str[1].addr, "CA1");
	return ref.std;
}

/* activate runs impacket's RemoteCreateInstance and returns the ICertRequestD IPID. */
static guid_t activate(void)
{
	reply_t r = call_hex(&DCOM_IID_IREMOTESCMACTIVATOR, DCOM_OP_REMOTE_CREATE_INSTANCE, RCI_STUB);
	act_reply_t a = parse_act_reply(&r);
	assert_int_equal(a.hr, 0);
	assert_true(a.has_props);
	assert_int_equal(a.props.n_ifs, 1);
	assert_int_equal(a.props.hresults[0], 0);
	dcom_stdobjref_t std = std_of(&a.props.ifaces[0], r.arena, &IID_T1);
	reply_free(&r);
	return std.ipid;
}

/* ---- tests ---- */

static void test_create_instance(void **state)
{
	(void)state;
	dcom_exporter_stats_t st;
	dcom_exporter_stats(g_x, &st);
	reply_t r = call_hex(&DCOM_IID_IREMOTESCMACTIVATOR, DCOM_OP_REMOTE_CREATE_INSTANCE, RCI_STUB);
	act_reply_t a = parse_act_reply(&r);
	assert_int_equal(a.hr, 0);
	assert_true(a.props.oxid == st.oxid);
	assert_true(guid_equal(&a.props.ipid_remunknown, &st.ipid_remunknown));
	assert_int_equal(a.props.authn_hint, RPC_AUTH_LEVEL_PKT_PRIVACY);
	assert_int_equal(a.props.server_version.major, 5);
	assert_int_equal(a.props.server_version.minor, 7);
	assert_int_equal(a.props.dest_ctx, 2);
	/* the exporter's bindings: the dialled address first, with the port */
	assert_int_equal(a.props.oxid_bindings.n_str, 3);
	assert_string_equal(a.props.oxid_bindings.str[0].addr, "127.0.0.1[49701]");
	assert_string_equal(a.props.oxid_bindings.str[1].addr, "CA1[49701]");
	assert_string_equal(a.props.oxid_bindings.str[2].addr, "ca1.example.com[49701]");
	assert_int_equal(a.props.oxid_bindings.str[0].tower_id, 7);
	assert_int_equal(a.props.oxid_bindings.n_sec, 2);
	assert_int_equal(a.props.oxid_bindings.sec[0].authn_svc, RPC_AUTH_WINNT);
	assert_int_equal(a.props.oxid_bindings.sec[1].authn_svc, RPC_AUTH_GSS_NEGOTIATE);
	assert_true(guid_equal(&a.props.iids[0], &IID_T1));
	dcom_stdobjref_t std = std_of(&a.props.ifaces[0], r.arena, &IID_T1);
	assert_int_equal(std.flags, 0); /* ping it */
	assert_int_equal(std.public_refs, 5);
	assert_true(std.oxid == st.oxid);
	reply_free(&r);
	dcom_exporter_stats(g_x, &st);
	assert_int_equal(st.objects, 1);
	assert_int_equal(st.ipids, 1);
	assert_int_equal(g_created, 1);

	/* an IPv4-mapped listener address is given in IPv4 form */
	g_conn.local_addr = "::ffff:10.1.2.3";
	r = call_hex(&DCOM_IID_IREMOTESCMACTIVATOR, DCOM_OP_REMOTE_CREATE_INSTANCE, RCI_STUB);
	a = parse_act_reply(&r);
	assert_string_equal(a.props.oxid_bindings.str[0].addr, "10.1.2.3[49701]");
	reply_free(&r);
	g_conn.local_addr = "127.0.0.1";
}

static void test_activation_refusals(void **state)
{
	(void)state;
	/* unauthenticated: the machine-wide limits refuse, as a fault */
	g_conn.auth_type = RPC_AUTH_NONE;
	g_conn.auth_level = RPC_AUTH_LEVEL_NONE;
	g_conn.identity = NULL;
	reply_t r = call_hex(&DCOM_IID_IREMOTESCMACTIVATOR, DCOM_OP_REMOTE_CREATE_INSTANCE, RCI_STUB);
	assert_int_equal(r.e, CERR_NCA_S_FAULT_ACCESS_DENIED);
	reply_free(&r);
	/* anonymous NTLM likewise */
	rpc_identity_t anon = {.user = "", .domain = "", .anonymous = true};
	g_conn.auth_type = RPC_AUTH_WINNT;
	g_conn.auth_level = RPC_AUTH_LEVEL_PKT_PRIVACY;
	g_conn.identity = &anon;
	r = call_hex(&DCOM_IID_IREMOTESCMACTIVATOR, DCOM_OP_REMOTE_CREATE_INSTANCE, RCI_STUB);
	assert_int_equal(r.e, CERR_NCA_S_FAULT_ACCESS_DENIED);
	reply_free(&r);
	/* below PKT_INTEGRITY (KB5004442 hardening): E_ACCESSDENIED */
	g_conn.identity = &g_alice;
	g_conn.auth_level = RPC_AUTH_LEVEL_CONNECT;
	r = call_hex(&DCOM_IID_IREMOTESCMACTIVATOR, DCOM_OP_REMOTE_CREATE_INSTANCE, RCI_STUB);
	act_reply_t a = parse_act_reply(&r);
	assert_int_equal(a.hr, 0x80070005u);
	assert_false(a.has_props);
	reply_free(&r);
	g_conn.auth_level = RPC_AUTH_LEVEL_PKT_INTEGRITY;
	r = call_hex(&DCOM_IID_IREMOTESCMACTIVATOR, DCOM_OP_REMOTE_CREATE_INSTANCE, RCI_STUB);
	a = parse_act_reply(&r);
	assert_int_equal(a.hr, 0);
	reply_free(&r);
	assert_int_equal(g_created, 1);

	/* an unknown class */
	uint8_t stub[1024];
	size_t n = tu_unhex(RCI_STUB, stub, sizeof(stub));
	stub[272] ^= 0xff; /* classId's first byte: MIP data at 48, blob at 96, properties at 256 */
	assert_int_equal(stub[272], 0x74 ^ 0xff);
	r = call_iface(&DCOM_IID_IREMOTESCMACTIVATOR, DCOM_OP_REMOTE_CREATE_INSTANCE, NULL, stub, n);
	a = parse_act_reply(&r);
	assert_int_equal(a.hr, 0x80040154u); /* REGDB_E_CLASSNOTREG */
	reply_free(&r);

	/* an interface the class lacks: E_NOINTERFACE, and no object left behind */
	n = tu_unhex(RCI_STUB, stub, sizeof(stub));
	stub[324] ^= 0xff; /* the requested IID (pIID's pointee) */
	assert_int_equal(stub[324], 0x70 ^ 0xff);
	r = call_iface(&DCOM_IID_IREMOTESCMACTIVATOR, DCOM_OP_REMOTE_CREATE_INSTANCE, NULL, stub, n);
	a = parse_act_reply(&r);
	assert_int_equal(a.hr, 0x80004002u);
	reply_free(&r);
	assert_int_equal(g_created, 2);
	assert_int_equal(g_released, 1);

	/* a higher COM minor version: RPC_E_VERSION_MISMATCH (MS-DCOM 3.1.2.5.2.3) */
	n = tu_unhex(RCI_STUB, stub, sizeof(stub));
	stub[2] = 8;
	r = call_iface(&DCOM_IID_IREMOTESCMACTIVATOR, DCOM_OP_REMOTE_CREATE_INSTANCE, NULL, stub, n);
	a = parse_act_reply(&r);
	assert_int_equal(a.hr, 0x80010110u);
	reply_free(&r);
	/* a damaged blob is an NDR fault; opnums 0-2 are out of range */
	n = tu_unhex(RCI_STUB, stub, sizeof(stub));
	stub[96] ^= 0x40; /* dwSize */
	r = call_iface(&DCOM_IID_IREMOTESCMACTIVATOR, DCOM_OP_REMOTE_CREATE_INSTANCE, NULL, stub, n);
	assert_int_equal(r.e, CERR_MALFORMED);
	reply_free(&r);
	r = call_iface(&DCOM_IID_IREMOTESCMACTIVATOR, 1, NULL, stub, n);
	assert_int_equal(r.e, CERR_NCA_S_OP_RNG_ERROR);
	reply_free(&r);
}

static int g_hook_calls;
static dcom_check_t g_last_check;
static cerr_t g_hook_answer;
static cerr_t hook(void *arg, const dcom_check_t *req)
{
	assert_ptr_equal(arg, &g_hook_calls);
	g_hook_calls++;
	g_last_check = *req;
	return g_hook_answer;
}

static void test_security_hook(void **state)
{
	(void)state;
	dcom_security_hooks_t h = {.arg = &g_hook_calls, .check = hook};
	dcom_exporter_set_security_hooks(g_x, &h);
	g_hook_calls = 0;
	g_hook_answer = CERR_NCA_S_FAULT_ACCESS_DENIED; /* a launch limit refusing (event 10027) */
	reply_t r = call_hex(&DCOM_IID_IREMOTESCMACTIVATOR, DCOM_OP_REMOTE_CREATE_INSTANCE, RCI_STUB);
	assert_int_equal(r.e, CERR_NCA_S_FAULT_ACCESS_DENIED);
	reply_free(&r);
	assert_int_equal(g_hook_calls, 1);
	assert_int_equal(g_last_check.kind, DCOM_CHECK_ACTIVATE);
	assert_true(guid_equal(g_last_check.clsid, &CLSID_T));
	assert_ptr_equal(g_last_check.conn, &g_conn);
	assert_false(g_last_check.class_object);
	assert_int_equal(g_created, 0);

	g_hook_answer = CERR_E_ACCESSDENIED; /* the level hardening (event 10036) */
	r = call_hex(&DCOM_IID_IREMOTESCMACTIVATOR, DCOM_OP_REMOTE_CREATE_INSTANCE, RCI_STUB);
	act_reply_t a = parse_act_reply(&r);
	assert_int_equal(a.hr, 0x80070005u);
	reply_free(&r);

	/* the hook replaces the default: even an anonymous caller gets through */
	g_hook_answer = CERR_OK;
	g_conn.identity = NULL;
	g_conn.auth_type = RPC_AUTH_NONE;
	guid_t ipid = activate();
	g_conn.identity = &g_alice;
	g_conn.auth_type = RPC_AUTH_WINNT;
	/* calls are checked too, with the interface and opnum */
	buf_t b;
	orpc_stub(&b, 7);
	ndr_put_u32(&b, 41);
	g_hook_answer = CERR_E_ACCESSDENIED;
	r = call_iface(&IID_T1, 3, &ipid, b.data, b.len);
	assert_int_equal(r.e, CERR_NCA_S_FAULT_ACCESS_DENIED);
	assert_int_equal(g_last_check.kind, DCOM_CHECK_CALL);
	assert_true(guid_equal(g_last_check.iid, &IID_T1));
	assert_int_equal(g_last_check.opnum, 3);
	reply_free(&r);
	g_hook_answer = CERR_OK;
	r = call_iface(&IID_T1, 3, &ipid, b.data, b.len);
	assert_int_equal(r.e, CERR_OK);
	reply_free(&r);
	buf_free(&b);
	dcom_exporter_set_security_hooks(g_x, NULL);
}

/* orpc_reply_u32 checks ORPCTHAT + one u32 + HRESULT. */
static void check_echo(reply_t *r, uint32_t want)
{
	assert_int_equal(r->e, CERR_OK);
	cur_t c;
	cur_init(&c, r->out.data, r->out.len);
	orpcthat_t th;
	uint32_t v = 0, hr = 0;
	assert_true(dcom_get_orpcthat(&c, &th));
	assert_true(ndr_get_u32(&c, &v) && ndr_get_u32(&c, &hr) && cur_empty(&c));
	assert_int_equal(v, want);
	assert_int_equal(hr, 0);
}

static void test_orpc_dispatch(void **state)
{
	(void)state;
	guid_t ipid = activate();
	buf_t b;
	orpc_stub(&b, 7);
	ndr_put_u32(&b, 41);
	reply_t r = call_iface(&IID_T1, 3, &ipid, b.data, b.len);
	check_echo(&r, 42);
	reply_free(&r);
	/* op 4 writes only its HRESULT */
	r = call_iface(&IID_T1, 4, &ipid, b.data, b.len);
	assert_int_equal(r.e, CERR_OK);
	assert_int_equal(r.out.len, 12);
	assert_int_equal((uint32_t)r.out.data[8] | (uint32_t)r.out.data[9] << 8 | (uint32_t)r.out.data[10] << 16 |
				 (uint32_t)r.out.data[11] << 24,
			 0x80094011u);
	reply_free(&r);
	/* an unknown IPID: RPC_E_DISCONNECTED as a fault; no object UUID likewise */
	guid_t other = guid_from_literal("12345678-1234-1234-1234-123456789abc");
	r = call_iface(&IID_T1, 3, &other, b.data, b.len);
	assert_int_equal(r.e, CERR_FAULT_RPC_E_DISCONNECTED);
	assert_int_equal(cerr_value(r.e), 0x80010108u);
	reply_free(&r);
	r = call_iface(&IID_T1, 3, NULL, b.data, b.len);
	assert_int_equal(r.e, CERR_FAULT_RPC_E_DISCONNECTED);
	reply_free(&r);
	/* the ICertRequestD IPID on the ICertRequestD2 context: E_NOINTERFACE */
	r = call_iface(&IID_T2, 3, &ipid, b.data, b.len);
	assert_int_equal(r.e, CERR_FAULT_E_NOINTERFACE);
	reply_free(&r);
	/* the Remote Unknown's IPID on a class interface: E_NOINTERFACE */
	dcom_exporter_stats_t st;
	dcom_exporter_stats(g_x, &st);
	r = call_iface(&IID_T1, 3, &st.ipid_remunknown, b.data, b.len);
	assert_int_equal(r.e, CERR_FAULT_E_NOINTERFACE);
	reply_free(&r);
	/* opnum beyond the interface's table */
	r = call_iface(&IID_T1, 6, &ipid, b.data, b.len);
	assert_int_equal(r.e, CERR_NCA_S_OP_RNG_ERROR);
	reply_free(&r);
	buf_free(&b);
	/* COM 5.8: RPC_E_VERSION_MISMATCH (MS-DCOM 3.1.1.5.4); bad NDR */
	orpc_stub(&b, 8);
	ndr_put_u32(&b, 41);
	r = call_iface(&IID_T1, 3, &ipid, b.data, b.len);
	assert_int_equal(r.e, CERR_FAULT_RPC_E_VERSION_MISMATCH);
	reply_free(&r);
	r = call_iface(&IID_T1, 3, &ipid, b.data, 10);
	assert_int_equal(r.e, CERR_MALFORMED);
	reply_free(&r);
	buf_free(&b);
	/* the object saw the call: last_use moved (checked through GC in test_gc) */
}

/* rem_qi builds RemQueryInterface(ripid, cRefs, iids) on the Remote Unknown. */
static reply_t rem_qi(const guid_t *ripid, uint32_t crefs, const guid_t *iids, uint16_t n, bool via2)
{
	buf_t b;
	orpc_stub(&b, 7);
	ndr_put_guid(&b, ripid);
	ndr_put_u32(&b, crefs);
	ndr_put_u16(&b, n);
	ndr_put_conformance(&b, n);
	for (uint16_t i = 0; i < n; i++) {
		ndr_put_guid(&b, &iids[i]);
	}
	dcom_exporter_stats_t st;
	dcom_exporter_stats(g_x, &st);
	reply_t r = call_iface(via2 ? &DCOM_IID_IREMUNKNOWN2 : &DCOM_IID_IREMUNKNOWN, DCOM_OP_REM_QUERY_INTERFACE,
			       &st.ipid_remunknown, b.data, b.len);
	buf_free(&b);
	return r;
}

/* parse_qi reads ORPCTHAT, the REMQIRESULT array and the HRESULT. */
static uint32_t parse_qi(reply_t *r, uint16_t n, uint32_t *hrs, dcom_stdobjref_t *std)
{
	assert_int_equal(r->e, CERR_OK);
	cur_t c;
	cur_init(&c, r->out.data, r->out.len);
	orpcthat_t th;
	uint32_t ref = 0, mc, hr;
	assert_true(dcom_get_orpcthat(&c, &th) && ndr_get_unique_ptr(&c, &ref));
	if (ref) {
		assert_true(ndr_get_conformance(&c, &mc));
		assert_int_equal(mc, n);
		for (uint16_t i = 0; i < n; i++) {
			assert_true(cur_align(&c, 8) && ndr_get_u32(&c, &hrs[i]) && ndr_get_u32(&c, &std[i].flags) &&
				    ndr_get_u32(&c, &std[i].public_refs) && ndr_get_u64(&c, &std[i].oxid) &&
				    ndr_get_u64(&c, &std[i].oid) && ndr_get_guid(&c, &std[i].ipid));
		}
	}
	assert_true(ndr_get_u32(&c, &hr) && cur_empty(&c));
	return hr;
}

static reply_t rem_refs(uint16_t opnum, const guid_t *ipid, uint32_t pub, uint32_t priv)
{
	buf_t b;
	orpc_stub(&b, 7);
	ndr_put_u16(&b, 1);
	ndr_put_conformance(&b, 1);
	ndr_put_guid(&b, ipid);
	ndr_put_u32(&b, pub);
	ndr_put_u32(&b, priv);
	dcom_exporter_stats_t st;
	dcom_exporter_stats(g_x, &st);
	reply_t r = call_iface(&DCOM_IID_IREMUNKNOWN, opnum, &st.ipid_remunknown, b.data, b.len);
	buf_free(&b);
	return r;
}

static void test_remunknown(void **state)
{
	(void)state;
	guid_t ipid1 = activate();
	guid_t want[3] = {IID_T2, IID_T1, guid_from_literal("00000000-1111-2222-3333-444444444444")};
	uint32_t hrs[3];
	dcom_stdobjref_t std[3];
	reply_t r = rem_qi(&ipid1, 2, want, 3, false);
	assert_int_equal(parse_qi(&r, 3, hrs, std), 0);
	reply_free(&r);
	assert_int_equal(hrs[0], 0);
	assert_int_equal(hrs[1], 0);
	assert_int_equal(hrs[2], 0x80004002u);
	assert_int_equal(std[0].public_refs, 2);
	assert_true(guid_equal(&std[1].ipid, &ipid1)); /* the existing IPID, more references */
	assert_false(guid_equal(&std[0].ipid, &ipid1));
	guid_t ipid2 = std[0].ipid;
	dcom_exporter_stats_t st;
	dcom_exporter_stats(g_x, &st);
	assert_int_equal(st.ipids, 2);
	assert_true(std[0].oxid == st.oxid);
	assert_true(std[0].oid == std[1].oid);

	/* the ICertRequestD2 IPID answers on both contexts (ICertRequestD is its base) */
	buf_t b;
	orpc_stub(&b, 7);
	ndr_put_u32(&b, 1);
	r = call_iface(&IID_T1, 3, &ipid2, b.data, b.len);
	check_echo(&r, 2);
	reply_free(&r);
	r = call_iface(&IID_T2, 6, &ipid2, b.data, b.len);
	assert_int_equal(r.e, CERR_OK);
	assert_int_equal(r.out.len, 8 + 16 + 4);
	guid_t seen;
	cur_t c;
	cur_init(&c, r.out.data + 8, 16);
	assert_true(ndr_get_guid(&c, &seen) && guid_equal(&seen, &IID_T2));
	reply_free(&r);
	buf_free(&b);

	/* an unknown ripid: RPC_E_INVALID_OBJECT (MS-DCOM 3.1.1.5.6.1.1), no results */
	guid_t other = guid_from_literal("12345678-1234-1234-1234-123456789abc");
	r = rem_qi(&other, 1, want, 1, true);
	assert_int_equal(parse_qi(&r, 1, hrs, std), 0x80010114u);
	reply_free(&r);
	/* QI on the Remote Unknown itself gives its own IPID */
	guid_t iru = DCOM_IID_IREMUNKNOWN;
	r = rem_qi(&st.ipid_remunknown, 1, &iru, 1, false);
	assert_int_equal(parse_qi(&r, 1, hrs, std), 0);
	assert_true(guid_equal(&std[0].ipid, &st.ipid_remunknown));
	reply_free(&r);

	/* RemAddRef: results per IPID, CO_E_OBJNOTREG for unknown ones */
	r = rem_refs(DCOM_OP_REM_ADD_REF, &ipid2, 1, 1);
	assert_int_equal(r.e, CERR_OK);
	assert_int_equal(r.out.len, 8 + 4 + 4 + 4);
	assert_int_equal(r.out.data[12], 0);
	reply_free(&r);
	r = rem_refs(DCOM_OP_REM_ADD_REF, &other, 1, 0);
	assert_int_equal(r.out.data[15], 0x80);
	assert_int_equal(r.out.data[12] | r.out.data[13] << 8, 0x01fb);
	reply_free(&r);

	/* RemRelease: ipid1 had 5 + 2, ipid2 2 + 1 public and 1 private */
	r = rem_refs(DCOM_OP_REM_RELEASE, &ipid1, 7, 0);
	assert_int_equal(r.e, CERR_OK);
	assert_int_equal(r.out.len, 12);
	reply_free(&r);
	dcom_exporter_stats(g_x, &st);
	assert_int_equal(st.ipids, 1);
	assert_int_equal(st.objects, 1);
	r = rem_refs(DCOM_OP_REM_RELEASE, &ipid2, 100, 0);
	reply_free(&r);
	assert_int_equal(g_released, 0); /* the private reference keeps it */
	r = rem_refs(DCOM_OP_REM_RELEASE, &ipid2, 0, 1);
	reply_free(&r);
	dcom_exporter_stats(g_x, &st);
	assert_int_equal(st.ipids, 0);
	assert_int_equal(st.objects, 0);
	assert_int_equal(g_released, 1);
	/* calls on a released IPID: disconnected */
	orpc_stub(&b, 7);
	ndr_put_u32(&b, 1);
	r = call_iface(&IID_T1, 3, &ipid2, b.data, b.len);
	assert_int_equal(r.e, CERR_FAULT_RPC_E_DISCONNECTED);
	reply_free(&r);
	buf_free(&b);
	/* releasing the Remote Unknown does nothing */
	r = rem_refs(DCOM_OP_REM_RELEASE, &st.ipid_remunknown, 100, 100);
	reply_free(&r);
	r = rem_qi(&st.ipid_remunknown, 1, &iru, 1, false);
	assert_int_equal(parse_qi(&r, 1, hrs, std), 0);
	reply_free(&r);
}

static void test_remqi2(void **state)
{
	(void)state;
	guid_t ipid1 = activate();
	buf_t b;
	orpc_stub(&b, 7);
	guid_t want[2] = {IID_T2, guid_from_literal("00000000-1111-2222-3333-444444444444")};
	ndr_put_guid(&b, &ipid1);
	ndr_put_u16(&b, 2);
	ndr_put_conformance(&b, 2);
	ndr_put_guid(&b, &want[0]);
	ndr_put_guid(&b, &want[1]);
	dcom_exporter_stats_t st;
	dcom_exporter_stats(g_x, &st);
	/* only on IRemUnknown2 */
	reply_t r = call_iface(&DCOM_IID_IREMUNKNOWN, DCOM_OP_REM_QUERY_INTERFACE2, &st.ipid_remunknown, b.data, b.len);
	assert_int_equal(r.e, CERR_NCA_S_OP_RNG_ERROR);
	reply_free(&r);
	r = call_iface(&DCOM_IID_IREMUNKNOWN2, DCOM_OP_REM_QUERY_INTERFACE2, &st.ipid_remunknown, b.data, b.len);
	assert_int_equal(r.e, CERR_OK);
	cur_t c;
	cur_init(&c, r.out.data, r.out.len);
	orpcthat_t th;
	uint32_t mc = 0, hr0 = 0, hr1 = 0, p0 = 0, p1 = 0, hr = 0;
	ndr_blob_t mif;
	assert_true(dcom_get_orpcthat(&c, &th) && ndr_get_conformance(&c, &mc) && mc == 2 && ndr_get_u32(&c, &hr0) &&
		    ndr_get_u32(&c, &hr1) && ndr_get_conformance(&c, &mc) && mc == 2 &&
		    ndr_get_unique_ptr(&c, &p0) && ndr_get_unique_ptr(&c, &p1));
	assert_int_equal(hr0, 0);
	assert_int_equal(hr1, 0x80004002u);
	assert_int_not_equal(p0, 0);
	assert_int_equal(p1, 0);
	assert_true(dcom_get_mip_body(&c, r.arena, DCOM_MAX_MIP_LEN, &mif));
	assert_true(ndr_get_u32(&c, &hr) && cur_empty(&c));
	assert_int_equal(hr, 0);
	dcom_stdobjref_t std = std_of(&mif, r.arena, &IID_T2);
	assert_int_equal(std.public_refs, 5);
	reply_free(&r);
	buf_free(&b);
}

static reply_t complex_ping(uint64_t setid, uint16_t seq, const uint64_t *add, uint16_t n_add, const uint64_t *del,
			    uint16_t n_del)
{
	buf_t b;
	buf_init(&b, 0);
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	ndr_put_u64(&b, setid);
	ndr_put_u16(&b, seq);
	ndr_put_u16(&b, n_add);
	ndr_put_u16(&b, n_del);
	if (ndr_put_unique_ptr(&b, &ids, n_add > 0)) {
		ndr_put_conformance(&b, n_add);
		for (uint16_t i = 0; i < n_add; i++) {
			ndr_put_u64(&b, add[i]);
		}
	}
	if (ndr_put_unique_ptr(&b, &ids, n_del > 0)) {
		ndr_put_conformance(&b, n_del);
		for (uint16_t i = 0; i < n_del; i++) {
			ndr_put_u64(&b, del[i]);
		}
	}
	reply_t r = call_iface(&DCOM_IID_IOBJECTEXPORTER, DCOM_OP_COMPLEX_PING, NULL, b.data, b.len);
	buf_free(&b);
	return r;
}

static uint32_t parse_complex(reply_t *r, uint64_t *setid)
{
	assert_int_equal(r->e, CERR_OK);
	cur_t c;
	cur_init(&c, r->out.data, r->out.len);
	uint16_t backoff = 0;
	uint32_t st = 0;
	assert_true(ndr_get_u64(&c, setid) && ndr_get_u16(&c, &backoff) && ndr_get_u32(&c, &st) && cur_empty(&c));
	assert_int_equal(backoff, 0);
	return st;
}

static uint32_t simple_ping(uint64_t setid)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++) {
		b[i] = (uint8_t)(setid >> (8 * i));
	}
	reply_t r = call_iface(&DCOM_IID_IOBJECTEXPORTER, DCOM_OP_SIMPLE_PING, NULL, b, 8);
	assert_int_equal(r.e, CERR_OK);
	assert_int_equal(r.out.len, 4);
	uint32_t st = r.out.data[0] | r.out.data[1] << 8 | (uint32_t)r.out.data[2] << 16 | (uint32_t)r.out.data[3] << 24;
	reply_free(&r);
	return st;
}

static uint64_t oid_of(const guid_t *ipid)
{
	/* RemQueryInterface for IUnknown reports the object's OID */
	guid_t iu = DCOM_IID_IUNKNOWN;
	uint32_t hr;
	dcom_stdobjref_t std;
	reply_t r = rem_qi(ipid, 1, &iu, 1, false);
	assert_int_equal(parse_qi(&r, 1, &hr, &std), 0);
	reply_free(&r);
	return std.oid;
}

static void test_gc(void **state)
{
	(void)state;
	dcom_exporter_stats_t st;
	/* unpinged: reclaimed 3 x 120 s after its last use, not before */
	guid_t a = activate();
	g_now += 359000;
	dcom_exporter_collect(g_x);
	dcom_exporter_stats(g_x, &st);
	assert_int_equal(st.objects, 1);
	g_now += 1000;
	dcom_exporter_collect(g_x);
	dcom_exporter_stats(g_x, &st);
	assert_int_equal(st.objects, 0);
	assert_int_equal(g_released, 1);
	buf_t b;
	orpc_stub(&b, 7);
	ndr_put_u32(&b, 1);
	reply_t r = call_iface(&IID_T1, 3, &a, b.data, b.len);
	assert_int_equal(r.e, CERR_FAULT_RPC_E_DISCONNECTED);
	reply_free(&r);

	/* a call keeps it alive */
	a = activate();
	g_now += 300000;
	r = call_iface(&IID_T1, 3, &a, b.data, b.len);
	check_echo(&r, 2);
	reply_free(&r);
	g_now += 300000;
	dcom_exporter_collect(g_x);
	dcom_exporter_stats(g_x, &st);
	assert_int_equal(st.objects, 1);

	/* pinged: a set holding it keeps it however idle */
	uint64_t oid = oid_of(&a);
	uint64_t unknown = 0x1234;
	uint64_t add[2] = {oid, unknown};
	uint64_t setid;
	r = complex_ping(0, 1, add, 2, NULL, 0);
	assert_int_equal(parse_complex(&r, &setid), 0);
	reply_free(&r);
	assert_true(setid >= 1 && setid <= 0xffff); /* impacket puts it in a u16 */
	dcom_exporter_stats(g_x, &st);
	assert_int_equal(st.sets, 1);
	for (int i = 0; i < 5; i++) {
		g_now += 120000;
		assert_int_equal(simple_ping(setid), 0);
		dcom_exporter_collect(g_x);
	}
	dcom_exporter_stats(g_x, &st);
	assert_int_equal(st.objects, 1);
	/* another identity may not touch the set */
	g_conn.identity = &g_bob;
	assert_int_equal(simple_ping(setid), 1912); /* OR_INVALID_SET */
	r = complex_ping(setid, 2, NULL, 0, &oid, 1);
	uint64_t back;
	assert_int_equal(parse_complex(&r, &back), 1912);
	assert_true(back == setid);
	reply_free(&r);
	g_conn.identity = &g_alice;
	/* adding an unknown OID to an existing set: OR_INVALID_OID */
	r = complex_ping(setid, 2, &unknown, 1, NULL, 0);
	assert_int_equal(parse_complex(&r, &back), 1911);
	reply_free(&r);
	assert_int_equal(simple_ping(0x10000), 1912);
	/* pings stop: the set dies after 3 periods, then the object */
	g_now += 360000;
	dcom_exporter_collect(g_x);
	dcom_exporter_stats(g_x, &st);
	assert_int_equal(st.sets, 0);
	assert_int_equal(st.objects, 0);
	assert_int_equal(simple_ping(setid), 1912);

	/* removing it from the set lets it go after the timeout */
	a = activate();
	oid = oid_of(&a);
	r = complex_ping(0, 1, &oid, 1, NULL, 0);
	assert_int_equal(parse_complex(&r, &setid), 0);
	reply_free(&r);
	g_now += 200000;
	r = complex_ping(setid, 1, NULL, 0, &oid, 1);
	assert_int_equal(parse_complex(&r, &back), 0);
	reply_free(&r);
	g_now += 200000;
	assert_int_equal(simple_ping(setid), 0);
	dcom_exporter_collect(g_x);
	dcom_exporter_stats(g_x, &st);
	assert_int_equal(st.objects, 0);
	assert_int_equal(st.sets, 1);
	/* an older sequence number changes nothing */
	a = activate();
	oid = oid_of(&a);
	r = complex_ping(setid, 0, &oid, 1, NULL, 0);
	assert_int_equal(parse_complex(&r, &back), 0);
	reply_free(&r);
	g_now += 200000;
	assert_int_equal(simple_ping(setid), 0);
	g_now += 200000;
	assert_int_equal(simple_ping(setid), 0);
	dcom_exporter_collect(g_x);
	dcom_exporter_stats(g_x, &st);
	assert_int_equal(st.objects, 0);
	buf_free(&b);

	/* impacket's first ComplexPing (unknown OIDs): a new, empty set */
	r = call_hex(&DCOM_IID_IOBJECTEXPORTER, DCOM_OP_COMPLEX_PING, CP_NEW_STUB);
	assert_int_equal(parse_complex(&r, &setid), 0);
	assert_true(setid != 0);
	reply_free(&r);
}

static void test_resolver(void **state)
{
	(void)state;
	dcom_exporter_stats_t st;
	dcom_exporter_stats(g_x, &st);
	/* ServerAlive2: COMVERSION 5.7, bindings without endpoints, reserved 0, status 0 */
	reply_t r = call_iface(&DCOM_IID_IOBJECTEXPORTER, DCOM_OP_SERVER_ALIVE2, NULL, NULL, 0);
	assert_int_equal(r.e, CERR_OK);
	cur_t c;
	cur_init(&c, r.out.data, r.out.len);
	uint16_t maj = 0, min = 0;
	dcom_dualstringarray_t d;
	bool present = false;
	uint32_t reserved = 0, status = 0;
	assert_true(ndr_get_u16(&c, &maj) && ndr_get_u16(&c, &min) && dcom_get_unique_dsa(&c, r.arena, &d, &present) &&
		    ndr_get_u32(&c, &reserved) && ndr_get_u32(&c, &status) && cur_empty(&c));
	assert_int_equal(maj, 5);
	assert_int_equal(min, 7);
	assert_true(present);
	assert_int_equal(d.n_str, 3);
	assert_string_equal(d.str[0].addr, "127.0.0.1");
	assert_string_equal(d.str[2].addr, "ca1.example.com");
	assert_int_equal(reserved, 0);
	assert_int_equal(status, 0);
	reply_free(&r);
	/* even unauthenticated (MS-DCOM 3.1.2.5.1.6: no permission check) */
	g_conn.identity = NULL;
	g_conn.auth_type = RPC_AUTH_NONE;
	g_conn.auth_level = RPC_AUTH_LEVEL_NONE;
	r = call_iface(&DCOM_IID_IOBJECTEXPORTER, DCOM_OP_SERVER_ALIVE2, NULL, NULL, 0);
	assert_int_equal(r.e, CERR_OK);
	reply_free(&r);
	r = call_iface(&DCOM_IID_IOBJECTEXPORTER, DCOM_OP_SERVER_ALIVE, NULL, NULL, 0);
	assert_int_equal(r.e, CERR_OK);
	assert_int_equal(r.out.len, 4);
	reply_free(&r);
	g_conn.identity = &g_alice;
	g_conn.auth_type = RPC_AUTH_WINNT;
	g_conn.auth_level = RPC_AUTH_LEVEL_PKT_PRIVACY;

	/* ResolveOxid2 for our OXID, then for another (impacket's request layout) */
	for (int v2 = 0; v2 < 2; v2++) {
		for (int ours = 0; ours < 2; ours++) {
			buf_t b;
			buf_init(&b, 0);
			ndr_put_u64(&b, ours ? st.oxid : 0x1122334455667788ull);
			ndr_put_u16(&b, 1);
			ndr_put_conformance(&b, 1);
			ndr_put_u16(&b, 7);
			r = call_iface(&DCOM_IID_IOBJECTEXPORTER, v2 ? DCOM_OP_RESOLVE_OXID2 : DCOM_OP_RESOLVE_OXID,
				       NULL, b.data, b.len);
			buf_free(&b);
			assert_int_equal(r.e, CERR_OK);
			cur_init(&c, r.out.data, r.out.len);
			guid_t ipid;
			uint32_t hint;
			assert_true(dcom_get_unique_dsa(&c, r.arena, &d, &present) && ndr_get_guid(&c, &ipid) &&
				    ndr_get_u32(&c, &hint));
			if (v2) {
				assert_true(ndr_get_u16(&c, &maj) && ndr_get_u16(&c, &min));
			}
			assert_true(ndr_get_u32(&c, &status) && cur_empty(&c));
			if (ours) {
				assert_true(present);
				assert_string_equal(d.str[0].addr, "127.0.0.1[49701]");
				assert_true(guid_equal(&ipid, &st.ipid_remunknown));
				assert_int_equal(hint, RPC_AUTH_LEVEL_PKT_PRIVACY);
				assert_int_equal(status, 0);
			} else {
				assert_false(present);
				assert_int_equal(status, 1910); /* OR_INVALID_OXID */
			}
			reply_free(&r);
		}
	}
}

static void test_class_object(void **state)
{
	(void)state;
	reply_t r = call_hex(&DCOM_IID_IREMOTESCMACTIVATOR, DCOM_OP_REMOTE_GET_CLASS_OBJECT, tu_rgco_stub_hex);
	act_reply_t a = parse_act_reply(&r);
	assert_int_equal(a.hr, 0);
	assert_int_equal(g_created, 0); /* the class factory, not an instance */
	dcom_stdobjref_t cf = std_of(&a.props.ifaces[0], r.arena, &DCOM_IID_ICLASSFACTORY);
	reply_free(&r);
	/* IClassFactory::RemoteCreateInstance(riid = ICertRequestD2) */
	buf_t b;
	orpc_stub(&b, 7);
	ndr_put_guid(&b, &IID_T2);
	r = call_iface(&DCOM_IID_ICLASSFACTORY, DCOM_OP_CF_CREATE_INSTANCE, &cf.ipid, b.data, b.len);
	assert_int_equal(r.e, CERR_OK);
	cur_t c;
	cur_init(&c, r.out.data, r.out.len);
	orpcthat_t th;
	ndr_blob_t mip;
	uint32_t hr = 0;
	assert_true(dcom_get_orpcthat(&c, &th) && dcom_get_unique_mip(&c, r.arena, DCOM_MAX_MIP_LEN, &mip) &&
		    ndr_get_u32(&c, &hr) && cur_empty(&c));
	assert_int_equal(hr, 0);
	dcom_stdobjref_t inst = std_of(&mip, r.arena, &IID_T2);
	reply_free(&r);
	buf_free(&b);
	assert_int_equal(g_created, 1);
	orpc_stub(&b, 7);
	ndr_put_u32(&b, 9);
	r = call_iface(&IID_T1, 3, &inst.ipid, b.data, b.len);
	check_echo(&r, 10);
	reply_free(&r);
	/* RemoteLock */
	r = call_iface(&DCOM_IID_ICLASSFACTORY, DCOM_OP_CF_LOCK, &cf.ipid, b.data, b.len);
	assert_int_equal(r.e, CERR_OK);
	assert_int_equal(r.out.len, 12);
	reply_free(&r);
	buf_free(&b);
}

static void test_remote_activation(void **state)
{
	(void)state;
	reply_t r = call_hex(&DCOM_IID_IACTIVATION, DCOM_OP_REMOTE_ACTIVATION, RA_STUB);
	assert_int_equal(r.e, CERR_OK);
	dcom_exporter_stats_t st;
	dcom_exporter_stats(g_x, &st);
	cur_t c;
	cur_init(&c, r.out.data, r.out.len);
	orpcthat_t th;
	uint64_t oxid = 0;
	dcom_dualstringarray_t d;
	bool present = false;
	guid_t ipid_ru;
	uint32_t hint = 0, hr = 0, mc = 0, p = 0, res = 0, status = 0;
	uint16_t maj = 0, min = 0;
	ndr_blob_t mip;
	assert_true(dcom_get_orpcthat(&c, &th) && ndr_get_u64(&c, &oxid) &&
		    dcom_get_unique_dsa(&c, r.arena, &d, &present) && ndr_get_guid(&c, &ipid_ru) &&
		    ndr_get_u32(&c, &hint) && ndr_get_u16(&c, &maj) && ndr_get_u16(&c, &min) && ndr_get_u32(&c, &hr) &&
		    ndr_get_conformance(&c, &mc) && mc == 1 && ndr_get_unique_ptr(&c, &p) && p != 0 &&
		    dcom_get_mip_body(&c, r.arena, DCOM_MAX_MIP_LEN, &mip) && ndr_get_conformance(&c, &mc) && mc == 1 &&
		    ndr_get_u32(&c, &res) && ndr_get_u32(&c, &status) && cur_empty(&c));
	assert_true(oxid == st.oxid);
	assert_string_equal(d.str[0].addr, "127.0.0.1[49701]");
	assert_true(guid_equal(&ipid_ru, &st.ipid_remunknown));
	assert_int_equal(hr, 0);
	assert_int_equal(res, 0);
	assert_int_equal(status, 0);
	std_of(&mip, r.arena, &IID_T1);
	reply_free(&r);
	assert_int_equal(g_created, 1);
}

static void test_object_limit(void **state)
{
	(void)state;
	dcom_exporter_free(g_x);
	g_created = g_released = 0;
	dcom_exporter_config_t cfg = {.clock_ms = fake_clock, .port = 1, .max_objects = 2, .names = g_names,
				      .n_names = 2};
	g_x = dcom_exporter_new(&cfg);
	assert_int_equal(dcom_register_class(g_x, &CLSID_T, create_obj, NULL), CERR_OK);
	assert_int_equal(dcom_exporter_add_iface(g_x, &g_t1), CERR_OK);
	assert_int_equal(dcom_exporter_add_iface(g_x, &g_t2), CERR_OK);
	assert_int_equal(dcom_exporter_build_ifaces(g_x), CERR_OK);
	activate();
	activate();
	reply_t r = call_hex(&DCOM_IID_IREMOTESCMACTIVATOR, DCOM_OP_REMOTE_CREATE_INSTANCE, RCI_STUB);
	act_reply_t a = parse_act_reply(&r);
	assert_int_equal(a.hr, 0x8007000eu); /* E_OUTOFMEMORY */
	reply_free(&r);
	assert_int_equal(g_created, 3);
	assert_int_equal(g_released, 1);
	/* unknown interfaces are not served */
	assert_null(dcom_exporter_rpc_iface(g_x, &CLSID_T));
	assert_non_null(dcom_exporter_rpc_iface(g_x, &DCOM_IID_IREMUNKNOWN2));
	assert_non_null(dcom_exporter_rpc_iface(g_x, &DCOM_IID_IACTIVATION));
}

/* every handler, fed every prefix and single-byte flips of a valid request:
 * replies or faults, never anything ASan or UBSan would see */
static void sweep(const guid_t *uuid, uint16_t opnum, const guid_t *object, const uint8_t *stub, size_t len)
{
	uint8_t *copy = malloc(len + 1);
	for (size_t k = 0; k <= len; k++) {
		memcpy(copy, stub, k);
		reply_t r = call_iface(uuid, opnum, object, copy, k);
		reply_free(&r);
	}
	for (size_t k = 0; k < len; k++) {
		memcpy(copy, stub, len);
		copy[k] ^= (uint8_t)(k & 1 ? 0x80 : 0xff);
		reply_t r = call_iface(uuid, opnum, object, copy, len);
		reply_free(&r);
	}
	free(copy);
}

static void test_hostile_stubs(void **state)
{
	(void)state;
	uint8_t stub[1024];
	size_t n = tu_unhex(RCI_STUB, stub, sizeof(stub));
	sweep(&DCOM_IID_IREMOTESCMACTIVATOR, DCOM_OP_REMOTE_CREATE_INSTANCE, NULL, stub, n);
	n = tu_unhex(tu_rgco_stub_hex, stub, sizeof(stub));
	sweep(&DCOM_IID_IREMOTESCMACTIVATOR, DCOM_OP_REMOTE_GET_CLASS_OBJECT, NULL, stub, n);
	n = tu_unhex(RA_STUB, stub, sizeof(stub));
	sweep(&DCOM_IID_IACTIVATION, DCOM_OP_REMOTE_ACTIVATION, NULL, stub, n);
	n = tu_unhex(CP_NEW_STUB, stub, sizeof(stub));
	sweep(&DCOM_IID_IOBJECTEXPORTER, DCOM_OP_COMPLEX_PING, NULL, stub, n);
	dcom_exporter_stats_t st;
	dcom_exporter_stats(g_x, &st);
	buf_t b;
	buf_init(&b, 0);
	ndr_put_u64(&b, st.oxid);
	ndr_put_u16(&b, 2);
	ndr_put_conformance(&b, 2);
	ndr_put_u16(&b, 7);
	ndr_put_u16(&b, 9);
	sweep(&DCOM_IID_IOBJECTEXPORTER, DCOM_OP_RESOLVE_OXID2, NULL, b.data, b.len);
	buf_free(&b);

	guid_t ipid = activate();
	orpc_stub(&b, 7);
	guid_t iids[2] = {IID_T2, DCOM_IID_IUNKNOWN};
	ndr_put_guid(&b, &ipid);
	ndr_put_u32(&b, 1);
	ndr_put_u16(&b, 2);
	ndr_put_conformance(&b, 2);
	ndr_put_guid(&b, &iids[0]);
	ndr_put_guid(&b, &iids[1]);
	sweep(&DCOM_IID_IREMUNKNOWN, DCOM_OP_REM_QUERY_INTERFACE, &st.ipid_remunknown, b.data, b.len);
	buf_free(&b);
	orpc_stub(&b, 7);
	ndr_put_u16(&b, 1);
	ndr_put_conformance(&b, 1);
	ndr_put_guid(&b, &ipid);
	ndr_put_u32(&b, 1);
	ndr_put_u32(&b, 0);
	sweep(&DCOM_IID_IREMUNKNOWN, DCOM_OP_REM_ADD_REF, &st.ipid_remunknown, b.data, b.len);
	sweep(&DCOM_IID_IREMUNKNOWN, DCOM_OP_REM_RELEASE, &st.ipid_remunknown, b.data, b.len);
	buf_free(&b);
	ipid = activate();
	orpc_stub(&b, 7);
	ndr_put_u32(&b, 5);
	sweep(&IID_T1, 3, &ipid, b.data, b.len);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_instance, setup, teardown),
		cmocka_unit_test_setup_teardown(test_activation_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_security_hook, setup, teardown),
		cmocka_unit_test_setup_teardown(test_orpc_dispatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remunknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remqi2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_class_object, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remote_activation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_object_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_stubs, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
