/*
 * sd.h - Windows security descriptors: the self-relative binary form
 * (MS-DTYP 2.4.6) with its ACLs (2.4.5) and ACEs (2.4.4), the SDDL text form
 * (2.5.1), and the DACL access check (2.5.3.2). DCOM's machine-wide launch and
 * access restrictions use it now; certificate-template and CA ACLs later.
 * A descriptor is immutable once built (SDDL or binary) and shared by
 * reference, so a reloaded policy swaps whole descriptors, never edits one.
 */
#ifndef CERTA_SECURITY_SD_H
#define CERTA_SECURITY_SD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "security/sid.h"
#include "security/token.h"
#include "util/cursor.h"
#include "util/err.h"
#include "util/guid.h"

/* ---- access masks (MS-DTYP 2.4.3) ---- */
#define SD_GENERIC_READ 0x80000000u
#define SD_GENERIC_WRITE 0x40000000u
#define SD_GENERIC_EXECUTE 0x20000000u
#define SD_GENERIC_ALL 0x10000000u
#define SD_MAXIMUM_ALLOWED 0x02000000u
#define SD_ACCESS_SYSTEM_SECURITY 0x01000000u
#define SD_SYNCHRONIZE 0x00100000u
#define SD_WRITE_OWNER 0x00080000u
#define SD_WRITE_DAC 0x00040000u
#define SD_READ_CONTROL 0x00020000u
#define SD_DELETE 0x00010000u

/* Directory-object rights (MS-ADTS 5.1.3.2; SDDL RP WP CC DC LC SW LO DT CR). */
#define SD_DS_CREATE_CHILD 0x00000001u
#define SD_DS_DELETE_CHILD 0x00000002u
#define SD_DS_LIST_CHILDREN 0x00000004u
#define SD_DS_SELF 0x00000008u
#define SD_DS_READ_PROPERTY 0x00000010u
#define SD_DS_WRITE_PROPERTY 0x00000020u
#define SD_DS_DELETE_TREE 0x00000040u
#define SD_DS_LIST_OBJECT 0x00000080u
#define SD_DS_CONTROL_ACCESS 0x00000100u

/* COM launch/access rights (Microsoft, "Access Control Lists for COM",
 * learn.microsoft.com/windows/win32/com/access-control-lists-for-com): in SDDL
 * they print as CC DC LC SW RP. COM_RIGHTS_EXECUTE is always set alongside the
 * others (an ACL without it is invalid to COM). */
#define SD_COM_RIGHTS_EXECUTE 0x01u
#define SD_COM_RIGHTS_EXECUTE_LOCAL 0x02u
#define SD_COM_RIGHTS_EXECUTE_REMOTE 0x04u
#define SD_COM_RIGHTS_ACTIVATE_LOCAL 0x08u
#define SD_COM_RIGHTS_ACTIVATE_REMOTE 0x10u

/* Mandatory-label policy bits (SYSTEM_MANDATORY_LABEL_ACE mask; SDDL NW NR NX). */
#define SD_MANDATORY_NO_WRITE_UP 0x1u
#define SD_MANDATORY_NO_READ_UP 0x2u
#define SD_MANDATORY_NO_EXECUTE_UP 0x4u

/* Certificate-Enrollment extended right (MS-CRTD 2.5.1: an
 * ACCESS_ALLOWED_OBJECT_ACE with SD_DS_CONTROL_ACCESS and this ObjectType): 0e10c968-78fb-11d2-90d4-00c04f79dc55. */
#define SD_GUID_S_CERTIFICATE_ENROLLMENT "0e10c968-78fb-11d2-90d4-00c04f79dc55"

/* ---- ACE types and flags (MS-DTYP 2.4.4.1) ---- */
#define SD_ACE_ACCESS_ALLOWED 0x00u
#define SD_ACE_ACCESS_DENIED 0x01u
#define SD_ACE_SYSTEM_AUDIT 0x02u
#define SD_ACE_SYSTEM_ALARM 0x03u
#define SD_ACE_ACCESS_ALLOWED_COMPOUND 0x04u
#define SD_ACE_ACCESS_ALLOWED_OBJECT 0x05u
#define SD_ACE_ACCESS_DENIED_OBJECT 0x06u
#define SD_ACE_SYSTEM_AUDIT_OBJECT 0x07u
#define SD_ACE_SYSTEM_ALARM_OBJECT 0x08u
#define SD_ACE_ACCESS_ALLOWED_CALLBACK 0x09u
#define SD_ACE_ACCESS_DENIED_CALLBACK 0x0Au
#define SD_ACE_ACCESS_ALLOWED_CALLBACK_OBJECT 0x0Bu
#define SD_ACE_ACCESS_DENIED_CALLBACK_OBJECT 0x0Cu
#define SD_ACE_SYSTEM_AUDIT_CALLBACK 0x0Du
#define SD_ACE_SYSTEM_ALARM_CALLBACK 0x0Eu
#define SD_ACE_SYSTEM_AUDIT_CALLBACK_OBJECT 0x0Fu
#define SD_ACE_SYSTEM_ALARM_CALLBACK_OBJECT 0x10u
#define SD_ACE_SYSTEM_MANDATORY_LABEL 0x11u
#define SD_ACE_SYSTEM_RESOURCE_ATTRIBUTE 0x12u
#define SD_ACE_SYSTEM_SCOPED_POLICY_ID 0x13u

#define SD_ACE_FLAG_OBJECT_INHERIT 0x01u       /* OI */
#define SD_ACE_FLAG_CONTAINER_INHERIT 0x02u    /* CI */
#define SD_ACE_FLAG_NO_PROPAGATE_INHERIT 0x04u /* NP */
#define SD_ACE_FLAG_INHERIT_ONLY 0x08u         /* IO: skipped by the access check */
#define SD_ACE_FLAG_INHERITED 0x10u            /* ID */
#define SD_ACE_FLAG_CRITICAL 0x20u             /* no SDDL form here */
#define SD_ACE_FLAG_SUCCESSFUL_ACCESS 0x40u    /* SA */
#define SD_ACE_FLAG_FAILED_ACCESS 0x80u        /* FA */

/* Object ACE Flags field (MS-DTYP 2.4.4.3): which GUIDs follow. */
#define SD_ACE_OBJECT_TYPE_PRESENT 0x1u
#define SD_ACE_INHERITED_OBJECT_TYPE_PRESENT 0x2u

/* ---- SECURITY_DESCRIPTOR Control (MS-DTYP 2.4.6) ---- */
#define SD_CTRL_OWNER_DEFAULTED 0x0001u
#define SD_CTRL_GROUP_DEFAULTED 0x0002u
#define SD_CTRL_DACL_PRESENT 0x0004u
#define SD_CTRL_DACL_DEFAULTED 0x0008u
#define SD_CTRL_SACL_PRESENT 0x0010u
#define SD_CTRL_SACL_DEFAULTED 0x0020u
#define SD_CTRL_DACL_TRUSTED 0x0040u
#define SD_CTRL_SERVER_SECURITY 0x0080u
#define SD_CTRL_DACL_AUTO_INHERIT_REQ 0x0100u /* SDDL D:AR */
#define SD_CTRL_SACL_AUTO_INHERIT_REQ 0x0200u /* SDDL S:AR */
#define SD_CTRL_DACL_AUTO_INHERITED 0x0400u   /* SDDL D:AI */
#define SD_CTRL_SACL_AUTO_INHERITED 0x0800u   /* SDDL S:AI */
#define SD_CTRL_DACL_PROTECTED 0x1000u        /* SDDL D:P */
#define SD_CTRL_SACL_PROTECTED 0x2000u        /* SDDL S:P */
#define SD_CTRL_RM_CONTROL_VALID 0x4000u
#define SD_CTRL_SELF_RELATIVE 0x8000u

/* ---- the parsed structure (read-only for callers) ---- */

/* One ACE. Types with a mask and a SID (allow, deny, audit, alarm, their
 * callback forms, mandatory label, resource attribute, scoped policy) fill
 * mask and sid; object types (0x05-0x08, 0x0B, 0x0C, 0x0F, 0x10) also
 * object_flags and the GUIDs it announces. data holds what follows the SID
 * inside AceSize (callback application data, resource attribute, padding), so
 * re-encoding reproduces the ACE. Any other type (compound 0x04, unknown) is
 * kept raw: data is the whole body after the 4-byte header; mask/sid unset. */
typedef struct sd_ace {
	uint8_t type;   /* SD_ACE_* */
	uint8_t flags;  /* SD_ACE_FLAG_* */
	bool raw;       /* body kept as bytes only (see above) */
	uint32_t mask;
	uint32_t object_flags;        /* SD_ACE_*_PRESENT, object types only */
	guid_t object_type;           /* valid with SD_ACE_OBJECT_TYPE_PRESENT */
	guid_t inherited_object_type; /* valid with SD_ACE_INHERITED_OBJECT_TYPE_PRESENT */
	sid_t sid;
	uint8_t *data;
	size_t data_len;
} sd_ace_t;

/* An ACL: revision 2 (ACL_REVISION) or 4 (ACL_REVISION_DS, needed for object ACEs). */
typedef struct sd_acl {
	uint8_t revision;
	size_t num_aces; /* <= 65535 (AceCount is 16 bits) */
	sd_ace_t *aces;
} sd_acl_t;

/* A security descriptor. dacl == NULL with SD_CTRL_DACL_PRESENT is a NULL
 * DACL (everyone gets everything); without the bit there is no DACL, which
 * the access check treats the same way (MS-DTYP 2.5.3.2). Likewise for sacl. */
typedef struct sd {
	uint8_t revision; /* 1 */
	uint8_t sbz1;     /* resource-manager control bits (with SD_CTRL_RM_CONTROL_VALID), kept */
	uint16_t control; /* SD_CTRL_*; SD_CTRL_SELF_RELATIVE always set */
	bool has_owner;
	bool has_group;
	sid_t owner;
	sid_t group;
	sd_acl_t *sacl;
	sd_acl_t *dacl;
} sd_t;

/* ---- lifetime ---- */

/* sd_ref adds a reference and returns sd (thread-safe; NULL-safe). */
sd_t *sd_ref(sd_t *sd);
/* sd_free drops a reference and frees the descriptor with the last (NULL-safe). */
void sd_free(sd_t *sd);

/* ---- SDDL (MS-DTYP 2.5.1) ---- */

/* sd_from_sddl parses an SDDL string: components O:, G:, D:, S: in any order,
 * each at most once; D:/S: take flags P, AR, AI, NO_ACCESS_CONTROL, then ACEs
 * "(type;flags;rights;object-guid;inherit-object-guid;sid)".
 *   types  A D OA OD in a DACL; AU AL OU OL ML in a SACL (as Windows, which
 *          refuses audit entries in a DACL). Callback/conditional types (XA XD
 *          ZA XU), RA and SP are refused: conditional expressions are not parsed.
 *   flags  OI CI NP IO ID SA FA.
 *   rights "0x" hex, decimal, or octal with a leading 0 (< 2^32), or two-letter
 *          codes: GA GR GW GX RC SD WD WO RP WP CC DC LC SW LO DT CR FA FR FW FX
 *          KA KR KW KX NR NW NX. Empty means 0.
 *   guids  36-character form, object types only; empty when absent.
 *   sid    a two-letter alias (sid_from_sddl_alias; DA, DU... need domain_sid)
 *          or the S-1-... form sid_parse accepts.
 * Stricter than Windows: no white space, upper-case codes only, and SIDs in
 * sid_parse's form (Windows also takes hex sub-authorities). Returns
 * CERR_MALFORMED (or CERR_LIMIT for an ACL over 65535 bytes, CERR_NOMEM) and
 * writes "at offset N: what" into err (when err_len > 0), N counting bytes
 * from the start of sddl. *out gets one reference on success. */
cerr_t sd_from_sddl(const char *sddl, const sid_t *domain_sid, sd_t **out, char *err, size_t err_len);

/* sd_to_sddl formats sd the way ConvertSecurityDescriptorToStringSecurityDescriptor
 * does: O: G: D: S: in that order; ACL flags P AR AI (NO_ACCESS_CONTROL for a
 * NULL ACL); rights as one composite code when the mask equals FA FR FW FX KA
 * KR KW KX, else single-bit codes in bit order (CCDCLCSWRP), else lower-case hex
 * "0x1200a9" when a bit has no code; NW NR NX for mandatory labels; GUIDs lower
 * case; SIDs by alias when there is one (domain_sid may be NULL). Control bits
 * with no SDDL form are dropped, as Windows does. Returns a malloc'd string (free
 * with free()), or NULL on allocation failure or when sd holds what SDDL here
 * cannot express (raw or callback ACEs, the CRITICAL ACE flag, an entry in the
 * ACL sd_from_sddl refuses its type in, e.g. an audit entry in a DACL). */
char *sd_to_sddl(const sd_t *sd, const sid_t *domain_sid);

/* ---- binary self-relative form (MS-DTYP 2.4.6) ---- */

/* sd_decode reads a self-relative security descriptor: the cursor's remaining
 * bytes are the descriptor buffer (offsets count from the current position;
 * integers are little-endian whatever the cursor's order). Owner, group, SACL
 * and DACL are read where their offsets point; gaps and slack are allowed, as
 * Windows allows them. Checked: revision 1, SE_SELF_RELATIVE, offsets within
 * the buffer and past the 20-byte header, no ACL offset without its PRESENT
 * bit, ACL revision 2 or 4 with zero Sbz fields, AceCount ACEs within AclSize,
 * AceSize a multiple of 4 and large enough for its type. On success the cursor
 * is advanced to its end and *out holds one reference; on failure the cursor
 * is unchanged (CERR_TRUNCATED, CERR_MALFORMED, CERR_NOMEM). */
cerr_t sd_decode(cur_t *c, sd_t **out);
/* sd_encode appends sd in self-relative form, laid out as Windows lays it out
 * (header, SACL, DACL, owner, group), offsets relative to where it starts in b.
 * ACEs are written with AceSize rounded up to 4 (data padded with zeros).
 * Failure (growth past b's cap) sets b's sticky error. */
void sd_encode(buf_t *b, const sd_t *sd);
/* sd_wire_len is the number of bytes sd_encode appends. */
size_t sd_wire_len(const sd_t *sd);

/* ---- access check (MS-DTYP 2.5.3.2) ---- */

/* What GENERIC_READ/WRITE/EXECUTE/ALL mean for a kind of object. */
typedef struct sd_generic_mapping {
	uint32_t read;
	uint32_t write;
	uint32_t execute;
	uint32_t all;
} sd_generic_mapping_t;

/* Directory objects (certificate templates, enrollment services): Windows'
 * DS_GENERIC_READ/WRITE/EXECUTE/ALL (ntdsapi.h): RC|LC|RP|LO, RC|SW|WP, RC|LC,
 * and STANDARD_RIGHTS_REQUIRED | all DS rights. */
extern const sd_generic_mapping_t sd_generic_mapping_ds;

/* sd_access_check decides whether token t may have `desired` on an object
 * protected by sd, walking the DACL in order:
 *   - generic bits in desired and in ACE masks are mapped through map (when
 *     map is NULL they are left as they are and match only literally);
 *   - no DACL or a NULL DACL grants everything; an empty DACL grants nothing;
 *   - the owner (token holds sd's owner, enabled) is granted READ_CONTROL |
 *     WRITE_DAC first, unless the DACL has an OWNER RIGHTS (S-1-3-4) entry,
 *     which then applies to the owner instead;
 *   - INHERIT_ONLY entries are skipped; a deny entry whose SID the token holds
 *     (token_has_sid: deny-only groups count) denies if it names any desired
 *     bit not yet granted; an allow entry whose SID the token holds enabled
 *     (token_has_enabled_sid) grants its bits;
 *   - object entries without an ObjectType apply like plain ones; with one,
 *     only when it equals object_type (sd_access_check_object), e.g.
 *     Certificate-Enrollment with SD_DS_CONTROL_ACCESS;
 *   - callback entries: their condition counts as UNKNOWN (not evaluated), so
 *     callback allow entries never grant and callback deny entries deny;
 *   - MAXIMUM_ALLOWED asks for everything the DACL would grant (success when
 *     that is not nothing and includes the other desired bits);
 *     ACCESS_SYSTEM_SECURITY is never granted (it needs a privilege).
 * Not modelled: privileges, mandatory integrity (the SACL label), restricted
 * tokens, PRINCIPAL_SELF substitution, object type lists beyond one GUID.
 * Returns CERR_OK when every desired bit is granted, CERR_STATUS_ACCESS_DENIED
 * (what AccessCheck's AccessStatus says; callers map it to their protocol's
 * code, e.g. E_ACCESSDENIED for DCOM) when not, CERR_INVALID_ARG when sd or t
 * is NULL or desired is 0. *granted (may be NULL) receives the granted mask on
 * success and 0 otherwise. *why (may be NULL) points at a sentence naming the
 * deciding entry, e.g. "DACL entry 2 (A;;CCDCSW;;;WD) grants ..., but no entry
 * grants RP"; it lives in thread-local storage until the thread's next check. */
cerr_t sd_access_check(const sd_t *sd, const token_t *t, uint32_t desired, const sd_generic_mapping_t *map,
		       uint32_t *granted, const char **why);
/* sd_access_check_object is sd_access_check for the object type object_type
 * (NULL: same as sd_access_check). */
cerr_t sd_access_check_object(const sd_t *sd, const token_t *t, uint32_t desired, const guid_t *object_type,
			      const sd_generic_mapping_t *map, uint32_t *granted, const char **why);

/* ---- Windows' default DCOM descriptors, as SDDL (values and sources in sd.c) ----
 * MachineLaunchRestriction: Administrators local+remote launch and activation,
 *   Everyone local launch and activation, Distributed COM Users (S-1-5-32-562)
 *   and Performance Log Users (LU) local+remote launch and activation.
 * MachineAccessRestriction: Everyone local+remote access, ANONYMOUS LOGON local
 *   access, Distributed COM Users and Performance Log Users local+remote access.
 * The _ca variants add what CA setup adds (KB 903220): Certificate Service DCOM
 *   Access (CD, S-1-5-32-574) local+remote activation and local+remote access.
 * certsrv_request_*: the CertSrv Request application's own launch and access
 *   permissions (Everyone activation and access, no launch), partly UNCONFIRMED. */
extern const char sd_default_machine_launch_restriction_sddl[];
extern const char sd_default_machine_access_restriction_sddl[];
extern const char sd_default_machine_launch_restriction_ca_sddl[];
extern const char sd_default_machine_access_restriction_ca_sddl[];
extern const char sd_default_launch_permission_sddl[];
extern const char sd_default_certsrv_request_launch_sddl[];
extern const char sd_default_certsrv_request_access_sddl[];

#endif
