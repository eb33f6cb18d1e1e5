/*
 * fuzz_gss_token.c - the bytes gss.c reads itself before MIT's GSS-API does:
 * the first-token mechanism check, the framing taken off impacket's DCE-style
 * AP-REQs (bare and inside a SPNEGO NegTokenInit, re-encoded), and the
 * enctype arc of the session-key OID. Includes gss.c to reach its static
 * parsers (WireGuard's fuzz harnesses do the same). Invariants: a rewritten
 * NegTokenInit is SPNEGO again and has nothing left to rewrite; a bare AP-REQ
 * lies inside the input and starts with [APPLICATION 14].
 */
#include <stdlib.h>

#include "rpc/gss.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cur_t in;
	cur_init(&in, data, size);
	gss_prov_t krb5 = {GSS_C_NO_CREDENTIAL, false};
	gss_prov_t spnego = {GSS_C_NO_CREDENTIAL, true};
	(void)first_token_ok(&krb5, &in);
	(void)first_token_ok(&spnego, &in);

	cur_t raw;
	if (unframe_ap_req(&in, &raw)) {
		if (cur_len(&raw) == 0 || cur_len(&raw) > size || cur_data(&raw)[0] != 0x6e) {
			abort();
		}
	}

	buf_t out;
	buf_init(&out, GSS_MAX_TOKEN);
	if (spnego_unframe(&in, &out)) {
		cur_t again;
		cur_init(&again, out.data, out.len);
		if (!first_token_ok(&spnego, &again)) {
			abort();
		}
		buf_t twice;
		buf_init(&twice, GSS_MAX_TOKEN);
		if (spnego_unframe(&again, &twice)) {
			abort();
		}
		buf_free(&twice);
	}
	buf_free(&out);

	gss_buffer_desc oid = {size, (void *)data};
	(void)enctype_from_oid(&oid);
	return 0;
}
