/*
 * wcce.h - MS-WCCE on the "CertSrv Request" DCOM class: ICertRequestD
 * (Request, GetCACert, Ping; opnums 3-5) and ICertRequestD2 (Request2,
 * GetCAProperty, GetCAPropertyInfo, Ping2; opnums 6-9), the path Windows
 * certenroll, autoenrollment and certreq take. Request/Request2 run the
 * same processing as MS-ICPR (services/enroll.h, ca_submit).
 *
 * The stub codecs here cover the NDR after ORPCTHIS (requests) and after
 * ORPCTHAT (responses), both directions (`certa req --dcom` uses the client
 * half); ORPCTHIS/ORPCTHAT themselves belong to the DCOM layer. The object
 * exporter hands calls to wcce_invoke.
 */
#ifndef CERTA_SERVICES_WCCE_H
#define CERTA_SERVICES_WCCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ca/ca.h"
#include "events/events.h"
#include "rpc/iface.h"
#include "rpc/ndr.h"
#include "services/enroll.h"
#include "util/arena.h"
#include "util/cursor.h"
#include "util/err.h"
#include "util/guid.h"

/* MS-WCCE 2.1; protocol-facts 2.1 */
extern const guid_t WCCE_CLSID_CERTSRV_REQUEST; /* d99e6e74-fc88-11d0-b498-00a0c90312f3 */
extern const guid_t WCCE_IID_ICERTREQUESTD;     /* d99e6e70-fc88-11d0-b498-00a0c90312f3 */
extern const guid_t WCCE_IID_ICERTREQUESTD2;    /* 5422fd3a-d4b8-4cef-a12e-e87d4ca22e90 */

/* Opnums (0-2 are IUnknown's, never called on the wire: MS-DCOM 3.1.1.5.8). */
#define WCCE_OPNUM_REQUEST 3
#define WCCE_OPNUM_GET_CA_CERT 4
#define WCCE_OPNUM_PING 5
#define WCCE_OPNUM_REQUEST2 6               /* ICertRequestD2 only */
#define WCCE_OPNUM_GET_CA_PROPERTY 7        /* ICertRequestD2 only */
#define WCCE_OPNUM_GET_CA_PROPERTY_INFO 8   /* ICertRequestD2 only */
#define WCCE_OPNUM_PING2 9                  /* ICertRequestD2 only */

/* What the IDL's range() allows (MS-WCCE 3.2.1.4.2/3). The count includes
 * the terminating NUL, so range(1, 1536) leaves 1535 characters. A string
 * beyond it is an NDR error (MIDL's range check), answered with
 * nca_s_fault_ndr. */
#define WCCE_MAX_STRING_CHARS 1535u /* pwszAuthority, pwszAttributes: range(1, 1536) */
#define WCCE_MAX_SERIAL_CHARS 63u   /* pwszSerialNumber: range(1, 64) */
#define WCCE_MAX_REQUEST_BYTES (1024u * 1024u)

/* dwFlags bits handled here (MS-WCCE 3.2.1.4.3.1.1; certcli.h values). */
#define WCCE_CR_IN_FULLRESPONSE 0x00040000u

/* GetCACert fchain (MS-WCCE 3.2.1.4.2.2): two small values, then four ASCII
 * characters read as a big-endian DWORD, or two characters plus a 16-bit
 * index. */
#define WCCE_GETCERT_CASIGCERT 0x00000000u
#define WCCE_GETCERT_CAXCHGCERT 0x00000001u
#define WCCE_GETCERT_CURRENTCRL 0x6363726Cu /* 'ccrl' */
#define WCCE_GETCERT_FILEVERSION 0x66696C65u /* 'file' */
#define WCCE_GETCERT_CAINFO 0x696E666Fu      /* 'info' */
#define WCCE_GETCERT_CANAME 0x6E616D65u      /* 'name' */
#define WCCE_GETCERT_PARENTCONFIG 0x70617265u /* 'pare' */
#define WCCE_GETCERT_POLICYVERSION 0x706F6C69u /* 'poli' */
#define WCCE_GETCERT_PRODUCTVERSION 0x70726F64u /* 'prod' */
#define WCCE_GETCERT_SANITIZEDCANAME 0x73616E69u /* 'sani' */
#define WCCE_GETCERT_SHAREDFOLDER 0x73686172u /* 'shar' */
#define WCCE_GETCERT_CATYPE 0x74797065u      /* 'type' */
#define WCCE_GETCERT_CRLBYINDEX 0x636Cu        /* 'cl' << 16 | index */
#define WCCE_GETCERT_CACERTBYINDEX 0x6374u     /* 'ct' */
#define WCCE_GETCERT_EXITVERSIONBYINDEX 0x6578u /* 'ex' */
#define WCCE_GETCERT_CRLSTATEBYINDEX 0x736Cu   /* 'sl' */
#define WCCE_GETCERT_CACERTSTATEBYINDEX 0x7374u /* 'st' */

/* GetCAProperty PropType (MS-WCCE 3.2.1.4.3.2) and CATRANSPROP propType. */
#define WCCE_PROPTYPE_LONG 1
#define WCCE_PROPTYPE_DATE 2
#define WCCE_PROPTYPE_BINARY 3
#define WCCE_PROPTYPE_STRING 4
/* CATRANSPROP propFlags: the property is indexed (MS-WCCE 2.2.2.3; certsrv.h
 * PROPFLAGS_INDEXED 0x10000 seen from the DWORD holding propType). */
#define WCCE_PROPFLAGS_INDEXED 0x0001u

/* GetCAProperty PropIDs (CR_PROP_*, MS-WCCE 3.2.1.4.3.2). */
#define CR_PROP_FILEVERSION 0x01
#define CR_PROP_PRODUCTVERSION 0x02
#define CR_PROP_EXITCOUNT 0x03
#define CR_PROP_EXITDESCRIPTION 0x04
#define CR_PROP_POLICYDESCRIPTION 0x05
#define CR_PROP_CANAME 0x06
#define CR_PROP_SANITIZEDCANAME 0x07
#define CR_PROP_SHAREDFOLDER 0x08
#define CR_PROP_PARENTCA 0x09
#define CR_PROP_CATYPE 0x0A
#define CR_PROP_CASIGCERTCOUNT 0x0B
#define CR_PROP_CASIGCERT 0x0C
#define CR_PROP_CASIGCERTCHAIN 0x0D
#define CR_PROP_CAXCHGCERTCOUNT 0x0E
#define CR_PROP_CAXCHGCERT 0x0F
#define CR_PROP_CAXCHGCERTCHAIN 0x10
#define CR_PROP_BASECRL 0x11
#define CR_PROP_DELTACRL 0x12
#define CR_PROP_CACERTSTATE 0x13
#define CR_PROP_CRLSTATE 0x14
#define CR_PROP_CAPROPIDMAX 0x15
#define CR_PROP_DNSNAME 0x16
#define CR_PROP_ROLESEPARATIONENABLED 0x17
#define CR_PROP_KRACERTUSEDCOUNT 0x18
#define CR_PROP_KRACERTCOUNT 0x19
#define CR_PROP_KRACERT 0x1A
#define CR_PROP_KRACERTSTATE 0x1B
#define CR_PROP_ADVANCEDSERVER 0x1C
#define CR_PROP_TEMPLATES 0x1D
#define CR_PROP_BASECRLPUBLISHSTATUS 0x1E
#define CR_PROP_DELTACRLPUBLISHSTATUS 0x1F
#define CR_PROP_CASIGCERTCRLCHAIN 0x20
#define CR_PROP_CAXCHGCERTCRLCHAIN 0x21
#define CR_PROP_CACERTSTATUSCODE 0x22
#define CR_PROP_CAFORWARDCROSSCERT 0x23
#define CR_PROP_CABACKWARDCROSSCERT 0x24
#define CR_PROP_CAFORWARDCROSSCERTSTATE 0x25
#define CR_PROP_CABACKWARDCROSSCERTSTATE 0x26
#define CR_PROP_CACERTVERSION 0x27
#define CR_PROP_SANITIZEDCASHORTNAME 0x28
#define CR_PROP_CERTCDPURLS 0x29
#define CR_PROP_CERTAIAURLS 0x2A
#define CR_PROP_CERTAIAOCSPURLS 0x2B
#define CR_PROP_LOCALENAME 0x2C
#define CR_PROP_SUBJECTTEMPLATE_OIDS 0x2D
#define CR_PROP_CRLPARTITIONCOUNT 0x2E
#define CR_PROP_PARTITIONED_BASECRL 0x2F
#define CR_PROP_PARTITIONED_DELTACRL 0x30
#define CR_PROP_PARTITIONED_BASECRLPUBLISHSTATUS 0x31
#define CR_PROP_PARTITIONED_DELTACRLPUBLISHSTATUS 0x32
#define WCCE_PROPID_MAX CR_PROP_PARTITIONED_DELTACRLPUBLISHSTATUS

/* CAINFO CAType (MS-WCCE 2.2.2.4) */
#define WCCE_CATYPE_ENTERPRISE_ROOT 0u
#define WCCE_CATYPE_ENTERPRISE_SUB 1u
#define WCCE_CATYPE_STANDALONE_ROOT 3u
#define WCCE_CATYPE_STANDALONE_SUB 4u
/* CA_DISP_* for CR_PROP_CACERTSTATE / CRLSTATE (MS-WCCE 3.2.1.4.3.2.19) */
#define WCCE_CA_DISP_VALID 3u
#define WCCE_CA_DISP_INVALID 4u
/* sizeof(CAINFO): ten 32-bit fields (MS-WCCE 2.2.2.4) */
#define WCCE_CAINFO_LEN 40u

/* ---- the [in] and [out] parameters, after ORPCTHIS / ORPCTHAT ---- */

/* Request (opnum 3) and Request2 (opnum 6). */
typedef struct wcce_request {
	uint32_t flags;         /* dwFlags */
	const char *authority;  /* pwszAuthority, UTF-8; NULL for a NULL pointer */
	const char *serial;     /* Request2's pwszSerialNumber; NULL for NULL (and for Request) */
	uint32_t request_id;    /* *pdwRequestId */
	const char *attributes; /* pwszAttributes, UTF-8; NULL for NULL */
	ndr_blob_t request;     /* pctbRequest; empty = status inspection */
} wcce_request_t;

/* Their [out] parameters and HRESULT (status); Request and Request2 have
 * the same shape (Request2's second blob is pctbFullResponse), and so has
 * MS-ICPR's CertServerRequest: enroll.h's type. */
typedef enroll_response_t wcce_response_t;

/* GetCAProperty (opnum 7) [in]. */
typedef struct wcce_prop_request {
	const char *authority;
	int32_t prop_id;
	int32_t prop_index;
	int32_t prop_type;
} wcce_prop_request_t;

/* wcce_decode_request reads Request's (request2 false) or Request2's [in]
 * parameters; strings and blobs are copied into a. CERR_MALFORMED on bad
 * NDR or a value outside the IDL's range() / our limits. Bytes after the
 * last parameter are left (a verification trailer may follow). */
cerr_t wcce_decode_request(cur_t *in, arena_t *a, bool request2, wcce_request_t *out);
cerr_t wcce_encode_request(buf_t *b, bool request2, const wcce_request_t *req);
cerr_t wcce_encode_response(buf_t *b, const wcce_response_t *resp);
/* wcce_decode_response: the whole rest of the stub must be consumed. */
cerr_t wcce_decode_response(cur_t *in, arena_t *a, wcce_response_t *out);

/* GetCACert (opnum 4) [in]: fchain, pwszAuthority. */
cerr_t wcce_decode_get_ca_cert(cur_t *in, arena_t *a, uint32_t *fchain, char **authority);
cerr_t wcce_encode_get_ca_cert(buf_t *b, uint32_t fchain, const char *authority);
/* Ping (5), Ping2 (9), GetCAPropertyInfo (8) [in]: pwszAuthority alone. */
cerr_t wcce_decode_authority(cur_t *in, arena_t *a, char **authority);
cerr_t wcce_encode_authority(buf_t *b, const char *authority);
/* GetCAProperty (7) [in]. */
cerr_t wcce_decode_prop_request(cur_t *in, arena_t *a, wcce_prop_request_t *out);
cerr_t wcce_encode_prop_request(buf_t *b, const wcce_prop_request_t *req);

/* [out] of GetCACert and GetCAProperty: one CERTTRANSBLOB, then the HRESULT. */
cerr_t wcce_encode_blob_response(buf_t *b, const ndr_blob_t *blob, uint32_t hresult);
cerr_t wcce_decode_blob_response(cur_t *in, arena_t *a, ndr_blob_t *blob, uint32_t *hresult);
/* [out] of GetCAPropertyInfo: *pcProperty, the CATRANSPROP blob, the HRESULT. */
cerr_t wcce_encode_prop_info_response(buf_t *b, int32_t count, const ndr_blob_t *blob, uint32_t hresult);
cerr_t wcce_decode_prop_info_response(cur_t *in, arena_t *a, int32_t *count, ndr_blob_t *blob,
				      uint32_t *hresult);
/* [out] of Ping / Ping2: the HRESULT alone. */
cerr_t wcce_encode_hresult(buf_t *b, uint32_t hresult);
cerr_t wcce_decode_hresult(cur_t *in, uint32_t *hresult);

/* ---- the service ---- */

typedef struct wcce_config {
	uint32_t interface_flags; /* ENROLL_IF_*; default ENROLL_IF_ENFORCEENCRYPTICERTREQUEST */
	/* Accept a NULL or empty pwszAuthority where Windows requires the name
	 * (MS-WCCE 3.2.1.4.2.1 step 1: EmptyNameAllowed false). Default false:
	 * a client learns the name first with GetCACert(GETCERT_CANAME), which
	 * needs none, as `certa req --dcom` does. */
	bool allow_empty_authority;
	uint32_t ca_type;     /* CAINFO CAType: WCCE_CATYPE_STANDALONE_ROOT by default (no directory) */
	const char *dns_name; /* CR_PROP_DNSNAME; NULL = this host's name (copied) */
	events_t *events;     /* refusal events; NULL = the CA's log */
} wcce_config_t;

/* wcce_config_default: IF_ENFORCEENCRYPTICERTREQUEST, names required,
 * standalone root, host name from the system, the CA's event log. */
void wcce_config_default(wcce_config_t *cfg);

typedef struct wcce_service wcce_service_t;

/* wcce_service_new makes the object behind every CertSrv Request instance
 * (the class keeps no per-instance state, so all instances share it). ca is
 * borrowed and must outlive it; cfg is copied (NULL = defaults). */
cerr_t wcce_service_new(ca_t *ca, const wcce_config_t *cfg, wcce_service_t **out);
void wcce_service_free(wcce_service_t *svc);

/* wcce_invoke runs one ORPC call on interface iid (ICertRequestD or
 * ICertRequestD2): call->opnum selects the method, call->in is positioned
 * after ORPCTHIS (same base), and call->out already holds ORPCTHAT; the
 * method's [out] parameters and HRESULT are appended. Returns CERR_OK with
 * a response (refusals are HRESULTs in it), CERR_MALFORMED for bad NDR
 * (nca_s_fault_ndr), CERR_NCA_S_OP_RNG_ERROR for an opnum the interface
 * lacks, CERR_E_NOINTERFACE for another IID, CERR_NOMEM. */
cerr_t wcce_invoke(wcce_service_t *svc, const guid_t *iid, rpc_call_t *call);

/* wcce_dcom_register (wcce_dcom.c) serves the CertSrv Request class from the
 * DCOM object exporter x: ICertRequestD and ICertRequestD2 added as
 * interfaces, the class registered with svc (borrowed; outlives x) as every
 * instance. Before dcom_exporter_attach. CERR_EXISTS if already registered. */
typedef struct dcom_exporter dcom_exporter_t;
cerr_t wcce_dcom_register(dcom_exporter_t *x, wcce_service_t *svc);

/* wcce_cainfo fills the 40-byte CAINFO this service reports (exposed for tests). */
void wcce_cainfo(const wcce_service_t *svc, uint8_t out[WCCE_CAINFO_LEN]);

#endif
