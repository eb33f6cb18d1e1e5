/*
 * db_sqlite.c - the embedded database backend (see db.h). One writer thread
 * owns the write connection: callers queue a job and sleep; the writer takes
 * every queued job, runs them in one transaction (each under a SAVEPOINT so
 * one bad row cannot sink its neighbours), commits - WAL with
 * synchronous=FULL syncs the log here - and wakes all of them at once. Reads
 * use a second connection (WAL lets them run beside the writer).
 */
#include "ca/db.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "util/log.h"

enum job_type { JOB_SUBMIT, JOB_REVOKE };

typedef struct job {
	enum job_type type;
	db_request_t *req;
	db_cert_t *cert;
	const char *serial_hex;
	uint32_t reason;
	int64_t when;
	cerr_t rc;
	bool done;
	struct job *next;
} job_t;

/* The writer's statements, prepared once (SQLITE_PREPARE_PERSISTENT) and
 * reset after each use: parsing the SQL of every statement of every job
 * cost as much as running it (callgrind, bench/RESULTS.md). */
enum wst { WS_BEGIN, WS_COMMIT, WS_ROLLBACK, WS_SAVEPOINT, WS_ROLLBACK_TO, WS_RELEASE, WS_INS_REQ, WS_INS_CERT,
	   WS__COUNT };

static const char *const wst_sql[WS__COUNT] = {
	[WS_BEGIN] = "BEGIN IMMEDIATE",
	[WS_COMMIT] = "COMMIT",
	[WS_ROLLBACK] = "ROLLBACK",
	[WS_SAVEPOINT] = "SAVEPOINT job",
	[WS_ROLLBACK_TO] = "ROLLBACK TO job",
	[WS_RELEASE] = "RELEASE job",
	/* parenthesised so clang sees one intended string, not a missing comma */
	[WS_INS_REQ] = ("INSERT INTO requests (disposition, status_code, disposition_msg, requester, template,"
			" attributes, client_addr, raw_request, submitted_at, resolved_at, request_flags, serial)"
			" VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"),
	[WS_INS_CERT] = ("INSERT INTO certificates (request_id, serial, subject, not_before, not_after,"
			 " template, raw_cert) VALUES (?,?,?,?,?,?,?)"),
};

typedef struct db_sqlite {
	db_t base;
	sqlite3 *w; /* writer thread only */
	sqlite3_stmt *ws[WS__COUNT]; /* on w, writer thread only; NULL until first use */
	sqlite3 *r; /* readers, under rmu */
	pthread_mutex_t rmu;
	pthread_mutex_t mu; /* queue, stop, stats */
	pthread_cond_t work;
	pthread_cond_t done;
	job_t *head, *tail;
	bool stop;
	bool started; /* writer thread running */
	pthread_t writer;
	db_stats_t stats;
	/* Checkpoints run on a thread and connection of their own, so copying
	 * the WAL into the database (and syncing it) never stalls a commit that
	 * requests wait on; the writer's hook only says when one is due. */
	sqlite3 *ck;
	pthread_t ckpt;
	bool ck_started;
	pthread_mutex_t ck_mu;
	pthread_cond_t ck_cond;
	bool ck_due, ck_stop;
} db_sqlite_t;

/* WAL pages after which a checkpoint is started (SQLite's own default). */
#define CKPT_PAGES 1000

static const char *schema_sql =
	"CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS requests ("
	" request_id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" disposition INTEGER NOT NULL,"
	" status_code INTEGER NOT NULL,"
	" disposition_msg TEXT,"
	" requester TEXT,"
	" template TEXT,"
	" attributes TEXT,"
	" client_addr TEXT,"
	" raw_request BLOB,"
	" submitted_at INTEGER NOT NULL,"
	" resolved_at INTEGER NOT NULL,"
	" request_flags INTEGER NOT NULL,"
	" serial TEXT);"
	"CREATE TABLE IF NOT EXISTS certificates ("
	" request_id INTEGER NOT NULL UNIQUE REFERENCES requests(request_id),"
	" serial TEXT NOT NULL UNIQUE,"
	" subject TEXT,"
	" not_before INTEGER NOT NULL,"
	" not_after INTEGER NOT NULL,"
	" template TEXT,"
	" raw_cert BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS revocations ("
	" serial TEXT PRIMARY KEY REFERENCES certificates(serial),"
	" reason INTEGER NOT NULL,"
	" revoked_at INTEGER NOT NULL);";

static cerr_t exec(sqlite3 *h, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_error("sqlite: %s: %s", sql, msg ? msg : sqlite3_errmsg(h));
		sqlite3_free(msg);
		return CERR_STORE;
	}
	return CERR_OK;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s) {
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	} else {
		sqlite3_bind_null(st, i);
	}
}

static void bind_blob(sqlite3_stmt *st, int i, const uint8_t *p, size_t n)
{
	if (p) {
		sqlite3_bind_blob64(st, i, p, n, SQLITE_TRANSIENT);
	} else {
		sqlite3_bind_null(st, i);
	}
}

/* wstmt gives the writer's prepared statement i, preparing it on first use. */
static sqlite3_stmt *wstmt(db_sqlite_t *d, enum wst i)
{
	if (!d->ws[i] && sqlite3_prepare_v3(d->w, wst_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &d->ws[i], NULL) !=
				 SQLITE_OK) {
		log_error("sqlite: %s: %s", wst_sql[i], sqlite3_errmsg(d->w));
		d->ws[i] = NULL;
	}
	return d->ws[i];
}

/* wexec runs a writer statement without parameters. */
static cerr_t wexec(db_sqlite_t *d, enum wst i)
{
	sqlite3_stmt *st = wstmt(d, i);
	if (!st) {
		return CERR_STORE;
	}
	int s = sqlite3_step(st);
	sqlite3_reset(st);
	if (s != SQLITE_DONE) {
		log_error("sqlite: %s: %s", wst_sql[i], sqlite3_errmsg(d->w));
		return CERR_STORE;
	}
	return CERR_OK;
}

/* wdone resets a statement after use and drops its bound copies. */
static void wdone(sqlite3_stmt *st)
{
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

/* run_submit inserts one request (+ certificate) inside the open transaction. */
static cerr_t run_submit(db_sqlite_t *d, db_request_t *req, db_cert_t *cert)
{
	sqlite3 *h = d->w;
	sqlite3_stmt *st = wstmt(d, WS_INS_REQ);
	cerr_t rc = CERR_STORE;
	if (!st) {
		goto out;
	}
	sqlite3_bind_int64(st, 1, req->disposition);
	sqlite3_bind_int64(st, 2, req->status_code);
	bind_text(st, 3, req->disposition_msg);
	bind_text(st, 4, req->requester);
	bind_text(st, 5, req->template_name);
	bind_text(st, 6, req->attributes);
	bind_text(st, 7, req->client_addr);
	bind_blob(st, 8, req->raw_request, req->raw_request_len);
	sqlite3_bind_int64(st, 9, req->submitted_at);
	sqlite3_bind_int64(st, 10, req->resolved_at);
	sqlite3_bind_int64(st, 11, req->request_flags);
	bind_text(st, 12, req->serial_hex);
	if (sqlite3_step(st) != SQLITE_DONE) {
		goto out;
	}
	sqlite3_int64 id = sqlite3_last_insert_rowid(h);
	if (id <= 0 || id > UINT32_MAX) {
		goto out; /* RequestID is a DWORD on the wire */
	}
	wdone(st);
	st = NULL;
	if (cert) {
		if (!(st = wstmt(d, WS_INS_CERT))) {
			goto out;
		}
		sqlite3_bind_int64(st, 1, id);
		bind_text(st, 2, cert->serial_hex);
		bind_text(st, 3, cert->subject);
		sqlite3_bind_int64(st, 4, cert->not_before);
		sqlite3_bind_int64(st, 5, cert->not_after);
		bind_text(st, 6, cert->template_name);
		bind_blob(st, 7, cert->der, cert->der_len);
		if (sqlite3_step(st) != SQLITE_DONE) {
			goto out;
		}
		cert->request_id = (uint32_t)id;
	}
	req->request_id = (uint32_t)id;
	rc = CERR_OK;
out:
	if (rc != CERR_OK) {
		log_error("sqlite: recording request failed: %s", sqlite3_errmsg(h));
	}
	wdone(st);
	return rc;
}

static cerr_t run_revoke(sqlite3 *h, const job_t *j)
{
	sqlite3_stmt *st = NULL;
	cerr_t rc = CERR_STORE;
	if (sqlite3_prepare_v2(h, "SELECT 1 FROM certificates WHERE serial = ?", -1, &st, NULL) != SQLITE_OK) {
		goto out;
	}
	bind_text(st, 1, j->serial_hex);
	int s = sqlite3_step(st);
	sqlite3_finalize(st);
	st = NULL;
	if (s == SQLITE_DONE) {
		return CERR_NOT_FOUND;
	}
	if (s != SQLITE_ROW) {
		goto out;
	}
	if (sqlite3_prepare_v2(h, "INSERT INTO revocations (serial, reason, revoked_at) VALUES (?,?,?)", -1, &st,
			       NULL) != SQLITE_OK) {
		goto out;
	}
	bind_text(st, 1, j->serial_hex);
	sqlite3_bind_int64(st, 2, j->reason);
	sqlite3_bind_int64(st, 3, j->when);
	s = sqlite3_step(st);
	if (s == SQLITE_CONSTRAINT) {
		rc = CERR_EXISTS;
	} else if (s == SQLITE_DONE) {
		rc = CERR_OK;
	}
out:
	sqlite3_finalize(st);
	return rc;
}

static void run_batch(db_sqlite_t *d, job_t *batch)
{
	bool in_txn = wexec(d, WS_BEGIN) == CERR_OK;
	for (job_t *j = batch; j; j = j->next) {
		if (!in_txn) {
			j->rc = CERR_STORE;
			continue;
		}
		if (wexec(d, WS_SAVEPOINT) != CERR_OK) {
			j->rc = CERR_STORE;
			continue;
		}
		j->rc = j->type == JOB_SUBMIT ? run_submit(d, j->req, j->cert) : run_revoke(d->w, j);
		if (j->rc != CERR_OK) {
			wexec(d, WS_ROLLBACK_TO);
		}
		wexec(d, WS_RELEASE);
	}
	if (in_txn && wexec(d, WS_COMMIT) != CERR_OK) {
		/* nothing in the batch is durable: fail every job */
		wexec(d, WS_ROLLBACK);
		for (job_t *j = batch; j; j = j->next) {
			j->rc = CERR_STORE;
			if (j->req) {
				j->req->request_id = 0;
			}
		}
	}
}

/* wal_hook runs in the writer thread after each commit (sqlite3_wal_hook). */
static int wal_hook(void *arg, sqlite3 *h, const char *name, int pages)
{
	db_sqlite_t *d = arg;
	(void)h;
	(void)name;
	if (pages >= CKPT_PAGES) {
		pthread_mutex_lock(&d->ck_mu);
		d->ck_due = true;
		pthread_cond_signal(&d->ck_cond);
		pthread_mutex_unlock(&d->ck_mu);
	}
	return SQLITE_OK;
}

static void *checkpoint_main(void *arg)
{
	db_sqlite_t *d = arg;
	pthread_mutex_lock(&d->ck_mu);
	for (;;) {
		while (!d->ck_due && !d->ck_stop) {
			pthread_cond_wait(&d->ck_cond, &d->ck_mu);
		}
		if (d->ck_stop) {
			break;
		}
		d->ck_due = false;
		pthread_mutex_unlock(&d->ck_mu);
		/* PASSIVE: copies what no reader still needs, beside the writer */
		int rc = sqlite3_wal_checkpoint_v2(d->ck, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
			log_warn("sqlite: checkpoint: %s", sqlite3_errmsg(d->ck));
		}
		pthread_mutex_lock(&d->ck_mu);
	}
	pthread_mutex_unlock(&d->ck_mu);
	return NULL;
}

static void *writer_main(void *arg)
{
	db_sqlite_t *d = arg;
	pthread_mutex_lock(&d->mu);
	for (;;) {
		while (!d->head && !d->stop) {
			pthread_cond_wait(&d->work, &d->mu);
		}
		if (!d->head && d->stop) {
			break;
		}
		job_t *batch = d->head;
		d->head = d->tail = NULL;
		pthread_mutex_unlock(&d->mu);

		run_batch(d, batch);

		pthread_mutex_lock(&d->mu);
		d->stats.commits++;
		for (job_t *j = batch; j; j = j->next) {
			j->done = true;
			d->stats.jobs++;
		}
		pthread_cond_broadcast(&d->done);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

/* enqueue_and_wait hands j to the writer and sleeps until it is committed. */
static cerr_t enqueue_and_wait(db_sqlite_t *d, job_t *j)
{
	j->done = false;
	j->next = NULL;
	pthread_mutex_lock(&d->mu);
	if (d->stop) {
		pthread_mutex_unlock(&d->mu);
		return CERR_STORE;
	}
	if (d->tail) {
		d->tail->next = j;
	} else {
		d->head = j;
	}
	d->tail = j;
	pthread_cond_signal(&d->work);
	while (!j->done) {
		pthread_cond_wait(&d->done, &d->mu);
	}
	pthread_mutex_unlock(&d->mu);
	return j->rc;
}

static cerr_t sq_submit(db_t *db, db_request_t *req, db_cert_t *cert)
{
	job_t j = {.type = JOB_SUBMIT, .req = req, .cert = cert};
	return enqueue_and_wait((db_sqlite_t *)db, &j);
}

static cerr_t sq_revoke(db_t *db, const char *serial_hex, uint32_t reason, int64_t when)
{
	job_t j = {.type = JOB_REVOKE, .serial_hex = serial_hex, .reason = reason, .when = when};
	return enqueue_and_wait((db_sqlite_t *)db, &j);
}

/* ---- reads ---- */

static char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return s ? strdup((const char *)s) : NULL;
}

static uint8_t *col_blob(sqlite3_stmt *st, int i, size_t *len)
{
	const void *p = sqlite3_column_blob(st, i);
	int n = sqlite3_column_bytes(st, i);
	*len = 0;
	if (!p || n <= 0) {
		return NULL;
	}
	uint8_t *c = malloc((size_t)n);
	if (c) {
		memcpy(c, p, (size_t)n);
		*len = (size_t)n;
	}
	return c;
}

static cerr_t sq_get_request(db_t *db, uint32_t id, db_request_t *out)
{
	db_sqlite_t *d = (db_sqlite_t *)db;
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *st = NULL;
	cerr_t rc = CERR_STORE;
	pthread_mutex_lock(&d->rmu);
	if (sqlite3_prepare_v2(d->r,
			       "SELECT request_id, disposition, status_code, disposition_msg, requester, template,"
			       " attributes, client_addr, raw_request, submitted_at, resolved_at, request_flags, serial"
			       " FROM requests WHERE request_id = ?",
			       -1, &st, NULL) != SQLITE_OK) {
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	int s = sqlite3_step(st);
	if (s == SQLITE_DONE) {
		rc = CERR_NOT_FOUND;
		goto out;
	}
	if (s != SQLITE_ROW) {
		goto out;
	}
	out->request_id = (uint32_t)sqlite3_column_int64(st, 0);
	out->disposition = (uint32_t)sqlite3_column_int64(st, 1);
	out->status_code = (uint32_t)sqlite3_column_int64(st, 2);
	out->disposition_msg = col_text(st, 3);
	out->requester = col_text(st, 4);
	out->template_name = col_text(st, 5);
	out->attributes = col_text(st, 6);
	out->client_addr = col_text(st, 7);
	out->raw_request = col_blob(st, 8, &out->raw_request_len);
	out->submitted_at = sqlite3_column_int64(st, 9);
	out->resolved_at = sqlite3_column_int64(st, 10);
	out->request_flags = (uint32_t)sqlite3_column_int64(st, 11);
	out->serial_hex = col_text(st, 12);
	rc = CERR_OK;
out:
	if (rc == CERR_STORE) {
		log_error("sqlite: reading request %u: %s", id, sqlite3_errmsg(d->r));
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&d->rmu);
	return rc;
}

static cerr_t get_cert_where(db_sqlite_t *d, const char *where, uint32_t id, const char *serial, db_cert_t *out)
{
	memset(out, 0, sizeof(*out));
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "SELECT request_id, serial, subject, not_before, not_after, template, raw_cert"
		 " FROM certificates WHERE %s = ?",
		 where);
	sqlite3_stmt *st = NULL;
	cerr_t rc = CERR_STORE;
	pthread_mutex_lock(&d->rmu);
	if (sqlite3_prepare_v2(d->r, sql, -1, &st, NULL) != SQLITE_OK) {
		goto out;
	}
	if (serial) {
		bind_text(st, 1, serial);
	} else {
		sqlite3_bind_int64(st, 1, id);
	}
	int s = sqlite3_step(st);
	if (s == SQLITE_DONE) {
		rc = CERR_NOT_FOUND;
		goto out;
	}
	if (s != SQLITE_ROW) {
		goto out;
	}
	out->request_id = (uint32_t)sqlite3_column_int64(st, 0);
	out->serial_hex = col_text(st, 1);
	out->subject = col_text(st, 2);
	out->not_before = sqlite3_column_int64(st, 3);
	out->not_after = sqlite3_column_int64(st, 4);
	out->template_name = col_text(st, 5);
	out->der = col_blob(st, 6, &out->der_len);
	rc = out->der ? CERR_OK : CERR_STORE;
out:
	if (rc == CERR_STORE) {
		log_error("sqlite: reading certificate: %s", sqlite3_errmsg(d->r));
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&d->rmu);
	return rc;
}

static cerr_t sq_get_cert(db_t *db, uint32_t request_id, db_cert_t *out)
{
	return get_cert_where((db_sqlite_t *)db, "request_id", request_id, NULL, out);
}

static cerr_t sq_get_cert_by_serial(db_t *db, const char *serial_hex, db_cert_t *out)
{
	return get_cert_where((db_sqlite_t *)db, "serial", 0, serial_hex, out);
}

static cerr_t sq_get_revocation(db_t *db, const char *serial_hex, uint32_t *reason, int64_t *when)
{
	db_sqlite_t *d = (db_sqlite_t *)db;
	sqlite3_stmt *st = NULL;
	cerr_t rc = CERR_STORE;
	pthread_mutex_lock(&d->rmu);
	if (sqlite3_prepare_v2(d->r, "SELECT reason, revoked_at FROM revocations WHERE serial = ?", -1, &st, NULL) ==
	    SQLITE_OK) {
		bind_text(st, 1, serial_hex);
		int s = sqlite3_step(st);
		if (s == SQLITE_ROW) {
			*reason = (uint32_t)sqlite3_column_int64(st, 0);
			*when = sqlite3_column_int64(st, 1);
			rc = CERR_OK;
		} else if (s == SQLITE_DONE) {
			rc = CERR_NOT_FOUND;
		}
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&d->rmu);
	return rc;
}

static void sq_stats(db_t *db, db_stats_t *out)
{
	db_sqlite_t *d = (db_sqlite_t *)db;
	pthread_mutex_lock(&d->mu);
	*out = d->stats;
	pthread_mutex_unlock(&d->mu);
}

static void sq_close(db_t *db)
{
	db_sqlite_t *d = (db_sqlite_t *)db;
	if (d->started) {
		pthread_mutex_lock(&d->mu);
		d->stop = true;
		pthread_cond_signal(&d->work);
		pthread_mutex_unlock(&d->mu);
		pthread_join(d->writer, NULL);
	}
	if (d->ck_started) {
		pthread_mutex_lock(&d->ck_mu);
		d->ck_stop = true;
		pthread_cond_signal(&d->ck_cond);
		pthread_mutex_unlock(&d->ck_mu);
		pthread_join(d->ckpt, NULL);
	}
	sqlite3_close(d->ck);
	for (int i = 0; i < WS__COUNT; i++) {
		sqlite3_finalize(d->ws[i]);
	}
	sqlite3_close(d->w);
	sqlite3_close(d->r);
	pthread_mutex_destroy(&d->mu);
	pthread_mutex_destroy(&d->rmu);
	pthread_cond_destroy(&d->work);
	pthread_cond_destroy(&d->done);
	pthread_mutex_destroy(&d->ck_mu);
	pthread_cond_destroy(&d->ck_cond);
	free(d);
}

static const db_ops_t sqlite_ops = {
	.name = "sqlite",
	.submit = sq_submit,
	.revoke = sq_revoke,
	.get_request = sq_get_request,
	.get_cert = sq_get_cert,
	.get_cert_by_serial = sq_get_cert_by_serial,
	.get_revocation = sq_get_revocation,
	.stats = sq_stats,
	.close = sq_close,
};

static cerr_t open_conn(const char *path, sqlite3 **out)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
	if (sqlite3_open_v2(path, out, flags, NULL) != SQLITE_OK) {
		log_error("sqlite: cannot open %s: %s", path, *out ? sqlite3_errmsg(*out) : "out of memory");
		return CERR_STORE;
	}
	sqlite3_busy_timeout(*out, 10000);
	/* WAL: readers beside the writer; FULL: each commit syncs the WAL,
	 * which is what makes "recorded before the response" hold. */
	if (exec(*out, "PRAGMA journal_mode=WAL") != CERR_OK || exec(*out, "PRAGMA synchronous=FULL") != CERR_OK ||
	    exec(*out, "PRAGMA foreign_keys=ON") != CERR_OK) {
		return CERR_STORE;
	}
	return CERR_OK;
}

static cerr_t check_schema(sqlite3 *h)
{
	if (exec(h, "BEGIN IMMEDIATE") != CERR_OK) {
		return CERR_STORE;
	}
	cerr_t rc = exec(h, schema_sql);
	sqlite3_stmt *st = NULL;
	if (rc == CERR_OK && sqlite3_prepare_v2(h, "SELECT max(version) FROM schema_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
			rc = exec(h, "INSERT INTO schema_version (version) VALUES (1)");
		} else if (sqlite3_column_int(st, 0) > DB_SCHEMA_VERSION) {
			log_error("database schema version %d is newer than this certa (%d)", sqlite3_column_int(st, 0),
				  DB_SCHEMA_VERSION);
			rc = CERR_STORE;
		}
	} else {
		rc = CERR_STORE;
	}
	sqlite3_finalize(st);
	if (rc == CERR_OK) {
		return exec(h, "COMMIT");
	}
	exec(h, "ROLLBACK");
	return rc;
}

cerr_t db_open_sqlite(const char *path, db_t **out)
{
	*out = NULL;
	db_sqlite_t *d = calloc(1, sizeof(*d));
	if (!d) {
		return CERR_NOMEM;
	}
	d->base.ops = &sqlite_ops;
	pthread_mutex_init(&d->mu, NULL);
	pthread_mutex_init(&d->rmu, NULL);
	pthread_cond_init(&d->work, NULL);
	pthread_cond_init(&d->done, NULL);
	pthread_mutex_init(&d->ck_mu, NULL);
	pthread_cond_init(&d->ck_cond, NULL);
	cerr_t rc = open_conn(path, &d->w);
	if (rc == CERR_OK) {
		rc = check_schema(d->w);
	}
	if (rc == CERR_OK) {
		rc = open_conn(path, &d->r);
	}
	if (rc == CERR_OK) {
		rc = open_conn(path, &d->ck);
	}
	if (rc == CERR_OK) {
		if (pthread_create(&d->ckpt, NULL, checkpoint_main, d) != 0) {
			rc = CERR_INTERNAL;
		} else {
			d->ck_started = true;
			sqlite3_wal_hook(d->w, wal_hook, d); /* replaces the autocheckpoint */
		}
	}
	if (rc == CERR_OK) {
		if (pthread_create(&d->writer, NULL, writer_main, d) != 0) {
			rc = CERR_INTERNAL;
		} else {
			d->started = true;
		}
	}
	if (rc != CERR_OK) {
		sq_close(&d->base);
		return rc;
	}
	*out = &d->base;
	return CERR_OK;
}

void db_request_cleanup(db_request_t *r)
{
	if (!r) {
		return;
	}
	free((void *)r->disposition_msg);
	free((void *)r->requester);
	free((void *)r->template_name);
	free((void *)r->attributes);
	free((void *)r->client_addr);
	free((void *)r->raw_request);
	free((void *)r->serial_hex);
	memset(r, 0, sizeof(*r));
}

void db_cert_cleanup(db_cert_t *c)
{
	if (!c) {
		return;
	}
	free((void *)c->serial_hex);
	free((void *)c->subject);
	free((void *)c->template_name);
	free((void *)c->der);
	memset(c, 0, sizeof(*c));
}
