/*
 * cmd_req.c - `certa req`: enroll for a certificate over MS-ICPR the way a
 * Windows client does with `certreq -rpc`: make a key and a PKCS#10 request
 * (or take a CSR), find ICertPassage's port through the endpoint mapper,
 * bind with NTLM at PKT_PRIVACY, call CertServerRequest with
 * "CertificateTemplate:NAME", and write the key, the certificate, the CA
 * chain (from the returned PKCS#7) and optionally a PKCS#12 file. Errors are
 * printed with their code, name and meaning from the one error table.
 * Exit codes (sysexits.h): 0 issued, 75 pending, 77 denied or refused,
 * 64 usage, 66 unreadable input, 69 server unreachable, 73 cannot write,
 * 76 protocol error, 70 internal error.
 *
 * With --dcom it takes the path Windows certenroll takes instead (MS-WCCE):
 * DCOM activation of the CertSrv Request class on the endpoint-mapper port,
 * ICertRequestD2::Request2 (or ICertRequestD::Request) on the object
 * exporter the activator names, then RemRelease.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "cli/cli.h"
#include "cli/subcommands.h"
#include "rpc/client.h"
#include "rpc/pdu.h"
#include "services/dcom_client.h"
#include "services/icpr.h"
#include "services/wcce.h"
#include "util/arena.h"
#include "util/err.h"

/* dwFlags for a new request: CR_IN_PKCS10 (MS-WCCE 3.2.1.4.3.1.1); retrieval
 * sends 0 with an empty request (MS-WCCE 3.2.1.4.2.1.3). */
#define REQ_FLAGS_PKCS10 0x00000100u
#define PASSWORD_MAX 512

typedef struct req_opts {
	const char *host;
	uint16_t epm_port;
	uint16_t port;          /* skip the endpoint mapper when set */
	const char *user;
	const char *domain;
	bool password_stdin;
	const char *template_name;
	const char *subject;
	const char *key_alg;
	const char *csr_file;
	const char *out;
	bool pfx;
	bool pfx_password_stdin;
	uint32_t retrieve_id;
	bool retrieve;
	const char *authority;
	uint8_t auth_level;
	unsigned timeout_ms;
	bool quiet;
	bool dcom; /* MS-WCCE over DCOM instead of MS-ICPR */
} req_opts_t;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: certa req --ca HOST [--port EPMPORT] [--user [DOMAIN\\]USER [--domain D]]\n"
		"                 [--password-stdin] --template NAME [--subject CN=...,O=...]\n"
		"                 [--key rsa2048|rsa3072|rsa4096|p256|p384] [--csr FILE] [--out PREFIX]\n"
		"                 [--pfx [--pfx-password-stdin]] [--retrieve ID] [--authority CANAME]\n"
		"                 [--auth-level privacy|integrity|connect|none] [--rpc-port PORT]\n"
		"                 [--timeout SECONDS] [--quiet] [--dcom]\n"
		"\n"
		"Requests a certificate from an AD CS-compatible CA over MS-ICPR (DCE/RPC),\n"
		"or with --dcom over MS-WCCE (DCOM activation of the CertSrv Request class\n"
		"on the endpoint-mapper port, then ICertRequestD2::Request2), as Windows\n"
		"certenroll does; --dcom learns the CA name from the CA when --authority is\n"
		"not given.\n"
		"Writes PREFIX.key (mode 0600), PREFIX.pem, PREFIX-chain.pem and, with --pfx,\n"
		"PREFIX.pfx. PREFIX defaults to the template name (\"req\" with --retrieve).\n"
		"The password is read from a prompt, or one line of stdin with --password-stdin\n"
		"(then the PKCS#12 password on the next line with --pfx-password-stdin).\n"
		"--authority names the CA (its common name); without it the request names no\n"
		"CA, which certad accepts and Windows refuses with E_INVALIDARG.\n"
		"Exit status: 0 issued, 75 pending (retrieve later with --retrieve ID),\n"
		"77 denied or refused, 69 server unreachable, 64 usage.\n");
}

/* ---- small helpers ---- */

static void print_openssl_errors(void)
{
	unsigned long e;
	char buf[256];
	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		fprintf(stderr, "  openssl: %s\n", buf);
	}
}

static bool parse_u16(const char *s, uint16_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v == 0 || v > 65535) {
		return false;
	}
	*out = (uint16_t)v;
	return true;
}

static bool parse_u32(const char *s, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *s == '\0' || *end != '\0' || v > UINT32_MAX) {
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

static EVP_PKEY *generate_key(const char *alg)
{
	if (!strcmp(alg, "rsa2048") || !strcmp(alg, "rsa")) {
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	}
	if (!strcmp(alg, "rsa3072")) {
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	}
	if (!strcmp(alg, "rsa4096")) {
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
	}
	if (!strcmp(alg, "rsa1024")) { /* for testing a template's minimum key size */
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	}
	if (!strcmp(alg, "p256") || !strcmp(alg, "ec")) {
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	}
	if (!strcmp(alg, "p384")) {
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	}
	return NULL;
}

/* parse_subject reads "CN=a,O=b" (backslash escapes a comma) or "/CN=a/O=b". */
static X509_NAME *parse_subject(const char *s)
{
	X509_NAME *name = X509_NAME_new();
	if (!name) {
		return NULL;
	}
	char sep = ',';
	if (*s == '/') {
		sep = '/';
		s++;
	}
	char buf[1024];
	while (*s) {
		size_t n = 0;
		while (*s && *s != sep) {
			if (*s == '\\' && s[1]) {
				s++;
			}
			if (n + 1 >= sizeof(buf)) {
				goto bad;
			}
			buf[n++] = *s++;
		}
		buf[n] = '\0';
		if (*s == sep) {
			s++;
		}
		char *item = buf;
		while (*item == ' ') {
			item++;
		}
		if (!*item) {
			continue;
		}
		char *eq = strchr(item, '=');
		if (!eq || eq == item) {
			goto bad;
		}
		*eq = '\0';
		if (!X509_NAME_add_entry_by_txt(name, item, MBSTRING_UTF8, (const unsigned char *)(eq + 1), -1, -1,
						0)) {
			goto bad;
		}
	}
	return name;
bad:
	X509_NAME_free(name);
	return NULL;
}

static X509_REQ *make_csr(EVP_PKEY *key, const char *subject)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = parse_subject(subject);
	if (!req || !name || !X509_REQ_set_version(req, 0) || !X509_REQ_set_subject_name(req, name) ||
	    !X509_REQ_set_pubkey(req, key) || !X509_REQ_sign(req, key, EVP_sha256())) {
		X509_REQ_free(req);
		X509_NAME_free(name);
		return NULL;
	}
	X509_NAME_free(name);
	return req;
}

/* read_csr_der loads a CSR file (PEM or DER) and returns its DER bytes. */
static unsigned char *read_csr_der(const char *path, int *out_len)
{
	BIO *bio = BIO_new_file(path, "rb");
	if (!bio) {
		return NULL;
	}
	X509_REQ *req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
	if (!req) {
		ERR_clear_error();
		(void)BIO_reset(bio);
		req = d2i_X509_REQ_bio(bio, NULL);
	}
	BIO_free(bio);
	if (!req) {
		return NULL;
	}
	unsigned char *der = NULL;
	*out_len = i2d_X509_REQ(req, &der);
	X509_REQ_free(req);
	return *out_len > 0 ? der : NULL;
}

/* open_out creates path with mode (truncating), as a stdio stream. */
static FILE *open_out(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		return NULL;
	}
	(void)fchmod(fd, mode); /* an existing file keeps its mode otherwise */
	FILE *f = fdopen(fd, "wb");
	if (!f) {
		close(fd);
	}
	return f;
}

static bool write_key(const char *path, EVP_PKEY *key)
{
	FILE *f = open_out(path, 0600);
	if (!f) {
		return false;
	}
	bool ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1;
	return fclose(f) == 0 && ok;
}

static EVP_PKEY *read_key(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		return NULL;
	}
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	return k;
}

static bool write_certs(const char *path, X509 *const *certs, size_t n)
{
	FILE *f = open_out(path, 0644);
	if (!f) {
		return false;
	}
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		ok = ok && PEM_write_X509(f, certs[i]) == 1;
	}
	return fclose(f) == 0 && ok;
}

/* ---- the request ---- */

typedef struct req_result {
	uint32_t status;      /* method return value */
	uint32_t request_id;
	uint32_t disposition;
	X509 *cert;
	STACK_OF(X509) *chain; /* CA certificates from the PKCS#7, without the leaf */
	char *message;         /* disposition message, UTF-8 (malloc) */
} req_result_t;

static void req_result_free(req_result_t *r)
{
	X509_free(r->cert);
	sk_X509_pop_free(r->chain, X509_free);
	free(r->message);
	memset(r, 0, sizeof(*r));
}

/* resolve_port finds ICertPassage's TCP port through the endpoint mapper. */
static int resolve_port(const req_opts_t *o, const rpc_client_config_t *cfg, uint16_t *out)
{
	if (o->port) {
		*out = o->port;
		return EX_OK;
	}
	rpc_client_error_t err;
	cerr_t e = rpc_client_ept_map(o->host, o->epm_port, &ICPR_UUID, ICPR_VERS_MAJOR, ICPR_VERS_MINOR, cfg, out,
				      &err);
	if (e == CERR_OK) {
		return EX_OK;
	}
	if (err.detail[0]) {
		fprintf(stderr, "certa req: %s\n", err.detail);
	} else {
		fprintf(stderr, "certa req: endpoint mapper %s:%u: %s\n", o->host, (unsigned)o->epm_port, cerr_msg(e));
	}
	return e == CERR_EPT_S_NOT_REGISTERED ? EX_UNAVAILABLE
	       : (e == CERR_IO || e == CERR_TIMEOUT || e == CERR_NOT_FOUND || e == CERR_CLOSED) ? EX_UNAVAILABLE
											      : EX_PROTOCOL;
}

static void print_client_error(const char *what, cerr_t e, const rpc_client_error_t *err, bool anonymous)
{
	char d[320];
	if (err->fault_status) {
		fprintf(stderr, "certa req: %s: fault %s\n", what, cerr_describe(err->fault_status, d, sizeof(d)));
		if (err->fault_status == cerr_value(CERR_NCA_S_FAULT_ACCESS_DENIED)) {
			/* with NTLM the credentials are judged after auth3, which has no
			 * answer: the first call is where a wrong password shows */
			fprintf(stderr, anonymous ? "  (no --user given: the server refused an anonymous caller)\n"
						  : "  (the server did not accept the credentials: check the user name, "
						    "domain and password)\n");
		}
		return;
	}
	fprintf(stderr, "certa req: %s: %s\n", what, err->detail[0] ? err->detail : cerr_msg(e));
	if (err->nak && err->nak_reason == RPC_NAK_INVALID_CHECKSUM) {
		fprintf(stderr, "  (the server did not accept the credentials)\n");
	}
}

static int exit_for_client_error(cerr_t e, const rpc_client_error_t *err)
{
	if (err->nak || e == CERR_NCA_S_FAULT_ACCESS_DENIED || e == CERR_SEC_E_LOGON_DENIED) {
		return EX_NOPERM;
	}
	if (e == CERR_IO || e == CERR_TIMEOUT || e == CERR_CLOSED || e == CERR_NOT_FOUND) {
		return EX_UNAVAILABLE;
	}
	return EX_PROTOCOL;
}

/* parse_result turns the response blobs into certificates. */
static bool parse_result(const icpr_response_t *resp, arena_t *a, req_result_t *r)
{
	r->status = resp->status;
	r->request_id = resp->request_id;
	r->disposition = resp->disposition;
	char *msg = icpr_blob_to_utf8(&resp->disposition_message, a);
	r->message = strdup(msg ? msg : "");
	if (resp->encoded_cert.len) {
		const unsigned char *p = resp->encoded_cert.data;
		r->cert = d2i_X509(NULL, &p, resp->encoded_cert.len);
		if (!r->cert) {
			return false;
		}
	}
	r->chain = sk_X509_new_null();
	if (!r->chain) {
		return false;
	}
	if (resp->cert_chain.len) {
		const unsigned char *p = resp->cert_chain.data;
		PKCS7 *p7 = d2i_PKCS7(NULL, &p, resp->cert_chain.len);
		if (!p7 || !PKCS7_type_is_signed(p7) || !p7->d.sign) {
			PKCS7_free(p7);
			return false;
		}
		STACK_OF(X509) *certs = p7->d.sign->cert;
		for (int i = 0; certs && i < sk_X509_num(certs); i++) {
			X509 *x = sk_X509_value(certs, i);
			if (r->cert && X509_cmp(x, r->cert) == 0) {
				continue;
			}
			if (!X509_up_ref(x) || !sk_X509_push(r->chain, x)) {
				PKCS7_free(p7);
				return false;
			}
		}
		PKCS7_free(p7);
	}
	return true;
}

static int do_request(const req_opts_t *o, const char *password, const uint8_t *csr, size_t csr_len,
		      req_result_t *r)
{
	rpc_client_config_t cfg = {.timeout_ms = o->timeout_ms};
	uint16_t port;
	int rc = resolve_port(o, &cfg, &port);
	if (rc != EX_OK) {
		return rc;
	}
	rpc_client_t *c = NULL;
	cerr_t e = rpc_client_connect(&c, o->host, port, &cfg);
	if (e != CERR_OK) {
		fprintf(stderr, "certa req: cannot connect to %s:%u: %s\n", o->host, (unsigned)port,
			e == CERR_IO ? strerror(errno) : e == CERR_NOT_FOUND ? "unknown host" : cerr_msg(e));
		return EX_UNAVAILABLE;
	}
	rpc_client_auth_t auth = {
		.auth_type = o->auth_level == RPC_AUTH_LEVEL_NONE ? RPC_AUTH_NONE : RPC_AUTH_WINNT,
		.auth_level = o->auth_level,
		.user = o->user,
		.domain = o->domain,
		.password = password,
	};
	rpc_client_error_t err;
	arena_t *a = arena_new();
	buf_t stub;
	buf_init(&stub, 0);
	uint8_t *out = NULL;
	size_t out_len = 0;
	if (!a) {
		rc = EX_SOFTWARE;
		goto done;
	}
	e = rpc_client_bind(c, &ICPR_UUID, ICPR_VERS_MAJOR, ICPR_VERS_MINOR, &auth);
	if (e != CERR_OK) {
		rpc_client_last_error(c, &err);
		print_client_error("bind", e, &err, !o->user);
		rc = exit_for_client_error(e, &err);
		goto done;
	}
	icpr_request_t req = {
		.flags = o->retrieve ? 0 : REQ_FLAGS_PKCS10,
		.authority = o->authority,
		.request_id = o->retrieve ? o->retrieve_id : 0,
		.request = {.len = (uint32_t)csr_len, .data = csr},
	};
	if (!o->retrieve) {
		char attr[512];
		snprintf(attr, sizeof(attr), "CertificateTemplate:%s", o->template_name);
		if (icpr_utf16_blob(attr, a, &req.attribs) != CERR_OK) {
			fprintf(stderr, "certa req: invalid template name\n");
			rc = EX_USAGE;
			goto done;
		}
	}
	if (icpr_encode_request(&stub, &req) != CERR_OK) {
		rc = EX_SOFTWARE;
		goto done;
	}
	e = rpc_client_call(c, ICPR_OPNUM_CERT_SERVER_REQUEST, NULL, stub.data, stub.len, &out, &out_len);
	if (e != CERR_OK) {
		rpc_client_last_error(c, &err);
		print_client_error("CertServerRequest", e, &err, !o->user);
		rc = exit_for_client_error(e, &err);
		goto done;
	}
	icpr_response_t resp;
	cur_t in;
	cur_init(&in, out, out_len);
	if (icpr_decode_response(&in, a, &resp) != CERR_OK || !parse_result(&resp, a, r)) {
		fprintf(stderr, "certa req: the server's answer could not be decoded\n");
		print_openssl_errors();
		rc = EX_PROTOCOL;
		goto done;
	}
	rc = EX_OK;
done:
	free(out);
	buf_free(&stub);
	arena_free(a);
	rpc_client_free(c);
	return rc;
}

/* ---- the same over DCOM (MS-WCCE) ---- */

/* print_activation_error explains a failed RemoteCreateInstance. A refusal
 * at activation is a fault with nca_s_fault_access_denied on the wire, which
 * Windows clients report only as RPC_S_SERVER_UNAVAILABLE; say both. */
static void print_activation_error(const req_opts_t *o, cerr_t e, const rpc_client_error_t *err)
{
	char d[320];
	if (err->fault_status == cerr_value(CERR_NCA_S_FAULT_ACCESS_DENIED)) {
		fprintf(stderr, "certa req: DCOM activation of CertSrv Request on %s:%u refused: fault %s\n", o->host,
			(unsigned)o->epm_port, cerr_describe(err->fault_status, d, sizeof(d)));
		fprintf(stderr, "  Windows clients show this as %s\n",
			cerr_describe(cerr_value(CERR_HRESULT_RPC_S_SERVER_UNAVAILABLE), d, sizeof(d)));
		if (!o->user) {
			fprintf(stderr, "  The cause is access denied at activation: no --user was given, and the\n"
					"  CA's DCOM launch limits grant anonymous callers nothing.\n");
		} else {
			/* with NTLM the credentials are judged after auth3, which has
			 * no answer: a wrong password shows here too */
			fprintf(stderr, "  The cause is access denied at activation: either the credentials were\n"
					"  not accepted (check the user name, domain and password), or the caller\n"
					"  is outside the CA's machine-wide DCOM launch/access limits or the class's\n"
					"  launch permissions (Windows logs event 10027 or 10016 on the CA).\n");
		}
		fprintf(stderr, "  Run `certa diagnose` on the CA to see which check refused it.\n");
		return;
	}
	print_client_error("DCOM activation", e, err, !o->user);
}

/* get_ca_name asks the CA for its name with GetCACert(GETCERT_CANAME), the
 * one call that needs none (MS-WCCE 3.2.1.4.2.2 step 2). */
static int get_ca_name(rpc_client_t *c, const guid_t *ipid, arena_t *a, char **out)
{
	buf_t stub;
	buf_init(&stub, 0);
	dcom_client_begin(&stub);
	uint8_t *resp = NULL;
	size_t resp_len = 0;
	cur_t body;
	ndr_blob_t name;
	uint32_t hr = 0;
	int rc = EX_OK;
	cerr_t e = wcce_encode_get_ca_cert(&stub, WCCE_GETCERT_CANAME, NULL);
	if (e == CERR_OK) {
		e = dcom_client_call(c, ipid, WCCE_OPNUM_GET_CA_CERT, &stub, &resp, &resp_len, &body);
	}
	if (e == CERR_OK) {
		e = wcce_decode_blob_response(&body, a, &name, &hr);
	}
	if (e != CERR_OK) {
		rpc_client_error_t err;
		rpc_client_last_error(c, &err);
		print_client_error("GetCACert", e, &err, false);
		rc = exit_for_client_error(e, &err);
	} else if (hr != 0) {
		char d[320];
		fprintf(stderr, "certa req: GetCACert (CA name): %s\n", cerr_describe(hr, d, sizeof(d)));
		if (hr == 0x80070005u) {
			fprintf(stderr, "  (the CA requires packet privacy: use --auth-level privacy)\n");
		} else if (hr == 0x80094011u) {
			fprintf(stderr, "  (the CA does not take requests over DCOM: IF_NOREMOTEICERTREQUEST)\n");
		}
		rc = hr == 0x80070005u || hr == 0x80094011u ? EX_NOPERM : EX_PROTOCOL;
	} else if (!(*out = icpr_blob_to_utf8(&name, a)) || !**out) {
		fprintf(stderr, "certa req: the CA sent no name\n");
		rc = EX_PROTOCOL;
	}
	free(resp);
	buf_free(&stub);
	return rc;
}

static int do_request_dcom(const req_opts_t *o, const char *password, const uint8_t *csr, size_t csr_len,
			   req_result_t *r)
{
	rpc_client_config_t cfg = {.timeout_ms = o->timeout_ms};
	rpc_client_auth_t auth = {
		.auth_type = o->auth_level == RPC_AUTH_LEVEL_NONE ? RPC_AUTH_NONE : RPC_AUTH_WINNT,
		.auth_level = o->auth_level,
		.user = o->user,
		.domain = o->domain,
		.password = password,
	};
	/* ask for both interfaces at once and use ICertRequestD2 when the CA
	 * has it (MS-WCCE 3.1.1.4, 3.1.1.6.2) */
	const guid_t iids[2] = {WCCE_IID_ICERTREQUESTD2, WCCE_IID_ICERTREQUESTD};
	arena_t *a = arena_new();
	rpc_client_t *c = NULL;
	buf_t stub;
	buf_init(&stub, 0);
	uint8_t *resp = NULL;
	size_t resp_len = 0;
	rpc_client_error_t err;
	dcom_client_activation_t act;
	int rc = EX_SOFTWARE;
	char d[320];
	if (!a) {
		goto done;
	}
	cerr_t e = dcom_client_activate(o->host, o->epm_port, &auth, &cfg, &WCCE_CLSID_CERTSRV_REQUEST, iids, 2, a,
					&act, &err);
	if (e != CERR_OK) {
		print_activation_error(o, e, &err);
		rc = exit_for_client_error(e, &err);
		goto done;
	}
	if (act.hresult != 0) {
		fprintf(stderr, "certa req: DCOM activation refused: %s\n", cerr_describe(act.hresult, d, sizeof(d)));
		if (act.hresult == 0x80070005u) {
			fprintf(stderr, "  (activation requires at least packet integrity: use --auth-level integrity "
					"or privacy)\n");
		}
		rc = EX_NOPERM;
		goto done;
	}
	const dcom_client_iface_t *iface = act.ifaces[0].hresult == 0 ? &act.ifaces[0]
					   : act.ifaces[1].hresult == 0 ? &act.ifaces[1]
									: NULL;
	if (!iface) {
		fprintf(stderr, "certa req: the CertSrv Request object has neither ICertRequestD2 nor ICertRequestD: %s\n",
			cerr_describe(act.ifaces[1].hresult, d, sizeof(d)));
		rc = EX_PROTOCOL;
		goto done;
	}
	bool v2 = iface == &act.ifaces[0];
	uint16_t port;
	const char *bound_host;
	if (!dcom_client_object_port(&act, o->host, a, &port, &bound_host)) {
		fprintf(stderr, "certa req: the activator named no ncacn_ip_tcp binding for the object exporter\n");
		rc = EX_PROTOCOL;
		goto done;
	}
	/* the dialled address with the advertised port: the advertised host may
	 * be a name or address this client cannot reach */
	e = dcom_client_open(o->host, port, &iface->iid, &auth, &cfg, &c, &err);
	if (e != CERR_OK) {
		fprintf(stderr, "certa req: object exporter %s:%u (advertised as %s):\n", o->host, (unsigned)port,
			bound_host);
		print_client_error("bind", e, &err, !o->user);
		rc = exit_for_client_error(e, &err);
		goto done;
	}
	char *authority = (char *)o->authority;
	if (!authority) {
		rc = get_ca_name(c, &iface->ipid, a, &authority);
		if (rc != EX_OK) {
			goto release;
		}
	}
	wcce_request_t req = {
		.flags = o->retrieve ? 0 : REQ_FLAGS_PKCS10,
		.authority = authority,
		.request_id = o->retrieve ? o->retrieve_id : 0,
		.request = {.len = (uint32_t)csr_len, .data = csr},
	};
	char attr[512];
	if (!o->retrieve) {
		snprintf(attr, sizeof(attr), "CertificateTemplate:%s", o->template_name);
		req.attributes = attr;
	}
	dcom_client_begin(&stub);
	e = wcce_encode_request(&stub, v2, &req);
	cur_t body;
	if (e == CERR_OK) {
		e = dcom_client_call(c, &iface->ipid, v2 ? WCCE_OPNUM_REQUEST2 : WCCE_OPNUM_REQUEST, &stub, &resp,
				     &resp_len, &body);
	}
	if (e != CERR_OK) {
		rpc_client_last_error(c, &err);
		print_client_error(v2 ? "Request2" : "Request", e, &err, !o->user);
		rc = exit_for_client_error(e, &err);
		goto release;
	}
	wcce_response_t wr;
	if (wcce_decode_response(&body, a, &wr) != CERR_OK) {
		fprintf(stderr, "certa req: the server's answer could not be decoded\n");
		rc = EX_PROTOCOL;
		goto release;
	}
	if (!parse_result(&wr, a, r)) {
		fprintf(stderr, "certa req: the server's answer could not be decoded\n");
		print_openssl_errors();
		rc = EX_PROTOCOL;
		goto release;
	}
	rc = EX_OK;
release:
	/* give the object's references back (MS-DCOM 3.2.4.4.2); a failure
	 * here only delays the server's garbage collection */
	{
		uint32_t hr;
		rpc_client_error_t rerr;
		cerr_t re = dcom_client_rem_release(o->host, port, &auth, &cfg, &act, iface, &hr, &rerr);
		if (re != CERR_OK || hr != 0) {
			fprintf(stderr, "certa req: warning: RemRelease: %s\n",
				re != CERR_OK ? (rerr.detail[0] ? rerr.detail : cerr_msg(re))
					      : cerr_describe(hr, d, sizeof(d)));
		}
	}
done:
	free(resp);
	buf_free(&stub);
	rpc_client_free(c);
	arena_free(a);
	return rc;
}

/* report_failure prints a refusal or denial: code, name, meaning, and what
 * the server said. */
static void report_failure(const char *what, uint32_t hr, const req_result_t *r, const char *authority)
{
	char d[320];
	fprintf(stderr, "certa req: %s: %s\n", what, cerr_describe(hr, d, sizeof(d)));
	if (r->message && r->message[0]) {
		fprintf(stderr, "  server: %s\n", r->message);
	}
	if (r->request_id) {
		fprintf(stderr, "  request ID: %u\n", r->request_id);
	}
	if (hr == 0x80070057u && !r->request_id) {
		fprintf(stderr, authority ? "  (--authority must be the CA's common name or its sanitized form)\n"
					  : "  (if the CA requires its name, pass --authority CANAME)\n");
	}
	if (hr == 0x80070005u) {
		fprintf(stderr, "  (the CA requires packet privacy: use --auth-level privacy)\n");
	}
}

static int write_outputs(const req_opts_t *o, const char *prefix, EVP_PKEY *key, const req_result_t *r,
			 const char *pfx_password)
{
	size_t plen = strlen(prefix) + 16;
	char *path = malloc(plen);
	if (!path) {
		return EX_SOFTWARE;
	}
	int rc = EX_OK;
	snprintf(path, plen, "%s.pem", prefix);
	if (!write_certs(path, &r->cert, 1)) {
		goto cant;
	}
	if (!o->quiet) {
		printf("certificate: %s\n", path);
	}
	snprintf(path, plen, "%s-chain.pem", prefix);
	size_t n = (size_t)sk_X509_num(r->chain);
	X509 **v = calloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; v && i < n; i++) {
		v[i] = sk_X509_value(r->chain, (int)i);
	}
	bool ok = v && write_certs(path, v, n);
	free(v);
	if (!ok) {
		goto cant;
	}
	if (!o->quiet) {
		printf("CA chain:    %s (%zu certificate%s)\n", path, n, n == 1 ? "" : "s");
	}
	if (o->pfx) {
		if (!key) {
			fprintf(stderr, "certa req: --pfx needs the private key (%s.key)\n", prefix);
			rc = EX_NOINPUT;
			goto out;
		}
		PKCS12 *p12 = PKCS12_create(pfx_password, NULL, key, r->cert, r->chain, 0, 0, 0, 0, 0);
		snprintf(path, plen, "%s.pfx", prefix);
		FILE *f = p12 ? open_out(path, 0600) : NULL;
		ok = f && i2d_PKCS12_fp(f, p12) == 1;
		if (f && fclose(f) != 0) {
			ok = false;
		}
		PKCS12_free(p12);
		if (!ok) {
			print_openssl_errors();
			goto cant;
		}
		if (!o->quiet) {
			printf("PKCS#12:     %s\n", path);
		}
	}
	goto out;
cant:
	fprintf(stderr, "certa req: cannot write %s: %s\n", path, strerror(errno));
	rc = EX_CANTCREAT;
out:
	free(path);
	return rc;
}

int cmd_req_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"ca", required_argument, NULL, 'c'},
		{"port", required_argument, NULL, 'P'},
		{"rpc-port", required_argument, NULL, 'R'},
		{"user", required_argument, NULL, 'u'},
		{"domain", required_argument, NULL, 'd'},
		{"password-stdin", no_argument, NULL, 'p'},
		{"template", required_argument, NULL, 't'},
		{"subject", required_argument, NULL, 's'},
		{"key", required_argument, NULL, 'k'},
		{"csr", required_argument, NULL, 'C'},
		{"out", required_argument, NULL, 'o'},
		{"pfx", no_argument, NULL, 'x'},
		{"pfx-password-stdin", no_argument, NULL, 'X'},
		{"retrieve", required_argument, NULL, 'r'},
		{"authority", required_argument, NULL, 'a'},
		{"auth-level", required_argument, NULL, 'l'},
		{"timeout", required_argument, NULL, 'T'},
		{"quiet", no_argument, NULL, 'q'},
		{"dcom", no_argument, NULL, 'D'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	req_opts_t o = {.epm_port = 135, .key_alg = "rsa2048", .auth_level = RPC_AUTH_LEVEL_PKT_PRIVACY,
			.timeout_ms = 30000};
	char userbuf[512];
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o.host = optarg; break;
		case 'P':
			if (!parse_u16(optarg, &o.epm_port)) {
				fprintf(stderr, "certa req: bad --port '%s'\n", optarg);
				return EX_USAGE;
			}
			break;
		case 'R':
			if (!parse_u16(optarg, &o.port)) {
				fprintf(stderr, "certa req: bad --rpc-port '%s'\n", optarg);
				return EX_USAGE;
			}
			break;
		case 'u': o.user = optarg; break;
		case 'd': o.domain = optarg; break;
		case 'p': o.password_stdin = true; break;
		case 't': o.template_name = optarg; break;
		case 's': o.subject = optarg; break;
		case 'k': o.key_alg = optarg; break;
		case 'C': o.csr_file = optarg; break;
		case 'o': o.out = optarg; break;
		case 'x': o.pfx = true; break;
		case 'X': o.pfx_password_stdin = true; break;
		case 'r':
			if (!parse_u32(optarg, &o.retrieve_id) || o.retrieve_id == 0) {
				fprintf(stderr, "certa req: bad --retrieve '%s' (a request ID > 0)\n", optarg);
				return EX_USAGE;
			}
			o.retrieve = true;
			break;
		case 'a': o.authority = optarg; break;
		case 'l':
			if (!strcmp(optarg, "privacy")) {
				o.auth_level = RPC_AUTH_LEVEL_PKT_PRIVACY;
			} else if (!strcmp(optarg, "integrity")) {
				o.auth_level = RPC_AUTH_LEVEL_PKT_INTEGRITY;
			} else if (!strcmp(optarg, "connect")) {
				o.auth_level = RPC_AUTH_LEVEL_CONNECT;
			} else if (!strcmp(optarg, "none")) {
				o.auth_level = RPC_AUTH_LEVEL_NONE;
			} else {
				fprintf(stderr, "certa req: bad --auth-level '%s'\n", optarg);
				return EX_USAGE;
			}
			break;
		case 'T': {
			uint16_t s;
			if (!parse_u16(optarg, &s)) {
				fprintf(stderr, "certa req: bad --timeout '%s'\n", optarg);
				return EX_USAGE;
			}
			o.timeout_ms = (unsigned)s * 1000u;
			break;
		}
		case 'q': o.quiet = true; break;
		case 'D': o.dcom = true; break;
		case 'h': usage(stdout); return EX_OK;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind != argc || !o.host || (!o.template_name && !o.retrieve)) {
		usage(stderr);
		return EX_USAGE;
	}
	if (o.dcom && o.port) {
		fprintf(stderr, "certa req: --rpc-port does not apply to --dcom (the activator names the port)\n");
		return EX_USAGE;
	}
	if (o.pfx_password_stdin && !o.pfx) {
		fprintf(stderr, "certa req: --pfx-password-stdin needs --pfx\n");
		return EX_USAGE;
	}
	/* "DOMAIN\user" in --user, as Windows tools accept it */
	if (o.user && strchr(o.user, '\\') && !o.domain) {
		snprintf(userbuf, sizeof(userbuf), "%s", o.user);
		char *bs = strchr(userbuf, '\\');
		*bs = '\0';
		o.domain = userbuf;
		o.user = bs + 1;
	}
	const char *prefix = o.out ? o.out : o.retrieve ? "req" : o.template_name;

	int rc = EX_SOFTWARE;
	char password[PASSWORD_MAX] = "";
	char pfx_password[PASSWORD_MAX] = "";
	EVP_PKEY *key = NULL;
	X509_REQ *csr = NULL;
	unsigned char *csr_der = NULL;
	int csr_len = 0;
	char *key_path = NULL;
	req_result_t r = {0};

	if (o.user && o.auth_level != RPC_AUTH_LEVEL_NONE) {
		bool ok = o.password_stdin ? cli_read_line(STDIN_FILENO, password, sizeof(password))
					   : cli_prompt_password("Password: ", password, sizeof(password));
		if (!ok) {
			fprintf(stderr, "certa req: no password (use --password-stdin or a terminal)\n");
			rc = EX_NOINPUT;
			goto out;
		}
	}
	if (o.pfx) {
		bool ok = o.pfx_password_stdin ? cli_read_line(STDIN_FILENO, pfx_password, sizeof(pfx_password))
					       : cli_prompt_password("PKCS#12 password: ", pfx_password,
								 sizeof(pfx_password));
		if (!ok) {
			fprintf(stderr, "certa req: no PKCS#12 password\n");
			rc = EX_NOINPUT;
			goto out;
		}
	}
	size_t klen = strlen(prefix) + 8;
	key_path = malloc(klen);
	if (!key_path) {
		goto out;
	}
	snprintf(key_path, klen, "%s.key", prefix);

	if (o.retrieve) {
		key = read_key(key_path); /* optional: for the PKCS#12 */
	} else if (o.csr_file) {
		csr_der = read_csr_der(o.csr_file, &csr_len);
		if (!csr_der) {
			fprintf(stderr, "certa req: cannot read a certificate request from %s\n", o.csr_file);
			print_openssl_errors();
			rc = EX_NOINPUT;
			goto out;
		}
	} else {
		key = generate_key(o.key_alg);
		if (!key) {
			fprintf(stderr, "certa req: cannot make a '%s' key (rsa2048, rsa3072, rsa4096, p256, p384)\n",
				o.key_alg);
			print_openssl_errors();
			rc = EX_USAGE;
			goto out;
		}
		char subj[600];
		if (!o.subject) {
			snprintf(subj, sizeof(subj), "CN=%s", o.user ? o.user : "certa");
		}
		csr = make_csr(key, o.subject ? o.subject : subj);
		if (!csr) {
			fprintf(stderr, "certa req: cannot build the request (subject '%s')\n",
				o.subject ? o.subject : subj);
			print_openssl_errors();
			rc = EX_USAGE;
			goto out;
		}
		csr_len = i2d_X509_REQ(csr, &csr_der);
		if (csr_len <= 0) {
			goto out;
		}
	}

	rc = o.dcom ? do_request_dcom(&o, password, csr_der, csr_der ? (size_t)csr_len : 0, &r)
		    : do_request(&o, password, csr_der, csr_der ? (size_t)csr_len : 0, &r);
	if (rc != EX_OK) {
		goto out;
	}
	if (r.status != 0) {
		report_failure("refused", r.status, &r, o.authority);
		rc = EX_NOPERM;
		goto out;
	}
	if (r.disposition == ICPR_DISP_ISSUED && r.cert && !o.quiet) {
		printf("issued: request ID %u\n", r.request_id);
	}
	/* A new key is kept once the CA has the request: issued now or later. */
	if (key && !o.retrieve && (r.disposition == ICPR_DISP_ISSUED || r.disposition == ICPR_DISP_UNDER_SUBMISSION)) {
		if (!write_key(key_path, key)) {
			fprintf(stderr, "certa req: cannot write %s: %s\n", key_path, strerror(errno));
			rc = EX_CANTCREAT;
			goto out;
		}
		if (!o.quiet) {
			printf("private key: %s\n", key_path);
		}
	}
	switch (r.disposition) {
	case ICPR_DISP_ISSUED:
		if (!r.cert) {
			fprintf(stderr, "certa req: issued, but the server sent no certificate\n");
			rc = EX_PROTOCOL;
			goto out;
		}
		rc = write_outputs(&o, prefix, key, &r, pfx_password);
		break;
	case ICPR_DISP_UNDER_SUBMISSION:
		printf("pending: request ID %u%s%s\n", r.request_id, r.message[0] ? " - " : "", r.message);
		printf("retrieve it later with: certa req --ca %s%s --retrieve %u --out %s\n", o.host,
		       o.dcom ? " --dcom" : "", r.request_id, prefix);
		rc = EX_TEMPFAIL;
		break;
	default:
		if (r.disposition < 0x80000000u) {
			char what[64];
			snprintf(what, sizeof(what), "not issued (disposition %u)", r.disposition);
			fprintf(stderr, "certa req: %s%s%s\n", what, r.message[0] ? ": " : "", r.message);
			if (r.request_id) {
				fprintf(stderr, "  request ID: %u\n", r.request_id);
			}
		} else {
			report_failure("denied", r.disposition, &r, o.authority);
		}
		rc = EX_NOPERM;
		break;
	}
out:
	OPENSSL_cleanse(password, sizeof(password));
	OPENSSL_cleanse(pfx_password, sizeof(pfx_password));
	req_result_free(&r);
	OPENSSL_free(csr_der);
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
	free(key_path);
	return rc;
}
