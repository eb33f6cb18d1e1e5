/*
 * sid.h - security identifiers (MS-DTYP 2.4.2): the plain struct, the string
 * form "S-1-5-21-...-500" (2.4.2.1), the packet form (2.4.2.2) and the NDR
 * RPC_SID (2.4.2.3, conformant count first), plus the table of well-known
 * SIDs with the names Windows prints ("NT AUTHORITY\NETWORK") and their SDDL
 * aliases (MS-DTYP 2.5.1.1). Everything that names a principal - PAC groups,
 * access tokens, user-rights policy, later SDDL - goes through this file.
 */
#ifndef CERTA_SECURITY_SID_H
#define CERTA_SECURITY_SID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/cursor.h"
#include "util/err.h"

/* MS-DTYP 2.4.2.2: "The maximum number of elements allowed is 15." */
#define SID_MAX_SUB_AUTHORITIES 15
/* Longest string form: "S-1-0x" + 12 hex digits + 15 * "-4294967295" + NUL. */
#define SID_STR_MAX 192

typedef struct sid {
	uint8_t revision;  /* always 1 */
	uint8_t num_auths; /* SubAuthorityCount, 0..15 */
	uint64_t authority; /* 48-bit IdentifierAuthority (big-endian on the wire) */
	uint32_t sub[SID_MAX_SUB_AUTHORITIES];
} sid_t;

/* Well-known RIDs used by name elsewhere (MS-DTYP 2.4.2.4). */
#define SID_RID_ADMINISTRATOR 500
#define SID_RID_GUEST 501
#define SID_RID_KRBTGT 502
#define SID_RID_DOMAIN_ADMINS 512
#define SID_RID_DOMAIN_USERS 513
#define SID_RID_DOMAIN_GUESTS 514
#define SID_RID_DOMAIN_COMPUTERS 515
#define SID_RID_DOMAIN_CONTROLLERS 516

/* Group attributes carried with a SID in a PAC (MS-PAC 2.2.1) and in an
 * access token (SID_AND_ATTRIBUTES, TOKEN_GROUPS). */
#define SE_GROUP_MANDATORY 0x00000001u
#define SE_GROUP_ENABLED_BY_DEFAULT 0x00000002u
#define SE_GROUP_ENABLED 0x00000004u
#define SE_GROUP_OWNER 0x00000008u
#define SE_GROUP_USE_FOR_DENY_ONLY 0x00000010u
#define SE_GROUP_INTEGRITY 0x00000020u
#define SE_GROUP_INTEGRITY_ENABLED 0x00000040u
#define SE_GROUP_RESOURCE 0x20000000u
#define SE_GROUP_LOGON_ID 0xC0000000u
/* What Windows gives the well-known groups it adds itself (whoami /groups:
 * "Mandatory group, Enabled by default, Enabled group"). */
#define SE_GROUP_DEFAULT_ATTRS (SE_GROUP_MANDATORY | SE_GROUP_ENABLED_BY_DEFAULT | SE_GROUP_ENABLED)

/* Well-known SIDs as string literals, for sid_from_literal and tests. */
#define SID_S_EVERYONE "S-1-1-0"
#define SID_S_NETWORK "S-1-5-2"
#define SID_S_ANONYMOUS "S-1-5-7"
#define SID_S_AUTHENTICATED_USERS "S-1-5-11"
#define SID_S_THIS_ORGANIZATION "S-1-5-15"
#define SID_S_SYSTEM "S-1-5-18"
#define SID_S_BUILTIN "S-1-5-32"
#define SID_S_BUILTIN_ADMINISTRATORS "S-1-5-32-544"
#define SID_S_BUILTIN_USERS "S-1-5-32-545"
#define SID_S_BUILTIN_GUESTS "S-1-5-32-546"
#define SID_S_BUILTIN_BACKUP_OPERATORS "S-1-5-32-551"
#define SID_S_CERTSVC_DCOM_ACCESS "S-1-5-32-574"
#define SID_S_NTLM_AUTHENTICATION "S-1-5-64-10"
#define SID_S_LOCAL_ACCOUNT "S-1-5-113"
#define SID_S_LOCAL_ACCOUNT_AND_ADMIN "S-1-5-114"
#define SID_S_AUTHENTICATION_AUTHORITY_ASSERTED "S-1-18-1"
#define SID_S_SERVICE_ASSERTED "S-1-18-2"

/* sid_parse reads the string form (MS-DTYP 2.4.2.1): "S-1-", the authority in
 * decimal (< 2^32) or as "0x" + 12 hex digits, then up to 15 "-" decimal
 * sub-authorities (< 2^32). No leading zeros, signs, spaces or trailing text.
 * A lower-case 's' is accepted as Windows does. Returns CERR_MALFORMED or
 * CERR_LIMIT (more than 15 sub-authorities); *out is untouched on failure. */
cerr_t sid_parse(sid_t *out, const char *s);
/* sid_parse_n is sid_parse on s[0..len) (no NUL needed). */
cerr_t sid_parse_n(sid_t *out, const char *s, size_t len);
/* sid_format writes the string form into out (SID_STR_MAX bytes suffice) and
 * returns out, so it can be used inside a log call. */
const char *sid_format(const sid_t *sid, char out[SID_STR_MAX]);
/* sid_from_literal builds a SID from a string known to be valid (tables, tests);
 * aborts on a typo rather than matching the wrong principal. */
sid_t sid_from_literal(const char *s);

/* sid_decode reads the packet form (MS-DTYP 2.4.2.2): revision 1, count <= 15,
 * 6-byte big-endian authority, then count sub-authorities in the cursor's byte
 * order. CERR_TRUNCATED / CERR_MALFORMED; the cursor is unchanged on failure. */
cerr_t sid_decode(cur_t *c, sid_t *out);
/* sid_decode_ndr reads an NDR RPC_SID (MS-DTYP 2.4.2.3): 4-aligned conformant
 * max_count, which must equal SubAuthorityCount, then the packet form. */
cerr_t sid_decode_ndr(cur_t *c, sid_t *out);
/* sid_encode appends the packet form (sub-authorities little-endian). */
void sid_encode(buf_t *b, const sid_t *sid);
/* sid_encode_ndr appends an NDR RPC_SID: align 4, max_count, packet form. */
void sid_encode_ndr(buf_t *b, const sid_t *sid);
/* sid_wire_len is the packet form's size: 8 + 4 * num_auths. */
size_t sid_wire_len(const sid_t *sid);

/* sid_compare orders SIDs (revision, count, authority, sub-authorities); 0 if equal. */
int sid_compare(const sid_t *a, const sid_t *b);
bool sid_equal(const sid_t *a, const sid_t *b);
/* sid_compose sets *out = domain + "-" rid ("domain SID + RID", MS-PAC 2.5).
 * CERR_LIMIT when domain already has 15 sub-authorities. out may alias domain. */
cerr_t sid_compose(sid_t *out, const sid_t *domain, uint32_t rid);
/* sid_split gives the domain part and last sub-authority (RID) of sid; false
 * when sid has no sub-authorities. Either output may be NULL. */
bool sid_split(const sid_t *sid, sid_t *out_domain, uint32_t *out_rid);
/* sid_in_domain is true when sid is domain plus exactly one RID. */
bool sid_in_domain(const sid_t *sid, const sid_t *domain);

/* ---- well-known SIDs ---- */

/* sid_wellknown_name is the name Windows prints for a fixed well-known SID
 * ("NT AUTHORITY\ANONYMOUS LOGON", "BUILTIN\Administrators", "Everyone"), or
 * NULL when sid is not in the table. Domain-relative SIDs (RID 500, 513...) are
 * not fixed; see sid_domain_rid_name. */
const char *sid_wellknown_name(const sid_t *sid);
/* sid_wellknown_lookup resolves a name from the table: the full name
 * ("BUILTIN\Users") or the part after the backslash ("Users"), compared
 * case-insensitively as LookupAccountName does. CERR_NOT_FOUND if absent. */
cerr_t sid_wellknown_lookup(const char *name, sid_t *out);
/* sid_domain_rid_name is the account name Windows gives a well-known RID in a
 * domain (500 "Administrator", 513 "Domain Users"...), or NULL. */
const char *sid_domain_rid_name(uint32_t rid);
/* sid_domain_rid_lookup is the reverse of sid_domain_rid_name (case-insensitive). */
bool sid_domain_rid_lookup(const char *name, uint32_t *out_rid);

/* sid_from_sddl_alias resolves a two-letter SDDL SID string ("WD", "BA", "DU",
 * MS-DTYP 2.5.1.1; case-sensitive, as in SDDL). Domain-relative aliases (DA, DU,
 * LA...) need domain; CERR_INVALID_ARG when it is NULL, CERR_NOT_FOUND for an
 * unknown alias. */
cerr_t sid_from_sddl_alias(const char *alias, const sid_t *domain, sid_t *out);
/* sid_to_sddl_alias gives the alias for sid (domain may be NULL to consider
 * only fixed SIDs), or NULL. */
const char *sid_to_sddl_alias(const sid_t *sid, const sid_t *domain);

#endif
