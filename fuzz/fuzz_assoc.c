/* fuzz_assoc.c - libFuzzer target for the association state machine
 * (rpc/assoc.c): the input is a sequence of PDUs, each prefixed by a
 * little-endian u16 length, fed in order to one association as the event
 * loop would; ready calls run an echo handler. frag_length is patched to the
 * record length so the fuzzer explores the state machine rather than the
 * framing (fuzz_pdu covers that). A permissive fake security provider makes
 * the auth legs and protected requests reachable. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/assoc.h"
#include "rpc/pdu.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cerr_t op_echo(rpc_call_t *c)
{
	if (cur_len(&c->in)) {
		buf_put_bytes(c->out, cur_data(&c->in), cur_len(&c->in));
	}
	return CERR_OK;
}

static cerr_t op_fail(rpc_call_t *c) { return CERR_MALFORMED; }

static const rpc_op_fn ops[] = {op_echo, op_fail};
static const rpc_iface_t iface = {
	.name = "Fuzz",
	.uuid = {0x12345678, 0x1234, 0xabcd, {0xef, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab}},
	.vers_major = 1,
	.ops = ops,
	.n_ops = 2,
};

struct rpc_auth_ctx {
	int legs;
	rpc_identity_t id;
};

static cerr_t f_new(void *d, rpc_auth_ctx_t **out)
{
	*out = calloc(1, sizeof(**out));
	if (!*out) {
		return CERR_NOMEM;
	}
	(*out)->id.user = "fuzz";
	return CERR_OK;
}

/* first byte of the token picks the outcome: 'M' more, 'O' done, else failure */
static cerr_t f_step(rpc_auth_ctx_t *c, const cur_t *in, buf_t *out)
{
	cur_t t = *in;
	uint8_t k = 0;
	(void)cur_get_u8(&t, &k);
	c->legs++;
	if (k == 'M') {
		buf_put_bytes(out, "CHALLENGE", 9);
		return CERR_STATUS_MORE_PROCESSING_REQUIRED;
	}
	if (k == 'O') {
		if (cur_len(&t) > 0) {
			buf_put_bytes(out, cur_data(&t), cur_len(&t) > 32 ? 32 : cur_len(&t));
		}
		return CERR_OK;
	}
	return CERR_STATUS_LOGON_FAILURE;
}

static const rpc_identity_t *f_identity(rpc_auth_ctx_t *c) { return &c->id; }
static size_t f_sig_len(rpc_auth_ctx_t *c) { return 16; }

static cerr_t f_protect(rpc_auth_ctx_t *c, uint8_t *pdu, size_t len, size_t so, size_t sl, size_t vo, bool seal,
			bool hs)
{
	if (so + sl > len || vo + 16 > len) {
		abort(); /* the runtime must hand providers a consistent layout */
	}
	for (size_t i = so; seal && i < so + sl; i++) {
		pdu[i] ^= 0x5a;
	}
	memset(pdu + vo, 0x11, 16);
	return CERR_OK;
}

/* a verifier starting 0xFF is "altered"; so is one shorter than sig_len,
 * which the runtime may hand over since Kerberos verifiers vary in length
 * (the provider judges it, as ntlm.c's pdu_apply does) */
static cerr_t f_unprotect(rpc_auth_ctx_t *c, uint8_t *pdu, size_t len, size_t so, size_t sl, size_t vo,
			  bool seal, bool hs)
{
	if (so + sl > len || vo > len || vo < so + sl) {
		abort();
	}
	if (len - vo < 16 || pdu[vo] == 0xff) {
		return CERR_SEC_E_MESSAGE_ALTERED;
	}
	for (size_t i = so; seal && i < so + sl; i++) {
		pdu[i] ^= 0x5a;
	}
	return CERR_OK;
}

static void f_free(rpc_auth_ctx_t *c) { free(c); }

static const rpc_auth_provider_t prov = {
	.auth_type = 10,
	.name = "Fuzz",
	.ctx_new = f_new,
	.step = f_step,
	.identity = f_identity,
	.sig_len = f_sig_len,
	.protect = f_protect,
	.unprotect = f_unprotect,
	.ctx_free = f_free,
};

static cerr_t on_auth(void *arg, const rpc_conn_info_t *c, cerr_t st, void **out_principal)
{
	(void)arg;
	/* a heap principal, so a leak or a double free shows under ASan */
	if (out_principal) {
		*out_principal = malloc(1);
	}
	/* refuse some, to reach the refusal paths */
	return st == CERR_OK && c->peer_port % 2 ? CERR_STATUS_ACCESS_DENIED : CERR_OK;
}

static void principal_free(void *arg, void *principal)
{
	(void)arg;
	free(principal);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static assoc_registry_t *reg;
	if (!reg) {
		log_set_level(LOG_ERROR);
		rpc_server_config_t cfg = {.max_stub = 64 * 1024, .workers = 1};
		reg = assoc_registry_new(&cfg);
		assoc_registry_add_iface(reg, &iface, RPC_LISTEN_DYNAMIC);
		assoc_registry_add_auth(reg, &prov);
		rpc_server_hooks_t h = {.on_auth = on_auth, .principal_free = principal_free};
		assoc_registry_set_hooks(reg, &h);
	}
	cur_t in;
	cur_init(&in, data, size);
	uint8_t first = 0;
	(void)cur_get_u8(&in, &first);
	rpc_conn_info_t info = {.peer_addr = "192.0.2.1", .peer_port = first, .local_addr = "192.0.2.2",
				.local_port = 49152};
	assoc_t *a = assoc_new(reg, RPC_LISTEN_DYNAMIC, &info);
	buf_t out;
	buf_init(&out, 0);
	uint8_t *pdu = malloc(65536);
	uint16_t n;
	while (a && pdu && cur_get_u16le(&in, &n)) {
		size_t len = n < cur_len(&in) ? n : cur_len(&in);
		(void)cur_copy(&in, pdu, len);
		if (len >= 10) {
			pdu[8] = (uint8_t)(len & 0xff); /* frag_length, little-endian drep */
			pdu[9] = (uint8_t)(len >> 8);
		}
		buf_reset(&out);
		assoc_call_t *call = NULL;
		cerr_t e = assoc_input(a, pdu, len, &out, &call);
		if (call) {
			e = assoc_execute_call(a, call, &out);
		}
		if (e != CERR_OK) {
			break;
		}
	}
	free(pdu);
	buf_free(&out);
	assoc_free(a);
	return 0;
}
