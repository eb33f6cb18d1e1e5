/* test_events.c - the audit event log: JSON escaping, read-back, threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "events/events.h"

static char tmpdir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/certa-events-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		return -1;
	}
	snprintf(path, sizeof(path), "%s/events.jsonl", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(tmpdir);
	return 0;
}

static char *slurp(const char *p)
{
	FILE *f = fopen(p, "r");
	if (!f) {
		return NULL;
	}
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

struct collect {
	int n;
	char values[8][256];
	uint32_t ids[8];
};

static bool collect_cb(const events_record_t *r, void *ud)
{
	struct collect *c = ud;
	const char *v = events_record_get(r, "Requester");
	if (c->n < 8) {
		c->ids[c->n] = r->id;
		snprintf(c->values[c->n], sizeof(c->values[0]), "%s", v ? v : "(null)");
	}
	c->n++;
	return true;
}

static void test_escaping_roundtrip(void **state)
{
	(void)state;
	events_t *ev;
	assert_int_equal(events_open(path, 0, &ev), CERR_OK);
	const char *nasty = "DOM\\us\"er\n\t\x01\x7f é";
	events_field_t f[] = {
		EVF_INT("RequestId", 42),
		EVF_STR("Requester", nasty),
		EVF_HEX32("Hresult", 0x80094800u),
		EVF_STR("Empty", NULL),
	};
	assert_int_equal(events_emit(ev, EVENT_CS_REQUEST_DENIED, EVENTS_LOG_SECURITY,
				     EVENTS_SOURCE_SECURITY_AUDITING, EVENTS_INFO, f, 4), CERR_OK);
	/* invalid UTF-8 must not make the line invalid JSON */
	events_field_t g[] = {EVF_STR("Requester", "bad\xff\xc0\x80utf8")};
	assert_int_equal(events_emit(ev, 4624, "Security", "x", EVENTS_WARNING, g, 1), CERR_OK);
	events_close(ev);

	char *text = slurp(path);
	assert_non_null(text);
	assert_non_null(strstr(text, "\"Requester\":\"DOM\\\\us\\\"er\\n\\t\\u0001\\u007f é\""));
	assert_non_null(strstr(text, "\"Hresult\":\"0x80094800\""));
	assert_non_null(strstr(text, "\"Empty\":null"));
	assert_non_null(strstr(text, "\"id\":4888"));
	assert_non_null(strstr(text, "bad\\ufffd\\ufffd\\ufffdutf8"));
	/* exactly one line per event */
	int lines = 0;
	for (char *p = text; *p; p++) {
		lines += *p == '\n';
	}
	assert_int_equal(lines, 2);

	struct collect c = {0};
	size_t bad;
	assert_int_equal(events_read(path, collect_cb, &c, &bad), CERR_OK);
	assert_int_equal(c.n, 2);
	assert_int_equal(bad, 0);
	assert_int_equal(c.ids[0], 4888);
	assert_string_equal(c.values[0], nasty);
	assert_string_equal(c.values[1], "bad\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdutf8");
}

static void test_parse_rejects_garbage(void **state)
{
	(void)state;
	events_record_t r;
	const char *bad[] = {
		"", "{", "{\"id\":1", "[1]", "{\"id\":\"x\"}", "{\"time\":\"a\"}",
		"{\"id\":1,\"data\":{\"a\":\"\\ud800\"}}", "{\"id\":1} trailing",
		"{\"id\":1,\"data\":{\"a\":\"\\u0000\"}}", "{\"id\":1,\"data\":{\"a\" 1}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(events_parse_line(bad[i], strlen(bad[i]), &r), CERR_MALFORMED);
	}
	const char *good = "{\"id\":7,\"level\":\"info\",\"data\":{\"a\":\"\\u00e9\\ud83d\\ude00\",\"b\":-3,\"c\":true}}";
	assert_int_equal(events_parse_line(good, strlen(good), &r), CERR_OK);
	assert_int_equal(r.id, 7);
	assert_string_equal(events_record_get(&r, "a"), "\xc3\xa9\xf0\x9f\x98\x80");
	assert_string_equal(events_record_get(&r, "b"), "-3");
	assert_string_equal(events_record_get(&r, "c"), "true");
	assert_null(events_record_get(&r, "d"));
	events_record_cleanup(&r);
}

static events_t *shared;

static void *writer(void *arg)
{
	intptr_t t = (intptr_t)arg;
	char who[32];
	snprintf(who, sizeof(who), "thread-%d", (int)t);
	for (int i = 0; i < 200; i++) {
		events_field_t f[] = {EVF_STR("Requester", who), EVF_INT("Seq", i)};
		events_emit(shared, EVENT_CS_REQUEST_RECEIVED, EVENTS_LOG_SECURITY, EVENTS_SOURCE_SECURITY_AUDITING,
			    EVENTS_INFO, f, 2);
	}
	return NULL;
}

static bool count_cb(const events_record_t *r, void *ud)
{
	(void)r;
	(*(int *)ud)++;
	return true;
}

static void test_threads_do_not_interleave(void **state)
{
	(void)state;
	assert_int_equal(events_open(path, 0, &shared), CERR_OK);
	pthread_t th[4];
	for (intptr_t i = 0; i < 4; i++) {
		pthread_create(&th[i], NULL, writer, (void *)i);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
	}
	events_close(shared);
	int n = 0;
	size_t bad = 99;
	assert_int_equal(events_read(path, count_cb, &n, &bad), CERR_OK);
	assert_int_equal(n, 800);
	assert_int_equal(bad, 0);
}

static void test_null_and_missing(void **state)
{
	(void)state;
	assert_int_equal(events_emit(NULL, 1, "a", "b", EVENTS_INFO, NULL, 0), CERR_OK);
	events_close(NULL);
	events_t *ev;
	assert_int_equal(events_open("/nonexistent-dir/x.jsonl", 0, &ev), CERR_IO);
	assert_null(ev);
	int n = 0;
	assert_int_equal(events_read("/nonexistent-dir/x.jsonl", count_cb, &n, NULL), CERR_IO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_escaping_roundtrip, setup, teardown),
		cmocka_unit_test(test_parse_rejects_garbage),
		cmocka_unit_test_setup_teardown(test_threads_do_not_interleave, setup, teardown),
		cmocka_unit_test(test_null_and_missing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
