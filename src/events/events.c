/*
 * events.c - see events.h. Lines are built in a buf_t and written with one
 * write(2) under the mutex, so concurrent workers never interleave. The
 * reader is a small JSON parser for exactly the shape events_emit writes
 * (flat object plus one flat "data" object), reading through cur_t.
 */
#include "events/events.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/ascii.h"
#include "util/cursor.h"
#include "util/log.h"

struct events {
	pthread_mutex_t mu;
	int fd; /* -1 when no file */
	unsigned flags;
	char *path;
};

cerr_t events_open(const char *path, unsigned flags, events_t **out)
{
	*out = NULL;
	events_t *ev = calloc(1, sizeof(*ev));
	if (!ev) {
		return CERR_NOMEM;
	}
	ev->fd = -1;
	ev->flags = flags;
	pthread_mutex_init(&ev->mu, NULL);
	if (path) {
		ev->path = strdup(path);
		ev->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (!ev->path || ev->fd < 0) {
			cerr_t rc = ev->path ? CERR_IO : CERR_NOMEM;
			log_error("cannot open event log %s: %s", path, strerror(errno));
			events_close(ev);
			return rc;
		}
	}
	*out = ev;
	return CERR_OK;
}

void events_close(events_t *ev)
{
	if (!ev) {
		return;
	}
	if (ev->fd >= 0) {
		close(ev->fd);
	}
	pthread_mutex_destroy(&ev->mu);
	free(ev->path);
	free(ev);
}

const char *events_path(const events_t *ev) { return ev ? ev->path : NULL; }

/* ---- writer ---- */

static void put_str(buf_t *b, const char *s) { buf_put_bytes(b, s, strlen(s)); }

/* utf8_seq_len returns the length of a valid UTF-8 sequence at s[0..n), or 0
 * (overlong forms, surrogates and values above U+10FFFF are invalid). */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;
	if (c < 0x80) {
		return 1;
	} else if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		cp = c & 0x1Fu;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		cp = c & 0x0Fu;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		cp = c & 0x07u;
	} else {
		return 0;
	}
	if (n < len) {
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			return 0;
		}
		cp = (cp << 6) | (s[i] & 0x3Fu);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF)) {
		return 0;
	}
	return len;
}

/* put_json_string writes s as a JSON string (RFC 8259 section 7): quote,
 * backslash and control characters escaped; invalid UTF-8 becomes U+FFFD so
 * the line stays valid JSON whatever a client sent us. */
static void put_json_string(buf_t *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	buf_put_u8(b, '"');
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	size_t i = 0;
	while (i < n) {
		unsigned char c = p[i];
		switch (c) {
		case '"': put_str(b, "\\\""); i++; continue;
		case '\\': put_str(b, "\\\\"); i++; continue;
		case '\n': put_str(b, "\\n"); i++; continue;
		case '\r': put_str(b, "\\r"); i++; continue;
		case '\t': put_str(b, "\\t"); i++; continue;
		case '\b': put_str(b, "\\b"); i++; continue;
		case '\f': put_str(b, "\\f"); i++; continue;
		default: break;
		}
		if (c < 0x20 || c == 0x7f) {
			char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			buf_put_bytes(b, esc, sizeof(esc));
			i++;
			continue;
		}
		size_t len = utf8_seq_len(p + i, n - i);
		if (len == 0) {
			put_str(b, "\\ufffd");
			i++;
			continue;
		}
		buf_put_bytes(b, p + i, len);
		i += len;
	}
	buf_put_u8(b, '"');
}

static const char *level_name(events_level_t level)
{
	switch (level) {
	case EVENTS_CRITICAL: return "critical";
	case EVENTS_ERROR: return "error";
	case EVENTS_WARNING: return "warning";
	case EVENTS_INFO: return "info";
	case EVENTS_VERBOSE: return "verbose";
	default: return "info";
	}
}

cerr_t events_emit(events_t *ev, uint32_t id, const char *log, const char *source, events_level_t level,
		   const events_field_t *fields, size_t num_fields)
{
	if (!ev) {
		return CERR_OK;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char tbuf[64];
	snprintf(tbuf, sizeof(tbuf), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	char num[32];

	buf_t b;
	buf_init(&b, EVENTS_MAX_LINE);
	put_str(&b, "{\"time\":");
	put_json_string(&b, tbuf);
	snprintf(num, sizeof(num), ",\"id\":%u", id);
	put_str(&b, num);
	put_str(&b, ",\"log\":");
	put_json_string(&b, log ? log : "");
	put_str(&b, ",\"source\":");
	put_json_string(&b, source ? source : "");
	put_str(&b, ",\"level\":");
	put_json_string(&b, level_name(level));
	put_str(&b, ",\"data\":{");
	for (size_t i = 0; i < num_fields; i++) {
		if (i) {
			buf_put_u8(&b, ',');
		}
		put_json_string(&b, fields[i].key ? fields[i].key : "");
		buf_put_u8(&b, ':');
		switch (fields[i].type) {
		case EVENTS_F_INT:
			snprintf(num, sizeof(num), "%lld", (long long)fields[i].num);
			put_str(&b, num);
			break;
		case EVENTS_F_HEX32:
			snprintf(num, sizeof(num), "\"0x%08x\"", (uint32_t)fields[i].num);
			put_str(&b, num);
			break;
		case EVENTS_F_STR:
		default:
			if (fields[i].str) {
				put_json_string(&b, fields[i].str);
			} else {
				put_str(&b, "null");
			}
			break;
		}
	}
	put_str(&b, "}}\n");
	if (!buf_ok(&b)) {
		buf_free(&b);
		return CERR_LIMIT;
	}

	cerr_t rc = CERR_OK;
	pthread_mutex_lock(&ev->mu);
	if (ev->fd >= 0) {
		ssize_t w = write(ev->fd, b.data, b.len);
		if (w < 0 || (size_t)w != b.len) {
			rc = CERR_IO;
		} else if (ev->flags & EVENTS_FSYNC) {
			fdatasync(ev->fd);
		}
	}
	if (ev->flags & EVENTS_TO_STDERR) {
		ssize_t w = write(STDERR_FILENO, b.data, b.len);
		(void)w;
	}
	pthread_mutex_unlock(&ev->mu);
	buf_free(&b);
	return rc;
}

/* ---- reader ---- */

static bool peek(const cur_t *c, uint8_t *out)
{
	cur_t t = *c;
	return cur_get_u8(&t, out);
}

static void skip_ws(cur_t *c)
{
	uint8_t ch;
	while (peek(c, &ch) && (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')) {
		cur_skip(c, 1);
	}
}

static bool expect(cur_t *c, uint8_t want)
{
	uint8_t ch;
	skip_ws(c);
	if (!peek(c, &ch) || ch != want) {
		return false;
	}
	return cur_skip(c, 1);
}

static bool get_hex4(cur_t *c, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		uint8_t ch;
		int h;
		if (!cur_get_u8(c, &ch) || (h = ascii_hex_value(ch)) < 0) {
			return false;
		}
		v = (v << 4) | (uint32_t)h;
	}
	*out = v;
	return true;
}

static void put_utf8(buf_t *b, uint32_t cp)
{
	if (cp < 0x80) {
		buf_put_u8(b, (uint8_t)cp);
	} else if (cp < 0x800) {
		buf_put_u8(b, (uint8_t)(0xC0 | (cp >> 6)));
		buf_put_u8(b, (uint8_t)(0x80 | (cp & 0x3F)));
	} else if (cp < 0x10000) {
		buf_put_u8(b, (uint8_t)(0xE0 | (cp >> 12)));
		buf_put_u8(b, (uint8_t)(0x80 | ((cp >> 6) & 0x3F)));
		buf_put_u8(b, (uint8_t)(0x80 | (cp & 0x3F)));
	} else {
		buf_put_u8(b, (uint8_t)(0xF0 | (cp >> 18)));
		buf_put_u8(b, (uint8_t)(0x80 | ((cp >> 12) & 0x3F)));
		buf_put_u8(b, (uint8_t)(0x80 | ((cp >> 6) & 0x3F)));
		buf_put_u8(b, (uint8_t)(0x80 | (cp & 0x3F)));
	}
}

/* get_string parses a JSON string into a malloc'd NUL-terminated UTF-8 string. */
static char *get_string(cur_t *c)
{
	if (!expect(c, '"')) {
		return NULL;
	}
	buf_t b;
	buf_init(&b, EVENTS_MAX_LINE);
	for (;;) {
		uint8_t ch;
		if (!cur_get_u8(c, &ch) || ch < 0x20) {
			goto fail;
		}
		if (ch == '"') {
			break;
		}
		if (ch != '\\') {
			buf_put_u8(&b, ch);
			continue;
		}
		if (!cur_get_u8(c, &ch)) {
			goto fail;
		}
		switch (ch) {
		case '"': case '\\': case '/': buf_put_u8(&b, ch); break;
		case 'n': buf_put_u8(&b, '\n'); break;
		case 'r': buf_put_u8(&b, '\r'); break;
		case 't': buf_put_u8(&b, '\t'); break;
		case 'b': buf_put_u8(&b, '\b'); break;
		case 'f': buf_put_u8(&b, '\f'); break;
		case 'u': {
			uint32_t cp, lo;
			if (!get_hex4(c, &cp)) {
				goto fail;
			}
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				uint8_t b1, b2;
				if (!cur_get_u8(c, &b1) || !cur_get_u8(c, &b2) || b1 != '\\' || b2 != 'u' ||
				    !get_hex4(c, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
					goto fail;
				}
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
				goto fail;
			}
			if (cp == 0) {
				goto fail; /* would truncate the C string */
			}
			put_utf8(&b, cp);
			break;
		}
		default: goto fail;
		}
	}
	buf_put_u8(&b, 0);
	size_t len;
	return (char *)buf_take(&b, &len);
fail:
	buf_free(&b);
	return NULL;
}

/* get_scalar parses a string, number, true/false or null value; *out is NULL for null. */
static bool get_scalar(cur_t *c, char **out)
{
	uint8_t ch;
	*out = NULL;
	skip_ws(c);
	if (!peek(c, &ch)) {
		return false;
	}
	if (ch == '"') {
		*out = get_string(c);
		return *out != NULL;
	}
	char tok[40];
	size_t n = 0;
	while (peek(c, &ch) && ((ch >= '0' && ch <= '9') || ch == '-' || ch == '+' || ch == '.' || ch == 'e' ||
				ch == 'E' || (ch >= 'a' && ch <= 'z'))) {
		if (n + 1 >= sizeof(tok)) {
			return false;
		}
		tok[n++] = (char)ch;
		cur_skip(c, 1);
	}
	tok[n] = 0;
	if (n == 0) {
		return false;
	}
	if (strcmp(tok, "null") == 0) {
		return true;
	}
	if (strcmp(tok, "true") != 0 && strcmp(tok, "false") != 0) {
		char *end;
		strtod(tok, &end);
		if (*end) {
			return false;
		}
	}
	*out = strdup(tok);
	return *out != NULL;
}

#define EVENTS_MAX_FIELDS 256u

static bool parse_data(cur_t *c, events_record_t *r)
{
	if (!expect(c, '{')) {
		return false;
	}
	skip_ws(c);
	uint8_t ch;
	if (peek(c, &ch) && ch == '}') {
		return cur_skip(c, 1);
	}
	for (;;) {
		if (r->num_data >= EVENTS_MAX_FIELDS) {
			return false;
		}
		events_kv_t *nd = realloc(r->data, (r->num_data + 1) * sizeof(*nd));
		if (!nd) {
			return false;
		}
		r->data = nd;
		events_kv_t *kv = &r->data[r->num_data];
		kv->key = get_string(c);
		kv->value = NULL;
		if (!kv->key) {
			return false;
		}
		r->num_data++;
		if (!expect(c, ':') || !get_scalar(c, &kv->value)) {
			return false;
		}
		skip_ws(c);
		if (!cur_get_u8(c, &ch)) {
			return false;
		}
		if (ch == '}') {
			return true;
		}
		if (ch != ',') {
			return false;
		}
	}
}

cerr_t events_parse_line(const char *line, size_t len, events_record_t *r)
{
	memset(r, 0, sizeof(*r));
	cur_t c;
	cur_init(&c, (const uint8_t *)line, len);
	bool have_id = false;
	if (!expect(&c, '{')) {
		goto bad;
	}
	for (;;) {
		char *key = get_string(&c);
		if (!key || !expect(&c, ':')) {
			free(key);
			goto bad;
		}
		bool ok;
		if (strcmp(key, "data") == 0) {
			ok = parse_data(&c, r);
		} else {
			char *val = NULL;
			ok = get_scalar(&c, &val);
			char **slot = NULL;
			if (!strcmp(key, "time")) {
				slot = &r->time;
			} else if (!strcmp(key, "log")) {
				slot = &r->log;
			} else if (!strcmp(key, "source")) {
				slot = &r->source;
			} else if (!strcmp(key, "level")) {
				slot = &r->level;
			} else if (!strcmp(key, "id") && ok && val) {
				char *end;
				unsigned long v = strtoul(val, &end, 10);
				ok = !*end && v <= 0xffffffffu;
				r->id = (uint32_t)v;
				have_id = true;
			}
			if (slot && !*slot) {
				*slot = val;
				val = NULL;
			}
			free(val);
		}
		free(key);
		if (!ok) {
			goto bad;
		}
		skip_ws(&c);
		uint8_t ch;
		if (!cur_get_u8(&c, &ch)) {
			goto bad;
		}
		if (ch == '}') {
			break;
		}
		if (ch != ',') {
			goto bad;
		}
	}
	skip_ws(&c);
	if (!cur_empty(&c) || !have_id) {
		goto bad;
	}
	return CERR_OK;
bad:
	events_record_cleanup(r);
	return CERR_MALFORMED;
}

void events_record_cleanup(events_record_t *r)
{
	if (!r) {
		return;
	}
	free(r->time);
	free(r->log);
	free(r->source);
	free(r->level);
	for (size_t i = 0; i < r->num_data; i++) {
		free(r->data[i].key);
		free(r->data[i].value);
	}
	free(r->data);
	memset(r, 0, sizeof(*r));
}

const char *events_record_get(const events_record_t *r, const char *key)
{
	for (size_t i = 0; i < r->num_data; i++) {
		if (strcmp(r->data[i].key, key) == 0) {
			return r->data[i].value;
		}
	}
	return NULL;
}

cerr_t events_read(const char *path, events_read_cb cb, void *ud, size_t *out_bad)
{
	if (out_bad) {
		*out_bad = 0;
	}
	FILE *f = fopen(path, "re");
	if (!f) {
		return CERR_IO;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	size_t lineno = 0;
	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		size_t len = (size_t)n;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
			len--;
		}
		if (len == 0) {
			continue;
		}
		events_record_t r;
		if (len > EVENTS_MAX_LINE || events_parse_line(line, len, &r) != CERR_OK) {
			if (out_bad) {
				(*out_bad)++;
			}
			continue;
		}
		r.line = lineno;
		bool more = cb(&r, ud);
		events_record_cleanup(&r);
		if (!more) {
			break;
		}
	}
	free(line);
	fclose(f);
	return CERR_OK;
}
