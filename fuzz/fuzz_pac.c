/*
 * fuzz_pac.c - libFuzzer target for the MS-PAC decoder (src/security/pac.c)
 * and what is built from its result. Any input must decode or fail cleanly;
 * a PAC that decodes must be self-consistent (group counts, SIDs that survive
 * their packet and string forms) and must give an access token that the
 * network-logon check can judge. Inconsistencies abort.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "security/pac.h"
#include "security/rights.h"
#include "security/token.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_sid: packet form and string form both round-trip. */
static void check_sid(const sid_t *sid)
{
	char s[SID_STR_MAX];
	sid_t back;
	buf_t b;
	cur_t c;
	CHECK(sid->num_auths <= SID_MAX_SUB_AUTHORITIES);
	CHECK(sid_parse(&back, sid_format(sid, s)) == CERR_OK && sid_equal(&back, sid));
	buf_init(&b, 128);
	sid_encode_ndr(&b, sid);
	CHECK(buf_ok(&b));
	cur_init(&c, b.data, b.len);
	CHECK(sid_decode_ndr(&c, &back) == CERR_OK && sid_equal(&back, sid) && cur_empty(&c));
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static rights_policy_t *policy;
	if (!policy) {
		log_set_level(LOG_ERROR);
		CHECK(rights_policy_default(NULL, NULL, &policy) == CERR_OK);
	}
	arena_t *a = arena_new();
	CHECK(a);
	pac_t pac;
	if (pac_decode(a, data, size, &pac) == CERR_OK) {
		CHECK(pac.num_buffers > 0 && pac.num_buffers <= PAC_MAX_BUFFERS);
		if (pac.has_logon_info) {
			const pac_logon_info_t *li = &pac.logon;
			CHECK(pac.num_groups ==
			      (size_t)li->group_count + li->extra_sid_count + li->resource_group_count);
			CHECK(pac.num_groups <= PAC_MAX_GROUPS);
			check_sid(&pac.user_sid);
			CHECK(sid_in_domain(&pac.user_sid, &li->logon_domain_sid));
			for (size_t i = 0; i < pac.num_groups; i++) {
				check_sid(&pac.groups[i].sid);
			}
			token_t *t;
			cerr_t e = token_from_pac(&pac, TOKEN_AUTH_KERBEROS, &t);
			CHECK(e == CERR_OK || e == CERR_LIMIT);
			if (e == CERR_OK) {
				const char *why = NULL;
				char d[512];
				CHECK(token_has_sid(t, &pac.user_sid));
				e = rights_check_network_logon(policy, t, &why);
				CHECK(e == CERR_OK || e == CERR_STATUS_LOGON_TYPE_NOT_GRANTED);
				CHECK(why && strlen(why) < 2048);
				token_describe(t, d, sizeof(d));
				token_unref(t);
			}
		}
		if (pac.has_upn_sid) {
			check_sid(&pac.upn_sid);
		}
	}
	arena_free(a);
	return 0;
}
