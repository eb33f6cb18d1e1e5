/*
 * cmd_diagnose.c - `certa diagnose [--since WHEN] [--all]`: reads the audit
 * log (events.h) and, for each recent refusal, says in an AD CS
 * administrator's words who was refused, why, and what to change: network
 * logons refused at token creation (4625, e.g. STATUS_LOGON_TYPE_NOT_GRANTED
 * for a missing "Access this computer from the network" right), denied
 * certificate requests (4888 with the HRESULT), DCOM launch/access
 * refusals (10027, 10016, 10017, 10036; an anonymous 10027 right after a
 * refused logon from the same address is traced back to that logon).
 * Identical refusals are counted, not repeated.
 * Extending it is one row in `rules` (event id + status -> explain function).
 * Exit status: 0 when no refusal was found, 1 when some were (docs/certa.1.md).
 */
#include <ctype.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/subcommands.h"
#include "events/events.h"
#include "util/err.h"

#define EX_REFUSALS 1

typedef struct diag {
	const char *state;
	const char *rights_file; /* as certad resolves [security] rights_file */
	char since[32];          /* records at or after this time ("" = all), "YYYY-MM-DDTHH:MM:SS" */
	struct finding {
		char *key;
		char *text;
		char last[40];
		size_t count;
	} *found;
	size_t n_found, cap;
	size_t scanned;
	/* the latest failed logon (4625) per client address, so that an
	 * anonymous DCOM activation that follows it can be explained by it */
	struct failed_logon {
		char addr[64];
		char time[40];
		char account[300];
		uint32_t status;
	} failed[32];
	size_t n_failed; /* slots used (round robin past 32) */
} diag_t;

static void usage(FILE *f)
{
	fprintf(f, "usage: certa diagnose [--since WHEN | --all]\n\n"
		   "Explains recent refusals recorded in the audit log (the state folder's\n"
		   "events.jsonl): network logons refused at token creation (event 4625),\n"
		   "denied certificate requests (4888), DCOM refusals (10027, 10016, 10017,\n"
		   "10036), each with its cause and the fix.\n\n"
		   "  --since WHEN  only events from then on: 30m, 2h, 7d, or a time as\n"
		   "                2026-01-31T08:00 (UTC, as the log writes it); default 24h\n"
		   "  --all         the whole log\n\n"
		   "Exit status: 0 when nothing was refused, 1 when refusals were found.\n");
}

/* ---- helpers ---- */

static const char *field(const events_record_t *r, const char *key)
{
	const char *v = events_record_get(r, key);
	return v && *v ? v : NULL;
}

static uint32_t hex_field(const events_record_t *r, const char *key)
{
	const char *v = field(r, key);
	return v ? (uint32_t)strtoul(v, NULL, 0) : 0;
}

static const char *or_dash(const char *s)
{
	return s ? s : "-";
}

/* account writes "DOMAIN\user (SID)" as 4625 records it. */
static void account(FILE *o, const events_record_t *r)
{
	const char *dom = field(r, "TargetDomainName"), *user = field(r, "TargetUserName");
	const char *sid = field(r, "TargetUserSid");
	fprintf(o, "%s%s%s", dom && strcmp(dom, "-") ? dom : "", dom && strcmp(dom, "-") ? "\\" : "", or_dash(user));
	if (sid && strcmp(sid, "S-1-0-0") != 0) {
		fprintf(o, " (%s)", sid);
	}
}

static void from(FILE *o, const events_record_t *r)
{
	const char *ip = field(r, "IpAddress"), *pkg = field(r, "AuthenticationPackageName");
	if (ip && strcmp(ip, "-")) {
		fprintf(o, " from %s", ip);
	}
	if (pkg) {
		fprintf(o, " (%s)", pkg);
	}
}

/* example_group picks, from 4625's "SID (name), ..." Groups list, a group an
 * administrator would grant: a named group that is not a well-known or
 * BUILTIN one; else NULL. Written into out. */
static const char *example_group(const events_record_t *r, char *out, size_t out_len)
{
	const char *g = field(r, "Groups");
	while (g && *g) {
		const char *end = strstr(g, ", S-");
		size_t n = end ? (size_t)(end - g) : strlen(g);
		const char *open = memchr(g, '(', n);
		if (open && strncmp(g, "S-1-5-21-", 9) == 0) {
			size_t nl = n - (size_t)(open + 1 - g);
			if (nl > 1 && nl < out_len) {
				memcpy(out, open + 1, nl - 1); /* drop ')' */
				out[nl - 1] = '\0';
				if (!strstr(out, "\\None") && !strstr(out, "\\Domain Users")) {
					return out;
				}
			}
		}
		g = end ? end + 2 : NULL;
	}
	return NULL;
}

static void policy_fix(FILE *o, const diag_t *d, const events_record_t *r)
{
	const char *src = field(r, "PolicySource");
	if (!src || strcmp(src, "built-in defaults") == 0) {
		fprintf(o, "create %s (the [security] rights_file; the policy in force is Windows' defaults) with\n"
			   "      [Version]\n      signature=\"$CHICAGO$\"\n      [Privilege Rights]\n"
			   "      SeNetworkLogonRight = *S-1-5-32-544,*S-1-5-32-545,*S-1-5-32-551,...\n"
			   "    ",
			d->rights_file);
	} else {
		fprintf(o, "edit %s ", src);
	}
}

/* ---- explanations, one per kind of refusal ---- */

static void explain_logon_type(FILE *o, const diag_t *d, const events_record_t *r)
{
	const char *reason = field(r, "Reason");
	bool denied = reason && strstr(reason, "SeDenyNetworkLogonRight");
	char grp[512];
	account(o, r);
	from(o, r);
	fprintf(o, " was refused network logon: STATUS_LOGON_TYPE_NOT_GRANTED (0xc000015b)\n");
	if (denied) {
		fprintf(o, "  Cause: the account or one of its groups is listed in SeDenyNetworkLogonRight\n"
			   "  (\"Deny access to this computer from the network\"), which overrides every grant of\n"
			   "  SeNetworkLogonRight.\n");
		if (reason) {
			fprintf(o, "  Detail: %s\n", reason);
		}
		fprintf(o, "  Denied: %s\n", or_dash(field(r, "Denied")));
		fprintf(o, "  Fix: remove the entry from SeDenyNetworkLogonRight: ");
		policy_fix(o, d, r);
		fprintf(o, "and send SIGHUP to certad (kill -HUP $(pidof certad)); no restart is needed.\n");
		return;
	}
	fprintf(o, "  Cause: no SID in the caller's access token is granted SeNetworkLogonRight\n"
		   "  (\"Access this computer from the network\"), so token creation fails as it does on Windows.\n");
	fprintf(o, "  Granted: %s\n", or_dash(field(r, "Granted")));
	fprintf(o, "  The caller's groups: %s\n", or_dash(field(r, "Groups")));
	const char *eg = example_group(r, grp, sizeof(grp));
	fprintf(o, "  Fix: add one of the user's groups");
	if (eg) {
		fprintf(o, " (e.g. %s)", eg);
	}
	fprintf(o, " to SeNetworkLogonRight: ");
	policy_fix(o, d, r);
	fprintf(o, "and send SIGHUP to certad (kill -HUP $(pidof certad)); no restart is needed.\n"
		   "  Or make the user a member of a granted group (local groups: certa group addmember GROUP USER).\n");
}

static void explain_bad_password(FILE *o, const diag_t *d, const events_record_t *r)
{
	(void)d;
	uint32_t sub = hex_field(r, "SubStatus");
	const char *user = or_dash(field(r, "TargetUserName"));
	account(o, r);
	from(o, r);
	fprintf(o, " failed to log on: STATUS_LOGON_FAILURE (0xc000006d)");
	if (sub == 0xc0000064) {
		fprintf(o, ", STATUS_NO_SUCH_USER (0xc0000064)\n"
			   "  Cause: there is no account of that name.\n"
			   "  Fix: check the user name the client sends; for a local account: certa user add %s\n",
			user);
	} else if (sub == 0xc000006a) {
		fprintf(o, ", STATUS_WRONG_PASSWORD (0xc000006a)\n"
			   "  Cause: the password is wrong.\n"
			   "  Fix: give the client the right password, or set a new one: certa user passwd %s\n",
			user);
	} else {
		fprintf(o, "\n  Cause: %s\n  Fix: check the client's credentials; the authentication trace\n"
			   "  ([log] auth_trace = on) shows each step.\n",
			or_dash(field(r, "FailureReason")));
	}
}

static void explain_disabled(FILE *o, const diag_t *d, const events_record_t *r)
{
	(void)d;
	account(o, r);
	from(o, r);
	fprintf(o, " was refused: STATUS_ACCOUNT_RESTRICTION (0xc000006e), STATUS_ACCOUNT_DISABLED (0xc0000072)\n"
		   "  Cause: the account is disabled.\n  Fix: certa user enable %s (for a local account)\n",
		or_dash(field(r, "TargetUserName")));
}

static void explain_logon_other(FILE *o, const diag_t *d, const events_record_t *r)
{
	(void)d;
	uint32_t st = hex_field(r, "Status");
	char desc[256];
	account(o, r);
	from(o, r);
	fprintf(o, " failed to log on: %s\n  Cause: %s\n"
		   "  Fix: turn on [log] auth_trace and look at the steps of this logon in auth-trace.jsonl.\n",
		cerr_describe(st, desc, sizeof(desc)), or_dash(field(r, "FailureReason")));
}

/* What to do about a denied request, by HRESULT. */
static const struct hr_fix {
	uint32_t hr;
	const char *fix;
} hr_fixes[] = {
	{0x80070005, "if the reason names IF_ENFORCEENCRYPTICERTREQUEST, the client must call at packet privacy "
		     "(RPC_C_AUTHN_LEVEL_PKT_PRIVACY; certreq does); [ca] enforce_encryption = off accepts unsealed "
		     "requests (not recommended)"},
	{0x80094800, "add the template to [ca] templates (and its .ldif to templates_dir), or request a template "
		     "the CA offers (certa ca show lists them)"},
	{0x80094801, "name a template in the request attributes: CertificateTemplate:NAME (certreq -attrib)"},
	{0x80094011, "grant the requester Request Certificates (Enroll) on the CA"},
	{0x80094012, "grant the requester (or one of its groups) Enroll on the template"},
	{0x80094803, "the template builds the subject alternative name from the directory: give the account the "
		     "attribute it needs (UPN, e-mail or DNS name), or use another template"},
	{0x80094811, "make a longer key: the template sets the minimum key size"},
	{0x80094001, "fix the subject name in the request (too long or invalid)"},
};

static void explain_cs_denied(FILE *o, const diag_t *d, const events_record_t *r)
{
	(void)d;
	uint32_t hr = hex_field(r, "Hresult");
	char desc[256];
	fprintf(o, "Certificate request %s from %s", or_dash(field(r, "RequestId")), or_dash(field(r, "Requester")));
	if (field(r, "ClientAddress")) {
		fprintf(o, " at %s", field(r, "ClientAddress"));
	}
	if (field(r, "Template")) {
		fprintf(o, " for template %s", field(r, "Template"));
	}
	fprintf(o, " was denied: %s\n", hr ? cerr_describe(hr, desc, sizeof(desc)) : "(no HRESULT recorded)");
	if (field(r, "Reason")) {
		fprintf(o, "  Cause: %s\n", field(r, "Reason"));
	}
	for (size_t i = 0; i < sizeof(hr_fixes) / sizeof(hr_fixes[0]); i++) {
		if (hr_fixes[i].hr == hr) {
			fprintf(o, "  Fix: %s.\n", hr_fixes[i].fix);
			return;
		}
	}
	fprintf(o, "  Fix: see certa errors 0x%08x.\n", hr);
}

/* ---- DCOM (services/dcom_security.c writes these) ---- */

/* iso_seconds reads the "YYYY-MM-DDTHH:MM:SS" the log writes (UTC); -1 if not. */
static long long iso_seconds(const char *t)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = t ? strptime(t, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	return end ? (long long)timegm(&tm) : -1;
}

/* failed_logon_from is the latest failed logon from addr in the few minutes
 * before `when` (a client falls back at once, so an older one is unrelated). */
static const struct failed_logon *failed_logon_from(const diag_t *d, const char *addr, const char *when)
{
	const struct failed_logon *best = NULL;
	size_t n = d->n_failed < 32 ? d->n_failed : 32;
	long long at = iso_seconds(when);
	for (size_t i = 0; addr && i < n; i++) {
		long long t = iso_seconds(d->failed[i].time);
		if (strcmp(d->failed[i].addr, addr) != 0 || (at >= 0 && t >= 0 && (t > at || at - t > 300))) {
			continue;
		}
		if (!best || strcmp(d->failed[i].time, best->time) > 0) {
			best = &d->failed[i];
		}
	}
	return best;
}

static void dcom_head(FILE *o, const events_record_t *r, const char *what)
{
	fprintf(o, "DCOM %s refused for ", what);
	account(o, r);
	if (field(r, "IpAddress")) {
		fprintf(o, " from %s", field(r, "IpAddress"));
	}
	if (field(r, "Application")) {
		fprintf(o, " (%s)", field(r, "Application"));
	}
	fprintf(o, ": event %u, %s\n", r->id, or_dash(field(r, "StatusName")));
	if (field(r, "Message")) {
		fprintf(o, "  Windows' message: %s\n", field(r, "Message"));
	}
}

/* 10027: the machine-wide limits ([dcom] machine_launch_restriction /
 * machine_access_restriction). An anonymous caller is usually a client that
 * fell back to an unauthenticated activation after its own logon failed
 * (DCOMSCMRemoteCallFlags): the 4625 from the same address is the cause. */
static void explain_dcom_limit(FILE *o, const diag_t *d, const events_record_t *r)
{
	const char *perm = or_dash(field(r, "Permission"));
	bool access = strstr(perm, "Access") != NULL;
	const char *sid = field(r, "TargetUserSid");
	bool anonymous = sid && strcmp(sid, "S-1-5-7") == 0;
	dcom_head(o, r, access ? "remote access" : "remote activation");
	if (anonymous) {
		const struct failed_logon *f = failed_logon_from(d, field(r, "IpAddress"), r->time);
		if (f && f->status == 0xc000015b) {
			fprintf(o, "  Cause: the caller fell back to anonymous because its logon was refused: %s was refused\n"
				   "  network logon at %s (event 4625, STATUS_LOGON_TYPE_NOT_GRANTED: no SeNetworkLogonRight),\n"
				   "  so the client retried as ANONYMOUS LOGON, which the machine-wide limits do not grant %s.\n"
				   "  Fix: SeNetworkLogonRight for that account (see the 4625 finding for how); the\n"
				   "  anonymous attempt is the client's fallback, not the problem.\n",
				f->account, f->time, perm);
			return;
		}
		if (f) {
			fprintf(o, "  Cause: the caller fell back to anonymous after its logon as %s failed at %s\n"
				   "  (event 4625, status 0x%08x), and ANONYMOUS LOGON is not granted %s.\n"
				   "  Fix: the client's credentials (see the 4625 finding).\n",
				f->account, f->time, f->status, perm);
			return;
		}
		fprintf(o, "  Cause: an unauthenticated (ANONYMOUS LOGON) client; the machine-wide limits grant it no %s.\n"
			   "  Windows clients send this when their authenticated attempt failed, so look for why the\n"
			   "  client could not authenticate (its credentials, Kerberos tickets, [auth] settings).\n"
			   "  Granting ANONYMOUS LOGON (AN) %s in [dcom] %s is not recommended.\n",
			perm, perm, access ? "machine_access_restriction" : "machine_launch_restriction");
		return;
	}
	if (field(r, "Reason")) {
		fprintf(o, "  Cause: %s\n", field(r, "Reason"));
	}
	fprintf(o, "  The caller's groups: %s\n", or_dash(field(r, "Groups")));
	if (access) {
		fprintf(o, "  Fix: grant remote access (CCDCLC) to the user or one of its groups in [dcom]\n"
			   "  machine_access_restriction (%s), e.g. (A;;CCDCLC;;;%s), and restart certad.\n",
			or_dash(field(r, "PolicySource")), or_dash(sid));
		return;
	}
	fprintf(o, "  Fix: add the user or one of its groups to Certificate Service DCOM Access (S-1-5-32-574),\n"
		   "  which the CA's limits grant remote activation:\n"
		   "      certa group addmember \"Certificate Service DCOM Access\" %s\n"
		   "  (once that local group exists its members replace the default, Authenticated Users;\n"
		   "  no restart needed), or grant Remote Activation in [dcom] machine_launch_restriction\n"
		   "  (%s), e.g. (A;;CCSWRP;;;%s), and restart certad.\n",
		   or_dash(field(r, "TargetUserName")), or_dash(field(r, "PolicySource")), or_dash(sid));
}

/* 10016 / 10017: the CertSrv Request application's own permissions. */
static void explain_dcom_app(FILE *o, const diag_t *d, const events_record_t *r)
{
	(void)d;
	bool launch = r->id == 10016;
	dcom_head(o, r, launch ? "activation" : "access");
	if (field(r, "Reason")) {
		fprintf(o, "  Cause: %s\n", field(r, "Reason"));
	}
	fprintf(o, "  Fix: grant the user or one of its groups %s in [dcom] %s (%s), e.g.\n"
		   "  (A;;%s;;;%s), and restart certad.\n",
		launch ? "Remote Activation (CCSWRP)" : "remote access (CCDCLC)",
		launch ? "certsrv_launch_permission" : "certsrv_access_permission", or_dash(field(r, "PolicySource")),
		launch ? "CCSWRP" : "CCDCLC", or_dash(field(r, "TargetUserSid")));
}

/* 10036: KB5004442's activation authentication level. */
static void explain_dcom_level(FILE *o, const diag_t *d, const events_record_t *r)
{
	(void)d;
	dcom_head(o, r, "activation");
	fprintf(o, "  Cause: the client activated at authentication level %s (%s); since KB5004442\n"
		   "  (CVE-2021-26414) activation needs RPC_C_AUTHN_LEVEL_PKT_INTEGRITY (5) or higher.\n"
		   "  Fix: raise the client's activation authentication level to packet integrity or privacy\n"
		   "  (CoInitializeSecurity / COAUTHINFO dwAuthnLevel; impacket: DCOMConnection(...,\n"
		   "  authLevel=RPC_C_AUTHN_LEVEL_PKT_INTEGRITY)); updated Windows clients already do. Only for a\n"
		   "  client that cannot be fixed: [dcom] require_integrity_activation = off.\n",
		or_dash(field(r, "AuthenticationLevel")), or_dash(field(r, "AuthenticationLevelName")));
}

/* status 0 matches any; rows are tried in order. */
static const struct rule {
	uint32_t id;
	uint32_t status; /* the record's Status field */
	void (*explain)(FILE *o, const diag_t *d, const events_record_t *r);
} rules[] = {
	{4625, 0xc000015b, explain_logon_type},
	{4625, 0xc000006d, explain_bad_password},
	{4625, 0xc000006e, explain_disabled},
	{4625, 0, explain_logon_other},
	{4888, 0, explain_cs_denied},
	{10027, 0, explain_dcom_limit},
	{10016, 0, explain_dcom_app},
	{10017, 0, explain_dcom_app},
	{10036, 0, explain_dcom_level},
};

/* ---- scanning ---- */

static bool add_finding(diag_t *d, const char *key, char *text, const char *time)
{
	for (size_t i = 0; i < d->n_found; i++) {
		if (strcmp(d->found[i].key, key) == 0) {
			free(d->found[i].text);
			d->found[i].text = text; /* the latest record's details */
			snprintf(d->found[i].last, sizeof(d->found[i].last), "%s", time);
			d->found[i].count++;
			return true;
		}
	}
	if (d->n_found == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct finding *f = realloc(d->found, cap * sizeof(*f));
		if (!f) {
			return false;
		}
		d->found = f;
		d->cap = cap;
	}
	struct finding *f = &d->found[d->n_found];
	f->key = strdup(key);
	if (!f->key) {
		return false;
	}
	f->text = text;
	snprintf(f->last, sizeof(f->last), "%s", time);
	f->count = 1;
	d->n_found++;
	return true;
}

static bool on_record(const events_record_t *r, void *ud)
{
	diag_t *d = ud;
	if (d->since[0] && (!r->time || strcmp(r->time, d->since) < 0)) {
		return true;
	}
	d->scanned++;
	uint32_t status = r->id == 4888 ? hex_field(r, "Hresult") : hex_field(r, "Status");
	if (r->id == 4625 && field(r, "IpAddress")) {
		struct failed_logon *f = &d->failed[d->n_failed++ % 32];
		snprintf(f->addr, sizeof(f->addr), "%s", field(r, "IpAddress"));
		snprintf(f->time, sizeof(f->time), "%s", r->time ? r->time : "");
		const char *dom = field(r, "TargetDomainName"), *user = field(r, "TargetUserName");
		snprintf(f->account, sizeof(f->account), "%s%s%s", dom && strcmp(dom, "-") ? dom : "",
			 dom && strcmp(dom, "-") ? "\\" : "", or_dash(user));
		f->status = status;
	}
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		if (rules[i].id != r->id || (rules[i].status && rules[i].status != status)) {
			continue;
		}
		char *text = NULL;
		size_t len = 0;
		FILE *o = open_memstream(&text, &len);
		if (!o) {
			return false;
		}
		rules[i].explain(o, d, r);
		fclose(o);
		/* one finding per kind of refusal, caller and cause */
		char key[1024];
		snprintf(key, sizeof(key), "%u|%08x|%s\\%s|%s|%s|%s|%s", r->id, status,
			 or_dash(field(r, "TargetDomainName")), or_dash(field(r, "TargetUserName")),
			 or_dash(field(r, "IpAddress")), or_dash(field(r, "Requester")), or_dash(field(r, "Template")),
			 or_dash(field(r, "Reason")));
		if (!add_finding(d, key, text, r->time ? r->time : "")) {
			free(text);
			return false;
		}
		break;
	}
	return true;
}

/* parse_since accepts 30m / 2h / 7d / 90s or a UTC time "YYYY-MM-DDTHH:MM[:SS]". */
static bool parse_since(const char *s, char out[32])
{
	char *end = NULL;
	unsigned long n = strtoul(s, &end, 10);
	if (end != s && *end && end[1] == '\0' && strchr("smhd", *end)) {
		unsigned long mult = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : 86400;
		time_t t = time(NULL) - (time_t)(n * mult);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
		return true;
	}
	size_t len = strlen(s);
	if (len < 10 || len > 25 || !isdigit((unsigned char)s[0]) || s[4] != '-' || s[7] != '-') {
		return false;
	}
	snprintf(out, 32, "%s", s);
	return true;
}

int cmd_diagnose_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"since", required_argument, NULL, 's'},
		{"all", no_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	diag_t d;
	int ch;
	const char *since = "24h";
	memset(&d, 0, sizeof(d));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			since = optarg;
			break;
		case 'a':
			since = NULL;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "certa diagnose: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EX_USAGE;
	}
	if (since && !parse_since(since, d.since)) {
		fprintf(stderr, "certa diagnose: --since '%s' is not a duration (30m, 2h, 7d) or a time "
				"(2026-01-31T08:00)\n",
			since);
		return EX_USAGE;
	}

	cli_env_t env;
	int rc = cli_env_load(&env, "certa diagnose", certa_globals.state, certa_globals.config);
	if (rc != 0) {
		cli_env_cleanup(&env);
		return rc;
	}
	char *events_path = cli_path(&env, env.cfg.events_file);
	char *rights_path = cli_path(&env, env.cfg.rights_file);
	if (!events_path || !rights_path) {
		free(events_path);
		free(rights_path);
		cli_env_cleanup(&env);
		return EX_OSERR;
	}
	d.state = env.state;
	d.rights_file = rights_path;
	size_t bad = 0;
	cerr_t e = events_read(events_path, on_record, &d, &bad);
	if (e != CERR_OK) {
		fprintf(stderr, "certa diagnose: cannot read the event log %s (has certad run with this state folder?)\n",
			events_path);
		rc = EX_NOINPUT;
	} else if (d.n_found == 0) {
		printf("No refusals in %s%s%s (%zu events looked at).\n", events_path, d.since[0] ? " since " : "",
		       d.since, d.scanned);
		rc = 0;
	} else {
		printf("%zu kind%s of refusal in %s%s%s:\n", d.n_found, d.n_found == 1 ? "" : "s", events_path,
		       d.since[0] ? " since " : "", d.since);
		for (size_t i = 0; i < d.n_found; i++) {
			printf("\n[%s] ", d.found[i].last);
			if (d.found[i].count > 1) {
				printf("(%zu times) ", d.found[i].count);
			}
			fputs(d.found[i].text, stdout);
		}
		rc = EX_REFUSALS;
	}
	if (bad) {
		fprintf(stderr, "certa diagnose: %zu line%s of %s could not be read and were skipped\n", bad,
			bad == 1 ? "" : "s", events_path);
	}
	for (size_t i = 0; i < d.n_found; i++) {
		free(d.found[i].key);
		free(d.found[i].text);
	}
	free(d.found);
	free(events_path);
	free(rights_path);
	cli_env_cleanup(&env);
	return rc;
}
