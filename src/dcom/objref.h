/*
 * objref.h - OBJREF, the marshaled form of a DCOM object reference carried
 * in an MInterfacePointer's abData (MS-DCOM 2.2.18), and DUALSTRINGARRAY,
 * the list of string bindings ("host" or "host[port]" per RPC protocol tower)
 * and security bindings (authentication service + principal name) a client
 * uses to reach an object resolver or exporter (MS-DCOM 2.2.19).
 *
 * OBJREF is a plain little-endian byte layout, not NDR: it is read through
 * its own cursor. DUALSTRINGARRAY appears both raw (inside OBJREF) and as an
 * NDR conformant struct (ScmReplyInfoData, ResolveOxid2, ServerAlive2); both
 * forms share one parser of the u16 unit array with the wSecurityOffset
 * consistency checks.
 */
#ifndef CERTA_DCOM_OBJREF_H
#define CERTA_DCOM_OBJREF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc/ndr.h"
#include "util/arena.h"
#include "util/cursor.h"
#include "util/err.h"
#include "util/guid.h"

#define OBJREF_SIGNATURE 0x574f454du /* "MEOW" */
#define OBJREF_STANDARD 0x1u
#define OBJREF_HANDLER 0x2u
#define OBJREF_CUSTOM 0x4u
#define OBJREF_EXTENDED 0x8u

/* STDOBJREF flags (MS-DCOM 2.2.18.2) */
#define SORF_NOPING 0x1000u

/* RPC protocol sequence (tower) ids used in string bindings (C706 Appendix I) */
#define DCOM_TOWER_NCACN_IP_TCP 0x07u

typedef struct dcom_string_binding {
	uint16_t tower_id;
	char *addr; /* UTF-8: "host" or "host[endpoint]" */
} dcom_string_binding_t;

typedef struct dcom_security_binding {
	uint16_t authn_svc;  /* RPC_C_AUTHN_* (MS-RPCE 2.2.1.1.7) */
	uint16_t reserved;   /* 0xffff when sent (MS-DCOM 2.2.19.4) */
	char *princ_name;    /* UTF-8 SPN, "" for none */
} dcom_security_binding_t;

typedef struct dcom_dualstringarray {
	dcom_string_binding_t *str;
	size_t n_str;
	dcom_security_binding_t *sec;
	size_t n_sec;
} dcom_dualstringarray_t;

/* STDOBJREF (MS-DCOM 2.2.18.2) */
typedef struct dcom_stdobjref {
	uint32_t flags;
	uint32_t public_refs;
	uint64_t oxid;
	uint64_t oid;
	guid_t ipid;
} dcom_stdobjref_t;

typedef struct dcom_objref {
	uint32_t flags;              /* OBJREF_STANDARD, _HANDLER, _CUSTOM or _EXTENDED */
	guid_t iid;
	/* STANDARD, HANDLER, EXTENDED */
	dcom_stdobjref_t std;
	dcom_dualstringarray_t resaddr;
	/* HANDLER (handler CLSID) and CUSTOM (unmarshaler CLSID) */
	guid_t clsid;
	/* CUSTOM (MS-DCOM 2.2.18.6): cbExtension is 0 when sent and ignored on
	 * receipt; reserved is arbitrary. pObjectData is the rest of the OBJREF. */
	uint32_t cb_extension;
	uint32_t reserved;
	const uint8_t *object_data;  /* arena copy on decode; borrowed on encode */
	size_t object_data_len;
	/* EXTENDED (MS-DCOM 2.2.18.7): the DATAELEMENTs are skipped */
	uint32_t n_elements;
} dcom_objref_t;

/* dcom_objref_decode parses a whole OBJREF from c (an MInterfacePointer's
 * abData; little-endian whatever c's order). Every byte must be consumed.
 * Strings and object data are copied into a. Returns CERR_OK, CERR_TRUNCATED,
 * CERR_MALFORMED (bad signature, flags, DUALSTRINGARRAY) or CERR_LIMIT. */
cerr_t dcom_objref_decode(const cur_t *c, arena_t *a, dcom_objref_t *out);
/* dcom_objref_encode appends an OBJREF_STANDARD or OBJREF_CUSTOM (the only
 * forms we send) to b. CERR_INVALID_ARG for other flags or bad bindings. */
cerr_t dcom_objref_encode(buf_t *b, const dcom_objref_t *o);

/* dcom_dsa_decode_raw reads the raw form {wNumEntries, wSecurityOffset,
 * aStringArray[wNumEntries]} (inside OBJREF). */
bool dcom_dsa_decode_raw(cur_t *c, arena_t *a, dcom_dualstringarray_t *out);
/* dcom_dsa_encode_raw appends the raw form; false on bad input (invalid
 * UTF-8, too long), with b possibly partly written. */
bool dcom_dsa_encode_raw(buf_t *b, const dcom_dualstringarray_t *d);

/* NDR form: [size_is(wNumEntries)] conformant struct: max_count (==
 * wNumEntries), wNumEntries, wSecurityOffset, then the units. */
bool dcom_get_dsa_body(cur_t *c, arena_t *a, dcom_dualstringarray_t *out);
void dcom_put_dsa_body(buf_t *b, const dcom_dualstringarray_t *d);
/* dcom_get_unique_dsa reads a [unique] DUALSTRINGARRAY* (referent, then the
 * body); a NULL pointer gives an empty array and *present false. */
bool dcom_get_unique_dsa(cur_t *c, arena_t *a, dcom_dualstringarray_t *out, bool *present);

/* dcom_dsa_units is the number of u16 units the raw form of d occupies after
 * its 4-byte header ((size_t)-1 on invalid UTF-8). */
size_t dcom_dsa_units(const dcom_dualstringarray_t *d);

#endif
