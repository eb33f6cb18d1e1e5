/*
 * ca.c - see ca.h. The policy here stands in for AD CS's "Windows default"
 * enterprise policy module: pick the template (attribute, then request
 * extension), check it is offered, check the key, decide subject and SAN
 * from the template's name flags, pend or issue, then record and audit.
 * Messages follow AD CS's wording where it is known (KB 283218 for
 * "Denied by Policy Module").
 */
#include "ca/ca.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ca/attrib.h"
#include "ca/db.h"
#include "ca/issue.h"
#include "ca/request.h"
#include "util/log.h"

#ifndef CERTA_TEMPLATES_DIR
#define CERTA_TEMPLATES_DIR "/usr/share/certa/templates"
#endif

static const char *const default_templates[] = {"User", "Machine", "WebServer", "SubCA"};

struct ca {
	char *state_dir;
	signer_t *signer;
	X509 *cert;
	uint8_t *cert_der;
	size_t cert_der_len;
	uint8_t *chain_der;
	size_t chain_der_len;
	char *name;
	char *sanitized;
	ca_template_set_t *all_templates;
	const ca_template_t **offered;
	size_t num_offered;
	db_t *db;
	events_t *events;
	bool own_events;
	char *aia_url, *cdp_url, *dns_domain;
	uint32_t edit_flags;
};

/* ---- helpers ---- */

static char *path_join(const char *dir, const char *file)
{
	size_t n = strlen(dir) + strlen(file) + 2;
	char *p = malloc(n);
	if (p) {
		snprintf(p, n, "%s/%s", dir, file);
	}
	return p;
}

static bool file_exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

char *ca_sanitize_name(const char *name)
{
	/* AD CS keeps letters, digits and a few punctuation marks and writes
	 * anything else as '!' plus four hex digits of the UTF-16 code unit
	 * (certutil "sanitized name"). Non-ASCII is decoded from UTF-8 first. */
	size_t n = strlen(name);
	char *out = malloc(n * 10 + 1);
	if (!out) {
		return NULL;
	}
	size_t o = 0;
	const unsigned char *s = (const unsigned char *)name;
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ' ' ||
		    c == '-' || c == '_' || c == '.' || c == '\'' || c == '(' || c == ')') {
			out[o++] = (char)c;
			i++;
			continue;
		}
		uint32_t cp = c;
		size_t len = 1;
		if (c >= 0xC0 && c < 0xE0 && i + 1 < n) {
			cp = ((c & 0x1Fu) << 6) | (s[i + 1] & 0x3Fu);
			len = 2;
		} else if (c >= 0xE0 && c < 0xF0 && i + 2 < n) {
			cp = ((c & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu);
			len = 3;
		} else if (c >= 0xF0 && i + 3 < n) {
			cp = ((c & 0x07u) << 18) | ((s[i + 1] & 0x3Fu) << 12) | ((s[i + 2] & 0x3Fu) << 6) |
			     (s[i + 3] & 0x3Fu);
			len = 4;
		}
		if (cp >= 0x10000) {
			uint32_t v = cp - 0x10000;
			o += (size_t)sprintf(out + o, "!%04x!%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
		} else {
			o += (size_t)sprintf(out + o, "!%04x", cp);
		}
		i += len;
	}
	out[o] = 0;
	return out;
}

static cerr_t write_file_atomic(const char *path, const uint8_t *data, size_t len, mode_t mode)
{
	size_t n = strlen(path) + 8;
	char *tmp = malloc(n);
	if (!tmp) {
		return CERR_NOMEM;
	}
	snprintf(tmp, n, "%s.tmp", path);
	FILE *f = fopen(tmp, "we");
	cerr_t rc = CERR_IO;
	if (f) {
		bool ok = fwrite(data, 1, len, f) == len && fflush(f) == 0 && fsync(fileno(f)) == 0;
		ok = fclose(f) == 0 && ok;
		if (ok && chmod(tmp, mode) == 0 && rename(tmp, path) == 0) {
			rc = CERR_OK;
		}
	}
	if (rc != CERR_OK) {
		log_error("cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	return rc;
}

/* ---- creation ---- */

static cerr_t create_ca(const ca_config_t *cfg, const char *key_path, const char *crt_path)
{
	signer_t *s = NULL;
	X509 *x = NULL;
	BIO *bio = NULL;
	const char *name = cfg->ca_name && *cfg->ca_name ? cfg->ca_name : CA_DEFAULT_NAME;
	unsigned years = cfg->validity_years ? cfg->validity_years : CA_DEFAULT_VALIDITY_YEARS;
	cerr_t rc = signer_generate(key_path, cfg->key_alg, &s);
	if (rc != CERR_OK) {
		return rc;
	}
	rc = issue_ca_certificate(s, name, cfg->ca_extra_dn, years, time(NULL), &x);
	if (rc == CERR_OK) {
		bio = BIO_new(BIO_s_mem());
		char *pem = NULL;
		long n;
		if (bio && PEM_write_bio_X509(bio, x) && (n = BIO_get_mem_data(bio, &pem)) > 0) {
			rc = write_file_atomic(crt_path, (const uint8_t *)pem, (size_t)n, 0644);
		} else {
			rc = CERR_CRYPTO;
		}
	}
	if (rc != CERR_OK) {
		unlink(key_path); /* no half-made CA left behind */
	} else {
		log_info("created CA \"%s\" in %s", name, cfg->state_dir);
	}
	BIO_free(bio);
	X509_free(x);
	signer_free(s);
	return rc;
}

static cerr_t ensure_state_dir(const char *dir)
{
	if (!dir || !*dir) {
		log_error("no CA state folder configured");
		return CERR_CONFIG;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_error("cannot create %s: %s", dir, strerror(errno));
		return CERR_IO;
	}
	return CERR_OK;
}

cerr_t ca_init(const ca_config_t *cfg)
{
	cerr_t rc = ensure_state_dir(cfg->state_dir);
	if (rc != CERR_OK) {
		return rc;
	}
	char *key = path_join(cfg->state_dir, "ca.key");
	char *crt = path_join(cfg->state_dir, "ca.crt");
	char *dbp = path_join(cfg->state_dir, "ca.db");
	if (!key || !crt || !dbp) {
		rc = CERR_NOMEM;
	} else if (file_exists(key) || file_exists(crt)) {
		log_error("a CA already exists in %s", cfg->state_dir);
		rc = CERR_EXISTS;
	} else if ((rc = create_ca(cfg, key, crt)) == CERR_OK) {
		db_t *db;
		if ((rc = db_open_sqlite(dbp, &db)) == CERR_OK) {
			db_close(db);
		}
	}
	free(key);
	free(crt);
	free(dbp);
	return rc;
}

/* ---- open / close ---- */

void ca_close(ca_t *ca)
{
	if (!ca) {
		return;
	}
	db_close(ca->db);
	if (ca->own_events) {
		events_close(ca->events);
	}
	signer_free(ca->signer);
	X509_free(ca->cert);
	free(ca->cert_der);
	free(ca->chain_der);
	free(ca->name);
	free(ca->sanitized);
	template_set_free(ca->all_templates);
	free(ca->offered);
	free(ca->state_dir);
	free(ca->aia_url);
	free(ca->cdp_url);
	free(ca->dns_domain);
	free(ca);
}

static cerr_t load_cert(const char *path, X509 **out)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		log_error("cannot open %s: %s", path, strerror(errno));
		return CERR_IO;
	}
	*out = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (!*out) {
		log_error("%s is not a PEM certificate", path);
		return CERR_CRYPTO;
	}
	return CERR_OK;
}

static cerr_t load_templates(ca_t *ca, const ca_config_t *cfg)
{
	const char *dir = cfg->templates_dir ? cfg->templates_dir : CERTA_TEMPLATES_DIR;
	char err[512] = "";
	cerr_t rc = template_set_load_dir(dir, &ca->all_templates, err, sizeof(err));
	if (rc != CERR_OK) {
		log_error("loading templates: %s", err);
		return rc == CERR_NOMEM ? rc : CERR_CONFIG;
	}
	const char *const *names = cfg->templates ? cfg->templates : default_templates;
	size_t n = cfg->templates ? cfg->num_templates : sizeof(default_templates) / sizeof(default_templates[0]);
	ca->offered = calloc(n ? n : 1, sizeof(*ca->offered));
	if (!ca->offered) {
		return CERR_NOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const ca_template_t *t = template_set_find(ca->all_templates, names[i]);
		if (!t) {
			log_error("template \"%s\" is configured but not found in %s", names[i], dir);
			return CERR_CONFIG;
		}
		ca->offered[ca->num_offered++] = t;
	}
	return CERR_OK;
}

cerr_t ca_open(const ca_config_t *cfg, ca_t **out)
{
	*out = NULL;
	cerr_t rc = ensure_state_dir(cfg->state_dir);
	if (rc != CERR_OK) {
		return rc;
	}
	ca_t *ca = calloc(1, sizeof(*ca));
	if (!ca) {
		return CERR_NOMEM;
	}
	char *key = path_join(cfg->state_dir, "ca.key");
	char *crt = path_join(cfg->state_dir, "ca.crt");
	char *dbp = path_join(cfg->state_dir, "ca.db");
	char *evp = path_join(cfg->state_dir, "events.jsonl");
	ca->state_dir = strdup(cfg->state_dir);
	ca->aia_url = dup_or_null(cfg->aia_url);
	ca->cdp_url = dup_or_null(cfg->cdp_url);
	ca->dns_domain = dup_or_null(cfg->dns_domain);
	ca->edit_flags = cfg->edit_flags;
	if (!key || !crt || !dbp || !evp || !ca->state_dir || (cfg->aia_url && !ca->aia_url) ||
	    (cfg->cdp_url && !ca->cdp_url) || (cfg->dns_domain && !ca->dns_domain)) {
		rc = CERR_NOMEM;
		goto out;
	}
	bool have_key = file_exists(key), have_crt = file_exists(crt);
	if (have_key != have_crt) {
		log_error("%s holds only half a CA (%s without %s): restore it or remove it", cfg->state_dir,
			  have_key ? "ca.key" : "ca.crt", have_key ? "ca.crt" : "ca.key");
		rc = CERR_CONFIG;
		goto out;
	}
	if (!have_key) {
		if (cfg->no_create) {
			rc = CERR_NOT_FOUND;
			goto out;
		}
		if ((rc = create_ca(cfg, key, crt)) != CERR_OK) {
			goto out;
		}
	}
	if ((rc = signer_load(key, &ca->signer)) != CERR_OK || (rc = load_cert(crt, &ca->cert)) != CERR_OK) {
		goto out;
	}
	if (!signer_matches_cert(ca->signer, ca->cert)) {
		log_error("%s does not hold the key of %s", key, crt);
		rc = CERR_CONFIG;
		goto out;
	}
	/* the CA's name is its certificate's CN, whatever the config says now */
	X509_NAME *subj = X509_get_subject_name(ca->cert);
	int idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
	unsigned char *cn = NULL;
	if (idx < 0 || ASN1_STRING_to_UTF8(&cn, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx))) < 0) {
		log_error("the CA certificate has no common name");
		rc = CERR_CONFIG;
		goto out;
	}
	ca->name = strdup((const char *)cn);
	OPENSSL_free(cn);
	if (!ca->name || !(ca->sanitized = ca_sanitize_name(ca->name))) {
		rc = CERR_NOMEM;
		goto out;
	}
	if (cfg->ca_name && strcmp(cfg->ca_name, ca->name) != 0) {
		log_warn("configured CA name \"%s\" differs from the certificate's \"%s\"; using the certificate's",
			 cfg->ca_name, ca->name);
	}
	if ((rc = issue_der(ca->cert, &ca->cert_der, &ca->cert_der_len)) != CERR_OK ||
	    (rc = issue_chain_pkcs7(NULL, ca->cert, &ca->chain_der, &ca->chain_der_len)) != CERR_OK) {
		goto out;
	}
	if ((rc = load_templates(ca, cfg)) != CERR_OK) {
		goto out;
	}
	if ((rc = db_open_sqlite(dbp, &ca->db)) != CERR_OK) {
		goto out;
	}
	if (cfg->events) {
		ca->events = cfg->events;
	} else {
		if ((rc = events_open(evp, EVENTS_TO_STDERR, &ca->events)) != CERR_OK) {
			goto out;
		}
		ca->own_events = true;
	}
out:
	free(key);
	free(crt);
	free(dbp);
	free(evp);
	if (rc != CERR_OK) {
		ca_close(ca);
		return rc;
	}
	*out = ca;
	return CERR_OK;
}

/* ---- accessors ---- */

const char *ca_name(const ca_t *ca) { return ca->name; }
const char *ca_sanitized_name(const ca_t *ca) { return ca->sanitized; }
const uint8_t *ca_cert_der(const ca_t *ca, size_t *len)
{
	*len = ca->cert_der_len;
	return ca->cert_der;
}
const uint8_t *ca_cert_chain_pkcs7(const ca_t *ca, size_t *len)
{
	*len = ca->chain_der_len;
	return ca->chain_der;
}
size_t ca_num_templates(const ca_t *ca) { return ca->num_offered; }
const ca_template_t *ca_template_at(const ca_t *ca, size_t i) { return i < ca->num_offered ? ca->offered[i] : NULL; }
events_t *ca_events(ca_t *ca) { return ca->events; }
const char *ca_cdp_url(const ca_t *ca) { return ca->cdp_url; }
const char *ca_aia_url(const ca_t *ca) { return ca->aia_url; }

cerr_t ca_request_id_by_serial(ca_t *ca, const char *serial_hex, uint32_t *out_id)
{
	/* the database keeps serials as lowercase hex of the DER integer's
	 * bytes; a client sends an even number of digits in either case
	 * ([MS-WCCE] 3.2.1.4.3.1) */
	char norm[2 * ISSUE_SERIAL_LEN + 3];
	size_t n = serial_hex ? strlen(serial_hex) : 0;
	*out_id = 0;
	if (n == 0 || n % 2 != 0) {
		return CERR_INVALID_ARG;
	}
	if (n >= sizeof(norm)) {
		return CERR_NOT_FOUND; /* longer than any serial this CA issues */
	}
	for (size_t i = 0; i < n; i++) {
		char ch = serial_hex[i];
		if (ch >= 'A' && ch <= 'F') {
			ch = (char)(ch - 'A' + 'a');
		} else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) {
			return CERR_INVALID_ARG;
		}
		norm[i] = ch;
	}
	norm[n] = 0;
	db_cert_t c;
	cerr_t rc = db_get_cert_by_serial(ca->db, norm, &c);
	if (rc != CERR_OK) {
		return rc;
	}
	*out_id = c.request_id;
	db_cert_cleanup(&c);
	return CERR_OK;
}

bool ca_authority_matches(const ca_t *ca, const char *authority)
{
	return authority && (strcasecmp(authority, ca->name) == 0 || strcasecmp(authority, ca->sanitized) == 0);
}

static const ca_template_t *find_offered(const ca_t *ca, const char *name_or_oid)
{
	for (size_t i = 0; i < ca->num_offered; i++) {
		if (strcasecmp(ca->offered[i]->cn, name_or_oid) == 0 ||
		    (ca->offered[i]->oid && strcmp(ca->offered[i]->oid, name_or_oid) == 0)) {
			return ca->offered[i];
		}
	}
	return NULL;
}

/* ---- outcome ---- */

void ca_request_out_free(ca_request_out_t *out)
{
	if (!out) {
		return;
	}
	free(out->cert);
	free(out->chain);
	free(out->message);
	memset(out, 0, sizeof(*out));
}

/* decision is what policy concluded for one request, before recording. */
typedef struct decision {
	uint32_t disposition;
	cerr_t hresult; /* CERR_OK, or an HRESULT-space code */
	char message[1024];
	char reason[512]; /* for the audit log */
	const ca_template_t *tmpl;
	char template_name[260]; /* as requested, for messages and the database */
} decision_t;

static void deny(decision_t *d, uint32_t disposition, cerr_t hr, const char *detail)
{
	d->disposition = disposition;
	d->hresult = hr;
	if (disposition == CR_DISP_ERROR) {
		/* parse/verify failures: AD CS prefixes the step that failed */
		snprintf(d->message, sizeof(d->message), "%s  %s 0x%08x (%s)",
			 hr == CERR_NTE_BAD_SIGNATURE ? "Error Verifying Request Signature or Signing Certificate"
						      : "Error Parsing Request",
			 cerr_msg(hr), cerr_value(hr), cerr_name(hr));
	} else {
		snprintf(d->message, sizeof(d->message), "Denied by Policy Module  0x%08x, %s", cerr_value(hr),
			 detail ? detail : cerr_msg(hr));
	}
	snprintf(d->reason, sizeof(d->reason), "%s", detail ? detail : cerr_msg(hr));
}

static void set_out(ca_request_out_t *out, uint32_t id, uint32_t disposition, uint32_t hresult, const char *msg)
{
	out->request_id = id;
	out->disposition = disposition;
	out->hresult = hresult;
	out->wire_disposition = hresult ? hresult : disposition;
	free(out->message);
	out->message = msg ? strdup(msg) : NULL;
}

/* ---- subject and SAN ---- */

typedef struct identity {
	char user[256];  /* sAMAccountName-ish: "alice", "WS1$" */
	char upn[512];
	char dns[512];
	const char *email;
	const char *sid;
	bool machine;
} identity_t;

static void identity_from(const ca_t *ca, const ca_request_in_t *in, identity_t *id)
{
	memset(id, 0, sizeof(*id));
	const char *r = in->requester ? in->requester : "";
	const char *bs = strrchr(r, '\\');
	const char *at = strchr(r, '@');
	if (bs) {
		snprintf(id->user, sizeof(id->user), "%s", bs + 1);
	} else if (at) {
		snprintf(id->user, sizeof(id->user), "%.*s", (int)(at - r), r);
	} else {
		snprintf(id->user, sizeof(id->user), "%s", r);
	}
	size_t ul = strlen(id->user);
	id->machine = ul > 1 && id->user[ul - 1] == '$';
	if (in->requester_upn) {
		snprintf(id->upn, sizeof(id->upn), "%s", in->requester_upn);
	} else if (at && !bs && !id->machine) {
		snprintf(id->upn, sizeof(id->upn), "%s", r);
	} else if (ca->dns_domain && ul && !id->machine) {
		snprintf(id->upn, sizeof(id->upn), "%s@%s", id->user, ca->dns_domain);
	}
	if (in->requester_dns) {
		snprintf(id->dns, sizeof(id->dns), "%s", in->requester_dns);
	} else if (id->machine) {
		/* HOST$ -> host.domain (AD's dNSHostName is lower case by default) */
		char host[256];
		snprintf(host, sizeof(host), "%.*s", (int)(ul - 1), id->user);
		for (char *p = host; *p; p++) {
			*p = (char)((*p >= 'A' && *p <= 'Z') ? *p - 'A' + 'a' : *p);
		}
		if (ca->dns_domain) {
			snprintf(id->dns, sizeof(id->dns), "%s.%s", host, ca->dns_domain);
		} else {
			snprintf(id->dns, sizeof(id->dns), "%s", host);
		}
	}
	id->email = in->requester_email;
	id->sid = in->requester_sid;
}

static bool push_name(GENERAL_NAMES *g, int type, const char *value)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();
	if (!gn || !s || !ASN1_STRING_set(s, value, -1)) {
		GENERAL_NAME_free(gn);
		ASN1_IA5STRING_free(s);
		return false;
	}
	GENERAL_NAME_set0_value(gn, type, s);
	if (!sk_GENERAL_NAME_push(g, gn)) {
		GENERAL_NAME_free(gn);
		return false;
	}
	return true;
}

/* push_upn adds otherName szOID_NT_PRINCIPAL_NAME with a UTF8String value. */
static bool push_upn(GENERAL_NAMES *g, const char *upn)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_TYPE *v = ASN1_TYPE_new();
	ASN1_UTF8STRING *s = ASN1_UTF8STRING_new();
	ASN1_OBJECT *oid = OBJ_txt2obj(OID_NT_PRINCIPAL_NAME, 1);
	if (!gn || !v || !s || !oid || !ASN1_STRING_set(s, upn, -1)) {
		goto fail;
	}
	ASN1_TYPE_set(v, V_ASN1_UTF8STRING, s);
	s = NULL;
	if (!GENERAL_NAME_set0_othername(gn, oid, v)) {
		goto fail;
	}
	oid = NULL;
	v = NULL;
	if (!sk_GENERAL_NAME_push(g, gn)) {
		goto fail;
	}
	return true;
fail:
	ASN1_OBJECT_free(oid);
	ASN1_UTF8STRING_free(s);
	ASN1_TYPE_free(v);
	GENERAL_NAME_free(gn);
	return false;
}

static bool push_ip(GENERAL_NAMES *g, const char *ip)
{
	ASN1_OCTET_STRING *os = a2i_IPADDRESS(ip);
	GENERAL_NAME *gn = os ? GENERAL_NAME_new() : NULL;
	if (!gn) {
		ASN1_OCTET_STRING_free(os);
		return false;
	}
	GENERAL_NAME_set0_value(gn, GEN_IPADD, os);
	if (!sk_GENERAL_NAME_push(g, gn)) {
		GENERAL_NAME_free(gn);
		return false;
	}
	return true;
}

/* san_from_attribute turns "SAN:" entries into GeneralNames; unknown kinds
 * are skipped, malformed addresses deny the request. */
static cerr_t san_from_attribute(const ca_attribs_t *a, GENERAL_NAMES *g)
{
	for (size_t i = 0; i < a->num_san; i++) {
		const ca_san_entry_t *e = &a->san[i];
		bool ok = true;
		switch (e->type) {
		case CA_SAN_DNS: ok = push_name(g, GEN_DNS, e->value); break;
		case CA_SAN_EMAIL: ok = push_name(g, GEN_EMAIL, e->value); break;
		case CA_SAN_URL: ok = push_name(g, GEN_URI, e->value); break;
		case CA_SAN_UPN: ok = push_upn(g, e->value); break;
		case CA_SAN_IP: ok = push_ip(g, e->value); break;
		case CA_SAN_OTHER:
		default: log_info("SAN attribute: \"%s\" entries are not supported; skipped", e->type_name); break;
		}
		if (!ok) {
			return CERR_CERTSRV_E_BAD_REQUESTSUBJECT;
		}
	}
	return CERR_OK;
}

/* decide_names builds subject and SAN per msPKI-Certificate-Name-Flag
 * ([MS-CRTD] 2.28). Without a directory the facts come from the caller
 * (requester_* fields) or the configured DNS domain; requirements that
 * cannot be met from them are skipped, not denied (see README). */
static cerr_t decide_names(const ca_t *ca, const ca_template_t *t, const ca_csr_t *csr, const ca_attribs_t *attrs,
			   const identity_t *id, X509_NAME **subject, GENERAL_NAMES **san, char *why, size_t why_len)
{
	uint32_t nf = t->name_flags;
	*subject = NULL;
	*san = NULL;
	if (nf & CT_FLAG_ENROLLEE_SUPPLIES_SUBJECT) {
		*subject = X509_NAME_dup(X509_REQ_get_subject_name(csr->req));
	} else {
		*subject = X509_NAME_new();
		const char *cn = NULL;
		if (nf & CT_FLAG_SUBJECT_REQUIRE_DNS_AS_CN) {
			cn = id->dns[0] ? id->dns : id->user;
		} else if (nf & (CT_FLAG_SUBJECT_REQUIRE_DIRECTORY_PATH | CT_FLAG_SUBJECT_REQUIRE_COMMON_NAME |
				 CT_FLAG_SUBJECT_REQUIRE_EMAIL)) {
			cn = id->user;
		}
		if (*subject && cn && *cn &&
		    !X509_NAME_add_entry_by_NID(*subject, NID_commonName, MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0)) {
			snprintf(why, why_len, "the requester name cannot be a common name");
			return CERR_CERTSRV_E_BAD_REQUESTSUBJECT;
		}
		if (*subject && (nf & CT_FLAG_SUBJECT_REQUIRE_EMAIL) && id->email &&
		    !X509_NAME_add_entry_by_NID(*subject, NID_pkcs9_emailAddress, MBSTRING_ASC,
						(const unsigned char *)id->email, -1, -1, 0)) {
			return CERR_CERTSRV_E_BAD_REQUESTSUBJECT;
		}
	}
	*san = GENERAL_NAMES_new();
	if (!*subject || !*san) {
		return CERR_NOMEM;
	}
	if ((ca->edit_flags & EDITF_ATTRIBUTESUBJECTALTNAME2) && attrs && attrs->has_san) {
		/* the attribute replaces any other SAN source (AD CS, "ESC6") */
		return san_from_attribute(attrs, *san);
	}
	if (nf & (CT_FLAG_ENROLLEE_SUPPLIES_SUBJECT | CT_FLAG_ENROLLEE_SUPPLIES_SUBJECT_ALT_NAME)) {
		for (int i = 0; csr->exts && i < sk_X509_EXTENSION_num(csr->exts); i++) {
			X509_EXTENSION *e = sk_X509_EXTENSION_value(csr->exts, i);
			if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) != NID_subject_alt_name) {
				continue;
			}
			GENERAL_NAMES *req_san = X509V3_EXT_d2i(e);
			if (!req_san) {
				snprintf(why, why_len, "the requested subject alternative name cannot be decoded");
				ERR_clear_error();
				return CERR_CERTSRV_E_BAD_REQUESTSUBJECT;
			}
			GENERAL_NAMES_free(*san);
			*san = req_san;
			break;
		}
		return CERR_OK;
	}
	bool ok = true;
	if ((nf & CT_FLAG_SUBJECT_ALT_REQUIRE_UPN) && id->upn[0]) {
		ok = push_upn(*san, id->upn);
	}
	if (ok && (nf & CT_FLAG_SUBJECT_ALT_REQUIRE_EMAIL) && id->email) {
		ok = push_name(*san, GEN_EMAIL, id->email);
	}
	if (ok && (nf & (CT_FLAG_SUBJECT_ALT_REQUIRE_DNS | CT_FLAG_SUBJECT_ALT_REQUIRE_DOMAIN_DNS)) && id->dns[0]) {
		ok = push_name(*san, GEN_DNS, id->dns);
	}
	return ok ? CERR_OK : CERR_NOMEM;
}

/* ---- the request path ---- */

static void emit_events(ca_t *ca, const ca_request_in_t *in, const decision_t *d, uint32_t request_id,
			const char *subject, const char *serial)
{
	const char *tmpl = d->template_name[0] ? d->template_name : NULL;
	events_field_t recv[] = {
		EVF_INT("RequestId", request_id),
		EVF_STR("Requester", in->requester),
		EVF_STR("Attributes", in->attributes),
		EVF_STR("Template", tmpl),
		EVF_STR("ClientAddress", in->client_addr),
		EVF_STR("Protocol", in->protocol),
	};
	events_emit(ca->events, EVENT_CS_REQUEST_RECEIVED, EVENTS_LOG_SECURITY, EVENTS_SOURCE_SECURITY_AUDITING,
		    EVENTS_INFO, recv, sizeof(recv) / sizeof(recv[0]));
	uint32_t hr = d->hresult == CERR_OK ? 0 : cerr_value(d->hresult);
	events_field_t f[] = {
		EVF_INT("RequestId", request_id),
		EVF_STR("Requester", in->requester),
		EVF_STR("Attributes", in->attributes),
		EVF_STR("Template", tmpl),
		EVF_STR("ClientAddress", in->client_addr),
		EVF_STR("Protocol", in->protocol),
		EVF_INT("Disposition", d->disposition),
		EVF_STR("DispositionMessage", d->message),
		EVF_STR("Subject", subject),
		EVF_STR("SerialNumber", serial),
		EVF_HEX32("Hresult", hr),
		EVF_STR("HresultName", hr ? cerr_name(d->hresult) : NULL),
		EVF_STR("Reason", hr ? d->reason : NULL),
	};
	uint32_t id = d->disposition == CR_DISP_ISSUED		 ? EVENT_CS_REQUEST_ISSUED
		      : d->disposition == CR_DISP_UNDER_SUBMISSION ? EVENT_CS_REQUEST_PENDING
								   : EVENT_CS_REQUEST_DENIED;
	size_t n = hr ? 13 : (d->disposition == CR_DISP_ISSUED ? 10 : 8);
	events_emit(ca->events, id, EVENTS_LOG_SECURITY, EVENTS_SOURCE_SECURITY_AUDITING, EVENTS_INFO, f, n);
}

static cerr_t map_internal(cerr_t rc)
{
	return rc == CERR_NOMEM ? CERR_E_OUTOFMEMORY : CERR_E_FAIL;
}

static cerr_t retrieve(ca_t *ca, const ca_request_in_t *in, ca_request_out_t *out)
{
	db_request_t r;
	cerr_t rc = db_get_request(ca->db, in->request_id, &r);
	if (rc == CERR_NOT_FOUND) {
		/* [MS-WCCE] 3.2.1.4.2.1.3: unknown request ID */
		set_out(out, in->request_id, CR_DISP_ERROR, cerr_value(CERR_CERTSRV_E_PROPERTY_EMPTY),
			cerr_msg(CERR_CERTSRV_E_PROPERTY_EMPTY));
		return CERR_OK;
	}
	if (rc != CERR_OK) {
		set_out(out, in->request_id, CR_DISP_ERROR, cerr_value(CERR_E_FAIL), cerr_msg(CERR_E_FAIL));
		return rc;
	}
	/* only the original requester may collect the outcome (no officer roles yet) */
	if (in->requester && r.requester && strcasecmp(in->requester, r.requester) != 0) {
		log_info("request %u: retrieval by %s refused (requested by %s)", r.request_id, in->requester,
			 r.requester);
		set_out(out, in->request_id, CR_DISP_ERROR, cerr_value(CERR_E_ACCESSDENIED),
			cerr_msg(CERR_E_ACCESSDENIED));
		db_request_cleanup(&r);
		return CERR_OK;
	}
	if (r.disposition == CR_DISP_ISSUED) {
		db_cert_t c;
		rc = db_get_cert(ca->db, r.request_id, &c);
		if (rc == CERR_OK) {
			const unsigned char *p = c.der;
			X509 *x = d2i_X509(NULL, &p, (long)c.der_len);
			uint32_t reason;
			int64_t when;
			bool revoked = db_get_revocation(ca->db, c.serial_hex, &reason, &when) == CERR_OK;
			out->cert = malloc(c.der_len);
			if (x && out->cert) {
				memcpy(out->cert, c.der, c.der_len);
				out->cert_len = c.der_len;
				rc = issue_chain_pkcs7(x, ca->cert, &out->chain, &out->chain_len);
			} else {
				rc = CERR_NOMEM;
			}
			X509_free(x);
			db_cert_cleanup(&c);
			if (rc == CERR_OK) {
				set_out(out, r.request_id, revoked ? CR_DISP_REVOKED : CR_DISP_ISSUED, 0,
					revoked ? "Revoked" : "Issued");
			}
		}
		if (rc != CERR_OK) {
			free(out->cert);
			out->cert = NULL;
			out->cert_len = 0;
			set_out(out, r.request_id, CR_DISP_ERROR, cerr_value(CERR_E_FAIL), cerr_msg(CERR_E_FAIL));
		}
	} else {
		/* pending, denied or failed: the stored outcome, as first reported */
		set_out(out, r.request_id, r.disposition, r.status_code, r.disposition_msg);
		rc = CERR_OK;
	}
	db_request_cleanup(&r);
	return rc;
}

/* evaluate runs policy for a new request: template, key, names. On success
 * d->disposition is ISSUED or UNDER_SUBMISSION and subject/san are set. */
static void evaluate(ca_t *ca, const ca_request_in_t *in, const ca_attribs_t *attrs, const ca_csr_t *csr,
		     decision_t *d, X509_NAME **subject, GENERAL_NAMES **san)
{
	char why[512];
	/* template: request attribute first, then the request's extensions
	 * ([MS-WCCE] 3.2.2.6.2.1.4.5.4) */
	const char *by_attr = attrs ? attrs->template_name : NULL;
	const char *by_ext = csr->template_oid ? csr->template_oid : csr->template_name;
	const char *want = by_attr ? by_attr : by_ext;
	if (!want) {
		deny(d, CR_DISP_DENIED, CERR_CERTSRV_E_NO_CERT_TYPE, NULL);
		return;
	}
	snprintf(d->template_name, sizeof(d->template_name), "%s", want);
	d->tmpl = find_offered(ca, want);
	if (!d->tmpl) {
		snprintf(why, sizeof(why),
			 "The request was for a certificate template that is not supported by the Active Directory "
			 "Certificate Services policy: %s.",
			 want);
		deny(d, CR_DISP_DENIED, CERR_CERTSRV_E_UNSUPPORTED_CERT_TYPE, why);
		return;
	}
	snprintf(d->template_name, sizeof(d->template_name), "%s", d->tmpl->cn);
	if (by_attr && by_ext && find_offered(ca, by_ext) != d->tmpl) {
		snprintf(why, sizeof(why), "The request names template %s in its attributes and %s in its extensions.",
			 by_attr, by_ext);
		deny(d, CR_DISP_DENIED, CERR_CERTSRV_E_TEMPLATE_CONFLICT, why);
		return;
	}
	cerr_t rc = request_check_key(csr, d->tmpl);
	if (rc != CERR_OK) {
		snprintf(why, sizeof(why), "%s (%d-bit %s key; template %s requires %u bits)", cerr_msg(rc),
			 csr->key_bits, csr->key_type == EVP_PKEY_EC ? "EC" : "RSA", d->tmpl->cn,
			 d->tmpl->min_key_size);
		deny(d, CR_DISP_DENIED, rc, why);
		return;
	}
	identity_t id;
	identity_from(ca, in, &id);
	why[0] = 0;
	rc = decide_names(ca, d->tmpl, csr, attrs, &id, subject, san, why, sizeof(why));
	if (rc == CERR_OK && X509_NAME_entry_count(*subject) == 0 && sk_GENERAL_NAME_num(*san) == 0) {
		rc = CERR_CERTSRV_E_BAD_REQUESTSUBJECT;
		snprintf(why, sizeof(why), "The certificate would have neither a subject nor a subject alternative name.");
	}
	if (rc != CERR_OK) {
		deny(d, CR_DISP_DENIED, rc == CERR_NOMEM ? CERR_E_OUTOFMEMORY : rc, why[0] ? why : NULL);
		return;
	}
	if (d->tmpl->enrollment_flags & CT_FLAG_PEND_ALL_REQUESTS) {
		d->disposition = CR_DISP_UNDER_SUBMISSION;
		snprintf(d->message, sizeof(d->message), "Taken Under Submission");
		return;
	}
	d->disposition = CR_DISP_ISSUED;
	snprintf(d->message, sizeof(d->message), "Issued");
}

cerr_t ca_submit(ca_t *ca, const ca_request_in_t *in, ca_request_out_t *out)
{
	memset(out, 0, sizeof(*out));
	if (!ca || !in) {
		set_out(out, 0, CR_DISP_ERROR, cerr_value(CERR_E_INVALIDARG), cerr_msg(CERR_E_INVALIDARG));
		return CERR_INVALID_ARG;
	}
	if (in->authority && *in->authority && !ca_authority_matches(ca, in->authority)) {
		set_out(out, 0, CR_DISP_ERROR, cerr_value(CERR_E_INVALIDARG), cerr_msg(CERR_E_INVALIDARG));
		return CERR_OK;
	}
	if (in->request_len == 0) {
		if (in->request_id != 0) {
			return retrieve(ca, in, out);
		}
		set_out(out, 0, CR_DISP_ERROR, cerr_value(CERR_E_INVALIDARG), cerr_msg(CERR_E_INVALIDARG));
		return CERR_OK;
	}

	time_t now = time(NULL);
	decision_t d;
	memset(&d, 0, sizeof(d));
	ca_attribs_t *attrs = NULL;
	ca_csr_t *csr = NULL;
	X509_NAME *subject = NULL;
	GENERAL_NAMES *san = NULL;
	X509 *cert = NULL;
	char serial[ISSUE_SERIAL_HEX_LEN] = "";
	char subject_str[1024] = "";
	cerr_t rc = CERR_OK;

	cerr_t arc = in->attributes ? attrib_parse(in->attributes, strlen(in->attributes), &attrs) : CERR_OK;
	cerr_t qrc = request_decode(in->flags, in->request, in->request_len, &csr);
	if (arc == CERR_NOMEM || qrc == CERR_NOMEM) {
		rc = CERR_NOMEM;
		set_out(out, 0, CR_DISP_ERROR, cerr_value(CERR_E_OUTOFMEMORY), cerr_msg(CERR_E_OUTOFMEMORY));
		goto done;
	}
	if (arc != CERR_OK) {
		deny(&d, CR_DISP_DENIED, CERR_E_INVALIDARG, "The request attributes are malformed or too long.");
	} else if (qrc != CERR_OK) {
		if (attrs && attrs->template_name) {
			snprintf(d.template_name, sizeof(d.template_name), "%s", attrs->template_name);
		}
		deny(&d, CR_DISP_ERROR, qrc, NULL);
	} else {
		evaluate(ca, in, attrs, csr, &d, &subject, &san);
	}

	if (d.disposition == CR_DISP_ISSUED) {
		issue_params_t p = {
			.tmpl = d.tmpl,
			.ca_cert = ca->cert,
			.signer = ca->signer,
			.subject_key = csr->pkey,
			.subject_spki = X509_REQ_get_X509_PUBKEY(csr->req),
			.subject = subject,
			.san = san,
			.sid = in->requester_sid,
			.aia_url = ca->aia_url,
			.cdp_url = ca->cdp_url,
			.now = now,
		};
		rc = issue_certificate(&p, &cert, serial);
		if (rc == CERR_OK) {
			rc = issue_der(cert, &out->cert, &out->cert_len);
		}
		if (rc == CERR_OK) {
			rc = issue_chain_pkcs7_der(out->cert, out->cert_len, ca->cert_der, ca->cert_der_len, &out->chain,
						   &out->chain_len);
		}
		if (rc != CERR_OK) {
			/* our failure, not the client's: record it as an error */
			free(out->cert);
			free(out->chain);
			out->cert = out->chain = NULL;
			out->cert_len = out->chain_len = 0;
			deny(&d, CR_DISP_ERROR, map_internal(rc), "The CA could not build or sign the certificate.");
			serial[0] = 0;
		} else {
			X509_NAME_oneline(X509_get_subject_name(cert), subject_str, sizeof(subject_str));
		}
	}

	/* record before answering: every request gets a RequestID, denied ones too */
	db_request_t row = {
		.disposition = d.disposition,
		.status_code = d.hresult == CERR_OK ? 0 : cerr_value(d.hresult),
		.disposition_msg = d.message,
		.requester = in->requester,
		.template_name = d.template_name[0] ? d.template_name : NULL,
		.attributes = in->attributes,
		.client_addr = in->client_addr,
		.raw_request = in->request,
		.raw_request_len = in->request_len,
		.submitted_at = now,
		.resolved_at = d.disposition == CR_DISP_UNDER_SUBMISSION ? 0 : now,
		.request_flags = in->flags,
		.serial_hex = serial[0] ? serial : NULL,
	};
	db_cert_t crow = {0};
	if (cert) {
		time_t nb = now, na = now;
		struct tm tm;
		if (ASN1_TIME_to_tm(X509_get0_notBefore(cert), &tm) == 1) {
			nb = timegm(&tm);
		}
		if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1) {
			na = timegm(&tm);
		}
		crow = (db_cert_t){.serial_hex = serial, .subject = subject_str, .not_before = nb, .not_after = na,
				   .template_name = d.tmpl->cn, .der = out->cert, .der_len = out->cert_len};
	}
	rc = db_submit(ca->db, &row, cert ? &crow : NULL);
	if (rc != CERR_OK) {
		/* not durable: the certificate must not leave the CA */
		log_error("could not record a request from %s; refusing it", in->requester ? in->requester : "?");
		ca_request_out_free(out);
		set_out(out, 0, CR_DISP_ERROR, cerr_value(CERR_E_FAIL), cerr_msg(CERR_E_FAIL));
		goto done;
	}
	set_out(out, row.request_id, d.disposition, d.hresult == CERR_OK ? 0 : cerr_value(d.hresult), d.message);
	emit_events(ca, in, &d, row.request_id, cert ? subject_str : NULL, serial[0] ? serial : NULL);
	if (d.hresult != CERR_OK) {
		log_info("request %u from %s denied: 0x%08x %s", row.request_id, in->requester ? in->requester : "?",
			 cerr_value(d.hresult), d.reason);
	}
done:
	X509_free(cert);
	X509_NAME_free(subject);
	GENERAL_NAMES_free(san);
	request_free(csr);
	attrib_free(attrs);
	ERR_clear_error();
	return rc;
}
