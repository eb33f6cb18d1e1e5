/*
 * accounts.h - the CA machine's local accounts store: its machine domain SID
 * (S-1-5-21-x-y-z, random at creation), local users (name, RID >= 1000, NT
 * hash, flags) and local groups (name, RID, member SIDs), kept in one text
 * file in the state folder (mode 0600, replaced atomically). Names are
 * case-insensitive as on Windows; users and groups share one namespace and
 * RIDs are never reused. accounts_ntlm_lookup is the NTLM acceptor's account
 * callback (rpc/ntlm.h). The `certa user` / `certa group` commands are thin
 * wrappers over these functions. Format: see README.md.
 */
#ifndef CERTA_SECURITY_ACCOUNTS_H
#define CERTA_SECURITY_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc/ntlm.h"
#include "util/err.h"

#define ACCT_RID_FIRST 1000u
#define ACCT_NAME_MAX 255 /* bytes of UTF-8 */
#define ACCT_SID_MAX 192  /* room for any SID string with 15 sub-authorities */

#define ACCT_USER_DISABLED 0x1u

typedef struct acct_user {
	char *name;
	uint32_t rid;
	uint8_t nt_hash[16];
	uint32_t flags; /* ACCT_USER_* */
} acct_user_t;

typedef struct acct_group {
	char *name;
	uint32_t rid;
	size_t n_members;
	char **members; /* SID strings ("S-1-5-21-...-1000"); local users or any other SID */
} acct_group_t;

typedef struct accounts accounts_t;

/* accounts_open flags */
#define ACCOUNTS_CREATE 0x1u /* create (and save) a new store with a fresh SID if the file is missing */
#define ACCOUNTS_LOCK 0x2u   /* hold an exclusive lock (PATH.lock) until accounts_free: for
			      * read-modify-save from the CLI */

/* accounts_open loads the store at path. CERR_NOT_FOUND if it is missing (and
 * not ACCOUNTS_CREATE); CERR_MALFORMED for a corrupt file, with "PATH:LINE:
 * what" logged and kept for accounts_last_error; CERR_IO on I/O errors. */
cerr_t accounts_open(const char *path, unsigned flags, accounts_t **out);
/* accounts_save writes the store to its path atomically (temp file, fsync, rename), mode 0600. */
cerr_t accounts_save(accounts_t *a);
/* accounts_refresh reloads the file if it changed on disk since it was read
 * (another process saved it). On a corrupt file the old contents stay and the
 * error is logged. */
cerr_t accounts_refresh(accounts_t *a);
void accounts_free(accounts_t *a);
/* accounts_last_error is the text of the calling thread's last load/save failure ("" if none). */
const char *accounts_last_error(void);

const char *accounts_domain_sid(const accounts_t *a);
const char *accounts_path(const accounts_t *a);

/* accounts_valid_name: 1..ACCT_NAME_MAX bytes of UTF-8, no control characters,
 * none of " / \ [ ] : ; | = , + * ? < >, not only dots and spaces, no
 * leading or trailing space (the Windows rules for SAM account names). */
bool accounts_valid_name(const char *name);
/* accounts_name_equal compares names case-insensitively as NTLM does. */
bool accounts_name_equal(const char *a, const char *b);

/* ---- users. Changes are in memory until accounts_save. ---- */
/* CERR_EXISTS if a user or group of that name exists; CERR_INVALID_ARG for a bad name. */
cerr_t accounts_user_add(accounts_t *a, const char *name, const char *password, uint32_t *out_rid);
/* accounts_user_del also removes the user from every group. CERR_NOT_FOUND if unknown. */
cerr_t accounts_user_del(accounts_t *a, const char *name);
cerr_t accounts_user_passwd(accounts_t *a, const char *name, const char *password);
cerr_t accounts_user_set_disabled(accounts_t *a, const char *name, bool disabled);
const acct_user_t *accounts_user_find(const accounts_t *a, const char *name);
const acct_user_t *accounts_user_by_rid(const accounts_t *a, uint32_t rid);
size_t accounts_user_count(const accounts_t *a);
const acct_user_t *accounts_user_at(const accounts_t *a, size_t i);
/* accounts_rid_sid formats the domain SID with rid appended. */
void accounts_rid_sid(const accounts_t *a, uint32_t rid, char out[ACCT_SID_MAX]);

/* ---- groups ---- */
cerr_t accounts_group_add(accounts_t *a, const char *name, uint32_t *out_rid);
cerr_t accounts_group_del(accounts_t *a, const char *name);
/* member is a local user name or a SID string. CERR_NOT_FOUND for an unknown
 * group or user, CERR_EXISTS if already a member. */
cerr_t accounts_group_addmember(accounts_t *a, const char *group, const char *member);
cerr_t accounts_group_delmember(accounts_t *a, const char *group, const char *member);
const acct_group_t *accounts_group_find(const accounts_t *a, const char *name);
size_t accounts_group_count(const accounts_t *a);
const acct_group_t *accounts_group_at(const accounts_t *a, size_t i);
bool accounts_group_has_member(const acct_group_t *g, const char *sid);

/* accounts_valid_sid checks the S-1-<authority>-<sub>... form (1..15 sub-authorities). */
bool accounts_valid_sid(const char *sid);

/* accounts_ntlm_lookup is an ntlm_lookup_fn; arg is the accounts_t. Any
 * domain the client names is answered from the local store (as a standalone
 * Windows server does); the user is matched case-insensitively, the store is
 * refreshed from disk first. */
cerr_t accounts_ntlm_lookup(void *arg, const char *domain, const char *user, ntlm_account_t *out);

#endif
