/*
 * ntlm.c - the NTLMSSP acceptor and initiator for DCE/RPC auth type 10, and
 * the MS-NLMP 3.4 sign/seal state they share. The acceptor turns NEGOTIATE
 * into CHALLENGE and checks the AUTHENTICATE (NTLMv2 per MS-NLMP 3.2.5.1.2,
 * NTLMv1 only when configured); the initiator does the client's half
 * (3.1.5.1). Account secrets come from the lookup callback; nothing here
 * knows the accounts store.
 */
#include "rpc/ntlm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "rpc/ntlm_crypto.h"
#include "rpc/ntlm_msg.h"
#include "rpc/pdu.h"
#include "util/log.h"
#include "util/utf16.h"

/* Tags at the start of each object reached through a void or rpc_auth_ctx_t
 * pointer, so a mix-up is caught instead of misread. */
enum {
	KIND_ACCEPTOR_CFG = 0x4e544c31,
	KIND_INITIATOR_CFG = 0x4e544c32,
	KIND_ACCEPTOR_CTX = 0x4e544c33,
	KIND_CLIENT = 0x4e544c34,
};

/* Flags the acceptor may grant (MS-NLMP 3.2.5.1.1): the intersection with the
 * client's, plus NTLM, TARGET_INFO and the target type, which it always sets. */
#define ACCEPTOR_FLAGS                                                                             \
	(NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_REQUEST_TARGET | NTLMSSP_NEGOTIATE_SIGN |              \
	 NTLMSSP_NEGOTIATE_SEAL | NTLMSSP_NEGOTIATE_NTLM | NTLMSSP_NEGOTIATE_ALWAYS_SIGN |           \
	 NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLMSSP_NEGOTIATE_TARGET_INFO |               \
	 NTLMSSP_NEGOTIATE_VERSION | NTLMSSP_NEGOTIATE_128 | NTLMSSP_NEGOTIATE_KEY_EXCH |           \
	 NTLMSSP_NEGOTIATE_56)
/* Bits that change the session's keys; the AUTHENTICATE may only drop them. */
#define SESSION_FLAGS                                                                              \
	(NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_SEAL | NTLMSSP_NEGOTIATE_ALWAYS_SIGN |           \
	 NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLMSSP_NEGOTIATE_128 |                       \
	 NTLMSSP_NEGOTIATE_KEY_EXCH | NTLMSSP_NEGOTIATE_56)
#define CLIENT_FLAGS                                                                               \
	(NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_REQUEST_TARGET | NTLMSSP_NEGOTIATE_SIGN |              \
	 NTLMSSP_NEGOTIATE_SEAL | NTLMSSP_NEGOTIATE_NTLM | NTLMSSP_NEGOTIATE_ALWAYS_SIGN |           \
	 NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLMSSP_NEGOTIATE_VERSION |                   \
	 NTLMSSP_NEGOTIATE_128 | NTLMSSP_NEGOTIATE_KEY_EXCH | NTLMSSP_NEGOTIATE_56)

/* What certa reports in the Version field: informational only (MS-NLMP 2.2.2.10). */
static const ntlm_version_t CERTA_VERSION = {10, 0, 20348, 15};

/* Seconds between 1601-01-01 (FILETIME epoch) and 1970-01-01. */
#define FILETIME_UNIX_DIFF 11644473600ull

static uint64_t filetime_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec + FILETIME_UNIX_DIFF) * 10000000ull + (uint64_t)ts.tv_nsec / 100;
}

static void put_le32(uint8_t out[4], uint32_t v)
{
	out[0] = (uint8_t)v;
	out[1] = (uint8_t)(v >> 8);
	out[2] = (uint8_t)(v >> 16);
	out[3] = (uint8_t)(v >> 24);
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

/* A copy of a client-supplied name fit for a log line: control bytes become '?'. */
static const char *log_safe(const char *s, char *out, size_t n)
{
	size_t i = 0;
	for (; s && s[i] && i + 1 < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		out[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	out[i] = 0;
	return out;
}

/* UTF-16LE security buffer to a malloc'd UTF-8 string ("" when empty). */
static char *decode_name(cur_t c)
{
	if (cur_len(&c) % 2) {
		return NULL;
	}
	return utf16le_to_utf8(&c, cur_len(&c) / 2);
}

/* ======================== sign / seal (MS-NLMP 3.4) ======================== */

cerr_t ntlm_sess_init(ntlm_sess_t *s, uint32_t flags, const uint8_t exported[16], bool initiator)
{
	memset(s, 0, sizeof(*s));
	s->flags = flags;
	if (!(flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY)) {
		/* The pre-ESS scheme (CRC32, one shared RC4 handle) is not implemented:
		 * NTLMv2 clients always negotiate ESS. Authentication still completes. */
		return CERR_OK;
	}
	uint8_t seal_c2s[16], seal_s2c[16], sign_c2s[16], sign_s2c[16];
	cerr_t e;
	if ((e = ntlm_signkey(exported, true, sign_c2s)) != CERR_OK ||
	    (e = ntlm_signkey(exported, false, sign_s2c)) != CERR_OK ||
	    (e = ntlm_sealkey(flags, exported, true, seal_c2s)) != CERR_OK ||
	    (e = ntlm_sealkey(flags, exported, false, seal_s2c)) != CERR_OK) {
		goto out;
	}
	memcpy(s->send_sign, initiator ? sign_c2s : sign_s2c, 16);
	memcpy(s->recv_sign, initiator ? sign_s2c : sign_c2s, 16);
	s->send_seal = ntlm_rc4_new(initiator ? seal_c2s : seal_s2c);
	s->recv_seal = ntlm_rc4_new(initiator ? seal_s2c : seal_c2s);
	if (!s->send_seal || !s->recv_seal) {
		e = CERR_CRYPTO;
		ntlm_sess_cleanup(s);
		goto out;
	}
	s->ready = true;
out:
	ntlm_wipe(seal_c2s, 16);
	ntlm_wipe(seal_s2c, 16);
	ntlm_wipe(sign_c2s, 16);
	ntlm_wipe(sign_s2c, 16);
	return e;
}

void ntlm_sess_cleanup(ntlm_sess_t *s)
{
	if (!s) {
		return;
	}
	ntlm_rc4_free(s->send_seal);
	ntlm_rc4_free(s->recv_seal);
	ntlm_wipe(s, sizeof(*s));
}

static cerr_t sess_check(const ntlm_sess_t *s, bool do_seal)
{
	if (!s->ready) {
		log_warn("NTLM sign/seal needs extended session security, which was not negotiated");
		return CERR_STATUS_NOT_SUPPORTED;
	}
	if (do_seal && !(s->flags & NTLMSSP_NEGOTIATE_SEAL)) {
		log_warn("NTLM sealing requested but NTLMSSP_NEGOTIATE_SEAL was not negotiated");
		return CERR_STATUS_INVALID_PARAMETER;
	}
	if (!(s->flags & (NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_SEAL))) {
		log_warn("NTLM signing requested but NTLMSSP_NEGOTIATE_SIGN was not negotiated");
		return CERR_STATUS_INVALID_PARAMETER;
	}
	return CERR_OK;
}

/* MS-NLMP 3.4.4.2: Version 1, HMAC_MD5(SignKey, SeqNum || Message)[0..8]
 * (RC4'd with the sealing handle under KEY_EXCH), SeqNum. */
static cerr_t make_sig(const uint8_t key[16], struct ntlm_rc4 *h, uint32_t flags, uint32_t seq,
		       const uint8_t *msg, size_t len, uint8_t sig[16])
{
	uint8_t seqb[4], mac[16];
	put_le32(seqb, seq);
	ntlm_iov_t v[2] = {{seqb, 4}, {msg, len}};
	cerr_t e = ntlm_hmac_md5v(key, 16, v, 2, mac);
	if (e != CERR_OK) {
		return e;
	}
	if (flags & NTLMSSP_NEGOTIATE_KEY_EXCH) {
		e = ntlm_rc4_apply(h, mac, 8, mac);
	}
	put_le32(sig, 1);
	memcpy(sig + 4, mac, 8);
	memcpy(sig + 12, seqb, 4);
	ntlm_wipe(mac, sizeof(mac));
	return e;
}

cerr_t ntlm_sess_wrap(ntlm_sess_t *s, const uint8_t *sign, size_t sign_len, uint8_t *seal,
		      size_t seal_len, bool do_seal, uint8_t sig[NTLM_SIG_LEN])
{
	cerr_t e = sess_check(s, do_seal);
	if (e != CERR_OK) {
		return e;
	}
	uint32_t seq = s->send_seq++;
	uint8_t seqb[4], mac[16];
	put_le32(seqb, seq);
	/* Checksum over the plaintext first; then the data, then the checksum,
	 * through the one RC4 handle (MS-NLMP 3.4.3; impacket/Samba order). */
	ntlm_iov_t v[2] = {{seqb, 4}, {sign, sign_len}};
	if ((e = ntlm_hmac_md5v(s->send_sign, 16, v, 2, mac)) != CERR_OK) {
		return e;
	}
	if (do_seal && (e = ntlm_rc4_apply(s->send_seal, seal, seal_len, seal)) != CERR_OK) {
		return e;
	}
	if ((s->flags & NTLMSSP_NEGOTIATE_KEY_EXCH) &&
	    (e = ntlm_rc4_apply(s->send_seal, mac, 8, mac)) != CERR_OK) {
		return e;
	}
	put_le32(sig, 1);
	memcpy(sig + 4, mac, 8);
	memcpy(sig + 12, seqb, 4);
	ntlm_wipe(mac, sizeof(mac));
	return CERR_OK;
}

cerr_t ntlm_sess_unwrap(ntlm_sess_t *s, const uint8_t *sign, size_t sign_len, uint8_t *seal,
			size_t seal_len, bool do_seal, const uint8_t sig[NTLM_SIG_LEN])
{
	cerr_t e = sess_check(s, do_seal);
	if (e != CERR_OK) {
		return e;
	}
	uint32_t seq = s->recv_seq++;
	if (do_seal && (e = ntlm_rc4_apply(s->recv_seal, seal, seal_len, seal)) != CERR_OK) {
		return e;
	}
	uint8_t want[16];
	if ((e = make_sig(s->recv_sign, s->recv_seal, s->flags, seq, sign, sign_len, want)) != CERR_OK) {
		return e;
	}
	bool ok = ntlm_mem_equal(want, sig, NTLM_SIG_LEN);
	ntlm_wipe(want, sizeof(want));
	if (!ok) {
		log_debug("NTLM verifier mismatch (seq %u)", (unsigned)seq);
		return CERR_SEC_E_MESSAGE_ALTERED;
	}
	return CERR_OK;
}

/* DCE/RPC (MS-RPCE 3.3.1.5.2.2 with NTLM, as Windows, Samba and impacket do it):
 * with ESS the signature covers the whole PDU up to the verifier, header and
 * sec_trailer included, whatever PFC_SUPPORT_HEADER_SIGN says; the seal covers
 * the stub and its auth padding. */
static cerr_t pdu_apply(ntlm_sess_t *s, uint8_t *pdu, size_t pdu_len, size_t stub_offset,
			size_t stub_len, size_t verifier_offset, bool seal, bool unwrap)
{
	if (!pdu || verifier_offset > pdu_len || pdu_len - verifier_offset < NTLM_SIG_LEN ||
	    stub_offset > verifier_offset || stub_len > verifier_offset - stub_offset) {
		return CERR_INVALID_ARG;
	}
	cur_t whole, v;
	uint8_t sig[NTLM_SIG_LEN];
	cur_init(&whole, pdu, pdu_len);
	if (unwrap) {
		if (!cur_sub(&whole, verifier_offset, NTLM_SIG_LEN, &v) || !cur_copy(&v, sig, NTLM_SIG_LEN)) {
			return CERR_INVALID_ARG;
		}
		return ntlm_sess_unwrap(s, pdu, verifier_offset, pdu + stub_offset, stub_len, seal, sig);
	}
	cerr_t e = ntlm_sess_wrap(s, pdu, verifier_offset, pdu + stub_offset, stub_len, seal, sig);
	if (e == CERR_OK) {
		memcpy(pdu + verifier_offset, sig, NTLM_SIG_LEN);
	}
	return e;
}

/* ============================== acceptor ================================== */

typedef struct ntlm_acceptor {
	uint32_t kind;
	char *nb_domain, *nb_computer, *dns_domain, *dns_computer, *dns_tree;
	bool domain_joined, allow_ntlmv1, allow_anonymous;
	uint32_t max_clock_skew;
	ntlm_lookup_fn lookup;
	void *lookup_arg;
	ntlm_passthrough_fn passthrough;
	void *passthrough_arg;
	uint8_t *ti_prefix; /* AV pairs before MsvAvTimestamp */
	size_t ti_prefix_len;
} ntlm_acceptor_t;

enum acc_state { ACC_START, ACC_CHALLENGED, ACC_DONE, ACC_FAILED };

typedef struct ntlm_actx {
	uint32_t kind;
	const ntlm_acceptor_t *acc;
	enum acc_state state;
	uint32_t flags; /* granted in the CHALLENGE, then as settled by the AUTHENTICATE */
	uint8_t server_challenge[8];
	uint8_t *neg_msg, *chal_msg; /* kept for the MIC */
	size_t neg_len, chal_len;
	char *user, *domain, *workstation;
	rpc_identity_t id;
	ntlm_sess_t sess;
	char **sids; /* pass-through: the DC's SIDs, user first */
	size_t num_sids;
	rpc_sid_list_t sid_list;
} ntlm_actx_t;

void ntlm_acceptor_config_init(ntlm_acceptor_config_t *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
}

static ntlm_actx_t *actx_of(rpc_auth_ctx_t *ctx)
{
	ntlm_actx_t *a = (ntlm_actx_t *)(void *)ctx;
	return (a && a->kind == KIND_ACCEPTOR_CTX) ? a : NULL;
}

static cerr_t acc_ctx_new(void *data, rpc_auth_ctx_t **out)
{
	const ntlm_acceptor_t *acc = data;
	*out = NULL;
	if (!acc || acc->kind != KIND_ACCEPTOR_CFG) {
		return CERR_INVALID_ARG;
	}
	ntlm_actx_t *a = calloc(1, sizeof(*a));
	if (!a) {
		return CERR_NOMEM;
	}
	a->kind = KIND_ACCEPTOR_CTX;
	a->acc = acc;
	a->state = ACC_START;
	*out = (rpc_auth_ctx_t *)(void *)a;
	return CERR_OK;
}

static void free_sids(char **sids, size_t n)
{
	for (size_t i = 0; sids && i < n; i++) {
		free(sids[i]);
	}
	free(sids);
}

static void acc_ctx_free(rpc_auth_ctx_t *ctx)
{
	ntlm_actx_t *a = actx_of(ctx);
	if (!a) {
		return;
	}
	free_sids(a->sids, a->num_sids);
	free(a->neg_msg);
	free(a->chal_msg);
	free(a->user);
	free(a->domain);
	free(a->workstation);
	ntlm_sess_cleanup(&a->sess);
	ntlm_wipe(a, sizeof(*a));
	free(a);
}

static uint8_t *memdup_cur(const cur_t *c)
{
	uint8_t *p = malloc(cur_len(c) ? cur_len(c) : 1);
	if (p) {
		memcpy(p, cur_data(c), cur_len(c));
	}
	return p;
}

/* NEGOTIATE -> CHALLENGE (MS-NLMP 3.2.5.1.1). */
static cerr_t acc_negotiate(ntlm_actx_t *a, const cur_t *in, buf_t *out)
{
	const ntlm_acceptor_t *acc = a->acc;
	ntlm_negotiate_msg_t m;
	cerr_t e = ntlm_parse_negotiate(in, &m);
	if (e != CERR_OK) {
		return e;
	}
	if (!(m.flags & NTLMSSP_NEGOTIATE_UNICODE)) {
		log_info("NTLM: client did not offer Unicode (flags 0x%08x); OEM strings are not supported",
			 (unsigned)m.flags);
		return CERR_STATUS_NOT_SUPPORTED;
	}
	a->flags = (m.flags & ACCEPTOR_FLAGS) | NTLMSSP_NEGOTIATE_NTLM | NTLMSSP_NEGOTIATE_TARGET_INFO |
		   (acc->domain_joined ? NTLMSSP_TARGET_TYPE_DOMAIN : NTLMSSP_TARGET_TYPE_SERVER);
	if (RAND_bytes(a->server_challenge, 8) != 1) {
		log_error("RAND_bytes failed for the NTLM server challenge");
		return CERR_CRYPTO;
	}
	buf_t ti;
	buf_init(&ti, NTLM_MAX_TOKEN);
	buf_put_bytes(&ti, acc->ti_prefix, acc->ti_prefix_len);
	uint8_t ts[8];
	uint64_t now = filetime_now();
	for (int i = 0; i < 8; i++) {
		ts[i] = (uint8_t)(now >> (8 * i));
	}
	ntlm_put_av(&ti, NTLM_AV_TIMESTAMP, ts, 8);
	ntlm_put_av(&ti, NTLM_AV_EOL, NULL, 0);
	size_t start = out->len;
	e = buf_ok(&ti) ? ntlm_encode_challenge(out, a->flags, a->server_challenge,
					       acc->domain_joined ? acc->nb_domain : acc->nb_computer,
					       ti.data, ti.len, &CERTA_VERSION)
			: CERR_NOMEM;
	buf_free(&ti);
	if (e != CERR_OK) {
		return e;
	}
	cur_t chal;
	cur_init(&chal, out->data, out->len);
	if (!cur_sub(&chal, start, out->len - start, &chal)) {
		return CERR_INTERNAL;
	}
	a->neg_msg = memdup_cur(in);
	a->neg_len = cur_len(in);
	a->chal_msg = memdup_cur(&chal);
	a->chal_len = cur_len(&chal);
	if (!a->neg_msg || !a->chal_msg) {
		return CERR_NOMEM;
	}
	a->state = ACC_CHALLENGED;
	return CERR_STATUS_MORE_PROCESSING_REQUIRED;
}

/* Secrets of one AUTHENTICATE check, wiped on every exit. */
typedef struct acc_keys {
	ntlm_account_t acct;
	uint8_t rk[16];       /* ResponseKeyNT */
	uint8_t proof[16];    /* NTProofStr */
	uint8_t sbk[16];      /* SessionBaseKey */
	uint8_t kxkey[16];    /* KeyExchangeKey */
	uint8_t exported[16]; /* ExportedSessionKey */
	uint8_t mic[16];
} acc_keys_t;

static void ascii_upper(char *s)
{
	for (; *s; s++) {
		if (*s >= 'a' && *s <= 'z') {
			*s = (char)(*s - 0x20);
		}
	}
}

/* NTLMv2 (MS-NLMP 3.3.2): NTProofStr = HMAC_MD5(ResponseKeyNT, ServerChallenge ||
 * temp). The domain is the one the client sent; like Samba, also try it
 * uppercased and empty, which some clients use for the key. */
static cerr_t verify_v2(ntlm_actx_t *a, const char *user, const char *domain, const ntlmv2_response_t *r,
			acc_keys_t *k, bool *ok)
{
	*ok = false;
	char *upper = strdup(domain);
	if (!upper) {
		return CERR_NOMEM;
	}
	ascii_upper(upper);
	const char *cands[3] = {domain, strcmp(upper, domain) ? upper : NULL, domain[0] ? "" : NULL};
	cerr_t e = CERR_OK;
	for (int i = 0; i < 3 && !*ok; i++) {
		if (!cands[i]) {
			continue;
		}
		if ((e = ntlm_ntowfv2(k->acct.nt_hash, user, cands[i], k->rk)) != CERR_OK) {
			break;
		}
		ntlm_iov_t v[2] = {{a->server_challenge, 8}, {cur_data(&r->blob), cur_len(&r->blob)}};
		if ((e = ntlm_hmac_md5v(k->rk, 16, v, 2, k->proof)) != CERR_OK) {
			break;
		}
		*ok = ntlm_mem_equal(k->proof, r->proof, 16);
	}
	free(upper);
	if (e == CERR_OK && *ok) {
		e = ntlm_hmac_md5(k->rk, 16, k->proof, 16, k->sbk);
		memcpy(k->kxkey, k->sbk, 16); /* KXKEY for NTLMv2 (MS-NLMP 3.4.5.1) */
	}
	return e;
}

/* NTLMv1 (MS-NLMP 3.3.1): DESL(NT hash, ServerChallenge), or with ESS
 * DESL(NT hash, MD5(ServerChallenge || ClientChallenge)[0..8]). */
static cerr_t verify_v1(ntlm_actx_t *a, const ntlm_authenticate_msg_t *m, acc_keys_t *k, bool *ok)
{
	*ok = false;
	uint8_t chal[16], want[24], lm8[8] = {0};
	bool ess = (a->flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY) && cur_len(&m->lm_response) == 24;
	cerr_t e = CERR_OK;
	memcpy(chal, a->server_challenge, 8);
	if (ess) {
		cur_t lm = m->lm_response;
		cur_copy(&lm, lm8, 8);
		ntlm_iov_t v[2] = {{a->server_challenge, 8}, {lm8, 8}};
		if ((e = ntlm_md5v(v, 2, chal)) != CERR_OK) {
			return e;
		}
	}
	if ((e = ntlm_desl(k->acct.nt_hash, chal, want)) != CERR_OK) {
		return e;
	}
	*ok = cur_equal(&m->nt_response, want, 24);
	ntlm_wipe(want, sizeof(want));
	if (!*ok) {
		return CERR_OK;
	}
	if ((e = ntlm_md4(k->acct.nt_hash, 16, k->sbk)) != CERR_OK) {
		return e;
	}
	if (ess) { /* KXKEY with ESS (MS-NLMP 3.4.5.1) */
		ntlm_iov_t v[2] = {{a->server_challenge, 8}, {lm8, 8}};
		e = ntlm_hmac_md5v(k->sbk, 16, v, 2, k->kxkey);
	} else {
		memcpy(k->kxkey, k->sbk, 16);
	}
	return e;
}

/* MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE || CHALLENGE || AUTHENTICATE
 * with the MIC field zeroed) (MS-NLMP 3.1.5.1.2, 3.2.5.1.2). */
static cerr_t compute_mic(const uint8_t exported[16], const uint8_t *neg, size_t neg_len,
			  const uint8_t *chal, size_t chal_len, const cur_t *auth, uint8_t out[16])
{
	static const uint8_t zero[16];
	cur_t head, tail;
	if (!cur_sub(auth, 0, NTLM_AUTH_MIC_OFFSET, &head) ||
	    !cur_sub(auth, NTLM_AUTH_MIC_END, cur_len(auth) - NTLM_AUTH_MIC_END, &tail)) {
		return CERR_SEC_E_INVALID_TOKEN;
	}
	ntlm_iov_t v[5] = {{neg, neg_len},
			   {chal, chal_len},
			   {cur_data(&head), cur_len(&head)},
			   {zero, 16},
			   {cur_data(&tail), cur_len(&tail)}};
	return ntlm_hmac_md5v(exported, 16, v, 5, out);
}

static bool is_anonymous(const ntlm_authenticate_msg_t *m)
{
	static const uint8_t z1[1] = {0};
	/* MS-NLMP 3.2.5.1.2: empty user, empty NT response, LM empty or Z(1). */
	return cur_len(&m->user) == 0 && cur_len(&m->nt_response) == 0 &&
	       (cur_len(&m->lm_response) == 0 || cur_equal(&m->lm_response, z1, 1));
}

static cerr_t set_identity(ntlm_actx_t *a, const char *user, const char *domain, const char *ws,
			   bool anonymous, const uint8_t exported[16])
{
	a->user = strdup(user);
	a->domain = strdup(domain);
	a->workstation = strdup(ws);
	if (!a->user || !a->domain || !a->workstation) {
		return CERR_NOMEM;
	}
	a->id.user = a->user;
	a->id.domain = a->domain;
	a->id.workstation = a->workstation;
	a->id.package = "NTLM";
	a->id.anonymous = anonymous;
	memcpy(a->id.session_key, exported, 16);
	a->id.session_key_len = 16;
	return CERR_OK;
}

/* set_claimed records whom a failed AUTHENTICATE claimed to be, for the
 * audit log's 4625 (auth.h: rpc_identity_t.failed): no key, no sign/seal. */
static void set_claimed(ntlm_actx_t *a, const char *user, const char *domain, const char *ws, cerr_t sub)
{
	static const uint8_t zero[16];
	free(a->user);
	free(a->domain);
	free(a->workstation);
	a->user = a->domain = a->workstation = NULL;
	memset(&a->id, 0, sizeof(a->id));
	if (set_identity(a, user, domain, ws, false, zero) == CERR_OK) {
		a->id.session_key_len = 0;
		a->id.failed = true;
		a->id.sub_status = sub;
	} else {
		memset(&a->id, 0, sizeof(a->id));
	}
}

/* AUTHENTICATE (MS-NLMP 3.2.5.1.2). Parse, settle the flags, find the account,
 * check the proof, derive the keys, check the MIC, then set up sign/seal. */
static cerr_t acc_authenticate(ntlm_actx_t *a, const cur_t *in)
{
	const ntlm_acceptor_t *acc = a->acc;
	ntlm_authenticate_msg_t m;
	ntlmv2_response_t r;
	ntlm_av_pairs_t av;
	acc_keys_t k;
	memset(&r, 0, sizeof(r));
	char *user = NULL, *domain = NULL, *ws = NULL;
	char l1[128], l2[128];
	bool ok = false, unknown = false, v2 = false;
	cerr_t sub = CERR_OK; /* why, in 4625's SubStatus terms */
	memset(&k, 0, sizeof(k));
	memset(&av, 0, sizeof(av));

	cerr_t e = ntlm_parse_authenticate(in, &m);
	if (e != CERR_OK) {
		goto out;
	}
	/* The AUTHENTICATE may drop session bits the CHALLENGE granted, never add
	 * them; a zero field (some old clients) keeps the CHALLENGE's. */
	if (m.flags) {
		a->flags &= ~SESSION_FLAGS | (m.flags & SESSION_FLAGS);
	}
	e = CERR_SEC_E_INVALID_TOKEN;
	if (!(user = decode_name(m.user)) || !(domain = decode_name(m.domain)) ||
	    !(ws = decode_name(m.workstation))) {
		log_debug("NTLM AUTHENTICATE: a name is not valid UTF-16");
		goto out;
	}

	if (is_anonymous(&m)) {
		if (!acc->allow_anonymous) {
			log_info("NTLM: anonymous logon refused by policy (workstation '%s')",
				 log_safe(ws, l1, sizeof(l1)));
			e = CERR_STATUS_LOGON_FAILURE;
			goto out;
		}
		/* SessionBaseKey and KeyExchangeKey are Z(16) for anonymous. */
		ok = true;
	} else if (cur_len(&m.nt_response) > 24) {
		if ((e = ntlm_parse_ntlmv2_response(&m.nt_response, &r)) != CERR_OK ||
		    (e = ntlm_parse_av_pairs(&r.av_pairs, &av)) != CERR_OK) {
			goto out;
		}
		v2 = true;
	} else if (cur_len(&m.nt_response) == 24) {
		if (!acc->allow_ntlmv1) {
			log_info("NTLM: refused an NTLMv1 response from '%s\\%s': NTLMv1 is disabled "
				 "(enable allow_ntlmv1 only for legacy clients)",
				 log_safe(domain, l1, sizeof(l1)), log_safe(user, l2, sizeof(l2)));
			e = CERR_STATUS_LOGON_FAILURE;
			goto out;
		}
	} else {
		log_info("NTLM: refused a logon for '%s\\%s' with a %zu-byte NT response "
			 "(LM-only authentication is not supported)",
			 log_safe(domain, l1, sizeof(l1)), log_safe(user, l2, sizeof(l2)),
			 cur_len(&m.nt_response));
		e = CERR_STATUS_LOGON_FAILURE;
		goto out;
	}

	if (!ok && acc->passthrough) {
		if (!v2) {
			log_info("NTLM: refused an NTLMv1 response from '%s\\%s': pass-through accepts NTLMv2 only",
				 log_safe(domain, l1, sizeof(l1)), log_safe(user, l2, sizeof(l2)));
			e = CERR_STATUS_LOGON_FAILURE;
			goto out;
		}
		ntlm_passthrough_req_t req = {
			.user = user,
			.domain = domain,
			.workstation = ws,
			.nt_response = cur_data(&m.nt_response),
			.nt_len = cur_len(&m.nt_response),
			.lm_response = cur_data(&m.lm_response),
			.lm_len = cur_len(&m.lm_response),
		};
		memcpy(req.challenge, a->server_challenge, 8);
		ntlm_passthrough_res_t res;
		memset(&res, 0, sizeof(res));
		e = acc->passthrough(acc->passthrough_arg, &req, &res);
		if (e != CERR_OK) {
			sub = res.sub_status;
			free_sids(res.sids, res.num_sids);
			log_info("NTLM: the domain refused '%s\\%s': %s%s%s", log_safe(domain, l1, sizeof(l1)),
				 log_safe(user, l2, sizeof(l2)), cerr_name(e), sub ? " / " : "", sub ? cerr_name(sub) : "");
			goto out;
		}
		if (res.num_sids == 0) {
			free_sids(res.sids, res.num_sids);
			log_error("NTLM: the domain validated '%s\\%s' but reported no SIDs", log_safe(domain, l1, sizeof(l1)),
				  log_safe(user, l2, sizeof(l2)));
			e = CERR_STATUS_LOGON_FAILURE;
			goto out;
		}
		memcpy(k.sbk, res.session_base_key, 16);
		memcpy(k.kxkey, k.sbk, 16); /* KXKEY for NTLMv2 (MS-NLMP 3.4.5.1) */
		snprintf(k.acct.user, sizeof(k.acct.user), "%s", res.user);
		snprintf(k.acct.domain, sizeof(k.acct.domain), "%s", res.domain);
		ntlm_wipe(res.session_base_key, 16);
		free_sids(a->sids, a->num_sids);
		a->sids = res.sids;
		a->num_sids = res.num_sids;
		ok = true;
	}
	if (!ok) {
		e = acc->lookup ? acc->lookup(acc->lookup_arg, domain, user, &k.acct) : CERR_STATUS_NO_SUCH_USER;
		if (e == CERR_STATUS_NO_SUCH_USER) {
			/* Do the same work with a zero hash so timing does not tell. */
			unknown = true;
			memset(&k.acct, 0, sizeof(k.acct));
		} else if (e != CERR_OK) {
			log_error("NTLM: account lookup for '%s\\%s' failed: %s", log_safe(domain, l1, sizeof(l1)),
				  log_safe(user, l2, sizeof(l2)), cerr_name(e));
			goto out;
		}
		e = v2 ? verify_v2(a, user, domain, &r, &k, &ok) : verify_v1(a, &m, &k, &ok);
		if (e != CERR_OK) {
			goto out;
		}
		if (unknown || !ok) {
			log_debug("NTLM: logon failure for '%s\\%s': %s", log_safe(domain, l1, sizeof(l1)),
				  log_safe(user, l2, sizeof(l2)), unknown ? "no such user" : "wrong password");
			sub = unknown ? CERR_STATUS_NO_SUCH_USER : CERR_STATUS_WRONG_PASSWORD;
			e = CERR_STATUS_LOGON_FAILURE;
			goto out;
		}
		if (k.acct.disabled) {
			log_info("NTLM: logon refused for '%s\\%s': account disabled",
				 log_safe(domain, l1, sizeof(l1)), log_safe(user, l2, sizeof(l2)));
			sub = CERR_STATUS_ACCOUNT_DISABLED;
			e = CERR_STATUS_ACCOUNT_DISABLED;
			goto out;
		}
		if (v2 && acc->max_clock_skew) {
			uint64_t now = filetime_now(), ts = r.timestamp;
			uint64_t skew = (uint64_t)acc->max_clock_skew * 10000000ull;
			if ((ts > now ? ts - now : now - ts) > skew) {
				log_info("NTLM: logon refused for '%s\\%s': NTLMv2 timestamp outside the "
					 "allowed clock skew of %u s",
					 log_safe(domain, l1, sizeof(l1)), log_safe(user, l2, sizeof(l2)),
					 (unsigned)acc->max_clock_skew);
				e = CERR_STATUS_LOGON_FAILURE;
				goto out;
			}
		}
	}

	/* ExportedSessionKey (MS-NLMP 3.2.5.1.2) */
	if (a->flags & NTLMSSP_NEGOTIATE_KEY_EXCH) {
		uint8_t enc[16];
		cur_t ek = m.enc_session_key;
		if (cur_len(&ek) != 16 || !cur_copy(&ek, enc, 16)) {
			log_debug("NTLM: KEY_EXCH without a 16-byte EncryptedRandomSessionKey");
			e = CERR_SEC_E_INVALID_TOKEN;
			goto out;
		}
		e = ntlm_rc4k(k.kxkey, enc, 16, k.exported);
		if (e != CERR_OK) {
			goto out;
		}
	} else {
		memcpy(k.exported, k.kxkey, 16);
	}

	if (v2 && av.has_flags && (av.flags & NTLM_AVF_MIC_PRESENT)) {
		if (!m.has_mic_field) {
			log_debug("NTLM: MsvAvFlags announces a MIC but the message has no room for one");
			e = CERR_SEC_E_INVALID_TOKEN;
			goto out;
		}
		e = compute_mic(k.exported, a->neg_msg, a->neg_len, a->chal_msg, a->chal_len, in, k.mic);
		if (e != CERR_OK) {
			goto out;
		}
		if (!ntlm_mem_equal(k.mic, m.mic, 16)) {
			log_info("NTLM: logon refused for '%s\\%s': MIC does not verify (message altered)",
				 log_safe(domain, l1, sizeof(l1)), log_safe(user, l2, sizeof(l2)));
			e = CERR_STATUS_LOGON_FAILURE;
			goto out;
		}
	}

	if ((e = ntlm_sess_init(&a->sess, a->flags, k.exported, false)) != CERR_OK) {
		goto out;
	}
	if (is_anonymous(&m)) {
		e = set_identity(a, "ANONYMOUS LOGON", "NT AUTHORITY", ws, true, k.exported);
	} else {
		const char *canon_domain = k.acct.domain[0] ? k.acct.domain
					   : acc->domain_joined ? acc->nb_domain
								: acc->nb_computer;
		e = set_identity(a, k.acct.user[0] ? k.acct.user : user, canon_domain, ws, false, k.exported);
		if (e == CERR_OK && a->num_sids) {
			a->sid_list.user_sid = a->sids[0];
			a->sid_list.group_sids = (const char *const *)(a->sids + 1);
			a->sid_list.num_group_sids = a->num_sids - 1;
			a->id.extra = &a->sid_list;
			a->id.extra_kind = RPC_EXTRA_SIDS;
		}
	}
	if (e == CERR_OK) {
		log_debug("NTLM: '%s\\%s' authenticated (%s, flags 0x%08x)", log_safe(a->domain, l1, sizeof(l1)),
			  log_safe(a->user, l2, sizeof(l2)),
			  a->id.anonymous ? "anonymous" : v2 ? "NTLMv2" : "NTLMv1", (unsigned)a->flags);
	}
out:
	if (e != CERR_OK && user && domain && ws) {
		set_claimed(a, user, domain, ws, sub);
	}
	ntlm_wipe(&k, sizeof(k));
	free(user);
	free(domain);
	free(ws);
	return e;
}

static cerr_t acc_step(rpc_auth_ctx_t *ctx, const cur_t *in, buf_t *out)
{
	ntlm_actx_t *a = actx_of(ctx);
	if (!a || !in || !out) {
		return CERR_INVALID_ARG;
	}
	cerr_t e;
	switch (a->state) {
	case ACC_START:
		e = acc_negotiate(a, in, out);
		if (e != CERR_STATUS_MORE_PROCESSING_REQUIRED) {
			a->state = ACC_FAILED;
		}
		return e;
	case ACC_CHALLENGED:
		e = acc_authenticate(a, in);
		a->state = e == CERR_OK ? ACC_DONE : ACC_FAILED;
		/* The MIC is checked; the saved messages are no longer needed. */
		free(a->neg_msg);
		free(a->chal_msg);
		a->neg_msg = a->chal_msg = NULL;
		return e;
	case ACC_DONE:
	case ACC_FAILED:
	default:
		log_debug("NTLM: token after the exchange ended");
		return CERR_SEC_E_INVALID_TOKEN;
	}
}

static const rpc_identity_t *acc_identity(rpc_auth_ctx_t *ctx)
{
	ntlm_actx_t *a = actx_of(ctx);
	if (a && a->state == ACC_FAILED && a->id.failed) {
		return &a->id; /* whom a failed logon claimed to be (auth.h) */
	}
	return (a && a->state == ACC_DONE) ? &a->id : NULL;
}

static size_t ntlm_sig_len(rpc_auth_ctx_t *ctx)
{
	(void)ctx;
	return NTLM_SIG_LEN;
}

static cerr_t acc_protect(rpc_auth_ctx_t *ctx, uint8_t *pdu, size_t pdu_len, size_t stub_offset,
			  size_t stub_len, size_t verifier_offset, bool seal, bool header_sign)
{
	(void)header_sign;
	ntlm_actx_t *a = actx_of(ctx);
	if (!a || a->state != ACC_DONE) {
		return CERR_INVALID_ARG;
	}
	return pdu_apply(&a->sess, pdu, pdu_len, stub_offset, stub_len, verifier_offset, seal, false);
}

static cerr_t acc_unprotect(rpc_auth_ctx_t *ctx, uint8_t *pdu, size_t pdu_len, size_t stub_offset,
			    size_t stub_len, size_t verifier_offset, bool seal, bool header_sign)
{
	(void)header_sign;
	ntlm_actx_t *a = actx_of(ctx);
	if (!a || a->state != ACC_DONE) {
		return CERR_INVALID_ARG;
	}
	return pdu_apply(&a->sess, pdu, pdu_len, stub_offset, stub_len, verifier_offset, seal, true);
}

static void acceptor_free(ntlm_acceptor_t *acc)
{
	if (!acc) {
		return;
	}
	free(acc->nb_domain);
	free(acc->nb_computer);
	free(acc->dns_domain);
	free(acc->dns_computer);
	free(acc->dns_tree);
	free(acc->ti_prefix);
	free(acc);
}

cerr_t ntlm_acceptor_provider(rpc_auth_provider_t *out, const ntlm_acceptor_config_t *cfg)
{
	memset(out, 0, sizeof(*out));
	cerr_t e = ntlm_crypto_init();
	if (e != CERR_OK) {
		return e;
	}
	if (!cfg || !cfg->nb_computer || !cfg->nb_computer[0] || !cfg->nb_domain || !cfg->nb_domain[0]) {
		log_error("NTLM acceptor needs the NetBIOS computer and domain names");
		return CERR_CONFIG;
	}
	ntlm_acceptor_t *acc = calloc(1, sizeof(*acc));
	if (!acc) {
		return CERR_NOMEM;
	}
	acc->kind = KIND_ACCEPTOR_CFG;
	acc->nb_domain = dup_or_empty(cfg->nb_domain);
	acc->nb_computer = dup_or_empty(cfg->nb_computer);
	acc->dns_domain = dup_or_empty(cfg->dns_domain);
	acc->dns_computer = dup_or_empty(cfg->dns_computer);
	acc->dns_tree = dup_or_empty(cfg->dns_tree);
	acc->domain_joined = cfg->domain_joined;
	acc->allow_ntlmv1 = cfg->allow_ntlmv1;
	acc->allow_anonymous = cfg->allow_anonymous;
	acc->max_clock_skew = cfg->max_clock_skew;
	acc->lookup = cfg->lookup;
	acc->lookup_arg = cfg->lookup_arg;
	acc->passthrough = cfg->passthrough;
	acc->passthrough_arg = cfg->passthrough_arg;
	if (!acc->nb_domain || !acc->nb_computer || !acc->dns_domain || !acc->dns_computer || !acc->dns_tree) {
		acceptor_free(acc);
		return CERR_NOMEM;
	}
	/* Target info in the order Windows sends it (MS-NLMP 2.2.2.1); the
	 * timestamp and EOL are added per CHALLENGE. */
	buf_t ti;
	buf_init(&ti, NTLM_MAX_TOKEN / 2);
	bool ok = ntlm_put_av_str(&ti, NTLM_AV_NB_DOMAIN, acc->nb_domain) &&
		  ntlm_put_av_str(&ti, NTLM_AV_NB_COMPUTER, acc->nb_computer) &&
		  (!acc->dns_domain[0] || ntlm_put_av_str(&ti, NTLM_AV_DNS_DOMAIN, acc->dns_domain)) &&
		  (!acc->dns_computer[0] || ntlm_put_av_str(&ti, NTLM_AV_DNS_COMPUTER, acc->dns_computer)) &&
		  (!acc->dns_tree[0] || ntlm_put_av_str(&ti, NTLM_AV_DNS_TREE, acc->dns_tree));
	if (!ok || !buf_ok(&ti)) {
		buf_free(&ti);
		acceptor_free(acc);
		log_error("NTLM acceptor: names are not valid UTF-8 or too long");
		return CERR_CONFIG;
	}
	acc->ti_prefix = buf_take(&ti, &acc->ti_prefix_len);
	if (!acc->ti_prefix) {
		acceptor_free(acc);
		return CERR_NOMEM;
	}
	out->auth_type = RPC_AUTH_WINNT;
	out->name = "NTLM";
	out->ctx_new = acc_ctx_new;
	out->step = acc_step;
	out->identity = acc_identity;
	out->sig_len = ntlm_sig_len;
	out->protect = acc_protect;
	out->unprotect = acc_unprotect;
	out->ctx_free = acc_ctx_free;
	out->data = acc;
	return CERR_OK;
}

/* ============================== initiator ================================= */

enum cli_state { CLI_START, CLI_NEGOTIATED, CLI_DONE, CLI_FAILED };

struct ntlm_client {
	uint32_t kind;
	char *user, *domain, *workstation;
	uint8_t nt_hash[16];
	bool anonymous;
	bool always_mic;
	enum cli_state state;
	uint32_t neg_flags;
	uint32_t flags;
	uint8_t *neg_msg;
	size_t neg_len;
	rpc_identity_t id;
	ntlm_sess_t sess;
};

static ntlm_client_t *client_alloc(const char *user, const char *domain, const char *workstation)
{
	if (ntlm_crypto_init() != CERR_OK) {
		return NULL;
	}
	ntlm_client_t *c = calloc(1, sizeof(*c));
	if (!c) {
		return NULL;
	}
	c->kind = KIND_CLIENT;
	c->anonymous = !user || !user[0];
	c->user = dup_or_empty(c->anonymous ? "" : user);
	c->domain = dup_or_empty(c->anonymous ? "" : domain);
	c->workstation = dup_or_empty(workstation);
	if (!c->user || !c->domain || !c->workstation || utf8_utf16_units(c->user) == (size_t)-1 ||
	    utf8_utf16_units(c->domain) == (size_t)-1 || utf8_utf16_units(c->workstation) == (size_t)-1) {
		ntlm_client_free(c);
		return NULL;
	}
	c->id.user = c->anonymous ? "ANONYMOUS LOGON" : c->user;
	c->id.domain = c->anonymous ? "NT AUTHORITY" : c->domain;
	c->id.workstation = c->workstation;
	c->id.package = "NTLM";
	c->id.anonymous = c->anonymous;
	return c;
}

ntlm_client_t *ntlm_client_new(const char *user, const char *domain, const char *password,
			       const char *workstation)
{
	ntlm_client_t *c = client_alloc(user, domain, workstation);
	if (!c) {
		return NULL;
	}
	if (!c->anonymous && ntlm_nt_hash(password ? password : "", c->nt_hash) != CERR_OK) {
		ntlm_client_free(c);
		return NULL;
	}
	return c;
}

ntlm_client_t *ntlm_client_new_hash(const char *user, const char *domain, const uint8_t nt_hash[16],
				    const char *workstation)
{
	ntlm_client_t *c = client_alloc(user, domain, workstation);
	if (c && nt_hash) {
		memcpy(c->nt_hash, nt_hash, 16);
	}
	return c;
}

void ntlm_client_set_mic(ntlm_client_t *c, bool always)
{
	if (c) {
		c->always_mic = always;
	}
}

void ntlm_client_free(ntlm_client_t *c)
{
	if (!c) {
		return;
	}
	free(c->user);
	free(c->domain);
	free(c->workstation);
	free(c->neg_msg);
	ntlm_sess_cleanup(&c->sess);
	ntlm_wipe(c, sizeof(*c));
	free(c);
}

cerr_t ntlm_client_negotiate(ntlm_client_t *c, buf_t *out)
{
	if (!c || !out || c->state != CLI_START) {
		return CERR_INVALID_ARG;
	}
	c->neg_flags = CLIENT_FLAGS;
	size_t start = out->len;
	cerr_t e = ntlm_encode_negotiate(out, c->neg_flags, &CERTA_VERSION);
	if (e != CERR_OK) {
		c->state = CLI_FAILED;
		return e;
	}
	c->neg_len = out->len - start;
	c->neg_msg = malloc(c->neg_len);
	if (!c->neg_msg) {
		return CERR_NOMEM;
	}
	memcpy(c->neg_msg, out->data + start, c->neg_len);
	c->state = CLI_NEGOTIATED;
	return CERR_OK;
}

/* The client's AV list for the NTLMv2 blob (MS-NLMP 3.1.5.1.2): the server's
 * pairs, with MsvAvFlags carrying MIC_PRESENT when a MIC is sent. */
static cerr_t client_av_list(const cur_t *ti, const ntlm_av_pairs_t *av, bool mic, buf_t *b)
{
	cur_t c = *ti;
	for (;;) {
		uint16_t id, len;
		cur_t v;
		if (!cur_get_u16le(&c, &id) || !cur_get_u16le(&c, &len) || !cur_get_bytes(&c, &v, len)) {
			return CERR_SEC_E_INVALID_TOKEN;
		}
		if (id == NTLM_AV_EOL) {
			break;
		}
		if (id != NTLM_AV_FLAGS) {
			ntlm_put_av(b, id, cur_data(&v), cur_len(&v));
		}
	}
	uint32_t flags = (av->has_flags ? av->flags : 0) | (mic ? NTLM_AVF_MIC_PRESENT : 0);
	if (flags) {
		uint8_t f[4];
		put_le32(f, flags);
		ntlm_put_av(b, NTLM_AV_FLAGS, f, 4);
	}
	ntlm_put_av(b, NTLM_AV_EOL, NULL, 0);
	return buf_ok(b) ? CERR_OK : CERR_NOMEM;
}

typedef struct cli_keys {
	uint8_t rk[16], proof[16], sbk[16], exported[16], enc[16], mic[16];
	uint8_t lm[24];
} cli_keys_t;

cerr_t ntlm_client_authenticate(ntlm_client_t *c, const cur_t *challenge, buf_t *out)
{
	if (!c || !challenge || !out || c->state != CLI_NEGOTIATED) {
		return CERR_INVALID_ARG;
	}
	ntlm_challenge_msg_t ch;
	ntlm_av_pairs_t av;
	cli_keys_t k;
	buf_t blob;
	memset(&k, 0, sizeof(k));
	memset(&av, 0, sizeof(av));
	buf_init(&blob, NTLM_MAX_TOKEN);
	c->state = CLI_FAILED;

	cerr_t e = ntlm_parse_challenge(challenge, &ch);
	if (e != CERR_OK) {
		goto out;
	}
	if (cur_len(&ch.target_info) && (e = ntlm_parse_av_pairs(&ch.target_info, &av)) != CERR_OK) {
		goto out;
	}
	c->flags = c->neg_flags & ch.flags;
	if (!(c->flags & NTLMSSP_NEGOTIATE_UNICODE) ||
	    !(c->flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY)) {
		log_error("NTLM: server refused Unicode or extended session security (flags 0x%08x)",
			  (unsigned)ch.flags);
		e = CERR_UNSUPPORTED;
		goto out;
	}
	/* With an MsvAvTimestamp the client sends a MIC and a zero LM response
	 * (MS-NLMP 3.1.5.1.2). */
	bool mic = !c->anonymous && (av.has_timestamp || c->always_mic);
	const uint8_t *nt = NULL;
	size_t nt_len = 0, lm_len = 0;
	if (c->anonymous) {
		c->flags |= NTLMSSP_NEGOTIATE_ANONYMOUS;
		lm_len = 1; /* Z(1) */
		/* KeyExchangeKey = Z(16) */
	} else {
		uint8_t cc[8];
		if (RAND_bytes(cc, 8) != 1) {
			e = CERR_CRYPTO;
			goto out;
		}
		uint64_t ts = av.has_timestamp ? av.timestamp : filetime_now();
		static const uint8_t head[8] = {1, 1, 0, 0, 0, 0, 0, 0};
		buf_put_bytes(&blob, head, 8);
		buf_put_u64(&blob, ts);
		buf_put_bytes(&blob, cc, 8);
		buf_put_zeros(&blob, 4);
		cur_t empty_ti;
		static const uint8_t eol[4] = {0, 0, 0, 0};
		cur_init(&empty_ti, eol, 4);
		if ((e = client_av_list(cur_len(&ch.target_info) ? &ch.target_info : &empty_ti, &av, mic, &blob)) !=
		    CERR_OK) {
			goto out;
		}
		buf_put_zeros(&blob, 4);
		if (!buf_ok(&blob)) {
			e = CERR_NOMEM;
			goto out;
		}
		if ((e = ntlm_ntowfv2(c->nt_hash, c->user, c->domain, k.rk)) != CERR_OK) {
			goto out;
		}
		ntlm_iov_t v[2] = {{ch.server_challenge, 8}, {blob.data, blob.len}};
		if ((e = ntlm_hmac_md5v(k.rk, 16, v, 2, k.proof)) != CERR_OK ||
		    (e = ntlm_hmac_md5(k.rk, 16, k.proof, 16, k.sbk)) != CERR_OK) {
			goto out;
		}
		if (!mic) { /* LMv2 */
			ntlm_iov_t lv[2] = {{ch.server_challenge, 8}, {cc, 8}};
			if ((e = ntlm_hmac_md5v(k.rk, 16, lv, 2, k.lm)) != CERR_OK) {
				goto out;
			}
			memcpy(k.lm + 16, cc, 8);
		}
		lm_len = 24;
		/* NtChallengeResponse = NTProofStr || temp: put the proof before the blob. */
		buf_t ntb;
		buf_init(&ntb, NTLM_MAX_TOKEN);
		buf_put_bytes(&ntb, k.proof, 16);
		buf_put_bytes(&ntb, blob.data, blob.len);
		if (!buf_ok(&ntb)) {
			buf_free(&ntb);
			e = CERR_NOMEM;
			goto out;
		}
		buf_free(&blob);
		blob = ntb;
		nt = blob.data;
		nt_len = blob.len;
	}
	if (c->flags & NTLMSSP_NEGOTIATE_KEY_EXCH) {
		if (RAND_bytes(k.exported, 16) != 1) {
			e = CERR_CRYPTO;
			goto out;
		}
		if ((e = ntlm_rc4k(k.sbk, k.exported, 16, k.enc)) != CERR_OK) {
			goto out;
		}
	} else {
		memcpy(k.exported, k.sbk, 16);
	}
	ntlm_authenticate_out_t am = {
		.flags = c->flags,
		.lm_response = k.lm,
		.lm_response_len = lm_len,
		.nt_response = nt,
		.nt_response_len = nt_len,
		.domain = c->domain,
		.user = c->user,
		.workstation = c->workstation,
		.enc_session_key = (c->flags & NTLMSSP_NEGOTIATE_KEY_EXCH) ? k.enc : NULL,
		.enc_session_key_len = 16,
		.version = &CERTA_VERSION,
		.mic_field = mic,
	};
	size_t msg_off;
	if ((e = ntlm_encode_authenticate(out, &am, &msg_off)) != CERR_OK) {
		goto out;
	}
	if (mic) {
		cur_t auth;
		cur_init(&auth, out->data, out->len);
		if (!cur_sub(&auth, msg_off, out->len - msg_off, &auth)) {
			e = CERR_INTERNAL;
			goto out;
		}
		if ((e = compute_mic(k.exported, c->neg_msg, c->neg_len, cur_data(challenge), cur_len(challenge),
				     &auth, k.mic)) != CERR_OK) {
			goto out;
		}
		memcpy(out->data + msg_off + NTLM_AUTH_MIC_OFFSET, k.mic, 16);
	}
	if ((e = ntlm_sess_init(&c->sess, c->flags, k.exported, true)) != CERR_OK) {
		goto out;
	}
	memcpy(c->id.session_key, k.exported, 16);
	c->id.session_key_len = 16;
	c->state = CLI_DONE;
out:
	ntlm_wipe(&k, sizeof(k));
	buf_free(&blob);
	free(c->neg_msg);
	c->neg_msg = NULL;
	return e;
}

cerr_t ntlm_client_protect(ntlm_client_t *c, uint8_t *pdu, size_t pdu_len, size_t stub_offset,
			   size_t stub_len, size_t verifier_offset, bool seal, bool header_sign)
{
	(void)header_sign;
	if (!c || c->kind != KIND_CLIENT || c->state != CLI_DONE) {
		return CERR_INVALID_ARG;
	}
	return pdu_apply(&c->sess, pdu, pdu_len, stub_offset, stub_len, verifier_offset, seal, false);
}

cerr_t ntlm_client_unprotect(ntlm_client_t *c, uint8_t *pdu, size_t pdu_len, size_t stub_offset,
			     size_t stub_len, size_t verifier_offset, bool seal, bool header_sign)
{
	(void)header_sign;
	if (!c || c->kind != KIND_CLIENT || c->state != CLI_DONE) {
		return CERR_INVALID_ARG;
	}
	return pdu_apply(&c->sess, pdu, pdu_len, stub_offset, stub_len, verifier_offset, seal, true);
}

uint32_t ntlm_client_flags(const ntlm_client_t *c)
{
	return c ? c->flags : 0;
}

const rpc_identity_t *ntlm_client_identity(ntlm_client_t *c)
{
	return (c && c->state == CLI_DONE) ? &c->id : NULL;
}

/* ---- the client behind the provider vtable ---- */

static ntlm_client_t *client_of(rpc_auth_ctx_t *ctx)
{
	ntlm_client_t *c = (ntlm_client_t *)(void *)ctx;
	return (c && c->kind == KIND_CLIENT) ? c : NULL;
}

rpc_auth_ctx_t *ntlm_client_ctx(ntlm_client_t *c)
{
	return (rpc_auth_ctx_t *)(void *)c;
}

static cerr_t cli_step(rpc_auth_ctx_t *ctx, const cur_t *in, buf_t *out)
{
	ntlm_client_t *c = client_of(ctx);
	if (!c) {
		return CERR_INVALID_ARG;
	}
	if (c->state == CLI_START) {
		cerr_t e = ntlm_client_negotiate(c, out);
		return e == CERR_OK ? CERR_STATUS_MORE_PROCESSING_REQUIRED : e;
	}
	return ntlm_client_authenticate(c, in, out);
}

static const rpc_identity_t *cli_identity(rpc_auth_ctx_t *ctx)
{
	return ntlm_client_identity(client_of(ctx));
}

static cerr_t cli_protect(rpc_auth_ctx_t *ctx, uint8_t *pdu, size_t pdu_len, size_t stub_offset,
			  size_t stub_len, size_t verifier_offset, bool seal, bool header_sign)
{
	return ntlm_client_protect(client_of(ctx), pdu, pdu_len, stub_offset, stub_len, verifier_offset, seal,
				   header_sign);
}

static cerr_t cli_unprotect(rpc_auth_ctx_t *ctx, uint8_t *pdu, size_t pdu_len, size_t stub_offset,
			    size_t stub_len, size_t verifier_offset, bool seal, bool header_sign)
{
	return ntlm_client_unprotect(client_of(ctx), pdu, pdu_len, stub_offset, stub_len, verifier_offset,
				     seal, header_sign);
}

static void cli_ctx_free(rpc_auth_ctx_t *ctx)
{
	ntlm_client_free(client_of(ctx));
}

typedef struct ntlm_initiator {
	uint32_t kind;
	char *user, *domain, *workstation;
	uint8_t nt_hash[16];
	bool always_mic;
} ntlm_initiator_t;

static cerr_t ini_ctx_new(void *data, rpc_auth_ctx_t **out)
{
	const ntlm_initiator_t *ini = data;
	*out = NULL;
	if (!ini || ini->kind != KIND_INITIATOR_CFG) {
		return CERR_INVALID_ARG;
	}
	ntlm_client_t *c = ntlm_client_new_hash(ini->user, ini->domain, ini->nt_hash, ini->workstation);
	if (!c) {
		return CERR_NOMEM;
	}
	c->always_mic = ini->always_mic;
	*out = ntlm_client_ctx(c);
	return CERR_OK;
}

static void initiator_free(ntlm_initiator_t *ini)
{
	if (!ini) {
		return;
	}
	free(ini->user);
	free(ini->domain);
	free(ini->workstation);
	ntlm_wipe(ini, sizeof(*ini));
	free(ini);
}

cerr_t ntlm_initiator_provider(rpc_auth_provider_t *out, const ntlm_initiator_config_t *cfg)
{
	memset(out, 0, sizeof(*out));
	cerr_t e = ntlm_crypto_init();
	if (e != CERR_OK) {
		return e;
	}
	if (!cfg) {
		return CERR_INVALID_ARG;
	}
	ntlm_initiator_t *ini = calloc(1, sizeof(*ini));
	if (!ini) {
		return CERR_NOMEM;
	}
	ini->kind = KIND_INITIATOR_CFG;
	ini->user = dup_or_empty(cfg->user);
	ini->domain = dup_or_empty(cfg->domain);
	ini->workstation = dup_or_empty(cfg->workstation);
	ini->always_mic = cfg->always_mic;
	if (!ini->user || !ini->domain || !ini->workstation) {
		initiator_free(ini);
		return CERR_NOMEM;
	}
	if (cfg->password) {
		e = ntlm_nt_hash(cfg->password, ini->nt_hash);
	} else if (cfg->nt_hash) {
		memcpy(ini->nt_hash, cfg->nt_hash, 16);
	}
	if (e != CERR_OK) {
		initiator_free(ini);
		return e;
	}
	out->auth_type = RPC_AUTH_WINNT;
	out->name = "NTLM";
	out->ctx_new = ini_ctx_new;
	out->step = cli_step;
	out->identity = cli_identity;
	out->sig_len = ntlm_sig_len;
	out->protect = cli_protect;
	out->unprotect = cli_unprotect;
	out->ctx_free = cli_ctx_free;
	out->data = ini;
	return CERR_OK;
}

const rpc_auth_provider_t *ntlm_client_vtable(void)
{
	static const rpc_auth_provider_t vt = {
		.auth_type = RPC_AUTH_WINNT,
		.name = "NTLM",
		.ctx_new = NULL, /* clients come from ntlm_client_new */
		.step = cli_step,
		.identity = cli_identity,
		.sig_len = ntlm_sig_len,
		.protect = cli_protect,
		.unprotect = cli_unprotect,
		.ctx_free = cli_ctx_free,
		.data = NULL,
	};
	return &vt;
}

void ntlm_provider_cleanup(rpc_auth_provider_t *p)
{
	if (!p) {
		return;
	}
	uint32_t *kind = p->data;
	if (kind && *kind == KIND_ACCEPTOR_CFG) {
		acceptor_free(p->data);
	} else if (kind && *kind == KIND_INITIATOR_CFG) {
		initiator_free(p->data);
	}
	memset(p, 0, sizeof(*p));
}
