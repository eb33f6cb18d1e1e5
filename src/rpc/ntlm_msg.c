/*
 * ntlm_msg.c - NTLMSSP message parsing and encoding (MS-NLMP 2.2). Security
 * buffers (length, maxlength, offset) become sub-cursors of the whole token
 * via cur_sub, so a bad offset or length is a failed read, not an overrun.
 * Encoders reserve each security buffer and patch it once the payload is
 * written, so no offset is computed by hand.
 */
#include "rpc/ntlm_msg.h"

#include <string.h>

#include "util/log.h"
#include "util/utf16.h"

static const uint8_t NTLMSSP_SIG[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};

#define BAD(what)                                                                                  \
	do {                                                                                       \
		log_debug("NTLMSSP: %s", what);                                                    \
		return CERR_SEC_E_INVALID_TOKEN;                                                   \
	} while (0)

cerr_t ntlm_peek_type(const cur_t *msg, uint32_t *out_type)
{
	cur_t c = *msg;
	cur_t sig;
	if (!cur_get_bytes(&c, &sig, 8) || !cur_equal(&sig, NTLMSSP_SIG, 8) || !cur_get_u32le(&c, out_type)) {
		BAD("not an NTLMSSP token");
	}
	return CERR_OK;
}

/* A security buffer read from the fixed part; the payload is cut from whole.
 * min_off tracks the lowest offset of a non-empty field (where the payload
 * starts), which tells whether optional fixed fields (Version, MIC) fit. */
static bool get_secbuf(cur_t *hdr, const cur_t *whole, cur_t *out, size_t *min_off)
{
	uint16_t len, maxlen;
	uint32_t off;
	if (!cur_get_u16le(hdr, &len) || !cur_get_u16le(hdr, &maxlen) || !cur_get_u32le(hdr, &off)) {
		return false;
	}
	if (len == 0) {
		/* Offsets of empty fields are not meaningful (clients put anything there). */
		return cur_sub(whole, 0, 0, out);
	}
	if (!cur_sub(whole, off, len, out)) {
		return false;
	}
	if (off < *min_off) {
		*min_off = off;
	}
	return true;
}

static bool get_version(cur_t *c, ntlm_version_t *v)
{
	uint8_t reserved[3];
	return cur_get_u8(c, &v->major) && cur_get_u8(c, &v->minor) && cur_get_u16le(c, &v->build) &&
	       cur_copy(c, reserved, 3) && cur_get_u8(c, &v->revision);
}

static bool check_header(cur_t *c, uint32_t want_type)
{
	cur_t sig;
	uint32_t type;
	return cur_get_bytes(c, &sig, 8) && cur_equal(&sig, NTLMSSP_SIG, 8) && cur_get_u32le(c, &type) &&
	       type == want_type;
}

cerr_t ntlm_parse_negotiate(const cur_t *msg, ntlm_negotiate_msg_t *out)
{
	memset(out, 0, sizeof(*out));
	if (cur_len(msg) > NTLM_MAX_TOKEN) {
		BAD("NEGOTIATE too long");
	}
	cur_t whole = *msg;
	cur_t c = *msg;
	if (!check_header(&c, NTLM_MSG_NEGOTIATE) || !cur_get_u32le(&c, &out->flags)) {
		BAD("NEGOTIATE header");
	}
	cur_sub(&whole, 0, 0, &out->domain);
	cur_sub(&whole, 0, 0, &out->workstation);
	/* Very old clients end the message after the flags (MS-NLMP 2.2.1.1 fields
	 * are then absent); anything in between is malformed. */
	if (cur_empty(&c)) {
		return CERR_OK;
	}
	size_t min_off = cur_len(&whole);
	if (!get_secbuf(&c, &whole, &out->domain, &min_off) ||
	    !get_secbuf(&c, &whole, &out->workstation, &min_off)) {
		BAD("NEGOTIATE security buffers");
	}
	if ((out->flags & NTLMSSP_NEGOTIATE_VERSION) && min_off >= 40 && cur_len(&c) >= 8) {
		if (!get_version(&c, &out->version)) {
			BAD("NEGOTIATE version");
		}
		out->has_version = true;
	}
	return CERR_OK;
}

cerr_t ntlm_parse_challenge(const cur_t *msg, ntlm_challenge_msg_t *out)
{
	memset(out, 0, sizeof(*out));
	if (cur_len(msg) > NTLM_MAX_TOKEN) {
		BAD("CHALLENGE too long");
	}
	cur_t whole = *msg;
	cur_t c = *msg;
	size_t min_off = cur_len(&whole);
	uint8_t reserved[8];
	if (!check_header(&c, NTLM_MSG_CHALLENGE) || !get_secbuf(&c, &whole, &out->target_name, &min_off) ||
	    !cur_get_u32le(&c, &out->flags) || !cur_copy(&c, out->server_challenge, 8) ||
	    !cur_copy(&c, reserved, 8) || !get_secbuf(&c, &whole, &out->target_info, &min_off)) {
		BAD("CHALLENGE fixed fields");
	}
	if ((out->flags & NTLMSSP_NEGOTIATE_VERSION) && min_off >= 56 && cur_len(&c) >= 8) {
		if (!get_version(&c, &out->version)) {
			BAD("CHALLENGE version");
		}
		out->has_version = true;
	}
	return CERR_OK;
}

cerr_t ntlm_parse_authenticate(const cur_t *msg, ntlm_authenticate_msg_t *out)
{
	memset(out, 0, sizeof(*out));
	if (cur_len(msg) > NTLM_MAX_TOKEN) {
		BAD("AUTHENTICATE too long");
	}
	cur_t whole = *msg;
	cur_t c = *msg;
	size_t min_off = cur_len(&whole);
	if (!check_header(&c, NTLM_MSG_AUTHENTICATE) || !get_secbuf(&c, &whole, &out->lm_response, &min_off) ||
	    !get_secbuf(&c, &whole, &out->nt_response, &min_off) ||
	    !get_secbuf(&c, &whole, &out->domain, &min_off) || !get_secbuf(&c, &whole, &out->user, &min_off) ||
	    !get_secbuf(&c, &whole, &out->workstation, &min_off) ||
	    !get_secbuf(&c, &whole, &out->enc_session_key, &min_off) || !cur_get_u32le(&c, &out->flags)) {
		BAD("AUTHENTICATE fixed fields");
	}
	/* Version and MIC are there when the payload leaves room for them
	 * (MS-NLMP 2.2.1.3); whether the MIC is meaningful is said by MsvAvFlags. */
	if (min_off >= NTLM_AUTH_MIC_OFFSET && cur_len(&c) >= 8) {
		if (!get_version(&c, &out->version)) {
			BAD("AUTHENTICATE version");
		}
		out->has_version = true;
		if (min_off >= NTLM_AUTH_MIC_END && cur_len(&c) >= 16) {
			if (!cur_copy(&c, out->mic, 16)) {
				BAD("AUTHENTICATE MIC");
			}
			out->has_mic_field = true;
		}
	}
	return CERR_OK;
}

cerr_t ntlm_parse_av_pairs(const cur_t *in, ntlm_av_pairs_t *out)
{
	memset(out, 0, sizeof(*out));
	cur_t c = *in;
	uint32_t seen = 0;
	cur_sub(in, 0, 0, &out->nb_computer);
	out->nb_domain = out->dns_computer = out->dns_domain = out->dns_tree = out->nb_computer;
	out->target_name = out->channel_bindings = out->single_host = out->nb_computer;
	for (;;) {
		uint16_t id, len;
		cur_t v;
		if (!cur_get_u16le(&c, &id) || !cur_get_u16le(&c, &len) || !cur_get_bytes(&c, &v, len)) {
			BAD("AV pair truncated (no MsvAvEOL)");
		}
		if (id == NTLM_AV_EOL) {
			if (len != 0) {
				BAD("MsvAvEOL with a value");
			}
			return CERR_OK;
		}
		if (id <= NTLM_AV_CHANNEL_BINDINGS) {
			if (seen & (1u << id)) {
				BAD("duplicate AV pair");
			}
			seen |= 1u << id;
		}
		out->n_pairs++;
		switch (id) {
		case NTLM_AV_NB_COMPUTER:
			out->nb_computer = v;
			break;
		case NTLM_AV_NB_DOMAIN:
			out->nb_domain = v;
			break;
		case NTLM_AV_DNS_COMPUTER:
			out->dns_computer = v;
			break;
		case NTLM_AV_DNS_DOMAIN:
			out->dns_domain = v;
			break;
		case NTLM_AV_DNS_TREE:
			out->dns_tree = v;
			break;
		case NTLM_AV_FLAGS:
			if (len != 4 || !cur_get_u32le(&v, &out->flags)) {
				BAD("MsvAvFlags size");
			}
			out->has_flags = true;
			break;
		case NTLM_AV_TIMESTAMP:
			if (len != 8 || !cur_get_u64le(&v, &out->timestamp)) {
				BAD("MsvAvTimestamp size");
			}
			out->has_timestamp = true;
			break;
		case NTLM_AV_SINGLE_HOST:
			out->single_host = v;
			break;
		case NTLM_AV_TARGET_NAME:
			out->target_name = v;
			break;
		case NTLM_AV_CHANNEL_BINDINGS:
			out->channel_bindings = v;
			break;
		default:
			break; /* unknown pairs are skipped (MS-NLMP 2.2.2.1) */
		}
	}
}

cerr_t ntlm_parse_ntlmv2_response(const cur_t *nt_response, ntlmv2_response_t *out)
{
	memset(out, 0, sizeof(*out));
	cur_t c = *nt_response;
	uint16_t r1;
	uint32_t r2, r3;
	if (!cur_copy(&c, out->proof, 16)) {
		BAD("NTLMv2 response too short");
	}
	out->blob = c;
	if (!cur_get_u8(&c, &out->resp_type) || !cur_get_u8(&c, &out->hi_resp_type) ||
	    !cur_get_u16le(&c, &r1) || !cur_get_u32le(&c, &r2) || !cur_get_u64le(&c, &out->timestamp) ||
	    !cur_copy(&c, out->client_challenge, 8) || !cur_get_u32le(&c, &r3)) {
		BAD("NTLMv2 client challenge truncated");
	}
	out->av_pairs = c;
	return CERR_OK;
}

/* ---- encoders ---- */

static void put_version(buf_t *b, const ntlm_version_t *v)
{
	if (!v) {
		buf_put_zeros(b, 8);
		return;
	}
	buf_put_u8(b, v->major);
	buf_put_u8(b, v->minor);
	buf_put_u16(b, v->build);
	buf_put_zeros(b, 3);
	buf_put_u8(b, v->revision);
}

/* A reserved security buffer, filled by fill_secbuf once the payload is known. */
static size_t reserve_secbuf(buf_t *b)
{
	return buf_reserve(b, 8);
}

static void fill_secbuf(buf_t *b, size_t at, size_t msg_start, size_t data_start)
{
	if (!buf_ok(b)) {
		return;
	}
	size_t len = b->len - data_start;
	if (len > 0xffff) {
		b->err = true;
		return;
	}
	buf_patch_u16(b, at, (uint16_t)len);
	buf_patch_u16(b, at + 2, (uint16_t)len);
	buf_patch_u32(b, at + 4, (uint32_t)(data_start - msg_start));
}

static void put_payload_bytes(buf_t *b, size_t secbuf, size_t msg_start, const void *p, size_t n)
{
	size_t start = b->len;
	buf_put_bytes(b, p, n);
	fill_secbuf(b, secbuf, msg_start, start);
}

static bool put_payload_str(buf_t *b, size_t secbuf, size_t msg_start, const char *s)
{
	size_t start = b->len;
	size_t units;
	if (s && !utf8_to_utf16le(b, s, false, &units)) {
		return false;
	}
	fill_secbuf(b, secbuf, msg_start, start);
	return true;
}

cerr_t ntlm_encode_negotiate(buf_t *b, uint32_t flags, const ntlm_version_t *version)
{
	size_t start = b->len;
	buf_put_bytes(b, NTLMSSP_SIG, 8);
	buf_put_u32(b, NTLM_MSG_NEGOTIATE);
	buf_put_u32(b, flags);
	size_t dom = reserve_secbuf(b);
	size_t ws = reserve_secbuf(b);
	put_version(b, (flags & NTLMSSP_NEGOTIATE_VERSION) ? version : NULL);
	/* Empty domain and workstation: point them at the end of the fixed part. */
	fill_secbuf(b, dom, start, b->len);
	fill_secbuf(b, ws, start, b->len);
	return buf_ok(b) ? CERR_OK : CERR_NOMEM;
}

cerr_t ntlm_encode_challenge(buf_t *b, uint32_t flags, const uint8_t server_challenge[8],
			     const char *target_name, const uint8_t *target_info, size_t target_info_len,
			     const ntlm_version_t *version)
{
	size_t start = b->len;
	buf_put_bytes(b, NTLMSSP_SIG, 8);
	buf_put_u32(b, NTLM_MSG_CHALLENGE);
	size_t tn = reserve_secbuf(b);
	buf_put_u32(b, flags);
	buf_put_bytes(b, server_challenge, 8);
	buf_put_zeros(b, 8);
	size_t ti = reserve_secbuf(b);
	put_version(b, (flags & NTLMSSP_NEGOTIATE_VERSION) ? version : NULL);
	if (!put_payload_str(b, tn, start, target_name)) {
		return CERR_INVALID_ARG;
	}
	put_payload_bytes(b, ti, start, target_info, target_info_len);
	return buf_ok(b) ? CERR_OK : CERR_NOMEM;
}

cerr_t ntlm_encode_authenticate(buf_t *b, const ntlm_authenticate_out_t *m, size_t *out_msg_offset)
{
	size_t start = b->len;
	*out_msg_offset = start;
	buf_put_bytes(b, NTLMSSP_SIG, 8);
	buf_put_u32(b, NTLM_MSG_AUTHENTICATE);
	size_t lm = reserve_secbuf(b);
	size_t nt = reserve_secbuf(b);
	size_t dom = reserve_secbuf(b);
	size_t usr = reserve_secbuf(b);
	size_t ws = reserve_secbuf(b);
	size_t key = reserve_secbuf(b);
	buf_put_u32(b, m->flags);
	put_version(b, m->version);
	if (m->mic_field) {
		buf_put_zeros(b, 16);
	}
	/* Payload order as Windows writes it: domain, user, workstation, LM, NT, key. */
	if (!put_payload_str(b, dom, start, m->domain) || !put_payload_str(b, usr, start, m->user) ||
	    !put_payload_str(b, ws, start, m->workstation)) {
		return CERR_INVALID_ARG;
	}
	put_payload_bytes(b, lm, start, m->lm_response, m->lm_response_len);
	put_payload_bytes(b, nt, start, m->nt_response, m->nt_response_len);
	put_payload_bytes(b, key, start, m->enc_session_key, m->enc_session_key ? m->enc_session_key_len : 0);
	return buf_ok(b) ? CERR_OK : CERR_NOMEM;
}

void ntlm_put_av(buf_t *b, uint16_t id, const void *p, size_t len)
{
	if (len > 0xffff) {
		b->err = true;
		return;
	}
	buf_put_u16(b, id);
	buf_put_u16(b, (uint16_t)len);
	buf_put_bytes(b, p, len);
}

bool ntlm_put_av_str(buf_t *b, uint16_t id, const char *s)
{
	size_t units = utf8_utf16_units(s);
	if (units == (size_t)-1 || units > 0x7fff) {
		return false;
	}
	buf_put_u16(b, id);
	buf_put_u16(b, (uint16_t)(units * 2));
	return utf8_to_utf16le(b, s, false, &units);
}
