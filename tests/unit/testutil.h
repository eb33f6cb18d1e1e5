/* testutil.h - what several cmocka unit tests share, so each test file keeps
 * only what it tests: hex fixtures and the captures more than one test
 * decodes. Built as a static library (tests/unit/meson.build) linked by the
 * tests that use it. */
#ifndef CERTA_TESTS_TESTUTIL_H
#define CERTA_TESTS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

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

#endif
