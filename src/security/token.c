/*
 * token.c - access token builders and readers (see token.h for the rules and
 * their sources). A token is assembled in a private builder, then frozen:
 * after a builder returns, nothing changes it but its reference count.
 */
#include "security/token.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct token {
	atomic_uint refs;
	token_auth_t auth;
	bool anonymous;
	sid_t user;
	token_group_t *groups;
	size_t num_groups;
	char *user_name;
	char *domain_name;
	char *account_name; /* "DOMAIN\user" */
};

/* ---- builder ---- */

typedef struct tb {
	token_t *t;
	size_t cap;
	cerr_t err; /* sticky, as buf_t's */
} tb_t;

static void tb_init(tb_t *b)
{
	b->t = calloc(1, sizeof(*b->t));
	b->cap = 0;
	b->err = b->t ? CERR_OK : CERR_NOMEM;
	if (b->t) {
		atomic_init(&b->t->refs, 1);
	}
}

static bool group_present(const token_t *t, const sid_t *sid)
{
	for (size_t i = 0; i < t->num_groups; i++) {
		if (sid_equal(&t->groups[i].sid, sid)) {
			return true;
		}
	}
	return false;
}

/* tb_add appends a group unless it is the user or already present (a token
 * lists each SID once; the first attributes seen win). */
static void tb_add(tb_t *b, const sid_t *sid, uint32_t attrs)
{
	if (b->err != CERR_OK) {
		return;
	}
	token_t *t = b->t;
	if (sid_equal(&t->user, sid) || group_present(t, sid)) {
		return;
	}
	if (t->num_groups >= TOKEN_MAX_GROUPS) {
		b->err = CERR_LIMIT;
		return;
	}
	if (t->num_groups == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		token_group_t *g = realloc(t->groups, cap * sizeof(*g));
		if (!g) {
			b->err = CERR_NOMEM;
			return;
		}
		t->groups = g;
		b->cap = cap;
	}
	t->groups[t->num_groups].sid = *sid;
	t->groups[t->num_groups].attributes = attrs;
	t->num_groups++;
}

static void tb_add_wk(tb_t *b, const char *literal)
{
	sid_t s = sid_from_literal(literal);
	tb_add(b, &s, SE_GROUP_DEFAULT_ATTRS);
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

static void tb_names(tb_t *b, const char *user, const char *domain)
{
	if (b->err != CERR_OK) {
		return;
	}
	token_t *t = b->t;
	t->user_name = dup_or_empty(user);
	t->domain_name = dup_or_empty(domain);
	if (!t->user_name || !t->domain_name) {
		b->err = CERR_NOMEM;
		return;
	}
	size_t n = strlen(t->user_name) + strlen(t->domain_name) + 2;
	t->account_name = malloc(n);
	if (!t->account_name) {
		b->err = CERR_NOMEM;
		return;
	}
	if (t->domain_name[0]) {
		snprintf(t->account_name, n, "%s\\%s", t->domain_name, t->user_name);
	} else {
		snprintf(t->account_name, n, "%s", t->user_name);
	}
}

static void token_free(token_t *t)
{
	if (!t) {
		return;
	}
	free(t->groups);
	free(t->user_name);
	free(t->domain_name);
	free(t->account_name);
	free(t);
}

static cerr_t tb_finish(tb_t *b, token_t **out)
{
	if (b->err != CERR_OK) {
		token_free(b->t);
		b->t = NULL;
		return b->err;
	}
	*out = b->t;
	b->t = NULL;
	return CERR_OK;
}

static bool is_guest(const sid_t *user)
{
	uint32_t rid;
	return sid_split(user, NULL, &rid) && rid == SID_RID_GUEST && user->authority == 5 &&
	       user->num_auths >= 2 && user->sub[0] == 21;
}

/* tb_network_logon adds the SIDs Windows adds to every network logon (token.h). */
static void tb_network_logon(tb_t *b, token_auth_t auth, bool guest)
{
	sid_t other_org = sid_from_literal("S-1-5-1000");
	tb_add_wk(b, SID_S_EVERYONE);
	tb_add_wk(b, SID_S_NETWORK);
	if (!guest) {
		tb_add_wk(b, SID_S_AUTHENTICATED_USERS);
	}
	if (b->err == CERR_OK && !group_present(b->t, &other_org)) {
		tb_add_wk(b, SID_S_THIS_ORGANIZATION);
	}
	if (auth == TOKEN_AUTH_NTLM) {
		tb_add_wk(b, SID_S_NTLM_AUTHENTICATION);
	}
}

/* ---- builders ---- */

cerr_t token_new_anonymous(bool everyone_includes_anonymous, token_t **out)
{
	tb_t b;
	tb_init(&b);
	if (b.err == CERR_OK) {
		b.t->user = sid_from_literal(SID_S_ANONYMOUS);
		b.t->anonymous = true;
		b.t->auth = TOKEN_AUTH_ANONYMOUS;
	}
	if (everyone_includes_anonymous) {
		tb_add_wk(&b, SID_S_EVERYONE);
	}
	tb_names(&b, "ANONYMOUS LOGON", "NT AUTHORITY");
	return tb_finish(&b, out);
}

cerr_t token_from_pac(const pac_t *pac, token_auth_t auth, token_t **out)
{
	if (!pac || !pac->has_logon_info) {
		return CERR_INVALID_ARG;
	}
	tb_t b;
	tb_init(&b);
	if (b.err == CERR_OK) {
		b.t->user = pac->user_sid;
		b.t->auth = auth;
	}
	/* The primary group is normally also among GroupIds; list it first either way. */
	tb_add(&b, &pac->primary_group_sid, SE_GROUP_DEFAULT_ATTRS);
	for (size_t i = 0; i < pac->num_groups; i++) {
		tb_add(&b, &pac->groups[i].sid, pac->groups[i].attributes);
	}
	bool guest = (pac->logon.user_flags & PAC_LOGON_GUEST) || is_guest(&pac->user_sid);
	tb_network_logon(&b, auth, guest);
	tb_names(&b, pac->logon.effective_name, pac->logon.logon_domain_name);
	return tb_finish(&b, out);
}

cerr_t token_from_sid_strings(const char *user_name, const char *domain_name, const char *user_sid,
			      const char *const *group_sids, size_t num_group_sids, token_auth_t auth,
			      token_t **out)
{
	sid_t user;
	if (!user_sid || (num_group_sids && !group_sids)) {
		return CERR_INVALID_ARG;
	}
	if (sid_parse(&user, user_sid) != CERR_OK) {
		return CERR_MALFORMED;
	}
	tb_t b;
	tb_init(&b);
	if (b.err == CERR_OK) {
		b.t->user = user;
		b.t->auth = auth;
	}
	for (size_t i = 0; i < num_group_sids && b.err == CERR_OK; i++) {
		sid_t g;
		if (sid_parse(&g, group_sids[i]) != CERR_OK) {
			b.err = CERR_MALFORMED;
			break;
		}
		tb_add(&b, &g, SE_GROUP_DEFAULT_ATTRS);
	}
	tb_network_logon(&b, auth, is_guest(&user));
	tb_names(&b, user_name, domain_name);
	return tb_finish(&b, out);
}

cerr_t token_from_local_account(const token_local_account_t *acct, token_auth_t auth, token_t **out)
{
	if (!acct || (acct->num_groups && !acct->groups)) {
		return CERR_INVALID_ARG;
	}
	const sid_t admins = sid_from_literal(SID_S_BUILTIN_ADMINISTRATORS);
	bool admin = false;
	tb_t b;
	tb_init(&b);
	if (b.err == CERR_OK) {
		b.t->user = acct->user_sid;
		b.t->auth = auth;
	}
	for (size_t i = 0; i < acct->num_groups; i++) {
		tb_add(&b, &acct->groups[i], SE_GROUP_DEFAULT_ATTRS);
		admin = admin || sid_equal(&acct->groups[i], &admins);
	}
	tb_add_wk(&b, SID_S_LOCAL_ACCOUNT);
	if (admin) {
		tb_add_wk(&b, SID_S_LOCAL_ACCOUNT_AND_ADMIN);
	}
	tb_network_logon(&b, auth, is_guest(&acct->user_sid));
	tb_names(&b, acct->name, acct->domain);
	return tb_finish(&b, out);
}

cerr_t token_with_aliases(const token_t *t, const token_alias_t *aliases, size_t num_aliases,
			  token_t **out)
{
	if (!t || (num_aliases && !aliases)) {
		return CERR_INVALID_ARG;
	}
	tb_t b;
	tb_init(&b);
	if (b.err == CERR_OK) {
		b.t->user = t->user;
		b.t->auth = t->auth;
		b.t->anonymous = t->anonymous;
	}
	for (size_t i = 0; i < t->num_groups; i++) {
		tb_add(&b, &t->groups[i].sid, t->groups[i].attributes);
	}
	/* match against the original token only: an alias's members are users and
	 * groups, never other aliases, so one pass is the whole expansion */
	for (size_t i = 0; i < num_aliases; i++) {
		for (size_t j = 0; j < aliases[i].num_members; j++) {
			if (token_has_enabled_sid(t, &aliases[i].members[j])) {
				tb_add(&b, &aliases[i].alias, SE_GROUP_DEFAULT_ATTRS);
				break;
			}
		}
	}
	tb_names(&b, t->user_name, t->domain_name);
	return tb_finish(&b, out);
}

/* ---- sharing ---- */

token_t *token_ref(token_t *t)
{
	if (t) {
		atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
	}
	return t;
}

void token_unref(token_t *t)
{
	if (t && atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1) {
		token_free(t);
	}
}

/* ---- reading ---- */

const sid_t *token_user_sid(const token_t *t) { return &t->user; }
size_t token_num_groups(const token_t *t) { return t->num_groups; }
const token_group_t *token_group(const token_t *t, size_t i) { return i < t->num_groups ? &t->groups[i] : NULL; }
bool token_is_anonymous(const token_t *t) { return t->anonymous; }
token_auth_t token_auth(const token_t *t) { return t->auth; }
const char *token_user_name(const token_t *t) { return t->user_name; }
const char *token_domain_name(const token_t *t) { return t->domain_name; }
const char *token_account_name(const token_t *t) { return t->account_name; }

const char *token_auth_name(token_auth_t auth)
{
	switch (auth) {
	case TOKEN_AUTH_NTLM:
		return "NTLM";
	case TOKEN_AUTH_KERBEROS:
		return "Kerberos";
	case TOKEN_AUTH_ANONYMOUS:
		return "Anonymous";
	default:
		return "?";
	}
}

bool token_has_sid(const token_t *t, const sid_t *sid)
{
	return sid_equal(&t->user, sid) || group_present(t, sid);
}

bool token_has_enabled_sid(const token_t *t, const sid_t *sid)
{
	if (sid_equal(&t->user, sid)) {
		return true;
	}
	for (size_t i = 0; i < t->num_groups; i++) {
		const token_group_t *g = &t->groups[i];
		if (sid_equal(&g->sid, sid)) {
			return (g->attributes & SE_GROUP_ENABLED) && !(g->attributes & SE_GROUP_USE_FOR_DENY_ONLY);
		}
	}
	return false;
}

/* describe_sid writes "S-1-... (name)" or just the SID. */
static int describe_sid(char *out, size_t len, const sid_t *sid)
{
	char s[SID_STR_MAX];
	const char *name = sid_wellknown_name(sid);
	sid_format(sid, s);
	return name ? snprintf(out, len, "%s (%s)", s, name) : snprintf(out, len, "%s", s);
}

const char *token_describe(const token_t *t, char *out, size_t out_len)
{
	if (!out || out_len == 0) {
		return out;
	}
	size_t n = 0;
	int w = snprintf(out, out_len, "%s (", t->account_name);
	n = w > 0 ? (size_t)w : 0;
	if (n < out_len) {
		w = describe_sid(out + n, out_len - n, &t->user);
		n += w > 0 ? (size_t)w : 0;
	}
	if (n < out_len) {
		w = snprintf(out + n, out_len - n, ") via %s; groups:", token_auth_name(t->auth));
		n += w > 0 ? (size_t)w : 0;
	}
	for (size_t i = 0; i < t->num_groups && n < out_len; i++) {
		w = snprintf(out + n, out_len - n, i ? ", " : " ");
		n += w > 0 ? (size_t)w : 0;
		if (n < out_len) {
			w = describe_sid(out + n, out_len - n, &t->groups[i].sid);
			n += w > 0 ? (size_t)w : 0;
		}
		if (n < out_len && (t->groups[i].attributes & SE_GROUP_USE_FOR_DENY_ONLY)) {
			w = snprintf(out + n, out_len - n, " [deny-only]");
			n += w > 0 ? (size_t)w : 0;
		}
	}
	if (t->num_groups == 0 && n < out_len) {
		snprintf(out + n, out_len - n, " none");
	}
	return out;
}
