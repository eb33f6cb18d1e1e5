/*
 * sd.c - security descriptors (see sd.h for the contract): the self-relative
 * codec (MS-DTYP 2.4.4-2.4.6), SDDL parse/format (2.5.1) with Windows'
 * canonical output, the DACL access check (2.5.3.2), and Windows' default
 * DCOM descriptors with where each comes from.
 */
#include "security/sd.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define SD_HEADER_LEN 20u /* Revision, Sbz1, Control, four offsets (MS-DTYP 2.4.6) */
#define ACL_HEADER_LEN 8u /* AclRevision, Sbz1, AclSize, AceCount, Sbz2 (2.4.5) */
#define ACL_MAX_LEN 0xFFFFu
#define ACL_REVISION 2u
#define ACL_REVISION_DS 4u

/* ---- Windows' default DCOM descriptors ----
 * MachineLaunchRestriction / MachineAccessRestriction / DefaultLaunchPermission:
 * the REG_BINARY values of HKLM\SOFTWARE\Microsoft\Ole as a Windows 7-era
 * machine exports them (registry export published in gerryw1389/
 * gerryw1389.github.io, _posts/2016-05-26-dcom-settings-for-missing-windows-
 * updates-section.md), decoded by test_sd.c, which checks that these strings
 * encode to exactly those bytes. They agree with Microsoft's prose
 * (learn.microsoft.com/windows/win32/com/machinelaunchrestriction: "administrators
 * may obtain local and remote launch and activation permissions, and members of
 * the Everyone group may obtain local activation and launch permissions";
 * .../machineaccessrestriction: "members of the Everyone group can obtain local
 * and remote access permissions, and anonymous users can obtain local access
 * permissions"). Windows 8 and later add entries for ALL APPLICATION PACKAGES
 * (AC) and an app-container capability SID, local rights only; they concern
 * local app containers, never a network caller, and are left out. */
const char sd_default_machine_launch_restriction_sddl[] =
	"O:BAG:BAD:(A;;CCDCLCSWRP;;;BA)(A;;CCDCSW;;;WD)(A;;CCDCLCSWRP;;;S-1-5-32-562)(A;;CCDCLCSWRP;;;LU)";
const char sd_default_machine_access_restriction_sddl[] =
	"O:BAG:BAD:(A;;CCDCLC;;;WD)(A;;CCDC;;;AN)(A;;CCDCLC;;;S-1-5-32-562)(A;;CCDCLC;;;LU)";
const char sd_default_launch_permission_sddl[] =
	"O:BAG:BAD:(A;;CCDCLCSWRP;;;BA)(A;;CCDCLCSWRP;;;IU)(A;;CCDCLCSWRP;;;SY)";
/* On a CA: Microsoft KB 903220 ("Description of the changes to DCOM security
 * settings after you install Windows Server 2003 Service Pack 1") says CA setup
 * creates CERTSVC_DCOM_ACCESS (since Windows Server 2008 the builtin
 * "Certificate Service DCOM Access", S-1-5-32-574, SDDL CD) and grants it local
 * and remote activation in the machine launch restriction and local and remote
 * access in the machine access restriction. The KB gives the rights in words;
 * the masks below are what those words mean with COM_RIGHTS_EXECUTE (CC) added
 * as COM requires: CC SW RP and CC DC LC. UNCONFIRMED: the exact mask Windows
 * writes (a capture of a CA's registry would settle it) and the entry's position. */
const char sd_default_machine_launch_restriction_ca_sddl[] =
	"O:BAG:BAD:(A;;CCDCLCSWRP;;;BA)(A;;CCDCSW;;;WD)(A;;CCDCLCSWRP;;;S-1-5-32-562)(A;;CCDCLCSWRP;;;LU)"
	"(A;;CCSWRP;;;CD)";
const char sd_default_machine_access_restriction_ca_sddl[] =
	"O:BAG:BAD:(A;;CCDCLC;;;WD)(A;;CCDC;;;AN)(A;;CCDCLC;;;S-1-5-32-562)(A;;CCDCLC;;;LU)"
	"(A;;CCDCLC;;;CD)";
/* The CertSrv Request application's own permissions, KB 903220: "The Everyone
 * security group is granted local and remote access permissions ... local and
 * remote activation permissions ... is not granted local or remote launch
 * permissions." UNCONFIRMED: owner/group and any further entries (SYSTEM,
 * Administrators) Windows may also write. */
const char sd_default_certsrv_request_launch_sddl[] = "O:BAG:BAD:(A;;CCSWRP;;;WD)";
const char sd_default_certsrv_request_access_sddl[] = "O:BAG:BAD:(A;;CCDCLC;;;WD)";

/* Windows' DS_GENERIC_* (ntdsapi.h). */
const sd_generic_mapping_t sd_generic_mapping_ds = {
	.read = SD_READ_CONTROL | SD_DS_LIST_CHILDREN | SD_DS_READ_PROPERTY | SD_DS_LIST_OBJECT,
	.write = SD_READ_CONTROL | SD_DS_SELF | SD_DS_WRITE_PROPERTY,
	.execute = SD_READ_CONTROL | SD_DS_LIST_CHILDREN,
	.all = 0x000F01FFu,
};

/* ---- lifetime ---- */

/* The reference count lives beside the public struct so sd_t stays plain data. */
typedef struct sd_box {
	atomic_uint refs;
	sd_t sd;
} sd_box_t;

static sd_box_t *box_of(sd_t *sd)
{
	return (sd_box_t *)(void *)((char *)sd - offsetof(sd_box_t, sd));
}

static sd_t *sd_alloc(void)
{
	sd_box_t *box = calloc(1, sizeof(*box));
	if (!box) {
		return NULL;
	}
	atomic_init(&box->refs, 1);
	box->sd.revision = 1;
	box->sd.control = SD_CTRL_SELF_RELATIVE;
	return &box->sd;
}

static void acl_free(sd_acl_t *acl)
{
	if (!acl) {
		return;
	}
	for (size_t i = 0; i < acl->num_aces; i++) {
		free(acl->aces[i].data);
	}
	free(acl->aces);
	free(acl);
}

sd_t *sd_ref(sd_t *sd)
{
	if (sd) {
		atomic_fetch_add_explicit(&box_of(sd)->refs, 1, memory_order_relaxed);
	}
	return sd;
}

void sd_free(sd_t *sd)
{
	if (!sd) {
		return;
	}
	sd_box_t *box = box_of(sd);
	if (atomic_fetch_sub_explicit(&box->refs, 1, memory_order_acq_rel) != 1) {
		return;
	}
	acl_free(sd->sacl);
	acl_free(sd->dacl);
	free(box);
}

/* ---- tables shared by SDDL parse and format ---- */

typedef struct code {
	const char *s;
	uint32_t v;
} code_t;

/* Single-bit rights in bit order, the order Windows prints them. */
static const code_t right_bits[] = {
	{"CC", 0x00000001u}, {"DC", 0x00000002u}, {"LC", 0x00000004u}, {"SW", 0x00000008u},
	{"RP", 0x00000010u}, {"WP", 0x00000020u}, {"DT", 0x00000040u}, {"LO", 0x00000080u},
	{"CR", 0x00000100u}, {"SD", 0x00010000u}, {"RC", 0x00020000u}, {"WD", 0x00040000u},
	{"WO", 0x00080000u}, {"GA", 0x10000000u}, {"GX", 0x20000000u}, {"GW", 0x40000000u},
	{"GR", 0x80000000u},
};
/* File and key rights (MS-DTYP 2.5.1.1 / sddl.h): printed only for an exact
 * match, as FA for 0x1f01ff in Windows' own output; KX equals KR and so
 * never prints. */
static const code_t right_composites[] = {
	{"FA", 0x001F01FFu}, {"FR", 0x00120089u}, {"FW", 0x00120116u}, {"FX", 0x001200A0u},
	{"KA", 0x000F003Fu}, {"KR", 0x00020019u}, {"KW", 0x00020006u}, {"KX", 0x00020019u},
};
/* Mandatory-label policy, in bit order. UNCONFIRMED: Windows' order when more
 * than one is set (single values print as NW, NR, NX). */
static const code_t label_bits[] = {
	{"NW", SD_MANDATORY_NO_WRITE_UP},
	{"NR", SD_MANDATORY_NO_READ_UP},
	{"NX", SD_MANDATORY_NO_EXECUTE_UP},
};
/* ACE flags in bit order. */
static const code_t ace_flag_codes[] = {
	{"OI", SD_ACE_FLAG_OBJECT_INHERIT}, {"CI", SD_ACE_FLAG_CONTAINER_INHERIT},
	{"NP", SD_ACE_FLAG_NO_PROPAGATE_INHERIT}, {"IO", SD_ACE_FLAG_INHERIT_ONLY},
	{"ID", SD_ACE_FLAG_INHERITED}, {"SA", SD_ACE_FLAG_SUCCESSFUL_ACCESS},
	{"FA", SD_ACE_FLAG_FAILED_ACCESS},
};

/* The ACE types SDDL here reads and writes. */
typedef struct ace_kind {
	const char *s;
	uint8_t type;
	bool object;
	bool in_sacl;
} ace_kind_t;

static const ace_kind_t ace_kinds[] = {
	{"A", SD_ACE_ACCESS_ALLOWED, false, false},
	{"D", SD_ACE_ACCESS_DENIED, false, false},
	{"OA", SD_ACE_ACCESS_ALLOWED_OBJECT, true, false},
	{"OD", SD_ACE_ACCESS_DENIED_OBJECT, true, false},
	{"AU", SD_ACE_SYSTEM_AUDIT, false, true},
	{"AL", SD_ACE_SYSTEM_ALARM, false, true},
	{"OU", SD_ACE_SYSTEM_AUDIT_OBJECT, true, true},
	{"OL", SD_ACE_SYSTEM_ALARM_OBJECT, true, true},
	{"ML", SD_ACE_SYSTEM_MANDATORY_LABEL, false, true},
};
/* Types SDDL defines but this parser refuses (conditional expressions and
 * resource attributes are not parsed). */
static const char *const ace_kinds_unsupported[] = {"XA", "XD", "ZA", "XU", "RA", "SP"};

static const ace_kind_t *kind_by_type(uint8_t type)
{
	for (size_t i = 0; i < COUNT(ace_kinds); i++) {
		if (ace_kinds[i].type == type) {
			return &ace_kinds[i];
		}
	}
	return NULL;
}

typedef enum ace_layout {
	LAYOUT_RAW,    /* body kept as bytes */
	LAYOUT_BASIC,  /* Mask, Sid, [data] */
	LAYOUT_OBJECT, /* Mask, Flags, [ObjectType], [InheritedObjectType], Sid, [data] */
} ace_layout_t;

/* MS-DTYP 2.4.4.2-2.4.4.17: which body each ACE type has. */
static ace_layout_t ace_layout(uint8_t type)
{
	switch (type) {
	case SD_ACE_ACCESS_ALLOWED:
	case SD_ACE_ACCESS_DENIED:
	case SD_ACE_SYSTEM_AUDIT:
	case SD_ACE_SYSTEM_ALARM:
	case SD_ACE_ACCESS_ALLOWED_CALLBACK:
	case SD_ACE_ACCESS_DENIED_CALLBACK:
	case SD_ACE_SYSTEM_AUDIT_CALLBACK:
	case SD_ACE_SYSTEM_ALARM_CALLBACK:
	case SD_ACE_SYSTEM_MANDATORY_LABEL:
	case SD_ACE_SYSTEM_RESOURCE_ATTRIBUTE:
	case SD_ACE_SYSTEM_SCOPED_POLICY_ID:
		return LAYOUT_BASIC;
	case SD_ACE_ACCESS_ALLOWED_OBJECT:
	case SD_ACE_ACCESS_DENIED_OBJECT:
	case SD_ACE_SYSTEM_AUDIT_OBJECT:
	case SD_ACE_SYSTEM_ALARM_OBJECT:
	case SD_ACE_ACCESS_ALLOWED_CALLBACK_OBJECT:
	case SD_ACE_ACCESS_DENIED_CALLBACK_OBJECT:
	case SD_ACE_SYSTEM_AUDIT_CALLBACK_OBJECT:
	case SD_ACE_SYSTEM_ALARM_CALLBACK_OBJECT:
		return LAYOUT_OBJECT;
	default:
		return LAYOUT_RAW;
	}
}

/* ---- binary codec (MS-DTYP 2.4.4-2.4.6) ---- */

static size_t round4(size_t n)
{
	return (n + 3u) & ~(size_t)3u;
}

static size_t ace_wire_len(const sd_ace_t *a)
{
	size_t n = 4; /* ACE_HEADER */
	switch (ace_layout(a->type)) {
	case LAYOUT_BASIC:
		n += 4 + sid_wire_len(&a->sid);
		break;
	case LAYOUT_OBJECT:
		n += 8 + sid_wire_len(&a->sid);
		n += (a->object_flags & SD_ACE_OBJECT_TYPE_PRESENT) ? 16 : 0;
		n += (a->object_flags & SD_ACE_INHERITED_OBJECT_TYPE_PRESENT) ? 16 : 0;
		break;
	default:
		break;
	}
	return round4(n + a->data_len);
}

static size_t acl_wire_len(const sd_acl_t *acl)
{
	size_t n = ACL_HEADER_LEN;
	for (size_t i = 0; acl && i < acl->num_aces; i++) {
		n += ace_wire_len(&acl->aces[i]);
	}
	return n;
}

size_t sd_wire_len(const sd_t *sd)
{
	size_t n = SD_HEADER_LEN;
	n += sd->sacl ? acl_wire_len(sd->sacl) : 0;
	n += sd->dacl ? acl_wire_len(sd->dacl) : 0;
	n += sd->has_owner ? sid_wire_len(&sd->owner) : 0;
	n += sd->has_group ? sid_wire_len(&sd->group) : 0;
	return n;
}

/* decode_ace reads one ACE from c (the rest of its ACL). Inconsistencies
 * inside an ACE whose size is known are CERR_MALFORMED. */
static cerr_t decode_ace(cur_t *c, sd_ace_t *a)
{
	uint8_t type, flags;
	uint16_t size;
	cur_t body;
	if (!cur_get_u8(c, &type) || !cur_get_u8(c, &flags) || !cur_get_u16le(c, &size)) {
		return CERR_MALFORMED;
	}
	/* 2.4.4.1: AceSize "MUST be a multiple of 4 to ensure alignment". */
	if (size < 4 || size % 4 != 0 || !cur_get_bytes(c, &body, (size_t)size - 4)) {
		return CERR_MALFORMED;
	}
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->flags = flags;
	switch (ace_layout(type)) {
	case LAYOUT_BASIC:
		if (!cur_get_u32le(&body, &a->mask) || sid_decode(&body, &a->sid) != CERR_OK) {
			return CERR_MALFORMED;
		}
		break;
	case LAYOUT_OBJECT:
		if (!cur_get_u32le(&body, &a->mask) || !cur_get_u32le(&body, &a->object_flags)) {
			return CERR_MALFORMED;
		}
		/* 2.4.4.3 defines only these two bits; others would not survive a round trip. */
		if (a->object_flags & ~(uint32_t)(SD_ACE_OBJECT_TYPE_PRESENT | SD_ACE_INHERITED_OBJECT_TYPE_PRESENT)) {
			return CERR_MALFORMED;
		}
		if ((a->object_flags & SD_ACE_OBJECT_TYPE_PRESENT) && !cur_get_guid(&body, &a->object_type)) {
			return CERR_MALFORMED;
		}
		if ((a->object_flags & SD_ACE_INHERITED_OBJECT_TYPE_PRESENT) &&
		    !cur_get_guid(&body, &a->inherited_object_type)) {
			return CERR_MALFORMED;
		}
		if (sid_decode(&body, &a->sid) != CERR_OK) {
			return CERR_MALFORMED;
		}
		break;
	default:
		a->raw = true;
		break;
	}
	a->data_len = cur_len(&body);
	if (a->data_len > 0) {
		a->data = malloc(a->data_len);
		if (!a->data) {
			a->data_len = 0;
			return CERR_NOMEM;
		}
		memcpy(a->data, cur_data(&body), a->data_len);
	}
	return CERR_OK;
}

/* decode_acl reads the ACL at offset off of the descriptor buffer sdb. */
static cerr_t decode_acl(const cur_t *sdb, uint32_t off, sd_acl_t **out)
{
	cur_t h, body;
	uint8_t rev, sbz1;
	uint16_t size, count, sbz2;
	if (off < SD_HEADER_LEN) {
		return CERR_MALFORMED;
	}
	if (!cur_sub(sdb, off, ACL_HEADER_LEN, &h)) {
		return CERR_TRUNCATED;
	}
	if (!cur_get_u8(&h, &rev) || !cur_get_u8(&h, &sbz1) || !cur_get_u16le(&h, &size) ||
	    !cur_get_u16le(&h, &count) || !cur_get_u16le(&h, &sbz2)) {
		return CERR_TRUNCATED;
	}
	/* 2.4.5: AclRevision 0x02 or 0x04; Sbz1 and Sbz2 "MUST be set to zero". */
	if ((rev != ACL_REVISION && rev != ACL_REVISION_DS) || sbz1 != 0 || sbz2 != 0 || size < ACL_HEADER_LEN) {
		return CERR_MALFORMED;
	}
	if (!cur_sub(sdb, (size_t)off + ACL_HEADER_LEN, (size_t)size - ACL_HEADER_LEN, &body)) {
		return CERR_TRUNCATED;
	}
	/* The smallest ACE is its 4-byte header: check before allocating. */
	if ((size_t)count > cur_len(&body) / 4) {
		return CERR_MALFORMED;
	}
	sd_acl_t *acl = calloc(1, sizeof(*acl));
	if (!acl) {
		return CERR_NOMEM;
	}
	acl->revision = rev;
	if (count > 0) {
		acl->aces = calloc(count, sizeof(*acl->aces));
		if (!acl->aces) {
			free(acl);
			return CERR_NOMEM;
		}
	}
	for (size_t i = 0; i < count; i++) {
		cerr_t e = decode_ace(&body, &acl->aces[i]);
		if (e != CERR_OK) {
			acl->num_aces = i; /* a failed entry holds no data */
			acl_free(acl);
			return e;
		}
		acl->num_aces = i + 1;
	}
	/* Bytes left inside AclSize are slack (Windows allocates ACLs larger than
	 * their entries); they are not kept. */
	*out = acl;
	return CERR_OK;
}

cerr_t sd_decode(cur_t *c, sd_t **out)
{
	cur_t b = *c;
	b.be = false; /* MS-DTYP 2.4.6: little-endian whatever the transfer syntax */
	cur_t h = b;
	uint8_t rev, sbz1;
	uint16_t control;
	uint32_t off_owner, off_group, off_sacl, off_dacl;
	if (!cur_get_u8(&h, &rev) || !cur_get_u8(&h, &sbz1) || !cur_get_u16le(&h, &control) ||
	    !cur_get_u32le(&h, &off_owner) || !cur_get_u32le(&h, &off_group) || !cur_get_u32le(&h, &off_sacl) ||
	    !cur_get_u32le(&h, &off_dacl)) {
		return CERR_TRUNCATED;
	}
	if (rev != 1 || !(control & SD_CTRL_SELF_RELATIVE)) {
		return CERR_MALFORMED;
	}
	/* An ACL offset without its PRESENT bit is ignored by Windows; refusing it
	 * keeps decode and encode inverse. */
	if ((off_sacl && !(control & SD_CTRL_SACL_PRESENT)) || (off_dacl && !(control & SD_CTRL_DACL_PRESENT))) {
		return CERR_MALFORMED;
	}
	sd_t *sd = sd_alloc();
	if (!sd) {
		return CERR_NOMEM;
	}
	sd->revision = rev;
	sd->sbz1 = sbz1;
	sd->control = control;
	cerr_t e = CERR_OK;
	const uint32_t sid_offs[2] = {off_owner, off_group};
	sid_t *sid_outs[2] = {&sd->owner, &sd->group};
	bool *sid_has[2] = {&sd->has_owner, &sd->has_group};
	for (int i = 0; i < 2 && e == CERR_OK; i++) {
		uint32_t off = sid_offs[i];
		cur_t s;
		if (off == 0) {
			continue;
		}
		if (off < SD_HEADER_LEN) {
			e = CERR_MALFORMED;
		} else if (off > cur_len(&b) || !cur_sub(&b, off, cur_len(&b) - off, &s)) {
			e = CERR_TRUNCATED;
		} else {
			e = sid_decode(&s, sid_outs[i]);
			*sid_has[i] = e == CERR_OK;
		}
	}
	if (e == CERR_OK && off_sacl) {
		e = decode_acl(&b, off_sacl, &sd->sacl);
	}
	if (e == CERR_OK && off_dacl) {
		e = decode_acl(&b, off_dacl, &sd->dacl);
	}
	if (e != CERR_OK) {
		sd_free(sd);
		return e;
	}
	cur_skip(c, cur_len(c));
	*out = sd;
	return CERR_OK;
}

static void encode_ace(buf_t *b, const sd_ace_t *a)
{
	size_t len = ace_wire_len(a);
	size_t start = b->len;
	buf_put_u8(b, a->type);
	buf_put_u8(b, a->flags);
	buf_put_u16(b, (uint16_t)len);
	switch (ace_layout(a->type)) {
	case LAYOUT_BASIC:
		buf_put_u32(b, a->mask);
		sid_encode(b, &a->sid);
		break;
	case LAYOUT_OBJECT:
		buf_put_u32(b, a->mask);
		buf_put_u32(b, a->object_flags);
		if (a->object_flags & SD_ACE_OBJECT_TYPE_PRESENT) {
			buf_put_guid(b, &a->object_type);
		}
		if (a->object_flags & SD_ACE_INHERITED_OBJECT_TYPE_PRESENT) {
			buf_put_guid(b, &a->inherited_object_type);
		}
		sid_encode(b, &a->sid);
		break;
	default:
		break;
	}
	if (a->data_len) {
		buf_put_bytes(b, a->data, a->data_len);
	}
	if (buf_ok(b) && b->len - start < len) {
		buf_put_zeros(b, len - (b->len - start));
	}
}

static void encode_acl(buf_t *b, const sd_acl_t *acl)
{
	size_t len = acl_wire_len(acl);
	if (len > ACL_MAX_LEN || acl->num_aces > 0xFFFFu) {
		b->err = true; /* cannot be expressed; constructors never build one */
		return;
	}
	buf_put_u8(b, acl->revision);
	buf_put_u8(b, 0);
	buf_put_u16(b, (uint16_t)len);
	buf_put_u16(b, (uint16_t)acl->num_aces);
	buf_put_u16(b, 0);
	for (size_t i = 0; i < acl->num_aces; i++) {
		encode_ace(b, &acl->aces[i]);
	}
}

void sd_encode(buf_t *b, const sd_t *sd)
{
	/* Windows' layout (RtlMakeSelfRelativeSD, and the registry values in
	 * test_sd.c): header, SACL, DACL, owner, group. */
	size_t off = SD_HEADER_LEN;
	size_t off_sacl = 0, off_dacl = 0, off_owner = 0, off_group = 0;
	if (sd->sacl) {
		off_sacl = off;
		off += acl_wire_len(sd->sacl);
	}
	if (sd->dacl) {
		off_dacl = off;
		off += acl_wire_len(sd->dacl);
	}
	if (sd->has_owner) {
		off_owner = off;
		off += sid_wire_len(&sd->owner);
	}
	if (sd->has_group) {
		off_group = off;
		off += sid_wire_len(&sd->group);
	}
	buf_put_u8(b, sd->revision);
	buf_put_u8(b, sd->sbz1);
	buf_put_u16(b, (uint16_t)(sd->control | SD_CTRL_SELF_RELATIVE));
	buf_put_u32(b, (uint32_t)off_owner);
	buf_put_u32(b, (uint32_t)off_group);
	buf_put_u32(b, (uint32_t)off_sacl);
	buf_put_u32(b, (uint32_t)off_dacl);
	if (sd->sacl) {
		encode_acl(b, sd->sacl);
	}
	if (sd->dacl) {
		encode_acl(b, sd->dacl);
	}
	if (sd->has_owner) {
		sid_encode(b, &sd->owner);
	}
	if (sd->has_group) {
		sid_encode(b, &sd->group);
	}
}

/* ---- SDDL output ---- */

static void put_str(buf_t *b, const char *s)
{
	buf_put_bytes(b, s, strlen(s));
}

static void put_hex(buf_t *b, uint32_t v)
{
	char tmp[16];
	snprintf(tmp, sizeof(tmp), "0x%x", (unsigned)v);
	put_str(b, tmp);
}

/* put_codes writes mask as codes from tab (in table order) when every set bit
 * has one; false otherwise. */
static bool put_codes(buf_t *b, uint32_t mask, const code_t *tab, size_t n)
{
	uint32_t named = 0;
	for (size_t i = 0; i < n; i++) {
		named |= tab[i].v;
	}
	if (mask & ~named) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (mask & tab[i].v) {
			put_str(b, tab[i].s);
		}
	}
	return true;
}

/* put_rights: Windows' rule (one exact composite, else bit codes, else hex). */
static void put_rights(buf_t *b, uint32_t mask, bool label)
{
	if (mask == 0) {
		return;
	}
	if (label) {
		if (!put_codes(b, mask, label_bits, COUNT(label_bits))) {
			put_hex(b, mask);
		}
		return;
	}
	for (size_t i = 0; i < COUNT(right_composites); i++) {
		if (mask == right_composites[i].v) {
			put_str(b, right_composites[i].s);
			return;
		}
	}
	if (!put_codes(b, mask, right_bits, COUNT(right_bits))) {
		put_hex(b, mask);
	}
}

static void put_sid(buf_t *b, const sid_t *sid, const sid_t *domain)
{
	const char *alias = sid_to_sddl_alias(sid, domain);
	char s[SID_STR_MAX];
	put_str(b, alias ? alias : sid_format(sid, s));
}

/* put_ace writes one ACE of a DACL (in_dacl) or SACL; false when SDDL here
 * cannot express it, including a type in the ACL sd_from_sddl would refuse it in. */
static bool put_ace(buf_t *b, const sd_ace_t *a, bool in_dacl, const sid_t *domain)
{
	const ace_kind_t *k = kind_by_type(a->type);
	if (!k || a->raw || k->in_sacl == in_dacl) {
		return false;
	}
	buf_put_u8(b, '(');
	put_str(b, k->s);
	buf_put_u8(b, ';');
	if (!put_codes(b, a->flags, ace_flag_codes, COUNT(ace_flag_codes))) {
		return false;
	}
	buf_put_u8(b, ';');
	put_rights(b, a->mask, a->type == SD_ACE_SYSTEM_MANDATORY_LABEL);
	buf_put_u8(b, ';');
	char g[GUID_STR_LEN + 1];
	if (k->object && (a->object_flags & SD_ACE_OBJECT_TYPE_PRESENT)) {
		guid_format(&a->object_type, g);
		put_str(b, g);
	}
	buf_put_u8(b, ';');
	if (k->object && (a->object_flags & SD_ACE_INHERITED_OBJECT_TYPE_PRESENT)) {
		guid_format(&a->inherited_object_type, g);
		put_str(b, g);
	}
	buf_put_u8(b, ';');
	put_sid(b, &a->sid, domain);
	buf_put_u8(b, ')');
	return true;
}

/* put_acl writes "D:" or "S:", the flags and the entries. */
static bool put_acl(buf_t *b, bool dacl, const sd_t *sd, const sid_t *domain)
{
	const sd_acl_t *acl = dacl ? sd->dacl : sd->sacl;
	put_str(b, dacl ? "D:" : "S:");
	if (sd->control & (dacl ? SD_CTRL_DACL_PROTECTED : SD_CTRL_SACL_PROTECTED)) {
		put_str(b, "P");
	}
	if (sd->control & (dacl ? SD_CTRL_DACL_AUTO_INHERIT_REQ : SD_CTRL_SACL_AUTO_INHERIT_REQ)) {
		put_str(b, "AR");
	}
	if (sd->control & (dacl ? SD_CTRL_DACL_AUTO_INHERITED : SD_CTRL_SACL_AUTO_INHERITED)) {
		put_str(b, "AI");
	}
	if (!acl) {
		put_str(b, "NO_ACCESS_CONTROL");
		return true;
	}
	for (size_t i = 0; i < acl->num_aces; i++) {
		if (!put_ace(b, &acl->aces[i], dacl, domain)) {
			return false;
		}
	}
	return true;
}

char *sd_to_sddl(const sd_t *sd, const sid_t *domain_sid)
{
	if (!sd) {
		return NULL;
	}
	buf_t b;
	buf_init(&b, BUF_DEFAULT_MAX);
	bool ok = true;
	if (sd->has_owner) {
		put_str(&b, "O:");
		put_sid(&b, &sd->owner, domain_sid);
	}
	if (sd->has_group) {
		put_str(&b, "G:");
		put_sid(&b, &sd->group, domain_sid);
	}
	if (sd->control & SD_CTRL_DACL_PRESENT) {
		ok = put_acl(&b, true, sd, domain_sid);
	}
	if (ok && (sd->control & SD_CTRL_SACL_PRESENT)) {
		ok = put_acl(&b, false, sd, domain_sid);
	}
	buf_put_u8(&b, '\0');
	if (!ok) {
		buf_free(&b);
		return NULL;
	}
	size_t len;
	return (char *)buf_take(&b, &len);
}

/* ---- SDDL input ---- */

typedef struct sp {
	const char *s;
	size_t len;
	size_t pos;
	const sid_t *domain;
	char *err;
	size_t err_len;
} sp_t;

/* fail records "at offset N: message" and returns code. */
__attribute__((format(printf, 4, 5))) static cerr_t fail(sp_t *p, size_t at, cerr_t code, const char *fmt, ...)
{
	if (p->err && p->err_len > 0) {
		char msg[256];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		snprintf(p->err, p->err_len, "at offset %zu: %s", at, msg);
	}
	return code;
}

/* quote copies s[start..end) (at most 40 bytes, control and non-ASCII bytes as
 * '?') into out for an error message. */
static const char *quote(const sp_t *p, size_t start, size_t end, char out[48])
{
	size_t n = 0;
	for (size_t i = start; i < end && i < p->len && n < 40; i++) {
		unsigned char ch = (unsigned char)p->s[i];
		out[n++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	if (end - start > 40) {
		out[n++] = '.';
		out[n++] = '.';
		out[n++] = '.';
	}
	out[n] = '\0';
	return out;
}

/* at_tag is true when a component tag ("O:", "G:", "D:", "S:" or any letter
 * followed by ':') starts at i: a SID or ACL flag never contains ':'. */
static bool at_tag(const sp_t *p, size_t i)
{
	return i + 1 < p->len && p->s[i + 1] == ':';
}

/* parse_sid reads the SID text s[start..end): a two-letter alias or "S-1-...". */
static cerr_t parse_sid(sp_t *p, size_t start, size_t end, sid_t *out)
{
	char q[48];
	if (end <= start) {
		return fail(p, start, CERR_MALFORMED, "missing SID");
	}
	size_t n = end - start;
	if (n == 2 && !(p->s[start] == 'S' && p->s[start + 1] == '-')) {
		char alias[3] = {p->s[start], p->s[start + 1], '\0'};
		cerr_t e = sid_from_sddl_alias(alias, p->domain, out);
		if (e == CERR_INVALID_ARG) {
			return fail(p, start, CERR_MALFORMED, "SID alias '%s' is relative to a domain and no domain SID was given",
				    quote(p, start, end, q));
		}
		if (e != CERR_OK) {
			return fail(p, start, CERR_MALFORMED, "unknown SID alias '%s'", quote(p, start, end, q));
		}
		return CERR_OK;
	}
	cerr_t e = sid_parse_n(out, p->s + start, n);
	if (e == CERR_LIMIT) {
		return fail(p, start, CERR_MALFORMED, "SID '%s' has more than %d sub-authorities", quote(p, start, end, q),
			    SID_MAX_SUB_AUTHORITIES);
	}
	if (e != CERR_OK) {
		return fail(p, start, CERR_MALFORMED, "malformed SID '%s'", quote(p, start, end, q));
	}
	return CERR_OK;
}

/* parse_owner_sid reads the SID after "O:" or "G:": an alias is two letters;
 * a string SID runs to the next tag or to the end. */
static cerr_t parse_owner_sid(sp_t *p, sid_t *out)
{
	size_t start = p->pos, end = start;
	if (end + 1 < p->len && (p->s[end] == 'S' || p->s[end] == 's') && p->s[end + 1] == '-') {
		while (end < p->len && !at_tag(p, end) && p->s[end] != '(' && p->s[end] != ':') {
			end++;
		}
		/* at_tag stopped on the tag letter, which is not part of the SID */
	} else if (!at_tag(p, start)) {
		while (end < p->len && end - start < 2 && p->s[end] != ':') {
			end++;
		}
	}
	cerr_t e = parse_sid(p, start, end, out);
	if (e == CERR_OK) {
		p->pos = end;
	}
	return e;
}

/* parse_number reads rights given as a number: "0x" hex, leading-0 octal or
 * decimal (as wcstoul with base 0, which Windows uses), below 2^32. */
static bool parse_number(const char *s, size_t n, uint32_t *out)
{
	unsigned base = 10;
	size_t i = 0;
	if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	} else if (n >= 2 && s[0] == '0') {
		base = 8;
		i = 1;
	}
	if (i >= n) {
		return false;
	}
	uint64_t v = 0;
	for (; i < n; i++) {
		char ch = s[i];
		unsigned d;
		if (ch >= '0' && ch <= '9') {
			d = (unsigned)(ch - '0');
		} else if (ch >= 'a' && ch <= 'f') {
			d = (unsigned)(ch - 'a') + 10;
		} else if (ch >= 'A' && ch <= 'F') {
			d = (unsigned)(ch - 'A') + 10;
		} else {
			return false;
		}
		if (d >= base) {
			return false;
		}
		v = v * base + d;
		if (v > UINT32_MAX) {
			return false;
		}
	}
	*out = (uint32_t)v;
	return true;
}

static bool lookup_code(const code_t *tab, size_t n, const char *s, uint32_t *out)
{
	for (size_t i = 0; i < n; i++) {
		if (s[0] == tab[i].s[0] && s[1] == tab[i].s[1]) {
			*out = tab[i].v;
			return true;
		}
	}
	return false;
}

static cerr_t parse_rights(sp_t *p, size_t start, size_t end, uint32_t *out)
{
	char q[48];
	*out = 0;
	if (start == end) {
		return CERR_OK;
	}
	if (p->s[start] >= '0' && p->s[start] <= '9') {
		if (!parse_number(p->s + start, end - start, out)) {
			return fail(p, start, CERR_MALFORMED, "malformed rights number '%s' (hex, decimal or octal below 2^32)",
				    quote(p, start, end, q));
		}
		return CERR_OK;
	}
	for (size_t i = start; i < end; i += 2) {
		uint32_t v;
		if (i + 1 >= end) {
			return fail(p, i, CERR_MALFORMED, "unknown right '%s'", quote(p, i, end, q));
		}
		const char *c = p->s + i;
		if (!lookup_code(right_bits, COUNT(right_bits), c, &v) &&
		    !lookup_code(right_composites, COUNT(right_composites), c, &v) &&
		    !lookup_code(label_bits, COUNT(label_bits), c, &v)) {
			return fail(p, i, CERR_MALFORMED, "unknown right '%s'", quote(p, i, i + 2, q));
		}
		*out |= v;
	}
	return CERR_OK;
}

static cerr_t parse_ace_flags(sp_t *p, size_t start, size_t end, uint8_t *out)
{
	char q[48];
	*out = 0;
	for (size_t i = start; i < end; i += 2) {
		uint32_t v;
		if (i + 1 >= end || !lookup_code(ace_flag_codes, COUNT(ace_flag_codes), p->s + i, &v)) {
			return fail(p, i, CERR_MALFORMED, "unknown ACE flag '%s'", quote(p, i, i + 2 < end ? i + 2 : end, q));
		}
		*out = (uint8_t)(*out | v);
	}
	return CERR_OK;
}

static cerr_t parse_guid_field(sp_t *p, size_t start, size_t end, guid_t *out)
{
	char q[48], g[GUID_STR_LEN + 1];
	if (end - start != GUID_STR_LEN) {
		return fail(p, start, CERR_MALFORMED, "malformed GUID '%s'", quote(p, start, end, q));
	}
	memcpy(g, p->s + start, GUID_STR_LEN);
	g[GUID_STR_LEN] = '\0';
	if (!guid_parse(out, g)) {
		return fail(p, start, CERR_MALFORMED, "malformed GUID '%s'", quote(p, start, end, q));
	}
	return CERR_OK;
}

/* parse_ace reads "(type;flags;rights;guid;guid;sid)" at p->pos into *a. */
static cerr_t parse_ace(sp_t *p, bool dacl, sd_ace_t *a)
{
	char q[48];
	size_t open = p->pos;
	const char *close_p = memchr(p->s + open, ')', p->len - open);
	if (!close_p) {
		return fail(p, open, CERR_MALFORMED, "ACE has no closing ')'");
	}
	size_t close = (size_t)(close_p - p->s);
	/* Field boundaries: f[i] is where field i starts, f[i + 1] - 1 its ';'. */
	size_t f[8];
	size_t nf = 0;
	f[nf++] = open + 1;
	for (size_t i = open + 1; i < close; i++) {
		if (p->s[i] == ';') {
			if (nf == COUNT(f) - 1) {
				break;
			}
			f[nf++] = i + 1;
		}
	}
	f[nf] = close + 1; /* one past the end of the last field, as if ';' stood at close */

	memset(a, 0, sizeof(*a));
	size_t ts = f[0], te = f[1] - 1;
	const ace_kind_t *k = NULL;
	for (size_t i = 0; i < COUNT(ace_kinds); i++) {
		if (te - ts == strlen(ace_kinds[i].s) && memcmp(p->s + ts, ace_kinds[i].s, te - ts) == 0) {
			k = &ace_kinds[i];
		}
	}
	if (!k) {
		for (size_t i = 0; i < COUNT(ace_kinds_unsupported); i++) {
			if (te - ts == 2 && memcmp(p->s + ts, ace_kinds_unsupported[i], 2) == 0) {
				return fail(p, ts, CERR_MALFORMED,
					    "ACE type '%s' (callback, conditional or resource attribute) is not supported",
					    quote(p, ts, te, q));
			}
		}
		return fail(p, ts, CERR_MALFORMED, "unknown ACE type '%s'", quote(p, ts, te, q));
	}
	if (k->in_sacl == dacl) {
		return fail(p, ts, CERR_MALFORMED, "ACE type '%s' belongs in %s", k->s, dacl ? "a SACL (S:)" : "a DACL (D:)");
	}
	if (nf > 6) {
		return fail(p, f[6] - 1, CERR_MALFORMED,
			    "ACE has more than 6 fields (conditional and resource-attribute data are not supported)");
	}
	if (nf < 6) {
		return fail(p, close, CERR_MALFORMED,
			    "ACE has %zu fields, expected 6 (type;flags;rights;object;inherited-object;sid)", nf);
	}
	cerr_t e;
	a->type = k->type;
	if ((e = parse_ace_flags(p, f[1], f[2] - 1, &a->flags)) != CERR_OK ||
	    (e = parse_rights(p, f[2], f[3] - 1, &a->mask)) != CERR_OK) {
		return e;
	}
	for (int g = 0; g < 2; g++) {
		size_t gs = f[3 + g], ge = f[4 + g] - 1;
		if (gs == ge) {
			continue;
		}
		if (!k->object) {
			return fail(p, gs, CERR_MALFORMED, "object GUID in a '%s' ACE (only OA, OD, OU, OL take one)", k->s);
		}
		e = parse_guid_field(p, gs, ge, g == 0 ? &a->object_type : &a->inherited_object_type);
		if (e != CERR_OK) {
			return e;
		}
		a->object_flags |= g == 0 ? SD_ACE_OBJECT_TYPE_PRESENT : SD_ACE_INHERITED_OBJECT_TYPE_PRESENT;
	}
	if ((e = parse_sid(p, f[5], close, &a->sid)) != CERR_OK) {
		return e;
	}
	p->pos = close + 1;
	return CERR_OK;
}

static bool match(const sp_t *p, const char *lit)
{
	size_t n = strlen(lit);
	return p->len - p->pos >= n && memcmp(p->s + p->pos, lit, n) == 0;
}

/* parse_acl reads the flags and entries after "D:" or "S:". */
static cerr_t parse_acl(sp_t *p, bool dacl, sd_t *sd)
{
	char q[48];
	bool null_acl = false;
	uint16_t ctrl = dacl ? SD_CTRL_DACL_PRESENT : SD_CTRL_SACL_PRESENT;
	while (p->pos < p->len && p->s[p->pos] != '(' && !at_tag(p, p->pos)) {
		if (match(p, "NO_ACCESS_CONTROL")) {
			null_acl = true;
			p->pos += strlen("NO_ACCESS_CONTROL");
		} else if (match(p, "P")) {
			ctrl |= dacl ? SD_CTRL_DACL_PROTECTED : SD_CTRL_SACL_PROTECTED;
			p->pos += 1;
		} else if (match(p, "AI")) {
			ctrl |= dacl ? SD_CTRL_DACL_AUTO_INHERITED : SD_CTRL_SACL_AUTO_INHERITED;
			p->pos += 2;
		} else if (match(p, "AR")) {
			ctrl |= dacl ? SD_CTRL_DACL_AUTO_INHERIT_REQ : SD_CTRL_SACL_AUTO_INHERIT_REQ;
			p->pos += 2;
		} else {
			size_t end = p->pos;
			while (end < p->len && p->s[end] != '(' && !at_tag(p, end)) {
				end++;
			}
			return fail(p, p->pos, CERR_MALFORMED, "unknown ACL flag '%s' (P, AI, AR, NO_ACCESS_CONTROL)",
				    quote(p, p->pos, end, q));
		}
	}
	sd_acl_t *acl = calloc(1, sizeof(*acl));
	if (!acl) {
		return CERR_NOMEM;
	}
	acl->revision = ACL_REVISION;
	size_t cap = 0, wire = ACL_HEADER_LEN;
	cerr_t e = CERR_OK;
	while (p->pos < p->len && p->s[p->pos] == '(') {
		size_t at = p->pos;
		if (null_acl) {
			e = fail(p, at, CERR_MALFORMED, "entries after NO_ACCESS_CONTROL");
			break;
		}
		if (acl->num_aces == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			sd_ace_t *n = realloc(acl->aces, ncap * sizeof(*n));
			if (!n) {
				e = CERR_NOMEM;
				break;
			}
			acl->aces = n;
			cap = ncap;
		}
		sd_ace_t *a = &acl->aces[acl->num_aces];
		if ((e = parse_ace(p, dacl, a)) != CERR_OK) {
			break;
		}
		acl->num_aces++;
		wire += ace_wire_len(a);
		if (wire > ACL_MAX_LEN) {
			e = fail(p, at, CERR_LIMIT, "the %s would exceed %u bytes, the most an ACL can hold", dacl ? "DACL" : "SACL",
				 ACL_MAX_LEN);
			break;
		}
		if (kind_by_type(a->type)->object) {
			acl->revision = ACL_REVISION_DS; /* MS-DTYP 2.4.5: object ACEs need revision 4 */
		}
	}
	if (e != CERR_OK) {
		acl_free(acl);
		return e;
	}
	if (null_acl) {
		acl_free(acl);
		acl = NULL;
	}
	sd->control |= ctrl;
	if (dacl) {
		sd->dacl = acl;
	} else {
		sd->sacl = acl;
	}
	return CERR_OK;
}

cerr_t sd_from_sddl(const char *sddl, const sid_t *domain_sid, sd_t **out, char *err, size_t err_len)
{
	if (err && err_len > 0) {
		err[0] = '\0';
	}
	if (!sddl || !out) {
		return CERR_INVALID_ARG;
	}
	sp_t p = {.s = sddl, .len = strlen(sddl), .pos = 0, .domain = domain_sid, .err = err, .err_len = err_len};
	sd_t *sd = sd_alloc();
	if (!sd) {
		return CERR_NOMEM;
	}
	bool seen[4] = {false, false, false, false};
	static const char tags[4] = {'O', 'G', 'D', 'S'};
	cerr_t e = CERR_OK;
	char q[48];
	while (e == CERR_OK && p.pos < p.len) {
		size_t at = p.pos;
		int which = -1;
		for (int i = 0; i < 4; i++) {
			if (p.s[at] == tags[i]) {
				which = i;
			}
		}
		if (which < 0 || !at_tag(&p, at)) {
			e = fail(&p, at, CERR_MALFORMED, "expected O:, G:, D: or S: at '%s'", quote(&p, at, at + 8 < p.len ? at + 8 : p.len, q));
			break;
		}
		if (seen[which]) {
			e = fail(&p, at, CERR_MALFORMED, "second %c: component", tags[which]);
			break;
		}
		seen[which] = true;
		p.pos += 2;
		switch (which) {
		case 0:
			e = parse_owner_sid(&p, &sd->owner);
			sd->has_owner = e == CERR_OK;
			break;
		case 1:
			e = parse_owner_sid(&p, &sd->group);
			sd->has_group = e == CERR_OK;
			break;
		case 2:
			e = parse_acl(&p, true, sd);
			break;
		default:
			e = parse_acl(&p, false, sd);
			break;
		}
	}
	if (e != CERR_OK) {
		sd_free(sd);
		return e;
	}
	*out = sd;
	return CERR_OK;
}

/* ---- access check (MS-DTYP 2.5.3.2) ---- */

static _Thread_local char why_buf[1024];

/* why_set formats into why_buf. */
__attribute__((format(printf, 1, 2))) static void why_set(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why_buf, sizeof(why_buf), fmt, ap);
	va_end(ap);
}

/* rights_text renders mask as SDDL codes plus hex: "RP (0x10)". */
static const char *rights_text(uint32_t mask, char *out, size_t out_len)
{
	buf_t b;
	buf_init(&b, 256);
	put_rights(&b, mask, false);
	buf_put_u8(&b, '\0');
	if (!buf_ok(&b) || mask == 0) {
		snprintf(out, out_len, "0x%x", (unsigned)mask);
	} else if (b.data[0] == '0') {
		snprintf(out, out_len, "%s", (const char *)b.data);
	} else {
		snprintf(out, out_len, "%s (0x%x)", (const char *)b.data, (unsigned)mask);
	}
	buf_free(&b);
	return out;
}

/* ace_text renders entry i of the DACL for a message: "DACL entry 2 (A;;CC;;;WD)". */
static const char *ace_text(const sd_ace_t *a, size_t i, char *out, size_t out_len)
{
	buf_t b;
	buf_init(&b, 1024);
	bool ok = put_ace(&b, a, true, NULL);
	buf_put_u8(&b, '\0');
	if (ok && buf_ok(&b)) {
		snprintf(out, out_len, "DACL entry %zu %s", i + 1, (const char *)b.data);
	} else {
		snprintf(out, out_len, "DACL entry %zu (type 0x%02x)", i + 1, a->type);
	}
	buf_free(&b);
	return out;
}

static uint32_t map_generic(uint32_t m, const sd_generic_mapping_t *map)
{
	if (!map) {
		return m;
	}
	uint32_t r = m & ~(SD_GENERIC_READ | SD_GENERIC_WRITE | SD_GENERIC_EXECUTE | SD_GENERIC_ALL);
	r |= (m & SD_GENERIC_READ) ? map->read : 0;
	r |= (m & SD_GENERIC_WRITE) ? map->write : 0;
	r |= (m & SD_GENERIC_EXECUTE) ? map->execute : 0;
	r |= (m & SD_GENERIC_ALL) ? map->all : 0;
	return r;
}

typedef enum ace_effect {
	EFFECT_NONE,
	EFFECT_ALLOW,
	EFFECT_DENY,
} ace_effect_t;

/* ace_effect: what a DACL entry of this type does in the check. Callback
 * conditions are not evaluated and so count as UNKNOWN: MS-DTYP 2.5.3.2 applies
 * a callback deny entry unless its condition is FALSE, and a callback allow
 * entry only when it is TRUE. */
static ace_effect_t ace_effect(uint8_t type)
{
	switch (type) {
	case SD_ACE_ACCESS_ALLOWED:
	case SD_ACE_ACCESS_ALLOWED_OBJECT:
		return EFFECT_ALLOW;
	case SD_ACE_ACCESS_DENIED:
	case SD_ACE_ACCESS_DENIED_OBJECT:
	case SD_ACE_ACCESS_DENIED_CALLBACK:
	case SD_ACE_ACCESS_DENIED_CALLBACK_OBJECT:
		return EFFECT_DENY;
	default:
		return EFFECT_NONE;
	}
}

static bool is_owner_rights(const sid_t *sid)
{
	/* S-1-3-4 OWNER RIGHTS */
	return sid->revision == 1 && sid->authority == 3 && sid->num_auths == 1 && sid->sub[0] == 4;
}

/* sid_matches: does entry SID sid name the caller? OWNER RIGHTS names the owner. */
static bool sid_matches(const token_t *t, const sd_t *sd, const sid_t *sid, bool for_deny)
{
	const sid_t *s = sid;
	if (is_owner_rights(sid)) {
		if (!sd->has_owner) {
			return false;
		}
		s = &sd->owner;
	}
	return for_deny ? token_has_sid(t, s) : token_has_enabled_sid(t, s);
}

cerr_t sd_access_check(const sd_t *sd, const token_t *t, uint32_t desired, const sd_generic_mapping_t *map,
		       uint32_t *granted, const char **why)
{
	return sd_access_check_object(sd, t, desired, NULL, map, granted, why);
}

cerr_t sd_access_check_object(const sd_t *sd, const token_t *t, uint32_t desired, const guid_t *object_type,
			      const sd_generic_mapping_t *map, uint32_t *granted, const char **why)
{
	char r1[160], r2[160], at[1024];
	why_buf[0] = '\0';
	if (why) {
		*why = why_buf;
	}
	if (granted) {
		*granted = 0;
	}
	if (!sd || !t || desired == 0) {
		why_set("access check called without a descriptor, a token or any desired access");
		return CERR_INVALID_ARG;
	}
	const char *who = token_account_name(t);
	bool want_max = (desired & SD_MAXIMUM_ALLOWED) != 0;
	uint32_t want = map_generic(desired & ~SD_MAXIMUM_ALLOWED, map);
	if (want == 0 && !want_max) {
		why_set("access check called for generic rights the mapping turns into nothing");
		return CERR_INVALID_ARG;
	}
	if (want & SD_ACCESS_SYSTEM_SECURITY) {
		why_set("ACCESS_SYSTEM_SECURITY needs SeSecurityPrivilege, which certa does not grant");
		return CERR_STATUS_ACCESS_DENIED;
	}
	/* No DACL, or a NULL DACL: no policy, everything is granted. */
	if (!(sd->control & SD_CTRL_DACL_PRESENT) || !sd->dacl) {
		uint32_t all = want | (want_max ? (map ? map->all : 0x001FFFFFu) : 0);
		if (granted) {
			*granted = all;
		}
		why_set("%s: the descriptor has %s, which grants everything", who,
			(sd->control & SD_CTRL_DACL_PRESENT) ? "a NULL DACL" : "no DACL");
		return CERR_OK;
	}
	const sd_acl_t *dacl = sd->dacl;
	uint32_t have = 0, denied = 0;
	/* The owner's implicit READ_CONTROL | WRITE_DAC, unless an OWNER RIGHTS
	 * entry says what the owner gets instead. */
	bool owner_rights_entry = false;
	for (size_t i = 0; i < dacl->num_aces; i++) {
		const sd_ace_t *a = &dacl->aces[i];
		if (!a->raw && !(a->flags & SD_ACE_FLAG_INHERIT_ONLY) && is_owner_rights(&a->sid)) {
			owner_rights_entry = true;
		}
	}
	bool owner_implicit = !owner_rights_entry && sd->has_owner && token_has_enabled_sid(t, &sd->owner);
	if (owner_implicit) {
		have = SD_READ_CONTROL | SD_WRITE_DAC;
	}
	size_t last_grant = SIZE_MAX;
	if (!want_max && (want & ~have) == 0) {
		if (granted) {
			*granted = want;
		}
		why_set("%s owns the object, which grants %s", who, rights_text(want, r1, sizeof(r1)));
		return CERR_OK;
	}
	for (size_t i = 0; i < dacl->num_aces; i++) {
		const sd_ace_t *a = &dacl->aces[i];
		ace_effect_t eff = a->raw ? EFFECT_NONE : ace_effect(a->type);
		if (eff == EFFECT_NONE || (a->flags & SD_ACE_FLAG_INHERIT_ONLY)) {
			continue;
		}
		if (ace_layout(a->type) == LAYOUT_OBJECT && (a->object_flags & SD_ACE_OBJECT_TYPE_PRESENT) &&
		    !(object_type && guid_equal(object_type, &a->object_type))) {
			continue;
		}
		if (!sid_matches(t, sd, &a->sid, eff == EFFECT_DENY)) {
			continue;
		}
		uint32_t mask = map_generic(a->mask, map);
		if (eff == EFFECT_DENY) {
			if (want_max) {
				denied |= mask & ~have;
			}
			uint32_t hit = mask & want & ~have;
			if (hit) {
				why_set("%s denies %s to %s", ace_text(a, i, at, sizeof(at)), rights_text(hit, r1, sizeof(r1)),
					who);
				return CERR_STATUS_ACCESS_DENIED;
			}
			continue;
		}
		uint32_t add = want_max ? (mask & ~denied) : (mask & want);
		bool earlier = (have & want) != 0; /* owner rights or earlier entries contributed */
		if (add & ~have) {
			have |= add;
			last_grant = i;
		}
		if (!want_max && (want & ~have) == 0) {
			if (granted) {
				*granted = want;
			}
			why_set("%s grants %s%s to %s", ace_text(a, i, at, sizeof(at)), earlier ? "the rest of " : "",
				rights_text(want, r1, sizeof(r1)), who);
			return CERR_OK;
		}
	}
	if (want_max) {
		if (have != 0 && (want & ~have) == 0) {
			if (granted) {
				*granted = have;
			}
			why_set("%s may have %s (MAXIMUM_ALLOWED)", who, rights_text(have, r1, sizeof(r1)));
			return CERR_OK;
		}
		why_set("the DACL grants %s only %s, not %s", who, have ? rights_text(have, r1, sizeof(r1)) : "nothing",
			rights_text(want & ~have ? want & ~have : want, r2, sizeof(r2)));
		return CERR_STATUS_ACCESS_DENIED;
	}
	if (dacl->num_aces == 0) {
		why_set("the DACL is empty, so nobody but the owner gets anything; %s is refused %s", who,
			rights_text(want & ~have, r1, sizeof(r1)));
	} else if (last_grant == SIZE_MAX) {
		why_set("no DACL entry grants %s anything of %s", who, rights_text(want, r1, sizeof(r1)));
	} else {
		why_set("no DACL entry grants %s %s (%s granted the rest)", who, rights_text(want & ~have, r1, sizeof(r1)),
			ace_text(&dacl->aces[last_grant], last_grant, at, sizeof(at)));
	}
	return CERR_STATUS_ACCESS_DENIED;
}
