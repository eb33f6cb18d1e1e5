/*
 * fuzz_inf.c - libFuzzer target for the user-rights INF reader
 * (src/security/rights.c): encoding detection, line and list splitting, name
 * and SID resolution. Any input must parse or fail with a message; a policy
 * that parses must answer the network-logon check for a few fixed callers
 * with one of the two documented results and a sentence.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "security/rights.h"
#include "security/token.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A resolver with a few local names, as the accounts store would answer. */
static bool resolve(void *ctx, const char *name, sid_t *out)
{
	(void)ctx;
	if (strcmp(name, "Guest") == 0) {
		*out = sid_from_literal("S-1-5-21-7-8-9-501");
		return true;
	}
	if (strcmp(name, "alice") == 0) {
		*out = sid_from_literal("S-1-5-21-7-8-9-1001");
		return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static token_t *callers[3];
	if (!callers[0]) {
		const char *groups[] = {"S-1-5-21-7-8-9-513", "S-1-5-32-545"};
		log_set_level(LOG_ERROR);
		CHECK(token_new_anonymous(false, &callers[0]) == CERR_OK);
		CHECK(token_from_sid_strings("alice", "CA1", "S-1-5-21-7-8-9-1001", groups, 2, TOKEN_AUTH_NTLM,
					     &callers[1]) == CERR_OK);
		CHECK(token_from_sid_strings("Guest", "CA1", "S-1-5-21-7-8-9-501", NULL, 0, TOKEN_AUTH_NTLM,
					     &callers[2]) == CERR_OK);
	}
	rights_policy_t *p = NULL;
	char err[256];
	cerr_t e = rights_policy_parse(data, size, "fuzz.inf", resolve, NULL, &p, err, sizeof(err));
	if (e != CERR_OK) {
		CHECK(p == NULL && err[0] != '\0');
		return 0;
	}
	CHECK(rights_policy_has_right(p, RIGHTS_NETWORK_LOGON));
	CHECK(rights_policy_has_right(p, RIGHTS_DENY_NETWORK_LOGON));
	for (size_t i = 0; i < 3; i++) {
		const char *why = NULL;
		e = rights_check_network_logon(p, callers[i], &why);
		CHECK(e == CERR_OK || e == CERR_STATUS_LOGON_TYPE_NOT_GRANTED);
		CHECK(why && why[0]);
	}
	for (size_t i = 0; i < rights_policy_num_sids(p, RIGHTS_NETWORK_LOGON); i++) {
		CHECK(rights_policy_sid(p, RIGHTS_NETWORK_LOGON, i) != NULL);
	}
	rights_policy_unref(p);
	return 0;
}
