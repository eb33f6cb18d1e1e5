/*
 * cmd_bench.c - `certa bench`: a load generator for certad that enrolls the
 * way Windows clients do over MS-ICPR (TCP connect, endpoint-mapper lookup,
 * NTLM bind at PKT_PRIVACY, CertServerRequest), from N client threads, for a
 * fixed count or a duration, closed-loop or at an open-loop target rate. The
 * requests are made before the clock starts (client keys are the client's
 * cost, not the CA's). Reports enrollments/s, latency percentiles and errors
 * by name from the one error table; --idle holds N bound connections open
 * instead (the idle soak). bench/run drives it; see bench/README.md.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cli/cli.h"
#include "cli/subcommands.h"
#include "rpc/client.h"
#include "rpc/pdu.h"
#include "services/icpr.h"
#include "util/arena.h"
#include "util/err.h"

#define REQ_FLAGS_PKCS10 0x00000100u /* CR_IN_PKCS10 (MS-WCCE 3.2.1.4.3.1.1) */
#define BENCH_PASSWORD_MAX 512
#define BENCH_MAX_CLIENTS 4096u
#define BENCH_MAX_ERR_KINDS 64
#define BENCH_KEYS 2u /* distinct client keys (RSA keygen is slow); CSRs differ by subject */
#define NSEC 1000000000ull

typedef struct bench_opts {
	const char *host;
	uint16_t epm_port;
	uint16_t rpc_port;  /* skip the endpoint mapper altogether */
	bool cache_port;    /* look the port up once, not per connection */
	const char *user;
	const char *domain;
	bool password_stdin;
	const char *template_name;
	const char *authority;
	const char *csr_key;
	unsigned clients;
	uint64_t count;     /* 0 = run for duration */
	double duration;    /* seconds */
	double rate;        /* open-loop enrollments/s; 0 = closed loop */
	bool reuse;         /* one bound connection per client, many calls */
	unsigned idle;      /* > 0: the idle soak with this many connections */
	unsigned pool;
	unsigned timeout_ms;
	bool json;
	bool quiet;
} bench_opts_t;

/* One pre-built request: the whole CertServerRequest stub. */
typedef struct bench_req {
	uint8_t *stub;
	size_t len;
} bench_req_t;

typedef struct err_row {
	char name[128];
	uint64_t count;
} err_row_t;

typedef struct bench bench_t;

typedef struct worker {
	bench_t *b;
	pthread_t tid;
	uint32_t *lat_us; /* latencies of successful enrollments */
	size_t n_lat, cap_lat;
	rpc_client_t *conn; /* held across calls with --reuse-connection */
} worker_t;

struct bench {
	bench_opts_t o;
	char password[BENCH_PASSWORD_MAX];
	uint16_t port; /* resolved ICPR port, when cached or given */
	bench_req_t *reqs;
	size_t n_reqs;
	uint64_t t0, deadline; /* CLOCK_MONOTONIC ns */
	atomic_uint_fast64_t next_ticket;
	atomic_uint_fast64_t ok;
	atomic_uint_fast64_t failed;
	atomic_bool stop;
	atomic_uint running; /* workers not yet finished */
	pthread_mutex_t err_mu;
	err_row_t errs[BENCH_MAX_ERR_KINDS];
	size_t n_errs;
	uint64_t err_other;
	/* idle soak */
	rpc_client_t **idle_conns;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: certa bench --ca HOST [--port EPMPORT] [--user [DOMAIN\\]USER] [--password-stdin]\n"
		"                   [--template NAME] [--authority CANAME] [--clients N]\n"
		"                   [--count N | --duration SECONDS] [--rate PER_SECOND]\n"
		"                   [--cache-port | --rpc-port PORT] [--reuse-connection]\n"
		"                   [--idle N] [--csr-key rsa2048|p256] [--pool N]\n"
		"                   [--timeout SECONDS] [--json] [--quiet]\n"
		"\n"
		"Runs complete MS-ICPR enrollments against certad from N client threads (default 1):\n"
		"TCP connect, endpoint-mapper lookup (once with --cache-port, never with --rpc-port),\n"
		"NTLM bind at PKT_PRIVACY and CertServerRequest with a request from a pool made\n"
		"before the clock starts. Stops after --count enrollments or --duration seconds\n"
		"(default 10). --rate makes it open-loop: enrollments start on a fixed schedule and\n"
		"latency counts from the scheduled start. --reuse-connection keeps one bound\n"
		"connection per client. --idle N instead opens N connections, binds each, and holds\n"
		"them for --duration seconds (the idle soak). Prints a progress line per second on\n"
		"stderr and a summary on stdout (one JSON object with --json).\n"
		"Exit status: 0 when every enrollment was issued, 1 when some failed, 64 usage.\n");
}

/* ---- small helpers ---- */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
}

/* cpu_seconds is this process's user + system CPU time so far. */
static double cpu_seconds(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0) {
		return 0;
	}
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = {.tv_sec = (time_t)(t / NSEC), .tv_nsec = (long)(t % NSEC)};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
	}
}

static bool parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *s == '\0' || *s == '-' || *end != '\0' || v > max) {
		return false;
	}
	*out = v;
	return true;
}

static bool parse_positive(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *s == '\0' || *end != '\0' || !(v > 0) || v > 1e9) {
		return false;
	}
	*out = v;
	return true;
}

/* raise_nofile lifts RLIMIT_NOFILE to at least need descriptors (the hard
 * limit too when privileged), since every client holds a socket. */
static bool raise_nofile(rlim_t need)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		return false;
	}
	if (rl.rlim_cur >= need) {
		return true;
	}
	if (rl.rlim_max < need) {
		struct rlimit want = {need, need};
		if (setrlimit(RLIMIT_NOFILE, &want) == 0) {
			return true;
		}
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		return false;
	}
	rl.rlim_cur = need;
	return setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

/* ---- errors by name ---- */

static void count_error(bench_t *b, const char *name)
{
	pthread_mutex_lock(&b->err_mu);
	size_t i;
	for (i = 0; i < b->n_errs; i++) {
		if (!strcmp(b->errs[i].name, name)) {
			break;
		}
	}
	if (i == b->n_errs) {
		if (b->n_errs == BENCH_MAX_ERR_KINDS) {
			b->err_other++;
			pthread_mutex_unlock(&b->err_mu);
			return;
		}
		snprintf(b->errs[i].name, sizeof(b->errs[i].name), "%s", name);
		b->n_errs++;
	}
	b->errs[i].count++;
	pthread_mutex_unlock(&b->err_mu);
}

/* count_value names a status received from the server (a fault, an HRESULT). */
static void count_value(bench_t *b, const char *prefix, uint32_t v)
{
	char name[128]; /* prefixes are < 96 */
	cerr_t e = cerr_lookup_any(v);
	if (e != CERR__COUNT) {
		snprintf(name, sizeof(name), "%s%s", prefix, cerr_name(e));
	} else {
		snprintf(name, sizeof(name), "%s0x%08" PRIX32, prefix, v);
	}
	count_error(b, name);
}

/* count_client_error names what a failed client operation said. */
static void count_client_error(bench_t *b, const char *step, rpc_client_t *c, cerr_t e)
{
	char name[96];
	rpc_client_error_t err = {0};
	if (c) {
		rpc_client_last_error(c, &err);
	}
	if (err.fault_status) {
		snprintf(name, sizeof(name), "%s: fault ", step);
		count_value(b, name, err.fault_status);
		return;
	}
	snprintf(name, sizeof(name), "%s: %s", step, cerr_name(e));
	count_error(b, name);
}

/* ---- the request pool ---- */

static EVP_PKEY *make_key(const char *alg)
{
	if (!strcmp(alg, "rsa2048")) {
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	}
	if (!strcmp(alg, "p256")) {
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	}
	return NULL;
}

static bool make_csr_der(EVP_PKEY *key, unsigned idx, unsigned char **der, int *len)
{
	char cn[64];
	snprintf(cn, sizeof(cn), "bench-%u", idx);
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	bool ok = req && name &&
		  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) &&
		  X509_REQ_set_version(req, 0) && X509_REQ_set_subject_name(req, name) &&
		  X509_REQ_set_pubkey(req, key) && X509_REQ_sign(req, key, EVP_sha256()) > 0;
	if (ok) {
		*der = NULL;
		*len = i2d_X509_REQ(req, der);
		ok = *len > 0;
	}
	X509_NAME_free(name);
	X509_REQ_free(req);
	return ok;
}

/* build_pool makes o.pool requests from BENCH_KEYS keys, each encoded as a
 * complete CertServerRequest stub, so the timed loop only sends bytes. */
static bool build_pool(bench_t *b)
{
	const bench_opts_t *o = &b->o;
	EVP_PKEY *keys[BENCH_KEYS] = {0};
	unsigned nkeys = o->pool < BENCH_KEYS ? o->pool : BENCH_KEYS;
	arena_t *a = arena_new();
	bool ok = a != NULL;
	b->reqs = calloc(o->pool, sizeof(*b->reqs));
	ok = ok && b->reqs;
	for (unsigned i = 0; ok && i < nkeys; i++) {
		keys[i] = make_key(o->csr_key);
		ok = keys[i] != NULL;
	}
	char attr[512];
	snprintf(attr, sizeof(attr), "CertificateTemplate:%s", o->template_name);
	ndr_blob_t attribs = {0};
	ok = ok && icpr_utf16_blob(attr, a, &attribs) == CERR_OK;
	for (unsigned i = 0; ok && i < o->pool; i++) {
		unsigned char *der = NULL;
		int len = 0;
		if (!make_csr_der(keys[i % nkeys], i, &der, &len)) {
			ok = false;
			break;
		}
		icpr_request_t req = {
			.flags = REQ_FLAGS_PKCS10,
			.authority = o->authority,
			.request_id = 0,
			.attribs = attribs,
			.request = {.len = (uint32_t)len, .data = der},
		};
		buf_t stub;
		buf_init(&stub, 0);
		ok = icpr_encode_request(&stub, &req) == CERR_OK && buf_ok(&stub);
		OPENSSL_free(der);
		if (ok) {
			b->reqs[i].stub = buf_take(&stub, &b->reqs[i].len);
			ok = b->reqs[i].stub != NULL;
		}
		buf_free(&stub);
		b->n_reqs = i + 1;
	}
	for (unsigned i = 0; i < nkeys; i++) {
		EVP_PKEY_free(keys[i]);
	}
	arena_free(a);
	return ok;
}

static void free_pool(bench_t *b)
{
	for (size_t i = 0; b->reqs && i < b->n_reqs; i++) {
		free(b->reqs[i].stub);
	}
	free(b->reqs);
	b->reqs = NULL;
}

/* ---- one enrollment ---- */

/* open_bound connects to ICertPassage and binds with NTLM at PKT_PRIVACY:
 * through the endpoint mapper unless the port is known. NULL on failure
 * (counted). */
static rpc_client_t *open_bound(bench_t *b)
{
	const bench_opts_t *o = &b->o;
	rpc_client_config_t cfg = {.timeout_ms = o->timeout_ms};
	uint16_t port = b->port;
	if (!port) {
		rpc_client_error_t err = {0};
		cerr_t e = rpc_client_ept_map(o->host, o->epm_port, &ICPR_UUID, ICPR_VERS_MAJOR, ICPR_VERS_MINOR,
					      &cfg, &port, &err);
		if (e != CERR_OK) {
			char name[96];
			if (err.fault_status) {
				count_value(b, "ept_map: fault ", err.fault_status);
			} else {
				snprintf(name, sizeof(name), "ept_map: %s", cerr_name(e));
				count_error(b, name);
			}
			return NULL;
		}
	}
	rpc_client_t *c = NULL;
	cerr_t e = rpc_client_connect(&c, o->host, port, &cfg);
	if (e != CERR_OK) {
		count_client_error(b, "connect", NULL, e);
		return NULL;
	}
	rpc_client_auth_t auth = {
		.auth_type = RPC_AUTH_WINNT,
		.auth_level = RPC_AUTH_LEVEL_PKT_PRIVACY,
		.user = o->user,
		.domain = o->domain,
		.password = b->password,
	};
	e = rpc_client_bind(c, &ICPR_UUID, ICPR_VERS_MAJOR, ICPR_VERS_MINOR, &auth);
	if (e != CERR_OK) {
		count_client_error(b, "bind", c, e);
		rpc_client_free(c);
		return NULL;
	}
	return c;
}

/* enroll_once runs one CertServerRequest (connecting first unless a bound
 * connection is held) and says whether a certificate was issued. */
static bool enroll_once(worker_t *w, const bench_req_t *req)
{
	bench_t *b = w->b;
	if (!w->conn) {
		w->conn = open_bound(b);
		if (!w->conn) {
			return false;
		}
	}
	uint8_t *out = NULL;
	size_t out_len = 0;
	bool ok = false;
	cerr_t e = rpc_client_call(w->conn, ICPR_OPNUM_CERT_SERVER_REQUEST, NULL, req->stub, req->len, &out,
				   &out_len);
	if (e != CERR_OK) {
		count_client_error(b, "CertServerRequest", w->conn, e);
		rpc_client_free(w->conn); /* state unknown: start afresh */
		w->conn = NULL;
		return false;
	}
	arena_t *a = arena_new();
	icpr_response_t resp;
	cur_t in;
	cur_init(&in, out, out_len);
	if (!a || icpr_decode_response(&in, a, &resp) != CERR_OK) {
		count_error(b, "CertServerRequest: undecodable response");
	} else if (resp.status != 0) {
		count_value(b, "status ", resp.status);
	} else if (resp.disposition == ICPR_DISP_ISSUED && resp.encoded_cert.len > 0) {
		ok = true;
	} else if (resp.disposition == ICPR_DISP_UNDER_SUBMISSION) {
		count_error(b, "disposition: UNDER_SUBMISSION (pending)");
	} else if (resp.disposition < 0x80000000u) {
		char name[64];
		snprintf(name, sizeof(name), "disposition: %" PRIu32, resp.disposition);
		count_error(b, name);
	} else {
		count_value(b, "disposition ", resp.disposition);
	}
	arena_free(a);
	free(out);
	if (!b->o.reuse) {
		rpc_client_free(w->conn);
		w->conn = NULL;
	}
	return ok;
}

static bool push_latency(worker_t *w, uint64_t ns)
{
	if (w->n_lat == w->cap_lat) {
		size_t cap = w->cap_lat ? w->cap_lat * 2 : 4096;
		uint32_t *p = realloc(w->lat_us, cap * sizeof(*p));
		if (!p) {
			return false;
		}
		w->lat_us = p;
		w->cap_lat = cap;
	}
	uint64_t us = ns / 1000;
	w->lat_us[w->n_lat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	return true;
}

static void *enroll_worker(void *arg)
{
	worker_t *w = arg;
	bench_t *b = w->b;
	const bench_opts_t *o = &b->o;
	for (;;) {
		if (atomic_load(&b->stop)) {
			break;
		}
		uint64_t ticket = atomic_fetch_add(&b->next_ticket, 1);
		if (o->count && ticket >= o->count) {
			break;
		}
		uint64_t start;
		if (o->rate > 0) {
			/* open loop: the schedule, not the previous reply, says when to
			 * start; waiting for a free client counts as latency */
			start = b->t0 + (uint64_t)((double)ticket * 1e9 / o->rate);
			if (!o->count && start >= b->deadline) {
				break;
			}
			if (start > now_ns()) {
				sleep_until(start);
			}
		} else {
			start = now_ns();
		}
		bool ok = enroll_once(w, &b->reqs[ticket % b->n_reqs]);
		uint64_t end = now_ns();
		if (ok && push_latency(w, end - start)) {
			atomic_fetch_add(&b->ok, 1);
		} else {
			atomic_fetch_add(&b->failed, 1);
		}
	}
	rpc_client_free(w->conn);
	w->conn = NULL;
	atomic_fetch_sub(&b->running, 1);
	return NULL;
}

/* ---- the idle soak ---- */

static void *idle_worker(void *arg)
{
	worker_t *w = arg;
	bench_t *b = w->b;
	for (;;) {
		uint64_t i = atomic_fetch_add(&b->next_ticket, 1);
		if (i >= b->o.idle || atomic_load(&b->stop)) {
			break;
		}
		rpc_client_t *c = open_bound(b);
		b->idle_conns[i] = c;
		atomic_fetch_add(c ? &b->ok : &b->failed, 1);
	}
	atomic_fetch_sub(&b->running, 1);
	return NULL;
}

/* ---- reporting ---- */

static int cmp_u32(const void *pa, const void *pb)
{
	uint32_t x = *(const uint32_t *)pa, y = *(const uint32_t *)pb;
	return x < y ? -1 : x > y;
}

static double pct_ms(const uint32_t *v, size_t n, double q)
{
	if (!n) {
		return 0;
	}
	size_t k = (size_t)(q * (double)n + 0.999999);
	if (k < 1) {
		k = 1;
	}
	if (k > n) {
		k = n;
	}
	return v[k - 1] / 1000.0;
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			fprintf(f, "\\%c", ch);
		} else if (ch < 0x20) {
			fprintf(f, "\\u%04x", ch);
		} else {
			fputc(ch, f);
		}
	}
	fputc('"', f);
}

static void print_errors(bench_t *b, FILE *f, bool json)
{
	if (json) {
		fputc('{', f);
		for (size_t i = 0; i < b->n_errs; i++) {
			fprintf(f, "%s", i ? "," : "");
			json_string(f, b->errs[i].name);
			fprintf(f, ":%" PRIu64, b->errs[i].count);
		}
		if (b->err_other) {
			fprintf(f, "%s\"other\":%" PRIu64, b->n_errs ? "," : "", b->err_other);
		}
		fputc('}', f);
		return;
	}
	if (!b->n_errs && !b->err_other) {
		fprintf(f, "  errors       none\n");
		return;
	}
	fprintf(f, "  errors by code:\n");
	for (size_t i = 0; i < b->n_errs; i++) {
		fprintf(f, "    %10" PRIu64 "  %s\n", b->errs[i].count, b->errs[i].name);
	}
	if (b->err_other) {
		fprintf(f, "    %10" PRIu64 "  (other kinds)\n", b->err_other);
	}
}

/* progress prints one line a second on stderr until the workers finish or
 * the deadline passes (then it sets stop). */
static void progress(bench_t *b, const char *what)
{
	uint64_t last_ok = 0, tick = b->t0;
	while (atomic_load(&b->running) > 0) {
		tick += NSEC;
		uint64_t wake = tick;
		if (b->deadline && wake > b->deadline) {
			wake = b->deadline;
		}
		/* short naps so a finished run is noticed promptly */
		while (atomic_load(&b->running) > 0 && now_ns() < wake) {
			uint64_t t = now_ns() + 20000000ull;
			sleep_until(t < wake ? t : wake);
		}
		uint64_t t = now_ns();
		if (b->deadline && t >= b->deadline) {
			atomic_store(&b->stop, true);
		}
		uint64_t ok = atomic_load(&b->ok), failed = atomic_load(&b->failed);
		if (!b->o.quiet && t >= tick) {
			fprintf(stderr, "certa bench: %5.1f s  %s %" PRIu64 " (+%" PRIu64 "/s)  errors %" PRIu64 "\n",
				(double)(t - b->t0) / 1e9, what, ok, ok - last_ok, failed);
		}
		last_ok = ok;
		if (b->deadline && t >= b->deadline) {
			break;
		}
	}
}

static int run_enroll(bench_t *b)
{
	bench_opts_t *o = &b->o;
	worker_t *ws = calloc(o->clients, sizeof(*ws));
	if (!ws) {
		return EX_OSERR;
	}
	atomic_store(&b->running, o->clients);
	double cpu0 = cpu_seconds();
	b->t0 = now_ns();
	b->deadline = o->count ? 0 : b->t0 + (uint64_t)(o->duration * 1e9);
	unsigned started = 0;
	for (; started < o->clients; started++) {
		ws[started].b = b;
		if (pthread_create(&ws[started].tid, NULL, enroll_worker, &ws[started]) != 0) {
			fprintf(stderr, "certa bench: cannot start client thread %u\n", started);
			atomic_store(&b->stop, true);
			atomic_fetch_sub(&b->running, o->clients - started);
			break;
		}
	}
	progress(b, "enrollments");
	atomic_store(&b->stop, true);
	for (unsigned i = 0; i < started; i++) {
		pthread_join(ws[i].tid, NULL);
	}
	uint64_t t1 = now_ns();
	double cpu = cpu_seconds() - cpu0; /* the load generator's own cost, pool excluded */
	/* In duration mode the window is the planned one: calls still in flight
	 * at the deadline finish (and count) but add no time, which is at most
	 * one enrollment per client. */
	double secs = (double)(t1 - b->t0) / 1e9;
	if (!o->count && o->duration < secs) {
		secs = o->duration;
	}

	size_t n = 0;
	for (unsigned i = 0; i < started; i++) {
		n += ws[i].n_lat;
	}
	uint32_t *all = malloc((n ? n : 1) * sizeof(*all));
	if (!all) {
		for (unsigned i = 0; i < started; i++) {
			free(ws[i].lat_us);
		}
		free(ws);
		return EX_OSERR;
	}
	size_t k = 0;
	for (unsigned i = 0; i < started; i++) {
		if (ws[i].n_lat) {
			memcpy(all + k, ws[i].lat_us, ws[i].n_lat * sizeof(*all));
		}
		k += ws[i].n_lat;
		free(ws[i].lat_us);
	}
	free(ws);
	qsort(all, n, sizeof(*all), cmp_u32);
	uint64_t ok = atomic_load(&b->ok), failed = atomic_load(&b->failed);
	double rate = secs > 0 ? (double)ok / secs : 0;
	double p50 = pct_ms(all, n, 0.50), p90 = pct_ms(all, n, 0.90), p99 = pct_ms(all, n, 0.99);
	double mx = n ? all[n - 1] / 1000.0 : 0, mean = 0;
	for (size_t i = 0; i < n; i++) {
		mean += all[i];
	}
	mean = n ? mean / (double)n / 1000.0 : 0;
	free(all);

	const char *port_mode = o->rpc_port ? "fixed" : o->cache_port ? "cached" : "ept_map";
	if (o->json) {
		printf("{\"mode\":\"enroll\",\"clients\":%u,\"target_rate\":%.3f,\"reuse_connection\":%s,"
		       "\"port_lookup\":\"%s\",\"csr_key\":\"%s\",\"seconds\":%.3f,\"enrollments\":%" PRIu64
		       ",\"errors\":%" PRIu64 ",\"rate\":%.2f,\"latency_ms\":{\"mean\":%.3f,\"p50\":%.3f,"
		       "\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f},\"client_cpu_s\":%.3f,\"errors_by_code\":",
		       o->clients, o->rate, o->reuse ? "true" : "false", port_mode, o->csr_key, secs, ok, failed, rate,
		       mean, p50, p90, p99, mx, cpu);
		print_errors(b, stdout, true);
		printf("}\n");
	} else {
		printf("certa bench: %u client%s, %s, port via %s%s\n", o->clients, o->clients == 1 ? "" : "s",
		       o->rate > 0 ? "open loop" : "closed loop", port_mode,
		       o->reuse ? ", connections reused" : ", a new connection per enrollment");
		if (o->rate > 0) {
			printf("  target       %.1f enrollments/s\n", o->rate);
		}
		printf("  enrollments  %" PRIu64 " issued in %.2f s, %" PRIu64 " failed\n", ok, secs, failed);
		printf("  rate         %.1f enrollments/s\n", rate);
		printf("  latency      p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms  (mean %.2f ms)\n", p50,
		       p90, p99, mx, mean);
		printf("  client CPU   %.0f us per enrollment (this load generator)\n", ok ? cpu / (double)ok * 1e6 : 0);
		print_errors(b, stdout, false);
	}
	fflush(stdout);
	return failed || !ok ? 1 : 0;
}

static int run_idle(bench_t *b)
{
	bench_opts_t *o = &b->o;
	b->idle_conns = calloc(o->idle, sizeof(*b->idle_conns));
	worker_t *ws = calloc(o->clients, sizeof(*ws));
	if (!b->idle_conns || !ws) {
		free(ws);
		return EX_OSERR;
	}
	atomic_store(&b->running, o->clients);
	b->t0 = now_ns();
	unsigned started = 0;
	for (; started < o->clients; started++) {
		ws[started].b = b;
		if (pthread_create(&ws[started].tid, NULL, idle_worker, &ws[started]) != 0) {
			atomic_store(&b->stop, true);
			atomic_fetch_sub(&b->running, o->clients - started);
			break;
		}
	}
	progress(b, "bound");
	for (unsigned i = 0; i < started; i++) {
		pthread_join(ws[i].tid, NULL);
	}
	free(ws);
	double open_secs = (double)(now_ns() - b->t0) / 1e9;
	uint64_t bound = atomic_load(&b->ok), failed = atomic_load(&b->failed);
	/* bench/run samples the server's memory when it sees this line */
	fprintf(stderr, "certa bench: idle: %" PRIu64 " bound connections open (%" PRIu64 " failed) in %.1f s; "
			"holding for %.0f s\n",
		bound, failed, open_secs, o->duration);
	fflush(stderr);
	uint64_t hold_end = now_ns() + (uint64_t)(o->duration * 1e9);
	while (now_ns() < hold_end) {
		uint64_t t = now_ns() + NSEC;
		sleep_until(t < hold_end ? t : hold_end);
		if (!o->quiet) {
			fprintf(stderr, "certa bench: idle: holding %" PRIu64 " connections, %.0f s left\n", bound,
				(double)(hold_end > now_ns() ? hold_end - now_ns() : 0) / 1e9);
		}
	}
	/* Prove the held connections still work: one enrollment on a few of them. */
	unsigned checked = 0, usable = 0;
	worker_t probe = {.b = b};
	for (unsigned i = 0; i < o->idle && checked < 10; i += o->idle / 10 ? o->idle / 10 : 1) {
		if (!b->idle_conns[i]) {
			continue;
		}
		checked++;
		probe.conn = b->idle_conns[i];
		b->idle_conns[i] = NULL;
		bool saved = b->o.reuse;
		b->o.reuse = false; /* enroll_once frees it */
		usable += enroll_once(&probe, &b->reqs[i % b->n_reqs]);
		b->o.reuse = saved;
	}
	for (unsigned i = 0; i < o->idle; i++) {
		rpc_client_free(b->idle_conns[i]);
	}
	free(b->idle_conns);
	b->idle_conns = NULL;
	if (o->json) {
		printf("{\"mode\":\"idle\",\"connections\":%u,\"bound\":%" PRIu64 ",\"failed\":%" PRIu64
		       ",\"open_seconds\":%.3f,\"hold_seconds\":%.1f,\"checked_after_hold\":%u,"
		       "\"usable_after_hold\":%u,\"errors_by_code\":",
		       o->idle, bound, failed, open_secs, o->duration, checked, usable);
		print_errors(b, stdout, true);
		printf("}\n");
	} else {
		printf("certa bench: idle soak\n");
		printf("  connections  %" PRIu64 " of %u bound in %.2f s (%.0f/s), held %.0f s\n", bound, o->idle,
		       open_secs, open_secs > 0 ? (double)bound / open_secs : 0, o->duration);
		printf("  after hold   %u of %u sampled connections enrolled\n", usable, checked);
		print_errors(b, stdout, false);
	}
	fflush(stdout);
	return failed || usable != checked ? 1 : 0;
}

int cmd_bench_main(int argc, char **argv)
{
	enum {
		O_CA = 256, O_PORT, O_RPC_PORT, O_CACHE_PORT, O_USER, O_DOMAIN, O_PWSTDIN, O_TEMPLATE, O_AUTHORITY,
		O_CLIENTS, O_COUNT, O_DURATION, O_RATE, O_REUSE, O_IDLE, O_CSR_KEY, O_POOL, O_TIMEOUT, O_JSON,
		O_QUIET,
	};
	static const struct option longopts[] = {
		{"ca", required_argument, NULL, O_CA},
		{"port", required_argument, NULL, O_PORT},
		{"rpc-port", required_argument, NULL, O_RPC_PORT},
		{"cache-port", no_argument, NULL, O_CACHE_PORT},
		{"user", required_argument, NULL, O_USER},
		{"domain", required_argument, NULL, O_DOMAIN},
		{"password-stdin", no_argument, NULL, O_PWSTDIN},
		{"template", required_argument, NULL, O_TEMPLATE},
		{"authority", required_argument, NULL, O_AUTHORITY},
		{"clients", required_argument, NULL, O_CLIENTS},
		{"count", required_argument, NULL, O_COUNT},
		{"duration", required_argument, NULL, O_DURATION},
		{"rate", required_argument, NULL, O_RATE},
		{"reuse-connection", no_argument, NULL, O_REUSE},
		{"idle", required_argument, NULL, O_IDLE},
		{"csr-key", required_argument, NULL, O_CSR_KEY},
		{"pool", required_argument, NULL, O_POOL},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"json", no_argument, NULL, O_JSON},
		{"quiet", no_argument, NULL, O_QUIET},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bench_t *b = calloc(1, sizeof(*b));
	if (!b) {
		return EX_OSERR;
	}
	bench_opts_t *o = &b->o;
	*o = (bench_opts_t){.epm_port = 135, .template_name = "User", .csr_key = "rsa2048", .clients = 1,
			    .duration = 10, .pool = 256, .timeout_ms = 30000};
	bool have_duration = false, have_clients = false;
	char userbuf[512];
	unsigned long long v;
	int rc = EX_USAGE;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case O_CA: o->host = optarg; break;
		case O_PORT:
		case O_RPC_PORT:
			if (!parse_uint(optarg, 65535, &v) || v == 0) {
				fprintf(stderr, "certa bench: bad port '%s'\n", optarg);
				goto out;
			}
			*(ch == O_PORT ? &o->epm_port : &o->rpc_port) = (uint16_t)v;
			break;
		case O_CACHE_PORT: o->cache_port = true; break;
		case O_USER: o->user = optarg; break;
		case O_DOMAIN: o->domain = optarg; break;
		case O_PWSTDIN: o->password_stdin = true; break;
		case O_TEMPLATE: o->template_name = optarg; break;
		case O_AUTHORITY: o->authority = optarg; break;
		case O_CLIENTS:
			if (!parse_uint(optarg, BENCH_MAX_CLIENTS, &v) || v == 0) {
				fprintf(stderr, "certa bench: bad --clients '%s' (1-%u)\n", optarg, BENCH_MAX_CLIENTS);
				goto out;
			}
			o->clients = (unsigned)v;
			have_clients = true;
			break;
		case O_COUNT:
			if (!parse_uint(optarg, UINT64_MAX / 2, &v) || v == 0) {
				fprintf(stderr, "certa bench: bad --count '%s'\n", optarg);
				goto out;
			}
			o->count = v;
			break;
		case O_DURATION:
			if (!parse_positive(optarg, &o->duration) || o->duration > 86400) {
				fprintf(stderr, "certa bench: bad --duration '%s' (seconds)\n", optarg);
				goto out;
			}
			have_duration = true;
			break;
		case O_RATE:
			if (!parse_positive(optarg, &o->rate)) {
				fprintf(stderr, "certa bench: bad --rate '%s' (enrollments per second)\n", optarg);
				goto out;
			}
			break;
		case O_REUSE: o->reuse = true; break;
		case O_IDLE:
			if (!parse_uint(optarg, 1000000, &v) || v == 0) {
				fprintf(stderr, "certa bench: bad --idle '%s' (connections)\n", optarg);
				goto out;
			}
			o->idle = (unsigned)v;
			break;
		case O_CSR_KEY:
			if (strcmp(optarg, "rsa2048") != 0 && strcmp(optarg, "p256") != 0) {
				fprintf(stderr, "certa bench: bad --csr-key '%s' (rsa2048 or p256)\n", optarg);
				goto out;
			}
			o->csr_key = optarg;
			break;
		case O_POOL:
			if (!parse_uint(optarg, 1000000, &v) || v == 0) {
				fprintf(stderr, "certa bench: bad --pool '%s'\n", optarg);
				goto out;
			}
			o->pool = (unsigned)v;
			break;
		case O_TIMEOUT:
			if (!parse_uint(optarg, 3600, &v) || v == 0) {
				fprintf(stderr, "certa bench: bad --timeout '%s' (seconds)\n", optarg);
				goto out;
			}
			o->timeout_ms = (unsigned)v * 1000u;
			break;
		case O_JSON: o->json = true; break;
		case O_QUIET: o->quiet = true; break;
		case 'h':
			usage(stdout);
			rc = EX_OK;
			goto out;
		default: usage(stderr); goto out;
		}
	}
	if (optind != argc || !o->host) {
		usage(stderr);
		goto out;
	}
	if (o->count && have_duration) {
		fprintf(stderr, "certa bench: give --count or --duration, not both\n");
		goto out;
	}
	if (o->idle && (o->count || o->rate > 0)) {
		fprintf(stderr, "certa bench: --idle takes --duration (the hold time), not --count or --rate\n");
		goto out;
	}
	if (o->idle && !have_clients) {
		o->clients = 16; /* open the soak's connections in parallel */
	}
	if (o->rpc_port) {
		o->cache_port = true;
	}
	if (o->user && strchr(o->user, '\\') && !o->domain) {
		snprintf(userbuf, sizeof(userbuf), "%s", o->user);
		char *bs = strchr(userbuf, '\\');
		*bs = '\0';
		o->domain = userbuf;
		o->user = bs + 1;
	}
	if (o->user) {
		bool ok = o->password_stdin && cli_read_line(STDIN_FILENO, b->password, sizeof(b->password));
		if (!ok) {
			fprintf(stderr, "certa bench: no password (give it on stdin with --password-stdin)\n");
			rc = EX_NOINPUT;
			goto out;
		}
	}
	rlim_t need = (rlim_t)o->clients * 2 + o->idle + 64;
	if (!raise_nofile(need)) {
		fprintf(stderr, "certa bench: cannot raise the open-file limit to %lu (ulimit -n)\n",
			(unsigned long)need);
		rc = EX_OSERR;
		goto out;
	}
	pthread_mutex_init(&b->err_mu, NULL);
	if (!o->count && !o->pool) {
		o->pool = 256;
	}
	if (o->count && o->count < o->pool) {
		o->pool = (unsigned)o->count;
	}
	uint64_t tp = now_ns();
	if (!build_pool(b)) {
		fprintf(stderr, "certa bench: cannot build the request pool\n");
		rc = EX_SOFTWARE;
		goto out_mu;
	}
	if (!o->quiet) {
		fprintf(stderr, "certa bench: %u requests (%s keys) made in %.2f s before the clock starts\n", o->pool,
			o->csr_key, (double)(now_ns() - tp) / 1e9);
	}
	if (o->rpc_port) {
		b->port = o->rpc_port;
	} else if (o->cache_port) {
		rpc_client_config_t cfg = {.timeout_ms = o->timeout_ms};
		rpc_client_error_t err = {0};
		cerr_t e = rpc_client_ept_map(o->host, o->epm_port, &ICPR_UUID, ICPR_VERS_MAJOR, ICPR_VERS_MINOR,
					      &cfg, &b->port, &err);
		if (e != CERR_OK) {
			fprintf(stderr, "certa bench: endpoint mapper %s:%u: %s\n", o->host, (unsigned)o->epm_port,
				err.detail[0] ? err.detail : cerr_msg(e));
			rc = EX_UNAVAILABLE;
			goto out_pool;
		}
	}
	rc = o->idle ? run_idle(b) : run_enroll(b);
out_pool:
	free_pool(b);
out_mu:
	pthread_mutex_destroy(&b->err_mu);
out:
	OPENSSL_cleanse(b->password, sizeof(b->password));
	free(b);
	return rc;
}
