/*
 * fuzz_gss_token.c - the bytes gss.c reads itself before MIT's GSS-API does:
 * the first-token mechanism check, the framing taken off impacket's DCE-style
 * AP-REQs (bare and inside a SPNEGO NegTokenInit, re-encoded), and the
 * enctype arc of the session-key OID, and the AP-REQ found again for
 * identity_early (bare, framed, or in a NegTokenInit). Includes gss.c to reach its static
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
	gss_prov_t krb5 = {.cred = GSS_C_NO_CREDENTIAL, .spnego = false};
	gss_prov_t spnego = {.cred = GSS_C_NO_CREDENTIAL, .spnego = true};
	(void)first_token_ok(&krb5, &in);
	(void)first_token_ok(&spnego, &in);

	cur_t raw;
	if (unframe_ap_req(&in, &raw)) {
		if (cur_len(&raw) == 0 || cur_len(&raw) > size || cur_data(&raw)[0] != 0x6e) {
			abort();
		}
	}

	/* the AP-REQ read again for identity_early: inside the input, [APPLICATION 14] */
	cur_t ap;
	for (int sp = 0; sp < 2; sp++) {
		if (sp ? spnego_ap_req(&in, &ap) : bare_ap_req(&in, &ap)) {
			if (cur_len(&ap) == 0 || cur_data(&ap) < data || cur_data(&ap) + cur_len(&ap) > data + size ||
			    cur_data(&ap)[0] != 0x6e) {
				abort();
			}
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
