/*
 * db.h - the CA database, as a function table so a PostgreSQL backend can
 * sit beside the embedded SQLite one (db_sqlite.c). Tables follow AD CS's
 * CA database: requests (every submission gets a RequestID, denied ones
 * too), certificates (issued, by request and serial) and revocations, plus a
 * schema version. db_submit returns only when the rows are durable (the
 * transaction committed and synced), so a certificate is never handed out
 * that the CA could forget; concurrent submits share one commit (group
 * commit), so durability costs one fsync per batch, not per request.
 */
#ifndef CERTA_CA_DB_H
#define CERTA_CA_DB_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define DB_SCHEMA_VERSION 1

/* A request row. For db_submit the pointers are inputs (borrowed); rows
 * returned by db_get_request are owned by the caller: db_request_cleanup. */
typedef struct db_request {
	uint32_t request_id;         /* assigned by db_submit */
	uint32_t disposition;        /* CR_DISP_* (ca.h) */
	uint32_t status_code;        /* HRESULT; 0 when issued */
	const char *disposition_msg; /* "Issued", "Denied by Policy Module ..." */
	const char *requester;       /* "DOMAIN\\user" */
	const char *template_name;   /* NULL if none could be determined */
	const char *attributes;      /* the attribute string as received */
	const char *client_addr;
	const uint8_t *raw_request; /* the request blob as received */
	size_t raw_request_len;
	int64_t submitted_at; /* Unix seconds */
	int64_t resolved_at;  /* 0 while pending */
	uint32_t request_flags; /* dwFlags of the call */
	const char *serial_hex; /* serial of the issued certificate, lowercase hex */
} db_request_t;

/* A certificate row; same ownership rules (db_cert_cleanup). */
typedef struct db_cert {
	uint32_t request_id; /* filled by db_submit from the request row */
	const char *serial_hex;
	const char *subject; /* one-line RFC 4514 form */
	int64_t not_before;
	int64_t not_after;
	const char *template_name;
	const uint8_t *der;
	size_t der_len;
} db_cert_t;

typedef struct db_stats {
	uint64_t commits; /* write transactions committed */
	uint64_t jobs;    /* submits/revokes carried by them */
} db_stats_t;

typedef struct db db_t;

typedef struct db_ops {
	const char *name;
	/* submit inserts req (and cert, if non-NULL, linked to the new request)
	 * in one transaction and returns after commit. Sets req->request_id and
	 * cert->request_id. CERR_STORE on failure (nothing recorded). */
	cerr_t (*submit)(db_t *db, db_request_t *req, db_cert_t *cert);
	/* revoke records a revocation (durable on return). CERR_NOT_FOUND if
	 * no certificate has that serial, CERR_EXISTS if already revoked. */
	cerr_t (*revoke)(db_t *db, const char *serial_hex, uint32_t reason, int64_t when);
	/* get_request / get_cert / get_cert_by_serial fill *out (caller
	 * cleans up). CERR_NOT_FOUND if absent. */
	cerr_t (*get_request)(db_t *db, uint32_t request_id, db_request_t *out);
	cerr_t (*get_cert)(db_t *db, uint32_t request_id, db_cert_t *out);
	cerr_t (*get_cert_by_serial)(db_t *db, const char *serial_hex, db_cert_t *out);
	/* get_revocation: CERR_OK with reason/date if revoked, CERR_NOT_FOUND if not. */
	cerr_t (*get_revocation)(db_t *db, const char *serial_hex, uint32_t *reason, int64_t *when);
	void (*stats)(db_t *db, db_stats_t *out);
	void (*close)(db_t *db);
} db_ops_t;

/* Every backend's handle starts with this. */
struct db {
	const db_ops_t *ops;
};

/* db_open_sqlite opens (creating if needed) the database file at path, in
 * WAL mode with synchronous=FULL, and starts its writer thread. CERR_STORE
 * if the file cannot be opened or has a newer schema. */
cerr_t db_open_sqlite(const char *path, db_t **out);

static inline cerr_t db_submit(db_t *db, db_request_t *req, db_cert_t *cert)
{
	return db->ops->submit(db, req, cert);
}
static inline cerr_t db_revoke(db_t *db, const char *serial_hex, uint32_t reason, int64_t when)
{
	return db->ops->revoke(db, serial_hex, reason, when);
}
static inline cerr_t db_get_request(db_t *db, uint32_t id, db_request_t *out)
{
	return db->ops->get_request(db, id, out);
}
static inline cerr_t db_get_cert(db_t *db, uint32_t request_id, db_cert_t *out)
{
	return db->ops->get_cert(db, request_id, out);
}
static inline cerr_t db_get_cert_by_serial(db_t *db, const char *serial_hex, db_cert_t *out)
{
	return db->ops->get_cert_by_serial(db, serial_hex, out);
}
static inline cerr_t db_get_revocation(db_t *db, const char *serial_hex, uint32_t *reason, int64_t *when)
{
	return db->ops->get_revocation(db, serial_hex, reason, when);
}
static inline void db_stats(db_t *db, db_stats_t *out) { db->ops->stats(db, out); }
/* db_close stops the writer after draining queued work (NULL-safe). */
static inline void db_close(db_t *db)
{
	if (db) {
		db->ops->close(db);
	}
}

/* Free the strings and blobs of a row returned by a get (not of a submit input). */
void db_request_cleanup(db_request_t *r);
void db_cert_cleanup(db_cert_t *c);

#endif
