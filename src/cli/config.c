/*
 * config.c - reads certad.conf (docs/certad.conf.5.md). One table lists every
 * key with its section, type, bounds and help text; the parser, the error
 * messages ("did you mean") and the commented default file all come from it,
 * so a new key is one row. Values are checked when read, so certad never
 * starts on a setting it would misread.
 */
#include "cli/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The shipped templates: the source tree's templates/ while developing (what
 * `make run` uses), else where `meson install` put them. */
#ifndef CERTA_TEMPLATES_DIR
#define CERTA_TEMPLATES_DIR "/usr/local/share/certa/templates"
#endif
#ifndef CERTA_TEMPLATES_INSTALL_DIR
#define CERTA_TEMPLATES_INSTALL_DIR "/usr/local/share/certa/templates"
#endif

#define CONFIG_MAX_FILE (1024u * 1024u)

enum key_type {
	T_NAME,      /* CA common name */
	T_KEYALG,
	T_UINT,      /* decimal within [min, max] */
	T_TEMPLATES, /* list of template names */
	T_PATH,
	T_URL,       /* http(s):// or ldap://, empty = none */
	T_BOOL,
	T_LISTEN,    /* list of IP addresses */
	T_PORT,      /* [min, 65535] */
	T_SECONDS,   /* decimal with optional s/m/h suffix, within [min, max] seconds */
	T_NETBIOS,
	T_DNS,
	T_LEVEL,
	T_CHOICE,    /* one of key_spec_t.choices, stored as its index (unsigned) */
	T_SDDL,      /* a security descriptor in SDDL, checked by certad; min = its config_dcom_sddl index */
};

typedef struct key_spec {
	const char *section;
	const char *key;
	enum key_type type;
	size_t off;
	unsigned min, max;
	const char *help;   /* one line for the default file */
	const char *def;    /* default as written in the default file */
} key_spec_t;

#define F(field) offsetof(config_t, field)

static const key_spec_t keys[] = {
	{"ca", "name", T_NAME, F(ca_name), 0, 0, "CA common name, as clients name the CA (CertServerRequest pwszAuthority)", "certa-CA"},
	{"ca", "key", T_KEYALG, F(ca_key), 0, 0, "CA key created at first start: rsa2048, rsa3072, rsa4096, p256, p384", "rsa2048"},
	{"ca", "validity_years", T_UINT, F(validity_years), 1, 50, "lifetime of the CA certificate in years (1-50)", "5"},
	{"ca", "templates", T_TEMPLATES, F(templates), 0, 0, "templates the CA issues, comma-separated; empty = User, Machine, WebServer, SubCA", ""},
	{"ca", "templates_dir", T_PATH, F(templates_dir), 0, 0, "folder of *.ldif certificate templates (relative paths: to the state folder)", CERTA_TEMPLATES_DIR},
	{"ca", "aia_url", T_URL, F(aia_url), 0, 0, "Authority Information Access URL written into issued certificates (empty = none)", ""},
	{"ca", "cdp_url", T_URL, F(cdp_url), 0, 0, "CRL Distribution Point URL written into issued certificates (empty = none)", ""},
	{"ca", "san_attribute", T_BOOL, F(san_attribute), 0, 0, "EDITF_ATTRIBUTESUBJECTALTNAME2: let requesters add names with SAN:... attributes (dangerous: ESC6)", "off"},
	{"ca", "enforce_encryption", T_BOOL, F(enforce_encryption), 0, 0, "IF_ENFORCEENCRYPTICERTREQUEST: refuse requests not sealed (below PKT_PRIVACY)", "on"},

	{"rpc", "listen", T_LISTEN, F(listen), 0, 0, "IP addresses to listen on, comma-separated (0.0.0.0 = all IPv4, :: = all IPv6)", "0.0.0.0"},
	{"rpc", "epm_port", T_PORT, F(epm_port), 1, 65535, "endpoint mapper port (clients always dial 135)", "135"},
	{"rpc", "dynamic_port", T_PORT, F(dynamic_port), 0, 65535, "port of the certificate request interface (0 = any free port, found through the endpoint mapper)", "0"},
	{"rpc", "workers", T_UINT, F(workers), 0, 256, "threads running calls (0 = four per CPU)", "0"},
	{"rpc", "max_connections", T_UINT, F(max_connections), 1, 65535, "connections served at once; further ones are closed on arrival", "256"},
	{"rpc", "idle_timeout", T_SECONDS, F(idle_timeout), 0, 86400, "close connections idle this long: seconds, or with suffix s, m, h (0 = never)", "300"},

	{"auth", "ntlm", T_BOOL, F(ntlm), 0, 0, "accept NTLM authentication", "on"},
	{"auth", "ntlmv1", T_BOOL, F(ntlmv1), 0, 0, "also accept NTLMv1 responses (weak; Windows refuses them since LmCompatibilityLevel 3)", "off"},
	{"auth", "anonymous", T_BOOL, F(anonymous), 0, 0, "accept anonymous (null session) NTLM logons; they are still refused enrollment", "off"},
	{"auth", "netbios_domain", T_NETBIOS, F(netbios_domain), 0, 0, "NetBIOS domain name the CA's accounts belong to (NTLM target name)", "CERTA"},
	{"auth", "computer_name", T_NETBIOS, F(computer_name), 0, 0, "NetBIOS name of this computer (default: the host name, upper case)", "<HOSTNAME>"},
	{"auth", "dns_domain", T_DNS, F(dns_domain), 0, 0, "DNS domain name (default: from the host name; empty if it has no dot)", "<domain>"},

	{"auth", "kerberos", T_BOOL, F(kerberos), 0, 0, "accept Kerberos (auth type 16) and Negotiate/SPNEGO (9, Kerberos inside) with the service keys in keytab", "off"},
	{"auth", "keytab", T_PATH, F(keytab), 0, 0, "keytab with the CA's service keys: its host/ and RPCSS/ SPNs or its computer account (samba-tool domain exportkeytab, ktpass); relative paths: to the state folder", "krb5.keytab"},
	{"auth", "ntlm_backend", T_CHOICE, F(ntlm_backend), 0, 0, "who checks NTLM logons: local (the accounts store) or winbind (the domain, through the local winbindd)", "local"},

	{"security", "rights_file", T_PATH, F(rights_file), 0, 0, "user rights in secedit INF syntax ([Privilege Rights] SeNetworkLogonRight = ...); reread on SIGHUP; absent file = Windows' defaults", "secpol.inf"},

	{"dcom", "enabled", T_BOOL, F(dcom), 0, 0, "serve DCOM activation of the CertSrv Request class (MS-WCCE) on the endpoint mapper", "on"},
	{"dcom", "machine_launch_restriction", T_SDDL, F(dcom_sddl[CONFIG_DCOM_MACHINE_LAUNCH]), CONFIG_DCOM_MACHINE_LAUNCH, 0, "MachineLaunchRestriction in SDDL: who may activate remotely (empty = Windows' default on a CA; see certad.conf(5))", ""},
	{"dcom", "machine_access_restriction", T_SDDL, F(dcom_sddl[CONFIG_DCOM_MACHINE_ACCESS]), CONFIG_DCOM_MACHINE_ACCESS, 0, "MachineAccessRestriction in SDDL: who may call DCOM objects remotely (empty = Windows' default on a CA)", ""},
	{"dcom", "certsrv_launch_permission", T_SDDL, F(dcom_sddl[CONFIG_DCOM_CERTSRV_LAUNCH]), CONFIG_DCOM_CERTSRV_LAUNCH, 0, "the CertSrv Request application's launch and activation permission in SDDL (empty = Everyone activates)", ""},
	{"dcom", "certsrv_access_permission", T_SDDL, F(dcom_sddl[CONFIG_DCOM_CERTSRV_ACCESS]), CONFIG_DCOM_CERTSRV_ACCESS, 0, "the CertSrv Request application's access permission in SDDL (empty = Everyone calls)", ""},
	{"dcom", "require_integrity_activation", T_BOOL, F(require_integrity_activation), 0, 0, "refuse activation below packet integrity (KB5004442 RequireIntegrityActivationAuthenticationLevel; event 10036)", "on"},

	{"log", "level", T_LEVEL, F(log_level), 0, 0, "diagnostic detail on stderr: error, warn, info, debug, trace", "info"},
	{"log", "events_file", T_PATH, F(events_file), 0, 0, "audit event log, one JSON object per line (relative paths: to the state folder)", "events.jsonl"},
	{"log", "logon_events", T_CHOICE, F(logon_events), 0, 0, "network logons audited in the event log: all (4624 and 4625), failures (4625), none", "all"},
	{"log", "auth_trace", T_BOOL, F(auth_trace), 0, 0, "trace every authentication step by step (context, token, rights decision) into auth_trace_file", "off"},
	{"log", "auth_trace_file", T_PATH, F(auth_trace_file), 0, 0, "authentication trace, one JSON object per line (relative paths: to the state folder)", "auth-trace.jsonl"},
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

/* The words a T_CHOICE key takes, by field; the value stored is the index. */
static const char *const ntlm_backends[] = {"local", "winbind", NULL};
static const char *const logon_event_choices[] = {"none", "failures", "all", NULL};
static const struct {
	size_t off;
	const char *const *words;
} choice_sets[] = {
	{F(ntlm_backend), ntlm_backends},
	{F(logon_events), logon_event_choices},
};

static const char *const *choices_of(const key_spec_t *k)
{
	for (size_t i = 0; i < sizeof(choice_sets) / sizeof(choice_sets[0]); i++) {
		if (choice_sets[i].off == k->off) {
			return choice_sets[i].words;
		}
	}
	return NULL;
}

static const char *const sections[] = {"ca", "rpc", "auth", "security", "dcom", "log"};
#define N_SECTIONS (sizeof(sections) / sizeof(sections[0]))

static const char *const key_alg_names[] = {
	[CONFIG_KEY_RSA2048] = "rsa2048", [CONFIG_KEY_RSA3072] = "rsa3072", [CONFIG_KEY_RSA4096] = "rsa4096",
	[CONFIG_KEY_P256] = "p256",       [CONFIG_KEY_P384] = "p384",
};

static const char *const level_names[] = {
	[LOG_ERROR] = "error", [LOG_WARN] = "warn", [LOG_INFO] = "info", [LOG_DEBUG] = "debug", [LOG_TRACE] = "trace",
};

const char *config_key_alg_name(config_key_alg_t alg)
{
	if ((size_t)alg < sizeof(key_alg_names) / sizeof(key_alg_names[0])) {
		return key_alg_names[alg];
	}
	return "?";
}

bool config_parse_log_level(const char *s, log_level_t *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (log_level_t)i;
			return true;
		}
	}
	if (strcasecmp(s, "warning") == 0) {
		*out = LOG_WARN;
		return true;
	}
	return false;
}

uint32_t config_edit_flags(const config_t *cfg)
{
	return cfg->san_attribute ? CONFIG_EDITF_ATTRIBUTESUBJECTALTNAME2 : 0;
}

uint32_t config_interface_flags(const config_t *cfg)
{
	return cfg->enforce_encryption ? CONFIG_IF_ENFORCEENCRYPTICERTREQUEST : 0;
}

/* ---- defaults ---- */

static char **str_field(config_t *cfg, const key_spec_t *k)
{
	return (char **)(void *)((char *)cfg + k->off);
}

static bool set_str(char **field, const char *v)
{
	char *d = strdup(v);
	if (!d) {
		return false;
	}
	free(*field);
	*field = d;
	return true;
}

/* The NetBIOS computer name Windows derives from the host name: the first
 * label, upper case, at most 15 characters (MS-NBTE 2.2.1 limits names to 15). */
static void host_names(char netbios[16], char *dns, size_t dns_len)
{
	char host[256] = "";
	size_t n = 0;

	if (gethostname(host, sizeof(host) - 1) != 0) {
		host[0] = '\0';
	}
	for (const char *p = host; *p && *p != '.' && n < 15; p++) {
		unsigned char ch = (unsigned char)*p;
		if (isalnum(ch) || ch == '-' || ch == '_') {
			netbios[n++] = (char)toupper(ch);
		}
	}
	netbios[n] = '\0';
	if (n == 0) {
		strcpy(netbios, "CERTA");
	}
	const char *dot = strchr(host, '.');
	snprintf(dns, dns_len, "%s", dot ? dot + 1 : "");
	for (char *p = dns; *p; p++) {
		*p = (char)tolower((unsigned char)*p);
	}
}

cerr_t config_defaults(config_t *cfg)
{
	char netbios[16], dns[256];

	memset(cfg, 0, sizeof(*cfg));
	host_names(netbios, dns, sizeof(dns));
	cfg->ca_key = CONFIG_KEY_RSA2048;
	cfg->validity_years = 5;
	cfg->enforce_encryption = true;
	cfg->n_listen = 1;
	cfg->epm_port = 135;
	cfg->max_connections = 256;
	cfg->idle_timeout = 300;
	cfg->ntlm = true;
	cfg->ntlm_backend = CONFIG_NTLM_LOCAL;
	cfg->log_level = LOG_INFO;
	cfg->logon_events = CONFIG_LOGON_EVENTS_ALL;
	cfg->dcom = true;
	cfg->require_integrity_activation = true;
	const char *templates =
		access(CERTA_TEMPLATES_DIR, F_OK) == 0 ? CERTA_TEMPLATES_DIR : CERTA_TEMPLATES_INSTALL_DIR;
	if (!set_str(&cfg->ca_name, "certa-CA") || !set_str(&cfg->templates_dir, templates) ||
	    !set_str(&cfg->listen[0], "0.0.0.0") || !set_str(&cfg->netbios_domain, "CERTA") ||
	    !set_str(&cfg->computer_name, netbios) || !set_str(&cfg->dns_domain, dns) ||
	    !set_str(&cfg->events_file, "events.jsonl") || !set_str(&cfg->rights_file, "secpol.inf") ||
	    !set_str(&cfg->keytab, "krb5.keytab") ||
	    !set_str(&cfg->auth_trace_file, "auth-trace.jsonl")) {
		config_cleanup(cfg);
		return CERR_NOMEM;
	}
	return CERR_OK;
}

void config_cleanup(config_t *cfg)
{
	if (!cfg) {
		return;
	}
	free(cfg->ca_name);
	for (size_t i = 0; i < cfg->n_templates; i++) {
		free(cfg->templates[i]);
	}
	free(cfg->templates_dir);
	free(cfg->aia_url);
	free(cfg->cdp_url);
	for (size_t i = 0; i < cfg->n_listen; i++) {
		free(cfg->listen[i]);
	}
	free(cfg->netbios_domain);
	free(cfg->computer_name);
	free(cfg->dns_domain);
	free(cfg->events_file);
	free(cfg->rights_file);
	for (size_t i = 0; i < CONFIG_DCOM_SDDL_N; i++) {
		free(cfg->dcom_sddl[i]);
	}
	free(cfg->keytab);
	free(cfg->auth_trace_file);
	memset(cfg, 0, sizeof(*cfg));
}

/* ---- error collection ---- */

typedef struct parse_ctx {
	config_t *cfg;
	const char *name;
	unsigned line;
	char *err;
	size_t err_len;
	size_t err_used;
	unsigned n_errors;
	bool nomem;
	unsigned set_on[N_KEYS]; /* line each key was set on, for duplicates */
} parse_ctx_t;

__attribute__((format(printf, 2, 3))) static void perr(parse_ctx_t *px, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	px->n_errors++;
	if (!px->err || px->err_len == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (px->err_used >= px->err_len - 1) {
		return;
	}
	int n = snprintf(px->err + px->err_used, px->err_len - px->err_used, "%s%s:%u: %s",
			 px->err_used ? "\n" : "", px->name, px->line, msg);
	if (n > 0) {
		px->err_used += (size_t)n;
		if (px->err_used > px->err_len - 1) {
			px->err_used = px->err_len - 1;
		}
	}
}

/* Optimal string alignment distance (Levenshtein plus adjacent transpositions,
 * so 'tempaltes' is one edit from 'templates'). Names are short; capped at 63. */
static unsigned edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned d[64][64];

	if (la > 63 || lb > 63) {
		return 99;
	}
	for (size_t i = 0; i <= la; i++) {
		d[i][0] = (unsigned)i;
	}
	for (size_t j = 0; j <= lb; j++) {
		d[0][j] = (unsigned)j;
	}
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			unsigned cost = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
			unsigned v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v) {
				v = d[i][j - 1] + 1;
			}
			if (d[i - 1][j - 1] + cost < v) {
				v = d[i - 1][j - 1] + cost;
			}
			if (i > 1 && j > 1 && tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == tolower((unsigned char)b[j - 1]) && d[i - 2][j - 2] + 1 < v) {
				v = d[i - 2][j - 2] + 1;
			}
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

static bool close_enough(const char *typed, const char *known)
{
	size_t n = strlen(known);
	unsigned limit = n <= 4 ? 1 : (n <= 8 ? 2 : 3);
	return edit_distance(typed, known) <= limit;
}

static void section_list(char *out, size_t len)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < N_SECTIONS && used < len; i++) {
		int n = snprintf(out + used, len - used, "%s[%s]", i ? ", " : "", sections[i]);
		if (n < 0) {
			break;
		}
		used += (size_t)n;
	}
}

static int find_section(const char *s)
{
	for (size_t i = 0; i < N_SECTIONS; i++) {
		if (strcasecmp(s, sections[i]) == 0) {
			return (int)i;
		}
	}
	return -1;
}

static void unknown_section(parse_ctx_t *px, const char *s)
{
	char list[64];
	for (size_t i = 0; i < N_SECTIONS; i++) {
		if (close_enough(s, sections[i])) {
			perr(px, "unknown section [%s] (did you mean [%s]?)", s, sections[i]);
			return;
		}
	}
	section_list(list, sizeof(list));
	perr(px, "unknown section [%s] (sections are %s)", s, list);
}

static void unknown_key(parse_ctx_t *px, const char *section, const char *key)
{
	const char *best = NULL;
	unsigned best_d = 99;

	for (size_t i = 0; i < N_KEYS; i++) {
		if (strcmp(keys[i].section, section) != 0 && strcasecmp(keys[i].key, key) == 0) {
			perr(px, "unknown key '%s' in [%s] (it belongs in [%s])", key, section, keys[i].section);
			return;
		}
	}
	for (size_t i = 0; i < N_KEYS; i++) {
		if (strcmp(keys[i].section, section) == 0 && close_enough(key, keys[i].key)) {
			unsigned d = edit_distance(key, keys[i].key);
			if (d < best_d) {
				best_d = d;
				best = keys[i].key;
			}
		}
	}
	if (best) {
		perr(px, "unknown key '%s' in [%s] (did you mean '%s'?)", key, section, best);
		return;
	}
	char list[512];
	size_t used = 0;
	list[0] = '\0';
	for (size_t i = 0; i < N_KEYS; i++) {
		if (strcmp(keys[i].section, section) == 0 && used < sizeof(list)) {
			int n = snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "", keys[i].key);
			if (n > 0) {
				used += (size_t)n;
			}
		}
	}
	perr(px, "unknown key '%s' in [%s] (keys there: %s)", key, section, list);
}

/* ---- value checks ---- */

static bool parse_uint(const char *v, unsigned long max, unsigned long *out)
{
	unsigned long n = 0;
	if (!*v) {
		return false;
	}
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9') {
			return false;
		}
		n = n * 10 + (unsigned long)(*p - '0');
		if (n > max) {
			return false;
		}
	}
	*out = n;
	return true;
}

static bool parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"on", "yes", "true", "1"};
	static const char *const no[] = {"off", "no", "false", "0"};
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static bool valid_ip(const char *v)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1;
}

/* name_chars_ok: letters, digits, '-', '_' and '.' only (template and NetBIOS names). */
static bool name_chars_ok(const char *v)
{
	for (const char *p = v; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (!isalnum(ch) && ch != '-' && ch != '_' && ch != '.') {
			return false;
		}
	}
	return true;
}

static bool valid_template_name(const char *v)
{
	return *v && strlen(v) <= 64 && name_chars_ok(v);
}

static bool valid_netbios(const char *v)
{
	size_t n = strlen(v);
	return n >= 1 && n <= 15 && v[0] != '.' && v[0] != '-' && name_chars_ok(v);
}

/* RFC 1035 2.3.4: labels of letters, digits and hyphens, 1-63 octets, name
 * at most 253 characters as written. Empty is allowed (no DNS domain). */
static bool valid_dns(const char *v)
{
	size_t label = 0, n = strlen(v);
	if (n == 0) {
		return true;
	}
	if (n > 253 || v[0] == '.' || v[n - 1] == '.') {
		return false;
	}
	for (const char *p = v; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch == '.') {
			if (label == 0 || p[-1] == '-') {
				return false;
			}
			label = 0;
		} else if (isalnum(ch) || (ch == '-' && label > 0)) {
			if (++label > 63) {
				return false;
			}
		} else {
			return false;
		}
	}
	return v[n - 1] != '-';
}

static bool valid_ca_name(const char *v)
{
	size_t n = strlen(v);
	if (n < 1 || n > 64) {
		return false;
	}
	for (const char *p = v; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		/* control characters and the characters AD CS sanitizes out of
		 * file and registry names (certutil -? "Sanitized CA name") */
		if (ch < 0x20 || ch == 0x7f || strchr("\\/:*?\"<>|", ch)) {
			return false;
		}
	}
	return true;
}

/* split a comma- or space-separated list in place; returns the count or
 * (size_t)-1 when more than max items */
static size_t split_list(char *v, char **items, size_t max)
{
	size_t n = 0;
	char *save = NULL;
	for (char *tok = strtok_r(v, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		if (n == max) {
			return (size_t)-1;
		}
		items[n++] = tok;
	}
	return n;
}

static void set_value(parse_ctx_t *px, const key_spec_t *k, char *v)
{
	config_t *cfg = px->cfg;
	void *field = (char *)cfg + k->off;
	unsigned long n;
	bool b;

	switch (k->type) {
	case T_NAME:
		if (!valid_ca_name(v)) {
			perr(px, "%s: '%s' is not a usable CA name (1-64 characters, none of \\ / : * ? \" < > |)",
			     k->key, v);
			return;
		}
		break;
	case T_KEYALG:
		for (size_t i = 0; i < sizeof(key_alg_names) / sizeof(key_alg_names[0]); i++) {
			if (strcasecmp(v, key_alg_names[i]) == 0) {
				*(config_key_alg_t *)field = (config_key_alg_t)i;
				return;
			}
		}
		perr(px, "%s: '%s' is not a supported key type (rsa2048, rsa3072, rsa4096, p256, p384)", k->key, v);
		return;
	case T_UINT:
		if (!parse_uint(v, UINT_MAX, &n) || n < k->min || n > k->max) {
			perr(px, "%s: '%s' is not a number from %u to %u", k->key, v, k->min, k->max);
			return;
		}
		*(unsigned *)field = (unsigned)n;
		return;
	case T_SECONDS: {
		char num[32];
		size_t len = strlen(v);
		unsigned long mult = 1;
		if (len > 0 && len < sizeof(num) && strchr("smh", tolower((unsigned char)v[len - 1]))) {
			char suffix = (char)tolower((unsigned char)v[len - 1]);
			mult = suffix == 'h' ? 3600 : (suffix == 'm' ? 60 : 1);
			len--;
		}
		if (len == 0 || len >= sizeof(num)) {
			perr(px, "%s: '%s' is not a duration (seconds, or a number with s, m or h; at most %u s)",
			     k->key, v, k->max);
			return;
		}
		memcpy(num, v, len);
		num[len] = '\0';
		if (!parse_uint(num, k->max, &n) || n * mult < k->min || n * mult > k->max) {
			perr(px, "%s: '%s' is not a duration (seconds, or a number with s, m or h; at most %u s)",
			     k->key, v, k->max);
			return;
		}
		*(unsigned *)field = (unsigned)(n * mult);
		return;
	}
	case T_PORT:
		if (!parse_uint(v, 65535, &n) || n < k->min) {
			if (k->min == 0) {
				perr(px, "%s: '%s' is not a port number (0-65535, 0 = any free port)", k->key, v);
			} else {
				perr(px, "%s: '%s' is not a port number (1-65535)", k->key, v);
			}
			return;
		}
		*(uint16_t *)field = (uint16_t)n;
		return;
	case T_BOOL:
		if (!parse_bool(v, &b)) {
			perr(px, "%s: '%s' is not on or off (also accepted: yes/no, true/false, 1/0)", k->key, v);
			return;
		}
		*(bool *)field = b;
		return;
	case T_LEVEL: {
		log_level_t lvl;
		if (!config_parse_log_level(v, &lvl)) {
			perr(px, "%s: '%s' is not a log level (error, warn, info, debug, trace)", k->key, v);
			return;
		}
		*(log_level_t *)field = lvl;
		return;
	}
	case T_CHOICE: {
		char list[128] = "";
		const char *const *words = choices_of(k);
		for (size_t i = 0; words && words[i]; i++) {
			if (strcasecmp(v, words[i]) == 0) {
				*(unsigned *)field = (unsigned)i;
				return;
			}
			size_t used = strlen(list);
			snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", words[i]);
		}
		perr(px, "%s: '%s' is not one of: %s", k->key, v, list);
		return;
	}
	case T_URL:
		if (*v && strncasecmp(v, "http://", 7) != 0 && strncasecmp(v, "https://", 8) != 0 &&
		    strncasecmp(v, "ldap://", 7) != 0) {
			perr(px, "%s: '%s' is not an http://, https:// or ldap:// URL (leave empty for none)", k->key, v);
			return;
		}
		if (!*v) {
			free(*(char **)field);
			*(char **)field = NULL;
			return;
		}
		break;
	case T_SDDL:
		/* the descriptor itself is parsed by certad (security/sd.h), which
		 * reports "file:line: key: at offset N: ..." */
		if (k->min >= CONFIG_DCOM_SDDL_N) {
			perr(px, "%s: internal error: no SDDL slot", k->key);
			return;
		}
		cfg->dcom_sddl_line[k->min] = *v ? px->line : 0;
		if (!*v) {
			free(*(char **)field);
			*(char **)field = NULL;
			return;
		}
		break;
	case T_PATH:
		if (!*v) {
			perr(px, "%s: a path is required (remove the line to use the default)", k->key);
			return;
		}
		break;
	case T_NETBIOS:
		if (!valid_netbios(v)) {
			perr(px, "%s: '%s' is not a NetBIOS name (1-15 letters, digits, '-', '_' or '.')", k->key, v);
			return;
		}
		for (char *p = v; *p; p++) {
			*p = (char)toupper((unsigned char)*p);
		}
		break;
	case T_DNS:
		if (!valid_dns(v)) {
			perr(px, "%s: '%s' is not a DNS domain name (e.g. corp.example.com; empty for none)", k->key, v);
			return;
		}
		for (char *p = v; *p; p++) {
			*p = (char)tolower((unsigned char)*p);
		}
		break;
	case T_TEMPLATES:
	case T_LISTEN: {
		char *items[CONFIG_MAX_TEMPLATES];
		size_t max = k->type == T_LISTEN ? CONFIG_MAX_LISTEN : CONFIG_MAX_TEMPLATES;
		size_t cnt = split_list(v, items, max);
		char **arr = k->type == T_LISTEN ? cfg->listen : cfg->templates;
		size_t *count = k->type == T_LISTEN ? &cfg->n_listen : &cfg->n_templates;
		if (cnt == (size_t)-1) {
			perr(px, "%s: more than %zu entries", k->key, max);
			return;
		}
		if (k->type == T_LISTEN && cnt == 0) {
			perr(px, "%s: at least one address is required (0.0.0.0 = every IPv4 address)", k->key);
			return;
		}
		for (size_t i = 0; i < cnt; i++) {
			if (k->type == T_LISTEN && !valid_ip(items[i])) {
				perr(px, "%s: '%s' is not an IP address (e.g. 0.0.0.0, 127.0.0.1, ::)", k->key, items[i]);
				return;
			}
			if (k->type == T_TEMPLATES && !valid_template_name(items[i])) {
				perr(px, "%s: '%s' is not a template name (the template's cn: letters, digits, '-', '_', '.')",
				     k->key, items[i]);
				return;
			}
		}
		for (size_t i = 0; i < *count; i++) {
			free(arr[i]);
			arr[i] = NULL;
		}
		*count = 0;
		for (size_t i = 0; i < cnt; i++) {
			if (!(arr[i] = strdup(items[i]))) {
				px->nomem = true;
				return;
			}
			*count = i + 1;
		}
		return;
	}
	default:
		perr(px, "%s: internal error: unhandled key type", k->key);
		return;
	}
	if (!set_str(str_field(cfg, k), v)) {
		px->nomem = true;
	}
}

/* ---- the parser ---- */

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t') {
		s++;
	}
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) {
		s[--n] = '\0';
	}
	return s;
}

/* value: "quoted" keeps everything between the quotes; otherwise an inline
 * comment starts at whitespace followed by '#' or ';'. NULL if malformed. */
static char *parse_value(char *v)
{
	v = trim(v);
	if (*v == '"') {
		char *end = strchr(v + 1, '"');
		if (!end) {
			return NULL;
		}
		*end = '\0';
		char *rest = trim(end + 1);
		if (*rest && *rest != '#' && *rest != ';') {
			return NULL;
		}
		return v + 1;
	}
	for (char *p = v; *p; p++) {
		if ((*p == '#' || *p == ';') && p > v && (p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	}
	return trim(v);
}

static void parse_line(parse_ctx_t *px, char *line, int *section)
{
	char *s = trim(line);

	if (*s == '\0' || *s == '#' || *s == ';') {
		return;
	}
	if (*s == '[') {
		char *end = strchr(s, ']');
		if (!end) {
			perr(px, "section header without ']' (write it as [ca], [rpc], [auth], [security], [dcom] or [log])");
			*section = -2;
			return;
		}
		*end = '\0';
		char *rest = trim(end + 1);
		char *name = trim(s + 1);
		if (*rest && *rest != '#' && *rest != ';') {
			perr(px, "unexpected text after [%s]", name);
		}
		*section = find_section(name);
		if (*section < 0) {
			unknown_section(px, name);
			*section = -2; /* keys below belong to a bad section: report them no further */
		}
		return;
	}
	char *eq = strchr(s, '=');
	if (!eq) {
		perr(px, "expected 'key = value', a [section] or a # comment, not '%s'", s);
		return;
	}
	*eq = '\0';
	char *key = trim(s);
	char *val = parse_value(eq + 1);
	if (!*key) {
		perr(px, "missing key name before '='");
		return;
	}
	if (*section == -2) {
		return;
	}
	if (*section < 0) {
		char list[64];
		section_list(list, sizeof(list));
		for (size_t i = 0; i < N_KEYS; i++) {
			if (strcasecmp(keys[i].key, key) == 0) {
				perr(px, "key '%s' is outside any section (put it under [%s])", key, keys[i].section);
				return;
			}
		}
		perr(px, "key '%s' is outside any section (sections are %s)", key, list);
		return;
	}
	const char *sec = sections[*section];
	for (size_t i = 0; i < N_KEYS; i++) {
		if (strcmp(keys[i].section, sec) != 0 || strcasecmp(keys[i].key, key) != 0) {
			continue;
		}
		if (!val) {
			perr(px, "%s: unterminated quoted value (close it with \")", keys[i].key);
			return;
		}
		if (px->set_on[i]) {
			perr(px, "%s set twice in [%s] (first on line %u); keep one", keys[i].key, sec, px->set_on[i]);
			return;
		}
		px->set_on[i] = px->line;
		set_value(px, &keys[i], val);
		return;
	}
	unknown_key(px, sec, key);
}

cerr_t config_parse(config_t *cfg, const char *name, const char *text, size_t len, char *err, size_t err_len)
{
	parse_ctx_t px = {.cfg = cfg, .name = name, .err = err, .err_len = err_len};
	int section = -1;
	size_t pos = 0;

	if (err && err_len) {
		err[0] = '\0';
	}
	while (pos < len) {
		size_t end = pos;
		while (end < len && text[end] != '\n') {
			end++;
		}
		px.line++;
		char *line = NULL;
		if (memchr(text + pos, '\0', end - pos)) {
			perr(&px, "contains a NUL byte: is this a text file?");
		} else if (end - pos > 4096) {
			perr(&px, "line longer than 4096 characters");
		} else if ((line = strndup(text + pos, end - pos)) == NULL) {
			return CERR_NOMEM;
		} else {
			parse_line(&px, line, &section);
			free(line);
		}
		if (px.nomem) {
			return CERR_NOMEM;
		}
		pos = end + 1;
	}
	return px.n_errors ? CERR_CONFIG : CERR_OK;
}

static cerr_t read_file(const char *path, char **out, size_t *out_len, char *err, size_t err_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *data = NULL;
	size_t used = 0;

	if (fd < 0) {
		snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
		return CERR_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, err_len, "%s: not a regular file", path);
		close(fd);
		return CERR_IO;
	}
	if ((size_t)st.st_size > CONFIG_MAX_FILE) {
		snprintf(err, err_len, "%s: larger than %u bytes: is this the right file?", path, CONFIG_MAX_FILE);
		close(fd);
		return CERR_LIMIT;
	}
	data = malloc((size_t)st.st_size + 1);
	if (!data) {
		close(fd);
		return CERR_NOMEM;
	}
	while (used < (size_t)st.st_size) {
		ssize_t n = read(fd, data + used, (size_t)st.st_size - used);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			break;
		}
		used += (size_t)n;
	}
	close(fd);
	data[used] = '\0';
	*out = data;
	*out_len = used;
	return CERR_OK;
}

cerr_t config_load(config_t *cfg, const char *path, char *err, size_t err_len)
{
	char *text = NULL;
	size_t len = 0;
	cerr_t e;

	if (err && err_len) {
		err[0] = '\0';
	}
	if ((e = config_defaults(cfg)) != CERR_OK) {
		return e;
	}
	if ((e = read_file(path, &text, &len, err, err_len)) != CERR_OK) {
		return e;
	}
	e = config_parse(cfg, path, text, len, err, err_len);
	free(text);
	return e;
}

char *config_locate(const char *explicit_path, const char *state_dir)
{
	char path[PATH_MAX];

	if (explicit_path) {
		return strdup(explicit_path);
	}
	if (state_dir) {
		snprintf(path, sizeof(path), "%s/certad.conf", state_dir);
		if (access(path, F_OK) == 0) {
			return strdup(path);
		}
	}
	if (access("/etc/certa/certad.conf", F_OK) == 0) {
		return strdup("/etc/certa/certad.conf");
	}
	return NULL;
}

cerr_t config_write_default(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		return errno == EEXIST ? CERR_EXISTS : CERR_IO;
	}
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return CERR_IO;
	}
	fprintf(f, "# certad.conf - certa CA daemon configuration (see docs/certad.conf.5.md).\n"
		   "# Every line below is commented out and shows the default; uncomment and\n"
		   "# edit what you want to change, then restart certad.\n");
	for (size_t s = 0; s < N_SECTIONS; s++) {
		fprintf(f, "\n[%s]\n", sections[s]);
		for (size_t i = 0; i < N_KEYS; i++) {
			if (strcmp(keys[i].section, sections[s]) == 0) {
				fprintf(f, "# %s\n#%s =%s%s\n", keys[i].help, keys[i].key, *keys[i].def ? " " : "", keys[i].def);
			}
		}
	}
	bool ok = fflush(f) == 0 && !ferror(f);
	if (fclose(f) != 0) {
		ok = false;
	}
	return ok ? CERR_OK : CERR_IO;
}
