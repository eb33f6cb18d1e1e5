/*
 * events.h - the structured audit log: one JSON object per line, appended to
 * a file (STATE/events.jsonl) and echoed to stderr (journald collects it under
 * systemd). Events carry Windows' event IDs, log names and sources so an
 * administrator can map them to what AD CS / Windows would have logged
 * (e.g. 4887 "Certificate Services approved a certificate request and issued
 * a certificate", Security log). The API is generic: later layers log logon
 * (4624/4625) and DCOM (10027/10036) events through the same call.
 * Thread-safe: each event is written with one write(2) under a mutex.
 */
#ifndef CERTA_EVENTS_EVENTS_H
#define CERTA_EVENTS_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Log names and sources as Windows shows them in Event Viewer. */
#define EVENTS_LOG_SECURITY "Security"
#define EVENTS_LOG_SYSTEM "System"
#define EVENTS_LOG_APPLICATION "Application"
#define EVENTS_SOURCE_SECURITY_AUDITING "Microsoft Windows security auditing."
#define EVENTS_SOURCE_CERTSVC "Microsoft-Windows-CertificationAuthority"
#define EVENTS_SOURCE_DCOM "Microsoft-Windows-DistributedCOM"

/* Certification Services audit events (Security log; "Audit Certification
 * Services" subcategory). Numbers as Windows Server 2008+ logs them. */
#define EVENT_CS_REQUEST_RECEIVED 4886u /* received a certificate request */
#define EVENT_CS_REQUEST_ISSUED 4887u   /* approved a request and issued a certificate */
#define EVENT_CS_REQUEST_DENIED 4888u   /* denied a certificate request */
#define EVENT_CS_REQUEST_PENDING 4889u  /* set the status of a request to pending */

/* Levels follow the Windows event levels (winmeta.xml); audit events are
 * "info" with an outcome of success or failure carried as a field. */
typedef enum events_level {
	EVENTS_CRITICAL = 1,
	EVENTS_ERROR = 2,
	EVENTS_WARNING = 3,
	EVENTS_INFO = 4,
	EVENTS_VERBOSE = 5,
} events_level_t;

typedef enum events_ftype { EVENTS_F_STR, EVENTS_F_INT, EVENTS_F_HEX32 } events_ftype_t;

/* events_field_t is one key/value pair of an event's "data" object. Strings
 * are copied into the line (NULL is written as JSON null). HEX32 is written
 * as the string "0x%08x" so HRESULTs read the way Windows prints them. */
typedef struct events_field {
	const char *key;
	events_ftype_t type;
	const char *str;
	int64_t num;
} events_field_t;

#define EVF_STR(k, v) ((events_field_t){.key = (k), .type = EVENTS_F_STR, .str = (v)})
#define EVF_INT(k, v) ((events_field_t){.key = (k), .type = EVENTS_F_INT, .num = (int64_t)(v)})
#define EVF_HEX32(k, v) ((events_field_t){.key = (k), .type = EVENTS_F_HEX32, .num = (int64_t)(uint32_t)(v)})

typedef struct events events_t;

/* events_open flags */
#define EVENTS_TO_STDERR 0x1u /* also echo each line to stderr */
#define EVENTS_FSYNC 0x2u     /* fdatasync after each line (slow; for strict audit) */

/* events_open appends to path (created 0640 if absent; NULL = no file) and,
 * with EVENTS_TO_STDERR, echoes to stderr. Returns CERR_IO if the file cannot
 * be opened. */
cerr_t events_open(const char *path, unsigned flags, events_t **out);
/* events_close flushes and frees (NULL-safe). */
void events_close(events_t *ev);
/* events_path is the file events_open was given (NULL if none). */
const char *events_path(const events_t *ev);

/* events_emit writes one event:
 *   {"time":"2025-01-02T03:04:05.678Z","id":4887,"log":"Security",
 *    "source":"Microsoft Windows security auditing.","level":"info",
 *    "data":{"RequestId":12,...}}
 * Field keys and string values are JSON-escaped. NULL ev is a no-op. Returns
 * CERR_IO if the file write failed (stderr failures are ignored), CERR_LIMIT
 * if the event exceeds EVENTS_MAX_LINE. */
#define EVENTS_MAX_LINE (64u * 1024u)
cerr_t events_emit(events_t *ev, uint32_t id, const char *log, const char *source, events_level_t level,
		   const events_field_t *fields, size_t num_fields);

/* ---- reading back (tests, `certa diagnose`) ---- */

typedef struct events_kv {
	char *key;
	char *value; /* strings unescaped; numbers in their decimal text; null as NULL */
} events_kv_t;

/* events_record_t is one parsed line; valid only during the callback. */
typedef struct events_record {
	size_t line;     /* 1-based line number in the file */
	char *time;
	uint32_t id;
	char *log;
	char *source;
	char *level;
	events_kv_t *data;
	size_t num_data;
} events_record_t;

/* events_record_get returns the value of data field key (case-sensitive) or NULL. */
const char *events_record_get(const events_record_t *r, const char *key);

/* events_read_cb returns false to stop iterating. */
typedef bool (*events_read_cb)(const events_record_t *r, void *ud);

/* events_parse_line parses one line written by events_emit into *out (free
 * with events_record_cleanup). CERR_MALFORMED for anything else. */
cerr_t events_parse_line(const char *line, size_t len, events_record_t *out);
void events_record_cleanup(events_record_t *r);

/* events_read calls cb for each well-formed line of path, in order. Malformed
 * lines are skipped and counted in *out_bad (may be NULL). CERR_IO if the file
 * cannot be read. */
cerr_t events_read(const char *path, events_read_cb cb, void *ud, size_t *out_bad);

#endif
