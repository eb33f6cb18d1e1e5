/*
 * certad.c - the CA daemon: reads certad.conf, opens (on first start creates)
 * the CA in the state folder, the local accounts and the audit log, and
 * serves, in the foreground, the endpoint mapper and mgmt on epm_port (135)
 * and ICertPassage (MS-ICPR) on a dynamic port registered with the endpoint
 * mapper, the way a Windows enterprise CA does. NTLM logons are checked
 * against the local accounts, re-read when `certa user ...` changes them;
 * every logon becomes an access token checked against the user-rights policy
 * (services/logon.h). With [dcom] on, the endpoint mapper also activates
 * the CertSrv Request class (MS-WCCE over DCOM) behind Windows' DCOM
 * security model (services/dcom_security.h). SIGTERM/SIGINT stop it cleanly;
 * SIGHUP rereads the user-rights policy and the accounts without dropping
 * connections.
 * Usage and exit codes: docs/certad.8.md, docs/errors.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "ca/ca.h"
#include "cli/cli.h"
#include "cli/config.h"
#include "dcom/exporter.h"
#include "events/events.h"
#include "rpc/epm.h"
#include "rpc/mgmt.h"
#include "rpc/gss.h"
#include "rpc/ntlm.h"
#include "rpc/server.h"
#include "security/accounts.h"
#include "security/winbind.h"
#include "services/dcom_security.h"
#include "services/icpr.h"
#include "services/logon.h"
#include "services/wcce.h"
#include "util/log.h"

/* The server the signal handlers stop: rpc_server_stop is async-signal-safe. */
static rpc_server_t *volatile g_server;

static void on_stop_signal(int sig)
{
	(void)sig;
	if (g_server) {
		rpc_server_stop(g_server);
	}
}

/* SIGHUP asks the reload thread to reread the user-rights policy: the
 * handler only writes a byte to a pipe (async-signal-safe); the thread does
 * the work, outside the signal context. */
static volatile int g_reload_fd = -1;

static void on_hup(int sig)
{
	(void)sig;
	int saved = errno;
	if (g_reload_fd >= 0) {
		ssize_t n = write(g_reload_fd, "h", 1);
		(void)n; /* a full pipe already holds a pending reload */
	}
	errno = saved;
}

static int install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop_signal;
	if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0) {
		return -1;
	}
	sa.sa_handler = on_hup;
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGHUP, &sa, NULL) != 0) {
		return -1;
	}
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}

/* The accounts store is not thread-safe and the NTLM acceptor calls its lookup
 * from every worker; one mutex serialises the lookup, which also reloads the
 * file when `certa user ...` has replaced it (accounts_refresh compares the
 * file's identity and mtime). */
typedef struct account_source {
	pthread_mutex_t lock;
	accounts_t *accounts;
	const char *domain; /* [auth] netbios_domain: the authority of local accounts */
} account_source_t;

static cerr_t lookup_account(void *arg, const char *domain, const char *user, ntlm_account_t *out)
{
	account_source_t *src = arg;
	pthread_mutex_lock(&src->lock);
	cerr_t e = accounts_ntlm_lookup(src->accounts, domain, user, out);
	pthread_mutex_unlock(&src->lock);
	/* callers are then known as CERTA\alice, the name `certa user add` printed */
	if (e == CERR_OK && !out->domain[0]) {
		snprintf(out->domain, sizeof(out->domain), "%s", src->domain);
	}
	return e;
}

typedef struct daemon_state {
	cli_env_t env;
	events_t *events;
	events_t *trace;       /* [log] auth_trace */
	logon_t *logon;        /* tokens, rights, 4624/4625 */
	char *rights_path;     /* [security] rights_file, resolved */
	int reload_pipe[2];
	pthread_t reload_thread;
	bool have_reload_thread;
	ca_t *ca;
	account_source_t accounts;
	bool accounts_lock_init;
	rpc_auth_provider_t ntlm;
	bool have_ntlm;
	rpc_auth_provider_t krb5;   /* [auth] kerberos: auth type 16 */
	rpc_auth_provider_t spnego; /* and 9 */
	bool have_kerberos;
	rpc_server_t *server;
	rpc_endpoints_t endpoints;
	rpc_iface_t epm_iface;
	mgmt_config_t mgmt_cfg;
	rpc_iface_t mgmt_iface;
	rpc_iface_t icpr_iface;
	bool have_icpr;
	dcom_exporter_t *dcom;          /* [dcom] enabled: activation and the object exporter */
	dcom_security_t *dcom_security; /* its launch/access limits and events */
	wcce_service_t *wcce;           /* the CertSrv Request class's instances */
	char dns_computer[320];         /* host.domain for the exporter's string bindings */
	uint16_t epm_port;
	uint16_t dynamic_port;
} daemon_state_t;

static void usage(FILE *f)
{
	fprintf(f, "usage: certad [--state DIR] [--config FILE] [--log-level LEVEL] [--foreground]\n\n"
		   "Serves a certification authority to Windows-protocol clients: the endpoint\n"
		   "mapper on TCP 135 and MS-ICPR (certificate requests) on a dynamic port.\n"
		   "The first start creates the CA in the state folder.\n\n"
		   "  --state DIR        state folder (default: $CERTA_STATE, else ./state)\n"
		   "  --config FILE      configuration (default: DIR/certad.conf, then /etc/certa/certad.conf)\n"
		   "  --log-level LEVEL  error, warn, info, debug or trace (overrides [log] level)\n"
		   "  --foreground       stay in the foreground (the only mode; for service managers)\n"
		   "See docs/certad.8.md and docs/certad.conf.5.md.\n");
}

/* ---- start-up steps, each printing its own failure ---- */

static int open_events(daemon_state_t *d)
{
	char *path = cli_path(&d->env, d->env.cfg.events_file);
	if (!path) {
		return EX_OSERR;
	}
	/* The audit events are info-level lines: echoed to stderr only when the
	 * log level shows info, so `level = warn` spares two writes per request
	 * (bench/RESULTS.md). The event log file always gets them. */
	cerr_t e = events_open(path, log_get_level() >= LOG_INFO ? EVENTS_TO_STDERR : 0, &d->events);
	if (e != CERR_OK) {
		fprintf(stderr, "certad: cannot open the event log %s: %s\n", path, strerror(errno));
		free(path);
		return EX_CANTCREAT;
	}
	free(path);
	return 0;
}

/* the first start creates the CA: key, self-signed certificate, database */
static int open_ca(daemon_state_t *d)
{
	ca_config_t cc;
	char *templates = NULL;
	int rc = cli_ca_config(&d->env, d->events, &cc, &templates);
	if (rc != 0) {
		return rc;
	}
	cerr_t e = ca_open(&cc, &d->ca);
	free(templates);
	if (e != CERR_OK) {
		fprintf(stderr, "certad: cannot open the CA in %s: %s (%s); the log above has the detail\n",
			d->env.state, cerr_msg(e), cerr_name(e));
		return e == CERR_CONFIG ? EX_CONFIG : cli_exit_code(e);
	}
	return 0;
}

static int open_accounts(daemon_state_t *d)
{
	char *path = cli_path(&d->env, CLI_ACCOUNTS_FILE);
	if (!path) {
		return EX_OSERR;
	}
	cerr_t e = accounts_open(path, ACCOUNTS_CREATE, &d->accounts.accounts);
	if (e != CERR_OK) {
		const char *detail = accounts_last_error();
		fprintf(stderr, "certad: cannot open the local accounts %s: %s\n", path, *detail ? detail : cerr_msg(e));
		free(path);
		return cli_exit_code(e);
	}
	free(path);
	pthread_mutex_init(&d->accounts.lock, NULL);
	d->accounts.domain = d->env.cfg.netbios_domain;
	d->accounts_lock_init = true;
	if (accounts_user_count(d->accounts.accounts) == 0) {
		log_warn("no local users yet: add one with `certa user add NAME` (no restart needed)");
	}
	return 0;
}

/* make_logon sets up token creation and the user-rights policy; a policy
 * file that does not parse stops the start, with file:line. */
static int make_logon(daemon_state_t *d)
{
	const config_t *cfg = &d->env.cfg;
	if (cfg->auth_trace) {
		char *path = cli_path(&d->env, cfg->auth_trace_file);
		if (!path) {
			return EX_OSERR;
		}
		if (events_open(path, 0, &d->trace) != CERR_OK) {
			fprintf(stderr, "certad: cannot open the authentication trace %s: %s\n", path, strerror(errno));
			free(path);
			return EX_CANTCREAT;
		}
		log_info("authentication trace: %s", path);
		free(path);
	}
	logon_config_t lc = {
		.events = d->events,
		.trace = d->trace,
		.audit = cfg->logon_events == CONFIG_LOGON_EVENTS_ALL	   ? LOGON_AUDIT_ALL
			 : cfg->logon_events == CONFIG_LOGON_EVENTS_FAILURES ? LOGON_AUDIT_FAILURES
									     : LOGON_AUDIT_NONE,
		.accounts = d->accounts.accounts,
		.accounts_lock = &d->accounts.lock,
		.local_domain = cfg->netbios_domain,
		.computer_name = cfg->computer_name,
		/* domain names in the policy file ("SAMDOM\CA Requesters") */
		.resolve = cfg->ntlm_backend == CONFIG_NTLM_WINBIND ? winbind_resolve : NULL,
		.sid_name = cfg->ntlm_backend == CONFIG_NTLM_WINBIND ? winbind_sid_name : NULL,
	};
	cerr_t e = logon_new(&lc, &d->logon);
	if (e != CERR_OK) {
		fprintf(stderr, "certad: cannot set up logons: %s\n", cerr_msg(e));
		return cli_exit_code(e);
	}
	d->rights_path = cli_path(&d->env, cfg->rights_file);
	if (!d->rights_path) {
		return EX_OSERR;
	}
	char err[1024];
	e = logon_reload_policy(d->logon, d->rights_path, err, sizeof(err));
	if (e != CERR_OK) {
		fprintf(stderr, "certad: %s\n", err);
		return e == CERR_CONFIG ? EX_CONFIG : cli_exit_code(e);
	}
	return 0;
}

/* reload_main waits for SIGHUP's byte and swaps in a new policy; a file
 * that does not parse leaves the policy in force. 'q' ends the thread. */
static void *reload_main(void *arg)
{
	daemon_state_t *d = arg;
	for (;;) {
		char c;
		ssize_t n = read(d->reload_pipe[0], &c, 1);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0 || c == 'q') {
			return NULL;
		}
		char err[1024];
		cerr_t e = logon_reload_policy(d->logon, d->rights_path, err, sizeof(err));
		if (e != CERR_OK) {
			log_error("SIGHUP: the user-rights policy was not reloaded, the previous one stays in force: %s",
				  err);
		} else {
			log_info("SIGHUP: user-rights policy and accounts reloaded from %s", d->rights_path);
		}
	}
}

static int start_reload_thread(daemon_state_t *d)
{
	if (pipe(d->reload_pipe) != 0) {
		fprintf(stderr, "certad: cannot create the reload pipe: %s\n", strerror(errno));
		return EX_OSERR;
	}
	/* SIGHUP arrives on whatever thread; only the handler's write matters */
	if (pthread_create(&d->reload_thread, NULL, reload_main, d) != 0) {
		fprintf(stderr, "certad: cannot start the reload thread\n");
		return EX_OSERR;
	}
	d->have_reload_thread = true;
	g_reload_fd = d->reload_pipe[1];
	return 0;
}

static void stop_reload_thread(daemon_state_t *d)
{
	g_reload_fd = -1;
	if (d->have_reload_thread) {
		ssize_t n = write(d->reload_pipe[1], "q", 1);
		(void)n;
		pthread_join(d->reload_thread, NULL);
		d->have_reload_thread = false;
	}
	for (int i = 0; i < 2; i++) {
		if (d->reload_pipe[i] >= 0) {
			close(d->reload_pipe[i]);
			d->reload_pipe[i] = -1;
		}
	}
}

static int make_ntlm(daemon_state_t *d)
{
	const config_t *cfg = &d->env.cfg;
	char dns_computer[320] = "";
	ntlm_acceptor_config_t nc;

	if (*cfg->dns_domain) {
		snprintf(dns_computer, sizeof(dns_computer), "%s.%s", cfg->computer_name, cfg->dns_domain);
		for (char *p = dns_computer; *p && *p != '.'; p++) {
			*p = (char)((*p >= 'A' && *p <= 'Z') ? *p - 'A' + 'a' : *p);
		}
	}
	ntlm_acceptor_config_init(&nc);
	nc.nb_domain = cfg->netbios_domain;
	nc.nb_computer = cfg->computer_name;
	nc.dns_domain = cfg->dns_domain;
	nc.dns_computer = dns_computer;
	nc.dns_tree = cfg->dns_domain;
	nc.allow_ntlmv1 = cfg->ntlmv1;
	/* with DCOM, a null session may reach the activator on the endpoint
	 * mapper (on_auth below keeps it off the other listeners) */
	nc.allow_anonymous = cfg->anonymous || cfg->dcom;
	nc.lookup = lookup_account;
	nc.lookup_arg = &d->accounts;
	if (cfg->ntlm_backend == CONFIG_NTLM_WINBIND) {
		/* a member of the domain: the DC validates every NTLM logon and
		 * reports the user's SIDs (MS-APDS 3.1.5.1) */
		char msg[256];
		if (!winbind_available()) {
			fprintf(stderr, "certad: [auth] ntlm_backend = winbind, but this certad was built without "
					"libwbclient (install libwbclient-dev and rebuild)\n");
			return EX_CONFIG;
		}
		if (winbind_ping(msg, sizeof(msg)) != CERR_OK) {
			log_warn("[auth] ntlm_backend = winbind: %s; NTLM logons fail until it does (`wbinfo -p`)", msg);
		} else {
			log_info("NTLM logons are validated by the domain: %s", msg);
		}
		nc.domain_joined = true;
		nc.passthrough = winbind_passthrough;
	}
	cerr_t e = ntlm_acceptor_provider(&d->ntlm, &nc);
	if (e != CERR_OK) {
		fprintf(stderr, "certad: cannot set up NTLM: %s (is OpenSSL's legacy provider installed?)\n",
			cerr_msg(e));
		return cli_exit_code(e);
	}
	d->have_ntlm = true;
	return 0;
}

/* make_kerberos sets up the Kerberos and SPNEGO acceptors from [auth] keytab;
 * the keys are read now, so a missing or empty keytab stops certad here. */
static int make_kerberos(daemon_state_t *d)
{
	char *path = cli_path(&d->env, d->env.cfg.keytab);
	if (!path) {
		return EX_OSERR;
	}
	gss_acceptor_config_t gc = {.keytab = path};
	cerr_t e = gss_krb5_provider(&d->krb5, &gc);
	if (e == CERR_OK && (e = gss_spnego_provider(&d->spnego, &gc)) != CERR_OK) {
		gss_provider_cleanup(&d->krb5);
	}
	if (e != CERR_OK) {
		fprintf(stderr, "certad: [auth] kerberos = on, but the keytab %s has no usable keys (%s); "
			"export the CA's keys into it (samba-tool domain exportkeytab, ktpass, kadmin ktadd) "
			"or set kerberos = off\n", path, cerr_name(e));
		free(path);
		return e == CERR_CONFIG ? EX_CONFIG : cli_exit_code(e);
	}
	log_info("kerberos: accepting Kerberos and Negotiate with the keys in %s", path);
	free(path);
	d->have_kerberos = true;
	return 0;
}

/* on_auth is logon_on_auth, except that with [auth] anonymous = off an NTLM
 * null session completes only on the endpoint mapper: there DCOM's
 * machine-wide launch limits judge it and refuse it with event 10027, as
 * Windows does when a client's logon was refused and DCOM fell back to an
 * anonymous activation (DCOMSCMRemoteCallFlags, learn.microsoft.com/
 * windows/win32/com/dcomscmremotecallflags). Elsewhere it fails as the
 * acceptor's own refusal did: 4625 and no logon. */
static cerr_t on_auth(void *arg, const rpc_conn_info_t *conn, cerr_t status, void **out_principal)
{
	daemon_state_t *d = arg;
	const config_t *cfg = &d->env.cfg;
	if (status == CERR_OK && !cfg->anonymous && conn->identity && conn->identity->anonymous &&
	    conn->local_port != cfg->epm_port) {
		(void)logon_on_auth(d->logon, conn, CERR_STATUS_LOGON_FAILURE, NULL);
		return CERR_STATUS_LOGON_FAILURE;
	}
	return logon_on_auth(d->logon, conn, status, out_principal);
}

static void principal_free(void *arg, void *principal)
{
	logon_principal_free(((daemon_state_t *)arg)->logon, principal);
}

/* sddl_of gives [dcom]'s descriptor i with its source "certad.conf:LINE". */
static dcom_security_sddl_t sddl_of(const daemon_state_t *d, enum config_dcom_sddl i, char *src, size_t src_len)
{
	const config_t *cfg = &d->env.cfg;
	snprintf(src, src_len, "%s:%u", d->env.config_path ? d->env.config_path : "certad.conf", cfg->dcom_sddl_line[i]);
	return (dcom_security_sddl_t){.sddl = cfg->dcom_sddl[i], .source = src};
}

/* make_dcom sets up the object exporter with the DCOM security hook and the
 * CertSrv Request class (MS-WCCE 2.1; services/wcce.h); attached to the
 * server by make_server. A descriptor that does not parse stops the start
 * with "certad.conf:LINE: key: at offset N: what". */
static int make_dcom(daemon_state_t *d)
{
	const config_t *cfg = &d->env.cfg;
	char err[512], s0[PATH_MAX + 16], s1[PATH_MAX + 16], s2[PATH_MAX + 16], s3[PATH_MAX + 16];
	dcom_security_config_t sc = {
		.events = d->events,
		.accounts = d->accounts.accounts,
		.accounts_lock = &d->accounts.lock,
		.logon = d->logon,
		.machine_launch = sddl_of(d, CONFIG_DCOM_MACHINE_LAUNCH, s0, sizeof(s0)),
		.machine_access = sddl_of(d, CONFIG_DCOM_MACHINE_ACCESS, s1, sizeof(s1)),
		.require_integrity_activation = cfg->require_integrity_activation,
	};
	cerr_t e = dcom_security_new(&sc, &d->dcom_security, err, sizeof(err));
	if (e == CERR_OK) {
		/* the CertSrv Request application's own permissions; its AppID is
		 * its CLSID (the "CertSrv Request" DCOM application of AD CS) */
		dcom_security_sddl_t l = sddl_of(d, CONFIG_DCOM_CERTSRV_LAUNCH, s2, sizeof(s2));
		dcom_security_sddl_t a = sddl_of(d, CONFIG_DCOM_CERTSRV_ACCESS, s3, sizeof(s3));
		if (!l.sddl) {
			l = (dcom_security_sddl_t){.sddl = sd_default_certsrv_request_launch_sddl, .source = "built-in default"};
		}
		if (!a.sddl) {
			a = (dcom_security_sddl_t){.sddl = sd_default_certsrv_request_access_sddl, .source = "built-in default"};
		}
		e = dcom_security_add_class(d->dcom_security, &WCCE_CLSID_CERTSRV_REQUEST, &WCCE_CLSID_CERTSRV_REQUEST,
					    "CertSrv Request", &l, &a, err, sizeof(err));
	}
	if (e != CERR_OK) {
		if (e == CERR_CONFIG) {
			fprintf(stderr, "certad: %s\ncertad: fix the SDDL in [dcom] (docs/certad.conf.5.md), or remove "
					"the line for Windows' default\n", err);
			return EX_CONFIG;
		}
		fprintf(stderr, "certad: cannot set up DCOM security: %s\n", cerr_msg(e));
		return cli_exit_code(e);
	}

	/* string bindings: the dialled address first, then these names */
	const char *names[2] = {cfg->computer_name, NULL};
	size_t n_names = 1;
	if (*cfg->dns_domain) {
		snprintf(d->dns_computer, sizeof(d->dns_computer), "%s.%s", cfg->computer_name, cfg->dns_domain);
		names[n_names++] = d->dns_computer;
	}
	dcom_exporter_config_t xc = {.names = names, .n_names = n_names};
	d->dcom = dcom_exporter_new(&xc);
	if (!d->dcom) {
		fprintf(stderr, "certad: cannot create the DCOM object exporter (out of memory)\n");
		return EX_OSERR;
	}
	dcom_security_hooks_t hooks;
	dcom_security_hooks(d->dcom_security, &hooks);
	dcom_exporter_set_security_hooks(d->dcom, &hooks);

	wcce_config_t wc;
	wcce_config_default(&wc);
	wc.interface_flags = config_interface_flags(cfg);
	wc.events = d->events;
	if (*cfg->dns_domain) {
		wc.dns_name = d->dns_computer;
	}
	if ((e = wcce_service_new(d->ca, &wc, &d->wcce)) != CERR_OK ||
	    (e = wcce_dcom_register(d->dcom, d->wcce)) != CERR_OK) {
		fprintf(stderr, "certad: cannot set up the CertSrv Request class: %s\n", cerr_msg(e));
		return cli_exit_code(e);
	}
	log_info("dcom: CertSrv Request served on the endpoint mapper; activation needs %s",
		 cfg->require_integrity_activation ? "packet integrity (KB5004442)" : "any authentication level");
	return 0;
}

static int make_server(daemon_state_t *d)
{
	const config_t *cfg = &d->env.cfg;
	rpc_server_config_t sc = {
		.workers = cfg->workers,
		.max_connections = cfg->max_connections,
		.idle_timeout_s = cfg->idle_timeout,
	};
	cerr_t e;

	d->server = rpc_server_new(&sc);
	if (!d->server) {
		fprintf(stderr, "certad: cannot create the RPC server (out of memory or file descriptors)\n");
		return EX_OSERR;
	}
	if (d->have_ntlm && (e = rpc_server_add_auth(d->server, &d->ntlm)) != CERR_OK) {
		goto fail;
	}
	if (d->have_kerberos && ((e = rpc_server_add_auth(d->server, &d->krb5)) != CERR_OK ||
				 (e = rpc_server_add_auth(d->server, &d->spnego)) != CERR_OK)) {
		goto fail;
	}
	if (d->logon) {
		rpc_server_hooks_t hooks;
		logon_hooks(d->logon, &hooks);
		if (d->env.cfg.dcom && d->have_ntlm) {
			hooks = (rpc_server_hooks_t){.arg = d, .on_auth = on_auth, .principal_free = principal_free};
		}
		rpc_server_set_hooks(d->server, &hooks);
	}

	/* endpoint mapper on the EPM port; mgmt on both, as every Windows RPC
	 * server answers it on each endpoint (C706 App. Q) */
	rpc_endpoints_from_server(&d->endpoints, d->server);
	epm_iface_init(&d->epm_iface, &d->endpoints);
	if ((e = rpc_server_add_iface(d->server, &d->epm_iface, RPC_LISTEN_EPM)) != CERR_OK) {
		goto fail;
	}
	d->mgmt_cfg.endpoints = d->endpoints;
	mgmt_iface_init(&d->mgmt_iface, &d->mgmt_cfg);
	if ((e = rpc_server_add_iface(d->server, &d->mgmt_iface, RPC_LISTEN_EPM | RPC_LISTEN_DYNAMIC)) != CERR_OK) {
		goto fail;
	}

	/* ICertPassage on the dynamic port, found through the endpoint mapper
	 * (MS-ICPR 2.1) */
	icpr_config_t ic;
	icpr_config_default(&ic);
	ic.interface_flags = config_interface_flags(cfg);
	ic.events = d->events;
	if ((e = icpr_iface_init(&d->icpr_iface, d->ca, &ic)) != CERR_OK) {
		goto fail;
	}
	d->have_icpr = true;
	if ((e = rpc_server_add_iface(d->server, &d->icpr_iface, RPC_LISTEN_DYNAMIC)) != CERR_OK) {
		goto fail;
	}
	/* DCOM: the activator and OXID resolver on the endpoint mapper, the
	 * objects on the dynamic port (dcom/exporter.h) */
	if (d->dcom && (e = dcom_exporter_attach(d->dcom, d->server)) != CERR_OK) {
		goto fail;
	}
	return 0;
fail:
	fprintf(stderr, "certad: cannot set up the RPC interfaces: %s\n", cerr_msg(e));
	return cli_exit_code(e);
}

static int listen_all(daemon_state_t *d)
{
	const config_t *cfg = &d->env.cfg;
	uint16_t dyn = cfg->dynamic_port;

	for (size_t i = 0; i < cfg->n_listen; i++) {
		const char *addr = cfg->listen[i];
		const char *what = "the endpoint mapper";
		uint16_t want = cfg->epm_port, port = 0;
		cerr_t e = rpc_server_listen(d->server, addr, want, RPC_LISTEN_EPM, &port);
		if (e == CERR_OK) {
			d->epm_port = port;
			/* the first address picks the dynamic port; the others reuse it so
			 * the endpoint mapper's answer is right whichever one a client dialled */
			what = "certificate requests";
			want = dyn;
			e = rpc_server_listen(d->server, addr, want, RPC_LISTEN_DYNAMIC, &port);
			if (e == CERR_OK) {
				dyn = port;
				d->dynamic_port = port;
			}
		}
		if (e != CERR_OK) {
			int err = errno;
			fprintf(stderr, "certad: cannot listen on %s port %u (%s): %s\n", addr, want, what,
				err ? strerror(err) : cerr_msg(e));
			if (err == EACCES && want < 1024) {
				fprintf(stderr, "certad: port %u needs root or CAP_NET_BIND_SERVICE; or set [rpc] "
						"epm_port above 1023 for a test\n",
					want);
				return EX_NOPERM;
			}
			if (err == EADDRINUSE) {
				fprintf(stderr, "certad: another program holds the port (`ss -ltnp` shows which)\n");
			} else if (err == EADDRNOTAVAIL) {
				fprintf(stderr, "certad: %s is not an address of this machine: fix [rpc] listen\n", addr);
			}
			return EX_UNAVAILABLE;
		}
	}
	return 0;
}

/* the certa binary next to this certad, as the user typed the path */
static void certa_path(const char *argv0, char *out, size_t n)
{
	const char *slash = strrchr(argv0, '/');
	if (!slash) {
		snprintf(out, n, "certa");
	} else {
		snprintf(out, n, "%.*scerta", (int)(slash - argv0 + 1), argv0);
	}
}

static void banner(const daemon_state_t *d, const char *argv0)
{
	const config_t *cfg = &d->env.cfg;
	char certa[512], port_opt[32] = "", listen[256] = "";

	for (size_t i = 0; i < cfg->n_listen; i++) {
		size_t used = strlen(listen);
		snprintf(listen + used, sizeof(listen) - used, "%s%s", i ? ", " : "", cfg->listen[i]);
	}
	certa_path(argv0, certa, sizeof(certa));
	if (d->epm_port != 135) {
		snprintf(port_opt, sizeof(port_opt), " --port %u", d->epm_port);
	}
	const char *host = strcmp(cfg->listen[0], "0.0.0.0") == 0 || strcmp(cfg->listen[0], "::") == 0
				   ? "127.0.0.1"
				   : cfg->listen[0];
	fprintf(stderr,
		"certad: CA \"%s\", state folder %s%s%s\n"
		"certad: listening on %s: endpoint mapper port %u, certificate requests (MS-ICPR) port %u\n"
		"certad: to get a certificate: %s user add alice; then\n"
		"certad:   %s req --ca %s%s --user alice --template User --out alice\n"
		"certad: ready: epm_port=%u dynamic_port=%u\n",
		cfg->ca_name, d->env.state, d->env.config_path ? ", configuration " : " (built-in configuration)",
		d->env.config_path ? d->env.config_path : "", listen, d->epm_port, d->dynamic_port, certa, certa, host,
		port_opt, d->epm_port, d->dynamic_port);
}

static void daemon_cleanup(daemon_state_t *d)
{
	stop_reload_thread(d);
	rpc_server_free(d->server); /* drops the connections' tokens */
	dcom_exporter_free(d->dcom);  /* releases the objects still alive */
	wcce_service_free(d->wcce);
	dcom_security_free(d->dcom_security);
	logon_free(d->logon);
	free(d->rights_path);
	events_close(d->trace);
	if (d->have_icpr) {
		icpr_iface_cleanup(&d->icpr_iface);
	}
	if (d->have_kerberos) {
		gss_provider_cleanup(&d->krb5);
		gss_provider_cleanup(&d->spnego);
	}
	if (d->have_ntlm) {
		ntlm_provider_cleanup(&d->ntlm);
	}
	accounts_free(d->accounts.accounts);
	if (d->accounts_lock_init) {
		pthread_mutex_destroy(&d->accounts.lock);
	}
	ca_close(d->ca);
	events_close(d->events);
	cli_env_cleanup(&d->env);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"state", required_argument, NULL, 's'},
		{"config", required_argument, NULL, 'c'},
		{"log-level", required_argument, NULL, 'l'},
		{"foreground", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *state = NULL, *config = NULL, *level_arg = NULL;
	daemon_state_t d;
	int ch, rc;

	memset(&d, 0, sizeof(d));
	d.reload_pipe[0] = d.reload_pipe[1] = -1;
	log_set_ident("certad");
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			state = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'l':
			level_arg = optarg;
			break;
		case 'f':
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("certad %s\n", CERTA_VERSION);
			return 0;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "certad: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EX_USAGE;
	}
	log_level_t level;
	if (level_arg && !config_parse_log_level(level_arg, &level)) {
		fprintf(stderr, "certad: --log-level: '%s' is not error, warn, info, debug or trace\n", level_arg);
		return EX_USAGE;
	}

	/* the configuration is checked before anything in the state folder is touched */
	if ((rc = cli_env_load(&d.env, "certad", state, config)) != 0) {
		cli_env_cleanup(&d.env);
		return rc;
	}
	log_set_level(level_arg ? level : d.env.cfg.log_level);
	if ((rc = cli_make_state(&d.env)) != 0) {
		goto out;
	}
	if (!d.env.config_path) {
		/* first start without a file: leave a commented one to edit */
		char *path = cli_path(&d.env, CLI_CONFIG_FILE);
		if (path && config_write_default(path) == CERR_OK) {
			log_info("wrote %s with every setting and its default, commented out", path);
			d.env.config_path = path; /* the banner names it; cli_env_cleanup frees it */
		} else {
			free(path);
		}
	}
	if (install_signals() != 0) {
		fprintf(stderr, "certad: cannot install signal handlers: %s\n", strerror(errno));
		rc = EX_OSERR;
		goto out;
	}
	if ((rc = open_events(&d)) != 0 || (rc = open_ca(&d)) != 0 ||
	    (rc = open_accounts(&d)) != 0 || (rc = make_logon(&d)) != 0 ||
	    (rc = start_reload_thread(&d)) != 0) {
		goto out;
	}
	if (d.env.cfg.ntlm && (rc = make_ntlm(&d)) != 0) {
		goto out;
	}
	if (d.env.cfg.kerberos && (rc = make_kerberos(&d)) != 0) {
		goto out;
	}
	if (d.env.cfg.dcom && (rc = make_dcom(&d)) != 0) {
		goto out;
	}
	if ((rc = make_server(&d)) != 0 || (rc = listen_all(&d)) != 0) {
		goto out;
	}

	banner(&d, argv[0]);
	g_server = d.server;
	cerr_t e = rpc_server_run(d.server);
	g_server = NULL;
	if (e != CERR_OK) {
		fprintf(stderr, "certad: the RPC server stopped on an error: %s\n", cerr_msg(e));
		rc = EX_SOFTWARE;
	} else {
		log_info("stopped");
	}
out:
	daemon_cleanup(&d);
	return rc;
}
