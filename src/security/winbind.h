/*
 * winbind.h - the domain, reached through the local winbindd (libwbclient),
 * for a CA on a machine joined to Active Directory (or on a Samba AD DC):
 * NTLM pass-through validation (rpc/ntlm.h ntlm_passthrough_fn, what Windows
 * does over NetLogon, MS-APDS 3.1.5.1) giving the session key and the
 * user's SIDs from the DC, and name-to-SID lookups for the user-rights
 * policy ("SAMDOM\CA Requesters"). Built only when libwbclient-dev is
 * installed; otherwise winbind_available() is false and the rest fails
 * with CERR_UNSUPPORTED.
 * libwbclient finds winbindd's socket in its configured directory; a test
 * running its own Samba points it elsewhere with SELFTEST_WINBINDD_SOCKET_DIR
 * (honoured only with nss_wrapper preloaded: docs/test-infrastructure.md).
 */
#ifndef CERTA_SECURITY_WINBIND_H
#define CERTA_SECURITY_WINBIND_H

#include <stdbool.h>
#include <stddef.h>

#include "rpc/ntlm.h"
#include "security/sid.h"
#include "util/err.h"

/* winbind_available: certa was built with libwbclient. */
bool winbind_available(void);

/* winbind_ping checks that winbindd answers and names its domain in err
 * (or the reason it does not). CERR_OK, CERR_UNSUPPORTED or
 * CERR_STATUS_NO_LOGON_SERVERS. */
cerr_t winbind_ping(char *msg, size_t msg_len);

/* winbind_passthrough is an ntlm_passthrough_fn (arg unused): it hands the
 * NTLM response to the DC with wbcAuthenticateUserEx and returns its
 * UserSessionKey, names and SIDs; the DC's NTSTATUS becomes the result and
 * sub-status as Windows' 4625 shows them (STATUS_LOGON_FAILURE with
 * STATUS_WRONG_PASSWORD...). Winbindd unreachable: CERR_STATUS_NO_LOGON_SERVERS. */
cerr_t winbind_passthrough(void *arg, const ntlm_passthrough_req_t *req, ntlm_passthrough_res_t *out);

/* winbind_resolve maps "DOMAIN\name" (or "name" in winbind's own domain) to a
 * SID with wbcLookupName; a rights_resolve_fn / logon_resolve_fn (ctx unused). */
bool winbind_resolve(void *ctx, const char *name, sid_t *out);

/* winbind_sid_name writes "DOMAIN\name" for sid with wbcLookupSid; false
 * when winbind does not know it (a logon_sid_name_fn; ctx unused). */
bool winbind_sid_name(void *ctx, const sid_t *sid, char *out, size_t out_len);

#endif
