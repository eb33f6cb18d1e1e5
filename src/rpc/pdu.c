/*
 * pdu.c - connection-oriented DCE/RPC PDUs (C706 ch. 12, MS-RPCE 2.2.2): the
 * decoder cuts the sec_trailer from the end using auth_length, then parses the
 * PTYPE's body through the cursor into rpc_pdu_t; the encoders write whole
 * PDUs through the builder and patch frag_length/auth_length at the end.
 * Nothing here acts on a PDU: assoc.c does, on the structs.
 */
#include "rpc/pdu.h"

#include <string.h>

#include "rpc/iface.h"
#include "rpc/limits.h"
#include "util/log.h"

/* C706 14 (NDR) and MS-RPCE 2.2.5 (NDR64) transfer syntaxes. Static
 * initialisers, so they are valid before main() runs. */
const guid_t RPC_NDR20_UUID = {0x8a885d04, 0x1ceb, 0x11c9, {0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60}};
const guid_t RPC_NDR64_UUID = {0x71710533, 0xbeba, 0x4937, {0x83, 0x19, 0xb5, 0xdb, 0xef, 0x9c, 0xcc, 0x36}};
const guid_t RPC_BIND_NAK_EEINFO_SIGNATURE = {
	0x90740320, 0xfad0, 0x11d3, {0x82, 0xd7, 0x00, 0x90, 0x27, 0xb1, 0x30, 0xab}};

/* Wire sizes of the fixed parts (C706 12.6.3.1). */
#define SYNTAX_LEN 20u          /* p_syntax_id_t: uuid + u32 version */
#define CTX_ELEM_MIN_LEN 24u    /* p_cont_elem_t with no transfer syntax */
#define RESULT_LEN 24u          /* p_result_t */

const char *rpc_ptype_name(uint8_t ptype)
{
	static const char *const names[] = {
		"request", "ping", "response", "fault", "working", "nocall", "reject",
		"ack", "cl_cancel", "fack", "cancel_ack", "bind", "bind_ack", "bind_nak",
		"alter_context", "alter_context_resp", "auth3", "shutdown", "co_cancel",
		"orphaned", "rts",
	};
	if (ptype >= sizeof(names) / sizeof(names[0])) {
		return "unknown";
	}
	return names[ptype];
}

/* drep_is_be reads the integer representation from drep[0] (C706 14.2.5):
 * high nibble 0 is big-endian, 1 little-endian; anything else is invalid. */
static bool drep_valid(const uint8_t drep[4]) { return (drep[0] >> 4) <= 1; }
static bool drep_is_be(const uint8_t drep[4]) { return (drep[0] >> 4) == 0; }

static bool version_ok(uint8_t vers, uint8_t minor) { return vers == 5 && minor <= 1; }

/* ---------------------------------------------------------------- decoding */

/* read_hdr reads the 16-byte common header (C706 12.6.3.1) and switches c
 * to the byte order drep names, so the body is read in that order too. */
static bool read_hdr(cur_t *c, rpc_hdr_t *h)
{
	if (!(cur_get_u8(c, &h->rpc_vers) && cur_get_u8(c, &h->rpc_vers_minor) &&
	      cur_get_u8(c, &h->ptype) && cur_get_u8(c, &h->pfc_flags) && cur_copy(c, h->drep, 4))) {
		return false;
	}
	c->be = drep_is_be(h->drep);
	return cur_get_u16(c, &h->frag_length) && cur_get_u16(c, &h->auth_length) &&
	       cur_get_u32(c, &h->call_id);
}

cerr_t rpc_pdu_peek_length(const uint8_t *data, size_t len, uint16_t *out_frag_length)
{
	cur_t c;
	rpc_hdr_t h;
	cur_init(&c, data, len);
	if (len < RPC_HDR_LEN || !read_hdr(&c, &h)) {
		return CERR_TRUNCATED;
	}
	if (!version_ok(h.rpc_vers, h.rpc_vers_minor) || !drep_valid(h.drep) ||
	    h.frag_length < RPC_HDR_LEN) {
		return CERR_MALFORMED;
	}
	*out_frag_length = h.frag_length;
	return CERR_OK;
}

/* Decode failures are logged at debug level with the reason, so a capture
 * and a log line explain a refused PDU; the code travels up. */
#define BAD(code, why)                                   \
	do {                                             \
		log_debug("%s: %s", ptype_for_log, why); \
		return (code);                           \
	} while (0)

static bool read_syntax(cur_t *c, rpc_syntax_t *s)
{
	return cur_get_guid(c, &s->uuid) && cur_get_u32(c, &s->version);
}

/* A list whose element count comes off the wire, and what bounds it. */
typedef struct wire_list {
	size_t max;           /* the rpc/limits.h cap: more is CERR_LIMIT */
	size_t min_len;       /* the fewest bytes one element takes on the wire */
	size_t elem_size;     /* one decoded element */
	const char *too_many; /* the debug-log reasons */
	const char *too_long;
} wire_list_t;

static const wire_list_t CTX_LIST = {RPC_MAX_CTX_PER_BIND, CTX_ELEM_MIN_LEN, sizeof(rpc_ctx_elem_t),
				     "too many presentation contexts", "context count exceeds the body"};
static const wire_list_t TRANSFER_LIST = {RPC_MAX_TRANSFER_PER_CTX, SYNTAX_LEN, sizeof(rpc_syntax_t),
					  "too many transfer syntaxes", "transfer syntax count exceeds the body"};
static const wire_list_t RESULT_LIST = {RPC_MAX_RESULTS_PER_ACK, RESULT_LEN, sizeof(rpc_ctx_result_elem_t),
					"too many results", "result count exceeds the body"};

/* alloc_list checks a count n read from the wire before anything is
 * allocated from it - against the list's cap, then against what is left of
 * the body - and allocates n elements from the arena (*out NULL for none). */
static cerr_t alloc_list(arena_t *a, const cur_t *body, const rpc_pdu_t *p, const wire_list_t *l, size_t n,
			 void **out)
{
	const char *ptype_for_log = rpc_ptype_name(p->hdr.ptype);
	*out = NULL;
	if (n > l->max) {
		BAD(CERR_LIMIT, l->too_many);
	}
	if (n * l->min_len > cur_len(body)) {
		BAD(CERR_MALFORMED, l->too_long);
	}
	if (n == 0) {
		return CERR_OK;
	}
	if (!a) {
		return CERR_INVALID_ARG;
	}
	*out = arena_array(a, n, l->elem_size);
	return *out ? CERR_OK : CERR_NOMEM;
}

/* body_done enforces "parse fully or fail" for PDUs without a stub: what is
 * left before the sec_trailer must be exactly the auth padding (C706 12.6.3.1:
 * the auth_verifier is 4-aligned with auth_pad_length octets before it). */
static bool body_done(const cur_t *body, const rpc_pdu_t *p)
{
	return cur_len(body) == (p->has_auth ? p->auth.auth_pad_length : 0u);
}

static cerr_t decode_bind(arena_t *a, cur_t *body, rpc_pdu_t *p)
{
	const char *ptype_for_log = rpc_ptype_name(p->hdr.ptype);
	uint8_t res8;
	uint16_t res16;
	if (!(cur_get_u16(body, &p->u.bind.max_xmit_frag) && cur_get_u16(body, &p->u.bind.max_recv_frag) &&
	      cur_get_u32(body, &p->u.bind.assoc_group_id) && cur_get_u8(body, &p->u.bind.n_ctx) &&
	      cur_get_u8(body, &res8) && cur_get_u16(body, &res16))) {
		BAD(CERR_MALFORMED, "fixed fields cut short");
	}
	uint8_t n_ctx = p->u.bind.n_ctx;
	void *list;
	cerr_t err = alloc_list(a, body, p, &CTX_LIST, n_ctx, &list);
	if (err != CERR_OK) {
		return err;
	}
	p->u.bind.ctx = list;
	for (unsigned i = 0; i < n_ctx; i++) {
		rpc_ctx_elem_t *e = &p->u.bind.ctx[i];
		if (!(cur_get_u16(body, &e->ctx_id) && cur_get_u8(body, &e->n_transfer) &&
		      cur_get_u8(body, &res8) && read_syntax(body, &e->abstract))) {
			BAD(CERR_MALFORMED, "context element cut short");
		}
		err = alloc_list(a, body, p, &TRANSFER_LIST, e->n_transfer, &list);
		if (err != CERR_OK) {
			return err;
		}
		e->transfer = list;
		for (unsigned j = 0; j < e->n_transfer; j++) {
			if (!read_syntax(body, &e->transfer[j])) {
				BAD(CERR_MALFORMED, "transfer syntax cut short");
			}
		}
	}
	/* Bytes may follow the context list: impacket's alter_context repeats its
	 * element, and Samba (and so, its tests say, Windows) ignores the rest of
	 * the body. They are not read; the auth trailer was already cut off. */
	return CERR_OK;
}

/* read_sec_addr reads port_any_t (C706 12.6.3.1): u16 length including the
 * NUL, then that many ASCII bytes. Length 0 is the empty string (Windows'
 * alter_context_resp). Anything but printable ASCII and a final NUL is refused,
 * since the string ends up in logs. */
static cerr_t read_sec_addr(arena_t *a, cur_t *body, rpc_pdu_t *p)
{
	const char *ptype_for_log = rpc_ptype_name(p->hdr.ptype);
	uint16_t n;
	if (!cur_get_u16(body, &n)) {
		BAD(CERR_MALFORMED, "secondary address cut short");
	}
	if (n > RPC_MAX_SEC_ADDR_LEN) {
		BAD(CERR_LIMIT, "secondary address too long");
	}
	if (n > cur_len(body)) {
		BAD(CERR_MALFORMED, "secondary address exceeds the body");
	}
	if (n == 0) {
		p->u.bind_ack.sec_addr = "";
		return CERR_OK;
	}
	if (!a) {
		return CERR_INVALID_ARG;
	}
	char *s = arena_alloc(a, n);
	if (!s) {
		return CERR_NOMEM;
	}
	if (!cur_copy(body, s, n)) {
		BAD(CERR_MALFORMED, "secondary address cut short");
	}
	if (s[n - 1] != '\0') {
		BAD(CERR_MALFORMED, "secondary address not NUL-terminated");
	}
	for (size_t i = 0; i + 1 < n; i++) {
		if (s[i] < 0x20 || s[i] > 0x7e) {
			BAD(CERR_MALFORMED, "secondary address not printable ASCII");
		}
	}
	p->u.bind_ack.sec_addr = s;
	return CERR_OK;
}

static cerr_t decode_bind_ack(arena_t *a, cur_t *body, rpc_pdu_t *p)
{
	const char *ptype_for_log = rpc_ptype_name(p->hdr.ptype);
	uint8_t res8;
	uint16_t res16;
	if (!(cur_get_u16(body, &p->u.bind_ack.max_xmit_frag) &&
	      cur_get_u16(body, &p->u.bind_ack.max_recv_frag) &&
	      cur_get_u32(body, &p->u.bind_ack.assoc_group_id))) {
		BAD(CERR_MALFORMED, "fixed fields cut short");
	}
	cerr_t e = read_sec_addr(a, body, p);
	if (e != CERR_OK) {
		return e;
	}
	/* the result list is 4-aligned from the PDU start; the body cursor's
	 * base is the PDU start, so cur_align measures from there */
	if (!(cur_align(body, 4) && cur_get_u8(body, &p->u.bind_ack.n_results) && cur_get_u8(body, &res8) &&
	      cur_get_u16(body, &res16))) {
		BAD(CERR_MALFORMED, "result list header cut short");
	}
	uint8_t n = p->u.bind_ack.n_results;
	void *list;
	e = alloc_list(a, body, p, &RESULT_LIST, n, &list);
	if (e != CERR_OK) {
		return e;
	}
	p->u.bind_ack.results = list;
	for (unsigned i = 0; i < n; i++) {
		rpc_ctx_result_elem_t *r = &p->u.bind_ack.results[i];
		if (!(cur_get_u16(body, &r->result) && cur_get_u16(body, &r->reason) &&
		      read_syntax(body, &r->transfer))) {
			BAD(CERR_MALFORMED, "result cut short");
		}
	}
	if (!body_done(body, p)) {
		BAD(CERR_MALFORMED, "bytes left after the result list");
	}
	return CERR_OK;
}

/* at_signature tells whether the EEInfo signature starts off bytes into c. */
static bool at_signature(const cur_t *c, size_t off)
{
	cur_t s;
	guid_t g;
	return cur_sub(c, off, 16, &s) && cur_get_guid(&s, &g) && guid_equal(&g, &RPC_BIND_NAK_EEINFO_SIGNATURE);
}

/* decode_bind_nak: reason, then p_rt_versions_supported_t (C706 12.6.4.5),
 * then, per MS-RPCE 2.2.2.9, an optional 16-byte signature after which MS-EERR
 * extended error information follows. Windows pads the versions to 4 (Samba's
 * raw_protocol.py tests pin 3 zero bytes), so the signature is looked for
 * right after the versions and, failing that, at the next 4-byte boundary.
 * Bytes that are neither are padding. The bind_nak is only ever received by a
 * client, so it is read leniently. */
static cerr_t decode_bind_nak(cur_t *body, rpc_pdu_t *p)
{
	const char *ptype_for_log = rpc_ptype_name(p->hdr.ptype);
	if (!cur_get_u16(body, &p->u.bind_nak.reason)) {
		BAD(CERR_MALFORMED, "reason cut short");
	}
	if (cur_empty(body)) {
		return CERR_OK;
	}
	uint8_t n;
	(void)cur_get_u8(body, &n);
	if (n > RPC_MAX_NAK_VERSIONS) {
		BAD(CERR_LIMIT, "too many versions");
	}
	p->u.bind_nak.n_versions = n;
	for (unsigned i = 0; i < n; i++) {
		if (!cur_copy(body, p->u.bind_nak.versions[i], 2)) {
			BAD(CERR_MALFORMED, "versions cut short");
		}
	}
	size_t pad = (4u - (cur_offset(body) & 3u)) & 3u;
	size_t sig_at;
	if (at_signature(body, 0)) {
		sig_at = 0;
	} else if (pad && at_signature(body, pad)) {
		sig_at = pad;
	} else {
		(void)cur_skip(body, cur_len(body));
		return CERR_OK;
	}
	(void)cur_skip(body, sig_at + 16);
	p->u.bind_nak.has_signature = true;
	(void)cur_get_bytes(body, &p->u.bind_nak.extended_error, cur_len(body));
	return CERR_OK;
}

/* split_stub takes what remains of a request/response/fault body: the stub,
 * then auth_pad_length padding octets (MS-RPCE 2.2.2.11), which must fit. */
static cerr_t split_stub(cur_t *body, rpc_pdu_t *p, cur_t *out_stub)
{
	const char *ptype_for_log = rpc_ptype_name(p->hdr.ptype);
	size_t pad = p->has_auth ? p->auth.auth_pad_length : 0;
	if (pad > cur_len(body)) {
		BAD(CERR_MALFORMED, "auth_pad_length exceeds the stub");
	}
	p->stub_offset = cur_offset(body);
	p->stub_length = cur_len(body) - pad;
	(void)cur_get_bytes(body, out_stub, p->stub_length);
	cur_rebase(out_stub); /* NDR alignment counts from the stub start */
	(void)cur_skip(body, pad);
	return CERR_OK;
}

static cerr_t decode_request(cur_t *body, rpc_pdu_t *p)
{
	const char *ptype_for_log = rpc_ptype_name(p->hdr.ptype);
	if (!(cur_get_u32(body, &p->u.request.alloc_hint) && cur_get_u16(body, &p->u.request.ctx_id) &&
	      cur_get_u16(body, &p->u.request.opnum))) {
		BAD(CERR_MALFORMED, "fixed fields cut short");
	}
	/* C706 12.6.4.9: with PFC_OBJECT_UUID the object UUID precedes the stub
	 * (DCOM puts the IPID there, MS-DCOM 2.2.1) */
	if (p->hdr.pfc_flags & RPC_PFC_OBJECT_UUID) {
		if (!cur_get_guid(body, &p->u.request.object)) {
			BAD(CERR_MALFORMED, "object UUID cut short");
		}
		p->u.request.has_object = true;
	}
	return split_stub(body, p, &p->u.request.stub);
}

static cerr_t decode_response(cur_t *body, rpc_pdu_t *p)
{
	const char *ptype_for_log = rpc_ptype_name(p->hdr.ptype);
	uint8_t reserved;
	if (!(cur_get_u32(body, &p->u.response.alloc_hint) && cur_get_u16(body, &p->u.response.ctx_id) &&
	      cur_get_u8(body, &p->u.response.cancel_count) && cur_get_u8(body, &reserved))) {
		BAD(CERR_MALFORMED, "fixed fields cut short");
	}
	return split_stub(body, p, &p->u.response.stub);
}

static cerr_t decode_fault(cur_t *body, rpc_pdu_t *p)
{
	const char *ptype_for_log = rpc_ptype_name(p->hdr.ptype);
	uint32_t reserved;
	if (!(cur_get_u32(body, &p->u.fault.alloc_hint) && cur_get_u16(body, &p->u.fault.ctx_id) &&
	      cur_get_u8(body, &p->u.fault.cancel_count) && cur_get_u8(body, &p->u.fault.flags) &&
	      cur_get_u32(body, &p->u.fault.status) && cur_get_u32(body, &reserved))) {
		BAD(CERR_MALFORMED, "fixed fields cut short");
	}
	return split_stub(body, p, &p->u.fault.stub);
}

cerr_t rpc_pdu_decode(arena_t *a, const uint8_t *data, size_t len, rpc_pdu_t *out)
{
	const char *ptype_for_log = "pdu";
	memset(out, 0, sizeof(*out));
	cur_t c;
	cur_init(&c, data, len);
	if (len < RPC_HDR_LEN || !read_hdr(&c, &out->hdr)) {
		return CERR_TRUNCATED;
	}
	const rpc_hdr_t *h = &out->hdr;
	ptype_for_log = rpc_ptype_name(h->ptype);
	if (!drep_valid(h->drep)) {
		BAD(CERR_MALFORMED, "invalid drep integer representation");
	}
	if (!version_ok(h->rpc_vers, h->rpc_vers_minor)) {
		BAD(CERR_UNSUPPORTED, "rpc_vers is not 5.0 or 5.1");
	}
	if (h->frag_length < RPC_HDR_LEN) {
		BAD(CERR_MALFORMED, "frag_length below the header size");
	}
	if (h->frag_length > len) {
		return CERR_TRUNCATED;
	}
	if (h->frag_length < len) {
		BAD(CERR_MALFORMED, "frag_length disagrees with the PDU length");
	}
	cur_t body;
	(void)cur_get_bytes(&c, &body, h->frag_length - RPC_HDR_LEN);

	/* The sec_trailer and auth_value are cut from the end: they start at
	 * frag_length - auth_length - 8 (MS-RPCE 2.2.2.11). */
	out->trailer_offset = h->frag_length;
	if (h->auth_length) {
		cur_t tr;
		if ((size_t)h->auth_length + RPC_SEC_TRAILER_LEN > cur_len(&body)) {
			BAD(CERR_MALFORMED, "auth_length exceeds the body");
		}
		(void)cur_get_last(&body, &tr, (size_t)h->auth_length + RPC_SEC_TRAILER_LEN);
		out->trailer_offset = cur_offset(&tr);
		rpc_auth_trailer_t *t = &out->auth;
		(void)(cur_get_u8(&tr, &t->auth_type) && cur_get_u8(&tr, &t->auth_level) &&
		       cur_get_u8(&tr, &t->auth_pad_length) && cur_get_u8(&tr, &t->auth_reserved) &&
		       cur_get_u32(&tr, &t->auth_context_id));
		(void)cur_get_bytes(&tr, &t->auth_value, h->auth_length);
		out->has_auth = true;
	}

	switch (h->ptype) {
	case RPC_PTYPE_REQUEST:
		return decode_request(&body, out);
	case RPC_PTYPE_RESPONSE:
		return decode_response(&body, out);
	case RPC_PTYPE_FAULT:
		return decode_fault(&body, out);
	case RPC_PTYPE_BIND:
	case RPC_PTYPE_ALTER_CONTEXT:
		return decode_bind(a, &body, out);
	case RPC_PTYPE_BIND_ACK:
	case RPC_PTYPE_ALTER_CONTEXT_RESP:
		return decode_bind_ack(a, &body, out);
	case RPC_PTYPE_BIND_NAK:
		return decode_bind_nak(&body, out);
	case RPC_PTYPE_AUTH3:
		/* MS-RPCE 2.2.2.10: auth_length MUST be non-zero; the 4 pad bytes
		 * before the trailer MUST be ignored (some clients omit them) */
		if (!out->has_auth) {
			BAD(CERR_MALFORMED, "auth3 without a sec_trailer");
		}
		return CERR_OK;
	case RPC_PTYPE_SHUTDOWN:
	case RPC_PTYPE_CO_CANCEL:
	case RPC_PTYPE_ORPHANED:
		/* C706 12.6.4: no body beyond an optional auth verifier */
		if (!body_done(&body, out)) {
			BAD(CERR_MALFORMED, "unexpected body");
		}
		return CERR_OK;
	default:
		BAD(CERR_UNSUPPORTED, "not a connection-oriented PTYPE");
	}
}

#undef BAD

/* ---------------------------------------------------------------- encoding */

/* A PDU being written: where it starts in b, where frag_length and
 * auth_length go, and the builder's byte order to restore afterwards. */
typedef struct pdu_writer {
	size_t start;
	size_t frag_len_at;
	size_t auth_len_at;
	bool saved_be;
} pdu_writer_t;

static cerr_t w_begin(buf_t *b, const rpc_hdr_t *h, uint8_t ptype, uint8_t flags, pdu_writer_t *w)
{
	if (!b || !h || !version_ok(h->rpc_vers, h->rpc_vers_minor) || !drep_valid(h->drep)) {
		return CERR_INVALID_ARG;
	}
	w->start = b->len;
	w->saved_be = b->be;
	b->be = drep_is_be(h->drep);
	buf_put_u8(b, h->rpc_vers);
	buf_put_u8(b, h->rpc_vers_minor);
	buf_put_u8(b, ptype);
	buf_put_u8(b, flags);
	buf_put_bytes(b, h->drep, 4);
	w->frag_len_at = buf_reserve(b, 2);
	w->auth_len_at = buf_reserve(b, 2);
	buf_put_u32(b, h->call_id);
	return CERR_OK;
}

/* w_pad4 pads with zeros to a multiple of 4 from the PDU start (C706 12.6.3.1
 * aligns the bind_ack result list and the auth verifier this way); returns the
 * number of bytes added. */
static uint8_t w_pad4(buf_t *b, const pdu_writer_t *w)
{
	size_t n = (4u - ((b->len - w->start) & 3u)) & 3u;
	buf_put_zeros(b, n);
	return (uint8_t)n;
}

static void w_trailer(buf_t *b, const rpc_out_auth_t *auth, uint8_t pad_len)
{
	buf_put_u8(b, auth->auth_type);
	buf_put_u8(b, auth->auth_level);
	buf_put_u8(b, pad_len);
	buf_put_u8(b, 0); /* auth_reserved */
	buf_put_u32(b, auth->auth_context_id);
}

/* w_token_auth appends padding to 4, the sec_trailer and the token: the
 * layout of bind, bind_ack, alter_context(_resp) (C706 12.6.3.1). */
static void w_token_auth(buf_t *b, const pdu_writer_t *w, const rpc_out_auth_t *auth)
{
	uint8_t pad = w_pad4(b, w);
	w_trailer(b, auth, pad);
	buf_put_bytes(b, auth->token, auth->token_len);
}

static cerr_t w_end(buf_t *b, pdu_writer_t *w, size_t auth_len)
{
	size_t total = b->len - w->start;
	cerr_t e = CERR_OK;
	if (!buf_ok(b)) {
		e = CERR_LIMIT; /* the builder's cap (or memory) ran out */
	} else if (total > RPC_FRAG_MAX || auth_len > UINT16_MAX) {
		e = CERR_LIMIT;
	} else {
		buf_patch_u16(b, w->frag_len_at, (uint16_t)total);
		buf_patch_u16(b, w->auth_len_at, (uint16_t)auth_len);
	}
	b->be = w->saved_be;
	return e;
}

void rpc_pdu_init_hdr(rpc_hdr_t *h, uint8_t ptype, uint8_t flags, uint32_t call_id)
{
	memset(h, 0, sizeof(*h));
	h->rpc_vers = 5;
	h->rpc_vers_minor = 0;
	h->ptype = ptype;
	h->pfc_flags = flags;
	h->drep[0] = RPC_DREP_LE;
	h->call_id = call_id;
}

static bool auth_ok(const rpc_out_auth_t *auth)
{
	return !auth || ((auth->token || auth->token_len == 0) && auth->token_len <= UINT16_MAX);
}

static void w_syntax(buf_t *b, const rpc_syntax_t *s)
{
	buf_put_guid(b, &s->uuid);
	buf_put_u32(b, s->version);
}

cerr_t rpc_pdu_encode_bind(buf_t *b, const rpc_hdr_t *h, uint16_t max_xmit, uint16_t max_recv,
			   uint32_t assoc_group, const rpc_ctx_elem_t *ctx, uint8_t n_ctx,
			   const rpc_out_auth_t *auth)
{
	if ((n_ctx && !ctx) || !auth_ok(auth)) {
		return CERR_INVALID_ARG;
	}
	for (unsigned i = 0; i < n_ctx; i++) {
		if (ctx[i].n_transfer && !ctx[i].transfer) {
			return CERR_INVALID_ARG;
		}
	}
	pdu_writer_t w;
	uint8_t ptype = h && h->ptype == RPC_PTYPE_ALTER_CONTEXT ? RPC_PTYPE_ALTER_CONTEXT : RPC_PTYPE_BIND;
	cerr_t e = w_begin(b, h, ptype, h ? h->pfc_flags : 0, &w);
	if (e != CERR_OK) {
		return e;
	}
	buf_put_u16(b, max_xmit);
	buf_put_u16(b, max_recv);
	buf_put_u32(b, assoc_group);
	buf_put_u8(b, n_ctx);
	buf_put_zeros(b, 3); /* reserved, reserved2 */
	for (unsigned i = 0; i < n_ctx; i++) {
		buf_put_u16(b, ctx[i].ctx_id);
		buf_put_u8(b, ctx[i].n_transfer);
		buf_put_u8(b, 0);
		w_syntax(b, &ctx[i].abstract);
		for (unsigned j = 0; j < ctx[i].n_transfer; j++) {
			w_syntax(b, &ctx[i].transfer[j]);
		}
	}
	if (auth) {
		w_token_auth(b, &w, auth);
	}
	return w_end(b, &w, auth ? auth->token_len : 0);
}

cerr_t rpc_pdu_encode_bind_ack(buf_t *b, const rpc_hdr_t *h, uint16_t max_xmit, uint16_t max_recv,
			       uint32_t assoc_group, const char *sec_addr,
			       const rpc_ctx_result_elem_t *res, uint8_t n_res, const rpc_out_auth_t *auth)
{
	size_t addr_len = sec_addr && sec_addr[0] ? strlen(sec_addr) + 1 : 0;
	if ((n_res && !res) || !auth_ok(auth) || addr_len > RPC_MAX_SEC_ADDR_LEN) {
		return CERR_INVALID_ARG;
	}
	pdu_writer_t w;
	uint8_t ptype = h && h->ptype == RPC_PTYPE_ALTER_CONTEXT_RESP ? RPC_PTYPE_ALTER_CONTEXT_RESP
								       : RPC_PTYPE_BIND_ACK;
	cerr_t e = w_begin(b, h, ptype, h ? h->pfc_flags : 0, &w);
	if (e != CERR_OK) {
		return e;
	}
	buf_put_u16(b, max_xmit);
	buf_put_u16(b, max_recv);
	buf_put_u32(b, assoc_group);
	buf_put_u16(b, (uint16_t)addr_len);
	buf_put_bytes(b, sec_addr, addr_len); /* includes the NUL */
	w_pad4(b, &w);
	buf_put_u8(b, n_res);
	buf_put_zeros(b, 3); /* reserved, reserved2 */
	for (unsigned i = 0; i < n_res; i++) {
		buf_put_u16(b, res[i].result);
		buf_put_u16(b, res[i].reason);
		w_syntax(b, &res[i].transfer);
	}
	if (auth) {
		w_token_auth(b, &w, auth);
	}
	return w_end(b, &w, auth ? auth->token_len : 0);
}

cerr_t rpc_pdu_encode_bind_nak(buf_t *b, const rpc_hdr_t *h, uint16_t reason)
{
	pdu_writer_t w;
	cerr_t e = w_begin(b, h, RPC_PTYPE_BIND_NAK, h ? h->pfc_flags : 0, &w);
	if (e != CERR_OK) {
		return e;
	}
	buf_put_u16(b, reason);
	buf_put_u8(b, 1); /* n_protocols: we speak 5.0 (C706 12.6.4.5) */
	buf_put_u8(b, 5);
	buf_put_u8(b, 0);
	w_pad4(b, &w); /* three zero bytes, as Windows sends */
	return w_end(b, &w, 0);
}

cerr_t rpc_pdu_encode_auth3(buf_t *b, const rpc_hdr_t *h, const rpc_out_auth_t *auth)
{
	if (!auth || !auth_ok(auth) || auth->token_len == 0) {
		return CERR_INVALID_ARG; /* MS-RPCE 2.2.2.10: auth_length MUST be > 0 */
	}
	pdu_writer_t w;
	cerr_t e = w_begin(b, h, RPC_PTYPE_AUTH3, h ? h->pfc_flags : 0, &w);
	if (e != CERR_OK) {
		return e;
	}
	buf_put_zeros(b, 4); /* pad */
	w_trailer(b, auth, 0);
	buf_put_bytes(b, auth->token, auth->token_len);
	return w_end(b, &w, auth->token_len);
}

cerr_t rpc_pdu_encode_fault(buf_t *b, const rpc_hdr_t *h, uint16_t ctx_id, uint32_t status)
{
	pdu_writer_t w;
	cerr_t e = w_begin(b, h, RPC_PTYPE_FAULT, h ? h->pfc_flags : 0, &w);
	if (e != CERR_OK) {
		return e;
	}
	/* alloc_hint 32: MS-RPCE 2.2.2.8 sizes extended error info as
	 * alloc_hint - 0x20, so without it alloc_hint is the PDU's own 32 bytes.
	 * (Samba sends 24; its Windows-validated tests only require non-zero.) */
	buf_put_u32(b, RPC_FAULT_LEN);
	buf_put_u16(b, ctx_id);
	buf_put_u8(b, 0); /* cancel_count */
	buf_put_u8(b, 0); /* flags: no extended error info */
	buf_put_u32(b, status);
	buf_put_u32(b, 0); /* reserved */
	return w_end(b, &w, 0);
}

cerr_t rpc_pdu_encode_shutdown(buf_t *b, const rpc_hdr_t *h)
{
	pdu_writer_t w;
	cerr_t e = w_begin(b, h, RPC_PTYPE_SHUTDOWN, h ? h->pfc_flags : 0, &w);
	if (e != CERR_OK) {
		return e;
	}
	return w_end(b, &w, 0);
}

/* w_stub_and_verifier writes the stub, auth padding up to a multiple of 16
 * from the stub start (MS-RPCE 2.2.2.11 wants the sec_trailer 16-aligned
 * relative to the PDU body; Samba and Windows pad this way), the sec_trailer
 * recording that padding, and sig_len zero bytes for the verifier. */
static void w_stub_and_verifier(buf_t *b, const pdu_writer_t *w, const uint8_t *stub, size_t stub_len,
				const rpc_out_auth_t *auth, size_t sig_len, rpc_frag_layout_t *lay)
{
	lay->pdu_offset = w->start;
	lay->stub_offset = b->len - w->start;
	buf_put_bytes(b, stub, stub_len);
	lay->stub_length = stub_len;
	lay->verifier_offset = 0;
	if (auth) {
		uint8_t pad = (uint8_t)((RPC_AUTH_PAD_ALIGN - (stub_len % RPC_AUTH_PAD_ALIGN)) % RPC_AUTH_PAD_ALIGN);
		buf_put_zeros(b, pad);
		lay->stub_length += pad;
		w_trailer(b, auth, pad);
		lay->verifier_offset = b->len - w->start;
		buf_put_zeros(b, sig_len);
	}
	lay->pdu_length = b->len - w->start;
}

/* w_stub_end finishes a request or response fragment: the stub and verifier
 * (w_stub_and_verifier), the patched lengths, and the layout in *out (when
 * not NULL) once the fragment is whole. */
static cerr_t w_stub_end(buf_t *b, pdu_writer_t *w, const uint8_t *stub, size_t stub_len,
			 const rpc_out_auth_t *auth, size_t sig_len, rpc_frag_layout_t *out)
{
	rpc_frag_layout_t lay;
	w_stub_and_verifier(b, w, stub, stub_len, auth, sig_len, &lay);
	cerr_t e = w_end(b, w, auth ? sig_len : 0);
	if (e == CERR_OK && out) {
		*out = lay;
	}
	return e;
}

static bool frag_args_ok(const uint8_t *stub, size_t stub_len, const rpc_out_auth_t *auth, size_t sig_len)
{
	if ((stub_len && !stub) || stub_len > RPC_FRAG_MAX) {
		return false;
	}
	return !auth || (sig_len > 0 && sig_len <= UINT16_MAX);
}

cerr_t rpc_pdu_encode_request_frag(buf_t *b, const rpc_hdr_t *h, uint32_t alloc_hint, uint16_t ctx_id,
				   uint16_t opnum, const guid_t *object, const uint8_t *stub,
				   size_t stub_len, const rpc_out_auth_t *auth, size_t sig_len,
				   rpc_frag_layout_t *out)
{
	if (!frag_args_ok(stub, stub_len, auth, sig_len)) {
		return CERR_INVALID_ARG;
	}
	uint8_t flags = h ? h->pfc_flags : 0;
	flags = object ? (uint8_t)(flags | RPC_PFC_OBJECT_UUID) : (uint8_t)(flags & ~RPC_PFC_OBJECT_UUID);
	pdu_writer_t w;
	cerr_t e = w_begin(b, h, RPC_PTYPE_REQUEST, flags, &w);
	if (e != CERR_OK) {
		return e;
	}
	buf_put_u32(b, alloc_hint);
	buf_put_u16(b, ctx_id);
	buf_put_u16(b, opnum);
	if (object) {
		buf_put_guid(b, object);
	}
	return w_stub_end(b, &w, stub, stub_len, auth, sig_len, out);
}

cerr_t rpc_pdu_encode_response_frag(buf_t *b, const rpc_hdr_t *h, uint32_t alloc_hint, uint16_t ctx_id,
				    const uint8_t *stub, size_t stub_len, const rpc_out_auth_t *auth,
				    size_t sig_len, rpc_frag_layout_t *out)
{
	if (!frag_args_ok(stub, stub_len, auth, sig_len)) {
		return CERR_INVALID_ARG;
	}
	pdu_writer_t w;
	cerr_t e = w_begin(b, h, RPC_PTYPE_RESPONSE, h ? h->pfc_flags : 0, &w);
	if (e != CERR_OK) {
		return e;
	}
	buf_put_u32(b, alloc_hint);
	buf_put_u16(b, ctx_id);
	buf_put_u8(b, 0); /* cancel_count */
	buf_put_u8(b, 0); /* reserved */
	return w_stub_end(b, &w, stub, stub_len, auth, sig_len, out);
}
