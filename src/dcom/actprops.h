/*
 * actprops.h - activation properties blobs (MS-DCOM 2.2.22): what a client
 * sends in RemoteCreateInstance / RemoteGetClassObject (ActivationPropertiesIn)
 * and what the activator answers (ActivationPropertiesOut). The blob is the
 * pObjectData of an OBJREF_CUSTOM: {dwSize, dwReserved, CustomHeader,
 * Property[cIfs]}, where the CustomHeader and every property are encoded
 * separately with the NDR type serialization 1 engine (MS-RPCE 2.2.6).
 *
 * In: InstantiationInfoData, ScmRequestInfoData, LocationInfoData (required),
 * SecurityInfoData, ActivationContextInfoData, InstanceInfoData,
 * SpecialPropertiesData (optional) are decoded; unknown properties are
 * skipped by their size (MS-DCOM 3.1.2.5.2.3.3: "Servers SHOULD ignore
 * properties that they do not recognize"). Out: PropsOutInfo then
 * ScmReplyInfoData, the order Windows uses and impacket relies on.
 */
#ifndef CERTA_DCOM_ACTPROPS_H
#define CERTA_DCOM_ACTPROPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcom/limits.h"
#include "dcom/objref.h"
#include "dcom/orpc.h"
#include "rpc/ndr.h"
#include "util/arena.h"
#include "util/cursor.h"
#include "util/err.h"

/* InstantiationInfoData.actvflags (MS-DCOM 2.2.22.2.1) */
#define ACTVFLAGS_DISABLE_AAA 0x2u
#define ACTVFLAGS_ACTIVATE_32_BIT_SERVER 0x4u
#define ACTVFLAGS_ACTIVATE_64_BIT_SERVER 0x8u
#define ACTVFLAGS_NO_FAILURE_LOG 0x20u

/* Which properties a blob carried (bits of dcom_actprops_in_t.present). */
enum dcom_actprop {
	DCOM_PROP_INSTANTIATION = 1u << 0,
	DCOM_PROP_SCM_REQUEST = 1u << 1,
	DCOM_PROP_LOCATION = 1u << 2,
	DCOM_PROP_SECURITY = 1u << 3,
	DCOM_PROP_CONTEXT = 1u << 4,
	DCOM_PROP_INSTANCE = 1u << 5,
	DCOM_PROP_SPECIAL = 1u << 6,
};

typedef struct dcom_actprops_in {
	/* CustomHeader (MS-DCOM 2.2.22.1) */
	uint32_t dest_ctx;                          /* implementation-specific; impacket sends 2 */
	uint32_t n_props;
	guid_t prop_clsid[DCOM_MAX_ACTPROPS];
	uint32_t prop_size[DCOM_MAX_ACTPROPS];
	uint32_t present;                           /* enum dcom_actprop bits */
	uint32_t n_unknown;                         /* properties skipped */

	struct {                                    /* InstantiationInfoData (2.2.22.2.1) */
		guid_t clsid;
		uint32_t class_ctx;
		uint32_t actvflags;
		int32_t is_surrogate;
		uint32_t inst_flag;
		uint32_t n_iids;                    /* 1..DCOM_MAX_REQUESTED_IIDS */
		guid_t *iids;
		uint32_t this_size;
		dcom_version_t client_version;
	} inst;
	struct {                                    /* ScmRequestInfoData (2.2.22.2.4) */
		bool has_remote_request;
		uint32_t client_imp_level;
		uint16_t n_protseqs;
		uint16_t *protseqs;
	} scm_request;
	struct {                                    /* LocationInfoData (2.2.22.2.6) */
		char *machine_name;                 /* NULL when absent (it MUST be) */
		uint32_t process_id;
		uint32_t apartment_id;
		uint32_t context_id;
	} location;
	struct {                                    /* SecurityInfoData (2.2.22.2.7), ignored */
		uint32_t authn_flags;
		bool has_server_info;
		char *server_name;                  /* COSERVERINFO.pwszName, may be NULL */
	} security;
	struct {                                    /* ActivationContextInfoData (2.2.22.2.5) */
		int32_t client_ok;
		ndr_blob_t client_ctx;              /* raw MInterfacePointer bodies, kept */
		ndr_blob_t prototype_ctx;
	} context;
	struct {                                    /* InstanceInfoData (2.2.22.2.3) */
		char *file_name;
		uint32_t mode;
		ndr_blob_t ifd_rot;
		ndr_blob_t ifd_stg;
	} instance;
	struct {                                    /* SpecialPropertiesData (2.2.22.2.2), either form */
		uint32_t session_id;
		int32_t remote_this_session;
		int32_t client_impersonating;
		int32_t partition_id_present;
		uint32_t default_authn_level;
		guid_t partition;
		uint32_t prt_flags;
		uint32_t orig_clsctx;
		uint32_t flags;
	} special;
} dcom_actprops_in_t;

typedef struct dcom_actprops_out {
	uint32_t dest_ctx;
	/* ScmReplyInfoData.remoteReply: customREMOTE_REPLY_SCM_INFO (2.2.22.2.8.1) */
	uint64_t oxid;
	dcom_dualstringarray_t oxid_bindings;       /* the exporter's "host[port]" bindings */
	guid_t ipid_remunknown;
	uint32_t authn_hint;
	dcom_version_t server_version;
	/* PropsOutInfo (2.2.22.2.9) */
	uint32_t n_ifs;                             /* 1..DCOM_MAX_REQUESTED_IIDS */
	guid_t *iids;
	uint32_t *hresults;
	ndr_blob_t *ifaces;                         /* OBJREF bytes; data NULL where hresults[i] fails */
} dcom_actprops_out_t;

/* dcom_actprops_in_decode parses an ActivationPropertiesIn blob (the OBJREF_CUSTOM
 * pObjectData). Strings, arrays and kept blobs are allocated from a.
 * Returns CERR_OK, CERR_TRUNCATED, CERR_MALFORMED (sizes inconsistent, bad
 * headers, duplicate property) or CERR_LIMIT (too many properties/IIDs). */
cerr_t dcom_actprops_in_decode(const uint8_t *blob, size_t len, arena_t *a, dcom_actprops_in_t *out);
/* dcom_actprops_in_from_mip checks that an MInterfacePointer body holds an
 * OBJREF_CUSTOM with clsid CLSID_ActivationPropertiesIn and iid
 * IID_IActivationPropertiesIn (MS-DCOM 3.1.2.5.2.3.3) and decodes its blob. */
cerr_t dcom_actprops_in_from_mip(const ndr_blob_t *mip, arena_t *a, dcom_actprops_in_t *out);
/* dcom_actprops_in_encode writes the blob for the properties present (in
 * the order of prop_clsid, unknown ones left out): for round trips and a
 * future client. */
cerr_t dcom_actprops_in_encode(buf_t *b, const dcom_actprops_in_t *in);

/* dcom_actprops_out_encode writes an ActivationPropertiesOut blob. */
cerr_t dcom_actprops_out_encode(buf_t *b, const dcom_actprops_out_t *out);
/* dcom_actprops_out_to_mip writes the whole OBJREF_CUSTOM (clsid
 * CLSID_ActivationPropertiesOut, iid IID_IActivationPropertiesOut) whose
 * pObjectData is the blob: the abData of ppActProperties. */
cerr_t dcom_actprops_out_to_mip(buf_t *b, const dcom_actprops_out_t *out);
/* dcom_actprops_out_decode parses an ActivationPropertiesOut blob (tests,
 * fuzzing, a future client). Both properties are required. */
cerr_t dcom_actprops_out_decode(const uint8_t *blob, size_t len, arena_t *a, dcom_actprops_out_t *out);

#endif
