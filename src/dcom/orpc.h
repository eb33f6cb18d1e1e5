/*
 * orpc.h - the NDR pieces every DCOM call carries (MS-DCOM 2.2): COMVERSION,
 * ORPCTHIS (first [in] argument of every ORPC call and of the activators),
 * ORPCTHAT (first [out] argument), MInterfacePointer (the NDR wrapper around
 * an OBJREF), the MS-RPCE 2.2.6 type serialization headers used inside
 * activation blobs, and the well-known IIDs/CLSIDs (MS-DCOM 1.9).
 *
 * Decoders follow rpc/ndr.h conventions: bool, chain with &&, cursor
 * unchanged on failure, alignment from the cursor base, padding bytes not
 * checked (impacket fills them with garbage).
 */
#ifndef CERTA_DCOM_ORPC_H
#define CERTA_DCOM_ORPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc/ndr.h"
#include "util/arena.h"
#include "util/cursor.h"
#include "util/guid.h"

/* COMVERSION (MS-DCOM 2.2.11). We speak 5.7, as current Windows does; 5.7
 * added nothing on the wire over 5.6 (MS-DCOM 1.7). */
typedef struct dcom_version {
	uint16_t major;
	uint16_t minor;
} dcom_version_t;

#define DCOM_VERSION_MAJOR 5
#define DCOM_VERSION_MINOR 7

/* dcom_version_ok is the capability negotiation check of MS-DCOM 1.7 /
 * 3.1.1.5.4: a different major version or a higher minor version than ours
 * must be refused with RPC_E_VERSION_MISMATCH. */
bool dcom_version_ok(const dcom_version_t *client);

/* ORPCTHIS flags (MS-DCOM 2.2.13.3) */
#define ORPCF_NULL 0x0u
#define ORPCF_LOCAL 0x1u

/* ORPCTHIS. Extensions (ORPC_EXTENT_ARRAY, MS-DCOM 2.2.13.1-2) are parsed
 * and skipped: MS-DCOM 2.2.13.1 says unrecognised extents MUST be ignored,
 * and the ones Windows sends (causality, error info) carry nothing we use. */
typedef struct orpcthis {
	dcom_version_t version;
	uint32_t flags;
	uint32_t reserved1;
	guid_t cid;              /* causality id */
	bool has_extensions;     /* the extensions pointer was non-NULL */
	uint32_t n_extents;      /* non-NULL ORPC_EXTENTs skipped */
} orpcthis_t;

/* ORPCTHAT (MS-DCOM 2.2.13.4) */
typedef struct orpcthat {
	uint32_t flags;
	bool has_extensions;
	uint32_t n_extents;
} orpcthat_t;

/* dcom_get_orpcthis reads an ORPCTHIS passed as a top-level [in] ORPCTHIS*
 * (a ref pointer: the struct inline, then its deferred extension array). */
bool dcom_get_orpcthis(cur_t *c, orpcthis_t *out);
/* dcom_put_orpcthis writes an ORPCTHIS with NULL extensions (for tests and
 * a future client). */
void dcom_put_orpcthis(buf_t *b, const orpcthis_t *t);
bool dcom_get_orpcthat(cur_t *c, orpcthat_t *out);
/* dcom_put_orpcthat writes ORPCTHAT {flags, extensions NULL}: what servers
 * send (MS-DCOM 3.1.2.5.2.3.x: "The extensions field MUST be set to NULL"). */
void dcom_put_orpcthat(buf_t *b, uint32_t flags);

/* dcom_get_guid_array reads the deferred body of a [size_is(n)] GUID* (the
 * IID lists of activation and RemQueryInterface) whose count n came
 * earlier: max_count must equal n, and n GUIDs must fit in what is left
 * before anything is allocated. The array, in a, has at least one element,
 * so *out is never NULL on success. False on bad NDR or no memory. */
bool dcom_get_guid_array(cur_t *c, arena_t *a, uint32_t n, guid_t **out);

/* MInterfacePointer {ulCntData; [size_is(ulCntData)] byte abData[]} is a
 * conformant struct (MS-DCOM 2.2.14): max_count first, then ulCntData (which
 * must equal it), then the bytes. Bodies use ndr_blob_t: data == NULL is the
 * NULL pointer. */
bool dcom_get_mip_body(cur_t *c, arena_t *a, size_t max_len, ndr_blob_t *out);
/* dcom_get_unique_mip reads a [unique] MInterfacePointer* at top level. */
bool dcom_get_unique_mip(cur_t *c, arena_t *a, size_t max_len, ndr_blob_t *out);
void dcom_put_mip_body(buf_t *b, const ndr_blob_t *mip);
/* dcom_put_unique_mip writes a referent id (0 when mip->data is NULL) and the body. */
void dcom_put_unique_mip(buf_t *b, ndr_refids_t *ids, const ndr_blob_t *mip);

/* ---- MS-RPCE 2.2.6 type serialization version 1 ----
 * Common header: Version 1, Endianness (0x10 little, 0x00 big),
 * CommonHeaderLength 8, Filler; private header: ObjectBufferLength, Filler. */
#define TYPESER_HDR_LEN 16u

/* dcom_typeser_open reads the two headers at the start of c and returns the
 * object buffer (ObjectBufferLength bytes) as a child cursor rebased at the
 * start of the common header, in the byte order the header names, so NDR
 * alignment inside counts from the header as the engine does. c advances
 * past the object buffer. */
bool dcom_typeser_open(cur_t *c, cur_t *body);
/* dcom_typeser_begin writes the headers (little-endian) with a placeholder
 * length, sets the builder base to the header start and returns the offset
 * to hand to dcom_typeser_end, which pads the object buffer to a multiple
 * of 8 (MS-RPCE 2.2.6.2), patches ObjectBufferLength and restores the base. */
size_t dcom_typeser_begin(buf_t *b, size_t *saved_base);
void dcom_typeser_end(buf_t *b, size_t start, size_t saved_base);

/* ---- well-known identifiers (MS-DCOM 1.9, 2.2.18, 3.1.2.5) ---- */

/* The COM GUID family 0000xxxx-0000-0000-c000-000000000046, as a constant
 * initializer (for static tables). */
#define DCOM_OLE_GUID(n) {(n), 0x0000, 0x0000, {0xc0, 0, 0, 0, 0, 0, 0, 0x46}}
extern const guid_t DCOM_IID_IUNKNOWN;               /* 00000000-0000-0000-c000-000000000046 */
extern const guid_t DCOM_IID_ICLASSFACTORY;          /* 00000001-... */
extern const guid_t DCOM_IID_IREMUNKNOWN;            /* 00000131-... */
extern const guid_t DCOM_IID_IREMUNKNOWN2;           /* 00000143-... */
extern const guid_t DCOM_IID_IREMOTESCMACTIVATOR;    /* 000001a0-... */
extern const guid_t DCOM_IID_IACTIVATION;            /* 4d9f4ab8-7d1c-11cf-861e-0020af6e7c57 */
extern const guid_t DCOM_IID_IOBJECTEXPORTER;        /* 99fcfec4-5260-101b-bbcb-00aa0021347a */
extern const guid_t DCOM_IID_IACTPROPSIN;            /* 000001a2-... IActivationPropertiesIn */
extern const guid_t DCOM_IID_IACTPROPSOUT;           /* 000001a3-... IActivationPropertiesOut */
extern const guid_t DCOM_CLSID_ACTPROPSIN;           /* 00000338-... */
extern const guid_t DCOM_CLSID_ACTPROPSOUT;          /* 00000339-... */
extern const guid_t DCOM_CLSID_INSTANTIATIONINFO;    /* 000001ab-... */
extern const guid_t DCOM_CLSID_ACTIVATIONCONTEXTINFO;/* 000001a5-... */
extern const guid_t DCOM_CLSID_SERVERLOCATIONINFO;   /* 000001a4-... */
extern const guid_t DCOM_CLSID_SECURITYINFO;         /* 000001a6-... */
extern const guid_t DCOM_CLSID_SCMREQUESTINFO;       /* 000001aa-... */
extern const guid_t DCOM_CLSID_SCMREPLYINFO;         /* 000001b6-... */
extern const guid_t DCOM_CLSID_PROPSOUTINFO;         /* 00000339-... (= ActivationPropertiesOut) */
extern const guid_t DCOM_CLSID_INSTANCEINFO;         /* 000001ad-... */
extern const guid_t DCOM_CLSID_SPECIALSYSTEMPROPS;   /* 000001b9-... */

#endif
