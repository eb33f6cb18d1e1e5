/*
 * rights.c - the user-rights INF reader, Windows' default assignment and the
 * network-logon check (see rights.h). The file is decoded to UTF-8 first
 * (UTF-16LE with BOM as secedit writes it, or UTF-8), then read line by line;
 * every error names file and line and says how to fix it.
 */
#include "security/rights.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/cursor.h"
#include "util/log.h"
#include "util/utf16.h"

typedef struct rights_entry {
	sid_t sid;
	char *text;    /* as written: "*S-1-1-0", "Users"; or the default's name */
	unsigned line; /* 0 = built-in default */
} rights_entry_t;

typedef struct right {
	char *name;
	unsigned line;
	rights_entry_t *entries;
	size_t num;
	size_t cap;
} right_t;

struct rights_policy {
	atomic_uint refs;
	char *source;
	right_t *rights;
	size_t num;
	size_t cap;
};

/* Privileges ([MS-LSAD] 3.1.1.2.1; winnt.h SE_*_NAME) and system access
 * rights ([MS-LSAD] 3.1.1.2.2), with Windows' spelling. */
static const char *const known_rights[] = {
	"SeInteractiveLogonRight", "SeNetworkLogonRight", "SeBatchLogonRight", "SeServiceLogonRight",
	"SeRemoteInteractiveLogonRight", "SeDenyInteractiveLogonRight", "SeDenyNetworkLogonRight",
	"SeDenyBatchLogonRight", "SeDenyServiceLogonRight", "SeDenyRemoteInteractiveLogonRight",
	"SeAssignPrimaryTokenPrivilege", "SeAuditPrivilege", "SeBackupPrivilege", "SeChangeNotifyPrivilege",
	"SeCreateGlobalPrivilege", "SeCreatePagefilePrivilege", "SeCreatePermanentPrivilege",
	"SeCreateSymbolicLinkPrivilege", "SeCreateTokenPrivilege", "SeDebugPrivilege",
	"SeDelegateSessionUserImpersonatePrivilege", "SeEnableDelegationPrivilege", "SeImpersonatePrivilege",
	"SeIncreaseBasePriorityPrivilege", "SeIncreaseQuotaPrivilege", "SeIncreaseWorkingSetPrivilege",
	"SeLoadDriverPrivilege", "SeLockMemoryPrivilege", "SeMachineAccountPrivilege",
	"SeManageVolumePrivilege", "SeProfileSingleProcessPrivilege", "SeRelabelPrivilege",
	"SeRemoteShutdownPrivilege", "SeRestorePrivilege", "SeSecurityPrivilege", "SeShutdownPrivilege",
	"SeSyncAgentPrivilege", "SeSystemEnvironmentPrivilege", "SeSystemProfilePrivilege",
	"SeSystemtimePrivilege", "SeTakeOwnershipPrivilege", "SeTcbPrivilege", "SeTimeZonePrivilege",
	"SeTrustedCredManAccessPrivilege", "SeUndockPrivilege", "SeUnsolicitedInputPrivilege",
};

static const char *known_spelling(const char *name)
{
	for (size_t i = 0; i < sizeof(known_rights) / sizeof(known_rights[0]); i++) {
		if (strcasecmp(name, known_rights[i]) == 0) {
			return known_rights[i];
		}
	}
	return NULL;
}

bool rights_is_known(const char *name) { return name && known_spelling(name) != NULL; }

/* ---- policy building ---- */

static void policy_free(rights_policy_t *p)
{
	if (!p) {
		return;
	}
	for (size_t i = 0; i < p->num; i++) {
		for (size_t j = 0; j < p->rights[i].num; j++) {
			free(p->rights[i].entries[j].text);
		}
		free(p->rights[i].entries);
		free(p->rights[i].name);
	}
	free(p->rights);
	free(p->source);
	free(p);
}

static rights_policy_t *policy_new(const char *source)
{
	rights_policy_t *p = calloc(1, sizeof(*p));
	if (!p) {
		return NULL;
	}
	atomic_init(&p->refs, 1);
	p->source = strdup(source);
	if (!p->source) {
		free(p);
		return NULL;
	}
	return p;
}

static right_t *find_right(const rights_policy_t *p, const char *name)
{
	for (size_t i = 0; p && name && i < p->num; i++) {
		if (strcasecmp(p->rights[i].name, name) == 0) {
			return &p->rights[i];
		}
	}
	return NULL;
}

static right_t *add_right(rights_policy_t *p, const char *name, unsigned line)
{
	if (p->num == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		right_t *r = realloc(p->rights, cap * sizeof(*r));
		if (!r) {
			return NULL;
		}
		p->rights = r;
		p->cap = cap;
	}
	right_t *r = &p->rights[p->num];
	memset(r, 0, sizeof(*r));
	r->name = strdup(name);
	if (!r->name) {
		return NULL;
	}
	r->line = line;
	p->num++;
	return r;
}

/* add_entry appends sid to r unless present. */
static cerr_t add_entry(right_t *r, const sid_t *sid, const char *text, unsigned line)
{
	for (size_t i = 0; i < r->num; i++) {
		if (sid_equal(&r->entries[i].sid, sid)) {
			return CERR_OK;
		}
	}
	if (r->num >= RIGHTS_MAX_ENTRIES) {
		return CERR_LIMIT;
	}
	if (r->num == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		rights_entry_t *e = realloc(r->entries, cap * sizeof(*e));
		if (!e) {
			return CERR_NOMEM;
		}
		r->entries = e;
		r->cap = cap;
	}
	rights_entry_t *e = &r->entries[r->num];
	e->sid = *sid;
	e->line = line;
	e->text = strdup(text);
	if (!e->text) {
		return CERR_NOMEM;
	}
	r->num++;
	return CERR_OK;
}

/* Windows defaults on member servers and workstations (rights.h). */
static const char *const default_network_logon[] = {
	SID_S_EVERYONE,
	SID_S_BUILTIN_ADMINISTRATORS,
	SID_S_BUILTIN_USERS,
	SID_S_BUILTIN_BACKUP_OPERATORS,
};

static cerr_t add_defaults(rights_policy_t *p, rights_resolve_fn resolve, void *ctx)
{
	cerr_t e = CERR_OK;
	if (!find_right(p, RIGHTS_NETWORK_LOGON)) {
		right_t *r = add_right(p, RIGHTS_NETWORK_LOGON, 0);
		if (!r) {
			return CERR_NOMEM;
		}
		for (size_t i = 0; i < sizeof(default_network_logon) / sizeof(default_network_logon[0]); i++) {
			sid_t s = sid_from_literal(default_network_logon[i]);
			const char *name = sid_wellknown_name(&s);
			if ((e = add_entry(r, &s, name ? name : default_network_logon[i], 0)) != CERR_OK) {
				return e;
			}
		}
	}
	if (!find_right(p, RIGHTS_DENY_NETWORK_LOGON)) {
		right_t *r = add_right(p, RIGHTS_DENY_NETWORK_LOGON, 0);
		if (!r) {
			return CERR_NOMEM;
		}
		sid_t guest;
		if (resolve && resolve(ctx, "Guest", &guest)) {
			e = add_entry(r, &guest, "Guest", 0);
		} else {
			log_debug("default %s: no local Guest account known; the list is empty",
				  RIGHTS_DENY_NETWORK_LOGON);
		}
	}
	return e;
}

/* ---- INF text ---- */

typedef enum section {
	SEC_NONE,
	SEC_UNICODE,
	SEC_VERSION,
	SEC_PRIVILEGE_RIGHTS,
	SEC_OTHER,
} section_t;

typedef struct parser {
	const char *file;
	unsigned line;
	char *err;
	size_t err_len;
	rights_resolve_fn resolve;
	void *ctx;
	rights_policy_t *p;
	section_t sec;
	bool have_version;
	bool have_signature;
} parser_t;

static cerr_t fail(parser_t *ps, cerr_t code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static cerr_t fail(parser_t *ps, cerr_t code, const char *fmt, ...)
{
	if (ps->err && ps->err_len) {
		int n = ps->line ? snprintf(ps->err, ps->err_len, "%s:%u: ", ps->file, ps->line)
				 : snprintf(ps->err, ps->err_len, "%s: ", ps->file);
		if (n >= 0 && (size_t)n < ps->err_len) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(ps->err + n, ps->err_len - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return code;
}

static bool is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f'; }

/* trim strips blanks at both ends in place and returns the start. */
static char *trim(char *s)
{
	while (is_space(*s)) {
		s++;
	}
	size_t n = strlen(s);
	while (n > 0 && is_space(s[n - 1])) {
		s[--n] = '\0';
	}
	return s;
}

/* unquote strips one pair of surrounding double quotes. */
static char *unquote(char *s)
{
	size_t n = strlen(s);
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s[n - 1] = '\0';
		return trim(s + 1);
	}
	return s;
}

/* resolve_entry turns one list item into a SID: "*S-..." or a name. */
static cerr_t resolve_entry(parser_t *ps, const char *item, sid_t *out)
{
	if (item[0] == '*') {
		if (sid_parse(out, item + 1) != CERR_OK) {
			return fail(ps, CERR_CONFIG,
				    "\"%s\" is not a valid SID; write it as *S-1-5-32-545 (MS-DTYP 2.4.2.1), "
				    "or give an account name without the '*'",
				    item);
		}
		return CERR_OK;
	}
	if (sid_wellknown_lookup(item, out) == CERR_OK) {
		return CERR_OK;
	}
	if (ps->resolve && ps->resolve(ps->ctx, item, out)) {
		return CERR_OK;
	}
	return fail(ps, CERR_CONFIG,
		    "no account or group named \"%s\"; write it as *SID (e.g. *S-1-5-21-...-1105) "
		    "or create the account first",
		    item);
}

static cerr_t parse_right(parser_t *ps, char *key, char *value)
{
	if (strncasecmp(key, "Se", 2) != 0) {
		return fail(ps, CERR_CONFIG,
			    "\"%s\" is not a user right or privilege; keys in [Privilege Rights] start with "
			    "\"Se\" (e.g. SeNetworkLogonRight = *S-1-1-0)",
			    key);
	}
	for (const char *k = key; *k; k++) {
		if (is_space(*k)) {
			return fail(ps, CERR_CONFIG, "\"%s\": a right's name has no spaces (e.g. SeNetworkLogonRight)",
				    key);
		}
	}
	const char *name = known_spelling(key);
	if (!name) {
		log_warn("%s:%u: unknown right or privilege \"%s\" kept as written; check its spelling",
			 ps->file, ps->line, key);
		name = key;
	}
	right_t *dup = find_right(ps->p, name);
	if (dup) {
		return fail(ps, CERR_CONFIG, "%s is assigned twice (first on line %u); merge the two lists", name,
			    dup->line);
	}
	right_t *r = add_right(ps->p, name, ps->line);
	if (!r) {
		return CERR_NOMEM;
	}
	char *save = NULL;
	for (char *tok = strtok_r(value, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *item = unquote(trim(tok));
		if (!item[0]) {
			continue; /* "a,,b" and a trailing comma: nothing to grant */
		}
		sid_t sid;
		cerr_t e = resolve_entry(ps, item, &sid);
		if (e != CERR_OK) {
			return e;
		}
		e = add_entry(r, &sid, item, ps->line);
		if (e == CERR_LIMIT) {
			return fail(ps, CERR_LIMIT, "%s lists more than %u entries; use groups instead", name,
				    RIGHTS_MAX_ENTRIES);
		}
		if (e != CERR_OK) {
			return e;
		}
	}
	return CERR_OK;
}

static cerr_t parse_line(parser_t *ps, char *line)
{
	char *s = trim(line);
	if (!s[0] || s[0] == ';') {
		return CERR_OK;
	}
	if (s[0] == '[') {
		size_t n = strlen(s);
		if (s[n - 1] != ']') {
			return fail(ps, CERR_CONFIG, "section header \"%s\" is not closed; end it with ']'", s);
		}
		s[n - 1] = '\0';
		char *name = trim(s + 1);
		if (strcasecmp(name, "Privilege Rights") == 0) {
			ps->sec = SEC_PRIVILEGE_RIGHTS;
		} else if (strcasecmp(name, "Version") == 0) {
			ps->sec = SEC_VERSION;
			ps->have_version = true;
		} else if (strcasecmp(name, "Unicode") == 0) {
			ps->sec = SEC_UNICODE;
		} else {
			/* [System Access], [Event Audit], [Registry Values]...: a full
			 * secedit export carries them; they are not user rights */
			ps->sec = SEC_OTHER;
		}
		return CERR_OK;
	}
	if (ps->sec == SEC_OTHER) {
		return CERR_OK;
	}
	if (ps->sec == SEC_NONE) {
		return fail(ps, CERR_CONFIG, "\"%s\" appears before any section; put rights under [Privilege Rights]", s);
	}
	char *eq = strchr(s, '=');
	if (!eq) {
		return fail(ps, CERR_CONFIG, "\"%s\" has no '='; write key = value", s);
	}
	*eq = '\0';
	char *key = trim(s);
	char *value = trim(eq + 1);
	if (!key[0]) {
		return fail(ps, CERR_CONFIG, "a line starts with '='; write key = value");
	}
	switch (ps->sec) {
	case SEC_PRIVILEGE_RIGHTS:
		return parse_right(ps, key, value);
	case SEC_VERSION:
		if (strcasecmp(key, "signature") == 0) {
			const char *sig = unquote(value);
			/* the two INF signatures setupapi accepts; secedit writes $CHICAGO$ */
			if (strcasecmp(sig, "$CHICAGO$") != 0 && strcasecmp(sig, "$Windows NT$") != 0) {
				return fail(ps, CERR_CONFIG, "signature \"%s\" is not an INF signature; write signature=\"$CHICAGO$\"",
					    sig);
			}
			ps->have_signature = true;
		}
		return CERR_OK;
	case SEC_UNICODE:
	default:
		return CERR_OK;
	}
}

/* decode_text gives the file as NUL-terminated UTF-8 (malloc'd). */
static cerr_t decode_text(parser_t *ps, const uint8_t *data, size_t len, char **out)
{
	cur_t c;
	cur_init(&c, data, len);
	uint8_t b0 = len > 0 ? data[0] : 0, b1 = len > 1 ? data[1] : 0;
	if (b0 == 0xFF && b1 == 0xFE) { /* UTF-16LE, what secedit /export writes */
		cur_skip(&c, 2);
		if (cur_len(&c) & 1) {
			return fail(ps, CERR_CONFIG, "UTF-16 file with an odd number of bytes; save it again as UTF-16LE or UTF-8");
		}
		size_t units = cur_len(&c) / 2;
		cur_t scan = c;
		for (size_t i = 0; i < units; i++) {
			uint16_t u = 1;
			cur_get_u16le(&scan, &u);
			if (u == 0) {
				return fail(ps, CERR_CONFIG, "contains a NUL character; remove it");
			}
		}
		char *s = utf16le_to_utf8(&c, units);
		if (!s) {
			return fail(ps, CERR_CONFIG, "is not valid UTF-16LE (unpaired surrogate); save it again");
		}
		*out = s;
		return CERR_OK;
	}
	if (b0 == 0xFE && b1 == 0xFF) {
		return fail(ps, CERR_CONFIG, "is UTF-16 big-endian; save it as UTF-16LE (as secedit writes) or UTF-8");
	}
	if (len >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF) {
		cur_skip(&c, 3);
	}
	if (cur_len(&c) && memchr(cur_data(&c), 0, cur_len(&c))) { /* empty input may have no pointer at all */
		return fail(ps, CERR_CONFIG,
			    "contains NUL bytes: UTF-16 without its byte-order mark? Save it as UTF-16LE with a BOM "
			    "(as secedit writes) or as UTF-8");
	}
	char *s = malloc(cur_len(&c) + 1);
	if (!s) {
		return CERR_NOMEM;
	}
	size_t n = cur_len(&c);
	(void)cur_copy(&c, s, n); /* cannot fail: n is what remains */
	s[n] = '\0';
	if (utf8_utf16_units(s) == (size_t)-1) {
		free(s);
		return fail(ps, CERR_CONFIG, "is neither UTF-16LE with a byte-order mark nor valid UTF-8; save it as one of them");
	}
	*out = s;
	return CERR_OK;
}

cerr_t rights_policy_parse(const uint8_t *data, size_t len, const char *filename,
			   rights_resolve_fn resolve, void *resolve_ctx, rights_policy_t **out,
			   char *err, size_t err_len)
{
	parser_t ps = {
		.file = filename ? filename : "(policy)",
		.err = err,
		.err_len = err_len,
		.resolve = resolve,
		.ctx = resolve_ctx,
	};
	char *text = NULL;
	cerr_t e;
	if (err && err_len) {
		err[0] = '\0';
	}
	if (!data && len) {
		return CERR_INVALID_ARG;
	}
	if (len > RIGHTS_MAX_FILE) {
		return fail(&ps, CERR_LIMIT, "larger than %u bytes; export only the user rights (secedit /export /areas USER_RIGHTS)",
			    RIGHTS_MAX_FILE);
	}
	if ((e = decode_text(&ps, data, len, &text)) != CERR_OK) {
		return e;
	}
	if (!(ps.p = policy_new(ps.file))) {
		free(text);
		return CERR_NOMEM;
	}
	char *line = text;
	while (line) {
		char *nl = strchr(line, '\n');
		if (nl) {
			*nl = '\0';
		}
		ps.line++;
		if ((e = parse_line(&ps, line)) != CERR_OK) {
			goto out;
		}
		line = nl ? nl + 1 : NULL;
	}
	ps.line = 0;
	if (!ps.have_version || !ps.have_signature) {
		e = fail(&ps, CERR_CONFIG,
			 "no [Version] section with a signature; add the lines [Version] and "
			 "signature=\"$CHICAGO$\" (as secedit /export writes them)");
		goto out;
	}
	if ((e = add_defaults(ps.p, resolve, resolve_ctx)) != CERR_OK) {
		goto out;
	}
	*out = ps.p;
	ps.p = NULL;
out:
	policy_free(ps.p);
	free(text);
	return e;
}

cerr_t rights_policy_load(const char *path, rights_resolve_fn resolve, void *resolve_ctx,
			  rights_policy_t **out, char *err, size_t err_len)
{
	parser_t ps = {.file = path ? path : "(null)", .err = err, .err_len = err_len};
	FILE *f = path ? fopen(path, "rb") : NULL;
	if (!f) {
		int saved = path ? errno : EINVAL;
		return fail(&ps, saved == ENOENT ? CERR_NOT_FOUND : CERR_IO, "cannot open: %s", strerror(saved));
	}
	uint8_t *data = malloc(RIGHTS_MAX_FILE + 1);
	if (!data) {
		fclose(f);
		return CERR_NOMEM;
	}
	size_t n = fread(data, 1, RIGHTS_MAX_FILE + 1, f);
	bool read_err = ferror(f) != 0;
	fclose(f);
	cerr_t e;
	if (read_err) {
		e = fail(&ps, CERR_IO, "read error");
	} else {
		e = rights_policy_parse(data, n, path, resolve, resolve_ctx, out, err, err_len);
	}
	free(data);
	return e;
}

cerr_t rights_policy_default(rights_resolve_fn resolve, void *resolve_ctx, rights_policy_t **out)
{
	rights_policy_t *p = policy_new("built-in defaults");
	if (!p) {
		return CERR_NOMEM;
	}
	cerr_t e = add_defaults(p, resolve, resolve_ctx);
	if (e != CERR_OK) {
		policy_free(p);
		return e;
	}
	*out = p;
	return CERR_OK;
}

rights_policy_t *rights_policy_ref(rights_policy_t *p)
{
	if (p) {
		atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
	}
	return p;
}

void rights_policy_unref(rights_policy_t *p)
{
	if (p && atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1) {
		policy_free(p);
	}
}

const char *rights_policy_source(const rights_policy_t *p) { return p->source; }

size_t rights_policy_num_sids(const rights_policy_t *p, const char *right)
{
	const right_t *r = find_right(p, right);
	return r ? r->num : 0;
}

const sid_t *rights_policy_sid(const rights_policy_t *p, const char *right, size_t i)
{
	const right_t *r = find_right(p, right);
	return r && i < r->num ? &r->entries[i].sid : NULL;
}

bool rights_policy_has_right(const rights_policy_t *p, const char *right) { return find_right(p, right) != NULL; }

bool rights_token_has_right(const rights_policy_t *p, const token_t *t, const char *right)
{
	const right_t *r = find_right(p, right);
	for (size_t i = 0; r && i < r->num; i++) {
		if (token_has_enabled_sid(t, &r->entries[i].sid)) {
			return true;
		}
	}
	return false;
}

/* ---- the check ---- */

static _Thread_local char why_buf[1536];

/* label writes "S-1-5-32-546 (BUILTIN\Guests)" for logs. */
static const char *label(const sid_t *sid, char *out, size_t len)
{
	char s[SID_STR_MAX];
	const char *name = sid_wellknown_name(sid);
	sid_format(sid, s);
	if (name) {
		snprintf(out, len, "%s (%s)", s, name);
	} else {
		snprintf(out, len, "%s", s);
	}
	return out;
}

/* where writes "line 7 of FILE" or "the built-in default". */
static const char *where(const rights_policy_t *p, unsigned line, char *out, size_t len)
{
	if (line) {
		snprintf(out, len, "line %u of %s", line, p->source);
	} else {
		snprintf(out, len, "the built-in default");
	}
	return out;
}

cerr_t rights_check_network_logon(const rights_policy_t *p, const token_t *t, const char **why)
{
	char l[SID_STR_MAX + 96], w[512];
	const right_t *deny = find_right(p, RIGHTS_DENY_NETWORK_LOGON);
	const right_t *allow = find_right(p, RIGHTS_NETWORK_LOGON);
	why_buf[0] = '\0';
	if (why) {
		*why = why_buf;
	}
	/* deny first: it supersedes the allow right ([MS-LSAD] 2.2.1.2), and it
	 * matches every SID in the token, deny-only groups included */
	for (size_t i = 0; deny && i < deny->num; i++) {
		const rights_entry_t *e = &deny->entries[i];
		if (token_has_sid(t, &e->sid)) {
			snprintf(why_buf, sizeof(why_buf),
				 "%s is refused network logon: its SID %s is in %s as \"%s\" (%s), which overrides %s",
				 token_account_name(t), label(&e->sid, l, sizeof(l)), RIGHTS_DENY_NETWORK_LOGON, e->text,
				 where(p, e->line, w, sizeof(w)), RIGHTS_NETWORK_LOGON);
			return CERR_STATUS_LOGON_TYPE_NOT_GRANTED;
		}
	}
	for (size_t i = 0; allow && i < allow->num; i++) {
		const rights_entry_t *e = &allow->entries[i];
		if (token_has_enabled_sid(t, &e->sid)) {
			snprintf(why_buf, sizeof(why_buf), "%s may log on over the network: %s holds %s (%s)",
				 token_account_name(t), label(&e->sid, l, sizeof(l)), RIGHTS_NETWORK_LOGON,
				 where(p, e->line, w, sizeof(w)));
			return CERR_OK;
		}
	}
	int n = snprintf(why_buf, sizeof(why_buf),
			 "%s is not granted network logon: none of its SIDs holds %s (%s); granted are:",
			 token_account_name(t), RIGHTS_NETWORK_LOGON,
			 allow ? where(p, allow->line, w, sizeof(w)) : p->source);
	for (size_t i = 0; allow && i < allow->num && n > 0 && (size_t)n < sizeof(why_buf); i++) {
		n += snprintf(why_buf + n, sizeof(why_buf) - (size_t)n, "%s %s", i ? "," : "",
			      label(&allow->entries[i].sid, l, sizeof(l)));
	}
	if ((!allow || allow->num == 0) && n > 0 && (size_t)n < sizeof(why_buf)) {
		snprintf(why_buf + n, sizeof(why_buf) - (size_t)n, " nobody");
	}
	return CERR_STATUS_LOGON_TYPE_NOT_GRANTED;
}
