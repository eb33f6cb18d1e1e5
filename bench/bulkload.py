#!/usr/bin/python3
"""bench/bulkload.py - fill certad's SQLite database with issued certificates.

Used by bench/run for the "1,000,000 certificates" scenario: it appends N
requests and their certificates (the schema of src/ca/db_sqlite.c) to a
database certad has created and is NOT running on. Rows look like real ones:
a ~700-byte request and a ~1.1 KB certificate blob each, unique request IDs
and unique random-looking serials (so the serial index grows in random order,
as with the CA's random serials). One transaction with the journal off, all
generated inside SQLite by a recursive CTE, so a million rows take seconds,
not minutes; the database is back in WAL mode and synced afterwards.

usage: bench/bulkload.py DB_PATH COUNT
"""
import os
import sqlite3
import sys
import time


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 64
    path, count = sys.argv[1], int(sys.argv[2])
    t0 = time.monotonic()
    db = sqlite3.connect(path, isolation_level=None)
    have = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not {"requests", "certificates"} <= have:
        print(f"bulkload: {path} has no requests/certificates tables (start certad once first)",
              file=sys.stderr)
        return 65
    base = db.execute("SELECT coalesce(max(request_id), 0) FROM requests").fetchone()[0]
    now = int(time.time())
    # Loading is not the thing measured: no journal, no syncs. The database
    # file is certad's, so put it back in WAL mode (certad sets that too).
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-262144")  # 256 MiB
    db.execute("BEGIN")
    # serial: 8 random hex digits then the row number, so serials are unique
    # and spread over the index like the CA's random ones.
    db.execute(
        """
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
        INSERT INTO requests (request_id, disposition, status_code, disposition_msg, requester,
                              template, attributes, client_addr, raw_request, submitted_at,
                              resolved_at, request_flags, serial)
        SELECT :base + i, 20, 0, 'Issued', 'CERTA\\bulk' || i, 'User',
               'CertificateTemplate:User', '127.0.0.1', randomblob(700),
               :now - 86400, :now - 86400, 256,
               printf('%08x%024x', abs(random()) % 4294967296, :base + i)
        FROM n
        """,
        {"count": count, "base": base, "now": now},
    )
    db.execute(
        """
        INSERT INTO certificates (request_id, serial, subject, not_before, not_after, template, raw_cert)
        SELECT request_id, serial, 'CN=bulk' || request_id, :now - 86400, :now + 365 * 86400, 'User',
               randomblob(1100)
        FROM requests WHERE request_id > :base
        """,
        {"base": base, "now": now},
    )
    db.execute("COMMIT")
    db.execute("PRAGMA journal_mode=WAL")
    total = db.execute("SELECT count(*) FROM certificates").fetchone()[0]
    db.close()
    # Written without syncs: flush it now, or certad's first sync would wait
    # behind gigabytes of writeback inside the measured window.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    print(f"bulkload: {count} certificates added ({total} in the database) in "
          f"{time.monotonic() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
