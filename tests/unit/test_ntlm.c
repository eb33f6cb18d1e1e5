/*
 * test_ntlm.c - NTLMSSP: the MS-NLMP 4.2 test vectors (NTLMv1 4.2.2, NTLMv1
 * with client challenge 4.2.3, NTLMv2 4.2.4 including the sealed "Plaintext"
 * of 4.2.4.4), the acceptor against certa's initiator end to end (policy,
 * wrong password, MIC, anonymous, sign/seal both ways, tampering), parser
 * robustness, and the acceptor against impacket's client when
 * /usr/bin/python3 has impacket (skipped otherwise).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <cmocka.h>

#include "rpc/ntlm.h"
#include "rpc/ntlm_crypto.h"
#include "rpc/ntlm_msg.h"
#include "util/cursor.h"
#include "util/log.h"

static void hex2bin(const char *hex, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* ---- MS-NLMP 4.2.1 common values ---- */
static const uint8_t SERVER_CHALLENGE[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
static const uint8_t CLIENT_CHALLENGE[8] = {0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa};

static void test_v1_vectors(void **state)
{
	(void)state;
	uint8_t nt[16], want[24], out[24], sbk[16];
	/* 4.2.2.1.2 NTOWFv1("Password") */
	assert_int_equal(ntlm_nt_hash("Password", nt), CERR_OK);
	hex2bin("a4f49c406510bdcab6824ee7c30fd852", want, 16);
	assert_memory_equal(nt, want, 16);
	/* 4.2.2.1.3 session base key = MD4(NT hash) */
	assert_int_equal(ntlm_md4(nt, 16, sbk), CERR_OK);
	hex2bin("d87262b0cde4b1cb7499becccdf10784", want, 16);
	assert_memory_equal(sbk, want, 16);
	/* 4.2.2.2.1 NTLMv1 response */
	assert_int_equal(ntlm_desl(nt, SERVER_CHALLENGE, out), CERR_OK);
	hex2bin("67c43011f30298a2ad35ece64f16331c44bdbed927841f94", want, 24);
	assert_memory_equal(out, want, 24);
	/* 4.2.3.2.2 NTLMv1 with client challenge: DESL(NT, MD5(SC || CC)[0..8]) */
	uint8_t h[16];
	ntlm_iov_t v[2] = {{SERVER_CHALLENGE, 8}, {CLIENT_CHALLENGE, 8}};
	assert_int_equal(ntlm_md5v(v, 2, h), CERR_OK);
	assert_int_equal(ntlm_desl(nt, h, out), CERR_OK);
	hex2bin("7537f803ae367128ca458204bde7caf81e97ed2683267232", want, 24);
	assert_memory_equal(out, want, 24);
	/* 4.2.3.1.2 KeyExchangeKey with ESS = HMAC_MD5(SBK, SC || LM[0..8]) */
	uint8_t kx[16];
	assert_int_equal(ntlm_hmac_md5v(sbk, 16, v, 2, kx), CERR_OK);
	hex2bin("eb93429a8bd952f8b89c55b87f475edc", want, 16);
	assert_memory_equal(kx, want, 16);
}

/* 4.2.4.1.3: temp with Time = 0 and the two AV pairs of 4.2.4 */
static const char *V2_TEMP =
	"01010000000000000000000000000000aaaaaaaaaaaaaaaa00000000"
	"02000c0044006f006d00610069006e0001000c0053006500720076006500720000000000"
	"00000000";

static void test_v2_vectors(void **state)
{
	(void)state;
	uint8_t nt[16], rk[16], want[16], proof[16], sbk[16], enc[16];
	assert_int_equal(ntlm_nt_hash("Password", nt), CERR_OK);
	/* 4.2.4.1.1 NTOWFv2("Password", "User", "Domain") */
	assert_int_equal(ntlm_ntowfv2(nt, "User", "Domain", rk), CERR_OK);
	hex2bin("0c868a403bfd7a93a3001ef22ef02e3f", want, 16);
	assert_memory_equal(rk, want, 16);
	/* the user is uppercased, the domain is not */
	uint8_t rk2[16];
	assert_int_equal(ntlm_ntowfv2(nt, "user", "Domain", rk2), CERR_OK);
	assert_memory_equal(rk2, rk, 16);
	assert_int_equal(ntlm_ntowfv2(nt, "User", "DOMAIN", rk2), CERR_OK);
	assert_memory_not_equal(rk2, rk, 16);

	size_t tlen = strlen(V2_TEMP) / 2;
	uint8_t temp[128];
	hex2bin(V2_TEMP, temp, tlen);
	/* 4.2.4.2.2 NTProofStr */
	ntlm_iov_t v[2] = {{SERVER_CHALLENGE, 8}, {temp, tlen}};
	assert_int_equal(ntlm_hmac_md5v(rk, 16, v, 2, proof), CERR_OK);
	hex2bin("68cd0ab851e51c96aabc927bebef6a1c", want, 16);
	assert_memory_equal(proof, want, 16);
	/* 4.2.4.1.2 session base key */
	assert_int_equal(ntlm_hmac_md5(rk, 16, proof, 16, sbk), CERR_OK);
	hex2bin("8de40ccadbc14a82f15cb0ad0de95ca3", want, 16);
	assert_memory_equal(sbk, want, 16);
	/* 4.2.4.2.1 LMv2 response */
	uint8_t lm[16];
	ntlm_iov_t lv[2] = {{SERVER_CHALLENGE, 8}, {CLIENT_CHALLENGE, 8}};
	assert_int_equal(ntlm_hmac_md5v(rk, 16, lv, 2, lm), CERR_OK);
	hex2bin("86c35097ac9cec102554764a57cccc19", want, 16);
	assert_memory_equal(lm, want, 16);
	/* 4.2.4.2.3 encrypted session key: RC4K(KXKEY = SBK, RandomSessionKey = 0x55 * 16) */
	uint8_t rsk[16];
	memset(rsk, 0x55, 16);
	assert_int_equal(ntlm_rc4k(sbk, rsk, 16, enc), CERR_OK);
	hex2bin("c5dad2544fc9799094ce1ce90bc9d03e", want, 16);
	assert_memory_equal(enc, want, 16);

	/* The NTLMv2 response parses back into its parts. */
	uint8_t resp[160];
	memcpy(resp, proof, 16);
	memcpy(resp + 16, temp, tlen);
	cur_t c;
	cur_init(&c, resp, 16 + tlen);
	ntlmv2_response_t r;
	ntlm_av_pairs_t av;
	assert_int_equal(ntlm_parse_ntlmv2_response(&c, &r), CERR_OK);
	assert_int_equal(r.resp_type, 1);
	assert_memory_equal(r.client_challenge, CLIENT_CHALLENGE, 8);
	assert_int_equal(ntlm_parse_av_pairs(&r.av_pairs, &av), CERR_OK);
	assert_int_equal(av.n_pairs, 2);
	assert_int_equal(cur_len(&av.nb_domain), 12);
	assert_int_equal(cur_len(&av.nb_computer), 12);
	assert_false(av.has_timestamp);
}

/* 4.2.4.4 GSS_WrapEx: seal "Plaintext" (UTF-16) with SeqNum 0 under the 4.2.4 flags. */
static void test_v2_seal_vector(void **state)
{
	(void)state;
	const uint32_t flags = 0xe28a8233; /* 4.2.4 Challenge Flags */
	uint8_t rsk[16], key[16], want[32];
	memset(rsk, 0x55, 16);
	assert_int_equal(ntlm_sealkey(flags, rsk, true, key), CERR_OK);
	hex2bin("59f600973cc4960a25480a7c196e4c58", want, 16);
	assert_memory_equal(key, want, 16);
	assert_int_equal(ntlm_signkey(rsk, true, key), CERR_OK);
	hex2bin("4788dc861b4782f35d43fd98fe1a2d39", want, 16);
	assert_memory_equal(key, want, 16);

	ntlm_sess_t cli, srv;
	assert_int_equal(ntlm_sess_init(&cli, flags, rsk, true), CERR_OK);
	assert_int_equal(ntlm_sess_init(&srv, flags, rsk, false), CERR_OK);
	uint8_t msg[18] = {'P', 0, 'l', 0, 'a', 0, 'i', 0, 'n', 0, 't', 0, 'e', 0, 'x', 0, 't', 0};
	uint8_t plain[18];
	memcpy(plain, msg, 18);
	uint8_t sig[16];
	assert_int_equal(ntlm_sess_wrap(&cli, msg, sizeof(msg), msg, sizeof(msg), true, sig), CERR_OK);
	hex2bin("54e50165bf1936dc996020c1811b0f06fb5f", want, 18);
	assert_memory_equal(msg, want, 18);
	hex2bin("010000007fb38ec5c55d497600000000", want, 16);
	assert_memory_equal(sig, want, 16);
	/* the acceptor side opens it */
	assert_int_equal(ntlm_sess_unwrap(&srv, msg, sizeof(msg), msg, sizeof(msg), true, sig), CERR_OK);
	assert_memory_equal(msg, plain, 18);
	ntlm_sess_cleanup(&cli);
	ntlm_sess_cleanup(&srv);
}

/* ---- acceptor <-> initiator ---- */

static int g_lookups;
static bool g_disabled;

static cerr_t test_lookup(void *arg, const char *domain, const char *user, ntlm_account_t *out)
{
	(void)arg;
	(void)domain;
	g_lookups++;
	if (strcasecmp(user, "alice") != 0) {
		return CERR_STATUS_NO_SUCH_USER;
	}
	memset(out, 0, sizeof(*out));
	assert_int_equal(ntlm_nt_hash("Password1", out->nt_hash), CERR_OK);
	snprintf(out->user, sizeof(out->user), "Alice");
	out->disabled = g_disabled;
	return CERR_OK;
}

static void make_acceptor(rpc_auth_provider_t *p, bool v1, bool anon)
{
	ntlm_acceptor_config_t cfg;
	ntlm_acceptor_config_init(&cfg);
	cfg.nb_domain = "CERTA";
	cfg.nb_computer = "CA1";
	cfg.dns_domain = "certa.test";
	cfg.dns_computer = "ca1.certa.test";
	cfg.allow_ntlmv1 = v1;
	cfg.allow_anonymous = anon;
	cfg.max_clock_skew = 300;
	cfg.lookup = test_lookup;
	assert_int_equal(ntlm_acceptor_provider(p, &cfg), CERR_OK);
	assert_int_equal(p->auth_type, 10);
}

/* Runs NEGOTIATE/CHALLENGE/AUTHENTICATE; returns the acceptor's final result.
 * tamper_at >= 0 flips a byte of the AUTHENTICATE before the acceptor sees it. */
static cerr_t run_exchange(const rpc_auth_provider_t *p, rpc_auth_ctx_t **actx, ntlm_client_t *cli,
			   long tamper_at)
{
	buf_t neg, chal, auth;
	buf_init(&neg, 0);
	buf_init(&chal, 0);
	buf_init(&auth, 0);
	assert_int_equal(p->ctx_new(p->data, actx), CERR_OK);
	assert_int_equal(ntlm_client_negotiate(cli, &neg), CERR_OK);
	cur_t c;
	cur_init(&c, neg.data, neg.len);
	assert_int_equal(p->step(*actx, &c, &chal), CERR_STATUS_MORE_PROCESSING_REQUIRED);
	assert_null(p->identity(*actx));
	cur_init(&c, chal.data, chal.len);
	assert_int_equal(ntlm_client_authenticate(cli, &c, &auth), CERR_OK);
	if (tamper_at >= 0 && (size_t)tamper_at < auth.len) {
		auth.data[tamper_at] ^= 0x01;
	}
	cur_init(&c, auth.data, auth.len);
	cerr_t e = p->step(*actx, &c, &chal);
	buf_free(&neg);
	buf_free(&chal);
	buf_free(&auth);
	return e;
}

/* A request-shaped PDU: 24-byte header, 32-byte stub, sec_trailer, 16-byte verifier. */
#define PDU_LEN 80
#define STUB_OFF 24
#define STUB_LEN 32
#define VERIFIER_OFF 64

static void make_pdu(uint8_t pdu[PDU_LEN], uint8_t level)
{
	static const uint8_t hdr[24] = {5, 0, 0, 3, 0x10, 0, 0, 0, PDU_LEN, 0, 16, 0, 2, 0, 0, 0,
					STUB_LEN, 0, 0, 0, 0, 0, 0, 0};
	memcpy(pdu, hdr, 24);
	for (int i = 0; i < STUB_LEN; i++) {
		pdu[STUB_OFF + i] = (uint8_t)i;
	}
	const uint8_t trailer[8] = {10, level, 0, 0, 0x7f, 0x35, 0x01, 0};
	memcpy(pdu + 56, trailer, 8);
	memset(pdu + VERIFIER_OFF, 0, 16);
}

static void check_protect_roundtrips(const rpc_auth_provider_t *p, rpc_auth_ctx_t *actx, ntlm_client_t *cli)
{
	uint8_t pdu[PDU_LEN], ref[PDU_LEN];
	for (int round = 0; round < 3; round++) {
		for (int seal = 0; seal <= 1; seal++) {
			/* client -> server */
			make_pdu(pdu, seal ? 6 : 5);
			memcpy(ref, pdu, PDU_LEN);
			assert_int_equal(ntlm_client_protect(cli, pdu, PDU_LEN, STUB_OFF, STUB_LEN, VERIFIER_OFF,
							     seal, false),
					 CERR_OK);
			if (seal) {
				assert_memory_not_equal(pdu + STUB_OFF, ref + STUB_OFF, STUB_LEN);
			} else {
				assert_memory_equal(pdu + STUB_OFF, ref + STUB_OFF, STUB_LEN);
			}
			assert_int_equal(pdu[VERIFIER_OFF], 1);
			assert_int_equal(p->unprotect(actx, pdu, PDU_LEN, STUB_OFF, STUB_LEN, VERIFIER_OFF, seal,
						      false),
					 CERR_OK);
			assert_memory_equal(pdu, ref, VERIFIER_OFF);
			/* server -> client */
			make_pdu(pdu, seal ? 6 : 5);
			pdu[2] = 2;
			memcpy(ref, pdu, PDU_LEN);
			assert_int_equal(
				p->protect(actx, pdu, PDU_LEN, STUB_OFF, STUB_LEN, VERIFIER_OFF, seal, false),
				CERR_OK);
			assert_int_equal(ntlm_client_unprotect(cli, pdu, PDU_LEN, STUB_OFF, STUB_LEN, VERIFIER_OFF,
							       seal, false),
					 CERR_OK);
			assert_memory_equal(pdu, ref, VERIFIER_OFF);
		}
	}
	/* Tampering: a header byte (signed), a stub byte (sealed), the verifier. */
	const size_t spots[3] = {3, STUB_OFF + 5, VERIFIER_OFF + 6};
	for (int i = 0; i < 3; i++) {
		make_pdu(pdu, 6);
		assert_int_equal(ntlm_client_protect(cli, pdu, PDU_LEN, STUB_OFF, STUB_LEN, VERIFIER_OFF, true, false),
				 CERR_OK);
		pdu[spots[i]] ^= 0x40;
		assert_int_equal(p->unprotect(actx, pdu, PDU_LEN, STUB_OFF, STUB_LEN, VERIFIER_OFF, true, false),
				 CERR_SEC_E_MESSAGE_ALTERED);
	}
	/* bad layout */
	assert_int_equal(p->unprotect(actx, pdu, PDU_LEN, STUB_OFF, STUB_LEN, PDU_LEN - 8, true, false),
			 CERR_INVALID_ARG);
	assert_int_equal(p->protect(actx, pdu, PDU_LEN, STUB_OFF, 64, VERIFIER_OFF, true, false), CERR_INVALID_ARG);
}

static void test_e2e(void **state)
{
	(void)state;
	rpc_auth_provider_t p;
	make_acceptor(&p, false, false);
	ntlm_client_t *cli = ntlm_client_new("alice", "CERTA", "Password1", "WS1");
	assert_non_null(cli);
	rpc_auth_ctx_t *actx = NULL;
	assert_int_equal(run_exchange(&p, &actx, cli, -1), CERR_OK);
	const rpc_identity_t *id = p.identity(actx);
	assert_non_null(id);
	assert_string_equal(id->user, "Alice"); /* canonical name from the lookup */
	assert_string_equal(id->domain, "CA1");
	assert_string_equal(id->workstation, "WS1");
	assert_string_equal(id->package, "NTLM");
	assert_false(id->anonymous);
	assert_int_equal(id->session_key_len, 16);
	const rpc_identity_t *cid = ntlm_client_identity(cli);
	assert_non_null(cid);
	assert_memory_equal(id->session_key, cid->session_key, 16);
	uint32_t f = ntlm_client_flags(cli);
	assert_true(f & NTLMSSP_NEGOTIATE_KEY_EXCH);
	assert_true(f & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY);
	assert_true(f & NTLMSSP_NEGOTIATE_SEAL);
	assert_int_equal(p.sig_len(actx), 16);
	check_protect_roundtrips(&p, actx, cli);
	/* a further token is refused */
	buf_t out;
	buf_init(&out, 0);
	cur_t c;
	cur_init(&c, (const uint8_t *)"x", 1);
	assert_int_equal(p.step(actx, &c, &out), CERR_SEC_E_INVALID_TOKEN);
	buf_free(&out);
	p.ctx_free(actx);
	ntlm_client_free(cli);
	ntlm_provider_cleanup(&p);
}

/* A domain controller standing in for winbind: alice@CERTA with "Password1". */
static int g_passthrough_calls;

static cerr_t fake_dc(void *arg, const ntlm_passthrough_req_t *req, ntlm_passthrough_res_t *out)
{
	(void)arg;
	g_passthrough_calls++;
	if (strcasecmp(req->user, "alice") != 0) {
		out->sub_status = CERR_STATUS_NO_SUCH_USER;
		return CERR_STATUS_LOGON_FAILURE;
	}
	uint8_t nt[16], rk[16], proof[16];
	assert_true(req->nt_len > 16);
	assert_int_equal(ntlm_nt_hash("Password1", nt), CERR_OK);
	assert_int_equal(ntlm_ntowfv2(nt, req->user, req->domain, rk), CERR_OK);
	uint8_t *msg = malloc(8 + req->nt_len - 16);
	memcpy(msg, req->challenge, 8);
	memcpy(msg + 8, req->nt_response + 16, req->nt_len - 16);
	assert_int_equal(ntlm_hmac_md5(rk, 16, msg, 8 + req->nt_len - 16, proof), CERR_OK);
	free(msg);
	if (memcmp(proof, req->nt_response, 16) != 0) {
		out->sub_status = CERR_STATUS_WRONG_PASSWORD;
		return CERR_STATUS_LOGON_FAILURE;
	}
	assert_int_equal(ntlm_hmac_md5(rk, 16, proof, 16, out->session_base_key), CERR_OK);
	snprintf(out->user, sizeof(out->user), "Alice");
	snprintf(out->domain, sizeof(out->domain), "SAMDOM");
	out->num_sids = 3;
	out->sids = calloc(3, sizeof(char *));
	out->sids[0] = strdup("S-1-5-21-1-2-3-1105");
	out->sids[1] = strdup("S-1-5-21-1-2-3-513");
	out->sids[2] = strdup("S-1-5-21-1-2-3-1107");
	return CERR_OK;
}

static void test_passthrough(void **state)
{
	(void)state;
	rpc_auth_provider_t p;
	ntlm_acceptor_config_t cfg;
	ntlm_acceptor_config_init(&cfg);
	cfg.nb_domain = "SAMDOM";
	cfg.nb_computer = "CA1";
	cfg.domain_joined = true;
	cfg.passthrough = fake_dc;
	assert_int_equal(ntlm_acceptor_provider(&p, &cfg), CERR_OK);
	rpc_auth_ctx_t *actx;

	/* the DC's session key drives sign/seal; its SIDs come with the identity */
	ntlm_client_t *cli = ntlm_client_new("alice", "SAMDOM", "Password1", "WS1");
	assert_int_equal(run_exchange(&p, &actx, cli, -1), CERR_OK);
	const rpc_identity_t *id = p.identity(actx);
	assert_string_equal(id->user, "Alice");
	assert_string_equal(id->domain, "SAMDOM");
	assert_int_equal(id->extra_kind, RPC_EXTRA_SIDS);
	const rpc_sid_list_t *sl = id->extra;
	assert_string_equal(sl->user_sid, "S-1-5-21-1-2-3-1105");
	assert_int_equal(sl->num_group_sids, 2);
	assert_string_equal(sl->group_sids[0], "S-1-5-21-1-2-3-513");
	assert_string_equal(sl->group_sids[1], "S-1-5-21-1-2-3-1107");
	check_protect_roundtrips(&p, actx, cli);
	p.ctx_free(actx);
	ntlm_client_free(cli);

	/* the DC's refusal and its sub-status reach the audit log */
	cli = ntlm_client_new("alice", "SAMDOM", "wrong", "WS1");
	assert_int_equal(run_exchange(&p, &actx, cli, -1), CERR_STATUS_LOGON_FAILURE);
	assert_int_equal(p.identity(actx)->sub_status, CERR_STATUS_WRONG_PASSWORD);
	p.ctx_free(actx);
	ntlm_client_free(cli);
	cli = ntlm_client_new("mallory", "SAMDOM", "Password1", "WS1");
	assert_int_equal(run_exchange(&p, &actx, cli, -1), CERR_STATUS_LOGON_FAILURE);
	assert_int_equal(p.identity(actx)->sub_status, CERR_STATUS_NO_SUCH_USER);
	p.ctx_free(actx);
	ntlm_client_free(cli);
	ntlm_provider_cleanup(&p);
}

static void test_refusals(void **state)
{
	(void)state;
	rpc_auth_provider_t p;
	make_acceptor(&p, false, false);
	rpc_auth_ctx_t *actx;

	/* wrong password */
	ntlm_client_t *cli = ntlm_client_new("alice", "CERTA", "wrong", "WS1");
	assert_int_equal(run_exchange(&p, &actx, cli, -1), CERR_STATUS_LOGON_FAILURE);
	/* the claimed identity is reported for the audit log, flagged failed, keyless */
	const rpc_identity_t *fid = p.identity(actx);
	assert_non_null(fid);
	assert_true(fid->failed);
	assert_string_equal(fid->user, "alice");
	assert_string_equal(fid->domain, "CERTA");
	assert_string_equal(fid->workstation, "WS1");
	assert_int_equal(fid->sub_status, CERR_STATUS_WRONG_PASSWORD);
	assert_int_equal(fid->session_key_len, 0);
	uint8_t pdu[PDU_LEN];
	make_pdu(pdu, 6);
	assert_int_equal(p.protect(actx, pdu, PDU_LEN, STUB_OFF, STUB_LEN, VERIFIER_OFF, true, false),
			 CERR_INVALID_ARG);
	p.ctx_free(actx);
	ntlm_client_free(cli);

	/* unknown user: same answer, the lookup was asked */
	g_lookups = 0;
	cli = ntlm_client_new("mallory", "CERTA", "Password1", "WS1");
	assert_int_equal(run_exchange(&p, &actx, cli, -1), CERR_STATUS_LOGON_FAILURE);
	assert_int_equal(g_lookups, 1);
	assert_int_equal(p.identity(actx)->sub_status, CERR_STATUS_NO_SUCH_USER);
	assert_string_equal(p.identity(actx)->user, "mallory");
	p.ctx_free(actx);
	ntlm_client_free(cli);

	/* case-insensitive user; any domain spelling the lookup accepts */
	cli = ntlm_client_new("ALICE", "certa", "Password1", NULL);
	assert_int_equal(run_exchange(&p, &actx, cli, -1), CERR_OK);
	p.ctx_free(actx);
	ntlm_client_free(cli);

	/* disabled account: refused after a correct proof */
	g_disabled = true;
	cli = ntlm_client_new("alice", "CERTA", "Password1", "WS1");
	assert_int_equal(run_exchange(&p, &actx, cli, -1), CERR_STATUS_ACCOUNT_DISABLED);
	assert_int_equal(p.identity(actx)->sub_status, CERR_STATUS_ACCOUNT_DISABLED);
	g_disabled = false;
	p.ctx_free(actx);
	ntlm_client_free(cli);

	/* anonymous refused by default */
	cli = ntlm_client_new(NULL, NULL, NULL, "WS1");
	assert_non_null(cli);
	assert_int_equal(run_exchange(&p, &actx, cli, -1), CERR_STATUS_LOGON_FAILURE);
	p.ctx_free(actx);
	ntlm_client_free(cli);

	/* AUTHENTICATE first, or garbage */
	assert_int_equal(p.ctx_new(p.data, &actx), CERR_OK);
	buf_t out;
	buf_init(&out, 0);
	cur_t c;
	cur_init(&c, (const uint8_t *)"NTLMSSP\0\3\0\0\0", 12);
	assert_int_equal(p.step(actx, &c, &out), CERR_SEC_E_INVALID_TOKEN);
	buf_free(&out);
	p.ctx_free(actx);
	ntlm_provider_cleanup(&p);
}

/* The MIC covers fields the NTLMv2 proof does not: the workstation name and the flags. */
static void test_mic(void **state)
{
	(void)state;
	rpc_auth_provider_t p;
	make_acceptor(&p, false, false);
	rpc_auth_ctx_t *actx;
	/* tamper the workstation (the last payload byte before LM is the
	 * workstation's last byte: find it by parsing a good message) */
	ntlm_client_t *cli = ntlm_client_new("alice", "CERTA", "Password1", "WS1");
	buf_t neg, chal, auth;
	buf_init(&neg, 0);
	buf_init(&chal, 0);
	buf_init(&auth, 0);
	assert_int_equal(p.ctx_new(p.data, &actx), CERR_OK);
	assert_int_equal(ntlm_client_negotiate(cli, &neg), CERR_OK);
	cur_t c;
	cur_init(&c, neg.data, neg.len);
	assert_int_equal(p.step(actx, &c, &chal), CERR_STATUS_MORE_PROCESSING_REQUIRED);
	cur_init(&c, chal.data, chal.len);
	assert_int_equal(ntlm_client_authenticate(cli, &c, &auth), CERR_OK);
	ntlm_authenticate_msg_t m;
	cur_init(&c, auth.data, auth.len);
	assert_int_equal(ntlm_parse_authenticate(&c, &m), CERR_OK);
	assert_true(m.has_mic_field);
	assert_true(m.has_version);
	size_t ws_off = (size_t)(cur_data(&m.workstation) - auth.data);
	auth.data[ws_off] ^= 0x20; /* "WS1" -> "wS1" */
	cur_init(&c, auth.data, auth.len);
	assert_int_equal(p.step(actx, &c, &chal), CERR_STATUS_LOGON_FAILURE);
	p.ctx_free(actx);
	ntlm_client_free(cli);
	buf_free(&neg);
	buf_free(&chal);
	buf_free(&auth);

	/* the NegotiateFlags field (offset 60) is outside the proof, inside the MIC */
	cli = ntlm_client_new("alice", "CERTA", "Password1", "WS1");
	assert_int_equal(run_exchange(&p, &actx, cli, 60), CERR_STATUS_LOGON_FAILURE);
	p.ctx_free(actx);
	ntlm_client_free(cli);
	/* the MIC itself */
	cli = ntlm_client_new("alice", "CERTA", "Password1", "WS1");
	assert_int_equal(run_exchange(&p, &actx, cli, NTLM_AUTH_MIC_OFFSET + 3), CERR_STATUS_LOGON_FAILURE);
	p.ctx_free(actx);
	ntlm_client_free(cli);
	ntlm_provider_cleanup(&p);
}

static void test_anonymous(void **state)
{
	(void)state;
	rpc_auth_provider_t p;
	make_acceptor(&p, false, true);
	rpc_auth_ctx_t *actx;
	ntlm_client_t *cli = ntlm_client_new("", "", "", "WS1");
	assert_int_equal(run_exchange(&p, &actx, cli, -1), CERR_OK);
	const rpc_identity_t *id = p.identity(actx);
	assert_non_null(id);
	assert_true(id->anonymous);
	assert_string_equal(id->user, "ANONYMOUS LOGON");
	assert_string_equal(id->domain, "NT AUTHORITY");
	/* sign/seal still work (keys from the zero KeyExchangeKey plus KEY_EXCH) */
	check_protect_roundtrips(&p, actx, cli);
	p.ctx_free(actx);
	ntlm_client_free(cli);
	ntlm_provider_cleanup(&p);
}

/* NTLMv1 (and NTLMv1 with ESS) built by hand: refused by default, accepted when allowed. */
static cerr_t v1_exchange(const rpc_auth_provider_t *p, bool ess, const char *password)
{
	rpc_auth_ctx_t *actx;
	buf_t neg, chal, auth;
	buf_init(&neg, 0);
	buf_init(&chal, 0);
	buf_init(&auth, 0);
	uint32_t flags = NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_NEGOTIATE_NTLM | NTLMSSP_NEGOTIATE_SIGN |
			 (ess ? NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY : 0);
	assert_int_equal(ntlm_encode_negotiate(&neg, flags, NULL), CERR_OK);
	assert_int_equal(p->ctx_new(p->data, &actx), CERR_OK);
	cur_t c;
	cur_init(&c, neg.data, neg.len);
	assert_int_equal(p->step(actx, &c, &chal), CERR_STATUS_MORE_PROCESSING_REQUIRED);
	ntlm_challenge_msg_t cm;
	cur_init(&c, chal.data, chal.len);
	assert_int_equal(ntlm_parse_challenge(&c, &cm), CERR_OK);
	assert_int_equal(cm.flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY,
			 ess ? NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY : 0);
	assert_false(cm.flags & NTLMSSP_NEGOTIATE_KEY_EXCH);
	uint8_t nt[16], ntresp[24], lm[24] = {0}, chl[16];
	assert_int_equal(ntlm_nt_hash(password, nt), CERR_OK);
	memcpy(chl, cm.server_challenge, 8);
	if (ess) {
		memcpy(lm, CLIENT_CHALLENGE, 8);
		ntlm_iov_t v[2] = {{cm.server_challenge, 8}, {CLIENT_CHALLENGE, 8}};
		assert_int_equal(ntlm_md5v(v, 2, chl), CERR_OK);
	}
	assert_int_equal(ntlm_desl(nt, chl, ntresp), CERR_OK);
	ntlm_authenticate_out_t am = {.flags = cm.flags,
				      .lm_response = lm,
				      .lm_response_len = 24,
				      .nt_response = ntresp,
				      .nt_response_len = 24,
				      .domain = "CERTA",
				      .user = "alice",
				      .workstation = "OLD"};
	size_t off;
	assert_int_equal(ntlm_encode_authenticate(&auth, &am, &off), CERR_OK);
	cur_init(&c, auth.data, auth.len);
	cerr_t e = p->step(actx, &c, &chal);
	if (e == CERR_OK) {
		/* without ESS there is no sign/seal; with it there is */
		uint8_t pdu[PDU_LEN];
		make_pdu(pdu, 5);
		assert_int_equal(p->protect(actx, pdu, PDU_LEN, STUB_OFF, STUB_LEN, VERIFIER_OFF, false, false),
				 ess ? CERR_OK : CERR_STATUS_NOT_SUPPORTED);
	}
	p->ctx_free(actx);
	buf_free(&neg);
	buf_free(&chal);
	buf_free(&auth);
	return e;
}

static void test_ntlmv1_policy(void **state)
{
	(void)state;
	rpc_auth_provider_t p;
	make_acceptor(&p, false, false);
	assert_int_equal(v1_exchange(&p, false, "Password1"), CERR_STATUS_LOGON_FAILURE);
	assert_int_equal(v1_exchange(&p, true, "Password1"), CERR_STATUS_LOGON_FAILURE);
	ntlm_provider_cleanup(&p);
	make_acceptor(&p, true, false);
	assert_int_equal(v1_exchange(&p, false, "Password1"), CERR_OK);
	assert_int_equal(v1_exchange(&p, true, "Password1"), CERR_OK);
	assert_int_equal(v1_exchange(&p, true, "nope"), CERR_STATUS_LOGON_FAILURE);
	ntlm_provider_cleanup(&p);
}

/* The initiator through the provider vtable, against the acceptor's vtable. */
static void test_initiator_provider(void **state)
{
	(void)state;
	rpc_auth_provider_t acc, ini;
	make_acceptor(&acc, false, false);
	uint8_t nt[16];
	assert_int_equal(ntlm_nt_hash("Password1", nt), CERR_OK);
	ntlm_initiator_config_t icfg = {.user = "alice", .domain = "CERTA", .nt_hash = nt, .workstation = "WS9"};
	assert_int_equal(ntlm_initiator_provider(&ini, &icfg), CERR_OK);
	rpc_auth_ctx_t *a, *i;
	assert_int_equal(acc.ctx_new(acc.data, &a), CERR_OK);
	assert_int_equal(ini.ctx_new(ini.data, &i), CERR_OK);
	buf_t t1, t2, t3;
	buf_init(&t1, 0);
	buf_init(&t2, 0);
	buf_init(&t3, 0);
	cur_t c;
	cur_init(&c, NULL, 0);
	assert_int_equal(ini.step(i, &c, &t1), CERR_STATUS_MORE_PROCESSING_REQUIRED);
	cur_init(&c, t1.data, t1.len);
	assert_int_equal(acc.step(a, &c, &t2), CERR_STATUS_MORE_PROCESSING_REQUIRED);
	cur_init(&c, t2.data, t2.len);
	assert_int_equal(ini.step(i, &c, &t3), CERR_OK);
	cur_init(&c, t3.data, t3.len);
	buf_reset(&t1);
	assert_int_equal(acc.step(a, &c, &t1), CERR_OK);
	assert_int_equal(t1.len, 0);
	assert_memory_equal(acc.identity(a)->session_key, ini.identity(i)->session_key, 16);
	uint8_t pdu[PDU_LEN], ref[PDU_LEN];
	make_pdu(pdu, 6);
	memcpy(ref, pdu, PDU_LEN);
	assert_int_equal(ini.protect(i, pdu, PDU_LEN, STUB_OFF, STUB_LEN, VERIFIER_OFF, true, true), CERR_OK);
	assert_int_equal(acc.unprotect(a, pdu, PDU_LEN, STUB_OFF, STUB_LEN, VERIFIER_OFF, true, true), CERR_OK);
	assert_memory_equal(pdu, ref, VERIFIER_OFF);
	buf_free(&t1);
	buf_free(&t2);
	buf_free(&t3);
	acc.ctx_free(a);
	ini.ctx_free(i);
	ntlm_provider_cleanup(&acc);
	ntlm_provider_cleanup(&ini);
	/* the plain client object behind the same vtable shape */
	const rpc_auth_provider_t *vt = ntlm_client_vtable();
	ntlm_client_t *cli = ntlm_client_new("alice", "CERTA", "Password1", NULL);
	buf_init(&t1, 0);
	cur_init(&c, NULL, 0);
	assert_int_equal(vt->step(ntlm_client_ctx(cli), &c, &t1), CERR_STATUS_MORE_PROCESSING_REQUIRED);
	assert_int_equal(vt->sig_len(ntlm_client_ctx(cli)), 16);
	buf_free(&t1);
	vt->ctx_free(ntlm_client_ctx(cli));
}

/* Every truncation and single-bit flip of a good AUTHENTICATE: no crash, never accepted. */
static void test_authenticate_sweep(void **state)
{
	(void)state;
	rpc_auth_provider_t p;
	make_acceptor(&p, false, false);
	log_level_t lvl = log_get_level();
	log_set_level(LOG_ERROR);
	ntlm_client_t *cli = ntlm_client_new("alice", "CERTA", "Password1", "WS1");
	buf_t neg, chal, auth, out;
	buf_init(&neg, 0);
	buf_init(&chal, 0);
	buf_init(&auth, 0);
	buf_init(&out, 0);
	assert_int_equal(ntlm_client_negotiate(cli, &neg), CERR_OK);
	rpc_auth_ctx_t *actx;
	assert_int_equal(p.ctx_new(p.data, &actx), CERR_OK);
	cur_t c;
	cur_init(&c, neg.data, neg.len);
	assert_int_equal(p.step(actx, &c, &chal), CERR_STATUS_MORE_PROCESSING_REQUIRED);
	cur_init(&c, chal.data, chal.len);
	assert_int_equal(ntlm_client_authenticate(cli, &c, &auth), CERR_OK);
	p.ctx_free(actx);
	/* Each try needs an acceptor that issued this exact CHALLENGE: replay by
	 * parsing the message only, and run the full acceptor for truncations. */
	for (size_t n = 0; n < auth.len; n++) {
		ntlm_authenticate_msg_t m;
		cur_init(&c, auth.data, n);
		(void)ntlm_parse_authenticate(&c, &m);
	}
	for (size_t i = 0; i < auth.len * 8; i++) {
		auth.data[i / 8] ^= (uint8_t)(1u << (i % 8));
		ntlm_authenticate_msg_t m;
		cur_init(&c, auth.data, auth.len);
		if (ntlm_parse_authenticate(&c, &m) == CERR_OK && cur_len(&m.nt_response) > 24) {
			ntlmv2_response_t r;
			ntlm_av_pairs_t av;
			if (ntlm_parse_ntlmv2_response(&m.nt_response, &r) == CERR_OK) {
				(void)ntlm_parse_av_pairs(&r.av_pairs, &av);
			}
		}
		auth.data[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	/* Through the acceptor: truncated AUTHENTICATEs after a fresh CHALLENGE. */
	for (size_t n = 0; n < auth.len; n += 7) {
		assert_int_equal(p.ctx_new(p.data, &actx), CERR_OK);
		buf_reset(&out);
		cur_init(&c, neg.data, neg.len);
		assert_int_equal(p.step(actx, &c, &out), CERR_STATUS_MORE_PROCESSING_REQUIRED);
		cur_init(&c, auth.data, n);
		assert_int_not_equal(p.step(actx, &c, &out), CERR_OK);
		p.ctx_free(actx);
	}
	log_set_level(lvl);
	buf_free(&neg);
	buf_free(&chal);
	buf_free(&auth);
	buf_free(&out);
	ntlm_client_free(cli);
	ntlm_provider_cleanup(&p);
}

static void test_parsers(void **state)
{
	(void)state;
	/* NEGOTIATE round trip */
	buf_t b;
	buf_init(&b, 0);
	ntlm_version_t v = {6, 1, 7601, 15};
	assert_int_equal(ntlm_encode_negotiate(&b, 0xe2088297, &v), CERR_OK);
	assert_int_equal(b.len, 40);
	ntlm_negotiate_msg_t nm;
	cur_t c;
	cur_init(&c, b.data, b.len);
	uint32_t type;
	assert_int_equal(ntlm_peek_type(&c, &type), CERR_OK);
	assert_int_equal(type, 1);
	assert_int_equal(ntlm_parse_negotiate(&c, &nm), CERR_OK);
	assert_int_equal(nm.flags, 0xe2088297);
	assert_true(nm.has_version);
	assert_int_equal(nm.version.build, 7601);
	/* the 16-byte legacy form */
	cur_init(&c, b.data, 16);
	assert_int_equal(ntlm_parse_negotiate(&c, &nm), CERR_OK);
	/* cut inside the security buffers */
	cur_init(&c, b.data, 20);
	assert_int_equal(ntlm_parse_negotiate(&c, &nm), CERR_SEC_E_INVALID_TOKEN);
	/* wrong type / signature */
	b.data[8] = 2;
	cur_init(&c, b.data, b.len);
	assert_int_equal(ntlm_parse_negotiate(&c, &nm), CERR_SEC_E_INVALID_TOKEN);
	b.data[0] = 'X';
	assert_int_equal(ntlm_peek_type(&c, &type), CERR_SEC_E_INVALID_TOKEN);

	/* CHALLENGE with a security buffer pointing past the end */
	buf_reset(&b);
	const uint8_t ti[] = {2, 0, 2, 0, 'A', 0, 0, 0, 0, 0};
	assert_int_equal(ntlm_encode_challenge(&b, 0x00800001, SERVER_CHALLENGE, "T", ti, sizeof(ti), NULL),
			 CERR_OK);
	ntlm_challenge_msg_t cm;
	cur_init(&c, b.data, b.len);
	assert_int_equal(ntlm_parse_challenge(&c, &cm), CERR_OK);
	assert_memory_equal(cm.server_challenge, SERVER_CHALLENGE, 8);
	assert_int_equal(cur_len(&cm.target_info), sizeof(ti));
	b.data[44] = 0xff; /* TargetInfo offset low byte */
	cur_init(&c, b.data, b.len);
	assert_int_equal(ntlm_parse_challenge(&c, &cm), CERR_SEC_E_INVALID_TOKEN);
	buf_free(&b);

	/* AV pairs: EOL required, duplicates and bad sizes refused */
	ntlm_av_pairs_t av;
	const uint8_t noeol[] = {1, 0, 2, 0, 'A', 0};
	cur_init(&c, noeol, sizeof(noeol));
	assert_int_equal(ntlm_parse_av_pairs(&c, &av), CERR_SEC_E_INVALID_TOKEN);
	const uint8_t dup[] = {1, 0, 2, 0, 'A', 0, 1, 0, 2, 0, 'B', 0, 0, 0, 0, 0};
	cur_init(&c, dup, sizeof(dup));
	assert_int_equal(ntlm_parse_av_pairs(&c, &av), CERR_SEC_E_INVALID_TOKEN);
	const uint8_t badflags[] = {6, 0, 2, 0, 2, 0, 0, 0, 0, 0};
	cur_init(&c, badflags, sizeof(badflags));
	assert_int_equal(ntlm_parse_av_pairs(&c, &av), CERR_SEC_E_INVALID_TOKEN);
	const uint8_t good[] = {6, 0, 4, 0, 2, 0, 0, 0, 0x99, 0, 1, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	cur_init(&c, good, sizeof(good));
	assert_int_equal(ntlm_parse_av_pairs(&c, &av), CERR_OK);
	assert_true(av.has_flags);
	assert_int_equal(av.flags, NTLM_AVF_MIC_PRESENT);
	assert_int_equal(av.n_pairs, 2); /* the unknown pair is counted and skipped */
}

/* ---- impacket's client against the acceptor ---- */

static const char *IMPACKET_SCRIPT =
	"import sys\n"
	"from impacket import ntlm\n"
	"from Cryptodome.Cipher import ARC4\n"
	"def pdu(stub, ptype):\n"
	"    hdr = bytes([5,0,ptype,3,0x10,0,0,0,80,0,16,0,2,0,0,0,32,0,0,0,0,0,0,0])\n"
	"    return hdr + stub + bytes([10,6,0,0,0x7f,0x35,1,0]) + bytes(16)\n"
	"m = sys.argv[1]\n"
	"if m == 'neg':\n"
	"    print(ntlm.getNTLMSSPType1('', '', signingRequired=True).getData().hex())\n"
	"elif m == 'auth':\n"
	"    t1 = ntlm.NTLMAuthNegotiate(); t1.fromString(bytes.fromhex(sys.argv[2]))\n"
	"    t3, key = ntlm.getNTLMSSPType3(t1, bytes.fromhex(sys.argv[3]), sys.argv[4], sys.argv[5], 'CERTA')\n"
	"    f = t3['flags']\n"
	"    print(t3.getData().hex()); print(key.hex()); print(f)\n"
	"    sk = ntlm.SIGNKEY(f, key); ek = ntlm.SEALKEY(f, key); h = ARC4.new(ek).encrypt\n"
	"    stub = bytes(range(32)); p = pdu(stub, 0)\n"
	"    sealed, sig = ntlm.SEAL(f, sk, ek, p[:-16], stub, 0, h)\n"
	"    print((p[:24] + sealed + p[56:64] + sig.getData()).hex())\n"
	"elif m == 'verify':\n"
	"    key = bytes.fromhex(sys.argv[2]); f = int(sys.argv[3]); p = bytes.fromhex(sys.argv[4])\n"
	"    sk = ntlm.SIGNKEY(f, key, 'Server'); ek = ntlm.SEALKEY(f, key, 'Server'); h = ARC4.new(ek).encrypt\n"
	"    plain = h(p[24:56]); msg = p[:24] + plain + p[56:64]\n"
	"    sig = ntlm.MAC(f, h, sk, 0, msg)\n"
	"    print('ok' if sig.getData() == p[64:] and plain == bytes(range(32)) else 'bad')\n";

/* Runs the script with args; returns the output (malloc'd) or NULL. */
static char *run_py(const char *script, const char *args)
{
	char cmd[8192];
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %s 2>/dev/null", script, args);
	FILE *f = popen(cmd, "r");
	if (!f) {
		return NULL;
	}
	char *buf = calloc(1, 16384);
	size_t n = fread(buf, 1, 16383, f);
	int rc = pclose(f);
	if (rc != 0 || n == 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static char *to_hex(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);
	for (size_t i = 0; i < n; i++) {
		sprintf(s + 2 * i, "%02x", p[i]);
	}
	s[2 * n] = 0;
	return s;
}

static size_t from_hex_line(const char *line, uint8_t *out, size_t max)
{
	size_t n = 0;
	while (line[2 * n] && line[2 * n] != '\n' && n < max) {
		unsigned v;
		assert_int_equal(sscanf(line + 2 * n, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
	}
	return n;
}

static void impacket_round(const rpc_auth_provider_t *p, const char *script, const char *user,
			   const char *password, cerr_t want)
{
	char *negs = run_py(script, "neg");
	assert_non_null(negs);
	uint8_t neg[512], auth[2048], pdu[PDU_LEN], key[16];
	size_t neg_len = from_hex_line(negs, neg, sizeof(neg));
	rpc_auth_ctx_t *actx;
	assert_int_equal(p->ctx_new(p->data, &actx), CERR_OK);
	buf_t chal;
	buf_init(&chal, 0);
	cur_t c;
	cur_init(&c, neg, neg_len);
	assert_int_equal(p->step(actx, &c, &chal), CERR_STATUS_MORE_PROCESSING_REQUIRED);
	char *chalhex = to_hex(chal.data, chal.len);
	char args[4096];
	snprintf(args, sizeof(args), "auth %s %s %s %s", strtok(negs, "\n"), chalhex, user, password);
	char *outs = run_py(script, args);
	assert_non_null(outs);
	char *l_auth = strtok(outs, "\n"), *l_key = strtok(NULL, "\n"), *l_flags = strtok(NULL, "\n"),
	     *l_pdu = strtok(NULL, "\n");
	assert_non_null(l_pdu);
	size_t auth_len = from_hex_line(l_auth, auth, sizeof(auth));
	from_hex_line(l_key, key, 16);
	from_hex_line(l_pdu, pdu, PDU_LEN);
	cur_init(&c, auth, auth_len);
	buf_reset(&chal);
	assert_int_equal(p->step(actx, &c, &chal), want);
	if (want == CERR_OK) {
		const rpc_identity_t *id = p->identity(actx);
		assert_string_equal(id->user, "Alice");
		assert_memory_equal(id->session_key, key, 16);
		/* impacket's sealed request opens */
		assert_int_equal(p->unprotect(actx, pdu, PDU_LEN, STUB_OFF, STUB_LEN, VERIFIER_OFF, true, false),
				 CERR_OK);
		for (int i = 0; i < STUB_LEN; i++) {
			assert_int_equal(pdu[STUB_OFF + i], i);
		}
		/* and impacket checks our sealed response */
		make_pdu(pdu, 6);
		pdu[2] = 2;
		assert_int_equal(p->protect(actx, pdu, PDU_LEN, STUB_OFF, STUB_LEN, VERIFIER_OFF, true, false),
				 CERR_OK);
		char *pduhex = to_hex(pdu, PDU_LEN);
		char *keyhex = to_hex(key, 16);
		snprintf(args, sizeof(args), "verify %s %s %s", keyhex, l_flags, pduhex);
		char *res = run_py(script, args);
		assert_non_null(res);
		assert_string_equal(res, "ok\n");
		free(res);
		free(pduhex);
		free(keyhex);
	}
	p->ctx_free(actx);
	buf_free(&chal);
	free(chalhex);
	free(outs);
	free(negs);
}

static void test_impacket(void **state)
{
	(void)state;
	if (access("/usr/bin/python3", X_OK) != 0) {
		skip();
	}
	char script[] = "/tmp/certa_ntlm_impacketXXXXXX";
	int fd = mkstemp(script);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, IMPACKET_SCRIPT, strlen(IMPACKET_SCRIPT)), (ssize_t)strlen(IMPACKET_SCRIPT));
	close(fd);
	char *probe = run_py(script, "neg");
	if (!probe) {
		unlink(script);
		skip(); /* no impacket here */
	}
	free(probe);
	rpc_auth_provider_t p;
	make_acceptor(&p, false, false);
	impacket_round(&p, script, "alice", "Password1", CERR_OK);
	impacket_round(&p, script, "alice", "wrong", CERR_STATUS_LOGON_FAILURE);
	ntlm_provider_cleanup(&p);
	unlink(script);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_vectors),
		cmocka_unit_test(test_v2_vectors),
		cmocka_unit_test(test_v2_seal_vector),
		cmocka_unit_test(test_parsers),
		cmocka_unit_test(test_e2e),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_passthrough),
		cmocka_unit_test(test_mic),
		cmocka_unit_test(test_anonymous),
		cmocka_unit_test(test_ntlmv1_policy),
		cmocka_unit_test(test_initiator_provider),
		cmocka_unit_test(test_authenticate_sweep),
		cmocka_unit_test(test_impacket),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
