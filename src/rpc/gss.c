/*
 * gss.c - the Kerberos (16) and SPNEGO (9) acceptors of gss.h on MIT krb5.
 *
 * Legs (MS-RPCE 3.3.1.5.2.1): bind carries the client's AP-REQ (inside a
 * SPNEGO NegTokenInit for type 9); with GSS_C_DCE_STYLE in the authenticator
 * checksum (MS-KILE 3.2.5.2, RFC 4121 4.1.1.1) MIT answers with an AP-REP
 * and GSS_S_CONTINUE_NEEDED, and the client's own AP-REP comes back in
 * auth3 (Windows, Samba) or alter_context (impacket), completing the context.
 * Protection: MS-RPCE 2.2.2.12 - GSS_WrapEx at PKT_PRIVACY, GSS_GetMICEx
 * below it, over the stub alone or, with header signing, the whole PDU up to
 * the verifier (Samba auth/kerberos/gssapi_helper.c does the same).
 * The caller is known at the first leg too (identity_early): the accepted
 * AP-REQ is read again with krb5_rd_req, see "the caller at the first leg".
 */
#include "rpc/gss.h"

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/limits.h"
#include "rpc/pdu.h"
#include "util/log.h"

/* Mechanism OIDs in DER (without tag and length): what the first token's
 * RFC 2743 3.1 framing must name for each auth type. */
static const uint8_t OID_KRB5[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}; /* 1.2.840.113554.1.2.2 */
static const uint8_t OID_KRB5_MS[] = {0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02}; /* 1.2.840.48018.1.2.2 */
static const uint8_t OID_SPNEGO[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};                 /* 1.3.6.1.5.5.2 */

static gss_OID_desc spnego_oid_desc = {sizeof(OID_SPNEGO), (void *)OID_SPNEGO};
static gss_OID_desc krb5_oid_desc = {sizeof(OID_KRB5), (void *)OID_KRB5};

/* Largest token accepted in one leg: a ticket with a big PAC stays well
 * under 64 KiB (Windows' MaxTokenSize default is 48000 bytes), and a PDU
 * cannot carry more than RPC_FRAG_MAX anyway. */
#define GSS_MAX_TOKEN 65535u

/* The PAC attribute MIT's mspac authdata module exposes (whole PAC). */
#define PAC_ATTR "urn:mspac:"

typedef struct gss_prov {
	gss_cred_id_t cred;
	bool spnego;
	char *keytab; /* as configured; NULL = the library's default */
} gss_prov_t;

enum gss_state { ST_START, ST_CONTINUE, ST_DONE, ST_FAILED };

struct rpc_auth_ctx {
	const gss_prov_t *prov;
	enum gss_state state;
	gss_ctx_id_t ctx;
	gss_name_t client;
	OM_uint32 flags;     /* ret_flags of the accepted context */
	uint8_t level;       /* auth_level from set_level; 0 = not told */
	int last_seal;       /* -1 unknown, else the seal flag of the last protect/unprotect */
	size_t wrap_len;     /* GSS_WrapEx verifier (HEADER) length, fixed per context */
	size_t mic_len;      /* GSS_GetMICEx token length */
	rpc_identity_t id;
	gss_identity_extra_t extra;
	char *principal;
	char *user;
	char *domain;
	uint8_t *pac;
	bool early; /* id was filled from the first leg's AP-REQ (identity_early) */
};

/* ------------------------------------------------------------------ */
/* diagnostics and error mapping */

/* gss_status_text writes GSS's own words for (major, minor) into out. */
static const char *gss_status_text(OM_uint32 major, OM_uint32 minor, char *out, size_t out_len)
{
	size_t used = 0;
	out[0] = '\0';
	for (int pass = 0; pass < 2; pass++) {
		OM_uint32 code = pass == 0 ? major : minor;
		int type = pass == 0 ? GSS_C_GSS_CODE : GSS_C_MECH_CODE;
		if (pass == 0 && GSS_ROUTINE_ERROR(major) == 0 && GSS_CALLING_ERROR(major) == 0) {
			continue; /* supplementary bits only: the minor code says more */
		}
		if (pass == 1 && minor == 0) {
			continue;
		}
		OM_uint32 msg_ctx = 0;
		do {
			OM_uint32 min2;
			gss_buffer_desc msg = GSS_C_EMPTY_BUFFER;
			if (GSS_ERROR(gss_display_status(&min2, code, type, GSS_C_NO_OID, &msg_ctx, &msg))) {
				break;
			}
			int n = snprintf(out + used, out_len - used, "%s%.*s", used ? "; " : "", (int)msg.length,
					 (const char *)msg.value);
			gss_release_buffer(&min2, &msg);
			if (n < 0 || (size_t)n >= out_len - used) {
				return out;
			}
			used += (size_t)n;
		} while (msg_ctx != 0);
	}
	return out;
}

static void log_gss(const char *what, OM_uint32 major, OM_uint32 minor)
{
	char text[512];
	log_debug("gss: %s: major 0x%08x minor %d: %s", what, major, (int)minor,
		  gss_status_text(major, minor, text, sizeof(text)));
}

/* map_accept_error turns a failed gss_accept_sec_context into the SSPI code
 * Windows would report; the minor code is a krb5 error when the krb5 mech
 * failed (RFC 4120 7.5.9 codes, offset by the com_err table base). */
static cerr_t map_accept_error(OM_uint32 major, OM_uint32 minor)
{
	switch ((krb5_error_code)minor) {
	case KRB5KRB_AP_ERR_SKEW:
	case KRB5KRB_AP_ERR_TKT_NYV:
		return CERR_SEC_E_TIME_SKEW;
	case KRB5KRB_AP_ERR_TKT_EXPIRED:
		return CERR_SEC_E_CONTEXT_EXPIRED;
	case KRB5_KT_NOTFOUND:
	case KRB5_KT_KVNONOTFOUND:
	case KRB5KRB_AP_ERR_BADKEYVER:
	case KRB5KRB_AP_ERR_NOKEY:
		return CERR_SEC_E_NO_CREDENTIALS;
	case KRB5KRB_AP_WRONG_PRINC:
	case KRB5KRB_AP_ERR_NOT_US:
		return CERR_SEC_E_WRONG_PRINCIPAL;
	case KRB5KRB_AP_ERR_MODIFIED:
	case KRB5KRB_AP_ERR_BAD_INTEGRITY:
	case KRB5KRB_AP_ERR_REPEAT:
	case KRB5KRB_AP_ERR_BADADDR:
	case KRB5KRB_AP_ERR_ILL_CR_TKT:
	case KRB5KRB_AP_ERR_TKT_INVALID:
	case KRB5KRB_AP_ERR_BADMATCH:
		return CERR_SEC_E_LOGON_DENIED;
	default:
		break;
	}
	switch (GSS_ROUTINE_ERROR(major)) {
	case GSS_S_CREDENTIALS_EXPIRED:
	case GSS_S_CONTEXT_EXPIRED:
		return CERR_SEC_E_CONTEXT_EXPIRED;
	case GSS_S_NO_CRED:
		return CERR_SEC_E_NO_CREDENTIALS;
	case GSS_S_BAD_SIG:
	case GSS_S_DEFECTIVE_CREDENTIAL:
		return CERR_SEC_E_LOGON_DENIED;
	case GSS_S_DUPLICATE_ELEMENT:
	case GSS_S_OLD_TOKEN:
	case GSS_S_DUPLICATE_TOKEN:
		return CERR_SEC_E_LOGON_DENIED;
	default:
		return CERR_SEC_E_INVALID_TOKEN;
	}
}

/* map_message_error maps a failed wrap/unwrap/MIC call. Supplementary bits
 * count as failures: DCE/RPC runs over an ordered stream, so a replayed,
 * skipped or reordered token is an attack or a broken peer. */
static cerr_t map_message_error(OM_uint32 major)
{
	if (GSS_ROUTINE_ERROR(major) == GSS_S_BAD_SIG) {
		return CERR_SEC_E_MESSAGE_ALTERED;
	}
	if (GSS_ROUTINE_ERROR(major) == GSS_S_CONTEXT_EXPIRED) {
		return CERR_SEC_E_CONTEXT_EXPIRED;
	}
	if (GSS_ERROR(major)) {
		return CERR_SEC_E_MESSAGE_ALTERED;
	}
	if (GSS_SUPPLEMENTARY_INFO(major) &
	    (GSS_S_DUPLICATE_TOKEN | GSS_S_OLD_TOKEN | GSS_S_UNSEQ_TOKEN | GSS_S_GAP_TOKEN)) {
		return CERR_SEC_E_OUT_OF_SEQUENCE;
	}
	return CERR_OK;
}

/* ------------------------------------------------------------------ */
/* the first token's framing */

/* der_get_len reads a DER length (definite, at most 4 length octets). */
static bool der_get_len(cur_t *c, size_t *out)
{
	uint8_t b;
	if (!cur_get_u8(c, &b)) {
		return false;
	}
	if (b < 0x80) {
		*out = b;
		return true;
	}
	unsigned n = b & 0x7f;
	if (n == 0 || n > 4) {
		return false;
	}
	size_t v = 0;
	for (unsigned i = 0; i < n; i++) {
		if (!cur_get_u8(c, &b)) {
			return false;
		}
		v = (v << 8) | b;
	}
	*out = v;
	return true;
}

/* first_token_mech finds the mechanism OID an InitialContextToken (RFC 2743
 * 3.1: [APPLICATION 0] { thisMech OID, innerToken }) names. */
static bool first_token_mech(const cur_t *in, cur_t *oid)
{
	cur_t c = *in;
	uint8_t tag;
	size_t len;
	cur_t body;
	if (!cur_get_u8(&c, &tag) || tag != 0x60 || !der_get_len(&c, &len) || !cur_get_bytes(&c, &body, len)) {
		return false;
	}
	return cur_get_u8(&body, &tag) && tag == 0x06 && der_get_len(&body, &len) && len > 0 &&
	       cur_get_bytes(&body, oid, len);
}

/* first_token_ok checks that the first token is for the mechanism the auth
 * type stands for, before the GSS library picks one from the token itself.
 * Type 9: a framed SPNEGO token. Type 16: a framed Kerberos token, or the bare
 * AP-REQ ([APPLICATION 14], RFC 4120 5.5.1) that DCE-style initiators (MIT,
 * Heimdal, Windows) send without the RFC 2743 framing. */
static bool first_token_ok(const gss_prov_t *p, const cur_t *in)
{
	cur_t oid;
	if (!p->spnego) {
		cur_t c = *in;
		uint8_t tag;
		if (cur_get_u8(&c, &tag) && tag == 0x6e) {
			return true;
		}
	}
	if (!first_token_mech(in, &oid)) {
		return false;
	}
	if (p->spnego) {
		return cur_equal(&oid, OID_SPNEGO, sizeof(OID_SPNEGO));
	}
	return cur_equal(&oid, OID_KRB5, sizeof(OID_KRB5)) || cur_equal(&oid, OID_KRB5_MS, sizeof(OID_KRB5_MS));
}

/* ------------------------------------------------------------------ */
/* DCE-style AP-REQs without RFC 2743 framing
 *
 * MS-RPCE 2.2.2.12 has every Kerberos context for DCE/RPC made in DCE style,
 * and DCE-style initiators (Windows, Samba/Heimdal, MIT) send the AP-REQ bare.
 * MIT's acceptor insists on that pairing: a framed AP-REQ whose authenticator
 * asks for GSS_C_DCE_STYLE is a defective token to it. impacket frames its
 * DCE-style AP-REQs anyway (Windows accepts both), so the framing is taken
 * off before MIT sees the token - for type 16 directly, for type 9 inside the
 * NegTokenInit's mechToken. The flag is inside the encrypted authenticator,
 * so this cannot depend on it: a client that frames an AP-REQ without asking
 * for DCE style (not a DCE/RPC client, MS-RPCE 2.2.2.12) is then refused. */

static bool is_krb5_oid(const cur_t *oid)
{
	return cur_equal(oid, OID_KRB5, sizeof(OID_KRB5)) || cur_equal(oid, OID_KRB5_MS, sizeof(OID_KRB5_MS));
}

/* der_tlv splits the next DER element off c: its tag, the whole element and
 * its contents (a child of the whole). */
static bool der_tlv(cur_t *c, uint8_t *tag, cur_t *all, cur_t *val)
{
	cur_t h = *c;
	size_t len;
	if (!cur_get_u8(&h, tag) || !der_get_len(&h, &len) || len > cur_len(&h)) {
		return false;
	}
	size_t hdr = cur_len(c) - cur_len(&h);
	return cur_get_bytes(c, all, hdr + len) && cur_sub(all, hdr, len, val);
}

/* unframe_ap_req gives the bare AP-REQ when in is a framed Kerberos AP-REQ
 * (RFC 1964 1.1: [APPLICATION 0] { krb5 OID, TOK_ID 01 00, AP-REQ }). */
static bool unframe_ap_req(const cur_t *in, cur_t *raw)
{
	cur_t c = *in;
	cur_t all, body, oid_all, oid;
	uint8_t tag;
	uint16_t tok_id;
	if (!der_tlv(&c, &tag, &all, &body) || tag != 0x60 || !cur_empty(&c)) {
		return false;
	}
	if (!der_tlv(&body, &tag, &oid_all, &oid) || tag != 0x06 || !is_krb5_oid(&oid) ||
	    !cur_get_u16be(&body, &tok_id) || tok_id != 0x0100 || cur_len(&body) == 0) {
		return false;
	}
	cur_t peek = body;
	if (!cur_get_u8(&peek, &tag) || tag != 0x6e) {
		return false;
	}
	*raw = body;
	return true;
}

/* spnego_unframe rewrites a NegTokenInit (RFC 4178 4.2.1) whose mechToken is
 * a framed Kerberos AP-REQ into the same NegTokenInit with the bare AP-REQ.
 * Returns false (out untouched) when there is nothing to rewrite. */
static bool spnego_unframe(const cur_t *in, buf_t *out)
{
	cur_t c = *in;
	cur_t all, body, oid_all, oid, ctx_all, ctx_val, seq_all, seq;
	uint8_t tag;
	if (!der_tlv(&c, &tag, &all, &body) || tag != 0x60 || !cur_empty(&c) ||
	    !der_tlv(&body, &tag, &oid_all, &oid) || tag != 0x06 ||
	    !cur_equal(&oid, OID_SPNEGO, sizeof(OID_SPNEGO)) || !der_tlv(&body, &tag, &ctx_all, &ctx_val) ||
	    tag != 0xa0 || !cur_empty(&body) || !der_tlv(&ctx_val, &tag, &seq_all, &seq) || tag != 0x30 ||
	    !cur_empty(&ctx_val)) {
		return false;
	}
	buf_t fields, tmp, tmp2;
	buf_init(&fields, GSS_MAX_TOKEN);
	buf_init(&tmp, GSS_MAX_TOKEN);
	buf_init(&tmp2, GSS_MAX_TOKEN);
	bool rewrote = false, ok = true;
	while (ok && !cur_empty(&seq)) {
		cur_t el, val;
		if (!der_tlv(&seq, &tag, &el, &val)) {
			ok = false;
			break;
		}
		cur_t tok_all, tok, raw;
		uint8_t t2;
		if (tag == 0xa2 && der_tlv(&val, &t2, &tok_all, &tok) && t2 == 0x04 && cur_empty(&val) &&
		    unframe_ap_req(&tok, &raw)) {
			buf_reset(&tmp);
			buf_put_der_tlv(&tmp, 0x04, cur_data(&raw), cur_len(&raw));
			buf_put_der_tlv(&fields, 0xa2, tmp.data, tmp.len);
			rewrote = true;
		} else {
			buf_put_bytes(&fields, cur_data(&el), cur_len(&el));
		}
	}
	if (ok && rewrote) {
		buf_reset(&tmp);
		buf_put_der_tlv(&tmp, 0x30, fields.data, fields.len);
		buf_reset(&tmp2);
		buf_put_bytes(&tmp2, cur_data(&oid_all), cur_len(&oid_all));
		buf_put_der_tlv(&tmp2, 0xa0, tmp.data, tmp.len);
		buf_put_der_tlv(out, 0x60, tmp2.data, tmp2.len);
		ok = buf_ok(&fields) && buf_ok(&tmp) && buf_ok(&tmp2) && buf_ok(out);
	}
	buf_free(&fields);
	buf_free(&tmp);
	buf_free(&tmp2);
	return ok && rewrote;
}

/* ------------------------------------------------------------------ */
/* completing a context */

/* enctype_from_oid reads the enctype MIT appends as the last arc of the
 * GSS_C_INQ_SSPI_SESSION_KEY key-type OID (1.2.840.113554.1.2.2.4.<enctype>). */
static unsigned enctype_from_oid(const gss_buffer_desc *b)
{
	cur_t c;
	cur_init(&c, b->value, b->length);
	unsigned last = 0;
	uint32_t arc = 0;
	uint8_t x;
	/* base-128 arcs; the first octet (two arcs) is irrelevant here */
	if (!cur_skip(&c, 1)) {
		return 0;
	}
	while (cur_get_u8(&c, &x)) {
		if (arc > (UINT32_MAX >> 7)) {
			return 0;
		}
		arc = (arc << 7) | (x & 0x7f);
		if (!(x & 0x80)) {
			last = arc;
			arc = 0;
		}
	}
	return last;
}

static cerr_t fetch_session_key(rpc_auth_ctx_t *c)
{
	OM_uint32 min;
	gss_buffer_set_t set = GSS_C_NO_BUFFER_SET;
	OM_uint32 maj = gss_inquire_sec_context_by_oid(&min, c->ctx, GSS_C_INQ_SSPI_SESSION_KEY, &set);
	if (GSS_ERROR(maj) || set == GSS_C_NO_BUFFER_SET || set->count < 1) {
		log_gss("inquire session key", maj, min);
		(void)gss_release_buffer_set(&min, &set);
		return CERR_SEC_E_LOGON_DENIED;
	}
	/* MS-KILE 3.1.1.2: a key longer than 16 bytes (AES-256) is truncated to
	 * 16 for the SSPI session key; shorter ones are used as they are. */
	size_t n = set->elements[0].length;
	if (n > sizeof(c->id.session_key)) {
		n = sizeof(c->id.session_key);
	}
	memcpy(c->id.session_key, set->elements[0].value, n);
	c->id.session_key_len = n;
	if (set->count >= 2) {
		c->extra.enctype = enctype_from_oid(&set->elements[1]);
	}
	(void)gss_release_buffer_set(&min, &set);
	return CERR_OK;
}

#define RFC1964_CONFOUNDER_LEN 8

/* rfc1964_enctype: the enctypes whose GSS tokens are RFC 1964's (the
 * others use RFC 4121 tokens): DES (1, 2, 3), DES3 (16), RC4 (23, 24). */
static bool rfc1964_enctype(unsigned enctype)
{
	return (enctype >= 1 && enctype <= 3) || enctype == 16 || enctype == 23 || enctype == 24;
}

/* measure_sizes computes both verifier sizes once: they are fixed per
 * context (the token layout depends on the enctype, not on the data, since
 * DCE style puts no padding or trailer in the token; RFC 4121 4.2.5 RRC). */
static cerr_t measure_sizes(rpc_auth_ctx_t *c)
{
	OM_uint32 min, maj;
	int conf = 0;
	gss_iov_buffer_desc wrap[2] = {
		{GSS_IOV_BUFFER_TYPE_HEADER, {0, NULL}},
		{GSS_IOV_BUFFER_TYPE_DATA, {16, NULL}},
	};
	maj = gss_wrap_iov_length(&min, c->ctx, 1, GSS_C_QOP_DEFAULT, &conf, wrap, 2);
	if (GSS_ERROR(maj)) {
		log_gss("wrap_iov_length", maj, min);
		return CERR_SEC_E_LOGON_DENIED;
	}
	c->wrap_len = wrap[0].buffer.length;
	gss_iov_buffer_desc mic[2] = {
		{GSS_IOV_BUFFER_TYPE_DATA, {16, NULL}},
		{GSS_IOV_BUFFER_TYPE_MIC_TOKEN, {0, NULL}},
	};
	maj = gss_get_mic_iov_length(&min, c->ctx, GSS_C_QOP_DEFAULT, mic, 2);
	if (GSS_ERROR(maj)) {
		log_gss("get_mic_iov_length", maj, min);
		return CERR_SEC_E_LOGON_DENIED;
	}
	c->mic_len = mic[1].buffer.length;
	if (rfc1964_enctype(c->extra.enctype) && c->wrap_len > RFC1964_CONFOUNDER_LEN) {
		/* RFC 1964 tokens (DES, DES3, RC4 as RFC 4757 7.2-7.3): the 8-byte
		 * confounder is in the wrap token only, but MIT's length function
		 * counts it for MIC tokens too (kg_seal_iov_length, krb5 1.20), so an
		 * RC4 MIC measured 45 where gss_get_mic makes 37. With DCE style the
		 * wrap header is the MIC token plus that confounder. */
		c->mic_len = c->wrap_len - RFC1964_CONFOUNDER_LEN;
	}
	if (c->wrap_len == 0 || c->wrap_len > RPC_FRAG_MAX / 4 || c->mic_len == 0 || c->mic_len > RPC_FRAG_MAX / 4) {
		return CERR_SEC_E_LOGON_DENIED;
	}
	return CERR_OK;
}

static char *dup_n(const void *p, size_t n)
{
	char *s = malloc(n + 1);
	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

/* set_names keeps the client principal "user@REALM" (len bytes at name)
 * and splits it (RFC 1964 2.1.1: the realm follows the last unquoted '@'). */
static cerr_t set_names(rpc_auth_ctx_t *c, const void *name, size_t len)
{
	if (len == 0 || memchr(name, '\0', len)) {
		return CERR_SEC_E_LOGON_DENIED;
	}
	c->principal = dup_n(name, len);
	if (!c->principal) {
		return CERR_NOMEM;
	}
	size_t at = 0;
	bool found = false;
	for (size_t i = 0; c->principal[i]; i++) {
		if (c->principal[i] == '\\' && c->principal[i + 1]) {
			i++;
		} else if (c->principal[i] == '@') {
			at = i;
			found = true;
		}
	}
	c->user = dup_n(c->principal, found ? at : len);
	c->domain = found ? dup_n(c->principal + at + 1, len - at - 1) : dup_n("", 0);
	if (!c->user || !c->domain) {
		return CERR_NOMEM;
	}
	return CERR_OK;
}

/* fetch_names takes the client principal from the completed context. */
static cerr_t fetch_names(rpc_auth_ctx_t *c)
{
	OM_uint32 min, maj;
	gss_buffer_desc name = GSS_C_EMPTY_BUFFER;
	maj = gss_display_name(&min, c->client, &name, NULL);
	if (GSS_ERROR(maj)) {
		log_gss("display_name", maj, min);
		return CERR_SEC_E_LOGON_DENIED;
	}
	cerr_t e = set_names(c, name.value, name.length);
	gss_release_buffer(&min, &name);
	return e;
}

/* same_client checks that the completed context names the client the first
 * leg's AP-REQ did (the token was built for that one). It always should:
 * both come from the one ticket. */
static cerr_t same_client(rpc_auth_ctx_t *c)
{
	OM_uint32 min, maj;
	gss_buffer_desc name = GSS_C_EMPTY_BUFFER;
	maj = gss_display_name(&min, c->client, &name, NULL);
	if (GSS_ERROR(maj)) {
		log_gss("display_name", maj, min);
		return CERR_SEC_E_LOGON_DENIED;
	}
	bool same = name.length == strlen(c->principal) && memcmp(name.value, c->principal, name.length) == 0;
	if (!same) {
		log_warn("gss: the context completed for %.*s, but the first leg's AP-REQ named %s; refused",
			 (int)name.length, (const char *)name.value, c->principal);
	}
	gss_release_buffer(&min, &name);
	return same ? CERR_OK : CERR_SEC_E_LOGON_DENIED;
}

/* fetch_pac copies the whole PAC when the ticket had one (MIT's mspac
 * module; authenticated = the server signature checked with our key). */
static cerr_t fetch_pac(rpc_auth_ctx_t *c)
{
	OM_uint32 min, maj;
	gss_buffer_desc attr = {sizeof(PAC_ATTR) - 1, (void *)PAC_ATTR};
	gss_buffer_desc value = GSS_C_EMPTY_BUFFER;
	gss_buffer_desc display = GSS_C_EMPTY_BUFFER;
	int authenticated = 0, complete = 0, more = -1;
	maj = gss_get_name_attribute(&min, c->client, &attr, &authenticated, &complete, &value, &display, &more);
	if (GSS_ERROR(maj)) {
		/* GSS_S_UNAVAILABLE: the ticket carries no PAC (a non-AD KDC) */
		log_debug("gss: no PAC for %s (major 0x%08x)", c->principal, maj);
		return CERR_OK;
	}
	cerr_t e = CERR_OK;
	if (value.length > 0 && value.length <= 1024u * 1024u) {
		c->pac = malloc(value.length);
		if (!c->pac) {
			e = CERR_NOMEM;
		} else {
			memcpy(c->pac, value.value, value.length);
			c->extra.pac = c->pac;
			c->extra.pac_len = value.length;
			c->extra.pac_authenticated = authenticated != 0;
		}
	}
	gss_release_buffer(&min, &value);
	gss_release_buffer(&min, &display);
	return e;
}

/* fill_identity points id and extra at what the context knows. */
static void fill_identity(rpc_auth_ctx_t *c)
{
	c->extra.magic = GSS_IDENTITY_EXTRA_MAGIC;
	c->extra.principal = c->principal;
	c->extra.mech = "Kerberos";
	c->extra.gss_flags = c->flags;
	c->id.user = c->user;
	c->id.domain = c->domain;
	c->id.workstation = "";
	c->id.package = c->prov->spnego ? "Negotiate" : "Kerberos";
	c->id.anonymous = false;
	c->id.extra = &c->extra;
}

static cerr_t complete_context(rpc_auth_ctx_t *c, gss_OID mech)
{
	/* SPNEGO reports the mechanism it negotiated; only Kerberos gets here
	 * (gss_set_neg_mechs), but check rather than trust a library setting */
	gss_OID_desc krb5_ms = {sizeof(OID_KRB5_MS), (void *)OID_KRB5_MS};
	if (mech == GSS_C_NO_OID || (!gss_oid_equal(mech, &krb5_oid_desc) && !gss_oid_equal(mech, &krb5_ms))) {
		log_info("gss: context completed with a mechanism other than Kerberos; refused");
		return CERR_SEC_E_LOGON_DENIED;
	}
	/* after an early identity the names and PAC are the AP-REQ's, which the
	 * access token was made from; the context must name the same client */
	cerr_t e;
	if ((e = c->early ? same_client(c) : fetch_names(c)) != CERR_OK || (e = fetch_session_key(c)) != CERR_OK ||
	    (e = measure_sizes(c)) != CERR_OK || (!c->early && (e = fetch_pac(c)) != CERR_OK)) {
		return e;
	}
	fill_identity(c);
	c->id.provisional = false;
	log_debug("gss: %s authenticated (%s, flags 0x%x%s, enctype %u, verifier %zu/%zu, PAC %zu bytes%s)",
		  c->principal, c->id.package, c->flags, (c->flags & GSS_C_DCE_STYLE) ? " DCE" : "",
		  c->extra.enctype, c->wrap_len, c->mic_len, c->extra.pac_len,
		  c->extra.pac ? (c->extra.pac_authenticated ? " verified" : " NOT verified") : "");
	return CERR_OK;
}

/* ------------------------------------------------------------------ */
/* the caller at the first leg
 *
 * MIT says nothing about a DCE-style context until the client's AP-REP
 * completes it (gss_inquire_context refuses an incomplete one), yet the
 * AP-REQ it has just accepted already proves who the client is, and Windows
 * builds the access token right there (MS-KILE 3.4.5.1, 3.4.5.2): a caller
 * refused network logon fails the bind with bind_nak reason 9 (MS-RPCE
 * 3.3.1.5.2), not the third leg. So once GSS has accepted the AP-REQ it is
 * read again with krb5_rd_req: the same keytab, no replay cache (GSS has
 * just stored this very authenticator in its own), the client principal
 * from the ticket, and the PAC from its authorization data with the server
 * signature checked with the service key (MS-PAC 2.8.1), as MIT's mspac
 * module checks it for the completed context. */

/* bare_ap_req gives the AP-REQ in a Kerberos mechanism token, bare
 * ([APPLICATION 14], RFC 4120 5.5.1) or framed (RFC 1964 1.1). */
static bool bare_ap_req(const cur_t *tok, cur_t *raw)
{
	cur_t peek = *tok;
	uint8_t tag;
	if (cur_get_u8(&peek, &tag) && tag == 0x6e) {
		*raw = *tok;
		return true;
	}
	return unframe_ap_req(tok, raw);
}

/* spnego_ap_req finds the AP-REQ in a NegTokenInit (RFC 4178 4.2.1) whose
 * first mechType is Kerberos: only then is mechToken the optimistic token
 * the acceptor gave to the Kerberos mechanism. */
static bool spnego_ap_req(const cur_t *in, cur_t *raw)
{
	cur_t c = *in;
	cur_t all, body, oid_all, oid, ctx_all, ctx_val, seq_all, seq;
	uint8_t tag;
	if (!der_tlv(&c, &tag, &all, &body) || tag != 0x60 || !cur_empty(&c) ||
	    !der_tlv(&body, &tag, &oid_all, &oid) || tag != 0x06 ||
	    !cur_equal(&oid, OID_SPNEGO, sizeof(OID_SPNEGO)) || !der_tlv(&body, &tag, &ctx_all, &ctx_val) ||
	    tag != 0xa0 || !der_tlv(&ctx_val, &tag, &seq_all, &seq) || tag != 0x30) {
		return false;
	}
	bool krb5_first = false, found = false;
	while (!cur_empty(&seq)) {
		cur_t el, val, inner_all, inner;
		if (!der_tlv(&seq, &tag, &el, &val)) {
			return false;
		}
		if (tag == 0xa0) {
			/* mechTypes: SEQUENCE OF OID, the initiator's preference first */
			cur_t first_all, first;
			uint8_t t2, t3;
			if (!der_tlv(&val, &t2, &inner_all, &inner) || t2 != 0x30 ||
			    !der_tlv(&inner, &t3, &first_all, &first) || t3 != 0x06) {
				return false;
			}
			krb5_first = is_krb5_oid(&first);
		} else if (tag == 0xa2) {
			uint8_t t2;
			if (!der_tlv(&val, &t2, &inner_all, &inner) || t2 != 0x04) {
				return false;
			}
			found = bare_ap_req(&inner, raw);
		}
	}
	return krb5_first && found;
}

/* early_pac keeps the ticket's PAC (inside AD-IF-RELEVANT, MS-PAC 4) and
 * whether its server signature verifies with the key that decrypted the
 * ticket (the keytab entry rd_req put in ticket->server). */
static cerr_t early_pac(rpc_auth_ctx_t *c, krb5_context kc, krb5_keytab kt, const krb5_ticket *tkt)
{
	krb5_authdata **ad = NULL;
	krb5_error_code ret = krb5_find_authdata(kc, tkt->enc_part2->authorization_data, NULL,
						 KRB5_AUTHDATA_WIN2K_PAC, &ad);
	if (ret != 0 || !ad || !ad[0]) {
		krb5_free_authdata(kc, ad);
		return CERR_OK; /* a ticket without a PAC (a KDC that makes none) */
	}
	if (ad[1] || ad[0]->length == 0 || ad[0]->length > 1024u * 1024u) {
		/* two PACs or an absurd one: let the completed context decide */
		krb5_free_authdata(kc, ad);
		return CERR_SEC_E_INVALID_TOKEN;
	}
	bool verified = false;
	krb5_pac pac = NULL;
	if (krb5_pac_parse(kc, ad[0]->contents, ad[0]->length, &pac) == 0) {
		krb5_keytab_entry ent;
		ret = krb5_kt_get_entry(kc, kt, tkt->server, tkt->enc_part.kvno, tkt->enc_part.enctype, &ent);
		if (ret != 0) {
			ret = krb5_kt_get_entry(kc, kt, tkt->server, 0, tkt->enc_part.enctype, &ent);
		}
		if (ret == 0) {
			verified = krb5_pac_verify(kc, pac, tkt->enc_part2->times.authtime, tkt->enc_part2->client,
						   &ent.key, NULL) == 0;
			(void)krb5_free_keytab_entry_contents(kc, &ent);
		}
		krb5_pac_free(kc, pac);
	}
	cerr_t e = CERR_OK;
	c->pac = malloc(ad[0]->length);
	if (!c->pac) {
		e = CERR_NOMEM;
	} else {
		memcpy(c->pac, ad[0]->contents, ad[0]->length);
		c->extra.pac = c->pac;
		c->extra.pac_len = ad[0]->length;
		c->extra.pac_authenticated = verified;
	}
	krb5_free_authdata(kc, ad);
	return e;
}

/* forget_early drops what a failed early_identity had filled in. */
static void forget_early(rpc_auth_ctx_t *c)
{
	if (c->pac) {
		memset(c->pac, 0, c->extra.pac_len);
		free(c->pac);
	}
	free(c->principal);
	free(c->user);
	free(c->domain);
	c->pac = NULL;
	c->principal = c->user = c->domain = NULL;
	memset(&c->extra, 0, sizeof(c->extra));
	memset(&c->id, 0, sizeof(c->id));
	c->early = false;
}

/* early_identity fills id from the AP-REQ GSS has accepted. Failing here
 * is not a failed logon: the caller is then known when the context
 * completes, as before (and logged, since the bind cannot refuse then). */
static void early_identity(rpc_auth_ctx_t *c, const cur_t *ap_req)
{
	krb5_context kc = NULL;
	krb5_keytab kt = NULL;
	krb5_auth_context ac = NULL;
	krb5_ticket *tkt = NULL;
	char *name = NULL;
	krb5_error_code ret = krb5_init_context(&kc);
	if (ret != 0) {
		log_info("gss: cannot read the AP-REQ before the context completes: krb5_init_context: %d", (int)ret);
		return;
	}
	const char *ktname = c->prov->keytab;
	ret = ktname ? krb5_kt_resolve(kc, ktname, &kt) : krb5_kt_default(kc, &kt);
	if (ret == 0) {
		ret = krb5_auth_con_init(kc, &ac);
	}
	if (ret == 0) {
		/* without KRB5_AUTH_CONTEXT_DO_TIME rd_req takes no replay cache */
		ret = krb5_auth_con_setflags(kc, ac, 0);
	}
	if (ret == 0) {
		krb5_data in = {.magic = 0, .length = (unsigned int)cur_len(ap_req), .data = (char *)cur_data(ap_req)};
		ret = krb5_rd_req(kc, &ac, &in, NULL, kt, NULL, &tkt);
	}
	if (ret == 0) {
		ret = krb5_unparse_name(kc, tkt->enc_part2->client, &name);
	}
	cerr_t e = CERR_OK;
	if (ret != 0) {
		const char *msg = krb5_get_error_message(kc, ret);
		log_info("gss: cannot read the accepted AP-REQ again (%s); the caller is known when the context "
			 "completes", msg ? msg : "?");
		krb5_free_error_message(kc, msg);
	} else if ((e = set_names(c, name, strlen(name))) != CERR_OK || (e = early_pac(c, kc, kt, tkt)) != CERR_OK) {
		log_info("gss: the AP-REQ of %s cannot give the caller yet (%s); it is known when the context "
			 "completes", name, cerr_name(e));
		forget_early(c);
	} else {
		fill_identity(c);
		c->id.provisional = true;
		c->early = true;
		log_debug("gss: %s's AP-REQ accepted in the first leg (%s, PAC %zu bytes%s); the context "
			  "completes at the next leg", c->principal, c->id.package, c->extra.pac_len,
			  c->extra.pac ? (c->extra.pac_authenticated ? " verified" : " NOT verified") : "");
	}
	krb5_free_unparsed_name(kc, name);
	if (tkt) {
		krb5_free_ticket(kc, tkt);
	}
	if (ac) {
		krb5_auth_con_free(kc, ac);
	}
	if (kt) {
		krb5_kt_close(kc, kt);
	}
	krb5_free_context(kc);
}

/* ------------------------------------------------------------------ */
/* provider vtable */

static cerr_t gss_ctx_new(void *data, rpc_auth_ctx_t **out)
{
	rpc_auth_ctx_t *c = calloc(1, sizeof(*c));
	if (!c) {
		return CERR_NOMEM;
	}
	c->prov = data;
	c->ctx = GSS_C_NO_CONTEXT;
	c->client = GSS_C_NO_NAME;
	c->last_seal = -1;
	*out = c;
	return CERR_OK;
}

static void gss_set_level(rpc_auth_ctx_t *c, uint8_t level)
{
	c->level = level;
}

static cerr_t gss_step(rpc_auth_ctx_t *c, const cur_t *in, buf_t *out)
{
	if (c->state == ST_DONE || c->state == ST_FAILED) {
		return CERR_SEC_E_INVALID_TOKEN;
	}
	if (cur_len(in) == 0 || cur_len(in) > GSS_MAX_TOKEN) {
		c->state = ST_FAILED;
		return CERR_SEC_E_INVALID_TOKEN;
	}
	if (c->state == ST_START && !first_token_ok(c->prov, in)) {
		/* a SPNEGO token on type 16 (or the reverse) would make the GSS
		 * library pick a mechanism this auth type does not stand for */
		log_debug("gss: first %s token does not name the %s mechanism", c->prov->spnego ? "SPNEGO" : "Kerberos",
			  c->prov->spnego ? "SPNEGO" : "Kerberos");
		c->state = ST_FAILED;
		return CERR_SEC_E_INVALID_TOKEN;
	}
	cur_t tok = *in;
	buf_t rewritten;
	buf_init(&rewritten, GSS_MAX_TOKEN);
	cur_t ap_req;
	bool have_ap_req = false;
	if (c->state == ST_START) {
		cur_t raw;
		if (!c->prov->spnego && unframe_ap_req(in, &raw)) {
			tok = raw;
		} else if (c->prov->spnego && spnego_unframe(in, &rewritten)) {
			cur_init(&tok, rewritten.data, rewritten.len);
		}
		have_ap_req = c->prov->spnego ? spnego_ap_req(in, &ap_req) : bare_ap_req(in, &ap_req);
	}
	OM_uint32 min = 0, min2;
	gss_buffer_desc itok = {cur_len(&tok), (void *)cur_data(&tok)};
	gss_buffer_desc otok = GSS_C_EMPTY_BUFFER;
	gss_OID mech = GSS_C_NO_OID;
	OM_uint32 flags = 0;
	if (c->client != GSS_C_NO_NAME) {
		(void)gss_release_name(&min2, &c->client);
	}
	OM_uint32 maj = gss_accept_sec_context(&min, &c->ctx, c->prov->cred, &itok, GSS_C_NO_CHANNEL_BINDINGS,
					       &c->client, &mech, &otok, &flags, NULL, NULL);
	buf_free(&rewritten);
	if (otok.length > 0) {
		buf_put_bytes(out, otok.value, otok.length);
	}
	(void)gss_release_buffer(&min2, &otok);
	if (GSS_ERROR(maj)) {
		log_gss("accept_sec_context", maj, min);
		c->state = ST_FAILED;
		return map_accept_error(maj, min);
	}
	c->flags = flags;
	if (maj & GSS_S_CONTINUE_NEEDED) {
		if (c->state == ST_START && have_ap_req) {
			/* DCE style: the AP-REQ is accepted, the client's AP-REP is to come */
			early_identity(c, &ap_req);
		}
		c->state = ST_CONTINUE;
		return CERR_STATUS_MORE_PROCESSING_REQUIRED;
	}
	cerr_t e = complete_context(c, mech);
	if (e != CERR_OK) {
		c->state = ST_FAILED;
		return e;
	}
	c->state = ST_DONE;
	return CERR_OK;
}

static const rpc_identity_t *gss_identity(rpc_auth_ctx_t *c)
{
	return c->state == ST_DONE ? &c->id : NULL;
}

static const rpc_identity_t *gss_identity_early(rpc_auth_ctx_t *c)
{
	return c->state == ST_CONTINUE && c->early ? &c->id : NULL;
}

/* wants_wrap says which verifier the peer sends: the level decides (MS-RPCE
 * 2.2.2.12). Until the runtime says the level or a protect/unprotect shows
 * it, guess from the flags: a client that did not ask for confidentiality
 * cannot be at PKT_PRIVACY (Samba's gssapi_get_sig_size reasons the same). */
static bool wants_wrap(const rpc_auth_ctx_t *c)
{
	if (c->level != 0) {
		return c->level >= RPC_AUTH_LEVEL_PKT_PRIVACY;
	}
	if (c->last_seal >= 0) {
		return c->last_seal != 0;
	}
	return (c->flags & GSS_C_CONF_FLAG) != 0;
}

static size_t gss_sig_len(rpc_auth_ctx_t *c)
{
	if (c->state != ST_DONE) {
		return 0;
	}
	return wants_wrap(c) ? c->wrap_len : c->mic_len;
}

/* check_layout validates the offsets the runtime passes: header/body before
 * the stub, the sec_trailer between the stub and the verifier. */
static bool check_layout(size_t pdu_len, size_t stub_offset, size_t stub_len, size_t verifier_offset)
{
	return stub_offset <= pdu_len && stub_len <= pdu_len - stub_offset &&
	       stub_offset + stub_len <= verifier_offset && verifier_offset <= pdu_len;
}

/* fill_iov lays out the DCE-style IOVs (MS-KILE 3.4.5.4.1, GSS_WrapEx):
 * HEADER = the verifier, DATA = stub + auth padding (encrypted), and with
 * header signing SIGN_ONLY = everything before the stub and the sec_trailer
 * after it. Returns the count. */
static int fill_iov(gss_iov_buffer_desc iov[4], uint8_t *pdu, size_t pdu_len, size_t stub_offset,
		    size_t stub_len, size_t verifier_offset, bool header_sign)
{
	int n = 0;
	iov[n].type = GSS_IOV_BUFFER_TYPE_HEADER;
	iov[n].buffer.length = pdu_len - verifier_offset;
	iov[n].buffer.value = pdu + verifier_offset;
	n++;
	if (header_sign) {
		iov[n].type = GSS_IOV_BUFFER_TYPE_SIGN_ONLY;
		iov[n].buffer.length = stub_offset;
		iov[n].buffer.value = pdu;
		n++;
	}
	iov[n].type = GSS_IOV_BUFFER_TYPE_DATA;
	iov[n].buffer.length = stub_len;
	iov[n].buffer.value = pdu + stub_offset;
	n++;
	if (header_sign) {
		iov[n].type = GSS_IOV_BUFFER_TYPE_SIGN_ONLY;
		iov[n].buffer.length = verifier_offset - (stub_offset + stub_len);
		iov[n].buffer.value = pdu + stub_offset + stub_len;
		n++;
	}
	return n;
}

/* mic_input is what GSS_GetMICEx covers below PKT_PRIVACY: the stub (with
 * auth padding), or with header signing the PDU up to the verifier. */
static gss_buffer_desc mic_input(uint8_t *pdu, size_t stub_offset, size_t stub_len, size_t verifier_offset,
				 bool header_sign)
{
	gss_buffer_desc b;
	if (header_sign) {
		b.length = verifier_offset;
		b.value = pdu;
	} else {
		b.length = stub_len;
		b.value = pdu + stub_offset;
	}
	return b;
}

static cerr_t gss_protect(rpc_auth_ctx_t *c, uint8_t *pdu, size_t pdu_len, size_t stub_offset, size_t stub_len,
			  size_t verifier_offset, bool seal, bool header_sign)
{
	if (c->state != ST_DONE) {
		return CERR_INTERNAL;
	}
	if (!check_layout(pdu_len, stub_offset, stub_len, verifier_offset)) {
		return CERR_INVALID_ARG;
	}
	c->last_seal = seal;
	size_t want = seal ? c->wrap_len : c->mic_len;
	if (pdu_len - verifier_offset != want) {
		log_warn("gss: %zu-byte verifier space for a %zu-byte %s token", pdu_len - verifier_offset, want,
			 seal ? "wrap" : "MIC");
		return CERR_INTERNAL;
	}
	OM_uint32 maj, min;
	if (seal) {
		gss_iov_buffer_desc iov[4];
		int n = fill_iov(iov, pdu, pdu_len, stub_offset, stub_len, verifier_offset, header_sign);
		int conf = 0;
		maj = gss_wrap_iov(&min, c->ctx, 1, GSS_C_QOP_DEFAULT, &conf, iov, n);
		if (GSS_ERROR(maj) || !conf) {
			log_gss("wrap_iov", maj, min);
			return CERR_SEC_E_MESSAGE_ALTERED;
		}
		return CERR_OK;
	}
	gss_buffer_desc msg = mic_input(pdu, stub_offset, stub_len, verifier_offset, header_sign);
	gss_buffer_desc tok = GSS_C_EMPTY_BUFFER;
	maj = gss_get_mic(&min, c->ctx, GSS_C_QOP_DEFAULT, &msg, &tok);
	if (GSS_ERROR(maj)) {
		log_gss("get_mic", maj, min);
		return CERR_SEC_E_MESSAGE_ALTERED;
	}
	cerr_t e = CERR_OK;
	if (tok.length != want) {
		log_warn("gss: MIC token is %zu bytes, %zu expected", tok.length, want);
		e = CERR_INTERNAL;
	} else {
		memcpy(pdu + verifier_offset, tok.value, tok.length);
	}
	(void)gss_release_buffer(&min, &tok);
	return e;
}

static cerr_t gss_unprotect(rpc_auth_ctx_t *c, uint8_t *pdu, size_t pdu_len, size_t stub_offset,
			    size_t stub_len, size_t verifier_offset, bool seal, bool header_sign)
{
	if (c->state != ST_DONE) {
		return CERR_INTERNAL;
	}
	if (!check_layout(pdu_len, stub_offset, stub_len, verifier_offset) || verifier_offset == pdu_len) {
		return CERR_SEC_E_MESSAGE_ALTERED;
	}
	c->last_seal = seal;
	OM_uint32 maj, min;
	if (seal) {
		gss_iov_buffer_desc iov[4];
		int n = fill_iov(iov, pdu, pdu_len, stub_offset, stub_len, verifier_offset, header_sign);
		int conf = 0;
		gss_qop_t qop = 0;
		maj = gss_unwrap_iov(&min, c->ctx, &conf, &qop, iov, n);
		if (GSS_ERROR(maj)) {
			log_gss("unwrap_iov", maj, min);
			return map_message_error(maj);
		}
		if (!conf) {
			/* PKT_PRIVACY with an unencrypted wrap token: not what was agreed */
			log_debug("gss: request at privacy was not encrypted");
			return CERR_SEC_E_MESSAGE_ALTERED;
		}
		return map_message_error(maj);
	}
	gss_buffer_desc msg = mic_input(pdu, stub_offset, stub_len, verifier_offset, header_sign);
	gss_buffer_desc tok = {pdu_len - verifier_offset, pdu + verifier_offset};
	gss_qop_t qop = 0;
	maj = gss_verify_mic(&min, c->ctx, &msg, &tok, &qop);
	if (GSS_ERROR(maj)) {
		log_gss("verify_mic", maj, min);
	}
	return map_message_error(maj);
}

static void gss_ctx_free(rpc_auth_ctx_t *c)
{
	if (!c) {
		return;
	}
	OM_uint32 min;
	if (c->ctx != GSS_C_NO_CONTEXT) {
		(void)gss_delete_sec_context(&min, &c->ctx, GSS_C_NO_BUFFER);
	}
	if (c->client != GSS_C_NO_NAME) {
		(void)gss_release_name(&min, &c->client);
	}
	if (c->pac) {
		memset(c->pac, 0, c->extra.pac_len);
		free(c->pac);
	}
	free(c->principal);
	free(c->user);
	free(c->domain);
	memset(c, 0, sizeof(*c));
	free(c);
}

/* ------------------------------------------------------------------ */
/* providers */

static cerr_t acquire(gss_prov_t *p, const gss_acceptor_config_t *cfg)
{
	OM_uint32 maj, min;
	gss_key_value_element_desc kv = {"keytab", cfg && cfg->keytab && cfg->keytab[0] ? cfg->keytab : NULL};
	gss_key_value_set_desc store = {kv.value ? 1 : 0, &kv};
	gss_OID_desc *mech = p->spnego ? &spnego_oid_desc : &krb5_oid_desc;
	gss_OID_set_desc mechs = {1, mech};
	maj = gss_acquire_cred_from(&min, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs, GSS_C_ACCEPT,
				    kv.value ? &store : GSS_C_NO_CRED_STORE, &p->cred, NULL, NULL);
	if (GSS_ERROR(maj)) {
		char text[512];
		log_error("kerberos: cannot use the keytab %s: %s", kv.value ? kv.value : "(default)",
			  gss_status_text(maj, min, text, sizeof(text)));
		return CERR_CONFIG;
	}
	if (p->spnego) {
		/* SPNEGO offers only Kerberos: another registered mechanism (gss-ntlmssp)
		 * would authenticate against its own user store, not ours */
		gss_OID_desc krb5_ms = {sizeof(OID_KRB5_MS), (void *)OID_KRB5_MS};
		gss_OID_desc both[2] = {krb5_oid_desc, krb5_ms};
		gss_OID_set_desc neg = {2, both};
		maj = gss_set_neg_mechs(&min, p->cred, &neg);
		if (GSS_ERROR(maj)) {
			char text[512];
			log_error("kerberos: cannot restrict SPNEGO to Kerberos: %s",
				  gss_status_text(maj, min, text, sizeof(text)));
			(void)gss_release_cred(&min, &p->cred);
			return CERR_CONFIG;
		}
	}
	return CERR_OK;
}

static cerr_t make_provider(rpc_auth_provider_t *out, const gss_acceptor_config_t *cfg, bool spnego)
{
	memset(out, 0, sizeof(*out));
	gss_prov_t *p = calloc(1, sizeof(*p));
	if (!p) {
		return CERR_NOMEM;
	}
	p->cred = GSS_C_NO_CREDENTIAL;
	p->spnego = spnego;
	if (cfg && cfg->keytab && cfg->keytab[0]) {
		/* early_identity opens the keytab GSS was given */
		p->keytab = strdup(cfg->keytab);
		if (!p->keytab) {
			free(p);
			return CERR_NOMEM;
		}
	}
	cerr_t e = acquire(p, cfg);
	if (e != CERR_OK) {
		free(p->keytab);
		free(p);
		return e;
	}
	out->auth_type = spnego ? RPC_AUTH_GSS_NEGOTIATE : RPC_AUTH_GSS_KERBEROS;
	out->name = spnego ? "Negotiate" : "Kerberos";
	out->ctx_new = gss_ctx_new;
	out->step = gss_step;
	out->identity = gss_identity;
	out->sig_len = gss_sig_len;
	out->protect = gss_protect;
	out->unprotect = gss_unprotect;
	out->ctx_free = gss_ctx_free;
	out->set_level = gss_set_level;
	out->identity_early = gss_identity_early;
	out->data = p;
	return CERR_OK;
}

cerr_t gss_krb5_provider(rpc_auth_provider_t *out, const gss_acceptor_config_t *cfg)
{
	return make_provider(out, cfg, false);
}

cerr_t gss_spnego_provider(rpc_auth_provider_t *out, const gss_acceptor_config_t *cfg)
{
	return make_provider(out, cfg, true);
}

void gss_provider_cleanup(rpc_auth_provider_t *p)
{
	if (!p) {
		return;
	}
	gss_prov_t *g = p->data;
	if (g) {
		OM_uint32 min;
		if (g->cred != GSS_C_NO_CREDENTIAL) {
			(void)gss_release_cred(&min, &g->cred);
		}
		free(g->keytab);
		free(g);
	}
	memset(p, 0, sizeof(*p));
}

const gss_identity_extra_t *gss_identity_extra(const rpc_identity_t *identity)
{
	/* only this provider's packages carry a gss_identity_extra_t */
	if (!identity || !identity->extra || !identity->package ||
	    (strcmp(identity->package, "Kerberos") != 0 && strcmp(identity->package, "Negotiate") != 0)) {
		return NULL;
	}
	const gss_identity_extra_t *x = identity->extra;
	return x->magic == GSS_IDENTITY_EXTRA_MAGIC ? x : NULL;
}
