/*
 * fuzz_actprops.c - libFuzzer target for the activation properties codecs
 * (src/dcom/actprops.c) and the activator's request framing (ORPCTHIS,
 * pUnkOuter, pActProperties; src/dcom/orpc.c). Each input is tried as an
 * ActivationPropertiesIn blob, as an ActivationPropertiesOut blob and as a
 * RemoteCreateInstance request stub. What decodes is re-encoded; the
 * re-encoding must decode to the same fields and re-encode to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "dcom/actprops.h"
#include "dcom/orpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_in(const dcom_actprops_in_t *x, const dcom_actprops_in_t *y)
{
	if (x->present != y->present || x->dest_ctx != y->dest_ctx) {
		return false;
	}
	if (x->present & DCOM_PROP_INSTANTIATION) {
		if (!guid_equal(&x->inst.clsid, &y->inst.clsid) || x->inst.n_iids != y->inst.n_iids ||
		    x->inst.actvflags != y->inst.actvflags || x->inst.class_ctx != y->inst.class_ctx) {
			return false;
		}
		for (uint32_t i = 0; i < x->inst.n_iids; i++) {
			if (!guid_equal(&x->inst.iids[i], &y->inst.iids[i])) {
				return false;
			}
		}
	}
	if (x->present & DCOM_PROP_SCM_REQUEST) {
		if (x->scm_request.has_remote_request != y->scm_request.has_remote_request ||
		    x->scm_request.n_protseqs != y->scm_request.n_protseqs) {
			return false;
		}
		for (uint16_t i = 0; x->scm_request.protseqs && i < x->scm_request.n_protseqs; i++) {
			if (x->scm_request.protseqs[i] != y->scm_request.protseqs[i]) {
				return false;
			}
		}
	}
	return same_str(x->location.machine_name, y->location.machine_name) &&
	       same_str(x->security.server_name, y->security.server_name) &&
	       same_str(x->instance.file_name, y->instance.file_name) &&
	       same_blob(&x->context.client_ctx, &y->context.client_ctx) &&
	       same_blob(&x->context.prototype_ctx, &y->context.prototype_ctx) &&
	       same_blob(&x->instance.ifd_rot, &y->instance.ifd_rot) &&
	       x->special.session_id == y->special.session_id && x->special.flags == y->special.flags;
}

static void in_round_trip(const uint8_t *data, size_t size, arena_t *a)
{
	dcom_actprops_in_t in, in2, in3;
	if (dcom_actprops_in_decode(data, size, a, &in) != CERR_OK || in.present == 0) {
		return;
	}
	buf_t b1, b2;
	buf_init(&b1, 0);
	buf_init(&b2, 0);
	CHECK(dcom_actprops_in_encode(&b1, &in) == CERR_OK);
	CHECK(dcom_actprops_in_decode(b1.data, b1.len, a, &in2) == CERR_OK);
	CHECK(same_in(&in, &in2));
	CHECK(dcom_actprops_in_encode(&b2, &in2) == CERR_OK);
	CHECK(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0);
	CHECK(dcom_actprops_in_decode(b2.data, b2.len, a, &in3) == CERR_OK);
	buf_free(&b1);
	buf_free(&b2);
}

static void out_round_trip(const uint8_t *data, size_t size, arena_t *a)
{
	dcom_actprops_out_t o, o2;
	if (dcom_actprops_out_decode(data, size, a, &o) != CERR_OK) {
		return;
	}
	buf_t b1, b2;
	buf_init(&b1, 0);
	buf_init(&b2, 0);
	CHECK(dcom_actprops_out_encode(&b1, &o) == CERR_OK);
	CHECK(dcom_actprops_out_decode(b1.data, b1.len, a, &o2) == CERR_OK);
	CHECK(o.oxid == o2.oxid && o.n_ifs == o2.n_ifs && o.authn_hint == o2.authn_hint &&
	      guid_equal(&o.ipid_remunknown, &o2.ipid_remunknown));
	CHECK(o.oxid_bindings.n_str == o2.oxid_bindings.n_str && o.oxid_bindings.n_sec == o2.oxid_bindings.n_sec);
	for (uint32_t i = 0; i < o.n_ifs; i++) {
		CHECK(o.hresults[i] == o2.hresults[i] && same_blob(&o.ifaces[i], &o2.ifaces[i]));
	}
	CHECK(dcom_actprops_out_encode(&b2, &o2) == CERR_OK);
	CHECK(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0);
	buf_free(&b1);
	buf_free(&b2);
}

static void request_stub(const uint8_t *data, size_t size, arena_t *a)
{
	cur_t c;
	cur_init(&c, data, size);
	orpcthis_t t;
	ndr_blob_t outer, props;
	if (!dcom_get_orpcthis(&c, &t) || !dcom_get_unique_mip(&c, a, DCOM_MAX_MIP_LEN, &outer) ||
	    !dcom_get_unique_mip(&c, a, DCOM_MAX_MIP_LEN, &props)) {
		return;
	}
	dcom_actprops_in_t in;
	if (props.data && dcom_actprops_in_from_mip(&props, a, &in) == CERR_OK) {
		CHECK(in.n_props >= 1 && in.n_props <= DCOM_MAX_ACTPROPS);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	arena_t *a = arena_new();
	if (!a) {
		return 0;
	}
	in_round_trip(data, size, a);
	out_round_trip(data, size, a);
	request_stub(data, size, a);
	arena_free(a);
	return 0;
}
