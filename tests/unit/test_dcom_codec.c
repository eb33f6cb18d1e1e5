/* test_dcom_codec.c - the DCOM codecs (src/dcom/orpc.c, objref.c,
 * actprops.c): impacket-made activation requests decode to the expected
 * fields, every codec round-trips, and truncated or bit-flipped inputs fail
 * cleanly.
 *
 * Fixtures: request stubs from impacket 0.10 (python3-impacket), made by
 * calling dcomrt.IRemoteSCMActivator(dce).RemoteCreateInstance /
 * RemoteGetClassObject and IActivation(dce).RemoteActivation with a fake dce
 * whose request() captured req.getData(), dcomrt.generate patched to return
 * cid 11223344-5566-7788-99aa-bbccddeeff00, CLSID d99e6e74-fc88-11d0-b498-
 * 00a0c90312f3 (CertSrv Request), IID d99e6e70-... (ICertRequestD) or
 * IID_IClassFactory. Referent ids and padding bytes are impacket's random
 * ones, kept as sent.
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
#include "dcom/objref.h"
#include "dcom/orpc.h"
#include "testutil.h"

/* RemoteCreateInstance (opnum 4): ORPCTHIS 5.7 flags 1, pUnkOuter NULL,
 * pActProperties = MInterfacePointer (416 bytes) with OBJREF_CUSTOM whose blob
 * holds InstantiationInfo, ActivationContextInfo, ServerLocationInfo, ScmRequestInfo. */
static const char RCI_STUB[] =
	"050007000100000000000000443322116655887799aabbccddeeff000000000000000000b0300000a0010000a0010000"
	"4d454f5704000000a201000000000000c0000000000000463803000000000000c0000000000000460000000078010000"
	"680100000000000001100800cccccccc88000000cccccccc6801000098000000000000000200000004000000000000000"
	"000000000000000000000007eeb00001cb800000000000004000000ab01000000000000c000000000000046a50100000"
	"0000000c000000000000046a401000000000000c000000000000046aa01000000000000c00000000000004604000000"
	"5800000028000000200000003000000001100800cccccccc44000000cccccccc746e9ed988fcd011b49800a0c90312f3"
	"00000000000000000000000001000000000000006eda0000000000000500070001000000706e9ed988fcd011b49800a0"
	"c90312f3fafafafa01100800cccccccc18000000cccccccc000000000000000000000000000000000000000000000000"
	"01100800cccccccc10000000cccccccc0000000000000000000000000000000001100800cccccccc1a000000cccccccc"
	"0000000086600000000000000100aaaadeb70000010000000700fafafafafafa";

/* RemoteGetClassObject (opnum 3): ORPCTHIS, pActProperties, asking for
 * IClassFactory - tu_rgco_stub_hex (testutil.c), shared with
 * test_dcom_exporter.c. */

/* IActivation::RemoteActivation (opnum 0). impacket sends its default
 * ORPCTHIS here: flags 0, nil cid, and a non-NULL extensions pointer to an
 * ORPC_EXTENT_ARRAY {size 0, reserved 0, extent -> [max_count 0]}. */
static const char RA_STUB[] =
	"05000700000000000000000000000000000000000000000000000000a5770000000000000000000090be000000000000"
	"746e9ed988fcd011b49800a0c90312f30000000000000000020000000000000001000000d4b9000001000000706e9ed9"
	"88fcd011b49800a0c90312f30100cece010000000700";

static const guid_t *clsid_certreq(void)
{
	static guid_t g;
	g = guid_from_literal("d99e6e74-fc88-11d0-b498-00a0c90312f3");
	return &g;
}

static const guid_t *iid_certreqd(void)
{
	static guid_t g;
	g = guid_from_literal("d99e6e70-fc88-11d0-b498-00a0c90312f3");
	return &g;
}

/* split_activation reads ORPCTHIS, then (with_outer) pUnkOuter, then
 * pActProperties, as the activator does. */
static bool split_activation(const uint8_t *stub, size_t len, bool with_outer, arena_t *a, orpcthis_t *t,
			     ndr_blob_t *mip)
{
	cur_t c;
	cur_init(&c, stub, len);
	ndr_blob_t outer;
	if (!dcom_get_orpcthis(&c, t)) {
		return false;
	}
	if (with_outer && !dcom_get_unique_mip(&c, a, DCOM_MAX_MIP_LEN, &outer)) {
		return false;
	}
	return dcom_get_unique_mip(&c, a, DCOM_MAX_MIP_LEN, mip) && cur_empty(&c);
}

static void check_impacket_props(const dcom_actprops_in_t *in, const guid_t *iid)
{
	assert_int_equal(in->dest_ctx, 2);
	assert_int_equal(in->n_props, 4);
	assert_true(guid_equal(&in->prop_clsid[0], &DCOM_CLSID_INSTANTIATIONINFO));
	assert_true(guid_equal(&in->prop_clsid[3], &DCOM_CLSID_SCMREQUESTINFO));
	assert_int_equal(in->prop_size[0], 0x58);
	assert_int_equal(in->prop_size[1], 0x28);
	assert_int_equal(in->prop_size[2], 0x20);
	assert_int_equal(in->prop_size[3], 0x30);
	assert_int_equal(in->present, DCOM_PROP_INSTANTIATION | DCOM_PROP_CONTEXT | DCOM_PROP_LOCATION |
					      DCOM_PROP_SCM_REQUEST);
	assert_int_equal(in->n_unknown, 0);
	assert_true(guid_equal(&in->inst.clsid, clsid_certreq()));
	assert_int_equal(in->inst.n_iids, 1);
	assert_true(guid_equal(&in->inst.iids[0], iid));
	assert_int_equal(in->inst.this_size, 0); /* impacket fills it in after marshaling */
	assert_int_equal(in->inst.client_version.major, 5);
	assert_int_equal(in->inst.client_version.minor, 7);
	assert_true(in->scm_request.has_remote_request);
	assert_int_equal(in->scm_request.n_protseqs, 1);
	assert_int_equal(in->scm_request.protseqs[0], 7);
	assert_null(in->location.machine_name);
	assert_null(in->context.client_ctx.data);
	assert_null(in->context.prototype_ctx.data);
}

static void test_impacket_create_instance(void **state)
{
	(void)state;
	uint8_t stub[1024];
	size_t n = tu_unhex(RCI_STUB, stub, sizeof(stub));
	assert_int_equal(n, 464);
	arena_t *a = arena_new();
	orpcthis_t t;
	ndr_blob_t mip;
	assert_true(split_activation(stub, n, true, a, &t, &mip));
	assert_int_equal(t.version.major, 5);
	assert_int_equal(t.version.minor, 7);
	assert_int_equal(t.flags, ORPCF_LOCAL);
	assert_true(guid_equal(&t.cid, &(guid_t){0x11223344, 0x5566, 0x7788,
						 {0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00}}));
	assert_false(t.has_extensions);
	assert_int_equal(mip.len, 416);

	cur_t c;
	cur_init(&c, mip.data, mip.len);
	dcom_objref_t ref;
	assert_int_equal(dcom_objref_decode(&c, a, &ref), CERR_OK);
	assert_int_equal(ref.flags, OBJREF_CUSTOM);
	assert_true(guid_equal(&ref.iid, &DCOM_IID_IACTPROPSIN));
	assert_true(guid_equal(&ref.clsid, &DCOM_CLSID_ACTPROPSIN));
	assert_int_equal(ref.reserved, 376);
	assert_int_equal(ref.object_data_len, 368);

	dcom_actprops_in_t in;
	assert_int_equal(dcom_actprops_in_from_mip(&mip, a, &in), CERR_OK);
	check_impacket_props(&in, iid_certreqd());
	arena_free(a);
}

static void test_impacket_get_class_object(void **state)
{
	(void)state;
	uint8_t stub[1024];
	size_t n = tu_unhex(tu_rgco_stub_hex, stub, sizeof(stub));
	arena_t *a = arena_new();
	orpcthis_t t;
	ndr_blob_t mip;
	assert_true(split_activation(stub, n, false, a, &t, &mip));
	dcom_actprops_in_t in;
	assert_int_equal(dcom_actprops_in_from_mip(&mip, a, &in), CERR_OK);
	check_impacket_props(&in, &DCOM_IID_ICLASSFACTORY);
	arena_free(a);
}

/* The ORPCTHIS of impacket's RemoteActivation carries an empty extension array. */
static void test_orpcthis_extensions(void **state)
{
	(void)state;
	uint8_t stub[256];
	size_t n = tu_unhex(RA_STUB, stub, sizeof(stub));
	cur_t c;
	cur_init(&c, stub, n);
	orpcthis_t t;
	assert_true(dcom_get_orpcthis(&c, &t));
	assert_true(t.has_extensions);
	assert_int_equal(t.n_extents, 0);
	assert_int_equal(t.flags, 0);
	guid_t clsid;
	assert_true(ndr_get_guid(&c, &clsid));
	assert_true(guid_equal(&clsid, clsid_certreq()));

	/* one extent: size 1 -> max_count 2 (rounded to even), pointers [ref, NULL],
	 * then ORPC_EXTENT {max_count 8, id, size 5, 8 bytes} */
	static const char ONE[] = "05000700" "00000000" "00000000" "00000000000000000000000000000000"
				  "04000200" /* extensions referent */
				  "01000000" "00000000" "08000200" /* size 1, reserved, extent referent */
				  "02000000" "0c000200" "00000000" /* max_count 2, [ref, NULL] */
				  "08000000" "1c03000000000000c000000000000046" "05000000" "0102030405000000";
	uint8_t b[128];
	n = tu_unhex(ONE, b, sizeof(b));
	cur_init(&c, b, n);
	assert_true(dcom_get_orpcthis(&c, &t));
	assert_true(cur_empty(&c));
	assert_int_equal(t.n_extents, 1);
	/* max_count must be (size+1)&~1 and the data array (size+7)&~7 */
	b[44] = 3;
	cur_init(&c, b, n);
	assert_false(dcom_get_orpcthis(&c, &t));
	assert_int_equal(cur_len(&c), n); /* unchanged on failure */
	b[44] = 2;
	b[56] = 16;
	cur_init(&c, b, n);
	assert_false(dcom_get_orpcthis(&c, &t));
	/* too many extents */
	b[56] = 8;
	b[32] = 0xff;
	cur_init(&c, b, n);
	assert_false(dcom_get_orpcthis(&c, &t));

	/* ORPCTHAT round trip */
	buf_t out;
	buf_init(&out, 0);
	dcom_put_orpcthat(&out, 0);
	cur_init(&c, out.data, out.len);
	orpcthat_t th;
	assert_true(dcom_get_orpcthat(&c, &th));
	assert_false(th.has_extensions);
	assert_true(cur_empty(&c));
	buf_free(&out);
}

static void test_version_check(void **state)
{
	(void)state;
	assert_true(dcom_version_ok(&(dcom_version_t){5, 7}));
	assert_true(dcom_version_ok(&(dcom_version_t){5, 1}));
	assert_false(dcom_version_ok(&(dcom_version_t){5, 8}));
	assert_false(dcom_version_ok(&(dcom_version_t){6, 0}));
	assert_false(dcom_version_ok(&(dcom_version_t){4, 7}));
}

/* Every prefix of the activation request fails; every single-byte flip
 * decodes or fails without touching memory it should not (ASan). */
static void test_truncation_and_flips(void **state)
{
	(void)state;
	uint8_t stub[1024];
	size_t n = tu_unhex(RCI_STUB, stub, sizeof(stub));
	for (size_t k = 0; k < n; k++) {
		arena_t *a = arena_new();
		uint8_t *copy = malloc(k ? k : 1);
		memcpy(copy, stub, k);
		orpcthis_t t;
		ndr_blob_t mip;
		dcom_actprops_in_t in;
		bool ok = split_activation(copy, k, true, a, &t, &mip) &&
			  dcom_actprops_in_from_mip(&mip, a, &in) == CERR_OK;
		assert_false(ok);
		free(copy);
		arena_free(a);
	}
	/* the blob alone, truncated at every length */
	arena_t *a = arena_new();
	orpcthis_t t;
	ndr_blob_t mip;
	assert_true(split_activation(stub, n, true, a, &t, &mip));
	for (uint32_t k = 0; k < mip.len; k++) {
		ndr_blob_t cut = {k, mip.data};
		uint8_t *copy = malloc(k ? k : 1);
		memcpy(copy, mip.data, k);
		cut.data = copy;
		dcom_actprops_in_t in;
		assert_int_not_equal(dcom_actprops_in_from_mip(&cut, a, &in), CERR_OK);
		free(copy);
	}
	arena_free(a);
	for (size_t k = 0; k < n; k++) {
		for (int v = 0; v < 2; v++) {
			a = arena_new();
			uint8_t *copy = malloc(n);
			memcpy(copy, stub, n);
			copy[k] ^= v ? 0xff : 0x01;
			dcom_actprops_in_t in;
			if (split_activation(copy, n, true, a, &t, &mip)) {
				(void)dcom_actprops_in_from_mip(&mip, a, &in);
			}
			free(copy);
			arena_free(a);
		}
	}
}

static bool same_in(const dcom_actprops_in_t *x, const dcom_actprops_in_t *y)
{
	if (x->present != y->present || x->dest_ctx != y->dest_ctx || !guid_equal(&x->inst.clsid, &y->inst.clsid) ||
	    x->inst.n_iids != y->inst.n_iids || x->inst.actvflags != y->inst.actvflags ||
	    x->scm_request.n_protseqs != y->scm_request.n_protseqs ||
	    x->location.process_id != y->location.process_id) {
		return false;
	}
	for (uint32_t i = 0; i < x->inst.n_iids; i++) {
		if (!guid_equal(&x->inst.iids[i], &y->inst.iids[i])) {
			return false;
		}
	}
	for (uint16_t i = 0; i < x->scm_request.n_protseqs; i++) {
		if (x->scm_request.protseqs[i] != y->scm_request.protseqs[i]) {
			return false;
		}
	}
	return true;
}

static void test_actprops_in_round_trip(void **state)
{
	(void)state;
	uint8_t stub[1024];
	size_t n = tu_unhex(RCI_STUB, stub, sizeof(stub));
	arena_t *a = arena_new();
	orpcthis_t t;
	ndr_blob_t mip;
	dcom_actprops_in_t in, in2, in3;
	assert_true(split_activation(stub, n, true, a, &t, &mip));
	assert_int_equal(dcom_actprops_in_from_mip(&mip, a, &in), CERR_OK);

	buf_t b1, b2;
	buf_init(&b1, 0);
	buf_init(&b2, 0);
	assert_int_equal(dcom_actprops_in_encode(&b1, &in), CERR_OK);
	assert_int_equal(dcom_actprops_in_decode(b1.data, b1.len, a, &in2), CERR_OK);
	assert_true(same_in(&in, &in2));
	/* our encoder fills thisSize with the property's size (88 here, as impacket computes it) */
	assert_int_equal(in2.inst.this_size, 0x58);
	assert_int_equal(in2.prop_size[0], 0x58);
	assert_int_equal(dcom_actprops_in_encode(&b2, &in2), CERR_OK);
	assert_int_equal(b1.len, b2.len);
	assert_memory_equal(b1.data, b2.data, b1.len);
	/* our blob is byte-for-byte impacket's apart from padding, filler and
	 * referent ids: same length */
	assert_int_equal(b1.len, 368);

	/* every optional property, the machine name and context blobs too */
	in.present |= DCOM_PROP_SECURITY | DCOM_PROP_INSTANCE | DCOM_PROP_SPECIAL;
	in.n_props = 0; /* default order */
	in.location.machine_name = "ca1.example.com";
	in.security.has_server_info = true;
	in.security.server_name = "ca1";
	static const uint8_t ctx[] = {1, 2, 3, 4, 5};
	in.context.client_ctx = (ndr_blob_t){sizeof(ctx), ctx};
	in.instance.file_name = "c:\\x";
	in.instance.mode = 3;
	in.special.session_id = 0xffffffffu;
	in.special.flags = 1;
	buf_reset(&b1);
	buf_reset(&b2);
	assert_int_equal(dcom_actprops_in_encode(&b1, &in), CERR_OK);
	assert_int_equal(dcom_actprops_in_decode(b1.data, b1.len, a, &in3), CERR_OK);
	assert_true(same_in(&in, &in3));
	assert_string_equal(in3.location.machine_name, "ca1.example.com");
	assert_string_equal(in3.security.server_name, "ca1");
	assert_string_equal(in3.instance.file_name, "c:\\x");
	assert_int_equal(in3.instance.mode, 3);
	assert_int_equal(in3.context.client_ctx.len, 5);
	assert_memory_equal(in3.context.client_ctx.data, ctx, 5);
	assert_int_equal(in3.special.session_id, 0xffffffffu);
	assert_int_equal(in3.special.flags, 1);
	assert_int_equal(in3.n_props, 7);
	assert_int_equal(dcom_actprops_in_encode(&b2, &in3), CERR_OK);
	assert_memory_equal(b1.data, b2.data, b1.len);

	/* framing checks: dwSize, headerSize and pSizes must agree */
	uint8_t *blob = b1.data;
	blob[0] ^= 8;
	assert_int_not_equal(dcom_actprops_in_decode(blob, b1.len, a, &in2), CERR_OK);
	blob[0] ^= 8;
	assert_int_equal(dcom_actprops_in_decode(blob, b1.len, a, &in2), CERR_OK);
	/* a duplicate property: the CustomHeader's pclsid array starts at 76
	 * (8 blob header + 16 serialization headers + 5 DWORDs + classInfoClsid
	 * + 3 pointers + max_count); make the second CLSID the first */
	memcpy(blob + 92, blob + 76, 16);
	assert_int_equal(dcom_actprops_in_decode(blob, b1.len, a, &in2), CERR_MALFORMED);
	buf_free(&b1);
	buf_free(&b2);
	arena_free(a);
}

static dcom_dualstringarray_t sample_dsa(void)
{
	static dcom_string_binding_t str[2] = {{DCOM_TOWER_NCACN_IP_TCP, "127.0.0.1[49701]"},
					       {DCOM_TOWER_NCACN_IP_TCP, "CA1[49701]"}};
	static dcom_security_binding_t sec[2] = {{10, 0xffff, ""}, {16, 0xffff, "host/ca1.example.com"}};
	return (dcom_dualstringarray_t){str, 2, sec, 2};
}

static void test_dsa(void **state)
{
	(void)state;
	arena_t *a = arena_new();
	buf_t b;
	buf_init(&b, 0);
	dcom_dualstringarray_t d = sample_dsa(), d2;
	assert_true(dcom_dsa_encode_raw(&b, &d));
	assert_int_equal(dcom_dsa_units(&d), (b.len - 4) / 2);
	cur_t c;
	cur_init(&c, b.data, b.len);
	assert_true(dcom_dsa_decode_raw(&c, a, &d2));
	assert_true(cur_empty(&c));
	assert_int_equal(d2.n_str, 2);
	assert_int_equal(d2.n_sec, 2);
	assert_string_equal(d2.str[0].addr, "127.0.0.1[49701]");
	assert_string_equal(d2.str[1].addr, "CA1[49701]");
	assert_int_equal(d2.sec[0].authn_svc, 10);
	assert_int_equal(d2.sec[0].reserved, 0xffff);
	assert_string_equal(d2.sec[0].princ_name, "");
	assert_string_equal(d2.sec[1].princ_name, "host/ca1.example.com");
	/* wSecurityOffset beyond wNumEntries, or inside a string, is refused */
	uint16_t off = (uint16_t)(b.data[2] | b.data[3] << 8);
	b.data[2] = (uint8_t)(off + 40);
	cur_init(&c, b.data, b.len);
	assert_false(dcom_dsa_decode_raw(&c, a, &d2));
	assert_int_equal(cur_len(&c), b.len);
	b.data[2] = (uint8_t)(off - 2);
	cur_init(&c, b.data, b.len);
	assert_false(dcom_dsa_decode_raw(&c, a, &d2));
	b.data[2] = (uint8_t)off;
	/* a missing nullterm2 */
	b.data[0] = (uint8_t)(b.data[0] - 1);
	cur_init(&c, b.data, b.len - 2);
	assert_false(dcom_dsa_decode_raw(&c, a, &d2));

	/* the smallest DUALSTRINGARRAY: 4, 2, 0, 0, 0, 0 (MS-DCOM 2.2.19.1) */
	static const uint8_t smallest[] = {4, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	cur_init(&c, smallest, sizeof(smallest));
	assert_true(dcom_dsa_decode_raw(&c, a, &d2));
	assert_int_equal(d2.n_str, 0);
	assert_int_equal(d2.n_sec, 0);
	buf_reset(&b);
	dcom_dualstringarray_t empty = {0};
	assert_true(dcom_dsa_encode_raw(&b, &empty));
	assert_int_equal(b.len, sizeof(smallest));
	assert_memory_equal(b.data, smallest, sizeof(smallest));

	/* NDR form: max_count must equal wNumEntries */
	buf_reset(&b);
	dcom_put_dsa_body(&b, &d);
	assert_true(buf_ok(&b));
	cur_init(&c, b.data, b.len);
	assert_true(dcom_get_dsa_body(&c, a, &d2));
	assert_true(cur_empty(&c));
	assert_string_equal(d2.str[0].addr, "127.0.0.1[49701]");
	b.data[0] ^= 1;
	cur_init(&c, b.data, b.len);
	assert_false(dcom_get_dsa_body(&c, a, &d2));
	buf_free(&b);
	arena_free(a);
}

static void test_objref(void **state)
{
	(void)state;
	arena_t *a = arena_new();
	buf_t b;
	buf_init(&b, 0);
	dcom_objref_t o = {.flags = OBJREF_STANDARD, .iid = *iid_certreqd()};
	o.std = (dcom_stdobjref_t){0, 5, 0x1122334455667788ull, 0x99aabbccddeeff00ull,
				   guid_from_literal("0000aaaa-0000-1111-2222-333344445555")};
	o.resaddr = sample_dsa();
	assert_int_equal(dcom_objref_encode(&b, &o), CERR_OK);
	cur_t c;
	cur_init(&c, b.data, b.len);
	dcom_objref_t o2;
	assert_int_equal(dcom_objref_decode(&c, a, &o2), CERR_OK);
	assert_int_equal(o2.flags, OBJREF_STANDARD);
	assert_int_equal(o2.std.public_refs, 5);
	assert_true(o2.std.oxid == 0x1122334455667788ull);
	assert_true(o2.std.oid == 0x99aabbccddeeff00ull);
	assert_true(guid_equal(&o2.std.ipid, &o.std.ipid));
	assert_string_equal(o2.resaddr.str[1].addr, "CA1[49701]");
	/* truncations and trailing bytes */
	for (size_t k = 0; k < b.len; k++) {
		cur_init(&c, b.data, k);
		assert_int_not_equal(dcom_objref_decode(&c, a, &o2), CERR_OK);
	}
	size_t std_len = b.len;
	buf_put_u8(&b, 0);
	cur_init(&c, b.data, b.len);
	assert_int_equal(dcom_objref_decode(&c, a, &o2), CERR_MALFORMED);
	/* bad signature, nil iid, unknown flags */
	b.data[0] ^= 1;
	cur_init(&c, b.data, std_len);
	assert_int_equal(dcom_objref_decode(&c, a, &o2), CERR_MALFORMED);
	b.data[0] ^= 1;
	b.data[4] = 3;
	cur_init(&c, b.data, std_len);
	assert_int_equal(dcom_objref_decode(&c, a, &o2), CERR_MALFORMED);
	b.data[4] = 1;

	/* HANDLER: STDOBJREF + clsid + DUALSTRINGARRAY */
	buf_t h;
	buf_init(&h, 0);
	buf_put_bytes(&h, b.data, 24 + 40);
	h.data[4] = OBJREF_HANDLER;
	guid_t hcls = guid_from_literal("01234567-89ab-cdef-0123-456789abcdef");
	buf_put_guid(&h, &hcls);
	buf_put_bytes(&h, b.data + 64, std_len - 64);
	cur_init(&c, h.data, h.len);
	assert_int_equal(dcom_objref_decode(&c, a, &o2), CERR_OK);
	assert_int_equal(o2.flags, OBJREF_HANDLER);
	assert_true(guid_equal(&o2.clsid, &hcls));
	assert_int_equal(o2.resaddr.n_str, 2);
	/* we only send STANDARD and CUSTOM */
	buf_reset(&b);
	assert_int_equal(dcom_objref_encode(&b, &o2), CERR_INVALID_ARG);

	/* EXTENDED: STDOBJREF, Signature1, DSA, nElms 1, Signature2, DATAELEMENT */
	buf_reset(&b);
	o.resaddr = (dcom_dualstringarray_t){0};
	assert_int_equal(dcom_objref_encode(&b, &o), CERR_OK);
	buf_t x;
	buf_init(&x, 0);
	buf_put_bytes(&x, b.data, 64);
	x.data[4] = OBJREF_EXTENDED;
	buf_put_u32(&x, 0x4e535956);
	buf_put_bytes(&x, b.data + 64, b.len - 64);
	buf_put_u32(&x, 1);
	buf_put_u32(&x, 0x4e535956);
	buf_put_guid(&x, &hcls);
	buf_put_u32(&x, 3);
	buf_put_u32(&x, 8);
	buf_put_zeros(&x, 8);
	cur_init(&c, x.data, x.len);
	assert_int_equal(dcom_objref_decode(&c, a, &o2), CERR_OK);
	assert_int_equal(o2.flags, OBJREF_EXTENDED);
	assert_int_equal(o2.n_elements, 1);
	x.data[x.len - 12] = 9; /* cbRounded != round8(cbSize) */
	cur_init(&c, x.data, x.len);
	assert_int_equal(dcom_objref_decode(&c, a, &o2), CERR_MALFORMED);
	buf_free(&x);
	buf_free(&h);
	buf_free(&b);
	arena_free(a);
}

static void test_actprops_out(void **state)
{
	(void)state;
	arena_t *a = arena_new();
	buf_t objref;
	buf_init(&objref, 0);
	dcom_objref_t o = {.flags = OBJREF_STANDARD, .iid = *iid_certreqd()};
	o.std = (dcom_stdobjref_t){0, 5, 0x1122334455667788ull, 0x42,
				   guid_from_literal("0000aaaa-0000-1111-2222-333344445555")};
	o.resaddr = sample_dsa();
	assert_int_equal(dcom_objref_encode(&objref, &o), CERR_OK);

	guid_t iids[2] = {*iid_certreqd(), guid_from_literal("5422fd3a-d4b8-4cef-a12e-e87d4ca22e90")};
	uint32_t hrs[2] = {0, 0x80004002u};
	ndr_blob_t ifs[2] = {{(uint32_t)objref.len, objref.data}, {0, NULL}};
	dcom_actprops_out_t out = {
		.dest_ctx = 2,
		.oxid = 0x1122334455667788ull,
		.oxid_bindings = sample_dsa(),
		.ipid_remunknown = guid_from_literal("0000bbbb-0000-1111-2222-333344445555"),
		.authn_hint = 6,
		.server_version = {5, 7},
		.n_ifs = 2,
		.iids = iids,
		.hresults = hrs,
		.ifaces = ifs,
	};
	buf_t mip;
	buf_init(&mip, 0);
	assert_int_equal(dcom_actprops_out_to_mip(&mip, &out), CERR_OK);
	if (getenv("DCOM_DUMP")) {
		for (size_t i = 0; i < mip.len; i++) {
			printf("%02x", mip.data[i]);
		}
		printf("\n");
	}
	cur_t c;
	cur_init(&c, mip.data, mip.len);
	dcom_objref_t ref;
	assert_int_equal(dcom_objref_decode(&c, a, &ref), CERR_OK);
	assert_int_equal(ref.flags, OBJREF_CUSTOM);
	assert_true(guid_equal(&ref.iid, &DCOM_IID_IACTPROPSOUT));
	assert_true(guid_equal(&ref.clsid, &DCOM_CLSID_ACTPROPSOUT));
	dcom_actprops_out_t back;
	assert_int_equal(dcom_actprops_out_decode(ref.object_data, ref.object_data_len, a, &back), CERR_OK);
	assert_true(back.oxid == out.oxid);
	assert_true(guid_equal(&back.ipid_remunknown, &out.ipid_remunknown));
	assert_int_equal(back.authn_hint, 6);
	assert_int_equal(back.server_version.minor, 7);
	assert_int_equal(back.n_ifs, 2);
	assert_int_equal(back.hresults[1], 0x80004002u);
	assert_null(back.ifaces[1].data);
	assert_int_equal(back.ifaces[0].len, objref.len);
	assert_memory_equal(back.ifaces[0].data, objref.data, objref.len);
	assert_string_equal(back.oxid_bindings.str[0].addr, "127.0.0.1[49701]");
	/* every property stream is padded to 8 */
	buf_t blob;
	buf_init(&blob, 0);
	assert_int_equal(dcom_actprops_out_encode(&blob, &out), CERR_OK);
	assert_int_equal(blob.len, ref.object_data_len);
	for (size_t k = 0; k < blob.len; k++) {
		assert_int_not_equal(dcom_actprops_out_decode(blob.data, k, a, &back), CERR_OK);
	}
	/* an in-decoder ignores the out properties as unknown, and vice versa */
	dcom_actprops_in_t in;
	assert_int_equal(dcom_actprops_in_decode(blob.data, blob.len, a, &in), CERR_OK);
	assert_int_equal(in.n_unknown, 2);
	assert_int_equal(in.present, 0);
	buf_free(&blob);
	buf_free(&mip);
	buf_free(&objref);
	arena_free(a);
}

static void test_mip(void **state)
{
	(void)state;
	arena_t *a = arena_new();
	buf_t b;
	buf_init(&b, 0);
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	static const uint8_t data[] = {1, 2, 3};
	dcom_put_unique_mip(&b, &ids, &(ndr_blob_t){3, data});
	dcom_put_unique_mip(&b, &ids, &(ndr_blob_t){0, NULL});
	cur_t c;
	cur_init(&c, b.data, b.len);
	ndr_blob_t m1, m2;
	assert_true(dcom_get_unique_mip(&c, a, 16, &m1));
	assert_true(dcom_get_unique_mip(&c, a, 16, &m2));
	assert_true(cur_empty(&c));
	assert_int_equal(m1.len, 3);
	assert_null(m2.data);
	/* ulCntData != max_count, and over the cap */
	cur_init(&c, b.data, b.len);
	assert_false(dcom_get_unique_mip(&c, a, 2, &m1));
	b.data[8] = 4;
	cur_init(&c, b.data, b.len);
	assert_false(dcom_get_unique_mip(&c, a, 16, &m1));
	assert_int_equal(cur_len(&c), b.len);
	buf_free(&b);
	arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_impacket_create_instance),
		cmocka_unit_test(test_impacket_get_class_object),
		cmocka_unit_test(test_orpcthis_extensions),
		cmocka_unit_test(test_version_check),
		cmocka_unit_test(test_truncation_and_flips),
		cmocka_unit_test(test_actprops_in_round_trip),
		cmocka_unit_test(test_dsa),
		cmocka_unit_test(test_objref),
		cmocka_unit_test(test_actprops_out),
		cmocka_unit_test(test_mip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
