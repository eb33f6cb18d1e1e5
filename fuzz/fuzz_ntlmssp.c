/*
 * fuzz_ntlmssp.c - libFuzzer target for the NTLMSSP parsers and the state
 * machines above them (src/rpc/ntlm_msg.c, ntlm.c). The first byte picks the
 * path; the rest is the token: NEGOTIATE/CHALLENGE/AUTHENTICATE parsers with
 * AV pairs and the NTLMv2 blob, the acceptor fed a NEGOTIATE then the input
 * as AUTHENTICATE (policy bits from the selector), the acceptor fed the input
 * as NEGOTIATE, and the initiator fed the input as CHALLENGE followed by an
 * unprotect of its tail with offsets taken from the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/ntlm.h"
#include "rpc/ntlm_msg.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const uint8_t NEG[40] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0, 1, 0, 0, 0,
				0x97, 0x82, 0x08, 0xe2, 0, 0, 0, 0, 40, 0, 0, 0,
				0, 0, 0, 0, 40, 0, 0, 0, 10, 0, 0x5c, 0x4f, 0, 0, 0, 15};

static cerr_t lookup(void *arg, const char *domain, const char *user, ntlm_account_t *out)
{
	(void)arg;
	(void)domain;
	if (user[0] == 'x') {
		return CERR_STATUS_NO_SUCH_USER;
	}
	memset(out, 0, sizeof(*out));
	memset(out->nt_hash, 0x11, 16);
	out->disabled = user[0] == 'd';
	return CERR_OK;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);
	return 0;
}

static void parse_all(const cur_t *c, uint8_t sel)
{
	switch (sel % 3) {
	case 0: {
		ntlm_negotiate_msg_t m;
		(void)ntlm_parse_negotiate(c, &m);
		break;
	}
	case 1: {
		ntlm_challenge_msg_t m;
		ntlm_av_pairs_t av;
		if (ntlm_parse_challenge(c, &m) == CERR_OK) {
			(void)ntlm_parse_av_pairs(&m.target_info, &av);
		}
		break;
	}
	default: {
		ntlm_authenticate_msg_t m;
		ntlmv2_response_t r;
		ntlm_av_pairs_t av;
		if (ntlm_parse_authenticate(c, &m) == CERR_OK && ntlm_parse_ntlmv2_response(&m.nt_response, &r) == CERR_OK) {
			(void)ntlm_parse_av_pairs(&r.av_pairs, &av);
		}
		break;
	}
	}
}

static void run_acceptor(const cur_t *c, uint8_t sel, bool as_negotiate)
{
	rpc_auth_provider_t p;
	ntlm_acceptor_config_t cfg;
	ntlm_acceptor_config_init(&cfg);
	cfg.nb_domain = "FUZZ";
	cfg.nb_computer = "CA1";
	cfg.dns_domain = "fuzz.test";
	cfg.allow_ntlmv1 = sel & 0x10;
	cfg.allow_anonymous = sel & 0x20;
	cfg.domain_joined = sel & 0x40;
	cfg.lookup = lookup;
	if (ntlm_acceptor_provider(&p, &cfg) != CERR_OK) {
		abort();
	}
	rpc_auth_ctx_t *ctx;
	if (p.ctx_new(p.data, &ctx) != CERR_OK) {
		abort();
	}
	buf_t out;
	buf_init(&out, 0);
	cur_t neg;
	cur_init(&neg, NEG, sizeof(NEG));
	cerr_t e = p.step(ctx, as_negotiate ? c : &neg, &out);
	if (!as_negotiate) {
		if (e != CERR_STATUS_MORE_PROCESSING_REQUIRED) {
			abort();
		}
		e = p.step(ctx, c, &out);
		/* With random bytes only the anonymous logon can succeed. */
		if (e == CERR_OK && !(cfg.allow_anonymous && p.identity(ctx)->anonymous)) {
			abort();
		}
	}
	buf_free(&out);
	p.ctx_free(ctx);
	ntlm_provider_cleanup(&p);
}

static void run_client(const cur_t *c)
{
	ntlm_client_t *cli = ntlm_client_new("user", "DOM", "pw", "WS");
	if (!cli) {
		abort();
	}
	buf_t out;
	buf_init(&out, 0);
	if (ntlm_client_negotiate(cli, &out) != CERR_OK) {
		abort();
	}
	buf_reset(&out);
	if (ntlm_client_authenticate(cli, c, &out) == CERR_OK && cur_len(c) >= 8) {
		/* Unprotect a copy of the token with layout offsets from its first bytes. */
		uint8_t *pdu = malloc(cur_len(c));
		memcpy(pdu, cur_data(c), cur_len(c));
		size_t n = cur_len(c);
		size_t stub_off = pdu[0] % n, stub_len = pdu[1] % n, ver_off = (size_t)(pdu[2] | pdu[3] << 8) % n;
		(void)ntlm_client_unprotect(cli, pdu, n, stub_off, stub_len, ver_off, pdu[4] & 1, false);
		(void)ntlm_client_protect(cli, pdu, n, stub_off, stub_len, ver_off, pdu[4] & 2, false);
		free(pdu);
	}
	buf_free(&out);
	ntlm_client_free(cli);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1) {
		return 0;
	}
	uint8_t sel = data[0];
	cur_t c;
	cur_init(&c, data + 1, size - 1);
	switch (sel % 4) {
	case 0:
		parse_all(&c, (uint8_t)(sel >> 2));
		break;
	case 1:
		run_acceptor(&c, sel, false);
		break;
	case 2:
		run_acceptor(&c, sel, true);
		break;
	default:
		run_client(&c);
		break;
	}
	return 0;
}
