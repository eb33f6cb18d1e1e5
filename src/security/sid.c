/*
 * sid.c - SID string/packet/NDR forms and the well-known SID table (see
 * sid.h). Names are as Windows prints them (whoami /groups, event logs);
 * values from MS-DTYP 2.4.2.4, aliases from MS-DTYP 2.5.1.1 and Sddl.h
 * ("SID strings" in the Windows documentation).
 */
#include "security/sid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/ascii.h"

/* ---- string form (MS-DTYP 2.4.2.1) ---- */

/* dec32 reads 1..10 decimal digits without a leading zero (unless the number
 * is 0) and with a value below 2^32, advancing *pos. */
static bool dec32(const char *s, size_t len, size_t *pos, uint32_t *out)
{
	size_t i = *pos;
	uint64_t v = 0;
	size_t n = 0;
	while (i < len && ascii_is_digit(s[i])) {
		if (++n > 10) {
			return false;
		}
		v = v * 10 + (uint64_t)(s[i] - '0');
		i++;
	}
	if (n == 0 || v > UINT32_MAX || (n > 1 && s[*pos] == '0')) {
		return false;
	}
	*pos = i;
	*out = (uint32_t)v;
	return true;
}

cerr_t sid_parse_n(sid_t *out, const char *s, size_t len)
{
	sid_t sid = {.revision = 1};
	size_t i = 0;
	if (!s || len < 4 || (s[0] != 'S' && s[0] != 's') || s[1] != '-' || s[2] != '1' ||
	    s[3] != '-') {
		return CERR_MALFORMED;
	}
	i = 4;
	if (i + 1 < len && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
		/* "0x" 12HEXDIG: exactly 48 bits, never more */
		i += 2;
		uint64_t v = 0;
		for (int k = 0; k < 12; k++) {
			int h = i < len ? ascii_hex_value(s[i]) : -1;
			if (h < 0) {
				return CERR_MALFORMED;
			}
			v = (v << 4) | (uint64_t)h;
			i++;
		}
		if (i < len && ascii_hex_value(s[i]) >= 0) {
			return CERR_MALFORMED;
		}
		sid.authority = v;
	} else {
		uint32_t a;
		if (!dec32(s, len, &i, &a)) {
			return CERR_MALFORMED;
		}
		sid.authority = a;
	}
	while (i < len) {
		uint32_t v;
		if (s[i] != '-') {
			return CERR_MALFORMED;
		}
		i++;
		if (!dec32(s, len, &i, &v)) {
			return CERR_MALFORMED;
		}
		if (sid.num_auths == SID_MAX_SUB_AUTHORITIES) {
			return CERR_LIMIT;
		}
		sid.sub[sid.num_auths++] = v;
	}
	/* The ABNF asks for at least one sub-authority, but the packet form
	 * allows none ("S-1-5" is the NT authority itself); accept it so every
	 * decoded SID round-trips through its string form. */
	*out = sid;
	return CERR_OK;
}

cerr_t sid_parse(sid_t *out, const char *s)
{
	if (!s) {
		return CERR_MALFORMED;
	}
	return sid_parse_n(out, s, strlen(s));
}

const char *sid_format(const sid_t *sid, char out[SID_STR_MAX])
{
	int n;
	if (sid->authority >= ((uint64_t)1 << 32)) {
		n = snprintf(out, SID_STR_MAX, "S-%u-0x%012llX", (unsigned)sid->revision,
			     (unsigned long long)sid->authority);
	} else {
		n = snprintf(out, SID_STR_MAX, "S-%u-%llu", (unsigned)sid->revision,
			     (unsigned long long)sid->authority);
	}
	for (unsigned i = 0; i < sid->num_auths && i < SID_MAX_SUB_AUTHORITIES && n > 0 &&
			     (size_t)n < SID_STR_MAX;
	     i++) {
		n += snprintf(out + n, SID_STR_MAX - (size_t)n, "-%u", (unsigned)sid->sub[i]);
	}
	return out;
}

sid_t sid_from_literal(const char *s)
{
	sid_t sid;
	if (sid_parse(&sid, s) != CERR_OK) {
		fprintf(stderr, "certa: bad SID literal \"%s\"\n", s);
		abort();
	}
	return sid;
}

/* ---- packet and NDR forms (MS-DTYP 2.4.2.2, 2.4.2.3) ---- */

cerr_t sid_decode(cur_t *c, sid_t *out)
{
	cur_t save = *c;
	sid_t sid = {0};
	uint8_t auth[6];
	if (!cur_get_u8(c, &sid.revision) || !cur_get_u8(c, &sid.num_auths) ||
	    !cur_copy(c, auth, sizeof(auth))) {
		*c = save;
		return CERR_TRUNCATED;
	}
	if (sid.revision != 1 || sid.num_auths > SID_MAX_SUB_AUTHORITIES) {
		*c = save;
		return CERR_MALFORMED;
	}
	for (int i = 0; i < 6; i++) {
		sid.authority = (sid.authority << 8) | auth[i];
	}
	for (unsigned i = 0; i < sid.num_auths; i++) {
		if (!cur_get_u32(c, &sid.sub[i])) {
			*c = save;
			return CERR_TRUNCATED;
		}
	}
	*out = sid;
	return CERR_OK;
}

cerr_t sid_decode_ndr(cur_t *c, sid_t *out)
{
	cur_t save = *c;
	uint32_t max_count;
	if (!cur_align(c, 4) || !cur_get_u32(c, &max_count)) {
		*c = save;
		return CERR_TRUNCATED;
	}
	cerr_t e = sid_decode(c, out);
	if (e != CERR_OK) {
		*c = save;
		return e;
	}
	/* [size_is(SubAuthorityCount)]: the conformance must agree with the count */
	if (max_count != out->num_auths) {
		*c = save;
		return CERR_MALFORMED;
	}
	return CERR_OK;
}

void sid_encode(buf_t *b, const sid_t *sid)
{
	unsigned n = sid->num_auths <= SID_MAX_SUB_AUTHORITIES ? sid->num_auths : SID_MAX_SUB_AUTHORITIES;
	buf_put_u8(b, sid->revision);
	buf_put_u8(b, (uint8_t)n);
	for (int i = 5; i >= 0; i--) {
		buf_put_u8(b, (uint8_t)(sid->authority >> (8 * i)));
	}
	for (unsigned i = 0; i < n; i++) {
		buf_put_u32(b, sid->sub[i]);
	}
}

void sid_encode_ndr(buf_t *b, const sid_t *sid)
{
	unsigned n = sid->num_auths <= SID_MAX_SUB_AUTHORITIES ? sid->num_auths : SID_MAX_SUB_AUTHORITIES;
	buf_align(b, 4);
	buf_put_u32(b, n);
	sid_encode(b, sid);
}

size_t sid_wire_len(const sid_t *sid) { return 8 + 4 * (size_t)sid->num_auths; }

/* ---- comparison and composition ---- */

int sid_compare(const sid_t *a, const sid_t *b)
{
	if (a->revision != b->revision) {
		return a->revision < b->revision ? -1 : 1;
	}
	if (a->num_auths != b->num_auths) {
		return a->num_auths < b->num_auths ? -1 : 1;
	}
	if (a->authority != b->authority) {
		return a->authority < b->authority ? -1 : 1;
	}
	for (unsigned i = 0; i < a->num_auths && i < SID_MAX_SUB_AUTHORITIES; i++) {
		if (a->sub[i] != b->sub[i]) {
			return a->sub[i] < b->sub[i] ? -1 : 1;
		}
	}
	return 0;
}

bool sid_equal(const sid_t *a, const sid_t *b) { return sid_compare(a, b) == 0; }

cerr_t sid_compose(sid_t *out, const sid_t *domain, uint32_t rid)
{
	if (domain->num_auths >= SID_MAX_SUB_AUTHORITIES) {
		return CERR_LIMIT;
	}
	sid_t s = *domain;
	s.sub[s.num_auths++] = rid;
	*out = s;
	return CERR_OK;
}

bool sid_split(const sid_t *sid, sid_t *out_domain, uint32_t *out_rid)
{
	if (sid->num_auths == 0 || sid->num_auths > SID_MAX_SUB_AUTHORITIES) {
		return false;
	}
	uint32_t rid = sid->sub[sid->num_auths - 1];
	if (out_domain) {
		*out_domain = *sid;
		out_domain->num_auths--;
		out_domain->sub[out_domain->num_auths] = 0;
	}
	if (out_rid) {
		*out_rid = rid;
	}
	return true;
}

bool sid_in_domain(const sid_t *sid, const sid_t *domain)
{
	sid_t d;
	return sid_split(sid, &d, NULL) && sid_equal(&d, domain);
}

/* ---- well-known table ---- */

/* Fixed SIDs (MS-DTYP 2.4.2.4). Names as Windows prints them; sddl from the
 * MS-DTYP 2.5.1.1 sid-token list, plus AS/SS/AP/KA/EK which Sddl.h adds. */
typedef struct wk_fixed {
	const char *sid;
	const char *name;
	const char *sddl;
} wk_fixed_t;

static const wk_fixed_t wk_fixed[] = {
	{"S-1-0-0", "NULL SID", NULL},
	{"S-1-1-0", "Everyone", "WD"},
	{"S-1-2-0", "LOCAL", NULL},
	{"S-1-2-1", "CONSOLE LOGON", NULL},
	{"S-1-3-0", "CREATOR OWNER", "CO"},
	{"S-1-3-1", "CREATOR GROUP", "CG"},
	{"S-1-3-4", "OWNER RIGHTS", "OW"},
	{"S-1-5-1", "NT AUTHORITY\\DIALUP", NULL},
	{"S-1-5-2", "NT AUTHORITY\\NETWORK", "NU"},
	{"S-1-5-3", "NT AUTHORITY\\BATCH", NULL},
	{"S-1-5-4", "NT AUTHORITY\\INTERACTIVE", "IU"},
	{"S-1-5-6", "NT AUTHORITY\\SERVICE", "SU"},
	{"S-1-5-7", "NT AUTHORITY\\ANONYMOUS LOGON", "AN"},
	{"S-1-5-8", "NT AUTHORITY\\PROXY", NULL},
	{"S-1-5-9", "NT AUTHORITY\\ENTERPRISE DOMAIN CONTROLLERS", "ED"},
	{"S-1-5-10", "NT AUTHORITY\\SELF", "PS"},
	{"S-1-5-11", "NT AUTHORITY\\Authenticated Users", "AU"},
	{"S-1-5-12", "NT AUTHORITY\\RESTRICTED", "RC"},
	{"S-1-5-13", "NT AUTHORITY\\TERMINAL SERVER USER", NULL},
	{"S-1-5-14", "NT AUTHORITY\\REMOTE INTERACTIVE LOGON", NULL},
	{"S-1-5-15", "NT AUTHORITY\\This Organization", NULL},
	{"S-1-5-17", "NT AUTHORITY\\IUSR", NULL},
	{"S-1-5-18", "NT AUTHORITY\\SYSTEM", "SY"},
	{"S-1-5-19", "NT AUTHORITY\\LOCAL SERVICE", "LS"},
	{"S-1-5-20", "NT AUTHORITY\\NETWORK SERVICE", "NS"},
	{"S-1-5-33", "NT AUTHORITY\\WRITE RESTRICTED", "WR"},
	{"S-1-5-32-544", "BUILTIN\\Administrators", "BA"},
	{"S-1-5-32-545", "BUILTIN\\Users", "BU"},
	{"S-1-5-32-546", "BUILTIN\\Guests", "BG"},
	{"S-1-5-32-547", "BUILTIN\\Power Users", "PU"},
	{"S-1-5-32-548", "BUILTIN\\Account Operators", "AO"},
	{"S-1-5-32-549", "BUILTIN\\Server Operators", "SO"},
	{"S-1-5-32-550", "BUILTIN\\Print Operators", "PO"},
	{"S-1-5-32-551", "BUILTIN\\Backup Operators", "BO"},
	{"S-1-5-32-552", "BUILTIN\\Replicator", "RE"},
	{"S-1-5-32-554", "BUILTIN\\Pre-Windows 2000 Compatible Access", "RU"},
	{"S-1-5-32-555", "BUILTIN\\Remote Desktop Users", "RD"},
	{"S-1-5-32-556", "BUILTIN\\Network Configuration Operators", "NO"},
	{"S-1-5-32-558", "BUILTIN\\Performance Monitor Users", "MU"},
	{"S-1-5-32-559", "BUILTIN\\Performance Log Users", "LU"},
	{"S-1-5-32-560", "BUILTIN\\Windows Authorization Access Group", NULL},
	{"S-1-5-32-561", "BUILTIN\\Terminal Server License Servers", NULL},
	{"S-1-5-32-562", "BUILTIN\\Distributed COM Users", NULL},
	{"S-1-5-32-568", "BUILTIN\\IIS_IUSRS", "IS"},
	{"S-1-5-32-569", "BUILTIN\\Cryptographic Operators", "CY"},
	{"S-1-5-32-573", "BUILTIN\\Event Log Readers", "ER"},
	{"S-1-5-32-574", "BUILTIN\\Certificate Service DCOM Access", "CD"},
	{"S-1-5-32-575", "BUILTIN\\RDS Remote Access Servers", "RA"},
	{"S-1-5-32-576", "BUILTIN\\RDS Endpoint Servers", "ES"},
	{"S-1-5-32-577", "BUILTIN\\RDS Management Servers", "MS"},
	{"S-1-5-32-578", "BUILTIN\\Hyper-V Administrators", "HA"},
	{"S-1-5-32-579", "BUILTIN\\Access Control Assistance Operators", "AA"},
	{"S-1-5-32-580", "BUILTIN\\Remote Management Users", "RM"},
	{"S-1-5-64-10", "NT AUTHORITY\\NTLM Authentication", NULL},
	{"S-1-5-64-14", "NT AUTHORITY\\SChannel Authentication", NULL},
	{"S-1-5-64-21", "NT AUTHORITY\\Digest Authentication", NULL},
	{"S-1-5-80-0", "NT SERVICE\\ALL SERVICES", NULL},
	{"S-1-5-84-0-0-0-0-0", "NT AUTHORITY\\USER MODE DRIVERS", "UD"},
	{"S-1-5-113", "NT AUTHORITY\\Local account", NULL},
	{"S-1-5-114", "NT AUTHORITY\\Local account and member of Administrators group", NULL},
	{"S-1-5-1000", "NT AUTHORITY\\Other Organization", NULL},
	{"S-1-15-2-1", "APPLICATION PACKAGE AUTHORITY\\ALL APPLICATION PACKAGES", "AC"},
	{"S-1-16-4096", "Mandatory Label\\Low Mandatory Level", "LW"},
	{"S-1-16-8192", "Mandatory Label\\Medium Mandatory Level", "ME"},
	{"S-1-16-8448", "Mandatory Label\\Medium Plus Mandatory Level", "MP"},
	{"S-1-16-12288", "Mandatory Label\\High Mandatory Level", "HI"},
	{"S-1-16-16384", "Mandatory Label\\System Mandatory Level", "SI"},
	{"S-1-18-1", "Authentication authority asserted identity", "AS"},
	{"S-1-18-2", "Service asserted identity", "SS"},
};

/* Well-known RIDs inside a domain (account domain or AD domain). RO, EA and
 * SA are relative to the forest root domain; the caller passes that domain. */
typedef struct wk_rid {
	uint32_t rid;
	const char *name;
	const char *sddl;
} wk_rid_t;

static const wk_rid_t wk_rids[] = {
	{498, "Enterprise Read-only Domain Controllers", "RO"},
	{500, "Administrator", "LA"},
	{501, "Guest", "LG"},
	{502, "krbtgt", NULL},
	{512, "Domain Admins", "DA"},
	{513, "Domain Users", "DU"},
	{514, "Domain Guests", "DG"},
	{515, "Domain Computers", "DC"},
	{516, "Domain Controllers", "DD"},
	{517, "Cert Publishers", "CA"},
	{518, "Schema Admins", "SA"},
	{519, "Enterprise Admins", "EA"},
	{520, "Group Policy Creator Owners", "PA"},
	{521, "Read-only Domain Controllers", NULL},
	{522, "Cloneable Domain Controllers", "CN"},
	{525, "Protected Users", "AP"},
	{526, "Key Admins", "KA"},
	{527, "Enterprise Key Admins", "EK"},
	{553, "RAS and IAS Servers", "RS"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *sid_wellknown_name(const sid_t *sid)
{
	char s[SID_STR_MAX];
	sid_format(sid, s);
	for (size_t i = 0; i < COUNT(wk_fixed); i++) {
		if (strcmp(s, wk_fixed[i].sid) == 0) {
			return wk_fixed[i].name;
		}
	}
	return NULL;
}

cerr_t sid_wellknown_lookup(const char *name, sid_t *out)
{
	if (!name) {
		return CERR_NOT_FOUND;
	}
	for (size_t i = 0; i < COUNT(wk_fixed); i++) {
		const char *full = wk_fixed[i].name;
		const char *bs = strchr(full, '\\');
		if (strcasecmp(name, full) == 0 || (bs && strcasecmp(name, bs + 1) == 0)) {
			*out = sid_from_literal(wk_fixed[i].sid);
			return CERR_OK;
		}
	}
	return CERR_NOT_FOUND;
}

const char *sid_domain_rid_name(uint32_t rid)
{
	for (size_t i = 0; i < COUNT(wk_rids); i++) {
		if (wk_rids[i].rid == rid) {
			return wk_rids[i].name;
		}
	}
	return NULL;
}

bool sid_domain_rid_lookup(const char *name, uint32_t *out_rid)
{
	for (size_t i = 0; name && i < COUNT(wk_rids); i++) {
		if (strcasecmp(name, wk_rids[i].name) == 0) {
			*out_rid = wk_rids[i].rid;
			return true;
		}
	}
	return false;
}

cerr_t sid_from_sddl_alias(const char *alias, const sid_t *domain, sid_t *out)
{
	if (!alias || strlen(alias) != 2) {
		return CERR_NOT_FOUND;
	}
	for (size_t i = 0; i < COUNT(wk_fixed); i++) {
		if (wk_fixed[i].sddl && strcmp(alias, wk_fixed[i].sddl) == 0) {
			*out = sid_from_literal(wk_fixed[i].sid);
			return CERR_OK;
		}
	}
	for (size_t i = 0; i < COUNT(wk_rids); i++) {
		if (wk_rids[i].sddl && strcmp(alias, wk_rids[i].sddl) == 0) {
			if (!domain) {
				return CERR_INVALID_ARG;
			}
			return sid_compose(out, domain, wk_rids[i].rid);
		}
	}
	return CERR_NOT_FOUND;
}

const char *sid_to_sddl_alias(const sid_t *sid, const sid_t *domain)
{
	char s[SID_STR_MAX];
	sid_format(sid, s);
	for (size_t i = 0; i < COUNT(wk_fixed); i++) {
		if (wk_fixed[i].sddl && strcmp(s, wk_fixed[i].sid) == 0) {
			return wk_fixed[i].sddl;
		}
	}
	uint32_t rid;
	if (domain && sid_in_domain(sid, domain) && sid_split(sid, NULL, &rid)) {
		for (size_t i = 0; i < COUNT(wk_rids); i++) {
			if (wk_rids[i].sddl && wk_rids[i].rid == rid) {
				return wk_rids[i].sddl;
			}
		}
	}
	return NULL;
}
