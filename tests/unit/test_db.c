/* test_db.c - the SQLite CA database: IDs, reads, group commit, restart persistence. */
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

#include "ca/db.h"
#include "testutil.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/certa-db-XXXXXX");
	if (!mkdtemp(dir)) {
		return -1;
	}
	snprintf(path, sizeof(path), "%s/ca.db", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return tu_rmrf(dir) ? 0 : -1;
}

static void test_submit_and_read(void **state)
{
	(void)state;
	db_t *db;
	assert_int_equal(db_open_sqlite(path, &db), CERR_OK);
	const uint8_t blob[] = {0x30, 0x03, 0x02, 0x01, 0x00};
	db_request_t denied = {.disposition = 0x80094800u, .status_code = 0x80094800u,
			       .disposition_msg = "Denied by Policy Module", .requester = "EX\\alice",
			       .template_name = "Nope", .attributes = "CertificateTemplate:Nope",
			       .raw_request = blob, .raw_request_len = sizeof(blob), .submitted_at = 100,
			       .resolved_at = 101, .request_flags = 0x100};
	assert_int_equal(db_submit(db, &denied, NULL), CERR_OK);
	assert_int_equal(denied.request_id, 1);

	const uint8_t der[] = {1, 2, 3, 4};
	db_request_t issued = {.disposition = 3, .disposition_msg = "Issued", .requester = "EX\\bob",
			       .template_name = "User", .serial_hex = "6a01", .submitted_at = 200, .resolved_at = 200};
	db_cert_t cert = {.serial_hex = "6a01", .subject = "CN=bob", .not_before = 1, .not_after = 2,
			  .template_name = "User", .der = der, .der_len = sizeof(der)};
	assert_int_equal(db_submit(db, &issued, &cert), CERR_OK);
	assert_int_equal(issued.request_id, 2);
	assert_int_equal(cert.request_id, 2);

	/* a duplicate serial fails alone and records nothing */
	db_request_t dup = issued;
	db_cert_t dupc = cert;
	assert_int_equal(db_submit(db, &dup, &dupc), CERR_STORE);

	db_request_t r;
	assert_int_equal(db_get_request(db, 1, &r), CERR_OK);
	assert_int_equal(r.status_code, 0x80094800u);
	assert_string_equal(r.requester, "EX\\alice");
	assert_int_equal(r.raw_request_len, sizeof(blob));
	assert_memory_equal(r.raw_request, blob, sizeof(blob));
	assert_int_equal(r.request_flags, 0x100);
	assert_null(r.serial_hex);
	db_request_cleanup(&r);
	assert_int_equal(db_get_request(db, 99, &r), CERR_NOT_FOUND);

	db_cert_t c;
	assert_int_equal(db_get_cert(db, 2, &c), CERR_OK);
	assert_string_equal(c.serial_hex, "6a01");
	assert_memory_equal(c.der, der, sizeof(der));
	db_cert_cleanup(&c);
	assert_int_equal(db_get_cert(db, 1, &c), CERR_NOT_FOUND);
	assert_int_equal(db_get_cert_by_serial(db, "6a01", &c), CERR_OK);
	assert_int_equal(c.request_id, 2);
	db_cert_cleanup(&c);

	uint32_t reason;
	int64_t when;
	assert_int_equal(db_get_revocation(db, "6a01", &reason, &when), CERR_NOT_FOUND);
	assert_int_equal(db_revoke(db, "6a01", 1, 300), CERR_OK);
	assert_int_equal(db_revoke(db, "6a01", 1, 300), CERR_EXISTS);
	assert_int_equal(db_revoke(db, "ffff", 1, 300), CERR_NOT_FOUND);
	assert_int_equal(db_get_revocation(db, "6a01", &reason, &when), CERR_OK);
	assert_int_equal(reason, 1);
	assert_int_equal(when, 300);
	db_close(db);

	/* restart: the rows and the ID sequence survive */
	assert_int_equal(db_open_sqlite(path, &db), CERR_OK);
	assert_int_equal(db_get_request(db, 2, &r), CERR_OK);
	assert_string_equal(r.disposition_msg, "Issued");
	db_request_cleanup(&r);
	db_request_t next = {.disposition = 5, .requester = "EX\\carol", .submitted_at = 1};
	assert_int_equal(db_submit(db, &next, NULL), CERR_OK);
	assert_true(next.request_id > 2);
	db_close(db);
	db_close(NULL);
}

#define THREADS 8
#define PER_THREAD 40

static db_t *shared;

static void *submitter(void *arg)
{
	intptr_t t = (intptr_t)arg;
	for (int i = 0; i < PER_THREAD; i++) {
		char serial[32], who[32];
		snprintf(serial, sizeof(serial), "%02x%04x", (unsigned)t, (unsigned)i);
		snprintf(who, sizeof(who), "EX\\t%d", (int)t);
		uint8_t der[16];
		memset(der, (int)t, sizeof(der));
		db_request_t req = {.disposition = 3, .requester = who, .serial_hex = serial, .submitted_at = i};
		db_cert_t cert = {.serial_hex = serial, .der = der, .der_len = sizeof(der)};
		if (db_submit(shared, &req, &cert) != CERR_OK || req.request_id == 0 ||
		    cert.request_id != req.request_id) {
			return (void *)1;
		}
	}
	return NULL;
}

static void test_group_commit_concurrent(void **state)
{
	(void)state;
	assert_int_equal(db_open_sqlite(path, &shared), CERR_OK);
	pthread_t th[THREADS];
	for (intptr_t i = 0; i < THREADS; i++) {
		pthread_create(&th[i], NULL, submitter, (void *)i);
	}
	for (int i = 0; i < THREADS; i++) {
		void *ret;
		pthread_join(th[i], &ret);
		assert_null(ret);
	}
	db_stats_t st;
	db_stats(shared, &st);
	assert_int_equal(st.jobs, THREADS * PER_THREAD);
	/* concurrent submitters must have shared commits */
	print_message("group commit: %llu jobs in %llu commits\n", (unsigned long long)st.jobs,
		      (unsigned long long)st.commits);
	assert_true(st.commits < st.jobs);
	db_close(shared);

	/* every row is there after a restart, with distinct IDs 1..N */
	db_t *db;
	assert_int_equal(db_open_sqlite(path, &db), CERR_OK);
	for (uint32_t id = 1; id <= THREADS * PER_THREAD; id++) {
		db_cert_t c;
		assert_int_equal(db_get_cert(db, id, &c), CERR_OK);
		assert_int_equal(c.der_len, 16);
		db_cert_cleanup(&c);
	}
	db_request_t r;
	assert_int_equal(db_get_request(db, THREADS * PER_THREAD + 1, &r), CERR_NOT_FOUND);
	db_close(db);
}

static void test_open_fails(void **state)
{
	(void)state;
	db_t *db;
	assert_int_equal(db_open_sqlite("/nonexistent-dir/ca.db", &db), CERR_STORE);
	assert_null(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_submit_and_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit_concurrent, setup, teardown),
		cmocka_unit_test(test_open_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
