/*
 * server.c - the RPC server runtime: TCP listeners (IPv4 and IPv6), one
 * epoll I/O thread that frames each connection's byte stream into whole PDUs
 * for its association (assoc.c), and a pool of worker threads that run calls.
 *
 * Ownership: a connection belongs to the I/O thread, or, while one of its
 * calls runs, to exactly one worker. While a call runs the socket is taken
 * out of epoll (no reads, no events); the worker runs the handler, builds
 * the response PDUs into the connection's output buffer (signing and sealing
 * with the association's security context, which it owns for the moment),
 * and hands the connection back through a queue and an eventfd.
 *
 * Memory: no thread per connection; a connection holds a read buffer only
 * while a PDU is arriving (sized to the PDU, at most one PDU at a time) and
 * an output buffer only while bytes wait to be sent.
 */
#include "rpc/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rpc/assoc.h"
#include "rpc/pdu.h"
#include "util/log.h"

#define READ_BUF_INITIAL 1024u /* enough for most PDUs; grown to frag_length */
#define PDUS_PER_EVENT 16      /* fairness: a busy client yields to others */
#define MAX_LISTENERS 16
#define ACCEPT_PAUSE_MS 100 /* after EMFILE, before accepting again */

enum ev_kind { EV_LISTENER, EV_CONN, EV_STOP, EV_DONE };

struct ev_tag {
	enum ev_kind kind;
};

struct listener {
	struct ev_tag tag; /* first: epoll data points here */
	int fd;
	enum rpc_listen_role role;
	uint16_t port;
};

typedef struct conn {
	struct ev_tag tag; /* first */
	int fd;
	assoc_t *assoc;
	uint8_t *rbuf; /* the PDU arriving */
	size_t rlen;
	size_t rcap;
	size_t rneed;       /* 16 until the header is in, then frag_length */
	buf_t out;          /* bytes to send */
	size_t out_off;
	assoc_call_t *call; /* the call a worker runs */
	cerr_t worker_rc;
	bool busy;    /* a worker owns the connection */
	bool closing; /* close once out is sent */
	bool in_epoll;
	uint32_t events;
	int64_t last_active_ms;
	struct conn *prev, *next; /* idle list (I/O-owned connections), oldest first */
	struct conn *qnext;       /* job or done queue */
	char peer[INET6_ADDRSTRLEN];
	char local[INET6_ADDRSTRLEN];
} conn_t;

struct rpc_server {
	assoc_registry_t *reg;
	int epfd;
	int stop_fd;
	int done_fd;
	struct ev_tag stop_tag;
	struct ev_tag done_tag;
	struct listener ls[MAX_LISTENERS];
	size_t n_ls;
	bool accept_paused;
	int64_t accept_paused_at;
	unsigned long refused; /* connections refused since the last log line */
	int64_t refused_logged_ms;

	pthread_t *workers;
	unsigned n_workers;
	pthread_mutex_t qlock; /* job queue */
	pthread_cond_t qcond;
	conn_t *job_head, *job_tail;
	bool quit;
	pthread_mutex_t dlock; /* done queue */
	conn_t *done_head, *done_tail;

	conn_t *idle_head, *idle_tail;
	size_t n_conns;
	bool running;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ */
/* construction and registration */

rpc_server_t *rpc_server_new(const rpc_server_config_t *cfg)
{
	rpc_server_t *s = calloc(1, sizeof(*s));
	if (!s) {
		return NULL;
	}
	s->epfd = s->stop_fd = s->done_fd = -1;
	pthread_mutex_init(&s->qlock, NULL);
	pthread_cond_init(&s->qcond, NULL);
	pthread_mutex_init(&s->dlock, NULL);
	s->reg = assoc_registry_new(cfg);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!s->reg || s->epfd < 0 || s->stop_fd < 0 || s->done_fd < 0) {
		log_error("rpc: cannot create the server: %s", strerror(errno));
		rpc_server_free(s);
		return NULL;
	}
	s->stop_tag.kind = EV_STOP;
	s->done_tag.kind = EV_DONE;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->stop_tag};
	struct epoll_event ev2 = {.events = EPOLLIN, .data.ptr = &s->done_tag};
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->stop_fd, &ev) != 0 ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->done_fd, &ev2) != 0) {
		log_error("rpc: epoll_ctl: %s", strerror(errno));
		rpc_server_free(s);
		return NULL;
	}
	return s;
}

void rpc_server_set_hooks(rpc_server_t *s, const rpc_server_hooks_t *hooks)
{
	assoc_registry_set_hooks(s->reg, hooks);
}

cerr_t rpc_server_add_iface(rpc_server_t *s, const rpc_iface_t *iface, int roles)
{
	cerr_t e = assoc_registry_add_iface(s->reg, iface, roles);
	if (e == CERR_OK) {
		char u[GUID_STR_LEN + 1];
		guid_format(&iface->uuid, u);
		log_debug("rpc: interface %s %s v%u.%u registered (roles 0x%x)", iface->name ? iface->name : "?", u,
			  iface->vers_major, iface->vers_minor, (unsigned)roles);
	}
	return e;
}

cerr_t rpc_server_add_auth(rpc_server_t *s, const rpc_auth_provider_t *provider)
{
	return assoc_registry_add_auth(s->reg, provider);
}

/* ------------------------------------------------------------------ */
/* listeners */

static cerr_t listen_one(rpc_server_t *s, const struct sockaddr *sa, socklen_t salen, enum rpc_listen_role role,
			 uint16_t *out_port)
{
	if (s->n_ls >= MAX_LISTENERS) {
		return CERR_LIMIT;
	}
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return CERR_IO;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa->sa_family == AF_INET6) {
		/* one socket per family, so "::" does not also claim IPv4 */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (bind(fd, sa, salen) != 0 || listen(fd, SOMAXCONN) != 0) {
		int err = errno;
		close(fd);
		errno = err;
		return CERR_IO;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	uint16_t port = 0;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
						: ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	struct listener *l = &s->ls[s->n_ls];
	l->tag.kind = EV_LISTENER;
	l->fd = fd;
	l->role = role;
	l->port = port;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &l->tag};
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		close(fd);
		return CERR_IO;
	}
	s->n_ls++;
	*out_port = port;
	return CERR_OK;
}

static cerr_t listen_addr(rpc_server_t *s, const char *addr, uint16_t port, enum rpc_listen_role role,
			  uint16_t *out_port)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char pbuf[8];
	snprintf(pbuf, sizeof(pbuf), "%u", (unsigned)port);
	int rc = getaddrinfo(addr, pbuf, &hints, &res);
	if (rc != 0 || !res) {
		log_error("rpc: cannot listen on %s: %s", addr, gai_strerror(rc));
		errno = 0; /* not a socket error: the caller reports the cerr_t */
		return CERR_CONFIG;
	}
	cerr_t e = listen_one(s, res->ai_addr, res->ai_addrlen, role, out_port);
	int err = e == CERR_IO ? errno : 0;
	if (e != CERR_OK) {
		log_error("rpc: cannot listen on [%s]:%u: %s", addr, (unsigned)port, err ? strerror(err) : cerr_msg(e));
	}
	freeaddrinfo(res);
	errno = err; /* callers explain EADDRINUSE / EACCES from errno */
	return e;
}

cerr_t rpc_server_listen(rpc_server_t *s, const char *addr, uint16_t port, enum rpc_listen_role role,
			 uint16_t *out_port)
{
	uint16_t got = 0;
	cerr_t e;
	if (addr && addr[0] && strcmp(addr, "*") != 0) {
		e = listen_addr(s, addr, port, role, &got);
		if (e != CERR_OK) {
			return e;
		}
	} else {
		/* every address: IPv4, then IPv6 on the same port when the host has it */
		e = listen_addr(s, "0.0.0.0", port, role, &got);
		if (e != CERR_OK) {
			return e;
		}
		uint16_t got6;
		if (listen_addr(s, "::", got, role, &got6) != CERR_OK) {
			log_warn("rpc: going on without IPv6 on port %u", got);
			errno = 0;
		}
	}
	log_info("rpc: listening on %s port %u (%s)", addr && addr[0] ? addr : "*", got,
		 role == RPC_LISTEN_EPM ? "endpoint mapper" : "dynamic");
	if (out_port) {
		*out_port = got;
	}
	return CERR_OK;
}

struct foreach_ctx {
	rpc_server_t *s;
	rpc_endpoint_fn fn;
	void *arg;
};

static void foreach_iface(void *arg, const rpc_iface_t *iface, int roles)
{
	struct foreach_ctx *fc = arg;
	rpc_server_t *s = fc->s;
	for (size_t i = 0; i < s->n_ls; i++) {
		if (!(roles & (int)s->ls[i].role)) {
			continue;
		}
		bool dup = false; /* the IPv4 and IPv6 listeners of one port are one endpoint */
		for (size_t j = 0; j < i && !dup; j++) {
			dup = s->ls[j].role == s->ls[i].role && s->ls[j].port == s->ls[i].port;
		}
		if (!dup) {
			fc->fn(fc->arg, iface, s->ls[i].role, s->ls[i].port);
		}
	}
}

void rpc_server_foreach_endpoint(rpc_server_t *s, rpc_endpoint_fn fn, void *arg)
{
	struct foreach_ctx fc = {s, fn, arg};
	assoc_registry_foreach_iface(s->reg, foreach_iface, &fc);
}

/* ------------------------------------------------------------------ */
/* connections */

static void idle_remove(rpc_server_t *s, conn_t *c)
{
	if (c->prev) {
		c->prev->next = c->next;
	} else if (s->idle_head == c) {
		s->idle_head = c->next;
	}
	if (c->next) {
		c->next->prev = c->prev;
	} else if (s->idle_tail == c) {
		s->idle_tail = c->prev;
	}
	c->prev = c->next = NULL;
}

/* touch marks activity: the connection moves to the young end of the idle list */
static void touch(rpc_server_t *s, conn_t *c)
{
	c->last_active_ms = now_ms();
	idle_remove(s, c);
	c->prev = s->idle_tail;
	if (s->idle_tail) {
		s->idle_tail->next = c;
	} else {
		s->idle_head = c;
	}
	s->idle_tail = c;
}

static bool set_events(rpc_server_t *s, conn_t *c, uint32_t events)
{
	if (c->in_epoll && c->events == events) {
		return true;
	}
	struct epoll_event ev = {.events = events, .data.ptr = &c->tag};
	if (epoll_ctl(s->epfd, c->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) != 0) {
		log_warn("rpc: epoll_ctl on %s: %s", c->peer, strerror(errno));
		return false;
	}
	c->in_epoll = true;
	c->events = events;
	return true;
}

static void conn_close(rpc_server_t *s, conn_t *c)
{
	if (c->busy) {
		/* a worker owns it: it is closed when handed back */
		c->closing = true;
		return;
	}
	if (c->in_epoll) {
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	}
	close(c->fd);
	idle_remove(s, c);
	assoc_call_free(c->call);
	assoc_free(c->assoc);
	free(c->rbuf);
	buf_free(&c->out);
	s->n_conns--;
	log_debug("rpc: connection from %s closed (%zu open)", c->peer, s->n_conns);
	free(c);
}

static void conn_free_rbuf(conn_t *c)
{
	free(c->rbuf);
	c->rbuf = NULL;
	c->rcap = c->rlen = 0;
	c->rneed = RPC_HDR_LEN;
}

/* flush sends what is queued. Returns false when the connection was closed. */
static bool flush(rpc_server_t *s, conn_t *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
		if (n > 0) {
			c->out_off += (size_t)n;
			touch(s, c);
			continue;
		}
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* wait until writable; read nothing more meanwhile (back-pressure) */
			if (!set_events(s, c, EPOLLOUT)) {
				c->closing = true;
				conn_close(s, c);
				return false;
			}
			return true;
		}
		log_debug("rpc: send to %s failed: %s", c->peer, strerror(errno));
		conn_close(s, c);
		return false;
	}
	buf_free(&c->out); /* nothing held while idle */
	c->out_off = 0;
	if (c->closing) {
		conn_close(s, c);
		return false;
	}
	if (!set_events(s, c, EPOLLIN)) {
		conn_close(s, c);
		return false;
	}
	return true;
}

static void worker_enqueue(rpc_server_t *s, conn_t *c)
{
	pthread_mutex_lock(&s->qlock);
	c->qnext = NULL;
	if (s->job_tail) {
		s->job_tail->qnext = c;
	} else {
		s->job_head = c;
	}
	s->job_tail = c;
	pthread_cond_signal(&s->qcond);
	pthread_mutex_unlock(&s->qlock);
}

/* dispatch hands the connection to a worker: out of epoll and the idle list */
static void dispatch(rpc_server_t *s, conn_t *c, assoc_call_t *call)
{
	if (c->in_epoll) {
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		c->in_epoll = false;
	}
	idle_remove(s, c);
	c->call = call;
	c->busy = true;
	worker_enqueue(s, c);
}

/* conn_read reads and handles up to PDUS_PER_EVENT whole PDUs. */
static void conn_read(rpc_server_t *s, conn_t *c)
{
	const rpc_server_config_t *cfg = assoc_registry_config(s->reg);
	for (int handled = 0; handled < PDUS_PER_EVENT;) {
		if (c->rneed > c->rcap) {
			size_t cap = c->rneed < READ_BUF_INITIAL ? READ_BUF_INITIAL : c->rneed;
			uint8_t *nb = realloc(c->rbuf, cap);
			if (!nb) {
				log_warn("rpc: out of memory reading from %s", c->peer);
				conn_close(s, c);
				return;
			}
			c->rbuf = nb;
			c->rcap = cap;
		}
		ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rneed - c->rlen, 0);
		if (n == 0) {
			log_debug("rpc: %s closed the connection", c->peer);
			conn_close(s, c);
			return;
		}
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (c->rlen == 0) {
					conn_free_rbuf(c); /* idle: hold no buffer */
				}
				return;
			}
			log_debug("rpc: recv from %s failed: %s", c->peer, strerror(errno));
			conn_close(s, c);
			return;
		}
		c->rlen += (size_t)n;
		touch(s, c);
		if (c->rlen < c->rneed) {
			continue;
		}
		if (c->rneed == RPC_HDR_LEN) {
			uint16_t frag;
			if (rpc_pdu_peek_length(c->rbuf, c->rlen, &frag) != CERR_OK) {
				log_info("rpc: %s sent bytes that are not DCE/RPC; closing", c->peer);
				conn_close(s, c);
				return;
			}
			c->rneed = frag;
			/* Only bind and alter_context may exceed max_recv_frag (Samba notes
			 * the same of Windows). A larger request is refused from its header
			 * alone, so no one makes us buffer 64 KiB by promising it: the
			 * association faults the truncated PDU and the connection closes. */
			uint8_t ptype = 0;
			cur_t hc;
			cur_init(&hc, c->rbuf, c->rlen);
			(void)(cur_skip(&hc, 2) && cur_get_u8(&hc, &ptype));
			if (frag > cfg->max_recv_frag && ptype != RPC_PTYPE_BIND && ptype != RPC_PTYPE_ALTER_CONTEXT) {
				c->rneed = c->rlen;
			}
			if (c->rlen < c->rneed) {
				continue;
			}
		}
		/* one whole PDU */
		handled++;
		assoc_call_t *call = NULL;
		cerr_t e = assoc_input(c->assoc, c->rbuf, c->rlen, &c->out, &call);
		c->rlen = 0;
		c->rneed = RPC_HDR_LEN;
		if (e != CERR_OK) {
			c->closing = true;
			flush(s, c);
			return;
		}
		if (call) {
			dispatch(s, c, call);
			return;
		}
		if (c->out.len > c->out_off) {
			if (!flush(s, c)) {
				return;
			}
			if (c->out.len > c->out_off) {
				return; /* waiting for EPOLLOUT */
			}
		}
	}
}

static void conn_event(rpc_server_t *s, conn_t *c, uint32_t events)
{
	if (events & EPOLLOUT) {
		if (!flush(s, c)) {
			return;
		}
		if (c->out.len > c->out_off) {
			return;
		}
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		conn_read(s, c);
	}
}

static void accept_all(rpc_server_t *s, struct listener *l)
{
	const rpc_server_config_t *cfg = assoc_registry_config(s->reg);
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED) {
				continue;
			}
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* out of descriptors: stop accepting briefly rather than spin */
				log_warn("rpc: accept: %s; pausing accepts", strerror(errno));
				for (size_t i = 0; i < s->n_ls; i++) {
					struct epoll_event ev = {.events = 0, .data.ptr = &s->ls[i].tag};
					epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->ls[i].fd, &ev);
				}
				s->accept_paused = true;
				s->accept_paused_at = now_ms();
			}
			return;
		}
		char peer[INET6_ADDRSTRLEN] = "?";
		uint16_t pport = 0;
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &sin->sin_addr, peer, sizeof(peer));
			pport = ntohs(sin->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &sin6->sin6_addr, peer, sizeof(peer));
			pport = ntohs(sin6->sin6_port);
		}
		if (s->n_conns >= cfg->max_connections) {
			/* one line a second at most: a flood must not become a log flood */
			s->refused++;
			int64_t now = now_ms();
			if (now - s->refused_logged_ms >= 1000) {
				log_info("rpc: refused %lu connection(s) (last from %s:%u): %zu open (max_connections)",
					 s->refused, peer, pport, s->n_conns);
				s->refused = 0;
				s->refused_logged_ms = now;
			}
			close(fd);
			continue;
		}
		conn_t *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->tag.kind = EV_CONN;
		c->fd = fd;
		c->rneed = RPC_HDR_LEN;
		buf_init(&c->out, 0);
		snprintf(c->peer, sizeof(c->peer), "%s", peer);
		/* the address the client dialled, for DCOM string bindings */
		struct sockaddr_storage ls;
		socklen_t lsl = sizeof(ls);
		uint16_t lport = l->port;
		if (getsockname(fd, (struct sockaddr *)&ls, &lsl) == 0) {
			if (ls.ss_family == AF_INET) {
				inet_ntop(AF_INET, &((struct sockaddr_in *)&ls)->sin_addr, c->local, sizeof(c->local));
				lport = ntohs(((struct sockaddr_in *)&ls)->sin_port);
			} else if (ls.ss_family == AF_INET6) {
				inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ls)->sin6_addr, c->local,
					  sizeof(c->local));
				lport = ntohs(((struct sockaddr_in6 *)&ls)->sin6_port);
			}
		}
		int one = 1;
		/* request/response traffic: do not let Nagle hold back the last fragment */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		rpc_conn_info_t info = {.peer_addr = c->peer, .peer_port = pport, .local_addr = c->local,
					.local_port = lport};
		c->assoc = assoc_new(s->reg, (int)l->role, &info);
		if (!c->assoc || !set_events(s, c, EPOLLIN)) {
			assoc_free(c->assoc);
			buf_free(&c->out);
			close(fd);
			free(c);
			continue;
		}
		s->n_conns++;
		touch(s, c);
		log_debug("rpc: connection from %s:%u to %s:%u (%zu open)", c->peer, pport, c->local, lport,
			  s->n_conns);
	}
}

/* take_done hands connections whose call finished back to the I/O thread */
static void take_done(rpc_server_t *s)
{
	uint64_t v;
	ssize_t r = read(s->done_fd, &v, sizeof(v));
	(void)r;
	pthread_mutex_lock(&s->dlock);
	conn_t *list = s->done_head;
	s->done_head = s->done_tail = NULL;
	pthread_mutex_unlock(&s->dlock);
	while (list) {
		conn_t *c = list;
		list = c->qnext;
		c->qnext = NULL;
		c->busy = false;
		touch(s, c);
		if (c->worker_rc != CERR_OK) {
			c->closing = true;
		}
		/* input that arrived meanwhile waits in the socket; once the response
		 * is out, level-triggered epoll reports it on the next round */
		(void)flush(s, c);
	}
}

static void expire_idle(rpc_server_t *s, unsigned timeout_s)
{
	int64_t now = now_ms();
	int64_t limit = (int64_t)timeout_s * 1000;
	while (s->idle_head && now - s->idle_head->last_active_ms >= limit) {
		conn_t *c = s->idle_head;
		log_info("rpc: closing idle connection from %s", c->peer);
		conn_close(s, c);
	}
}

/* ------------------------------------------------------------------ */
/* workers */

static void *worker_main(void *arg)
{
	rpc_server_t *s = arg;
	for (;;) {
		pthread_mutex_lock(&s->qlock);
		while (!s->job_head && !s->quit) {
			pthread_cond_wait(&s->qcond, &s->qlock);
		}
		if (s->quit) {
			pthread_mutex_unlock(&s->qlock);
			return NULL;
		}
		conn_t *c = s->job_head;
		s->job_head = c->qnext;
		if (!s->job_head) {
			s->job_tail = NULL;
		}
		pthread_mutex_unlock(&s->qlock);

		assoc_call_t *call = c->call;
		c->call = NULL;
		c->worker_rc = assoc_execute_call(c->assoc, call, &c->out);

		pthread_mutex_lock(&s->dlock);
		c->qnext = NULL;
		if (s->done_tail) {
			s->done_tail->qnext = c;
		} else {
			s->done_head = c;
		}
		s->done_tail = c;
		pthread_mutex_unlock(&s->dlock);
		uint64_t one = 1;
		ssize_t w = write(s->done_fd, &one, sizeof(one));
		(void)w;
	}
}

/* ------------------------------------------------------------------ */
/* run / stop */

cerr_t rpc_server_run(rpc_server_t *s)
{
	const rpc_server_config_t *cfg = assoc_registry_config(s->reg);
	if (s->running) {
		return CERR_INVALID_ARG;
	}
	s->running = true;
	s->quit = false;
	s->workers = calloc(cfg->workers, sizeof(pthread_t));
	if (!s->workers) {
		s->running = false;
		return CERR_NOMEM;
	}
	for (s->n_workers = 0; s->n_workers < cfg->workers; s->n_workers++) {
		if (pthread_create(&s->workers[s->n_workers], NULL, worker_main, s) != 0) {
			log_error("rpc: cannot start worker %u: %s", s->n_workers, strerror(errno));
			break;
		}
	}
	cerr_t ret = s->n_workers ? CERR_OK : CERR_INTERNAL;
	log_info("rpc: serving with %u workers", s->n_workers);

	bool stop = s->n_workers == 0;
	struct epoll_event evs[64];
	while (!stop) {
		int timeout = -1;
		if (cfg->idle_timeout_s) {
			timeout = 1000;
		}
		if (s->accept_paused) {
			timeout = ACCEPT_PAUSE_MS;
		}
		int n = epoll_wait(s->epfd, evs, 64, timeout);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			log_error("rpc: epoll_wait: %s", strerror(errno));
			ret = CERR_IO;
			break;
		}
		for (int i = 0; i < n; i++) {
			struct ev_tag *tag = evs[i].data.ptr;
			switch (tag->kind) {
			case EV_STOP: {
				uint64_t v;
				ssize_t r = read(s->stop_fd, &v, sizeof(v));
				(void)r;
				stop = true;
				break;
			}
			case EV_DONE:
				take_done(s);
				break;
			case EV_LISTENER:
				accept_all(s, (struct listener *)tag);
				break;
			case EV_CONN:
				conn_event(s, (conn_t *)tag, evs[i].events);
				break;
			}
			/* A connection is only closed while handling its own event (each
			 * fd appears once per batch) or when it is out of epoll (handed
			 * back by a worker, or idle expiry after the batch), so no later
			 * entry of this batch points at freed memory. */
		}
		if (s->accept_paused && now_ms() - s->accept_paused_at >= ACCEPT_PAUSE_MS) {
			for (size_t i = 0; i < s->n_ls; i++) {
				struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->ls[i].tag};
				epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->ls[i].fd, &ev);
			}
			s->accept_paused = false;
		}
		if (cfg->idle_timeout_s) {
			expire_idle(s, cfg->idle_timeout_s);
		}
	}

	/* shutdown: workers finish the call they run; queued calls are dropped */
	pthread_mutex_lock(&s->qlock);
	s->quit = true;
	pthread_cond_broadcast(&s->qcond);
	pthread_mutex_unlock(&s->qlock);
	for (unsigned i = 0; i < s->n_workers; i++) {
		pthread_join(s->workers[i], NULL);
	}
	free(s->workers);
	s->workers = NULL;
	s->n_workers = 0;
	for (conn_t *c = s->job_head; c;) {
		conn_t *n = c->qnext;
		c->busy = false;
		conn_close(s, c);
		c = n;
	}
	s->job_head = s->job_tail = NULL;
	for (conn_t *c = s->done_head; c;) {
		conn_t *n = c->qnext;
		c->busy = false;
		conn_close(s, c);
		c = n;
	}
	s->done_head = s->done_tail = NULL;
	while (s->idle_head) {
		conn_close(s, s->idle_head);
	}
	s->running = false;
	log_info("rpc: server stopped");
	return ret;
}

void rpc_server_stop(rpc_server_t *s)
{
	/* async-signal-safe: a single write(2) to an eventfd */
	uint64_t one = 1;
	ssize_t w = write(s->stop_fd, &one, sizeof(one));
	(void)w;
}

void rpc_server_free(rpc_server_t *s)
{
	if (!s) {
		return;
	}
	for (size_t i = 0; i < s->n_ls; i++) {
		close(s->ls[i].fd);
	}
	if (s->epfd >= 0) {
		close(s->epfd);
	}
	if (s->stop_fd >= 0) {
		close(s->stop_fd);
	}
	if (s->done_fd >= 0) {
		close(s->done_fd);
	}
	pthread_mutex_destroy(&s->qlock);
	pthread_cond_destroy(&s->qcond);
	pthread_mutex_destroy(&s->dlock);
	assoc_registry_free(s->reg);
	free(s);
}
