/*
 * logon.c - the network logon a completed RPC security context becomes (see
 * logon.h): token assembly from the provider's report, local group and
 * BUILTIN alias expansion as the server's SAM does it, the network-logon
 * right check, the 4624/4625 audit events with Windows' field names, and the
 * [log] auth_trace records. Runs on the RPC server's I/O thread, once per
 * authenticated connection.
 */
#include "services/logon.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rpc/gss.h"
#include "rpc/pdu.h"
#include "security/pac.h"
#include "security/sid.h"
#include "util/arena.h"
#include "util/log.h"

/* Windows' FailureReason strings (msobjs.dll message table; the 4625 event
 * shows "%%2308" rendered as this text). */
#define REASON_2304 "An Error occured during Logon."
#define REASON_2308 "The user has not been granted the requested logon type at this machine."
#define REASON_2310 "Account currently disabled."
#define REASON_2313 "Unknown user name or bad password."

#define NULL_SID "S-1-0-0"
/* token_describe output and group lists: a PAC may carry ~1,000 groups */
#define LIST_MAX 16384

struct logon {
	events_t *events;
	events_t *trace;
	logon_audit_t audit;
	accounts_t *accounts;
	pthread_mutex_t *accounts_lock;
	char *local_domain;
	char *computer_name;
	bool everyone_includes_anonymous;
	logon_resolve_fn resolve;
	void *resolve_ctx;
	logon_sid_name_fn sid_name;
	void *sid_name_ctx;

	pthread_mutex_t policy_lock; /* guards the pointer swap only */
	rights_policy_t *policy;
	atomic_uint_fast64_t next_logon_id;
};

/* ------------------------------------------------------------------ */
/* accounts access */

static void acct_lock(logon_t *l)
{
	if (l->accounts_lock) {
		pthread_mutex_lock(l->accounts_lock);
	}
}

static void acct_unlock(logon_t *l)
{
	if (l->accounts_lock) {
		pthread_mutex_unlock(l->accounts_lock);
	}
}

static bool machine_sid(logon_t *l, sid_t *out)
{
	return l->accounts && sid_parse(out, accounts_domain_sid(l->accounts)) == CERR_OK;
}

/* strip_local_prefix accepts "NAME", ".\NAME", "CERTA\NAME" or "COMPUTER\NAME"
 * for a local account; *out_local is false when another domain is named.
 * With a domain resolver (a member of a domain, where [auth] netbios_domain
 * is the domain's name) only "." and the computer name mean local. */
static const char *strip_local_prefix(const logon_t *l, const char *name, bool *out_local)
{
	const char *bs = strchr(name, '\\');
	*out_local = true;
	if (!bs) {
		return name;
	}
	size_t n = (size_t)(bs - name);
	if ((n == 1 && name[0] == '.') ||
	    (!l->resolve && l->local_domain && strlen(l->local_domain) == n &&
	     strncasecmp(name, l->local_domain, n) == 0) ||
	    (l->computer_name && strlen(l->computer_name) == n && strncasecmp(name, l->computer_name, n) == 0)) {
		return bs + 1;
	}
	*out_local = false;
	return name;
}

/* resolve_name maps a policy-file name to a SID (rights_resolve_fn); the
 * caller holds the accounts lock. Local users and groups, then the machine
 * domain's well-known RIDs (Guest = machine SID-501, as rights.h asks;
 * "None" = 513, the local users' primary group), then the extra resolver. */
static bool resolve_name(void *ctx, const char *name, sid_t *out)
{
	logon_t *l = ctx;
	bool local;
	const char *bare = strip_local_prefix(l, name, &local);
	sid_t msid;
	/* a domain member asks the domain for a name qualified with a domain
	 * ("CONTOSO\Domain Users" is the domain's group, not RID 513 here) */
	if (!local && l->resolve) {
		return l->resolve(l->resolve_ctx, name, out);
	}
	if (local && machine_sid(l, &msid)) {
		const acct_user_t *u = accounts_user_find(l->accounts, bare);
		const acct_group_t *g = u ? NULL : accounts_group_find(l->accounts, bare);
		uint32_t rid = 0;
		if (u) {
			rid = u->rid;
		} else if (g) {
			rid = g->rid;
		} else if (strcasecmp(bare, "None") == 0) {
			rid = SID_RID_DOMAIN_USERS;
		} else if (!sid_domain_rid_lookup(bare, &rid)) {
			rid = 0;
		}
		if (rid && sid_compose(out, &msid, rid) == CERR_OK) {
			return true;
		}
	}
	return l->resolve && l->resolve(l->resolve_ctx, name, out);
}

/* ------------------------------------------------------------------ */
/* naming SIDs */

/* label_sid names sid: well-known table, local accounts, then a well-known
 * RID of the caller's own domain ("SAMDOM\Domain Users"). Caller holds the
 * accounts lock. */
static const char *label_sid(logon_t *l, const sid_t *sid, const sid_t *user_domain, const char *domain_name,
			     char *out, size_t out_len)
{
	char s[SID_STR_MAX];
	sid_format(sid, s);
	const char *name = sid_wellknown_name(sid);
	sid_t msid, dom;
	uint32_t rid = 0;
	char buf[ACCT_NAME_MAX + 64];
	if (!name && sid_split(sid, &dom, &rid)) {
		if (machine_sid(l, &msid) && sid_equal(&dom, &msid)) {
			const acct_user_t *u = accounts_user_by_rid(l->accounts, rid);
			const acct_group_t *g = NULL;
			for (size_t i = 0; !u && !g && i < accounts_group_count(l->accounts); i++) {
				if (accounts_group_at(l->accounts, i)->rid == rid) {
					g = accounts_group_at(l->accounts, i);
				}
			}
			const char *n = u ? u->name : g ? g->name : rid == SID_RID_DOMAIN_USERS ? "None"
											  : sid_domain_rid_name(rid);
			if (n) {
				snprintf(buf, sizeof(buf), "%s\\%s", l->local_domain ? l->local_domain : "", n);
				name = buf;
			}
		} else if (user_domain && sid_equal(&dom, user_domain) && sid_domain_rid_name(rid)) {
			snprintf(buf, sizeof(buf), "%s\\%s", domain_name ? domain_name : "", sid_domain_rid_name(rid));
			name = buf;
		} else if (l->sid_name && l->sid_name(l->sid_name_ctx, sid, buf, sizeof(buf))) {
			name = buf;
		}
	}
	if (name) {
		snprintf(out, out_len, "%s (%s)", s, name);
	} else {
		snprintf(out, out_len, "%s", s);
	}
	return out;
}

const char *logon_sid_label(logon_t *l, const sid_t *sid, char *out, size_t out_len)
{
	acct_lock(l);
	label_sid(l, sid, NULL, NULL, out, out_len);
	acct_unlock(l);
	return out;
}

/* token_groups_list writes every group of t as "SID (name)", comma-separated. */
static void token_groups_list(logon_t *l, const token_t *t, char *out, size_t out_len)
{
	sid_t udom;
	bool has_dom = sid_split(token_user_sid(t), &udom, NULL);
	size_t n = 0;
	out[0] = '\0';
	acct_lock(l);
	for (size_t i = 0; i < token_num_groups(t) && n + 1 < out_len; i++) {
		char one[SID_STR_MAX + ACCT_NAME_MAX + 80];
		label_sid(l, &token_group(t, i)->sid, has_dom ? &udom : NULL, token_domain_name(t), one, sizeof(one));
		int w = snprintf(out + n, out_len - n, "%s%s", i ? ", " : "", one);
		if (w < 0) {
			break;
		}
		n += (size_t)w;
	}
	acct_unlock(l);
	if (n >= out_len && out_len > 4) {
		strcpy(out + out_len - 4, "...");
	}
}

/* right_list writes the SIDs holding right, labelled. */
static void right_list(logon_t *l, const rights_policy_t *p, const char *right, char *out, size_t out_len)
{
	size_t n = 0, count = rights_policy_num_sids(p, right);
	out[0] = '\0';
	acct_lock(l);
	for (size_t i = 0; i < count && n + 1 < out_len; i++) {
		char one[SID_STR_MAX + ACCT_NAME_MAX + 80];
		label_sid(l, rights_policy_sid(p, right, i), NULL, NULL, one, sizeof(one));
		int w = snprintf(out + n, out_len - n, "%s%s", i ? ", " : "", one);
		if (w < 0) {
			break;
		}
		n += (size_t)w;
	}
	acct_unlock(l);
}

/* ------------------------------------------------------------------ */
/* lifecycle and policy */

static char *dup_opt(const char *s)
{
	return s ? strdup(s) : NULL;
}

cerr_t logon_new(const logon_config_t *cfg, logon_t **out)
{
	if (!cfg || !out) {
		return CERR_INVALID_ARG;
	}
	logon_t *l = calloc(1, sizeof(*l));
	if (!l) {
		return CERR_NOMEM;
	}
	l->events = cfg->events;
	l->trace = cfg->trace;
	l->audit = cfg->audit;
	l->accounts = cfg->accounts;
	l->accounts_lock = cfg->accounts_lock;
	l->local_domain = dup_opt(cfg->local_domain ? cfg->local_domain : "");
	l->computer_name = dup_opt(cfg->computer_name ? cfg->computer_name : "");
	l->everyone_includes_anonymous = cfg->everyone_includes_anonymous;
	l->resolve = cfg->resolve;
	l->resolve_ctx = cfg->resolve_ctx;
	l->sid_name = cfg->sid_name;
	l->sid_name_ctx = cfg->sid_name_ctx;
	atomic_init(&l->next_logon_id, 0x10000);
	pthread_mutex_init(&l->policy_lock, NULL);
	if (!l->local_domain || !l->computer_name) {
		logon_free(l);
		return CERR_NOMEM;
	}
	acct_lock(l);
	cerr_t e = rights_policy_default(resolve_name, l, &l->policy);
	acct_unlock(l);
	if (e != CERR_OK) {
		logon_free(l);
		return e;
	}
	*out = l;
	return CERR_OK;
}

void logon_free(logon_t *l)
{
	if (!l) {
		return;
	}
	rights_policy_unref(l->policy);
	pthread_mutex_destroy(&l->policy_lock);
	free(l->local_domain);
	free(l->computer_name);
	free(l);
}

rights_policy_t *logon_policy(logon_t *l)
{
	pthread_mutex_lock(&l->policy_lock);
	rights_policy_t *p = rights_policy_ref(l->policy);
	pthread_mutex_unlock(&l->policy_lock);
	return p;
}

cerr_t logon_reload_policy(logon_t *l, const char *path, char *err, size_t err_len)
{
	rights_policy_t *p = NULL;
	cerr_t e;
	if (err && err_len) {
		err[0] = '\0';
	}
	acct_lock(l);
	if (l->accounts) {
		(void)accounts_refresh(l->accounts); /* a corrupt file keeps the old contents (logged) */
	}
	if (path && *path) {
		e = rights_policy_load(path, resolve_name, l, &p, err, err_len);
		if (e == CERR_NOT_FOUND) {
			log_info("rights: %s does not exist; using Windows' default user rights", path);
			e = rights_policy_default(resolve_name, l, &p);
		}
	} else {
		e = rights_policy_default(resolve_name, l, &p);
	}
	acct_unlock(l);
	if (e != CERR_OK) {
		if (err && err_len && !err[0]) {
			snprintf(err, err_len, "%s: %s", path ? path : "built-in defaults", cerr_msg(e));
		}
		return e;
	}
	pthread_mutex_lock(&l->policy_lock);
	rights_policy_t *old = l->policy;
	l->policy = p;
	pthread_mutex_unlock(&l->policy_lock);
	rights_policy_unref(old); /* checks in flight hold their own reference */
	log_info("rights: loaded %s (SeNetworkLogonRight: %zu SIDs, SeDenyNetworkLogonRight: %zu SIDs)",
		 rights_policy_source(p), rights_policy_num_sids(p, RIGHTS_NETWORK_LOGON),
		 rights_policy_num_sids(p, RIGHTS_DENY_NETWORK_LOGON));
	return CERR_OK;
}

void logon_hooks(logon_t *l, rpc_server_hooks_t *hooks)
{
	memset(hooks, 0, sizeof(*hooks));
	hooks->arg = l;
	hooks->on_auth = logon_on_auth;
	hooks->principal_free = logon_principal_free;
}

/* ------------------------------------------------------------------ */
/* token assembly */

/* The aliases the server's own SAM expands at logon: every local group (its
 * members may be local users, domain users or groups, well-known SIDs), and
 * the BUILTIN aliases Windows fills itself: Users holds Authenticated Users
 * and INTERACTIVE (so every authenticated caller is in BUILTIN\Users, as
 * `whoami /groups` shows on a member server); Guests holds the Guest account. */
typedef struct alias_set {
	token_alias_t *aliases;
	size_t n;
	sid_t *members; /* one block for all members */
} alias_set_t;

static void alias_set_free(alias_set_t *s)
{
	free(s->aliases);
	free(s->members);
	memset(s, 0, sizeof(*s));
}

/* alias_set_build: caller holds the accounts lock. */
static cerr_t alias_set_build(logon_t *l, alias_set_t *s)
{
	memset(s, 0, sizeof(*s));
	sid_t msid;
	bool have_machine = machine_sid(l, &msid);
	size_t ngroups = have_machine ? accounts_group_count(l->accounts) : 0;
	size_t nmembers = 3;
	for (size_t i = 0; i < ngroups; i++) {
		nmembers += accounts_group_at(l->accounts, i)->n_members;
	}
	s->aliases = calloc(ngroups + 2, sizeof(*s->aliases));
	s->members = calloc(nmembers, sizeof(*s->members));
	if (!s->aliases || !s->members) {
		alias_set_free(s);
		return CERR_NOMEM;
	}
	size_t m = 0;
	token_alias_t *a = &s->aliases[s->n++];
	a->alias = sid_from_literal(SID_S_BUILTIN_USERS);
	a->members = &s->members[m];
	s->members[m++] = sid_from_literal(SID_S_AUTHENTICATED_USERS);
	s->members[m++] = sid_from_literal("S-1-5-4"); /* INTERACTIVE */
	a->num_members = 2;
	if (have_machine) {
		a = &s->aliases[s->n++];
		a->alias = sid_from_literal(SID_S_BUILTIN_GUESTS);
		a->members = &s->members[m];
		if (sid_compose(&s->members[m], &msid, SID_RID_GUEST) == CERR_OK) {
			m++;
			a->num_members = 1;
		}
	}
	for (size_t i = 0; i < ngroups; i++) {
		const acct_group_t *g = accounts_group_at(l->accounts, i);
		a = &s->aliases[s->n];
		if (sid_compose(&a->alias, &msid, g->rid) != CERR_OK) {
			continue;
		}
		a->members = &s->members[m];
		for (size_t j = 0; j < g->n_members; j++) {
			if (sid_parse(&s->members[m], g->members[j]) == CERR_OK) {
				m++;
				a->num_members++;
			}
		}
		s->n++;
	}
	return CERR_OK;
}

/* local_token builds a local account's token (accounts lock held). Its
 * primary group is the machine's "None" (SID-513), as on a standalone
 * Windows server; local groups and BUILTIN\Users come from the aliases. */
static cerr_t local_token(logon_t *l, const rpc_identity_t *id, const char *domain, token_auth_t auth,
			  token_t **out)
{
	sid_t msid;
	if (!machine_sid(l, &msid)) {
		return CERR_STATUS_NO_SUCH_USER;
	}
	const acct_user_t *u = accounts_user_find(l->accounts, id->user ? id->user : "");
	if (!u) {
		return CERR_STATUS_NO_SUCH_USER;
	}
	sid_t groups[1];
	token_local_account_t acct = {
		.name = u->name,
		.domain = domain && *domain ? domain : l->local_domain,
		.groups = groups,
		.num_groups = 1,
	};
	cerr_t e = sid_compose(&acct.user_sid, &msid, u->rid);
	if (e == CERR_OK) {
		e = sid_compose(&groups[0], &msid, SID_RID_DOMAIN_USERS);
	}
	return e == CERR_OK ? token_from_local_account(&acct, auth, out) : e;
}

static token_auth_t auth_of(const rpc_identity_t *id)
{
	if (id->anonymous) {
		return TOKEN_AUTH_ANONYMOUS;
	}
	if (id->extra_kind == RPC_EXTRA_PAC || (id->extra_kind == RPC_EXTRA_NONE && gss_identity_extra(id))) {
		return TOKEN_AUTH_KERBEROS;
	}
	if (id->package && (strcasecmp(id->package, "Kerberos") == 0)) {
		return TOKEN_AUTH_KERBEROS;
	}
	return TOKEN_AUTH_NTLM;
}

static const char *or_q(const char *s)
{
	return s ? s : "?";
}

/* pac_token builds the token from a verified PAC's logon info. A PAC without
 * logon info (an MIT KDC's) gives CERR_STATUS_NO_SUCH_USER: the caller then
 * maps the principal to a local account. */
static cerr_t pac_token(const rpc_identity_t *id, const uint8_t *data, size_t len, token_auth_t auth, token_t **out,
			char *source, size_t source_len)
{
	(void)id;
	arena_t *ar = arena_new();
	if (!ar) {
		return CERR_NOMEM;
	}
	pac_t pac;
	cerr_t e = pac_decode(ar, data, len, &pac);
	if (e != CERR_OK) {
		snprintf(source, source_len, "PAC of %zu bytes does not decode: %s", len, cerr_name(e));
		e = CERR_STATUS_LOGON_FAILURE;
	} else if (!pac.has_logon_info) {
		snprintf(source, source_len, "PAC of %zu bytes without logon info (not an AD KDC)", len);
		e = CERR_STATUS_NO_SUCH_USER;
	} else {
		snprintf(source, source_len,
			 "PAC of %zu bytes: logon info for %s\\%s, %" PRIu32 " GroupIds, %" PRIu32 " ExtraSids, %" PRIu32
			 " ResourceGroupIds",
			 len, or_q(pac.logon.logon_domain_name), or_q(pac.logon.effective_name), pac.logon.group_count,
			 pac.logon.extra_sid_count, pac.logon.resource_group_count);
		e = token_from_pac(&pac, auth, out);
	}
	arena_free(ar);
	return e;
}

/* mapped_token: a Kerberos principal without SIDs (a non-AD KDC) is the local
 * account of the same name, as Windows maps an MIT realm's users with
 * `ksetup /mapuser * *`; no such account refuses the logon. */
static cerr_t mapped_token(logon_t *l, const rpc_identity_t *id, const char *principal, token_auth_t auth,
			   token_t **out, char *source, size_t source_len)
{
	size_t used = strlen(source);
	acct_lock(l);
	cerr_t e = local_token(l, id, l->local_domain, auth, out);
	acct_unlock(l);
	snprintf(source + used, source_len - used, "%sno SIDs from the KDC for %s: mapped to the local account %s\\%s%s",
		 used ? "; " : "", or_q(principal ? principal : id->user), l->local_domain, or_q(id->user),
		 e == CERR_OK ? "" : ", which does not exist");
	return e;
}

/* build_base makes the token before alias expansion and says where it came
 * from in source (for the trace). */
static cerr_t build_base(logon_t *l, const rpc_identity_t *id, token_t **out, char *source, size_t source_len)
{
	token_auth_t auth = auth_of(id);
	cerr_t e;
	source[0] = '\0';
	if (id->anonymous) {
		snprintf(source, source_len, "anonymous logon: ANONYMOUS LOGON S-1-5-7%s",
			 l->everyone_includes_anonymous ? " and Everyone (EveryoneIncludesAnonymous)" : " alone");
		return token_new_anonymous(l->everyone_includes_anonymous, out);
	}
	/* gss.c's own extra (magic-checked) is read only when extra_kind says nothing else */
	const gss_identity_extra_t *gx = id->extra_kind == RPC_EXTRA_NONE ? gss_identity_extra(id) : NULL;
	if (gx) {
		if (gx->pac && !gx->pac_authenticated) {
			snprintf(source, source_len, "Kerberos ticket of %s: its PAC's server signature did not verify; "
				 "the PAC is not used and the logon is refused", or_q(gx->principal));
			return CERR_STATUS_LOGON_FAILURE;
		}
		if (gx->pac) {
			e = pac_token(id, gx->pac, gx->pac_len, auth, out, source, source_len);
			if (e != CERR_STATUS_NO_SUCH_USER) {
				return e;
			}
		}
		return mapped_token(l, id, gx->principal, auth, out, source, source_len);
	}
	switch (id->extra_kind) {
	case RPC_EXTRA_PAC: {
		const rpc_blob_t *b = id->extra;
		if (!b || !b->data) {
			snprintf(source, source_len, "Kerberos: the ticket carries no PAC");
			return CERR_INVALID_ARG;
		}
		e = pac_token(id, b->data, b->len, auth, out, source, source_len);
		return e == CERR_STATUS_NO_SUCH_USER ? mapped_token(l, id, NULL, auth, out, source, source_len) : e;
	}
	case RPC_EXTRA_SIDS: {
		const rpc_sid_list_t *s = id->extra;
		if (!s || !s->user_sid) {
			snprintf(source, source_len, "domain logon without SIDs");
			return CERR_INVALID_ARG;
		}
		snprintf(source, source_len, "SIDs the domain controller reported: user %s and %zu groups",
			 s->user_sid, s->num_group_sids);
		return token_from_sid_strings(id->user, id->domain, s->user_sid, s->group_sids, s->num_group_sids,
					      auth, out);
	}
	default:
		acct_lock(l);
		e = local_token(l, id, id->domain, auth, out);
		acct_unlock(l);
		snprintf(source, source_len, "local account %s\\%s from the accounts store%s",
			 id->domain ? id->domain : "", id->user ? id->user : "",
			 e == CERR_OK ? "" : ": not found");
		return e;
	}
}

static cerr_t build_token(logon_t *l, const rpc_identity_t *id, token_t **out, char *source, size_t source_len)
{
	token_t *base = NULL;
	cerr_t e = build_base(l, id, &base, source, source_len);
	if (e != CERR_OK || token_is_anonymous(base)) {
		*out = e == CERR_OK ? base : NULL;
		return e;
	}
	alias_set_t s;
	acct_lock(l);
	if (l->accounts) {
		/* `certa group addmember` takes effect at the next logon */
		(void)accounts_refresh(l->accounts);
	}
	e = alias_set_build(l, &s);
	acct_unlock(l);
	if (e == CERR_OK) {
		e = token_with_aliases(base, s.aliases, s.n, out);
		alias_set_free(&s);
	}
	token_unref(base);
	return e;
}

cerr_t logon_build_token(logon_t *l, const rpc_identity_t *id, token_t **out)
{
	char source[1024];
	if (!l || !id || !out) {
		return CERR_INVALID_ARG;
	}
	return build_token(l, id, out, source, sizeof(source));
}

/* ------------------------------------------------------------------ */
/* the anonymous token for unauthenticated connections */

static pthread_once_t anon_once = PTHREAD_ONCE_INIT;
static token_t *anon_token;

static void make_anon(void)
{
	if (token_new_anonymous(false, &anon_token) != CERR_OK) {
		anon_token = NULL;
	}
}

const token_t *logon_token(const rpc_conn_info_t *conn)
{
	if (conn && conn->principal) {
		return conn->principal;
	}
	pthread_once(&anon_once, make_anon);
	return anon_token;
}

/* ------------------------------------------------------------------ */
/* audit and trace */

void logon_failure_status(cerr_t status, cerr_t sub_status, uint32_t *out_status, uint32_t *out_sub,
			  const char **out_reason)
{
	uint32_t st, sub = sub_status == CERR_OK ? 0 : cerr_value(sub_status);
	const char *reason = REASON_2304;
	switch (status) {
	case CERR_STATUS_LOGON_TYPE_NOT_GRANTED:
		st = cerr_value(status);
		sub = 0;
		reason = REASON_2308;
		break;
	case CERR_STATUS_ACCOUNT_DISABLED:
		/* Windows: Status 0xc000006e (account restriction), SubStatus 0xc0000072 */
		st = cerr_value(CERR_STATUS_ACCOUNT_RESTRICTION);
		sub = cerr_value(CERR_STATUS_ACCOUNT_DISABLED);
		reason = REASON_2310;
		break;
	case CERR_STATUS_LOGON_FAILURE:
	case CERR_STATUS_NO_SUCH_USER:
	case CERR_STATUS_WRONG_PASSWORD:
		st = cerr_value(CERR_STATUS_LOGON_FAILURE);
		if (status != CERR_STATUS_LOGON_FAILURE) {
			sub = cerr_value(status);
		}
		reason = REASON_2313;
		break;
	default:
		st = cerr_space(status) == CERR_SPACE_NTSTATUS ? cerr_value(status)
							       : cerr_value(CERR_STATUS_LOGON_FAILURE);
		break;
	}
	*out_status = st;
	*out_sub = sub;
	*out_reason = reason;
}

typedef struct attempt {
	char logon_id[24];
	const char *peer;
	uint16_t port;
	uint8_t auth_type; /* enum rpc_auth_type */
	const char *package;
	char account[2 * NTLM_NAME_MAX + 2];
} attempt_t;

static void trace(logon_t *l, const attempt_t *at, const char *step, cerr_t status, const char *detail)
{
	if (!l->trace) {
		return;
	}
	char st[16];
	snprintf(st, sizeof(st), "0x%08" PRIx32, cerr_value(status));
	events_field_t f[] = {
		EVF_STR("LogonId", at->logon_id),   EVF_STR("Step", step),
		EVF_STR("Package", at->package),    EVF_STR("Account", at->account),
		EVF_STR("IpAddress", at->peer),     EVF_INT("IpPort", at->port),
		EVF_STR("Status", st),              EVF_STR("StatusName", cerr_name(status)),
		EVF_STR("Detail", detail),
	};
	(void)events_emit(l->trace, EVENT_AUTH_TRACE, EVENTS_LOG_AUTH_TRACE, "certa", EVENTS_VERBOSE, f,
			  sizeof(f) / sizeof(f[0]));
}

/* Windows' LogonProcessName for each package ("NtLmSsp " with its trailing
 * space, as 4624/4625 show it). */
static const char *logon_process(token_auth_t auth)
{
	switch (auth) {
	case TOKEN_AUTH_KERBEROS:
		return "Kerberos";
	case TOKEN_AUTH_NTLM:
	case TOKEN_AUTH_ANONYMOUS:
	default:
		return "NtLmSsp ";
	}
}

static const char *package_of(const rpc_identity_t *id, token_auth_t auth)
{
	if (auth == TOKEN_AUTH_KERBEROS) {
		return "Kerberos";
	}
	if (id && id->package && *id->package) {
		return id->package;
	}
	return "NTLM";
}

/* package_of_type names the package from the RPC auth type, for a failed
 * context that reported no identity (MS-RPCE 2.2.1.1.7). */
static const char *package_of_type(uint8_t auth_type)
{
	switch (auth_type) {
	case RPC_AUTH_GSS_KERBEROS:
		return "Kerberos";
	case RPC_AUTH_GSS_NEGOTIATE:
		return "Negotiate";
	default:
		return "NTLM";
	}
}

static const char *dash(const char *s)
{
	return s && *s ? s : "-";
}

/* audit_failure writes 4625. t (may be NULL) is the refused token; the
 * extra fields (certa's, after Windows' own) say why for `certa diagnose`. */
static void audit_failure(logon_t *l, const attempt_t *at, const rpc_identity_t *id, const token_t *t,
			  cerr_t status, cerr_t sub_status, const char *why, const rights_policy_t *p)
{
	if (!l->events || l->audit == LOGON_AUDIT_NONE) {
		return;
	}
	uint32_t st, sub;
	const char *reason;
	logon_failure_status(status, sub_status, &st, &sub, &reason);
	token_auth_t auth = t ? token_auth(t) : id ? auth_of(id) : TOKEN_AUTH_NTLM;
	char usid[SID_STR_MAX];
	if (t) {
		sid_format(token_user_sid(t), usid);
	} else {
		snprintf(usid, sizeof(usid), "%s", NULL_SID);
	}
	char *groups = NULL, *granted = NULL, *denied = NULL;
	if (t && p) {
		groups = malloc(LIST_MAX);
		granted = malloc(LIST_MAX);
		denied = malloc(LIST_MAX);
		if (groups && granted && denied) {
			token_groups_list(l, t, groups, LIST_MAX);
			right_list(l, p, RIGHTS_NETWORK_LOGON, granted, LIST_MAX);
			right_list(l, p, RIGHTS_DENY_NETWORK_LOGON, denied, LIST_MAX);
		}
	}
	bool lists = groups && granted && denied;
	events_field_t f[] = {
		EVF_STR("SubjectUserSid", NULL_SID),
		EVF_STR("SubjectUserName", "-"),
		EVF_STR("SubjectDomainName", "-"),
		EVF_STR("SubjectLogonId", "0x0"),
		EVF_STR("TargetUserSid", usid),
		EVF_STR("TargetUserName", dash(t ? token_user_name(t) : id ? id->user : NULL)),
		EVF_STR("TargetDomainName", dash(t ? token_domain_name(t) : id ? id->domain : NULL)),
		EVF_HEX32("Status", st),
		EVF_STR("FailureReason", reason),
		EVF_HEX32("SubStatus", sub),
		EVF_INT("LogonType", LOGON_TYPE_NETWORK),
		EVF_STR("LogonProcessName", logon_process(auth)),
		EVF_STR("AuthenticationPackageName", package_of(id, auth)),
		EVF_STR("WorkstationName", dash(id ? id->workstation : NULL)),
		EVF_STR("TransmittedServices", "-"),
		EVF_STR("LmPackageName", "-"),
		EVF_INT("KeyLength", 0),
		EVF_STR("ProcessId", "0x0"),
		EVF_STR("ProcessName", "-"),
		EVF_STR("IpAddress", dash(at->peer)),
		EVF_INT("IpPort", at->port),
		/* certa's additions */
		EVF_STR("LogonId", at->logon_id),
		EVF_STR("StatusName", cerr_name(status)),
		EVF_STR("Reason", why),
		EVF_STR("PolicySource", p ? rights_policy_source(p) : NULL),
		EVF_STR("Groups", lists ? groups : NULL),
		EVF_STR("Granted", lists ? granted : NULL),
		EVF_STR("Denied", lists ? denied : NULL),
	};
	if (!id && (at->auth_type == RPC_AUTH_GSS_KERBEROS || at->auth_type == RPC_AUTH_GSS_NEGOTIATE)) {
		/* a Kerberos context that failed before naming anyone */
		f[11] = EVF_STR("LogonProcessName", "Kerberos");
		f[12] = EVF_STR("AuthenticationPackageName", package_of_type(at->auth_type));
	}
	size_t nf = sizeof(f) / sizeof(f[0]);
	if (!why) {
		nf -= 5; /* a failed context: no token, no policy decision */
	}
	(void)events_emit(l->events, EVENT_LOGON_FAILURE, EVENTS_LOG_SECURITY, EVENTS_SOURCE_SECURITY_AUDITING,
			  EVENTS_INFO, f, nf);
	free(groups);
	free(granted);
	free(denied);
}

static void audit_success(logon_t *l, const attempt_t *at, const rpc_identity_t *id, const token_t *t)
{
	if (!l->events || l->audit != LOGON_AUDIT_ALL) {
		return;
	}
	char usid[SID_STR_MAX];
	sid_format(token_user_sid(t), usid);
	char *groups = malloc(LIST_MAX);
	if (groups) {
		token_groups_list(l, t, groups, LIST_MAX);
	}
	token_auth_t auth = token_auth(t);
	bool ntlm = auth == TOKEN_AUTH_NTLM && !token_is_anonymous(t);
	events_field_t f[] = {
		EVF_STR("SubjectUserSid", NULL_SID),
		EVF_STR("SubjectUserName", "-"),
		EVF_STR("SubjectDomainName", "-"),
		EVF_STR("SubjectLogonId", "0x0"),
		EVF_STR("TargetUserSid", usid),
		EVF_STR("TargetUserName", dash(token_user_name(t))),
		EVF_STR("TargetDomainName", dash(token_domain_name(t))),
		EVF_STR("TargetLogonId", at->logon_id),
		EVF_INT("LogonType", LOGON_TYPE_NETWORK),
		EVF_STR("LogonProcessName", logon_process(auth)),
		EVF_STR("AuthenticationPackageName", token_is_anonymous(t) ? "NTLM" : package_of(id, auth)),
		EVF_STR("WorkstationName", dash(id->workstation)),
		EVF_STR("TransmittedServices", "-"),
		EVF_STR("LmPackageName", ntlm ? "NTLM V2" : "-"),
		EVF_INT("KeyLength", ntlm && id->session_key_len ? 128 : 0),
		EVF_STR("ProcessId", "0x0"),
		EVF_STR("ProcessName", "-"),
		EVF_STR("IpAddress", dash(at->peer)),
		EVF_INT("IpPort", at->port),
		EVF_STR("ImpersonationLevel", "Impersonation"),
		/* certa's addition: the token's groups, which Windows' 4624 omits */
		EVF_STR("Groups", groups),
	};
	(void)events_emit(l->events, EVENT_LOGON_SUCCESS, EVENTS_LOG_SECURITY, EVENTS_SOURCE_SECURITY_AUDITING,
			  EVENTS_INFO, f, sizeof(f) / sizeof(f[0]));
	free(groups);
}

/* deny_only_check is the check for anonymous logons: certa matches them
 * against SeDenyNetworkLogonRight only, so that [auth] anonymous = on keeps
 * working under the default policy (Everyone excludes ANONYMOUS LOGON);
 * listing ANONYMOUS LOGON there refuses null sessions at logon. */
static cerr_t deny_only_check(const rights_policy_t *p, const token_t *t, char *why, size_t why_len)
{
	for (size_t i = 0; i < rights_policy_num_sids(p, RIGHTS_DENY_NETWORK_LOGON); i++) {
		const sid_t *s = rights_policy_sid(p, RIGHTS_DENY_NETWORK_LOGON, i);
		if (s && token_has_sid(t, s)) {
			char ss[SID_STR_MAX];
			snprintf(why, why_len, "%s is refused network logon: %s is in %s (%s)", token_account_name(t),
				 sid_format(s, ss), RIGHTS_DENY_NETWORK_LOGON, rights_policy_source(p));
			return CERR_STATUS_LOGON_TYPE_NOT_GRANTED;
		}
	}
	snprintf(why, why_len, "%s: anonymous logons are checked against %s only (certa's rule)",
		 token_account_name(t), RIGHTS_DENY_NETWORK_LOGON);
	return CERR_OK;
}

/* ------------------------------------------------------------------ */
/* the hook */

static void attempt_init(logon_t *l, attempt_t *at, const rpc_conn_info_t *conn, const rpc_identity_t *id)
{
	uint64_t n = atomic_fetch_add(&l->next_logon_id, 1);
	snprintf(at->logon_id, sizeof(at->logon_id), "0x%" PRIx64, n);
	at->peer = conn ? conn->peer_addr : NULL;
	at->port = conn ? conn->peer_port : 0;
	at->auth_type = conn ? conn->auth_type : 0;
	at->package = id && id->package ? id->package : conn ? package_of_type(conn->auth_type) : "?";
	if (id && id->user) {
		snprintf(at->account, sizeof(at->account), "%s\\%s", id->domain ? id->domain : "", id->user);
	} else {
		snprintf(at->account, sizeof(at->account), "-");
	}
}

cerr_t logon_on_auth(void *arg, const rpc_conn_info_t *conn, cerr_t status, void **out_principal)
{
	logon_t *l = arg;
	const rpc_identity_t *id = conn ? conn->identity : NULL;
	attempt_t at;
	char detail[2048];
	attempt_init(l, &at, conn, id);

	if (status != CERR_OK) {
		cerr_t sub = id && id->failed ? id->sub_status : CERR_OK;
		snprintf(detail, sizeof(detail), "security context failed: %s (0x%08" PRIx32 ")%s%s%s", cerr_name(status),
			 cerr_value(status), sub != CERR_OK ? ", sub-status " : "", sub != CERR_OK ? cerr_name(sub) : "",
			 id && id->user ? "" : "; the caller's name is unknown");
		trace(l, &at, "context", status, detail);
		audit_failure(l, &at, id && id->failed ? id : NULL, NULL, status, sub, NULL, NULL);
		return CERR_OK;
	}
	if (!id) {
		return CERR_INTERNAL;
	}
	if (id->provisional) {
		/* Kerberos in DCE style: the token is made from the AP-REQ, before
		 * the client's AP-REP completes the context (MS-KILE 3.4.5.1) */
		snprintf(detail, sizeof(detail), "AP-REQ accepted (the context completes at the next leg): %s for %s, "
			 "level %u", at.package, at.account, conn->auth_level);
	} else {
		snprintf(detail, sizeof(detail), "security context complete: %s for %s from workstation %s, level %u, "
			 "session key %zu bytes", at.package, at.account, dash(id->workstation), conn->auth_level,
			 id->session_key_len);
	}
	trace(l, &at, "context", CERR_OK, detail);

	token_t *t = NULL;
	char source[1024];
	cerr_t e = build_token(l, id, &t, source, sizeof(source));
	trace(l, &at, "token-source", e, source);
	if (e != CERR_OK) {
		snprintf(detail, sizeof(detail), "token creation failed: %s (%s); the caller is refused", cerr_name(e),
			 cerr_msg(e));
		trace(l, &at, "result", e, detail);
		audit_failure(l, &at, id, NULL, e == CERR_STATUS_NO_SUCH_USER ? CERR_STATUS_LOGON_FAILURE : e,
			      e == CERR_STATUS_NO_SUCH_USER ? e : CERR_OK, NULL, NULL);
		return e == CERR_NOMEM ? e : CERR_STATUS_LOGON_FAILURE;
	}
	if (l->trace) {
		char *desc = malloc(LIST_MAX);
		if (desc) {
			trace(l, &at, "token", CERR_OK, token_describe(t, desc, LIST_MAX));
			free(desc);
		}
	}

	rights_policy_t *p = logon_policy(l);
	char why[1024];
	const char *w = NULL;
	if (token_is_anonymous(t)) {
		e = deny_only_check(p, t, why, sizeof(why));
	} else {
		e = rights_check_network_logon(p, t, &w);
		snprintf(why, sizeof(why), "%s", w ? w : "");
	}
	snprintf(detail, sizeof(detail), "%s %.300s: %.1500s", RIGHTS_NETWORK_LOGON, rights_policy_source(p), why);
	trace(l, &at, "rights", e, detail);
	if (e != CERR_OK) {
		log_info("logon: %s from %s refused: %s", token_account_name(t), dash(at.peer), why);
		trace(l, &at, "result", e,
		      "token creation failed: STATUS_LOGON_TYPE_NOT_GRANTED; in a bind (Kerberos: at its AP-REQ) the "
		      "bind is refused with bind_nak reason 9 (invalid_checksum), in an alter_context with a fault "
		      "access denied, and after AUTH3 (NTLM) the first request gets that fault (event 4625)");
		audit_failure(l, &at, id, t, CERR_STATUS_LOGON_TYPE_NOT_GRANTED, CERR_OK, why, p);
		rights_policy_unref(p);
		token_unref(t);
		return CERR_STATUS_LOGON_TYPE_NOT_GRANTED;
	}
	rights_policy_unref(p);
	trace(l, &at, "result", CERR_OK, "logon accepted (event 4624)");
	audit_success(l, &at, id, t);
	if (out_principal) {
		*out_principal = t;
	} else {
		token_unref(t);
	}
	return CERR_OK;
}

void logon_principal_free(void *arg, void *principal)
{
	(void)arg;
	token_unref(principal);
}
