/* test_server.c - the RPC server runtime over real loopback sockets: a server
 * thread with a test interface, driven by the project's RPC client and by raw
 * sockets: calls and fragmentation, pipelined requests, workers running
 * calls in parallel, garbage, max_connections, idle timeout, many idle
 * connections, endpoint listing, and stop from a signal handler. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rpc/client.h"
#include "rpc/ntlm.h"
#include "rpc/ntlm_crypto.h"
#include "rpc/pdu.h"
#include "rpc/server.h"
#include "util/log.h"
#include "testutil.h"

static const guid_t TEST_UUID = {0x12345678, 0x1234, 0xabcd, {0xef, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab}};

static char seen_local[64];

static cerr_t op_echo(rpc_call_t *c)
{
	snprintf(seen_local, sizeof(seen_local), "%s", c->conn->local_addr);
	if (cur_len(&c->in)) {
		buf_put_bytes(c->out, cur_data(&c->in), cur_len(&c->in));
	}
	return CERR_OK;
}

static cerr_t op_sleep(rpc_call_t *c)
{
	struct timespec ts = {0, 300 * 1000 * 1000};
	nanosleep(&ts, NULL);
	buf_put_u32(c->out, 1);
	return CERR_OK;
}

static cerr_t op_fault(rpc_call_t *c) { return CERR_NCA_S_UNSUPPORTED_TYPE; }

static const rpc_op_fn ops[] = {op_echo, op_sleep, op_fault};
static const rpc_iface_t test_iface = {
	.name = "Test",
	.uuid = {0x12345678, 0x1234, 0xabcd, {0xef, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab}},
	.vers_major = 1,
	.ops = ops,
	.n_ops = 3,
};

/* a server on its thread, with the dynamic port srv_start listened on */
typedef struct srv {
	tu_server_t run;
	uint16_t port;
} srv_t;

static srv_t *srv_start(const rpc_server_config_t *cfg, const char *addr)
{
	srv_t *v = calloc(1, sizeof(*v));
	v->run.s = rpc_server_new(cfg);
	assert_non_null(v->run.s);
	assert_int_equal(rpc_server_add_iface(v->run.s, &test_iface, RPC_LISTEN_DYNAMIC), CERR_OK);
	assert_int_equal(rpc_server_listen(v->run.s, addr, 0, RPC_LISTEN_DYNAMIC, &v->port), CERR_OK);
	assert_int_not_equal(v->port, 0);
	tu_server_start(&v->run);
	return v;
}

static void srv_stop(srv_t *v)
{
	assert_int_equal(tu_server_stop(&v->run), CERR_OK);
	rpc_server_free(v->run.s);
	free(v);
}

static int dial(const char *addr, uint16_t port)
{
	int fd;
	if (strchr(addr, ':')) {
		struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
		inet_pton(AF_INET6, addr, &sa.sin6_addr);
		fd = socket(AF_INET6, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			close(fd);
			return -1;
		}
	} else {
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
		inet_pton(AF_INET, addr, &sa.sin_addr);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

static void send_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		assert_true(w > 0);
		p += w;
		n -= (size_t)w;
	}
}

/* recv_pdu reads one PDU (blocking, 5 s). Returns its length, 0 on EOF. */
static size_t recv_pdu(int fd, uint8_t *buf, size_t cap)
{
	size_t have = 0, need = 16;
	while (have < need) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 5000) != 1) {
			fail_msg("timeout waiting for a PDU");
		}
		ssize_t r = recv(fd, buf + have, need - have, 0);
		if (r <= 0) {
			return 0;
		}
		have += (size_t)r;
		if (have == 16 && need == 16) {
			uint16_t fl;
			assert_int_equal(rpc_pdu_peek_length(buf, have, &fl), CERR_OK);
			assert_true(fl <= cap);
			need = fl;
		}
	}
	return have;
}

/* closed_by_peer waits up to ms for EOF */
static bool closed_by_peer(int fd, int ms)
{
	uint8_t b[256];
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, ms) != 1) {
			return false;
		}
		ssize_t r = recv(fd, b, sizeof(b), 0);
		if (r <= 0) {
			return true;
		}
	}
}

static void raw_bind(int fd)
{
	buf_t b;
	buf_init(&b, 0);
	rpc_syntax_t t = {.uuid = RPC_NDR20_UUID, .version = RPC_NDR20_VERSION};
	rpc_ctx_elem_t ce = {.ctx_id = 0, .abstract = {TEST_UUID, 1}, .n_transfer = 1, .transfer = &t};
	rpc_hdr_t h;
	rpc_pdu_init_hdr(&h, RPC_PTYPE_BIND, 3, 1);
	assert_int_equal(rpc_pdu_encode_bind(&b, &h, 5840, 5840, 0, &ce, 1, NULL), CERR_OK);
	send_all(fd, b.data, b.len);
	uint8_t in[1024];
	size_t n = recv_pdu(fd, in, sizeof(in));
	assert_true(n > 0);
	assert_int_equal(in[2], RPC_PTYPE_BIND_ACK);
	buf_free(&b);
}

static void put_request(buf_t *b, uint32_t call_id, uint16_t opnum, const void *stub, size_t n)
{
	rpc_hdr_t h;
	rpc_pdu_init_hdr(&h, RPC_PTYPE_REQUEST, 3, call_id);
	assert_int_equal(rpc_pdu_encode_request_frag(b, &h, (uint32_t)n, 0, opnum, NULL, stub, n, NULL, 0, NULL),
			 CERR_OK);
}

/* ------------------------------------------------------------------ */

static void test_calls_via_client(void **state)
{
	rpc_server_config_t cfg = {.workers = 2};
	srv_t *v = srv_start(&cfg, "127.0.0.1");
	rpc_client_t *c = NULL;
	assert_int_equal(rpc_client_connect(&c, "127.0.0.1", v->port, NULL), CERR_OK);
	assert_int_equal(rpc_client_bind(c, &TEST_UUID, 1, 0, NULL), CERR_OK);
	uint8_t *out = NULL;
	size_t out_len = 0;
	assert_int_equal(rpc_client_call(c, 0, NULL, (const uint8_t *)"hello", 5, &out, &out_len), CERR_OK);
	assert_int_equal(out_len, 5);
	assert_memory_equal(out, "hello", 5);
	free(out);
	assert_string_equal(seen_local, "127.0.0.1");

	/* 100 KB each way: fragmented in both directions */
	size_t big_len = 100000;
	uint8_t *big = malloc(big_len);
	for (size_t i = 0; i < big_len; i++) {
		big[i] = (uint8_t)(i * 31 + 7);
	}
	assert_int_equal(rpc_client_call(c, 0, NULL, big, big_len, &out, &out_len), CERR_OK);
	assert_int_equal(out_len, big_len);
	assert_memory_equal(out, big, big_len);
	free(out);
	free(big);

	/* a fault from the handler */
	assert_int_equal(rpc_client_call(c, 2, NULL, (const uint8_t *)"x", 1, &out, &out_len),
			 CERR_NCA_S_UNSUPPORTED_TYPE);
	/* and an unknown opnum */
	assert_int_equal(rpc_client_call(c, 7, NULL, (const uint8_t *)"x", 1, &out, &out_len),
			 CERR_NCA_S_OP_RNG_ERROR);
	/* the connection is still usable */
	assert_int_equal(rpc_client_call(c, 0, NULL, (const uint8_t *)"again", 5, &out, &out_len), CERR_OK);
	free(out);
	rpc_client_free(c);

	/* an unknown interface is a rejected context */
	assert_int_equal(rpc_client_connect(&c, "127.0.0.1", v->port, NULL), CERR_OK);
	static const guid_t other = {0x1, 0x2, 0x3, {4, 5, 6, 7, 8, 9, 10, 11}};
	assert_int_not_equal(rpc_client_bind(c, &other, 1, 0, NULL), CERR_OK);
	rpc_client_error_t err;
	rpc_client_last_error(c, &err);
	assert_true(err.ctx_rejected);
	assert_int_equal(err.ctx_result, RPC_CTX_PROVIDER_REJECT);
	assert_int_equal(err.ctx_reason, RPC_REASON_ABSTRACT_SYNTAX_NOT_SUPPORTED);
	rpc_client_free(c);
	srv_stop(v);
}

static void test_pipelined_and_parallel(void **state)
{
	rpc_server_config_t cfg = {.workers = 2};
	srv_t *v = srv_start(&cfg, "127.0.0.1");
	int fd = dial("127.0.0.1", v->port);
	assert_true(fd >= 0);
	raw_bind(fd);
	/* three requests in one write: three responses, in order */
	buf_t b;
	buf_init(&b, 0);
	put_request(&b, 10, 0, "one", 3);
	put_request(&b, 11, 0, "two", 3);
	put_request(&b, 12, 0, "three", 5);
	send_all(fd, b.data, b.len);
	uint8_t in[8192];
	for (uint32_t id = 10; id <= 12; id++) {
		size_t n = recv_pdu(fd, in, sizeof(in));
		assert_true(n > 0);
		assert_int_equal(in[2], RPC_PTYPE_RESPONSE);
		uint32_t got;
		memcpy(&got, in + 12, 4);
		assert_int_equal(got, id);
	}

	/* two slow calls on two connections run at the same time */
	int fd2 = dial("127.0.0.1", v->port);
	raw_bind(fd2);
	buf_reset(&b);
	put_request(&b, 20, 1, "", 0);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	send_all(fd, b.data, b.len);
	send_all(fd2, b.data, b.len);
	assert_true(recv_pdu(fd, in, sizeof(in)) > 0);
	assert_true(recv_pdu(fd2, in, sizeof(in)) > 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(el < 0.55); /* two 300 ms calls in parallel, not 600 ms in series */

	/* a slow call on one connection does not hold up another */
	buf_t q;
	buf_init(&q, 0);
	put_request(&q, 21, 0, "quick", 5);
	send_all(fd, b.data, b.len); /* slow on fd */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	send_all(fd2, q.data, q.len);
	assert_true(recv_pdu(fd2, in, sizeof(in)) > 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(el < 0.25);
	assert_true(recv_pdu(fd, in, sizeof(in)) > 0);

	/* the client disconnects while its call runs: no crash, no leak */
	send_all(fd, b.data, b.len);
	close(fd);
	struct timespec ts = {0, 400 * 1000 * 1000};
	nanosleep(&ts, NULL);
	close(fd2);
	buf_free(&b);
	buf_free(&q);
	srv_stop(v);
}

static void test_garbage_and_limits(void **state)
{
	rpc_server_config_t cfg = {.workers = 1, .max_connections = 4};
	srv_t *v = srv_start(&cfg, "127.0.0.1");
	/* not DCE/RPC at all */
	int fd = dial("127.0.0.1", v->port);
	const char *http = "GET / HTTP/1.0\r\n\r\n";
	send_all(fd, (const uint8_t *)http, strlen(http));
	assert_true(closed_by_peer(fd, 2000));
	close(fd);
	/* a request before bind: fault, then close */
	fd = dial("127.0.0.1", v->port);
	buf_t b;
	buf_init(&b, 0);
	put_request(&b, 1, 0, "x", 1);
	send_all(fd, b.data, b.len);
	uint8_t in[1024];
	assert_true(recv_pdu(fd, in, sizeof(in)) > 0);
	assert_int_equal(in[2], RPC_PTYPE_FAULT);
	assert_true(closed_by_peer(fd, 2000));
	close(fd);
	/* a header announcing 64 KiB, then silence and EOF */
	fd = dial("127.0.0.1", v->port);
	uint8_t hdr[16] = {5, 0, 0, 3, 0x10, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0};
	send_all(fd, hdr, sizeof(hdr));
	shutdown(fd, SHUT_WR);
	assert_true(closed_by_peer(fd, 2000));
	close(fd);

	/* a request header announcing 60000 bytes: refused from the header alone */
	fd = dial("127.0.0.1", v->port);
	raw_bind(fd);
	uint8_t bigreq[16] = {5, 0, 0, 3, 0x10, 0, 0, 0, 0x60, 0xea, 0, 0, 9, 0, 0, 0};
	send_all(fd, bigreq, sizeof(bigreq));
	assert_true(recv_pdu(fd, in, sizeof(in)) > 0);
	assert_int_equal(in[2], RPC_PTYPE_FAULT);
	assert_int_equal(in[12], 9); /* call_id */
	assert_true(closed_by_peer(fd, 2000));
	close(fd);

	/* max_connections: the fifth is closed at once */
	int fds[5];
	for (int i = 0; i < 4; i++) {
		fds[i] = dial("127.0.0.1", v->port);
		raw_bind(fds[i]); /* proves each is being served */
	}
	fds[4] = dial("127.0.0.1", v->port);
	assert_true(closed_by_peer(fds[4], 2000));
	for (int i = 0; i < 5; i++) {
		close(fds[i]);
	}
	buf_free(&b);
	srv_stop(v);
}

static void test_idle_timeout_and_many(void **state)
{
	rpc_server_config_t cfg = {.workers = 1, .idle_timeout_s = 1};
	srv_t *v = srv_start(&cfg, "127.0.0.1");
	int fd = dial("127.0.0.1", v->port);
	raw_bind(fd);
	assert_true(closed_by_peer(fd, 4000));
	close(fd);
	srv_stop(v);

	/* many idle connections, then a stop that frees them all (ASan) */
	rpc_server_config_t cfg2 = {.workers = 1, .max_connections = 2000};
	v = srv_start(&cfg2, "127.0.0.1");
	enum { N = 400 };
	static int many[N];
	for (int i = 0; i < N; i++) {
		many[i] = dial("127.0.0.1", v->port);
		assert_true(many[i] >= 0);
	}
	/* half of them send half a header, to hold a read buffer */
	for (int i = 0; i < N; i += 2) {
		uint8_t half[8] = {5, 0, 11, 3, 0x10, 0, 0, 0};
		send_all(many[i], half, sizeof(half));
	}
	int fd2 = dial("127.0.0.1", v->port);
	raw_bind(fd2); /* the server still answers */
	close(fd2);
	srv_stop(v);
	for (int i = 0; i < N; i++) {
		close(many[i]);
	}
}

struct seen_eps {
	int n;
	uint16_t port;
};

static void count_endpoints(void *arg, const rpc_iface_t *iface, enum rpc_listen_role role, uint16_t p)
{
	struct seen_eps *seen = arg;
	assert_ptr_equal(iface, &test_iface);
	assert_int_equal(role, RPC_LISTEN_DYNAMIC);
	seen->n++;
	seen->port = p;
}

static void test_ipv6_and_endpoints(void **state)
{
	rpc_server_config_t cfg = {.workers = 1};
	rpc_server_t *s = rpc_server_new(&cfg);
	assert_int_equal(rpc_server_add_iface(s, &test_iface, RPC_LISTEN_DYNAMIC), CERR_OK);
	uint16_t port = 0, epm = 0;
	assert_int_equal(rpc_server_listen(s, NULL, 0, RPC_LISTEN_DYNAMIC, &port), CERR_OK);
	assert_int_equal(rpc_server_listen(s, "127.0.0.1", 0, RPC_LISTEN_EPM, &epm), CERR_OK);
	assert_int_not_equal(rpc_server_listen(s, "not-an-address", 0, RPC_LISTEN_EPM, NULL), CERR_OK);
	assert_int_equal(errno, 0);
	assert_int_equal(rpc_server_listen(s, "127.0.0.1", epm, RPC_LISTEN_EPM, NULL), CERR_IO);
	assert_int_equal(errno, EADDRINUSE);
	srv_t v = {.run.s = s, .port = port};
	tu_server_start(&v.run);

	int fd = dial("::1", port);
	if (fd >= 0) { /* the host has IPv6 loopback */
		raw_bind(fd);
		buf_t b;
		buf_init(&b, 0);
		put_request(&b, 2, 0, "v6", 2);
		send_all(fd, b.data, b.len);
		uint8_t in[512];
		assert_true(recv_pdu(fd, in, sizeof(in)) > 0);
		assert_string_equal(seen_local, "::1");
		buf_free(&b);
		close(fd);
	}
	tu_server_stop(&v.run);

	/* the test interface is listed once for the dynamic port (v4 + v6 are one endpoint) */
	struct seen_eps seen = {0, 0};
	rpc_server_foreach_endpoint(s, count_endpoints, &seen);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.port, port);
	rpc_server_free(s);
}

/* NTLM end to end: the project's client against the NTLM acceptor, every
 * level, with responses and requests large enough to fragment; alice logs
 * on with tu_lookup_alice's password */
static int auth_hook_calls;
static cerr_t count_auth(void *arg, const rpc_conn_info_t *c, cerr_t st, void **out_principal)
{
	(void)out_principal;
	__atomic_add_fetch(&auth_hook_calls, 1, __ATOMIC_SEQ_CST);
	return CERR_OK;
}

static void test_ntlm_levels(void **state)
{
	rpc_server_config_t cfg = {.workers = 2};
	rpc_server_t *s = rpc_server_new(&cfg);
	rpc_auth_provider_t prov;
	ntlm_acceptor_config_t nc;
	ntlm_acceptor_config_init(&nc);
	nc.nb_domain = "WORKGROUP";
	nc.nb_computer = "CA1";
	nc.lookup = tu_lookup_alice;
	assert_int_equal(ntlm_acceptor_provider(&prov, &nc), CERR_OK);
	assert_int_equal(rpc_server_add_auth(s, &prov), CERR_OK);
	rpc_server_hooks_t hooks = {.on_auth = count_auth};
	rpc_server_set_hooks(s, &hooks);
	assert_int_equal(rpc_server_add_iface(s, &test_iface, RPC_LISTEN_DYNAMIC), CERR_OK);
	srv_t v = {.run.s = s};
	assert_int_equal(rpc_server_listen(s, "127.0.0.1", 0, RPC_LISTEN_DYNAMIC, &v.port), CERR_OK);
	tu_server_start(&v.run);

	size_t big_len = 50000;
	uint8_t *big = malloc(big_len);
	for (size_t i = 0; i < big_len; i++) {
		big[i] = (uint8_t)(i * 17 + 3);
	}
	const uint8_t levels[] = {RPC_AUTH_LEVEL_CONNECT, RPC_AUTH_LEVEL_PKT_INTEGRITY, RPC_AUTH_LEVEL_PKT_PRIVACY};
	for (size_t i = 0; i < sizeof(levels); i++) {
		rpc_client_t *c = NULL;
		assert_int_equal(rpc_client_connect(&c, "127.0.0.1", v.port, NULL), CERR_OK);
		rpc_client_auth_t a = {.auth_type = RPC_AUTH_WINNT, .auth_level = levels[i], .user = "alice",
				       .domain = "WORKGROUP", .password = "Passw0rd!"};
		assert_int_equal(rpc_client_bind(c, &TEST_UUID, 1, 0, &a), CERR_OK);
		for (int k = 0; k < 3; k++) {
			uint8_t *out = NULL;
			size_t out_len = 0;
			assert_int_equal(rpc_client_call(c, 0, NULL, big, big_len - (size_t)k * 1000, &out, &out_len),
					 CERR_OK);
			assert_int_equal(out_len, big_len - (size_t)k * 1000);
			assert_memory_equal(out, big, out_len);
			free(out);
		}
		rpc_client_free(c);
	}
	assert_int_equal(__atomic_load_n(&auth_hook_calls, __ATOMIC_SEQ_CST), 3);

	/* a wrong password: the bind succeeds (AUTH3 has no reply), the first call is refused */
	rpc_client_t *c = NULL;
	assert_int_equal(rpc_client_connect(&c, "127.0.0.1", v.port, NULL), CERR_OK);
	rpc_client_auth_t bad = {.auth_type = RPC_AUTH_WINNT, .auth_level = RPC_AUTH_LEVEL_PKT_PRIVACY,
				 .user = "alice", .domain = "WORKGROUP", .password = "wrong"};
	assert_int_equal(rpc_client_bind(c, &TEST_UUID, 1, 0, &bad), CERR_OK);
	uint8_t *out = NULL;
	size_t out_len = 0;
	assert_int_equal(rpc_client_call(c, 0, NULL, (const uint8_t *)"x", 1, &out, &out_len),
			 CERR_NCA_S_FAULT_ACCESS_DENIED);
	rpc_client_free(c);
	free(big);

	assert_int_equal(tu_server_stop(&v.run), CERR_OK);
	rpc_server_free(s);
	ntlm_provider_cleanup(&prov);
}

static rpc_server_t *sig_server;
static void on_sigusr1(int sig) { rpc_server_stop(sig_server); }

static void test_stop_from_signal(void **state)
{
	rpc_server_config_t cfg = {.workers = 1};
	srv_t *v = srv_start(&cfg, "127.0.0.1");
	sig_server = v->run.s;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigusr1;
	sigaction(SIGUSR1, &sa, NULL);
	int fd = dial("127.0.0.1", v->port);
	raw_bind(fd);
	pthread_kill(v->run.th, SIGUSR1);
	pthread_join(v->run.th, NULL);
	assert_int_equal(v->run.rc, CERR_OK);
	assert_true(closed_by_peer(fd, 2000));
	close(fd);
	rpc_server_free(v->run.s);
	free(v);
	signal(SIGUSR1, SIG_DFL);
}

int main(void)
{
	log_set_level(getenv("TEST_SERVER_DEBUG") ? LOG_DEBUG : LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_calls_via_client),
		cmocka_unit_test(test_pipelined_and_parallel),
		cmocka_unit_test(test_garbage_and_limits),
		cmocka_unit_test(test_idle_timeout_and_many),
		cmocka_unit_test(test_ipv6_and_endpoints),
		cmocka_unit_test(test_ntlm_levels),
		cmocka_unit_test(test_stop_from_signal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
