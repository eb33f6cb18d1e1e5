/*
 * accounts.c - the local accounts file: parse (every error names file and
 * line), save atomically (mkstemp in the same folder, fsync, rename, fsync
 * the folder), and the user/group operations behind `certa user` and
 * `certa group`. Only NT hashes are stored, never passwords.
 */
#include "security/accounts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "rpc/ntlm_crypto.h"
#include "util/ascii.h"
#include "util/cursor.h"
#include "util/log.h"
#include "util/utf16.h"

#define ACCOUNTS_MAGIC "certa-accounts"
#define ACCOUNTS_VERSION 1
#define ACCOUNTS_MAX_FILE (16u * 1024u * 1024u)
#define ACCOUNTS_MAX_FIELDS 8

struct accounts {
	char *path;
	char domain_sid[ACCT_SID_MAX - 32]; /* room left for "-RID" in accounts_rid_sid */
	uint32_t next_rid;
	acct_user_t *users;
	size_t n_users, cap_users;
	acct_group_t *groups;
	size_t n_groups, cap_groups;
	int lock_fd;
	/* what was read, to notice another process's save */
	bool have_stat;
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	off_t size;
};

static _Thread_local char g_last_error[512];

const char *accounts_last_error(void)
{
	return g_last_error;
}

static void set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(g_last_error, sizeof(g_last_error), fmt, ap);
	va_end(ap);
	log_error("%s", g_last_error);
}

/* ---- names and SIDs ---- */

bool accounts_valid_name(const char *name)
{
	if (!name) {
		return false;
	}
	size_t n = strlen(name);
	if (n == 0 || n > ACCT_NAME_MAX || name[0] == ' ' || name[n - 1] == ' ' ||
	    utf8_utf16_units(name) == (size_t)-1) {
		return false;
	}
	bool only_dots_spaces = true;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];
		if (ch < 0x20 || ch == 0x7f || strchr("\"/\\[]:;|=,+*?<>", ch)) {
			return false;
		}
		if (ch != '.' && ch != ' ') {
			only_dots_spaces = false;
		}
	}
	return !only_dots_spaces;
}

/* Upcased UTF-16 form of a name, for comparison. */
static bool upcase_units(const char *s, buf_t *b)
{
	size_t units;
	if (!utf8_to_utf16le(b, s, false, &units) || !buf_ok(b)) {
		return false;
	}
	for (size_t i = 0; i + 1 < b->len; i += 2) {
		uint16_t u = ntlm_upcase_unit((uint16_t)(b->data[i] | (b->data[i + 1] << 8)));
		b->data[i] = (uint8_t)u;
		b->data[i + 1] = (uint8_t)(u >> 8);
	}
	return true;
}

bool accounts_name_equal(const char *a, const char *b)
{
	if (!a || !b) {
		return false;
	}
	buf_t ua, ub;
	buf_init(&ua, 4 * ACCT_NAME_MAX + 16);
	buf_init(&ub, 4 * ACCT_NAME_MAX + 16);
	bool eq = upcase_units(a, &ua) && upcase_units(b, &ub) && ua.len == ub.len &&
		  (ua.len == 0 || memcmp(ua.data, ub.data, ua.len) == 0);
	buf_free(&ua);
	buf_free(&ub);
	return eq;
}

/* Parse an unsigned decimal with no sign, spaces or leading zeros. */
static bool parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	if (n == 0 || n > 20 || (n > 1 && s[0] == '0')) {
		return false;
	}
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9') {
			return false;
		}
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (max - d) / 10) {
			return false;
		}
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

bool accounts_valid_sid(const char *sid)
{
	if (!sid || strncmp(sid, "S-1-", 4) != 0 || strlen(sid) >= ACCT_SID_MAX) {
		return false;
	}
	const char *p = sid + 4;
	int parts = 0;
	for (;;) {
		const char *dash = strchr(p, '-');
		size_t n = dash ? (size_t)(dash - p) : strlen(p);
		uint64_t v;
		/* the authority is 48 bits, sub-authorities 32 */
		if (!parse_u64(p, n, parts == 0 ? 0xffffffffffffull : 0xffffffffull, &v)) {
			return false;
		}
		parts++;
		if (!dash) {
			break;
		}
		p = dash + 1;
	}
	return parts >= 2 && parts <= 16;
}

void accounts_rid_sid(const accounts_t *a, uint32_t rid, char out[ACCT_SID_MAX])
{
	snprintf(out, ACCT_SID_MAX, "%s-%u", a->domain_sid, (unsigned)rid);
}

const char *accounts_domain_sid(const accounts_t *a)
{
	return a->domain_sid;
}

const char *accounts_path(const accounts_t *a)
{
	return a->path;
}

/* ---- in-memory store ---- */

static void user_clear(acct_user_t *u)
{
	free(u->name);
	ntlm_wipe(u, sizeof(*u));
}

static void group_clear(acct_group_t *g)
{
	free(g->name);
	for (size_t i = 0; i < g->n_members; i++) {
		free(g->members[i]);
	}
	free(g->members);
	memset(g, 0, sizeof(*g));
}

/* Release the contents, keeping path and lock. */
static void contents_clear(accounts_t *a)
{
	for (size_t i = 0; i < a->n_users; i++) {
		user_clear(&a->users[i]);
	}
	free(a->users);
	for (size_t i = 0; i < a->n_groups; i++) {
		group_clear(&a->groups[i]);
	}
	free(a->groups);
	a->users = NULL;
	a->groups = NULL;
	a->n_users = a->cap_users = a->n_groups = a->cap_groups = 0;
}

void accounts_free(accounts_t *a)
{
	if (!a) {
		return;
	}
	contents_clear(a);
	if (a->lock_fd >= 0) {
		close(a->lock_fd); /* releases the flock */
	}
	free(a->path);
	free(a);
}

static acct_user_t *user_find(const accounts_t *a, const char *name)
{
	for (size_t i = 0; i < a->n_users; i++) {
		if (accounts_name_equal(a->users[i].name, name)) {
			return &a->users[i];
		}
	}
	return NULL;
}

static acct_group_t *group_find(const accounts_t *a, const char *name)
{
	for (size_t i = 0; i < a->n_groups; i++) {
		if (accounts_name_equal(a->groups[i].name, name)) {
			return &a->groups[i];
		}
	}
	return NULL;
}

static bool rid_used(const accounts_t *a, uint32_t rid)
{
	for (size_t i = 0; i < a->n_users; i++) {
		if (a->users[i].rid == rid) {
			return true;
		}
	}
	for (size_t i = 0; i < a->n_groups; i++) {
		if (a->groups[i].rid == rid) {
			return true;
		}
	}
	return false;
}

static bool grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap) {
		return true;
	}
	size_t nc = *cap ? *cap * 2 : 8;
	void *p = realloc(*arr, nc * elem);
	if (!p) {
		return false;
	}
	*arr = p;
	*cap = nc;
	return true;
}

static cerr_t push_user(accounts_t *a, const char *name, uint32_t rid, const uint8_t hash[16], uint32_t flags)
{
	if (!grow((void **)&a->users, &a->cap_users, a->n_users, sizeof(acct_user_t))) {
		return CERR_NOMEM;
	}
	acct_user_t *u = &a->users[a->n_users];
	memset(u, 0, sizeof(*u));
	if (!(u->name = strdup(name))) {
		return CERR_NOMEM;
	}
	u->rid = rid;
	memcpy(u->nt_hash, hash, 16);
	u->flags = flags;
	a->n_users++;
	return CERR_OK;
}

static cerr_t push_group(accounts_t *a, const char *name, uint32_t rid)
{
	if (!grow((void **)&a->groups, &a->cap_groups, a->n_groups, sizeof(acct_group_t))) {
		return CERR_NOMEM;
	}
	acct_group_t *g = &a->groups[a->n_groups];
	memset(g, 0, sizeof(*g));
	if (!(g->name = strdup(name))) {
		return CERR_NOMEM;
	}
	g->rid = rid;
	a->n_groups++;
	return CERR_OK;
}

static cerr_t group_push_member(acct_group_t *g, const char *sid)
{
	char **m = realloc(g->members, (g->n_members + 1) * sizeof(char *));
	if (!m) {
		return CERR_NOMEM;
	}
	g->members = m;
	if (!(m[g->n_members] = strdup(sid))) {
		return CERR_NOMEM;
	}
	g->n_members++;
	return CERR_OK;
}

/* group_remove_member takes sid out of g's members; false if it was not one. */
static bool group_remove_member(acct_group_t *g, const char *sid)
{
	for (size_t j = 0; j < g->n_members; j++) {
		if (strcmp(g->members[j], sid) == 0) {
			free(g->members[j]);
			memmove(&g->members[j], &g->members[j + 1], (g->n_members - j - 1) * sizeof(char *));
			g->n_members--;
			return true;
		}
	}
	return false;
}

bool accounts_group_has_member(const acct_group_t *g, const char *sid)
{
	for (size_t i = 0; g && i < g->n_members; i++) {
		if (strcmp(g->members[i], sid) == 0) {
			return true;
		}
	}
	return false;
}

/* ---- file format (README.md): tab-separated lines, '#' comments ----
 *   certa-accounts <TAB> 1
 *   domain-sid <TAB> S-1-5-21-a-b-c
 *   next-rid <TAB> N
 *   user <TAB> name <TAB> rid <TAB> 32 hex digits (NT hash) <TAB> flags ("-" or "disabled")
 *   group <TAB> name <TAB> rid <TAB> member SIDs, comma-separated ("-" if none)
 */

static bool parse_hash(const char *s, uint8_t out[16])
{
	if (strlen(s) != 32) {
		return false;
	}
	for (int i = 0; i < 16; i++) {
		int hi = ascii_hex_value(s[2 * i]), lo = ascii_hex_value(s[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			return false;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static bool parse_rid(const char *s, uint32_t *out)
{
	uint64_t v;
	if (!parse_u64(s, strlen(s), 0xffffffffull, &v) || v < ACCT_RID_FIRST) {
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

/* One line: fields split on TAB in place. */
static cerr_t parse_line(accounts_t *a, char *line, unsigned lineno, bool *seen_magic)
{
	char *f[ACCOUNTS_MAX_FIELDS];
	size_t nf = 0;
	for (char *p = line;;) {
		if (nf == ACCOUNTS_MAX_FIELDS) {
			set_error("%s:%u: too many fields", a->path, lineno);
			return CERR_MALFORMED;
		}
		f[nf++] = p;
		char *tab = strchr(p, '\t');
		if (!tab) {
			break;
		}
		*tab = 0;
		p = tab + 1;
	}
#define FAIL(...)                                                                                  \
	do {                                                                                       \
		char what_[256];                                                                   \
		snprintf(what_, sizeof(what_), __VA_ARGS__);                                       \
		set_error("%s:%u: %s", a->path, lineno, what_);                                    \
		return CERR_MALFORMED;                                                             \
	} while (0)
	if (!*seen_magic) {
		if (nf != 2 || strcmp(f[0], ACCOUNTS_MAGIC) != 0) {
			FAIL("not a certa accounts file (first line must be '" ACCOUNTS_MAGIC "<TAB>%d')",
			     ACCOUNTS_VERSION);
		}
		uint64_t v;
		if (!parse_u64(f[1], strlen(f[1]), 1000, &v) || v != ACCOUNTS_VERSION) {
			FAIL("unsupported accounts file version '%s' (this certa reads %d)", f[1],
			     ACCOUNTS_VERSION);
		}
		*seen_magic = true;
		return CERR_OK;
	}
	cerr_t e;
	if (strcmp(f[0], "domain-sid") == 0) {
		if (nf != 2 || !accounts_valid_sid(f[1]) || strncmp(f[1], "S-1-5-21-", 9) != 0 ||
		    strlen(f[1]) >= sizeof(a->domain_sid)) {
			FAIL("domain-sid must be one S-1-5-21-... SID");
		}
		if (a->domain_sid[0]) {
			FAIL("domain-sid given twice");
		}
		snprintf(a->domain_sid, sizeof(a->domain_sid), "%s", f[1]);
	} else if (strcmp(f[0], "next-rid") == 0) {
		if (nf != 2 || !parse_rid(f[1], &a->next_rid)) {
			FAIL("next-rid must be a number >= %u", ACCT_RID_FIRST);
		}
	} else if (strcmp(f[0], "user") == 0) {
		uint32_t rid, flags = 0;
		uint8_t hash[16];
		if (nf != 5) {
			FAIL("user line needs 4 fields: name, rid, NT hash, flags");
		}
		if (!accounts_valid_name(f[1])) {
			FAIL("invalid user name");
		}
		if (!parse_rid(f[2], &rid)) {
			FAIL("user '%s': RID must be a number >= %u", f[1], ACCT_RID_FIRST);
		}
		if (!parse_hash(f[3], hash)) {
			FAIL("user '%s': NT hash must be 32 hex digits", f[1]);
		}
		if (strcmp(f[4], "disabled") == 0) {
			flags = ACCT_USER_DISABLED;
		} else if (strcmp(f[4], "-") != 0) {
			FAIL("user '%s': unknown flags '%s' (expected '-' or 'disabled')", f[1], f[4]);
		}
		if (user_find(a, f[1]) || group_find(a, f[1])) {
			FAIL("name '%s' defined twice", f[1]);
		}
		if (rid_used(a, rid)) {
			FAIL("RID %u used twice", (unsigned)rid);
		}
		e = push_user(a, f[1], rid, hash, flags);
		ntlm_wipe(hash, sizeof(hash));
		if (e != CERR_OK) {
			return e;
		}
	} else if (strcmp(f[0], "group") == 0) {
		uint32_t rid;
		if (nf != 4) {
			FAIL("group line needs 3 fields: name, rid, members");
		}
		if (!accounts_valid_name(f[1])) {
			FAIL("invalid group name");
		}
		if (!parse_rid(f[2], &rid)) {
			FAIL("group '%s': RID must be a number >= %u", f[1], ACCT_RID_FIRST);
		}
		if (user_find(a, f[1]) || group_find(a, f[1])) {
			FAIL("name '%s' defined twice", f[1]);
		}
		if (rid_used(a, rid)) {
			FAIL("RID %u used twice", (unsigned)rid);
		}
		if ((e = push_group(a, f[1], rid)) != CERR_OK) {
			return e;
		}
		acct_group_t *g = &a->groups[a->n_groups - 1];
		if (strcmp(f[3], "-") != 0) {
			for (char *p = f[3];;) {
				char *comma = strchr(p, ',');
				if (comma) {
					*comma = 0;
				}
				if (!accounts_valid_sid(p)) {
					FAIL("group '%s': member '%s' is not a SID", f[1], p);
				}
				if (accounts_group_has_member(g, p)) {
					FAIL("group '%s': member %s listed twice", f[1], p);
				}
				if ((e = group_push_member(g, p)) != CERR_OK) {
					return e;
				}
				if (!comma) {
					break;
				}
				p = comma + 1;
			}
		}
	} else {
		FAIL("unknown record '%s'", f[0]);
	}
#undef FAIL
	return CERR_OK;
}

static cerr_t parse_text(accounts_t *a, char *text, size_t len)
{
	bool seen_magic = false;
	unsigned lineno = 0;
	char *p = text;
	char *end = text + len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			set_error("%s:%u: last line is not terminated (truncated file?)", a->path, lineno + 1);
			return CERR_MALFORMED;
		}
		*nl = 0;
		lineno++;
		if (memchr(p, 0, (size_t)(nl - p))) {
			set_error("%s:%u: NUL byte in line", a->path, lineno);
			return CERR_MALFORMED;
		}
		if (p[0] != 0 && p[0] != '#') {
			cerr_t e = parse_line(a, p, lineno, &seen_magic);
			if (e != CERR_OK) {
				return e;
			}
		}
		p = nl + 1;
	}
	if (!seen_magic) {
		set_error("%s: empty accounts file", a->path);
		return CERR_MALFORMED;
	}
	if (!a->domain_sid[0]) {
		set_error("%s: no domain-sid line", a->path);
		return CERR_MALFORMED;
	}
	/* next-rid must stay above every RID in use, or a RID would be reused. */
	uint32_t max = ACCT_RID_FIRST - 1;
	for (size_t i = 0; i < a->n_users; i++) {
		max = a->users[i].rid > max ? a->users[i].rid : max;
	}
	for (size_t i = 0; i < a->n_groups; i++) {
		max = a->groups[i].rid > max ? a->groups[i].rid : max;
	}
	if (a->next_rid <= max) {
		if (a->next_rid != 0) {
			log_warn("%s: next-rid %u is not above the highest RID %u; using %u", a->path,
				 (unsigned)a->next_rid, (unsigned)max, (unsigned)max + 1);
		}
		a->next_rid = max + 1;
	}
	return CERR_OK;
}

/* Read path into a fresh contents set; on success swap it into a. */
static cerr_t load_file(accounts_t *a)
{
	int fd = open(a->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			return CERR_NOT_FOUND;
		}
		set_error("%s: %s", a->path, strerror(errno));
		return CERR_IO;
	}
	struct stat st;
	char *text = NULL;
	cerr_t e = CERR_IO;
	if (fstat(fd, &st) != 0) {
		set_error("%s: %s", a->path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > ACCOUNTS_MAX_FILE) {
		set_error("%s: not a regular file of at most %u bytes", a->path, ACCOUNTS_MAX_FILE);
		e = CERR_LIMIT;
		goto out;
	}
	if (st.st_mode & 077) {
		log_warn("%s holds NT hashes but is readable by others (mode %03o); chmod 600 it", a->path,
			 (unsigned)(st.st_mode & 0777));
	}
	size_t len = (size_t)st.st_size;
	if (!(text = malloc(len + 1))) {
		e = CERR_NOMEM;
		goto out;
	}
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, text + got, len - got);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			set_error("%s: short read", a->path);
			goto out;
		}
		got += (size_t)n;
	}
	text[len] = 0;
	accounts_t tmp = {.path = a->path, .lock_fd = -1};
	e = parse_text(&tmp, text, len);
	if (e != CERR_OK) {
		contents_clear(&tmp);
		goto out;
	}
	contents_clear(a);
	memcpy(a->domain_sid, tmp.domain_sid, sizeof(a->domain_sid));
	a->next_rid = tmp.next_rid;
	a->users = tmp.users;
	a->n_users = tmp.n_users;
	a->cap_users = tmp.cap_users;
	a->groups = tmp.groups;
	a->n_groups = tmp.n_groups;
	a->cap_groups = tmp.cap_groups;
	a->have_stat = true;
	a->dev = st.st_dev;
	a->ino = st.st_ino;
	a->mtime = st.st_mtim;
	a->size = st.st_size;
out:
	if (text) {
		ntlm_wipe(text, len);
		free(text);
	}
	close(fd);
	return e;
}

static cerr_t new_domain_sid(accounts_t *a)
{
	uint32_t sub[3];
	if (RAND_bytes((unsigned char *)sub, sizeof(sub)) != 1) {
		set_error("RAND_bytes failed making the machine domain SID");
		return CERR_CRYPTO;
	}
	snprintf(a->domain_sid, sizeof(a->domain_sid), "S-1-5-21-%u-%u-%u", (unsigned)sub[0],
		 (unsigned)sub[1], (unsigned)sub[2]);
	a->next_rid = ACCT_RID_FIRST;
	return CERR_OK;
}

cerr_t accounts_open(const char *path, unsigned flags, accounts_t **out)
{
	*out = NULL;
	g_last_error[0] = 0;
	if (!path || !path[0]) {
		return CERR_INVALID_ARG;
	}
	accounts_t *a = calloc(1, sizeof(*a));
	if (!a) {
		return CERR_NOMEM;
	}
	a->lock_fd = -1;
	cerr_t e = CERR_NOMEM;
	if (!(a->path = strdup(path))) {
		goto fail;
	}
	if (flags & ACCOUNTS_LOCK) {
		char lock[4096];
		if ((size_t)snprintf(lock, sizeof(lock), "%s.lock", path) >= sizeof(lock)) {
			e = CERR_INVALID_ARG;
			goto fail;
		}
		a->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (a->lock_fd < 0 || flock(a->lock_fd, LOCK_EX) != 0) {
			set_error("%s: cannot lock: %s", lock, strerror(errno));
			e = CERR_IO;
			goto fail;
		}
	}
	e = load_file(a);
	if (e == CERR_NOT_FOUND && (flags & ACCOUNTS_CREATE)) {
		if ((e = new_domain_sid(a)) != CERR_OK || (e = accounts_save(a)) != CERR_OK) {
			goto fail;
		}
		log_info("created the local accounts store %s (machine domain %s)", path, a->domain_sid);
	}
	if (e != CERR_OK) {
		if (e == CERR_NOT_FOUND) {
			snprintf(g_last_error, sizeof(g_last_error), "%s: no such file", path);
		}
		goto fail;
	}
	*out = a;
	return CERR_OK;
fail:
	accounts_free(a);
	return e;
}

static bool write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			return false;
		}
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static void put_str(buf_t *b, const char *s)
{
	buf_put_bytes(b, s, strlen(s));
}

static void serialize(const accounts_t *a, buf_t *b)
{
	char num[32];
	put_str(b, "# certa local accounts: the machine domain SID, users (NT hashes: keep this file\n"
		   "# mode 0600) and groups. Managed with `certa user` and `certa group`.\n");
	put_str(b, ACCOUNTS_MAGIC "\t1\ndomain-sid\t");
	put_str(b, a->domain_sid);
	snprintf(num, sizeof(num), "\nnext-rid\t%u\n", (unsigned)a->next_rid);
	put_str(b, num);
	for (size_t i = 0; i < a->n_users; i++) {
		const acct_user_t *u = &a->users[i];
		char hex[33];
		for (int j = 0; j < 16; j++) {
			snprintf(hex + 2 * j, 3, "%02x", u->nt_hash[j]);
		}
		put_str(b, "user\t");
		put_str(b, u->name);
		snprintf(num, sizeof(num), "\t%u\t", (unsigned)u->rid);
		put_str(b, num);
		put_str(b, hex);
		put_str(b, (u->flags & ACCT_USER_DISABLED) ? "\tdisabled\n" : "\t-\n");
		ntlm_wipe(hex, sizeof(hex));
	}
	for (size_t i = 0; i < a->n_groups; i++) {
		const acct_group_t *g = &a->groups[i];
		put_str(b, "group\t");
		put_str(b, g->name);
		snprintf(num, sizeof(num), "\t%u\t", (unsigned)g->rid);
		put_str(b, num);
		if (g->n_members == 0) {
			put_str(b, "-");
		}
		for (size_t j = 0; j < g->n_members; j++) {
			if (j) {
				put_str(b, ",");
			}
			put_str(b, g->members[j]);
		}
		put_str(b, "\n");
	}
}

cerr_t accounts_save(accounts_t *a)
{
	g_last_error[0] = 0;
	buf_t b;
	buf_init(&b, ACCOUNTS_MAX_FILE);
	serialize(a, &b);
	if (!buf_ok(&b)) {
		buf_free(&b);
		set_error("%s: accounts too large to save", a->path);
		return CERR_LIMIT;
	}
	char tmp[4096], dir[4096];
	cerr_t e = CERR_IO;
	int fd = -1;
	bool have_tmp = false;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", a->path) >= sizeof(tmp)) {
		e = CERR_INVALID_ARG;
		goto out;
	}
	fd = mkstemp(tmp); /* mode 0600 */
	if (fd < 0) {
		set_error("%s: cannot create a temporary file: %s", a->path, strerror(errno));
		goto out;
	}
	have_tmp = true;
	if (fchmod(fd, 0600) != 0 || !write_all(fd, b.data, b.len) || fsync(fd) != 0) {
		set_error("%s: cannot write %s: %s", a->path, tmp, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		set_error("%s: cannot write %s: %s", a->path, tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, a->path) != 0) {
		set_error("%s: cannot replace it: %s", a->path, strerror(errno));
		goto out;
	}
	have_tmp = false;
	/* Make the rename durable. */
	snprintf(dir, sizeof(dir), "%s", a->path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*(slash == dir ? slash + 1 : slash) = 0;
	} else {
		snprintf(dir, sizeof(dir), ".");
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	struct stat st;
	if (stat(a->path, &st) == 0) {
		a->have_stat = true;
		a->dev = st.st_dev;
		a->ino = st.st_ino;
		a->mtime = st.st_mtim;
		a->size = st.st_size;
	}
	e = CERR_OK;
out:
	if (fd >= 0) {
		close(fd);
	}
	if (have_tmp) {
		unlink(tmp);
	}
	ntlm_wipe(b.data, b.len);
	buf_free(&b);
	return e;
}

cerr_t accounts_refresh(accounts_t *a)
{
	struct stat st;
	if (stat(a->path, &st) != 0) {
		return errno == ENOENT ? CERR_NOT_FOUND : CERR_IO;
	}
	if (a->have_stat && st.st_dev == a->dev && st.st_ino == a->ino && st.st_size == a->size &&
	    st.st_mtim.tv_sec == a->mtime.tv_sec && st.st_mtim.tv_nsec == a->mtime.tv_nsec) {
		return CERR_OK;
	}
	cerr_t e = load_file(a);
	if (e != CERR_OK) {
		log_error("%s changed on disk but cannot be reloaded; keeping the accounts read before",
			  a->path);
	} else {
		log_info("reloaded the local accounts from %s", a->path);
	}
	return e;
}

/* ---- users ---- */

static cerr_t take_rid(accounts_t *a, uint32_t *out)
{
	while (rid_used(a, a->next_rid)) {
		a->next_rid++;
	}
	if (a->next_rid == UINT32_MAX) {
		return CERR_LIMIT;
	}
	*out = a->next_rid++;
	return CERR_OK;
}

cerr_t accounts_user_add(accounts_t *a, const char *name, const char *password, uint32_t *out_rid)
{
	if (!accounts_valid_name(name) || !password) {
		return CERR_INVALID_ARG;
	}
	if (user_find(a, name) || group_find(a, name)) {
		return CERR_EXISTS;
	}
	uint8_t hash[16];
	uint32_t rid;
	cerr_t e = ntlm_nt_hash(password, hash);
	if (e == CERR_OK && (e = take_rid(a, &rid)) == CERR_OK) {
		e = push_user(a, name, rid, hash, 0);
		if (e == CERR_OK && out_rid) {
			*out_rid = rid;
		}
	}
	ntlm_wipe(hash, sizeof(hash));
	return e;
}

static void remove_member_everywhere(accounts_t *a, const char *sid)
{
	for (size_t i = 0; i < a->n_groups; i++) {
		(void)group_remove_member(&a->groups[i], sid);
	}
}

cerr_t accounts_user_del(accounts_t *a, const char *name)
{
	acct_user_t *u = user_find(a, name);
	if (!u) {
		return CERR_NOT_FOUND;
	}
	char sid[ACCT_SID_MAX];
	accounts_rid_sid(a, u->rid, sid);
	remove_member_everywhere(a, sid);
	size_t i = (size_t)(u - a->users);
	user_clear(u);
	memmove(&a->users[i], &a->users[i + 1], (a->n_users - i - 1) * sizeof(acct_user_t));
	a->n_users--;
	return CERR_OK;
}

cerr_t accounts_user_passwd(accounts_t *a, const char *name, const char *password)
{
	acct_user_t *u = user_find(a, name);
	if (!u) {
		return CERR_NOT_FOUND;
	}
	if (!password) {
		return CERR_INVALID_ARG;
	}
	return ntlm_nt_hash(password, u->nt_hash);
}

cerr_t accounts_user_set_disabled(accounts_t *a, const char *name, bool disabled)
{
	acct_user_t *u = user_find(a, name);
	if (!u) {
		return CERR_NOT_FOUND;
	}
	u->flags = disabled ? (u->flags | ACCT_USER_DISABLED) : (u->flags & ~ACCT_USER_DISABLED);
	return CERR_OK;
}

const acct_user_t *accounts_user_find(const accounts_t *a, const char *name)
{
	return user_find(a, name);
}

const acct_user_t *accounts_user_by_rid(const accounts_t *a, uint32_t rid)
{
	for (size_t i = 0; i < a->n_users; i++) {
		if (a->users[i].rid == rid) {
			return &a->users[i];
		}
	}
	return NULL;
}

size_t accounts_user_count(const accounts_t *a)
{
	return a->n_users;
}

const acct_user_t *accounts_user_at(const accounts_t *a, size_t i)
{
	return i < a->n_users ? &a->users[i] : NULL;
}

/* ---- groups ---- */

cerr_t accounts_group_add(accounts_t *a, const char *name, uint32_t *out_rid)
{
	if (!accounts_valid_name(name)) {
		return CERR_INVALID_ARG;
	}
	if (user_find(a, name) || group_find(a, name)) {
		return CERR_EXISTS;
	}
	uint32_t rid;
	cerr_t e = take_rid(a, &rid);
	if (e == CERR_OK && (e = push_group(a, name, rid)) == CERR_OK && out_rid) {
		*out_rid = rid;
	}
	return e;
}

cerr_t accounts_group_del(accounts_t *a, const char *name)
{
	acct_group_t *g = group_find(a, name);
	if (!g) {
		return CERR_NOT_FOUND;
	}
	size_t i = (size_t)(g - a->groups);
	group_clear(g);
	memmove(&a->groups[i], &a->groups[i + 1], (a->n_groups - i - 1) * sizeof(acct_group_t));
	a->n_groups--;
	return CERR_OK;
}

/* A member given as a local user name or as a SID string. */
static cerr_t member_sid(const accounts_t *a, const char *member, char sid[ACCT_SID_MAX])
{
	if (accounts_valid_sid(member)) {
		snprintf(sid, ACCT_SID_MAX, "%s", member);
		return CERR_OK;
	}
	const acct_user_t *u = user_find(a, member);
	if (!u) {
		return CERR_NOT_FOUND;
	}
	accounts_rid_sid(a, u->rid, sid);
	return CERR_OK;
}

/* group_and_member finds group and resolves member (member_sid) for the
 * member edits; CERR_NOT_FOUND when either is not there. */
static cerr_t group_and_member(accounts_t *a, const char *group, const char *member, acct_group_t **g,
			       char sid[ACCT_SID_MAX])
{
	*g = group_find(a, group);
	if (!*g || !member) {
		return CERR_NOT_FOUND;
	}
	return member_sid(a, member, sid);
}

cerr_t accounts_group_addmember(accounts_t *a, const char *group, const char *member)
{
	acct_group_t *g;
	char sid[ACCT_SID_MAX];
	cerr_t e = group_and_member(a, group, member, &g, sid);
	if (e != CERR_OK) {
		return e;
	}
	if (accounts_group_has_member(g, sid)) {
		return CERR_EXISTS;
	}
	return group_push_member(g, sid);
}

cerr_t accounts_group_delmember(accounts_t *a, const char *group, const char *member)
{
	acct_group_t *g;
	char sid[ACCT_SID_MAX];
	cerr_t e = group_and_member(a, group, member, &g, sid);
	if (e != CERR_OK) {
		return e;
	}
	return group_remove_member(g, sid) ? CERR_OK : CERR_NOT_FOUND;
}

const acct_group_t *accounts_group_find(const accounts_t *a, const char *name)
{
	return group_find(a, name);
}

size_t accounts_group_count(const accounts_t *a)
{
	return a->n_groups;
}

const acct_group_t *accounts_group_at(const accounts_t *a, size_t i)
{
	return i < a->n_groups ? &a->groups[i] : NULL;
}

/* ---- NTLM ---- */

cerr_t accounts_ntlm_lookup(void *arg, const char *domain, const char *user, ntlm_account_t *out)
{
	accounts_t *a = arg;
	(void)domain;
	memset(out, 0, sizeof(*out));
	if (!a || !user) {
		return CERR_INVALID_ARG;
	}
	(void)accounts_refresh(a); /* a failed reload keeps the old accounts and is logged */
	const acct_user_t *u = user_find(a, user);
	if (!u) {
		return CERR_STATUS_NO_SUCH_USER;
	}
	memcpy(out->nt_hash, u->nt_hash, 16);
	out->disabled = (u->flags & ACCT_USER_DISABLED) != 0;
	snprintf(out->user, sizeof(out->user), "%s", u->name);
	return CERR_OK;
}
