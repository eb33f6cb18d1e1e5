/*
 * wcce.c - MS-WCCE ICertRequestD / ICertRequestD2 (see wcce.h): the stub
 * codecs in both directions and the method bodies. Every method first makes
 * the checks MS-WCCE 3.2.1.4.2.x / 3.2.1.4.3.x list (IF_NOREMOTEICERTREQUEST,
 * IF_ENFORCEENCRYPTICERTREQUEST, the CA name), then answers. Request and
 * Request2 share enroll_submit with MS-ICPR; GetCACert and GetCAProperty
 * answer from one property table (MS-WCCE 3.2.1.4.3.2) so both agree.
 */
#include "services/wcce.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "rpc/pdu.h"
#include "util/log.h"
#include "util/utf16.h"

#ifndef CERTA_VERSION
#define CERTA_VERSION "0"
#endif

const guid_t WCCE_CLSID_CERTSRV_REQUEST = {0xd99e6e74, 0xfc88, 0x11d0, {0xb4, 0x98, 0x00, 0xa0, 0xc9, 0x03, 0x12, 0xf3}};
const guid_t WCCE_IID_ICERTREQUESTD = {0xd99e6e70, 0xfc88, 0x11d0, {0xb4, 0x98, 0x00, 0xa0, 0xc9, 0x03, 0x12, 0xf3}};
const guid_t WCCE_IID_ICERTREQUESTD2 = {0x5422fd3a, 0xd4b8, 0x4cef, {0xa1, 0x2e, 0xe8, 0x7d, 0x4c, 0xa2, 0x2e, 0x90}};

/* The client caps response blobs: a chain or a property is a few KiB; 4 MiB
 * bounds what a hostile server can make us hold. */
#define WCCE_MAX_RESPONSE_BLOB (4u * 1024u * 1024u)

/* ---- stub codecs ---- */

cerr_t wcce_decode_request(cur_t *in, arena_t *a, bool request2, wcce_request_t *out)
{
	char *authority = NULL, *serial = NULL, *attributes = NULL;
	memset(out, 0, sizeof(*out));
	/* MS-WCCE 3.2.1.4.2.1 (Request) and 3.2.1.4.3.1 (Request2), wire order;
	 * the [ref] CERTTRANSBLOB is inline with its bytes right after it. */
	bool ok;
	if (request2) {
		ok = ndr_get_unique_wstring(in, a, WCCE_MAX_STRING_CHARS, &authority) &&
		     ndr_get_u32(in, &out->flags) &&
		     ndr_get_unique_wstring(in, a, WCCE_MAX_SERIAL_CHARS, &serial);
	} else {
		ok = ndr_get_u32(in, &out->flags) && ndr_get_unique_wstring(in, a, WCCE_MAX_STRING_CHARS, &authority);
	}
	ok = ok && ndr_get_u32(in, &out->request_id) &&
	     ndr_get_unique_wstring(in, a, WCCE_MAX_STRING_CHARS, &attributes) &&
	     ndr_get_blob(in, a, WCCE_MAX_REQUEST_BYTES, &out->request);
	if (!ok) {
		memset(out, 0, sizeof(*out));
		return CERR_MALFORMED;
	}
	out->authority = authority;
	out->serial = serial;
	out->attributes = attributes;
	return CERR_OK;
}

cerr_t wcce_encode_request(buf_t *b, bool request2, const wcce_request_t *req)
{
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	if (request2) {
		ndr_put_unique_wstring(b, &ids, req->authority);
		ndr_put_u32(b, req->flags);
		ndr_put_unique_wstring(b, &ids, req->serial);
	} else {
		ndr_put_u32(b, req->flags);
		ndr_put_unique_wstring(b, &ids, req->authority);
	}
	ndr_put_u32(b, req->request_id);
	ndr_put_unique_wstring(b, &ids, req->attributes);
	ndr_put_blob(b, &ids, &req->request);
	return buf_ok(b) ? CERR_OK : CERR_NOMEM;
}

cerr_t wcce_encode_response(buf_t *b, const wcce_response_t *resp)
{
	return enroll_encode_response(b, resp);
}

cerr_t wcce_decode_response(cur_t *in, arena_t *a, wcce_response_t *out)
{
	return enroll_decode_response(in, a, out);
}

cerr_t wcce_decode_get_ca_cert(cur_t *in, arena_t *a, uint32_t *fchain, char **authority)
{
	*authority = NULL;
	if (!ndr_get_u32(in, fchain) || !ndr_get_unique_wstring(in, a, WCCE_MAX_STRING_CHARS, authority)) {
		return CERR_MALFORMED;
	}
	return CERR_OK;
}

cerr_t wcce_encode_get_ca_cert(buf_t *b, uint32_t fchain, const char *authority)
{
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	ndr_put_u32(b, fchain);
	ndr_put_unique_wstring(b, &ids, authority);
	return buf_ok(b) ? CERR_OK : CERR_NOMEM;
}

cerr_t wcce_decode_authority(cur_t *in, arena_t *a, char **authority)
{
	*authority = NULL;
	return ndr_get_unique_wstring(in, a, WCCE_MAX_STRING_CHARS, authority) ? CERR_OK : CERR_MALFORMED;
}

cerr_t wcce_encode_authority(buf_t *b, const char *authority)
{
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	ndr_put_unique_wstring(b, &ids, authority);
	return buf_ok(b) ? CERR_OK : CERR_NOMEM;
}

cerr_t wcce_decode_prop_request(cur_t *in, arena_t *a, wcce_prop_request_t *out)
{
	char *authority = NULL;
	uint32_t id, idx, type;
	memset(out, 0, sizeof(*out));
	if (!ndr_get_unique_wstring(in, a, WCCE_MAX_STRING_CHARS, &authority) || !ndr_get_u32(in, &id) ||
	    !ndr_get_u32(in, &idx) || !ndr_get_u32(in, &type)) {
		return CERR_MALFORMED;
	}
	out->authority = authority;
	out->prop_id = (int32_t)id;
	out->prop_index = (int32_t)idx;
	out->prop_type = (int32_t)type;
	return CERR_OK;
}

cerr_t wcce_encode_prop_request(buf_t *b, const wcce_prop_request_t *req)
{
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	ndr_put_unique_wstring(b, &ids, req->authority);
	ndr_put_u32(b, (uint32_t)req->prop_id);
	ndr_put_u32(b, (uint32_t)req->prop_index);
	ndr_put_u32(b, (uint32_t)req->prop_type);
	return buf_ok(b) ? CERR_OK : CERR_NOMEM;
}

cerr_t wcce_encode_blob_response(buf_t *b, const ndr_blob_t *blob, uint32_t hresult)
{
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	ndr_put_blob(b, &ids, blob);
	ndr_put_u32(b, hresult);
	return buf_ok(b) ? CERR_OK : CERR_NOMEM;
}

cerr_t wcce_decode_blob_response(cur_t *in, arena_t *a, ndr_blob_t *blob, uint32_t *hresult)
{
	memset(blob, 0, sizeof(*blob));
	if (!ndr_get_blob(in, a, WCCE_MAX_RESPONSE_BLOB, blob) || !ndr_get_u32(in, hresult) || !cur_empty(in)) {
		return CERR_MALFORMED;
	}
	return CERR_OK;
}

cerr_t wcce_encode_prop_info_response(buf_t *b, int32_t count, const ndr_blob_t *blob, uint32_t hresult)
{
	ndr_refids_t ids;
	ndr_refids_init(&ids);
	ndr_put_u32(b, (uint32_t)count);
	ndr_put_blob(b, &ids, blob);
	ndr_put_u32(b, hresult);
	return buf_ok(b) ? CERR_OK : CERR_NOMEM;
}

cerr_t wcce_decode_prop_info_response(cur_t *in, arena_t *a, int32_t *count, ndr_blob_t *blob, uint32_t *hresult)
{
	uint32_t n;
	memset(blob, 0, sizeof(*blob));
	if (!ndr_get_u32(in, &n) || !ndr_get_blob(in, a, WCCE_MAX_RESPONSE_BLOB, blob) ||
	    !ndr_get_u32(in, hresult) || !cur_empty(in)) {
		return CERR_MALFORMED;
	}
	*count = (int32_t)n;
	return CERR_OK;
}

cerr_t wcce_encode_hresult(buf_t *b, uint32_t hresult)
{
	ndr_put_u32(b, hresult);
	return buf_ok(b) ? CERR_OK : CERR_NOMEM;
}

cerr_t wcce_decode_hresult(cur_t *in, uint32_t *hresult)
{
	return ndr_get_u32(in, hresult) && cur_empty(in) ? CERR_OK : CERR_MALFORMED;
}

/* ---- the service ---- */

struct wcce_service {
	ca_t *ca;
	wcce_config_t cfg;
	char *dns_name;   /* owned copy: cfg.dns_name or the host name */
	char *short_name; /* sanitized short name (MS-WCCE 3.1.1.4.1.1) */
	time_t not_after; /* the CA certificate's, for CR_PROP_CACERTSTATE */
};

#define WCCE_PROTOCOL "WCCE"
/* The CA has one signing certificate (no renewals yet), no exit modules, no
 * KRAs, no CRL partitions. */
#define N_SIG_CERTS 1
#define FILE_VERSION "10.0.0.0 (certa " CERTA_VERSION ")"
#define PRODUCT_VERSION "10.0:0.0"
#define POLICY_DESCRIPTION "certa policy module (AD CS enterprise policy compatible)"
#define LOCALE_NAME "en-US"
/* AD CS's default SubjectTemplate, as OIDs: E, CN, OU, O, L, S, DC, C. */
#define SUBJECT_TEMPLATE_OIDS                                                                                     \
	"1.2.840.113549.1.9.1\n2.5.4.3\n2.5.4.11\n2.5.4.10\n2.5.4.7\n2.5.4.8\n0.9.2342.19200300.100.1.25\n2.5.4.6\n"

#define REASON_NOT_ENCRYPTED "the request was not encrypted (IF_ENFORCEENCRYPTICERTREQUEST)"
#define REASON_NO_REMOTE "requests over DCOM are disabled (IF_NOREMOTEICERTREQUEST)"

void wcce_config_default(wcce_config_t *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->interface_flags = ENROLL_IF_ENFORCEENCRYPTICERTREQUEST;
	cfg->allow_empty_authority = false;
	cfg->ca_type = WCCE_CATYPE_STANDALONE_ROOT;
}

/* sanitized_short_name shortens a sanitized name as MS-WCCE 3.1.1.4.1.1 and
 * 3.1.1.4.1.1.1 say: names of 51 characters or fewer stay; longer ones keep
 * 51 characters (never ending inside a "!xxxx" escape), then '-' and the
 * five-digit decimal hash of the characters cut off. */
static char *sanitized_short_name(const char *sanitized)
{
	size_t n = strlen(sanitized);
	if (n <= 51) {
		return strdup(sanitized);
	}
	size_t keep = 51;
	for (size_t i = keep > 4 ? keep - 4 : 0; i < keep; i++) {
		if (sanitized[i] == '!' && i + 5 > keep) {
			keep = i; /* an escape that would be cut: drop it whole */
			break;
		}
	}
	uint16_t hash = 0;
	for (size_t i = keep; i < n; i++) {
		uint16_t low = (hash & 0x8000u) ? 1u : 0u;
		hash = (uint16_t)(((uint16_t)(hash << 1) | low) + (unsigned char)sanitized[i]);
	}
	char *out = malloc(keep + 7);
	if (out) {
		snprintf(out, keep + 7, "%.*s-%05u", (int)keep, sanitized, (unsigned)hash);
	}
	return out;
}

cerr_t wcce_service_new(ca_t *ca, const wcce_config_t *cfg, wcce_service_t **out)
{
	*out = NULL;
	if (!ca) {
		return CERR_INVALID_ARG;
	}
	wcce_service_t *svc = calloc(1, sizeof(*svc));
	if (!svc) {
		return CERR_NOMEM;
	}
	svc->ca = ca;
	if (cfg) {
		svc->cfg = *cfg;
	} else {
		wcce_config_default(&svc->cfg);
	}
	char host[256] = "";
	if (!svc->cfg.dns_name && gethostname(host, sizeof(host) - 1) != 0) {
		snprintf(host, sizeof(host), "localhost");
	}
	svc->dns_name = strdup(svc->cfg.dns_name ? svc->cfg.dns_name : host);
	svc->cfg.dns_name = NULL; /* not kept: the caller's copy may go */
	svc->short_name = sanitized_short_name(ca_sanitized_name(ca));
	size_t der_len;
	const uint8_t *der = ca_cert_der(ca, &der_len);
	const unsigned char *p = der;
	X509 *x = der ? d2i_X509(NULL, &p, (long)der_len) : NULL;
	struct tm tm;
	if (x && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1) {
		svc->not_after = timegm(&tm);
	}
	X509_free(x);
	if (!svc->dns_name || !svc->short_name) {
		wcce_service_free(svc);
		return CERR_NOMEM;
	}
	*out = svc;
	return CERR_OK;
}

void wcce_service_free(wcce_service_t *svc)
{
	if (!svc) {
		return;
	}
	free(svc->dns_name);
	free(svc->short_name);
	free(svc);
}

void wcce_cainfo(const wcce_service_t *svc, uint8_t out[WCCE_CAINFO_LEN])
{
	/* MS-WCCE 2.2.2.4, ten little-endian 32-bit fields */
	const uint32_t v[10] = {
		WCCE_CAINFO_LEN,  /* cbSize */
		svc->cfg.ca_type, /* CAType */
		N_SIG_CERTS,      /* cCASignatureCerts */
		1,                /* cCAExchangeCerts: as CR_PROP_CAXCHGCERTCOUNT, which MUST be 1 */
		0,                /* cExitAlgorithms */
		WCCE_PROPID_MAX,  /* lPropIDMax */
		0,                /* lRoleSeparationEnabled */
		0,                /* cKRACertUsedCount */
		0,                /* cKRACertCount */
		0,                /* fAdvancedServer: no exchange certificate, so no archival */
	};
	for (size_t i = 0; i < 10; i++) {
		out[4 * i] = (uint8_t)v[i];
		out[4 * i + 1] = (uint8_t)(v[i] >> 8);
		out[4 * i + 2] = (uint8_t)(v[i] >> 16);
		out[4 * i + 3] = (uint8_t)(v[i] >> 24);
	}
}

/* ---- the property table (MS-WCCE 3.2.1.4.3.2) ---- */

/* Which PropIndex values a property accepts, from the spec's table, for a CA
 * with one signing certificate and no exits, KRAs or CRL partitions. */
typedef enum idx_rule {
	IDX_NONE,         /* MUST be 0 */
	IDX_SIG,          /* a signing certificate: 0..n-1, or -1 for the latest */
	IDX_SIG_NOLATEST, /* 0..n-1 */
	IDX_XCHG,         /* 0, or -1 meaning 0 */
	IDX_EXIT,         /* 0..exits-1: none */
	IDX_KRA,          /* 0..KRAs-1: none */
	IDX_FWD_CROSS,    /* 0..n-2 */
	IDX_BACK_CROSS,   /* 1..n-1 */
	IDX_PARTITION,    /* low 16 bits 0..n-1, high 16 bits 0..partitions; -1 invalid */
} idx_rule_t;

typedef struct prop_def {
	uint8_t id;
	uint8_t type; /* WCCE_PROPTYPE_*; the PropType the client must pass */
	uint8_t rule; /* idx_rule_t */
	const char *name; /* display name for GetCAPropertyInfo */
} prop_def_t;

#define L WCCE_PROPTYPE_LONG
#define B WCCE_PROPTYPE_BINARY
#define S WCCE_PROPTYPE_STRING
static const prop_def_t props[] = {
	{CR_PROP_FILEVERSION, S, IDX_NONE, "File Version"},
	{CR_PROP_PRODUCTVERSION, S, IDX_NONE, "Product Version"},
	{CR_PROP_EXITCOUNT, L, IDX_NONE, "Exit Count"},
	{CR_PROP_EXITDESCRIPTION, S, IDX_EXIT, "Exit Description"},
	{CR_PROP_POLICYDESCRIPTION, S, IDX_NONE, "Policy Description"},
	{CR_PROP_CANAME, S, IDX_NONE, "CA Name"},
	{CR_PROP_SANITIZEDCANAME, S, IDX_NONE, "Sanitized CA Name"},
	{CR_PROP_SHAREDFOLDER, S, IDX_NONE, "Shared Folder"},
	{CR_PROP_PARENTCA, S, IDX_NONE, "Parent CA"},
	{CR_PROP_CATYPE, L, IDX_NONE, "CA Type"},
	{CR_PROP_CASIGCERTCOUNT, L, IDX_NONE, "CA Signature Certificate Count"},
	{CR_PROP_CASIGCERT, B, IDX_SIG, "CA Signature Certificate"},
	{CR_PROP_CASIGCERTCHAIN, B, IDX_SIG, "CA Signature Certificate Chain"},
	{CR_PROP_CAXCHGCERTCOUNT, L, IDX_NONE, "CA Exchange Certificate Count"},
	{CR_PROP_CAXCHGCERT, B, IDX_XCHG, "CA Exchange Certificate"},
	{CR_PROP_CAXCHGCERTCHAIN, B, IDX_XCHG, "CA Exchange Certificate Chain"},
	{CR_PROP_BASECRL, B, IDX_SIG, "Base CRL"},
	{CR_PROP_DELTACRL, B, IDX_SIG, "Delta CRL"},
	{CR_PROP_CACERTSTATE, L, IDX_SIG_NOLATEST, "CA Signing Certificates State"},
	{CR_PROP_CRLSTATE, L, IDX_SIG_NOLATEST, "CRL State"},
	{CR_PROP_CAPROPIDMAX, L, IDX_NONE, "Maximum Property ID"},
	{CR_PROP_DNSNAME, S, IDX_NONE, "DNS Name"},
	{CR_PROP_ROLESEPARATIONENABLED, L, IDX_NONE, "Role Separation Enabled"},
	{CR_PROP_KRACERTUSEDCOUNT, L, IDX_NONE, "KRA Certificate Used Count"},
	{CR_PROP_KRACERTCOUNT, L, IDX_NONE, "KRA Certificate Count"},
	{CR_PROP_KRACERT, B, IDX_KRA, "KRA Certificate"},
	{CR_PROP_KRACERTSTATE, L, IDX_KRA, "KRA Certificate State"},
	{CR_PROP_ADVANCEDSERVER, L, IDX_NONE, "Advanced Server"},
	{CR_PROP_TEMPLATES, S, IDX_NONE, "Templates"},
	{CR_PROP_BASECRLPUBLISHSTATUS, L, IDX_SIG, "Base CRL Publish Status"},
	{CR_PROP_DELTACRLPUBLISHSTATUS, L, IDX_SIG, "Delta CRL Publish Status"},
	{CR_PROP_CASIGCERTCRLCHAIN, B, IDX_SIG, "CA Signature Certificate Chain and CRL"},
	{CR_PROP_CAXCHGCERTCRLCHAIN, B, IDX_XCHG, "CA Exchange Certificate Chain and CRL"},
	{CR_PROP_CACERTSTATUSCODE, L, IDX_SIG, "CA Signing Certificate Status Code"},
	{CR_PROP_CAFORWARDCROSSCERT, B, IDX_FWD_CROSS, "CA Forward Cross Certificate"},
	{CR_PROP_CABACKWARDCROSSCERT, B, IDX_BACK_CROSS, "CA Backward Cross Certificate"},
	{CR_PROP_CAFORWARDCROSSCERTSTATE, L, IDX_FWD_CROSS, "CA Forward Cross Certificate State"},
	{CR_PROP_CABACKWARDCROSSCERTSTATE, L, IDX_BACK_CROSS, "CA Backward Cross Certificate State"},
	{CR_PROP_CACERTVERSION, L, IDX_SIG_NOLATEST, "CA Signing Certificate Version"},
	{CR_PROP_SANITIZEDCASHORTNAME, S, IDX_NONE, "Sanitized CA Short Name"},
	{CR_PROP_CERTCDPURLS, S, IDX_SIG, "Certificate CDP URLs"},
	{CR_PROP_CERTAIAURLS, S, IDX_SIG, "Certificate AIA URLs"},
	{CR_PROP_CERTAIAOCSPURLS, S, IDX_SIG, "Certificate AIA OCSP URLs"},
	{CR_PROP_LOCALENAME, S, IDX_NONE, "Locale Name"},
	{CR_PROP_SUBJECTTEMPLATE_OIDS, S, IDX_NONE, "Subject Template OIDs"},
	{CR_PROP_CRLPARTITIONCOUNT, L, IDX_NONE, "CRL Partition Count"},
	/* the spec's type column says Binary for 0x2F/0x30, its PropType
	 * table says 1: we follow the table of required PropType values */
	{CR_PROP_PARTITIONED_BASECRL, L, IDX_PARTITION, "Partitioned Base CRL"},
	{CR_PROP_PARTITIONED_DELTACRL, L, IDX_PARTITION, "Partitioned Delta CRL"},
	{CR_PROP_PARTITIONED_BASECRLPUBLISHSTATUS, L, IDX_PARTITION, "Partitioned Base CRL Publish Status"},
	{CR_PROP_PARTITIONED_DELTACRLPUBLISHSTATUS, L, IDX_PARTITION, "Partitioned Delta CRL Publish Status"},
};
#undef L
#undef B
#undef S
#define N_PROPS (sizeof(props) / sizeof(props[0]))

static const prop_def_t *find_prop(int32_t id)
{
	for (size_t i = 0; i < N_PROPS; i++) {
		if (props[i].id == id) {
			return &props[i];
		}
	}
	return NULL;
}

/* index_ok applies the PropIndex column of MS-WCCE 3.2.1.4.3.2's table. */
static bool index_ok(idx_rule_t rule, int32_t idx)
{
	switch (rule) {
	case IDX_NONE: return idx == 0;
	case IDX_SIG: return (idx >= 0 && idx < N_SIG_CERTS) || idx == -1;
	case IDX_SIG_NOLATEST: return idx >= 0 && idx < N_SIG_CERTS;
	case IDX_XCHG: return idx == 0 || idx == -1;
	case IDX_EXIT: return false;
	case IDX_KRA: return false;
	case IDX_FWD_CROSS: return idx >= 0 && idx < N_SIG_CERTS - 1;
	case IDX_BACK_CROSS: return idx >= 1 && idx < N_SIG_CERTS;
	case IDX_PARTITION:
		return idx != -1 && (idx & 0xffff) < N_SIG_CERTS && ((uint32_t)idx >> 16) == 0;
	default: return false;
	}
}

static cerr_t blob_long(arena_t *a, uint32_t v, ndr_blob_t *out)
{
	uint8_t *p = arena_alloc(a, 4);
	if (!p) {
		return CERR_NOMEM;
	}
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
	out->data = p;
	out->len = 4;
	return CERR_OK;
}

static cerr_t blob_bytes(arena_t *a, const void *p, size_t n, ndr_blob_t *out)
{
	if (n > UINT32_MAX) {
		return CERR_NOMEM;
	}
	out->data = arena_memdup(a, p, n);
	out->len = (uint32_t)n;
	return out->data ? CERR_OK : CERR_NOMEM;
}

static cerr_t blob_string(arena_t *a, const char *s, ndr_blob_t *out)
{
	cerr_t e = enroll_utf16_blob(s, a, out);
	return e == CERR_INVALID_ARG ? CERR_E_UNEXPECTED : e;
}

/* templates_string is CR_PROP_TEMPLATES: "name\nOID\n" for each offered
 * template (MS-WCCE 3.2.1.4.3.2.29), in the call arena. */
static char *templates_string(const ca_t *ca, arena_t *a)
{
	size_t n = 1;
	for (size_t i = 0; i < ca_num_templates(ca); i++) {
		const ca_template_t *t = ca_template_at(ca, i);
		n += strlen(t->cn) + 1 + (t->oid ? strlen(t->oid) : 0) + 1;
	}
	char *s = arena_alloc(a, n);
	if (!s) {
		return NULL;
	}
	size_t o = 0;
	s[0] = 0;
	for (size_t i = 0; i < ca_num_templates(ca); i++) {
		const ca_template_t *t = ca_template_at(ca, i);
		o += (size_t)snprintf(s + o, n - o, "%s\n%s\n", t->cn, t->oid ? t->oid : "");
	}
	return s;
}

/* url_list is "URL\n" for a configured URL, "" for none (MS-WCCE
 * 3.2.1.4.3.2.41-43: "String1\nString2\n"). */
static char *url_list(const char *url, arena_t *a)
{
	if (!url || !*url) {
		return arena_strdup(a, "");
	}
	size_t n = strlen(url) + 2;
	char *s = arena_alloc(a, n);
	if (s) {
		snprintf(s, n, "%s\n", url);
	}
	return s;
}

/* prop_value computes a property that passed the type and index checks.
 * CERR_OK with *out set, or the HRESULT to return; CERR_NOMEM. */
static cerr_t prop_value(const wcce_service_t *svc, int32_t id, arena_t *a, ndr_blob_t *out)
{
	const ca_t *ca = svc->ca;
	bool valid = svc->not_after == 0 || time(NULL) <= svc->not_after;
	size_t n;
	const uint8_t *p;
	char *s;
	memset(out, 0, sizeof(*out));
	switch (id) {
	case CR_PROP_FILEVERSION: return blob_string(a, FILE_VERSION, out);
	case CR_PROP_PRODUCTVERSION: return blob_string(a, PRODUCT_VERSION, out);
	case CR_PROP_POLICYDESCRIPTION: return blob_string(a, POLICY_DESCRIPTION, out);
	case CR_PROP_CANAME: return blob_string(a, ca_name(ca), out);
	case CR_PROP_SANITIZEDCANAME: return blob_string(a, ca_sanitized_name(ca), out);
	case CR_PROP_SANITIZEDCASHORTNAME: return blob_string(a, svc->short_name, out);
	case CR_PROP_DNSNAME: return blob_string(a, svc->dns_name, out);
	case CR_PROP_LOCALENAME: return blob_string(a, LOCALE_NAME, out);
	case CR_PROP_SUBJECTTEMPLATE_OIDS: return blob_string(a, SUBJECT_TEMPLATE_OIDS, out);
	case CR_PROP_TEMPLATES:
		s = templates_string(ca, a);
		return s ? blob_string(a, s, out) : CERR_NOMEM;
	case CR_PROP_CERTCDPURLS:
		s = url_list(ca_cdp_url(ca), a);
		return s ? blob_string(a, s, out) : CERR_NOMEM;
	case CR_PROP_CERTAIAURLS:
		s = url_list(ca_aia_url(ca), a);
		return s ? blob_string(a, s, out) : CERR_NOMEM;
	case CR_PROP_CERTAIAOCSPURLS: return blob_string(a, "", out);
	case CR_PROP_CATYPE: {
		/* MS-WCCE 3.2.1.4.3.2.10: the type travels in a CAINFO */
		uint8_t info[WCCE_CAINFO_LEN];
		wcce_cainfo(svc, info);
		return blob_bytes(a, info, sizeof(info), out);
	}
	case CR_PROP_EXITCOUNT: return blob_long(a, 0, out);
	case CR_PROP_CASIGCERTCOUNT: return blob_long(a, N_SIG_CERTS, out);
	case CR_PROP_CAXCHGCERTCOUNT: return blob_long(a, 1, out); /* "MUST be 0x1" */
	case CR_PROP_CAPROPIDMAX: return blob_long(a, WCCE_PROPID_MAX, out);
	case CR_PROP_ROLESEPARATIONENABLED:
	case CR_PROP_KRACERTUSEDCOUNT:
	case CR_PROP_KRACERTCOUNT:
	case CR_PROP_ADVANCEDSERVER:
	case CR_PROP_CRLPARTITIONCOUNT: return blob_long(a, 0, out);
	case CR_PROP_CACERTVERSION: return blob_long(a, 0, out); /* never renewed */
	case CR_PROP_CACERTSTATUSCODE: return blob_long(a, valid ? 0 : cerr_value(CERR_CERT_E_EXPIRED), out);
	case CR_PROP_CASIGCERT:
		p = ca_cert_der(ca, &n);
		return blob_bytes(a, p, n, out);
	case CR_PROP_CASIGCERTCHAIN:
	case CR_PROP_CASIGCERTCRLCHAIN: /* no CRLs published yet: the chain alone */
		p = ca_cert_chain_pkcs7(ca, &n);
		return blob_bytes(a, p, n, out);
	case CR_PROP_CACERTSTATE: {
		/* MS-WCCE 3.2.1.4.3.2.19: one CA_DISP_* byte per signing certificate */
		uint8_t st = valid ? WCCE_CA_DISP_VALID : WCCE_CA_DISP_INVALID;
		return blob_bytes(a, &st, 1, out);
	}
	case CR_PROP_CRLSTATE: {
		/* 3.2.1.4.3.2.20: VALID = this certificate's key signs the CRLs */
		uint8_t st = WCCE_CA_DISP_VALID;
		return blob_bytes(a, &st, 1, out);
	}
	case CR_PROP_CAXCHGCERT:
	case CR_PROP_CAXCHGCERTCHAIN:
	case CR_PROP_CAXCHGCERTCRLCHAIN:
		/* No exchange certificate: AD CS makes one on demand (3.2.1.4.3.2.15.1)
		 * because its only use is key archival, which certa does not do. The
		 * error says so to a client that wanted to archive a key. */
		return CERR_CERTSRV_E_KEY_ARCHIVAL_NOT_CONFIGURED;
	default:
		/* Shared folder, parent CA (a root has none), CRLs and their
		 * publish status (none published yet): no value. */
		return CERR_CERTSRV_E_PROPERTY_EMPTY;
	}
}

/* get_property answers GetCAProperty (and the GetCACert tags that map to a
 * property): E_INVALIDARG for an unknown ID, a wrong PropType or PropIndex
 * (MS-WCCE 3.2.1.4.3.2: "MUST return a nonzero error"; Windows and the
 * MS-CSRA twin use E_INVALIDARG). */
static cerr_t get_property(const wcce_service_t *svc, int32_t id, int32_t idx, int32_t type, arena_t *a,
			   ndr_blob_t *out)
{
	memset(out, 0, sizeof(*out));
	const prop_def_t *d = find_prop(id);
	if (!d || d->type != type || !index_ok((idx_rule_t)d->rule, idx)) {
		return CERR_E_INVALIDARG;
	}
	return prop_value(svc, id, a, out);
}

/* prop_info_blob builds GetCAPropertyInfo's CATRANSPROP array (MS-WCCE
 * 2.2.2.3, 2.2.2.3.1): the structures, then each display name as UTF-16LE
 * with NUL at a 4-byte aligned offset from the start of pb. */
static cerr_t prop_info_blob(arena_t *a, ndr_blob_t *out)
{
	buf_t b;
	buf_init(&b, 64u * 1024u);
	size_t hdr = buf_reserve(&b, N_PROPS * 12u);
	for (size_t i = 0; i < N_PROPS && buf_ok(&b); i++) {
		buf_align(&b, 4);
		size_t off = b.len;
		size_t units;
		if (!utf8_to_utf16le(&b, props[i].name, true, &units)) {
			break;
		}
		bool indexed = props[i].rule != IDX_NONE;
		size_t at = hdr + 12u * i;
		buf_patch_u32(&b, at, props[i].id);
		buf_patch_u16(&b, at + 4, props[i].type); /* propType, Reserved 0 */
		buf_patch_u16(&b, at + 6, indexed ? WCCE_PROPFLAGS_INDEXED : 0);
		buf_patch_u32(&b, at + 8, (uint32_t)off);
	}
	cerr_t e = buf_ok(&b) ? blob_bytes(a, b.data, b.len, out) : CERR_NOMEM;
	buf_free(&b);
	return e;
}

/* ---- the methods ---- */

/* gate makes the checks every method starts with (MS-WCCE 3.2.1.4.2.1 and
 * each method's section): IF_NOREMOTEICERTREQUEST SHOULD give
 * CERTSRV_E_ENROLL_DENIED; IF_ENFORCEENCRYPTICERTREQUEST refuses a caller
 * below PKT_PRIVACY "with a nonzero error" - E_ACCESSDENIED, as MS-ICPR
 * 3.2.4.1.1 names it for the same flag (the NTLM-relay defence, ESC11).
 * CERR_OK to go on. */
static cerr_t gate(const wcce_service_t *svc, const rpc_call_t *call, const char **reason)
{
	uint8_t level = call->conn ? call->conn->auth_level : RPC_AUTH_LEVEL_NONE;
	*reason = NULL;
	if (svc->cfg.interface_flags & ENROLL_IF_NOREMOTEICERTREQUEST) {
		*reason = REASON_NO_REMOTE;
		return CERR_CERTSRV_E_ENROLL_DENIED;
	}
	if ((svc->cfg.interface_flags & ENROLL_IF_ENFORCEENCRYPTICERTREQUEST) && level < RPC_AUTH_LEVEL_PKT_PRIVACY) {
		*reason = REASON_NOT_ENCRYPTED;
		return CERR_E_ACCESSDENIED;
	}
	return CERR_OK;
}

static void log_refusal(const rpc_call_t *call, const char *method, cerr_t hr, const char *reason)
{
	const rpc_conn_info_t *conn = call->conn;
	log_info("WCCE %s from %s refused: 0x%08x %s (%s)", method, conn && conn->peer_addr ? conn->peer_addr : "?",
		 cerr_value(hr), cerr_name(hr), reason);
}

/* refuse_request answers Request/Request2 turned away before processing:
 * the HRESULT is the return value and, for clients that only read it, also
 * *pdwDisposition (as the ICPR front end does); no request ID. */
static cerr_t refuse_request(rpc_call_t *call, cerr_t hr, const char *message)
{
	return enroll_answer(call, cerr_value(hr), cerr_value(hr), message);
}

/* inspection_error answers a status inspection that cannot name a request
 * (MS-WCCE 3.2.1.4.3.1.2 steps 1-4): errors of processing go in
 * *pdwDisposition with return 0 (3.2.1.4.2.1 "Return Values"). */
static cerr_t inspection_error(rpc_call_t *call, cerr_t hr)
{
	return enroll_answer(call, cerr_value(hr), 0, cerr_msg(hr));
}

static cerr_t op_request(wcce_service_t *svc, rpc_call_t *call, bool request2)
{
	const char *method = request2 ? "Request2" : "Request";
	wcce_request_t req;
	cerr_t e = wcce_decode_request(&call->in, call->arena, request2, &req);
	if (e != CERR_OK) {
		return e; /* nca_s_fault_ndr */
	}
	const char *requester = enroll_requester_name(call);
	if (!requester) {
		return CERR_NOMEM;
	}
	const char *reason;
	cerr_t hr = gate(svc, call, &reason);
	if (hr != CERR_OK) {
		enroll_audit_refusal(svc->ca, svc->cfg.events, call, WCCE_PROTOCOL, requester, hr, reason);
		char msg[160];
		snprintf(msg, sizeof(msg), "Denied: %s.", reason);
		return refuse_request(call, hr, msg);
	}
	/* 3.2.1.4.2.1 step 1: the name must be this CA's (EmptyNameAllowed false) */
	if (!enroll_authority_ok(svc->ca, req.authority, svc->cfg.allow_empty_authority)) {
		log_info("WCCE %s from %s: authority \"%s\" is not this CA (\"%s\")", method, requester,
			 req.authority ? req.authority : "(null)", ca_name(svc->ca));
		return refuse_request(call, CERR_E_INVALIDARG, "The certification authority name is not this CA's.");
	}
	uint32_t request_id = req.request_id;
	if (request2 && req.request.len == 0) {
		/* 3.2.1.4.3.1.2: status inspection by request ID or by serial, not both */
		if (req.serial && req.request_id != 0) {
			return inspection_error(call, CERR_E_INVALIDARG);
		}
		if (req.serial) {
			e = ca_request_id_by_serial(svc->ca, req.serial, &request_id);
			if (e != CERR_OK) {
				return inspection_error(call, e == CERR_NOT_FOUND	? CERR_CERTSRV_E_PROPERTY_EMPTY
							      : e == CERR_INVALID_ARG ? CERR_E_INVALIDARG
										    : CERR_E_FAIL);
			}
		}
	}
	if (request2 && (req.flags & WCCE_CR_IN_FULLRESPONSE)) {
		/* MS-WCCE 3.2.1.4.2.1.4.8.1 asks for a CMC Full PKI Response here;
		 * certa sends the PKCS#7 chain it sends without the flag. */
		log_debug("WCCE Request2 from %s: CR_IN_FULLRESPONSE answered with the PKCS#7 chain", requester);
	}
	enroll_request_t er = {
		.protocol = WCCE_PROTOCOL,
		.requester = requester,
		.flags = req.flags,
		.request_id = request_id,
		.attributes = req.attributes,
		.request = req.request,
	};
	wcce_response_t resp;
	e = enroll_submit(svc->ca, call, &er, &resp);
	if (e != CERR_OK) {
		return e;
	}
	return wcce_encode_response(call->out, &resp);
}

/* fchain_to_property maps a GetCACert fchain onto the property it reads
 * (MS-WCCE 3.2.1.4.2.2.1-17 defer to 3.2.1.4.3.2). *special is 'i' for
 * GETCERT_CAINFO and 't' for GETCERT_CATYPE, 0 otherwise. False for an
 * fchain the table does not list. */
static bool fchain_to_property(uint32_t fchain, int32_t *id, int32_t *idx, int32_t *type, char *special)
{
	*special = 0;
	*idx = 0;
	switch (fchain) {
	case WCCE_GETCERT_CASIGCERT: *id = CR_PROP_CASIGCERT; *idx = -1; break;
	case WCCE_GETCERT_CAXCHGCERT: *id = CR_PROP_CAXCHGCERT; break;
	case WCCE_GETCERT_CURRENTCRL: *id = CR_PROP_BASECRL; *idx = -1; break;
	case WCCE_GETCERT_FILEVERSION: *id = CR_PROP_FILEVERSION; break;
	case WCCE_GETCERT_CANAME: *id = CR_PROP_CANAME; break;
	case WCCE_GETCERT_PARENTCONFIG: *id = CR_PROP_PARENTCA; break;
	case WCCE_GETCERT_POLICYVERSION: *id = CR_PROP_POLICYDESCRIPTION; break;
	case WCCE_GETCERT_PRODUCTVERSION: *id = CR_PROP_PRODUCTVERSION; break;
	case WCCE_GETCERT_SANITIZEDCANAME: *id = CR_PROP_SANITIZEDCANAME; break;
	case WCCE_GETCERT_SHAREDFOLDER: *id = CR_PROP_SHAREDFOLDER; break;
	case WCCE_GETCERT_CAINFO: *id = CR_PROP_CATYPE; *special = 'i'; break;
	case WCCE_GETCERT_CATYPE: *id = CR_PROP_CATYPE; *special = 't'; break;
	default: {
		/* indexed tags: two characters, then a 16-bit index (0xFFFF = the latest) */
		uint32_t tag = fchain >> 16, i16 = fchain & 0xffffu;
		*idx = i16 == 0xffffu ? -1 : (int32_t)i16;
		switch (tag) {
		case WCCE_GETCERT_CRLBYINDEX: *id = CR_PROP_BASECRL; break;
		case WCCE_GETCERT_CACERTBYINDEX: *id = CR_PROP_CASIGCERT; break;
		case WCCE_GETCERT_EXITVERSIONBYINDEX: *id = CR_PROP_EXITDESCRIPTION; break;
		case WCCE_GETCERT_CRLSTATEBYINDEX: *id = CR_PROP_CRLSTATE; break;
		case WCCE_GETCERT_CACERTSTATEBYINDEX: *id = CR_PROP_CACERTSTATE; break;
		default: return false;
		}
	}
	}
	const prop_def_t *d = find_prop(*id);
	*type = d ? d->type : 0;
	return d != NULL;
}

static cerr_t op_get_ca_cert(wcce_service_t *svc, rpc_call_t *call)
{
	uint32_t fchain;
	char *authority;
	cerr_t e = wcce_decode_get_ca_cert(&call->in, call->arena, &fchain, &authority);
	if (e != CERR_OK) {
		return e;
	}
	ndr_blob_t out = {0};
	const char *reason;
	cerr_t hr = gate(svc, call, &reason);
	int32_t id, idx, type;
	char special;
	if (hr != CERR_OK) {
		log_refusal(call, "GetCACert", hr, reason);
	} else if (!fchain_to_property(fchain, &id, &idx, &type, &special)) {
		hr = CERR_E_INVALIDARG; /* 3.2.1.4.2.2 step 1: SHOULD be 0x80070057 */
	} else if (fchain != WCCE_GETCERT_CANAME && fchain != WCCE_GETCERT_SANITIZEDCANAME &&
		   !enroll_authority_ok(svc->ca, authority, svc->cfg.allow_empty_authority)) {
		hr = CERR_E_INVALIDARG; /* step 2: the name is checked except for 'name' and 'sani' */
	} else if (special == 't') {
		/* step 3: GETCERT_CATYPE returns a little-endian unsigned integer */
		hr = blob_long(call->arena, svc->cfg.ca_type, &out);
	} else {
		hr = get_property(svc, id, idx, type, call->arena, &out);
	}
	if (hr == CERR_NOMEM) {
		return hr;
	}
	if (hr != CERR_OK) {
		memset(&out, 0, sizeof(out));
	}
	return wcce_encode_blob_response(call->out, &out, cerr_value(hr));
}

static cerr_t op_ping(wcce_service_t *svc, rpc_call_t *call, const char *method)
{
	char *authority;
	cerr_t e = wcce_decode_authority(&call->in, call->arena, &authority);
	if (e != CERR_OK) {
		return e;
	}
	const char *reason;
	cerr_t hr = gate(svc, call, &reason);
	if (hr != CERR_OK) {
		log_refusal(call, method, hr, reason);
	} else if (!enroll_authority_ok(svc->ca, authority, true)) {
		hr = CERR_E_INVALIDARG; /* 3.2.1.4.2.3: EmptyNameAllowed true */
	}
	return wcce_encode_hresult(call->out, cerr_value(hr));
}

static cerr_t op_get_ca_property(wcce_service_t *svc, rpc_call_t *call)
{
	wcce_prop_request_t req;
	cerr_t e = wcce_decode_prop_request(&call->in, call->arena, &req);
	if (e != CERR_OK) {
		return e;
	}
	ndr_blob_t out = {0};
	const char *reason;
	cerr_t hr = gate(svc, call, &reason);
	if (hr != CERR_OK) {
		log_refusal(call, "GetCAProperty", hr, reason);
	} else if (!enroll_authority_ok(svc->ca, req.authority, svc->cfg.allow_empty_authority)) {
		hr = CERR_E_INVALIDARG;
	} else {
		hr = get_property(svc, req.prop_id, req.prop_index, req.prop_type, call->arena, &out);
	}
	if (hr == CERR_NOMEM) {
		return hr;
	}
	if (hr != CERR_OK) {
		memset(&out, 0, sizeof(out));
	}
	return wcce_encode_blob_response(call->out, &out, cerr_value(hr));
}

static cerr_t op_get_ca_property_info(wcce_service_t *svc, rpc_call_t *call)
{
	char *authority;
	cerr_t e = wcce_decode_authority(&call->in, call->arena, &authority);
	if (e != CERR_OK) {
		return e;
	}
	ndr_blob_t out = {0};
	int32_t count = 0;
	const char *reason;
	cerr_t hr = gate(svc, call, &reason);
	if (hr != CERR_OK) {
		log_refusal(call, "GetCAPropertyInfo", hr, reason);
	} else if (!enroll_authority_ok(svc->ca, authority, svc->cfg.allow_empty_authority)) {
		hr = CERR_E_INVALIDARG;
	} else {
		hr = prop_info_blob(call->arena, &out);
		count = (int32_t)N_PROPS;
	}
	if (hr == CERR_NOMEM) {
		return hr;
	}
	if (hr != CERR_OK) {
		memset(&out, 0, sizeof(out));
		count = 0;
	}
	return wcce_encode_prop_info_response(call->out, count, &out, cerr_value(hr));
}

cerr_t wcce_invoke(wcce_service_t *svc, const guid_t *iid, rpc_call_t *call)
{
	bool d2 = guid_equal(iid, &WCCE_IID_ICERTREQUESTD2);
	if (!d2 && !guid_equal(iid, &WCCE_IID_ICERTREQUESTD)) {
		return CERR_E_NOINTERFACE;
	}
	switch (call->opnum) {
	case WCCE_OPNUM_REQUEST: return op_request(svc, call, false);
	case WCCE_OPNUM_GET_CA_CERT: return op_get_ca_cert(svc, call);
	case WCCE_OPNUM_PING: return op_ping(svc, call, "Ping");
	default: break;
	}
	if (!d2) {
		return CERR_NCA_S_OP_RNG_ERROR; /* ICertRequestD has opnums 3-5 */
	}
	switch (call->opnum) {
	case WCCE_OPNUM_REQUEST2: return op_request(svc, call, true);
	case WCCE_OPNUM_GET_CA_PROPERTY: return op_get_ca_property(svc, call);
	case WCCE_OPNUM_GET_CA_PROPERTY_INFO: return op_get_ca_property_info(svc, call);
	case WCCE_OPNUM_PING2: return op_ping(svc, call, "Ping2");
	default: return CERR_NCA_S_OP_RNG_ERROR;
	}
}
