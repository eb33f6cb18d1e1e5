/*
 * ndr.h - NDR 2.0 marshalling primitives (C706 ch. 14; MS-RPCE 2.2.5) for
 * hand-written stubs. Decoders read a request stub through cur_t (alignment
 * is relative to the cursor base = stub start, C706 14.2.2); encoders write
 * the response stub through buf_t (alignment from the builder base). There
 * is no IDL compiler: each interface's stub is a short sequence of these
 * calls in wire order, as in the example below.
 *
 * Conventions
 *  - Getters return bool, chain with &&, and leave the cursor unchanged on
 *    failure. A failed stub decode is reported by the handler as
 *    CERR_MALFORMED (the runtime sends nca_s_fault_ndr).
 *  - Putters return nothing; a failure (allocation, cap, invalid UTF-8 or a
 *    blob with data == NULL but len != 0) sets the builder's sticky error.
 *    Check buf_ok(out) once at the end.
 *  - Counts read from the wire are checked against the bytes remaining before
 *    anything is allocated from them, and strings/blobs take a caller cap.
 *  - Unread bytes after the last parameter are not an error here: a
 *    verification trailer (MS-RPCE 2.2.2.13) may follow the NDR data.
 *  - Integers follow the cursor's byte order (drep); towers and other octet
 *    strings are opaque bytes.
 *
 * Pointers (C706 14.3.10-12). A top-level [ref] pointer has no wire form: the
 * pointee is marshalled in place. A [unique] pointer is a 4-byte referent id
 * (0 = NULL). At top level its pointee follows at once; a pointer embedded in
 * a struct or array is "deferred": the struct carries only the referent id and
 * the pointees follow after the whole outermost struct/array, in order
 * (C706 14.3.12.3). Stubs express deferral by splitting the two halves: read
 * (or write) the ids inline with ndr_get_unique_ptr / ndr_get_blob_hdr, then
 * the bodies with ndr_get_wstring / ndr_get_blob_data after the struct.
 * The encoder draws non-zero referent ids from an ndr_refids_t (0x00020000,
 * +4 each, as Windows does).
 *
 * Example: MS-ICPR CertServerRequest (opnum 0).
 *   typedef struct { ULONG cb; [size_is(cb), unique] BYTE *pb; } CERTTRANSBLOB;
 *   request:  [in] DWORD dwFlags; [in, string, unique] wchar_t *pwszAuthority;
 *             [in, out, ref] DWORD *pdwRequestId; [in, ref] CERTTRANSBLOB *pctbAttribs;
 *             [in, ref] CERTTRANSBLOB *pctbRequest
 *   Each [ref] CERTTRANSBLOB is inline: cb, referent id, then (non-NULL) the
 *   deferred pointee max_count + cb bytes, before the next parameter.
 *
 *	if (!ndr_get_u32(&call->in, &flags) ||
 *	    !ndr_get_unique_wstring(&call->in, call->arena, 1536, &authority) ||
 *	    !ndr_get_u32(&call->in, &request_id) ||
 *	    !ndr_get_blob(&call->in, call->arena, MAX_ATTRIBS, &attribs) ||
 *	    !ndr_get_blob(&call->in, call->arena, MAX_REQUEST, &request)) {
 *		return CERR_MALFORMED;
 *	}
 *	... act ...
 *	// response: [out] pdwRequestId, pdwDisposition, three [out, ref]
 *	// CERTTRANSBLOBs, then the DWORD return value.
 *	ndr_refids_t ids;
 *	ndr_refids_init(&ids);
 *	ndr_put_u32(call->out, request_id);
 *	ndr_put_u32(call->out, disposition);
 *	ndr_put_blob(call->out, &ids, &cert_chain);   // {0, NULL} = empty: cb 0, NULL
 *	ndr_put_blob(call->out, &ids, &encoded_cert);
 *	ndr_put_blob(call->out, &ids, &message);
 *	ndr_put_u32(call->out, hr);
 *	return buf_ok(call->out) ? CERR_OK : CERR_NOMEM;
 *
 * Example: deferral in an array of structs { DWORD id; [unique] CERTTRANSBLOB *b; }
 * with [size_is(n)]: max_count n, then n x (id, referent id), then the
 * non-NULL blobs in order:
 *	ndr_get_conformance(in, &n) && n <= LIMIT && ndr_check_count(in, n, 8)
 *	for each i: ndr_get_u32(in, &it[i].id) && ndr_get_unique_ptr(in, &ref[i])
 *	for each i with ref[i]: ndr_get_blob(in, a, MAX, &it[i].b)
 */
#ifndef CERTA_RPC_NDR_H
#define CERTA_RPC_NDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/cursor.h"
#include "util/guid.h"

/* Context handle on the wire (ndr_context_handle, C706 Appendix N; opaque to
 * the client, MS-RPCE 2.2.1.1.4): 4-byte attributes then a GUID, 20 bytes,
 * aligned to 4. All-zero = NULL. */
typedef struct ndr_ctx_handle {
	uint32_t attributes;
	guid_t uuid;
} ndr_ctx_handle_t;

#define NDR_CTX_HANDLE_LEN 20u

/* A byte blob in the CERTTRANSBLOB shape {ULONG cb; [size_is(cb), unique] BYTE *pb}.
 * Decoded data lives in the call arena. data == NULL is the NULL pointer (len 0). */
typedef struct ndr_blob {
	uint32_t len;
	const uint8_t *data;
} ndr_blob_t;

/* Referent id generator for encoders: first id 0x00020000, then +4. */
typedef struct ndr_refids {
	uint32_t next;
} ndr_refids_t;

/* The first referent id Windows (and impacket) use; later ones step by 4. */
#define NDR_REFID_FIRST 0x00020000u

void ndr_refids_init(ndr_refids_t *ids);
/* ndr_refid_next returns a fresh non-zero referent id. */
uint32_t ndr_refid_next(ndr_refids_t *ids);

bool ndr_ctx_handle_is_null(const ndr_ctx_handle_t *h);

/* ---- decoding (cursor base = stub start) ---- */

/* Primitive types, each aligned to its size (C706 14.2.2): u8 1, u16 and
 * enum 2, u32 4, u64 ("hyper") 8. NDR enums are 16-bit (C706 14.2.4 /
 * MIDL: without [v1_enum]). */
bool ndr_get_u8(cur_t *c, uint8_t *out);
bool ndr_get_u16(cur_t *c, uint16_t *out);
bool ndr_get_u32(cur_t *c, uint32_t *out);
bool ndr_get_u64(cur_t *c, uint64_t *out);
bool ndr_get_enum(cur_t *c, uint16_t *out);
/* ndr_get_guid reads a GUID as a struct {u32, u16, u16, u8[8]}, aligned to 4. */
bool ndr_get_guid(cur_t *c, guid_t *out);
/* ndr_get_ctx_handle reads a 20-byte context handle, aligned to 4. */
bool ndr_get_ctx_handle(cur_t *c, ndr_ctx_handle_t *out);

/* ndr_get_unique_ptr reads a [unique] pointer's referent id (0 = NULL). */
bool ndr_get_unique_ptr(cur_t *c, uint32_t *referent);
/* ndr_get_ref_ptr reads an embedded [ref] pointer's referent id, which must be non-zero. */
bool ndr_get_ref_ptr(cur_t *c, uint32_t *referent);

/* ndr_get_conformance reads a conformant array's max_count (C706 14.3.3.2). */
bool ndr_get_conformance(cur_t *c, uint32_t *max_count);
/* ndr_get_variance reads a varying array's offset and actual_count (C706 14.3.3.3). */
bool ndr_get_variance(cur_t *c, uint32_t *offset, uint32_t *actual_count);
/* ndr_check_count is true when count elements of elem_size bytes could still be
 * read (the check to make before allocating from a wire count). */
bool ndr_check_count(const cur_t *c, uint32_t count, size_t elem_size);

/* ndr_get_bytes copies n raw bytes into the arena (for a byte array whose
 * count was read separately). *out is NULL when n is 0. */
bool ndr_get_bytes(cur_t *c, arena_t *a, uint32_t n, const uint8_t **out);
/* ndr_get_conformant_bytes reads a [size_is(expected_len)] byte array: max_count,
 * which must equal expected_len, then the bytes, copied into the arena. The
 * caller has already capped expected_len. *out is NULL when the array is empty. */
bool ndr_get_conformant_bytes(cur_t *c, arena_t *a, uint32_t expected_len, const uint8_t **out);

/* ndr_get_wstring reads a conformant varying [string] wchar_t array (the
 * pointee of a string pointer): max_count, offset (must be 0), actual_count
 * (1..max_count, counting the terminator), then UTF-16LE units of which the
 * last, and only the last, is NUL. At most max_chars characters before the NUL.
 * Decoded to UTF-8 in the arena. */
bool ndr_get_wstring(cur_t *c, arena_t *a, size_t max_chars, char **out_utf8);
/* ndr_get_unique_wstring reads a top-level [string, unique] wchar_t *: referent
 * id and, unless NULL, the string. *out_utf8 is NULL for a NULL pointer. */
bool ndr_get_unique_wstring(cur_t *c, arena_t *a, size_t max_chars, char **out_utf8);

/* ndr_get_blob reads a CERTTRANSBLOB-shaped struct with its deferred bytes
 * (the top-level [ref] parameter case): cb, referent id and, when the id is
 * non-zero, max_count (== cb) and cb bytes. cb > max_len fails. A NULL pointer
 * gives {0, NULL} whatever cb said. */
bool ndr_get_blob(cur_t *c, arena_t *a, size_t max_len, ndr_blob_t *out);
/* The two halves, for blobs embedded in a struct or array: the inline part
 * (cb, referent id), and later the deferred part. */
bool ndr_get_blob_hdr(cur_t *c, uint32_t *len, uint32_t *referent);
bool ndr_get_blob_data(cur_t *c, arena_t *a, uint32_t len, uint32_t referent, size_t max_len,
		       ndr_blob_t *out);

/* ---- encoding (builder base = stub start) ---- */

void ndr_put_u8(buf_t *b, uint8_t v);
void ndr_put_u16(buf_t *b, uint16_t v);
void ndr_put_u32(buf_t *b, uint32_t v);
void ndr_put_u64(buf_t *b, uint64_t v);
void ndr_put_enum(buf_t *b, uint16_t v);
void ndr_put_guid(buf_t *b, const guid_t *g);
void ndr_put_ctx_handle(buf_t *b, const ndr_ctx_handle_t *h);

/* ndr_put_unique_ptr writes 0 when !present, else a fresh referent id; returns what it wrote. */
uint32_t ndr_put_unique_ptr(buf_t *b, ndr_refids_t *ids, bool present);
void ndr_put_conformance(buf_t *b, uint32_t max_count);
void ndr_put_variance(buf_t *b, uint32_t offset, uint32_t actual_count);
/* ndr_put_conformant_bytes writes max_count = len and the bytes. */
void ndr_put_conformant_bytes(buf_t *b, const void *data, uint32_t len);
/* ndr_put_wstring writes utf8 as a conformant varying [string] wchar_t array
 * (max_count = actual_count = UTF-16 units + NUL, offset 0). */
void ndr_put_wstring(buf_t *b, const char *utf8);
/* ndr_put_unique_wstring writes a [string, unique] wchar_t *: referent id (0
 * when utf8 is NULL) and the string. */
void ndr_put_unique_wstring(buf_t *b, ndr_refids_t *ids, const char *utf8);
/* ndr_put_blob writes a CERTTRANSBLOB-shaped struct and its deferred bytes:
 * cb, referent id (0 when data is NULL), then max_count and the bytes. */
void ndr_put_blob(buf_t *b, ndr_refids_t *ids, const ndr_blob_t *blob);
/* The two halves, for blobs embedded in a struct or array. */
void ndr_put_blob_hdr(buf_t *b, ndr_refids_t *ids, const ndr_blob_t *blob);
void ndr_put_blob_data(buf_t *b, const ndr_blob_t *blob);

#endif
