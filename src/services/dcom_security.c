/*
 * dcom_security.c - the DCOM security hook (see dcom_security.h): the
 * machine-wide launch/access limits, the per-class permissions and the
 * KB5004442 activation level, decided on the caller's access token with
 * BUILTIN\Certificate Service DCOM Access expanded, and the DistributedCOM
 * events Windows logs for each refusal. Sources are cited where each choice
 * is made; what could not be confirmed says so.
 */
#include "services/dcom_security.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/pdu.h"
#include "security/sid.h"
#include "util/log.h"

/* COM rights a remote caller needs ("Access Control Lists for COM",
 * learn.microsoft.com/windows/win32/com/access-control-lists-for-com):
 * COM_RIGHTS_EXECUTE always, plus the remote bit of what it asks for. Every
 * caller here comes over the network, loopback TCP included: Windows names
 * such a caller "from address 127.0.0.1" and checks the remote right. */
#define WANT_REMOTE_ACTIVATION (SD_COM_RIGHTS_EXECUTE | SD_COM_RIGHTS_ACTIVATE_REMOTE)
#define WANT_REMOTE_ACCESS (SD_COM_RIGHTS_EXECUTE | SD_COM_RIGHTS_EXECUTE_REMOTE)

/* Most members the CD group contributes to one check; a store with more is
 * read up to this many (the rest are logged and ignored). */
#define CD_MAX_MEMBERS 256u

struct dcom_class_sec {
	guid_t clsid;
	guid_t appid;
	char *name;
	sd_t *launch; /* NULL: no class launch check */
	sd_t *access; /* NULL: no class access check */
	char *launch_src;
	char *access_src;
};

struct dcom_security {
	events_t *events;
	accounts_t *accounts;
	pthread_mutex_t *accounts_lock;
	logon_t *logon;
	sd_t *machine_launch;
	sd_t *machine_access;
	char *machine_launch_src;
	char *machine_access_src;
	bool require_integrity;
	struct dcom_class_sec *classes;
	size_t n_classes;
};

/* the deciding sentence of the last check on this thread */
static _Thread_local char why_buf[768];

const char *dcom_security_verdict_name(dcom_security_verdict_t v)
{
	switch (v) {
	case DCOM_ALLOW:
		return "allow";
	case DCOM_DENY_AUTHN_LEVEL:
		return "authn-level";
	case DCOM_DENY_MACHINE_LAUNCH:
		return "machine-launch";
	case DCOM_DENY_APP_LAUNCH:
		return "app-launch";
	case DCOM_DENY_MACHINE_ACCESS:
		return "machine-access";
	case DCOM_DENY_APP_ACCESS:
		return "app-access";
	case DCOM_DENY_ERROR:
		return "error";
	default:
		return "?";
	}
}

/* ---- construction ---- */

/* parse_sd reads one descriptor: in->sddl, or def when there is none. */
static cerr_t parse_sd(const char *what, const dcom_security_sddl_t *in, const char *def, sd_t **out,
		       char **out_src, char *err, size_t err_len)
{
	const char *text = in && in->sddl ? in->sddl : def;
	const char *src = in && in->sddl ? (in->source ? in->source : "configuration") : "built-in default";
	char perr[256] = "";
	cerr_t e = sd_from_sddl(text, NULL, out, perr, sizeof(perr));
	if (e != CERR_OK) {
		if (err && err_len) {
			snprintf(err, err_len, "%s: %s: %s", src, what, *perr ? perr : cerr_msg(e));
		}
		return e == CERR_NOMEM ? e : CERR_CONFIG;
	}
	*out_src = strdup(src);
	if (!*out_src) {
		sd_free(*out);
		*out = NULL;
		return CERR_NOMEM;
	}
	return CERR_OK;
}

cerr_t dcom_security_new(const dcom_security_config_t *cfg, dcom_security_t **out, char *err, size_t err_len)
{
	if (!cfg || !out) {
		return CERR_INVALID_ARG;
	}
	if (err && err_len) {
		err[0] = '\0';
	}
	dcom_security_t *s = calloc(1, sizeof(*s));
	if (!s) {
		return CERR_NOMEM;
	}
	s->events = cfg->events;
	s->accounts = cfg->accounts;
	s->accounts_lock = cfg->accounts_lock;
	s->logon = cfg->logon;
	s->require_integrity = cfg->require_integrity_activation;
	cerr_t e = parse_sd("machine_launch_restriction", &cfg->machine_launch,
			    sd_default_machine_launch_restriction_ca_sddl, &s->machine_launch, &s->machine_launch_src,
			    err, err_len);
	if (e == CERR_OK) {
		e = parse_sd("machine_access_restriction", &cfg->machine_access,
			     sd_default_machine_access_restriction_ca_sddl, &s->machine_access,
			     &s->machine_access_src, err, err_len);
	}
	if (e != CERR_OK) {
		dcom_security_free(s);
		return e;
	}
	*out = s;
	return CERR_OK;
}

void dcom_security_free(dcom_security_t *s)
{
	if (!s) {
		return;
	}
	for (size_t i = 0; i < s->n_classes; i++) {
		struct dcom_class_sec *c = &s->classes[i];
		free(c->name);
		sd_free(c->launch);
		sd_free(c->access);
		free(c->launch_src);
		free(c->access_src);
	}
	free(s->classes);
	sd_free(s->machine_launch);
	sd_free(s->machine_access);
	free(s->machine_launch_src);
	free(s->machine_access_src);
	free(s);
}

static const struct dcom_class_sec *find_class(const dcom_security_t *s, const guid_t *clsid)
{
	for (size_t i = 0; clsid && i < s->n_classes; i++) {
		if (guid_equal(&s->classes[i].clsid, clsid)) {
			return &s->classes[i];
		}
	}
	return NULL;
}

cerr_t dcom_security_add_class(dcom_security_t *s, const guid_t *clsid, const guid_t *appid, const char *name,
			       const dcom_security_sddl_t *launch, const dcom_security_sddl_t *access, char *err,
			       size_t err_len)
{
	if (!s || !clsid) {
		return CERR_INVALID_ARG;
	}
	if (find_class(s, clsid)) {
		return CERR_EXISTS;
	}
	struct dcom_class_sec c = {.clsid = *clsid, .appid = appid ? *appid : *clsid};
	char what[128];
	cerr_t e = CERR_OK;
	if (!(c.name = strdup(name ? name : "COM server"))) {
		return CERR_NOMEM;
	}
	if (launch && launch->sddl) {
		snprintf(what, sizeof(what), "launch permission of %s", c.name);
		e = parse_sd(what, launch, NULL, &c.launch, &c.launch_src, err, err_len);
	}
	if (e == CERR_OK && access && access->sddl) {
		snprintf(what, sizeof(what), "access permission of %s", c.name);
		e = parse_sd(what, access, NULL, &c.access, &c.access_src, err, err_len);
	}
	struct dcom_class_sec *n = e == CERR_OK ? realloc(s->classes, (s->n_classes + 1) * sizeof(*n)) : NULL;
	if (!n) {
		free(c.name);
		sd_free(c.launch);
		sd_free(c.access);
		free(c.launch_src);
		free(c.access_src);
		return e == CERR_OK ? CERR_NOMEM : e;
	}
	s->classes = n;
	s->classes[s->n_classes++] = c;
	return CERR_OK;
}

void dcom_security_hooks(dcom_security_t *s, dcom_security_hooks_t *hooks)
{
	hooks->arg = s;
	hooks->check = dcom_security_check;
}

/* ---- the caller ---- */

/* cd_members fills out with the SIDs that make a caller a member of
 * Certificate Service DCOM Access: the members of the local group of that
 * name, else Authenticated Users, which CA setup makes the only member
 * (KB 903220; Windows Server 2008 and later ship the group as the builtin
 * S-1-5-32-574). Returns the count. */
static size_t cd_members(dcom_security_t *s, sid_t *out, size_t max)
{
	size_t n = 0;
	bool have_group = false;
	if (s->accounts) {
		if (s->accounts_lock) {
			pthread_mutex_lock(s->accounts_lock);
		}
		/* `certa group addmember` takes effect at the next activation */
		(void)accounts_refresh(s->accounts);
		const acct_group_t *g = accounts_group_find(s->accounts, DCOM_SECURITY_CD_GROUP);
		if (g) {
			have_group = true;
			for (size_t i = 0; i < g->n_members && n < max; i++) {
				if (sid_parse(&out[n], g->members[i]) == CERR_OK) {
					n++;
				}
			}
			if (g->n_members > max) {
				log_warn("dcom: the group '%s' has %zu members; only the first %zu count", DCOM_SECURITY_CD_GROUP,
					 g->n_members, max);
			}
		}
		if (s->accounts_lock) {
			pthread_mutex_unlock(s->accounts_lock);
		}
	}
	if (!have_group && max > 0) {
		out[n++] = sid_from_literal(SID_S_AUTHENTICATED_USERS);
	}
	return n;
}

/* expand returns t plus S-1-5-32-574 when t holds one of its members. */
static cerr_t expand(dcom_security_t *s, const token_t *t, token_t **out)
{
	sid_t *members = calloc(CD_MAX_MEMBERS, sizeof(*members));
	if (!members) {
		return CERR_NOMEM;
	}
	token_alias_t alias = {
		.alias = sid_from_literal(SID_S_CERTSVC_DCOM_ACCESS),
		.members = members,
		.num_members = cd_members(s, members, CD_MAX_MEMBERS),
	};
	cerr_t e = token_with_aliases(t, &alias, 1, out);
	free(members);
	return e;
}

/* ---- the decision ---- */

static bool unauthenticated(const dcom_check_t *req)
{
	const rpc_conn_info_t *c = req->conn;
	return !c || c->auth_type == RPC_AUTH_NONE || !c->identity;
}

/* granted runs one access check and keeps its sentence in why_buf. */
static bool granted(const sd_t *sd, const token_t *t, uint32_t want, const char *name, const char *src)
{
	const char *w = NULL;
	cerr_t e = sd_access_check(sd, t, want, NULL, NULL, &w);
	snprintf(why_buf, sizeof(why_buf), "%s (%s): %s", name, src, w ? w : cerr_name(e));
	return e == CERR_OK;
}

static dcom_security_verdict_t decide(dcom_security_t *s, const dcom_check_t *req, const token_t *x)
{
	const struct dcom_class_sec *c = find_class(s, req->clsid);
	if (req->kind == DCOM_CHECK_ACTIVATE) {
		/* The machine-wide limits come first: they bound every request on
		 * the machine ("DCOM Security Enhancements in Windows XP SP2 and
		 * Windows Server 2003 SP1", learn.microsoft.com/windows/win32/com/),
		 * and an unauthenticated activation is logged by Windows as 10027
		 * for ANONYMOUS LOGON, not as 10036 - so they run before the level
		 * check (the order is our inference). */
		if (!granted(s->machine_launch, x, WANT_REMOTE_ACTIVATION, "MachineLaunchRestriction",
			     s->machine_launch_src)) {
			return DCOM_DENY_MACHINE_LAUNCH;
		}
		/* KB5004442 (CVE-2021-26414): with RequireIntegrityActivationAuthenticationLevel
		 * (default on since June 2022, no longer switchable since March
		 * 2023) activation below RPC_C_AUTHN_LEVEL_PKT_INTEGRITY is refused
		 * and logged as 10036. */
		uint8_t level = req->conn ? req->conn->auth_level : RPC_AUTH_LEVEL_NONE;
		if (s->require_integrity && level < RPC_AUTH_LEVEL_PKT_INTEGRITY) {
			snprintf(why_buf, sizeof(why_buf),
				 "RequireIntegrityActivationAuthenticationLevel (KB5004442): the activation came at "
				 "authentication level %u%s; at least %u (RPC_C_AUTHN_LEVEL_PKT_INTEGRITY) is required",
				 level, unauthenticated(req) ? " (unauthenticated)" : "", RPC_AUTH_LEVEL_PKT_INTEGRITY);
			return DCOM_DENY_AUTHN_LEVEL;
		}
		if (c && c->launch && !granted(c->launch, x, WANT_REMOTE_ACTIVATION, "LaunchPermission", c->launch_src)) {
			return DCOM_DENY_APP_LAUNCH;
		}
		snprintf(why_buf, sizeof(why_buf), "remote activation granted");
		return DCOM_ALLOW;
	}
	if (!granted(s->machine_access, x, WANT_REMOTE_ACCESS, "MachineAccessRestriction", s->machine_access_src)) {
		return DCOM_DENY_MACHINE_ACCESS;
	}
	if (c && c->access && !granted(c->access, x, WANT_REMOTE_ACCESS, "AccessPermission", c->access_src)) {
		return DCOM_DENY_APP_ACCESS;
	}
	snprintf(why_buf, sizeof(why_buf), "remote access granted");
	return DCOM_ALLOW;
}

/* run expands t and decides; *out_x gets the expanded token (or NULL). */
static dcom_security_verdict_t run(dcom_security_t *s, const dcom_check_t *req, const token_t *t, token_t **out_x)
{
	why_buf[0] = '\0';
	*out_x = NULL;
	if (!t) {
		snprintf(why_buf, sizeof(why_buf), "no access token for the caller");
		return DCOM_DENY_ERROR;
	}
	if (expand(s, t, out_x) != CERR_OK) {
		snprintf(why_buf, sizeof(why_buf), "the caller's token could not be expanded (out of memory?)");
		return DCOM_DENY_ERROR;
	}
	return decide(s, req, *out_x);
}

dcom_security_verdict_t dcom_security_decide(dcom_security_t *s, const dcom_check_t *req, const token_t *t,
					     const char **why)
{
	token_t *x = NULL;
	dcom_security_verdict_t v = s && req ? run(s, req, t, &x) : DCOM_DENY_ERROR;
	token_unref(x);
	if (why) {
		*why = why_buf;
	}
	return v;
}

/* ---- events ---- */

/* braced upper-case GUID, as Windows prints CLSIDs and APPIDs */
static const char *guid_braced(const guid_t *g, char out[GUID_STR_LEN + 3])
{
	char s[GUID_STR_LEN + 1];
	guid_format(g, s);
	out[0] = '{';
	for (size_t i = 0; i < GUID_STR_LEN; i++) {
		char ch = s[i];
		out[i + 1] = (char)(ch >= 'a' && ch <= 'f' ? ch - 'a' + 'A' : ch);
	}
	out[GUID_STR_LEN + 1] = '}';
	out[GUID_STR_LEN + 2] = '\0';
	return out;
}

/* groups_list writes "S-1-1-0 (Everyone), ..." for the expanded token. */
static void groups_list(dcom_security_t *s, const token_t *t, char *out, size_t len)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; t && i < token_num_groups(t) && used + 1 < len; i++) {
		char label[SID_STR_MAX + 160];
		const sid_t *g = &token_group(t, i)->sid;
		if (s->logon) {
			logon_sid_label(s->logon, g, label, sizeof(label));
		} else {
			char ss[SID_STR_MAX];
			const char *n = sid_wellknown_name(g);
			snprintf(label, sizeof(label), "%s%s%s%s", sid_format(g, ss), n ? " (" : "", n ? n : "",
				 n ? ")" : "");
		}
		int k = snprintf(out + used, len - used, "%s%s", used ? ", " : "", label);
		if (k < 0) {
			break;
		}
		used += (size_t)k;
	}
	if (used >= len && len > 4) {
		memcpy(out + len - 4, "...", 4);
	}
}

static const char *level_name(uint8_t level)
{
	static const char *const names[] = {"RPC_C_AUTHN_LEVEL_DEFAULT", "RPC_C_AUTHN_LEVEL_NONE",
					    "RPC_C_AUTHN_LEVEL_CONNECT", "RPC_C_AUTHN_LEVEL_CALL",
					    "RPC_C_AUTHN_LEVEL_PKT", "RPC_C_AUTHN_LEVEL_PKT_INTEGRITY",
					    "RPC_C_AUTHN_LEVEL_PKT_PRIVACY"};
	return level < sizeof(names) / sizeof(names[0]) ? names[level] : "?";
}

/* log_refusal writes the event Windows logs for v. The first sentence of
 * each Message is Windows' template filled in (sources below); the second
 * names certa's knob instead of the Component Services tool. */
static void log_refusal(dcom_security_t *s, const dcom_check_t *req, const token_t *t, const token_t *x,
			dcom_security_verdict_t v, const char *why, cerr_t answer)
{
	const struct dcom_class_sec *c = find_class(s, req->clsid);
	char clsid[GUID_STR_LEN + 3] = "-", appid[GUID_STR_LEN + 3] = "-", iid[GUID_STR_LEN + 3] = "-";
	if (req->clsid && !guid_is_nil(req->clsid)) {
		guid_braced(req->clsid, clsid);
		guid_braced(c ? &c->appid : req->clsid, appid);
	}
	if (req->kind == DCOM_CHECK_CALL && req->iid) {
		guid_braced(req->iid, iid);
	}
	char usid[SID_STR_MAX] = "S-1-0-0";
	if (t) {
		sid_format(token_user_sid(t), usid);
	}
	const char *dom = t ? token_domain_name(t) : "-", *user = t ? token_user_name(t) : "-";
	const char *addr = req->conn && req->conn->peer_addr && *req->conn->peer_addr ? req->conn->peer_addr : "-";
	const rpc_identity_t *id = req->conn ? req->conn->identity : NULL;
	uint8_t level = req->conn ? req->conn->auth_level : RPC_AUTH_LEVEL_NONE;
	const char *app = c ? c->name : "COM Server application";

	char msg[1024];
	uint32_t event = EVENT_DCOM_MACHINE_LIMIT;
	const char *perm = "Remote Activation", *desc = "MachineLaunchRestriction", *src = s->machine_launch_src;
	const char *knob = "[dcom] machine_launch_restriction in certad.conf, or the members of the local group "
			   "'" DCOM_SECURITY_CD_GROUP "' (certa group)";
	switch (v) {
	case DCOM_DENY_MACHINE_LAUNCH:
	case DCOM_DENY_MACHINE_ACCESS:
		/* 10027, as Windows logs it when the machine-wide limits refuse an
		 * activation, e.g. "The machine wide limit settings do not grant
		 * Remote Activation permission for COM Server applications to the
		 * user NT AUTHORITY\ANONYMOUS LOGON SID (S-1-5-7) from address ...
		 * running in the application container Unavailable SID
		 * (Unavailable)." The permission is a parameter of the template;
		 * logging 10027 "Remote Access" for the access limit is
		 * UNCONFIRMED (Windows Server 2008 R2 documents 10015 "The
		 * computer-wide limit settings do not grant %1 %2 permission ..." for
		 * launch; technet dd353832). */
		if (v == DCOM_DENY_MACHINE_ACCESS) {
			perm = "Remote Access";
			desc = "MachineAccessRestriction";
			src = s->machine_access_src;
			knob = "[dcom] machine_access_restriction in certad.conf";
		}
		snprintf(msg, sizeof(msg),
			 "The machine wide limit settings do not grant %s permission for COM Server applications to "
			 "the user %s\\%s SID (%s) from address %s running in the application container Unavailable "
			 "SID (Unavailable). This security permission can be modified in %s.",
			 perm, dom, user, usid, addr, knob);
		break;
	case DCOM_DENY_APP_LAUNCH:
		/* 10016 "The %1 permission settings do not grant %2 %3 permission
		 * for the COM Server application with CLSID %4 and APPID %5 to the
		 * user %6\%7 SID (%8) from address %9 ..." (technet dd353832 and
		 * Windows 10's form with APPID and the application container) */
		event = EVENT_DCOM_APP_LAUNCH;
		desc = "LaunchPermission";
		src = c ? c->launch_src : "-";
		snprintf(msg, sizeof(msg),
			 "The application-specific permission settings do not grant Remote Activation permission for "
			 "the COM Server application with CLSID %s and APPID %s to the user %s\\%s SID (%s) from "
			 "address %s running in the application container Unavailable SID (Unavailable). This security "
			 "permission can be modified in [dcom] certsrv_launch_permission in certad.conf.",
			 clsid, appid, dom, user, usid, addr);
		break;
	case DCOM_DENY_APP_ACCESS:
		/* 10017 "The %1 permission settings do not grant %2 access
		 * permission to the COM Server application %3 to the user %4\%5 SID
		 * (%6) from address %7." (technet dd353832) */
		event = EVENT_DCOM_APP_ACCESS;
		perm = "Remote access";
		desc = "AccessPermission";
		src = c ? c->access_src : "-";
		snprintf(msg, sizeof(msg),
			 "The application-specific permission settings do not grant Remote access permission to the "
			 "COM Server application %s to the user %s\\%s SID (%s) from address %s. This security "
			 "permission can be modified in [dcom] certsrv_access_permission in certad.conf.",
			 app, dom, user, usid, addr);
		break;
	case DCOM_DENY_AUTHN_LEVEL:
		/* 10036, KB5004442 "New DCOM error events"; the text as Windows
		 * logs it (quoted in greenbone/openvas-smb#41): "The server-side
		 * authentication level policy does not allow the user %1\%2 SID
		 * (%3) from address %4 to activate DCOM server. Please raise the
		 * activation authentication level at least to
		 * RPC_C_AUTHN_LEVEL_PKT_INTEGRITY in client application." */
		event = EVENT_DCOM_AUTHN_LEVEL;
		perm = "Activation";
		desc = "RequireIntegrityActivationAuthenticationLevel";
		src = "[dcom] require_integrity_activation";
		snprintf(msg, sizeof(msg),
			 "The server-side authentication level policy does not allow the user %s\\%s SID (%s) from "
			 "address %s to activate DCOM server. Please raise the activation authentication level at "
			 "least to RPC_C_AUTHN_LEVEL_PKT_INTEGRITY in client application.",
			 dom, user, usid, addr);
		break;
	default:
		snprintf(msg, sizeof(msg), "DCOM refused %s from %s\\%s SID (%s) from address %s: %s",
			 req->kind == DCOM_CHECK_ACTIVATE ? "an activation" : "a call", dom, user, usid, addr, why);
		desc = "-";
		src = "-";
		break;
	}
	char groups[2048];
	groups_list(s, x ? x : t, groups, sizeof(groups));
	char status[16];
	snprintf(status, sizeof(status), "0x%08x", cerr_value(answer));
	events_field_t f[] = {
		EVF_STR("Message", msg),
		EVF_STR("Permission", perm),
		EVF_STR("Descriptor", desc),
		EVF_STR("PolicySource", src),
		EVF_STR("Clsid", clsid),
		EVF_STR("AppId", appid),
		EVF_STR("Application", app),
		EVF_STR("Operation", req->kind == DCOM_CHECK_ACTIVATE
					     ? (req->class_object ? "RemoteGetClassObject" : "RemoteCreateInstance")
					     : "ORPC call"),
		EVF_STR("Interface", iid),
		EVF_INT("Opnum", req->kind == DCOM_CHECK_CALL ? req->opnum : 0),
		EVF_STR("TargetUserSid", usid),
		EVF_STR("TargetUserName", user),
		EVF_STR("TargetDomainName", dom),
		EVF_STR("IpAddress", addr),
		EVF_INT("AuthenticationLevel", level),
		EVF_STR("AuthenticationLevelName", level_name(level)),
		EVF_STR("AuthenticationPackageName", id && id->package ? id->package : "-"),
		EVF_STR("Status", status),
		EVF_STR("StatusName", cerr_name(answer)),
		EVF_STR("Reason", why),
		EVF_STR("Groups", groups),
	};
	log_info("dcom: %s", msg);
	(void)events_emit(s->events, event, EVENTS_LOG_SYSTEM, EVENTS_SOURCE_DCOM, EVENTS_ERROR, f,
			  sizeof(f) / sizeof(f[0]));
}

cerr_t dcom_security_check(void *arg, const dcom_check_t *req)
{
	dcom_security_t *s = arg;
	if (!s || !req) {
		return CERR_NCA_S_FAULT_ACCESS_DENIED;
	}
	/* the connection's token, or ANONYMOUS LOGON (S-1-5-7 alone) for an
	 * unauthenticated one (logon.h) */
	const token_t *t = logon_token(req->conn);
	token_t *x = NULL;
	dcom_security_verdict_t v = run(s, req, t, &x);
	if (v == DCOM_ALLOW) {
		token_unref(x);
		return CERR_OK;
	}
	/* On the wire: a machine-wide denial of an activation is the fault
	 * nca_s_fault_access_denied (what clients see as RPC_S_ACCESS_DENIED /
	 * "rpc_s_access_denied" from RemoteCreateInstance); the level hardening
	 * and a class's own launch permission are the activation's HRESULT
	 * E_ACCESSDENIED (believed from KB5004442's client-side description;
	 * UNCONFIRMED against a capture). A refused call is a fault either way. */
	cerr_t answer = v == DCOM_DENY_AUTHN_LEVEL || v == DCOM_DENY_APP_LAUNCH ? CERR_E_ACCESSDENIED
										 : CERR_NCA_S_FAULT_ACCESS_DENIED;
	if (req->kind != DCOM_CHECK_ACTIVATE) {
		answer = CERR_NCA_S_FAULT_ACCESS_DENIED;
	}
	char why[sizeof(why_buf)];
	snprintf(why, sizeof(why), "%s", why_buf);
	log_refusal(s, req, t, x, v, why, answer);
	token_unref(x);
	return answer;
}
