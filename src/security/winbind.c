/*
 * winbind.c - NTLM pass-through and name lookups through libwbclient (see
 * winbind.h). Each call is one synchronous request to winbindd; libwbclient
 * keeps a per-thread connection, so callers on different threads do not
 * share state.
 */
#include "security/winbind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#ifdef CERTA_HAVE_WBCLIENT
#include <stdint.h>
#include <wbclient.h>

bool winbind_available(void) { return true; }

cerr_t winbind_ping(char *msg, size_t msg_len)
{
	wbcErr w = wbcPing();
	if (!WBC_ERROR_IS_OK(w)) {
		snprintf(msg, msg_len, "winbindd does not answer: %s", wbcErrorString(w));
		return CERR_STATUS_NO_LOGON_SERVERS;
	}
	struct wbcInterfaceDetails *d = NULL;
	if (WBC_ERROR_IS_OK(wbcInterfaceDetails(&d)) && d) {
		snprintf(msg, msg_len, "winbindd of domain %s (%s)", d->netbios_domain ? d->netbios_domain : "?",
			 d->dns_domain ? d->dns_domain : "?");
		wbcFreeMemory(d);
	} else {
		snprintf(msg, msg_len, "winbindd answers");
	}
	return CERR_OK;
}

/* map_status turns the DC's NTSTATUS into the result and sub-status 4625
 * shows (Windows logs bad passwords and unknown users as STATUS_LOGON_FAILURE
 * with the precise code as SubStatus). */
static cerr_t map_status(uint32_t nt, cerr_t *sub)
{
	cerr_t e = cerr_lookup(CERR_SPACE_NTSTATUS, nt);
	switch (nt) {
	case 0xC000006A: /* STATUS_WRONG_PASSWORD */
	case 0xC0000064: /* STATUS_NO_SUCH_USER */
		*sub = e;
		return CERR_STATUS_LOGON_FAILURE;
	case 0xC0000072: /* STATUS_ACCOUNT_DISABLED */
		*sub = e;
		return CERR_STATUS_ACCOUNT_DISABLED;
	default:
		*sub = e == CERR__COUNT ? CERR_OK : e;
		return e == CERR__COUNT || e == CERR_OK ? CERR_STATUS_LOGON_FAILURE : e;
	}
}

cerr_t winbind_passthrough(void *arg, const ntlm_passthrough_req_t *req, ntlm_passthrough_res_t *out)
{
	(void)arg;
	struct wbcAuthUserParams p;
	memset(&p, 0, sizeof(p));
	p.account_name = req->user;
	p.domain_name = req->domain;
	p.workstation_name = req->workstation;
	p.parameter_control = WBC_MSV1_0_ALLOW_WORKSTATION_TRUST_ACCOUNT | WBC_MSV1_0_ALLOW_SERVER_TRUST_ACCOUNT;
	p.level = WBC_AUTH_USER_LEVEL_RESPONSE;
	memcpy(p.password.response.challenge, req->challenge, 8);
	p.password.response.nt_length = (uint32_t)req->nt_len;
	p.password.response.nt_data = (uint8_t *)(uintptr_t)req->nt_response; /* libwbclient only reads it */
	p.password.response.lm_length = (uint32_t)req->lm_len;
	p.password.response.lm_data = (uint8_t *)(uintptr_t)req->lm_response;

	struct wbcAuthUserInfo *info = NULL;
	struct wbcAuthErrorInfo *err = NULL;
	wbcErr w = wbcAuthenticateUserEx(&p, &info, &err);
	if (!WBC_ERROR_IS_OK(w)) {
		cerr_t e;
		if (w == WBC_ERR_AUTH_ERROR && err) {
			e = map_status(err->nt_status, &out->sub_status);
			log_info("winbind: %s\\%s refused by the domain: 0x%08x %s", req->domain, req->user,
				 err->nt_status, err->nt_string ? err->nt_string : "");
		} else {
			log_error("winbind: cannot reach the domain for %s\\%s: %s (is winbindd running? `wbinfo -p`)",
				  req->domain, req->user, wbcErrorString(w));
			e = CERR_STATUS_NO_LOGON_SERVERS;
		}
		wbcFreeMemory(err);
		wbcFreeMemory(info);
		return e;
	}
	wbcFreeMemory(err);
	cerr_t e = CERR_OK;
	memcpy(out->session_base_key, info->user_session_key, 16);
	snprintf(out->user, sizeof(out->user), "%s", info->account_name ? info->account_name : req->user);
	snprintf(out->domain, sizeof(out->domain), "%s", info->domain_name ? info->domain_name : req->domain);
	out->sids = calloc(info->num_sids ? info->num_sids : 1, sizeof(char *));
	if (!out->sids) {
		e = CERR_NOMEM;
	}
	for (uint32_t i = 0; e == CERR_OK && i < info->num_sids; i++) {
		/* the logon SID is per session, not an identity (as in a PAC) */
		if ((info->sids[i].attributes & WBC_SID_ATTR_GROUP_LOGON_ID) == WBC_SID_ATTR_GROUP_LOGON_ID) {
			continue;
		}
		char buf[WBC_SID_STRING_BUFLEN];
		wbcSidToStringBuf(&info->sids[i].sid, buf, sizeof(buf));
		/* duplicates (the primary group also listed among the groups) are kept
		 * out: the token builder would drop them anyway */
		bool dup = false;
		for (size_t j = 0; j < out->num_sids && !dup; j++) {
			dup = strcmp(out->sids[j], buf) == 0;
		}
		if (dup) {
			continue;
		}
		if (!(out->sids[out->num_sids] = strdup(buf))) {
			e = CERR_NOMEM;
			break;
		}
		out->num_sids++;
	}
	log_debug("winbind: %s\\%s validated by the domain, %zu SIDs", out->domain, out->user, out->num_sids);
	memset(info->user_session_key, 0, sizeof(info->user_session_key));
	wbcFreeMemory(info);
	return e;
}

bool winbind_resolve(void *ctx, const char *name, sid_t *out)
{
	(void)ctx;
	char dom[256] = "";
	const char *bs = strchr(name, '\\');
	const char *user = name;
	if (bs) {
		size_t n = (size_t)(bs - name);
		if (n >= sizeof(dom)) {
			return false;
		}
		memcpy(dom, name, n);
		dom[n] = '\0';
		user = bs + 1;
	} else {
		struct wbcInterfaceDetails *d = NULL;
		if (!WBC_ERROR_IS_OK(wbcInterfaceDetails(&d)) || !d) {
			return false;
		}
		snprintf(dom, sizeof(dom), "%s", d->netbios_domain ? d->netbios_domain : "");
		wbcFreeMemory(d);
	}
	struct wbcDomainSid sid;
	enum wbcSidType type;
	if (!WBC_ERROR_IS_OK(wbcLookupName(dom, user, &sid, &type))) {
		return false;
	}
	char buf[WBC_SID_STRING_BUFLEN];
	wbcSidToStringBuf(&sid, buf, sizeof(buf));
	return sid_parse(out, buf) == CERR_OK;
}

bool winbind_sid_name(void *ctx, const sid_t *sid, char *out, size_t out_len)
{
	(void)ctx;
	char str[SID_STR_MAX];
	struct wbcDomainSid ws;
	if (!WBC_ERROR_IS_OK(wbcStringToSid(sid_format(sid, str), &ws))) {
		return false;
	}
	char *dom = NULL, *name = NULL;
	enum wbcSidType type;
	bool ok = WBC_ERROR_IS_OK(wbcLookupSid(&ws, &dom, &name, &type)) && name;
	if (ok) {
		snprintf(out, out_len, "%s%s%s", dom && *dom ? dom : "", dom && *dom ? "\\" : "", name);
	}
	wbcFreeMemory(dom);
	wbcFreeMemory(name);
	return ok;
}

#else /* no libwbclient */

bool winbind_sid_name(void *ctx, const sid_t *sid, char *out, size_t out_len)
{
	(void)ctx;
	(void)sid;
	(void)out;
	(void)out_len;
	return false;
}

bool winbind_available(void) { return false; }

cerr_t winbind_ping(char *msg, size_t msg_len)
{
	snprintf(msg, msg_len, "certa was built without libwbclient (install libwbclient-dev and rebuild)");
	return CERR_UNSUPPORTED;
}

cerr_t winbind_passthrough(void *arg, const ntlm_passthrough_req_t *req, ntlm_passthrough_res_t *out)
{
	(void)arg;
	(void)req;
	(void)out;
	return CERR_UNSUPPORTED;
}

bool winbind_resolve(void *ctx, const char *name, sid_t *out)
{
	(void)ctx;
	(void)name;
	(void)out;
	return false;
}

#endif
