/* test_client.c - the RPC client against a scripted in-process server on
 * 127.0.0.1: bind (accept, bind_nak, rejected context), request fragmentation
 * at the negotiated size, response reassembly, faults; and the ept_map stub codec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rpc/client.h"
#include "rpc/epm.h"
#include "rpc/ntlm.h"
#include "rpc/ntlm_crypto.h"
#include "rpc/server.h"
#include "rpc/iface.h"
#include "rpc/pdu.h"
#include "testutil.h"

enum scenario { SC_ECHO, SC_NAK, SC_REJECT, SC_FAULT, SC_FAULT_UNKNOWN };

typedef struct fake {
	int lfd;
	uint16_t port;
	enum scenario sc;
	uint16_t server_recv_frag; /* what the fake advertises */
	unsigned n_req_frags;      /* request fragments received */
	size_t max_req_frag;       /* largest request fragment seen */
	uint16_t opnum_seen;
	pthread_t th;
} fake_t;

static bool read_exact(int fd, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r <= 0) {
			return false;
		}
		p += r;
		n -= (size_t)r;
	}
	return true;
}

static uint8_t *read_pdu(int fd, arena_t *a, rpc_pdu_t *pdu)
{
	uint8_t hdr[16];
	uint16_t len;
	if (!read_exact(fd, hdr, 16) || rpc_pdu_peek_length(hdr, 16, &len) != CERR_OK) {
		return NULL;
	}
	uint8_t *raw = malloc(len);
	memcpy(raw, hdr, 16);
	if (!read_exact(fd, raw + 16, len - 16u) || rpc_pdu_decode(a, raw, len, pdu) != CERR_OK) {
		free(raw);
		return NULL;
	}
	return raw;
}

static void send_buf(int fd, buf_t *b)
{
	assert_true(buf_ok(b));
	assert_int_equal(write(fd, b->data, b->len), (ssize_t)b->len);
	buf_reset(b);
}

static void *fake_main(void *arg)
{
	fake_t *f = arg;
	int fd = accept(f->lfd, NULL, NULL);
	arena_t *a = arena_new();
	buf_t b;
	buf_init(&b, 0);
	rpc_pdu_t pdu;
	uint8_t *raw = read_pdu(fd, a, &pdu);
	if (!raw || pdu.hdr.ptype != RPC_PTYPE_BIND) {
		goto out;
	}
	rpc_hdr_t h;
	if (f->sc == SC_NAK) {
		rpc_pdu_init_hdr(&h, RPC_PTYPE_BIND_NAK, 3, pdu.hdr.call_id);
		rpc_pdu_encode_bind_nak(&b, &h, RPC_NAK_AUTHENTICATION_TYPE_NOT_RECOGNIZED);
		send_buf(fd, &b);
		free(raw);
		goto out;
	}
	rpc_ctx_result_elem_t res = {.result = RPC_CTX_ACCEPT, .transfer = {RPC_NDR20_UUID, 2}};
	if (f->sc == SC_REJECT) {
		res.result = RPC_CTX_PROVIDER_REJECT;
		res.reason = RPC_REASON_ABSTRACT_SYNTAX_NOT_SUPPORTED;
		memset(&res.transfer, 0, sizeof(res.transfer));
	}
	rpc_pdu_init_hdr(&h, RPC_PTYPE_BIND_ACK, 3, pdu.hdr.call_id);
	rpc_pdu_encode_bind_ack(&b, &h, f->server_recv_frag, f->server_recv_frag, 0x1234, "4444", &res, 1, NULL);
	send_buf(fd, &b);
	free(raw);
	if (f->sc == SC_REJECT) {
		goto out;
	}
	/* reassemble one request */
	buf_t stub;
	buf_init(&stub, 0);
	uint32_t call_id = 0;
	for (;;) {
		raw = read_pdu(fd, a, &pdu);
		if (!raw) {
			buf_free(&stub);
			goto out;
		}
		f->n_req_frags++;
		if (pdu.hdr.frag_length > f->max_req_frag) {
			f->max_req_frag = pdu.hdr.frag_length;
		}
		f->opnum_seen = pdu.u.request.opnum;
		call_id = pdu.hdr.call_id;
		buf_put_bytes(&stub, cur_data(&pdu.u.request.stub), cur_len(&pdu.u.request.stub));
		bool last = pdu.hdr.pfc_flags & RPC_PFC_LAST_FRAG;
		free(raw);
		if (last) {
			break;
		}
	}
	if (f->sc == SC_FAULT || f->sc == SC_FAULT_UNKNOWN) {
		rpc_pdu_init_hdr(&h, RPC_PTYPE_FAULT, 3, call_id);
		rpc_pdu_encode_fault(&b, &h, 0, f->sc == SC_FAULT ? 0x1C010002 : 0x0BADF00D);
		send_buf(fd, &b);
		buf_free(&stub);
		goto out;
	}
	/* echo it back in 1000-byte response fragments */
	size_t off = 0;
	do {
		size_t n = stub.len - off > 1000 ? 1000 : stub.len - off;
		uint8_t flags = (off == 0 ? RPC_PFC_FIRST_FRAG : 0) | (off + n == stub.len ? RPC_PFC_LAST_FRAG : 0);
		rpc_pdu_init_hdr(&h, RPC_PTYPE_RESPONSE, flags, call_id);
		rpc_pdu_encode_response_frag(&b, &h, (uint32_t)(stub.len - off), 0, stub.data + off, n, NULL, 0, NULL);
		send_buf(fd, &b);
		off += n;
	} while (off < stub.len);
	buf_free(&stub);
out:
	buf_free(&b);
	arena_free(a);
	close(fd);
	return NULL;
}

static void fake_start(fake_t *f, enum scenario sc)
{
	memset(f, 0, sizeof(*f));
	f->sc = sc;
	f->server_recv_frag = 2048;
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 1), 0);
	socklen_t sl = sizeof(sa);
	getsockname(f->lfd, (struct sockaddr *)&sa, &sl);
	f->port = ntohs(sa.sin_port);
	pthread_create(&f->th, NULL, fake_main, f);
}

static void fake_stop(fake_t *f)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
}

static const guid_t IFACE = {0x91ae6020, 0x9e3c, 0x11cf, {0x8d, 0x7c, 0x00, 0xaa, 0x00, 0xc0, 0x91, 0xbe}};

static void test_echo_fragmented(void **state)
{
	(void)state;
	fake_t f;
	fake_start(&f, SC_ECHO);
	rpc_client_t *c;
	rpc_client_config_t cfg = {.timeout_ms = 5000};
	assert_int_equal(rpc_client_connect(&c, "127.0.0.1", f.port, &cfg), CERR_OK);
	assert_int_equal(rpc_client_bind(c, &IFACE, 0, 0, NULL), CERR_OK);
	assert_int_equal(rpc_client_max_xmit_frag(c), 2048);
	size_t n = 10000;
	uint8_t *stub = malloc(n);
	for (size_t i = 0; i < n; i++) {
		stub[i] = (uint8_t)(i * 7);
	}
	uint8_t *out;
	size_t out_len;
	assert_int_equal(rpc_client_call(c, 5, NULL, stub, n, &out, &out_len), CERR_OK);
	assert_int_equal(out_len, n);
	assert_memory_equal(out, stub, n);
	free(out);
	free(stub);
	rpc_client_free(c);
	fake_stop(&f);
	assert_true(f.n_req_frags >= 5);
	assert_true(f.max_req_frag <= 2048);
	assert_int_equal(f.opnum_seen, 5);
}

static void test_empty_stub(void **state)
{
	(void)state;
	fake_t f;
	fake_start(&f, SC_ECHO);
	rpc_client_t *c;
	assert_int_equal(rpc_client_connect(&c, "127.0.0.1", f.port, NULL), CERR_OK);
	assert_int_equal(rpc_client_bind(c, &IFACE, 0, 0, NULL), CERR_OK);
	uint8_t *out;
	size_t out_len;
	assert_int_equal(rpc_client_call(c, 0, NULL, NULL, 0, &out, &out_len), CERR_OK);
	assert_int_equal(out_len, 0);
	free(out);
	rpc_client_free(c);
	fake_stop(&f);
	assert_int_equal(f.n_req_frags, 1);
}

static void test_bind_nak(void **state)
{
	(void)state;
	fake_t f;
	fake_start(&f, SC_NAK);
	rpc_client_t *c;
	assert_int_equal(rpc_client_connect(&c, "127.0.0.1", f.port, NULL), CERR_OK);
	assert_int_equal(rpc_client_bind(c, &IFACE, 0, 0, NULL), CERR_RPC_BIND_NAK);
	rpc_client_error_t err;
	rpc_client_last_error(c, &err);
	assert_true(err.nak);
	assert_int_equal(err.nak_reason, RPC_NAK_AUTHENTICATION_TYPE_NOT_RECOGNIZED);
	assert_non_null(strstr(err.detail, "authentication type not recognized"));
	rpc_client_free(c);
	fake_stop(&f);
}

static void test_ctx_rejected(void **state)
{
	(void)state;
	fake_t f;
	fake_start(&f, SC_REJECT);
	rpc_client_t *c;
	assert_int_equal(rpc_client_connect(&c, "127.0.0.1", f.port, NULL), CERR_OK);
	assert_int_equal(rpc_client_bind(c, &IFACE, 0, 0, NULL), CERR_RPC_CTX_REJECTED);
	rpc_client_error_t err;
	rpc_client_last_error(c, &err);
	assert_true(err.ctx_rejected);
	assert_int_equal(err.ctx_result, RPC_CTX_PROVIDER_REJECT);
	assert_int_equal(err.ctx_reason, RPC_REASON_ABSTRACT_SYNTAX_NOT_SUPPORTED);
	/* calls need a bind */
	uint8_t *out;
	size_t out_len;
	assert_int_equal(rpc_client_call(c, 0, NULL, NULL, 0, &out, &out_len), CERR_INVALID_ARG);
	rpc_client_free(c);
	fake_stop(&f);
}

static void test_fault(void **state)
{
	(void)state;
	for (int k = 0; k < 2; k++) {
		fake_t f;
		fake_start(&f, k == 0 ? SC_FAULT : SC_FAULT_UNKNOWN);
		rpc_client_t *c;
		assert_int_equal(rpc_client_connect(&c, "127.0.0.1", f.port, NULL), CERR_OK);
		assert_int_equal(rpc_client_bind(c, &IFACE, 0, 0, NULL), CERR_OK);
		uint8_t stub[8] = {0};
		uint8_t *out;
		size_t out_len;
		cerr_t e = rpc_client_call(c, 9, NULL, stub, sizeof(stub), &out, &out_len);
		rpc_client_error_t err;
		rpc_client_last_error(c, &err);
		if (k == 0) {
			assert_int_equal(e, CERR_NCA_S_OP_RNG_ERROR);
			assert_int_equal(err.fault_status, 0x1C010002);
		} else {
			assert_int_equal(e, CERR_RPC_FAULT);
			assert_int_equal(err.fault_status, 0x0BADF00D);
		}
		assert_null(out);
		rpc_client_free(c);
		fake_stop(&f);
	}
}

static void test_connect_refused(void **state)
{
	(void)state;
	/* a port nobody listens on: bind a socket, note its port, close it */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bind(s, (struct sockaddr *)&sa, sizeof(sa));
	socklen_t sl = sizeof(sa);
	getsockname(s, (struct sockaddr *)&sa, &sl);
	close(s);
	rpc_client_t *c;
	assert_int_equal(rpc_client_connect(&c, "127.0.0.1", ntohs(sa.sin_port), NULL), CERR_IO);
	assert_null(c);
	rpc_client_free(NULL);
}

/* ept_map response for ICPR at port 49667 on 10.0.0.5, as a Windows EPM answers. */
static void build_map_response(buf_t *b, uint16_t port, uint32_t status, bool with_tower)
{
	buf_set_base(b);
	buf_put_zeros(b, 20);
	buf_put_u32(b, with_tower ? 1 : 0);
	buf_put_u32(b, 4);
	buf_put_u32(b, 0);
	buf_put_u32(b, with_tower ? 1 : 0);
	if (with_tower) {
		buf_put_u32(b, 0x00020000);
		buf_t t;
		buf_init(&t, 0);
		buf_put_u16(&t, 5);
		buf_put_u16(&t, 19);
		buf_put_u8(&t, 0x0d);
		buf_put_guid(&t, &IFACE);
		buf_put_u16(&t, 0);
		buf_put_u16(&t, 2);
		buf_put_u16(&t, 0);
		buf_put_u16(&t, 19);
		buf_put_u8(&t, 0x0d);
		buf_put_guid(&t, &RPC_NDR20_UUID);
		buf_put_u16(&t, 2);
		buf_put_u16(&t, 2);
		buf_put_u16(&t, 0);
		buf_put_u16(&t, 1);
		buf_put_u8(&t, 0x0b);
		buf_put_u16(&t, 2);
		buf_put_u16(&t, 0);
		buf_put_u16(&t, 1);
		buf_put_u8(&t, 0x07);
		buf_put_u16(&t, 2);
		buf_put_u16be(&t, port);
		buf_put_u16(&t, 1);
		buf_put_u8(&t, 0x09);
		buf_put_u16(&t, 4);
		buf_put_u32be(&t, 0x0a000005);
		buf_put_u32(b, (uint32_t)t.len);
		buf_put_u32(b, (uint32_t)t.len);
		buf_put_bytes(b, t.data, t.len);
		buf_align(b, 4);
		buf_free(&t);
	}
	buf_put_u32(b, status);
}

static void test_epm_codec(void **state)
{
	(void)state;
	buf_t b;
	buf_init(&b, 0);
	assert_int_equal(rpc_client_epm_encode_map(&b, &IFACE, 0, 0), CERR_OK);
	/* object ptr + nil uuid (20) + tower ptr (4) + 2 counts (8) + 75-byte tower + pad (1)
	 * + handle (20) + max_towers (4) */
	assert_int_equal(b.len, 20 + 4 + 8 + 75 + 1 + 20 + 4);
	buf_reset(&b);

	uint16_t port;
	uint32_t status;
	build_map_response(&b, 49667, 0, true);
	assert_int_equal(rpc_client_epm_decode_map(b.data, b.len, &port, &status), CERR_OK);
	assert_int_equal(port, 49667);
	assert_int_equal(status, 0);
	/* every truncation fails cleanly */
	for (size_t n = 0; n < b.len; n++) {
		assert_int_not_equal(rpc_client_epm_decode_map(b.data, n, &port, &status), CERR_OK);
	}
	buf_reset(&b);
	build_map_response(&b, 0, 0x16c9a0d6, false);
	assert_int_equal(rpc_client_epm_decode_map(b.data, b.len, &port, &status), CERR_OK);
	assert_int_equal(status, 0x16c9a0d6);
	buf_free(&b);
}

/* ---- against the real runtime: endpoint mapper, NTLM at each level ---- */

static char seen_user[64];
static uint8_t seen_level;

static cerr_t echo_op(rpc_call_t *call)
{
	const rpc_identity_t *id = call->conn->identity;
	snprintf(seen_user, sizeof(seen_user), "%s\\%s", id && id->domain ? id->domain : "",
		 id && id->user ? id->user : "");
	seen_level = call->conn->auth_level;
	buf_put_bytes(call->out, cur_data(&call->in), cur_len(&call->in));
	return CERR_OK;
}

static const rpc_op_fn echo_ops[] = {echo_op};

static cerr_t lookup(void *arg, const char *domain, const char *user, ntlm_account_t *out)
{
	(void)arg;
	(void)domain;
	if (strcmp(user, "alice") != 0) {
		return CERR_STATUS_NO_SUCH_USER;
	}
	memset(out, 0, sizeof(*out));
	return ntlm_nt_hash("S3cret!", out->nt_hash);
}

typedef struct live {
	tu_server_t srv;
	uint16_t epm_port, dyn_port;
	rpc_iface_t echo, epm;
	rpc_endpoints_t eps;
	rpc_auth_provider_t ntlm;
} live_t;

static void live_start(live_t *l)
{
	memset(l, 0, sizeof(*l));
	rpc_server_config_t cfg = {.workers = 2};
	l->srv.s = rpc_server_new(&cfg);
	assert_non_null(l->srv.s);
	l->echo = (rpc_iface_t){.name = "echo", .uuid = IFACE, .ops = echo_ops, .n_ops = 1, .epm_register = true};
	rpc_endpoints_from_server(&l->eps, l->srv.s);
	epm_iface_init(&l->epm, &l->eps);
	ntlm_acceptor_config_t nc;
	ntlm_acceptor_config_init(&nc);
	nc.nb_domain = "CERTA";
	nc.nb_computer = "CA1";
	nc.lookup = lookup;
	assert_int_equal(ntlm_acceptor_provider(&l->ntlm, &nc), CERR_OK);
	assert_int_equal(rpc_server_add_iface(l->srv.s, &l->echo, RPC_LISTEN_DYNAMIC), CERR_OK);
	assert_int_equal(rpc_server_add_iface(l->srv.s, &l->epm, RPC_LISTEN_EPM), CERR_OK);
	assert_int_equal(rpc_server_add_auth(l->srv.s, &l->ntlm), CERR_OK);
	assert_int_equal(rpc_server_listen(l->srv.s, "127.0.0.1", 0, RPC_LISTEN_EPM, &l->epm_port), CERR_OK);
	assert_int_equal(rpc_server_listen(l->srv.s, "127.0.0.1", 0, RPC_LISTEN_DYNAMIC, &l->dyn_port), CERR_OK);
	tu_server_start(&l->srv);
}

static void live_stop(live_t *l)
{
	tu_server_stop(&l->srv);
	rpc_server_free(l->srv.s);
	ntlm_provider_cleanup(&l->ntlm);
}

static void test_live_epm_and_ntlm(void **state)
{
	(void)state;
	live_t l;
	live_start(&l);
	uint16_t port = 0;
	rpc_client_error_t err;
	assert_int_equal(rpc_client_ept_map("127.0.0.1", l.epm_port, &IFACE, 0, 0, NULL, &port, &err), CERR_OK);
	assert_int_equal(port, l.dyn_port);
	guid_t other = IFACE;
	other.d1 ^= 1;
	assert_int_equal(rpc_client_ept_map("127.0.0.1", l.epm_port, &other, 0, 0, NULL, &port, &err),
			 CERR_EPT_S_NOT_REGISTERED);

	size_t n = 20000;
	uint8_t *stub = malloc(n);
	for (size_t i = 0; i < n; i++) {
		stub[i] = (uint8_t)(i * 13 + 1);
	}
	const uint8_t levels[] = {RPC_AUTH_LEVEL_PKT_PRIVACY, RPC_AUTH_LEVEL_PKT_INTEGRITY, RPC_AUTH_LEVEL_CONNECT};
	for (size_t k = 0; k < sizeof(levels); k++) {
		rpc_client_t *c;
		assert_int_equal(rpc_client_connect(&c, "127.0.0.1", l.dyn_port, NULL), CERR_OK);
		rpc_client_auth_t auth = {.auth_type = RPC_AUTH_WINNT, .auth_level = levels[k], .user = "alice",
					  .domain = "CERTA", .password = "S3cret!"};
		assert_int_equal(rpc_client_bind(c, &IFACE, 0, 0, &auth), CERR_OK);
		for (int call = 0; call < 3; call++) { /* sequence numbers advance */
			uint8_t *out;
			size_t out_len;
			cerr_t e = rpc_client_call(c, 0, NULL, stub, n - (size_t)call * 7, &out, &out_len);
			if (e != CERR_OK) {
				rpc_client_last_error(c, &err);
				fail_msg("level %u call %d: %s", levels[k], call, err.detail);
			}
			assert_int_equal(out_len, n - (size_t)call * 7);
			assert_memory_equal(out, stub, out_len);
			free(out);
		}
		assert_string_equal(seen_user, "CA1\\alice"); /* local accounts are named by computer */
		assert_int_equal(seen_level, levels[k]);
		rpc_client_free(c);
	}

	/* a wrong password: the call is refused, never answered */
	rpc_client_t *c;
	assert_int_equal(rpc_client_connect(&c, "127.0.0.1", l.dyn_port, NULL), CERR_OK);
	rpc_client_auth_t bad = {.auth_type = RPC_AUTH_WINNT, .auth_level = RPC_AUTH_LEVEL_PKT_PRIVACY,
				 .user = "alice", .domain = "CERTA", .password = "wrong"};
	cerr_t e = rpc_client_bind(c, &IFACE, 0, 0, &bad);
	if (e == CERR_OK) {
		uint8_t *out;
		size_t out_len;
		e = rpc_client_call(c, 0, NULL, stub, 10, &out, &out_len);
	}
	assert_int_not_equal(e, CERR_OK);
	rpc_client_free(c);
	free(stub);
	live_stop(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_fragmented), cmocka_unit_test(test_empty_stub),
		cmocka_unit_test(test_bind_nak),        cmocka_unit_test(test_ctx_rejected),
		cmocka_unit_test(test_fault),           cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_epm_codec),       cmocka_unit_test(test_live_epm_and_ntlm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
