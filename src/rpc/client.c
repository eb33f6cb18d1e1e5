/*
 * client.c - blocking DCE/RPC client over TCP (see client.h). One object is
 * one connection with presentation context 0: bind with the auth legs
 * (MS-RPCE 3.3.1.5.2: NTLM is bind -> bind_ack -> auth3), then calls whose
 * request stubs are cut into fragments that fit the negotiated max_xmit_frag
 * (C706 12.6.3.7) and whose response fragments are verified/unsealed and
 * reassembled. All wire parsing goes through rpc_pdu_decode and cur_t.
 */
#include "rpc/client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "rpc/epm.h"
#include "rpc/iface.h"
#include "rpc/limits.h"
#include "rpc/ntlm.h"
#include "rpc/pdu.h"
#include "util/arena.h"

#define CLIENT_DEFAULT_TIMEOUT_MS 30000u
#define CLIENT_DEFAULT_FRAG 5840u
#define CLIENT_DEFAULT_MAX_STUB (16u * 1024u * 1024u)
/* auth_context_id for our single security context; any constant works as long
 * as it stays the same on every PDU (MS-RPCE 3.3.1.5.2.2). */
#define CLIENT_AUTH_CONTEXT_ID 0u

struct rpc_client {
	pthread_mutex_t lock;
	int fd;
	rpc_client_config_t cfg;
	uint32_t next_call_id;
	bool bound;
	bool broken; /* a transport or protocol failure left the stream unusable */
	uint16_t xmit_frag; /* negotiated: what we may send */
	uint32_t assoc_group;
	/* security */
	bool has_sec;
	rpc_client_sec_t sec;
	uint8_t auth_type;
	uint8_t auth_level;
	rpc_client_error_t err;
};

/* ---- error recording ---- */

static cerr_t fail(rpc_client_t *c, cerr_t e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static cerr_t fail(rpc_client_t *c, cerr_t e, const char *fmt, ...)
{
	c->err.status = e;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err.detail, sizeof(c->err.detail), fmt, ap);
	va_end(ap);
	return e;
}

static void clear_err(rpc_client_t *c)
{
	memset(&c->err, 0, sizeof(c->err));
}

/* ---- transport ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* wait_fd polls fd for events until deadline; CERR_TIMEOUT when it passes. */
static cerr_t wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = now_ms();
		if (now >= deadline) {
			return CERR_TIMEOUT;
		}
		struct pollfd p = {.fd = fd, .events = events};
		int left = (int)(deadline - now > 0x7fffffff ? 0x7fffffff : deadline - now);
		int r = poll(&p, 1, left);
		if (r > 0) {
			return CERR_OK;
		}
		if (r == 0) {
			return CERR_TIMEOUT;
		}
		if (errno != EINTR) {
			return CERR_IO;
		}
	}
}

static cerr_t write_all(rpc_client_t *c, const uint8_t *p, size_t n)
{
	uint64_t deadline = now_ms() + c->cfg.timeout_ms;
	while (n) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			cerr_t e = wait_fd(c->fd, POLLOUT, deadline);
			if (e != CERR_OK) {
				c->broken = true;
				return fail(c, e, "sending: %s", e == CERR_TIMEOUT ? "timed out" : strerror(errno));
			}
			continue;
		}
		c->broken = true;
		return fail(c, CERR_IO, "sending: %s", strerror(errno));
	}
	return CERR_OK;
}

static cerr_t read_exact(rpc_client_t *c, uint8_t *p, size_t n, uint64_t deadline)
{
	while (n) {
		ssize_t r = recv(c->fd, p, n, 0);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		if (r == 0) {
			c->broken = true;
			return fail(c, CERR_CLOSED, "the server closed the connection");
		}
		if (errno == EINTR) {
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			cerr_t e = wait_fd(c->fd, POLLIN, deadline);
			if (e != CERR_OK) {
				c->broken = true;
				return fail(c, e, "receiving: %s", e == CERR_TIMEOUT ? "timed out" : strerror(errno));
			}
			continue;
		}
		c->broken = true;
		return fail(c, CERR_IO, "receiving: %s", strerror(errno));
	}
	return CERR_OK;
}

/* recv_pdu reads one whole PDU into *out_raw (malloc'd, owned by the caller)
 * and decodes it into pdu (arrays from a, cursors into *out_raw). */
static cerr_t recv_pdu(rpc_client_t *c, arena_t *a, uint8_t **out_raw, rpc_pdu_t *pdu)
{
	uint64_t deadline = now_ms() + c->cfg.timeout_ms;
	uint8_t hdr[RPC_HDR_LEN];
	*out_raw = NULL;
	cerr_t e = read_exact(c, hdr, sizeof(hdr), deadline);
	if (e != CERR_OK) {
		return e;
	}
	uint16_t frag_len;
	e = rpc_pdu_peek_length(hdr, sizeof(hdr), &frag_len);
	if (e != CERR_OK) {
		c->broken = true;
		return fail(c, CERR_PROTOCOL, "the server sent something that is not a DCE/RPC PDU");
	}
	uint8_t *raw = malloc(frag_len);
	if (!raw) {
		return fail(c, CERR_NOMEM, "out of memory");
	}
	memcpy(raw, hdr, sizeof(hdr));
	e = read_exact(c, raw + sizeof(hdr), (size_t)frag_len - sizeof(hdr), deadline);
	if (e != CERR_OK) {
		free(raw);
		return e;
	}
	e = rpc_pdu_decode(a, raw, frag_len, pdu);
	if (e != CERR_OK) {
		free(raw);
		c->broken = true;
		return fail(c, CERR_PROTOCOL, "undecodable PDU from the server (%s)", cerr_name(e));
	}
	*out_raw = raw;
	return CERR_OK;
}

static cerr_t connect_one(const struct addrinfo *ai, unsigned timeout_ms, int *out_fd)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
	if (fd < 0) {
		return CERR_IO;
	}
	int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
	if (r < 0 && errno != EINPROGRESS) {
		close(fd);
		return CERR_IO;
	}
	if (r < 0) {
		cerr_t e = wait_fd(fd, POLLOUT, now_ms() + timeout_ms);
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (e != CERR_OK || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
			if (soerr) {
				errno = soerr;
			}
			close(fd);
			return e == CERR_TIMEOUT ? CERR_TIMEOUT : CERR_IO;
		}
	}
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*out_fd = fd;
	return CERR_OK;
}

static void apply_defaults(rpc_client_config_t *cfg, const rpc_client_config_t *in)
{
	memset(cfg, 0, sizeof(*cfg));
	if (in) {
		*cfg = *in;
	}
	if (!cfg->timeout_ms) {
		cfg->timeout_ms = CLIENT_DEFAULT_TIMEOUT_MS;
	}
	if (!cfg->max_xmit_frag) {
		cfg->max_xmit_frag = CLIENT_DEFAULT_FRAG;
	}
	if (!cfg->max_recv_frag) {
		cfg->max_recv_frag = CLIENT_DEFAULT_FRAG;
	}
	if (cfg->max_xmit_frag < RPC_FRAG_MIN_NEGOTIATED) {
		cfg->max_xmit_frag = RPC_FRAG_MIN_NEGOTIATED;
	}
	if (cfg->max_recv_frag < RPC_FRAG_MIN_NEGOTIATED) {
		cfg->max_recv_frag = RPC_FRAG_MIN_NEGOTIATED;
	}
	if (!cfg->max_stub) {
		cfg->max_stub = CLIENT_DEFAULT_MAX_STUB;
	}
}

cerr_t rpc_client_connect(rpc_client_t **out, const char *host, uint16_t port, const rpc_client_config_t *cfg)
{
	*out = NULL;
	if (!host || !*host || !port) {
		return CERR_INVALID_ARG;
	}
	rpc_client_t *c = calloc(1, sizeof(*c));
	if (!c) {
		return CERR_NOMEM;
	}
	apply_defaults(&c->cfg, cfg);
	c->fd = -1;
	c->next_call_id = 1;
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		return CERR_NOMEM;
	}
	char service[8];
	snprintf(service, sizeof(service), "%u", (unsigned)port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	if (getaddrinfo(host, service, &hints, &res) != 0 || !res) {
		rpc_client_free(c);
		return CERR_NOT_FOUND;
	}
	cerr_t e = CERR_IO;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		e = connect_one(ai, c->cfg.timeout_ms, &c->fd);
		if (e == CERR_OK) {
			break;
		}
	}
	freeaddrinfo(res);
	if (e != CERR_OK) {
		rpc_client_free(c);
		return e;
	}
	*out = c;
	return CERR_OK;
}

void rpc_client_free(rpc_client_t *c)
{
	if (!c) {
		return;
	}
	if (c->fd >= 0) {
		close(c->fd);
	}
	if (c->has_sec && c->sec.free) {
		c->sec.free(c->sec.ctx);
	}
	pthread_mutex_destroy(&c->lock);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

void rpc_client_last_error(rpc_client_t *c, rpc_client_error_t *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->err;
	pthread_mutex_unlock(&c->lock);
}

uint16_t rpc_client_max_xmit_frag(rpc_client_t *c)
{
	pthread_mutex_lock(&c->lock);
	uint16_t v = c->xmit_frag;
	pthread_mutex_unlock(&c->lock);
	return v;
}

/* ---- bind ---- */

static const char *nak_reason_text(uint16_t r)
{
	switch (r) {
	case RPC_NAK_NOT_SPECIFIED: return "reason not specified";
	case RPC_NAK_TEMPORARY_CONGESTION: return "temporary congestion";
	case RPC_NAK_LOCAL_LIMIT_EXCEEDED: return "local limit exceeded";
	case RPC_NAK_CALLED_PADDR_UNKNOWN: return "called presentation address unknown";
	case RPC_NAK_PROTOCOL_VERSION_NOT_SUPPORTED: return "protocol version not supported";
	case RPC_NAK_DEFAULT_CONTEXT_NOT_SUPPORTED: return "default context not supported";
	case RPC_NAK_USER_DATA_NOT_READABLE: return "user data not readable";
	case RPC_NAK_NO_PSAP_AVAILABLE: return "no PSAP available";
	case RPC_NAK_AUTHENTICATION_TYPE_NOT_RECOGNIZED: return "authentication type not recognized";
	case RPC_NAK_INVALID_CHECKSUM: return "invalid checksum (the credentials were refused)";
	default: return "unknown reason";
	}
}

static const char *ctx_reason_text(uint16_t r)
{
	switch (r) {
	case RPC_REASON_NOT_SPECIFIED: return "reason not specified";
	case RPC_REASON_ABSTRACT_SYNTAX_NOT_SUPPORTED: return "abstract syntax (interface) not supported";
	case RPC_REASON_TRANSFER_SYNTAX_NOT_SUPPORTED: return "transfer syntax not supported";
	case RPC_REASON_LOCAL_LIMIT_EXCEEDED: return "local limit exceeded";
	default: return "unknown reason";
	}
}

/* send_buf writes the whole builder and resets it. */
static cerr_t send_buf(rpc_client_t *c, buf_t *b)
{
	if (!buf_ok(b)) {
		return fail(c, CERR_NOMEM, "building a PDU failed");
	}
	cerr_t e = write_all(c, b->data, b->len);
	buf_reset(b);
	return e;
}

static cerr_t bind_locked(rpc_client_t *c, const guid_t *iface, uint16_t vmaj, uint16_t vmin)
{
	arena_t *a = arena_new();
	if (!a) {
		return fail(c, CERR_NOMEM, "out of memory");
	}
	buf_t b, tok;
	buf_init(&b, RPC_FRAG_MAX);
	buf_init(&tok, RPC_FRAG_MAX);
	uint8_t *raw = NULL;
	cerr_t e;

	rpc_syntax_t ndr = {.uuid = RPC_NDR20_UUID, .version = RPC_NDR20_VERSION};
	rpc_ctx_elem_t ctx = {
		.ctx_id = 0,
		.abstract = {.uuid = *iface, .version = (uint32_t)vmaj | ((uint32_t)vmin << 16)},
		.n_transfer = 1,
		.transfer = &ndr,
	};
	uint32_t call_id = c->next_call_id++;
	rpc_hdr_t h;
	rpc_pdu_init_hdr(&h, RPC_PTYPE_BIND, RPC_PFC_FIRST_FRAG | RPC_PFC_LAST_FRAG, call_id);

	rpc_out_auth_t oa = {.auth_type = c->auth_type, .auth_level = c->auth_level,
			     .auth_context_id = CLIENT_AUTH_CONTEXT_ID};
	cerr_t sec_state = CERR_OK;
	if (c->has_sec) {
		sec_state = c->sec.step(c->sec.ctx, NULL, &tok);
		if (sec_state != CERR_OK && sec_state != CERR_STATUS_MORE_PROCESSING_REQUIRED) {
			e = fail(c, sec_state, "starting the security context failed: %s", cerr_msg(sec_state));
			goto out;
		}
		if (!buf_ok(&tok)) {
			e = fail(c, CERR_NOMEM, "security token too large");
			goto out;
		}
		oa.token = tok.data;
		oa.token_len = tok.len;
	}
	e = rpc_pdu_encode_bind(&b, &h, c->cfg.max_xmit_frag, c->cfg.max_recv_frag, 0, &ctx, 1,
				c->has_sec ? &oa : NULL);
	if (e != CERR_OK) {
		e = fail(c, e, "encoding the bind failed");
		goto out;
	}
	if ((e = send_buf(c, &b)) != CERR_OK) {
		goto out;
	}

	rpc_pdu_t pdu;
	if ((e = recv_pdu(c, a, &raw, &pdu)) != CERR_OK) {
		goto out;
	}
	if (pdu.hdr.ptype == RPC_PTYPE_BIND_NAK) {
		c->err.nak = true;
		c->err.nak_reason = pdu.u.bind_nak.reason;
		e = fail(c, CERR_RPC_BIND_NAK, "bind rejected (bind_nak): %s (reason %u)",
			 nak_reason_text(pdu.u.bind_nak.reason), pdu.u.bind_nak.reason);
		goto out;
	}
	if (pdu.hdr.ptype != RPC_PTYPE_BIND_ACK || pdu.hdr.call_id != call_id) {
		c->broken = true;
		e = fail(c, CERR_PROTOCOL, "expected bind_ack, got %s", rpc_ptype_name(pdu.hdr.ptype));
		goto out;
	}
	if (pdu.u.bind_ack.n_results < 1) {
		e = fail(c, CERR_PROTOCOL, "bind_ack without a context result");
		goto out;
	}
	const rpc_ctx_result_elem_t *res = &pdu.u.bind_ack.results[0];
	if (res->result != RPC_CTX_ACCEPT) {
		c->err.ctx_rejected = true;
		c->err.ctx_result = res->result;
		c->err.ctx_reason = res->reason;
		e = fail(c, CERR_RPC_CTX_REJECTED, "presentation context rejected (%s): %s",
			 res->result == RPC_CTX_PROVIDER_REJECT ? "provider rejection" : "user rejection",
			 ctx_reason_text(res->reason));
		goto out;
	}
	uint16_t xmit = pdu.u.bind_ack.max_recv_frag;
	if (xmit > c->cfg.max_xmit_frag) {
		xmit = c->cfg.max_xmit_frag;
	}
	if (xmit < RPC_FRAG_MIN_NEGOTIATED) {
		e = fail(c, CERR_PROTOCOL, "server offered a fragment size of %u", xmit);
		goto out;
	}
	c->xmit_frag = xmit;
	c->assoc_group = pdu.u.bind_ack.assoc_group_id;

	if (c->has_sec) {
		if (sec_state == CERR_STATUS_MORE_PROCESSING_REQUIRED) {
			if (!pdu.has_auth || pdu.auth.auth_type != c->auth_type) {
				e = fail(c, CERR_PROTOCOL, "bind_ack carries no authentication token");
				goto out;
			}
			buf_reset(&tok);
			cur_t in = pdu.auth.auth_value;
			sec_state = c->sec.step(c->sec.ctx, &in, &tok);
			if (sec_state != CERR_OK) {
				e = fail(c, sec_state == CERR_STATUS_MORE_PROCESSING_REQUIRED ? CERR_UNSUPPORTED : sec_state,
					 "authentication failed: %s", cerr_msg(sec_state));
				goto out;
			}
		}
		if (tok.len) {
			/* MS-RPCE 3.3.1.5.2.2: the third leg travels in an rpc_auth_3 PDU,
			 * which the server does not answer. */
			rpc_hdr_t h3;
			rpc_pdu_init_hdr(&h3, RPC_PTYPE_AUTH3, RPC_PFC_FIRST_FRAG | RPC_PFC_LAST_FRAG, call_id);
			oa.token = tok.data;
			oa.token_len = tok.len;
			if ((e = rpc_pdu_encode_auth3(&b, &h3, &oa)) != CERR_OK) {
				e = fail(c, e, "encoding auth3 failed");
				goto out;
			}
			if ((e = send_buf(c, &b)) != CERR_OK) {
				goto out;
			}
		}
	}
	c->bound = true;
	e = CERR_OK;
out:
	if (tok.data) {
		OPENSSL_cleanse(tok.data, tok.cap);
	}
	buf_free(&tok);
	buf_free(&b);
	free(raw);
	arena_free(a);
	return e;
}

cerr_t rpc_client_bind_sec(rpc_client_t *c, const guid_t *iface, uint16_t vers_major, uint16_t vers_minor,
			   const rpc_client_sec_t *sec, uint8_t auth_level)
{
	pthread_mutex_lock(&c->lock);
	clear_err(c);
	cerr_t e;
	if (c->bound || c->has_sec) {
		if (sec && sec->free) {
			sec->free(sec->ctx);
		}
		e = fail(c, CERR_UNSUPPORTED, "this connection is already bound");
		goto out;
	}
	if (sec) {
		if (auth_level < RPC_AUTH_LEVEL_CONNECT || auth_level > RPC_AUTH_LEVEL_PKT_PRIVACY ||
		    !sec->step || !sec->sig_len || !sec->protect || !sec->unprotect) {
			if (sec->free) {
				sec->free(sec->ctx);
			}
			e = fail(c, CERR_INVALID_ARG, "invalid security settings");
			goto out;
		}
		c->sec = *sec;
		c->has_sec = true;
		c->auth_type = sec->auth_type;
		c->auth_level = auth_level;
	} else {
		c->auth_type = RPC_AUTH_NONE;
		c->auth_level = RPC_AUTH_LEVEL_NONE;
	}
	if (c->broken) {
		e = fail(c, CERR_CLOSED, "the connection is no longer usable");
		goto out;
	}
	e = bind_locked(c, iface, vers_major, vers_minor);
out:
	pthread_mutex_unlock(&c->lock);
	return e;
}

/* ---- NTLM initiator adapter (rpc/ntlm.h) ---- */

/* MS-RPCE 3.3.1.5.2 with NTLM: NEGOTIATE rides in the bind, CHALLENGE comes
 * back in bind_ack, AUTHENTICATE goes in auth3. */
static cerr_t ntlm_sec_step(void *ctx, const cur_t *in, buf_t *out)
{
	if (!in) {
		cerr_t e = ntlm_client_negotiate(ctx, out);
		return e == CERR_OK ? CERR_STATUS_MORE_PROCESSING_REQUIRED : e;
	}
	return ntlm_client_authenticate(ctx, in, out);
}

static size_t ntlm_sec_sig_len(void *ctx)
{
	(void)ctx;
	return NTLM_SIG_LEN;
}

static cerr_t ntlm_sec_protect(void *ctx, uint8_t *pdu, size_t pdu_len, size_t stub_offset, size_t stub_len,
			       size_t verifier_offset, bool seal, bool header_sign)
{
	return ntlm_client_protect(ctx, pdu, pdu_len, stub_offset, stub_len, verifier_offset, seal, header_sign);
}

static cerr_t ntlm_sec_unprotect(void *ctx, uint8_t *pdu, size_t pdu_len, size_t stub_offset, size_t stub_len,
				 size_t verifier_offset, bool seal, bool header_sign)
{
	return ntlm_client_unprotect(ctx, pdu, pdu_len, stub_offset, stub_len, verifier_offset, seal, header_sign);
}

static void ntlm_sec_free(void *ctx)
{
	ntlm_client_free(ctx);
}

cerr_t rpc_client_bind(rpc_client_t *c, const guid_t *iface, uint16_t vers_major, uint16_t vers_minor,
		       const rpc_client_auth_t *auth)
{
	if (!auth || auth->auth_type == RPC_AUTH_NONE) {
		return rpc_client_bind_sec(c, iface, vers_major, vers_minor, NULL, RPC_AUTH_LEVEL_NONE);
	}
	if (auth->auth_type != RPC_AUTH_WINNT) {
		pthread_mutex_lock(&c->lock);
		cerr_t e = fail(c, CERR_UNSUPPORTED, "authentication type %u is not supported by the client",
				auth->auth_type);
		pthread_mutex_unlock(&c->lock);
		return e;
	}
	ntlm_client_t *n = ntlm_client_new(auth->user, auth->domain, auth->password, auth->workstation);
	if (!n) {
		pthread_mutex_lock(&c->lock);
		cerr_t e = fail(c, CERR_INVALID_ARG, "setting up NTLM failed (invalid UTF-8 in a name, or no memory)");
		pthread_mutex_unlock(&c->lock);
		return e;
	}
	rpc_client_sec_t sec = {
		.auth_type = RPC_AUTH_WINNT,
		.ctx = n,
		.step = ntlm_sec_step,
		.sig_len = ntlm_sec_sig_len,
		.protect = ntlm_sec_protect,
		.unprotect = ntlm_sec_unprotect,
		.free = ntlm_sec_free,
	};
	return rpc_client_bind_sec(c, iface, vers_major, vers_minor, &sec, auth->auth_level);
}

/* ---- calls ---- */

/* protected_level: requests and responses carry a verifier (MS-RPCE 3.3.1.5.2:
 * at CONNECT level only the bind legs are authenticated). */
static bool protected_level(const rpc_client_t *c)
{
	return c->has_sec && c->auth_level >= RPC_AUTH_LEVEL_PKT_INTEGRITY;
}

static cerr_t send_request(rpc_client_t *c, uint32_t call_id, uint16_t opnum, const guid_t *object,
			   const uint8_t *stub, size_t stub_len)
{
	bool prot = protected_level(c);
	size_t sig_len = prot ? c->sec.sig_len(c->sec.ctx) : 0;
	size_t overhead = RPC_REQUEST_HDR_LEN + (object ? 16u : 0u) + (prot ? RPC_SEC_TRAILER_LEN + sig_len : 0u);
	if (overhead + RPC_AUTH_PAD_ALIGN > c->xmit_frag) {
		return fail(c, CERR_LIMIT, "negotiated fragment size too small");
	}
	/* With a verifier, every fragment but the last carries a multiple of 16
	 * stub bytes so it needs no auth padding; the last pads up within the room
	 * left. Without one, keep chunks 8-aligned as Windows does. */
	size_t room = (size_t)c->xmit_frag - overhead;
	size_t chunk_max = prot ? room & ~(size_t)(RPC_AUTH_PAD_ALIGN - 1) : room & ~(size_t)7;
	rpc_out_auth_t oa = {.auth_type = c->auth_type, .auth_level = c->auth_level,
			     .auth_context_id = CLIENT_AUTH_CONTEXT_ID};
	buf_t b;
	buf_init(&b, RPC_FRAG_MAX);
	size_t off = 0;
	cerr_t e = CERR_OK;
	do {
		size_t n = stub_len - off < chunk_max ? stub_len - off : chunk_max;
		uint8_t flags = 0;
		if (off == 0) {
			flags |= RPC_PFC_FIRST_FRAG;
		}
		if (off + n == stub_len) {
			flags |= RPC_PFC_LAST_FRAG;
		}
		rpc_hdr_t h;
		rpc_pdu_init_hdr(&h, RPC_PTYPE_REQUEST, flags, call_id);
		rpc_frag_layout_t lay;
		buf_reset(&b);
		e = rpc_pdu_encode_request_frag(&b, &h, (uint32_t)(stub_len - off), 0, opnum, object,
						stub ? stub + off : NULL, n, prot ? &oa : NULL, sig_len, &lay);
		if (e != CERR_OK || !buf_ok(&b)) {
			e = fail(c, e != CERR_OK ? e : CERR_NOMEM, "encoding a request fragment failed");
			break;
		}
		if (prot) {
			e = c->sec.protect(c->sec.ctx, b.data + lay.pdu_offset, lay.pdu_length, lay.stub_offset,
					   lay.stub_length, lay.verifier_offset,
					   c->auth_level == RPC_AUTH_LEVEL_PKT_PRIVACY, false);
			if (e != CERR_OK) {
				e = fail(c, e, "signing/sealing the request failed: %s", cerr_msg(e));
				break;
			}
		}
		if ((e = send_buf(c, &b)) != CERR_OK) {
			break;
		}
		off += n;
	} while (off < stub_len);
	buf_free(&b);
	return e;
}

static cerr_t fault_code(uint32_t status)
{
	cerr_t e = cerr_lookup(CERR_SPACE_NCA, status);
	if (e == CERR__COUNT) {
		e = cerr_lookup(CERR_SPACE_WIN32, status);
	}
	if (e == CERR__COUNT) {
		e = cerr_lookup(CERR_SPACE_HRESULT, status);
	}
	return e == CERR__COUNT ? CERR_RPC_FAULT : e;
}

static cerr_t recv_response(rpc_client_t *c, uint32_t call_id, uint8_t **out, size_t *out_len)
{
	buf_t acc;
	buf_init(&acc, c->cfg.max_stub);
	cerr_t e = CERR_OK;
	bool first = true;
	for (;;) {
		arena_t *a = arena_new();
		if (!a) {
			e = fail(c, CERR_NOMEM, "out of memory");
			break;
		}
		uint8_t *raw = NULL;
		rpc_pdu_t pdu;
		e = recv_pdu(c, a, &raw, &pdu);
		if (e != CERR_OK) {
			arena_free(a);
			break;
		}
		bool last = (pdu.hdr.pfc_flags & RPC_PFC_LAST_FRAG) != 0;
		if (pdu.hdr.call_id != call_id) {
			c->broken = true;
			e = fail(c, CERR_PROTOCOL, "response for call %u while waiting for call %u", pdu.hdr.call_id,
				 call_id);
		} else if (pdu.hdr.ptype == RPC_PTYPE_FAULT) {
			c->err.fault_status = pdu.u.fault.status;
			e = fault_code(pdu.u.fault.status);
			char d[200];
			fail(c, e, "the server returned a fault: %s", cerr_describe(pdu.u.fault.status, d, sizeof(d)));
			/* a fault ends the call; anything left of it is not sent */
			last = true;
		} else if (pdu.hdr.ptype != RPC_PTYPE_RESPONSE) {
			c->broken = true;
			e = fail(c, CERR_PROTOCOL, "expected a response, got %s", rpc_ptype_name(pdu.hdr.ptype));
		} else if (first && !(pdu.hdr.pfc_flags & RPC_PFC_FIRST_FRAG)) {
			c->broken = true;
			e = fail(c, CERR_PROTOCOL, "first response fragment lacks PFC_FIRST_FRAG");
		} else if (protected_level(c)) {
			if (!pdu.has_auth || pdu.auth.auth_type != c->auth_type || pdu.auth.auth_level != c->auth_level ||
			    pdu.auth.auth_context_id != CLIENT_AUTH_CONTEXT_ID) {
				c->broken = true;
				e = fail(c, CERR_SEC_E_MESSAGE_ALTERED, "response lacks the expected verifier");
			} else {
				e = c->sec.unprotect(c->sec.ctx, raw, pdu.hdr.frag_length, pdu.stub_offset,
						     pdu.stub_length + pdu.auth.auth_pad_length,
						     pdu.trailer_offset + RPC_SEC_TRAILER_LEN,
						     c->auth_level == RPC_AUTH_LEVEL_PKT_PRIVACY, false);
				if (e != CERR_OK) {
					c->broken = true;
					e = fail(c, e, "the response's verifier did not check: %s", cerr_msg(e));
				}
			}
		}
		if (e == CERR_OK && pdu.hdr.ptype == RPC_PTYPE_RESPONSE) {
			cur_t s = pdu.u.response.stub;
			buf_put_bytes(&acc, cur_data(&s), cur_len(&s));
			if (!buf_ok(&acc)) {
				e = fail(c, CERR_LIMIT, "response larger than %zu bytes", c->cfg.max_stub);
			}
		}
		free(raw);
		arena_free(a);
		first = false;
		if (e != CERR_OK || last) {
			break;
		}
	}
	if (e == CERR_OK) {
		*out = buf_take(&acc, out_len);
		if (!*out) {
			e = fail(c, CERR_NOMEM, "out of memory");
		}
	}
	buf_free(&acc);
	return e;
}

cerr_t rpc_client_call(rpc_client_t *c, uint16_t opnum, const guid_t *object, const uint8_t *stub,
		       size_t stub_len, uint8_t **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	pthread_mutex_lock(&c->lock);
	clear_err(c);
	cerr_t e;
	if (!c->bound) {
		e = fail(c, CERR_INVALID_ARG, "call before a successful bind");
	} else if (c->broken) {
		e = fail(c, CERR_CLOSED, "the connection is no longer usable");
	} else {
		uint32_t call_id = c->next_call_id++;
		e = send_request(c, call_id, opnum, object, stub, stub_len);
		if (e == CERR_OK) {
			e = recv_response(c, call_id, out, out_len);
		} else {
			c->broken = true; /* a partly sent call leaves the stream unusable */
		}
	}
	pthread_mutex_unlock(&c->lock);
	return e;
}

/* ---- endpoint mapper (ept_map opnum 3: C706 App. O; towers: C706 App. L,
 * MS-RPCE 2.2.1.2) ---- */

/* e1af8308-5d1f-11c9-91a4-08002b14a0fa v3.0 */
static const guid_t CLIENT_EPM_UUID = {0xe1af8308, 0x5d1f, 0x11c9, {0x91, 0xa4, 0x08, 0x00, 0x2b, 0x14, 0xa0, 0xfa}};
#define CLIENT_EPM_VERS_MAJOR 3
#define CLIENT_EPM_VERS_MINOR 0
#define CLIENT_EPM_MAX_TOWERS 4
/* ept_map status when nothing is registered (C706 App. E ept_s_not_registered) */
#define EPT_S_NOT_REGISTERED_DCE 0x16c9a0d6u

cerr_t rpc_client_epm_encode_map(buf_t *b, const guid_t *iface, uint16_t vers_major, uint16_t vers_minor)
{
	static const uint8_t any_ip[4] = {0, 0, 0, 0};
	buf_t tower;
	buf_init(&tower, EPM_MAX_TOWER_LEN);
	epm_tower_put_tcp(&tower, iface, vers_major, vers_minor, 0, any_ip);
	if (!buf_ok(&tower)) {
		buf_free(&tower);
		return CERR_NOMEM;
	}
	buf_set_base(b);
	/* [in, ptr] uuid_p_t object: Windows sends a nil UUID rather than NULL */
	buf_put_u32(b, 1);
	buf_put_zeros(b, 16);
	/* [in, ptr] twr_p_t map_tower: referent, then the conformant struct
	 * (max_count hoisted first, then tower_length and the octets) */
	buf_put_u32(b, 2);
	buf_put_u32(b, (uint32_t)tower.len);
	buf_put_u32(b, (uint32_t)tower.len);
	buf_put_bytes(b, tower.data, tower.len);
	buf_align(b, 4);
	/* [in, out] ept_lookup_handle_t entry_handle: a nil context handle */
	buf_put_zeros(b, 20);
	buf_put_u32(b, CLIENT_EPM_MAX_TOWERS);
	buf_free(&tower);
	return buf_ok(b) ? CERR_OK : CERR_NOMEM;
}

cerr_t rpc_client_epm_decode_map(const uint8_t *stub, size_t len, uint16_t *out_port, uint32_t *out_status)
{
	cur_t c;
	cur_init(&c, stub, len);
	uint32_t num_towers, max_count, offset, actual;
	*out_port = 0;
	*out_status = 0;
	if (!cur_skip(&c, 20) || !cur_get_u32(&c, &num_towers) || !cur_get_u32(&c, &max_count) ||
	    !cur_get_u32(&c, &offset) || !cur_get_u32(&c, &actual)) {
		return CERR_TRUNCATED;
	}
	if (offset != 0 || actual > max_count || actual != num_towers || actual > cur_len(&c) / 4) {
		return CERR_MALFORMED;
	}
	uint32_t refs[CLIENT_EPM_MAX_TOWERS];
	if (actual > CLIENT_EPM_MAX_TOWERS) {
		return CERR_MALFORMED; /* we asked for at most CLIENT_EPM_MAX_TOWERS */
	}
	for (uint32_t i = 0; i < actual; i++) {
		if (!cur_get_u32(&c, &refs[i])) {
			return CERR_TRUNCATED;
		}
	}
	bool found = false;
	for (uint32_t i = 0; i < actual; i++) {
		if (refs[i] == 0) {
			continue;
		}
		uint32_t tmax, tlen;
		cur_t tower;
		if (!cur_align(&c, 4) || !cur_get_u32(&c, &tmax) || !cur_get_u32(&c, &tlen)) {
			return CERR_TRUNCATED;
		}
		if (tlen != tmax) {
			return CERR_MALFORMED;
		}
		if (!cur_get_bytes(&c, &tower, tmax)) {
			return CERR_TRUNCATED;
		}
		epm_tower_t t;
		if (!found && epm_tower_parse(&tower, &t) == CERR_OK && t.protocol == EPM_FLOOR_RPC_CO &&
		    t.transport == EPM_FLOOR_TCP && t.port != 0) {
			*out_port = t.port;
			found = true;
		}
	}
	uint32_t status;
	if (!cur_align(&c, 4) || !cur_get_u32(&c, &status)) {
		return CERR_TRUNCATED;
	}
	if (!cur_empty(&c)) {
		return CERR_MALFORMED;
	}
	*out_status = status;
	if (status == 0 && !found) {
		*out_status = EPT_S_NOT_REGISTERED_DCE;
	}
	return CERR_OK;
}

cerr_t rpc_client_ept_map(const char *host, uint16_t epm_port, const guid_t *iface, uint16_t vers_major,
			  uint16_t vers_minor, const rpc_client_config_t *cfg, uint16_t *out_port,
			  rpc_client_error_t *err)
{
	rpc_client_t *c = NULL;
	uint8_t *resp = NULL;
	size_t resp_len = 0;
	buf_t req;
	buf_init(&req, 4096);
	if (err) {
		memset(err, 0, sizeof(*err));
	}
	cerr_t e = rpc_client_connect(&c, host, epm_port ? epm_port : 135, cfg);
	if (e != CERR_OK) {
		if (err) {
			err->status = e;
			snprintf(err->detail, sizeof(err->detail), "cannot connect to the endpoint mapper at %s:%u: %s",
				 host, (unsigned)(epm_port ? epm_port : 135),
				 e == CERR_IO ? strerror(errno) : e == CERR_NOT_FOUND ? "unknown host" : cerr_msg(e));
		}
		goto out;
	}
	e = rpc_client_bind(c, &CLIENT_EPM_UUID, CLIENT_EPM_VERS_MAJOR, CLIENT_EPM_VERS_MINOR, NULL);
	if (e == CERR_OK) {
		e = rpc_client_epm_encode_map(&req, iface, vers_major, vers_minor);
		if (e == CERR_OK) {
			e = rpc_client_call(c, EPM_OP_MAP, NULL, req.data, req.len, &resp, &resp_len);
		}
	}
	if (e != CERR_OK) {
		if (err) {
			rpc_client_last_error(c, err);
			err->status = e;
		}
		goto out;
	}
	uint32_t status;
	e = rpc_client_epm_decode_map(resp, resp_len, out_port, &status);
	if (e != CERR_OK) {
		if (err) {
			err->status = CERR_PROTOCOL;
			snprintf(err->detail, sizeof(err->detail), "undecodable ept_map response (%s)", cerr_name(e));
		}
		e = CERR_PROTOCOL;
		goto out;
	}
	if (status != 0) {
		e = status == EPT_S_NOT_REGISTERED_DCE ? CERR_EPT_S_NOT_REGISTERED : cerr_lookup_any(status);
		if (e == CERR__COUNT) {
			e = CERR_PROTOCOL;
		}
		if (err) {
			err->status = e;
			snprintf(err->detail, sizeof(err->detail),
				 "the endpoint mapper knows no TCP endpoint for the interface (status 0x%08x)", status);
		}
	}
out:
	free(resp);
	buf_free(&req);
	rpc_client_free(c);
	return e;
}
