/*
 * pac.c - MS-PAC decoder (see pac.h). The PACTYPE header and its buffers are
 * cut out with cur_sub (offsets are checked, never added to pointers); the
 * logon info is an MS-RPCE 2.2.6 type serialization of KERB_VALIDATION_INFO
 * read with the NDR primitives of rpc/ndr.h: the fixed part first, then the
 * deferred pointees in the order their pointers appear (C706 14.3.12.3).
 */
#include "security/pac.h"

#include <stdlib.h>
#include <string.h>

#include "rpc/ndr.h"
#include "util/log.h"
#include "util/utf16.h"

/* Detail goes to the debug log where the fault is found; callers see
 * CERR_MALFORMED (the PAC came from a KDC, so a bad one means a bad ticket). */
#define BAD(what) bad_pac(__func__, __LINE__, what)

static cerr_t bad_pac(const char *func, int line, const char *what)
{
	log_msg(LOG_DEBUG, func, line, "malformed PAC: %s", what);
	return CERR_MALFORMED;
}

/* ---- small NDR pieces of KERB_VALIDATION_INFO ---- */

/* FILETIME is a struct of two DWORDs (MS-DTYP 2.3.3): 4-aligned, low first. */
static bool get_filetime(cur_t *c, uint64_t *out)
{
	uint32_t lo, hi;
	if (!ndr_get_u32(c, &lo) || !ndr_get_u32(c, &hi)) {
		return false;
	}
	*out = ((uint64_t)hi << 32) | lo;
	return true;
}

/* RPC_UNICODE_STRING (MS-DTYP 2.3.10): Length and MaximumLength in bytes, then
 * a [size_is(MaximumLength/2), length_is(Length/2)] WCHAR* whose pointee is
 * deferred. */
typedef struct ustr {
	uint16_t len;
	uint16_t max;
	uint32_t ptr;
} ustr_t;

static bool get_ustr_hdr(cur_t *c, ustr_t *out)
{
	return cur_align(c, 4) && ndr_get_u16(c, &out->len) && ndr_get_u16(c, &out->max) &&
	       ndr_get_unique_ptr(c, &out->ptr);
}

/* utf16_counted decodes n UTF-16LE units that must not contain NUL (a counted
 * string with an embedded NUL would print as a different, shorter name). */
static cerr_t utf16_counted(cur_t *units, size_t n, arena_t *a, const char **out)
{
	cur_t scan = *units;
	for (size_t i = 0; i < n; i++) {
		uint16_t u;
		if (!cur_get_u16le(&scan, &u)) {
			return BAD("string ends early");
		}
		if (u == 0) {
			return BAD("NUL inside a counted string");
		}
	}
	char *tmp = utf16le_to_utf8(units, n);
	if (!tmp) {
		return BAD("string is not valid UTF-16");
	}
	char *s = arena_strdup(a, tmp);
	free(tmp);
	if (!s) {
		return CERR_NOMEM;
	}
	*out = s;
	return CERR_OK;
}

static cerr_t get_ustr_body(cur_t *c, arena_t *a, const ustr_t *h, const char **out)
{
	*out = NULL;
	if (h->ptr == 0) {
		return h->len == 0 ? CERR_OK : BAD("string with length but NULL buffer");
	}
	if ((h->len & 1) || h->len > h->max) {
		return BAD("string length odd or above its maximum");
	}
	uint32_t max_count, offset, actual;
	if (!ndr_get_conformance(c, &max_count) || !ndr_get_variance(c, &offset, &actual)) {
		return BAD("string array header truncated");
	}
	/* the array bounds must agree with the RPC_UNICODE_STRING lengths */
	if (max_count != h->max / 2u || offset != 0 || actual != h->len / 2u) {
		return BAD("string array bounds disagree with its lengths");
	}
	cur_t units;
	if (!cur_get_bytes(c, &units, (size_t)actual * 2)) {
		return BAD("string characters truncated");
	}
	return utf16_counted(&units, actual, a, out);
}

/* GROUP_MEMBERSHIP {RelativeId, Attributes} (MS-PAC 2.2.2), kept raw until the
 * domain SID (deferred later in the stream) is known. */
typedef struct rid_attr {
	uint32_t rid;
	uint32_t attrs;
} rid_attr_t;

static cerr_t get_group_array(cur_t *c, arena_t *a, uint32_t count, uint32_t ptr, rid_attr_t **out)
{
	*out = NULL;
	if (ptr == 0) {
		return count == 0 ? CERR_OK : BAD("group count without a group array");
	}
	uint32_t max_count;
	if (!ndr_get_conformance(c, &max_count) || max_count != count) {
		return BAD("group array size disagrees with its count");
	}
	if (!ndr_check_count(c, count, 8)) {
		return BAD("group array truncated");
	}
	if (count == 0) {
		return CERR_OK;
	}
	rid_attr_t *v = arena_array(a, count, sizeof(*v));
	if (!v) {
		return CERR_NOMEM;
	}
	for (uint32_t i = 0; i < count; i++) {
		if (!ndr_get_u32(c, &v[i].rid) || !ndr_get_u32(c, &v[i].attrs)) {
			return BAD("group entry truncated");
		}
	}
	*out = v;
	return CERR_OK;
}

/* KERB_SID_AND_ATTRIBUTES[SidCount] (MS-PAC 2.2.1): the array of {PISID, attrs},
 * then each SID's deferred RPC_SID in order. */
static cerr_t get_extra_sids(cur_t *c, uint32_t count, uint32_t ptr, pac_group_t *dst)
{
	if (ptr == 0) {
		return count == 0 ? CERR_OK : BAD("SidCount without an ExtraSids array");
	}
	uint32_t max_count;
	if (!ndr_get_conformance(c, &max_count) || max_count != count) {
		return BAD("ExtraSids size disagrees with SidCount");
	}
	if (!ndr_check_count(c, count, 8)) {
		return BAD("ExtraSids truncated");
	}
	if (count == 0) {
		return CERR_OK;
	}
	for (uint32_t i = 0; i < count; i++) {
		uint32_t sid_ptr;
		if (!ndr_get_unique_ptr(c, &sid_ptr) || !ndr_get_u32(c, &dst[i].attributes)) {
			return BAD("ExtraSids entry truncated");
		}
		if (sid_ptr == 0) {
			return BAD("ExtraSids entry with a NULL SID");
		}
		dst[i].source = PAC_GROUP_EXTRA;
	}
	for (uint32_t i = 0; i < count; i++) {
		cerr_t e = sid_decode_ndr(c, &dst[i].sid);
		if (e != CERR_OK) {
			return BAD("ExtraSids SID malformed");
		}
	}
	return CERR_OK;
}

static cerr_t get_sid_ptr_body(cur_t *c, uint32_t ptr, bool *present, sid_t *out)
{
	*present = ptr != 0;
	if (ptr == 0) {
		return CERR_OK;
	}
	return sid_decode_ndr(c, out) == CERR_OK ? CERR_OK : BAD("RPC_SID malformed");
}

static cerr_t compose_groups(pac_group_t *dst, const rid_attr_t *src, uint32_t n, const sid_t *domain,
			     pac_group_source_t source)
{
	for (uint32_t i = 0; i < n; i++) {
		if (sid_compose(&dst[i].sid, domain, src[i].rid) != CERR_OK) {
			return BAD("domain SID has no room for a RID");
		}
		dst[i].attributes = src[i].attrs;
		dst[i].source = source;
	}
	return CERR_OK;
}

/* The KERB_VALIDATION_INFO body, after the top-level referent id. */
static cerr_t get_validation_info(cur_t *c, arena_t *a, pac_t *out)
{
	pac_logon_info_t *li = &out->logon;
	uint64_t t;
	ustr_t effective_name, full_name, logon_script, profile_path, home_dir, home_drive;
	ustr_t logon_server, logon_domain;
	uint16_t logon_count, bad_pw_count;
	uint32_t group_ptr, domain_sid_ptr, reserved, sub_auth_status, failed_count;
	uint32_t extra_ptr, res_domain_ptr, res_ptr;
	cerr_t e;

	/* fixed part, MS-PAC 2.5 field order */
	if (!get_filetime(c, &li->logon_time) || !get_filetime(c, &t) /* LogoffTime */ ||
	    !get_filetime(c, &t) /* KickOffTime */ || !get_filetime(c, &li->password_last_set) ||
	    !get_filetime(c, &t) /* PasswordCanChange */ || !get_filetime(c, &t) /* PasswordMustChange */ ||
	    !get_ustr_hdr(c, &effective_name) || !get_ustr_hdr(c, &full_name) ||
	    !get_ustr_hdr(c, &logon_script) || !get_ustr_hdr(c, &profile_path) ||
	    !get_ustr_hdr(c, &home_dir) || !get_ustr_hdr(c, &home_drive) ||
	    !ndr_get_u16(c, &logon_count) || !ndr_get_u16(c, &bad_pw_count) ||
	    !ndr_get_u32(c, &li->user_id) || !ndr_get_u32(c, &li->primary_group_id) ||
	    !ndr_get_u32(c, &li->group_count) || !ndr_get_unique_ptr(c, &group_ptr) ||
	    !ndr_get_u32(c, &li->user_flags) || !cur_skip(c, 16) /* UserSessionKey */ ||
	    !get_ustr_hdr(c, &logon_server) || !get_ustr_hdr(c, &logon_domain) ||
	    !ndr_get_unique_ptr(c, &domain_sid_ptr) || !ndr_get_u32(c, &reserved) ||
	    !ndr_get_u32(c, &reserved) /* Reserved1[2] */ || !ndr_get_u32(c, &li->user_account_control) ||
	    !ndr_get_u32(c, &sub_auth_status) || !get_filetime(c, &t) /* LastSuccessfulILogon */ ||
	    !get_filetime(c, &t) /* LastFailedILogon */ || !ndr_get_u32(c, &failed_count) ||
	    !ndr_get_u32(c, &reserved) /* Reserved3 */ || !ndr_get_u32(c, &li->extra_sid_count) ||
	    !ndr_get_unique_ptr(c, &extra_ptr) || !ndr_get_unique_ptr(c, &res_domain_ptr) ||
	    !ndr_get_u32(c, &li->resource_group_count) || !ndr_get_unique_ptr(c, &res_ptr)) {
		return BAD("KERB_VALIDATION_INFO truncated");
	}
	(void)logon_count;
	(void)bad_pw_count;
	(void)sub_auth_status;
	(void)failed_count;

	/* bound the total before anything is allocated from the counts */
	if ((uint64_t)li->group_count + li->extra_sid_count + li->resource_group_count > PAC_MAX_GROUPS) {
		log_debug("PAC lists %u + %u + %u groups, above the limit of %u", li->group_count,
			  li->extra_sid_count, li->resource_group_count, PAC_MAX_GROUPS);
		return CERR_LIMIT;
	}

	/* deferred pointees, in pointer order */
	const char *ignored;
	rid_attr_t *groups = NULL, *res_groups = NULL;
	if ((e = get_ustr_body(c, a, &effective_name, &li->effective_name)) != CERR_OK ||
	    (e = get_ustr_body(c, a, &full_name, &li->full_name)) != CERR_OK ||
	    (e = get_ustr_body(c, a, &logon_script, &ignored)) != CERR_OK ||
	    (e = get_ustr_body(c, a, &profile_path, &ignored)) != CERR_OK ||
	    (e = get_ustr_body(c, a, &home_dir, &ignored)) != CERR_OK ||
	    (e = get_ustr_body(c, a, &home_drive, &ignored)) != CERR_OK ||
	    (e = get_group_array(c, a, li->group_count, group_ptr, &groups)) != CERR_OK ||
	    (e = get_ustr_body(c, a, &logon_server, &li->logon_server)) != CERR_OK ||
	    (e = get_ustr_body(c, a, &logon_domain, &li->logon_domain_name)) != CERR_OK) {
		return e;
	}
	bool have_domain;
	if ((e = get_sid_ptr_body(c, domain_sid_ptr, &have_domain, &li->logon_domain_sid)) != CERR_OK) {
		return e;
	}
	if (!have_domain) {
		return BAD("no LogonDomainId: the user SID cannot be formed");
	}

	size_t total = (size_t)li->group_count + li->extra_sid_count + li->resource_group_count;
	pac_group_t *all = NULL;
	if (total > 0 && !(all = arena_array(a, total, sizeof(*all)))) {
		return CERR_NOMEM;
	}
	pac_group_t *extra = all ? all + li->group_count : NULL;
	if ((e = get_extra_sids(c, li->extra_sid_count, extra_ptr, extra)) != CERR_OK ||
	    (e = get_sid_ptr_body(c, res_domain_ptr, &li->has_resource_domain, &li->resource_domain_sid)) !=
		    CERR_OK ||
	    (e = get_group_array(c, a, li->resource_group_count, res_ptr, &res_groups)) != CERR_OK) {
		return e;
	}
	if (li->resource_group_count > 0 && !li->has_resource_domain) {
		return BAD("resource groups without ResourceGroupDomainSid");
	}

	if ((e = compose_groups(all, groups, li->group_count, &li->logon_domain_sid, PAC_GROUP_DOMAIN)) !=
		    CERR_OK ||
	    (e = compose_groups(all ? all + li->group_count + li->extra_sid_count : NULL, res_groups,
				li->resource_group_count, &li->resource_domain_sid, PAC_GROUP_RESOURCE)) != CERR_OK ||
	    (e = sid_compose(&out->user_sid, &li->logon_domain_sid, li->user_id)) != CERR_OK ||
	    (e = sid_compose(&out->primary_group_sid, &li->logon_domain_sid, li->primary_group_id)) !=
		    CERR_OK) {
		return e == CERR_LIMIT ? BAD("LogonDomainId has 15 sub-authorities") : e;
	}
	out->groups = all;
	out->num_groups = total;
	return CERR_OK;
}

/* MS-RPCE 2.2.6.1 common type header + 2.2.6.2 private header, then the
 * top-level [unique] PKERB_VALIDATION_INFO. */
static cerr_t decode_logon_info(cur_t *buf, arena_t *a, pac_t *out)
{
	uint8_t version, endianness;
	uint16_t header_len;
	uint32_t filler, object_len, referent;
	if (!cur_get_u8(buf, &version) || !cur_get_u8(buf, &endianness) || !cur_get_u16le(buf, &header_len) ||
	    !cur_get_u32le(buf, &filler) || !cur_get_u32le(buf, &object_len) || !cur_get_u32le(buf, &filler)) {
		return BAD("type serialization headers truncated");
	}
	/* Version 1, little-endian (0x10), 8-byte common header; the 0xcccccccc
	 * filler is not checked (MS-RPCE 2.2.6.1 only asks writers to set it). */
	if (version != 1 || endianness != 0x10 || header_len != 8) {
		return BAD("unsupported type serialization header");
	}
	cur_t obj;
	if ((object_len & 7) != 0 || !cur_get_bytes(buf, &obj, object_len)) {
		return BAD("object buffer length not a multiple of 8 or beyond the buffer");
	}
	cur_rebase(&obj); /* NDR alignment counts from the start of the serialized data */
	if (!ndr_get_unique_ptr(&obj, &referent) || referent == 0) {
		return BAD("NULL logon info pointer");
	}
	memset(&out->logon, 0, sizeof(out->logon));
	cerr_t e = get_validation_info(&obj, a, out);
	if (e != CERR_OK) {
		return e;
	}
	/* what is left of the object buffer is alignment padding to 8 */
	if (cur_len(&obj) >= 8 || !cur_align_zero(&obj, 8) || !cur_empty(&obj)) {
		return BAD("bytes left over after KERB_VALIDATION_INFO");
	}
	out->has_logon_info = true;
	return CERR_OK;
}

/* PAC_CLIENT_INFO (MS-PAC 2.7): ClientId FILETIME, NameLength (bytes), Name. */
static cerr_t decode_client_info(cur_t *buf, arena_t *a, pac_t *out)
{
	uint16_t name_len;
	cur_t name;
	if (!cur_get_u64le(buf, &out->client_id) || !cur_get_u16le(buf, &name_len) || (name_len & 1) ||
	    !cur_get_bytes(buf, &name, name_len)) {
		return BAD("PAC_CLIENT_INFO truncated");
	}
	cerr_t e = utf16_counted(&name, name_len / 2u, a, &out->client_name);
	if (e != CERR_OK) {
		return e;
	}
	out->has_client_info = true;
	return CERR_OK;
}

/* counted_at reads len bytes of UTF-16 at offset off from the start of the
 * buffer whose cursor is start (UPN_DNS_INFO offsets, MS-PAC 2.10). */
static cerr_t counted_at(const cur_t *start, uint16_t off, uint16_t len, arena_t *a, const char **out)
{
	cur_t s;
	if ((len & 1) || !cur_sub(start, off, len, &s)) {
		return BAD("UPN_DNS_INFO string outside its buffer");
	}
	return utf16_counted(&s, len / 2u, a, out);
}

static cerr_t decode_upn_dns(cur_t *buf, arena_t *a, pac_t *out)
{
	const cur_t start = *buf;
	uint16_t upn_len, upn_off, dns_len, dns_off;
	cerr_t e;
	if (!cur_get_u16le(buf, &upn_len) || !cur_get_u16le(buf, &upn_off) || !cur_get_u16le(buf, &dns_len) ||
	    !cur_get_u16le(buf, &dns_off) || !cur_get_u32le(buf, &out->upn_flags)) {
		return BAD("UPN_DNS_INFO truncated");
	}
	if ((e = counted_at(&start, upn_off, upn_len, a, &out->upn)) != CERR_OK ||
	    (e = counted_at(&start, dns_off, dns_len, a, &out->dns_domain_name)) != CERR_OK) {
		return e;
	}
	if (out->upn_flags & 0x2) { /* S: SamName and Sid follow (UPN_DNS_INFO_EX) */
		uint16_t sam_len, sam_off, sid_len, sid_off;
		cur_t sid_cur;
		if (!cur_get_u16le(buf, &sam_len) || !cur_get_u16le(buf, &sam_off) || !cur_get_u16le(buf, &sid_len) ||
		    !cur_get_u16le(buf, &sid_off)) {
			return BAD("UPN_DNS_INFO extension truncated");
		}
		if ((e = counted_at(&start, sam_off, sam_len, a, &out->upn_sam_name)) != CERR_OK) {
			return e;
		}
		if (!cur_sub(&start, sid_off, sid_len, &sid_cur) || sid_decode(&sid_cur, &out->upn_sid) != CERR_OK ||
		    !cur_empty(&sid_cur)) {
			return BAD("UPN_DNS_INFO SID malformed");
		}
		out->has_upn_sid = true;
	}
	out->has_upn_dns = true;
	return CERR_OK;
}

/* PAC_SIGNATURE_DATA (MS-PAC 2.8): SignatureType, then the checksum. */
static cerr_t decode_signature(cur_t *buf, uint32_t *type)
{
	if (!cur_get_u32le(buf, type) || cur_len(buf) == 0) {
		return BAD("PAC_SIGNATURE_DATA truncated");
	}
	return CERR_OK;
}

cerr_t pac_decode_logon_info(arena_t *a, const uint8_t *data, size_t len, pac_t *out)
{
	cur_t c;
	cur_init(&c, data, len);
	return decode_logon_info(&c, a, out);
}

cerr_t pac_decode(arena_t *a, const uint8_t *data, size_t len, pac_t *out)
{
	cur_t all, hdr;
	uint32_t count, version;
	memset(out, 0, sizeof(*out));
	if (len > PAC_MAX_SIZE) {
		return CERR_LIMIT;
	}
	cur_init(&all, data, len);
	hdr = all;
	/* PACTYPE (MS-PAC 2.3): cBuffers, Version 0, PAC_INFO_BUFFER[cBuffers] */
	if (!cur_get_u32le(&hdr, &count) || !cur_get_u32le(&hdr, &version)) {
		return BAD("PACTYPE truncated");
	}
	if (version != 0) {
		return BAD("PACTYPE version is not 0");
	}
	if (count == 0 || count > PAC_MAX_BUFFERS) {
		return count == 0 ? BAD("no buffers") : CERR_LIMIT;
	}
	if (!ndr_check_count(&hdr, count, 16)) {
		return BAD("PAC_INFO_BUFFER array truncated");
	}
	const size_t header_len = 8 + (size_t)count * 16;
	uint32_t seen = 0; /* bit per known type, to refuse duplicates */
	out->num_buffers = count;
	for (uint32_t i = 0; i < count; i++) {
		uint32_t type, size;
		uint64_t offset;
		cur_t buf;
		cerr_t e = CERR_OK;
		if (!cur_get_u32le(&hdr, &type) || !cur_get_u32le(&hdr, &size) || !cur_get_u64le(&hdr, &offset)) {
			return BAD("PAC_INFO_BUFFER truncated");
		}
		/* MS-PAC 2.4: Offset "MUST be a multiple of 8"; buffers lie after the header */
		if ((offset & 7) != 0 || offset < header_len || offset > len ||
		    !cur_sub(&all, (size_t)offset, size, &buf)) {
			return BAD("PAC buffer misaligned or outside the PAC");
		}
		if (type <= PAC_TYPE_FULL_CHECKSUM) {
			if (seen & (1u << type)) {
				return BAD("PAC buffer type appears twice");
			}
			seen |= 1u << type;
		}
		switch (type) {
		case PAC_TYPE_LOGON_INFO:
			e = decode_logon_info(&buf, a, out);
			break;
		case PAC_TYPE_CLIENT_INFO:
			e = decode_client_info(&buf, a, out);
			break;
		case PAC_TYPE_UPN_DNS_INFO:
			e = decode_upn_dns(&buf, a, out);
			break;
		case PAC_TYPE_SERVER_CHECKSUM:
			e = decode_signature(&buf, &out->server_checksum_type);
			out->has_server_checksum = e == CERR_OK;
			break;
		case PAC_TYPE_PRIVSVR_CHECKSUM:
			e = decode_signature(&buf, &out->kdc_checksum_type);
			out->has_kdc_checksum = e == CERR_OK;
			break;
		default:
			break; /* credentials, claims, device info...: not used here */
		}
		if (e != CERR_OK) {
			return e;
		}
	}
	return CERR_OK;
}
