/* testutil.h - what several cmocka unit tests share, so each test file keeps
 * only what it tests: hex fixtures and the impacket and KDC captures more
 * than one test decodes, scratch files, a PKCS#10 maker. Helpers fail the running test
 * through cmocka's asserts instead of returning errors, except where a caller
 * decides what a failure means (tu_rmrf in a teardown). Built as a static
 * library (tests/unit/meson.build) linked by the tests that use it. */
#ifndef CERTA_TESTS_TESTUTIL_H
#define CERTA_TESTS_TESTUTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "rpc/iface.h"
#include "rpc/ntlm.h"
#include "rpc/server.h"
#include "util/arena.h"
#include "util/cursor.h"
#include "util/err.h"
#include "util/guid.h"

/* ---- hex fixtures ---- */

/* tu_unhex decodes pairs of hex digits from hex into out, at most cap bytes,
 * stopping at the end of the string; returns the number of bytes written. */
size_t tu_unhex(const char *hex, uint8_t *out, size_t cap);

/* tu_rgco_stub_hex: impacket 0.10's IRemoteSCMActivator::RemoteGetClassObject
 * (opnum 3) request stub for the CertSrv Request class and IClassFactory -
 * ORPCTHIS 5.7 flags 1, cid 11223344-5566-7788-99aa-bbccddeeff00, then
 * pActProperties. Referent ids and padding are impacket's random ones, kept
 * as sent (provenance in test_dcom_codec.c's header). */
extern const char tu_rgco_stub_hex[];

/* tu_saved_pac: a PAC issued by a Windows Server 2003 KDC for the computer
 * account w2003final$@WIN2K3.THINKER.LOCAL (user RID 1005, primary group 516
 * Domain Controllers, extra SID S-1-5-9; domain
 * S-1-5-21-3048156945-3961193616-3706469200): logon info, client info, and
 * HMAC-MD5 server and KDC signatures. Test vector from the Samba torture
 * suite (created by Andrew Bartlett), as published in MIT krb5's
 * src/lib/krb5/krb/t_pac.c ("saved_pac"). */
#define TU_SAVED_PAC_LEN 624
extern const uint8_t tu_saved_pac[TU_SAVED_PAC_LEN];

/* ---- scratch files ---- */

/* tu_write_file replaces path's contents with text. */
void tu_write_file(const char *path, const char *text);

/* tu_rmrf removes path and everything below it; false if rm failed. */
bool tu_rmrf(const char *path);

/* tu_file_has_line: whether some line of path contains needle and, when also
 * is not NULL, also (an events JSONL file: one event a line). A missing file
 * has no lines. */
bool tu_file_has_line(const char *path, const char *needle, const char *also);

/* ---- certificates ---- */

/* tu_make_csr builds a PKCS#10 for key, signed with SHA-256: subject CN=cn
 * (no subject when cn is NULL), ext_template adds the V1 template name
 * extension (OID_ENROLL_CERTTYPE, a BMPString), san_dns a requested DNS SAN.
 * Returns the DER, malloc'd, its length in *len. */
uint8_t *tu_make_csr(EVP_PKEY *key, const char *cn, const char *ext_template, const char *san_dns, size_t *len);

/* ---- RPC ---- */

/* tu_invoke runs operation opnum of iface as the runtime hands a call to a
 * stub (rpc/iface.h): conn as the connection, a as the call's arena, the
 * cursor on stub based at its start, the object UUID when object is not
 * NULL, the response appended to out. An opnum the table lacks gets
 * CERR_NCA_S_OP_RNG_ERROR without a call, as the runtime answers it itself. */
cerr_t tu_invoke(const rpc_iface_t *iface, const rpc_conn_info_t *conn, uint16_t opnum, const guid_t *object,
		 const uint8_t *stub, size_t len, arena_t *a, buf_t *out);

/* tu_lookup_alice: an ntlm_lookup_fn knowing one account, alice with the
 * password Passw0rd! in any domain. */
cerr_t tu_lookup_alice(void *arg, const char *domain, const char *user, ntlm_account_t *out);

/* An RPC server run on its own thread, for tests that talk to it over
 * loopback sockets. */
typedef struct tu_server {
	rpc_server_t *s; /* the caller's: created, configured and listening before tu_server_start */
	pthread_t th;
	cerr_t rc;       /* rpc_server_run's return, once the thread has ended */
} tu_server_t;

/* tu_server_start runs rpc_server_run(t->s) on a new thread. */
void tu_server_start(tu_server_t *t);

/* tu_server_stop stops the server, waits for its thread and returns what
 * rpc_server_run returned; freeing the server is left to the caller. */
cerr_t tu_server_stop(tu_server_t *t);

#endif
