/*
 * ca.h - the certification authority core, as the RPC services (MS-ICPR
 * CertServerRequest, later MS-WCCE ICertRequestD) and the CLI use it.
 * ca_open brings up a CA from a state folder (creating it on first start);
 * ca_submit runs one request through decoding, template policy, issuance,
 * durable recording and audit events, and says what to put on the wire.
 * Every outcome - issued, denied, pending, retrieval - is reported the way
 * AD CS reports it ([MS-WCCE] 3.2.1.4.2.1; protocol-facts 2.4).
 *
 * State folder layout: ca.key (PEM, 0600), ca.crt (PEM), ca.db (SQLite),
 * events.jsonl (audit log, unless the caller supplies an events_t).
 *
 * Threads: ca_submit may be called from many worker threads at once; the
 * CA's own state is read-only after ca_open and only the database commit
 * serializes (shared between concurrent requests by group commit).
 */
#ifndef CERTA_CA_CA_H
#define CERTA_CA_CA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ca/signer.h"
#include "ca/template.h"
#include "events/events.h"
#include "util/err.h"

/* Request dispositions (certcli.h CR_DISP_*; [MS-WCCE] 3.2.1.4.2.1). */
#define CR_DISP_INCOMPLETE 0u
#define CR_DISP_ERROR 1u
#define CR_DISP_DENIED 2u
#define CR_DISP_ISSUED 3u
#define CR_DISP_ISSUED_OUT_OF_BAND 4u
#define CR_DISP_UNDER_SUBMISSION 5u
#define CR_DISP_REVOKED 6u

/* CA EditFlags (certsrv.h) that change policy. */
#define EDITF_ATTRIBUTESUBJECTALTNAME2 0x00040000u /* honour "SAN:" request attributes (ESC6; off by default) */

#define CA_DEFAULT_VALIDITY_YEARS 5u
#define CA_DEFAULT_NAME "certa-CA"

typedef struct ca_config {
	const char *state_dir;   /* required; created 0700 if missing */
	const char *ca_name;     /* CN of the CA certificate (first start); NULL = CA_DEFAULT_NAME */
	const char *ca_extra_dn; /* more RDNs after the CN, RFC 4514 order ("DC=example,DC=com"); NULL = none */
	ca_key_alg_t key_alg;    /* first start only; default CA_KEY_RSA_2048 */
	unsigned validity_years; /* CA certificate lifetime; 0 = 5 */
	/* Templates the CA offers (AD: the CA's certificateTemplates). NULL =
	 * User, Machine, WebServer, SubCA. Each must exist in templates_dir. */
	const char *const *templates;
	size_t num_templates;
	const char *templates_dir; /* folder of *.ldif; NULL = the installed templates */
	const char *aia_url;       /* caIssuers URL put in issued certificates; NULL = none */
	const char *cdp_url;       /* CRL distribution point URL; NULL = none */
	uint32_t edit_flags;       /* EDITF_*; default 0 */
	/* DNS domain of the requesters' realm ("example.com"): builds UPNs
	 * (user@domain) and machine DNS names (host.domain) for templates that
	 * require them when the caller does not pass them. NULL = unknown. */
	const char *dns_domain;
	events_t *events; /* audit log; NULL = the CA opens STATE/events.jsonl (+stderr) */
	bool no_create;   /* ca_open: fail with CERR_NOT_FOUND instead of creating a CA */
} ca_config_t;

typedef struct ca ca_t;

/* ca_init creates a new CA in cfg->state_dir (key, certificate, database).
 * CERR_EXISTS if a CA key or certificate is already there. */
cerr_t ca_init(const ca_config_t *cfg);
/* ca_open loads the CA in cfg->state_dir, creating it first if absent (unless
 * cfg->no_create). Fails with CERR_CONFIG (bad template list, half-written
 * state, key/certificate mismatch), CERR_IO, CERR_STORE or CERR_CRYPTO,
 * logging the detail. Close with ca_close. */
cerr_t ca_open(const ca_config_t *cfg, ca_t **out);
void ca_close(ca_t *ca);

/* One CertServerRequest / Request call, already unmarshalled to UTF-8. */
typedef struct ca_request_in {
	uint32_t flags;         /* dwFlags (CR_IN_*; request.h) */
	const char *authority;  /* pwszAuthority; NULL/"" = not checked */
	uint32_t request_id;    /* *pdwRequestId in: 0 = new request, N = retrieve N */
	const char *attributes; /* attribute string, NULL = none */
	const uint8_t *request; /* request blob; empty + request_id != 0 = retrieval */
	size_t request_len;
	const char *requester; /* authenticated caller, "DOMAIN\\user" or "user@REALM" */
	/* Optional facts about the requester (from a PAC or the directory);
	 * NULL = unknown. Used for subject/SAN building and the SID extension. */
	const char *requester_upn;
	const char *requester_dns; /* machine accounts: host FQDN */
	const char *requester_email;
	const char *requester_sid; /* "S-1-5-21-..." */
	const char *client_addr;   /* for the audit log */
	const char *protocol;      /* "ICPR" / "WCCE", for the audit log */
} ca_request_in_t;

/* What to send back. All heap fields are owned: ca_request_out_free. */
typedef struct ca_request_out {
	uint32_t request_id;  /* for *pdwRequestId (0 if none was assigned) */
	uint32_t disposition; /* CR_DISP_* as stored in the database */
	uint32_t hresult;     /* 0 when issued/pending, else the HRESULT of the failure */
	/* wire_disposition is what goes in *pdwDisposition: the disposition
	 * when hresult is 0, else the HRESULT itself - Windows puts the error
	 * there and returns 0 from the method (protocol-facts 2.4). */
	uint32_t wire_disposition;
	uint8_t *cert; /* DER X.509 (pctbEncodedCert), NULL if none */
	size_t cert_len;
	uint8_t *chain; /* DER PKCS#7 issued cert + CA cert (pctbCert), NULL if none */
	size_t chain_len;
	char *message; /* disposition message, UTF-8 (pctbDispositionMessage) */
} ca_request_out_t;

/* ca_submit processes a new request or a retrieval. It returns CERR_OK
 * whenever *out holds an outcome for the client (issued, denied, pending,
 * unknown request ID, bad CA name ...), even a negative one. Any other
 * return (CERR_STORE, CERR_NOMEM, CERR_INVALID_ARG) means the CA could not
 * process or record the request; *out is still filled with CR_DISP_ERROR
 * and an HRESULT (E_FAIL / E_OUTOFMEMORY / E_INVALIDARG) the service may
 * send. A new request is recorded durably before ca_submit returns.
 * Audit events 4886 + 4887/4888/4889 are emitted for new requests. */
cerr_t ca_submit(ca_t *ca, const ca_request_in_t *in, ca_request_out_t *out);
void ca_request_out_free(ca_request_out_t *out);

/* ---- accessors (read-only, valid until ca_close) ---- */

/* ca_name is the CA's common name (from its certificate). */
const char *ca_name(const ca_t *ca);
/* ca_sanitized_name: the name with characters AD CS does not allow in
 * registry/file names replaced by "!xxxx" (UTF-16 code unit, hex). */
const char *ca_sanitized_name(const ca_t *ca);
/* ca_authority_matches: pwszAuthority names this CA (name or sanitized
 * name, case-insensitive). */
bool ca_authority_matches(const ca_t *ca, const char *authority);
/* ca_cert_der: the CA certificate, DER. */
const uint8_t *ca_cert_der(const ca_t *ca, size_t *len);
/* ca_cert_chain_pkcs7: the CA certificate as a degenerate PKCS#7 (for
 * GetCACert / CR_PROP_CASIGCERTCHAIN). */
const uint8_t *ca_cert_chain_pkcs7(const ca_t *ca, size_t *len);
/* Offered templates, in configuration order (name = ->cn, OID = ->oid). */
size_t ca_num_templates(const ca_t *ca);
const ca_template_t *ca_template_at(const ca_t *ca, size_t i);
/* ca_events is the audit log in use (for the services' own events). */
events_t *ca_events(ca_t *ca);
/* ca_cdp_url / ca_aia_url: the URLs put in issued certificates (NULL =
 * none), for MS-WCCE CR_PROP_CERTCDPURLS / CR_PROP_CERTAIAURLS. */
const char *ca_cdp_url(const ca_t *ca);
const char *ca_aia_url(const ca_t *ca);
/* ca_request_id_by_serial finds the request that produced the certificate
 * with this serial (even-length hex, any case), for retrieval by serial
 * ([MS-WCCE] 3.2.1.4.3.1.2 step 4): then ca_submit with that request ID and
 * an empty request. CERR_NOT_FOUND if no certificate has it, CERR_INVALID_ARG
 * if it is not even-length hex, CERR_STORE on a database failure. */
cerr_t ca_request_id_by_serial(ca_t *ca, const char *serial_hex, uint32_t *out_id);

/* ca_sanitize_name writes the sanitized form of name to out (malloc'd). */
char *ca_sanitize_name(const char *name);

#endif
