/*
 * pac.h - decoder for the Kerberos Privilege Attribute Certificate (MS-PAC)
 * a KDC puts in service tickets: who the caller is (user SID, names) and which
 * groups it belongs to (domain groups, extra SIDs, resource groups), which is
 * what an access token for a Kerberos caller is built from (token.h).
 *
 * Signatures (buffer types 6 and 7) are located and reported, not verified:
 * the Kerberos library verifies the PAC with the service key when it decodes
 * the ticket, and MIT krb5 exposes it as the GSS name attributes "urn:mspac:"
 * and "urn:mspac:logon-info" with authenticated = 1 only then. Callers must
 * use a PAC only when gss_get_name_attribute reported it authenticated.
 */
#ifndef CERTA_SECURITY_PAC_H
#define CERTA_SECURITY_PAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "security/sid.h"
#include "util/arena.h"
#include "util/err.h"

/* PAC_INFO_BUFFER ulType values (MS-PAC 2.4). */
#define PAC_TYPE_LOGON_INFO 1
#define PAC_TYPE_CREDENTIALS_INFO 2
#define PAC_TYPE_SERVER_CHECKSUM 6
#define PAC_TYPE_PRIVSVR_CHECKSUM 7
#define PAC_TYPE_CLIENT_INFO 0x0A
#define PAC_TYPE_DELEGATION_INFO 0x0B
#define PAC_TYPE_UPN_DNS_INFO 0x0C
#define PAC_TYPE_CLIENT_CLAIMS 0x0D
#define PAC_TYPE_DEVICE_INFO 0x0E
#define PAC_TYPE_DEVICE_CLAIMS 0x0F
#define PAC_TYPE_TICKET_CHECKSUM 0x10
#define PAC_TYPE_ATTRIBUTES_INFO 0x11
#define PAC_TYPE_REQUESTOR 0x12
#define PAC_TYPE_FULL_CHECKSUM 0x13

/* KERB_VALIDATION_INFO UserFlags bits (MS-PAC 2.5). */
#define PAC_LOGON_GUEST 0x00000001u         /* A: authenticated as guest */
#define PAC_LOGON_EXTRA_SIDS 0x00000020u    /* D: ExtraSids is populated */
#define PAC_LOGON_RESOURCE_GROUPS 0x00000200u /* H: ResourceGroupIds is populated */

/* Limits on what a PAC may carry. Windows refuses a logon whose token would
 * hold more than 1,015 SIDs (Microsoft KB 328889, "Users who are members of
 * more than 1,015 groups may fail logon authentication"), so 1,024 groups in
 * all is beyond any real PAC; buffers: real PACs carry about ten. */
#ifndef PAC_MAX_GROUPS
#define PAC_MAX_GROUPS 1024u
#endif
#ifndef PAC_MAX_BUFFERS
#define PAC_MAX_BUFFERS 64u
#endif
/* Largest PAC accepted: tickets travel in a 64 KiB-ish AP-REQ; 1 MiB is ample. */
#define PAC_MAX_SIZE (1024u * 1024u)

/* Where a group SID came from in KERB_VALIDATION_INFO. */
typedef enum pac_group_source {
	PAC_GROUP_DOMAIN,   /* GroupIds: LogonDomainId + RelativeId */
	PAC_GROUP_EXTRA,    /* ExtraSids: a whole SID (other domains, well-known) */
	PAC_GROUP_RESOURCE, /* ResourceGroupIds: ResourceGroupDomainSid + RelativeId */
} pac_group_source_t;

typedef struct pac_group {
	sid_t sid;
	uint32_t attributes; /* SE_GROUP_* */
	pac_group_source_t source;
} pac_group_t;

/* The parts of KERB_VALIDATION_INFO (MS-PAC 2.5) certa uses. Times are
 * FILETIMEs (100 ns since 1601, 0x7FFFFFFFFFFFFFFF = never). Strings are
 * UTF-8 in the decode arena; NULL when the pointer was NULL. */
typedef struct pac_logon_info {
	uint64_t logon_time;
	uint64_t password_last_set;
	const char *effective_name;   /* sAMAccountName */
	const char *full_name;
	const char *logon_server;
	const char *logon_domain_name; /* NetBIOS domain name */
	uint32_t user_id;              /* RID of the user in LogonDomainId */
	uint32_t primary_group_id;     /* RID of the primary group */
	uint32_t user_flags;           /* PAC_LOGON_* */
	uint32_t user_account_control; /* UF_* (MS-SAMR 2.2.1.12) */
	sid_t logon_domain_sid;
	bool has_resource_domain;
	sid_t resource_domain_sid;
	uint32_t group_count;          /* GroupIds */
	uint32_t extra_sid_count;      /* ExtraSids */
	uint32_t resource_group_count; /* ResourceGroupIds */
} pac_logon_info_t;

typedef struct pac {
	uint32_t num_buffers;

	bool has_logon_info;
	pac_logon_info_t logon;
	sid_t user_sid;          /* LogonDomainId + UserId */
	sid_t primary_group_sid; /* LogonDomainId + PrimaryGroupId */
	/* GroupIds, then ExtraSids, then ResourceGroupIds, in wire order (arena). */
	pac_group_t *groups;
	size_t num_groups;

	bool has_client_info; /* PAC_CLIENT_INFO (MS-PAC 2.7) */
	uint64_t client_id;   /* the ticket's authtime as a FILETIME */
	const char *client_name;

	bool has_upn_dns; /* UPN_DNS_INFO (MS-PAC 2.10) */
	const char *upn;
	const char *dns_domain_name;
	uint32_t upn_flags; /* bit 0x1 U: no UPN attribute; 0x2 S: SAM name and SID follow */
	const char *upn_sam_name; /* with flag S */
	bool has_upn_sid;
	sid_t upn_sid;

	/* PAC_SIGNATURE_DATA (MS-PAC 2.8): located, not verified (see above). */
	bool has_server_checksum;
	uint32_t server_checksum_type;
	bool has_kdc_checksum;
	uint32_t kdc_checksum_type;
} pac_t;

/* pac_decode parses a whole PAC (PACTYPE, MS-PAC 2.3) from data[0..len) into
 * *out, allocating strings and arrays from a. Buffers must be 8-aligned and lie
 * inside the blob after the header; the logon info must be a well-formed
 * MS-RPCE 2.2.6 type serialization. A known buffer type appearing twice is
 * refused; unknown types are skipped. A PAC without logon info decodes with
 * has_logon_info false (MIT KDCs issue those). Returns CERR_MALFORMED,
 * CERR_LIMIT or CERR_NOMEM; *out is unspecified on failure. */
cerr_t pac_decode(arena_t *a, const uint8_t *data, size_t len, pac_t *out);

/* pac_decode_logon_info decodes one PAC_LOGON_INFO buffer (type 1) on its own:
 * for tests and for callers that get the buffer alone (gss_get_name_attribute
 * "urn:mspac:logon-info"). Fills the logon-info fields of out. */
cerr_t pac_decode_logon_info(arena_t *a, const uint8_t *data, size_t len, pac_t *out);

#endif
