/*
 * rights.h - user-rights policy ("User Rights Assignment") read from a
 * secedit-style INF file, and the check Windows makes before it accepts a
 * network logon: SeNetworkLogonRight ("Access this computer from the
 * network"), overridden by SeDenyNetworkLogonRight ([MS-LSAD] 2.2.1.2:
 * POLICY_MODE_DENY_NETWORK "supersedes POLICY_MODE_NETWORK"). A caller refused
 * here gets STATUS_LOGON_TYPE_NOT_GRANTED, which is what makes Windows treat
 * the caller as ANONYMOUS LOGON in the motivating KB (protocol-facts.md s.5).
 *
 * The file is what `secedit /export /areas USER_RIGHTS` writes (UTF-16LE with
 * a byte-order mark; UTF-8 is accepted too):
 *     [Unicode]
 *     Unicode=yes
 *     [Version]
 *     signature="$CHICAGO$"
 *     Revision=1
 *     [Privilege Rights]
 *     SeNetworkLogonRight = *S-1-1-0,*S-1-5-32-544,*S-1-5-32-545,*S-1-5-32-551
 *     SeDenyNetworkLogonRight = Guest
 * Entries are "*" + SID or account names (well-known names such as
 * "Everyone" or "BUILTIN\Users", then the caller's resolver). Other sections
 * are ignored; rights the file does not mention keep their Windows defaults.
 *
 * Policies are immutable and reference-counted: a reload builds a new one and
 * swaps it in whole; checks in flight keep the one they started with.
 */
#ifndef CERTA_SECURITY_RIGHTS_H
#define CERTA_SECURITY_RIGHTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "security/sid.h"
#include "security/token.h"
#include "util/err.h"

#define RIGHTS_NETWORK_LOGON "SeNetworkLogonRight"
#define RIGHTS_DENY_NETWORK_LOGON "SeDenyNetworkLogonRight"

/* Largest policy file read (a full secedit export is a few tens of KiB). */
#define RIGHTS_MAX_FILE (1024u * 1024u)
/* Most entries in one right's list. */
#define RIGHTS_MAX_ENTRIES 1024u

typedef struct rights_policy rights_policy_t;

/* A resolver maps an account name ("Guest", "CONTOSO\CA Requesters") to its
 * SID; returns false when the name is unknown. Called only while a policy is
 * built, never during checks. */
typedef bool (*rights_resolve_fn)(void *ctx, const char *name, sid_t *out);

/* rights_policy_parse builds a policy from the bytes of an INF file. filename
 * is used in messages only. On failure returns CERR_CONFIG (or CERR_NOMEM /
 * CERR_LIMIT) and writes "file:line: what is wrong; how to fix it" into err
 * (err may be NULL). Unknown Se* names are kept and logged as warnings. */
cerr_t rights_policy_parse(const uint8_t *data, size_t len, const char *filename,
			   rights_resolve_fn resolve, void *resolve_ctx, rights_policy_t **out,
			   char *err, size_t err_len);
/* rights_policy_load reads path and parses it. CERR_NOT_FOUND when the file
 * does not exist (the caller then uses rights_policy_default), CERR_IO on
 * other read errors, else as rights_policy_parse. */
cerr_t rights_policy_load(const char *path, rights_resolve_fn resolve, void *resolve_ctx,
			  rights_policy_t **out, char *err, size_t err_len);
/* rights_policy_default builds Windows' defaults for a member server or
 * workstation (Microsoft security-policy reference, "Access this computer from
 * the network" and "Deny access to this computer from the network"):
 * SeNetworkLogonRight = Everyone, Administrators, Users, Backup Operators;
 * SeDenyNetworkLogonRight = Guest, the local Guest account, resolved through
 * resolve (left out, with a debug note, when resolve cannot name it). */
cerr_t rights_policy_default(rights_resolve_fn resolve, void *resolve_ctx, rights_policy_t **out);

/* rights_policy_ref adds a reference (thread-safe) and returns p; NULL-safe. */
rights_policy_t *rights_policy_ref(rights_policy_t *p);
/* rights_policy_unref drops a reference, freeing p with the last; NULL-safe. */
void rights_policy_unref(rights_policy_t *p);

/* rights_policy_source is the file name, or "built-in defaults". */
const char *rights_policy_source(const rights_policy_t *p);
/* rights_policy_num_sids is the number of SIDs holding right (name compared
 * case-insensitively); 0 also when the right is absent. */
size_t rights_policy_num_sids(const rights_policy_t *p, const char *right);
/* rights_policy_sid is the i-th SID holding right, or NULL. */
const sid_t *rights_policy_sid(const rights_policy_t *p, const char *right, size_t i);
/* rights_policy_has_right says whether the policy defines right at all. */
bool rights_policy_has_right(const rights_policy_t *p, const char *right);

/* rights_token_has_right is true when an enabled SID of t (user or group)
 * holds right. For "deny" rights use rights_check_network_logon, which also
 * matches deny-only groups. */
bool rights_token_has_right(const rights_policy_t *p, const token_t *t, const char *right);

/* rights_check_network_logon decides whether t may log on over the network:
 * CERR_STATUS_LOGON_TYPE_NOT_GRANTED when any of t's SIDs (deny-only groups
 * included) holds SeDenyNetworkLogonRight, or when none of its enabled SIDs
 * holds SeNetworkLogonRight; else CERR_OK. *why (if why is not NULL) is set to
 * a sentence for logs and `certa diagnose`: which SID was denied, or that no
 * SID matched and which SIDs are granted, or which SID granted the right. The
 * sentence lives in a per-thread buffer valid until the next call on the
 * same thread. */
cerr_t rights_check_network_logon(const rights_policy_t *p, const token_t *t, const char **why);

/* rights_is_known is true for the privilege and logon-right names Windows
 * defines ([MS-LSAD] 3.1.1.2.1 and 3.1.1.2.2, and winnt.h's SE_*_NAME). */
bool rights_is_known(const char *name);

#endif
